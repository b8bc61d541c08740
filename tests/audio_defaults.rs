//! `eval`, `export` (and `open`, through the same resolution) on a model trained with audio,
//! without `--audio`: the audio recorded in the checkpoint is used and said, or the command
//! stops naming the recorded path and both choices (`--audio FILE`, `--zero-audio`); every
//! output names the audio it used. Before, they ran the model on zero audio without a word,
//! and an ablation on that zero audio concluded that the predictions do not depend on the
//! audio at all.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;

const SIZES: [usize; 3] = [40, 12, 14];

struct Run {
    root: PathBuf,
    data: PathBuf,
    audio: PathBuf,
    best: PathBuf,
}

/// Trains a tiny model in `root` with paths relative to it, as a user in that directory
/// would type them (the checkpoint must record them absolute to be usable from elsewhere).
fn train_in(root: &Path, extra: &[&str]) -> Run {
    let data = root.join("data");
    if !data.exists() {
        write_tiny_corpus(&data, SIZES);
    }
    let audio = root.join("audio.safetensors");
    if !audio.exists() {
        write_tiny_audio(&audio, SIZES, 0.5);
    }
    let mut args = vec!["train", "--headless", "--data", "data", "--bert"];
    let bert = s(&tiny_bert());
    args.push(&bert);
    args.extend(["--epochs", "1", "--batch-size", "8", "--out", "run"]);
    args.extend(extra);
    let (code, _, stderr) = cli_in(root, &args);
    assert_eq!(code, 0, "{stderr}");
    Run {
        root: root.to_path_buf(),
        data,
        audio,
        best: root.join("run/best"),
    }
}

/// A `learned` CM-BERT (the voice reaches the score) trained with audio, shared by the tests
/// that only read it.
fn learned() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("audio-defaults-learned");
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        train_in(&root, &["--audio", "audio.safetensors", "--cls-audio", "learned"])
    })
}

/// The binary run from a directory other than the one the model was trained in.
fn elsewhere(args: &[&str]) -> (i32, String, String) {
    let cwd = tempfile::tempdir().unwrap();
    cli_in(cwd.path(), args)
}

fn eval_json(run: &Run, extra: &[&str]) -> (serde_json::Value, String) {
    let best = s(&run.best);
    let mut args = vec!["eval", "--checkpoint", &best, "--json"];
    args.extend(extra);
    let (code, stdout, stderr) = elsewhere(&args);
    assert_eq!(code, 0, "{stderr}");
    (serde_json::from_str(&stdout).unwrap(), stderr)
}

fn error_line(code: i32, stderr: &str) -> String {
    assert_eq!(code, 2, "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line: {stderr}");
    lines[0].to_string()
}

#[test]
fn the_recorded_audio_is_used_and_said() {
    let run = learned();
    let (recorded, stderr) = eval_json(run, &[]);
    assert!(
        stderr.contains(&format!(
            "audio: {} (recorded in the checkpoint; --audio FILE or --zero-audio to change)",
            run.audio.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "data: {} (recorded in the checkpoint; --data DIR to change)",
            run.data.display()
        )),
        "{stderr}"
    );
    assert_eq!(recorded["audio"], s(&run.audio));
    assert_eq!(recorded["audio_source"], "recorded");
    assert_eq!(recorded["data"], s(&run.data));
    // The same numbers as with the audio named, and others than on zero audio.
    let audio = s(&run.audio);
    let data = s(&run.data);
    let (named, _) = eval_json(run, &["--data", &data, "--audio", &audio]);
    assert_eq!(named["audio_source"], "given");
    assert_eq!(recorded["metrics"], named["metrics"]);
    let (zero, stderr) = eval_json(run, &["--zero-audio"]);
    assert!(stderr.contains("audio: none: zero audio (--zero-audio)"), "{stderr}");
    assert_eq!(zero["audio"], serde_json::Value::Null);
    assert_eq!(zero["audio_source"], "zero-audio");
    assert_ne!(
        recorded["metrics"]["mae"], zero["metrics"]["mae"],
        "the voice reaches the score"
    );

    // The metrics header says it too.
    let best = s(&run.best);
    let (code, stdout, stderr) = elsewhere(&["eval", "--checkpoint", &best]);
    assert_eq!(code, 0, "{stderr}");
    let header: Vec<&str> = stdout.lines().take(2).collect();
    assert!(header[0].contains("cm-bert, cls-audio learned"), "{stdout}");
    assert_eq!(
        header[1],
        format!(
            "  data {}; audio {} (recorded in the checkpoint)",
            run.data.display(),
            run.audio.display()
        )
    );
}

