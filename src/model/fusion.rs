//! The masked multimodal attention ("fusion") head, docs/MODEL.md §3 steps 1-10, with the
//! `[CLS]` audio-slot variants of §7.

use candle_core::{DType, Result, Tensor};
use candle_nn::{Init, Module, VarBuilder};

use super::bert::MASK_VALUE;
use super::config::{ClsAudio, HeadConfig};
use super::layers::{dropout, linear, linear_no_bias, torch_default_uniform, LayerNorm, Mode};

/// The four matrices the explorer shows.
#[derive(Debug, Clone)]
pub struct FusionMatrices {
    /// `ReLU(T' T'^T)`, `[B, L, L]`.
    pub alpha_t: Tensor,
    /// `ReLU(A A^T)`, `[B, L, L]`.
    pub beta_a: Tensor,
    /// `w_t alpha_t + w_a beta_a + b`, `[B, L, L]`.
    pub w_f: Tensor,
    /// `softmax_j(W_f + M)` before dropout, `[B, L, L]`.
    pub w_m: Tensor,
}

/// What fills the `[CLS]` position of the audio sequence (`ClsAudio`, docs/MODEL.md §7),
/// with the learned vector when there is one.
#[derive(Debug, Clone)]
enum ClsSlot {
    Zero,
    Mean,
    /// The trainable `[CLS]` audio vector `[D]`.
    Learned(Tensor),
}

/// The fusion head: text and audio attention combined into one masked attention over the
/// encoder's output, whose `[CLS]` row feeds the regressor.
#[derive(Debug, Clone)]
pub struct FusionHead {
    proj_t: candle_nn::Linear,
    proj_a: candle_nn::Linear,
    text_weight: Tensor,
    audio_weight: Tensor,
    bias: Tensor,
    dense: candle_nn::Linear,
    layer_norm: LayerNorm,
    cls_slot: ClsSlot,
    attention_dropout: f64,
    hidden_dropout: f64,
}

impl FusionHead {
    /// `vb` is the head's own prefix (`fusion`); names match our checkpoint keys.
    pub fn load(vb: VarBuilder, cfg: &HeadConfig, hidden: usize, hidden_dropout: f64, eps: f64) -> Result<Self> {
        let (k, d_audio) = (cfg.proj_dim, cfg.audio_dim);
        let cls_slot = match cfg.cls_audio {
            ClsAudio::Learned => {
                ClsSlot::Learned(vb.get_with_hints(d_audio, "cls_audio", torch_default_uniform(d_audio))?)
            }
            ClsAudio::Zero => ClsSlot::Zero,
            ClsAudio::Mean => ClsSlot::Mean,
        };
        Ok(Self {
            proj_t: linear_no_bias(vb.pp("proj_t"), hidden, k, torch_default_uniform(hidden))?,
            proj_a: linear_no_bias(vb.pp("proj_a"), d_audio, k, torch_default_uniform(d_audio))?,
            text_weight: vb.get_with_hints(1, "text_weight", Init::Const(1.0))?,
            audio_weight: vb.get_with_hints(1, "audio_weight", Init::Const(1.0))?,
            bias: vb.get_with_hints(1, "bias", Init::Const(0.0))?,
            dense: linear(vb.pp("dense"), hidden, hidden, Init::Randn { mean: 0.0, stdev: 0.02 })?,
            layer_norm: LayerNorm::load(vb.pp("layer_norm"), hidden, eps)?,
            cls_slot,
            attention_dropout: cfg.fusion_attention_dropout,
            hidden_dropout,
        })
    }

