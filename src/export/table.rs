//! The numbers behind the figures: JSON (everything, raw matrices included) and CSV (the two
//! drawn views in long form, for pandas/R/spreadsheets).

use std::io::Write;

use serde::Serialize;

use super::{level_name, scale, ExportError, Item, Style};
use crate::attention::View;

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

/// A view with the scale its colours were computed on.
#[derive(Serialize)]
struct Drawn<'a> {
    #[serde(flatten)]
    view: &'a View,
    /// `[lo, hi]`: the ends of the colour bar.
    scale: [f32; 2],
}

/// `{"meta", "style", "utterances": [{"text", "split", "index", "recording", "snapshot", "views"}]}`
/// (`recording`: the WAV file of a `--wav` recording, else null).
pub fn json(items: &[Item], meta: &serde_json::Value, style: &Style) -> Result<Vec<u8>, ExportError> {
    let utterances = items
        .iter()
        .map(|item| {
            let views = style.views(item.snapshot);
            let drawn: Vec<Drawn> = views
                .iter()
                .map(|view| {
                    let s = scale(view);
                    Drawn {
                        view,
                        scale: [s.lo, s.hi],
                    }
                })
                .collect();
            Ok(serde_json::json!({
                "text": item.text,
                "split": item.split,
                "index": item.snapshot.index,
                "recording": item.recording,
                "snapshot": item.snapshot,
                "views": serde_json::to_value(drawn)?,
            }))
        })
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    let doc = serde_json::json!({
        "meta": meta,
        "style": {
            "left": style.left,
            "right": style.right,
            "level": style.level,
            "show_special": style.show_special,
        },
        "utterances": utterances,
    });
    let mut out = serde_json::to_vec_pretty(&doc)?;
    out.push(b'\n');
    Ok(out)
}

/// Long form, one line per cell of each chosen view, after `# key: value` comment lines
/// (read back with a CSV reader whose comment character is `#`).
pub fn csv(items: &[Item], meta: &serde_json::Value, style: &Style) -> Result<Vec<u8>, ExportError> {
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

/// The metadata's entries (strings bare, anything else as JSON) and the style, one line each.
fn comment_lines(meta: &serde_json::Value, style: &Style) -> Vec<(String, String)> {
    let mut lines: Vec<(String, String)> = match meta {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), one_line(v)))
            .collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![("meta".into(), one_line(other))],
    };
    lines.push(("level".into(), level_name(style.level).into()));
    lines.push(("special_tokens".into(), style.show_special.to_string()));
    lines
}

/// A line break would end the comment and start a bogus record.
fn one_line(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    s.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::{Level, Matrix};
    use crate::data::Split;
    use crate::export::tests::snapshot;

    #[test]
    fn csv_parses_back_to_the_views() {
        let s = snapshot(572);
        let items = [Item {
            snapshot: &s,
            text: "funny, \"ok\"",
            split: Split::Test,
            recording: None,
        }];
        let meta = serde_json::json!({"model": "cmbert", "checkpoint": "a\nb", "audio": null, "batch": 24});
        let style = Style {
            right: Matrix::Shift,
            ..Style::default()
        };
        let bytes = csv(&items, &meta, &style).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with("# batch: 24\n# checkpoint: a b\n# model: cmbert\n# level: word\n"),
            "{text}"
        );
        assert!(!text.contains("audio"), "null entries are left out");
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
        let doc: serde_json::Value =
            serde_json::from_slice(&json(&items, &serde_json::json!({"model": "cmbert"}), &style).unwrap()).unwrap();
        assert_eq!(doc["meta"]["model"], "cmbert");
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
