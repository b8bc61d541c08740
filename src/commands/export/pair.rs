//! Two recordings as a stress pair (issue 19 item 3): `export --wav A --words A --wav B
//! --words B` writes their figure (`export::stress_pair`: both W_m, B − A, and each
//! recording's F0 and energy word by word) and its JSON; `open` with the same options shows
//! both in the app with where the `[CLS]` row moved (`ui::pair`), and its `e` writes the
//! figure `export` writes (`PairFigure`, one renderer for both). Both compute the two
//! utterances in one evaluation batch, so their predictions are `eval`'s and each other's.

use crate::commands::printer::tell;
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
    let mut trained = Trained::open(&input.checkpoint, &device)?;
    trained.set_precision(input.precision);
    let data = trained.recordings(takes)?;
    let snapshots = snapshots(&trained, &data, input.eval_batch_size, &device)?;
    let figure = PairFigure::new(&trained, takes, &input.checkpoint, input.eval_batch_size)?;
    if snapshots[0].words != snapshots[1].words {
        eprintln!(
            "note: the two recordings' words differ (A: \"{}\", B: \"{}\"): drawn side by side without a difference",
            snapshots[0].words.join(" "),
            snapshots[1].words.join(" ")
        );
    }
    for path in &figure.write(&snapshots, outs)? {
        tell!("wrote {}", path.display());
    }
    for (k, s) in snapshots.iter().enumerate() {
        tell!(
            "  {} {:<16} \"{}\"  prediction {:+.2}  (audio removed: {:+.2})",
            ["A", "B"][k],
            recording_label(&takes[k].wav),
            s.words.join(" "),
            s.prediction,
            s.prediction_without_audio
        );
    }
    let change = snapshots[1].prediction - snapshots[0].prediction;
    tell!("  B − A: {change:+.2}");
    Ok(())
}

/// A stress pair's figure as `export` draws it, for `export` and for the app's `e` with a
/// pair open: the two recordings' files, the feature set whose F0 and energy are drawn, and
/// the metadata line.
pub struct PairFigure {
    takes: [Take; 2],
    set: FeatureSet,
    meta: Meta,
}

impl PairFigure {
    /// The figure of `takes` through `trained` (read from `checkpoint`), its predictions
    /// made in batches of `eval_batch_size`.
    pub fn new(trained: &Trained, takes: &[Take; 2], checkpoint: &Path, eval_batch_size: usize) -> Result<Self> {
        let audio = AudioUsed::Recording(takes[0].wav.clone());
        let meta = Meta {
            split: Split::Test,
            checkpoint: Some(checkpoint.to_path_buf()),
            // Each recording's entry of the JSON names its WAV and timings.
            wav: None,
            source: Source::Command(CommandMeta {
                model: trained.head.model,
                cls_audio: trained.cls_audio(),
                data: None,
                audio: None,
                audio_source: audio.source().name().into(),
                words: None,
                eval_batch_size,
                precision: trained.precision,
            }),
        };
        Ok(Self {
            takes: takes.clone(),
            set: feature_set(trained)?,
            meta,
        })
    }

    /// The figure (PNG) and its numbers (JSON) of `snapshots` (A's, B's) under new names in
    /// `dir`, as `export` without `--out` names them: what the app's `e` writes.
    pub fn write_new(&self, snapshots: &[AttentionSnapshot; 2], dir: &Path) -> Result<Vec<PathBuf>> {
        let stem = pair_stem(&self.takes);
        let outs = [Format::Png, Format::Json].map(|format| Output {
            format,
            path: Target::New(stem.clone(), dir.to_path_buf()),
        });
        self.write(snapshots, outs.into())
    }

    /// `snapshots` drawn into each of `outs`; the paths written.
    fn write(&self, snapshots: &[AttentionSnapshot; 2], outs: Vec<Output>) -> Result<Vec<PathBuf>> {
        // The tracks are measured once, for every format.
        let [ca, cb] = [contour(&self.takes[0], &self.set)?, contour(&self.takes[1], &self.set)?];
        let take = |k: usize, contour| stress_pair::Take {
            wav: &self.takes[k].wav,
            words: &self.takes[k].words,
            snapshot: &snapshots[k],
            contour,
        };
        let figure_takes = [take(0, ca), take(1, cb)];
        let mut written = Vec::new();
        for out in outs {
            let bytes = stress_pair::render(&figure_takes, &self.meta, out.format)?;
            written.push(match out.path {
                Target::Named(path) => {
                    export::write_bytes(&bytes, &path)?;
                    path
                }
                Target::New(stem, dir) => export::write_new_bytes(&bytes, &dir, &stem, out.format.extension())?,
            });
        }
        Ok(written)
    }
}

/// Where a file goes: the path `--out` names, or a new name (the stem) in a directory.
enum Target {
    Named(PathBuf),
    New(String, PathBuf),
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
            let format = super::chosen_format(args.format, Some(out))?
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
            let stem = pair_stem(takes);
            let formats = match args.format {
                Some(format) => vec![format],
                None => vec![Format::Png, Format::Svg, Format::Json],
            };
            Ok(formats
                .into_iter()
                .map(|format| Output {
                    format,
                    path: Target::New(stem.clone(), PathBuf::from(EXPORT_DIR)),
                })
                .collect())
        }
    }
}

/// `a-b-stress-pair`: new files' name, after both recordings.
fn pair_stem(takes: &[Take; 2]) -> String {
    format!("{}-{}-stress-pair", stem_of(&takes[0].wav), stem_of(&takes[1].wav))
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
