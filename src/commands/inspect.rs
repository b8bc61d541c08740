//! `cmbert-tui inspect`: what a checkpoint directory holds and, for ours, the run it comes
//! from: which of the run's checkpoints it is, where the run stood, what it was trained on
//! and whether `--resume` can continue it. A run directory stands for its `best/`
//! (`runs::checkpoint_in`).

use std::fmt::Write as _;

use anyhow::{Context, Result};

use super::printer::{format_lr, plural};
use super::runs::{checkpoint_in, Pick};
use crate::checkpoint::{Checkpoint, Layout};
use crate::cli::InspectArgs;
use crate::train::{Saved, TrainingRecord};

/// Runs `cmbert-tui inspect`: prints what the checkpoint holds and its run's record.
pub fn run(args: InspectArgs) -> Result<()> {
    let path = checkpoint_in(&args.checkpoint, Pick::Best)?;
    let ckpt = Checkpoint::load(&path, &candle_core::Device::Cpu)
        .with_context(|| format!("cannot open checkpoint {}", path.display()))?;
    super::printer::to_stdout(format_args!("{}", describe(&ckpt)?));
    Ok(())
}

/// The layout as a person would name it.
fn layout_name(layout: Layout) -> &'static str {
    match layout {
        Layout::Ours => "cmbert-tui checkpoint",
        Layout::HuggingFace => "Hugging Face (config.json)",
        Layout::Reference => "reference implementation / Google BERT (bert_config.json)",
        Layout::Scratch => "untrained BERT (configuration and vocabulary only)",
    }
}

/// The lines `inspect` prints.
pub fn describe(ckpt: &Checkpoint) -> Result<String> {
    let mut out = String::new();
    let params: usize = ckpt.tensors.values().map(|t| t.elem_count()).sum();
    let _ = writeln!(out, "checkpoint  {}", ckpt.dir.display());
    match &ckpt.meta {
        Some(meta) => {
            let _ = writeln!(out, "layout      {} (format {})", layout_name(ckpt.layout), meta.format);
        }
        None => {
            let _ = writeln!(out, "layout      {}", layout_name(ckpt.layout));
        }
    }
    if let Some(meta) = &ckpt.meta {
        let record =
            TrainingRecord::from_meta(meta).with_context(|| format!("{}", ckpt.dir.join("config.json").display()))?;
        match record {
            Some(record) => describe_run(&mut out, ckpt, &record),
            None => {
                let _ = writeln!(out, "run         not recorded (not written by `cmbert-tui train`)");
            }
        }
    }
    let b = &ckpt.bert;
    let _ = writeln!(
        out,
        "encoder     {} layers, hidden {}, {} heads, vocab {}",
        b.num_hidden_layers, b.hidden_size, b.num_attention_heads, b.vocab_size
    );
    let _ = match &ckpt.head {
        Some(h) => writeln!(
            out,
            "head        {} (cls-audio {}, audio dim {}, k {})",
            h.model, h.cls_audio, h.audio_dim, h.proj_dim
        ),
        None => writeln!(
            out,
            "head        none (a pre-trained encoder: training adds a new head)"
        ),
    };
    let _ = writeln!(out, "vocabulary  {}", ckpt.vocab.display());
    let _ = writeln!(out, "tensors     {} ({params} values)", ckpt.tensors.len());
    Ok(out)
}

/// Which checkpoint of its run this is, where the run stood, what it was trained on.
fn describe_run(out: &mut String, ckpt: &Checkpoint, r: &TrainingRecord) {
    let spec = &r.spec;
    let saved = match r.saved {
        Some(Saved::Best) => "best: the weights of the best dev epoch",
        Some(Saved::Last) => "last: the latest state, with the optimiser's",
        None => "not recorded (an older checkpoint)",
    };
    let _ = writeln!(out, "saved as    {saved}");
    let mut progress = Vec::new();
    if let Some(done) = r.epochs_done {
        progress.push(format!("{done} of {} epochs done", spec.epochs));
    }
    if let Some(step) = r.step {
        progress.push(format!("step {step}"));
    }
    if !progress.is_empty() {
        let _ = writeln!(out, "progress    {}", progress.join(", "));
    }
    let _ = match (r.best_epoch, r.best_dev_loss) {
        (Some(epoch), Some(loss)) => writeln!(out, "best dev    epoch {epoch}, loss {loss:.4}"),
        (Some(epoch), None) => writeln!(out, "best dev    epoch {epoch}"),
        _ => writeln!(out, "best dev    none yet (no epoch has ended)"),
    };
    let run = crate::train::engine::run_dir_of(&ckpt.dir);
    let resumable = if r.resumable() {
        format!("yes: cmbert-tui train --resume {}", ckpt.dir.display())
    } else {
        match r.saved {
            Some(Saved::Best) => format!(
                "no (best/ holds no optimiser state; the run's last/ does: {})",
                run.join("last").display()
            ),
            _ => "no (no optimiser state)".into(),
        }
    };
    let _ = writeln!(out, "resumable   {resumable}");
    let _ = writeln!(
        out,
        "model       {} (cls-audio {}), preset {}, seed {}",
        spec.model, spec.cls_audio, spec.preset, spec.seed
    );
    let _ = writeln!(
        out,
        "recipe      {}, batch {}, lr {}, head lr {}, max len {}{}",
        plural(spec.epochs, "epoch", "epochs"),
        spec.batch_size,
        format_lr(spec.groups.lr),
        format_lr(spec.groups.head_lr),
        spec.max_len,
        super::products_note(spec.precision)
    );
    let _ = if spec.label.is_multimodal() {
        writeln!(out, "data        {}", spec.data.display())
    } else {
        // A CH-SIMS file's per-modality label (`--label`); M is every other run's.
        writeln!(
            out,
            "data        {} (label {}, {})",
            spec.data.display(),
            spec.label,
            spec.label.key()
        )
    };
    let _ = match &spec.audio {
        Some(audio) => writeln!(out, "audio       {}", audio.display()),
        None if spec.model == crate::model::ModelKind::TBert => writeln!(out, "audio       none (T-BERT reads none)"),
        None => writeln!(out, "audio       none (trained on zero audio)"),
    };
    let _ = writeln!(out, "bert        {}", spec.bert.display());
}
