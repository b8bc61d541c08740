//! Everything that defines a training run. Recorded in every checkpoint (`cmbert.training`)
//! so a run can be resumed or reproduced from its checkpoint alone.
//!
//! A spec comes from the command line or, on `--resume`, from a checkpoint's `config.json`,
//! which anyone may have written. `RunSpec::validate` is the one check for both: a resumed
//! spec is held to exactly what the command line is, so a saved `batch_size: 0` or
//! `max_len: 30000000` is refused before any data is encoded.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::groups::GroupSettings;
use crate::data::MmsaLabel;
use crate::model::bf16::Precision;
use crate::model::config::{check_size, ConfigError, InvalidField, MAX_SEQUENCE_LEN};
use crate::model::{BertConfig, ClsAudio, ModelKind};

/// Far beyond any fine-tuning recipe (the paper trains 3 epochs); keeps `epochs x steps`
/// far from overflow.
pub const MAX_EPOCHS: usize = 100_000;
/// A batch larger than a split is simply the whole split; this only keeps `step x batch`
/// arithmetic far from overflow.
pub const MAX_BATCH_SIZE: usize = 1 << 20;

/// A training recipe: learning rates, frozen parts, epochs (`RunSpec::paper`, `RunSpec::scratch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// The reference implementation's recipe (docs/MODEL.md §4).
    Paper,
    /// For the built-in corpus and a small BERT trained from scratch: the paper's recipe with
    /// trainable embeddings, a larger encoder learning rate and more epochs.
    Scratch,
}

/// As the command line spells it (`--preset paper`), so that what is printed can be typed.
impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Paper => "paper",
            Self::Scratch => "scratch",
        })
    }
}

/// Everything that defines a run: data, model, recipe, seed and output; recorded in every
/// checkpoint so that `--resume` continues exactly this run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Directory of the MOSI-format text (`train.tsv`, `dev.tsv`, `test.tsv`), or an MMSA
    /// pickle (`data::mmsa`).
    pub data: PathBuf,
    /// Which label of an MMSA pickle the run trains on (`--label`; CH-SIMS files hold `T`, `A`
    /// and `V` besides `M`). Written only when it is not `M`, so that the other runs'
    /// checkpoints are as before; a checkpoint without it (every run before labels were
    /// recorded) trained on `M`, the only label such a run could use.
    #[serde(default, skip_serializing_if = "MmsaLabel::is_multimodal")]
    pub label: MmsaLabel,
    /// Token-aligned audio features (a pickle); `None` trains on silence.
    pub audio: Option<PathBuf>,
    /// Directory of the pre-trained encoder (a hub id is resolved to its cache directory).
    pub bert: PathBuf,
    /// CM-BERT or T-BERT.
    pub model: ModelKind,
    /// What the `[CLS]` position of the audio sequence carries.
    pub cls_audio: ClsAudio,
    /// The recipe the settings came from.
    pub preset: Preset,
    /// Passes over the training split.
    pub epochs: usize,
    /// Training examples per optimiser step.
    pub batch_size: usize,
    /// Examples per evaluation batch (it changes the scores: the fusion head normalises per batch).
    pub eval_batch_size: usize,
    /// Learning rate, weight decay and freezing of each parameter group.
    pub groups: GroupSettings,
    /// Share of the steps over which the learning rate warms up linearly.
    pub warmup: f64,
    /// Gradients are clipped to this norm per tensor (BertAdam).
    pub max_grad_norm: f64,
    /// Token sequences are cut or padded to this length.
    pub max_len: usize,
    /// Seeds the shuffling, dropout and new weights.
    pub seed: u64,
    /// Where `best/` and `last/` go; `None` keeps nothing on disk.
    pub out: Option<PathBuf>,
    /// Also save `last/` every this many steps (always at each epoch end).
    pub save_every: Option<usize>,
    /// The encoder's matrix products: f32, or bf16 where the CPU has AVX512-BF16
    /// (`model::bf16`). Written only when bf16, so f32 runs' checkpoints are as before.
    #[serde(default, skip_serializing_if = "Precision::is_f32")]
    pub precision: Precision,
}

