//! `cmbert-tui eval`: metrics of a trained checkpoint, optionally with the audio ablated.

use crate::commands::printer::tell;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::Device;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::inputs::AudioRequest;
use super::printer::short_metrics;
use super::Trained;
use crate::cli::{Ablation, EvalArgs};
use crate::compare::Family;
use crate::data::Example;
use crate::train::{evaluate, Evaluation, Metrics};

/// How much the predictions moved when the audio was taken away.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AblationReport {
    /// What was done to the audio (`zero` or `shuffle`).
    pub ablation: String,
    /// The metrics with the ablated audio.
    pub metrics: Metrics,
    /// Mean absolute change of the predictions.
    pub mean_abs_change: f64,
    /// Largest absolute change of a prediction.
    pub max_abs_change: f64,
    /// Predictions that changed at all (bit-level).
    pub changed: usize,
    /// Predictions whose sign (Acc2 class) flipped.
    pub sign_flips: usize,
    #[serde(skip)]
    /// The ablated predictions in file order (not printed).
    pub predictions: Vec<f32>,
}

/// Per-utterance groups from `<split>.meta.jsonl` beside the TSV (the built-in corpus writes
/// one with each utterance's `kind`): metrics are also reported per group.
fn groups(data: &Path, split: crate::data::Split, n: usize) -> Result<Option<Vec<String>>> {
    let path = data.join(format!("{}.meta.jsonl", split.name()));
    // Present, not `is_file`: a FIFO or a device there is refused by name, not skipped.
    if !crate::fsutil::input_present(&path) {
        return Ok(None);
    }
    let text = crate::fsutil::read_input_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let kinds: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let v: serde_json::Value =
                serde_json::from_str(line).with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
            v["kind"]
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("{}:{}: no \"kind\"", path.display(), i + 1))
        })
        .collect::<Result<_>>()?;
    if kinds.len() != n {
        bail!(
            "{}: {} lines, the split has {n} utterances",
            path.display(),
            kinds.len()
        );
    }
    Ok(Some(kinds))
}

/// Metrics of each group, in first-seen order.
pub fn metrics_by_group(kinds: &[String], predictions: &[f32], labels: &[f32]) -> Vec<(String, Metrics)> {
    let mut names: Vec<&String> = Vec::new();
    for k in kinds {
        if !names.contains(&k) {
            names.push(k);
        }
    }
    names
        .into_iter()
        .map(|name| {
            let idx: Vec<usize> = (0..kinds.len()).filter(|&i| &kinds[i] == name).collect();
            let p: Vec<f32> = idx.iter().map(|&i| predictions[i]).collect();
            let y: Vec<f32> = idx.iter().map(|&i| labels[i]).collect();
            (name.clone(), Metrics::compute(&p, &y))
        })
        .collect()
}

