//! `export --through-training RUN` (issue 16, item 2): one utterance's attention as its run
//! recorded it (`RUN/attention.safetensors`, `train::attention_log`), as an animated PNG with
//! one frame per recorded snapshot, and as a PNG strip of chosen steps.
//!
//! Every frame is the paper-style figure `export --format png` draws (`figure::Figure`), its
//! title led by the step and the training loss of that step. The strip is one figure of the
//! same renderer: a row per matrix (`--left`, then `--right`), a panel per chosen step, each
//! panel's subtitle giving its step and loss, one title and one header.
//!
//! One colour scale per matrix for the whole export ([`shared_scales`]): from 0 (the
//! non-negative maps; a signed one is centred on zero) to the largest value of that matrix in
//! any recorded snapshot of the utterance, the colour bar showing it. The point of the export
//! is to show change, so a colour must be one weight in every frame and every panel (and in
//! both files: the strip's scale is the animation's, over all snapshots). Shared through
//! `figure::Panel`'s scale, as `export::pair` shares one between two runs.
//!
//! APNG (the PNG specification's `acTL`/`fcTL`/`fdAT` chunks, shown animated by current
//! browsers and image viewers) rather than GIF: no 256-colour palette, so the colour maps
//! stay exact; a viewer without APNG support shows the first frame. The frames are laid on
//! one canvas (the largest frame's size), centred across and at the top.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::figure::{self, Figure, FigureRow, Panel};
use super::{AppMeta, ExportError, Item, Meta, Source, Style};
use crate::attention::{Matrix, View};
use crate::colormap::Scale;
use crate::data::Split;
use crate::train::attention_log::{AttentionLog, AttentionLogError, Recorded, Track};

/// Panels in the strip when no `--steps` are given.
pub const DEFAULT_PANELS: usize = 5;
/// Milliseconds a frame shows when not told (`--frame-ms`): a run's 64 snapshots at most
/// take about 25 s.
pub const DEFAULT_FRAME_MS: u16 = 400;
/// How many frame times the last frame shows, so that a looping animation's end is seen.
pub const LAST_FRAME_HOLD: u16 = 3;
const WHITE: u8 = 255;

/// Which recorded utterance to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The first the run recorded (the Figure-4 sentences come first, then `--watch`).
    First,
    /// This one.
    Utterance(Split, usize),
}

/// A step asked for in the strip: a number or the last recorded one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepPick {
    /// The recorded snapshot nearest to this step (the earlier of two as near).
    Near(usize),
    /// The latest recorded snapshot.
    Last,
}

impl FromStr for StepPick {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "last" => Ok(Self::Last),
            n => n
                .parse()
                .map(Self::Near)
                .map_err(|_| format!("`{s}` is not a step (a step number, or `last`)")),
        }
    }
}

impl fmt::Display for StepPick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Near(step) => write!(f, "{step}"),
            Self::Last => f.write_str("last"),
        }
    }
}

/// Why a recorded sequence could not be drawn; every message is one line naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ThroughTrainingError {
    /// The run has no attention file.
    #[error(
        "{}: no such file: the run recorded no attention (train records it for the paper's Figure-4 \
sentences its test split holds and for each `train --watch SPLIT:INDEX`; train with --watch to record one)",
        path.display()
    )]
    Missing {
        /// The file looked for.
        path: PathBuf,
    },
    /// The file does not read.
    #[error(transparent)]
    Log(#[from] AttentionLogError),
    /// The file holds no utterance (the trainer never writes one so).
    #[error("{}: no utterance recorded in it (train with --watch SPLIT:INDEX to record one)", path.display())]
    Nothing {
        /// The file.
        path: PathBuf,
    },
    /// The utterance asked for is not in the file.
    #[error("{}: {asked} was not recorded; recorded: {recorded} (choose one with --split and --index)", path.display())]
    NotRecorded {
        /// The file.
        path: PathBuf,
        /// The utterance asked for (`test #5`).
        asked: String,
        /// The utterances the file holds ([`recorded`]).
        recorded: String,
    },
    /// Fewer than two snapshots: nothing moves.
    #[error(
        "{}: {utterance} has {count} recorded snapshot(s); an animation needs 2 or more (a snapshot is \
recorded at every epoch end: train it further with `cmbert-tui train --resume RUN --epochs N`)",
        path.display()
    )]
    TooFew {
        /// The file.
        path: PathBuf,
        /// The utterance (`test #6`).
        utterance: String,
        /// Its snapshots.
        count: usize,
    },
    /// Drawing or encoding failed.
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// How messages and titles name an utterance: `test #6` (as [`Item::name`] does).
pub fn utterance_name(split: Split, index: usize) -> String {
    format!("{split} #{index}")
}

