//! Text encoding of docs/MODEL.md §2: lower-cased WordPiece, `[CLS] pieces [SEP]`, truncation
//! to `max_len - 2` pieces, padding with id 0 to exactly `max_len`, segment ids all 0.
//!
//! Chinese (CH-SIMS, a Chinese BERT's vocabulary): every CJK ideograph is a token of its
//! own, as BERT's BasicTokenizer makes it (`tokenize_chinese_chars`), from `vocab.txt` and
//! from a WordPiece `tokenizer.json` alike; and a word of its own (see [`word_spans`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{Encoding, ModelWrapper, PreTokenizerWrapper, SplitDelimiterBehavior, Tokenizer};

/// The reference's fixed sequence length.
pub const DEFAULT_MAX_LEN: usize = 50;

/// Why text could not be encoded; names the vocabulary file where one is involved.
#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    #[error("{path}: cannot build a tokenizer: {message}")]
    /// The tokenizer could not be built from the vocabulary.
    Load {
        /// The vocabulary or tokenizer file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    #[error("{path}: the vocabulary has no {token} token")]
    /// The vocabulary lacks a token the encoding needs.
    MissingSpecial {
        /// The vocabulary file.
        path: PathBuf,
        /// The token: `[CLS]`, `[SEP]` or `[UNK]`.
        token: &'static str,
    },
    #[error("cannot tokenize {text:?}: {message}")]
    /// The tokenizer refused a text.
    Encode {
        /// The text.
        text: String,
        /// The tokenizer's reason.
        message: String,
    },
    /// A text too long to tokenise in bounded memory that cannot be shortened exactly first
    /// (see [`TextEncoder::encode`]).
    #[error(
        "a text of {bytes} bytes: texts over {limit} bytes are refused unless they can be shortened without changing \
         their first tokens (a vocab.txt model and text with spaces or punctuation); an utterance is a few hundred bytes"
    )]
    TooLong {
        /// The text's length in bytes.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A `max_len` with no room for `[CLS]` and `[SEP]`.
    #[error("max_len must be at least 2 ([CLS] and [SEP]), got {0}")]
    MaxLen(usize),
    /// The vocabulary gave an id the model has no embedding for: vocabulary and model
    /// (its `vocab_size`) do not belong together.
    #[error("token {token:?} has id {id} in {}, but the model has {limit} word embeddings (vocab_size in its config.json): the vocabulary does not belong to this model", vocab.display())]
    OutOfVocabulary {
        /// The vocabulary file.
        vocab: PathBuf,
        /// The token.
        token: String,
        /// Its id in the vocabulary.
        id: u32,
        /// The model's number of word embeddings.
        limit: usize,
    },
}

/// One utterance, encoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// `max_len` ids, padded with 0.
    pub input_ids: Vec<u32>,
    /// `max_len` values, 1.0 on real tokens.
    pub attention_mask: Vec<f32>,
    /// The real tokens, `[CLS]` and `[SEP]` included.
    pub tokens: Vec<String>,
    /// For each real token, the index of its word in the text (see [`words`]); `None` for
    /// `[CLS]` and `[SEP]`.
    pub token_words: Vec<Option<usize>>,
    /// The words of the text: whitespace-separated, each CJK ideograph one of its own.
    pub words: Vec<String>,
    /// Whether pieces were cut to fit `max_len`.
    pub truncated: bool,
}

