//! Word-level JSON Lines (format (d)). Each line is parsed twice: first for its shape alone
//! (split, index, how many words and vectors and the widest vector, counted and never
//! stored), which is checked against the text; only then for its values. So an index cannot
//! reserve slots the text splits do not have (slots are allocated once, one per TSV line),
//! and a line's values cannot outgrow the longest transcript times [`MAX_FEATURE_DIM`].
//! serde_json limits nesting to 128 levels, so no line can exhaust the stack.

use std::path::Path;

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use super::{assemble, AudioBounds, AudioFile, AudioFormat, SplitFeatures, WordFeatures, MAX_FEATURE_DIM, SPLIT_KEYS};
use crate::acoustic::FeatureSetInfo;
use crate::data::error::DataError;

#[derive(Deserialize)]
struct Header {
    feature_set: FeatureSetInfo,
}

/// A line's shape: what its values would cost, before they are read.
#[derive(Deserialize)]
struct RowShape {
    split: String,
    index: u64,
    words: Count,
    features: Rows,
}

#[derive(Deserialize)]
struct RowValues {
    words: Vec<String>,
    features: Vec<Vec<f32>>,
}

/// A JSON array's length; its items are skipped, not kept.
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(V)
    }
}

/// An array of arrays: how many, and the longest.
struct Rows {
    count: usize,
    widest: usize,
}

impl<'de> Deserialize<'de> for Rows {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Rows;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of arrays")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Rows, A::Error> {
                let mut rows = Rows { count: 0, widest: 0 };
                while let Some(Count(n)) = seq.next_element()? {
                    rows.count += 1;
                    rows.widest = rows.widest.max(n);
                }
                Ok(rows)
            }
        }
        d.deserialize_seq(V)
    }
}

