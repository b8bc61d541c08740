//! Our own BERT encoder (post-LN, erf GELU, additive -10000 mask). Written here rather than
//! taken from candle-transformers because fine-tuning needs dropout and a backward pass
//! through every layer norm, and the explorer needs every layer's attention probabilities.
//! `vb.pp(..)` names equal the Hugging Face checkpoint keys.

use std::sync::Arc;

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::{Embedding, Init, Module, VarBuilder};

use super::bf16::Products;
use super::config::BertConfig;
use super::fused_layer::{self, Affine, Backward, GradSink, LayerMasks, LayerWeights};
use super::layers::{dropout, linear, LayerNorm, Mode};

/// Additive attention-mask value of the original BERT code (docs/MODEL.md §3).
pub const MASK_VALUE: f64 = -10000.0;

#[derive(Debug, Clone)]
struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    layer_norm: LayerNorm,
    dropout: f64,
}

impl Embeddings {
    /// Stops gradient tracking through the tables and their norm (they share storage with
    /// the parameter store, so saving still sees them). Frozen embeddings then cost no
    /// backward work: not even the first layer's input gradient.
    fn detach(&mut self) {
        let detach = |e: &Embedding| Embedding::new(e.embeddings().detach(), e.hidden_size());
        self.layer_norm = self.layer_norm.detach();
        self.word = detach(&self.word);
        self.position = detach(&self.position);
        self.token_type = detach(&self.token_type);
    }

    fn load(vb: VarBuilder, cfg: &BertConfig) -> Result<Self> {
        let init = Init::Randn {
            mean: 0.0,
            stdev: cfg.initializer_range,
        };
        let table = |name: &str, rows: usize| -> Result<Embedding> {
            let w = vb.pp(name).get_with_hints((rows, cfg.hidden_size), "weight", init)?;
            Ok(Embedding::new(w, cfg.hidden_size))
        };
        Ok(Self {
            word: table("word_embeddings", cfg.vocab_size)?,
            position: table("position_embeddings", cfg.max_position_embeddings)?,
            token_type: table("token_type_embeddings", cfg.type_vocab_size)?,
            layer_norm: LayerNorm::load(vb.pp("LayerNorm"), cfg.hidden_size, cfg.layer_norm_eps)?,
            dropout: cfg.hidden_dropout_prob,
        })
    }

    fn forward(&self, input_ids: &Tensor, mode: Mode<'_>) -> Result<Tensor> {
        let (_, seq_len) = input_ids.dims2()?;
        let device = input_ids.device();
        let positions = Tensor::arange(0u32, seq_len as u32, device)?.unsqueeze(0)?;
        // Segment ids are all 0 (single-sentence input, docs/MODEL.md §2).
        let segments = input_ids.zeros_like()?;
        let summed = self
            .word
            .forward(input_ids)?
            .broadcast_add(&self.position.forward(&positions)?)?
            .add(&self.token_type.forward(&segments)?)?;
        dropout(&self.layer_norm.forward(&summed)?, self.dropout, mode)
    }
}

#[derive(Debug, Clone)]
struct SelfAttention {
    query: candle_nn::Linear,
    key: candle_nn::Linear,
    value: candle_nn::Linear,
    output: candle_nn::Linear,
    output_norm: LayerNorm,
    heads: usize,
    head_dim: usize,
    probs_dropout: f64,
    hidden_dropout: f64,
}

impl SelfAttention {
    fn load(vb: VarBuilder, cfg: &BertConfig) -> Result<Self> {
        let h = cfg.hidden_size;
        let init = Init::Randn {
            mean: 0.0,
            stdev: cfg.initializer_range,
        };
        let sv = vb.pp("self");
        let ov = vb.pp("output");
        Ok(Self {
            query: linear(sv.pp("query"), h, h, init)?,
            key: linear(sv.pp("key"), h, h, init)?,
            value: linear(sv.pp("value"), h, h, init)?,
            output: linear(ov.pp("dense"), h, h, init)?,
            output_norm: LayerNorm::load(ov.pp("LayerNorm"), h, cfg.layer_norm_eps)?,
            heads: cfg.num_attention_heads,
            head_dim: h / cfg.num_attention_heads,
            probs_dropout: cfg.attention_probs_dropout_prob,
            hidden_dropout: cfg.hidden_dropout_prob,
        })
    }

