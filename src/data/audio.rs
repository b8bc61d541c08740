//! Audio feature files, all checked against the text splits they go with:
//! (a) the reference's pickle: a 3-tuple `(train, valid, test)` of `[N, 50, D]` arrays;
//! (b) MMSA-style `aligned_50.pkl`: a dict of splits with `raw_text`, `audio`,
//!     `regression_labels` (-inf in audio read as 0, as MMSA does);
//! (c) `.npz` / `.safetensors` with one `[N, L, D]` array per split (`train`, `dev` or
//!     `valid`, `test`);
//! (d) word-level JSON Lines: one utterance per line,
//!     `{"split": "train", "index": 0, "words": ["A", "LOT"], "features": [[..D..], [..D..]]}`;
//!     every word piece carries its word's vector, `[CLS]`/`[SEP]`/padding get zeros
//!     (docs/MODEL.md §1). `cmbert-tui features` writes this format with a first line
//!     `{"feature_set": {...}}` naming its features, and an `"id"` (the recording) per line.
//!
//! A file cannot declare more than its text justifies: every reader takes the
//! [`AudioBounds`] of the text splits (utterances per split, `max_len`, the longest
//! transcript) and checks each declared shape, count and index against them before it
//! allocates anything for the data, with checked arithmetic on every product. What a file
//! can make us hold is therefore the text's utterances x `max_len` x [`MAX_FEATURE_DIM`]
//! values (token-aligned) or words x [`MAX_FEATURE_DIM`] (word-level), besides the file's
//! own bytes. The pickle VM bounds its own work (`data::pickle`). The `parse_*` functions
//! read bytes, not files, for the fuzz tests; `load_audio` is a thin wrapper around them.

mod arrays;
mod jsonl;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use arrays::{parse_npz, parse_safetensors_audio};
pub use jsonl::parse_jsonl_audio;

use super::batch::AudioRow;
use super::error::DataError;
use super::pickle::{parse_pickle, read_pickle_lazy, ArrayRef, PickleError, PyValue, LAZY_MIN_BYTES};
use super::tokenize::Encoded;
use super::tsv::{Split, Utterance};
use crate::acoustic::{AudioNorm, FeatureSetInfo};
use crate::file_error::FileError;

/// The audio feature file formats `train --audio` reads (module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AudioFormat {
    /// The reference code's pickle: (a) above.
    ReferencePickle,
    /// MMSA's aligned_50.pkl: (b) above.
    MmsaPickle,
    /// NumPy `.npz`: (c) above.
    Npz,
    /// `.safetensors`: (c) above.
    Safetensors,
    /// Word-level JSON Lines, as `cmbert-tui features` writes: (d) above.
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

/// One utterance's words and a vector per word (format (d)).
#[derive(Debug, Clone)]
pub struct WordFeatures {
    /// The words, as the file gives them.
    pub words: Vec<String>,
    /// One vector per word.
    pub features: Vec<Vec<f32>>,
    /// Line in the JSONL file, for messages.
    pub line: usize,
}

/// One split's features, as the file holds them.
#[derive(Debug, Clone)]
pub enum SplitFeatures {
    /// `[n, len, dim]`, row-major.
    TokenAligned {
        /// The values, shared with the examples that use them (`AudioFile::aligned_row`;
        /// an `Arc<[f32]>` would copy them once more).
        #[allow(clippy::rc_buffer)]
        values: Arc<Vec<f32>>,
        /// Utterances.
        n: usize,
        /// Token positions per utterance.
        len: usize,
    },
    /// One entry per utterance, a vector per word (expanded to tokens when encoded).
    WordLevel(Vec<WordFeatures>),
}

impl SplitFeatures {
    /// Utterances in the split.
    pub fn count(&self) -> usize {
        match self {
            Self::TokenAligned { n, .. } => *n,
            Self::WordLevel(u) => u.len(),
        }
    }
}

/// An audio feature file, read and checked against the text splits.
#[derive(Debug, Clone)]
pub struct AudioFile {
    /// The file read.
    pub path: PathBuf,
    /// Its format, from its extension and content.
    pub format: AudioFormat,
    /// Values per token (or word).
    pub dim: usize,
    /// Indexed by `Split::index()`.
    pub splits: [SplitFeatures; 3],
    /// Utterances whose `[CLS]` slot (position 0) is not all zeros (docs/MODEL.md §7).
    pub cls_slot_nonzero: usize,
    /// `-inf` values read as 0 (MMSA files).
    pub neg_inf_zeroed: usize,
    /// MMSA files carry their own transcripts and labels, checked against the TSV.
    pub texts: Option<[Vec<String>; 3]>,
    /// Declared by files from `cmbert-tui features`: their values are raw measurements
    /// (Hz, dB, ...) to be z-scored before training.
    pub feature_set: Option<FeatureSetInfo>,
}

