//! `cmbert-tui export`: one utterance's attention snapshot, computed in the same batch as
//! `eval` computes it, so its prediction equals the evaluation's.

use anyhow::{bail, Context, Result};
use candle_core::Device;

use super::eval::refuse_overwrite;
use super::Trained;
use crate::cli::{ExportArgs, ExportFormat};
use crate::train::attention_snapshot;

pub fn run(args: ExportArgs) -> Result<()> {
    let input = &args.input;
    let device = Device::Cpu;
    refuse_overwrite(&args.out, input.force)?;
    let trained = Trained::open(&input.checkpoint, &device)?;
    let data = trained.dataset(&input.data, input.audio.as_deref())?;
    let examples = data.split(input.split);
    if args.index >= examples.len() {
        bail!(
            "--index {}: the {} split has {} utterances (0-based)",
            args.index,
            input.split,
            examples.len()
        );
    }
    let snapshot = attention_snapshot(
        &trained.model,
        examples,
        args.index,
        input.eval_batch_size,
        trained.head.audio_dim,
        &device,
    )?;
    let doc = serde_json::json!({
        "checkpoint": input.checkpoint,
        "data": input.data,
        "audio": input.audio,
        "split": input.split,
        "model": trained.head.model,
        "cls_audio": trained.head.cls_audio,
        "text": examples[args.index].text,
        "snapshot": snapshot,
    });
    let text = match args.format {
        ExportFormat::Json => serde_json::to_string_pretty(&doc)?,
    };
    let tmp = args.out.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({} tokens, prediction {:.3}, label {:.2})",
        args.out.display(),
        snapshot.tokens.len(),
        snapshot.prediction,
        snapshot.label
    );
    Ok(())
}
