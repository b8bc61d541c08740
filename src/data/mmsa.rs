//! An MMSA pickle (`aligned_50.pkl`, `unaligned_50.pkl` of CMU-MOSI, CMU-MOSEI, CH-SIMS) as
//! a whole dataset: `--data FILE.pkl`.
//!
//! The layout is the one MMSA's loader reads (thuiar/MMSA, `src/MMSA/data_loader.py`,
//! `MMDataset.__init_mosi`, which MOSEI and SIMS share): a dict of splits `train`, `valid`,
//! `test`, each a dict holding `raw_text` (the transcripts), `audio` (`[N, L, D]`, `-inf`
//! read as 0), `regression_labels` (the multimodal label `M`), `id`, and arrays this model
//! does not read (`vision`, `text`, `text_bert`, `audio_lengths`, ...). CH-SIMS files also
//! hold one label per modality, `regression_labels_T`, `_A`, `_V`; their presence is what
//! marks a file as SIMS, whose labels lie in [-1, 1] and whose metrics MMSA counts
//! differently (`train::metrics`, `MmsaMetrics`).
//!
//! Every count in the file is a claim checked against the others before anything is built
//! from it: per split, the transcripts, the labels, the ids and the audio rows must agree,
//! and the audio is then read by the same code as an `--audio` MMSA companion
//! (`audio::mmsa_audio`, bounded by these transcripts). A malformed file gives one error
//! naming the file, the split and the key.
//!
//! The file is streamed (`data::pickle::read_pickle_lazy`): the machine reads the
//! transcripts, ids and labels as it runs, and leaves the data of every large array in the
//! file, its shape and length checked. Only `audio` is then read, straight to `f32`;
//! `vision`, `text` (BERT features, `[N, 50, 768]` in MOSEI) and the other unused arrays
//! are never read at all. Loading a MOSEI-sized file therefore holds its audio arrays plus
//! the transcripts, not the file (benches/mmsa_scale.rs measures it; docs/BENCHMARKS.md).

use std::path::{Path, PathBuf};

use super::audio::{describe, mmsa_audio, pickle_error, AudioBounds, AudioFile, SPLIT_KEYS};
use super::error::DataError;
use super::pickle::{parse_pickle, read_pickle_lazy, PyValue, LAZY_MIN_BYTES};
use super::tsv::{Split, LABEL_RANGE};

/// Which of a file's labels is trained on and reported: MMSA's `M` (`regression_labels`) or,
/// in CH-SIMS files, one modality's (`regression_labels_T`, `_A`, `_V`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MmsaLabel {
    /// The text label (SIMS only).
    T,
    /// The audio label (SIMS only).
    A,
    /// The vision label (SIMS only).
    V,
    /// The multimodal label, which every MMSA file holds.
    #[default]
    M,
}

impl MmsaLabel {
    /// Whether this is `M`, the label every MMSA file holds (and a TSV's only one).
    pub fn is_multimodal(&self) -> bool {
        *self == Self::M
    }

    /// The key the label is read from.
    pub fn key(self) -> &'static str {
        match self {
            Self::T => "regression_labels_T",
            Self::A => "regression_labels_A",
            Self::V => "regression_labels_V",
            Self::M => "regression_labels",
        }
    }
}

impl std::fmt::Display for MmsaLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::T => "T",
            Self::A => "A",
            Self::V => "V",
            Self::M => "M",
        })
    }
}

/// Which dataset family a file's layout and labels belong to: it chooses the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MmsaKind {
    /// CMU-MOSI or CMU-MOSEI: one label in [-3, 3].
    MosiMosei,
    /// CH-SIMS: labels in [-1, 1], one per modality besides `M`.
    Sims,
}

impl MmsaKind {
    /// The range the family's labels lie in: a label outside it is not one of its scores
    /// (and its metrics would count it wrongly).
    pub fn label_range(self) -> (f32, f32) {
        match self {
            Self::MosiMosei => LABEL_RANGE,
            Self::Sims => (-1.0, 1.0),
        }
    }
}

impl std::fmt::Display for MmsaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::MosiMosei => "MOSI/MOSEI (one label in [-3, 3])",
            Self::Sims => "CH-SIMS (labels M, T, A, V in [-1, 1])",
        })
    }
}

/// One split of the file.
#[derive(Debug, Clone, Default)]
pub struct MmsaSplit {
    /// The key it was read from (`train`, `valid`, `test`).
    pub key: String,
    /// `raw_text`.
    pub texts: Vec<String>,
    /// The chosen label of each utterance.
    pub labels: Vec<f32>,
    /// `id` (MMSA's `video$_$clip`), when the file has ids.
    pub ids: Option<Vec<String>>,
}

/// An MMSA pickle read as a dataset: transcripts, labels, ids and token-aligned audio.
#[derive(Debug, Clone)]
pub struct MmsaFile {
    /// The file.
    pub path: PathBuf,
    /// MOSI/MOSEI or SIMS.
    pub kind: MmsaKind,
    /// The label used.
    pub label: MmsaLabel,
    /// Indexed by `Split::index()` (MMSA's `valid` is our `dev`).
    pub splits: [MmsaSplit; 3],
    /// The `audio` arrays, checked against the transcripts.
    pub audio: AudioFile,
    /// Keys of the splits that are not read (`vision`, `text_bert`, ...), sorted.
    pub skipped: Vec<String>,
}

