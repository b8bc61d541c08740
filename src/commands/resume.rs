//! `train --resume` and the flags given with it. A resumed run continues with the settings
//! recorded in its checkpoint (`TrainingRecord::spec`), and no flag is ignored:
//! - refused, naming the flag and why, when it would change what the run is (its model,
//!   data and its label, batches, optimiser or seed: what its weights, optimiser state and
//!   position in the data were made with), unless it repeats the recorded value;
//! - applied, recorded in the checkpoints the run writes and printed: `--epochs` (the run's
//!   length, see `Trainer::amend` for the learning-rate schedule), `--eval-batch-size`,
//!   `--save-every`;
//! - `--headless`, `--theme`, `--exports`, `--device`, `--out` and `--overwrite` choose how
//!   and where it runs, not what it computes (`--data`, `--bert` and `--seeds` conflict with
//!   `--resume` on the command line).

use crate::commands::printer::say;
use std::fmt::Display;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cli::TrainArgs;
use crate::model::bf16::Precision;
use crate::train::{Amend, Preset, RunSpec, Trainer, WarmupLinear};

/// A flag that would change the run.
struct Refusal {
    flag: &'static str,
    given: String,
    recorded: String,
    why: &'static str,
}

const OPTIMISER: &str = "the optimiser's state and schedule continue with the recorded settings";

/// A refusal when `given` is there and differs from `recorded`.
fn differs<T: PartialEq + Display>(
    flag: &'static str,
    given: Option<T>,
    recorded: T,
    why: &'static str,
) -> Option<Refusal> {
    given.filter(|g| *g != recorded).map(|g| Refusal {
        flag,
        given: g.to_string(),
        recorded: recorded.to_string(),
        why,
    })
}

