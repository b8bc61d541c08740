//! Which data and which audio a trained model runs on in `eval`, `export` and `open`.
//!
//! A CM-BERT run on zero audio gives other predictions and other attention than on the audio
//! it was trained with, and nothing in an output would show it. So when neither `--audio` nor
//! `--zero-audio` is given, the audio file recorded in the checkpoint (`TrainingRecord`'s
//! `spec.audio`) is used, and said, if it is still there; otherwise the command stops and
//! names both choices. T-BERT never reads the audio, and a model trained without audio runs
//! on zero audio as it was trained: neither needs a flag.
//!
//! The recorded audio belongs to the recorded data directory: its rows are that data's
//! utterances. It is paired only with that directory (the same one, links resolved); with
//! `--data` naming another directory the command stops and asks for `--audio FILE` (that
//! data's audio) or `--zero-audio`, rather than pairing one corpus's audio with another's
//! transcripts. Without `--data`, the recorded data directory is used (and said).
//!
//! The label of an MMSA pickle (`--label`, `RunSpec::label`) follows the same rule: the one
//! the run trained on unless `--label` names another, which is then applied and said (scoring
//! a model trained on `M` against a CH-SIMS file's `T` is a question worth asking, unlike
//! pairing one corpus's audio with another's text). Other data than a pickle has one label.
//!
//! Recorded paths are absolute since `train` records them so; an older checkpoint's relative
//! path is resolved against the working directory, as it was given, and messages name the
//! path that was tried.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::data::mmsa::is_pickle;
use crate::data::{AudioSummary, MmsaLabel};
use crate::model::ModelKind;
use crate::train::{RecordError, RunSpec, TrainingRecord};

/// What the command line asks for (`--audio FILE`, `--zero-audio`, or neither).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioRequest {
    /// Neither flag: the audio the checkpoint records.
    Recorded,
    /// `--audio FILE`.
    File(PathBuf),
    /// `--zero-audio`.
    Zero,
}

impl AudioRequest {
    /// From the two command-line flags (clap makes them exclusive).
    pub fn from_flags(audio: Option<&Path>, zero_audio: bool) -> Self {
        match (audio, zero_audio) {
            (Some(path), _) => Self::File(path.to_path_buf()),
            (None, true) => Self::Zero,
            (None, false) => Self::Recorded,
        }
    }
}

/// The audio a model ran on and why: said on stderr and in every output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioUsed {
    /// `--audio FILE` (for `train`: the run's audio, given or the built-in corpus's).
    Given(PathBuf),
    /// The file recorded in the checkpoint at training.
    Recorded(PathBuf),
    /// Measured from a recording (`--wav`).
    Recording(PathBuf),
    /// `--zero-audio`.
    ZeroAsked,
    /// The checkpoint records a run without audio: zero audio, as it was trained.
    ZeroAsTrained,
    /// `train` without `--audio`.
    ZeroNotGiven,
    /// T-BERT: the audio never reaches the model.
    NotUsedByTBert,
}

/// `AudioUsed` without its path: the `audio_source` field of JSON outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AudioSource {
    /// `--audio FILE`, or the training run's own audio.
    Given,
    /// The audio recorded in the checkpoint.
    Recorded,
    /// Measured from a `--wav` recording.
    Recording,
    /// Zero audio because `--zero-audio` asked for it.
    ZeroAudio,
    /// Zero audio, as the model was trained.
    TrainedWithoutAudio,
    /// `train` without `--audio`: zero audio.
    NotGiven,
    /// T-BERT, which takes no audio.
    NotUsedByTBert,
}

impl AudioSource {
    /// As the JSON outputs spell it (`zero-audio`): for the export metadata.
    pub fn name(self) -> &'static str {
        match self {
            Self::Given => "given",
            Self::Recorded => "recorded",
            Self::Recording => "recording",
            Self::ZeroAudio => "zero-audio",
            Self::TrainedWithoutAudio => "trained-without-audio",
            Self::NotGiven => "not-given",
            Self::NotUsedByTBert => "not-used-by-t-bert",
        }
    }
}

impl AudioUsed {
    /// The audio of a training run.
    pub fn of_training(spec: &RunSpec) -> Self {
        match (&spec.audio, spec.model) {
            (_, ModelKind::TBert) => Self::NotUsedByTBert,
            (Some(path), ModelKind::CmBert) => Self::Given(path.clone()),
            (None, ModelKind::CmBert) => Self::ZeroNotGiven,
        }
    }

