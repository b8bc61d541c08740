//! `cmbert-tui eval`: metrics of a trained checkpoint, optionally with the audio ablated.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::Device;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::printer::short_metrics;
use super::Trained;
use crate::cli::{Ablation, EvalArgs};
use crate::data::Example;
use crate::train::{evaluate, Evaluation, Metrics};

/// How much the predictions moved when the audio was taken away.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AblationReport {
    pub ablation: String,
    pub metrics: Metrics,
    pub mean_abs_change: f64,
    pub max_abs_change: f64,
    /// Predictions that changed at all (bit-level).
    pub changed: usize,
    /// Predictions whose sign (Acc2 class) flipped.
    pub sign_flips: usize,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let device = Device::Cpu;
    let trained = Trained::open(&args.checkpoint, &device)?;
    if let Some(p) = &args.predictions {
        refuse_overwrite(p, args.force)?;
    }
    let data = trained.dataset(&args.data, args.audio.as_deref())?;
    let examples = data.split(args.split);
    let eval = evaluate(
        &trained.model,
        examples,
        args.eval_batch_size,
        trained.head.audio_dim,
        &device,
    )?;
    let ablation = args
        .ablate_audio
        .map(|kind| ablate(&trained, examples, &eval, kind, args.eval_batch_size, &device))
        .transpose()?;
    if let Some(path) = &args.predictions {
        write_predictions(path, examples, &eval.predictions)?;
    }
    if args.json {
        let mut out = serde_json::json!({
            "checkpoint": args.checkpoint,
            "split": args.split,
            "model": trained.head.model,
            "cls_audio": trained.head.cls_audio,
            "eval_batch_size": args.eval_batch_size,
            "loss": eval.loss,
            "metrics": eval.metrics,
        });
        if let Some(a) = &ablation {
            out["ablation"] = serde_json::to_value(a)?;
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{} ({} split, {} utterances, {}, cls-audio {}, batches of {} in file order)",
        args.checkpoint.display(),
        args.split,
        examples.len(),
        trained.head.model,
        trained.head.cls_audio,
        args.eval_batch_size
    );
    println!("  {}", short_metrics(&eval.metrics));
    println!(
        "  Acc2 has-0 {:.1}  F1 (reference's argument order) {:.1}  Acc5 {:.1}  loss {:.4}",
        100.0 * eval.metrics.acc2_has0,
        100.0 * eval.metrics.f1_ref,
        100.0 * eval.metrics.acc5,
        eval.loss
    );
    if let Some(a) = &ablation {
        println!("with audio {}:", a.ablation);
        println!("  {}", short_metrics(&a.metrics));
        println!(
            "  predictions changed: {} of {} (mean |change| {:.2e}, max {:.2e}); sign flips: {}",
            a.changed,
            examples.len(),
            a.mean_abs_change,
            a.max_abs_change,
            a.sign_flips
        );
        if a.changed == 0 {
            println!("  the predictions do not depend on the audio at all");
        }
    }
    Ok(())
}

fn ablate(
    trained: &Trained,
    examples: &[Example],
    base: &Evaluation,
    kind: Ablation,
    batch: usize,
    device: &Device,
) -> Result<AblationReport> {
    let mut ablated: Vec<Example> = examples.to_vec();
    match kind {
        Ablation::Zero => ablated
            .iter_mut()
            .for_each(|e| e.audio.iter_mut().for_each(|v| *v = 0.0)),
        Ablation::Shuffle => {
            let mut order: Vec<usize> = (0..examples.len()).collect();
            order.shuffle(&mut StdRng::seed_from_u64(0x5EED));
            for (e, &from) in ablated.iter_mut().zip(&order) {
                e.audio = examples[from].audio.clone();
            }
        }
    }
    let eval = evaluate(&trained.model, &ablated, batch, trained.head.audio_dim, device)?;
    let diffs: Vec<f64> = eval
        .predictions
        .iter()
        .zip(&base.predictions)
        .map(|(a, b)| (a - b).abs() as f64)
        .collect();
    Ok(AblationReport {
        ablation: match kind {
            Ablation::Zero => "zeroed".into(),
            Ablation::Shuffle => "shuffled across utterances".into(),
        },
        metrics: eval.metrics,
        mean_abs_change: diffs.iter().sum::<f64>() / diffs.len().max(1) as f64,
        max_abs_change: diffs.iter().copied().fold(0.0, f64::max),
        changed: eval
            .predictions
            .iter()
            .zip(&base.predictions)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count(),
        sign_flips: eval
            .predictions
            .iter()
            .zip(&base.predictions)
            .filter(|(a, b)| (**a > 0.0) != (**b > 0.0))
            .count(),
    })
}

pub fn refuse_overwrite(path: &Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        bail!(
            "{} already exists; choose another name or pass --force to replace it",
            path.display()
        );
    }
    Ok(())
}

/// Written aside and renamed, so a failure leaves no half-written file.
fn write_predictions(path: &Path, examples: &[Example], predictions: &[f32]) -> Result<()> {
    let tmp = path.with_extension("jsonl.tmp");
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?,
    );
    for (index, (e, p)) in examples.iter().zip(predictions).enumerate() {
        let line = serde_json::json!({"index": index, "text": e.text, "label": e.label, "prediction": p});
        writeln!(file, "{line}")?;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
