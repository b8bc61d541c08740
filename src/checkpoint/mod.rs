//! Checkpoints in and out.
//!
//! Accepted layouts: our own directory (`config.json` with a `cmbert` section,
//! `model.safetensors`, vocabulary); Hugging Face (`config.json`, `model.safetensors` or
//! `pytorch_model.bin`, keys with or without `bert.`); the reference implementation's
//! fine-tuned output and Google-derived files (`bert_config.json`, `pytorch_model.bin`,
//! LayerNorm tensors possibly named gamma/beta).

mod keys;
mod save;
mod torch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::fsutil;
use crate::model::{BertConfig, ClsAudio, HeadConfig, ModelKind};

pub use keys::{canonical_name, canonicalise};
pub use save::{copy, save, save_with, ExtraFiles};
pub use torch::{read_torch, read_torch_bytes, TorchError, OUTPUT_BASE, OUTPUT_PER_BYTE};

/// Version tag written into our `config.json`.
pub const FORMAT: &str = "cmbert-tui/2";

/// Formats this build reads: 2 numbers the recorded best epoch from 1 (as printed), 1 from 0
/// (`train::record` converts); the tensors and the rest are the same.
pub const FORMATS_READ: [&str; 2] = [FORMAT, "cmbert-tui/1"];

#[derive(Debug, thiserror::Error)]
/// Why a checkpoint directory could not be read or written; each names the file.
pub enum CheckpointError {
    #[error("checkpoint directory {0} does not exist")]
    /// The directory given does not exist.
    NotFound(PathBuf),
    #[error("{dir}: no {what} found (expected {expected})")]
    /// A file every layout needs (a config, the weights, a vocabulary) is absent.
    Missing {
        /// The checkpoint directory.
        dir: PathBuf,
        /// The kind of file missing, as the message says it.
        what: &'static str,
        /// The file names that would have been accepted.
        expected: &'static str,
    },
    #[error("{path}: {message}")]
    /// A file is there but its content is wrong (a config field, a tensor's shape).
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and what was expected.
        message: String,
    },
    #[error("{path}: cannot read weights: {source}")]
    /// candle could not read a safetensors file.
    Weights {
        /// The weights file.
        path: PathBuf,
        /// candle's error.
        source: candle_core::Error,
    },
    #[error("{path}: cannot read weights: {source}")]
    /// A `pytorch_model.bin` was refused (`torch.rs`).
    Torch {
        /// The `pytorch_model.bin`.
        path: PathBuf,
        /// What was refused.
        source: TorchError,
    },
    #[error("{path}: {source}")]
    /// Reading or writing a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Which layout a directory was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// Written by cmbert-tui.
    Ours,
    /// `config.json` from `transformers` (pre-trained encoders, or a full model).
    HuggingFace,
    /// `bert_config.json`: the reference implementation or a Google-derived BERT.
    Reference,
    /// No weights: a BERT to be trained from scratch (`config.json` and a vocabulary only).
    Scratch,
}

/// What our own checkpoints record beside the BERT config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// The `FORMAT` tag of the build that wrote it.
    pub format: String,
    /// The regression head: CM-BERT's fusion head settings or T-BERT's.
    pub head: HeadConfig,
    /// Token positions per utterance the model was trained with (docs/MODEL.md §2).
    pub max_len: usize,
    /// The run that made it: written and read only through `train::TrainingRecord` (this
    /// layer knows nothing of training).
    #[serde(default)]
    pub training: serde_json::Value,
    /// Trained on `cmbert-tui features` output: its feature set and scaling, applied again
    /// to any audio this model is run on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_features: Option<crate::acoustic::AudioFeatures>,
}

/// Our `config.json`: a valid Hugging Face BERT config plus the `cmbert` section.
#[derive(Debug, Serialize, Deserialize)]
struct OurConfig {
    #[serde(flatten)]
    bert: BertConfig,
    cmbert: CheckpointMeta,
}

