//! A dataset: the three text splits, encoded, with their token-aligned audio.

use std::path::{Path, PathBuf};

use super::audio::{load_audio, AudioFile, AudioFormat};
use super::batch::Example;
use super::error::DataError;
use super::tokenize::TextEncoder;
use super::tsv::{read_split, Split};

/// What the audio of a dataset is, for the run's report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AudioSummary {
    pub path: Option<PathBuf>,
    pub format: Option<AudioFormat>,
    pub dim: usize,
    /// Utterances whose `[CLS]` audio slot is non-zero in the file (spec section 7).
    pub cls_slot_nonzero: usize,
    pub neg_inf_zeroed: usize,
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
                s
            }
            _ => format!("none: zero audio ({} dims)", self.dim),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub dir: PathBuf,
    /// Indexed by `Split::index()`.
    pub splits: [Vec<Example>; 3],
    pub audio: AudioSummary,
}

impl Dataset {
    pub fn split(&self, split: Split) -> &[Example] {
        &self.splits[split.index()]
    }

    /// `audio_dim` is used when there is no audio file (zero audio of that width).
    pub fn load(dir: &Path, audio: Option<&Path>, encoder: &TextEncoder, audio_dim: usize) -> Result<Self, DataError> {
        if !dir.is_dir() {
            return Err(DataError::file(
                dir,
                "data directory not found (expected train.tsv, dev.tsv, test.tsv)",
            ));
        }
        let audio_file = audio.map(load_audio).transpose()?;
        let dim = audio_file.as_ref().map_or(audio_dim, |a| a.dim);
        let mut splits: [Vec<Example>; 3] = Default::default();
        for split in Split::ALL {
            let path = split.tsv_path(dir);
            let rows = read_split(&path)?;
            if let Some(a) = &audio_file {
                check_counts(a, split, &path, rows.len())?;
                check_texts(a, split, &path, &rows)?;
            }
            let mut examples = Vec::with_capacity(rows.len());
            for (i, row) in rows.into_iter().enumerate() {
                let encoded = encoder.encode(&row.text)?;
                let audio = match &audio_file {
                    Some(a) => a.aligned(split, i, &encoded)?,
                    None => vec![0.0; encoded.input_ids.len() * dim],
                };
                examples.push(Example {
                    text: row.text,
                    encoded,
                    audio,
                    label: row.label,
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
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            splits,
            audio,
        })
    }
}

fn check_counts(audio: &AudioFile, split: Split, text: &Path, text_count: usize) -> Result<(), DataError> {
    let audio_count = audio.splits[split.index()].count();
    if audio_count != text_count {
        return Err(DataError::CountMismatch {
            audio: audio.path.clone(),
            text: text.to_path_buf(),
            split: split.name(),
            audio_count,
            text_count,
        });
    }
    Ok(())
}

/// MMSA files carry transcripts: a different order would silently pair audio with the
/// wrong utterance, so compare (case and spacing aside).
fn check_texts(audio: &AudioFile, split: Split, text: &Path, rows: &[super::tsv::Utterance]) -> Result<(), DataError> {
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
