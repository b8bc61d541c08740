//! Word timings out, as Praat TextGrids in the long text format Montreal Forced Aligner
//! writes (through praatio): one "words" interval tier covering the whole recording, silences
//! as empty intervals. `acoustic::align::parse_textgrid` reads them back.

use crate::acoustic::WordSpan;

/// The TextGrid of a recording of `duration` seconds whose words are `words` (in order, not
/// overlapping, inside [0, duration]). Times print as Rust's shortest exact decimal of the
/// f64, so they read back as the same numbers.
pub fn textgrid(duration: f64, words: &[WordSpan]) -> String {
    let mut intervals: Vec<(f64, f64, &str)> = Vec::with_capacity(2 * words.len() + 1);
    let mut t = 0.0;
    for w in words {
        if w.start > t {
            intervals.push((t, w.start, ""));
        }
        intervals.push((w.start, w.end, &w.word));
        t = w.end;
    }
    if duration > t {
        intervals.push((t, duration, ""));
    }
    let tab = "    ";
    let mut out = String::from("File type = \"ooTextFile\"\nObject class = \"TextGrid\"\n\n");
    out += &format!("xmin = 0 \nxmax = {duration} \ntiers? <exists> \nsize = 1 \nitem []: \n");
    out += &format!("{tab}item [1]:\n");
    out += &format!("{tab}{tab}class = \"IntervalTier\" \n{tab}{tab}name = \"words\" \n");
    out += &format!("{tab}{tab}xmin = 0 \n{tab}{tab}xmax = {duration} \n");
    out += &format!("{tab}{tab}intervals: size = {} \n", intervals.len());
    for (i, (a, b, text)) in intervals.iter().enumerate() {
        out += &format!("{tab}{tab}intervals [{}]:\n", i + 1);
        out += &format!("{tab}{tab}{tab}xmin = {a} \n{tab}{tab}{tab}xmax = {b} \n");
        out += &format!("{tab}{tab}{tab}text = \"{}\" \n", text.replace('"', "\"\""));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::acoustic::align::parse_textgrid;

    #[test]
    fn what_is_written_reads_back_as_the_same_words_and_times() {
        let span = |word: &str, a: usize, b: usize| WordSpan {
            word: word.into(),
            start: a as f64 / 16000.0,
            end: b as f64 / 16000.0,
        };
        let words = vec![
            span("IT", 2400, 5123),
            span("WAS", 5123, 9001),
            span("\"GOOD\"", 10007, 17777),
        ];
        let duration = 20177.0 / 16000.0;
        let text = textgrid(duration, &words);
        assert!(text.contains("intervals: size = 6 "), "{text}");
        let back = parse_textgrid(&text, Path::new("x.TextGrid")).unwrap();
        assert_eq!(back, words);
    }
}
