//! What a checkpoint written by the engine records about its run: the `training` section of
//! `cmbert` in `config.json`, typed.
//!
//! The checkpoint layer stores that section as opaque JSON (it knows nothing of training);
//! this module is the one place that writes and reads it, so that `--resume`, `inspect`,
//! `runs` and the audio defaults of `eval`/`open` agree on its meaning.
//!
//! Epochs are numbered from 1, as every printout numbers them: `best_epoch: 10` is the
//! epoch printed as "epoch 10". Checkpoint format 1 stored the 0-based index there; it is
//! read and converted (`from_meta`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::RunSpec;
use crate::checkpoint::CheckpointMeta;
use crate::model::config::InvalidField;

/// The checkpoint format whose top-level `best_epoch` was a 0-based index.
const FORMAT_ZERO_BASED_EPOCHS: &str = "cmbert-tui/1";

/// Which of a run's checkpoints this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Saved {
    /// The weights of the best dev epoch so far (`best/`).
    Best,
    /// The weights as the loop left them, with the optimiser state (`last/`, resumable).
    Last,
}

impl Saved {
    /// The checkpoint's directory inside a run's output directory.
    pub fn dir_name(self) -> &'static str {
        match self {
            Self::Best => "best",
            Self::Last => "last",
        }
    }
}

/// The `training` section of one of our checkpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// Everything that defines the run, as it was started (or resumed).
    pub spec: RunSpec,
    /// `best/` or `last/` (absent in format 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved: Option<Saved>,
    /// Optimiser steps taken when these weights were saved (absent in format 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    /// Epochs completed when these weights were saved (absent in format 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs_done: Option<usize>,
    /// The best dev epoch so far, numbered from 1.
    pub best_epoch: Option<usize>,
    /// The dev loss of the best epoch.
    pub best_dev_loss: Option<f64>,
    /// Where the loop stood: present in `last/` only, which is what makes it resumable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// Each parameter's optimiser step count (`last/` only; the moments are in
    /// `trainer_state.safetensors`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer_steps: Option<BTreeMap<String, usize>>,
    /// Each `--resume --epochs N` that changed the run's length (`spec.epochs` is the
    /// latest): the learning-rate schedule changed there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epochs_changes: Vec<EpochsChange>,
}

/// The run's length changed on resuming: from `step` on, the schedule is that of a run of
/// `to` epochs (`Trainer::amend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochsChange {
    /// The optimiser step from which the new length applies.
    pub step: usize,
    /// The run's epochs before.
    pub from: usize,
    /// The run's epochs after.
    pub to: usize,
}

/// Where the loop is; saved in `last/` for `--resume`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Progress {
    /// Epochs completed (0-based index of the current one).
    pub epoch: usize,
    /// Batches done in the current epoch.
    pub batch_in_epoch: usize,
    /// Optimiser steps taken.
    pub global_step: usize,
    /// The best dev loss so far.
    pub best_dev_loss: Option<f64>,
    /// 0-based here (the loop's index); `TrainingRecord::best_epoch` is the printed number.
    #[serde(rename = "best_epoch_index", alias = "best_epoch")]
    pub best_epoch: Option<usize>,
    /// Sum of the current epoch's batch losses so far.
    pub epoch_loss_sum: f64,
    /// Number of batches in that sum.
    pub epoch_loss_count: usize,
}

impl Progress {
    /// A resumed run's position must be one this spec can have reached: within its epochs,
    /// with a best epoch (and a finite best loss) once any epoch has ended.
    pub fn validate(&self, spec: &RunSpec) -> Result<(), InvalidField> {
        if self.epoch > spec.epochs {
            return Err(InvalidField::new(
                "progress.epoch",
                self.epoch,
                format!("must be at most the run's epochs ({})", spec.epochs),
            ));
        }
        let best_ok = match (self.best_epoch, self.best_dev_loss) {
            (None, None) => self.epoch == 0,
            (Some(e), Some(l)) => e < self.epoch && l.is_finite(),
            _ => false,
        };
        if !best_ok {
            return Err(InvalidField {
                field: "progress.best_epoch, progress.best_dev_loss",
                value: format!("{:?}, {:?}", self.best_epoch, self.best_dev_loss),
                expected: format!(
                    "must be an epoch before the current one ({}) and a finite loss, both absent before the first epoch ends",
                    self.epoch
                ),
            });
        }
        if !self.epoch_loss_sum.is_finite() {
            return Err(InvalidField::new(
                "progress.epoch_loss_sum",
                self.epoch_loss_sum,
                "must be finite",
            ));
        }
        Ok(())
    }

