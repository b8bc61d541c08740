//! `export --through-training RUN` (issue 16, item 2): one utterance's attention as its run
//! recorded it (`RUN/attention.safetensors`, `train::attention_log`), as an animated PNG with
//! one frame per recorded snapshot, and as a PNG strip of chosen steps side by side.
//!
//! Every frame and every panel is the paper-style figure `export --format png` draws
//! (`figure::Figure`, the same drawing), its title led by the step and the training loss of
//! that step. Each is drawn on its own colour scale, as the figure always is: the colour bar
//! says what a colour means in that frame.
//!
//! APNG (the PNG specification's `acTL`/`fcTL`/`fdAT` chunks, shown animated by current
//! browsers and image viewers) rather than GIF: no 256-colour palette, so the colour maps
//! stay exact; a viewer without APNG support shows the first frame. The frames are laid on
//! one canvas (the largest frame's size; a frame's figure can be a few pixels narrower when
//! its colour bar's tick labels are shorter), centred across and at the top.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::figure::{Figure, MAX_PIXELS};
use super::{AppMeta, ExportError, Item, Meta, Source, Style};
use crate::data::Split;
use crate::train::attention_log::{AttentionLog, AttentionLogError, Recorded, Track};

/// Panels in the strip when no `--steps` are given.
pub const DEFAULT_PANELS: usize = 5;
/// Milliseconds a frame shows when not told (`--frame-ms`): a run's 64 snapshots at most
/// take about 25 s.
pub const DEFAULT_FRAME_MS: u16 = 400;
/// How many frame times the last frame shows, so that a looping animation's end is seen.
pub const LAST_FRAME_HOLD: u16 = 3;
/// White pixels between two panels of the strip.
const PANEL_GAP: u32 = 24;
const WHITE: u8 = 255;
/// The rule between two panels: the figure's frame grey.
const RULE: [u8; 3] = [150, 150, 150];

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
    /// The strip would be too large to allocate.
    #[error("the strip of {panels} steps would be {width}x{height} pixels; choose fewer --steps")]
    TooLarge {
        /// Panels asked for.
        panels: usize,
        /// Pixels across.
        width: u64,
        /// Pixels down.
        height: u64,
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

/// The figures of `track`'s snapshots `which`, each titled with its step and loss.
fn figures(track: &Track, which: &[usize], run: &RunMeta, style: &Style) -> Result<Vec<Figure>, ExportError> {
    // The file keeps the words, not the transcript's spelling of them.
    let text = track.snapshots[0].snapshot.words.join(" ");
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
            Figure::captioned(&[item], &run.meta(track, recorded), style, &[caption(recorded)])
        })
        .collect()
}

/// The animation: one frame per recorded snapshot of `track`, each shown `frame_ms`
/// milliseconds (the last [`LAST_FRAME_HOLD`] times as long), looping.
pub fn animation(track: &Track, run: &RunMeta, style: &Style, frame_ms: u16) -> Result<Vec<u8>, ExportError> {
    let all: Vec<usize> = (0..track.snapshots.len()).collect();
    let figures = figures(track, &all, run, style)?;
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

/// The strip: the snapshots `which` of `track` side by side, left to right, each titled
/// with its step and loss.
pub fn strip(track: &Track, which: &[usize], run: &RunMeta, style: &Style) -> Result<Vec<u8>, ThroughTrainingError> {
    if which.is_empty() {
        return Err(ExportError::Empty.into());
    }
    let figures = figures(track, which, run, style)?;
    let width: u64 = figures.iter().map(|f| u64::from(f.layout().width)).sum::<u64>()
        + u64::from(PANEL_GAP) * (figures.len() as u64 - 1);
    let height = figures.iter().map(|f| u64::from(f.layout().height)).max().unwrap_or(0);
    if width * height > MAX_PIXELS {
        return Err(ThroughTrainingError::TooLarge {
            panels: which.len(),
            width,
            height,
        });
    }
    let (w, h) = (width as u32, height as u32);
    let mut pixels = vec![WHITE; w as usize * h as usize * 3];
    let mut x = 0;
    for (k, figure) in figures.iter().enumerate() {
        blit(&mut pixels, w, figure, (x, 0))?;
        x += figure.layout().width + PANEL_GAP;
        if k + 1 < figures.len() {
            // A rule down the middle of the gap: each panel holds two heatmaps, and the
            // rule says which pairs belong together.
            let at = (x - PANEL_GAP / 2) as usize;
            for y in 0..h as usize {
                let i = (y * w as usize + at) * 3;
                pixels[i..i + 3].copy_from_slice(&RULE);
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(ExportError::from)?;
    writer.write_image_data(&pixels).map_err(ExportError::from)?;
    writer.finish().map_err(ExportError::from)?;
    Ok(out)
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
