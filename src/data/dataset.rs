//! A dataset: the three text splits, encoded, with their token-aligned audio.

use std::path::{Path, PathBuf};

use super::audio::{expand_words, load_audio, AudioBounds, AudioFile, AudioFormat};
use super::batch::{AudioRow, Example};
use super::error::DataError;
use super::mmsa::{is_pickle, load_mmsa, MmsaFile, MmsaKind, MmsaLabel};
use super::tokenize::TextEncoder;
use super::tsv::{read_split, Split, Utterance};
use crate::acoustic::set::FeaturesFrom;
use crate::acoustic::{AudioFeatures, AudioNorm};

/// What the audio of a dataset is, for the run's report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AudioSummary {
    /// The audio file, if one was given.
    pub path: Option<PathBuf>,
    /// Its format.
    pub format: Option<AudioFormat>,
    /// Audio values per token.
    pub dim: usize,
    /// Utterances whose `[CLS]` audio slot is non-zero in the file (docs/MODEL.md §7).
    pub cls_slot_nonzero: usize,
    /// `-inf` values read as 0 (MMSA files).
    pub neg_inf_zeroed: usize,
    /// Files from `cmbert-tui features`: their feature set and the z-scoring applied.
    pub features: Option<AudioFeatures>,
}

impl AudioSummary {
    /// One line for logs and the status panel.
    pub fn describe(&self) -> String {
        match (&self.path, self.format) {
            (Some(p), Some(f)) => {
                let mut s = format!("{} ({f}, {} dims)", p.display(), self.dim);
                if self.cls_slot_nonzero > 0 {
                    s += &format!(
                        "; {} utterances have a non-zero [CLS] audio slot in the file",
                        self.cls_slot_nonzero
                    );
                } else if f != AudioFormat::WordJsonl {
                    s += "; the [CLS] audio slot (position 0) is zero in every utterance";
                }
                if self.neg_inf_zeroed > 0 {
                    s += &format!("; {} -inf values read as 0", self.neg_inf_zeroed);
                }
                if let Some(f) = &self.features {
                    s += &format!(
                        "; feature set {}, z-scored with training-split statistics ({} words)",
                        f.feature_set.name, f.norm.words
                    );
                }
                s
            }
            (Some(p), None) => format!(
                "{} (one recording; feature set {}, scaled as the training audio was)",
                p.display(),
                self.features.as_ref().map_or("?", |f| f.feature_set.name.as_str())
            ),
            _ => format!("none: zero audio ({} dims)", self.dim),
        }
    }
}

/// Text splits with their audio, encoded and ready to batch.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The directory of the text splits.
    pub dir: PathBuf,
    /// Indexed by `Split::index()`.
    pub splits: [Vec<Example>; 3],
    /// What the audio is, for reports.
    pub audio: AudioSummary,
    /// The recordings (`--wav`), one per utterance of the test split, when the data is one
    /// recording or a stress pair, not a directory of splits: what names each on screen and
    /// in export file names. Empty for a directory.
    pub recordings: Vec<PathBuf>,
    /// `Some` when the data is an MMSA pickle: which family, so that its metrics are the
    /// ones MMSA reports for it (`train::Metrics::compute_for`).
    pub mmsa: Option<MmsaKind>,
}

impl Dataset {
    /// The examples of one split, in file order.
    pub fn split(&self, split: Split) -> &[Example] {
        &self.splits[split.index()]
    }

    /// `audio_dim` is used when there is no audio file (zero audio of that width). Features
    /// from `cmbert-tui features` are z-scored with statistics of this data's training split.
    pub fn load(dir: &Path, audio: Option<&Path>, encoder: &TextEncoder, audio_dim: usize) -> Result<Self, DataError> {
        Self::load_scaled(dir, audio, encoder, audio_dim, Scaling::Fit)
    }

    /// As `load`, with the scaling of features from `cmbert-tui features` chosen by `scaling`.
    pub fn load_scaled(
        dir: &Path,
        audio: Option<&Path>,
        encoder: &TextEncoder,
        audio_dim: usize,
        scaling: Scaling<'_>,
    ) -> Result<Self, DataError> {
        Self::load_labelled(dir, audio, encoder, audio_dim, scaling, MmsaLabel::M)
    }