    /// The position must be one the run reached on its data, `steps_per_epoch` optimiser
    /// steps an epoch: the step count is the epochs done and the batches of this one, and
    /// the epoch's loss sums no more batches than it has done. A record edited by hand (or
    /// data changed since the save) would otherwise resume at a step the schedule never had.
    pub fn validate_position(&self, steps_per_epoch: usize) -> Result<(), InvalidField> {
        if self.batch_in_epoch > steps_per_epoch {
            return Err(InvalidField::new(
                "progress.batch_in_epoch",
                self.batch_in_epoch,
                format!("must be at most the batches of an epoch on this data ({steps_per_epoch})"),
            ));
        }
        let expected = self
            .epoch
            .checked_mul(steps_per_epoch)
            .and_then(|n| n.checked_add(self.batch_in_epoch));
        if expected != Some(self.global_step) {
            return Err(InvalidField::new(
                "progress.global_step",
                self.global_step,
                format!(
                    "must be the steps of the epochs done and of this one ({} x {steps_per_epoch} + {}); \
                     was the data changed since the save?",
                    self.epoch, self.batch_in_epoch
                ),
            ));
        }
        if self.epoch_loss_count > self.batch_in_epoch {
            return Err(InvalidField::new(
                "progress.epoch_loss_count",
                self.epoch_loss_count,
                format!(
                    "must be at most the batches done in this epoch ({})",
                    self.batch_in_epoch
                ),
            ));
        }
        Ok(())
    }
}

/// A checkpoint's run record that does not parse as this build's `TrainingRecord`.
#[derive(Debug, thiserror::Error)]
#[error("the run record (cmbert.training) is not one this build reads: {0}")]
pub struct RecordError(#[from] serde_json::Error);

impl TrainingRecord {
    /// The record of a checkpoint's metadata; `Ok(None)` for checkpoints without one
    /// (written by another tool, or an empty section).
    pub fn from_meta(meta: &CheckpointMeta) -> Result<Option<Self>, RecordError> {
        if meta.training.is_null() || meta.training.as_object().is_some_and(|o| o.is_empty()) {
            return Ok(None);
        }
        let mut record: Self = serde_json::from_value(meta.training.clone())?;
        if meta.format == FORMAT_ZERO_BASED_EPOCHS {
            record.best_epoch = record.best_epoch.map(|e| e + 1);
        }
        Ok(Some(record))
    }

    /// Whether `--resume` can continue from this checkpoint.
    pub fn resumable(&self) -> bool {
        self.progress.is_some() && self.optimizer_steps.is_some()
    }

    /// The JSON stored in `CheckpointMeta::training`.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a training record serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::FORMAT;
    use crate::model::{ClsAudio, HeadConfig, ModelKind};

    fn meta(format: &str, training: serde_json::Value) -> CheckpointMeta {
        CheckpointMeta {
            format: format.into(),
            head: HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5),
            max_len: 50,
            training,
            audio_features: None,
        }
    }

    fn record() -> TrainingRecord {
        TrainingRecord {
            spec: RunSpec::paper("data".into(), "bert".into(), ModelKind::CmBert),
            saved: Some(Saved::Best),
            step: Some(30),
            epochs_done: Some(3),
            best_epoch: Some(3),
            best_dev_loss: Some(0.5),
            progress: None,
            optimizer_steps: None,
            epochs_changes: Vec::new(),
        }
    }

    #[test]
    fn resumed_progress_must_fit_the_spec() {
        let spec = RunSpec::paper("d".into(), "b".into(), ModelKind::CmBert);
        let mut p = Progress::default();
        p.validate(&spec).unwrap();
        p.epoch = 1;
        assert!(p.validate(&spec).is_err(), "an ended epoch without a best");
        p.best_epoch = Some(0);
        p.best_dev_loss = Some(0.5);
        p.validate(&spec).unwrap();
        p.epoch = 4;
        assert!(p
            .validate(&spec)
            .unwrap_err()
            .to_string()
            .starts_with("progress.epoch = 4"));
        p.epoch = 1;
        p.best_epoch = Some(1);
        assert!(p.validate(&spec).is_err(), "best epoch not yet ended");
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let r = record();
        let back = TrainingRecord::from_meta(&meta(FORMAT, r.to_value())).unwrap().unwrap();
        assert_eq!(back.best_epoch, Some(3));
        assert_eq!(back.saved, Some(Saved::Best));
        assert!(!back.resumable(), "best/ has no optimiser state");
    }

    #[test]
    fn format_1_best_epochs_are_renumbered_from_one() {
        let mut v = record().to_value();
        v["best_epoch"] = serde_json::json!(9);
        let back = TrainingRecord::from_meta(&meta(FORMAT_ZERO_BASED_EPOCHS, v))
            .unwrap()
            .unwrap();
        assert_eq!(back.best_epoch, Some(10));
    }

    #[test]
    fn no_record_and_a_broken_record_differ() {
        assert!(TrainingRecord::from_meta(&meta(FORMAT, serde_json::Value::Null))
            .unwrap()
            .is_none());
        let err = TrainingRecord::from_meta(&meta(FORMAT, serde_json::json!({ "spec": 3 }))).unwrap_err();
        assert!(err.to_string().contains("cmbert.training"), "{err}");
    }
}
