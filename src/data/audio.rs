//! Audio feature files, all checked against the text splits they go with:
//! (a) the reference's pickle: a 3-tuple `(train, valid, test)` of `[N, 50, D]` arrays;
//! (b) MMSA-style `aligned_50.pkl`: a dict of splits with `raw_text`, `audio`,
//!     `regression_labels` (-inf in audio read as 0, as MMSA does);
//! (c) `.npz` / `.safetensors` with one `[N, L, D]` array per split (`train`, `dev` or
//!     `valid`, `test`);
//! (d) word-level JSON Lines: one utterance per line,
//!     `{"split": "train", "index": 0, "words": ["A", "LOT"], "features": [[..D..], [..D..]]}`;
//!     every word piece carries its word's vector, `[CLS]`/`[SEP]`/padding get zeros
//!     (spec section 1.2). `cmbert-tui features` writes this format with a first line
//!     `{"feature_set": {...}}` naming its features, and an `"id"` (the recording) per line.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::error::DataError;
use super::pickle::{parse_pickle, NdArray, PyValue};
use super::tokenize::Encoded;
use super::tsv::Split;
use crate::acoustic::{AudioNorm, FeatureSetInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AudioFormat {
    ReferencePickle,
    MmsaPickle,
    Npz,
    Safetensors,
    WordJsonl,
}

impl std::fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ReferencePickle => "reference pickle (train, valid, test)",
            Self::MmsaPickle => "MMSA aligned pickle",
            Self::Npz => "npz",
            Self::Safetensors => "safetensors",
            Self::WordJsonl => "word-level JSON Lines",
        })
    }
}

#[derive(Debug, Clone)]
pub struct WordFeatures {
    pub words: Vec<String>,
    pub features: Vec<Vec<f32>>,
    /// Line in the JSONL file, for messages.
    pub line: usize,
}

#[derive(Debug, Clone)]
pub enum SplitFeatures {
    /// `[n, len, dim]`, row-major.
    TokenAligned {
        values: Vec<f32>,
        n: usize,
        len: usize,
    },
    WordLevel(Vec<WordFeatures>),
}