/// Runs `cmbert-tui eval`: prints the metrics, writes `--predictions`, runs the ablation.
pub fn run(args: EvalArgs) -> Result<()> {
    let input = &args.input;
    let device = input.device.open()?;
    let mut trained = Trained::open(&input.checkpoint, &device)?;
    let precision = trained.set_precision(input.precision);
    if let Some(p) = &args.predictions {
        refuse_overwrite(p, input.force)?;
    }
    let (data, audio) = trained.inputs_labelled(
        input.data.as_deref(),
        AudioRequest::from_flags(input.audio.as_deref(), input.zero_audio),
        input.label,
    )?;
    // Without audio an ablation changes nothing, which would read as "the predictions do not
    // depend on the audio".
    if let (Some(_), Some(why)) = (args.ablate_audio, audio.why_no_ablation()) {
        bail!("--ablate-audio: {why}");
    }
    let data_dir = data.dir.as_path();
    let examples = data.split(input.split);
    let mut eval = evaluate(
        &trained.model,
        examples,
        input.eval_batch_size,
        trained.head.audio_dim,
        &device,
    )?;
    // An MMSA pickle's figures as MMSA counts them for its family (`Metrics::compute_for`).
    let labels: Vec<f32> = examples.iter().map(|e| e.label).collect();
    eval.metrics = Metrics::compute_for(data.mmsa, &eval.predictions, &labels);
    // A NaN would be written as `null` and counted as a wrong sign by the metrics.
    eval.check_finite(examples)
        .with_context(|| format!("{}: {} split", input.checkpoint.display(), input.split))?;
    let ablation = args
        .ablate_audio
        .map(|kind| ablate(&trained, examples, &eval, kind, input.eval_batch_size, &device))
        .transpose()?
        .map(|mut a| {
            a.metrics = Metrics::compute_for(data.mmsa, &a.predictions, &labels);
            a
        });
    if let Some(path) = &args.predictions {
        write_predictions(path, examples, &eval.predictions)?;
    }
    let kinds = groups(data_dir, input.split, examples.len())?;
    let by_group = kinds.as_ref().map(|k| metrics_by_group(k, &eval.predictions, &labels));
    let ablated_by_group = kinds
        .as_ref()
        .zip(ablation.as_ref())
        .map(|(k, a)| metrics_by_group(k, &a.predictions, &labels));
    if args.json {
        let mut out = serde_json::json!({
            "checkpoint": input.checkpoint,
            "split": input.split,
            "model": trained.head.model,
            "cls_audio": trained.cls_audio(),
            "data": data.dir,
            "audio": audio.path(),
            "audio_source": audio.source(),
            "eval_batch_size": input.eval_batch_size,
            "precision": precision,
            "loss": eval.loss,
            "metrics": eval.metrics,
        });
        if let Some(a) = &ablation {
            out["ablation"] = serde_json::to_value(a)?;
        }
        if let Some(g) = &by_group {
            out["by_kind"] = g
                .iter()
                .map(|(k, m)| (k.clone(), serde_json::to_value(m).expect("metrics serialise")))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        if let Some(g) = &ablated_by_group {
            out["ablation"]["by_kind"] = g
                .iter()
                .map(|(k, m)| (k.clone(), serde_json::to_value(m).expect("metrics serialise")))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        tell!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let cls_audio = trained
        .cls_audio()
        .map(|c| format!(", cls-audio {c}"))
        .unwrap_or_default();
    let products = super::products_note(precision);
    tell!(
        "{} ({} split, {} utterances, {}{cls_audio}, batches of {} in file order{products})",
        input.checkpoint.display(),
        input.split,
        examples.len(),
        trained.head.model,
        input.eval_batch_size
    );
    tell!("  data {}; audio {}", data.dir.display(), audio.brief());
    tell!("  {}", short_metrics(&eval.metrics));
    tell!("  {}", second_line(&eval.metrics, eval.loss));
    if let Some(groups) = &by_group {
        for (i, (name, m)) in groups.iter().enumerate() {
            let ablated = ablated_by_group
                .as_ref()
                .map(|g| format!("  | ablated Acc2 {:.1}", 100.0 * g[i].1.acc2))
                .unwrap_or_default();
            tell!(
                "  {name:<10} n={:<5} Acc2 {:.1} MAE {:.3}{ablated}",
                m.n,
                100.0 * m.acc2,
                m.mae
            );
        }
    }
    if let Some(a) = &ablation {
        tell!("with audio {}:", a.ablation);
        tell!("  {}", short_metrics(&a.metrics));
        tell!(
            "  predictions changed: {} of {} (mean |change| {:.2e}, max {:.2e}); sign flips: {}",
            a.changed,
            examples.len(),
            a.mean_abs_change,
            a.max_abs_change,
            a.sign_flips
        );
        if trained.cls_audio().is_none() {
            tell!("  T-BERT does not read the audio");
        } else if a.changed == 0 {
            tell!("  the predictions do not depend on the audio at all");
        }
    }
    Ok(())
}

/// The line under the headline figures: the paper's other conventions (Acc2 has-0, the
/// reference's F1, Acc5) and the loss; for an MMSA pickle, whose line above holds MMSA's
/// figures for its family (`short_metrics`), the loss and whose figures they are, chosen
/// from what the evaluation recorded (`Metrics::mmsa`).
pub fn second_line(m: &Metrics, loss: f64) -> String {
    match Family::of(m.mmsa.as_ref()) {
        Family::Paper => format!(
            "Acc2 has-0 {:.1}  F1 (reference's argument order) {:.1}  Acc5 {:.1}  loss {loss:.4}",
            100.0 * m.acc2_has0,
            100.0 * m.f1_ref,
            100.0 * m.acc5,
        ),
        family => format!("loss {loss:.4}; {}", family.describe()),
    }
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
    eval.check_finite(&ablated)
        .with_context(|| format!("{}: with the audio ablated", trained.checkpoint.dir.display()))?;
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
        predictions: eval.predictions,
    })
}

/// Fails when `path` exists and `--force` was not given, saying how to replace it.
pub fn refuse_overwrite(path: &Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        bail!(
            "{} already exists; choose another name or pass --force to replace it",
            path.display()
        );
    }
    Ok(())
}

/// One line of `--predictions`. Serialised directly (not through `serde_json::Value`, which
/// widens an f32 to f64 and prints the label 1.8 as 1.7999999523162842): each number is the
/// shortest text that reads back as the same f32, so labels print as the TSV has them.
#[derive(serde::Serialize)]
struct PredictionLine<'a> {
    index: usize,
    /// The utterance's id in its file (an MMSA pickle's `id`, a TSV's `id` column), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    text: &'a str,
    label: f32,
    prediction: f32,
}

/// Through the crate's atomic writer: a failure leaves neither a half-written file nor a
/// temporary one.
fn write_predictions(path: &Path, examples: &[Example], predictions: &[f32]) -> Result<()> {
    crate::fsutil::write_atomic_with(path, |w| {
        for (index, (e, &prediction)) in examples.iter().zip(predictions).enumerate() {
            let line = PredictionLine {
                index,
                id: e.id.as_deref(),
                text: &e.text,
                label: e.label,
                prediction,
            };
            serde_json::to_writer(&mut *w, &line)?;
            writeln!(w)?;
        }
        Ok(())
    })
    .with_context(|| format!("cannot write {}", path.display()))
}