impl Encoded {
    /// Real tokens, `[CLS]` and `[SEP]` included (padding not).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether there is no real token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// BERT's WordPiece tokenizer set up for MOSI text (docs/MODEL.md §2).
#[derive(Clone)]
pub struct TextEncoder {
    tokenizer: Tokenizer,
    cls: u32,
    sep: u32,
    max_len: usize,
    source: PathBuf,
    /// The model's vocabulary size, when known: ids at or above it are refused.
    id_limit: Option<usize>,
    /// Built from `vocab.txt`: BERT's own normaliser, pre-tokeniser and WordPiece, whose
    /// locality [`shorten`] relies on. A tokenizer.json may hold anything.
    bert_rules: bool,
}

/// Longest text tokenised whole. The tokenizers crate keeps per-byte alignments of the text
/// it normalises (hundreds of bytes per byte: a 5 MB line took 2.2 GB), so longer texts are
/// first shortened exactly ([`shorten`], [`cut_point`]) or refused.
const MAX_TOKENIZED_BYTES: usize = 1 << 20;

/// A text longer than `max_len` times this many bytes is shortened before it is tokenised;
/// shorter ones (every real utterance) are tokenised as they are.
const SHORTEN_BYTES_PER_TOKEN: usize = 64;

/// `WordPiece::from_file`'s `max_input_chars_per_word` (the tokenizers default, as BERT's
/// `WordpieceTokenizer`): a longer word becomes one `[UNK]` whatever its characters.
const MAX_WORD_CHARS: usize = 100;

impl std::fmt::Debug for TextEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextEncoder")
            .field("source", &self.source)
            .field("max_len", &self.max_len)
            .finish()
    }
}

/// Real tokenizer.json files are 0.5-10 MB (multilingual ones the largest).
const MAX_TOKENIZER_BYTES: u64 = 64 << 20;