    /// The file the audio is read from, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Given(p) | Self::Recorded(p) | Self::Recording(p) => Some(p),
            Self::ZeroAsked | Self::ZeroAsTrained | Self::ZeroNotGiven | Self::NotUsedByTBert => None,
        }
    }

    /// The `audio_source` value for JSON outputs.
    pub fn source(&self) -> AudioSource {
        match self {
            Self::Given(_) => AudioSource::Given,
            Self::Recorded(_) => AudioSource::Recorded,
            Self::Recording(_) => AudioSource::Recording,
            Self::ZeroAsked => AudioSource::ZeroAudio,
            Self::ZeroAsTrained => AudioSource::TrainedWithoutAudio,
            Self::ZeroNotGiven => AudioSource::NotGiven,
            Self::NotUsedByTBert => AudioSource::NotUsedByTBert,
        }
    }

    /// Why an audio ablation has nothing to measure here (and what to do), if it has not.
    pub fn why_no_ablation(&self) -> Option<String> {
        let zero = |why: &str| {
            format!("the model runs on zero audio here ({why}), so there is no audio to take away; give --audio FILE")
        };
        match self {
            Self::Given(_) | Self::Recorded(_) | Self::Recording(_) => None,
            Self::ZeroAsked => Some(zero("--zero-audio")),
            Self::ZeroAsTrained => Some(zero("it was trained without audio")),
            Self::ZeroNotGiven => Some(zero("no --audio given")),
            Self::NotUsedByTBert => Some("T-BERT does not read the audio, so there is nothing to take away".into()),
        }
    }

    /// As `Display`, without the hint of how to change it (for reports; the hint goes to
    /// stderr once).
    pub fn brief(&self) -> String {
        match self {
            Self::Recorded(p) => format!("{} (recorded in the checkpoint)", p.display()),
            other => other.to_string(),
        }
    }

    /// The audio part of the app's data line: the loaded file's summary, or why there is none.
    pub fn with_summary(&self, summary: &AudioSummary) -> String {
        match self {
            Self::Recorded(_) => format!("(recorded in the checkpoint) {}", summary.describe()),
            Self::Given(_) | Self::Recording(_) => summary.describe(),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for AudioUsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Given(p) => write!(f, "{} (--audio)", p.display()),
            Self::Recorded(p) => write!(
                f,
                "{} (recorded in the checkpoint; --audio FILE or --zero-audio to change)",
                p.display()
            ),
            Self::Recording(p) => write!(f, "measured from the recording {}", p.display()),
            Self::ZeroAsked => f.write_str("none: zero audio (--zero-audio)"),
            Self::ZeroAsTrained => f.write_str("none: zero audio, as the model was trained"),
            Self::ZeroNotGiven => f.write_str("none: zero audio (no --audio given)"),
            Self::NotUsedByTBert => f.write_str("not used by T-BERT"),
        }
    }
}

/// The data directory a model runs on: named with `--data`, or the one it was trained on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataUsed {
    /// `--data DIR`.
    Given(PathBuf),
    /// The data directory recorded in the checkpoint.
    Recorded(PathBuf),
}

impl DataUsed {
    /// The directory, whichever way it was chosen.
    pub fn dir(&self) -> &Path {
        match self {
            Self::Given(p) | Self::Recorded(p) => p,
        }
    }
}

/// The label of an MMSA pickle a model is scored against, and why it is that one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelUsed {
    /// `--label`; `trained` is the one the checkpoint records, where it records a run.
    Given {
        /// The label named.
        label: MmsaLabel,
        /// The label the model was trained on.
        trained: Option<MmsaLabel>,
    },
    /// The label the checkpoint records (`M` for runs from before labels were recorded, and
    /// for a checkpoint without a run record).
    Recorded(MmsaLabel),
    /// The data is not an MMSA pickle: it has one label.
    Only,
}

impl LabelUsed {
    /// The label to load.
    pub fn label(self) -> MmsaLabel {
        match self {
            Self::Given { label, .. } | Self::Recorded(label) => label,
            Self::Only => MmsaLabel::M,
        }
    }

    /// What to tell the user, where there is something to tell: a label other than the
    /// one the model was trained on, or a recorded one other than `M`.
    fn notice(self) -> Option<String> {
        match self {
            Self::Given {
                label,
                trained: Some(trained),
            } if label != trained => Some(format!(
                "label: {label} (--label; the model was trained on {trained}, {})",
                trained.key()
            )),
            Self::Recorded(label) if !label.is_multimodal() => Some(format!(
                "label: {label}, {} (recorded in the checkpoint; --label to change)",
                label.key()
            )),
            Self::Given { .. } | Self::Recorded(_) | Self::Only => None,
        }
    }
}

/// The data and audio of one command, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The text splits.
    pub data: DataUsed,
    /// The audio, and why it is that.
    pub audio: AudioUsed,
    /// The label of an MMSA pickle.
    pub label: LabelUsed,
}