impl MmsaFile {
    /// The smallest and largest label used, over all splits (`None` for a file without one).
    pub fn label_range(&self) -> Option<(f32, f32)> {
        self.splits
            .iter()
            .flat_map(|s| s.labels.iter().copied())
            .fold(None, |r, v| match r {
                None => Some((v, v)),
                Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
            })
    }
}

/// Reads an MMSA pickle as a dataset, streamed (module comment); `max_len` is the text
/// encoding's (the audio's `L` must equal it).
pub fn load_mmsa(path: &Path, label: MmsaLabel, max_len: usize) -> Result<MmsaFile, DataError> {
    load_mmsa_from(path, label, max_len, LAZY_MIN_BYTES)
}

/// [`load_mmsa`], leaving arrays of at least `lazy_from` bytes in the file until read.
fn load_mmsa_from(path: &Path, label: MmsaLabel, max_len: usize, lazy_from: usize) -> Result<MmsaFile, DataError> {
    let value = read_pickle_lazy(path, lazy_from).map_err(|e| pickle_error(path, e))?;
    mmsa_file(&value, path, label, max_len)
}

/// Whether `path` names a pickle (by its extension): `--data FILE.pkl` is an MMSA file.
pub fn is_pickle(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pkl") || e.eq_ignore_ascii_case("pickle"))
}

/// [`load_mmsa`] on the file's bytes held in memory; `path` names it in messages.
pub fn parse_mmsa(bytes: &[u8], path: &Path, label: MmsaLabel, max_len: usize) -> Result<MmsaFile, DataError> {
    let value = parse_pickle(bytes).map_err(|e| DataError::file(path, e.to_string()))?;
    mmsa_file(&value, path, label, max_len)
}

fn mmsa_file(value: &PyValue, path: &Path, label: MmsaLabel, max_len: usize) -> Result<MmsaFile, DataError> {
    if !matches!(value, PyValue::Dict(_)) || value.get("train").is_none() {
        return Err(DataError::file(
            path,
            format!(
                "not an MMSA pickle: expected a dict with the splits \"train\", \"valid\", \"test\" (MMSA's \
                 aligned_50.pkl layout); found {}",
                describe(value)
            ),
        ));
    }
    let mut parts: Vec<&PyValue> = Vec::with_capacity(3);
    for keys in SPLIT_KEYS {
        let split = keys
            .iter()
            .find_map(|k| value.get(k))
            .ok_or_else(|| DataError::file(path, format!("MMSA pickle has no \"{}\" split", keys.join("\" or \""))))?;
        parts.push(split);
    }
    // SIMS files hold per-modality labels in every split; the first split decides.
    let kind = if parts[0].get(MmsaLabel::T.key()).is_some() {
        MmsaKind::Sims
    } else {
        MmsaKind::MosiMosei
    };
    if kind == MmsaKind::MosiMosei && label != MmsaLabel::M {
        return Err(DataError::file(
            path,
            format!(
                "--label {label}: this file has no {} (only CH-SIMS files hold per-modality labels); use --label M",
                label.key()
            ),
        ));
    }
    let mut splits: [MmsaSplit; 3] = Default::default();
    let mut skipped = std::collections::BTreeSet::new();
    for (i, part) in parts.iter().enumerate() {
        let key = split_key(value, i);
        let PyValue::Dict(items) = part else {
            return Err(DataError::file(
                path,
                format!("{key}: expected a dict of arrays, found {}", part.type_name()),
            ));
        };
        for (k, _) in items {
            if let Some(k) = k.as_str() {
                if !["raw_text", "audio", "id", label.key()].contains(&k) {
                    skipped.insert(k.to_string());
                }
            }
        }
        splits[i] = read_split(path, &key, part, label, kind)?;
        check_audio_rows(path, &key, part, splits[i].texts.len())?;
    }
    let counts = [0, 1, 2].map(|i| splits[i].texts.len());
    let max_words = splits
        .iter()
        .flat_map(|s| s.texts.iter())
        .map(|t| t.split_whitespace().count())
        .max()
        .unwrap_or(0);
    let bounds = AudioBounds {
        texts: Split::ALL.map(|_| path.to_path_buf()),
        counts,
        max_len,
        max_words,
    };
    let audio = mmsa_audio(value, path, &bounds)?;
    Ok(MmsaFile {
        path: path.to_path_buf(),
        kind,
        label,
        splits,
        audio,
        skipped: skipped.into_iter().collect(),
    })
}

/// The key split `i` was found under (`valid` or `dev` for the second).
fn split_key(value: &PyValue, i: usize) -> String {
    SPLIT_KEYS[i]
        .iter()
        .find(|k| value.get(k).is_some())
        .map_or_else(|| Split::ALL[i].name().to_string(), |k| k.to_string())
}