impl TextEncoder {
    /// From `vocab.txt` (BERT uncased rules) or `tokenizer.json` (its own normaliser and
    /// pre-tokeniser; its padding, truncation and post-processing are replaced by ours).
    pub fn from_file(path: &Path, max_len: usize) -> Result<Self, TokenizeError> {
        if max_len < 2 {
            return Err(TokenizeError::MaxLen(max_len));
        }
        let load_err = |message: String| TokenizeError::Load {
            path: path.to_path_buf(),
            message,
        };
        let is_json = path.extension().is_some_and(|e| e == "json");
        let mut tokenizer = if is_json {
            // tokenizers panics on some malformed JSON inside the file (an `expect` in its
            // decoder deserialiser), so the syntax is checked here first, and the file read
            // once with a cap.
            let mut bytes = Vec::new();
            crate::fsutil::open_input(path)
                .and_then(|f| f.take(MAX_TOKENIZER_BYTES + 1).read_to_end(&mut bytes))
                .map_err(|e| load_err(e.to_string()))?;
            if bytes.len() as u64 > MAX_TOKENIZER_BYTES {
                return Err(load_err(format!(
                    "larger than {MAX_TOKENIZER_BYTES} bytes; a tokenizer.json is a few MB"
                )));
            }
            serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
                .map_err(|e| load_err(format!("not valid JSON: {e}")))?;
            let mut t = Tokenizer::from_bytes(&bytes).map_err(|e| load_err(e.to_string()))?;
            t.with_padding(None);
            t.with_truncation(None).map_err(|e| load_err(e.to_string()))?;
            if matches!(t.get_model(), ModelWrapper::WordPiece(_)) {
                // A BERT tokenizer.json normally splits CJK in its BertNormalizer
                // (handle_chinese_chars); one written without it would glue a Chinese
                // sentence into one [UNK]. BertTokenizer always splits them, so do we; other
                // models (BPE, Unigram) have their own multi-character Chinese pieces.
                let split = cjk_split().map_err(|e| load_err(e.to_string()))?;
                let rest = t.get_pre_tokenizer().cloned();
                let pre = match rest {
                    Some(rest) => PreTokenizerWrapper::Sequence(Sequence::new(vec![split, rest])),
                    None => split,
                };
                t.with_pre_tokenizer(Some(pre));
            }
            t
        } else {
            let path_str = path
                .to_str()
                .ok_or_else(|| load_err("path is not valid UTF-8".into()))?;
            // tokenizers opens the file by its path: a FIFO would block it, a device never end.
            crate::fsutil::check_input(path).map_err(|e| load_err(e.to_string()))?;
            let model = WordPiece::from_file(path_str)
                .unk_token("[UNK]".into())
                .build()
                .map_err(|e| load_err(e.to_string()))?;
            let mut t = Tokenizer::new(model);
            t.with_normalizer(Some(BertNormalizer::new(true, true, None, true)))
                .map_err(|e| load_err(e.to_string()))?;
            t.with_pre_tokenizer(Some(BertPreTokenizer));
            t
        };
        tokenizer.with_post_processor(None::<tokenizers::PostProcessorWrapper>);
        let special = |token: &'static str| {
            tokenizer.token_to_id(token).ok_or(TokenizeError::MissingSpecial {
                path: path.to_path_buf(),
                token,
            })
        };
        let (cls, sep) = (special("[CLS]")?, special("[SEP]")?);
        if !is_json {
            // WordPiece maps unknown words to it; without it the first unknown word fails
            // deep inside tokenisation, naming no file.
            special("[UNK]")?;
        }
        Ok(Self {
            tokenizer,
            cls,
            sep,
            max_len,
            source: path.to_path_buf(),
            id_limit: None,
            bert_rules: !is_json,
        })
    }

    /// Refuses, naming the vocabulary file, any id at or above `vocab_size` (the model's word
    /// embeddings): a vocabulary larger than the model's table would otherwise fail deep in
    /// the embedding lookup with no file named.
    pub fn with_vocab_limit(mut self, vocab_size: usize) -> Self {
        self.id_limit = Some(vocab_size);
        self
    }

    /// Token positions per utterance.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The vocabulary or tokenizer file it was built from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// Encodes one utterance: lower-cased pieces in `[CLS] .. [SEP]`, padded to `max_len`.
    ///
    /// Only the first `max_len - 2` pieces are kept, so a very long text (a 5 MB line) is
    /// shortened first, to bound the memory tokenisation takes, in ways that cannot change
    /// those pieces (see `TextEncoder::tokenize`); a text that cannot be shortened so and
    /// is over `MAX_TOKENIZED_BYTES` (1 MiB) is refused ([`TokenizeError::TooLong`]).
    pub fn encode(&self, text: &str) -> Result<Encoded, TokenizeError> {
        self.encode_from(text, self.max_len.saturating_mul(SHORTEN_BYTES_PER_TOKEN))
    }

    /// [`TextEncoder::encode`], shortening texts longer than `shorten_from` bytes.
    fn encode_from(&self, text: &str, shorten_from: usize) -> Result<Encoded, TokenizeError> {
        let (encoding, gaps) = self.tokenize(text, shorten_from)?;
        let spans: Vec<(usize, usize)> = word_spans(text);
        let words = spans.iter().map(|&(s, e)| text[s..e].to_string()).collect();
        let keep = encoding.get_ids().len().min(self.max_len - 2);
        let mut input_ids = Vec::with_capacity(self.max_len);
        let mut tokens = Vec::with_capacity(keep + 2);
        let mut token_words = Vec::with_capacity(keep + 2);
        input_ids.push(self.cls);
        tokens.push("[CLS]".to_string());
        token_words.push(None);
        for i in 0..keep {
            input_ids.push(encoding.get_ids()[i]);
            tokens.push(encoding.get_tokens()[i].clone());
            let start = in_text(encoding.get_offsets()[i].0, &gaps);
            // Spans are in order and disjoint: the first that ends after `start`.
            let k = spans.partition_point(|&(_, e)| e <= start);
            token_words.push(spans.get(k).filter(|&&(s, _)| s <= start).map(|_| k));
        }
        input_ids.push(self.sep);
        tokens.push("[SEP]".to_string());
        token_words.push(None);
        if let Some(limit) = self.id_limit {
            if let Some(t) = input_ids.iter().position(|&id| id as usize >= limit) {
                return Err(TokenizeError::OutOfVocabulary {
                    vocab: self.source.clone(),
                    token: tokens[t].clone(),
                    id: input_ids[t],
                    limit,
                });
            }
        }
        let real = input_ids.len();
        input_ids.resize(self.max_len, 0);
        let mut attention_mask = vec![1.0; real];
        attention_mask.resize(self.max_len, 0.0);
        Ok(Encoded {
            input_ids,
            attention_mask,
            tokens,
            token_words,
            words,
            truncated: keep < encoding.get_ids().len(),
        })
    }
}

