//! Bad input never panics and never leaves partial output: each case is a one-line error
//! naming the file (and line), with exit code 2.

mod common;

use std::path::Path;

use candle_core::{Device, Tensor};
use common::*;

const SIZES: [usize; 3] = [6, 3, 3];

/// Runs `train` on `data` (and `audio`) and returns the single stderr line.
fn train_error(data: &Path, audio: Option<&Path>, bert: &Path) -> String {
    let out = data.parent().unwrap().join("never-written");
    let mut args = train_args(data, bert, &out);
    if let Some(a) = audio {
        args.extend(["--audio".into(), s(a)]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, stderr) = cli(&args);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists(), "no output on failure");
    stderr.trim().to_string()
}

fn corpus(tmp: &Path) -> std::path::PathBuf {
    let data = tmp.join("data");
    write_tiny_corpus(&data, SIZES);
    data
}

fn audio_file(tmp: &Path, name: &str, tensors: Vec<(&str, Tensor)>) -> std::path::PathBuf {
    let path = tmp.join(name);
    safetensors::serialize_to_file(tensors.into_iter().map(|(k, t)| (k.to_string(), t)), None, &path).unwrap();
    path
}

fn zeros(shape: &[usize]) -> Tensor {
    Tensor::zeros(shape, candle_core::DType::F32, &Device::Cpu).unwrap()
}

#[test]
fn text_errors_name_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let dev = data.join("dev.tsv");
    let original = std::fs::read_to_string(&dev).unwrap();
    let cases = [
        (
            "text\tlabel\nGOOD\t1\nBAD MOVIE\n",
            "dev.tsv:3: expected 2 tab-separated fields",
        ),
        (
            "text\tlabel\nGOOD\tgreat\n",
            "dev.tsv:2: label \"great\" is not a number",
        ),
        ("text\tlabel\nGOOD\t4.5\n", "dev.tsv:2: label 4.5 is outside [-3, 3]"),
        ("text\tlabel\n", "dev.tsv: no utterances after the header"),
        ("sentence\tscore\nGOOD\t1\n", "dev.tsv:1: expected the header"),
    ];
    for (content, expected) in cases {
        std::fs::write(&dev, content).unwrap();
        let err = train_error(&data, None, &tiny_bert());
        assert!(err.contains(expected), "{err}");
    }
    std::fs::write(&dev, original).unwrap();
    std::fs::remove_file(data.join("test.tsv")).unwrap();
    assert!(train_error(&data, None, &tiny_bert()).contains("test.tsv"));
}

