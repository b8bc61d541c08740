//! Validated configs and specs (issue 13, part 3): a hostile or careless `config.json`, a
//! crafted resumed spec and absurd command-line settings end in exit 2 with one line naming
//! the file and field; a run that diverges stops at the step where it did, and NaN is never
//! best, never saved, never written. Every input is generated here from the tiny fixtures.

mod common;

use std::path::{Path, PathBuf};

use candle_core::Device;
use cmbert::checkpoint::Checkpoint;
use cmbert::data::{Dataset, TextEncoder};
use cmbert::model::{BertConfig, ModelKind};
use cmbert::train::{RunSpec, TrainError, Trainer};
use common::*;
use crossbeam_channel::unbounded;
use serde_json::Value;

const SIZES: [usize; 3] = [12, 6, 6];

/// A copy of the tiny encoder with `edit` applied to its config.json, and without the
/// tensors whose names contain `drop` (the model then initialises them at the config's
/// sizes, which is where an absurd size used to be allocated).
fn encoder_with(dir: &Path, drop: Option<&str>, edit: impl FnOnce(&mut Value)) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(tiny_bert().join("vocab.txt"), dir.join("vocab.txt")).unwrap();
    let mut tensors = load_tensors(&tiny_bert().join("model.safetensors"));
    tensors.retain(|name, _| drop.is_none_or(|d| !name.contains(d)));
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
    edit_json(&tiny_bert().join("config.json"), &dir.join("config.json"), edit);
    dir.to_path_buf()
}

fn edit_json(from: &Path, to: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(from).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(to, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// The one `error:` line of a failed run; asserts exit code 2 and that it is the last line.
fn error_line(code: i32, stderr: &str) -> String {
    assert_eq!(code, 2, "exit code; stderr:\n{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line; stderr:\n{stderr}");
    assert_eq!(stderr.trim_end().lines().last(), Some(errors[0]), "stderr:\n{stderr}");
    errors[0].to_string()
}

fn train(tmp: &Path, bert: &Path, extra: &[&str]) -> (i32, String) {
    let data = tmp.join("data");
    if !data.is_dir() {
        write_tiny_corpus(&data, SIZES);
    }
    let out = tmp.join("run");
    let mut args = train_args(&data, bert, &out);
    for (flag, default) in [("--epochs", "1"), ("--batch-size", "6")] {
        if !extra.contains(&flag) {
            args.extend([flag.to_string(), default.to_string()]);
        }
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    let (code, _, stderr) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    (code, stderr)
}

/// Before configs were validated, each of these panicked in the trainer thread
/// (`intermediate_size: 0` without the layers' weights), trained to NaN or on nonsense and
/// exited 0 (`layer_norm_eps: -1`, `hidden_dropout_prob: 2.0`), or asked the allocator for
/// terabytes and aborted (`vocab_size` 1e11, `hidden_size` 1e9, their tables not in the file).
#[test]
fn bad_bert_configs_are_refused_naming_file_field_and_value() {
    let cases: [(&str, Value, Option<&str>, &str); 6] = [
        (
            "intermediate_size",
            0.into(),
            Some("encoder.layer"),
            "intermediate_size = 0: must be between 1 and 65536",
        ),
        (
            "layer_norm_eps",
            (-1.0).into(),
            None,
            "layer_norm_eps = -1.0: must be > 0",
        ),
        (
            "hidden_dropout_prob",
            2.0.into(),
            None,
            "hidden_dropout_prob = 2.0: must be in [0, 1)",
        ),
        (
            "vocab_size",
            100_000_000_000u64.into(),
            Some("word_embeddings"),
            "vocab_size = 100000000000: must be between 1 and 1000000",
        ),
        (
            "hidden_size",
            1_000_000_000u64.into(),
            Some("embeddings"),
            "hidden_size = 1000000000: must be between 1 and 8192",
        ),
        (
            "num_attention_heads",
            5.into(),
            None,
            "num_attention_heads = 5: must divide hidden_size (32)",
        ),
    ];
    for (field, value, drop, expected) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let bert = encoder_with(&tmp.path().join("enc"), drop, |v| v[field] = value.clone());
        let (code, stderr) = train(tmp.path(), &bert, &[]);
        let line = error_line(code, &stderr);
        let config = bert.join("config.json");
        assert!(
            line.contains(&format!("{}: {expected}", config.display())),
            "{field}: {line}"
        );
        assert!(!tmp.path().join("run").exists(), "{field}: nothing written");
    }
}

/// Found by the fuzz test (tests/fuzz.rs, bert-config): a config whose sizes are valid but do
/// not match its own weights was reported as "model computation failed: checkpoint tensor ..
/// has shape .." without saying which checkpoint.
/// A config with fewer layers than its weights hold is refused: the model built from it
/// would silently leave the deeper layers out.
#[test]
fn weights_deeper_than_the_config_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let bert = encoder_with(&tmp.path().join("enc"), None, |v| v["num_hidden_layers"] = 1.into());
    let (code, stderr) = train(tmp.path(), &bert, &[]);
    let line = error_line(code, &stderr);
    assert!(
        line.contains("num_hidden_layers = 1, but the weights hold encoder layer 1"),
        "{line}"
    );
}

/// An integer tensor where the model needs floats is refused by name: converting it would
/// give other numbers without a word (same bytes, another dtype in the header).
#[test]
fn integer_weights_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let bert = encoder_with(&tmp.path().join("enc"), None, |_| {});
    let path = bert.join("model.safetensors");
    let mut tensors = load_tensors(&path);
    let name = tensors.keys().find(|k| k.contains("LayerNorm.bias")).unwrap().clone();
    let t = tensors[&name].to_dtype(candle_core::DType::U32).unwrap();
    tensors.insert(name.clone(), t);
    candle_core::safetensors::save(&tensors, &path).unwrap();
    let (code, stderr) = train(tmp.path(), &bert, &[]);
    assert_eq!(code, 2, "{stderr}");
    let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
    assert!(
        line.contains(&name) && line.contains("holds U32 values, the model needs floating point"),
        "{stderr}"
    );
}

