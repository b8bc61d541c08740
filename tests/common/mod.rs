#![allow(dead_code)]
//! Shared helpers for the integration tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use cmbert::checkpoint::Checkpoint;
use cmbert::model::{CmBert, HeadConfig, Inputs, ParamStore};

pub mod fifo;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn load_tensors(path: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(path, &Device::Cpu).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn tiny_inputs() -> (Inputs, Tensor) {
    let t = load_tensors(&fixtures().join("tiny/inputs.safetensors"));
    let inputs = Inputs {
        input_ids: t["input_ids"].to_dtype(candle_core::DType::U32).unwrap(),
        attention_mask: t["attention_mask"].clone(),
        audio: t["audio"].clone(),
    };
    (inputs, t["labels"].clone())
}

/// Builds a model from a checkpoint, with optional head override and extra tensors.
pub fn build(ckpt: &Checkpoint, head: &HeadConfig, extra: &[(&str, Tensor)]) -> (CmBert, std::sync::Arc<ParamStore>) {
    let mut tensors = ckpt.tensors.clone();
    for (k, v) in extra {
        tensors.insert(k.to_string(), v.clone());
    }
    let store = ParamStore::new(tensors, 0, &Device::Cpu);
    let model = CmBert::load(store.var_builder(), &ckpt.bert, head).expect("model builds");
    (model, store)
}

/// Largest |a - b| relative to max(largest |b|, floor) (tensor-wise relative error).
pub fn rel_err(ours: &Tensor, reference: &Tensor, floor: f32) -> f32 {
    assert_eq!(ours.dims(), reference.dims(), "shape mismatch");
    let a = ours.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = reference.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(floor).max(1e-30);
    a.iter().zip(&b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

pub fn assert_close(name: &str, ours: &Tensor, reference: &Tensor, tol: f32) {
    assert_close_floor(name, ours, reference, tol, 0.0)
}

pub fn assert_close_floor(name: &str, ours: &Tensor, reference: &Tensor, tol: f32, floor: f32) {
    let err = rel_err(ours, reference, floor);
    if std::env::var_os("GOLDEN_VERBOSE").is_some() {
        eprintln!("{name}: relative error {err:e}");
    }
    assert!(err <= tol, "{name}: relative error {err:e} exceeds {tol:e}");
}

/// The tiny encoder of the golden fixtures (hidden 32, 2 layers): trains in milliseconds.
/// A trainer for `spec` on the tiny BERT (`tiny_bert`) with 5 audio dimensions, on the CPU.
pub fn tiny_trainer(spec: cmbert::train::RunSpec) -> cmbert::train::Trainer {
    let bert = Checkpoint::load(&tiny_bert(), &Device::Cpu).unwrap();
    cmbert::train::Trainer::new(spec, &bert, 5, &Device::Cpu).unwrap()
}

pub fn tiny_bert() -> PathBuf {
    fixtures().join("tiny/hf-encoder")
}

/// Writes a small MOSI-text directory from the tiny vocabulary's words: positive words give
/// positive labels, so the tiny model has something to learn.
pub fn write_tiny_corpus(dir: &Path, sizes: [usize; 3]) {
    let positive = ["GOOD", "GREAT", "FUN", "FUNNY", "LOVE"];
    let negative = ["BAD", "NOT", "BUT"];
    let filler = [
        "THE", "MOVIE", "PLOT", "ACTING", "WAS", "REALLY", "IT", "THAT", "I", "THOUGHT", "THERE", "ARE", "SOME",
        "MOMENTS",
    ];
    let mut state = 12345u64;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % n
    };
    std::fs::create_dir_all(dir).unwrap();
    for (split, &n) in ["train", "dev", "test"].iter().zip(&sizes) {
        let mut out = String::from("text\tlabel\r\n");
        for _ in 0..n {
            let len = 3 + next(6);
            let mut words = Vec::new();
            let mut score = 0.0f32;
            for _ in 0..len {
                match next(4) {
                    0 => {
                        words.push(positive[next(positive.len())]);
                        score += 1.0;
                    }
                    1 => {
                        words.push(negative[next(negative.len())]);
                        score -= 1.0;
                    }
                    _ => words.push(filler[next(filler.len())]),
                }
            }
            out += &format!("{}\t{:.1}\r\n", words.join(" "), score.clamp(-3.0, 3.0));
        }
        std::fs::write(dir.join(format!("{split}.tsv")), out).unwrap();
    }
}

/// Token-aligned audio `[N, 50, 5]` per split as safetensors, zero at [CLS] and padding.
pub fn write_tiny_audio(path: &Path, sizes: [usize; 3], seed: f32) {
    let mut tensors = Vec::new();
    for (name, &n) in ["train", "dev", "test"].iter().zip(&sizes) {
        let mut values = vec![0f32; n * 50 * 5];
        for (i, v) in values.iter_mut().enumerate() {
            let pos = (i / 5) % 50;
            if (1..12).contains(&pos) {
                *v = ((i as f32 * 0.37 + seed).sin() * 3.0).round() / 3.0;
            }
        }
        tensors.push((
            name.to_string(),
            Tensor::from_vec(values, (n, 50, 5), &Device::Cpu).unwrap(),
        ));
    }
    safetensors::serialize_to_file(tensors, None, path).unwrap();
}

/// Runs the binary; returns (exit code, stdout, stderr).
pub fn cli(args: &[&str]) -> (i32, String, String) {
    cli_in(Path::new("."), args)
}

/// Runs the binary in `dir` (for outputs relative to the working directory).
pub fn cli_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    cli_env(dir, args, &[])
}

/// Runs the binary in `dir` with extra environment variables.
pub fn cli_env(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cmbert-tui"))
        .current_dir(dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run cmbert-tui");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// `train --headless --data DATA --bert BERT --out OUT`: how every command-line training in
/// the tests starts; callers add their own flags.
pub fn train_args(data: &Path, bert: &Path, out: &Path) -> Vec<String> {
    ["train", "--headless", "--data"]
        .map(String::from)
        .into_iter()
        .chain([s(data), "--bert".into(), s(bert), "--out".into(), s(out)])
        .collect()
}

/// How long and in what batches [`train_variant`] trains.
pub struct Schedule {
    /// `--epochs`.
    pub epochs: usize,
    /// `--batch-size`.
    pub batch: usize,
}

/// Trains the tiny BERT's CM-BERT of `--cls-audio VARIANT` on `data` with `audio` into `out`
/// through the binary (so the engine writes its history, attention and checkpoints), with
/// `extra` flags last; fails the test with the run's stderr when it does not finish.
pub fn train_variant(data: &Path, audio: &Path, out: &Path, variant: &str, schedule: Schedule, extra: &[&str]) {
    let mut args = train_args(data, &tiny_bert(), out);
    args.extend([
        "--audio".to_string(),
        s(audio),
        "--cls-audio".into(),
        variant.into(),
        "--epochs".into(),
        schedule.epochs.to_string(),
        "--batch-size".into(),
        schedule.batch.to_string(),
    ]);
    args.extend(extra.iter().map(|a| a.to_string()));
    let (code, _, err) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{}: {err}", out.display());
}

/// `export --checkpoint CHECKPOINT --wav W --words T [--wav W --words T] --out OUT` with every
/// other option at its default, as the command line would give it: one recording, or a
/// stress pair.
pub fn recording_export_args(checkpoint: &Path, takes: &[cmbert::cli::Take], out: &Path) -> cmbert::cli::ExportArgs {
    use cmbert::attention::{Level, Matrix};
    use cmbert::cli::{ExportArgs, ModelOnData, RecordingArgs};
    ExportArgs {
        input: ModelOnData {
            checkpoint: checkpoint.to_path_buf(),
            data: None,
            audio: None,
            zero_audio: false,
            label: None,
            split: cmbert::data::Split::Test,
            eval_batch_size: 24,
            force: false,
            device: Default::default(),
            precision: None,
        },
        recording: RecordingArgs {
            wav: takes.iter().map(|t| t.wav.clone()).collect(),
            words: takes.iter().map(|t| t.words.clone()).collect(),
        },
        index: None,
        figure4: false,
        format: None,
        left: Matrix::AlphaT,
        right: Matrix::WM,
        level: Level::Word,
        hide_special: false,
        out: Some(out.to_path_buf()),
        theme: "paper".into(),
        curves: Vec::new(),
        through_training: None,
        steps: Vec::new(),
        frame_ms: None,
    }
}