    /// The audio sequence with its `[CLS]` slot set as the variant says (docs/MODEL.md §7).
    fn audio_with_cls_slot(&self, audio: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (b, l, d) = audio.dims3()?;
        let device = audio.device();
        let mut first = vec![0f32; l];
        first[0] = 1.0;
        let first = Tensor::from_vec(first, (1, l, 1), device)?;
        let words_only = audio.broadcast_mul(&first.affine(-1.0, 1.0)?)?;
        let slot = match &self.cls_slot {
            ClsSlot::Zero => return Ok(words_only),
            ClsSlot::Learned(vector) => vector.reshape((1, 1, d))?,
            ClsSlot::Mean => {
                // Word positions are the real tokens except [CLS] and [SEP]: position j >= 1
                // is a word iff position j + 1 is real.
                let words = Tensor::cat(
                    &[
                        Tensor::zeros((b, 1), DType::F32, device)?,
                        mask.narrow(1, 2, l - 2)?,
                        Tensor::zeros((b, 1), DType::F32, device)?,
                    ],
                    1,
                )?
                .unsqueeze(2)?;
                let count = words.sum_keepdim(1)?.clamp(1f32, f32::MAX)?;
                audio.broadcast_mul(&words)?.sum_keepdim(1)?.broadcast_div(&count)?
            }
        };
        words_only.broadcast_add(&slot.broadcast_mul(&first)?)
    }

    /// `hidden` `[B, L, d]`, `audio` `[B, L, D]`, `mask` `[B, L]` f32. Returns the
    /// dropped-out `[CLS]` row of `Y` `[B, d]` (the regressor's input, step 10) and the matrices.
    pub fn forward(
        &self,
        hidden: &Tensor,
        audio: &Tensor,
        mask: &Tensor,
        mode: Mode<'_>,
    ) -> Result<(Tensor, FusionMatrices)> {
        // Steps 1-2: project and scale by sqrt of the batch-wide Frobenius norm, a constant
        // (the reference divides by a Python float, so no gradient flows through it).
        let text = self.proj_t.forward(hidden)?;
        let norm = text.sqr()?.sum_all()?.sqrt()?.to_scalar::<f32>()? as f64;
        let scale = Tensor::new(norm.sqrt() as f32, text.device())?;
        let text = text.broadcast_div(&scale)?;
        // Step 3.
        let audio = self.proj_a.forward(&self.audio_with_cls_slot(audio, mask)?)?;
        // Step 4.
        let alpha_t = text.matmul(&text.t()?)?.relu()?;
        let beta_a = audio.matmul(&audio.t()?)?.relu()?;
        // Step 5.
        let w_f = alpha_t
            .broadcast_mul(&self.text_weight)?
            .add(&beta_a.broadcast_mul(&self.audio_weight)?)?
            .broadcast_add(&self.bias)?;
        // Step 6: rows and columns of padding both masked.
        let pad = mask.affine(-1.0, 1.0)?;
        let double_mask = (pad.unsqueeze(2)?.broadcast_add(&pad.unsqueeze(1)?)? * MASK_VALUE)?;
        // Step 7.
        let w_m = super::fused::softmax_last_dim(&w_f.add(&double_mask)?)?;
        // Steps 8-9 for the [CLS] row alone: the regressor reads nothing else of Y (step 10),
        // and both steps work row by row, so the other rows were a product of the whole
        // batch by the dense weight and a norm for nothing (4-8 ms of a MiniLM forward pass:
        // docs/BENCHMARKS.md, "Issue 17, after the forward-pass fixes"; docs/MODEL.md §3).
        let w_m_cls = w_m.narrow(1, 0, 1)?.contiguous()?;
        // Step 8.
        let attended = dropout(&w_m_cls, self.attention_dropout, mode)?.matmul(hidden)?;
        let fused = (attended + hidden.narrow(1, 0, 1)?)?;
        // Step 9.
        let y = self
            .layer_norm
            .forward(&dropout(&self.dense.forward(&fused)?, self.hidden_dropout, mode)?)?;
        let cls = dropout(&y.squeeze(1)?, self.hidden_dropout, mode)?;
        Ok((
            cls,
            FusionMatrices {
                alpha_t,
                beta_a,
                w_f,
                w_m,
            },
        ))
    }
}
