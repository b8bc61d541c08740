//! Attention through training in the app (issue 16, item 2): the recorded snapshots of the
//! utterance in view, which `<` and `>` step through on the attention screen
//! (`Explorer::step`).
//!
//! Where the snapshots come from:
//! - `open RUN` (or `RUN/best`, `RUN/last`): `RUN/attention.safetensors`, read once when the
//!   app opens (`train::attention_log`). A run without the file has no recorded steps (said
//!   when `<` is pressed); a file that does not read is one warning line naming it, and the
//!   app opens without recorded steps.
//! - The live app while it trains: the app keeps its own [`AttentionLog`], fed with each
//!   `Event::Attention` it receives and the loss of the latest `Event::Step`, through the
//!   same `AttentionLog::push` the engine's recorder uses (`train/engine/attention_rec.rs`).
//!   The two logs therefore hold the same snapshots (same bound, same downsampling) for the
//!   utterances the app showed. Sharing the engine's log instead (behind a lock) would put a
//!   lock between the training thread and the renderer and a second channel beside the
//!   typed events (docs: STYLE.md, "a typed two-way protocol"); the copy costs at most the
//!   file's bound per utterance viewed (64 snapshots; 2.5 MB for 50 tokens), and an
//!   utterance only glanced at holds one or two.
//!
//! An app that records nothing (an opened checkpoint's recording, `open --wav`; tests) says
//! so when `<` is pressed.

use std::path::{Path, PathBuf};

use crate::data::Split;
use crate::train::attention_log::{AttentionLog, Recorded};
use crate::train::{Inspection, Weights};

/// Where the recorded snapshots come from, and why there are none where there are none.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The inspections this app receives while it trains.
    Live,
    /// An opened run's file, read.
    Run(PathBuf),
    /// An opened run without the file (it watched nothing, or predates recording).
    Missing(PathBuf),
    /// An opened run whose file does not read: the reader's one-line message (names it).
    Unreadable(String),
    /// This view records nothing (a recording, `open --wav`; an app built by a test).
    Off,
}

/// The recorded snapshots of every utterance the app can step through.
#[derive(Debug, Clone)]
pub struct Timeline {
    log: AttentionLog,
    /// Where they come from.
    pub source: Source,
    /// The loss of the latest training step (live only): each snapshot's loss, as the
    /// engine's recorder gives it.
    loss: Option<f32>,
}

impl Timeline {
    /// Recording the inspections the app receives (the live app).
    pub fn live() -> Self {
        Self::with(AttentionLog::default(), Source::Live)
    }

    /// Recording as [`Timeline::live`], after what run directory `run` recorded before: a
    /// resumed run's app, whose engine continues the same file
    /// (`train/engine/attention_rec.rs`). A file the engine cannot read it says it cannot
    /// (`Event::Warning`); the app then records from now on.
    pub fn live_continuing(run: &Path) -> Self {
        let log = AttentionLog::read(&AttentionLog::path_in(run)).unwrap_or_default();
        Self::with(log, Source::Live)
    }

    /// Nothing recorded, nothing to record.
    pub fn off() -> Self {
        Self::with(AttentionLog::default(), Source::Off)
    }

    /// A run's recorded snapshots from `RUN/attention.safetensors` in run directory `run`;
    /// the warning to show when the file is there and does not read.
    pub fn of_run(run: &Path) -> (Self, Option<String>) {
        let path = AttentionLog::path_in(run);
        if !path.exists() {
            return (Self::with(AttentionLog::default(), Source::Missing(path)), None);
        }
        match AttentionLog::read(&path) {
            Ok(log) => (Self::with(log, Source::Run(path)), None),
            Err(e) => {
                let warning = format!("warning: {e}; no recorded steps to show");
                (
                    Self::with(AttentionLog::default(), Source::Unreadable(e.to_string())),
                    Some(warning),
                )
            }
        }
    }