impl RunSpec {
    /// The paper preset: 3 epochs, batch 24, lr 2e-5 / 0.01, warm-up 0.1, clipping 1.0.
    pub fn paper(data: PathBuf, bert: PathBuf, model: ModelKind) -> Self {
        Self {
            data,
            label: MmsaLabel::M,
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
            precision: Precision::F32,
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

    /// Parses and validates a spec from JSON text (the path-free entry point for fuzzing).
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        let value = serde_json::from_str(text).map_err(|error| ConfigError::Json {
            what: "run spec",
            error,
        })?;
        Self::from_json_value(value)
    }

    /// As `from_json_str`, from the `spec` a checkpoint records.
    pub fn from_json_value(value: serde_json::Value) -> Result<Self, ConfigError> {
        let spec: Self = serde_json::from_value(value).map_err(|error| ConfigError::Json {
            what: "run spec",
            error,
        })?;
        spec.validate()?;
        Ok(spec)
    }

    /// Checks every setting; the field names are the spec's (and the checkpoint's), the
    /// expectation names the command-line option that sets it.
    pub fn validate(&self) -> Result<(), InvalidField> {
        let size = |field, value, max, flag: &str| {
            check_size(field, value, max).map_err(|e| InvalidField {
                expected: format!("{} ({flag})", e.expected),
                ..e
            })
        };
        size("epochs", self.epochs, MAX_EPOCHS, "--epochs")?;
        size("batch_size", self.batch_size, MAX_BATCH_SIZE, "--batch-size")?;
        size(
            "eval_batch_size",
            self.eval_batch_size,
            MAX_BATCH_SIZE,
            "--eval-batch-size",
        )?;
        if !(2..=MAX_SEQUENCE_LEN).contains(&self.max_len) {
            return Err(InvalidField::new(
                "max_len",
                self.max_len,
                format!("must be between 2 ([CLS] and [SEP]) and {MAX_SEQUENCE_LEN} (--max-len)"),
            ));
        }
        if self.save_every == Some(0) {
            return Err(InvalidField::new(
                "save_every",
                0,
                "must be at least 1 (--save-every; leave it out to save at epoch ends only)",
            ));
        }
        let positive = |field, value: f64, flag: &str| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(InvalidField::new(
                    field,
                    value,
                    format!("must be a finite number > 0 ({flag})"),
                ))
            }
        };
        positive("groups.lr", self.groups.lr, "--lr")?;
        positive("groups.head_lr", self.groups.head_lr, "--head-lr")?;
        positive("max_grad_norm", self.max_grad_norm, "--max-grad-norm")?;
        if !(self.groups.weight_decay.is_finite() && self.groups.weight_decay >= 0.0) {
            return Err(InvalidField::new(
                "groups.weight_decay",
                self.groups.weight_decay,
                "must be a finite number >= 0 (--weight-decay)",
            ));
        }
        if !(0.0..=1.0).contains(&self.warmup) {
            return Err(InvalidField::new(
                "warmup",
                self.warmup,
                "must be in [0, 1], a share of the training steps (--warmup)",
            ));
        }
        Ok(())
    }

    /// `validate`, and the settings that depend on the encoder: `max_len` within its
    /// position table.
    pub fn validate_for(&self, bert: &BertConfig) -> Result<(), InvalidField> {
        self.validate()?;
        bert.check_max_len(self.max_len).map_err(|e| InvalidField {
            expected: format!("{} (--max-len)", e.expected),
            ..e
        })
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

/// Whether a run writes one of its records (`Recording`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnDisk {
    /// Written as the run trains (the default).
    #[default]
    Keep,
    /// Not written, and not computed where it exists only to be written (the watched
    /// utterances' attention).
    Skip,
}

/// What a run with an output directory records beside its checkpoints: its history
/// (`RUN/history.jsonl`, `train::history`) and the attention of its watched utterances
/// (`RUN/attention.safetensors`, `train::attention_log`). Both by default; skipping them is
/// for measuring what they cost (`benches/recording_overhead.rs`, docs/BENCHMARKS.md), not a
/// command-line option: on disk a history is about a hundred bytes a step and the attention
/// log is bounded (README, "Attention through training"); in time the history costs too
/// little to measure, and the attention log's share is set by its schedule (one budget
/// shared by the watched utterances, `train/engine/rota.rs`), the place to lower it. A run without its history would open
/// with no curves. A session's setting, not the run's: not recorded in checkpoints, and
/// `--resume` records both again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recording {
    /// `RUN/history.jsonl`.
    pub history: OnDisk,
    /// `RUN/attention.safetensors`, and the recomputation of the utterances watched only for
    /// it (the Figure-4 sentences, `--watch`); the utterance in the app's view is still shown.
    pub attention: OnDisk,
}