#[test]
fn audio_errors_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let ok = |n| zeros(&[n, 50, 5]);

    let mut bad = vec![0f32; 6 * 50 * 5];
    bad[3 * 5 + 2] = f32::NAN;
    let nan = audio_file(
        tmp.path(),
        "nan.safetensors",
        vec![
            ("train", Tensor::from_vec(bad, (6, 50, 5), &Device::Cpu).unwrap()),
            ("dev", ok(3)),
            ("test", ok(3)),
        ],
    );
    let err = train_error(&data, Some(&nan), &tiny_bert());
    assert!(
        err.contains("nan.safetensors") && err.contains("non-finite value NaN at utterance 0, position 3"),
        "{err}"
    );

    let short = audio_file(
        tmp.path(),
        "short.safetensors",
        vec![
            ("train", zeros(&[6, 49, 5])),
            ("dev", zeros(&[3, 49, 5])),
            ("test", zeros(&[3, 49, 5])),
        ],
    );
    let err = train_error(&data, Some(&short), &tiny_bert());
    assert!(
        err.contains("short.safetensors") && err.contains("49 token positions") && err.contains("--max-len 49"),
        "{err}"
    );

    let flat = audio_file(
        tmp.path(),
        "flat.safetensors",
        vec![("train", zeros(&[6, 250])), ("dev", ok(3)), ("test", ok(3))],
    );
    assert!(train_error(&data, Some(&flat), &tiny_bert()).contains("expected a [N, L, D] array, found shape [6, 250]"));

    let few = audio_file(
        tmp.path(),
        "few.safetensors",
        vec![("train", ok(5)), ("dev", ok(3)), ("test", ok(3))],
    );
    let err = train_error(&data, Some(&few), &tiny_bert());
    assert!(
        err.contains("few.safetensors")
            && err.contains("train.tsv")
            && err.contains("5 utterances")
            && err.contains("has 6"),
        "{err}"
    );

    let missing = audio_file(tmp.path(), "nodev.safetensors", vec![("train", ok(6)), ("test", ok(3))]);
    assert!(train_error(&data, Some(&missing), &tiny_bert()).contains("no tensor named dev or valid"));

    let truncated = tmp.path().join("cut.safetensors");
    let bytes = std::fs::read(&few).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let err = train_error(&data, Some(&truncated), &tiny_bert());
    assert!(
        err.contains("cut.safetensors") && err.contains("cannot read safetensors"),
        "{err}"
    );

    // A zero-length token axis made the [CLS] check slice past the empty data and panic
    // (audio.rs:216); a dimension beyond MAX_FEATURE_DIM is refused before conversion.
    let empty = audio_file(
        tmp.path(),
        "empty.safetensors",
        vec![("train", zeros(&[6, 0, 5])), ("dev", ok(3)), ("test", ok(3))],
    );
    let err = train_error(&data, Some(&empty), &tiny_bert());
    assert!(
        err.contains(
            "empty.safetensors: train: features are aligned to 0 token positions but the text encoding uses 50"
        ),
        "{err}"
    );
    let wide = audio_file(
        tmp.path(),
        "wide.safetensors",
        vec![
            ("train", zeros(&[6, 50, 5000])),
            ("dev", zeros(&[3, 50, 5000])),
            ("test", zeros(&[3, 50, 5000])),
        ],
    );
    let err = train_error(&data, Some(&wide), &tiny_bert());
    assert!(
        err.contains("wide.safetensors: train: 5000 feature dimensions; expected 1 to 4096"),
        "{err}"
    );

    let unknown = tmp.path().join("audio.csv");
    std::fs::write(&unknown, "1,2,3").unwrap();
    assert!(train_error(&data, Some(&unknown), &tiny_bert()).contains("unknown audio format"));
    assert!(train_error(&data, Some(&tmp.path().join("absent.pkl")), &tiny_bert())
        .contains("absent.pkl: audio feature file not found"));
}

/// Spreadsheet tools write a UTF-8 byte-order mark before the header; it was read as part of
/// the header, which then did not match.
#[test]
fn a_byte_order_mark_before_the_header_is_accepted() {
    use cmbert::data::{Dataset, Split, TextEncoder};
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let train = data.join("train.tsv");
    let text = std::fs::read_to_string(&train).unwrap();
    std::fs::write(&train, format!("\u{feff}{text}")).unwrap();
    let encoder = TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap();
    let ds = Dataset::load(&data, None, &encoder, 5).unwrap();
    assert_eq!(ds.split(Split::Train).len(), SIZES[0]);
    assert_eq!(
        ds.split(Split::Train)[0].text,
        text.lines().nth(1).unwrap().split('\t').next().unwrap()
    );
}

/// A vocabulary with more tokens than the model's embedding table: the id past the table
/// failed inside the embedding lookup, naming no file. Now the error names the text line
/// and the vocabulary.
#[test]
fn an_out_of_vocabulary_id_names_the_line_and_the_vocabulary() {
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let bert = tmp.path().join("bert");
    std::fs::create_dir_all(&bert).unwrap();
    for f in ["config.json", "model.safetensors", "vocab.txt"] {
        std::fs::copy(tiny_bert().join(f), bert.join(f)).unwrap();
    }
    let vocab = bert.join("vocab.txt");
    let words = std::fs::read_to_string(&vocab).unwrap();
    std::fs::write(&vocab, format!("{}\nzebra\n", words.trim_end())).unwrap();
    let dev = data.join("dev.tsv");
    let text = std::fs::read_to_string(&dev).unwrap();
    std::fs::write(&dev, text.replacen("\r\n", "\r\nA ZEBRA\t0.5\r\n", 1)).unwrap();
    let err = train_error(&data, None, &bert);
    assert!(
        err.contains(&format!("{}:2: token \"zebra\" has id 34 in {}", s(&dev), s(&vocab)))
            && err.contains("the model has 34 word embeddings"),
        "{err}"
    );
}

