//! The numbers behind the figures: JSON (everything, raw matrices included) and CSV (the two
//! drawn views in long form, for pandas/R/spreadsheets).

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::{level_name, scale, ExportError, Item, Meta, Style};
use crate::attention::{Level, Matrix, View};
use crate::data::Split;
use crate::train::AttentionSnapshot;

/// The CSV's column names, in order.
pub const CSV_HEADER: [&str; 9] = [
    "utterance_index",
    "text",
    "matrix",
    "level",
    "row",
    "row_label",
    "col",
    "col_label",
    "value",
];

// The JSON document's schema, written here rather than borrowed from the types it is read
// from, so that the file does not change when they do. Fields are in name order (the order
// the files have had since the first export). Serialised directly, never through
// `serde_json::Value`, which would widen every f32 to the f64 nearest it (0.6 written as
// 0.6000000238418579).

/// `{"meta", "style", "utterances"}`.
#[derive(Serialize)]
struct Document<'a> {
    meta: &'a Meta,
    style: StyleDoc,
    utterances: Vec<UtteranceDoc<'a>>,
}

#[derive(Serialize)]
struct StyleDoc {
    left: Matrix,
    level: Level,
    right: Matrix,
    show_special: bool,
}

#[derive(Serialize)]
struct UtteranceDoc<'a> {
    index: usize,
    /// The WAV file of a `--wav` recording, else null.
    recording: Option<&'a Path>,
    snapshot: SnapshotDoc<'a>,
    split: Split,
    text: &'a str,
    views: Vec<ViewDoc<'a>>,
}

/// An [`AttentionSnapshot`], whole.
#[derive(Serialize)]
struct SnapshotDoc<'a> {
    audio_attention: &'a [Vec<f32>],
    batching: &'a str,
    fusion_scores: &'a [Vec<f32>],
    index: usize,
    label: f32,
    multimodal_attention: &'a [Vec<f32>],
    prediction: f32,
    prediction_without_audio: f32,
    text_attention: &'a [Vec<f32>],
    token_words: &'a [Option<usize>],
    tokens: &'a [String],
    words: &'a [String],
}

impl<'a> From<&'a AttentionSnapshot> for SnapshotDoc<'a> {
    fn from(s: &'a AttentionSnapshot) -> Self {
        Self {
            audio_attention: &s.audio_attention,
            batching: &s.batching,
            fusion_scores: &s.fusion_scores,
            index: s.index,
            label: s.label,
            multimodal_attention: &s.multimodal_attention,
            prediction: s.prediction,
            prediction_without_audio: s.prediction_without_audio,
            text_attention: &s.text_attention,
            token_words: &s.token_words,
            tokens: &s.tokens,
            words: &s.words,
        }
    }
}

/// A [`View`] as drawn, with the scale its colours were computed on.
#[derive(Serialize)]
struct ViewDoc<'a> {
    cls_row: Option<usize>,
    labels: &'a [String],
    level: Level,
    matrix: Matrix,
    /// `[lo, hi]`: the ends of the colour bar.
    scale: [f32; 2],
    values: &'a [Vec<f32>],
}

impl<'a> From<&'a View> for ViewDoc<'a> {
    fn from(view: &'a View) -> Self {
        let s = scale(view);
        Self {
            cls_row: view.cls_row,
            labels: &view.labels,
            level: view.level,
            matrix: view.matrix,
            scale: [s.lo, s.hi],
            values: &view.values,
        }
    }
}

/// `{"meta", "style", "utterances": [{"index", "recording", "snapshot", "split", "text", "views"}]}`
/// (`recording`: the WAV file of a `--wav` recording, else null).
pub fn json(items: &[Item], meta: &Meta, style: &Style) -> Result<Vec<u8>, ExportError> {
    let views: Vec<[View; 2]> = items.iter().map(|item| style.views(item.snapshot)).collect();
    let utterances = items
        .iter()
        .zip(&views)
        .map(|(item, views)| UtteranceDoc {
            index: item.snapshot.index,
            recording: item.recording,
            snapshot: item.snapshot.into(),
            split: item.split,
            text: item.text,
            views: views.iter().map(ViewDoc::from).collect(),
        })
        .collect();
    let doc = Document {
        meta,
        style: StyleDoc {
            left: style.left,
            level: style.level,
            right: style.right,
            show_special: style.show_special,
        },
        utterances,
    };
    let mut out = serde_json::to_vec_pretty(&doc)?;
    out.push(b'\n');
    Ok(out)
}

