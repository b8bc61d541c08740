//! MMSA pickles as whole datasets (`--data FILE.pkl`, `data::mmsa`): generated files in the
//! MOSI/MOSEI and CH-SIMS layouts (tests/common/mmsa_pickle.rs), the real NumPy-written
//! fixtures, malformed variants each refused with one line naming the file, split and key,
//! and a tiny scratch model trained on one through the binary.

mod common;
#[path = "common/mmsa_pickle.rs"]
mod mmsa_pickle;

use std::path::{Path, PathBuf};

use cmbert::data::pickle::{read_pickle, PyValue};
use cmbert::data::{Dataset, MmsaKind, MmsaLabel, Scaling, Split, TextEncoder};
use common::{cli, fixtures, s, tiny_bert, train_args};
use mmsa_pickle::{dataset, pickle, Layout, Py, DIM};

fn encoder() -> TextEncoder {
    TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap()
}

fn write(dir: &Path, name: &str, value: &Py) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pickle(value)).unwrap();
    path
}

fn load(path: &Path, label: MmsaLabel) -> Result<Dataset, String> {
    Dataset::load_labelled(path, Some(path), &encoder(), 5, Scaling::Fit, label).map_err(|e| e.to_string())
}

#[test]
fn a_mosi_like_pickle_is_text_labels_ids_and_audio() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "aligned_50.pkl", &dataset(Layout::Mosi, [7, 3, 4]));
    let ds = load(&path, MmsaLabel::M).unwrap();
    assert_eq!(ds.mmsa, Some(MmsaKind::MosiMosei));
    assert_eq!(ds.splits.each_ref().map(Vec::len), [7, 3, 4]);
    assert_eq!(ds.audio.dim, DIM);
    // One -inf per split, read as 0 as MMSA's data_loader.py does.
    assert_eq!(ds.audio.neg_inf_zeroed, 3);
    for (si, split) in Split::ALL.into_iter().enumerate() {
        for (i, e) in ds.split(split).iter().enumerate() {
            assert_eq!(e.text, mmsa_pickle::text(Layout::Mosi, si, i));
            assert_eq!(e.label, mmsa_pickle::label(Layout::Mosi, "M", si, i) as f32);
            assert_eq!(e.id.as_deref(), Some(format!("video{si}$_${i}").as_str()));
            assert_eq!(e.audio.len(), 50 * DIM);
            assert!(e.audio.iter().all(|v| v.is_finite()));
        }
    }
    // The value at position 1 of utterance 0, feature 2, was -inf.
    assert_eq!(ds.split(Split::Train)[0].audio[DIM + 2], 0.0);
    assert!(ds.split(Split::Train)[0].audio[DIM..6 * DIM].iter().any(|&v| v != 0.0));
    // Without its audio (--zero-audio): zero audio of the model's width.
    let zero = Dataset::load_labelled(&path, None, &encoder(), 4, Scaling::Fit, MmsaLabel::M).unwrap();
    assert_eq!(zero.audio.dim, 4);
    assert!(zero.split(Split::Test)[0].audio.iter().all(|&v| v == 0.0));
    // Another audio file beside it is refused, naming both.
    let other = tmp.path().join("other.pkl");
    let err = Dataset::load_labelled(&path, Some(&other), &encoder(), 5, Scaling::Fit, MmsaLabel::M)
        .unwrap_err()
        .to_string();
    assert!(err.contains("other.pkl") && err.contains("its own audio"), "{err}");
    // Per-modality labels exist only in SIMS files.
    let err = load(&path, MmsaLabel::T).unwrap_err();
    assert!(
        err.contains("--label T") && err.contains("regression_labels_T"),
        "{err}"
    );
}