impl SplitFeatures {
    pub fn count(&self) -> usize {
        match self {
            Self::TokenAligned { n, .. } => *n,
            Self::WordLevel(u) => u.len(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AudioFile {
    pub path: PathBuf,
    pub format: AudioFormat,
    pub dim: usize,
    /// Indexed by `Split::index()`.
    pub splits: [SplitFeatures; 3],
    /// Utterances whose `[CLS]` slot (position 0) is not all zeros (spec section 7).
    pub cls_slot_nonzero: usize,
    /// `-inf` values read as 0 (MMSA files).
    pub neg_inf_zeroed: usize,
    /// MMSA files carry their own transcripts and labels, checked against the TSV.
    pub texts: Option<[Vec<String>; 3]>,
    /// Declared by files from `cmbert-tui features`: their values are raw measurements
    /// (Hz, dB, ...) to be z-scored before training.
    pub feature_set: Option<FeatureSetInfo>,
}

pub fn load_audio(path: &Path) -> Result<AudioFile, DataError> {
    if !path.is_file() {
        return Err(DataError::file(path, "audio feature file not found"));
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "pkl" | "pickle" => from_pickle(path),
        "npz" => from_npz(path),
        "safetensors" => from_safetensors(path),
        "jsonl" => from_jsonl(path),
        _ => Err(DataError::file(
            path,
            "unknown audio format: expected .pkl, .npz, .safetensors or .jsonl",
        )),
    }
}

impl AudioFile {
    /// Word vectors of one split (empty for token-aligned files).
    pub fn word_vectors(&self, split: Split) -> impl Iterator<Item = &[f32]> {
        let utterances: &[WordFeatures] = match &self.splits[split.index()] {
            SplitFeatures::WordLevel(u) => u,
            SplitFeatures::TokenAligned { .. } => &[],
        };
        utterances.iter().flat_map(|u| u.features.iter().map(Vec::as_slice))
    }

    /// Scales every word vector in place (word-level files; token-aligned files are left
    /// as the reference reads them).
    pub fn normalise(&mut self, norm: &AudioNorm) -> Result<(), DataError> {
        if norm.dim() != self.dim {
            return Err(DataError::file(
                &self.path,
                format!("{} feature dimensions, but the scaling has {}", self.dim, norm.dim()),
            ));
        }
        for split in &mut self.splits {
            if let SplitFeatures::WordLevel(utterances) = split {
                for v in utterances.iter_mut().flat_map(|u| u.features.iter_mut()) {
                    norm.apply(v);
                }
            }
        }
        Ok(())
    }

    /// Token-aligned features for one encoded utterance: `max_len * dim` values.
    pub fn aligned(&self, split: Split, index: usize, encoded: &Encoded) -> Result<Vec<f32>, DataError> {
        let max_len = encoded.input_ids.len();
        match &self.splits[split.index()] {
            SplitFeatures::TokenAligned { values, len, .. } => {
                if *len != max_len {
                    return Err(DataError::file(
                        &self.path,
                        format!("features are aligned to {len} token positions but the text encoding uses {max_len}; pass --max-len {len}"),
                    ));
                }
                let row = len * self.dim;
                Ok(values[index * row..(index + 1) * row].to_vec())
            }
            SplitFeatures::WordLevel(utterances) => {
                let u = &utterances[index];
                let same = u.words.len() == encoded.words.len()
                    && u.words
                        .iter()
                        .zip(&encoded.words)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b));
                if !same {
                    return Err(DataError::line(
                        &self.path,
                        u.line,
                        format!("words {:?} do not match the transcript {:?}", u.words, encoded.words),
                    ));
                }
                Ok(expand_words(&u.features, encoded, self.dim))
            }
        }
    }
}

/// Token-aligned audio from word vectors: every piece of a word carries the word's vector;
/// `[CLS]`, `[SEP]` and padding get zeros (spec section 1.2).
pub fn expand_words(features: &[Vec<f32>], encoded: &Encoded, dim: usize) -> Vec<f32> {
    let mut out = vec![0f32; encoded.input_ids.len() * dim];
    for (t, word) in encoded.token_words.iter().enumerate() {
        if let Some(w) = word {
            out[t * dim..(t + 1) * dim].copy_from_slice(&features[*w]);
        }
    }
    out
}

/// Validates a `[N, L, D]` array and converts it; -inf -> 0 only where the format says so.
fn token_aligned(
    path: &Path,
    what: &str,
    shape: &[usize],
    mut values: Vec<f32>,
    zero_neg_inf: bool,
) -> Result<(SplitFeatures, usize, usize, usize), DataError> {
    let [n, len, dim] = shape[..] else {
        return Err(DataError::file(
            path,
            format!("{what}: expected a [N, L, D] array, found shape {shape:?}"),
        ));
    };
    let mut zeroed = 0;
    for (i, v) in values.iter_mut().enumerate() {
        if zero_neg_inf && *v == f32::NEG_INFINITY {
            *v = 0.0;
            zeroed += 1;
        } else if !v.is_finite() {
            let (row, pos) = (i / (len * dim).max(1), (i / dim.max(1)) % len.max(1));
            return Err(DataError::file(
                path,
                format!("{what}: non-finite value {v} at utterance {row}, position {pos}"),
            ));
        }
    }
    let row = len * dim;
    let cls_nonzero = (0..n)
        .filter(|r| values[r * row..r * row + dim].iter().any(|&v| v != 0.0))
        .count();
    Ok((SplitFeatures::TokenAligned { values, n, len }, dim, cls_nonzero, zeroed))
}

fn assemble(
    path: &Path,
    format: AudioFormat,
    parts: Vec<(SplitFeatures, usize, usize, usize)>,
    texts: Option<[Vec<String>; 3]>,
) -> Result<AudioFile, DataError> {
    let dims: Vec<usize> = parts.iter().map(|p| p.1).collect();
    if dims.iter().any(|&d| d != dims[0]) || dims[0] == 0 {
        return Err(DataError::file(
            path,
            format!("feature dimension differs between splits or is zero: {dims:?}"),
        ));
    }
    let cls_slot_nonzero = parts.iter().map(|p| p.2).sum();
    let neg_inf_zeroed = parts.iter().map(|p| p.3).sum();
    let mut splits = parts.into_iter().map(|p| p.0);
    let splits = [splits.next().unwrap(), splits.next().unwrap(), splits.next().unwrap()];
    Ok(AudioFile {
        path: path.to_path_buf(),
        format,
        dim: dims[0],
        splits,
        cls_slot_nonzero,
        neg_inf_zeroed,
        texts,
        feature_set: None,
    })
}

const SPLIT_KEYS: [&[&str]; 3] = [&["train"], &["dev", "valid"], &["test"]];

fn array<'a>(path: &Path, what: &str, v: Option<&'a PyValue>) -> Result<&'a NdArray, DataError> {
    match v {
        Some(PyValue::Array(a)) => Ok(a),
        Some(other) => Err(DataError::file(
            path,
            format!("{what}: expected a NumPy array, found {}", other.type_name()),
        )),
        None => Err(DataError::file(path, format!("{what}: missing"))),
    }
}