#[derive(Debug)]
/// A checkpoint directory read into memory, whatever its layout: configs, tensors and
/// where its vocabulary is.
pub struct Checkpoint {
    /// The directory it was read from (or written to, for `scratch`).
    pub dir: PathBuf,
    /// The layout it was recognised as.
    pub layout: Layout,
    /// The encoder's configuration.
    pub bert: BertConfig,
    /// Present for our checkpoints, and inferred for full models (fusion tensors present).
    pub head: Option<HeadConfig>,
    /// What our own checkpoints record beside the BERT config; `None` for other layouts.
    pub meta: Option<CheckpointMeta>,
    /// Canonical name -> tensor (see `canonical_name`).
    pub tensors: HashMap<String, Tensor>,
    /// `vocab.txt` or `tokenizer.json` in the directory.
    pub vocab: PathBuf,
}

impl Checkpoint {
    /// The files [`Checkpoint::scratch`] writes.
    pub const SCRATCH_FILES: [&'static str; 2] = ["vocab.txt", "config.json"];

    /// Writes `config.json` and `vocab.txt` for an untrained BERT into `dir` and describes it.
    pub fn scratch(dir: &Path, bert: BertConfig, vocab: &[String]) -> Result<Self, CheckpointError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| CheckpointError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let [vocab_name, config_name] = Self::SCRATCH_FILES;
        let vocab_path = dir.join(vocab_name);
        crate::fsutil::write_atomic(&vocab_path, (vocab.join("\n") + "\n").as_bytes()).map_err(io(&vocab_path))?;
        let config = dir.join(config_name);
        let json = serde_json::to_string_pretty(&bert).expect("config serialises");
        crate::fsutil::write_atomic(&config, json.as_bytes()).map_err(io(&config))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            layout: Layout::Scratch,
            bert,
            head: None,
            meta: None,
            tensors: HashMap::new(),
            vocab: vocab_path,
        })
    }

    /// Reads a checkpoint of any accepted layout (ours, Hugging Face, the reference's) with
    /// its tensors under canonical names, on `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, CheckpointError> {
        if !dir.is_dir() {
            return Err(CheckpointError::NotFound(dir.to_path_buf()));
        }
        // Present, not `is_file`: a FIFO or a directory under the name is reported as what it
        // is when it is read (`fsutil::open_input`), not as a missing configuration.
        let (layout, config_path) = if fsutil::input_present(&dir.join("config.json")) {
            (Layout::HuggingFace, dir.join("config.json"))
        } else if fsutil::input_present(&dir.join("bert_config.json")) {
            (Layout::Reference, dir.join("bert_config.json"))
        } else {
            return Err(CheckpointError::Missing {
                dir: dir.to_path_buf(),
                what: "model configuration",
                expected: "config.json (Hugging Face / cmbert-tui) or bert_config.json (reference / Google)",
            });
        };
        let text = read_to_string(&config_path)?;
        let invalid = |message: String| CheckpointError::Invalid {
            path: config_path.clone(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid(format!("not valid JSON: {e}")))?;
        let (layout, bert, meta) = if value.get("cmbert").is_some() {
            let ours: OurConfig =
                serde_json::from_value(value).map_err(|e| invalid(format!("bad cmbert-tui config: {e}")))?;
            if !FORMATS_READ.contains(&ours.cmbert.format.as_str()) {
                return Err(invalid(format!(
                    "checkpoint format {:?}, this build reads {}",
                    ours.cmbert.format,
                    FORMATS_READ.map(|f| format!("{f:?}")).join(" or ")
                )));
            }
            (Layout::Ours, ours.bert, Some(ours.cmbert))
        } else {
            let bert: BertConfig =
                serde_json::from_value(value).map_err(|e| invalid(format!("not a BERT config: {e}")))?;
            (layout, bert, None)
        };
        bert.validate().map_err(|e| invalid(e.to_string()))?;
        if let Some(meta) = &meta {
            meta.head.validate().map_err(|e| invalid(format!("cmbert.head.{e}")))?;
            bert.check_max_len(meta.max_len)
                .map_err(|e| invalid(format!("cmbert.{e}")))?;
        }
        let tensors = load_weights(dir, device)?;
        if let Some(layer) = layer_past(&tensors, bert.num_hidden_layers) {
            return Err(invalid(format!(
                "num_hidden_layers = {}, but the weights hold encoder layer {layer} (bert.encoder.layer.{layer}.*): \
                 a model built from this config would leave layers out",
                bert.num_hidden_layers
            )));
        }
        let head = match &meta {
            Some(meta) => Some(meta.head.clone()),
            None => infer_head(&tensors),
        };
        let vocab = ["vocab.txt", "tokenizer.json"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| fsutil::input_present(p))
            .ok_or(CheckpointError::Missing {
                dir: dir.to_path_buf(),
                what: "vocabulary",
                expected: "vocab.txt or tokenizer.json",
            })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            layout,
            bert,
            head,
            meta,
            tensors,
            vocab,
        })
    }
}

