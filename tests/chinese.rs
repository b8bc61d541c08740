//! Chinese end to end (issue 18 item 2): a SIMS-like MMSA pickle with Chinese `raw_text` and
//! per-modality labels, and a Chinese BERT vocabulary (one token per character), through the
//! binary: train, eval, export a PNG with a system CJK font (.ci/run installs
//! fonts-wqy-zenhei), and one clear line where no font has the characters.

mod common;
#[path = "common/mmsa_pickle.rs"]
mod mmsa_pickle;

use std::path::{Path, PathBuf};

use common::{cli, cli_env, s, train_args};
use mmsa_pickle::{chinese_bert, dataset, pickle, Layout, Py};

fn write(dir: &Path, name: &str, value: &Py) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pickle(value)).unwrap();
    path
}

fn run(args: &[String]) -> (i32, String, String) {
    cli(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn a_sims_file_with_a_chinese_vocabulary_trains_evaluates_and_exports_its_characters() {
    let tmp = tempfile::tempdir().unwrap();
    let data = write(tmp.path(), "sims.pkl", &dataset(Layout::Sims, [24, 6, 8]));
    let bert = chinese_bert(&tmp.path().join("zh-bert"));
    let out = tmp.path().join("run");
    let mut args = train_args(&data, &bert, &out);
    args.extend(["--epochs", "1", "--batch-size", "8"].map(String::from));
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    let checkpoint = s(&out.join("best"));

    let preds = tmp.path().join("p.jsonl");
    let (code, _, stderr) = cli(&["eval", "--checkpoint", &checkpoint, "--predictions", &s(&preds)]);
    assert_eq!(code, 0, "{stderr}");
    let first = std::fs::read_to_string(&preds).unwrap();
    assert!(
        first.contains("太无聊了") || first.contains("我很喜欢这部电影"),
        "{first}"
    );

    // Test utterance 0 is 非常感人: one token and one word per character, none unknown.
    let json = tmp.path().join("u0.json");
    let (code, _, stderr) = cli(&[
        "export",
        "--checkpoint",
        &checkpoint,
        "--index",
        "0",
        "--out",
        &s(&json),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let exported: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let text = exported.to_string();
    for wanted in [r#"["[CLS]","非","常","感","人","[SEP]"]"#, r#"["非","常","感","人"]"#] {
        assert!(text.contains(wanted), "{wanted} in {text}");
    }
    assert!(!text.contains("[UNK]"), "{text}");

    // The PNG: the labels' characters drawn from the system's CJK font.
    let png = tmp.path().join("u0.png");
    let (code, _, stderr) = cli(&["export", "--checkpoint", &checkpoint, "--index", "0", "--out", &s(&png)]);
    assert_eq!(code, 0, "{stderr}");
    let mut reader = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()))
        .read_info()
        .unwrap();
    let mut px = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut px).unwrap();
    assert!(
        info.width >= 1600 && info.height > 300,
        "{}x{}",
        info.width,
        info.height
    );
    let svg = tmp.path().join("u0.svg");
    let (code, _, stderr) = cli(&["export", "--checkpoint", &checkpoint, "--index", "0", "--out", &s(&svg)]);
    assert_eq!(code, 0, "{stderr}");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains(">\n非\n</text>"), "the characters are in the SVG");
    assert!(
        svg.contains("font-family=\"DejaVu Sans, ") && !svg.contains("font-family=\"DejaVu Sans, sans-serif\""),
        "the CJK font's family is named after DejaVu Sans"
    );

    // No font anywhere CMBERT_FONT points: one line saying what to install.
    let empty = tempfile::tempdir().unwrap();
    let png2 = tmp.path().join("nofont.png");
    let (code, stdout, stderr) = cli_env(
        tmp.path(),
        &[
            "export",
            "--checkpoint",
            &checkpoint,
            "--index",
            "0",
            "--out",
            &s(&png2),
        ],
        &[("CMBERT_FONT", empty.path())],
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    // After the data and audio lines every command prints: the one error line.
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert!(errors.len() == 1 && stderr.trim_end().ends_with(errors[0]), "{stderr}");
    let error = errors[0];
    assert!(
        error.starts_with("error: no font in ")
            && error.contains("has glyphs for \"非常感人\"")
            && error.contains("apt install fonts-noto-cjk"),
        "{error}"
    );
    assert!(!png2.exists(), "nothing written");
}

/// Word-level audio (`features`' JSON Lines) for Chinese text: one vector per character, as
/// the transcript's words are (each CJK character one, `data::tokenize::words`); a file
/// segmented into multi-character words is refused naming its line.
#[test]
fn word_level_audio_for_chinese_text_has_a_vector_per_character() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("zh");
    std::fs::create_dir_all(&data).unwrap();
    for split in ["train", "dev", "test"] {
        std::fs::write(data.join(format!("{split}.tsv")), "text\tlabel\n我很喜欢\t0.8\n").unwrap();
    }
    let bert = chinese_bert(&tmp.path().join("zh-bert"));
    let encoder = cmbert::data::TextEncoder::from_file(&bert.join("vocab.txt"), 50).unwrap();
    let jsonl = |words: &[&str]| {
        let features: Vec<Vec<f32>> = (0..words.len()).map(|i| vec![i as f32 + 1.0]).collect();
        let rows: Vec<String> = ["train", "dev", "test"]
            .iter()
            .map(|split| {
                serde_json::json!({"split": split, "index": 0, "words": words, "features": features}).to_string()
            })
            .collect();
        let path = tmp.path().join(format!("{}.jsonl", words.len()));
        std::fs::write(&path, rows.join("\n") + "\n").unwrap();
        path
    };
    let per_character = jsonl(&["我", "很", "喜", "欢"]);
    let dataset = cmbert::data::Dataset::load(&data, Some(&per_character), &encoder, 1).unwrap();
    let example = &dataset.splits[0][0];
    assert_eq!(example.encoded.tokens(), ["[CLS]", "我", "很", "喜", "欢", "[SEP]"]);
    let audio = &example.audio[..6];
    assert!(audio[0] == 0.0 && audio[5] == 0.0, "{audio:?}");
    assert!(
        audio[1] < audio[2] && audio[2] < audio[3] && audio[3] < audio[4],
        "{audio:?}"
    );

    let segmented = jsonl(&["我", "很", "喜欢"]);
    let err = cmbert::data::Dataset::load(&data, Some(&segmented), &encoder, 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{}:1: ", segmented.display())) && err.contains("do not match the transcript"),
        "{err}"
    );
}
