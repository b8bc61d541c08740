//! Model configuration: the BERT part mirrors Hugging Face `config.json` and the original
//! Google `bert_config.json` (same field names; the Google file has no `layer_norm_eps`).
//!
//! A config read from a file is a claim: every size in it decides how much is allocated, and
//! every rate how the arithmetic behaves. `BertConfig::validate` and `HeadConfig::validate`
//! check each field against what the model can run with (positive sizes, heads dividing the
//! width, probabilities in [0, 1), a positive epsilon) and against upper limits far above any
//! real BERT, with the parameter count computed in checked arithmetic, so an absurd file is
//! refused with its field named before a single tensor exists. The limits are named
//! constants below; each says why it sits where it does.

use serde::{Deserialize, Serialize};

/// Vocabulary rows: bert-base has 30,522, multilingual models about 250,000.
pub const MAX_VOCAB_SIZE: usize = 1_000_000;
/// Model width: bert-large has 1024; the largest encoders in use stay at or below 8192.
pub const MAX_HIDDEN_SIZE: usize = 8192;
/// Encoder layers: bert-large has 24.
pub const MAX_LAYERS: usize = 96;
/// Feed-forward width: BERT uses 4 x hidden, so this allows 8 x the widest hidden size.
pub const MAX_INTERMEDIATE_SIZE: usize = 8 * MAX_HIDDEN_SIZE;
/// Position table rows: BERT has 512, long-context encoders 8192.
pub const MAX_POSITION_EMBEDDINGS: usize = 65_536;
/// Segment types: BERT has 2, RoBERTa-style configs 1.
pub const MAX_TYPE_VOCAB_SIZE: usize = 1024;
/// Encoder parameters: 3 x bert-large's 335 million, i.e. 4 GB of f32 weights before the
/// optimiser's two moments. Sizes that pass each limit alone can still multiply past this.
pub const MAX_PARAMETERS: u64 = 1_000_000_000;
/// Audio features per token: COVAREP has 74, the CMU-MOSI subset 5, wav2vec2-large 1024.
pub const MAX_AUDIO_DIM: usize = 4096;
/// Width of the fusion head's projections: 30 in the reference.
pub const MAX_PROJ_DIM: usize = 4096;
/// Token positions per utterance (`max_len`): every utterance is padded to it and attention
/// is quadratic in it. The reference uses 50, BERT's table stops at 512, long-context
/// encoders at 8192.
pub const MAX_SEQUENCE_LEN: usize = 8192;

/// One field outside what is allowed: the field, the value found and what is expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field} = {value}: {expected}")]
pub struct InvalidField {
    /// The field's name as written in the file (`hidden_size`, `progress.epoch`).
    pub field: &'static str,
    /// The value found, as `Debug` prints it.
    pub value: String,
    /// What the value must be, said so that a user can fix it.
    pub expected: String,
}

impl InvalidField {
    /// A problem with `field`: `value` found, `expected` instead.
    pub fn new(field: &'static str, value: impl std::fmt::Debug, expected: impl Into<String>) -> Self {
        Self {
            field,
            value: format!("{value:?}"),
            expected: expected.into(),
        }
    }
}

/// A configuration that could not be read from JSON text, or that was read and is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not JSON of the expected shape (serde's message has line and column).
    #[error("not a valid {what}: {error}")]
    Json {
        /// What was being read (`BERT config`, `run spec`).
        what: &'static str,
        /// serde's message, with line and column.
        error: serde_json::Error,
    },
    /// Read, but a field is outside what is allowed.
    #[error(transparent)]
    Field(#[from] InvalidField),
}

/// `1 <= value <= max`, for sizes.
pub fn check_size(field: &'static str, value: usize, max: usize) -> Result<(), InvalidField> {
    if (1..=max).contains(&value) {
        Ok(())
    } else {
        Err(InvalidField::new(field, value, format!("must be between 1 and {max}")))
    }
}

/// A dropout probability: 1 would drop everything and scale by 1 / 0.
pub fn check_probability(field: &'static str, value: f64) -> Result<(), InvalidField> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(InvalidField::new(field, value, "must be in [0, 1)"))
    }
}

