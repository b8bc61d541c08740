//! `cmbert-tui bench --torch`: the Rust side of the alternating PyTorch comparison, with
//! stand-in interpreters (no torch in CI): one lacking torch, one that is not an interpreter at
//! all, and one that answers the script's protocol so that the whole report can be checked.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::cli;

/// An executable shell script standing in for `--torch PYTHON`.
fn fake_python(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("python");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn bench(python: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "bench",
        "--size",
        "tiny",
        "--iters",
        "1",
        "--warmup",
        "0",
        "--torch",
        python.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    cli(&args)
}

fn one_error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0]
}

#[test]
fn a_python_lacking_torch_fails_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    // What benches/torch_bench.py prints, and nothing else, where `import torch` fails.
    let python = fake_python(
        dir.path(),
        r#"echo '{"error": "No module named '"'"'torch'"'"' (install torch and transformers for /fake/python)"}'; exit 1"#,
    );
    let (code, out, err) = bench(&python, &[]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(out, "");
    let line = one_error_line(&err);
    assert!(line.contains("benches/torch_bench.py under"), "{line}");
    assert!(line.contains("No module named 'torch'"), "{line}");
    assert!(line.contains("install torch and transformers"), "{line}");
}

#[test]
fn an_interpreter_that_is_not_the_scripts_fails_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(dir.path(), "exit 1");
    let (code, _, err) = bench(&python, &[]);
    assert_eq!(code, 2, "{err}");
    let line = one_error_line(&err);
    assert!(line.contains("it ended without a word"), "{line}");
    assert!(line.contains("-c 'import torch, transformers'"), "{line}");

    let (code, _, err) = bench(&dir.path().join("no-such-python"), &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        one_error_line(&err).contains("no-such-python (the --torch interpreter)"),
        "{err}"
    );
}

/// Answers the protocol: the machine line for the configurations asked, then a fixed time per
/// configuration (paper 0.3 s, eager 0.2, sdpa 0.1, eager-bf16 0.08, sdpa-bf16 0.09).
const PROTOCOL: &str = r#"configs=$(echo "$@" | sed 's/.*--configs \([^ ]*\).*/\1/')
list=$(echo "$configs" | sed 's/\([^,]*\)/"\1"/g')
echo "{\"ready\": true, \"configs\": [$list], \"torch\": \"2.15.0\", \"transformers\": \"5.24.0\", \"cpu_capability\": \"AVX512\", \"mkl\": true, \"mkldnn\": true, \"mkldnn_bf16\": true, \"threads\": 2}"
while read op config; do
  case "$op $config" in
    quit*) exit 0 ;;
    *" paper") echo '{"seconds": 0.3}' ;;
    *" eager") echo '{"seconds": 0.2}' ;;
    *" sdpa") echo '{"seconds": 0.1}' ;;
    *" eager-bf16") echo '{"seconds": 0.08}' ;;
    *" sdpa-bf16") echo '{"seconds": 0.09}' ;;
    *) echo '{"error": "unexpected request"}' ;;
  esac
done"#;

#[test]
fn the_report_compares_ours_with_the_best_configuration_of_each_precision() {
    let dir = tempfile::tempdir().unwrap();
    let python = fake_python(dir.path(), PROTOCOL);
    let (code, out, err) = bench(&python, &["--precision", "bf16", "--json"]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["precision"], "bf16");
    assert_eq!(report["torch"]["cpu_capability"], "AVX512");
    // Our bf16 products are timed where the CPU has AVX512-BF16 (else ours is f32 only).
    let kernel = cmbert::model::bf16::Kernel::hardware();
    assert_eq!(
        report["ours"]["bf16"],
        kernel.map_or(serde_json::Value::Null, |k| k.name().into()),
        "{out}"
    );
    assert!(report["cpu"].as_str().is_some_and(|c| !c.is_empty()), "{out}");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{out}");
    for row in rows {
        assert_eq!(row["torch"].as_array().unwrap().len(), 5, "{out}");
        assert_eq!(row["paper"]["median_s"], 0.3);
        assert_eq!(row["best_f32"]["config"], "sdpa");
        assert_eq!(row["best_bf16"]["config"], "eager-bf16");
        let ours = row["ours_median_s"].as_f64().unwrap();
        let ratio = row["best_f32"]["ratio"].as_f64().unwrap();
        assert!((ratio - ours / 0.1).abs() < 1e-9, "{out}");
        // Autocast is measured against our bf16 median where there is one.
        let ours_bf16 = row["ours_bf16_s"].as_f64();
        assert_eq!(ours_bf16.is_some(), kernel.is_some(), "{out}");
        let bf16_ratio = row["best_bf16"]["ratio"].as_f64().unwrap();
        assert!((bf16_ratio - ours_bf16.unwrap_or(ours) / 0.08).abs() < 1e-9, "{out}");
    }
    // Every iteration times ours and then each configuration, in one line per iteration.
    assert!(err.contains("tiny forward #0: ours "), "{err}");
    assert!(
        err.contains(", paper 0.300 s, eager 0.200 s, sdpa 0.100 s, eager-bf16 0.080 s, sdpa-bf16 0.090 s"),
        "{err}"
    );

    // float32 (the default) times the float32 configurations only.
    let (code, out, err) = bench(&python, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ours/best f32"), "{out}");
    assert!(!out.contains("eager-bf16"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("tiny       train") && l.contains("sdpa 0.100")),
        "{out}"
    );
}

#[test]
fn a_configuration_that_fails_mid_run_stops_the_bench_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let failing = PROTOCOL.replace(
        r#"*" sdpa") echo '{"seconds": 0.1}' ;;"#,
        r#"*" sdpa") echo '{"error": "train sdpa: out of memory"}' ;;"#,
    );
    let python = fake_python(dir.path(), &failing);
    let (code, _, err) = bench(&python, &[]);
    assert_eq!(code, 2, "{err}");
    let last = err.lines().last().unwrap();
    assert!(last.starts_with("error: ") && last.contains("out of memory"), "{err}");
}