#[test]
fn weights_that_do_not_fit_the_config_name_the_encoder() {
    let tmp = tempfile::tempdir().unwrap();
    let bert = encoder_with(&tmp.path().join("enc"), None, |v| {
        v["max_position_embeddings"] = 512.into()
    });
    let (code, stderr) = train(tmp.path(), &bert, &[]);
    assert_eq!(code, 2, "{stderr}");
    // candle appends its backtrace to the message when RUST_BACKTRACE is set: read the line.
    let line = stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_default();
    assert!(
        line.contains(&format!("{}: the weights do not fit the model", bert.display()))
            && line.contains("position_embeddings"),
        "{stderr}"
    );
}

#[test]
fn bad_command_line_settings_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--lr", "nan"],
            "invalid training settings: groups.lr = NaN: must be a finite number > 0 (--lr)",
        ),
        (&["--warmup", "2"], "warmup = 2.0: must be in [0, 1]"),
        (
            &["--batch-size", "0"],
            "batch_size = 0: must be between 1 and 1048576 (--batch-size)",
        ),
        (
            &["--max-len", "30000000"],
            "max_len = 30000000: must be between 2 ([CLS] and [SEP]) and 8192",
        ),
        (&["--save-every", "0"], "save_every = 0: must be at least 1"),
    ];
    for (args, expected) in cases {
        let (code, stderr) = train(tmp.path(), &tiny_bert(), args);
        let line = error_line(code, &stderr);
        assert!(line.contains(expected), "{args:?}: {line}");
    }
    // Within the global limit but past the tiny encoder's 64 positions.
    let (code, stderr) = train(tmp.path(), &tiny_bert(), &["--max-len", "100"]);
    let line = error_line(code, &stderr);
    assert!(
        line.contains("max_len = 100: must be between 2 ([CLS] and [SEP]) and 64"),
        "{line}"
    );
    assert!(
        line.contains(&tiny_bert().display().to_string()),
        "names the encoder: {line}"
    );
    assert!(!tmp.path().join("run/best").exists());
}

/// A finished one-epoch run's `last/`, for crafting resumed specs from.
fn finished_run(tmp: &Path) -> PathBuf {
    let data = tmp.join("data");
    write_tiny_corpus(&data, SIZES);
    let mut spec = RunSpec::paper(data.clone(), tiny_bert(), ModelKind::CmBert);
    (spec.epochs, spec.batch_size, spec.out) = (1, 6, Some(tmp.join("run")));
    let encoder = TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap();
    let data_set = Dataset::load(&data, None, &encoder, 5).unwrap();
    let ckpt = Checkpoint::load(&tiny_bert(), &Device::Cpu).unwrap();
    let (tx, _rx) = unbounded();
    let (_ctx, crx) = unbounded();
    Trainer::new(spec, &ckpt, 5, &Device::Cpu)
        .unwrap()
        .run(&data_set, &tx, &crx)
        .unwrap()
        .unwrap();
    tmp.join("run/last")
}

