//! A run's checkpoints as the engine writes and reads them: the weights and the run record
//! (`TrainingRecord`) in `best/` and `last/`, and in `last/` also the optimiser's moments
//! (`trainer_state.safetensors`) that make it resumable.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device, Tensor};

use super::Trainer;
use crate::checkpoint::{self, CheckpointMeta, FORMAT};
use crate::train::error::TrainError;
use crate::train::events::{Event, EventSink};
use crate::train::record::{Saved, TrainingRecord};

/// The optimiser's moments in `last/`: `m.NAME` and `v.NAME` for each parameter.
const STATE_FILE: &str = "trainer_state.safetensors";

/// Each parameter's optimiser state: first and second moments, and its step count.
pub(super) type Moments = HashMap<String, (Vec<f32>, Vec<f32>, usize)>;

impl Trainer {
    /// Saves the run's `which` checkpoint into its output directory (nothing without one),
    /// and tells the consumers.
    pub(super) fn save_checkpoint(&self, which: Saved, events: &dyn EventSink) -> Result<(), TrainError> {
        let Some(out) = self.spec.out.as_ref() else {
            return Ok(());
        };
        let dir = out.join(which.dir_name());
        self.save(&dir, which)?;
        events.emit(Event::CheckpointSaved { path: dir, kind: which });
        Ok(())
    }

    /// Saves weights and the run record; `last/` also the progress and the optimiser state
    /// for resuming.
    fn save(&self, dir: &Path, saved: Saved) -> Result<(), TrainError> {
        let mut record = TrainingRecord {
            spec: self.spec.clone(),
            saved: Some(saved),
            step: Some(self.progress.global_step),
            epochs_done: Some(self.progress.epoch),
            best_epoch: self.progress.best_epoch.map(|e| e + 1),
            best_dev_loss: self.progress.best_dev_loss,
            progress: None,
            optimizer_steps: None,
            epochs_changes: self.epochs_changes.clone(),
        };
        let mut extra = Vec::new();
        if saved == Saved::Last {
            let state = self.optimizer.export_state();
            record.progress = Some(self.progress.clone());
            record.optimizer_steps = Some(state.iter().map(|(n, _, _, s)| (n.clone(), *s)).collect());
            let mut tensors = Vec::with_capacity(state.len() * 2);
            for (name, m, v, _) in state {
                tensors.push((format!("m.{name}"), Tensor::from_slice(m, m.len(), &Device::Cpu)?));
                tensors.push((format!("v.{name}"), Tensor::from_slice(v, v.len(), &Device::Cpu)?));
            }
            extra.push((STATE_FILE, tensors));
        }
        let meta = CheckpointMeta {
            format: FORMAT.into(),
            head: self.head.clone(),
            max_len: self.spec.max_len,
            training: record.to_value(),
            audio_features: self.audio_features.clone(),
        };
        checkpoint::save_with(dir, &self.store.vars(), &self.bert, &meta, &self.vocab, &extra)?;
        Ok(())
    }
}

/// The optimiser state saved in `last/` (`dir`) for the parameters `steps` names.
pub(super) fn read_moments(dir: &Path, steps: BTreeMap<String, usize>, device: &Device) -> Result<Moments, TrainError> {
    let resume_err = |message: String| TrainError::Resume {
        path: dir.to_path_buf(),
        message,
    };
    // candle opens (and maps) the file by its path: a FIFO there would block it.
    crate::fsutil::check_input(&dir.join(STATE_FILE)).map_err(|e| resume_err(format!("{STATE_FILE}: {e}")))?;
    let state = candle_core::safetensors::load(dir.join(STATE_FILE), device)
        .map_err(|e| resume_err(format!("{STATE_FILE}: {e}")))?;
    let mut moments = HashMap::new();
    for (name, step) in steps {
        let get = |prefix: &str| -> Result<Vec<f32>, TrainError> {
            let t = state
                .get(&format!("{prefix}.{name}"))
                .ok_or_else(|| resume_err(format!("{STATE_FILE} lacks {prefix}.{name}")))?;
            Ok(t.flatten_all()?.to_vec1::<f32>()?)
        };
        moments.insert(name.clone(), (get("m")?, get("v")?, step));
    }
    Ok(moments)
}