/// Encoder hyper-parameters, deserialisable from either BERT config flavour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Number of tokens in the vocabulary (`vocab.txt` lines).
    pub vocab_size: usize,
    /// Width `d` of every hidden state.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer (`hidden_size` must divide by it).
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Feed-forward activation: BERT's exact erf GELU (`gelu`, or its alias `gelu_python`).
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Dropout on hidden states while training.
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities while training.
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
    /// Longest input the position embeddings allow.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    /// Number of segment (token type) embeddings; only segment 0 is used.
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    /// Layer-norm epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Standard deviation of the normal initialiser for weights the checkpoint lacks.
    #[serde(default = "default_init_range")]
    pub initializer_range: f64,
    /// The Hugging Face model type (`bert`), kept for round-tripping `config.json`.
    #[serde(default = "default_model_type")]
    pub model_type: String,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_dropout() -> f64 {
    0.1
}
fn default_max_pos() -> usize {
    512
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_init_range() -> f64 {
    0.02
}
fn default_model_type() -> String {
    "bert".into()
}

impl BertConfig {
    /// Parses and validates a `config.json` / `bert_config.json` text. The path-free entry
    /// point (for fuzzing and tests); `Checkpoint::load` names the file around it.
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        Self::from_json_slice(text.as_bytes())
    }

    /// As `from_json_str`, from bytes (invalid UTF-8 is a JSON error).
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, ConfigError> {
        let cfg: Self = serde_json::from_slice(bytes).map_err(|error| ConfigError::Json {
            what: "BERT config",
            error,
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the invariants the encoder relies on and the size limits above, so a bad file
    /// fails at load time with the field named rather than deep inside a matmul, as NaN
    /// weights, or as an allocation the machine cannot make.
    pub fn validate(&self) -> Result<(), InvalidField> {
        check_size("vocab_size", self.vocab_size, MAX_VOCAB_SIZE)?;
        check_size("hidden_size", self.hidden_size, MAX_HIDDEN_SIZE)?;
        check_size("num_hidden_layers", self.num_hidden_layers, MAX_LAYERS)?;
        check_size("num_attention_heads", self.num_attention_heads, self.hidden_size)?;
        if self.hidden_size % self.num_attention_heads != 0 {
            return Err(InvalidField::new(
                "num_attention_heads",
                self.num_attention_heads,
                format!("must divide hidden_size ({})", self.hidden_size),
            ));
        }
        check_size("intermediate_size", self.intermediate_size, MAX_INTERMEDIATE_SIZE)?;
        check_size(
            "max_position_embeddings",
            self.max_position_embeddings,
            MAX_POSITION_EMBEDDINGS,
        )?;
        check_size("type_vocab_size", self.type_vocab_size, MAX_TYPE_VOCAB_SIZE)?;
        check_probability("hidden_dropout_prob", self.hidden_dropout_prob)?;
        check_probability("attention_probs_dropout_prob", self.attention_probs_dropout_prob)?;
        // A zero or negative epsilon divides by zero (or takes the root of a negative) on a
        // constant row; above 1 it swamps the variance of unit-scale activations.
        if !(self.layer_norm_eps > 0.0 && self.layer_norm_eps <= 1.0) {
            return Err(InvalidField::new(
                "layer_norm_eps",
                self.layer_norm_eps,
                "must be > 0 and at most 1 (BERT uses 1e-12)",
            ));
        }
        // The standard deviation of freshly initialised weights.
        if !(0.0..=1.0).contains(&self.initializer_range) {
            return Err(InvalidField::new(
                "initializer_range",
                self.initializer_range,
                "must be in [0, 1] (BERT uses 0.02)",
            ));
        }
        // Only the exact (erf) GELU is what BERT and the reference use.
        if !matches!(self.hidden_act.as_str(), "gelu" | "gelu_python") {
            return Err(InvalidField::new(
                "hidden_act",
                &self.hidden_act,
                "must be \"gelu\" (BERT's exact erf GELU)",
            ));
        }
        match self.parameter_count() {
            Some(n) if n <= MAX_PARAMETERS => Ok(()),
            count => Err(InvalidField {
                field: "vocab_size, hidden_size, num_hidden_layers, intermediate_size",
                value: format!(
                    "{}, {}, {}, {}",
                    self.vocab_size, self.hidden_size, self.num_hidden_layers, self.intermediate_size
                ),
                expected: format!(
                    "together make {} parameters, at most {MAX_PARAMETERS} are allowed",
                    count.map_or("more than 2^64".into(), |n| n.to_string())
                ),
            }),
        }
    }

    /// Parameters of the encoder (embeddings, layers, pooler), `None` on overflow.
    pub fn parameter_count(&self) -> Option<u64> {
        let n = |v: usize| u64::try_from(v).ok();
        let (h, i) = (n(self.hidden_size)?, n(self.intermediate_size)?);
        let rows = n(self.vocab_size)?
            .checked_add(n(self.max_position_embeddings)?)?
            .checked_add(n(self.type_vocab_size)?)?;
        // Tables, then the embedding layer norm (weight and bias).
        let embeddings = rows.checked_mul(h)?.checked_add(h.checked_mul(2)?)?;
        let square = h.checked_mul(h)?.checked_add(h)?;
        // Q, K, V and output projections; FFN in and out; two layer norms.
        let layer = square
            .checked_mul(4)?
            .checked_add(h.checked_mul(i)?.checked_add(i)?)?
            .checked_add(i.checked_mul(h)?.checked_add(h)?)?
            .checked_add(h.checked_mul(4)?)?;
        let layers = layer.checked_mul(n(self.num_hidden_layers)?)?;
        embeddings.checked_add(layers)?.checked_add(square)
    }

    /// `max_len` positions fit this encoder's position table (and the global limit).
    pub fn check_max_len(&self, max_len: usize) -> Result<(), InvalidField> {
        let max = self.max_position_embeddings.min(MAX_SEQUENCE_LEN);
        if (2..=max).contains(&max_len) {
            Ok(())
        } else {
            Err(InvalidField::new(
                "max_len",
                max_len,
                format!(
                    "must be between 2 ([CLS] and [SEP]) and {max} (the encoder's max_position_embeddings is {})",
                    self.max_position_embeddings
                ),
            ))
        }
    }

    /// A bert-base-uncased-sized configuration (for benchmarks).
    pub fn bert_base() -> Self {
        Self::sized(30522, 768, 12, 12, 3072)
    }

    /// An all-MiniLM-L6-v2-sized configuration (for benchmarks).
    pub fn minilm() -> Self {
        Self::sized(30522, 384, 6, 12, 1536)
    }

    /// The small encoder trained from scratch on the built-in corpus.
    pub fn scratch(vocab_size: usize) -> Self {
        let mut cfg = Self::sized(vocab_size, 64, 2, 4, 256);
        cfg.max_position_embeddings = 64;
        cfg
    }

    /// A from-scratch encoder of these sizes, with BERT's other defaults.
    pub fn sized(vocab: usize, hidden: usize, layers: usize, heads: usize, ffn: usize) -> Self {
        Self {
            vocab_size: vocab,
            hidden_size: hidden,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: ffn,
            hidden_act: default_act(),
            hidden_dropout_prob: default_dropout(),
            attention_probs_dropout_prob: default_dropout(),
            max_position_embeddings: default_max_pos(),
            type_vocab_size: default_type_vocab(),
            layer_norm_eps: default_eps(),
            initializer_range: default_init_range(),
            model_type: default_model_type(),
        }
    }
}

/// Which regression head sits on the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Cross-Modal BERT: masked multimodal attention fusion head (docs/MODEL.md §3).
    CmBert,
    /// Text-only baseline: `Linear(d, 1)` on the pooled output.
    TBert,
}

/// What the `[CLS]` position of the audio sequence carries (docs/MODEL.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClsAudio {
    /// The paper's: a zero vector, so the score cannot depend on the audio.
    Zero,
    /// The mean of the word positions' audio vectors.
    Mean,
    /// A trainable audio query vector.
    Learned,
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::CmBert => "cm-bert",
            Self::TBert => "t-bert",
        })
    }
}

