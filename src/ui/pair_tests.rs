use std::path::PathBuf;

use crossterm::event::KeyCode;

use super::*;
use crate::data::Split;
use crate::train::{Command, Weights};
use crate::ui::browser::{Browser, Utterance};
use crate::ui::explorer::Bars;
use crate::ui::tests::{attention_arrives, opened_app, screen};
use crate::ui::App;

/// A leans on "funny" and scores +0.85; B leans on "ok" and scores -0.40.
fn pair() -> StressPair {
    let mut a = crate::export::tests::snapshot(0);
    a.multimodal_attention[0] = vec![0.1, 0.5, 0.2, 0.1, 0.1];
    let mut b = crate::export::tests::snapshot(1);
    b.multimodal_attention[0] = vec![0.1, 0.1, 0.1, 0.6, 0.1];
    b.prediction = -0.4;
    // Recordings have no label.
    a.label = f32::NAN;
    b.label = f32::NAN;
    StressPair {
        names: ["a.wav".into(), "b.wav".into()],
        snapshots: [a, b],
    }
}

/// What `open run/best --wav takes/a.wav --words .. --wav takes/b.wav --words ..` shows once
/// started and A's attention has arrived.
fn pair_app() -> App {
    let rows = ["takes/a.wav", "takes/b.wav"].map(|wav| {
        (
            PathBuf::from(wav),
            Utterance {
                text: "funny ok".into(),
                label: f32::NAN,
            },
        )
    });
    let mut browser = Browser::recordings(rows.to_vec());
    browser.set_predictions(Split::Test, vec![0.85, -0.4], Weights::Checkpoint);
    let mut app = opened_app(browser);
    let p = pair();
    app.show_pair(p.clone());
    assert_eq!(
        app.start(),
        [Command::Watch {
            split: Split::Test,
            index: 0
        }],
        "predictions already shown: only the watch"
    );
    let [a, _] = p.snapshots;
    attention_arrives(&mut app, a);
    app
}

#[test]
fn rows_compare_the_cls_weights_word_by_word() {
    let p = pair();
    assert!(p.same_words());
    let rows = p.rows(Level::Word, true);
    let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["[CLS]", "funny", "ok", "[SEP]"]);
    // "funny" is fun + ##ny: 0.5 + 0.2 in A, 0.1 + 0.1 in B.
    assert!((rows[1].a.unwrap() - 0.7).abs() < 1e-6 && (rows[1].b.unwrap() - 0.2).abs() < 1e-6);
    assert!((rows[2].moved().unwrap() - 0.5).abs() < 1e-6);
    let (word, moved) = p.largest_move(Level::Word, true).unwrap();
    assert_eq!(word, "ok", "0.1 -> 0.6 beats 0.7 -> 0.2");
    assert!((moved - 0.5).abs() < 1e-6);
    assert_eq!(p.rows(Level::Word, false).len(), 2, "x hides [CLS] and [SEP] here too");

    let mut other = pair();
    other.snapshots[1].words = vec!["funny".into(), "fine".into(), "indeed".into()];
    other.snapshots[1].tokens = ["[CLS]", "funny", "fine", "indeed", "[SEP]"].map(String::from).to_vec();
    other.snapshots[1].token_words = vec![None, Some(0), Some(1), Some(2), None];
    assert!(!other.same_words());
    let rows = other.rows(Level::Word, false);
    assert_eq!(rows[1].label, "ok/fine");
    assert_eq!(
        (rows[2].label.as_str(), rows[2].a, rows[2].moved()),
        ("indeed", None, None)
    );
}

#[test]
fn the_pair_screen_lists_both_recordings_and_where_the_cls_row_moved() {
    let app = pair_app();
    assert_eq!(app.explorer.bars, Bars::Left, "the comparison in view at 80x24 too");
    assert_eq!(
        app.message.as_deref(),
        Some("stress pair: A +0.85, B -0.40; [CLS] moved most on \"ok\" (+0.500)")
    );
    for (w, h) in [(80, 24), (120, 40)] {
        let shown = screen(w, h, &app);
        insta::assert_snapshot!(format!("stress_pair_{w}x{h}"), shown);
        assert!(shown.contains("recordings (a pair)"), "{shown}");
        for (file, pred) in [("a.wav", "+0.85"), ("b.wav", "-0.40")] {
            let row = shown.lines().find(|l| l.contains(file) && l.contains(pred));
            assert!(row.is_some(), "{file} with {pred} in the list:\n{shown}");
        }
        let ok = shown.lines().find(|l| l.contains(" ok A ")).expect("ok's line");
        assert!(ok.contains("Δ+0.500"), "{ok}");
    }
    let big = screen(120, 40, &app);
    assert!(
        big.contains("A a.wav: prediction +0.85   B b.wav: prediction -0.40"),
        "{big}"
    );
}

#[test]
fn keys_go_between_the_two_and_move_the_panel() {
    let mut app = pair_app();
    assert_eq!(
        app.on_key(KeyCode::Down),
        [Command::Watch {
            split: Split::Test,
            index: 1
        }],
        "↓ watches B"
    );
    assert_eq!(app.browser.name(Split::Test, 1), "b.wav");
    assert_eq!(app.on_key(KeyCode::Char(']')), []);
    assert!(
        app.message.as_deref().unwrap().starts_with("2 recordings"),
        "{:?}",
        app.message
    );
    assert_eq!(
        app.on_key(KeyCode::Up),
        [Command::Watch {
            split: Split::Test,
            index: 0
        }]
    );
    app.on_key(KeyCode::Char('b'));
    assert_eq!(app.explorer.bars, Bars::Below);
    let shown = screen(120, 40, &app);
    insta::assert_snapshot!("stress_pair_below_120x40", shown);
    assert!(shown.contains("[CLS] row of W_m → score: A and B"), "{shown}");
    assert!(shown.contains("alpha_t"), "the left matrix is back:\n{shown}");
}

/// Before, `e` with a pair open exported only the recording on screen; the pair's figure
/// (both recordings, as `export` draws them) is what the screen compares.
#[test]
fn e_asks_for_the_pairs_figure_whichever_recording_is_shown() {
    use crate::ui::Request;
    let mut app = pair_app();
    assert_eq!(app.on_key(KeyCode::Char('e')), []);
    assert_eq!(app.requests, [Request::ExportPair]);
    app.requests.clear();
    app.on_key(KeyCode::Down);
    app.on_key(KeyCode::Char('e'));
    assert_eq!(app.requests, [Request::ExportPair], "B on screen: the same figure");

    // Without a pair, the view on screen, as before.
    let mut single = pair_app();
    single.pair = None;
    single.on_key(KeyCode::Char('e'));
    assert_eq!(single.requests, [Request::Export]);
}