#[test]
fn a_sims_like_pickle_has_chinese_text_and_a_label_per_modality() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "sims.pkl", &dataset(Layout::Sims, [6, 2, 3]));
    for (label, key) in [
        (MmsaLabel::M, "M"),
        (MmsaLabel::T, "T"),
        (MmsaLabel::A, "A"),
        (MmsaLabel::V, "V"),
    ] {
        let ds = load(&path, label).unwrap();
        assert_eq!(ds.mmsa, Some(MmsaKind::Sims));
        let test = ds.split(Split::Test);
        assert_eq!(test[1].text, mmsa_pickle::text(Layout::Sims, 2, 1));
        assert!(test[1].text.chars().all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        for (i, e) in test.iter().enumerate() {
            assert_eq!(e.label, mmsa_pickle::label(Layout::Sims, key, 2, i) as f32, "{key}");
        }
    }
    // A TSV directory has no per-modality labels.
    let dir = tmp.path().join("tsv");
    common::write_tiny_corpus(&dir, [3, 2, 2]);
    let err = Dataset::load_labelled(&dir, None, &encoder(), 5, Scaling::Fit, MmsaLabel::A)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--label A applies to MMSA pickles"), "{err}");
}

#[test]
fn the_numpy_written_mmsa_fixtures_load_as_datasets() {
    let dir = fixtures().join("pickles");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("mmsa_"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 8);
    for file in files {
        let ds = load(&file, MmsaLabel::M).unwrap_or_else(|e| panic!("{e}"));
        let value = read_pickle(&file).unwrap();
        for (split, key) in Split::ALL.into_iter().zip(["train", "valid", "test"]) {
            let part = value.get(key).unwrap();
            let labels = part.get("regression_labels").unwrap().as_array().unwrap();
            let ids = match part.get("id").unwrap() {
                PyValue::List(ids) => ids.iter().map(|i| i.as_str().unwrap().to_string()).collect::<Vec<_>>(),
                other => panic!("{}", other.type_name()),
            };
            let examples = ds.split(split);
            assert_eq!(examples.len(), labels.len());
            for (j, e) in examples.iter().enumerate() {
                assert_eq!(e.label, labels.data[j] as f32, "{}", file.display());
                assert_eq!(e.id.as_ref(), Some(&ids[j]));
                assert!(e.text.starts_with(&format!("{key} sentence")));
            }
        }
        assert!(ds.audio.neg_inf_zeroed > 0, "{}", file.display());
    }
}

