//! An example's encoding as it is kept: compact, expanded when a batch or a heatmap asks.
//!
//! A dataset holds every utterance's encoding for the whole run, so its size per utterance
//! is what grows with the number of utterances (the audio rows are shared, the batches are
//! made per step: docs/BENCHMARKS.md, "MMSA at MOSEI scale"). [`Encoded`] pads its ids and
//! mask to `max_len` and keeps each token and word as a `String` of its own, about 3.2 KB an
//! utterance; [`Packed`] keeps the real ids, the token strings in one buffer and the word
//! index of each token, a few hundred bytes. The mask and the padding are made from the
//! length when a batch is built, and the words are the example's text split again
//! ([`tokenize::words`](super::tokenize::words)).

use super::tokenize::Encoded;

/// `token_words` entry of `[CLS]` and `[SEP]` (a token of no word).
const NO_WORD: u32 = u32::MAX;

/// One utterance's tokens, ids and token-to-word map, without padding.
#[derive(Debug, Clone, PartialEq)]
pub struct Packed {
    /// The real ids, `[CLS]` and `[SEP]` included.
    ids: Box<[u32]>,
    /// The real tokens, one after the other; token `t` ends at `token_ends[t]`.
    tokens: Box<str>,
    token_ends: Box<[u32]>,
    /// Per real token, its word's index, or [`NO_WORD`].
    token_words: Box<[u32]>,
    /// Token positions a batch of it has (the encoder's `max_len`).
    max_len: u32,
    truncated: bool,
}

impl From<&Encoded> for Packed {
    fn from(e: &Encoded) -> Self {
        // The mask's ones are the real positions (`Encoded::len` counts tokens, which a
        // hand-made `Encoded` may leave empty).
        let real = e.attention_mask.iter().take_while(|&&m| m > 0.0).count();
        let mut token_ends = Vec::with_capacity(e.tokens.len());
        let mut end = 0usize;
        for t in &e.tokens {
            end += t.len();
            token_ends.push(u32::try_from(end).unwrap_or(u32::MAX));
        }
        Self {
            ids: e.input_ids[..real].into(),
            tokens: e.tokens.concat().into(),
            token_ends: token_ends.into(),
            token_words: e
                .token_words
                .iter()
                .map(|w| w.map_or(NO_WORD, |w| u32::try_from(w).unwrap_or(NO_WORD)))
                .collect(),
            max_len: u32::try_from(e.input_ids.len()).unwrap_or(u32::MAX),
            truncated: e.truncated,
        }
    }
}

impl From<Encoded> for Packed {
    fn from(e: Encoded) -> Self {
        Self::from(&e)
    }
}

impl Packed {
    /// Real tokens, `[CLS]` and `[SEP]` included (padding not).
    pub fn len(&self) -> usize {
        self.token_ends.len()
    }

    /// Whether there is no real token.
    pub fn is_empty(&self) -> bool {
        self.token_ends.is_empty()
    }

    /// Token positions of a batch (the encoder's `max_len`).
    pub fn max_len(&self) -> usize {
        self.max_len as usize
    }

    /// The real ids, `[CLS]` and `[SEP]` included, without padding.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// `max_len` ids, padded with 0 (as [`Encoded::input_ids`]).
    pub fn input_ids(&self) -> impl Iterator<Item = u32> + '_ {
        let pad = self.max_len().saturating_sub(self.ids.len());
        self.ids.iter().copied().chain(std::iter::repeat_n(0, pad))
    }

    /// `max_len` values, 1.0 on real tokens (as [`Encoded::attention_mask`]).
    pub fn attention_mask(&self) -> impl Iterator<Item = f32> {
        let real = self.ids.len().min(self.max_len());
        (0..self.max_len()).map(move |i| if i < real { 1.0 } else { 0.0 })
    }

    /// The real tokens, `[CLS]` and `[SEP]` included.
    pub fn tokens(&self) -> Vec<&str> {
        let mut start = 0;
        self.token_ends
            .iter()
            .map(|&end| {
                let t = &self.tokens[start..end as usize];
                start = end as usize;
                t
            })
            .collect()
    }

    /// For each real token, the index of its word; `None` for `[CLS]` and `[SEP]`.
    pub fn token_words(&self) -> Vec<Option<usize>> {
        self.token_words
            .iter()
            .map(|&w| (w != NO_WORD).then_some(w as usize))
            .collect()
    }

    /// Whether pieces were cut to fit `max_len`.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Heap bytes it holds (for the scale benchmark and its test).
    pub fn heap_bytes(&self) -> usize {
        self.ids.len() * 4 + self.tokens.len() + self.token_ends.len() * 4 + self.token_words.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::TextEncoder;

    fn encoder() -> TextEncoder {
        let dir = tempfile::tempdir().unwrap();
        let vocab = dir.path().join("vocab.txt");
        let words = "[PAD] [UNK] [CLS] [SEP] the movie was fun ##ny great 我 很 好";
        std::fs::write(&vocab, words.split(' ').collect::<Vec<_>>().join("\n")).unwrap();
        TextEncoder::from_file(&vocab, 12).unwrap()
    }

    #[test]
    fn expands_to_exactly_what_encode_gives() {
        let enc = encoder();
        for text in [
            "the movie was funny",
            "我很好 great",
            "",
            "zzz the",
            "the the the the the the the the the the the",
        ] {
            let e = enc.encode(text).unwrap();
            let p = Packed::from(&e);
            assert_eq!(p.input_ids().collect::<Vec<_>>(), e.input_ids, "{text}");
            assert_eq!(p.attention_mask().collect::<Vec<_>>(), e.attention_mask, "{text}");
            assert_eq!(p.tokens(), e.tokens, "{text}");
            assert_eq!(p.token_words(), e.token_words, "{text}");
            assert_eq!(
                (p.len(), p.max_len(), p.truncated()),
                (e.len(), 12, e.truncated),
                "{text}"
            );
            assert_eq!(crate::data::tokenize::words(text), e.words, "{text}");
        }
    }

    /// The bound (docs/BENCHMARKS.md): a MOSEI-like utterance must cost a few hundred
    /// bytes, not the 3.2 KB of a padded `Encoded`.
    #[test]
    fn a_sentence_costs_a_few_hundred_bytes() {
        let enc = encoder();
        let text = "the movie was funny the movie was great";
        let p = Packed::from(enc.encode(text).unwrap());
        let bytes = std::mem::size_of::<Packed>() + p.heap_bytes();
        assert!(bytes < 250, "{bytes} bytes");
    }
}
