//! The whole regression model: encoder plus either head.

use candle_core::backprop::GradStore;
use candle_core::{DType, Result, Tensor};
use candle_nn::{Init, Module, VarBuilder};

use super::bert::{BertAttentions, BertModel};
use super::config::{BertConfig, HeadConfig, ModelKind};
use super::fusion::{FusionHead, FusionMatrices};
use super::layers::{dropout, linear, Mode};

/// Model inputs for one batch, already on the model's device.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `[B, L]` u32.
    pub input_ids: Tensor,
    /// `[B, L]` f32, 1 on real tokens.
    pub attention_mask: Tensor,
    /// `[B, L, D]` f32 token-aligned audio (ignored by T-BERT).
    pub audio: Tensor,
}

/// What one forward pass returns.
#[derive(Debug, Clone)]
pub struct ModelOutput {
    /// Sentiment score `y_hat`, `[B]`.
    pub score: Tensor,
    /// CM-BERT only.
    pub fusion: Option<FusionMatrices>,
    /// Encoder self-attention per layer, with `BertAttentions::Keep`.
    pub bert_attentions: Option<Vec<Tensor>>,
}

#[derive(Debug, Clone)]
enum Head {
    Fusion(FusionHead),
    /// T-BERT uses the pooled output directly.
    Pooled,
}

/// The regression model: the BERT encoder, then the fusion head (CM-BERT) or the pooled
/// output (T-BERT), then a linear regressor to one score.
#[derive(Debug, Clone)]
pub struct CmBert {
    /// The encoder (its gradient sink and embedding freezing are the trainer's business).
    pub bert: BertModel,
    head: Head,
    classifier: candle_nn::Linear,
    /// Which head and its sizes, as saved in our checkpoints.
    pub head_config: HeadConfig,
}

impl CmBert {
    /// Parameter names: `bert.*` (Hugging Face keys), `fusion.*`, `classifier.*`.
    pub fn load(vb: VarBuilder, bert_cfg: &BertConfig, head_cfg: &HeadConfig) -> Result<Self> {
        let bert = BertModel::load(vb.pp("bert"), bert_cfg)?;
        let d = bert_cfg.hidden_size;
        let head = match head_cfg.model {
            ModelKind::CmBert => Head::Fusion(FusionHead::load(
                vb.pp("fusion"),
                head_cfg,
                d,
                bert_cfg.hidden_dropout_prob,
                bert_cfg.layer_norm_eps,
            )?),
            ModelKind::TBert => Head::Pooled,
        };
        let classifier = linear(vb.pp("classifier"), d, 1, Init::Randn { mean: 0.0, stdev: 0.02 })?;
        Ok(Self {
            bert,
            head,
            classifier,
            head_config: head_cfg.clone(),
        })
    }

    /// The score of each utterance in `inputs`, the fusion head's matrices (CM-BERT) and,
    /// as `attentions` says, the encoder's attention maps.
    pub fn forward(&self, inputs: &Inputs, mode: Mode<'_>, attentions: BertAttentions) -> Result<ModelOutput> {
        let encoded = self
            .bert
            .forward(&inputs.input_ids, &inputs.attention_mask, mode, attentions)?;
        let hidden = &encoded.last_hidden_state;
        let dropout_p = self.bert.config.hidden_dropout_prob;
        let (features, fusion) = match &self.head {
            Head::Fusion(head) => {
                let (cls, matrices) = head.forward(hidden, &inputs.audio, &inputs.attention_mask, mode)?;
                (cls, Some(matrices))
            }
            Head::Pooled => (dropout(&self.bert.pool(hidden)?, dropout_p, mode)?, None),
        };
        let score = self.classifier.forward(&features)?.squeeze(1)?;
        Ok(ModelOutput {
            score,
            fusion,
            bert_attentions: encoded.attentions,
        })
    }
}

impl CmBert {
    /// Gradients of `loss` for every parameter. Use this, not `loss.backward()`: the fused
    /// encoder layers hand their parameter gradients over here (`fused_layer.rs`).
    pub fn backward(&self, loss: &Tensor) -> Result<GradStore> {
        self.bert.grad_sink.clear();
        let mut grads = loss.backward()?;
        self.bert.grad_sink.drain_into(&mut grads)?;
        Ok(grads)
    }
}

/// Mean over the batch of `0.5 (y_hat - y)^2` (docs/MODEL.md §3).
pub fn loss(score: &Tensor, labels: &Tensor) -> Result<Tensor> {
    (score.sub(&labels.to_dtype(DType::F32)?)?.sqr()? * 0.5)?.mean_all()
}