/// The utterances a log holds, as messages list them: `test #6, dev #3` (`nothing` when none).
pub fn recorded(log: &AttentionLog) -> String {
    let names: Vec<String> = log.tracks.iter().map(|t| utterance_name(t.split, t.index)).collect();
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

/// `run`'s attention log; a missing file is [`ThroughTrainingError::Missing`].
pub fn read(run: &Path) -> Result<AttentionLog, ThroughTrainingError> {
    let path = AttentionLog::path_in(run);
    match AttentionLog::read(&path) {
        Err(AttentionLogError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(ThroughTrainingError::Missing { path })
        }
        other => Ok(other?),
    }
}

/// The track `pick` names in `log` (read from `path`), with two snapshots or more.
pub fn choose<'a>(log: &'a AttentionLog, path: &Path, pick: Pick) -> Result<&'a Track, ThroughTrainingError> {
    let track = match pick {
        Pick::First => log.tracks.first(),
        Pick::Utterance(split, index) => log.tracks.iter().find(|t| t.split == split && t.index == index),
    };
    let path = path.to_path_buf();
    let track = match (track, pick) {
        (Some(track), _) => track,
        (None, Pick::First) => return Err(ThroughTrainingError::Nothing { path }),
        (None, Pick::Utterance(split, index)) => {
            return Err(ThroughTrainingError::NotRecorded {
                path,
                asked: utterance_name(split, index),
                recorded: recorded(log),
            })
        }
    };
    if track.snapshots.len() < 2 {
        return Err(ThroughTrainingError::TooFew {
            path,
            utterance: utterance_name(track.split, track.index),
            count: track.snapshots.len(),
        });
    }
    Ok(track)
}

/// The snapshots `picks` name (indices into `snapshots`), in step order, each once.
pub fn nearest(snapshots: &[Recorded], picks: &[StepPick]) -> Vec<usize> {
    let Some(last) = snapshots.len().checked_sub(1) else {
        return Vec::new();
    };
    let mut chosen: Vec<usize> = picks
        .iter()
        .map(|pick| match *pick {
            StepPick::Last => last,
            // `min_by_key` keeps the first of equals: the earlier snapshot wins a tie.
            StepPick::Near(step) => (0..=last)
                .min_by_key(|&i| snapshots[i].step.abs_diff(step))
                .expect("not empty"),
        })
        .collect();
    chosen.sort_unstable();
    chosen.dedup();
    chosen
}

/// `panels` snapshots of `count` evenly spread, the first and the last among them (all of
/// them when there are fewer).
pub fn spread(count: usize, panels: usize) -> Vec<usize> {
    if count <= panels {
        return (0..count).collect();
    }
    if panels <= 1 {
        return vec![count - 1];
    }
    let mut chosen: Vec<usize> = (0..panels)
        .map(|k| ((k * (count - 1)) as f64 / (panels - 1) as f64).round() as usize)
        .collect();
    chosen.dedup();
    chosen
}

/// What heads every frame besides the step: the run and how it was trained.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMeta {
    /// The run directory.
    pub run: PathBuf,
    /// `cm-bert (cls-audio zero, preset scratch)`.
    pub model: String,
    /// The encoder it started from.
    pub bert: String,
    /// The data it trained on.
    pub data: String,
    /// The theme whose colours the figures have.
    pub theme: String,
}