/// The widest feature vector a file may declare. Acoustic features run from 5 (the
/// reference's COVAREP subset) and 74 (all of COVAREP) to 768 or 1024 (pooled wav2vec-style
/// embeddings); 4096 leaves room for any of them while keeping what a file can make us hold
/// a small multiple of what the text justifies.
pub const MAX_FEATURE_DIM: usize = 4096;

/// What the text splits justify an audio file holding. Every count, index and shape a file
/// declares is checked against these before anything is allocated for it.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioBounds {
    /// Each split's TSV file (by `Split::index()`), for messages.
    pub texts: [PathBuf; 3],
    /// Utterances in each split: an audio file must hold exactly these.
    pub counts: [usize; 3],
    /// Token positions of the text encoding (`max_len`): the `L` of a `[N, L, D]` array.
    pub max_len: usize,
    /// The most whitespace-separated words of any utterance: no word-level line may hold more.
    pub max_words: usize,
}

impl AudioBounds {
    /// From the splits read from `dir` (train, dev, test) and the encoder's `max_len`.
    pub fn of_splits(dir: &Path, rows: &[Vec<Utterance>; 3], max_len: usize) -> Self {
        let max_words = rows
            .iter()
            .flat_map(|r| r.iter())
            .map(|u| crate::data::tokenize::words(&u.text).len())
            .max()
            .unwrap_or(0);
        Self {
            texts: Split::ALL.map(|s| s.tsv_path(dir)),
            counts: [rows[0].len(), rows[1].len(), rows[2].len()],
            max_len,
            max_words,
        }
    }
}

/// Reads an audio feature file, checked against `bounds`. A pickle is streamed, its arrays
/// left in the file until the one used is read (`data::pickle::read_pickle_lazy`); other
/// formats are read whole into memory (their size is the bound on everything parsed from
/// them), then parsed as [`parse_audio`] does.
pub fn load_audio(path: &Path, bounds: &AudioBounds) -> Result<AudioFile, DataError> {
    // Anything there but a regular file is refused as what it is (a FIFO, a directory), not
    // as a missing file; the pickle reader and `read_input` open it through `open_input`.
    if !crate::fsutil::input_present(path) {
        return Err(DataError::file(path, "audio feature file not found"));
    }
    if is_pickle_path(path) {
        let value = read_pickle_lazy(path, LAZY_MIN_BYTES).map_err(|e| pickle_error(path, e))?;
        return pickle_audio(&value, path, bounds);
    }
    let bytes = crate::fsutil::read_input(path).map_err(|e| FileError::io(path, e))?;
    parse_audio(&bytes, path, bounds)
}

/// Parses the bytes of an audio feature file, the format chosen by `path`'s extension (`path`
/// also names the file in messages; nothing is read from it).
pub fn parse_audio(bytes: &[u8], path: &Path, bounds: &AudioBounds) -> Result<AudioFile, DataError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "pkl" | "pickle" => parse_pickle_audio(bytes, path, bounds),
        "npz" => parse_npz(bytes, path, bounds),
        "safetensors" => parse_safetensors_audio(bytes, path, bounds),
        "jsonl" => parse_jsonl_audio(bytes, path, bounds),
        _ => Err(DataError::file(
            path,
            "unknown audio format: expected .pkl, .npz, .safetensors or .jsonl",
        )),
    }
}

fn is_pickle_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pkl") || e.eq_ignore_ascii_case("pickle"))
}

/// A pickle reader's error as a data error naming `path` once (the streaming reader's
/// errors already name it).
pub(super) fn pickle_error(path: &Path, e: PickleError) -> DataError {
    match e {
        PickleError::Io { error, .. } => FileError::io(path, error).into(),
        PickleError::File { error, .. } => DataError::file(path, error.to_string()),
        e => DataError::file(path, e.to_string()),
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
        self.aligned_row(split, index, encoded).map(|row| row.to_vec())
    }

    /// As [`Self::aligned`], but a token-aligned file's row is shared, not copied: a
    /// dataset holds its audio once, whatever the number of utterances.
    pub fn aligned_row(&self, split: Split, index: usize, encoded: &Encoded) -> Result<AudioRow, DataError> {
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
                AudioRow::shared(values, index * row, row).ok_or_else(|| self.no_utterance(split, index))
            }
            SplitFeatures::WordLevel(utterances) => {
                let u = utterances.get(index).ok_or_else(|| self.no_utterance(split, index))?;
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
                Ok(expand_words(&u.features, encoded, self.dim).into())
            }
        }
    }

    fn no_utterance(&self, split: Split, index: usize) -> DataError {
        DataError::file(
            &self.path,
            format!(
                "{split} has {} utterances, none at index {index}",
                self.splits[split.index()].count()
            ),
        )
    }
}

