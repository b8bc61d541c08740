//! Run directories as a real run writes them, for the tests of `compare`, its screen and its
//! exports: a history through `HistoryWriter` (a header, a step line per optimiser step, a
//! dev evaluation per epoch with `best`, the saves, the test evaluation with `epoch: None`,
//! `finished`). The curves are made up but distinct per setting and seed.

use std::path::Path;

use crate::data::{MmsaKind, Split};
use crate::model::{ClsAudio, ModelKind};
use crate::train::history::{Entry, Header, HistoryWriter, Machine, HISTORY_VERSION};
use crate::train::{Metrics, RunSpec, Saved};

/// Steps per epoch of the made-up runs.
pub const STEPS_PER_EPOCH: usize = 4;

/// The spec of a made-up scratch run.
pub fn spec(model: ModelKind, cls_audio: ClsAudio, seed: u64, epochs: usize) -> RunSpec {
    let mut spec = RunSpec::scratch("data/corpus".into(), "bert".into(), model);
    spec.cls_audio = cls_audio;
    spec.seed = seed;
    spec.epochs = epochs;
    spec
}

/// Metrics whose predictions are `labels * gain`: a larger gain is a better model up to 1.
pub fn metrics(gain: f32) -> Metrics {
    metrics_of(None, gain)
}

/// As [`metrics`], on data of `kind` (an MMSA pickle's: MMSA's figures too; CH-SIMS's
/// labels and noise a third as large, in [-1, 1]).
pub fn metrics_of(kind: Option<MmsaKind>, gain: f32) -> Metrics {
    let scale = if kind == Some(MmsaKind::Sims) { 1.0 / 3.0 } else { 1.0 };
    let labels = [1.5f32, -1.0, 2.5, -2.0, 0.5, -0.5, 0.2, -2.5].map(|l| l * scale);
    let noise = [0.6f32, -0.3, -0.8, 0.5, -0.9, 0.9, -0.4, 0.3].map(|n| n * scale);
    let predictions: Vec<f32> = labels
        .iter()
        .zip(noise)
        .map(|(l, n)| l * gain + n * (1.3 - gain))
        .collect();
    Metrics::compute_for(kind, &predictions, &labels)
}

/// Writes `dir/history.jsonl` for a run of `spec` whose losses scale with `level` (lower is
/// better); `epochs_done` epochs (fewer than planned: stopped, no test, no `finished`).
pub fn write_run(dir: &Path, spec: &RunSpec, level: f64, epochs_done: usize) {
    write_run_of(None, dir, spec, level, epochs_done)
}

/// As [`write_run`], for a run on data of `kind` (`Dataset::mmsa`).
pub fn write_run_of(kind: Option<MmsaKind>, dir: &Path, spec: &RunSpec, level: f64, epochs_done: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let header = Header {
        version: HISTORY_VERSION,
        spec: spec.clone(),
        machine: Machine::this("cpu"),
        started: "2026-12-01T16:00:00+00:00".into(),
        first_step: 0,
        resumed: false,
    };
    let mut w = HistoryWriter::start(dir, header).unwrap();
    let wiggle = (spec.seed % 5) as f64 * 0.01;
    let mut best = f64::INFINITY;
    for epoch in 1..=epochs_done {
        for k in 1..=STEPS_PER_EPOCH {
            let step = (epoch - 1) * STEPS_PER_EPOCH + k;
            w.write(&Entry::Step {
                step,
                epoch,
                loss: (level * (1.0 + 2.0 / step as f64) + wiggle * (k % 2) as f64) as f32,
                lr: spec.groups.lr,
                seconds: step as f64 * 0.1,
            })
            .unwrap();
        }
        let step = epoch * STEPS_PER_EPOCH;
        let loss = level * (1.2 + 1.0 / epoch as f64) + wiggle;
        let is_best = loss < best;
        best = best.min(loss);
        w.write(&Entry::Eval {
            split: Split::Dev,
            epoch: Some(epoch),
            step,
            loss,
            metrics: metrics_of(kind, (epoch as f32 * 0.3 / level as f32).min(1.0)),
            best: is_best,
            train_loss: None,
        })
        .unwrap();
        if is_best {
            w.write(&Entry::Saved {
                checkpoint: Saved::Best,
                step,
            })
            .unwrap();
        }
        w.write(&Entry::Saved {
            checkpoint: Saved::Last,
            step,
        })
        .unwrap();
    }
    if epochs_done < spec.epochs {
        w.write(&Entry::Stopped {
            step: epochs_done * STEPS_PER_EPOCH,
        })
        .unwrap();
        return;
    }
    w.write(&Entry::Eval {
        split: Split::Test,
        epoch: None,
        step: epochs_done * STEPS_PER_EPOCH,
        loss: level * 1.3 + wiggle,
        metrics: metrics_of(kind, (0.9 / level as f32).min(1.0) - wiggle as f32),
        best: false,
        train_loss: None,
    })
    .unwrap();
    w.write(&Entry::Finished {
        best_epoch: epochs_done,
        best_dev_loss: best,
        seconds: 1.0,
    })
    .unwrap();
}
