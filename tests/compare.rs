//! `compare` and `export --curves` through the binary, on run directories whose histories
//! are written as a real run writes them (a header, steps, a dev evaluation per epoch with
//! `best`, saves, the test evaluation, `finished`) until the engine writes them itself.

mod common;

use std::path::Path;

use cmbert::data::Split;
use cmbert::model::{ClsAudio, ModelKind};
use cmbert::train::history::{Entry, Header, HistoryWriter, Machine, HISTORY_VERSION};
use cmbert::train::{Metrics, RunSpec, Saved};
use common::*;

/// A 2-epoch run of 3 steps an epoch; `level` scales its losses (lower is better).
fn write_run(dir: &Path, cls_audio: ClsAudio, seed: u64, level: f64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut spec = RunSpec::scratch("data/corpus".into(), "bert".into(), ModelKind::CmBert);
    spec.cls_audio = cls_audio;
    spec.seed = seed;
    spec.epochs = 2;
    let header = Header {
        version: HISTORY_VERSION,
        spec,
        machine: Machine::this("cpu"),
        started: "2026-12-01T16:00:00+00:00".into(),
        first_step: 0,
        resumed: false,
    };
    let mut w = HistoryWriter::start(dir, header).unwrap();
    let labels = [1.0f32, -1.0, 2.0, -0.5];
    let metrics = |gain: f32| {
        let p: Vec<f32> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| l * gain + 0.3 * i as f32 - 0.4)
            .collect();
        Metrics::compute(&p, &labels)
    };
    for step in 1..=6 {
        w.write(&Entry::Step {
            step,
            epoch: 1 + (step - 1) / 3,
            loss: (level * (1.0 + 1.0 / step as f64)) as f32,
            lr: 1e-3,
            seconds: step as f64,
        })
        .unwrap();
        if step % 3 == 0 {
            w.write(&Entry::Eval {
                split: Split::Dev,
                epoch: Some(step / 3),
                step,
                loss: level * (1.0 + 1.0 / step as f64),
                metrics: metrics(step as f32 / 6.0),
                best: true,
                train_loss: None,
            })
            .unwrap();
            w.write(&Entry::Saved {
                checkpoint: Saved::Best,
                step,
            })
            .unwrap();
        }
    }
    w.write(&Entry::Eval {
        split: Split::Test,
        epoch: None,
        step: 6,
        loss: level + seed as f64 * 0.01,
        metrics: metrics(1.0 / level as f32),
        best: false,
        train_loss: None,
    })
    .unwrap();
    w.write(&Entry::Finished {
        best_epoch: 2,
        best_dev_loss: level,
        seconds: 6.0,
    })
    .unwrap();
    // `runs` and `compare` know a seed's run by its checkpoints.
    std::fs::create_dir_all(dir.join("last")).unwrap();
}

fn runs(tmp: &Path) {
    write_run(&tmp.join("zero"), ClsAudio::Zero, 1, 1.2);
    for seed in 1..=2 {
        write_run(&tmp.join(format!("learned/seed-{seed}")), ClsAudio::Learned, seed, 1.0);
    }
}

#[test]
fn compare_prints_the_table_without_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    runs(tmp.path());
    let (code, out, err) = cli_in(tmp.path(), &["compare", "zero", "learned"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("RUN") && lines[0].ends_with("Corr"), "{out}");
    assert!(lines[1].starts_with("cls-audio zero, seed 1 "), "{out}");
    assert!(lines[2].starts_with("cls-audio learned, seeds 1,2 "), "{out}");
    // The seeds' test loss: 1.01 and 1.02.
    assert!(lines[2].contains("1.015 ± 0.007*"), "{out}");
    assert!(out.contains("differ in: cls-audio, seed\n"), "{out}");
}