/// The highest encoder layer among the (canonical) tensor names at or past `layers`, the
/// layers the config builds: weights of a deeper model than the config says.
fn layer_past(tensors: &HashMap<String, Tensor>, layers: usize) -> Option<usize> {
    tensors
        .keys()
        .filter_map(|name| {
            name.strip_prefix("bert.encoder.layer.")?
                .split('.')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .filter(|&layer| layer >= layers)
        .max()
}

fn read_to_string(path: &Path) -> Result<String, CheckpointError> {
    fsutil::read_input_to_string(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn load_weights(dir: &Path, device: &Device) -> Result<HashMap<String, Tensor>, CheckpointError> {
    let safetensors = dir.join("model.safetensors");
    let pth = dir.join("pytorch_model.bin");
    let (path, raw) = if fsutil::input_present(&safetensors) {
        // candle opens (and maps) the file by its path: a FIFO would block it, so the path
        // is checked first.
        fsutil::check_input(&safetensors).map_err(|source| CheckpointError::Io {
            path: safetensors.clone(),
            source,
        })?;
        let raw = candle_core::safetensors::load(&safetensors, device);
        (safetensors, raw.map(|m| m.into_iter().collect::<Vec<_>>()))
    } else if fsutil::input_present(&pth) {
        let raw = read_torch_file(&pth)?;
        (pth, Ok(raw))
    } else {
        return Err(CheckpointError::Missing {
            dir: dir.to_path_buf(),
            what: "weights",
            expected: "model.safetensors or pytorch_model.bin",
        });
    };
    let weights_error = |source| CheckpointError::Weights {
        path: path.clone(),
        source,
    };
    let raw = raw.map_err(weights_error)?;
    let canonical = canonicalise(raw).map_err(weights_error)?;
    Ok(canonical
        .into_iter()
        .map(|(k, t)| (k, t.to_device(device).unwrap_or(t)))
        .collect())
}

/// `pytorch_model.bin`, read with the crate's own pickle reader (see `torch.rs`); the legacy
/// (pre-1.6, non-zip) format is named as such.
pub fn read_torch_file(path: &Path) -> Result<Vec<(String, Tensor)>, CheckpointError> {
    let file = fsutil::open_input(path).map_err(|source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_torch(std::io::BufReader::new(file)).map_err(|source| CheckpointError::Torch {
        path: path.to_path_buf(),
        source,
    })
}

/// A full CM-BERT model carries the fusion head's tensors; their shapes give its sizes. A
/// regressor without them is a fine-tuned T-BERT.
fn infer_head(tensors: &HashMap<String, Tensor>) -> Option<HeadConfig> {
    let Some(proj_a) = tensors.get("fusion.proj_a.weight") else {
        let regressor = tensors
            .get("classifier.weight")
            .is_some_and(|w| w.dims().first() == Some(&1));
        return regressor.then(|| HeadConfig::new(ModelKind::TBert, ClsAudio::Zero, 5));
    };
    let (proj_dim, audio_dim) = proj_a.dims2().ok()?;
    let cls_audio = if tensors.contains_key("fusion.cls_audio") {
        ClsAudio::Learned
    } else {
        ClsAudio::Zero
    };
    let mut head = HeadConfig::new(ModelKind::CmBert, cls_audio, audio_dim);
    head.proj_dim = proj_dim;
    Some(head)
}