impl TextEncoder {
    /// The encoding of `text`, or of a shorter text whose first `max_len - 2` pieces are
    /// those of `text` and which has more than that many pieces exactly when `text` does.
    /// With it the gaps left (see [`shorten`]) to map offsets back to `text`.
    ///
    /// Beyond `shorten_from` bytes, with BERT's rules (`vocab.txt`): first [`shorten`], then
    /// a prefix cut before a character that always begins a word of its own ([`cut_point`]),
    /// so that the prefix's pieces are the first pieces of the whole; the prefix is taken
    /// when it has more pieces than are kept, else a four times longer one is tried.
    fn tokenize(&self, text: &str, shorten_from: usize) -> Result<(Encoding, Vec<(usize, usize)>), TokenizeError> {
        let encode = |t: &str| {
            self.tokenizer.encode(t, false).map_err(|e| TokenizeError::Encode {
                text: t.chars().take(200).collect(),
                message: e.to_string(),
            })
        };
        let too_long = |bytes: usize| TokenizeError::TooLong {
            bytes,
            limit: MAX_TOKENIZED_BYTES,
        };
        if text.len() <= shorten_from {
            return Ok((encode(text)?, Vec::new()));
        }
        if !self.bert_rules {
            // Another model's normaliser and pre-tokeniser may join anything to anything:
            // no shortening is provably exact, so only the size is bounded.
            if text.len() > MAX_TOKENIZED_BYTES {
                return Err(too_long(text.len()));
            }
            return Ok((encode(text)?, Vec::new()));
        }
        let (short, gaps) = shorten(text);
        let kept = self.max_len - 2;
        let mut at = shorten_from;
        while at < short.len() {
            let Some(cut) = cut_point(&short, at) else { break };
            let prefix = encode(&short[..cut])?;
            if prefix.get_ids().len() > kept {
                return Ok((prefix, gaps));
            }
            at = at.saturating_mul(4).max(cut + 1);
        }
        if short.len() > MAX_TOKENIZED_BYTES {
            return Err(too_long(text.len()));
        }
        Ok((encode(&short)?, gaps))
    }
}

/// `text` with what cannot change its pieces taken out, and the gaps left: (position in the
/// shortened text, bytes taken out there), in order. Exact under BERT's rules (the
/// normaliser works character by character, NFD reorders only runs of combining marks,
/// which never contain an ASCII character; the pre-tokeniser splits at whitespace and
/// around punctuation; WordPiece takes each word alone):
///
/// - a run of ASCII whitespace (`' '`, tab, newline, return) keeps its first character:
///   one separates the words as well as many, and none of them is a piece;
/// - a run of more than `MAX_WORD_CHARS + 1` ASCII letters and digits keeps its first
///   `MAX_WORD_CHARS + 1`: such characters are never a boundary and stay one character
///   each, so the word holding the run is as before but shorter, still over
///   [`MAX_WORD_CHARS`], and still one `[UNK]`, starting where it started.
fn shorten(text: &str) -> (String, Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    let mut short = String::with_capacity(text.len().min(MAX_TOKENIZED_BYTES));
    let mut gaps = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let run = |keep: fn(u8) -> bool| bytes[i..].iter().take_while(|&&b| keep(b)).count();
        let (len, keep) = match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' => {
                let len = run(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
                (len, 1)
            }
            b if b.is_ascii_alphanumeric() => {
                let len = run(|b| b.is_ascii_alphanumeric());
                (len, len.min(MAX_WORD_CHARS + 1))
            }
            _ => {
                // Up to the next ASCII byte, a character boundary in UTF-8.
                let len = 1 + bytes[i + 1..].iter().take_while(|b| !b.is_ascii()).count();
                (len, len)
            }
        };
        short.push_str(&text[i..i + keep]);
        if keep < len {
            gaps.push((short.len(), len - keep));
        }
        i += len;
    }
    (short, gaps)
}

/// The position in the original text of `offset` in the shortened one: a piece starts at a
/// gap (after the bytes taken out) or away from any.
fn in_text(offset: usize, gaps: &[(usize, usize)]) -> usize {
    offset
        + gaps
            .iter()
            .take_while(|&&(at, _)| at <= offset)
            .map(|&(_, removed)| removed)
            .sum::<usize>()
}

