//! Batching: stacks encoded utterances and their token-aligned audio into model inputs.
//!
//! A batch's tensors are made when it is trained or evaluated on, from the examples it
//! takes; no split is ever stacked whole. An example's audio is a row of its file's array,
//! shared rather than copied ([`AudioRow`]), so a dataset holds its audio once.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use candle_core::{Device, Result, Tensor};

use super::packed::Packed;
use crate::model::Inputs;

/// One utterance ready for the model.
#[derive(Debug, Clone)]
pub struct Example {
    /// The utterance's text.
    pub text: String,
    /// Its tokens and ids, kept compact (see [`Packed`]); its words are [`Example::words`].
    pub encoded: Packed,
    /// Token-aligned audio, `max_len * audio_dim` values, row-major.
    pub audio: AudioRow,
    /// Sentiment label in [-3, 3]; NaN for an unlabelled recording.
    pub label: f32,
    /// The utterance's id in its file (an MMSA pickle's `id`, a TSV's `id` column), kept for
    /// predictions.
    pub id: Option<String>,
}

impl Example {
    /// The words of its text (as [`Encoded::words`](super::Encoded::words) had them).
    pub fn words(&self) -> Vec<String> {
        super::tokenize::words(&self.text)
            .into_iter()
            .map(String::from)
            .collect()
    }
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
        let l = examples.first().map_or(0, |e| e.encoded.max_len());
        let ids: Vec<u32> = examples.iter().flat_map(|e| e.encoded.input_ids()).collect();
        let mask: Vec<f32> = examples.iter().flat_map(|e| e.encoded.attention_mask()).collect();
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

/// One utterance's token-aligned audio: its own values, or a row of an array shared with
/// the other utterances of its file. It reads as a slice either way; changing it (zeroing
/// the audio of an ablation) gives the example a copy of its row, never touching the
/// others'.
#[derive(Clone)]
pub struct AudioRow(Row);

#[derive(Clone)]
enum Row {
    Owned(Vec<f32>),
    Shared {
        // `Arc<Vec<f32>>`, not `Arc<[f32]>`: a split's array is read into a `Vec`, and making
        // an `Arc<[f32]>` of it would copy the whole split once more.
        #[allow(clippy::rc_buffer)]
        values: Arc<Vec<f32>>,
        start: usize,
        len: usize,
    },
}

impl AudioRow {
    /// `len` values of `values` from `start`; `None` if they are not all there.
    pub fn shared(values: &Arc<Vec<f32>>, start: usize, len: usize) -> Option<Self> {
        let end = start.checked_add(len)?;
        (end <= values.len()).then(|| {
            Self(Row::Shared {
                values: Arc::clone(values),
                start,
                len,
            })
        })
    }

    /// `n` zeros (an utterance without audio).
    pub fn zeros(n: usize) -> Self {
        Self(Row::Owned(vec![0.0; n]))
    }
}

impl From<Vec<f32>> for AudioRow {
    fn from(values: Vec<f32>) -> Self {
        Self(Row::Owned(values))
    }
}

impl Deref for AudioRow {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        match &self.0 {
            Row::Owned(v) => v,
            // `shared` checked the range.
            Row::Shared { values, start, len } => &values[*start..start + len],
        }
    }
}

impl DerefMut for AudioRow {
    fn deref_mut(&mut self) -> &mut [f32] {
        if let Row::Shared { .. } = self.0 {
            self.0 = Row::Owned(self.to_vec());
        }
        match &mut self.0 {
            Row::Owned(v) => v,
            Row::Shared { .. } => &mut [],
        }
    }
}

/// Rows are equal when their values are, however they are held.
impl PartialEq for AudioRow {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl PartialEq<Vec<f32>> for AudioRow {
    fn eq(&self, other: &Vec<f32>) -> bool {
        **self == other[..]
    }
}

impl IntoIterator for AudioRow {
    type Item = f32;
    type IntoIter = std::vec::IntoIter<f32>;

    fn into_iter(self) -> Self::IntoIter {
        match self.0 {
            Row::Owned(v) => v.into_iter(),
            Row::Shared { values, start, len } => Vec::from(&values[start..start + len]).into_iter(),
        }
    }
}

// A shared row's array holds a whole split: print the row only.
impl fmt::Debug for AudioRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