impl RunMeta {
    /// The metadata line of the frame of `recorded`, one of `track`'s snapshots.
    fn meta(&self, track: &Track, recorded: &Recorded) -> Meta {
        Meta {
            split: track.split,
            // No checkpoint was read: the run names where the matrices come from.
            checkpoint: None,
            wav: None,
            source: Source::App(AppMeta {
                run: self.run.display().to_string(),
                model: self.model.clone(),
                bert: self.bert.clone(),
                data: self.data.clone(),
                weights: recorded.weights,
                batching: recorded.snapshot.batching.clone(),
                theme: self.theme.clone(),
            }),
        }
    }
}

/// `step 120 · loss 0.5321`: what leads a frame's title.
pub fn caption(recorded: &Recorded) -> String {
    match recorded.loss {
        Some(loss) => format!("step {} · loss {loss:.4}", recorded.step),
        None => format!("step {} · no loss yet", recorded.step),
    }
}

/// One scale per matrix (`style.left`, `style.right`) for every frame and panel drawn of
/// `track`: the range of that matrix over all its recorded snapshots (from 0 for the
/// non-negative maps, centred on zero for the signed ones, as `export::scale` makes one).
pub fn shared_scales(track: &Track, style: &Style) -> [Scale; 2] {
    let views: Vec<[View; 2]> = track.snapshots.iter().map(|r| style.views(&r.snapshot)).collect();
    let matrices = [style.left, style.right];
    [0, 1].map(|k| {
        let range = views
            .iter()
            .map(|v| v[k].range())
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), r| {
                (lo.min(r.0), hi.max(r.1))
            });
        Scale::for_range(range, matrices[k].signed())
    })
}

/// `W_m — multimodal attention`: how a heatmap names its matrix.
fn matrix_name(matrix: Matrix) -> String {
    format!("{} — {}", matrix.name(), matrix.caption())
}

/// The snapshot's words, as titles show them (the file keeps the words, not the transcript's
/// spelling of them).
fn words(track: &Track) -> String {
    track.snapshots[0].snapshot.words.join(" ")
}

/// The frames of `track`'s snapshots `which`, each titled with its step and loss, every one
/// on `scales`.
fn figures(
    track: &Track,
    which: &[usize],
    run: &RunMeta,
    style: &Style,
    scales: [Scale; 2],
) -> Result<Vec<Figure>, ExportError> {
    let text = words(track);
    which
        .iter()
        .map(|&i| {
            let recorded = &track.snapshots[i];
            let item = Item {
                snapshot: &recorded.snapshot,
                text: &text,
                split: track.split,
                recording: None,
            };
            let panels = style
                .views(&recorded.snapshot)
                .into_iter()
                .zip(scales)
                .map(|(view, scale)| {
                    let matrix = view.matrix;
                    Panel::new(view, scale, style.colormap(matrix).clone(), vec![matrix_name(matrix)])
                })
                .collect();
            let caption = caption(recorded);
            let row = FigureRow {
                text: text.clone(),
                title: Box::new(move |t: &str| format!("{caption} — {}", figure::title(&item, t))),
                panels,
            };
            Figure::from_rows(&figure::header(&run.meta(track, recorded)), vec![row])
        })
        .collect()
}