/// Settings a resumed run may change: none changes the model, the optimiser's state or
/// the data (`commands::resume` refuses the flags that would).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amend {
    /// The run's new length: more epochs continue a finished run, fewer end it earlier.
    pub epochs: Option<usize>,
    /// Examples per evaluation batch from now on.
    pub eval_batch_size: Option<usize>,
    /// Save `last/` every this many steps (`Some(0)`: only at epoch ends).
    pub save_every: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RunSpec {
        RunSpec::paper("data".into(), "bert".into(), ModelKind::CmBert)
    }

    fn refused(edit: impl FnOnce(&mut RunSpec)) -> String {
        let mut s = spec();
        edit(&mut s);
        s.validate().unwrap_err().to_string()
    }

    #[test]
    fn the_precision_is_recorded_only_when_bf16() {
        let text = serde_json::to_string(&spec()).unwrap();
        assert!(!text.contains("precision"), "an f32 spec is written as before: {text}");
        assert_eq!(RunSpec::from_json_str(&text).unwrap().precision, Precision::F32);
        let mut bf16 = spec();
        bf16.precision = Precision::Bf16;
        let text = serde_json::to_string(&bf16).unwrap();
        assert!(text.contains(r#""precision":"bf16""#), "{text}");
        assert_eq!(RunSpec::from_json_str(&text).unwrap(), bf16);
    }

    #[test]
    fn presets_are_valid() {
        spec().validate().unwrap();
        RunSpec::scratch("d".into(), "b".into(), ModelKind::TBert)
            .validate_for(&BertConfig::scratch(100))
            .unwrap();
    }

    #[test]
    fn every_setting_is_checked() {
        assert_eq!(
            refused(|s| s.batch_size = 0),
            "batch_size = 0: must be between 1 and 1048576 (--batch-size)"
        );
        assert!(refused(|s| s.epochs = 0).starts_with("epochs = 0"));
        assert!(refused(|s| s.eval_batch_size = 0).starts_with("eval_batch_size = 0"));
        assert_eq!(
            refused(|s| s.max_len = 30_000_000),
            "max_len = 30000000: must be between 2 ([CLS] and [SEP]) and 8192 (--max-len)"
        );
        assert!(refused(|s| s.max_len = 1).starts_with("max_len = 1"));
        assert!(refused(|s| s.save_every = Some(0)).contains("--save-every"));
        assert_eq!(
            refused(|s| s.groups.lr = f64::NAN),
            "groups.lr = NaN: must be a finite number > 0 (--lr)"
        );
        assert!(refused(|s| s.groups.lr = 0.0).contains("--lr"));
        assert!(refused(|s| s.groups.head_lr = f64::INFINITY).contains("--head-lr"));
        assert!(refused(|s| s.groups.weight_decay = -0.1).contains("--weight-decay"));
        assert!(refused(|s| s.max_grad_norm = 0.0).contains("--max-grad-norm"));
        assert!(refused(|s| s.warmup = 1.5).contains("[0, 1]"));
        assert!(refused(|s| s.warmup = f64::NAN).contains("warmup = NaN"));
    }

    #[test]
    fn max_len_is_checked_against_the_encoder() {
        let mut s = spec();
        s.max_len = 100;
        s.validate().unwrap();
        let err = s.validate_for(&BertConfig::scratch(10)).unwrap_err().to_string();
        assert!(err.starts_with("max_len = 100: must be between 2"), "{err}");
        assert!(err.ends_with("max_position_embeddings is 64) (--max-len)"), "{err}");
    }

    #[test]
    fn the_label_is_recorded_and_an_older_spec_trained_on_m() {
        let mut s = spec();
        let m = serde_json::to_value(&s).unwrap();
        assert!(
            m.get("label").is_none(),
            "M is not written: the other runs' records stay as they were"
        );
        assert_eq!(RunSpec::from_json_value(m).unwrap().label, MmsaLabel::M);
        s.label = MmsaLabel::T;
        let t = serde_json::to_value(&s).unwrap();
        assert_eq!(t["label"], "T");
        assert_eq!(RunSpec::from_json_value(t).unwrap(), s);
    }

    #[test]
    fn from_json_validates_what_it_parses() {
        let mut v = serde_json::to_value(spec()).unwrap();
        RunSpec::from_json_value(v.clone()).unwrap();
        v["batch_size"] = 0.into();
        let err = RunSpec::from_json_str(&v.to_string()).unwrap_err();
        assert!(matches!(err, ConfigError::Field(_)), "{err:?}");
        assert!(matches!(
            RunSpec::from_json_str("{}").unwrap_err(),
            ConfigError::Json { what: "run spec", .. }
        ));
    }
}
