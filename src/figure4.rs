//! The paper's Figure 4: its three utterances and the one way they are looked up. The app's
//! `f` key (`ui::browser`) and `export --figure4` (`commands::export`) both find them here,
//! by text, so that any ordering of CMU-MOSI's test split works.

/// The three utterances of the paper's Figure 4, in its order: CMU-MOSI test utterances 272,
/// 531 and 572 (0-based, in the reference `test.tsv`). Written normalised (see [`normalise`]).
pub const SENTENCES: [&str; 3] = [
    "THERE ARE SOME FUNNY MOMENTS",
    "I JUST WANNA SAY THAT I LOVE YOU",
    "I THOUGHT IT WAS FUN",
];

/// The form texts are compared in: runs of whitespace collapsed to one space, ends trimmed,
/// upper case (CMU-MOSI's transcripts are upper case; stray spaces occur).
pub fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase()
}

/// Where each of Figure 4's utterances is among `texts` (the first match), in the figure's
/// order; `None` for one the texts do not hold.
pub fn locate<S: AsRef<str>>(texts: &[S]) -> [Option<usize>; 3] {
    let texts: Vec<String> = texts.iter().map(|t| normalise(t.as_ref())).collect();
    SENTENCES.map(|sentence| texts.iter().position(|t| t == sentence))
}

/// All three positions, in the figure's order; `Err` lists the utterances `texts` lacks.
pub fn find<S: AsRef<str>>(texts: &[S]) -> Result<[usize; 3], Vec<&'static str>> {
    let found = locate(texts);
    let missing: Vec<&'static str> = SENTENCES
        .iter()
        .zip(found)
        .filter(|(_, at)| at.is_none())
        .map(|(sentence, _)| *sentence)
        .collect();
    if missing.is_empty() {
        Ok(found.map(|at| at.expect("none is missing")))
    } else {
        Err(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sentences_are_written_normalised() {
        for s in SENTENCES {
            assert_eq!(normalise(s), s);
        }
    }

    #[test]
    fn texts_match_whatever_their_case_and_spacing() {
        assert_eq!(normalise("  i thought it\tWAS   fun \r"), "I THOUGHT IT WAS FUN");
        let texts = [
            "hello there",
            "  I thought it   WAS fun ",
            "there are some funny moments",
            "THERE ARE SOME FUNNY MOMENTS",
        ];
        assert_eq!(locate(&texts), [Some(2), None, Some(1)], "the first match of each");
        assert_eq!(find(&texts), Err(vec!["I JUST WANNA SAY THAT I LOVE YOU"]));
        let all = ["i just wanna say that i love you", texts[1], texts[2]];
        assert_eq!(find(&all), Ok([2, 0, 1]), "in the figure's order, not the texts'");
        assert_eq!(find::<&str>(&[]), Err(SENTENCES.to_vec()));
        // A longer or shorter text is another utterance.
        assert_eq!(locate(&["I THOUGHT IT WAS FUN!", "THOUGHT IT WAS FUN"]), [None; 3]);
    }
}
