//! The stress-pair figure (`export --checkpoint C --wav A.wav --words A --wav B.wav --words
//! B`, issue 19 item 3): two recordings of the same words, the stress on another clause in
//! each, run through one model. At the top, both recordings' W_m at word level on one shared
//! scale, each titled with its prediction, and B − A where the words agree (the two-sided
//! panels of `export::pair`); under them each recording's F0 and energy over time with the
//! word boundaries and the words (`figure::Contour`), on shared axes, so that a reader sees
//! the stress that moved the `[CLS]` row and the score. One renderer draws it all
//! (`export::figure`); the JSON beside it holds the numbers.

use std::path::Path;

use serde::Serialize;

use super::figure::{header, Contour, Figure, FigureRow};
use super::pair::{side_by_side, Difference};
use super::{ExportError, Format, Meta};
use crate::attention::{cls_weights, view, Level, Matrix};
use crate::data::recording_label;
use crate::train::AttentionSnapshot;

/// The matrix the figure compares: the one whose `[CLS]` row is scored (docs/MODEL.md §3).
const SHOWN: Matrix = Matrix::WM;

/// One recording of the pair.
#[derive(Debug, Clone)]
pub struct Take<'a> {
    /// The WAV file.
    pub wav: &'a Path,
    /// Its word timings.
    pub words: &'a Path,
    /// Its attention and predictions.
    pub snapshot: &'a AttentionSnapshot,
    /// Its frame tracks and word spans (the title is filled in here).
    pub contour: Contour,
}

impl Take<'_> {
    fn name(&self) -> String {
        recording_label(self.wav)
    }
}

/// Whether the two recordings have the same words (else they are drawn without a difference,
/// and the title says so).
pub fn same_words(takes: &[Take; 2]) -> bool {
    takes[0].snapshot.words == takes[1].snapshot.words
}

/// The figure of `takes` (A, B) under the metadata line of `meta`.
pub fn figure(takes: &[Take; 2], meta: &Meta) -> Result<Figure, ExportError> {
    // Word level with [CLS] and [SEP], as the paper's Figure 4.
    let (level, special) = (Level::Word, true);
    let [va, vb] = takes.each_ref().map(|t| view(t.snapshot, SHOWN, level, special));
    let subtitle = |k: usize| {
        let s = takes[k].snapshot;
        vec![
            format!("{}: {}", ["A", "B"][k], takes[k].name()),
            format!(
                "prediction {:+.2} (audio removed: {:+.2})",
                s.prediction, s.prediction_without_audio
            ),
        ]
    };
    let [a, b] = takes.each_ref().map(|t| t.snapshot);
    let difference = (va.labels == vb.labels).then(|| Difference {
        view: crate::attention::View {
            values: vb
                .values
                .iter()
                .zip(&va.values)
                .map(|(rb, ra)| rb.iter().zip(ra).map(|(x, y)| x - y).collect())
                .collect(),
            ..vb.clone()
        },
        subtitle: vec![
            format!("B − A: {} difference", SHOWN.name()),
            format!("prediction B − A: {:+.2}", b.prediction - a.prediction),
        ],
    });
    let panels = side_by_side([va, vb], [subtitle(0), subtitle(1)], difference);
    let same = same_words(takes);
    let text = if same {
        a.words.join(" ")
    } else {
        format!("{}\" / \"{}", a.words.join(" "), b.words.join(" "))
    };
    let row = FigureRow {
        text,
        title: Box::new(move |t: &str| {
            let what = if same { "stress pair" } else { "pair (the words differ)" };
            format!("{what}: \"{t}\" — {} ({})", SHOWN.name(), SHOWN.caption())
        }),
        panels,
    };
    let contours = takes
        .iter()
        .enumerate()
        .map(|(k, t)| Contour {
            title: format!(
                "{}: {} — prediction {:+.2} — F0 and energy, word by word",
                ["A", "B"][k],
                t.name(),
                t.snapshot.prediction
            ),
            ..t.contour.clone()
        })
        .collect();
    Figure::with_contours(&header(meta), vec![row], contours)
}

/// The numbers of the figure, for `--format json`: both recordings, their words, predictions
/// and `[CLS]` rows of W_m (word level, with the special tokens).
#[derive(Debug, Serialize)]
pub struct PairTable<'a> {
    /// Where the numbers come from.
    pub meta: PairMeta<'a>,
    /// Whether the two have the same words.
    pub same_words: bool,
    /// B's prediction minus A's.
    pub prediction_change: f32,
    /// A, then B.
    pub recordings: Vec<TakeRow>,
}

/// The metadata of a pair's JSON: a single recording's entries less `wav` and `words`, which
/// would be empty here; each of `recordings` names its own files.
#[derive(Debug)]
pub struct PairMeta<'a>(pub &'a Meta);

/// The entries a pair's JSON leaves out of its `meta`.
const PER_RECORDING: [&str; 2] = ["wav", "words"];

impl Serialize for PairMeta<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_without(&PER_RECORDING, serializer)
    }
}

/// One recording in the JSON.
#[derive(Debug, Serialize)]
pub struct TakeRow {
    /// The WAV file.
    pub wav: String,
    /// Its word timings.
    pub words_file: String,
    /// Its words.
    pub words: Vec<String>,
    /// The score.
    pub prediction: f32,
    /// The score with the audio taken away.
    pub prediction_without_audio: f32,
    /// The `[CLS]` row of W_m, one weight per word (and `[CLS]`, `[SEP]`).
    pub cls_row: Vec<(String, f32)>,
}

/// The JSON of the pair.
pub fn table<'a>(takes: &[Take; 2], meta: &'a Meta) -> PairTable<'a> {
    let [a, b] = takes.each_ref().map(|t| t.snapshot);
    PairTable {
        meta: PairMeta(meta),
        same_words: same_words(takes),
        prediction_change: b.prediction - a.prediction,
        recordings: takes
            .iter()
            .map(|t| TakeRow {
                wav: t.wav.display().to_string(),
                words_file: t.words.display().to_string(),
                words: t.snapshot.words.clone(),
                prediction: t.snapshot.prediction,
                prediction_without_audio: t.snapshot.prediction_without_audio,
                cls_row: cls_weights(t.snapshot, Level::Word, true),
            })
            .collect(),
    }
}

/// The pair in `format`: the figure (PNG, SVG) or its numbers (JSON); CSV is refused.
pub fn render(takes: &[Take; 2], meta: &Meta, format: Format) -> Result<Vec<u8>, ExportError> {
    Ok(match format {
        Format::Png => figure(takes, meta)?.png()?,
        Format::Svg => figure(takes, meta)?.svg()?.into_bytes(),
        Format::Json => {
            let mut bytes = serde_json::to_vec_pretty(&table(takes, meta))
                .map_err(|e| ExportError::Draw(format!("the pair's JSON: {e}")))?;
            bytes.push(b'\n');
            bytes
        }
        Format::Csv => {
            return Err(ExportError::Draw(
                "a stress pair is a figure (png, svg) or its numbers (json), not csv".into(),
            ))
        }
    })
}

#[cfg(test)]
#[path = "stress_pair_tests.rs"]
mod tests;