impl Inputs {
    /// Resolves `--data`, the audio flags and `--label` of a command on the model in
    /// `checkpoint`; `record` is its run record, read only where a flag is missing.
    pub fn resolve(
        checkpoint: &Path,
        model: ModelKind,
        record: Result<Option<TrainingRecord>, RecordError>,
        data: Option<&Path>,
        audio: AudioRequest,
        label: Option<MmsaLabel>,
    ) -> Result<Self> {
        let choices = "give --audio FILE, or --zero-audio to run it on zero audio";
        let needs_audio = audio == AudioRequest::Recorded && model == ModelKind::CmBert;
        let needs_label = label.is_none() && data.is_some_and(is_pickle);
        let record = match record {
            Ok(record) => record,
            Err(e) if data.is_none() || needs_audio || needs_label => {
                let fix = if data.is_none() {
                    "give --data DIR"
                } else if needs_audio {
                    choices
                } else {
                    "give --label M (or, for CH-SIMS, T, A or V)"
                };
                bail!("{}: {e}; {fix}", checkpoint.join("config.json").display())
            }
            Err(_) => None,
        };
        let spec = record.as_ref().map(|r| &r.spec);
        let data = match (data, spec) {
            (Some(dir), _) => DataUsed::Given(dir.to_path_buf()),
            (None, Some(spec)) => {
                let dir = as_given(&spec.data);
                // A directory of TSV splits, or an MMSA pickle (`data::mmsa`).
                if !dir.exists() {
                    bail!(
                        "--data DIR is required: the data {} was trained on, {}, is not there any more",
                        checkpoint.display(),
                        tried(&spec.data)
                    );
                }
                DataUsed::Recorded(dir)
            }
            (None, None) => bail!(
                "--data DIR is required (the directory with train.tsv, dev.tsv and test.tsv): {} does not record \
                 the data it was trained on",
                checkpoint.display()
            ),
        };
        let trained = spec.map(|s| s.label);
        let label = match label {
            Some(label) => LabelUsed::Given { label, trained },
            None if is_pickle(data.dir()) => LabelUsed::Recorded(trained.unwrap_or_default()),
            None => LabelUsed::Only,
        };
        let audio = match (audio, model) {
            // T-BERT is given a named file all the same: an ablation then shows it unread.
            (AudioRequest::File(path), _) => AudioUsed::Given(path),
            (_, ModelKind::TBert) => AudioUsed::NotUsedByTBert,
            (AudioRequest::Zero, ModelKind::CmBert) => AudioUsed::ZeroAsked,
            (AudioRequest::Recorded, ModelKind::CmBert) => {
                let Some(spec) = spec else {
                    bail!(
                        "{} does not record the audio it was trained with (not trained by `cmbert-tui train`); {choices}",
                        checkpoint.display()
                    );
                };
                let Some(recorded) = &spec.audio else {
                    return Ok(Self {
                        data,
                        audio: AudioUsed::ZeroAsTrained,
                        label,
                    });
                };
                if let DataUsed::Given(dir) = &data {
                    if !same_dir(dir, &as_given(&spec.data)) {
                        bail!(
                            "{} was trained on {} with the audio {}, and --data {} is other data, so that audio \
                             is not used: give --audio FILE (the audio of {}), or --zero-audio to run it on zero audio",
                            checkpoint.display(),
                            spec.data.display(),
                            recorded.display(),
                            dir.display(),
                            dir.display()
                        );
                    }
                }
                let path = as_given(recorded);
                // Present, not `is_file`: anything else there is refused by `load_audio` as
                // what it is (a FIFO, a directory).
                if !crate::fsutil::input_present(&path) {
                    bail!(
                        "{} was trained with the audio {}, which is not there any more; {choices}",
                        checkpoint.display(),
                        tried(recorded)
                    );
                }
                AudioUsed::Recorded(path)
            }
        };
        Ok(Self { data, audio, label })
    }

    /// What to tell the user on stderr before the work starts.
    pub fn notices(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let DataUsed::Recorded(dir) = &self.data {
            lines.push(format!(
                "data: {} (recorded in the checkpoint; --data DIR to change)",
                dir.display()
            ));
        }
        lines.push(format!("audio: {}", self.audio));
        lines.extend(self.label.notice());
        lines
    }
}

/// A recorded path as it was given: absolute as `train` records it now, or relative to the
/// working directory (older checkpoints).
fn as_given(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A recorded path for a message, with the path tried when it was relative.
fn tried(path: &Path) -> String {
    let resolved = as_given(path);
    if resolved == path {
        path.display().to_string()
    } else {
        format!("{} (tried {})", path.display(), resolved.display())
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

#[cfg(test)]
mod tests;