/// A word-level JSON Lines file's bytes (format (d)).
pub fn parse_jsonl_audio(bytes: &[u8], path: &Path, bounds: &AudioBounds) -> Result<AudioFile, DataError> {
    // One slot per utterance of the text: lines fill them, none can add to them.
    let mut slots: [Vec<Option<WordFeatures>>; 3] = bounds.counts.map(|n| vec![None; n]);
    let mut dim: Option<usize> = None;
    let mut feature_set = None;
    let mut rows = 0usize;
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let at = |message: String| DataError::line(path, line_no, message);
        let line = std::str::from_utf8(line).map_err(|_| at("not valid UTF-8".into()))?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        if line_no == 1 && line.contains("\"feature_set\"") {
            let header: Header = serde_json::from_str(line).map_err(|e| at(format!("bad feature-set header: {e}")))?;
            let d = header.feature_set.dims.len();
            if d == 0 || d > MAX_FEATURE_DIM {
                return Err(at(format!(
                    "the feature set has {d} dimensions; expected 1 to {MAX_FEATURE_DIM}"
                )));
            }
            dim = Some(d);
            feature_set = Some(header.feature_set);
            continue;
        }
        let shape: RowShape = serde_json::from_str(line).map_err(|e| {
            at(format!(
                "expected {{\"split\", \"index\", \"words\", \"features\"}}: {e}"
            ))
        })?;
        let split = SPLIT_KEYS
            .iter()
            .position(|keys| keys.contains(&shape.split.as_str()))
            .ok_or_else(|| at(format!("unknown split {:?} (train, dev or test)", shape.split)))?;
        let count = bounds.counts[split];
        let index = usize::try_from(shape.index)
            .ok()
            .filter(|&i| i < count)
            .ok_or_else(|| {
                at(format!(
                    "{} utterance {} does not exist: {} has {count} utterances (indices from 0)",
                    shape.split,
                    shape.index,
                    bounds.texts[split].display()
                ))
            })?;
        if shape.words.0 > bounds.max_words {
            return Err(at(format!(
                "{} words, but no transcript in the text splits has more than {}",
                shape.words.0, bounds.max_words
            )));
        }
        if shape.words.0 != shape.features.count {
            return Err(at(format!(
                "{} words but {} feature vectors",
                shape.words.0, shape.features.count
            )));
        }
        let widest = dim.unwrap_or(MAX_FEATURE_DIM);
        if shape.features.widest > widest {
            return Err(at(format!(
                "feature vector of length {}, expected {}",
                shape.features.widest,
                match (dim, &feature_set) {
                    (Some(d), Some(_)) => format!("{d} (the header's feature set)"),
                    (Some(d), None) => d.to_string(),
                    (None, _) => format!("at most {MAX_FEATURE_DIM}"),
                }
            )));
        }
        if slots[split][index].is_some() {
            return Err(at(format!("{} utterance {index} appears twice", shape.split)));
        }
        let row: RowValues = serde_json::from_str(line).map_err(|e| at(format!("bad words or features: {e}")))?;
        for f in &row.features {
            let d = *dim.get_or_insert(f.len());
            if f.len() != d || d == 0 {
                let header = if feature_set.is_some() {
                    " (the header's feature set)"
                } else {
                    ""
                };
                return Err(at(format!(
                    "feature vector of length {}, expected {d}{header}",
                    f.len()
                )));
            }
            if let Some(bad) = f.iter().find(|v| !v.is_finite()) {
                return Err(at(format!("non-finite feature value {bad}")));
            }
        }
        rows += 1;
        slots[split][index] = Some(WordFeatures {
            words: row.words,
            features: row.features,
            line: line_no,
        });
    }
    let dim = dim
        .filter(|_| rows > 0)
        .ok_or_else(|| DataError::file(path, "no utterances"))?;
    let mut parts = Vec::new();
    for (split, slots) in slots.into_iter().enumerate() {
        let missing: Vec<usize> = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none())
            .map(|(i, _)| i)
            .take(5)
            .collect();
        if !missing.is_empty() {
            return Err(DataError::file(
                path,
                format!(
                    "{} utterances {missing:?} have no line ({} has {})",
                    SPLIT_KEYS[split][0],
                    bounds.texts[split].display(),
                    bounds.counts[split]
                ),
            ));
        }
        parts.push((
            SplitFeatures::WordLevel(slots.into_iter().flatten().collect()),
            dim,
            0,
            0,
        ));
    }
    let mut file = assemble(path, AudioFormat::WordJsonl, parts, None)?;
    file.feature_set = feature_set;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn bounds() -> AudioBounds {
        AudioBounds {
            texts: ["train", "dev", "test"].map(|s| PathBuf::from(format!("d/{s}.tsv"))),
            counts: [2, 1, 1],
            max_len: 50,
            max_words: 3,
        }
    }

    fn parse(text: &str) -> Result<AudioFile, DataError> {
        parse_jsonl_audio(text.as_bytes(), Path::new("a.jsonl"), &bounds())
    }

    const OK: &str = r#"{"split": "train", "index": 1, "words": ["A"], "features": [[1, 2]]}
{"split": "train", "index": 0, "words": ["B", "C"], "features": [[1, 2], [3, 4]], "id": "u0"}
{"split": "valid", "index": 0, "words": ["D"], "features": [[0, 0]]}
{"split": "test", "index": 0, "words": ["E"], "features": [[5, 6]]}"#;

    #[test]
    fn lines_fill_the_slots_of_the_text() {
        let file = parse(OK).unwrap();
        assert_eq!(file.dim, 2);
        let SplitFeatures::WordLevel(train) = &file.splits[0] else {
            panic!("word level")
        };
        assert_eq!(train[0].words, ["B", "C"]);
        assert_eq!(train[1].line, 1);
    }

    #[test]
    fn shapes_past_the_text_are_refused_before_their_values() {
        let err_at = |n: usize, line: &str| {
            parse(&OK.replacen(OK.lines().nth(n).unwrap(), line, 1))
                .unwrap_err()
                .to_string()
        };
        let err = |line: &str| err_at(0, line);
        let e = err(r#"{"split": "train", "index": 1000000000, "words": [], "features": []}"#);
        assert!(
            e.starts_with("a.jsonl:1: train utterance 1000000000 does not exist: d/train.tsv has 2"),
            "{e}"
        );
        let e = err(r#"{"split": "train", "index": 18446744073709551615, "words": [], "features": []}"#);
        assert!(e.contains("utterance 18446744073709551615 does not exist"), "{e}");
        let e = err(r#"{"split": "train", "index": -1, "words": [], "features": []}"#);
        assert!(e.starts_with("a.jsonl:1: expected {"), "{e}");
        let e = err(r#"{"split": "train", "index": 1, "words": ["a","b","c","d"], "features": [[1],[1],[1],[1]]}"#);
        assert!(
            e.contains("4 words, but no transcript in the text splits has more than 3"),
            "{e}"
        );
        let wide = format!(
            r#"{{"split": "train", "index": 1, "words": ["A"], "features": [[{}]]}}"#,
            vec!["0"; 4097].join(",")
        );
        assert!(err(&wide).contains("feature vector of length 4097, expected at most 4096"));
        let e = err_at(
            2,
            r#"{"split": "dev", "index": 0, "words": ["A"], "features": [[1, 2, 3]]}"#,
        );
        assert!(e.contains("a.jsonl:3: feature vector of length 3, expected 2"), "{e}");
        let e = err(r#"{"split": "train", "index": 0, "words": ["A"], "features": [[1, 2]]}"#);
        assert!(e.contains("a.jsonl:2: train utterance 0 appears twice"), "{e}");
        let e = err(r#"{"split": "train", "index": 1, "words": ["A"], "features": [[1e39, 2]]}"#);
        assert!(e.contains("non-finite feature value inf"), "{e}");
        // Nesting far past serde_json's recursion limit: an error at the line, no overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = err(&format!(
            r#"{{"split": "train", "index": 1, "words": [{deep}], "features": [{deep}]}}"#
        ));
        assert!(e.starts_with("a.jsonl:1: bad words or features"), "{e}");
    }

    #[test]
    fn missing_lines_name_the_text() {
        let e = parse(&OK.lines().skip(1).collect::<Vec<_>>().join("\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("train utterances [1] have no line (d/train.tsv has 2)"),
            "{e}"
        );
        let e = parse("{\"feature_set\": {\"name\": \"x\", \"dims\": []}}")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("a.jsonl:1:"), "{e}");
    }
}
