//! The training engine end to end on a tiny corpus and the tiny encoder: CLI runs, eval
//! reproducing training's test metrics, resume, interrupted saves, ablation and export.

mod common;

use std::path::Path;

use candle_core::Device;
use cmbert::checkpoint::Checkpoint;
use cmbert::commands::Trained;
use cmbert::data::{Dataset, Split, TextEncoder};
use cmbert::model::ModelKind;
use cmbert::train::{evaluate, Command, Event, RunSpec, Trainer, Weights};
use common::*;
use crossbeam_channel::unbounded;

const SIZES: [usize; 3] = [40, 12, 14];

fn spec(data: &Path, out: &Path, model: ModelKind) -> RunSpec {
    let mut spec = RunSpec::paper(data.to_path_buf(), tiny_bert(), model);
    spec.epochs = 2;
    spec.batch_size = 6;
    spec.groups.lr = 1e-3;
    spec.out = Some(out.to_path_buf());
    spec.seed = 7;
    spec
}

fn dataset(spec: &RunSpec) -> Dataset {
    let encoder = TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap();
    Dataset::load(&spec.data, spec.audio.as_deref(), &encoder, 5).unwrap()
}

fn weights(dir: &Path) -> Vec<(String, Vec<f32>)> {
    let ckpt = Checkpoint::load(dir, &Device::Cpu).unwrap();
    let mut all: Vec<_> = ckpt
        .tensors
        .iter()
        .map(|(k, t)| (k.clone(), t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[test]
fn eval_of_the_best_checkpoint_reproduces_training_test_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let audio = tmp.path().join("audio.safetensors");
    write_tiny_audio(&audio, SIZES, 0.0);
    let mut spec = spec(&data, &tmp.path().join("run"), ModelKind::CmBert);
    spec.audio = Some(audio.clone());
    let data_set = dataset(&spec);
    let mut trainer = tiny_trainer(spec);
    let (tx, rx) = unbounded();
    let (_ctx, crx) = unbounded();
    let summary = trainer.run(&data_set, &tx, &crx).unwrap().expect("finished");
    let events: Vec<Event> = rx.try_iter().collect();
    assert!(
        matches!(events.first(), Some(Event::Started { total_steps: 14, .. })),
        "{:?}",
        events.first()
    );
    assert_eq!(events.iter().filter(|e| matches!(e, Event::Step { .. })).count(), 14);
    assert_eq!(events.iter().filter(|e| matches!(e, Event::EpochEnd { .. })).count(), 2);

    let trained = Trained::open(&tmp.path().join("run/best"), &Device::Cpu).unwrap();
    let reloaded = trained.dataset(&data, Some(&audio)).unwrap();
    let eval = evaluate(&trained.model, reloaded.split(Split::Test), 24, 5, &Device::Cpu).unwrap();
    assert_eq!(
        eval.predictions, summary.test_predictions,
        "eval must reproduce training's test predictions exactly"
    );
    assert_eq!(eval.metrics, summary.test);
}

/// `eval --predictions FILE` of `checkpoint` with `extra` flags: its predictions in file order,
/// and its stderr.
fn eval_predictions(checkpoint: &Path, data: &Path, file: &Path, extra: &[&str]) -> (Vec<f32>, String) {
    let mut args = vec!["eval", "--checkpoint", checkpoint.to_str().unwrap()];
    args.extend([
        "--data",
        data.to_str().unwrap(),
        "--predictions",
        file.to_str().unwrap(),
    ]);
    args.extend(extra);
    let (code, _, stderr) = cli(&args);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(file).unwrap();
    let predictions = text
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["prediction"].as_f64().unwrap() as f32
        })
        .collect();
    (predictions, stderr)
}