/// Each break of a valid file, and what its one-line error must say besides the file.
fn malformed() -> Vec<(&'static str, Py, &'static [&'static str])> {
    let good = || dataset(Layout::Sims, [4, 2, 2]);
    let mut cases: Vec<(&'static str, Py, &'static [&'static str])> = Vec::new();
    let mut v = good();
    v.entry("valid").remove("raw_text");
    cases.push(("missing raw_text", v, &["valid: no \"raw_text\""]));
    let mut v = good();
    v.entry("test").remove("regression_labels_T");
    cases.push(("missing labels", v, &["test: no \"regression_labels_T\""]));
    let mut v = good();
    v.entry("train").remove("audio");
    cases.push(("missing audio", v, &["train: no \"audio\""]));
    let mut v = good();
    v.remove("valid");
    cases.push(("missing split", v, &["no \"dev\" or \"valid\" split"]));
    let mut v = good();
    v.entry("train")
        .set("regression_labels_T", Py::F32(vec![3], vec![0.1, 0.2, 0.3]));
    cases.push((
        "fewer labels than texts",
        v,
        &["train[\"regression_labels_T\"]: 3 labels but \"raw_text\" holds 4"],
    ));
    let mut v = good();
    v.entry("test")
        .set("audio", Py::F32(vec![2, 50 * DIM], vec![0.0; 2 * 50 * DIM]));
    cases.push((
        "audio of rank 2",
        v,
        &["test[\"audio\"]: expected a [N, L, D] array", "[2, 250]"],
    ));
    let mut v = good();
    v.entry("valid")
        .set("audio", Py::F32(vec![3, 50, DIM], vec![0.0; 3 * 50 * DIM]));
    cases.push((
        "more audio rows than texts",
        v,
        &["valid[\"audio\"]: 3 utterances but \"raw_text\" holds 2"],
    ));
    let mut v = good();
    v.entry("train")
        .set("regression_labels_T", Py::F32(vec![4], vec![0.1, f32::NAN, 0.3, 0.0]));
    cases.push(("non-finite label", v, &["train[\"regression_labels_T\"][1]: label NaN"]));
    // Within MOSI's [-3, 3] but not a CH-SIMS score: SIMS metrics would count it wrongly.
    let mut v = good();
    v.entry("test")
        .set("regression_labels_T", Py::F32(vec![2], vec![0.5, 2.5]));
    cases.push((
        "a SIMS label past 1",
        v,
        &["test[\"regression_labels_T\"][1]: label 2.5 is not a sentiment score in [-1, 1] (a CH-SIMS file"],
    ));
    let mut v = good();
    v.entry("test").set("id", Py::strs(&["a".to_string()]));
    cases.push(("ids short", v, &["test[\"id\"]: 1 ids but \"raw_text\" holds 2"]));
    let mut v = good();
    v.entry("train").set(
        "raw_text",
        Py::List(vec![
            Py::str("a"),
            Py::F32(vec![1], vec![1.0]),
            Py::str("b"),
            Py::str("c"),
        ]),
    );
    cases.push((
        "a text that is not a string",
        v,
        &["train[\"raw_text\"][1]: expected a string, found numpy.ndarray"],
    ));
    // Python writes a lone surrogate (U+DC80) as these bytes; read lossily they would be
    // U+FFFD and train as [UNK].
    let mut v = good();
    v.entry("valid").set(
        "raw_text",
        Py::List(vec![Py::str("a"), Py::RawStr(b"bad \xed\xb2\x80 text".to_vec())]),
    );
    cases.push((
        "a text with a lone surrogate",
        v,
        &["valid[\"raw_text\"][1]: not valid UTF-8"],
    ));
    let mut v = good();
    v.entry("test")
        .set("raw_text", Py::List(vec![Py::Bytes(b"caf\xe9".to_vec()), Py::str("b")]));
    cases.push((
        "bytes that are not UTF-8",
        v,
        &["test[\"raw_text\"][0]: not valid UTF-8"],
    ));
    let mut v = good();
    v.entry("train")
        .set("audio", Py::F32(vec![4, 20, DIM], vec![0.0; 4 * 20 * DIM]));
    cases.push((
        "audio of another length",
        v,
        &["aligned to 20 token positions", "--max-len 20"],
    ));
    cases.push((
        "not a dict of splits",
        Py::List(vec![Py::str("x")]),
        &["not an MMSA pickle"],
    ));
    cases
}

#[test]
fn malformed_files_give_one_line_naming_file_split_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    for (what, value, expected) in malformed() {
        let path = write(tmp.path(), "broken.pkl", &value);
        let Err(err) = load(&path, MmsaLabel::T) else {
            panic!("{what}: loaded")
        };
        assert!(!err.contains('\n'), "{what}: {err}");
        assert!(err.starts_with(&s(&path)), "{what}: {err}");
        for e in expected {
            assert!(err.contains(e), "{what}: {err:?} lacks {e:?}");
        }
    }
    // Truncated: every prefix of a valid file is an error, never a panic.
    let bytes = pickle(&dataset(Layout::Mosi, [2, 1, 1]));
    for cut in (0..bytes.len()).step_by(97) {
        let path = tmp.path().join("cut.pkl");
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert!(load(&path, MmsaLabel::M).is_err());
    }
}

#[test]
fn inspect_data_says_what_is_used_and_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "sims.pkl", &dataset(Layout::Sims, [6, 2, 3]));
    let (code, out, err) = cli(&["inspect-data", &s(&path), "--label", "T"]);
    assert_eq!(code, 0, "{err}");
    for line in [
        "dataset     CH-SIMS",
        "train            6 utterances (key \"train\"; ids video0$_$0)",
        "dev              2 utterances (key \"valid\"",
        "test             3 utterances",
        "label       T (\"regression_labels_T\"), range -0.700 to +1.000",
        "audio       \"audio\": 50 positions x 5 features per utterance; 3 -inf values read as 0",
        "skipped     \"audio_lengths\", \"regression_labels\", \"regression_labels_A\", \"regression_labels_V\", \"text_bert\", \"vision\"",
        "metrics     MMSA's SIMS figures: Mult_acc_2, Mult_acc_3, Mult_acc_5",
    ] {
        assert!(out.contains(line), "{line:?} not in\n{out}");
    }
    let mut broken = dataset(Layout::Mosi, [2, 1, 1]);
    broken.entry("valid").remove("raw_text");
    let bad = write(tmp.path(), "bad.pkl", &broken);
    let (code, _, err) = cli(&["inspect-data", &s(&bad)]);
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains(&s(&bad)) && err.contains("valid: no \"raw_text\""),
        "{err}"
    );
}

