//! Word timings: Praat TextGrids (a "words" tier, as Montreal Forced Aligner and P2FA write
//! them, long or short text format, UTF-8 or UTF-16), CSV (`word,start,end`) and JSON
//! (`[{"word", "start", "end"}]`), one utterance per file or many keyed by id.
//!
//! Bounded by the file: a TextGrid is tokenised as it is parsed (no token list), and a
//! declared tier or interval count is checked against the bytes left before it is looped
//! on; what is kept is the spans themselves, each from at least a few bytes of the file.
//! serde_json limits nesting to 128 levels; CSV rows are flat. Times must be finite and an
//! interval must not end before it starts. The `parse_*` functions take bytes, for the
//! fuzz tests; `read_words` and `read_many` are thin wrappers that read the file.

use std::collections::BTreeMap;
use std::path::Path;

/// One word of an utterance and where it is spoken.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WordSpan {
    /// The word as the timing file spells it.
    pub word: String,
    /// Seconds from the start of the recording.
    pub start: f64,
    /// Seconds from the start of the recording; not before `start`.
    pub end: f64,
}

/// Spans may end this far past the audio (aligners round to their frame rate).
pub const END_TOLERANCE: f64 = 0.02;

/// Interval labels aligners use for silence, noise and pauses: not words.
const SILENCES: [&str; 6] = ["", "sil", "sp", "spn", "<sil>", "<sp>"];

/// A word-timing file that cannot be used: names the file, the line where there is one, and
/// what was expected (the readers' shared type: `acoustic` imports nothing from the layers
/// that read its output).
pub type AlignError = crate::file_error::FileError;

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// One utterance's words, by extension: `.TextGrid`, `.csv` or `.json`.
pub fn read_words(path: &Path) -> Result<Vec<WordSpan>, AlignError> {
    parse_words(&read(path)?, path)
}

/// [`read_words`] on the file's bytes; `path` chooses the format and names the file.
pub fn parse_words(bytes: &[u8], path: &Path) -> Result<Vec<WordSpan>, AlignError> {
    match extension(path).as_str() {
        "textgrid" => parse_textgrid(&decode(path, bytes)?, path),
        "csv" => {
            let rows = parse_csv(bytes, path, &["word", "start", "end"])?;
            Ok(rows.into_iter().map(|(_, span)| span).collect())
        }
        "json" => {
            let text = decode(path, bytes)?;
            let words: Vec<WordSpan> = serde_json::from_str(&text).map_err(|e| {
                AlignError::line(
                    path,
                    e.line(),
                    format!("expected a list of {{\"word\", \"start\", \"end\"}}: {e}"),
                )
            })?;
            check_texts(&words, path)?;
            Ok(words)
        }
        _ => Err(AlignError::file(
            path,
            "unknown word-timing format: expected .TextGrid, .csv or .json",
        )),
    }
}

/// Many utterances' words keyed by id: CSV `id,word,start,end` or JSON `{"id": [...]}`.
pub fn read_many(path: &Path) -> Result<BTreeMap<String, Vec<WordSpan>>, AlignError> {
    parse_many(&read(path)?, path)
}

/// The whole of a word-timing file the user named: a regular file (a FIFO or `/dev/zero`
/// there would hang the reader or fill the memory), an error naming it.
fn read(path: &Path) -> Result<Vec<u8>, crate::file_error::FileError> {
    crate::fsutil::read_input(path).map_err(|e| crate::file_error::FileError::io(path, e))
}

/// [`read_many`] on the file's bytes; `path` chooses the format and names the file.
pub fn parse_many(bytes: &[u8], path: &Path) -> Result<BTreeMap<String, Vec<WordSpan>>, AlignError> {
    let mut all: BTreeMap<String, Vec<WordSpan>> = BTreeMap::new();
    match extension(path).as_str() {
        "csv" => {
            for (id, span) in parse_csv(bytes, path, &["id", "word", "start", "end"])? {
                all.entry(id.unwrap_or_default()).or_default().push(span);
            }
        }
        "json" => {
            let text = decode(path, bytes)?;
            // Read as a list of entries: a map would silently keep only the last of two
            // equal ids.
            let entries: Entries = serde_json::from_str(&text).map_err(|e| {
                AlignError::line(
                    path,
                    e.line(),
                    format!("expected {{\"ID\": [{{\"word\", \"start\", \"end\"}}, ...]}}: {e}"),
                )
            })?;
            for (id, words) in entries.0 {
                check_texts(&words, path)?;
                if all.insert(id.clone(), words).is_some() {
                    return Err(AlignError::file(path, format!("id {id:?} appears twice")));
                }
            }
        }
        _ => {
            return Err(AlignError::file(
                path,
                "one file for all recordings must be .csv (id,word,start,end) or .json; for TextGrids give a directory",
            ))
        }
    }
    Ok(all)
}

