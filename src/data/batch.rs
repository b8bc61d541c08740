//! Batching: stacks encoded utterances and their token-aligned audio into model inputs.

use candle_core::{Device, Result, Tensor};

use super::tokenize::Encoded;
use crate::model::Inputs;

/// One utterance ready for the model.
#[derive(Debug, Clone)]
pub struct Example {
    /// The utterance's text.
    pub text: String,
    /// Its tokens and ids.
    pub encoded: Encoded,
    /// Token-aligned audio, `max_len * audio_dim` values, row-major.
    pub audio: Vec<f32>,
    /// Sentiment label in [-3, 3]; NaN for an unlabelled recording.
    pub label: f32,
    /// The utterance's id in its file (an MMSA pickle's `id`, a TSV's `id` column), kept for
    /// predictions.
    pub id: Option<String>,
}

/// Examples stacked into the model's input tensors.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Token ids, masks and audio, `[B, L]` and `[B, L, D]`.
    pub inputs: Inputs,
    /// `[B]` f32.
    pub labels: Tensor,
}

impl Batch {
    /// Stacks `examples` (all of one length) on `device`.
    pub fn new(examples: &[&Example], audio_dim: usize, device: &Device) -> Result<Self> {
        let b = examples.len();
        let l = examples.first().map_or(0, |e| e.encoded.input_ids.len());
        let ids: Vec<u32> = examples
            .iter()
            .flat_map(|e| e.encoded.input_ids.iter().copied())
            .collect();
        let mask: Vec<f32> = examples
            .iter()
            .flat_map(|e| e.encoded.attention_mask.iter().copied())
            .collect();
        let audio: Vec<f32> = examples.iter().flat_map(|e| e.audio.iter().copied()).collect();
        let labels: Vec<f32> = examples.iter().map(|e| e.label).collect();
        Ok(Self {
            inputs: Inputs {
                input_ids: Tensor::from_vec(ids, (b, l), device)?,
                attention_mask: Tensor::from_vec(mask, (b, l), device)?,
                audio: Tensor::from_vec(audio, (b, l, audio_dim), device)?,
            },
            labels: Tensor::from_vec(labels, b, device)?,
        })
    }
}
