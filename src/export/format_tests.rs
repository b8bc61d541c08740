//! The exported bytes, whole: the JSON document, the CSV and the figure's header line for
//! the metadata `export` writes and the metadata the app's `e` writes, kept in snapshots so
//! that a change of the files' format shows up as a diff.

use std::path::Path;

use super::{figure, render, AppMeta, Format, Item, Meta, Source, Style};
use crate::attention::Level;
use crate::data::Split;
use crate::train::{AttentionSnapshot, Weights};

/// "[CLS] fun [SEP]", its label and values chosen among those an f32 cannot hold exactly
/// (0.6, 0.1, 1.2): each must be written as typed, not as its nearest f64.
fn small_snapshot() -> AttentionSnapshot {
    let m = |v: [[f32; 3]; 3]| v.iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    AttentionSnapshot {
        index: 2,
        tokens: ["[CLS]", "fun", "[SEP]"].map(String::from).to_vec(),
        words: vec!["fun".into()],
        token_words: vec![None, Some(0), None],
        label: 0.6,
        prediction: 1.2,
        prediction_without_audio: -0.3,
        batching: "test, batches of 24".into(),
        text_attention: m([[0.6, 0.1, 0.3], [0.1, 0.7, 0.2], [0.25, 0.5, 0.125]]),
        audio_attention: m([[0.0; 3]; 3]),
        fusion_scores: m([[0.1, -0.2, 0.3], [1.1, -1.1, 0.0], [2.5, 0.33, -0.7]]),
        multimodal_attention: m([[0.6, 0.1, 0.3], [0.2, 0.2, 0.6], [0.9, 0.05, 0.05]]),
    }
}

fn command_meta() -> Meta {
    super::tests::meta()
}

/// What `e` writes for a recording in the app, during a run that is not saved.
fn app_meta() -> Meta {
    Meta {
        split: Split::Test,
        checkpoint: None,
        wav: Some("takes/utt 11.wav".into()),
        source: Source::App(AppMeta {
            run: "cm-bert seed 1".into(),
            model: "cm-bert (cls-audio zero, preset scratch)".into(),
            bert: "from scratch (2 layers, hidden 64)".into(),
            data: "corpus (100/20/30), audio: recorded".into(),
            weights: Weights::Live { step: 320 },
            batching: "test, batches of 24".into(),
            theme: "paper".into(),
        }),
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[test]
fn json_and_csv_bytes() {
    let s = small_snapshot();
    let items = [Item {
        snapshot: &s,
        text: "fun",
        split: Split::Test,
        recording: None,
    }];
    let style = Style::default();
    let command = command_meta();
    insta::assert_snapshot!(
        "command_json",
        text(render(&items, &command, &style, Format::Json).unwrap())
    );
    insta::assert_snapshot!(
        "command_csv",
        text(render(&items, &command, &style, Format::Csv).unwrap())
    );
    let piece = Style {
        level: Level::Piece,
        show_special: false,
        ..Style::default()
    };
    let recording = [Item {
        recording: Some(Path::new("takes/utt 11.wav")),
        ..items[0]
    }];
    let app = app_meta();
    insta::assert_snapshot!(
        "app_json",
        text(render(&recording, &app, &piece, Format::Json).unwrap())
    );
    insta::assert_snapshot!("app_csv", text(render(&recording, &app, &piece, Format::Csv).unwrap()));
}

#[test]
fn figure_header_lines() {
    assert_eq!(
        figure::header(&command_meta()),
        "model: cm-bert   ·   cls_audio: zero   ·   checkpoint: runs/a/best   ·   split: test   ·   \
audio_source: zero-audio   ·   data: data/mosi   ·   eval_batch_size: 24   ·   precision: f32"
    );
    assert_eq!(
        figure::header(&app_meta()),
        "model: cm-bert (cls-audio zero, preset scratch)   ·   split: test   ·   batching: test, batches of \
24   ·   bert: from scratch (2 layers, hidden 64)   ·   data: corpus (100/20/30), audio: recorded   ·   run: \
cm-bert seed 1   ·   step: 320   ·   theme: paper   ·   wav: takes/utt 11.wav   ·   weights: step 320"
    );
}