#[test]
fn a_tiny_model_trains_on_a_mosi_like_pickle_and_reports_mmsa_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "aligned_50.pkl", &dataset(Layout::Mosi, [24, 6, 8]));
    let out = tmp.path().join("run");
    let mut args = train_args(&path, &tiny_bert(), &out);
    args.extend(["--epochs", "1", "--batch-size", "8"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = cli(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("(24 / 6 / 8 utterances)"), "{stderr}");
    assert!(stderr.contains("MMSA aligned pickle, 5 dims"), "{stderr}");
    assert!(stdout.contains("as MMSA reports it"), "{stdout}");
    for name in [
        "Has0_acc_2",
        "Has0_F1_score",
        "Non0_acc_2",
        "Non0_F1_score",
        "Mult_acc_5",
        "Mult_acc_7",
        "MAE",
        "Corr",
    ] {
        assert!(stdout.contains(name), "{name} not in {stdout}");
    }
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["mmsa"]["dataset"], "mosi-mosei", "{results}");
    let has0 = results["mmsa"]["Has0_acc_2"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&has0), "{results}");
    assert_eq!(results["test"]["n"], 8);

    // eval finds the data and its audio in the checkpoint's record; predictions carry ids.
    let preds = tmp.path().join("p.jsonl");
    let (code, stdout, stderr) = cli(&["eval", "--checkpoint", &s(&out), "--predictions", &s(&preds)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Has0_acc_2") && stdout.contains("Mult_acc_7"),
        "{stdout}"
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&preds)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[3]["id"], "video2$_$3");
    assert_eq!(lines[3]["text"], mmsa_pickle::text(Layout::Mosi, 2, 3));
}

/// The lines of `text` that contain `pattern`.
fn lines_with<'a>(text: &'a str, pattern: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(pattern)).collect()
}