/// Token-aligned audio from word vectors: every piece of a word carries the word's vector;
/// `[CLS]`, `[SEP]` and padding get zeros (docs/MODEL.md §1).
pub fn expand_words(features: &[Vec<f32>], encoded: &Encoded, dim: usize) -> Vec<f32> {
    let mut out = vec![0f32; encoded.input_ids.len() * dim];
    for (t, word) in encoded.token_words.iter().enumerate() {
        if let Some(w) = word {
            out[t * dim..(t + 1) * dim].copy_from_slice(&features[*w]);
        }
    }
    out
}

/// A `[N, L, D]` shape that passed [`check_shape`]: `values` = N * L * D, computed checked.
#[derive(Debug, Clone, Copy)]
struct Shape {
    n: usize,
    len: usize,
    dim: usize,
    values: usize,
}

/// Checks the shape an array declares against the text before its data is read: N must be
/// the split's utterance count, L the encoding's `max_len`, D within 1..=[`MAX_FEATURE_DIM`].
/// `split` is the `Split::index()` the array belongs to.
fn check_shape(path: &Path, what: &str, split: usize, shape: &[u64], bounds: &AudioBounds) -> Result<Shape, DataError> {
    let &[n, len, dim] = shape else {
        return Err(DataError::file(
            path,
            format!("{what}: expected a [N, L, D] array, found shape {shape:?}"),
        ));
    };
    let text_count = bounds.counts[split];
    if n != text_count as u64 {
        return Err(DataError::CountMismatch {
            audio: path.to_path_buf(),
            text: bounds.texts[split].clone(),
            split: Split::ALL[split].name(),
            audio_count: usize::try_from(n).unwrap_or(usize::MAX),
            text_count,
        });
    }
    let max_len = bounds.max_len;
    if len != max_len as u64 {
        // Any length BERT's position table can hold is a usable --max-len.
        let hint = if (2..=512).contains(&len) {
            format!("; pass --max-len {len}")
        } else {
            String::new()
        };
        return Err(DataError::file(
            path,
            format!("{what}: features are aligned to {len} token positions but the text encoding uses {max_len}{hint}"),
        ));
    }
    if dim == 0 || dim > MAX_FEATURE_DIM as u64 {
        return Err(DataError::file(
            path,
            format!("{what}: {dim} feature dimensions; expected 1 to {MAX_FEATURE_DIM}"),
        ));
    }
    let (len, dim) = (len as usize, dim as usize);
    let values = text_count
        .checked_mul(len)
        .and_then(|v| v.checked_mul(dim))
        .ok_or_else(|| DataError::file(path, format!("{what}: shape {shape:?} is too large to hold")))?;
    Ok(Shape {
        n: text_count,
        len,
        dim,
        values,
    })
}

/// Converts a checked array; -inf -> 0 only where the format says so.
fn token_aligned(
    path: &Path,
    what: &str,
    shape: Shape,
    mut values: Vec<f32>,
    zero_neg_inf: bool,
) -> Result<(SplitFeatures, usize, usize, usize), DataError> {
    let Shape { n, len, dim, .. } = shape;
    if values.len() != shape.values {
        return Err(DataError::file(
            path,
            format!(
                "{what}: holds {} values, but its shape [{n}, {len}, {dim}] needs {}",
                values.len(),
                shape.values
            ),
        ));
    }
    let mut zeroed = 0;
    for (i, v) in values.iter_mut().enumerate() {
        if zero_neg_inf && *v == f32::NEG_INFINITY {
            *v = 0.0;
            zeroed += 1;
        } else if !v.is_finite() {
            let (row, pos) = (i / (len * dim), (i / dim) % len);
            return Err(DataError::file(
                path,
                format!("{what}: non-finite value {v} at utterance {row}, position {pos}"),
            ));
        }
    }
    // `len` >= 2 and `dim` >= 1 (checked), so every row has a [CLS] slot of `dim` values.
    let cls_nonzero = values
        .chunks_exact(len * dim)
        .filter(|row| row[..dim].iter().any(|&v| v != 0.0))
        .count();
    let values = Arc::new(values);
    Ok((SplitFeatures::TokenAligned { values, n, len }, dim, cls_nonzero, zeroed))
}