    /// As `load_scaled`; `dir` may also be an MMSA pickle (`data::mmsa`), whose `label` is
    /// used. Its audio is its own: `audio` must then be the same file (or `None`: zero
    /// audio, as `--zero-audio` asks).
    pub fn load_labelled(
        dir: &Path,
        audio: Option<&Path>,
        encoder: &TextEncoder,
        audio_dim: usize,
        scaling: Scaling<'_>,
        label: MmsaLabel,
    ) -> Result<Self, DataError> {
        // Present, not `is_file`: a FIFO under a pickle's name is refused as what it is by
        // the pickle reader, not taken for a missing directory.
        if is_pickle(dir) && crate::fsutil::input_present(dir) && !dir.is_dir() {
            return Self::load_mmsa(dir, audio, encoder, audio_dim, scaling, label);
        }
        if label != MmsaLabel::M {
            return Err(DataError::file(
                dir,
                format!("--label {label} applies to MMSA pickles (CH-SIMS), not to a directory of TSV splits"),
            ));
        }
        if !dir.is_dir() {
            let found = if crate::fsutil::input_present(dir) {
                "a file, not a data directory (expected a directory of train.tsv, dev.tsv, test.tsv, or an MMSA .pkl)"
            } else {
                "data directory not found (expected train.tsv, dev.tsv, test.tsv)"
            };
            return Err(DataError::file(dir, found));
        }
        // The text first: it bounds what the audio file may declare.
        let mut texts: [Vec<Utterance>; 3] = Default::default();
        for split in Split::ALL {
            texts[split.index()] = read_split(&split.tsv_path(dir))?;
        }
        let bounds = AudioBounds::of_splits(dir, &texts, encoder.max_len());
        let mut audio_file = audio.map(|a| load_audio(a, &bounds)).transpose()?;
        let features = match &mut audio_file {
            Some(file) => scale(file, scaling)?,
            None => None,
        };
        let dim = audio_file.as_ref().map_or(audio_dim, |a| a.dim);
        let mut splits: [Vec<Example>; 3] = Default::default();
        for (split, rows) in Split::ALL.into_iter().zip(texts) {
            let path = split.tsv_path(dir);
            if let Some(a) = &audio_file {
                check_texts(a, split, &path, &rows)?;
            }
            let mut examples = Vec::with_capacity(rows.len());
            for (i, row) in rows.into_iter().enumerate() {
                let encoded = encoder.encode(&row.text).map_err(|source| DataError::Text {
                    path: path.clone(),
                    line: row.line,
                    source,
                })?;
                let audio = match &audio_file {
                    Some(a) => a.aligned_row(split, i, &encoded)?,
                    None => AudioRow::zeros(encoded.input_ids.len() * dim),
                };
                examples.push(Example {
                    text: row.text,
                    encoded: encoded.into(),
                    audio,
                    label: row.label,
                    id: row.id,
                });
            }
            splits[split.index()] = examples;
        }
        let audio = AudioSummary {
            path: audio_file.as_ref().map(|a| a.path.clone()),
            format: audio_file.as_ref().map(|a| a.format),
            dim,
            cls_slot_nonzero: audio_file.as_ref().map_or(0, |a| a.cls_slot_nonzero),
            neg_inf_zeroed: audio_file.as_ref().map_or(0, |a| a.neg_inf_zeroed),
            features,
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            splits,
            audio,
            recordings: Vec::new(),
            mmsa: None,
        })
    }

    fn load_mmsa(
        path: &Path,
        audio: Option<&Path>,
        encoder: &TextEncoder,
        audio_dim: usize,
        scaling: Scaling<'_>,
        label: MmsaLabel,
    ) -> Result<Self, DataError> {
        let own_audio = match audio {
            None => false,
            Some(a) if same_file(a, path) => true,
            Some(a) => {
                return Err(DataError::file(
                    a,
                    format!(
                        "--data {} is an MMSA pickle with its own audio; leave out --audio to use it (eval, export and open \
                         also take --zero-audio)",
                        path.display()
                    ),
                ))
            }
        };
        let MmsaFile {
            kind,
            splits: parts,
            audio: mut file,
            ..
        } = load_mmsa(path, label, encoder.max_len())?;
        let features = if own_audio { scale(&mut file, scaling)? } else { None };
        let dim = if own_audio { file.dim } else { audio_dim };
        let mut splits: [Vec<Example>; 3] = Default::default();
        for (split, part) in Split::ALL.into_iter().zip(parts) {
            let ids = part
                .ids
                .map_or_else(|| vec![None; part.texts.len()], |v| v.into_iter().map(Some).collect());
            let mut examples = Vec::with_capacity(part.texts.len());
            for (i, ((text, label), id)) in part.texts.into_iter().zip(part.labels).zip(ids).enumerate() {
                let encoded = encoder
                    .encode(&text)
                    .map_err(|e| DataError::file(path, format!("{}[\"raw_text\"][{i}]: {e}", part.key)))?;
                let audio = if own_audio {
                    file.aligned_row(split, i, &encoded)?
                } else {
                    AudioRow::zeros(encoded.input_ids.len() * dim)
                };
                examples.push(Example {
                    text,
                    encoded: encoded.into(),
                    audio,
                    label,
                    id,
                });
            }
            splits[split.index()] = examples;
        }
        let audio = AudioSummary {
            path: own_audio.then(|| path.to_path_buf()),
            format: own_audio.then_some(file.format),
            dim,
            cls_slot_nonzero: if own_audio { file.cls_slot_nonzero } else { 0 },
            neg_inf_zeroed: if own_audio { file.neg_inf_zeroed } else { 0 },
            features,
        };
        Ok(Self {
            dir: path.to_path_buf(),
            splits,
            audio,
            recordings: Vec::new(),
            mmsa: Some(kind),
        })
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

impl Dataset {
    /// One recording as a dataset: its words are the transcript, it is the only utterance
    /// of the test split (train and dev are empty) and it has no label (NaN). `features`
    /// are already scaled as `trained` records.
    pub fn from_recording(
        wav: &Path,
        words: &[String],
        features: &[Vec<f32>],
        encoder: &TextEncoder,
        trained: AudioFeatures,
    ) -> Result<Self, DataError> {
        let text = words.join(" ");
        let encoded = encoder
            .encode(&text)
            .map_err(|e| DataError::file(wav, format!("the recording's words: {e}")))?;
        if encoded.words.len() != words.len() {
            return Err(DataError::file(
                wav,
                format!(
                    "the word timings hold {} words but their text splits into {}; a word must not contain spaces",
                    words.len(),
                    encoded.words.len()
                ),
            ));
        }
        let dim = trained.feature_set.dims.len();
        let audio = expand_words(features, &encoded, dim).into();
        let example = Example {
            text,
            encoded: encoded.into(),
            audio,
            label: f32::NAN,
            id: None,
        };
        Ok(Self {
            dir: wav.to_path_buf(),
            splits: [Vec::new(), Vec::new(), vec![example]],
            audio: AudioSummary {
                path: Some(wav.to_path_buf()),
                format: None,
                dim,
                cls_slot_nonzero: 0,
                neg_inf_zeroed: 0,
                features: Some(trained),
            },
            recordings: vec![wav.to_path_buf()],
            mmsa: None,
        })
    }

    /// Two recordings as one dataset (`--wav A --words A --wav B --words B`): `other`'s
    /// utterance after this one's in the test split, so that both are evaluated in one batch
    /// as `eval` would. Both must be recordings scaled with the same checkpoint's features.
    pub fn and_recording(mut self, other: Dataset) -> Self {
        let [_, _, test] = other.splits;
        self.splits[Split::Test.index()].extend(test);
        self.recordings.extend(other.recordings);
        self
    }
}

/// What names a recording on screen and in exports: its file name (`utt11.wav`).
pub fn recording_label(wav: &Path) -> String {
    wav.file_name()
        .map_or_else(|| wav.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// How features from `cmbert-tui features` are scaled.
#[derive(Debug, Clone, Copy)]
pub enum Scaling<'a> {
    /// A new run: z-score with statistics of this data's training split.
    Fit,
    /// A trained model: as its checkpoint records (`None`: it was not trained on such
    /// features, so a file of them is refused rather than fed to it).
    Trained(Option<&'a AudioFeatures>),
}

fn scale(file: &mut AudioFile, scaling: Scaling<'_>) -> Result<Option<AudioFeatures>, DataError> {
    let Some(set) = file.feature_set.clone() else {
        return match scaling {
            Scaling::Trained(Some(t)) => Err(DataError::file(
                &file.path,
                format!(
                    "the model was trained on features of set {} from `cmbert-tui features`, but this file does not declare a feature set",
                    t.feature_set.name
                ),
            )),
            _ => Ok(None),
        };
    };
    let norm = match scaling {
        Scaling::Trained(None) => {
            return Err(DataError::file(
                &file.path,
                format!(
                    "features of set {} from `cmbert-tui features`, but the model was not trained on such features; \
                     give it the audio it was trained on, or train a model on this file",
                    set.name
                ),
            ))
        }
        Scaling::Trained(Some(t)) if t.feature_set.name != set.name || t.feature_set.dims != set.dims => {
            return Err(DataError::file(
                &file.path,
                format!(
                    "features of set {}, but the model was trained on set {}; extract them again with --set {}",
                    set.name, t.feature_set.name, t.feature_set.name
                ),
            ))
        }
        Scaling::Trained(Some(t)) => {
            set.check_scaling(&t.feature_set, FeaturesFrom::File(file.path.clone()))
                .map_err(|e| DataError::file(&file.path, e.to_string()))?;
            t.norm.clone()
        }
        Scaling::Fit => AudioNorm::fit(file.word_vectors(Split::Train)).ok_or_else(|| {
            DataError::file(
                &file.path,
                "the training split has no words to compute the feature scaling on",
            )
        })?,
    };
    file.normalise(&norm)?;
    Ok(Some(AudioFeatures { feature_set: set, norm }))
}

/// MMSA files carry transcripts: a different order would silently pair audio with the
/// wrong utterance, so compare (case and spacing aside).
fn check_texts(audio: &AudioFile, split: Split, text: &Path, rows: &[Utterance]) -> Result<(), DataError> {
    let Some(texts) = &audio.texts else { return Ok(()) };
    let norm = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (i, (theirs, row)) in texts[split.index()].iter().zip(rows).enumerate() {
        if norm(theirs) != norm(&row.text) {
            return Err(DataError::line(
                text,
                row.line,
                format!(
                    "text {:?} differs from {} {} utterance {i}: {theirs:?}; the audio file is in another order",
                    row.text,
                    audio.path.display(),
                    split.name()
                ),
            ));
        }
    }
    Ok(())
}
