//! `export --through-training RUN`: one utterance's attention as the run recorded it, as an
//! animated PNG and a strip of steps (`export::through_training` draws them). Here: which
//! utterance and steps the command line asks for, the files' names, and what is printed.

use crate::commands::printer::tell;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::super::eval::refuse_overwrite;
use super::EXPORT_DIR;
use crate::cli::ExportArgs;
use crate::data::Split;
use crate::export::through_training::{self as tt, Pick, RunMeta};
use crate::export::{self, Item, Style};
use crate::fsutil::parent_of;
use crate::train::attention_log::AttentionLog;
use crate::train::history::History;

/// Where a file goes: the name the user gave (`--out`), or a new name in a directory.
enum Target {
    Named(PathBuf),
    New { dir: PathBuf, stem: String },
}

impl Target {
    fn write(&self, bytes: &[u8]) -> Result<PathBuf> {
        Ok(match self {
            Self::Named(path) => {
                std::fs::create_dir_all(parent_of(path))
                    .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent_of(path).display()))?;
                crate::fsutil::write_atomic(path, bytes)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                path.clone()
            }
            Self::New { dir, stem } => export::write_new_bytes(bytes, dir, stem, "png")?,
        })
    }
}

/// Runs `export --through-training RUN` (`path`: the run directory, or a checkpoint in it).
pub(super) fn run(path: &Path, args: &ExportArgs) -> Result<()> {
    let run = if super::super::runs::is_checkpoint(path) {
        parent_of(path)
    } else {
        path
    };
    let named = targets(args)?;
    let file = AttentionLog::path_in(run);
    let log = tt::read(run)?;
    let split = args.input.split;
    let pick = match args.index {
        Some(index) => Pick::Utterance(split, index),
        // `--split` has a default (test), so only another split can be told from it.
        None if split != Split::Test => bail!(
            "--split {split} without --index: say which utterance; {} recorded {}",
            file.display(),
            tt::recorded(&log)
        ),
        None => Pick::First,
    };
    let track = tt::choose(&log, &file, pick)?;
    let theme = crate::ui::Theme::load(&args.theme)?;
    let style = Style {
        left: args.left,
        right: args.right,
        level: args.level,
        show_special: !args.hide_special,
        sequential: theme.sequential,
        diverging: theme.diverging,
    };
    let meta = run_meta(run, theme.name);
    let which = if args.steps.is_empty() {
        tt::spread(track.snapshots.len(), tt::DEFAULT_PANELS)
    } else {
        tt::nearest(&track.snapshots, &args.steps)
    };
    // Both are drawn before either is written: a failure leaves no file.
    let frame_ms = args.frame_ms.unwrap_or(tt::DEFAULT_FRAME_MS);
    let animation = tt::animation(track, &meta, &style, frame_ms)?;
    let strip = tt::strip(track, &which, &meta, &style)?;

    let (animation_at, strip_at) = match named {
        Some(targets) => targets,
        None => {
            let first = &track.snapshots[0].snapshot;
            let item = Item {
                snapshot: first,
                text: "",
                split: track.split,
                recording: None,
            };
            let stem = export::file_stem(&[item], None, &style);
            let dir = PathBuf::from(EXPORT_DIR);
            (
                Target::New {
                    dir: dir.clone(),
                    stem: format!("{stem}-through-training"),
                },
                Target::New {
                    dir,
                    stem: format!("{stem}-steps"),
                },
            )
        }
    };
    let name = tt::utterance_name(track.split, track.index);
    let steps = |which: &mut dyn Iterator<Item = usize>| {
        which
            .map(|i| track.snapshots[i].step.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let first_step = track.snapshots[0].step;
    let last_step = track.snapshots[track.snapshots.len() - 1].step;
    let written = animation_at.write(&animation)?;
    tell!(
        "wrote {} (animated PNG: {name}, {} frames, steps {first_step} to {last_step}, {} ms a frame; {} and {}, {} level)",
        written.display(),
        track.snapshots.len(),
        frame_ms,
        style.left,
        style.right,
        export::level_name(style.level),
    );
    let written = strip_at.write(&strip)?;
    tell!(
        "wrote {} (strip: {name} at steps {})",
        written.display(),
        steps(&mut which.iter().copied())
    );
    let moved: Vec<String> = args
        .steps
        .iter()
        .filter_map(|pick| match pick {
            tt::StepPick::Near(asked) => {
                let got = tt::nearest(&track.snapshots, &[*pick])[0];
                let step = track.snapshots[got].step;
                (step != *asked).then(|| format!("{asked} -> {step}"))
            }
            tt::StepPick::Last => None,
        })
        .collect();
    if !moved.is_empty() {
        tell!("  the nearest recorded steps: {}", moved.join(", "));
    }
    Ok(())
}

/// The files `--out` names: the animation at `--out`, the strip at a new `STEM-steps.png`
/// beside it; `None` without `--out` (new names in exports/, once the utterance is known).
fn targets(args: &ExportArgs) -> Result<Option<(Target, Target)>> {
    let Some(out) = &args.out else {
        return Ok(None);
    };
    let is_png = out
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let Some(stem) = out.file_stem().and_then(|s| s.to_str()).filter(|_| is_png) else {
        bail!(
            "{}: --through-training writes PNG files (an animated PNG and a strip): give --out a .png name",
            out.display()
        );
    };
    refuse_overwrite(out, args.input.force)?;
    let strip = Target::New {
        dir: parent_of(out).to_path_buf(),
        stem: format!("{stem}-steps"),
    };
    Ok(Some((Target::Named(out.clone()), strip)))
}

/// What heads each frame: the run, and from its history how it was trained.
fn run_meta(run: &Path, theme: String) -> RunMeta {
    let spec = History::read_run(run)
        .ok()
        .flatten()
        .and_then(|h| h.sessions.first().map(|s| s.header.spec.clone()));
    let unknown = || "unknown (no readable history.jsonl)".to_string();
    RunMeta {
        run: run.to_path_buf(),
        model: spec.as_ref().map_or_else(unknown, |s| {
            crate::ui::ModelInfo {
                kind: s.model,
                cls_audio: (s.model == crate::model::ModelKind::CmBert).then_some(s.cls_audio),
                preset: Some(s.preset),
            }
            .to_string()
        }),
        bert: spec.as_ref().map_or_else(unknown, |s| s.bert.display().to_string()),
        data: spec.as_ref().map_or_else(unknown, |s| match &s.audio {
            Some(audio) => format!("{}, audio: {}", s.data.display(), audio.display()),
            None => format!("{}, no audio", s.data.display()),
        }),
        theme,
    }
}