/// A copy of `last` with its config.json edited.
fn crafted(last: &Path, to: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(last).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
    edit_json(&last.join("config.json"), &to.join("config.json"), edit);
    to.to_path_buf()
}

/// A resumed spec is held to what the command line is. Before, `batch_size: 0` panicked
/// in the second epoch, and `max_len: 30000000` padded every utterance to 3e7 positions.
#[test]
fn resumed_specs_are_validated_like_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let last = finished_run(tmp.path());
    let cases: [(&str, Value, &str); 5] = [
        (
            "batch_size",
            0.into(),
            "batch_size = 0: must be between 1 and 1048576 (--batch-size)",
        ),
        (
            "max_len",
            30_000_000.into(),
            "max_len = 30000000: must be between 2 ([CLS] and [SEP]) and 8192",
        ),
        (
            "max_len",
            100.into(),
            "max_len = 100: must be between 2 ([CLS] and [SEP]) and 64",
        ),
        ("warmup", (-0.5).into(), "warmup = -0.5: must be in [0, 1]"),
        ("eval_batch_size", 0.into(), "eval_batch_size = 0"),
    ];
    for (i, (field, value, expected)) in cases.into_iter().enumerate() {
        let dir = crafted(&last, &tmp.path().join(format!("crafted-{i}")), |v| {
            let spec = &mut v["cmbert"]["training"]["spec"];
            // A second epoch to go, so that the old code trained with the crafted value.
            spec["epochs"] = 2.into();
            spec[field] = value;
        });
        let (code, _, stderr) = cli(&["train", "--headless", "--resume", dir.to_str().unwrap()]);
        let line = error_line(code, &stderr);
        assert!(
            line.contains(&format!(
                "{}: cannot resume: the saved run settings (cmbert.training): {expected}",
                dir.join("config.json").display()
            )),
            "{field}: {line}"
        );
    }
    // The library entry point refuses the same before anything is read with it.
    let dir = crafted(&last, &tmp.path().join("lib"), |v| {
        v["cmbert"]["training"]["progress"]["epoch"] = 5.into()
    });
    match Trainer::resume(&dir, &Device::Cpu) {
        Err(TrainError::ResumeSpec { problem, .. }) => assert_eq!(problem.field, "progress.epoch"),
        other => panic!("{:?}", other.err()),
    }
}