#[test]
fn compare_out_writes_the_figure_and_the_tables() {
    let tmp = tempfile::tempdir().unwrap();
    runs(tmp.path());
    let args = [
        "compare", "zero", "learned", "--out", "c.png", "--out", "c.svg", "--out", "c.csv", "--out", "c.md",
    ];
    let (code, out, err) = cli_in(tmp.path(), &args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("wrote c.png (loss and dev-metric curves of 2 rows)"),
        "{out}"
    );
    let png = std::fs::read(tmp.path().join("c.png")).unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap()
        .info()
        .clone();
    assert_eq!((info.width, info.height), cmbert::export::curves::size(2));
    let svg = std::fs::read_to_string(tmp.path().join("c.svg")).unwrap();
    assert!(svg.contains("cls-audio learned, seeds 1,2"), "the legend");
    let csv = std::fs::read_to_string(tmp.path().join("c.csv")).unwrap();
    assert!(csv.starts_with("label,dir,runs,cls-audio,seed,best_epoch,"), "{csv}");
    assert!(
        csv.contains("\"cls-audio learned, seeds 1,2\",learned,2,learned,\"1,2\",2,0,"),
        "{csv}"
    );
    let md = std::fs::read_to_string(tmp.path().join("c.md")).unwrap();
    assert!(md.contains("| cls-audio learned, seeds 1,2 | 2.0 ± 0.0 |"), "{md}");
    // An existing file is kept without --force; an unknown extension is refused.
    let (code, _, err) = cli_in(tmp.path(), &["compare", "zero", "learned", "--out", "c.md"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("c.md already exists; choose another name or pass --force"),
        "{err}"
    );
    let (code, _, err) = cli_in(tmp.path(), &["compare", "zero", "--out", "c.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("c.json: --out takes a .png or .svg file"), "{err}");
}

#[test]
fn export_curves_writes_the_figure_and_every_point() {
    let tmp = tempfile::tempdir().unwrap();
    runs(tmp.path());
    let (code, out, err) = cli_in(tmp.path(), &["export", "--curves", "zero", "learned", "--out", "p.csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote p.csv (every curve point of 2 rows)"), "{out}");
    let csv = std::fs::read_to_string(tmp.path().join("p.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "label,run,series,step,epoch,value");
    // 3 runs: 6 steps, 2 epochs x 7 dev series, 7 test figures.
    assert_eq!(lines.len(), 1 + 3 * (6 + 2 * 7 + 7));
    assert_eq!(
        lines[1], "\"cls-audio zero, seed 1\",zero,train_loss,1,,2.4",
        "f32 losses as written"
    );
    // Without --out: a new figure and CSV in exports/.
    let (code, out, err) = cli_in(tmp.path(), &["export", "--curves", "learned"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("wrote exports/curves.png") && out.contains("wrote exports/curves.csv"),
        "{out}"
    );
    let png = std::fs::read(tmp.path().join("exports/curves.png")).unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap()
        .info()
        .clone();
    assert_eq!((info.width, info.height), cmbert::export::curves::size(1));
    // Attention exports still need their checkpoint; --curves takes no utterance.
    let (code, _, err) = cli(&["export", "--index", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--checkpoint"), "{err}");
    let (code, _, err) = cli(&["export", "--curves", "zero", "--index", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

/// The end-to-end case: two real tiny runs on one corpus, the paper's `zero` and the
/// `learned` variant, trained through the binary (so the engine writes their histories),
/// then compared: the table, the figure and the CSV of every point come from those
/// histories.
#[test]
fn two_real_runs_zero_and_learned_compare_from_their_histories() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, [24, 8, 8]);
    let audio = tmp.path().join("audio.safetensors");
    write_tiny_audio(&audio, [24, 8, 8], 0.5);
    for variant in ["zero", "learned"] {
        train_variant(
            &data,
            &audio,
            &tmp.path().join(variant),
            variant,
            Schedule { epochs: 2, batch: 8 },
            &[],
        );
        assert!(tmp.path().join(variant).join("history.jsonl").is_file(), "{variant}");
    }
    let (code, out, err) = cli_in(
        tmp.path(),
        &["compare", "zero", "learned", "--out", "c.png", "--out", "c.csv"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote c.csv (the metrics table, 2 rows)"), "{out}");
    let (code, table, err) = cli_in(tmp.path(), &["compare", "zero", "learned"]);
    assert_eq!(code, 0, "{err}");
    assert!(!table.contains("no history.jsonl"), "both runs have histories: {table}");
    let png = std::fs::read(tmp.path().join("c.png")).unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap()
        .info()
        .clone();
    assert_eq!((info.width, info.height), cmbert::export::curves::size(2));
    let csv = std::fs::read_to_string(tmp.path().join("c.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "a header and one row per run: {csv}");
    assert!(rows[1].starts_with("cls-audio zero,zero,1,zero,"), "{csv}");
    assert!(rows[2].starts_with("cls-audio learned,learned,1,learned,"), "{csv}");
    // Every step of both runs is a point of the curves export: 2 epochs of 3 steps each.
    let (code, _, err) = cli_in(tmp.path(), &["export", "--curves", "zero", "learned", "--out", "p.csv"]);
    assert_eq!(code, 0, "{err}");
    let points = std::fs::read_to_string(tmp.path().join("p.csv")).unwrap();
    for variant in ["zero", "learned"] {
        let steps = points
            .lines()
            .filter(|l| l.contains(&format!(",{variant},train_loss,")))
            .count();
        assert_eq!(steps, 6, "{variant}: {points}");
    }
}
