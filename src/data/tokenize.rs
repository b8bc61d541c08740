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
use tokenizers::{ModelWrapper, PreTokenizerWrapper, SplitDelimiterBehavior, Tokenizer};

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
}

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
            std::fs::File::open(path)
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
    pub fn encode(&self, text: &str) -> Result<Encoded, TokenizeError> {
        let encoding = self.tokenizer.encode(text, false).map_err(|e| TokenizeError::Encode {
            text: text.to_string(),
            message: e.to_string(),
        })?;
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
            let start = encoding.get_offsets()[i].0;
            token_words.push(spans.iter().position(|&(s, e)| start >= s && start < e));
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
