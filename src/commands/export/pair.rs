//! Two recordings as a stress pair (issue 19 item 3): `export --wav A --words A --wav B
//! --words B` writes their figure (`export::stress_pair`: both W_m, B − A, and each
//! recording's F0 and energy word by word) and its JSON; `open` with the same options shows
//! both in the app with where the `[CLS]` row moved (`ui::pair`). Both compute the two
//! utterances in one evaluation batch, so their predictions are `eval`'s and each other's.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use candle_core::Device;

use super::super::eval::refuse_overwrite;
use super::super::inputs::AudioUsed;
use super::super::Trained;
use super::EXPORT_DIR;
use crate::acoustic::align::read_words;
use crate::acoustic::wav::{read_wav, resample};
use crate::acoustic::{analyse, FeatureSet};
use crate::cli::{ExportArgs, Take};
use crate::data::{recording_label, Dataset, Split};
use crate::export::figure::Contour;
use crate::export::{self, stress_pair, CommandMeta, Format, Meta, Source};
use crate::train::{attention_snapshot, AttentionSnapshot};
use crate::ui::pair::StressPair;

/// Both utterances of a pair dataset (`Trained::recordings` of two takes), as `open` shows
/// them.
pub fn stress_pair(trained: &Trained, data: &Dataset, batch: usize, device: &Device) -> Result<StressPair> {
    Ok(StressPair {
        names: [0, 1].map(|k| data.recordings.get(k).map_or_else(String::new, |p| recording_label(p))),
        snapshots: snapshots(trained, data, batch, device)?,
    })
}

fn snapshots(trained: &Trained, data: &Dataset, batch: usize, device: &Device) -> Result<[AttentionSnapshot; 2]> {
    let examples = data.split(Split::Test);
    let one = |k: usize| {
        attention_snapshot(&trained.model, examples, k, batch, trained.head.audio_dim, device)
            .with_context(|| format!("the attention of recording {}", ["A", "B"][k]))
    };
    Ok([one(0)?, one(1)?])
}

/// `export --wav A --words A --wav B --words B`.
pub fn run(args: &ExportArgs, takes: &[Take; 2]) -> Result<()> {
    let input = &args.input;
    let outs = outputs(args, takes)?;
    let (left, right) = (crate::attention::Matrix::AlphaT, crate::attention::Matrix::WM);
    let word = crate::attention::Level::Word;
    if args.left != left || args.right != right || args.level != word || args.hide_special || args.theme != "paper" {
        eprintln!(
            "note: a stress pair's figure shows W_m at word level with [CLS] and [SEP] (the row that is scored), in \
the paper's colours; --left, --right, --level, --hide-special and --theme do not apply to it"
        );
    }
    let device = input.device.open()?;
    let trained = Trained::open(&input.checkpoint, &device)?;
    let data = trained.recordings(takes)?;
    let snapshots = snapshots(&trained, &data, input.eval_batch_size, &device)?;
    let set = feature_set(&trained)?;
    let [ca, cb] = [contour(&takes[0], &set)?, contour(&takes[1], &set)?];
    let take = |k: usize, contour| stress_pair::Take {
        wav: &takes[k].wav,
        words: &takes[k].words,
        snapshot: &snapshots[k],
        contour,
    };
    let figure_takes = [take(0, ca), take(1, cb)];
    if !stress_pair::same_words(&figure_takes) {
        eprintln!(
            "note: the two recordings' words differ (A: \"{}\", B: \"{}\"): drawn side by side without a difference",
            snapshots[0].words.join(" "),
            snapshots[1].words.join(" ")
        );
    }
    let audio = AudioUsed::Recording(takes[0].wav.clone());
    let meta = Meta {
        split: Split::Test,
        checkpoint: Some(input.checkpoint.clone()),
        wav: None,
        source: Source::Command(CommandMeta {
            model: trained.head.model,
            cls_audio: trained.cls_audio(),
            data: None,
            audio: None,
            audio_source: audio.source().name().into(),
            words: None,
            eval_batch_size: input.eval_batch_size,
        }),
    };
    let mut written = Vec::new();
    for out in outs {
        let bytes = stress_pair::render(&figure_takes, &meta, out.format)?;
        written.push(match out.path {
            Target::Named(path) => {
                export::write_bytes(&bytes, &path)?;
                path
            }
            Target::New(stem) => export::write_new_bytes(&bytes, Path::new(EXPORT_DIR), &stem, out.format.extension())?,
        });
    }
    for path in &written {
        println!("wrote {}", path.display());
    }
    for (k, s) in snapshots.iter().enumerate() {
        println!(
            "  {} {:<16} \"{}\"  prediction {:+.2}  (audio removed: {:+.2})",
            ["A", "B"][k],
            recording_label(&takes[k].wav),
            s.words.join(" "),
            s.prediction,
            s.prediction_without_audio
        );
    }
    let change = snapshots[1].prediction - snapshots[0].prediction;
    println!("  B − A: {change:+.2}");
    Ok(())
}

