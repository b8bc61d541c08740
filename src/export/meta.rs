//! What an export says about where its numbers come from (the model, the checkpoint, the
//! inputs, or the app's run and view): one typed struct that heads the figure, the JSON
//! document (`"meta"`) and the CSV comments. Its entries are written in key order, as the
//! files have always had them; an entry without a value is `null` in JSON and left out of
//! the CSV and the figure.

use std::path::PathBuf;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::data::Split;
use crate::model::bf16::Precision;
use crate::model::{ClsAudio, ModelKind};
use crate::train::Weights;

/// The metadata of one export.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    /// The split the utterances come from (a recording's is `test`).
    pub split: Split,
    /// The checkpoint read (`export --checkpoint`), or the directory the app's run saves to
    /// (none for a run that is not saved).
    pub checkpoint: Option<PathBuf>,
    /// The WAV file, when the utterance is a recording (`--wav`).
    pub wav: Option<PathBuf>,
    /// What the rest depends on: the command line, or the app's view.
    pub source: Source,
}

/// Where an export was asked for, with what only that place knows.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// `cmbert-tui export`.
    Command(CommandMeta),
    /// `e` in the app: the view on screen.
    App(AppMeta),
}

/// The model and inputs of `cmbert-tui export`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandMeta {
    /// The checkpoint's head.
    pub model: ModelKind,
    /// What the `[CLS]` audio slot holds (CM-BERT only).
    pub cls_audio: Option<ClsAudio>,
    /// The data directory (none for a recording).
    pub data: Option<PathBuf>,
    /// The audio features file read, if any.
    pub audio: Option<PathBuf>,
    /// How the audio was chosen, spelled as in `eval --json` (`recorded`, `zero-audio`, ...).
    pub audio_source: String,
    /// The recording's word timings (`--words`).
    pub words: Option<PathBuf>,
    /// The evaluation batch size, which the predictions depend on.
    pub eval_batch_size: usize,
    /// The arithmetic of the encoder's products, which they depend on too.
    pub precision: Precision,
}

/// The run and view of the app's `e`, as its status panel describes them.
#[derive(Debug, Clone, PartialEq)]
pub struct AppMeta {
    /// The run's name (`cm-bert seed 1`, `open runs/a/best`).
    pub run: String,
    /// The model line of the status panel (`cm-bert (cls-audio zero, preset scratch)`).
    pub model: String,
    /// The encoder line (`from scratch (2 layers, hidden 64)`).
    pub bert: String,
    /// The data line (`corpus (100/20/30), audio: recorded`).
    pub data: String,
    /// The weights the view was computed with.
    pub weights: Weights,
    /// How the utterance was batched when scored.
    pub batching: String,
    /// The theme whose colours the figure has.
    pub theme: String,
}

/// One entry's value: text, a count, or nothing.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Text(String),
    Count(usize),
    Null,
}

impl Value {
    fn path(path: &Option<PathBuf>) -> Self {
        path.as_ref()
            .map_or(Self::Null, |p| Self::Text(p.to_string_lossy().into_owned()))
    }

    fn text(text: impl ToString) -> Self {
        Self::Text(text.to_string())
    }

    /// As the CSV comments and the figure header show it: on one line (a line break would
    /// end a CSV comment and start a bogus record); `None` for `Null`.
    pub(super) fn one_line(&self) -> Option<String> {
        match self {
            Self::Text(s) => Some(s.replace(['\r', '\n'], " ")),
            Self::Count(n) => Some(n.to_string()),
            Self::Null => None,
        }
    }
}

impl Meta {
    /// The named entries, sorted by name.
    pub(super) fn entries(&self) -> Vec<(&'static str, Value)> {
        let mut entries = vec![
            ("split", Value::text(self.split.name())),
            ("checkpoint", Value::path(&self.checkpoint)),
            ("wav", Value::path(&self.wav)),
        ];
        match &self.source {
            Source::Command(c) => entries.extend([
                ("model", Value::text(c.model)),
                ("cls_audio", c.cls_audio.map_or(Value::Null, Value::text)),
                ("data", Value::path(&c.data)),
                ("audio", Value::path(&c.audio)),
                ("audio_source", Value::text(&c.audio_source)),
                ("words", Value::path(&c.words)),
                ("eval_batch_size", Value::Count(c.eval_batch_size)),
                ("precision", Value::text(c.precision.name())),
            ]),
            Source::App(a) => entries.extend([
                ("run", Value::text(&a.run)),
                ("model", Value::text(&a.model)),
                ("bert", Value::text(&a.bert)),
                ("data", Value::text(&a.data)),
                ("weights", Value::text(a.weights)),
                ("step", a.weights.step().map_or(Value::Null, Value::Count)),
                ("batching", Value::text(&a.batching)),
                ("theme", Value::text(&a.theme)),
            ]),
        }
        entries.sort_by_key(|(name, _)| *name);
        entries
    }
}

/// A JSON object of the entries, in name order.
impl Serialize for Meta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize_without(&[], serializer)
    }
}

impl Meta {
    /// Its JSON object without the entries named in `left_out` (a stress pair names its two
    /// recordings' files in each recording's entry, not in one `wav` and one `words`).
    pub(super) fn serialize_without<S: Serializer>(&self, left_out: &[&str], serializer: S) -> Result<S::Ok, S::Error> {
        let mut entries = self.entries();
        entries.retain(|(name, _)| !left_out.contains(name));
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (name, value) in &entries {
            match value {
                Value::Text(s) => map.serialize_entry(name, s)?,
                Value::Count(n) => map.serialize_entry(name, n)?,
                Value::Null => map.serialize_entry(name, &())?,
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_sorted_and_typed() {
        let meta = Meta {
            split: Split::Dev,
            checkpoint: None,
            wav: Some("a\nb.wav".into()),
            source: Source::App(AppMeta {
                run: "r".into(),
                model: "t-bert".into(),
                bert: "b".into(),
                data: "d".into(),
                weights: Weights::Best { epoch: 3 },
                batching: "dev".into(),
                theme: "dark".into(),
            }),
        };
        let names: Vec<&str> = meta.entries().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "batching",
                "bert",
                "checkpoint",
                "data",
                "model",
                "run",
                "split",
                "step",
                "theme",
                "wav",
                "weights"
            ]
        );
        let json = serde_json::to_value(&meta).unwrap();
        assert_eq!(json["step"], serde_json::Value::Null, "best weights have no step");
        assert_eq!(json["weights"], "best, epoch 3");
        assert_eq!(json["split"], "dev");
        assert_eq!(Value::path(&meta.wav).one_line().as_deref(), Some("a b.wav"));
        assert_eq!(Value::Null.one_line(), None);
    }
}
