//! Evaluation exactly as the reference does it: batches of `eval_batch_size` in file order,
//! padded to max_len. Batching matters: the fusion head scales by a batch-wide norm (docs/MODEL.md
//! §3, step 2), so an utterance's score depends on its batch-mates.

use candle_core::{Device, Result, Tensor};

use crate::data::{Batch, Example, MmsaKind};
use crate::model::{loss, BertAttentions, CmBert, Mode};

use super::metrics::Metrics;

/// A split evaluated: predictions, loss and metrics.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// One score per utterance, in file order.
    pub predictions: Vec<f32>,
    /// Mean over batches of the batch-mean loss (the reference's dev loss).
    pub loss: f64,
    /// The metrics of the predictions against the labels.
    pub metrics: Metrics,
}

/// Scores `examples` in batches of `batch_size`, in order, as the reference evaluates.
pub fn evaluate(
    model: &CmBert,
    examples: &[Example],
    batch_size: usize,
    audio_dim: usize,
    device: &Device,
) -> Result<Evaluation> {
    let mut predictions = Vec::with_capacity(examples.len());
    let mut losses = Vec::new();
    for chunk in examples.chunks(batch_size.max(1)) {
        let refs: Vec<&Example> = chunk.iter().collect();
        let batch = Batch::new(&refs, audio_dim, device)?;
        let out = model.forward(&batch.inputs, Mode::Infer, BertAttentions::Skip)?;
        losses.push(loss(&out.score, &batch.labels)?.to_scalar::<f32>()? as f64);
        predictions.extend(out.score.to_vec1::<f32>()?);
    }
    let labels: Vec<f32> = examples.iter().map(|e| e.label).collect();
    let metrics = Metrics::compute(&predictions, &labels);
    let loss = if losses.is_empty() {
        f64::NAN
    } else {
        losses.iter().sum::<f64>() / losses.len() as f64
    };
    Ok(Evaluation {
        predictions,
        loss,
        metrics,
    })
}

/// A result that is not a number: training diverged (or the input overflowed), and nothing
/// computed from it may be reported, compared or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NonFinite {
    /// An utterance's prediction is not finite.
    #[error("the prediction for utterance {index} ({text:?}) is {value}")]
    Prediction {
        /// The utterance's index in the split.
        index: usize,
        /// Its text.
        text: String,
        /// The prediction.
        value: f32,
    },
    /// Every prediction is finite, but the loss is not.
    #[error("the loss is {0} although every prediction is finite (they are too large to square)")]
    Loss(f64),
}

impl Evaluation {
    /// The metrics with MMSA's own figures beside the paper's for data of `kind` (an MMSA
    /// pickle, `Dataset::mmsa`; `None` leaves them as they are): `examples` are the ones
    /// evaluated. Dev and test figures then follow the data's family wherever they are shown.
    pub fn counted_for(mut self, kind: Option<MmsaKind>, examples: &[Example]) -> Self {
        if kind.is_some() {
            let labels: Vec<f32> = examples.iter().map(|e| e.label).collect();
            self.metrics = Metrics::compute_for(kind, &self.predictions, &labels);
        }
        self
    }

    /// The first non-finite prediction (with its utterance from `examples`, the ones
    /// evaluated), else a non-finite loss.
    pub fn check_finite(&self, examples: &[Example]) -> std::result::Result<(), NonFinite> {
        if let Some((index, &value)) = self.predictions.iter().enumerate().find(|(_, p)| !p.is_finite()) {
            return Err(NonFinite::Prediction {
                index,
                text: examples.get(index).map_or_else(String::new, |e| e.text.clone()),
                value,
            });
        }
        if !self.loss.is_finite() {
            return Err(NonFinite::Loss(self.loss));
        }
        Ok(())
    }
}

/// A token id the encoder has no embedding row for: the vocabulary file is larger than the
/// config's `vocab_size`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "utterance {index} ({text:?}) has token id {id}, but the model's vocab_size is {vocab_size}: the vocabulary \
     file does not belong to this config.json"
)]
pub struct OutOfVocabulary {
    /// The utterance's index in its split.
    pub index: usize,
    /// Its text.
    pub text: String,
    /// The token id.
    pub id: u32,
    /// The encoder's vocabulary size.
    pub vocab_size: usize,
}

/// Checks every token id of `examples` against the embedding table's `vocab_size`.
pub fn check_token_ids(examples: &[Example], vocab_size: usize) -> std::result::Result<(), OutOfVocabulary> {
    for (index, e) in examples.iter().enumerate() {
        if let Some(&id) = e.encoded.ids().iter().find(|&&id| id as usize >= vocab_size) {
            return Err(OutOfVocabulary {
                index,
                text: e.text.clone(),
                id,
                vocab_size,
            });
        }
    }
    Ok(())
}