/// The animation: one frame per recorded snapshot of `track`, each shown `frame_ms`
/// milliseconds (the last [`LAST_FRAME_HOLD`] times as long), looping.
pub fn animation(track: &Track, run: &RunMeta, style: &Style, frame_ms: u16) -> Result<Vec<u8>, ExportError> {
    let all: Vec<usize> = (0..track.snapshots.len()).collect();
    let figures = figures(track, &all, run, style, shared_scales(track, style))?;
    let (w, h) = canvas(&figures);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // 0 plays: loop for ever. The first frame is the default image (no separate one), so a
    // viewer without APNG support shows the first snapshot.
    encoder.set_animated(figures.len() as u32, 0)?;
    encoder.set_frame_delay(frame_ms, 1000)?;
    let mut writer = encoder.write_header()?;
    let last = figures.len() - 1;
    for (i, figure) in figures.iter().enumerate() {
        if i == last {
            writer.set_frame_delay(frame_ms.saturating_mul(LAST_FRAME_HOLD), 1000)?;
        }
        let mut frame = vec![WHITE; w as usize * h as usize * 3];
        let x = (w - figure.layout().width) / 2;
        blit(&mut frame, w, figure, (x, 0))?;
        writer.write_image_data(&frame)?;
    }
    writer.finish()?;
    Ok(out)
}

/// The strip as one figure: a row per matrix (`style.left`, then `style.right`), in each the
/// snapshots `which` of `track` left to right, each panel's subtitle its step and loss (and,
/// in the first row, the prediction then), every row on its matrix's shared scale. The
/// header is the run's as of the last panel.
pub fn strip_figure(track: &Track, which: &[usize], run: &RunMeta, style: &Style) -> Result<Figure, ExportError> {
    let (Some(&first), Some(&last)) = (which.first(), which.last()) else {
        return Err(ExportError::Empty);
    };
    let scales = shared_scales(track, style);
    let item = Item {
        snapshot: &track.snapshots[first].snapshot,
        text: "",
        split: track.split,
        recording: None,
    };
    let name = item.name();
    let label = crate::data::label_text(item.snapshot.label, 2);
    let rows = [style.left, style.right]
        .into_iter()
        .enumerate()
        .map(|(k, matrix)| {
            let panels = which
                .iter()
                .map(|&i| {
                    let recorded = &track.snapshots[i];
                    let s = &recorded.snapshot;
                    let mut subtitle = vec![caption(recorded)];
                    if k == 0 {
                        subtitle.push(format!(
                            "prediction {:+.2} (audio removed: {:+.2})",
                            s.prediction, s.prediction_without_audio
                        ));
                    }
                    let view = style.views(s)[k].clone();
                    Panel::new(view, scales[k], style.colormap(matrix).clone(), subtitle)
                })
                .collect();
            // One title: the utterance heads the first row; the others name their matrix.
            let (name, label) = (name.clone(), label.clone());
            let title: Box<dyn Fn(&str) -> String> = if k == 0 {
                Box::new(move |t: &str| format!("{name}: \"{t}\" — label {label} — {}", matrix_name(matrix)))
            } else {
                Box::new(move |_: &str| matrix_name(matrix))
            };
            FigureRow {
                text: if k == 0 { words(track) } else { String::new() },
                title,
                panels,
            }
        })
        .collect();
    Figure::from_rows(&figure::header(&run.meta(track, &track.snapshots[last])), rows)
}

/// The strip's PNG ([`strip_figure`]).
pub fn strip(track: &Track, which: &[usize], run: &RunMeta, style: &Style) -> Result<Vec<u8>, ThroughTrainingError> {
    Ok(strip_figure(track, which, run, style)?.png()?)
}

/// The largest figure's width and height: every frame's size.
fn canvas(figures: &[Figure]) -> (u32, u32) {
    let w = figures.iter().map(|f| f.layout().width).max().unwrap_or(1);
    let h = figures.iter().map(|f| f.layout().height).max().unwrap_or(1);
    (w, h)
}

/// Draws `figure` into the RGB image `dst`, `width` pixels across, its top left corner at `at`.
fn blit(dst: &mut [u8], width: u32, figure: &Figure, (x, y): (u32, u32)) -> Result<(), ExportError> {
    let pixels = figure.pixels()?;
    let row = figure.layout().width as usize * 3;
    for (r, line) in pixels.chunks_exact(row).enumerate() {
        let start = ((y as usize + r) * width as usize + x as usize) * 3;
        dst[start..start + row].copy_from_slice(line);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