#[test]
fn audio_named_on_the_command_line_overrides_the_recorded() {
    let run = learned();
    let other = tempfile::tempdir().unwrap();
    let audio = other.path().join("other.safetensors");
    write_tiny_audio(&audio, SIZES, 2.0);
    let (given, stderr) = eval_json(run, &["--audio", &s(&audio)]);
    assert!(
        stderr.contains(&format!("audio: {} (--audio)", audio.display())),
        "{stderr}"
    );
    assert_eq!(given["audio"], s(&audio));
    assert_eq!(given["audio_source"], "given");
    let (recorded, _) = eval_json(run, &[]);
    assert_ne!(given["metrics"]["mae"], recorded["metrics"]["mae"]);
}

#[test]
fn missing_recorded_audio_stops_naming_the_path_and_both_choices() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_in(tmp.path(), &["--audio", "audio.safetensors", "--cls-audio", "mean"]);
    let moved = run.root.join("moved.safetensors");
    std::fs::rename(&run.audio, &moved).unwrap();
    let best = s(&run.best);
    for command in [
        vec!["eval", "--checkpoint", &best],
        vec!["export", "--checkpoint", &best, "--index", "0"],
    ] {
        let (code, _, stderr) = elsewhere(&command);
        assert_eq!(
            error_line(code, &stderr),
            format!(
                "error: {best} was trained with the audio {}, which is not there any more; give --audio FILE, or \
                 --zero-audio to run it on zero audio",
                run.audio.display()
            ),
            "{command:?}"
        );
    }
    // Both choices work.
    let (zero, _) = eval_json(&run, &["--zero-audio"]);
    assert_eq!(zero["audio_source"], "zero-audio");
    let (given, _) = eval_json(&run, &["--audio", &s(&moved)]);
    assert_eq!(given["audio_source"], "given");
}

#[test]
fn other_data_is_never_paired_with_the_recorded_audio() {
    let run = learned();
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("other");
    write_tiny_corpus(&other, SIZES);
    let (best, other_s) = (s(&run.best), s(&other));
    let (code, _, stderr) = elsewhere(&["eval", "--checkpoint", &best, "--data", &other_s]);
    let line = error_line(code, &stderr);
    assert!(
        line.contains(&format!(
            "was trained on {} with the audio {}, and --data {other_s} is other data",
            run.data.display(),
            run.audio.display()
        )),
        "{line}"
    );
    assert!(line.contains("--audio FILE") && line.contains("--zero-audio"), "{line}");
    let (zero, _) = eval_json(run, &["--data", &other_s, "--zero-audio"]);
    assert_eq!(zero["data"], other_s);
}

#[test]
fn t_bert_needs_no_audio_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_in(tmp.path(), &["--audio", "audio.safetensors", "--model", "t-bert"]);
    std::fs::remove_file(&run.audio).unwrap();
    let best = s(&run.best);
    let (code, stdout, stderr) = elsewhere(&["eval", "--checkpoint", &best]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("audio: not used by T-BERT"), "{stderr}");
    assert!(stdout.lines().next().unwrap().contains(", t-bert, batches"), "{stdout}");
    assert!(!stdout.contains("cls-audio"), "meaningless for T-BERT: {stdout}");
    let (json, _) = eval_json(&run, &[]);
    assert_eq!(json["audio_source"], "not-used-by-t-bert");
    assert_eq!(json["cls_audio"], serde_json::Value::Null);
    let (code, _, stderr) = elsewhere(&["eval", "--checkpoint", &best, "--ablate-audio", "shuffle"]);
    assert!(
        error_line(code, &stderr).contains("--ablate-audio: T-BERT does not read the audio"),
        "{stderr}"
    );
}

