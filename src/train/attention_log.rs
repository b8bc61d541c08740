//! Attention through training: the matrices the engine computes for its watched utterances,
//! kept in `RUN/attention.safetensors` so that a finished run can be stepped through
//! (issue 16, item 2).
//!
//! Watched: the utterance in the app's view, the paper's Figure-4 sentences when the data
//! holds them (`crate::figure4`), and those named by `train --watch SPLIT:INDEX`. Snapshots
//! from the live weights and from the run's last weights are kept; the best weights come
//! from an earlier step and are no point on the way.
//!
//! **Bound**: at most [`CAP`] snapshots per utterance. Snapshots are numbered as they come
//! (0, 1, 2, ...); those whose number is a multiple of the utterance's stride stay, and the
//! latest stays until the next one comes. When the list is full, the stride doubles and
//! every other kept snapshot goes (the first and the latest always stay), so the kept steps
//! stay evenly spread over the whole run, and the file stays under
//! `CAP * 4 * n * n * 4` bytes per utterance (n tokens; 64 snapshots of a 50-token sentence:
//! 2.5 MB).
//!
//! The file is written atomically (`fsutil::write_atomic`) at each epoch end and when the
//! run ends, never per step. Layout: one `[k, n, n]` f32 tensor per matrix per utterance,
//! named `SPLIT/INDEX/MATRIX`, and the metadata entry `cmbert.attention`, a JSON
//! [`Manifest`] whose counts the reader checks against every tensor's shape.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::eval::AttentionSnapshot;
use super::events::{Inspection, Weights};
use crate::data::Split;

/// The file's name inside a run directory.
pub const ATTENTION_FILE: &str = "attention.safetensors";
/// Snapshots kept per utterance at most (see the module comment).
pub const CAP: usize = 64;
/// The version of the layout this build writes and reads.
pub const ATTENTION_VERSION: u32 = 1;
const METADATA_KEY: &str = "cmbert.attention";
const MATRICES: [&str; 4] = [
    "text_attention",
    "audio_attention",
    "fusion_scores",
    "multimodal_attention",
];

/// A recorded snapshot: the matrices, and where in the run they were computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// Optimiser steps taken.
    pub step: usize,
    /// The training loss of that step (`None` when no step had been taken in this session).
    pub loss: Option<f32>,
    /// Its number among the snapshots that came for this utterance (0: the first).
    pub number: usize,
    /// The weights that computed the matrices.
    pub weights: Weights,
    /// The matrices and predictions.
    pub snapshot: AttentionSnapshot,
}

/// One watched utterance's snapshots, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// The utterance's split.
    pub split: Split,
    /// Its index in the split.
    pub index: usize,
    /// Its snapshots, by step, at most [`CAP`].
    pub snapshots: Vec<Recorded>,
    /// Snapshots that came so far.
    pub came: usize,
    /// A snapshot stays when its number is a multiple of this (a power of two).
    pub stride: usize,
}

/// Every watched utterance's snapshots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttentionLog {
    /// One track per utterance, in the order first seen.
    pub tracks: Vec<Track>,
}

/// Why an attention file could not be read or written; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum AttentionLogError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not what this build writes.
    #[error(
        "{path}: not a recorded attention file: {problem} (written by cmbert-tui train; delete it to start afresh)"
    )]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

impl AttentionLog {
    /// Adds a snapshot computed `loss` steps into the run (live or last weights only; the
    /// best ones are not a point on the way). A second one at the step already latest
    /// replaces it.
    pub fn push(&mut self, inspection: &Inspection, loss: Option<f32>) {
        let step = match inspection.weights {
            Weights::Live { step } | Weights::Last { step } => step,
            Weights::Best { .. } | Weights::Checkpoint => return,
        };
        let (split, index) = (inspection.split, inspection.snapshot.index);
        let track = match self.tracks.iter().position(|t| t.split == split && t.index == index) {
            Some(i) => &mut self.tracks[i],
            None => {
                self.tracks.push(Track {
                    split,
                    index,
                    snapshots: Vec::new(),
                    came: 0,
                    stride: 1,
                });
                self.tracks.last_mut().expect("just pushed")
            }
        };
        let mut recorded = Recorded {
            step,
            loss,
            number: track.came,
            weights: inspection.weights,
            snapshot: inspection.snapshot.clone(),
        };
        if let Some(last) = track.snapshots.last() {
            if last.step >= step {
                // Computed again at the same step (an epoch's end): the newer one stands in.
                recorded.number = last.number;
                track.snapshots.pop();
            } else if last.number % track.stride != 0 {
                // The latest stayed only for being the latest.
                track.snapshots.pop();
            }
        }
        track.came = recorded.number + 1;
        track.snapshots.push(recorded);
        if track.snapshots.len() > CAP {
            track.stride *= 2;
            let (stride, last) = (track.stride, track.snapshots.len() - 1);
            let mut i = 0;
            track.snapshots.retain(|r| {
                let keep = r.number % stride == 0 || i == last;
                i += 1;
                keep
            });
        }
    }

