//! Attention through training (issue 16, item 2), end to end through the binary: a headless
//! run records the attention of the paper's Figure-4 sentences the data holds and of every
//! `--watch SPLIT:INDEX` into `RUN/attention.safetensors`, with the step and loss of each
//! snapshot, and `--resume` goes on recording them; a `--watch` past its split is a one-line error; a run watching nothing writes
//! no file. Before, no attention was kept anywhere.

mod common;

use std::path::Path;

use cmbert::data::Split;
use cmbert::train::attention_log::{AttentionLog, ATTENTION_FILE};
use cmbert::train::history::{Entry, History};
use cmbert::train::Weights;
use common::*;

const SIZES: [usize; 3] = [24, 8, 6];

fn run_cli(args: &[String]) -> (i32, String, String) {
    cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn train(data: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = train_args(data, &tiny_bert(), out);
    args.extend(["--batch-size", "6"].iter().chain(extra).map(|s| s.to_string()));
    args
}

/// The tiny corpus with one of Figure 4's sentences appended to the test split (written
/// in lower case with extra spaces: found by its normalised text). Returns its index.
fn corpus_with_figure4(data: &Path) -> usize {
    write_tiny_corpus(data, SIZES);
    let test = data.join("test.tsv");
    let mut text = std::fs::read_to_string(&test).unwrap();
    text += "there are  some funny moments\t2.0\r\n";
    std::fs::write(&test, text).unwrap();
    SIZES[2]
}

#[test]
fn a_headless_run_records_figure4_and_watched_utterances_with_step_and_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let figure4 = corpus_with_figure4(&data);
    let run = tmp.path().join("run");
    let (code, _, stderr) = run_cli(&train(&data, &run, &["--epochs", "3", "--watch", "dev:3"]));
    assert_eq!(code, 0, "{stderr}");

    let log = AttentionLog::read(&run.join(ATTENTION_FILE)).unwrap();
    let kept: Vec<(Split, usize)> = log.tracks.iter().map(|t| (t.split, t.index)).collect();
    assert_eq!(kept, [(Split::Test, figure4), (Split::Dev, 3)]);

    let history = History::read_run(&run).unwrap().unwrap();
    let losses: Vec<(usize, f32)> = history.sessions[0]
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Step { step, loss, .. } => Some((*step, *loss)),
            _ => None,
        })
        .collect();
    let total = losses.last().unwrap().0;
    for track in &log.tracks {
        let steps: Vec<usize> = track.snapshots.iter().map(|r| r.step).collect();
        // Every epoch's end at least, the last one included.
        let per_epoch = total / 3;
        for end in [per_epoch, 2 * per_epoch, total] {
            assert!(
                steps.contains(&end),
                "{:?}: {steps:?} lacks the epoch end {end}",
                track.split
            );
        }
        for r in &track.snapshots {
            assert_eq!(r.weights, Weights::Live { step: r.step });
            let loss = losses.iter().find(|(s, _)| *s == r.step).map(|(_, l)| *l);
            assert_eq!(r.loss, loss, "the loss of step {} as the history has it", r.step);
            let n = r.snapshot.tokens.len();
            assert_eq!(r.snapshot.multimodal_attention.len(), n);
            assert!(r.snapshot.multimodal_attention.iter().all(|row| row.len() == n));
        }
    }
    // --resume goes on recording the same utterances without being told again.
    let (code, _, stderr) = run_cli(&[
        "train".into(),
        "--headless".into(),
        "--epochs".into(),
        "4".into(),
        "--resume".into(),
        s(&run.join("last")),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let resumed = AttentionLog::read(&run.join(ATTENTION_FILE)).unwrap();
    assert_eq!(resumed.tracks.len(), 2);
    for (before, after) in log.tracks.iter().zip(&resumed.tracks) {
        assert_eq!(after.snapshots[..before.snapshots.len()], before.snapshots[..]);
        assert_eq!(after.snapshots.last().map(|r| r.step), Some(total / 3 * 4));
    }
    let sentence = &log.tracks[0].snapshots[0].snapshot.words;
    assert_eq!(sentence.join(" ").to_uppercase(), "THERE ARE SOME FUNNY MOMENTS");
    // The model changes: the first and last snapshots differ.
    let t = &log.tracks[1].snapshots;
    assert_ne!(t[0].snapshot.fusion_scores, t[t.len() - 1].snapshot.fusion_scores);
}

#[test]
fn a_watch_past_its_split_is_a_one_line_error_and_nothing_watched_writes_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.path().join("run");
    let (code, _, stderr) = run_cli(&train(&data, &run, &["--epochs", "1", "--watch", "test:6"]));
    assert_eq!(code, 2, "{stderr}");
    let line = stderr.lines().last().unwrap_or_default();
    assert!(
        line.starts_with("error: --watch test:6: the test split of ") && line.ends_with("has 6 utterances (0 to 5)"),
        "{stderr}"
    );
    let (code, _, stderr) = run_cli(&train(&data, &run, &["--epochs", "1", "--watch", "tst:1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("`tst` is not a split"), "{stderr}");

    let (code, _, stderr) = run_cli(&train(&data, &run, &["--epochs", "1"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(run.join("history.jsonl").exists());
    assert!(!run.join(ATTENTION_FILE).exists(), "nothing was watched");
}
