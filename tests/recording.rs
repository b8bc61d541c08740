//! `Recording`: a run writes its history (`RUN/history.jsonl`) and its watched utterances'
//! attention (`RUN/attention.safetensors`) by default, and skips either when told (the
//! paired on/off measurement of their cost, `benches/recording_overhead.rs`). Before, neither
//! could be switched off.

mod common;

use std::path::Path;

use cmbert::data::{Dataset, Split, TextEncoder};
use cmbert::model::ModelKind;
use cmbert::train::attention_log::ATTENTION_FILE;
use cmbert::train::history::HISTORY_FILE;
use cmbert::train::{OnDisk, Recording, RunSpec, RunSummary};
use common::*;
use crossbeam_channel::unbounded;

const SIZES: [usize; 3] = [24, 8, 6];

/// Trains a tiny run into `out`, watching one test utterance, with `recording`.
fn train(data: &Path, out: &Path, recording: Recording) -> RunSummary {
    let mut spec = RunSpec::paper(data.to_path_buf(), tiny_bert(), ModelKind::CmBert);
    spec.epochs = 2;
    spec.batch_size = 6;
    spec.groups.lr = 1e-3;
    spec.seed = 7;
    spec.out = Some(out.to_path_buf());
    let encoder = TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap();
    let dataset = Dataset::load(data, None, &encoder, 5).unwrap();
    let (events, _received) = unbounded();
    let (_commands, commands_rx) = unbounded();
    tiny_trainer(spec)
        .with_watched(vec![(Split::Test, 1)])
        .with_recording(recording)
        .run(&dataset, &events, &commands_rx)
        .unwrap()
        .expect("the run finishes")
}

/// Which of the two records `run` holds: (history, attention).
fn written(run: &Path) -> (bool, bool) {
    (run.join(HISTORY_FILE).is_file(), run.join(ATTENTION_FILE).is_file())
}

#[test]
fn the_history_and_the_attention_log_are_written_unless_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let cases = [
        ("default", Recording::default(), (true, true)),
        (
            "history skipped",
            Recording {
                history: OnDisk::Skip,
                attention: OnDisk::Keep,
            },
            (false, true),
        ),
        (
            "attention skipped",
            Recording {
                history: OnDisk::Keep,
                attention: OnDisk::Skip,
            },
            (true, false),
        ),
        (
            "both skipped",
            Recording {
                history: OnDisk::Skip,
                attention: OnDisk::Skip,
            },
            (false, false),
        ),
    ];
    let mut predictions = Vec::new();
    for (name, recording, expected) in cases {
        let run = tmp.path().join(name);
        let summary = train(&data, &run, recording);
        assert_eq!(written(&run), expected, "{name}: (history, attention) on disk");
        assert!(
            run.join("best").is_dir() && run.join("last").is_dir(),
            "{name}: checkpoints"
        );
        predictions.push(summary.test_predictions);
    }
    assert_eq!(Recording::default().history, OnDisk::Keep);
    assert_eq!(Recording::default().attention, OnDisk::Keep);
    // What is recorded never changes what is trained: the four runs are the same run.
    assert!(predictions.windows(2).all(|w| w[0] == w[1]), "{predictions:?}");
}