    /// The snapshots of one utterance, oldest first (empty when none was recorded).
    pub fn track(&self, split: Split, index: usize) -> &[Recorded] {
        self.tracks
            .iter()
            .find(|t| t.split == split && t.index == index)
            .map_or(&[], |t| &t.snapshots)
    }

    /// The file in run directory `run`.
    pub fn path_in(run: &Path) -> PathBuf {
        run.join(ATTENTION_FILE)
    }

    /// Writes the log to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), AttentionLogError> {
        let invalid = |problem: String| AttentionLogError::Invalid {
            path: path.to_path_buf(),
            problem,
        };
        let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        let mut utterances = Vec::new();
        for track in &self.tracks {
            let Some(first) = track.snapshots.first() else { continue };
            let n = first.snapshot.tokens.len();
            let k = track.snapshots.len();
            for (m, name) in MATRICES.iter().enumerate() {
                let mut bytes = Vec::with_capacity(k * n * n * 4);
                for r in &track.snapshots {
                    let matrix = matrix(&r.snapshot, m);
                    if matrix.len() != n || matrix.iter().any(|row| row.len() != n) {
                        return Err(invalid(format!(
                            "a snapshot of {} {} is not {n}x{n}",
                            track.split, track.index
                        )));
                    }
                    bytes.extend(matrix.iter().flatten().flat_map(|v| v.to_le_bytes()));
                }
                buffers.push((tensor_name(track.split, track.index, name), vec![k, n, n], bytes));
            }
            utterances.push(UtteranceMeta {
                split: track.split,
                index: track.index,
                tokens: first.snapshot.tokens.clone(),
                words: first.snapshot.words.clone(),
                token_words: first.snapshot.token_words.clone(),
                label: finite(first.snapshot.label),
                came: track.came,
                stride: track.stride,
                snapshots: track
                    .snapshots
                    .iter()
                    .map(|r| SnapshotMeta {
                        step: r.step,
                        number: r.number,
                        loss: r.loss.and_then(finite),
                        weights: r.weights,
                        prediction: finite(r.snapshot.prediction),
                        prediction_without_audio: finite(r.snapshot.prediction_without_audio),
                        batching: r.snapshot.batching.clone(),
                    })
                    .collect(),
            });
        }
        let manifest = Manifest {
            version: ATTENTION_VERSION,
            utterances,
        };
        let json = serde_json::to_string(&manifest).map_err(|e| invalid(e.to_string()))?;
        let views = buffers
            .iter()
            .map(|(name, shape, bytes)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(e.to_string()))?;
        let metadata = HashMap::from([(METADATA_KEY.to_string(), json)]);
        let bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| invalid(e.to_string()))?;
        crate::fsutil::write_atomic(path, &bytes).map_err(|source| AttentionLogError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a log written by [`AttentionLog::write`], checking every count against the
    /// tensors' shapes.
    pub fn read(path: &Path) -> Result<Self, AttentionLogError> {
        // Logs are ours, but in a run directory the user names: a FIFO or a device there is
        // refused, not read forever.
        let bytes = crate::fsutil::read_input(path).map_err(|source| AttentionLogError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&bytes).map_err(|problem| AttentionLogError::Invalid {
            path: path.to_path_buf(),
            problem,
        })
    }

    /// [`AttentionLog::read`] of bytes; the problem in words.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let file = safetensors::SafeTensors::deserialize(bytes).map_err(|e| format!("{e}"))?;
        let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| format!("{e}"))?;
        let json = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get(METADATA_KEY))
            .ok_or_else(|| format!("no `{METADATA_KEY}` metadata"))?;
        let manifest: Manifest = serde_json::from_str(json).map_err(|e| format!("metadata: {e}"))?;
        if manifest.version != ATTENTION_VERSION {
            return Err(format!(
                "version {} (this build reads version {ATTENTION_VERSION}; use the cmbert-tui that wrote it)",
                manifest.version
            ));
        }
        let mut tracks = Vec::new();
        for u in manifest.utterances {
            let (k, n) = (u.snapshots.len(), u.tokens.len());
            let what = format!("{} {}", u.split, u.index);
            if k == 0 || k > CAP {
                return Err(format!("{what}: {k} snapshots (1 to {CAP} expected)"));
            }
            if !u.stride.is_power_of_two() {
                return Err(format!("{what}: stride {} (a power of two expected)", u.stride));
            }
            if u.words.is_empty() && n > 0 || u.token_words.len() != n {
                return Err(format!("{what}: {} token words for {n} tokens", u.token_words.len()));
            }
            if let Some(w) = u.token_words.iter().flatten().find(|&&w| w >= u.words.len()) {
                return Err(format!("{what}: token word {w} of {} words", u.words.len()));
            }
            let mut matrices = Vec::new();
            for name in MATRICES {
                let tensor_name = tensor_name(u.split, u.index, name);
                let t = file
                    .tensor(&tensor_name)
                    .map_err(|_| format!("no tensor `{tensor_name}`"))?;
                if t.dtype() != safetensors::Dtype::F32 || t.shape() != [k, n, n] {
                    return Err(format!(
                        "tensor `{tensor_name}` is {:?} {:?} ({k} snapshots of {n}x{n} f32 expected)",
                        t.dtype(),
                        t.shape()
                    ));
                }
                let values: Vec<f32> = t
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                matrices.push(values);
            }
            let at = |m: usize, s: usize| -> Vec<Vec<f32>> {
                matrices[m][s * n * n..(s + 1) * n * n]
                    .chunks(n.max(1))
                    .take(n)
                    .map(<[f32]>::to_vec)
                    .collect()
            };
            let mut last: Option<(usize, usize)> = None;
            let mut snapshots = Vec::with_capacity(k);
            for (s, meta) in u.snapshots.into_iter().enumerate() {
                if let Some((step, number)) = last.filter(|&(step, number)| meta.step <= step || meta.number <= number)
                {
                    return Err(format!(
                        "{what}: snapshot {} at step {} after snapshot {number} at step {step}",
                        meta.number, meta.step
                    ));
                }
                if meta.number >= u.came {
                    return Err(format!("{what}: snapshot {} of {} that came", meta.number, u.came));
                }
                last = Some((meta.step, meta.number));
                snapshots.push(Recorded {
                    step: meta.step,
                    loss: meta.loss,
                    number: meta.number,
                    weights: meta.weights,
                    snapshot: AttentionSnapshot {
                        index: u.index,
                        tokens: u.tokens.clone(),
                        words: u.words.clone(),
                        token_words: u.token_words.clone(),
                        label: u.label.unwrap_or(f32::NAN),
                        prediction: meta.prediction.unwrap_or(f32::NAN),
                        prediction_without_audio: meta.prediction_without_audio.unwrap_or(f32::NAN),
                        batching: meta.batching,
                        text_attention: at(0, s),
                        audio_attention: at(1, s),
                        fusion_scores: at(2, s),
                        multimodal_attention: at(3, s),
                    },
                });
            }
            tracks.push(Track {
                split: u.split,
                index: u.index,
                snapshots,
                came: u.came,
                stride: u.stride,
            });
        }
        Ok(Self { tracks })
    }
}