/// Long form, one line per cell of each chosen view, after `# key: value` comment lines
/// (read back with a CSV reader whose comment character is `#`).
pub fn csv(items: &[Item], meta: &Meta, style: &Style) -> Result<Vec<u8>, ExportError> {
    let mut head = Vec::new();
    for (key, value) in comment_lines(meta, style) {
        // Writing to a Vec cannot fail.
        let _ = writeln!(head, "# {key}: {value}");
    }
    let mut w = csv::Writer::from_writer(head);
    w.write_record(CSV_HEADER)?;
    for item in items {
        let [left, right] = style.views(item.snapshot);
        let views = if style.left == style.right {
            vec![left]
        } else {
            vec![left, right]
        };
        let index = item.snapshot.index.to_string();
        for view in &views {
            for (r, row) in view.values.iter().enumerate() {
                for (c, value) in row.iter().enumerate() {
                    w.write_record([
                        index.as_str(),
                        item.text,
                        view.matrix.slug(),
                        level_name(view.level),
                        &r.to_string(),
                        &view.labels[r],
                        &c.to_string(),
                        &view.labels[c],
                        // Shortest text that parses back to the same f32.
                        &value.to_string(),
                    ])?;
                }
            }
        }
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()).into())
}

/// The metadata's entries that have a value, then the style, one line each.
fn comment_lines(meta: &Meta, style: &Style) -> Vec<(&'static str, String)> {
    let mut lines: Vec<(&'static str, String)> = meta
        .entries()
        .into_iter()
        .filter_map(|(name, value)| value.one_line().map(|v| (name, v)))
        .collect();
    lines.push(("level", level_name(style.level).into()));
    lines.push(("special_tokens", style.show_special.to_string()));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::{Level, Matrix};
    use crate::data::Split;
    use crate::export::tests::{meta, snapshot};

    #[test]
    fn csv_parses_back_to_the_views() {
        let s = snapshot(572);
        let items = [Item {
            snapshot: &s,
            text: "funny, \"ok\"",
            split: Split::Test,
            recording: None,
        }];
        let meta = Meta {
            checkpoint: Some("a\nb".into()),
            ..meta()
        };
        let style = Style {
            right: Matrix::Shift,
            ..Style::default()
        };
        let bytes = csv(&items, &meta, &style).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with(
                "# audio_source: zero-audio\n# checkpoint: a b\n# cls_audio: zero\n# data: data/mosi\n\
# eval_batch_size: 24\n# model: cm-bert\n# precision: f32\n# split: test\n# level: word\n# special_tokens: true\n"
            ),
            "{text}"
        );
        assert!(
            !text.contains("# audio:") && !text.contains("# wav"),
            "entries without a value are left out"
        );
        let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).from_reader(&bytes[..]);
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), CSV_HEADER);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let views = style.views(&s);
        assert_eq!(records.len(), 2 * 16);
        for (k, rec) in records.iter().enumerate() {
            let view = &views[k / 16];
            let (r, c) = (rec[4].parse::<usize>().unwrap(), rec[6].parse::<usize>().unwrap());
            assert_eq!(&rec[0], "572");
            assert_eq!(&rec[1], "funny, \"ok\"");
            assert_eq!(&rec[2], view.matrix.slug());
            assert_eq!(&rec[3], "word");
            assert_eq!((&rec[5], &rec[7]), (view.labels[r].as_str(), view.labels[c].as_str()));
            assert_eq!(rec[8].parse::<f32>().unwrap(), view.values[r][c], "exact round trip");
        }
    }

    #[test]
    fn json_holds_the_snapshot_and_the_views_as_drawn() {
        let s = snapshot(7);
        let items = [Item {
            snapshot: &s,
            text: "funny ok",
            split: Split::Dev,
            recording: None,
        }];
        let style = Style {
            level: Level::Piece,
            show_special: false,
            ..Style::default()
        };
        let bytes = json(&items, &meta(), &style).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        // f32 values are written as the shortest text that reads back to them, not widened.
        assert!(
            text.contains("\"label\": 1.2,") && text.contains("\"prediction\": 0.85,"),
            "{text}"
        );
        assert!(!text.contains("0000000"), "{text}");
        let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(doc["meta"]["model"], "cm-bert");
        assert_eq!(
            doc["meta"]["wav"],
            serde_json::Value::Null,
            "null in JSON, whose keys are all there"
        );
        assert_eq!(doc["style"]["right"], "w-m");
        let u = &doc["utterances"][0];
        assert_eq!(
            (u["text"].as_str(), u["split"].as_str(), u["index"].as_u64()),
            (Some("funny ok"), Some("dev"), Some(7))
        );
        assert_eq!(u["snapshot"]["text_attention"].as_array().unwrap().len(), 5);
        let left = &u["views"][0];
        assert_eq!(left["matrix"], "alpha-t");
        assert_eq!(left["labels"], serde_json::json!(["fun", "##ny", "ok"]));
        assert_eq!(left["cls_row"], serde_json::Value::Null);
        assert_eq!(left["scale"][1].as_f64().unwrap() as f32, 1.8);
    }
}