    fn split_heads(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, l, _) = xs.dims3()?;
        xs.reshape((b, l, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Returns the block output and the attention probabilities `[B, heads, L, L]`.
    fn forward(&self, xs: &Tensor, additive_mask: &Tensor, mode: Mode<'_>) -> Result<(Tensor, Tensor)> {
        let (b, l, h) = xs.dims3()?;
        let q = self.split_heads(&self.query.forward(xs)?)?;
        let k = self.split_heads(&self.key.forward(xs)?)?;
        let v = self.split_heads(&self.value.forward(xs)?)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let probs = super::fused::masked_softmax(&q.matmul(&k.t()?)?, additive_mask, scale)?;
        let context = dropout(&probs, self.probs_dropout, mode)?
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((b, l, h))?;
        let projected = dropout(&self.output.forward(&context)?, self.hidden_dropout, mode)?;
        Ok((self.output_norm.forward(&(projected + xs)?)?, probs))
    }
}

#[derive(Debug, Clone)]
struct Layer {
    attention: SelfAttention,
    intermediate: candle_nn::Linear,
    output: candle_nn::Linear,
    output_norm: LayerNorm,
    dropout: f64,
    /// The same tensors, for the fused CPU path.
    fused: LayerWeights,
}

fn affine_of_linear(l: &candle_nn::Linear) -> Result<Affine> {
    let bias = l
        .bias()
        .ok_or_else(|| candle_core::Error::Msg("encoder linear layers have a bias".into()))?;
    Ok(Affine {
        weight: l.weight().clone(),
        bias: bias.clone(),
    })
}

fn affine_of_norm(n: &LayerNorm) -> Affine {
    let (weight, bias) = n.params();
    Affine {
        weight: weight.clone(),
        bias: bias.clone(),
    }
}

impl Layer {
    fn load(vb: VarBuilder, cfg: &BertConfig) -> Result<Self> {
        let init = Init::Randn {
            mean: 0.0,
            stdev: cfg.initializer_range,
        };
        let attention = SelfAttention::load(vb.pp("attention"), cfg)?;
        let intermediate = linear(
            vb.pp("intermediate").pp("dense"),
            cfg.hidden_size,
            cfg.intermediate_size,
            init,
        )?;
        let output = linear(
            vb.pp("output").pp("dense"),
            cfg.intermediate_size,
            cfg.hidden_size,
            init,
        )?;
        let output_norm = LayerNorm::load(vb.pp("output").pp("LayerNorm"), cfg.hidden_size, cfg.layer_norm_eps)?;
        let fused = LayerWeights {
            query: affine_of_linear(&attention.query)?,
            key: affine_of_linear(&attention.key)?,
            value: affine_of_linear(&attention.value)?,
            attention_output: affine_of_linear(&attention.output)?,
            attention_norm: affine_of_norm(&attention.output_norm),
            intermediate: affine_of_linear(&intermediate)?,
            output: affine_of_linear(&output)?,
            output_norm: affine_of_norm(&output_norm),
            heads: cfg.num_attention_heads,
            eps: cfg.layer_norm_eps as f32,
            products: Products::F32,
        };
        Ok(Self {
            attention,
            intermediate,
            output,
            output_norm,
            dropout: cfg.hidden_dropout_prob,
            fused,
        })
    }

    /// The fused CPU layer. Masks are drawn in the composite path's order (probabilities,
    /// attention output, feed-forward output), so a seed gives the same run either way.
    fn forward_fused(&self, xs: &Tensor, mask: &Arc<[f32]>, mode: Mode<'_>, sink: &GradSink) -> Result<Tensor> {
        let mut masks = LayerMasks::default();
        if let Mode::Train(rng) = mode {
            let draw = |len: usize, p: f64| (p > 0.0).then(|| (rng.keep(len, p), (1.0 / (1.0 - p)) as f32));
            let (b, l, h) = xs.dims3()?;
            let heads = self.attention.heads;
            masks.probs = draw(b * heads * l * l, self.attention.probs_dropout);
            masks.attention_output = draw(b * l * h, self.attention.hidden_dropout);
            masks.output = draw(b * l * h, self.dropout);
        }
        let backward = match mode {
            Mode::Infer => Backward::Never,
            Mode::Eval | Mode::Train(_) => Backward::Possible,
        };
        fused_layer::forward(xs, &self.fused, mask.clone(), masks, backward, sink)
    }

    fn forward(&self, xs: &Tensor, additive_mask: &Tensor, mode: Mode<'_>) -> Result<(Tensor, Tensor)> {
        let (attended, probs) = self.attention.forward(xs, additive_mask, mode)?;
        let inner = super::fused::gelu_erf(&self.intermediate.forward(&attended)?)?;
        let out = dropout(&self.output.forward(&inner)?, self.dropout, mode)?;
        Ok((self.output_norm.forward(&(out + attended)?)?, probs))
    }
}

/// Whether the encoder returns each layer's self-attention probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BertAttentions {
    /// None returned: training and evaluation, which may then run the fused layers.
    Skip,
    /// Every layer's `[B, H, L, L]` probabilities (`BertOutput::attentions`), from the
    /// composite layers (the fused ones compute no maps to return).
    Keep,
}

/// What the encoder returns.
#[derive(Debug, Clone)]
pub struct BertOutput {
    /// Last layer's hidden states `[B, L, d]`.
    pub last_hidden_state: Tensor,
    /// Per layer `[B, heads, L, L]`, only when asked for.
    pub attentions: Option<Vec<Tensor>>,
}

/// The BERT encoder (embeddings, layers, pooler), loaded from Hugging Face keys.
#[derive(Debug, Clone)]
pub struct BertModel {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    pooler: candle_nn::Linear,
    /// The hyper-parameters it was built with.
    pub config: BertConfig,
    /// Parameter gradients of the fused layers (see `fused_layer.rs`).
    pub grad_sink: GradSink,
}

impl BertModel {
    /// Builds the encoder from `vb` (prefix `bert`); a tensor the checkpoint lacks is initialised as BERT does.
    pub fn load(vb: VarBuilder, cfg: &BertConfig) -> Result<Self> {
        let init = Init::Randn {
            mean: 0.0,
            stdev: cfg.initializer_range,
        };
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| Layer::load(vb.pp("encoder").pp("layer").pp(i), cfg))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings: Embeddings::load(vb.pp("embeddings"), cfg)?,
            layers,
            pooler: linear(vb.pp("pooler").pp("dense"), cfg.hidden_size, cfg.hidden_size, init)?,
            config: cfg.clone(),
            grad_sink: GradSink::default(),
        })
    }

    /// The arithmetic of the fused layers' matrix products (`bf16/`); f32 unless set.
    pub fn set_products(&mut self, products: Products) {
        for layer in &mut self.layers {
            layer.fused.products = products;
        }
    }

    /// For frozen embeddings (the paper recipe): no gradient is computed for them.
    pub fn detach_embeddings(&mut self) {
        self.embeddings.detach();
    }

    /// Where the weights live.
    pub fn device(&self) -> &Device {
        self.pooler.weight().device()
    }

    /// `input_ids` `[B, L]` u32, `attention_mask` `[B, L]` f32 (1 real, 0 padding).
    pub fn forward(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        mode: Mode<'_>,
        attentions: BertAttentions,
    ) -> Result<BertOutput> {
        let (b, l) = input_ids.dims2()?;
        // (1 - m) * -10000, broadcast over heads and query positions.
        let additive =
            ((attention_mask.to_dtype(DType::F32)?.affine(-1.0, 1.0)?) * MASK_VALUE)?.reshape((b, 1, 1, l))?;
        let mut hidden = self.embeddings.forward(input_ids, mode)?;
        // The fused layers return no attention maps; the composite ones do.
        if attentions == BertAttentions::Skip && super::fused::fusable(&hidden) {
            let mask: Arc<[f32]> = additive.flatten_all()?.to_vec1::<f32>()?.into();
            for layer in &self.layers {
                hidden = layer.forward_fused(&hidden, &mask, mode, &self.grad_sink)?;
            }
            return Ok(BertOutput {
                last_hidden_state: hidden,
                attentions: None,
            });
        }
        let mut attentions = (attentions == BertAttentions::Keep).then(Vec::new);
        for layer in &self.layers {
            let (next, probs) = layer.forward(&hidden, &additive, mode)?;
            hidden = next;
            if let Some(all) = attentions.as_mut() {
                all.push(probs);
            }
        }
        Ok(BertOutput {
            last_hidden_state: hidden,
            attentions,
        })
    }

    /// BERT pooler: `tanh(W h_[CLS] + b)`.
    pub fn pool(&self, last_hidden_state: &Tensor) -> Result<Tensor> {
        let cls = last_hidden_state.narrow(1, 0, 1)?.squeeze(1)?;
        self.pooler.forward(&cls)?.tanh()
    }
}