/// The saved position is held to the data: a step count that is not the epochs done and
/// the batches of this one (wrapped, reset or inflated by hand) is refused by field once the
/// data is read, where it used to resume at a step the schedule never had.
#[test]
fn a_resumed_position_must_fit_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let last = finished_run(tmp.path());
    // 12 training utterances in batches of 6: 2 steps an epoch, one epoch done.
    let cases: [(&str, Value); 4] = [
        ("global_step", u64::MAX.into()),
        ("global_step", 0.into()),
        ("batch_in_epoch", 1_000_000_000.into()),
        ("epoch_loss_count", 5.into()),
    ];
    // A run directory of its own for each: the crafted last/ beside a copy of best/.
    let run_with = |name: &str, edit: &dyn Fn(&mut Value)| {
        let run = tmp.path().join(name);
        crafted(&last.with_file_name("best"), &run.join("best"), |_| {});
        crafted(&last, &run.join("last"), |v| {
            v["cmbert"]["training"]["spec"]["epochs"] = 2.into();
            edit(v);
        })
    };
    for (i, (field, value)) in cases.into_iter().enumerate() {
        let dir = run_with(&format!("position-{i}"), &|v| {
            v["cmbert"]["training"]["progress"][field] = value.clone()
        });
        let (code, _, stderr) = cli(&["train", "--headless", "--resume", dir.to_str().unwrap()]);
        let line = error_line(code, &stderr);
        assert!(
            line.contains(&format!("{}: cannot resume", dir.join("config.json").display()))
                && line.contains(&format!("progress.{field}")),
            "{field}: {line}"
        );
    }
    // The position as saved resumes.
    let dir = run_with("as-saved", &|_| {});
    let (code, _, stderr) = cli(&["train", "--headless", "--resume", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
}

/// Our checkpoints' own sections are claims too: `eval` refuses them by name.
#[test]
fn crafted_checkpoint_head_and_max_len_are_refused_by_eval() {
    let tmp = tempfile::tempdir().unwrap();
    let last = finished_run(tmp.path());
    let data = tmp.path().join("data");
    let cases: [(&str, &str, Value, &str); 3] = [
        (
            "max_len",
            "",
            30_000_000.into(),
            "cmbert.max_len = 30000000: must be between 2",
        ),
        (
            "audio_dim",
            "head",
            0.into(),
            "cmbert.head.audio_dim = 0: must be between 1 and 4096",
        ),
        (
            "fusion_attention_dropout",
            "head",
            1.0.into(),
            "cmbert.head.fusion_attention_dropout = 1.0",
        ),
    ];
    for (field, section, value, expected) in cases {
        let dir = crafted(&last, &tmp.path().join(field), |v| {
            let target = if section.is_empty() {
                &mut v["cmbert"]
            } else {
                &mut v["cmbert"][section]
            };
            target[field] = value;
        });
        let (code, _, stderr) = cli(&[
            "eval",
            "--checkpoint",
            dir.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ]);
        let line = error_line(code, &stderr);
        assert!(
            line.contains(&format!("{}: {expected}", dir.join("config.json").display())),
            "{field}: {line}"
        );
    }
}

fn step_of(line: &str) -> usize {
    let rest = line
        .split("at step ")
        .nth(1)
        .unwrap_or_else(|| panic!("no step in {line}"));
    rest.split(' ').next().unwrap().parse().unwrap()
}

/// An absurd (but finite and positive) learning rate. Warm-up starts the rate at 0, so step 1
/// changes nothing and step 2 makes the first update, which blows the weights up: a later
/// step's loss is NaN. Before, the run trained on NaN to the end, exited 0 and saved its NaN
/// dev loss as best.
#[test]
fn a_diverging_run_stops_at_the_step_that_diverged_and_saves_no_best() {
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "--lr",
        "1e30",
        "--head-lr",
        "1e30",
        "--epochs",
        "2",
        "--batch-size",
        "4",
    ];
    let (code, stderr) = train(tmp.path(), &tiny_bert(), &args);
    let line = error_line(code, &stderr);
    assert!(line.starts_with("error: training diverged at step "), "{line}");
    assert!(step_of(&line) >= 2, "the first step starts from finite weights: {line}");
    assert!(line.contains("(epoch 1): the loss is "), "{line}");
    assert!(!stderr.contains("(best)"), "{stderr}");
    assert!(!tmp.path().join("run/best").exists(), "no best checkpoint");
}

/// Without warm-up the first step's update already overflows the weights, and with one step
/// per epoch the dev split meets them before another training step: the dev evaluation is
/// what diverged. Before, that NaN was the first dev loss, so it was marked "(best)" and
/// saved as `best/`.
#[test]
fn a_non_finite_dev_evaluation_is_never_best() {
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "--lr",
        "3e38",
        "--head-lr",
        "3e38",
        "--warmup",
        "0",
        "--epochs",
        "2",
        "--batch-size",
        "12",
    ];
    let (code, stderr) = train(tmp.path(), &tiny_bert(), &args);
    let line = error_line(code, &stderr);
    assert!(
        line.starts_with("error: training diverged by step 1 (end of epoch 1): dev split: "),
        "{line}"
    );
    assert!(!stderr.contains("(best)"), "{stderr}");
    assert!(!tmp.path().join("run/best").exists(), "no best checkpoint");
}