/// Where a file goes: the path `--out` names, or a new name in exports/.
enum Target {
    Named(PathBuf),
    New(String),
}

struct Output {
    format: Format,
    path: Target,
}

/// `--out FILE` (its format from `--format` or its extension: png, svg or json), else a new
/// PNG, SVG and JSON in exports/ named after both recordings.
fn outputs(args: &ExportArgs, takes: &[Take; 2]) -> Result<Vec<Output>> {
    match &args.out {
        Some(out) => {
            let format = args
                .format
                .or_else(|| Format::from_path(out))
                .with_context(|| format!("{}: a stress pair is written as .png, .svg or .json", out.display()))?;
            if format == Format::Csv {
                anyhow::bail!(
                    "{}: a stress pair is a figure (png, svg) or its numbers (json), not csv",
                    out.display()
                );
            }
            refuse_overwrite(out, args.input.force)?;
            Ok(vec![Output {
                format,
                path: Target::Named(out.clone()),
            }])
        }
        None => {
            let stem = format!("{}-{}-stress-pair", stem_of(&takes[0].wav), stem_of(&takes[1].wav));
            let formats = match args.format {
                Some(format) => vec![format],
                None => vec![Format::Png, Format::Svg, Format::Json],
            };
            Ok(formats
                .into_iter()
                .map(|format| Output {
                    format,
                    path: Target::New(stem.clone()),
                })
                .collect())
        }
    }
}

/// A recording's file name without its extension, as file names may hold it.
fn stem_of(wav: &Path) -> String {
    let name = wav
        .file_stem()
        .map_or_else(|| "recording".into(), |s| s.to_string_lossy().into_owned());
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The feature set the checkpoint was trained on: its pitch settings make the F0 drawn.
fn feature_set(trained: &Trained) -> Result<FeatureSet> {
    let name = trained
        .checkpoint
        .meta
        .as_ref()
        .and_then(|m| m.audio_features.as_ref())
        .map(|f| f.feature_set.name.clone())
        .context("this model was not trained on features from `cmbert-tui features`")?;
    FeatureSet::by_name(&name).with_context(|| format!("feature set {name} is not one this version extracts"))
}

/// A recording's frame tracks (on the extractor's 10 ms grid, at its analysis rate) and its
/// word spans.
fn contour(take: &Take, set: &FeatureSet) -> Result<Contour> {
    let (audio, _) = read_wav(&take.wav)?;
    let audio = resample(audio, set.info().frames.sample_rate, &take.wav)?;
    let tracks = analyse(&audio, set);
    let spans = read_words(&take.words)?;
    Ok(Contour {
        title: String::new(),
        times: tracks.times,
        f0: tracks.f0,
        energy: tracks.spectral.log_energy,
        words: spans.into_iter().map(|s| (s.word, s.start, s.end)).collect(),
    })
}
