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
                if !path.is_file() {
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
mod tests {
    use super::*;
    use crate::train::Saved;

    fn record(data: &Path, audio: Option<&Path>) -> Result<Option<TrainingRecord>, RecordError> {
        let mut spec = RunSpec::paper(data.to_path_buf(), "bert".into(), ModelKind::CmBert);
        spec.audio = audio.map(Path::to_path_buf);
        Ok(Some(TrainingRecord {
            spec,
            saved: Some(Saved::Best),
            step: Some(1),
            epochs_done: Some(1),
            best_epoch: Some(1),
            best_dev_loss: Some(1.0),
            progress: None,
            optimizer_steps: None,
            epochs_changes: Vec::new(),
        }))
    }

    struct Files {
        _tmp: tempfile::TempDir,
        data: PathBuf,
        audio: PathBuf,
    }

    fn files() -> Files {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let audio = tmp.path().join("audio.jsonl");
        std::fs::write(&audio, "").unwrap();
        Files { data, audio, _tmp: tmp }
    }

    fn resolve(
        model: ModelKind,
        record: Result<Option<TrainingRecord>, RecordError>,
        data: Option<&Path>,
        audio: AudioRequest,
    ) -> Result<Inputs> {
        Inputs::resolve(Path::new("ckpt"), model, record, data, audio, None)
    }

    /// A run on a CH-SIMS file's `label`: the data is the pickle, which is its own audio.
    fn sims_record(pickle: &Path, label: MmsaLabel) -> Result<Option<TrainingRecord>, RecordError> {
        let mut record = record(pickle, Some(pickle));
        if let Ok(Some(r)) = &mut record {
            r.spec.label = label;
        }
        record
    }

    #[test]
    fn the_recorded_label_is_used_and_another_is_applied_and_said() {
        let f = files();
        let pickle = f.data.parent().unwrap().join("sims.pkl");
        std::fs::write(&pickle, "").unwrap();
        let labelled = |record, data: Option<&Path>, label| {
            Inputs::resolve(
                Path::new("ckpt"),
                ModelKind::CmBert,
                record,
                data,
                AudioRequest::Recorded,
                label,
            )
            .unwrap()
        };
        // Without --label: the run's.
        let inputs = labelled(sims_record(&pickle, MmsaLabel::T), None, None);
        assert_eq!(inputs.label, LabelUsed::Recorded(MmsaLabel::T));
        assert_eq!(inputs.label.label(), MmsaLabel::T);
        assert_eq!(
            inputs.notices().last().unwrap(),
            "label: T, regression_labels_T (recorded in the checkpoint; --label to change)"
        );
        // The same file named with --data keeps it.
        let inputs = labelled(sims_record(&pickle, MmsaLabel::V), Some(&pickle), None);
        assert_eq!(inputs.label.label(), MmsaLabel::V);
        // Another label: applied, and said with the one the model was trained on.
        let inputs = labelled(sims_record(&pickle, MmsaLabel::T), None, Some(MmsaLabel::M));
        assert_eq!(inputs.label.label(), MmsaLabel::M);
        assert_eq!(
            inputs.notices().last().unwrap(),
            "label: M (--label; the model was trained on T, regression_labels_T)"
        );
        // The label it was trained on, named or recorded as M (and every older checkpoint):
        // nothing more to say.
        let inputs = labelled(sims_record(&pickle, MmsaLabel::T), None, Some(MmsaLabel::T));
        assert_eq!(inputs.notices().len(), 2, "{:?}", inputs.notices());
        let inputs = labelled(sims_record(&pickle, MmsaLabel::M), None, None);
        assert_eq!(inputs.label, LabelUsed::Recorded(MmsaLabel::M));
        assert_eq!(inputs.notices().len(), 2, "{:?}", inputs.notices());
        // A directory of TSV splits has one label, whatever the run trained on.
        let inputs = Inputs::resolve(
            Path::new("ckpt"),
            ModelKind::CmBert,
            sims_record(&pickle, MmsaLabel::T),
            Some(&f.data),
            AudioRequest::Zero,
            None,
        )
        .unwrap();
        assert_eq!(inputs.label, LabelUsed::Only);
        assert_eq!(inputs.label.label(), MmsaLabel::M);
        // An unreadable record when only the label is missing: said, with the flag to give.
        let broken = serde_json::from_str::<TrainingRecord>("3")
            .map(Some)
            .map_err(RecordError::from);
        let err = Inputs::resolve(
            Path::new("ckpt"),
            ModelKind::CmBert,
            broken,
            Some(&pickle),
            AudioRequest::Zero,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("ckpt/config.json: the run record"), "{err}");
        assert!(err.ends_with("give --label M (or, for CH-SIMS, T, A or V)"), "{err}");
    }

    #[test]
    fn the_recorded_audio_and_data_are_used_and_said() {
        let f = files();
        let inputs = resolve(
            ModelKind::CmBert,
            record(&f.data, Some(&f.audio)),
            None,
            AudioRequest::Recorded,
        )
        .unwrap();
        assert_eq!(inputs.data, DataUsed::Recorded(f.data.clone()));
        assert_eq!(inputs.audio, AudioUsed::Recorded(f.audio.clone()));
        let notices = inputs.notices();
        assert_eq!(notices.len(), 2);
        assert!(notices[0].contains("recorded in the checkpoint; --data DIR to change"));
        assert_eq!(
            notices[1],
            format!(
                "audio: {} (recorded in the checkpoint; --audio FILE or --zero-audio to change)",
                f.audio.display()
            )
        );
        // The same directory named with --data (through a `..`) still pairs with its audio.
        let same = f.data.join("..").join("data");
        let inputs = resolve(
            ModelKind::CmBert,
            record(&f.data, Some(&f.audio)),
            Some(&same),
            AudioRequest::Recorded,
        )
        .unwrap();
        assert_eq!(inputs.audio, AudioUsed::Recorded(f.audio.clone()));
        assert_eq!(inputs.notices().len(), 1, "the data was named");
    }

    #[test]
    fn other_data_never_gets_the_recorded_audio() {
        let f = files();
        let other = f.data.parent().unwrap().join("other");
        std::fs::create_dir(&other).unwrap();
        let err = resolve(
            ModelKind::CmBert,
            record(&f.data, Some(&f.audio)),
            Some(&other),
            AudioRequest::Recorded,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(&format!("--data {} is other data", other.display())),
            "{err}"
        );
        assert!(err.contains("--audio FILE") && err.contains("--zero-audio"), "{err}");
        // Both choices work there.
        let zero = resolve(
            ModelKind::CmBert,
            record(&f.data, Some(&f.audio)),
            Some(&other),
            AudioRequest::Zero,
        )
        .unwrap();
        assert_eq!(zero.audio, AudioUsed::ZeroAsked);
        assert_eq!(
            zero.audio.why_no_ablation().unwrap(),
            "the model runs on zero audio here (--zero-audio), so there is no audio to take away; give --audio FILE"
        );
    }

    #[test]
    fn missing_recorded_files_are_named_with_the_path_tried() {
        let f = files();
        std::fs::remove_file(&f.audio).unwrap();
        let err = resolve(
            ModelKind::CmBert,
            record(&f.data, Some(&f.audio)),
            None,
            AudioRequest::Recorded,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            format!(
                "ckpt was trained with the audio {}, which is not there any more; give --audio FILE, or --zero-audio \
                 to run it on zero audio",
                f.audio.display()
            )
        );
        // An older checkpoint's relative path, resolved against the working directory.
        let err = resolve(
            ModelKind::CmBert,
            record(&f.data, Some(Path::new("gone/audio.pkl"))),
            None,
            AudioRequest::Recorded,
        )
        .unwrap_err()
        .to_string();
        let tried = std::env::current_dir().unwrap().join("gone/audio.pkl");
        assert!(
            err.contains(&format!("gone/audio.pkl (tried {})", tried.display())),
            "{err}"
        );
        let err = resolve(
            ModelKind::CmBert,
            record(Path::new("/no/such/data"), None),
            None,
            AudioRequest::Zero,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("--data DIR is required: the data ckpt was trained on, /no/such/data,"),
            "{err}"
        );
    }

    #[test]
    fn no_flag_needed_for_t_bert_or_a_model_trained_without_audio() {
        let f = files();
        let t = resolve(ModelKind::TBert, Ok(None), Some(&f.data), AudioRequest::Recorded).unwrap();
        assert_eq!(t.audio, AudioUsed::NotUsedByTBert);
        assert_eq!(t.notices(), ["audio: not used by T-BERT"]);
        assert!(t
            .audio
            .why_no_ablation()
            .unwrap()
            .starts_with("T-BERT does not read the audio"));
        let named = resolve(
            ModelKind::TBert,
            Ok(None),
            Some(&f.data),
            AudioRequest::File(f.audio.clone()),
        )
        .unwrap();
        assert_eq!(
            named.audio,
            AudioUsed::Given(f.audio.clone()),
            "loaded, to show it unread"
        );
        let without = resolve(ModelKind::CmBert, record(&f.data, None), None, AudioRequest::Recorded).unwrap();
        assert_eq!(without.audio, AudioUsed::ZeroAsTrained);
        assert!(without.audio.why_no_ablation().is_some());
        let given = resolve(
            ModelKind::CmBert,
            record(&f.data, None),
            None,
            AudioRequest::File(f.audio.clone()),
        )
        .unwrap();
        assert_eq!(given.audio, AudioUsed::Given(f.audio.clone()));
        assert_eq!(given.audio.why_no_ablation(), None);
    }

    #[test]
    fn a_checkpoint_without_a_record_needs_a_choice() {
        let f = files();
        let err = resolve(ModelKind::CmBert, Ok(None), Some(&f.data), AudioRequest::Recorded)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ckpt does not record the audio it was trained with"),
            "{err}"
        );
        assert!(
            err.ends_with("give --audio FILE, or --zero-audio to run it on zero audio"),
            "{err}"
        );
        let err = resolve(ModelKind::CmBert, Ok(None), None, AudioRequest::Zero)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--data DIR is required"), "{err}");
        let broken = serde_json::from_str::<TrainingRecord>("3")
            .map(Some)
            .map_err(RecordError::from);
        let err = resolve(ModelKind::CmBert, broken, Some(&f.data), AudioRequest::Recorded)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("ckpt/config.json: the run record"), "{err}");
        let broken = serde_json::from_str::<TrainingRecord>("3")
            .map(Some)
            .map_err(RecordError::from);
        assert!(
            resolve(ModelKind::CmBert, broken, Some(&f.data), AudioRequest::Zero).is_ok(),
            "not needed when both are given"
        );
    }

    /// The export metadata spells each source as the other JSON outputs do.
    #[test]
    fn audio_source_names_are_the_json_spelling() {
        use AudioSource::*;
        for source in [
            Given,
            Recorded,
            Recording,
            ZeroAudio,
            TrainedWithoutAudio,
            NotGiven,
            NotUsedByTBert,
        ] {
            assert_eq!(serde_json::to_value(source).unwrap(), source.name());
        }
    }
}