/// The matrices of one utterance, cropped to its real tokens.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AttentionSnapshot {
    /// The utterance's index in its split.
    pub index: usize,
    /// Its word-piece tokens, `[CLS]` and `[SEP]` included.
    pub tokens: Vec<String>,
    /// Its words.
    pub words: Vec<String>,
    /// Word index of each token (`None` for `[CLS]`/`[SEP]`).
    pub token_words: Vec<Option<usize>>,
    /// The utterance's label.
    pub label: f32,
    /// The model's score.
    pub prediction: f32,
    /// The prediction with the audio of the whole evaluation batch set to zero: equal to
    /// `prediction` when the voice cannot reach the score (the paper's model, docs/MODEL.md §7).
    pub prediction_without_audio: f32,
    /// How the utterance was batched when scored.
    pub batching: String,
    /// `alpha_t`, the text attention `ReLU(T' T'^T)`.
    pub text_attention: Vec<Vec<f32>>,
    /// `beta_a`, the audio attention `ReLU(A A^T)`.
    pub audio_attention: Vec<Vec<f32>>,
    /// `W_f`, the weighted sum of both.
    pub fusion_scores: Vec<Vec<f32>>,
    /// `W_m`, the masked softmax of `W_f`: the multimodal attention.
    pub multimodal_attention: Vec<Vec<f32>>,
}

/// Computes utterance `index` inside the evaluation batch that holds it, so its prediction
/// equals the one `evaluate` gives.
pub fn attention_snapshot(
    model: &CmBert,
    examples: &[Example],
    index: usize,
    batch_size: usize,
    audio_dim: usize,
    device: &Device,
) -> Result<AttentionSnapshot> {
    attention_snapshots(model, examples, &[index], batch_size, audio_dim, device)?
        .pop()
        .ok_or_else(|| candle_core::Error::Msg(format!("no snapshot computed for utterance {index}")))
}

/// `attention_snapshot` of each of `indices` (in their order), with the two forward passes
/// (with and without the audio) run once per evaluation batch holding any of them, not
/// once per utterance: the Figure-4 sentences and `--watch` ones often share a batch.
pub fn attention_snapshots(
    model: &CmBert,
    examples: &[Example],
    indices: &[usize],
    batch_size: usize,
    audio_dim: usize,
    device: &Device,
) -> Result<Vec<AttentionSnapshot>> {
    let batch_size = batch_size.max(1);
    let mut starts: Vec<usize> = indices.iter().map(|i| i / batch_size * batch_size).collect();
    starts.sort_unstable();
    starts.dedup();
    let mut found: Vec<(usize, AttentionSnapshot)> = Vec::with_capacity(indices.len());
    for start in starts {
        let end = (start + batch_size).min(examples.len());
        let refs: Vec<&Example> = examples[start..end].iter().collect();
        let batch = Batch::new(&refs, audio_dim, device)?;
        let out = model.forward(&batch.inputs, Mode::Infer, BertAttentions::Skip)?;
        let silent = crate::model::Inputs {
            audio: batch.inputs.audio.zeros_like()?,
            ..batch.inputs.clone()
        };
        let without_audio = model.forward(&silent, Mode::Infer, BertAttentions::Skip)?;
        let fusion = out
            .fusion
            .as_ref()
            .ok_or_else(|| candle_core::Error::Msg("T-BERT has no fusion attention to show".into()))?;
        for (position, &index) in indices.iter().enumerate() {
            if index / batch_size * batch_size != start {
                continue;
            }
            let row = index - start;
            let example = &examples[index];
            let n = example.encoded.len();
            let crop = |t: &Tensor| -> Result<Vec<Vec<f32>>> {
                t.get(row)?.narrow(0, 0, n)?.narrow(1, 0, n)?.to_vec2::<f32>()
            };
            let snapshot = AttentionSnapshot {
                index,
                tokens: example.encoded.tokens().into_iter().map(String::from).collect(),
                words: example.words(),
                token_words: example.encoded.token_words(),
                label: example.label,
                prediction: out.score.get(row)?.to_scalar::<f32>()?,
                prediction_without_audio: without_audio.score.get(row)?.to_scalar::<f32>()?,
                batching: format!(
                    "evaluation batch {} (utterances {start}..{end}, batch size {batch_size})",
                    start / batch_size
                ),
                text_attention: crop(&fusion.alpha_t)?,
                audio_attention: crop(&fusion.beta_a)?,
                fusion_scores: crop(&fusion.w_f)?,
                multimodal_attention: crop(&fusion.w_m)?,
            };
            found.push((position, snapshot));
        }
    }
    found.sort_by_key(|(position, _)| *position);
    Ok(found.into_iter().map(|(_, snapshot)| snapshot).collect())
}