impl std::fmt::Display for ClsAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Zero => "zero",
            Self::Mean => "mean",
            Self::Learned => "learned",
        })
    }
}

/// The head's configuration, stored in our checkpoints beside the BERT config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadConfig {
    /// CM-BERT (fusion head) or T-BERT (pooled output).
    pub model: ModelKind,
    /// What the `[CLS]` position of the audio sequence carries (CM-BERT).
    #[serde(default = "default_cls_audio")]
    pub cls_audio: ClsAudio,
    /// D: audio feature dimension (5 for the CMU-MOSI COVAREP subset).
    #[serde(default = "default_audio_dim")]
    pub audio_dim: usize,
    /// k: width of the text/audio projections (30 in the reference).
    #[serde(default = "default_proj_dim")]
    pub proj_dim: usize,
    /// Dropout on W_m while training (0.3 in the reference).
    #[serde(default = "default_attn_dropout")]
    pub fusion_attention_dropout: f64,
}

fn default_cls_audio() -> ClsAudio {
    ClsAudio::Zero
}
fn default_audio_dim() -> usize {
    5
}
fn default_proj_dim() -> usize {
    30
}
fn default_attn_dropout() -> f64 {
    0.3
}

impl HeadConfig {
    /// The head's sizes and dropout, as `BertConfig::validate` does for the encoder.
    pub fn validate(&self) -> Result<(), InvalidField> {
        check_size("audio_dim", self.audio_dim, MAX_AUDIO_DIM)?;
        check_size("proj_dim", self.proj_dim, MAX_PROJ_DIM)?;
        check_probability("fusion_attention_dropout", self.fusion_attention_dropout)
    }

