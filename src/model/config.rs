//! Model configuration: the BERT part mirrors Hugging Face `config.json` and the original
//! Google `bert_config.json` (same field names; the Google file has no `layer_norm_eps`).

use serde::{Deserialize, Serialize};

/// Encoder hyper-parameters, deserialisable from either BERT config flavour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_init_range")]
    pub initializer_range: f64,
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
    /// Checks the invariants the encoder relies on, so a bad file fails at load time with
    /// the field named rather than deep inside a matmul.
    pub fn validate(&self) -> Result<(), String> {
        if self.hidden_size == 0 || self.num_attention_heads == 0 || self.num_hidden_layers == 0 {
            return Err("hidden_size, num_attention_heads and num_hidden_layers must be > 0".into());
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return Err(format!(
                "hidden_size ({}) must be a multiple of num_attention_heads ({})",
                self.hidden_size, self.num_attention_heads
            ));
        }
        // Only the exact (erf) GELU is what BERT and the reference use.
        if !matches!(self.hidden_act.as_str(), "gelu" | "gelu_python") {
            return Err(format!(
                "hidden_act {:?} is not supported (BERT uses the exact erf GELU, \"gelu\")",
                self.hidden_act
            ));
        }
        Ok(())
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Cross-Modal BERT: masked multimodal attention fusion head (spec section 3).
    CmBert,
    /// Text-only baseline: `Linear(d, 1)` on the pooled output.
    TBert,
}

/// What the `[CLS]` position of the audio sequence carries (spec section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
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
    pub model: ModelKind,
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
        assert!(cfg.validate().unwrap_err().contains("multiple"));
        cfg.num_attention_heads = 3;
        cfg.hidden_act = "relu".into();
        assert!(cfg.validate().unwrap_err().contains("relu"));
    }
}