fn missing(path: &Path, split: &str, key: &str, what: &str) -> DataError {
    DataError::file(path, format!("{split}: no {key:?} ({what})"))
}

/// A list of strings (`raw_text`, `id`): NumPy string or object arrays read as lists.
fn strings(path: &Path, split: &str, key: &str, v: &PyValue) -> Result<Vec<String>, DataError> {
    let PyValue::List(items) = v else {
        return Err(DataError::file(
            path,
            format!("{split}[{key:?}]: expected a list of strings, found {}", v.type_name()),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(j, item)| {
            let not_utf8 = || {
                DataError::file(
                    path,
                    format!(
                        "{split}[{key:?}][{j}]: not valid UTF-8 (a lone surrogate or a byte of another encoding); \
                         re-save the file with the text as valid Unicode"
                    ),
                )
            };
            match item {
                // The pickle reader reads a `str` that is not UTF-8 with U+FFFD in place of
                // the bad bytes; a transcript holding one would train as [UNK]s.
                PyValue::Str(s) if s.contains(char::REPLACEMENT_CHARACTER) => Err(not_utf8()),
                PyValue::Str(s) => Ok(s.clone()),
                PyValue::Bytes(b) => String::from_utf8(b.clone()).map_err(|_| not_utf8()),
                other => Err(DataError::file(
                    path,
                    format!("{split}[{key:?}][{j}]: expected a string, found {}", other.type_name()),
                )),
            }
        })
        .collect()
}

fn read_split(
    path: &Path,
    split: &str,
    part: &PyValue,
    label: MmsaLabel,
    kind: MmsaKind,
) -> Result<MmsaSplit, DataError> {
    let raw = part
        .get("raw_text")
        .ok_or_else(|| missing(path, split, "raw_text", "the transcripts"))?;
    let texts = strings(path, split, "raw_text", raw)?;
    let key = label.key();
    let labels = match part.get(key).map(|v| (v, v.as_numeric())) {
        Some((_, Some(a))) => {
            // [N] or MMSA's older [N, 1].
            let ([rows] | [rows, 1]) = *a.shape() else {
                return Err(DataError::file(
                    path,
                    format!(
                        "{split}[{key:?}]: expected one label per utterance ([N]), found shape {:?}",
                        a.shape()
                    ),
                ));
            };
            if rows != texts.len() {
                return Err(DataError::file(
                    path,
                    format!(
                        "{split}[{key:?}]: {rows} labels but \"raw_text\" holds {} utterances; every utterance needs one label",
                        texts.len()
                    ),
                ));
            }
            a.to_f32().map_err(|e| pickle_error(path, e))?
        }
        Some((other, None)) => {
            return Err(DataError::file(
                path,
                format!("{split}[{key:?}]: expected a NumPy array, found {}", other.type_name()),
            ))
        }
        None => return Err(missing(path, split, key, &format!("the labels {label}"))),
    };
    let (low, high) = kind.label_range();
    if let Some((j, v)) = labels
        .iter()
        .enumerate()
        .find(|(_, v)| !v.is_finite() || !(low..=high).contains(*v))
    {
        let family = match kind {
            MmsaKind::Sims => " (a CH-SIMS file: it holds per-modality labels)",
            MmsaKind::MosiMosei => "",
        };
        return Err(DataError::file(
            path,
            format!("{split}[{key:?}][{j}]: label {v} is not a sentiment score in [{low}, {high}]{family}"),
        ));
    }
    let ids = match part.get("id") {
        None => None,
        Some(v) => {
            let ids = strings(path, split, "id", v)?;
            if ids.len() != texts.len() {
                return Err(DataError::file(
                    path,
                    format!(
                        "{split}[\"id\"]: {} ids but \"raw_text\" holds {} utterances",
                        ids.len(),
                        texts.len()
                    ),
                ));
            }
            Some(ids)
        }
    };
    Ok(MmsaSplit {
        key: split.to_string(),
        texts,
        labels,
        ids,
    })
}

/// The audio's rank and rows against the transcripts, said in this file's own terms before
/// the shared audio reader checks the rest (its messages speak of a separate text file).
fn check_audio_rows(path: &Path, split: &str, part: &PyValue, texts: usize) -> Result<(), DataError> {
    let audio = match part.get("audio").map(|v| (v, v.as_numeric())) {
        Some((_, Some(a))) => a,
        Some((other, None)) => {
            return Err(DataError::file(
                path,
                format!(
                    "{split}[\"audio\"]: expected a NumPy array, found {}",
                    other.type_name()
                ),
            ))
        }
        None => return Err(missing(path, split, "audio", "the acoustic features")),
    };
    let &[rows, _, _] = audio.shape() else {
        return Err(DataError::file(
            path,
            format!(
                "{split}[\"audio\"]: expected a [N, L, D] array (utterances, positions, features), found shape {:?}",
                audio.shape()
            ),
        ));
    };
    if rows != texts {
        return Err(DataError::file(
            path,
            format!("{split}[\"audio\"]: {rows} utterances but \"raw_text\" holds {texts}; both must list the same utterances"),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[path = "mmsa_tests.rs"]
mod tests;
