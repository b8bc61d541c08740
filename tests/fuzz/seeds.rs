//! Valid inputs made in code where tests/fixtures has none (npz, audio safetensors, word-level
//! JSONL, UTF-16 and short-format TextGrids, many-recording timings, tokenizer.json, our own
//! checkpoints), and the TSV splits the audio formats are checked against.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use cmbert::checkpoint::Checkpoint;
use cmbert::data::{Dataset, TextEncoder};
use cmbert::model::ModelKind;
use cmbert::train::{RunSpec, Trainer};

use crate::common::{fixtures, tiny_bert, write_tiny_corpus};

/// Transcripts of the 4 + 3 + 2 utterances of the reference pickles, words of the tiny vocabulary.
const TEXTS: [&str; 9] = [
    "GOOD MOVIE",
    "THE PLOT WAS BAD",
    "I LOVE IT",
    "NOT REALLY FUN",
    "GREAT ACTING",
    "SOME FUNNY MOMENTS",
    "I THOUGHT IT WAS GOOD",
    "BAD BUT FUN",
    "THE MOVIE",
];
const SIZES: [usize; 3] = [4, 3, 2];
const SPLITS: [&str; 3] = ["train", "dev", "test"];

pub fn tiny_encoder() -> TextEncoder {
    TextEncoder::from_file(&fixtures().join("tiny/vocab.txt"), 50).expect("tiny vocabulary")
}

fn split_texts() -> [&'static [&'static str]; 3] {
    [&TEXTS[..4], &TEXTS[4..7], &TEXTS[7..]]
}

fn write_splits(dir: &Path, texts: [&[&str]; 3]) -> PathBuf {
    for (split, rows) in SPLITS.iter().zip(texts) {
        let body: String = rows.iter().map(|t| format!("{t}\t0.5\n")).collect();
        std::fs::write(dir.join(format!("{split}.tsv")), format!("text\tlabel\n{body}")).expect("write TSV");
    }
    dir.to_path_buf()
}

/// TSV splits of 4, 3 and 2 utterances: the reference pickles' counts.
pub fn ref_split_dir(dir: &Path) -> PathBuf {
    write_splits(dir, split_texts())
}

/// TSV splits with the MMSA fixtures' transcripts (one utterance each).
pub fn mmsa_split_dir(dir: &Path) -> PathBuf {
    write_splits(
        dir,
        [
            &["train sentence 0 \u{e9}"],
            &["valid sentence 0 \u{e9}"],
            &["test sentence 0 \u{e9}"],
        ],
    )
}

/// `[n, 50, 5]` values, zero at `[CLS]` (position 0) and past the words.
fn aligned(n: usize, salt: f32) -> Vec<f32> {
    (0..n * 50 * 5)
        .map(|i| {
            let position = (i / 5) % 50;
            if (1..8).contains(&position) {
                ((i as f32 * 0.37 + salt).sin() * 4.0).round() / 4.0
            } else {
                0.0
            }
        })
        .collect()
}

/// An `.npy` file (format 1.0) of little-endian floats.
fn npy(shape: [usize; 3], values: &[f32], f64: bool) -> Vec<u8> {
    let descr = if f64 { "<f8" } else { "<f4" };
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({}, {}, {}), }}",
        shape[0], shape[1], shape[2]
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in values {
        if f64 {
            out.extend_from_slice(&f64::from(v).to_le_bytes());
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

/// The npy files of the reference splits: train in float32 and float64, dev, test.
pub fn npy_arrays() -> [(String, Vec<u8>); 4] {
    let array = |i: usize, f64: bool| npy([SIZES[i], 50, 5], &aligned(SIZES[i], i as f32), f64);
    [
        ("train-f32.npy".into(), array(0, false)),
        ("train-f64.npy".into(), array(0, true)),
        ("dev.npy".into(), array(1, false)),
        ("test.npy".into(), array(2, false)),
    ]
}

/// A zip archive of `entries`, stored (as `np.savez` and `torch.save` write them) or deflated.
fn zip_of(entries: impl IntoIterator<Item = (String, Vec<u8>)>, method: zip_npz::CompressionMethod) -> Vec<u8> {
    let mut zip = zip_npz::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        let options = zip_npz::write::FileOptions::default().compression_method(method);
        zip.start_file(name, options).expect("zip entry");
        zip.write_all(&bytes).expect("zip data");
    }
    zip.finish().expect("zip archive").into_inner()
}

pub fn zip_stored(entries: impl IntoIterator<Item = (String, Vec<u8>)>) -> Vec<u8> {
    zip_of(entries, zip_npz::CompressionMethod::Stored)
}

/// The entries of a zip archive, in order.
pub fn zip_entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip_npz::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).expect("zip entry");
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).expect("zip entry data");
            (entry.name().to_string(), data)
        })
        .collect()
}