fn from_pickle(path: &Path) -> Result<AudioFile, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let value = parse_pickle(&bytes).map_err(|e| DataError::file(path, e.to_string()))?;
    match &value {
        PyValue::Tuple(items) | PyValue::List(items) if items.len() == 3 => {
            let names = ["train", "valid", "test"];
            let parts = items
                .iter()
                .zip(names)
                .map(|(item, name)| {
                    let a = array(path, &format!("tuple item {name}"), Some(item))?;
                    token_aligned(path, name, &a.shape, a.to_f32(), false)
                })
                .collect::<Result<Vec<_>, _>>()?;
            assemble(path, AudioFormat::ReferencePickle, parts, None)
        }
        PyValue::Dict(_) if value.get("train").is_some() => {
            let mut parts = Vec::new();
            let mut texts: [Vec<String>; 3] = Default::default();
            for (i, keys) in SPLIT_KEYS.iter().enumerate() {
                let split = keys.iter().find_map(|k| value.get(k)).ok_or_else(|| {
                    DataError::file(path, format!("MMSA pickle has no {:?} split", keys.join("\" or \"")))
                })?;
                let a = array(path, &format!("{}[\"audio\"]", keys[0]), split.get("audio"))?;
                parts.push(token_aligned(path, keys[0], &a.shape, a.to_f32(), true)?);
                if let Some(PyValue::List(raw)) = split.get("raw_text") {
                    texts[i] = raw
                        .iter()
                        .map(|t| {
                            if let PyValue::Str(s) = t {
                                s.clone()
                            } else {
                                String::new()
                            }
                        })
                        .collect();
                }
            }
            assemble(path, AudioFormat::MmsaPickle, parts, Some(texts))
        }
        other => Err(DataError::file(
            path,
            format!(
                "not an audio feature pickle: expected a 3-tuple of [N, 50, D] arrays (the reference's) or a dict with \
                 train/valid/test splits holding \"audio\" (MMSA aligned_50.pkl); found {}",
                describe(other)
            ),
        )),
    }
}

fn describe(v: &PyValue) -> String {
    match v {
        PyValue::Dict(items) => {
            let keys: Vec<String> = items
                .iter()
                .take(8)
                .map(|(k, _)| {
                    if let PyValue::Str(s) = k {
                        format!("{s:?}")
                    } else {
                        k.type_name()
                    }
                })
                .collect();
            format!("a dict with keys [{}]", keys.join(", "))
        }
        PyValue::Tuple(items) | PyValue::List(items) => format!("a {} of {} items", v.type_name(), items.len()),
        other => other.type_name(),
    }
}

fn from_npz(path: &Path) -> Result<AudioFile, DataError> {
    let err = |e: std::io::Error| DataError::file(path, format!("cannot read npz: {e}"));
    let mut npz = npyz::npz::NpzArchive::open(path).map_err(err)?;
    let names: Vec<String> = npz.array_names().map(str::to_string).collect();
    let mut parts = Vec::new();
    for keys in SPLIT_KEYS {
        let name = keys.iter().find(|k| names.iter().any(|n| n == *k)).ok_or_else(|| {
            DataError::file(
                path,
                format!("no array named {} (arrays: {names:?})", keys.join(" or ")),
            )
        })?;
        let npy = npz
            .by_name(name)
            .map_err(err)?
            .ok_or_else(|| DataError::file(path, format!("array {name} vanished")))?;
        let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
        let values: Vec<f32> = match npy.dtype() {
            npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float && t.size_field() == 8 => npy
                .into_vec::<f64>()
                .map_err(err)?
                .into_iter()
                .map(|v| v as f32)
                .collect(),
            npyz::DType::Plain(t) if t.type_char() == npyz::TypeChar::Float && t.size_field() == 4 => {
                npy.into_vec::<f32>().map_err(err)?
            }
            other => {
                return Err(DataError::file(
                    path,
                    format!("array {name}: expected float32 or float64, found {}", other.descr()),
                ))
            }
        };
        parts.push(token_aligned(path, name, &shape, values, false)?);
    }
    assemble(path, AudioFormat::Npz, parts, None)
}

