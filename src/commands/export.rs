//! `cmbert-tui export`: attention snapshots computed in the same batch as `eval` computes them
//! (so their predictions equal the evaluation's), written as a figure or a table.

use crate::commands::printer::tell;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::eval::refuse_overwrite;
use super::inputs::{AudioRequest, AudioUsed};
use super::Trained;
use crate::cli::ExportArgs;
use crate::data::{label_text, Split};
use crate::export::{self, CommandMeta, Format, Item, Meta, Source, Style};
use crate::figure4;
use crate::train::attention_snapshot;

pub mod pair;
mod through_training;

/// Where exports go without `--out`, relative to the working directory.
pub const EXPORT_DIR: &str = "exports";

/// Runs `cmbert-tui export`: draws or tabulates the chosen utterances' attention.
pub fn run(args: ExportArgs) -> Result<()> {
    if !args.curves.is_empty() {
        return curves(&args);
    }
    if let Some(run) = &args.through_training {
        return through_training::run(run, &args);
    }
    // clap's `requires` lets them through when --checkpoint (which --through-training
    // conflicts with) is given.
    if !args.steps.is_empty() || args.frame_ms.is_some() {
        bail!("--steps and --frame-ms go with --through-training RUN (the attention a run recorded)");
    }
    let takes = args.recording.takes().map_err(anyhow::Error::msg)?;
    if let Ok(pair) = <&[_; 2]>::try_from(&takes[..]) {
        if args.figure4 {
            bail!("--figure4 needs CMU-MOSI's test split (--data), not recordings");
        }
        return pair::run(&args, pair);
    }
    let take = takes.first();
    let input = &args.input;
    let device = input.device.open()?;
    let format = chosen_format(args.format, args.out.as_deref())?.unwrap_or(Format::Json);
    if let Some(out) = &args.out {
        refuse_overwrite(out, input.force)?;
    }
    let theme = crate::ui::Theme::load(&args.theme)?;
    let mut trained = Trained::open(&input.checkpoint, &device)?;
    trained.set_precision(input.precision);
    let (data, audio, split) = match take {
        Some(take) => {
            if args.figure4 {
                bail!("--figure4 needs CMU-MOSI's test split (--data), not a recording");
            }
            let data = trained.recording(&take.wav, &take.words)?;
            (data, AudioUsed::Recording(take.wav.clone()), Split::Test)
        }
        None => {
            let request = AudioRequest::from_flags(input.audio.as_deref(), input.zero_audio);
            let (data, audio) = trained.inputs_labelled(input.data.as_deref(), request, input.label)?;
            (data, audio, input.split)
        }
    };
    let examples = data.split(split);
    let indices = match args.index {
        Some(index) if index >= examples.len() => bail!(
            "--index {index}: the {} split has {} utterances (0-based)",
            split,
            examples.len()
        ),
        Some(index) => vec![index],
        None if take.is_some() => vec![0],
        None => {
            let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
            figure4::find(&texts).map(Vec::from).or_else(|missing| {
                bail!(
                    "--figure4: {} lacks {} of the {} sentences of the paper's Figure 4: {}. They are in \
CMU-MOSI's test split (0-based utterances 272, 531 and 572 of the reference test.tsv).",
                    split.tsv_path(&data.dir).display(),
                    missing.len(),
                    figure4::SENTENCES.len(),
                    missing
                        .iter()
                        .map(|s| format!("\"{s}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?
        }
    };
    let snapshots = indices
        .iter()
        .map(|&i| {
            attention_snapshot(
                &trained.model,
                examples,
                i,
                input.eval_batch_size,
                trained.head.audio_dim,
                &device,
            )
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    let items: Vec<Item> = snapshots
        .iter()
        .map(|snapshot| Item {
            snapshot,
            text: &examples[snapshot.index].text,
            split,
            recording: take.map(|t| t.wav.as_path()),
        })
        .collect();
    let style = Style {
        left: args.left,
        right: args.right,
        level: args.level,
        show_special: !args.hide_special,
        sequential: theme.sequential,
        diverging: theme.diverging,
    };
    let meta = Meta {
        split,
        checkpoint: Some(input.checkpoint.clone()),
        wav: take.map(|t| t.wav.clone()),
        source: Source::Command(CommandMeta {
            model: trained.head.model,
            cls_audio: trained.cls_audio(),
            data: take.is_none().then(|| data.dir.clone()),
            audio: audio.path().map(Path::to_path_buf),
            audio_source: audio.source().name().into(),
            words: take.map(|t| t.words.clone()),
            eval_batch_size: input.eval_batch_size,
            precision: trained.precision,
        }),
    };
    let path = match &args.out {
        Some(out) => {
            export::write(&items, &meta, &style, format, out)?;
            out.clone()
        }
        None => {
            // A recording is named after its file (the items say so), not "test-0000".
            let stem = export::file_stem(&items, args.figure4.then_some("figure4"), &style);
            export::write_new(&items, &meta, &style, format, Path::new(EXPORT_DIR), &stem)?
        }
    };
    tell!(
        "wrote {} ({format}: {} and {}, {} level, {})",
        path.display(),
        style.left,
        style.right,
        export::level_name(style.level),
        match (take.is_some(), items.len()) {
            (true, _) => format!("the recording {}", items[0].name()),
            (false, 1) => format!("1 utterance of the {split} split"),
            (false, n) => format!("{n} utterances of the {split} split"),
        }
    );
    for item in &items {
        let s = item.snapshot;
        let id = match item.recording {
            Some(_) => item.name(),
            None => format!("#{}", s.index),
        };
        tell!(
            "  {id:<6} \"{}\"  label {}  prediction {:+.2}  (audio removed: {:+.2})",
            item.text,
            label_text(s.label, 2),
            s.prediction,
            s.prediction_without_audio
        );
    }
    Ok(())
}

/// `export --curves RUN...`: the runs' loss and dev-metric curves as a figure or a CSV of
/// every point (the comparison's figure: `compare --out` writes the same one).
fn curves(args: &ExportArgs) -> Result<()> {
    use crate::export::curves::{Contents, CurvesFormat};
    let comparison = super::compare::load(&args.curves)?;
    let outs: Vec<(std::path::PathBuf, CurvesFormat)> = match &args.out {
        Some(out) => {
            let format = CurvesFormat::from_path(out).with_context(|| {
                format!(
                    "{}: --curves writes a .png or .svg file (the figure), or a .csv file (every point)",
                    out.display()
                )
            })?;
            refuse_overwrite(out, args.input.force)?;
            vec![(out.clone(), format)]
        }
        None => {
            std::fs::create_dir_all(EXPORT_DIR).with_context(|| format!("cannot create {EXPORT_DIR}/"))?;
            [("png", CurvesFormat::Png), ("csv", CurvesFormat::Csv)]
                .into_iter()
                .map(|(ext, format)| (export::unique_path(Path::new(EXPORT_DIR), "curves", ext), format))
                .collect()
        }
    };
    for (out, format) in outs {
        let what = super::compare::write(&comparison, format, &out, Contents::Curves)?;
        tell!("wrote {} ({what})", out.display());
    }
    Ok(())
}

/// The format `--format` and `--out`'s extension ask for, when either does; refused when
/// they disagree (`--out fig.png --format svg` would write SVG into a .png) or when the
/// extension is none of ours (`--out notes.md` would be written as JSON).
pub(crate) fn chosen_format(format: Option<Format>, out: Option<&Path>) -> Result<Option<Format>> {
    let Some(out) = out else {
        return Ok(format);
    };
    let by_name = Format::from_path(out);
    match (format, by_name, out.extension()) {
        (Some(asked), Some(named), _) if asked != named => bail!(
            "--format {asked} but --out {} names {named}: make them agree",
            out.display()
        ),
        (None, None, Some(ext)) => bail!(
            "--out {}: .{} is not a format export writes (.svg, .png, .json, .csv); give --format or one of those",
            out.display(),
            ext.to_string_lossy()
        ),
        _ => Ok(format.or(by_name)),
    }
}