fn matrix(s: &AttentionSnapshot, m: usize) -> &[Vec<f32>] {
    match m {
        0 => &s.text_attention,
        1 => &s.audio_attention,
        2 => &s.fusion_scores,
        _ => &s.multimodal_attention,
    }
}

fn tensor_name(split: Split, index: usize, matrix: &str) -> String {
    format!("{split}/{index}/{matrix}")
}

/// JSON has no NaN: an unlabelled recording's label is stored as null.
fn finite(v: f32) -> Option<f32> {
    v.is_finite().then_some(v)
}

/// What the metadata entry says about the tensors.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// [`ATTENTION_VERSION`].
    pub version: u32,
    /// One entry per tensor group.
    pub utterances: Vec<UtteranceMeta>,
}

/// One utterance in the [`Manifest`].
#[derive(Debug, Serialize, Deserialize)]
pub struct UtteranceMeta {
    /// Its split.
    pub split: Split,
    /// Its index in the split.
    pub index: usize,
    /// Its tokens: `n`, the side of every matrix.
    pub tokens: Vec<String>,
    /// Its words.
    pub words: Vec<String>,
    /// Word of each token.
    pub token_words: Vec<Option<usize>>,
    /// Its label (null when unlabelled).
    pub label: Option<f32>,
    /// Snapshots that came ([`Track::came`]).
    pub came: usize,
    /// [`Track::stride`].
    pub stride: usize,
    /// Its snapshots: `k`, the first dimension of every tensor.
    pub snapshots: Vec<SnapshotMeta>,
}

/// One snapshot in the [`Manifest`].
#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// Optimiser steps taken.
    pub step: usize,
    /// [`Recorded::number`].
    pub number: usize,
    /// The training loss at that step.
    pub loss: Option<f32>,
    /// The weights label.
    pub weights: Weights,
    /// The score.
    pub prediction: Option<f32>,
    /// The score without audio.
    pub prediction_without_audio: Option<f32>,
    /// How it was batched.
    pub batching: String,
}

#[cfg(test)]
mod tests;
