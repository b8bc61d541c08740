//! Resuming a run from its `last/` checkpoint (the record, the optimiser's moments, the
//! best weights so far), and the settings a resumed run may change.

use std::path::Path;

use candle_core::Device;

use super::{checkpoint_io, run_dir_of, Begun, Trainer};
use crate::checkpoint::Checkpoint;
use crate::model::config::InvalidField;
use crate::train::config::Amend;
use crate::train::error::TrainError;
use crate::train::record::{EpochsChange, Saved, TrainingRecord};

impl Trainer {
    /// Continues the run saved in `dir` (a `last/` checkpoint written by this engine),
    /// writing its `best/` and `last/` into the run directory that holds it.
    pub fn resume(dir: &Path, device: &Device) -> Result<Self, TrainError> {
        let out = run_dir_of(dir);
        let resume_err = |message: String| TrainError::Resume {
            path: dir.to_path_buf(),
            message,
        };
        let ckpt = Checkpoint::load(dir, device)?;
        let meta = ckpt
            .meta
            .clone()
            .ok_or_else(|| resume_err("not a cmbert-tui checkpoint".into()))?;
        let record = TrainingRecord::from_meta(&meta)
            .map_err(|e| resume_err(e.to_string()))?
            .ok_or_else(|| resume_err("no run record (cmbert.training): not written by `cmbert-tui train`".into()))?;
        let epochs_changes = record.epochs_changes;
        let mut spec = record.spec;
        // The file's own output directory is only a claim: followed, a crafted checkpoint
        // would choose whose best/ and last/ get replaced.
        spec.out = Some(out.clone());
        let (Some(progress), Some(steps)) = (record.progress, record.optimizer_steps) else {
            return Err(resume_err(
                "no trainer progress: only a `last/` checkpoint can be resumed".into(),
            ));
        };
        // Exactly what the command line is held to, before any data is read with it.
        spec.validate_for(&ckpt.bert)
            .and_then(|()| progress.validate(&spec))
            .map_err(|problem| TrainError::ResumeSpec {
                path: dir.join("config.json"),
                problem,
            })?;
        let moments = checkpoint_io::read_moments(dir, steps, device)?;
        let mut trainer = Self::build(
            spec,
            ckpt.tensors.clone(),
            ckpt.bert.clone(),
            meta.head.clone(),
            ckpt.vocab.clone(),
            device,
            progress,
        )?;
        trainer
            .optimizer
            .import_state(moments)
            .map_err(|e| resume_err(e.to_string()))?;
        trainer.audio_features = meta.audio_features.clone();
        trainer.epochs_changes = epochs_changes;
        trainer.begun = Begun::Resumed;
        trainer.resumed_from = Some(dir.to_path_buf());
        if trainer.progress.best_epoch.is_some() {
            let best = Checkpoint::load(&out.join(Saved::Best.dir_name()), device)?;
            trainer.best = Some(
                trainer
                    .store
                    .vars()
                    .keys()
                    .filter_map(|k| best.tensors.get(k).map(|t| (k.clone(), t.clone())))
                    .collect(),
            );
        }
        Ok(trainer)
    }

    /// Changes a resumed run's settings (`--resume` with `--epochs`, `--eval-batch-size`,
    /// `--save-every`); the checkpoints it saves record them. The epochs may extend a
    /// finished run or shorten a running one, never below the epochs already done. The
    /// learning-rate schedule is a function of the run's length (`WarmupLinear` over
    /// `RunSpec::t_total`), so from the resumed step on it is that of a run started with
    /// the new length: training further from a finished run's zero rate restarts at the
    /// rate that run would have at this step, and decays linearly to zero at the new end.
    /// The change is recorded (`TrainingRecord::epochs_changes`).
    pub fn amend(&mut self, amend: Amend) -> Result<(), TrainError> {
        let mut spec = self.spec.clone();
        spec.epochs = amend.epochs.unwrap_or(spec.epochs);
        spec.eval_batch_size = amend.eval_batch_size.unwrap_or(spec.eval_batch_size);
        spec.save_every = amend.save_every.or(spec.save_every);
        spec.validate().map_err(|problem| TrainError::Amend { problem })?;
        let done = self.progress.epoch;
        if spec.epochs < done {
            return Err(TrainError::Amend {
                problem: InvalidField::new(
                    "epochs",
                    spec.epochs,
                    format!(
                        "the run has done {done} epoch{} already (--epochs {done} or more)",
                        if done == 1 { "" } else { "s" }
                    ),
                ),
            });
        }
        if spec.epochs != self.spec.epochs {
            self.epochs_changes.push(EpochsChange {
                step: self.progress.global_step,
                from: self.spec.epochs,
                to: spec.epochs,
            });
        }
        self.spec = spec;
        Ok(())
    }
}