fn preset_name(p: Preset) -> &'static str {
    match p {
        Preset::Paper => "paper",
        Preset::Scratch => "scratch",
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// The flags given that would change the run recorded in `spec` (whose head takes audio
/// of width `audio_dim`).
fn refusals(args: &TrainArgs, spec: &RunSpec, audio_dim: usize) -> Vec<Refusal> {
    let mut refused: Vec<Refusal> = [
        differs("--model", args.model, spec.model, "the weights are this model's"),
        differs(
            "--cls-audio",
            args.cls_audio,
            spec.cls_audio,
            "the head was trained with it",
        ),
        differs(
            "--preset",
            args.preset.map(preset_name),
            preset_name(spec.preset),
            "the recorded settings are this preset's",
        ),
        differs(
            "--batch-size",
            args.batch_size,
            spec.batch_size,
            "the position in the epoch and the schedule count its batches",
        ),
        differs("--lr", args.lr, spec.groups.lr, OPTIMISER),
        differs("--head-lr", args.head_lr, spec.groups.head_lr, OPTIMISER),
        differs("--weight-decay", args.weight_decay, spec.groups.weight_decay, OPTIMISER),
        differs("--warmup", args.warmup, spec.warmup, OPTIMISER),
        differs("--max-grad-norm", args.max_grad_norm, spec.max_grad_norm, OPTIMISER),
        differs(
            "--max-len",
            args.max_len,
            spec.max_len,
            "the utterances are encoded to this length",
        ),
        differs("--seed", args.seed, spec.seed, "the data order and dropout follow it"),
        differs(
            "--label",
            args.label,
            spec.label,
            "the run trains on the labels it started with",
        ),
        differs(
            "--audio-dim",
            args.audio_dim,
            audio_dim,
            "the head's audio input has this width",
        ),
        differs(
            "--precision",
            args.precision.map(Precision::name),
            spec.precision.name(),
            "the run computes at the precision it started with",
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(audio) = &args.audio {
        if !spec.audio.as_deref().is_some_and(|a| same_file(a, audio)) {
            refused.push(Refusal {
                flag: "--audio",
                given: audio.display().to_string(),
                recorded: spec
                    .audio
                    .as_ref()
                    .map_or("none (zero audio)".into(), |a| a.display().to_string()),
                why: "the run trains on the audio it started with",
            });
        }
    }
    if let Some(seed) = args.corpus_seed {
        refused.push(Refusal {
            flag: "--corpus-seed",
            given: seed.to_string(),
            recorded: format!("the data in {}", spec.data.display()),
            why: "it chooses a new run's built-in corpus",
        });
    }
    refused
}

/// What `--resume` changed, printed once the data (and so the schedule) is known.
#[derive(Debug, Default)]
pub struct Applied {
    /// The run's length before and after, and the step it changed at.
    epochs: Option<(usize, usize, usize)>,
    eval_batch_size: Option<(usize, usize)>,
    save_every: Option<(Option<usize>, usize)>,
    /// The flags that repeat what the checkpoint records.
    as_recorded: Vec<&'static str>,
}

/// Refuses the flags that would change the run resumed from `checkpoint`, or applies them
/// to `trainer` (before anything is written).
pub fn amend(args: &TrainArgs, trainer: &mut Trainer, checkpoint: &Path) -> Result<Applied> {
    let spec = trainer.spec.clone();
    let refused = refusals(args, &spec, trainer.head().audio_dim);
    if !refused.is_empty() {
        let list: Vec<String> = refused
            .iter()
            .map(|r| format!("{} {} (the run's is {}: {})", r.flag, r.given, r.recorded, r.why))
            .collect();
        bail!(
            "{}: cannot resume with {}; a resumed run keeps the settings it was started with: start a new run (--out DIR) to change them",
            checkpoint.display(),
            list.join("; ")
        );
    }
    let as_recorded = [
        ("--model", args.model.is_some()),
        ("--cls-audio", args.cls_audio.is_some()),
        ("--preset", args.preset.is_some()),
        ("--batch-size", args.batch_size.is_some()),
        ("--lr", args.lr.is_some()),
        ("--head-lr", args.head_lr.is_some()),
        ("--weight-decay", args.weight_decay.is_some()),
        ("--warmup", args.warmup.is_some()),
        ("--max-grad-norm", args.max_grad_norm.is_some()),
        ("--max-len", args.max_len.is_some()),
        ("--seed", args.seed.is_some()),
        ("--label", args.label.is_some()),
        ("--audio-dim", args.audio_dim.is_some()),
        ("--precision", args.precision.is_some()),
        ("--audio", args.audio.is_some()),
        ("--epochs", args.epochs == Some(spec.epochs)),
        ("--eval-batch-size", args.eval_batch_size == Some(spec.eval_batch_size)),
        (
            "--save-every",
            args.save_every.is_some() && args.save_every == spec.save_every,
        ),
    ]
    .into_iter()
    .filter_map(|(flag, same)| same.then_some(flag))
    .collect();
    let changed = |given: Option<usize>, recorded: usize| given.filter(|&g| g != recorded);
    let amend = Amend {
        epochs: changed(args.epochs, spec.epochs),
        eval_batch_size: changed(args.eval_batch_size, spec.eval_batch_size),
        save_every: args.save_every.filter(|&n| spec.save_every != Some(n)),
    };
    trainer.amend(amend).with_context(|| checkpoint.display().to_string())?;
    Ok(Applied {
        epochs: amend.epochs.map(|to| (spec.epochs, to, trainer.progress().global_step)),
        eval_batch_size: amend.eval_batch_size.map(|to| (spec.eval_batch_size, to)),
        save_every: amend.save_every.map(|to| (spec.save_every, to)),
        as_recorded,
    })
}

impl Applied {
    /// One line per change; `spec` is the amended run's, `n_train` its training split's size.
    pub fn print(&self, spec: &RunSpec, n_train: usize) {
        if let Some((from, to, step)) = self.epochs {
            let t_total = spec.t_total(n_train);
            let factor = WarmupLinear {
                warmup: spec.warmup,
                t_total,
            }
            .factor(step);
            let course = if to * spec.steps_per_epoch(n_train) <= step {
                "the run ends now (its best/ is tested)".to_string()
            } else {
                format!(
                    "the learning rate from step {step} on is that of a {to}-epoch run: {factor:.2} x --lr now, 0 at step {t_total}"
                )
            };
            say!("resume: --epochs {to} (was {from}): {course}");
        }
        if let Some((from, to)) = self.eval_batch_size {
            say!("resume: --eval-batch-size {to} (was {from})");
        }
        if let Some((from, to)) = self.save_every {
            let from = from.map_or("at epoch ends only".into(), |n| n.to_string());
            say!("resume: --save-every {to} (was {from})");
        }
        if !self.as_recorded.is_empty() {
            say!("resume: {}: as recorded", self.as_recorded.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClsAudio, ModelKind};
    use clap::Parser;

    fn args(flags: &str) -> TrainArgs {
        let cli = crate::cli::Cli::parse_from(format!("cmbert-tui train --resume r/last {flags}").split_whitespace());
        match cli.command {
            Some(crate::cli::Command::Train(args)) => *args,
            _ => unreachable!("a train command"),
        }
    }

    fn spec() -> RunSpec {
        let mut spec = RunSpec::scratch("d".into(), "b".into(), ModelKind::CmBert);
        spec.cls_audio = ClsAudio::Mean;
        spec
    }

    fn refused(flags: &str) -> Vec<&'static str> {
        refusals(&args(flags), &spec(), 5).iter().map(|r| r.flag).collect()
    }

    #[test]
    fn every_flag_that_defines_the_run_is_refused_when_it_differs() {
        assert!(refused("").is_empty());
        assert!(
            refused("--epochs 40 --eval-batch-size 8 --save-every 3 --headless --theme paper").is_empty(),
            "applied or harmless"
        );
        assert_eq!(
            refused(
                "--model t-bert --cls-audio zero --preset paper --batch-size 8 --lr 0.5 --head-lr 1 \
                 --weight-decay 0 --warmup 0.2 --max-grad-norm 2 --max-len 20 --seed 7 --label T \
                 --audio-dim 3 --precision bf16 --audio a.pkl --corpus-seed 1"
            ),
            [
                "--model",
                "--cls-audio",
                "--preset",
                "--batch-size",
                "--lr",
                "--head-lr",
                "--weight-decay",
                "--warmup",
                "--max-grad-norm",
                "--max-len",
                "--seed",
                "--label",
                "--audio-dim",
                "--precision",
                "--audio",
                "--corpus-seed"
            ]
        );
        // The recorded values, repeated, change nothing.
        assert!(refused(
            "--model cm-bert --cls-audio mean --preset scratch --lr 0.001 --seed 42 --audio-dim 5 --label M \
             --precision f32"
        )
        .is_empty());
    }

    /// A run on a CH-SIMS file's T label resumes on T: `--label T` repeats it, any other is
    /// refused with the recorded one named.
    #[test]
    fn the_recorded_label_is_the_runs() {
        let mut spec = spec();
        spec.label = crate::data::MmsaLabel::T;
        assert!(refusals(&args("--label T"), &spec, 5).is_empty());
        assert!(refusals(&args(""), &spec, 5).is_empty());
        let refused = refusals(&args("--label M"), &spec, 5);
        assert_eq!(refused.len(), 1);
        let r = &refused[0];
        assert_eq!((r.flag, r.given.as_str(), r.recorded.as_str()), ("--label", "M", "T"));
    }
}