/// The first position at or after `at` (a byte index) where `text` can be cut with the
/// pieces before it the first pieces of the whole: before ASCII whitespace, ASCII
/// punctuation (a word of its own) or an ideograph (padded with spaces by the normaliser),
/// characters that no normalisation step joins to what precedes them. Only the two main
/// ideograph blocks, on which BERT and the tokenizers crate agree. `None` if there is none.
fn cut_point(text: &str, at: usize) -> Option<usize> {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    text[at..]
        .char_indices()
        .find(|&(i, c)| {
            at + i > 0
                && (matches!(c, ' ' | '\t' | '\n' | '\r')
                    || c.is_ascii_punctuation()
                    || ('\u{4E00}'..='\u{9FFF}').contains(&c)
                    || ('\u{3400}'..='\u{4DBF}').contains(&c))
        })
        .map(|(i, _)| at + i)
}

/// The code points BERT's BasicTokenizer treats as Chinese characters (`_is_chinese_char`:
/// the CJK Unified Ideographs blocks and their extensions and compatibility blocks). Kana and
/// Hangul are not among them: BERT splits those at spaces like Latin text.
const CJK_RANGES: [(char, char); 8] = [
    ('\u{4E00}', '\u{9FFF}'),
    ('\u{3400}', '\u{4DBF}'),
    ('\u{20000}', '\u{2A6DF}'),
    ('\u{2A700}', '\u{2B73F}'),
    ('\u{2B740}', '\u{2B81F}'),
    ('\u{2B820}', '\u{2CEAF}'),
    ('\u{F900}', '\u{FAFF}'),
    ('\u{2F800}', '\u{2FA1F}'),
];