/// The symptom of the issue: an ablation on no audio "found" that the predictions do not
/// depend on the audio.
#[test]
fn an_ablation_without_audio_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let run = train_in(tmp.path(), &["--cls-audio", "learned"]);
    let best = s(&run.best);
    let data = s(&run.data);
    let (code, _, stderr) = elsewhere(&[
        "eval",
        "--checkpoint",
        &best,
        "--data",
        &data,
        "--ablate-audio",
        "shuffle",
    ]);
    assert_eq!(
        error_line(code, &stderr),
        "error: --ablate-audio: the model runs on zero audio here (it was trained without audio), so there is no \
         audio to take away; give --audio FILE"
    );
    let learned = s(&learned().best);
    let (code, _, stderr) = elsewhere(&[
        "eval",
        "--checkpoint",
        &learned,
        "--zero-audio",
        "--ablate-audio",
        "zero",
    ]);
    assert!(
        error_line(code, &stderr).contains("--ablate-audio: the model runs on zero audio here (--zero-audio)"),
        "{stderr}"
    );
}

#[test]
fn export_metadata_names_the_audio() {
    let run = learned();
    let tmp = tempfile::tempdir().unwrap();
    let best = s(&run.best);
    let json = tmp.path().join("snap.json");
    let (code, _, stderr) = elsewhere(&["export", "--checkpoint", &best, "--index", "2", "--out", &s(&json)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("(recorded in the checkpoint;"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["meta"]["audio"], s(&run.audio));
    assert_eq!(doc["meta"]["audio_source"], "recorded");
    assert_eq!(doc["meta"]["data"], s(&run.data));
    let csv = tmp.path().join("snap.csv");
    let (code, _, stderr) = elsewhere(&[
        "export",
        "--checkpoint",
        &best,
        "--index",
        "2",
        "--zero-audio",
        "--out",
        &s(&csv),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("# audio_source: zero-audio"), "{text}");
}

/// Labels as the TSV has them (-1.8, not -1.7999999523162842), predictions likewise: the
/// shortest text that reads back as the same f32.
#[test]
fn prediction_lines_print_f32_numbers_shortest() {
    let run = learned();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let test = data.join("test.tsv");
    let text = std::fs::read_to_string(&test).unwrap();
    let relabelled: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| match (i, line.split_once('\t')) {
            (0, _) | (_, None) => line.to_string(),
            (_, Some((words, _))) => format!("{words}\t{}", ["-1.8", "0.6", "2.2", "-0.4"][i % 4]),
        })
        .collect();
    std::fs::write(&test, relabelled.join("\n") + "\n").unwrap();
    let predictions = tmp.path().join("p.jsonl");
    let (code, _, stderr) = elsewhere(&[
        "eval",
        "--checkpoint",
        &s(&run.best),
        "--data",
        &s(&data),
        // The same utterances as the audio's, relabelled.
        "--audio",
        &s(&run.audio),
        "--predictions",
        &s(&predictions),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let lines = std::fs::read_to_string(&predictions).unwrap();
    assert!(lines.lines().next().unwrap().contains("\"label\":0.6,"), "{lines}");
    let number = |line: &str, key: &str| -> String {
        let rest = line.split(&format!("\"{key}\":")).nth(1).unwrap();
        rest.split([',', '}']).next().unwrap().to_string()
    };
    for line in lines.lines() {
        for key in ["label", "prediction"] {
            let text = number(line, key);
            let value: f32 = text.parse().unwrap();
            assert_eq!(text, serde_json::to_string(&value).unwrap(), "{key} in {line}");
        }
    }
    assert_eq!(lines.matches("\"label\":-1.8,").count(), 3, "{lines}");
}
