//! Everything that defines a training run. Recorded in every checkpoint (`cmbert.training`)
//! so a run can be resumed or reproduced from its checkpoint alone.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::groups::GroupSettings;
use crate::model::{ClsAudio, ModelKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The reference implementation's recipe (spec section 4).
    Paper,
    /// For the built-in corpus and a small BERT trained from scratch: the paper's recipe with
    /// trainable embeddings, a larger encoder learning rate and more epochs.
    Scratch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub data: PathBuf,
    pub audio: Option<PathBuf>,
    /// Directory of the pre-trained encoder (a hub id is resolved to its cache directory).
    pub bert: PathBuf,
    pub model: ModelKind,
    pub cls_audio: ClsAudio,
    pub preset: Preset,
    pub epochs: usize,
    pub batch_size: usize,
    pub eval_batch_size: usize,
    pub groups: GroupSettings,
    pub warmup: f64,
    pub max_grad_norm: f64,
    pub max_len: usize,
    pub seed: u64,
    /// Where `best/` and `last/` go; `None` keeps nothing on disk.
    pub out: Option<PathBuf>,
    /// Also save `last/` every this many steps (always at each epoch end).
    pub save_every: Option<usize>,
}

impl RunSpec {
    /// The paper preset: 3 epochs, batch 24, lr 2e-5 / 0.01, warm-up 0.1, clipping 1.0.
    pub fn paper(data: PathBuf, bert: PathBuf, model: ModelKind) -> Self {
        Self {
            data,
            audio: None,
            bert,
            model,
            cls_audio: ClsAudio::Zero,
            preset: Preset::Paper,
            epochs: 3,
            batch_size: 24,
            eval_batch_size: 24,
            groups: GroupSettings::default(),
            warmup: 0.1,
            max_grad_norm: 1.0,
            max_len: crate::data::DEFAULT_MAX_LEN,
            seed: 42,
            out: None,
            save_every: None,
        }
    }

    /// The `scratch` preset (see `Preset::Scratch`).
    pub fn scratch(data: PathBuf, bert: PathBuf, model: ModelKind) -> Self {
        let mut spec = Self::paper(data, bert, model);
        spec.preset = Preset::Scratch;
        spec.epochs = 12;
        spec.groups.lr = 1e-3;
        spec.groups.freeze_embeddings = false;
        spec
    }

    /// The reference's `t_total`: full batches per epoch times epochs.
    pub fn t_total(&self, n_train: usize) -> usize {
        n_train / self.batch_size.max(1) * self.epochs
    }

    /// Steps actually taken per epoch (the last partial batch included).
    pub fn steps_per_epoch(&self, n_train: usize) -> usize {
        n_train.div_ceil(self.batch_size.max(1))
    }
}

/// Derives independent, reproducible streams (data order per epoch, dropout per step) from
/// the run seed, so a resumed run draws exactly what an uninterrupted one would.
pub fn derive_seed(seed: u64, stream: u64, index: u64) -> u64 {
    // SplitMix64 finaliser over the combined words.
    let mut z = seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F) ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
