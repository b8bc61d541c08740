//! Features measured by one extractor version are never scaled with statistics fitted on
//! another's: the pitch tracker changed in version 2 (docs/ACOUSTIC.md), so a checkpoint
//! or features file from version 1 meets version-2 features only to be refused, in one line
//! that says how to extract again. Version-1 files are made here as version 1 wrote them:
//! no `version` field and the McLeod pitch settings.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::{json, Value};

fn speech() -> PathBuf {
    fixtures().join("speech")
}

/// The feature-set header as version 1 (McLeod pitch) wrote it.
fn make_version_one(feature_set: &mut Value) {
    let set = feature_set.as_object_mut().unwrap();
    assert_eq!(set.remove("version"), Some(json!(2)), "written by this build: {set:?}");
    set.insert(
        "pitch".into(),
        json!({"floor_hz": 75.0, "ceiling_hz": 600.0, "window": 640, "clarity": 0.45, "key": 0.9, "silence": 0.03}),
    );
}

fn old_features(new: &Path, old: &Path) {
    let text = std::fs::read_to_string(new).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let mut header: Value = serde_json::from_str(header).unwrap();
    make_version_one(&mut header["feature_set"]);
    std::fs::write(old, format!("{header}\n{rows}")).unwrap();
}

fn old_checkpoint(dir: &Path) {
    let path = dir.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    make_version_one(&mut config["cmbert"]["audio_features"]["feature_set"]);
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// Exit 2 and one `error:` line holding every one of `parts`.
fn refused(result: (i32, String, String), parts: &[&str]) {
    let (code, stdout, stderr) = result;
    assert_eq!(code, 2, "stdout: {stdout}\nstderr: {stderr}");
    // Notes may come first (which audio is used); the error is the last line, and one line.
    let line = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        line.starts_with("error: ") && stderr.matches("error: ").count() == 1,
        "one error line: {stderr:?}"
    );
    for part in parts {
        assert!(line.contains(part), "{part:?} in {line}");
    }
}

#[test]
fn version_one_scaling_meets_version_two_features_only_to_be_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let sp = s(&speech());
    let new = tmp.path().join("new.jsonl");
    let old = tmp.path().join("old.jsonl");
    let (code, _, stderr) = cli(&[
        "features",
        "--audio-dir",
        &sp,
        "--alignments",
        &sp,
        "--data",
        &sp,
        "--out",
        &s(&new),
    ]);
    assert_eq!(code, 0, "{stderr}");
    old_features(&new, &old);
    let run = tmp.path().join("run");
    let mut args = train_args(&speech(), &tiny_bert(), &run);
    args.extend(["--audio", &s(&new), "--epochs", "1", "--batch-size", "4"].map(String::from));
    let (code, _, stderr) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    let old_best = tmp.path().join("old-best");
    copy_dir(&run.join("best"), &old_best);
    old_checkpoint(&old_best);
    let eval = |checkpoint: &Path, audio: &Path| {
        cli(&[
            "eval",
            "--checkpoint",
            &s(checkpoint),
            "--data",
            &sp,
            "--audio",
            &s(audio),
        ])
    };

    // A version-1 model and a recording this build measures (`export --wav`, as `open --wav`).
    let out = tmp.path().join("utt11.json");
    refused(
        cli(&[
            "export",
            "--checkpoint",
            &s(&old_best),
            "--wav",
            &s(&speech().join("utt11.wav")),
            "--words",
            &s(&speech().join("utt11.TextGrid")),
            "--out",
            &s(&out),
        ]),
        &[
            &s(&old_best),
            "fitted on features of extractor version 1",
            "extracts version 2",
            "cmbert-tui features --audio-dir WAVS --alignments TIMINGS --data DATA --set full-v1 --out AUDIO.jsonl --force",
            "train it again",
        ],
    );
    assert!(!out.exists());
    // A version-1 model and a version-2 features file.
    refused(
        eval(&old_best, &new),
        &[&s(&new), "extractor version 2", "version-1 features", "train it again"],
    );
    // A version-2 model and a version-1 features file: extract that file again.
    refused(
        eval(&run.join("best"), &old),
        &[
            &s(&old),
            "extractor version 1",
            "trained on version-2 features",
            &format!("--set full-v1 --out {} --force", s(&old)),
        ],
    );
    // One version throughout is fine, old or new.
    assert_eq!(eval(&old_best, &old).0, 0);
    assert_eq!(eval(&run.join("best"), &new).0, 0);

    // Resuming a version-1 run on its features file, now extracted by version 2, would train
    // on both: refused, and the run is left as it was.
    let last = run.join("last");
    old_checkpoint(&last);
    let before = std::fs::read(last.join("config.json")).unwrap();
    refused(
        cli(&["train", "--headless", "--resume", &s(&last)]),
        &[&s(&new), "version-1 features"],
    );
    assert_eq!(std::fs::read(last.join("config.json")).unwrap(), before);
}