/// Whether BERT makes `c` a token of its own (a CJK ideograph).
pub fn is_cjk(c: char) -> bool {
    CJK_RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// A pre-tokeniser isolating every CJK ideograph, as BasicTokenizer's `tokenize_chinese_chars`.
fn cjk_split() -> tokenizers::Result<PreTokenizerWrapper> {
    let class: String = CJK_RANGES.iter().map(|(lo, hi)| format!("{lo}-{hi}")).collect();
    let split = Split::new(
        SplitPattern::Regex(format!("[{class}]")),
        SplitDelimiterBehavior::Isolated,
        false,
    )?;
    Ok(PreTokenizerWrapper::Split(split))
}

/// The words of `text` (as [`Encoded::words`] has them): audio is given per word and the
/// heatmaps group a word's pieces, so every piece must fall inside exactly one word.
pub fn words(text: &str) -> Vec<&str> {
    word_spans(text).into_iter().map(|(s, e)| &text[s..e]).collect()
}

/// Byte spans of the words: runs between whitespace, and each CJK ideograph alone.
///
/// Chinese is written without spaces, so whitespace alone would make a SIMS sentence one word
/// and its heatmap one row. A character is what the model sees (one token each, see
/// [`is_cjk`]), so it is the word: no piece straddles two of them, and no segmenter (a
/// dictionary, a choice among several) stands between the text and its labels. Text that was
/// segmented with spaces gives the same words, so a word-level audio file for Chinese has one
/// vector per character.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let cjk = is_cjk(c);
        if c.is_whitespace() || cjk {
            if let Some(s) = start.take() {
                spans.push((s, i));
            }
            if cjk {
                spans.push((i, i + c.len_utf8()));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> TextEncoder {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny/vocab.txt");
        TextEncoder::from_file(&path, 12).unwrap()
    }

    #[test]
    fn pieces_map_back_to_words() {
        let e = tiny().encode("I JUST WANNA  SAY").unwrap();
        assert_eq!(e.tokens, ["[CLS]", "i", "just", "wan", "##na", "say", "[SEP]"]);
        assert_eq!(e.token_words, [None, Some(0), Some(1), Some(2), Some(2), Some(3), None]);
        assert_eq!(e.words, ["I", "JUST", "WANNA", "SAY"]);
        assert_eq!(e.input_ids.len(), 12);
        assert_eq!(&e.input_ids[7..], &[0; 5]);
        assert_eq!(e.attention_mask.iter().sum::<f32>(), 7.0);
        assert!(!e.truncated);
    }

    #[test]
    fn truncates_to_max_len_minus_two_and_keeps_sep() {
        let e = tiny().encode(&"FUN ".repeat(20)).unwrap();
        assert!(e.truncated);
        assert_eq!(e.tokens.len(), 12);
        assert_eq!(e.tokens.last().unwrap(), "[SEP]");
        assert!(e.attention_mask.iter().all(|&m| m == 1.0));
    }

    #[test]
    fn unknown_words_and_empty_text() {
        let enc = tiny();
        let e = enc.encode("ZEBRA").unwrap();
        assert_eq!(e.tokens, ["[CLS]", "[UNK]", "[SEP]"]);
        assert_eq!(e.token_words[1], Some(0));
        let empty = enc.encode("").unwrap();
        assert_eq!(empty.tokens, ["[CLS]", "[SEP]"]);
    }

    #[test]
    fn ids_past_the_models_vocabulary_name_the_vocabulary() {
        // tiny vocab: [PAD] [UNK] [CLS] [SEP] [MASK] then words; "fun" is well past id 5.
        let enc = tiny().with_vocab_limit(5);
        let err = enc.encode("FUN").unwrap_err().to_string();
        assert!(
            err.contains("token \"fun\" has id")
                && err.contains("tests/fixtures/tiny/vocab.txt")
                && err.contains("model has 5 word embeddings"),
            "{err}"
        );
        assert!(enc.encode("").is_ok(), "[CLS] and [SEP] are inside the limit");
        assert!(tiny()
            .with_vocab_limit(3)
            .encode("")
            .unwrap_err()
            .to_string()
            .contains("[SEP]"));
    }

    #[test]
    fn missing_vocab_is_a_clear_error() {
        let err = TextEncoder::from_file(Path::new("/nonexistent/vocab.txt"), 50).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/vocab.txt"), "{err}");
    }

    /// Found by the fuzz test (tests/fuzz.rs, tokenizer-json): tokenizers 0.23 panicked on a
    /// malformed `"decoder"` value instead of returning its error.
    #[test]
    fn malformed_tokenizer_json_is_an_error_naming_the_file_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        let vocab = r#""[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"good":4"#;
        let model = format!(
            r###""model":{{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,"vocab":{{{vocab}}}}}"###
        );
        std::fs::write(&path, format!(r#"{{"added_tokens":[],"decoder":d$vlnull,{model}}}"#)).unwrap();
        let err = TextEncoder::from_file(&path, 12).unwrap_err().to_string();
        assert!(
            err.contains("tokenizer.json") && err.contains("not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn a_vocabulary_without_unk_is_refused_when_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vocab.txt");
        std::fs::write(&path, "[PAD]\n[CLS]\n[SEP]\ngood\n").unwrap();
        let err = TextEncoder::from_file(&path, 12).unwrap_err().to_string();
        assert!(err.contains("vocab.txt") && err.contains("[UNK]"), "{err}");
    }

    /// bert-base-chinese's layout in miniature: single ideographs, and `##` pieces for Latin.
    const CHINESE_VOCAB: [&str; 14] = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "我", "很", "喜", "欢", "电", "影", "good", "##s", "，",
    ];

    fn chinese_tokenizer_json(handle_chinese_chars: bool) -> String {
        let vocab: Vec<String> = CHINESE_VOCAB
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{t:?}:{i}"))
            .collect();
        format!(
            r###"{{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],
            "normalizer":{{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":{handle_chinese_chars},"strip_accents":null,"lowercase":true}},
            "pre_tokenizer":{{"type":"BertPreTokenizer"}},"post_processor":null,"decoder":null,
            "model":{{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,"vocab":{{{}}}}}}}"###,
            vocab.join(",")
        )
    }

    #[test]
    fn chinese_characters_are_tokens_and_words_whatever_the_vocabulary_file() {
        let dir = tempfile::tempdir().unwrap();
        let txt = dir.path().join("vocab.txt");
        std::fs::write(&txt, CHINESE_VOCAB.join("\n") + "\n").unwrap();
        let json = |handle: bool| {
            let path = dir.path().join(format!("tokenizer-{handle}.json"));
            std::fs::write(&path, chinese_tokenizer_json(handle)).unwrap();
            path
        };
        // A tokenizer.json that does not split CJK itself is split all the same.
        for path in [txt, json(true), json(false)] {
            let e = TextEncoder::from_file(&path, 20)
                .unwrap()
                .encode("我很喜欢 Goods电影，真")
                .unwrap();
            let what = path.display();
            assert_eq!(
                e.tokens,
                ["[CLS]", "我", "很", "喜", "欢", "good", "##s", "电", "影", "，", "[UNK]", "[SEP]"],
                "{what}"
            );
            assert_eq!(
                e.words,
                ["我", "很", "喜", "欢", "Goods", "电", "影", "，", "真"],
                "{what}"
            );
            let words: Vec<Option<usize>> = [None, Some(0), Some(1), Some(2), Some(3), Some(4), Some(4)]
                .into_iter()
                .chain([Some(5), Some(6), Some(7), Some(8), None])
                .collect();
            assert_eq!(e.token_words, words, "{what}");
        }
    }

    /// Letters and `##` letters, so that most words are pieces rather than `[UNK]`, and a
    /// word over 100 characters is `[UNK]` for its length alone.
    fn pieces_encoder(dir: &Path, max_len: usize) -> TextEncoder {
        let path = dir.join("vocab.txt");
        if !path.exists() {
            let mut vocab: Vec<String> = [
                "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "fun", "##ny", "我", "很",
            ]
            .map(String::from)
            .to_vec();
            for c in ('a'..='z').chain('0'..='9') {
                vocab.push(c.to_string());
                vocab.push(format!("##{c}"));
            }
            vocab.extend(["!", ".", ",", "?", "'", "é", "##é", "σ", "ς"].map(String::from));
            std::fs::write(&path, vocab.join("\n") + "\n").unwrap();
        }
        TextEncoder::from_file(&path, max_len).unwrap()
    }

    /// A random text of the pieces shortening and cutting must see through: long ASCII
    /// runs about the 100-character limit, punctuation, whitespace runs (ASCII and not),
    /// ideographs, accents precomposed and combining, case with context (sigma), removed
    /// characters (NUL, U+FFFD, a zero-width space).
    fn hostile_text(rng: &mut impl rand::Rng) -> String {
        const BITS: [&str; 24] = [
            "the",
            "FUN",
            "funny",
            "Ab9",
            "x",
            "é",
            "e\u{301}",
            "\u{301}",
            "\u{301}\u{327}a",
            "ΣΑ",
            "Σ",
            "İ",
            "我",
            "很",
            "中",
            "。",
            "，",
            "\u{3000}",
            "\u{a0}",
            "\0",
            "\u{fffd}",
            "\u{200b}",
            "жж",
            "🙂",
        ];
        let mut s = String::new();
        for _ in 0..rng.random_range(0..40) {
            match rng.random_range(0..6) {
                0 => {
                    let c = ['a', 'A', '7', 'z'][rng.random_range(0..4)];
                    s.extend(std::iter::repeat_n(c, rng.random_range(95..110)));
                }
                1 => s.extend(
                    (0..rng.random_range(1..12)).map(|_| ['!', '.', ',', '?', '\'', '-'][rng.random_range(0..6)]),
                ),
                2 => {
                    s.extend((0..rng.random_range(1..6)).map(|_| [' ', '\t', '\n', '\r', ' '][rng.random_range(0..5)]))
                }
                _ => s.push_str(BITS[rng.random_range(0..BITS.len())]),
            }
        }
        s
    }

    /// Shortening and cutting are exact: on random hostile texts, every field of the
    /// encoding (ids, pieces, their words, the words, truncation) is the encoding of the
    /// whole text, for short and long `max_len` and for shortening from the first byte on.
    #[test]
    fn shortened_texts_encode_as_the_whole_text() {
        use rand::SeedableRng;
        let dir = tempfile::tempdir().unwrap();
        let encoders: Vec<TextEncoder> = [2, 3, 5, 12, 40].map(|n| pieces_encoder(dir.path(), n)).to_vec();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut cut = 0;
        for _ in 0..3000 {
            let text = hostile_text(&mut rng);
            for enc in &encoders {
                let whole = enc.encode_from(&text, usize::MAX).unwrap();
                for from in [0, 1, 9, 64] {
                    let short = enc.encode_from(&text, from).unwrap();
                    assert_eq!(short, whole, "max_len {}, shortened from {from}: {text:?}", enc.max_len);
                }
                cut += usize::from(whole.truncated);
            }
        }
        assert!(cut > 1000, "the texts exercise truncation: {cut}");
    }

    /// Hostile lines of the size that took gigabytes: tokenised in bounded memory (this
    /// test would take minutes and gigabytes otherwise), their pieces those of the start.
    #[test]
    fn huge_texts_are_encoded_from_their_start() {
        let dir = tempfile::tempdir().unwrap();
        let enc = pieces_encoder(dir.path(), 6);
        let bangs = enc.encode(&"!".repeat(5_000_000)).unwrap();
        assert_eq!(bangs.tokens, ["[CLS]", "!", "!", "!", "!", "[SEP]"]);
        assert!(bangs.truncated);
        assert_eq!(bangs.words.len(), 1);
        let long = format!("{} the fun{}", "A".repeat(50_000_000), " x".repeat(1_000_000));
        let e = enc.encode(&long).unwrap();
        assert_eq!(e.tokens, ["[CLS]", "[UNK]", "the", "fun", "x", "[SEP]"]);
        assert_eq!(e.token_words, [None, Some(0), Some(1), Some(2), Some(3), None]);
        assert!(e.truncated);
        let spaces = enc.encode(&format!("{}fun", " ".repeat(5_000_000))).unwrap();
        assert_eq!(spaces.tokens, ["[CLS]", "fun", "[SEP]"]);
        assert!(!spaces.truncated);
        // One word of 2 MB of Cyrillic has no exact shortening here: refused, not tokenised.
        let err = enc.encode(&"ж".repeat(1_000_000)).unwrap_err();
        assert!(matches!(err, TokenizeError::TooLong { bytes: 2_000_000, .. }), "{err}");
    }

    #[test]
    fn tokenizer_json_texts_over_the_limit_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        std::fs::write(&path, chinese_tokenizer_json(true)).unwrap();
        let enc = TextEncoder::from_file(&path, 12).unwrap();
        let err = enc.encode(&"good ".repeat(300_000)).unwrap_err();
        assert!(err.to_string().contains("a text of 1500000 bytes"), "{err}");
        assert!(enc.encode(&"good ".repeat(1000)).is_ok());
    }

    #[test]
    fn a_vocabulary_that_is_a_fifo_or_a_device_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("vocab.txt");
        crate::fsutil::tests::mkfifo(&fifo);
        let err = TextEncoder::from_file(&fifo, 12).unwrap_err().to_string();
        assert!(
            err.contains("vocab.txt") && err.contains("not a regular file (a FIFO)"),
            "{err}"
        );
        let zero = dir.path().join("tokenizer.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let err = TextEncoder::from_file(&zero, 12).unwrap_err().to_string();
        assert!(
            err.contains("tokenizer.json") && err.contains("not a regular file (a character device)"),
            "{err}"
        );
    }

    #[test]
    fn words_are_runs_between_spaces_and_single_ideographs() {
        assert_eq!(words("  I JUST wanna,  say "), ["I", "JUST", "wanna,", "say"]);
        assert_eq!(words("真的，很好。"), ["真", "的", "，", "很", "好", "。"]);
        assert_eq!(
            words("我 很 开心"),
            words("我很开心"),
            "segmented or not, the same words"
        );
        assert_eq!(words("iPhone手机"), ["iPhone", "手", "机"]);
        // Kana and Hangul are not split by BERT: words at spaces, as Latin text.
        assert_eq!(words("ありがとう 감사합니다"), ["ありがとう", "감사합니다"]);
        assert!(is_cjk('\u{20000}') && is_cjk('\u{F900}') && !is_cjk('，') && !is_cjk('あ'));
    }

    #[test]
    fn english_through_a_tokenizer_json_is_unchanged_by_the_cjk_split() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        std::fs::write(&path, chinese_tokenizer_json(true)).unwrap();
        let e = TextEncoder::from_file(&path, 12)
            .unwrap()
            .encode("good goods, GOOD")
            .unwrap();
        assert_eq!(e.tokens, ["[CLS]", "good", "good", "##s", "[UNK]", "good", "[SEP]"]);
        assert_eq!(e.words, ["good", "goods,", "GOOD"]);
    }
}