fn assemble(
    path: &Path,
    format: AudioFormat,
    parts: Vec<(SplitFeatures, usize, usize, usize)>,
    texts: Option<[Vec<String>; 3]>,
) -> Result<AudioFile, DataError> {
    let dims: Vec<usize> = parts.iter().map(|p| p.1).collect();
    if dims.len() != 3 || dims.iter().any(|&d| d != dims[0]) || dims[0] == 0 {
        return Err(DataError::file(
            path,
            format!("feature dimension differs between splits or is zero: {dims:?}"),
        ));
    }
    let cls_slot_nonzero = parts.iter().map(|p| p.2).sum();
    let neg_inf_zeroed = parts.iter().map(|p| p.3).sum();
    let splits: [SplitFeatures; 3] = parts
        .into_iter()
        .map(|p| p.0)
        .collect::<Vec<_>>()
        .try_into()
        .map_err(|_| DataError::file(path, "expected three splits"))?;
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

pub(super) const SPLIT_KEYS: [&[&str]; 3] = [&["train"], &["dev", "valid"], &["test"]];

fn array<'a>(path: &Path, what: &str, v: Option<&'a PyValue>) -> Result<ArrayRef<'a>, DataError> {
    match v {
        Some(v) => v
            .as_numeric()
            .ok_or_else(|| DataError::file(path, format!("{what}: expected a NumPy array, found {}", v.type_name()))),
        None => Err(DataError::file(path, format!("{what}: missing"))),
    }
}

/// Checks a pickled array's shape against the text, then converts it (reading it from the
/// file if it was left there: only now, and straight to `f32`).
fn pickled_array(
    path: &Path,
    what: &str,
    split: usize,
    a: ArrayRef<'_>,
    bounds: &AudioBounds,
    zero_neg_inf: bool,
) -> Result<(SplitFeatures, usize, usize, usize), DataError> {
    let shape: Vec<u64> = a.shape().iter().map(|&d| d as u64).collect();
    let checked = check_shape(path, what, split, &shape, bounds)?;
    let values = a.to_f32().map_err(|e| pickle_error(path, e))?;
    token_aligned(path, what, checked, values, zero_neg_inf)
}

/// The reference's pickle or MMSA's (formats (a) and (b)) from its bytes.
pub fn parse_pickle_audio(bytes: &[u8], path: &Path, bounds: &AudioBounds) -> Result<AudioFile, DataError> {
    let value = parse_pickle(bytes).map_err(|e| DataError::file(path, e.to_string()))?;
    pickle_audio(&value, path, bounds)
}

/// Formats (a) and (b) from a parsed pickle.
fn pickle_audio(value: &PyValue, path: &Path, bounds: &AudioBounds) -> Result<AudioFile, DataError> {
    match value {
        PyValue::Tuple(items) | PyValue::List(items) if items.len() == 3 => {
            let names = ["train", "valid", "test"];
            let parts = items
                .iter()
                .zip(names)
                .enumerate()
                .map(|(split, (item, name))| {
                    let a = array(path, &format!("tuple item {name}"), Some(item))?;
                    pickled_array(path, name, split, a, bounds, false)
                })
                .collect::<Result<Vec<_>, _>>()?;
            assemble(path, AudioFormat::ReferencePickle, parts, None)
        }
        PyValue::Dict(_) if value.get("train").is_some() => mmsa_audio(value, path, bounds),
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

/// The audio of an MMSA pickle (format (b)): each split's `audio` checked against `bounds`
/// (-inf read as 0, as MMSA's `data_loader.py` does), with the split's `raw_text` kept to be
/// checked against the text. `data::mmsa` reads the same files as a whole dataset through
/// this function, its bounds taken from the file's own transcripts.
pub(super) fn mmsa_audio(value: &PyValue, path: &Path, bounds: &AudioBounds) -> Result<AudioFile, DataError> {
    let mut parts = Vec::new();
    let mut texts: [Vec<String>; 3] = Default::default();
    for (i, keys) in SPLIT_KEYS.iter().enumerate() {
        let split = keys
            .iter()
            .find_map(|k| value.get(k))
            .ok_or_else(|| DataError::file(path, format!("MMSA pickle has no \"{}\" split", keys.join("\" or \""))))?;
        let a = array(path, &format!("{}[\"audio\"]", keys[0]), split.get("audio"))?;
        parts.push(pickled_array(path, keys[0], i, a, bounds, true)?);
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

pub(super) fn describe(v: &PyValue) -> String {
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