/// A vocabulary file larger than the config's `vocab_size`: ids past the embedding table
/// are refused by name before training.
#[test]
fn token_ids_past_vocab_size_are_refused_naming_the_utterance() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let vocab: Vec<String> = std::fs::read_to_string(tiny_bert().join("vocab.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let encoder = Checkpoint::scratch(&tmp.path().join("scratch"), BertConfig::scratch(10), &vocab).unwrap();
    let text = TextEncoder::from_file(&encoder.vocab, 50).unwrap();
    let data_set = Dataset::load(&data, None, &text, 5).unwrap();
    let spec = RunSpec::paper(data.clone(), encoder.dir.clone(), ModelKind::CmBert);
    let (tx, _rx) = unbounded();
    let (_ctx, crx) = unbounded();
    let err = Trainer::new(spec, &encoder, 5, &Device::Cpu)
        .unwrap()
        .run(&data_set, &tx, &crx)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{}: train split: utterance 0 (", data.display())),
        "{err}"
    );
    assert!(err.contains("but the model's vocab_size is 10"), "{err}");
}

/// Weights that make every prediction NaN (a diverged run saved by an older version, or a
/// crafted file). Before, `eval` exited 0 and wrote `"prediction": null` lines.
#[test]
fn eval_refuses_non_finite_predictions_and_writes_none() {
    let tmp = tempfile::tempdir().unwrap();
    let last = finished_run(tmp.path());
    let dir = crafted(&last, &tmp.path().join("nan"), |_| {});
    let weights = dir.join("model.safetensors");
    let mut tensors = load_tensors(&weights);
    let nan = candle_core::Tensor::new(&[f32::NAN], &Device::Cpu).unwrap();
    assert!(tensors.insert("classifier.bias".into(), nan).is_some());
    candle_core::safetensors::save(&tensors, &weights).unwrap();
    let predictions = tmp.path().join("predictions.jsonl");
    let data = tmp.path().join("data");
    let (code, _, stderr) = cli(&[
        "eval",
        "--checkpoint",
        dir.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--predictions",
        predictions.to_str().unwrap(),
    ]);
    let line = error_line(code, &stderr);
    assert!(
        line.contains(&format!(
            "{}: test split: the prediction for utterance 0 (",
            dir.display()
        )) && line.ends_with(") is NaN"),
        "{line}"
    );
    assert!(!predictions.exists(), "no predictions file");
}

/// Counts that no command can use are refused by flag, in one line, before any work (they
/// used to panic in `bench` and be taken as batches of 0 in `eval`).
#[test]
fn other_commands_refuse_counts_they_cannot_use() {
    let cases: [&[&str]; 6] = [
        &["bench", "--size", "tiny", "--batch-size", "0"],
        &["bench", "--size", "tiny", "--max-len", "0"],
        &["bench", "--size", "tiny", "--max-len", "100000"],
        &["bench", "--size", "tiny", "--threads", "100000"],
        &["eval", "--checkpoint", "x", "--eval-batch-size", "0"],
        &["inspect-data", "x", "--max-len", "0"],
    ];
    for args in cases {
        let (code, _, stderr) = cli(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        let flag = args[args.len() - 2];
        assert!(
            stderr.contains(&format!("invalid value '{}' for '{flag}", args[args.len() - 1])),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("must be from 1 to"), "{args:?}: {stderr}");
    }
}

/// `cmbert-tui runs | head -1` closes the pipe before the output is written: the command
/// ends as any Unix filter does (killed by SIGPIPE), never with a panic.
#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cmbert-tui"))
        .args(["runs", &tmp.path().display().to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed long before the program has started, let alone written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.signal(), Some(SIGPIPE), "{:?} {stderr}", out.status);
}

/// SIGPIPE's number on Linux.
const SIGPIPE: i32 = 13;

/// A file where a directory is expected is called a file, not "not found" or a hub id; a
/// bad --theme is refused whatever `compare` writes.
#[test]
fn a_file_where_a_directory_belongs_is_named_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let notes = tmp.path().join("notes.txt");
    std::fs::write(&notes, "mine").unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--data"], "a file, not a data directory"),
        (&["--bert"], "a file, not a model directory"),
        (&["--out"], "a file, not a directory"),
    ];
    for (flag, expected) in cases {
        let mut args = vec!["train", "--headless"];
        args.extend(flag);
        let path = s(&notes);
        args.push(&path);
        let (code, _, stderr) = cli_in(tmp.path(), &args);
        let line = error_line(code, &stderr);
        assert!(line.contains(expected), "{flag:?}: {line}");
    }
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "mine");
    let (code, _, stderr) = cli(&["compare", "--headless", "--theme", "no-such-theme", &s(tmp.path())]);
    let line = error_line(code, &stderr);
    assert!(line.contains("no-such-theme"), "{line}");
}