/// The labels a `--predictions` file scored against.
fn predicted_labels(path: &Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["label"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

fn close_to(got: &[f64], key: &str) {
    assert_eq!(got.len(), 8);
    for (i, g) in got.iter().enumerate() {
        let want = mmsa_pickle::label(Layout::Sims, key, 2, i);
        assert!(
            (g - want).abs() < 1e-6,
            "utterance {i}: {g} is not label {key} ({want})"
        );
    }
}

/// A run on a CH-SIMS file's T label: its checkpoints record the label, and `eval`,
/// `export` and `--resume` use it without being told; another label is applied and said
/// (eval, export) or refused (resume). Its dev and test figures, on every epoch line and in
/// the history, are MMSA's SIMS figures (Acc7 of labels in [-1, 1] would mean nothing).
#[test]
fn a_sims_run_records_its_label_and_reports_sims_figures_every_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "sims.pkl", &dataset(Layout::Sims, [24, 6, 8]));
    let out = tmp.path().join("run");
    let mut args = train_args(&path, &tiny_bert(), &out);
    args.extend(["--epochs", "2", "--batch-size", "8", "--label", "T"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = cli(&args);
    assert_eq!(code, 0, "{stderr}");
    let epochs = lines_with(&stderr, "dev loss");
    assert_eq!(epochs.len(), 2, "{stderr}");
    for line in &epochs {
        assert!(
            line.contains("| dev Mult_acc_2 ") && line.contains(" Mult_acc_3 ") && line.contains(" F1_score "),
            "{line}"
        );
        assert!(!line.contains("Acc7") && !line.contains("Mult_acc_7"), "{line}");
    }
    let test = lines_with(&stderr, "test (best epoch");
    assert!(test.len() == 1 && test[0].contains("Mult_acc_5"), "{stderr}");
    assert!(stdout.contains("Mult_acc_3"), "{stdout}");
    // The history's evaluations carry the same figures.
    let history = std::fs::read_to_string(out.join("history.jsonl")).unwrap();
    let evals: Vec<serde_json::Value> = history
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "eval")
        .collect();
    assert_eq!(evals.len(), 3, "two dev epochs and the test: {history}");
    for e in &evals {
        assert_eq!(e["metrics"]["mmsa"]["dataset"], "sims", "{e}");
        assert!(e["metrics"]["mmsa"]["Mult_acc_3"].is_number(), "{e}");
    }
    // Both checkpoints record the label.
    for kept in ["best", "last"] {
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join(kept).join("config.json")).unwrap()).unwrap();
        assert_eq!(config["cmbert"]["training"]["spec"]["label"], "T", "{kept}");
    }
    let (code, text, stderr) = cli(&["inspect", &s(&out.join("best"))]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        text.contains(&format!("data        {} (label T, regression_labels_T)", s(&path))),
        "{text}"
    );

    // eval without --label: the run's label, said; with another: applied, and said.
    let preds = tmp.path().join("t.jsonl");
    let (code, _, stderr) = cli(&["eval", "--checkpoint", &s(&out), "--predictions", &s(&preds)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("label: T, regression_labels_T (recorded in the checkpoint; --label to change)"),
        "{stderr}"
    );
    close_to(&predicted_labels(&preds), "T");
    let preds = tmp.path().join("m.jsonl");
    let (code, stdout, stderr) = cli(&[
        "eval",
        "--checkpoint",
        &s(&out),
        "--label",
        "M",
        "--predictions",
        &s(&preds),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("label: M (--label; the model was trained on T, regression_labels_T)"),
        "{stderr}"
    );
    assert!(stdout.contains("Mult_acc_3"), "{stdout}");
    close_to(&predicted_labels(&preds), "M");

    // export: the same rule. Test utterance 1 is labelled -0.7 (T) and -0.8 (M).
    for (flags, label) in [(&[][..], "-0.7"), (&["--label", "M"][..], "-0.8")] {
        let json = tmp.path().join(format!("export{label}.json"));
        let (run, json_arg) = (s(&out), s(&json));
        let args = [
            &["export", "--checkpoint", &run, "--index", "1", "--out", &json_arg][..],
            flags,
        ]
        .concat();
        let (code, _, stderr) = cli(&args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        let text = std::fs::read_to_string(&json).unwrap();
        assert!(text.contains(&format!("\"label\": {label},")), "{args:?}: {text}");
    }

    // --resume keeps the run's label: repeating it is as recorded, another is refused.
    let last = s(&out.join("last"));
    let (code, _, stderr) = cli(&["train", "--headless", "--resume", &last, "--label", "M"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--label M (the run's is T: the run trains on the labels it started with)"),
        "{stderr}"
    );
    let (code, _, stderr) = cli(&[
        "train",
        "--headless",
        "--resume",
        &last,
        "--epochs",
        "3",
        "--label",
        "T",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("--label: as recorded"), "{stderr}");
    assert_eq!(lines_with(&stderr, "| dev Mult_acc_2 ").len(), 1, "{stderr}");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("last").join("config.json")).unwrap()).unwrap();
    assert_eq!(config["cmbert"]["training"]["spec"]["label"], "T");
}

#[test]
fn inspect_data_counts_one_utterance_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "tiny.pkl", &dataset(Layout::Mosi, [3, 1, 2]));
    let (code, out, err) = cli(&["inspect-data", &s(&path)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("dev              1 utterance (key \"valid\""), "{out}");
    assert!(out.contains("test             2 utterances (key"), "{out}");
}