/// An `np.savez`-style archive (stored, float32, `dev`) and an `np.savez_compressed`-style
/// one (deflated, float64, `valid`).
pub fn npz() -> Vec<(String, Vec<u8>)> {
    let [train32, train64, dev, test] = npy_arrays();
    let f64_dev = npy([SIZES[1], 50, 5], &aligned(SIZES[1], 1.0), true);
    let f64_test = npy([SIZES[2], 50, 5], &aligned(SIZES[2], 2.0), true);
    let stored = [("train.npy", train32.1), ("dev.npy", dev.1), ("test.npy", test.1)];
    let deflated = [("train.npy", train64.1), ("valid.npy", f64_dev), ("test.npy", f64_test)];
    let named = |entries: [(&str, Vec<u8>); 3]| entries.map(|(n, b)| (n.to_string(), b));
    vec![
        ("stored-f32.npz".into(), zip_stored(named(stored))),
        (
            "deflated-f64.npz".into(),
            zip_of(named(deflated), zip_npz::CompressionMethod::Deflated),
        ),
    ]
}

/// Audio safetensors in float32 (`dev`), float16 and float64 (`valid`).
pub fn audio_safetensors() -> Vec<(String, Vec<u8>)> {
    [(DType::F32, "dev"), (DType::F16, "dev"), (DType::F64, "valid")]
        .into_iter()
        .map(|(dtype, dev)| {
            let tensors: Vec<(String, Tensor)> = ["train", dev, "test"]
                .into_iter()
                .enumerate()
                .map(|(i, split)| {
                    let t = Tensor::from_vec(aligned(SIZES[i], i as f32), (SIZES[i], 50, 5), &Device::Cpu)
                        .and_then(|t| t.to_dtype(dtype))
                        .expect("tensor");
                    (split.to_string(), t)
                })
                .collect();
            let bytes = safetensors::serialize(tensors, None).expect("serialise safetensors");
            (format!("{dtype:?}.safetensors"), bytes)
        })
        .collect()
}

/// Word-level JSON Lines for the reference splits: 5 dimensions without a header, and the
/// full feature set's dimensions under a `feature_set` header as `cmbert-tui features` writes.
pub fn jsonl() -> Vec<(String, Vec<u8>)> {
    let full = cmbert::acoustic::set::SETS[0].info();
    [("plain.jsonl", None), ("features.jsonl", Some(full))]
        .into_iter()
        .map(|(name, header)| {
            let dim = header.as_ref().map_or(5, |h| h.dims.len());
            let mut out = String::new();
            if let Some(h) = &header {
                out += &serde_json::json!({ "feature_set": h }).to_string();
                out.push('\n');
            }
            for (split, texts) in SPLITS.iter().zip(split_texts()) {
                for (index, text) in texts.iter().enumerate() {
                    let words: Vec<&str> = text.split(' ').collect();
                    let features: Vec<Vec<f32>> = (0..words.len())
                        .map(|w| (0..dim).map(|d| (index * 7 + w * 3 + d) as f32 * 0.25 - 1.0).collect())
                        .collect();
                    let row = serde_json::json!({"split": split, "index": index, "words": words, "features": features});
                    out += &row.to_string();
                    out.push('\n');
                }
            }
            (name.to_string(), out.into_bytes())
        })
        .collect()
}

