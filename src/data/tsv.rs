//! The MOSI-text layout distributed with the reference code: a directory with `train.tsv`,
//! `dev.tsv`, `test.tsv`; a `text<TAB>label` header (after a UTF-8 byte-order mark, if a
//! spreadsheet tool wrote one); CRLF or LF; no quoting. A third
//! column `id` (header `text<TAB>label<TAB>id`) names each utterance's recording, for
//! `cmbert-tui features`.

use std::path::{Path, PathBuf};

use super::error::DataError;

/// Labels are sentiment scores in [-3, 3].
pub const LABEL_RANGE: (f32, f32) = (-3.0, 3.0);

/// One of the three splits of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Trained on.
    Train,
    /// Chooses the best epoch.
    Dev,
    /// Reported.
    Test,
}

impl Split {
    /// The three splits, in file order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Dev, Split::Test];

    /// `train`, `dev` or `test`: the file stem and the command line's name.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Dev => "dev",
            Split::Test => "test",
        }
    }

    /// Position in arrays indexed by split (`ALL` order).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The split's file in `dir` (`dir/dev.tsv`).
    pub fn tsv_path(self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.tsv", self.name()))
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A label for display: `+1.20`, or `n/a` for an unlabelled recording (NaN).
pub fn label_text(label: f32, decimals: usize) -> String {
    if label.is_nan() {
        "n/a".to_string()
    } else {
        format!("{label:+.decimals$}")
    }
}

/// One line of a split.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// The utterance's text.
    pub text: String,
    /// Sentiment label in [-3, 3].
    pub label: f32,
    /// The recording's name (a WAV file's stem), when the file has an `id` column.
    pub id: Option<String>,
    /// 1-based line in the file, for messages.
    pub line: usize,
}

/// Reads one split's TSV; an error names the file and line.
pub fn read_split(path: &Path) -> Result<Vec<Utterance>, DataError> {
    // A regular file only: a FIFO there would block, `/dev/zero` would fill the memory.
    let content = crate::fsutil::read_input(path).map_err(|e| crate::file_error::FileError::io(path, e))?;
    parse_split_bytes(path, &content)
}

/// [`parse_split`] on a file's bytes, which must be UTF-8; `path` names it in messages.
pub fn parse_split_bytes(path: &Path, bytes: &[u8]) -> Result<Vec<Utterance>, DataError> {
    let content = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
        DataError::line(path, line, "not valid UTF-8")
    })?;
    parse_split(path, content)
}

/// Parses a split's text; `path` names it in messages. A leading UTF-8 byte-order mark
/// (spreadsheet tools write one) is not part of the header.
pub fn parse_split(path: &Path, content: &str) -> Result<Vec<Utterance>, DataError> {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let mut lines = content
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate();
    let with_id = match lines.next() {
        Some((_, header)) if header.trim().eq_ignore_ascii_case("text\tlabel") => false,
        Some((_, header)) if header.trim().eq_ignore_ascii_case("text\tlabel\tid") => true,
        Some((_, header)) => {
            return Err(DataError::line(
                path,
                1,
                format!("expected the header \"text<TAB>label\" (or \"text<TAB>label<TAB>id\"), found {header:?}"),
            ))
        }
        None => return Err(DataError::file(path, "empty file")),
    };
    let mut rows = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let (text, label, id) = match (with_id, &fields[..]) {
            (false, [text, label]) => (*text, *label, None),
            (true, [text, label, id]) if !id.trim().is_empty() => (*text, *label, Some(id.trim().to_string())),
            (true, [_, _, _]) => return Err(DataError::line(path, line_no, "empty id")),
            _ => {
                let expected = if with_id {
                    "3 tab-separated fields (text, label, id)"
                } else {
                    "2 tab-separated fields (text, label)"
                };
                return Err(DataError::line(
                    path,
                    line_no,
                    format!("expected {expected}, found {}", fields.len()),
                ));
            }
        };
        let label: f32 = label
            .trim()
            .parse()
            .map_err(|_| DataError::line(path, line_no, format!("label {label:?} is not a number")))?;
        if !label.is_finite() || !(LABEL_RANGE.0..=LABEL_RANGE.1).contains(&label) {
            return Err(DataError::line(
                path,
                line_no,
                format!("label {label} is outside [-3, 3]"),
            ));
        }
        rows.push(Utterance {
            text: text.to_string(),
            label,
            id,
            line: line_no,
        });
    }
    if rows.is_empty() {
        return Err(DataError::file(path, "no utterances after the header"));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<Utterance>, DataError> {
        parse_split(Path::new("x/train.tsv"), s)
    }

    #[test]
    fn crlf_and_lf_and_trailing_space() {
        let rows = parse("text\tlabel\r\nA LOT OF SAD PARTS \t-0.5\r\nTHERE IS\t1\r\n").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].text, "A LOT OF SAD PARTS ");
        assert_eq!(rows[0].label, -0.5);
        assert_eq!(rows[1].line, 3);
        assert_eq!(parse("text\tlabel\nA\t0.0").unwrap()[0].label, 0.0);
        let with_ids = parse("text\tlabel\tid\r\nI LOVE IT\t2.5\tutt01\r\n").unwrap();
        assert_eq!(with_ids[0].id.as_deref(), Some("utt01"));
        assert_eq!(rows[0].id, None);
    }

    #[test]
    fn bad_rows_name_the_line() {
        let err = |s| parse(s).unwrap_err().to_string();
        assert_eq!(
            err("text\tlabel\nA\t1\nB\n"),
            "x/train.tsv:3: expected 2 tab-separated fields (text, label), found 1"
        );
        assert!(err("text\tlabel\nA\tpositive\n").contains(":2: label \"positive\" is not a number"));
        assert!(err("text\tlabel\nA\t3.5\n").contains(":2: label 3.5 is outside [-3, 3]"));
        assert!(err("text\tlabel\nA\tNaN\n").contains("outside"));
        assert!(err("sentence,score\nA,1\n").contains(":1: expected the header"));
        assert!(err("text\tlabel\n\n").contains("no utterances"));
        assert!(
            err("text\tlabel\tid\nA\t1\n").contains(":2: expected 3 tab-separated fields (text, label, id), found 2")
        );
        assert!(err("text\tlabel\tid\nA\t1\t \n").contains(":2: empty id"));
        assert!(err("").contains("expected the header") || err("").contains("empty"));
    }

    #[test]
    fn a_byte_order_mark_before_the_header_is_skipped() {
        let rows = parse("\u{feff}text\tlabel\r\nGOOD\t1\r\n").unwrap();
        assert_eq!((rows[0].text.as_str(), rows[0].line), ("GOOD", 2));
        // Only at the start: a mark inside a row's text stays part of the text.
        assert_eq!(parse("text\tlabel\n\u{feff}A\t1\n").unwrap()[0].text, "\u{feff}A");
    }
}