/// A JSON object's entries in file order, duplicates kept.
struct Entries(Vec<(String, Vec<WordSpan>)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object mapping recording ids to word lists")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

fn check_texts(words: &[WordSpan], path: &Path) -> Result<(), AlignError> {
    match words.iter().position(|w| w.word.trim().is_empty()) {
        Some(i) => Err(AlignError::file(path, format!("word {} has no text", i + 1))),
        None => Ok(()),
    }
}

/// Rows of a CSV with the named columns (any order, case-insensitive; others ignored).
fn parse_csv(bytes: &[u8], path: &Path, columns: &[&str]) -> Result<Vec<(Option<String>, WordSpan)>, AlignError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| AlignError::line(path, 1, e.to_string()))?
        .clone();
    let index = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let positions: Vec<usize> = columns
        .iter()
        .map(|c| {
            index(c).ok_or_else(|| {
                AlignError::line(
                    path,
                    1,
                    format!("no column {c:?}; expected the header {}", columns.join(",")),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let has_id = columns[0] == "id";
    let (word_at, start_at, end_at) = if has_id {
        (positions[1], positions[2], positions[3])
    } else {
        (positions[0], positions[1], positions[2])
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            AlignError::line(path, line, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let field = |at: usize| record.get(at).unwrap_or("");
        let number = |at: usize, name: &str| {
            field(at).parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
                AlignError::line(path, line, format!("{name} {:?} is not a number of seconds", field(at)))
            })
        };
        let word = field(word_at).to_string();
        if word.is_empty() {
            return Err(AlignError::line(path, line, "empty word"));
        }
        let id = has_id.then(|| field(positions[0]).to_string());
        if id.as_deref() == Some("") {
            return Err(AlignError::line(path, line, "empty id"));
        }
        rows.push((
            id,
            WordSpan {
                word,
                start: number(start_at, "start")?,
                end: number(end_at, "end")?,
            },
        ));
    }
    Ok(rows)
}

/// UTF-8 (with or without a BOM) or UTF-16 with a BOM, as Praat writes.
fn decode(path: &Path, bytes: &[u8]) -> Result<String, AlignError> {
    let utf16 = |bytes: &[u8], from: fn([u8; 2]) -> u16| {
        let units: Vec<u16> = bytes.chunks_exact(2).map(|c| from([c[0], c[1]])).collect();
        String::from_utf16(&units).map_err(|_| AlignError::file(path, "invalid UTF-16 text"))
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        [0xEF, 0xBB, 0xBF, rest @ ..] => std::str::from_utf8(rest)
            .map(str::to_string)
            .map_err(|_| AlignError::file(path, "not valid UTF-8")),
        _ => std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| AlignError::file(path, "not valid UTF-8 (or UTF-16 with a byte-order mark)")),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Text(String),
}

/// The values of a TextGrid in order, with their lines, read as they are asked for. Praat's
/// long and short formats hold the same values in the same order; the long one adds
/// `key =` labels, `item [n]:` headers and `<exists>` flags, which carry nothing the order
/// does not.
struct Cursor<'a> {
    text: &'a str,
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    /// The line the scan is on.
    line: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str, path: &'a Path) -> Self {
        Self {
            text,
            chars: text.char_indices().peekable(),
            line: 1,
            path,
        }
    }

    /// Bytes not yet scanned: a declared count must fit in them.
    fn left(&mut self) -> usize {
        self.chars.peek().map_or(0, |&(i, _)| self.text.len() - i)
    }

    /// The next value and its line, `None` at the end of the text.
    fn next_token(&mut self) -> Result<Option<(Token, usize)>, AlignError> {
        while let Some((i, c)) = self.chars.next() {
            match c {
                '\n' => self.line += 1,
                '"' => {
                    let start_line = self.line;
                    let mut s = String::new();
                    loop {
                        match self.chars.next() {
                            Some((_, '"')) if self.chars.peek().map(|p| p.1) == Some('"') => {
                                self.chars.next();
                                s.push('"');
                            }
                            Some((_, '"')) => break,
                            Some((_, ch)) => {
                                if ch == '\n' {
                                    self.line += 1;
                                }
                                s.push(ch);
                            }
                            None => {
                                return Err(AlignError::line(
                                    self.path,
                                    start_line,
                                    "a text that never ends (missing closing quote)",
                                ))
                            }
                        }
                    }
                    return Ok(Some((Token::Text(s), start_line)));
                }
                '!' => {
                    // A comment to the end of the line.
                    while self.chars.peek().is_some_and(|p| p.1 != '\n') {
                        self.chars.next();
                    }
                }
                c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                    let mut end = i + c.len_utf8();
                    while let Some(&(j, d)) = self.chars.peek() {
                        if d.is_ascii_alphanumeric() || d == '.' || d == '-' || d == '+' {
                            end = j + d.len_utf8();
                            self.chars.next();
                        } else {
                            break;
                        }
                    }
                    // `item [1]:` and `intervals [3]:` are headers, not values.
                    if !self.text[..i].trim_end().ends_with('[') {
                        let word = &self.text[i..end];
                        let v = word
                            .parse::<f64>()
                            .map_err(|_| AlignError::line(self.path, self.line, format!("{word:?} is not a number")))?;
                        return Ok(Some((Token::Number(v), self.line)));
                    }
                }
                _ => {
                    // Keys (`xmin =`), `<exists>`, `tiers?`, brackets: skip the word.
                    if c.is_alphabetic() || c == '<' {
                        while self
                            .chars
                            .peek()
                            .is_some_and(|p| p.1.is_alphanumeric() || matches!(p.1, '>' | '?' | '_'))
                        {
                            self.chars.next();
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    fn ends(&self, what: &str) -> AlignError {
        AlignError::line(self.path, self.line, format!("the file ends where {what} was expected"))
    }

    fn number(&mut self, what: &str) -> Result<(f64, usize), AlignError> {
        match self.next_token()? {
            Some((Token::Number(v), line)) => Ok((v, line)),
            Some((Token::Text(s), line)) => Err(AlignError::line(
                self.path,
                line,
                format!("expected {what} (a number), found {s:?}"),
            )),
            None => Err(self.ends(what)),
        }
    }

    /// A time in seconds: a finite number.
    fn time(&mut self, what: &str) -> Result<f64, AlignError> {
        let (v, line) = self.number(what)?;
        if !v.is_finite() {
            return Err(AlignError::line(self.path, line, format!("{what} {v} is not a time")));
        }
        Ok(v)
    }

    fn text(&mut self, what: &str) -> Result<String, AlignError> {
        match self.next_token()? {
            Some((Token::Text(s), _)) => Ok(s),
            Some((Token::Number(v), line)) => Err(AlignError::line(
                self.path,
                line,
                format!("expected {what} (a quoted text), found {v}"),
            )),
            None => Err(self.ends(what)),
        }
    }

    /// A count of things that each take at least a byte of what is left of the file.
    fn count(&mut self, what: &str) -> Result<usize, AlignError> {
        let (v, line) = self.number(what)?;
        if v < 0.0 || v.fract() != 0.0 || v > self.left() as f64 {
            let shown = if v.abs() < 1e15 {
                v.to_string()
            } else {
                format!("{v:e}")
            };
            return Err(AlignError::line(
                self.path,
                line,
                format!("{what} {shown} is not a count of what the rest of the file holds"),
            ));
        }
        Ok(v as usize)
    }
}

/// The words of a TextGrid's "words" tier (or MFA's "SPEAKER - words"), silences left out.
pub fn parse_textgrid(text: &str, path: &Path) -> Result<Vec<WordSpan>, AlignError> {
    let mut c = Cursor::new(text, path);
    let (file_type, object) = (c.text("the file type")?, c.text("the object class")?);
    if file_type != "ooTextFile" || object != "TextGrid" {
        return Err(AlignError::line(
            path,
            1,
            format!("not a Praat TextGrid: expected \"ooTextFile\" / \"TextGrid\", found {file_type:?} / {object:?}"),
        ));
    }
    let xmin = c.time("xmin")?;
    let xmax = c.time("xmax")?;
    if xmax < xmin {
        return Err(AlignError::line(
            path,
            c.line,
            format!("xmax {xmax} is before xmin {xmin}"),
        ));
    }
    let tier_count = c.count("the number of tiers")?;
    let mut tiers: Vec<(String, Vec<WordSpan>)> = Vec::new();
    for _ in 0..tier_count {
        let class = c.text("a tier class")?;
        let name = c.text("a tier name")?;
        c.time("the tier's xmin")?;
        c.time("the tier's xmax")?;
        let n = c.count("the number of intervals")?;
        let mut spans = Vec::new();
        match class.as_str() {
            "IntervalTier" => {
                for _ in 0..n {
                    let start = c.time("an interval's xmin")?;
                    let end = c.time("an interval's xmax")?;
                    if end < start {
                        return Err(AlignError::line(
                            path,
                            c.line,
                            format!("an interval ends ({end}) before it starts ({start})"),
                        ));
                    }
                    let label = c.text("an interval's text")?;
                    let word = label.trim();
                    if !SILENCES.iter().any(|s| s.eq_ignore_ascii_case(word)) {
                        spans.push(WordSpan {
                            word: word.to_string(),
                            start,
                            end,
                        });
                    }
                }
            }
            "TextTier" => {
                for _ in 0..n {
                    c.time("a point's time")?;
                    c.text("a point's mark")?;
                }
            }
            other => {
                return Err(AlignError::line(
                    path,
                    c.line,
                    format!("unknown tier class {other:?} (expected IntervalTier or TextTier)"),
                ))
            }
        }
        if class == "IntervalTier" {
            tiers.push((name, spans));
        }
    }
    // Values after the declared tiers mean the counts undercount the content: reading by the
    // counts alone would drop words without a word.
    if let Some((_, line)) = c.next_token()? {
        return Err(AlignError::line(
            path,
            line,
            format!(
                "a value after the last of the {tier_count} declared tiers: the file's counts do not match its content"
            ),
        ));
    }
    let names: Vec<&str> = tiers.iter().map(|t| t.0.as_str()).collect();
    let words: Vec<usize> = (0..tiers.len())
        .filter(|&i| {
            let name = tiers[i].0.trim().to_lowercase();
            name == "words" || name == "word" || name.ends_with(" - words")
        })
        .collect();
    match words[..] {
        [i] => Ok(tiers.swap_remove(i).1),
        [] => Err(AlignError::file(
            path,
            format!("no tier named \"words\" (interval tiers: {names:?})"),
        )),
        _ => Err(AlignError::file(
            path,
            format!(
                "several word tiers ({:?}): one speaker per recording, please",
                words.iter().map(|&i| names[i]).collect::<Vec<_>>()
            ),
        )),
    }
}

/// Checks one utterance's words against its audio: some words, in time order, none empty,
/// overlapping, negative or past the end.
pub fn validate(words: &[WordSpan], duration: f64, source: &Path) -> Result<(), AlignError> {
    if words.is_empty() {
        return Err(AlignError::file(source, "no words (only silences)"));
    }
    let mut previous_end = 0.0;
    for (i, w) in words.iter().enumerate() {
        let at = || format!("word {} {:?} ({:.3}-{:.3} s)", i + 1, w.word, w.start, w.end);
        if !w.start.is_finite() || !w.end.is_finite() || w.start < 0.0 {
            return Err(AlignError::file(
                source,
                format!("{}: times must be finite and not negative", at()),
            ));
        }
        if w.end <= w.start {
            return Err(AlignError::file(
                source,
                format!("{}: empty span (end not after start)", at()),
            ));
        }
        if w.start < previous_end - 1e-6 {
            return Err(AlignError::file(
                source,
                format!(
                    "{}: overlaps the previous word, which ends at {previous_end:.3} s",
                    at()
                ),
            ));
        }
        if w.end > duration + END_TOLERANCE {
            return Err(AlignError::file(
                source,
                format!("{}: ends after the audio, which is {duration:.3} s long", at()),
            ));
        }
        previous_end = w.end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: &str = r#"File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 1.5
tiers? <exists>
size = 3
item []:
    item [1]:
        class = "TextTier"
        name = "events"
        xmin = 0
        xmax = 1.5
        points: size = 1
        points [1]:
            number = 0.7
            mark = "laugh"
    item [2]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 1.5
        intervals: size = 4
        intervals [1]:
            xmin = 0
            xmax = 0.2
            text = ""
        intervals [2]:
            xmin = 0.2
            xmax = 0.65
            text = "so"
        intervals [3]:
            xmin = 0.65
            xmax = 0.7
            text = "sp"
        intervals [4]:
            xmin = 0.7
            xmax = 1.45
            text = "he said ""fun"""
    item [3]:
        class = "IntervalTier"
        name = "phones"
        xmin = 0
        xmax = 1.5
        intervals: size = 1
        intervals [1]:
            xmin = 0
            xmax = 1.5
            text = "s"
"#;

    const SHORT: &str = "File type = \"ooTextFile\"\nObject class = \"TextGrid\"\n\n0\n2.0300000000000002\n<exists>\n1\n\"IntervalTier\"\n\"spk1 - words\"\n0\n2.0300000000000002\n2\n0\n1e-1\n\"\"\n0.1\n2.03\n\"fine\"\n";

    fn p() -> &'static Path {
        Path::new("x.TextGrid")
    }

    fn span(word: &str, start: f64, end: f64) -> WordSpan {
        WordSpan {
            word: word.into(),
            start,
            end,
        }
    }

    #[test]
    fn long_format_reads_the_words_tier_past_point_tiers_and_silences() {
        let words = parse_textgrid(LONG, p()).unwrap();
        assert_eq!(words, [span("so", 0.2, 0.65), span("he said \"fun\"", 0.7, 1.45)]);
    }

    #[test]
    fn short_format_and_mfa_speaker_tiers() {
        assert_eq!(parse_textgrid(SHORT, p()).unwrap(), [span("fine", 0.1, 2.03)]);
    }

    #[test]
    fn the_generated_fixture_reads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/speech/utt01.TextGrid");
        let words = read_words(&path).unwrap();
        let text: Vec<&str> = words.iter().map(|w| w.word.as_str()).collect();
        assert_eq!(text, ["it", "is", "so", "good"]);
        let csv = read_words(&path.with_file_name("variants/utt01.csv")).unwrap();
        let json = read_words(&path.with_file_name("variants/utt01.json")).unwrap();
        assert_eq!(csv, words);
        assert_eq!(json, words);
    }

    #[test]
    fn utf16_textgrids_as_praat_writes_them() {
        let text = LONG.replace("\"so\"", "\"ça\"");
        for (bom, encode) in [
            ([0xFF, 0xFE], u16::to_le_bytes as fn(u16) -> [u8; 2]),
            ([0xFE, 0xFF], u16::to_be_bytes),
        ] {
            let mut bytes = bom.to_vec();
            bytes.extend(text.encode_utf16().flat_map(encode));
            let decoded = decode(p(), &bytes).unwrap();
            assert_eq!(parse_textgrid(&decoded, p()).unwrap()[0].word, "ça");
        }
        let err = decode(p(), &[0xC3, 0x28]).unwrap_err().to_string();
        assert!(err.contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn textgrid_errors_name_the_problem() {
        let err = parse_textgrid(&LONG.replace("\"words\"", "\"ortho\""), p())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no tier named \"words\"") && err.contains("\"ortho\", \"phones\""),
            "{err}"
        );
        let err = parse_textgrid("hello", p()).unwrap_err().to_string();
        assert!(err.starts_with("x.TextGrid:1:"), "{err}");
        let err = parse_textgrid(&LONG.replace("xmax = 0.65", "xmax = zero"), p())
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected an interval's xmax (a number)"), "{err}");
        // Cut anywhere, never a panic, always an error or a shorter list.
        for cut in 0..LONG.len() {
            if LONG.is_char_boundary(cut) {
                let _ = parse_textgrid(&LONG[..cut], p());
            }
        }
        let err = parse_textgrid(&LONG[..LONG.len() / 2], p()).unwrap_err().to_string();
        assert!(err.contains("the file ends"), "{err}");
    }

    #[test]
    fn hostile_counts_and_times_are_refused() {
        let err = |t: &str| parse_textgrid(t, p()).unwrap_err().to_string();
        // A short-format TextGrid declaring 10 million intervals in 100 bytes.
        let e = err(&SHORT.replace("\n2\n0\n1e-1", "\n10000000\n0\n1e-1"));
        assert!(
            e.contains(
                "x.TextGrid:12: the number of intervals 10000000 is not a count of what the rest of the file holds"
            ),
            "{e}"
        );
        let e = err(&SHORT.replace("\n1\n\"IntervalTier\"", "\n1e300\n\"IntervalTier\""));
        assert!(e.contains("the number of tiers 1e300 is not a count"), "{e}");
        let e = err(&LONG.replace("xmax = 0.65", "xmax = 1e999"));
        assert!(e.contains("an interval's xmax inf is not a time"), "{e}");
        let e = err(&LONG.replace("xmax = 0.65", "xmax = -nan"));
        assert!(e.contains("is not a time"), "{e}");
        let e = err(&LONG.replace("xmax = 0.65", "xmax = 0.1"));
        assert!(e.contains("an interval ends (0.1) before it starts (0.2)"), "{e}");
        let e = err(&LONG.replacen("xmax = 1.5", "xmax = -1", 1));
        assert!(e.contains("xmax -1 is before xmin 0"), "{e}");
        // More content than the counts declare (an undercounted tier, or trailing debris).
        let e = err(&format!("{SHORT}\n0.9\n1.0\n\"extra\"\n"));
        assert!(e.contains("after the last of the 1 declared tiers"), "{e}");
        let e = err(&format!("{SHORT}\n\"unterminated\n"));
        assert!(e.contains("never ends"), "{e}");
        // CSV: numbers that are not finite are not times.
        let e = parse_words(b"word,start,end\nhi,0,inf\n", Path::new("t.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:2: end \"inf\" is not a number of seconds"), "{e}");
        // JSON nested past serde_json's limit is an error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_words(deep.as_bytes(), Path::new("t.json")).is_err());
        assert!(parse_many(deep.as_bytes(), Path::new("t.json")).is_err());
    }

    #[test]
    fn csv_and_json_files() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("a.csv");
        std::fs::write(&csv, "End,note,Word,start\n0.5,x,hello,0.1\n0.9, ,world,0.5\n").unwrap();
        assert_eq!(
            read_words(&csv).unwrap(),
            [span("hello", 0.1, 0.5), span("world", 0.5, 0.9)]
        );
        std::fs::write(&csv, "word,start,end\nhello,0.1,0.5\nworld,half,0.9\n").unwrap();
        let err = read_words(&csv).unwrap_err().to_string();
        assert!(err.contains("a.csv:3:") && err.contains("start \"half\""), "{err}");
        std::fs::write(&csv, "word,begin,end\nhello,0.1,0.5\n").unwrap();
        let err = read_words(&csv).unwrap_err().to_string();
        assert!(err.contains("a.csv:1:") && err.contains("no column \"start\""), "{err}");

        let many = dir.path().join("all.csv");
        std::fs::write(&many, "id,word,start,end\nu2,b,0,1\nu1,a,0,1\nu2,c,1,2\n").unwrap();
        let all = read_many(&many).unwrap();
        let blank = dir.path().join("blank.csv");
        std::fs::write(&blank, "id,word,start,end\n,a,0,1\n").unwrap();
        let err = read_many(&blank).unwrap_err().to_string();
        assert!(err.contains("blank.csv:2: empty id"), "{err}");
        assert_eq!(all["u2"], [span("b", 0.0, 1.0), span("c", 1.0, 2.0)]);
        assert_eq!(all["u1"], [span("a", 0.0, 1.0)]);
        let json = dir.path().join("all.json");
        std::fs::write(&json, r#"{"u1": [{"word": "a", "start": 0, "end": 1}]}"#).unwrap();
        assert_eq!(read_many(&json).unwrap()["u1"], [span("a", 0.0, 1.0)]);
        std::fs::write(&json, "{\"u1\": [\n{\"word\": \"a\", \"start\": 0}]}").unwrap();
        let err = read_many(&json).unwrap_err().to_string();
        assert!(err.contains("all.json:2:") && err.contains("end"), "{err}");
        std::fs::write(&json, r#"{"u1": [{"word": "a", "start": 0, "end": 1}], "u1": []}"#).unwrap();
        let err = read_many(&json).unwrap_err().to_string();
        assert!(err.contains("id \"u1\" appears twice"), "{err}");
    }

    #[test]
    fn validation_names_the_word_and_times() {
        let check = |words: &[WordSpan]| validate(words, 2.0, p()).unwrap_err().to_string();
        assert!(check(&[]).contains("no words"));
        let e = check(&[span("a", 0.5, 0.5)]);
        assert!(e.contains("word 1 \"a\" (0.500-0.500 s): empty span"), "{e}");
        let e = check(&[span("a", 0.1, 0.6), span("b", 0.5, 0.9)]);
        assert!(
            e.contains("word 2 \"b\"") && e.contains("overlaps") && e.contains("0.600"),
            "{e}"
        );
        let e = check(&[span("a", 1.5, 2.5)]);
        assert!(e.contains("ends after the audio, which is 2.000 s long"), "{e}");
        assert!(check(&[span("a", -0.1, 0.5)]).contains("not negative"));
        assert!(
            validate(&[span("a", 0.0, 2.01)], 2.0, p()).is_ok(),
            "within the aligner's rounding"
        );
    }
}