/// A run trained with bf16 products computes with them again unless told otherwise, so that
/// `eval` of its checkpoint (and the app, `open`, through the same `Trained::set_precision`)
/// gives the run's own test predictions, bit for bit; `--precision f32` computes in float32.
#[test]
fn a_bf16_run_is_evaluated_with_bf16_products_unless_told_otherwise() {
    use cmbert::model::bf16::{hardware_available, Precision};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let mut spec = spec(&data, &tmp.path().join("run"), ModelKind::CmBert);
    spec.precision = Precision::Bf16;
    spec.epochs = 1;
    let data_set = dataset(&spec);
    let (tx, _rx) = unbounded();
    let (_ctx, crx) = unbounded();
    let summary = tiny_trainer(spec).run(&data_set, &tx, &crx).unwrap().expect("finished");
    let best = tmp.path().join("run/best");

    let mut trained = Trained::open(&best, &Device::Cpu).unwrap();
    let bf16 = if hardware_available() {
        Precision::Bf16
    } else {
        Precision::F32
    };
    assert_eq!(trained.set_precision(None), bf16, "the run's precision is the default");
    assert_eq!(trained.set_precision(Some(Precision::F32)), Precision::F32);

    let (by_default, stderr) = eval_predictions(&best, &data, &tmp.path().join("default.jsonl"), &[]);
    assert_eq!(
        by_default, summary.test_predictions,
        "eval must reproduce the bf16 run's test predictions"
    );
    assert!(
        stderr.contains("precision: bf16 products (recorded in the checkpoint"),
        "{stderr}"
    );
    let (code, stdout, stderr) = cli(&["eval", "--checkpoint", best.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["precision"], bf16.name(), "{stdout}");
    let (in_f32, stderr) = eval_predictions(&best, &data, &tmp.path().join("f32.jsonl"), &["--precision", "f32"]);
    assert!(!stderr.contains("bf16"), "{stderr}");
    if hardware_available() {
        assert_ne!(in_f32, summary.test_predictions, "float32 products give other scores");
    } else {
        // Without AVX512-BF16 the run itself computed in f32 (`Products::for_precision`).
        eprintln!("this CPU has no AVX512-BF16: the run and both evaluations computed in f32");
        assert_eq!(in_f32, summary.test_predictions);
    }

    // `inspect` names it in the recipe (whatever this CPU can compute: it is the run's record).
    let (code, stdout, stderr) = cli(&["inspect", best.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let recipe = stdout.lines().find(|l| l.starts_with("recipe")).unwrap_or_default();
    assert!(recipe.ends_with(", bf16 products"), "{stdout}");

    // A record this build cannot read (a precision it does not know) leaves f32, and says so.
    let config = best.join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let unknown = text.replace(r#""precision": "bf16""#, r#""precision": "fp8""#);
    assert_ne!(unknown, text, "the record names its precision: {text}");
    std::fs::write(&config, unknown).unwrap();
    let (unread, stderr) = eval_predictions(&best, &data, &tmp.path().join("unread.jsonl"), &["--zero-audio"]);
    assert!(
        stderr.contains("precision: f32, as the checkpoint's precision cannot be read") && stderr.contains("fp8"),
        "{stderr}"
    );
    assert_eq!(unread, in_f32);
}

#[test]
fn resumed_run_reaches_the_same_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let encoder = Checkpoint::load(&tiny_bert(), &Device::Cpu).unwrap();
    let full_spec = spec(&data, &tmp.path().join("full"), ModelKind::CmBert);
    let data_set = dataset(&full_spec);
    let (tx, _rx) = unbounded();
    let (_ctx, crx) = unbounded();
    let full = Trainer::new(full_spec.clone(), &encoder, 5, &Device::Cpu)
        .unwrap()
        .run(&data_set, &tx, &crx)
        .unwrap()
        .unwrap();

    // Interrupted mid-epoch (after the 4th step of 14), then resumed from last/.
    let mut part_spec = full_spec.clone();
    part_spec.out = Some(tmp.path().join("part"));
    let (tx, rx) = unbounded();
    let (ctx, crx) = unbounded();
    let mut first = Trainer::new(part_spec, &encoder, 5, &Device::Cpu).unwrap();
    let stopped = std::thread::scope(|s| {
        let handle = s.spawn(|| first.run(&data_set, &tx, &crx));
        for event in rx.iter() {
            if let Event::Step { step: 4, .. } = event {
                ctx.send(Command::Stop).unwrap();
            }
            if matches!(event, Event::Stopped { .. }) {
                break;
            }
        }
        handle.join().unwrap()
    });
    assert!(stopped.unwrap().is_none(), "the first half must stop");
    let mut resumed = Trainer::resume(&tmp.path().join("part/last"), &Device::Cpu).unwrap();
    let (tx, _rx) = unbounded();
    let (_ctx, crx) = unbounded();
    let after = resumed.run(&data_set, &tx, &crx).unwrap().unwrap();
    assert_eq!(after.test_predictions, full.test_predictions);
    assert_eq!(
        weights(&tmp.path().join("part/last")),
        weights(&tmp.path().join("full/last"))
    );
}

#[test]
fn cli_train_eval_ablate_export() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let audio = tmp.path().join("audio.safetensors");
    write_tiny_audio(&audio, SIZES, 1.0);
    let out = tmp.path().join("run");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (code, stdout, stderr) = cli(&[
        "train",
        "--headless",
        "--data",
        &s(&data),
        "--audio",
        &s(&audio),
        "--bert",
        &s(&tiny_bert()),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--seeds",
        "2",
        "--out",
        &s(&out),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("mean") && stdout.contains("+- std"), "{stdout}");
    assert!(stderr.contains("audio.safetensors (safetensors, 5 dims)"), "{stderr}");

    let best = out.join("seed-1/best");
    let preds = tmp.path().join("preds.jsonl");
    let (code, stdout, stderr) = cli(&[
        "eval",
        "--checkpoint",
        &s(&best),
        "--data",
        &s(&data),
        "--audio",
        &s(&audio),
        "--json",
        "--predictions",
        &s(&preds),
        "--ablate-audio",
        "shuffle",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["metrics"]["n"], 14);
    // The paper variant: shuffling the audio changes nothing, bit for bit.
    assert_eq!(report["ablation"]["changed"], 0, "{stdout}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&preds)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 14);

    // Refuses to overwrite.
    let (code, _, stderr) = cli(&[
        "eval",
        "--checkpoint",
        &s(&best),
        "--data",
        &s(&data),
        "--predictions",
        &s(&preds),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("already exists"), "{stderr}");

    let export = tmp.path().join("snap.json");
    let (code, _, stderr) = cli(&[
        "export",
        "--checkpoint",
        &s(&best),
        "--data",
        &s(&data),
        "--audio",
        &s(&audio),
        "--split",
        "test",
        "--index",
        "13",
        "--format",
        "json",
        "--out",
        &s(&export),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let snap: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let snap = &snap["utterances"][0]["snapshot"];
    // The same f32 (the export's JSON widens it to f64; the predictions file prints it shortest).
    let f32_of = |v: &serde_json::Value| v.as_f64().unwrap() as f32;
    assert_eq!(
        f32_of(&snap["prediction"]),
        f32_of(&lines[13]["prediction"]),
        "export and eval agree on the prediction"
    );
    let n = snap["tokens"].as_array().unwrap().len();
    for key in [
        "text_attention",
        "audio_attention",
        "fusion_scores",
        "multimodal_attention",
    ] {
        let m = snap[key].as_array().unwrap();
        assert_eq!(
            (m.len(), m[0].as_array().unwrap().len()),
            (n, n),
            "{key} cropped to the real tokens"
        );
    }
}

#[test]
fn cm_bert_mean_variant_uses_the_audio() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let audio = tmp.path().join("audio.safetensors");
    write_tiny_audio(&audio, SIZES, 2.0);
    let out = tmp.path().join("run");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (code, _, stderr) = cli(&[
        "train",
        "--headless",
        "--data",
        &s(&data),
        "--audio",
        &s(&audio),
        "--bert",
        &s(&tiny_bert()),
        "--epochs",
        "1",
        "--cls-audio",
        "mean",
        "--out",
        &s(&out),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = cli(&[
        "eval",
        "--checkpoint",
        &s(&out.join("best")),
        "--data",
        &s(&data),
        "--audio",
        &s(&audio),
        "--ablate-audio",
        "zero",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("cls-audio mean"), "{stdout}");
    assert!(!stdout.contains("predictions changed: 0 of"), "{stdout}");
}

#[test]
fn killed_during_saves_leaves_a_loadable_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, [120, 12, 12]);
    let out = tmp.path().join("run");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let mut survived = 0;
    for delay_ms in [150u64, 300, 450, 600, 800, 1000] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cmbert-tui"))
            .args([
                "train",
                "--headless",
                "--data",
                &s(&data),
                "--bert",
                &s(&tiny_bert()),
                "--epochs",
                "50",
                "--batch-size",
                "4",
            ])
            .args(["--save-every", "1", "--overwrite", "--out", &s(&out)])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        let last = out.join("last");
        if last.exists() {
            Checkpoint::load(&last, &Device::Cpu).unwrap_or_else(|e| panic!("after kill at {delay_ms} ms: {e}"));
            Trainer::resume(&last, &Device::Cpu).unwrap_or_else(|e| panic!("after kill at {delay_ms} ms: {e}"));
            survived += 1;
        }
    }
    assert!(survived >= 3, "too few kills happened after a first save ({survived})");
}

/// The viewer's worker: a watch is answered before a split's predictions (which are built
/// one evaluation batch at a time), and those predictions equal `evaluate`'s exactly.
#[test]
fn inspector_answers_watches_first_and_predicts_like_evaluate() {
    use cmbert::train::Inspector;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let audio = tmp.path().join("audio.safetensors");
    write_tiny_audio(&audio, SIZES, 0.3);
    let mut spec = spec(&data, &tmp.path().join("run"), ModelKind::CmBert);
    spec.audio = Some(audio);
    spec.eval_batch_size = 4;
    let data_set = dataset(&spec);
    let trainer = tiny_trainer(spec);
    let mut inspector = Inspector {
        model: trainer.model(),
        weights: Weights::Live { step: 0 },
        kind: ModelKind::CmBert,
        data: &data_set,
        eval_batch_size: 4,
        audio_dim: 5,
        device: &Device::Cpu,
    };
    let (commands_tx, commands_rx) = unbounded();
    let (events_tx, events_rx) = unbounded();
    commands_tx.send(Command::Predict(Split::Test)).unwrap();
    commands_tx
        .send(Command::Watch {
            split: Split::Test,
            index: 2,
        })
        .unwrap();
    commands_tx
        .send(Command::Watch {
            split: Split::Test,
            index: 9,
        })
        .unwrap();
    let events: Vec<Event> = std::thread::scope(|scope| {
        let worker = scope.spawn(|| inspector.serve(&commands_rx, &events_tx, None));
        let timeout = std::time::Duration::from_secs(60);
        let events = (0..2).map(|_| events_rx.recv_timeout(timeout).unwrap()).collect();
        // Hanging up ends the worker, even with work pending (the app is quitting).
        drop(commands_tx);
        worker.join().unwrap().unwrap();
        events
    });
    assert!(
        events_rx.try_recv().is_err(),
        "one attention (the latest watch), one set of predictions"
    );
    let Event::Attention(inspection) = &events[0] else {
        panic!("the watch is answered first: {:?}", events[0])
    };
    assert_eq!((inspection.split, inspection.snapshot.index), (Split::Test, 9));
    let Event::Predictions { split, values, .. } = &events[1] else {
        panic!("{:?}", events[1])
    };
    let expected = evaluate(trainer.model(), data_set.split(Split::Test), 4, 5, &Device::Cpu).unwrap();
    assert_eq!(*split, Split::Test);
    assert_eq!(
        values, &expected.predictions,
        "batch by batch equals one evaluation pass"
    );
    assert_eq!(inspection.snapshot.prediction, expected.predictions[9]);
}

/// The viewer is gone (its command channel closed, as when the app's thread ends or dies):
/// the run stops before its next step and saves `last/`, resumable, instead of training on
/// for no one (it used to keep training while running, and stop only when paused).
#[test]
fn a_closed_command_channel_stops_the_run_and_saves_last() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.path().join("run");
    let spec = spec(&data, &run, ModelKind::CmBert);
    let data_set = dataset(&spec);
    let mut trainer = tiny_trainer(spec);
    let (tx, rx) = unbounded();
    let (ctx, crx) = unbounded();
    ctx.send(Command::Save).unwrap();
    drop(ctx);
    let outcome = trainer.run(&data_set, &tx, &crx).unwrap();
    assert!(outcome.is_none(), "stopped, not finished");
    let events: Vec<Event> = rx.try_iter().collect();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Step { .. })),
        "no step taken: {events:?}"
    );
    assert!(
        matches!(events.last(), Some(Event::Stopped { step: 0 })),
        "{:?}",
        events.last()
    );
    let resumed = Trainer::resume(&run.join("last"), &Device::Cpu).expect("last/ is resumable");
    assert_eq!(resumed.progress().global_step, 0);
}