#[test]
fn pickle_errors_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let dir = fixtures().join("pickles");
    let foreign = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("foreign"))
        .expect("foreign pickle fixture");
    let err = train_error(&data, Some(&foreign), &tiny_bert());
    assert!(
        err.contains("not an audio feature pickle") && err.contains("found a dict"),
        "{err}"
    );
    let truncated = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("trunc"))
        .expect("truncated pickle fixture");
    let err = train_error(&data, Some(&truncated), &tiny_bert());
    assert!(err.contains(&s(&truncated)) && err.contains("truncated"), "{err}");
}

#[test]
fn model_errors_name_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let bert = tmp.path().join("bert");
    std::fs::create_dir_all(&bert).unwrap();
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(tiny_bert().join(f), bert.join(f)).unwrap();
    }
    let err = train_error(&data, None, &bert);
    assert!(err.contains("vocab.txt or tokenizer.json"), "{err}");
    let err = train_error(&data, None, &tmp.path().join("no/such/dir"));
    assert!(err.contains("no such directory"), "{err}");

    // A hub id that is not cached fails at once when offline, and says what to do.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cmbert-tui"))
        .args([
            "train",
            "--headless",
            "--data",
            &s(&data),
            "--bert",
            "someone/some-bert",
            "--out",
            &s(&tmp.path().join("x")),
        ])
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_HOME", tmp.path().join("hf-home"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("someone/some-bert") && err.contains("unreachable") && err.contains("local directory"),
        "{err}"
    );
}

#[test]
fn word_level_jsonl_aligns_and_checks_words() {
    use cmbert::data::{Dataset, Split, TextEncoder};
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let mut lines = Vec::new();
    for split in Split::ALL {
        let text = std::fs::read_to_string(split.tsv_path(&data)).unwrap();
        for (i, row) in text.lines().skip(1).enumerate() {
            let words: Vec<&str> = row.split('\t').next().unwrap().split_whitespace().collect();
            let features: Vec<Vec<f32>> = (0..words.len()).map(|w| vec![w as f32 + 1.0, 0.5, -0.5]).collect();
            lines.push(
                serde_json::json!({"split": split.name(), "index": i, "words": words, "features": features})
                    .to_string(),
            );
        }
    }
    let path = tmp.path().join("words.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let encoder = TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap();
    let ds = Dataset::load(&data, Some(&path), &encoder, 5).unwrap();
    assert_eq!(ds.audio.dim, 3);
    let ex = &ds.split(Split::Train)[0];
    for (t, word) in ex.encoded.token_words().into_iter().enumerate() {
        let v = &ex.audio[t * 3..t * 3 + 3];
        match word {
            Some(w) => assert_eq!(v, &[w as f32 + 1.0, 0.5, -0.5]),
            None => assert_eq!(v, &[0.0, 0.0, 0.0], "[CLS]/[SEP] get zeros"),
        }
    }
    assert!(
        ex.audio[ex.encoded.len() * 3..].iter().all(|&v| v == 0.0),
        "padding gets zeros"
    );

    // A word that does not match the transcript is an error at its line.
    let broken = lines[0].replacen("\"words\":[\"", "\"words\":[\"XYZZY", 1);
    std::fs::write(
        &path,
        std::iter::once(broken)
            .chain(lines[1..].iter().cloned())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let err = Dataset::load(&data, Some(&path), &encoder, 5).unwrap_err().to_string();
    assert!(
        err.contains("words.jsonl:1:") && err.contains("do not match the transcript"),
        "{err}"
    );
}

#[test]
fn app_errors_say_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, stderr) = cli(&["open", "no-such-checkpoint", "--data", "no-such-data"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("needs a terminal") && stderr.contains("eval"),
        "{stderr}"
    );

    let theme = tmp.path().join("mine.toml");
    std::fs::write(&theme, "[ui]\naccent = \"blue\"\n").unwrap();
    let (code, _, stderr) = cli(&[
        "train",
        "--headless",
        "--theme",
        &s(&theme),
        "--out",
        &s(&tmp.path().join("run")),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("mine.toml") && stderr.contains("ui.accent"), "{stderr}");
    assert!(
        !tmp.path().join("run").exists(),
        "a bad theme stops the run before any work"
    );
    let (code, _, stderr) = cli(&["train", "--headless", "--theme", "neon"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("neon") && stderr.contains("dark, paper, colorblind"),
        "{stderr}"
    );
}