    /// The reference's head for `model` with `audio_dim`-wide audio: projection width 30,
    /// fusion attention dropout 0.3.
    pub fn new(model: ModelKind, cls_audio: ClsAudio, audio_dim: usize) -> Self {
        Self {
            model,
            cls_audio,
            audio_dim,
            proj_dim: default_proj_dim(),
            fusion_attention_dropout: default_attn_dropout(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_config_without_eps_gets_bert_default() {
        let json = r#"{"attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
            "intermediate_size": 3072, "max_position_embeddings": 512,
            "num_attention_heads": 12, "num_hidden_layers": 12, "type_vocab_size": 2,
            "vocab_size": 30522}"#;
        let cfg: BertConfig = serde_json::from_str(json).unwrap();
        assert_eq!(cfg.layer_norm_eps, 1e-12);
        assert_eq!(cfg, BertConfig::bert_base());
    }

    #[test]
    fn validate_rejects_bad_heads_and_activation() {
        let mut cfg = BertConfig::sized(10, 30, 1, 4, 8);
        let err = cfg.validate().unwrap_err();
        assert_eq!(err.to_string(), "num_attention_heads = 4: must divide hidden_size (30)");
        cfg.num_attention_heads = 3;
        cfg.hidden_act = "relu".into();
        assert!(cfg.validate().unwrap_err().to_string().contains("relu"));
    }

    #[test]
    fn built_in_sizes_are_valid() {
        for cfg in [BertConfig::bert_base(), BertConfig::minilm(), BertConfig::scratch(120)] {
            cfg.validate().unwrap();
        }
        let mut large = BertConfig::sized(30522, 1024, 24, 16, 4096);
        large.validate().unwrap();
        // A multilingual vocabulary.
        large.vocab_size = 250_002;
        large.validate().unwrap();
        assert!(large.parameter_count().unwrap() < MAX_PARAMETERS);
    }

    /// A Hugging Face config.json with `field` replaced by the raw JSON `value`.
    fn with(field: &str, value: &str) -> String {
        let mut v = serde_json::to_value(BertConfig::bert_base()).unwrap();
        v[field] = serde_json::from_str(value).unwrap();
        v.to_string()
    }

    fn refused(field: &str, value: &str) -> String {
        match BertConfig::from_json_str(&with(field, value)) {
            Err(ConfigError::Field(e)) => e.to_string(),
            other => panic!("{field} = {value}: {other:?}"),
        }
    }

    /// Each of these panicked, trained to NaN or allocated gigabytes before validation.
    #[test]
    fn from_json_str_refuses_each_bad_field_by_name() {
        assert_eq!(
            refused("intermediate_size", "0"),
            "intermediate_size = 0: must be between 1 and 65536"
        );
        assert_eq!(
            refused("layer_norm_eps", "-1"),
            "layer_norm_eps = -1.0: must be > 0 and at most 1 (BERT uses 1e-12)"
        );
        assert_eq!(refused("layer_norm_eps", "0"), refused("layer_norm_eps", "0.0"));
        assert_eq!(
            refused("hidden_dropout_prob", "2.0"),
            "hidden_dropout_prob = 2.0: must be in [0, 1)"
        );
        assert!(refused("attention_probs_dropout_prob", "1").starts_with("attention_probs_dropout_prob = 1.0"));
        assert!(refused("attention_probs_dropout_prob", "-0.1").contains("[0, 1)"));
        assert_eq!(
            refused("vocab_size", "100000000000"),
            "vocab_size = 100000000000: must be between 1 and 1000000"
        );
        assert_eq!(
            refused("hidden_size", "1000000000"),
            "hidden_size = 1000000000: must be between 1 and 8192"
        );
        for field in [
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "max_position_embeddings",
            "type_vocab_size",
        ] {
            assert!(refused(field, "0").starts_with(&format!("{field} = 0: must be between 1 and ")));
        }
        assert!(refused("num_hidden_layers", "97").contains("between 1 and 96"));
        assert!(refused("max_position_embeddings", "65537").contains("65536"));
        assert!(refused("num_attention_heads", "1000").contains("between 1 and 768"));
        assert!(refused("initializer_range", "-0.02").contains("[0, 1]"));
        assert!(refused("hidden_act", "\"relu\"").contains("gelu"));
    }

    #[test]
    fn sizes_within_each_limit_can_still_exceed_the_parameter_cap() {
        let mut v = serde_json::to_value(BertConfig::bert_base()).unwrap();
        v["vocab_size"] = MAX_VOCAB_SIZE.into();
        v["hidden_size"] = MAX_HIDDEN_SIZE.into();
        v["num_attention_heads"] = 64.into();
        let err = BertConfig::from_json_str(&v.to_string()).unwrap_err().to_string();
        assert!(err.contains("at most 1000000000 are allowed"), "{err}");
        let mut huge = BertConfig::bert_base();
        (huge.vocab_size, huge.hidden_size) = (usize::MAX, usize::MAX);
        assert_eq!(huge.parameter_count(), None, "overflow is detected, not wrapped");
    }

    #[test]
    fn from_json_str_reports_bad_json_and_wrong_types() {
        let err = BertConfig::from_json_str("{\"vocab_size\": 1e11}").unwrap_err();
        assert!(matches!(err, ConfigError::Json { .. }), "{err:?}");
        assert!(err.to_string().starts_with("not a valid BERT config: "), "{err}");
        assert!(BertConfig::from_json_slice(b"\xff\xfe").is_err());
        assert!(BertConfig::from_json_str(&with("vocab_size", "-1")).is_err());
    }

    #[test]
    fn max_len_must_fit_the_position_table() {
        let cfg = BertConfig::scratch(100);
        cfg.check_max_len(64).unwrap();
        cfg.check_max_len(2).unwrap();
        let err = cfg.check_max_len(30_000_000).unwrap_err().to_string();
        assert_eq!(
            err,
            "max_len = 30000000: must be between 2 ([CLS] and [SEP]) and 64 (the encoder's \
             max_position_embeddings is 64)"
        );
        assert!(cfg.check_max_len(1).is_err());
        assert!(BertConfig::bert_base().check_max_len(513).is_err());
    }

    #[test]
    fn head_validation() {
        let mut head = HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5);
        head.validate().unwrap();
        head.audio_dim = 0;
        assert_eq!(
            head.validate().unwrap_err().to_string(),
            "audio_dim = 0: must be between 1 and 4096"
        );
        head.audio_dim = 5;
        head.fusion_attention_dropout = 1.5;
        assert!(head
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("fusion_attention_dropout"));
        head.fusion_attention_dropout = 0.3;
        head.proj_dim = 1 << 40;
        assert!(head.validate().is_err());
    }
}