    fn with(log: AttentionLog, source: Source) -> Self {
        Self {
            log,
            source,
            loss: None,
        }
    }

    /// A training step's loss: the loss of the snapshots that come until the next step.
    pub fn note_loss(&mut self, loss: f32) {
        if self.source == Source::Live {
            self.loss = Some(loss);
        }
    }

    /// Records an inspection the live app received (the best weights' are not a point on
    /// the way: `AttentionLog::push` leaves them out).
    pub fn receive(&mut self, inspection: &Inspection) {
        if self.source == Source::Live {
            self.log.push(inspection, self.loss);
        }
    }

    /// The recorded snapshots of one utterance, oldest first.
    pub fn track(&self, split: Split, index: usize) -> &[Recorded] {
        self.log.track(split, index)
    }

    /// Why `utterance` (as the list names it) has no recorded steps, in one line.
    pub fn why_none(&self, utterance: &str, name: impl Fn(Split, usize) -> String) -> String {
        match &self.source {
            Source::Live => format!(
                "no recorded steps of {utterance} yet: each recomputation of its attention is recorded as training goes"
            ),
            // The recorded ones first: a long path would push them off a narrow line.
            Source::Run(path) => {
                let held: Vec<String> = self.log.tracks.iter().map(|t| name(t.split, t.index)).collect();
                let held = match held.len() {
                    0 => "none".to_string(),
                    1..=4 => held.join(", "),
                    n => format!("{} and {} more", held[..3].join(", "), n - 3),
                };
                format!(
                    "no recorded steps of {utterance}; recorded: {held} ({}; train --watch SPLIT:INDEX adds others)",
                    path.display()
                )
            }
            Source::Missing(path) => format!(
                "no recorded steps: {} does not exist (the run watched nothing; train --watch SPLIT:INDEX records one)",
                path.display()
            ),
            Source::Unreadable(e) => format!("no recorded steps: {e}"),
            Source::Off => {
                "no recorded steps in this view (open a run directory to step through its attention.safetensors)".into()
            }
        }
    }
}

/// Which way `<` and `>` move through the recorded snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// `<`: an earlier snapshot (from the current weights: the latest recorded).
    Older,
    /// `>`: a later one (past the latest: the current weights).
    Newer,
}

/// What a press of `<` or `>` did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stepped {
    /// A recorded snapshot is shown (its place is in the title).
    To(Place),
    /// `<` on the oldest recorded snapshot: it stays.
    Oldest(Place),
    /// `>` past the latest: the current weights are shown again.
    BackToCurrent,
    /// `>` on the current weights: nothing later; `recorded` snapshots lie behind.
    AtCurrent {
        /// Snapshots recorded for the utterance.
        recorded: usize,
    },
    /// The utterance has no recorded snapshot (`Timeline::why_none` says why).
    NoneRecorded,
}

/// Where a recorded snapshot stands: its step, that step's loss, and its place among the
/// utterance's snapshots.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    /// Optimiser steps taken.
    pub step: usize,
    /// The training loss of that step.
    pub loss: Option<f32>,
    /// Its place, from 1 (the oldest).
    pub position: usize,
    /// Snapshots recorded for the utterance.
    pub of: usize,
    /// The weights that computed it.
    pub weights: Weights,
}

impl Place {
    /// The `position`-th (from 0) of `track`.
    pub fn of(track: &[Recorded], position: usize) -> Self {
        let r = &track[position];
        Self {
            step: r.step,
            loss: r.loss,
            position: position + 1,
            of: track.len(),
            weights: r.weights,
        }
    }
}

/// As the title and the status line show it: `step 340 / loss 0.812 · snapshot 12 of 40
/// (recorded)`.
impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loss = self.loss.map_or("-".to_string(), |l| format!("{l:.3}"));
        write!(
            f,
            "step {} / loss {loss} · snapshot {} of {} (recorded)",
            self.step, self.position, self.of
        )
    }
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
