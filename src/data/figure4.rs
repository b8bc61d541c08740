//! The paper's Figure-4 sentences (all in CMU-MOSI's test split), found in a dataset by
//! their text: the browser's `f` key jumps to them, and training records their attention
//! (`train::attention_log`).

/// The three sentences of the paper's Figure 4, all in CMU-MOSI's test split.
pub const FIGURE4: [&str; 3] = [
    "THERE ARE SOME FUNNY MOMENTS",
    "I JUST WANNA SAY THAT I LOVE YOU",
    "I THOUGHT IT WAS FUN",
];

/// Upper case, single spaces: how the sentences are compared.
pub fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase()
}

/// Indices, among `texts` (a test split's), of the Figure-4 sentences it holds, in the
/// figure's order.
pub fn find<'a>(texts: impl Iterator<Item = &'a str> + Clone) -> Vec<usize> {
    FIGURE4
        .iter()
        .filter_map(|sentence| texts.clone().position(|t| normalise(t) == *sentence))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_sentences_whatever_their_case_and_spacing() {
        let texts = ["hello", "i thought  it was fun", "There are some funny moments"];
        assert_eq!(super::find(texts.iter().copied()), vec![2, 1]);
        assert!(super::find(["nothing"].iter().copied()).is_empty());
    }
}