/// utt01's TextGrid as UTF-16 (little-endian, with BOM), and a short-format TextGrid.
pub fn textgrid_variants() -> Vec<(String, Vec<u8>)> {
    let long = std::fs::read_to_string(fixtures().join("speech/utt01.TextGrid")).expect("utt01.TextGrid");
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(long.encode_utf16().flat_map(u16::to_le_bytes));
    let short = "File type = \"ooTextFile\"\nObject class = \"TextGrid\"\n\n0\n1.5\n<exists>\n1\n\"IntervalTier\"\n\
                 \"words\"\n0\n1.5\n3\n0\n0.2\n\"\"\n0.2\n0.7\n\"good\"\n0.7\n1.5\n\"movie\"\n";
    vec![
        ("utt01-utf16.TextGrid".into(), utf16),
        ("short.TextGrid".into(), short.as_bytes().to_vec()),
    ]
}

pub fn many_csv() -> (String, Vec<u8>) {
    let text =
        "id,word,start,end\nutt01,it,0.2,0.466\nutt01,is,0.546,0.8865\nutt02,the,0.1,0.35\nutt02,movie,0.4,0.9\n";
    ("many.csv".into(), text.as_bytes().to_vec())
}

pub fn many_json() -> (String, Vec<u8>) {
    let text = r#"{"utt01": [{"word": "it", "start": 0.2, "end": 0.466}, {"word": "is", "start": 0.546, "end": 0.8865}],
 "utt02": [{"word": "the", "start": 0.1, "end": 0.35}, {"word": "movie", "start": 0.4, "end": 0.9}]}"#;
    ("many.json".into(), text.as_bytes().to_vec())
}

/// A training split as `write_tiny_corpus` writes it (CRLF line ends, no id column).
pub fn tsv() -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().expect("temporary directory");
    write_tiny_corpus(dir.path(), [12, 1, 1]);
    vec![(
        "tiny-train.tsv".into(),
        std::fs::read(dir.path().join("train.tsv")).expect("train.tsv"),
    )]
}

/// The tiny vocabulary as a `tokenizer.json` (BERT normaliser and pre-tokeniser), and the
/// same with a regex `Split` pre-tokeniser (a pattern is a reader input too).
pub fn tokenizer_json() -> Vec<(String, Vec<u8>)> {
    use tokenizers::models::wordpiece::WordPiece;
    use tokenizers::normalizers::BertNormalizer;
    use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
    let vocab = fixtures().join("tiny/vocab.txt");
    let model = WordPiece::from_file(vocab.to_str().expect("UTF-8 fixture path"))
        .unk_token("[UNK]".into())
        .build()
        .expect("WordPiece");
    let mut tokenizer = tokenizers::Tokenizer::new(model);
    tokenizer
        .with_normalizer(Some(BertNormalizer::new(true, true, None, true)))
        .expect("BERT normaliser");
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    let json = tokenizer.to_string(false).expect("tokenizer serialises");
    let mut split: serde_json::Value = serde_json::from_str(&json).expect("tokenizer JSON");
    split["pre_tokenizer"] = serde_json::json!({
        "type": "Split", "pattern": {"Regex": "\\w+|[^\\w\\s]+"}, "behavior": "Isolated", "invert": false
    });
    vec![
        ("bert.json".into(), json.into_bytes()),
        ("split-regex.json".into(), split.to_string().into_bytes()),
    ]
}

/// Trains the tiny encoder for one epoch with output in `dir`; returns the run directory,
/// holding `best/` and `last/` as this version writes them.
pub fn tiny_run(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    write_tiny_corpus(&data, [12, 4, 4]);
    let bert = Checkpoint::load(&tiny_bert(), &Device::Cpu).expect("tiny encoder");
    let mut spec = RunSpec::paper(data.clone(), tiny_bert(), ModelKind::CmBert);
    spec.epochs = 1;
    spec.batch_size = 6;
    spec.out = Some(dir.join("out"));
    let encoder = TextEncoder::from_file(&bert.vocab, spec.max_len).expect("tiny vocabulary");
    let dataset = Dataset::load(&data, None, &encoder, 5).expect("tiny corpus");
    let (events, _keep) = crossbeam_channel::unbounded();
    let (_commands_tx, commands) = crossbeam_channel::unbounded();
    Trainer::new(spec, &bert, 5, &Device::Cpu)
        .and_then(|mut t| t.run(&dataset, &events, &commands))
        .expect("tiny run trains");
    dir.join("out")
}