fn from_safetensors(path: &Path) -> Result<AudioFile, DataError> {
    let tensors: HashMap<String, candle_core::Tensor> = candle_core::safetensors::load(path, &candle_core::Device::Cpu)
        .map_err(|e| DataError::file(path, format!("cannot read safetensors: {e}")))?;
    let mut parts = Vec::new();
    for keys in SPLIT_KEYS {
        let (name, t) = keys
            .iter()
            .find_map(|k| tensors.get(*k).map(|t| (*k, t)))
            .ok_or_else(|| {
                let mut have: Vec<&String> = tensors.keys().collect();
                have.sort();
                DataError::file(
                    path,
                    format!("no tensor named {} (tensors: {have:?})", keys.join(" or ")),
                )
            })?;
        let values = t
            .to_dtype(candle_core::DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| DataError::file(path, format!("tensor {name}: {e}")))?;
        parts.push(token_aligned(path, name, t.dims(), values, false)?);
    }
    assemble(path, AudioFormat::Safetensors, parts, None)
}

#[derive(serde::Deserialize)]
struct JsonlHeader {
    feature_set: FeatureSetInfo,
}

#[derive(serde::Deserialize)]
struct JsonlRow {
    split: String,
    index: usize,
    words: Vec<String>,
    features: Vec<Vec<f32>>,
}

fn from_jsonl(path: &Path) -> Result<AudioFile, DataError> {
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut splits: [Vec<Option<WordFeatures>>; 3] = Default::default();
    let mut dim = None;
    let mut feature_set = None;
    let mut rows = 0usize;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line_no = i + 1;
        let line = line.map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        if line_no == 1 && line.contains("\"feature_set\"") {
            let header: JsonlHeader = serde_json::from_str(&line)
                .map_err(|e| DataError::line(path, 1, format!("bad feature-set header: {e}")))?;
            dim = Some(header.feature_set.dims.len());
            feature_set = Some(header.feature_set);
            continue;
        }
        let row: JsonlRow = serde_json::from_str(&line).map_err(|e| {
            DataError::line(
                path,
                line_no,
                format!("expected {{\"split\", \"index\", \"words\", \"features\"}}: {e}"),
            )
        })?;
        let split = SPLIT_KEYS
            .iter()
            .position(|keys| keys.contains(&row.split.as_str()))
            .ok_or_else(|| {
                DataError::line(
                    path,
                    line_no,
                    format!("unknown split {:?} (train, dev or test)", row.split),
                )
            })?;
        if row.words.len() != row.features.len() {
            return Err(DataError::line(
                path,
                line_no,
                format!("{} words but {} feature vectors", row.words.len(), row.features.len()),
            ));
        }
        for f in &row.features {
            let d = *dim.get_or_insert(f.len());
            if f.len() != d || d == 0 {
                return Err(DataError::line(
                    path,
                    line_no,
                    format!(
                        "feature vector of length {}, expected {d}{}",
                        f.len(),
                        if feature_set.is_some() {
                            " (the header's feature set)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            if let Some(bad) = f.iter().find(|v| !v.is_finite()) {
                return Err(DataError::line(
                    path,
                    line_no,
                    format!("non-finite feature value {bad}"),
                ));
            }
        }
        let slots = &mut splits[split];
        if slots.len() <= row.index {
            slots.resize(row.index + 1, None);
        }
        if slots[row.index].is_some() {
            return Err(DataError::line(
                path,
                line_no,
                format!("{} utterance {} appears twice", row.split, row.index),
            ));
        }
        rows += 1;
        slots[row.index] = Some(WordFeatures {
            words: row.words,
            features: row.features,
            line: line_no,
        });
    }
    let dim = dim
        .filter(|_| rows > 0)
        .ok_or_else(|| DataError::file(path, "no utterances"))?;
    let mut parts = Vec::new();
    for (split, slots) in splits.into_iter().enumerate() {
        let missing: Vec<usize> = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none())
            .map(|(i, _)| i)
            .take(5)
            .collect();
        if !missing.is_empty() {
            return Err(DataError::file(
                path,
                format!("{} utterances {missing:?} have no line", SPLIT_KEYS[split][0]),
            ));
        }
        parts.push((
            SplitFeatures::WordLevel(slots.into_iter().flatten().collect()),
            dim,
            0,
            0,
        ));
    }
    let mut file = assemble(path, AudioFormat::WordJsonl, parts, None)?;
    file.feature_set = feature_set;
    Ok(file)
}
