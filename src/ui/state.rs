//! What the dashboard shows, updated from the training engine's events. Rendering only
//! reads this; nothing here touches tensors.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use replay::{Replayed, SessionStart};

use crate::model::{ClsAudio, ModelKind};
use crate::train::{Event, Metrics, Preset, Saved};

/// Training loss per step, bounded: the whole run downsampled to at most `cap` points (the
/// loss chart draws the whole run; nothing draws single recent steps).
#[derive(Debug, Clone)]
pub struct LossHistory {
    /// Means of `bucket` consecutive steps; buckets double when there are too many.
    coarse: Vec<(f64, f64)>,
    coarse_cap: usize,
    bucket: usize,
    pending: (f64, f64, usize),
}

impl LossHistory {
    /// An empty history that keeps at most `cap` points (at least 2).
    pub fn new(cap: usize) -> Self {
        Self {
            coarse: Vec::new(),
            coarse_cap: cap.max(2),
            bucket: 1,
            pending: (0.0, 0.0, 0),
        }
    }

    /// Adds one step's loss.
    pub fn push(&mut self, step: f64, loss: f64) {
        self.pending = (self.pending.0 + step, self.pending.1 + loss, self.pending.2 + 1);
        if self.pending.2 == self.bucket {
            let n = self.bucket as f64;
            self.coarse.push((self.pending.0 / n, self.pending.1 / n));
            self.pending = (0.0, 0.0, 0);
            if self.coarse.len() > self.coarse_cap {
                self.coarse = self
                    .coarse
                    .chunks(2)
                    .map(|c| {
                        (
                            c.iter().map(|p| p.0).sum::<f64>() / c.len() as f64,
                            c.iter().map(|p| p.1).sum::<f64>() / c.len() as f64,
                        )
                    })
                    .collect();
                self.bucket *= 2;
            }
        }
    }

    /// The whole run at reduced resolution.
    pub fn full(&self) -> &[(f64, f64)] {
        &self.coarse
    }
}

#[derive(Debug, Clone, PartialEq)]
/// Where the run is.
pub enum RunStatus {
    /// Before the first event.
    Starting,
    /// Training.
    Running,
    /// Paused (`space`).
    Paused,
    /// Finished and tested.
    Done,
    /// Stopped before the end (`q`, a signal).
    Stopped,
    /// Ended by an error, with its message.
    Failed(String),
    /// An opened history that ends after `step` steps without saying how the run ended:
    /// the process was killed (or the machine went down) while it trained.
    Unended {
        /// The last step the history holds.
        step: usize,
    },
}

impl RunStatus {
    /// As the status panel shows it.
    pub fn label(&self) -> String {
        match self {
            Self::Starting => "starting".into(),
            Self::Running => "running".into(),
            Self::Paused => "paused".into(),
            Self::Done => "done".into(),
            Self::Stopped => "stopped".into(),
            Self::Failed(e) => format!("failed: {e}"),
            Self::Unended { step } => format!("history ends at step {step} without an end line (killed?)"),
        }
    }
}

#[derive(Debug, Clone)]
/// One epoch's line of the metrics table.
pub struct EpochRow {
    /// 0-based.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Loss on the dev split after the epoch.
    pub dev_loss: f64,
    /// Metrics on the dev split after the epoch.
    pub dev: Metrics,
    /// The lowest dev loss so far (saved as `best/`).
    pub best: bool,
}

/// A checkpoint this run wrote, and the step its weights are from (the epoch follows from
/// it: the events carry only the path, and arrive after the step and epoch they follow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCheckpoint {
    /// The checkpoint directory.
    pub path: PathBuf,
    /// The step its weights are from.
    pub step: usize,
}

/// Which way `+` and `-` move the loss curve's smoothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Smoothing {
    /// A smoother curve (`+`).
    More,
    /// A rawer curve (`-`).
    Less,
}

/// A move of the metrics table's rows; `Older` shows earlier epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scroll {
    /// This many epochs further back.
    Older(usize),
    /// This many epochs forward.
    Newer(usize),
    /// The first epoch.
    Oldest,
    /// Follow the run again.
    Newest,
}

/// The model a run trains or a checkpoint holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// CM-BERT or the text-only T-BERT.
    pub kind: ModelKind,
    /// What the `[CLS]` audio slot holds; `None` where it does not apply (an opened T-BERT).
    pub cls_audio: Option<ClsAudio>,
    /// The training recipe; `None` for an opened checkpoint.
    pub preset: Option<Preset>,
}

/// As the status panel shows it: `cm-bert (cls-audio zero, preset scratch)`.
impl fmt::Display for ModelInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        let details: Vec<String> = [
            self.cls_audio.map(|c| format!("cls-audio {c}")),
            self.preset.map(|p| format!("preset {p}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

/// Where the training screen's figures come from.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Record {
    /// This process's training events (`train`).
    #[default]
    Live,
    /// An opened run's history (`open RUN`, `RUN/history.jsonl`).
    History(Replayed),
    /// An opened checkpoint whose curves cannot be shown, and why, in one line (it has no
    /// history, or one that cannot be read).
    NoCurves(String),
}

/// What is being trained or inspected, for the status panel and export metadata.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// The run's name (`cm-bert seed 1`, `open runs/a/best`).
    pub run_name: String,
    /// `None` where nothing describes it (tests, benchmarks): the status panel leaves it out.
    pub model: Option<ModelInfo>,
    /// The encoder (`from scratch (2 layers, hidden 64)`).
    pub bert: String,
    /// The data and audio (`corpus (100/20/30), audio: recorded`).
    pub data: String,
    /// Checkpoint directory (`open`) or output directory (`train`).
    pub checkpoint: Option<String>,
}

#[derive(Debug, Clone)]
/// Everything the screens show about the run, updated from its events.
pub struct RunState {
    /// What is trained or inspected.
    pub info: RunInfo,
    /// Optimiser steps per epoch (0 until the run starts).
    pub steps_per_epoch: usize,
    /// Display options of the loss chart.
    pub log_scale: bool,
    /// Where the run is.
    pub status: RunStatus,
    /// The epoch in progress (0-based).
    pub epoch: usize,
    /// Epochs in the run.
    pub epochs: usize,
    /// Steps done.
    pub step: usize,
    /// Steps in the run.
    pub total_steps: usize,
    /// The step this process started at (a resumed run starts past 0).
    pub first_step: usize,
    /// The learning rate of the last step.
    pub lr: f64,
    /// Training time so far.
    pub elapsed: Duration,
    /// The training loss per step, downsampled.
    pub loss: LossHistory,
    /// Exponential moving average of the training loss.
    pub ema: Option<f64>,
    /// The average's smoothing factor (`+`, `-`), in [0, 0.99].
    pub ema_alpha: f64,
    /// One per finished epoch.
    pub epoch_rows: Vec<EpochRow>,
    /// Test metrics of the best weights, once tested.
    pub test: Option<Metrics>,
    /// Test loss of the best weights, once tested.
    pub test_loss: Option<f64>,
    /// The last `best/` written.
    pub best_saved: Option<SavedCheckpoint>,
    /// The last `last/` written.
    pub last_saved: Option<SavedCheckpoint>,
    /// How many epochs back from the newest the metrics table shows (0 follows the run).
    pub metrics_scroll: usize,
    /// Live events, or an opened run's history.
    pub record: Record,
}

impl RunState {
    /// A run about to start, described only by its name.
    pub fn new(run_name: impl Into<String>) -> Self {
        let run_name = run_name.into();
        Self::with_info(RunInfo {
            run_name,
            ..RunInfo::default()
        })
    }

    /// A run about to start.
    pub fn with_info(info: RunInfo) -> Self {
        Self {
            info,
            steps_per_epoch: 0,
            log_scale: false,
            status: RunStatus::Starting,
            epoch: 0,
            epochs: 0,
            step: 0,
            total_steps: 0,
            first_step: 0,
            lr: 0.0,
            elapsed: Duration::ZERO,
            loss: LossHistory::new(1024),
            ema: None,
            ema_alpha: 0.9,
            epoch_rows: Vec::new(),
            test: None,
            test_loss: None,
            best_saved: None,
            last_saved: None,
            metrics_scroll: 0,
            record: Record::Live,
        }
    }

    /// Steps per second of this process.
    pub fn steps_per_sec(&self) -> f64 {
        (self.step - self.first_step) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Time left at the current rate; `None` before a step was timed.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.steps_per_sec();
        (rate > 0.0 && self.total_steps >= self.step)
            .then(|| Duration::from_secs_f64((self.total_steps - self.step) as f64 / rate))
    }

    /// The label of the state, with "evaluating" inferred: an epoch's last step is done
    /// and its dev metrics have not arrived.
    pub fn status_label(&self) -> String {
        let spe = self.steps_per_epoch.max(1);
        let epochs_done = self.step / spe;
        if self.status == RunStatus::Running && self.step > self.first_step && self.step % spe == 0 {
            if epochs_done > self.epoch_rows.len() {
                return "evaluating dev".into();
            }
            if epochs_done >= self.epochs && self.test.is_none() {
                return "evaluating test".into();
            }
        }
        match (&self.status, &self.record) {
            // An opened run says how it ended, in the past tense.
            (RunStatus::Done, Record::History(_)) => "finished".into(),
            (RunStatus::Stopped, Record::History(_)) => format!("stopped at step {}", self.step),
            (RunStatus::Starting, Record::NoCurves(why)) => why.clone(),
            _ => self.status.label(),
        }
    }

    /// Smoothing of the loss curve: the EMA factor, changed in steps of 0.05 within [0, 0.99].
    pub fn adjust_smoothing(&mut self, way: Smoothing) {
        let a = self.ema_alpha
            + match way {
                Smoothing::More => 0.05,
                Smoothing::Less => -0.05,
            };
        self.ema_alpha = (a * 100.0).round().clamp(0.0, 99.0) / 100.0;
    }

    /// The whole run's loss smoothed with the current factor.
    pub fn smoothed(&self) -> Vec<(f64, f64)> {
        let mut ema = None;
        self.loss
            .full()
            .iter()
            .map(|&(x, y)| {
                let e = ema.map_or(y, |e: f64| self.ema_alpha * e + (1.0 - self.ema_alpha) * y);
                ema = Some(e);
                (x, e)
            })
            .collect()
    }

    /// Moves the metrics table's rows; the newest epoch is as far as it goes either way.
    pub fn scroll_metrics(&mut self, by: Scroll) {
        let most = self.epoch_rows.len().saturating_sub(1);
        self.metrics_scroll = match by {
            Scroll::Older(n) => self.metrics_scroll.saturating_add(n).min(most),
            Scroll::Newer(n) => self.metrics_scroll.saturating_sub(n),
            Scroll::Oldest => most,
            Scroll::Newest => 0,
        };
    }

    /// The epochs completed at `step`, and whether the step is inside the next one (a save
    /// asked for mid-epoch); `None` before the run said how long an epoch is.
    pub fn epoch_at(&self, step: usize) -> Option<(usize, bool)> {
        (self.steps_per_epoch > 0).then(|| (step / self.steps_per_epoch, step % self.steps_per_epoch != 0))
    }

    /// The epoch with the lowest dev loss so far.
    pub fn best_epoch(&self) -> Option<usize> {
        self.epoch_rows.iter().filter(|r| r.best).map(|r| r.epoch).next_back()
    }

    /// Updates the state from one of the engine's events.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Started {
                epochs,
                total_steps,
                first_step,
                steps_per_epoch,
                ..
            } => {
                self.steps_per_epoch = *steps_per_epoch;
                self.epochs = *epochs;
                self.total_steps = *total_steps;
                self.first_step = *first_step;
                self.step = *first_step;
                self.status = RunStatus::Running;
            }
            Event::Step {
                epoch,
                step,
                loss,
                lr,
                elapsed,
            } => {
                self.epoch = *epoch;
                self.step = *step;
                self.lr = *lr;
                self.elapsed = *elapsed;
                let loss = *loss as f64;
                self.loss.push(*step as f64, loss);
                let ema = self
                    .ema
                    .map_or(loss, |e| self.ema_alpha * e + (1.0 - self.ema_alpha) * loss);
                self.ema = Some(ema);
            }
            Event::EpochEnd {
                epoch,
                train_loss,
                dev_loss,
                dev,
                best,
            } => {
                // A reader looking at older rows keeps them in view as new ones arrive.
                if self.metrics_scroll > 0 {
                    self.metrics_scroll += 1;
                }
                self.epoch_rows.push(EpochRow {
                    epoch: *epoch,
                    train_loss: *train_loss,
                    dev_loss: *dev_loss,
                    dev: *dev,
                    best: *best,
                });
            }
            Event::Paused => self.status = RunStatus::Paused,
            Event::Resumed => self.status = RunStatus::Running,
            Event::Stopped { .. } => self.status = RunStatus::Stopped,
            Event::Finished(summary) => {
                self.test = Some(summary.test);
                self.test_loss = Some(summary.test_loss);
                self.status = RunStatus::Done;
            }
            Event::Failed(e) => self.status = RunStatus::Failed(e.clone()),
            Event::CheckpointSaved { path, kind } => {
                let saved = Some(SavedCheckpoint {
                    path: path.clone(),
                    step: self.step,
                });
                match kind {
                    Saved::Best => self.best_saved = saved,
                    Saved::Last => self.last_saved = saved,
                }
            }
            // A warning is the app's message line (`App::apply`).
            Event::Attention(_) | Event::Predictions { .. } | Event::Serving(_) | Event::Warning(_) => {}
        }
    }
}

pub(super) mod replay;

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines `train` and `open` wrote by hand before the model was typed.
    #[test]
    fn model_lines_say_what_applies() {
        let info = |kind, cls_audio, preset| {
            ModelInfo {
                kind,
                cls_audio,
                preset,
            }
            .to_string()
        };
        assert_eq!(
            info(ModelKind::CmBert, Some(ClsAudio::Zero), Some(Preset::Scratch)),
            "cm-bert (cls-audio zero, preset scratch)"
        );
        assert_eq!(
            info(ModelKind::TBert, Some(ClsAudio::Mean), Some(Preset::Paper)),
            "t-bert (cls-audio mean, preset paper)"
        );
        assert_eq!(
            info(ModelKind::CmBert, Some(ClsAudio::Learned), None),
            "cm-bert (cls-audio learned)"
        );
        assert_eq!(info(ModelKind::TBert, None, None), "t-bert");
        assert_eq!(
            info(ModelKind::TBert, None, Some(Preset::Paper)),
            "t-bert (preset paper)"
        );
    }

    #[test]
    fn history_stays_bounded_and_keeps_the_mean() {
        let mut h = LossHistory::new(8);
        for step in 0..1000 {
            h.push(step as f64, 2.0);
        }
        let coarse = h.full().len();
        assert!((4..=8).contains(&coarse), "{coarse}");
        assert!(h.full().iter().all(|p| (p.1 - 2.0).abs() < 1e-12));
        // The points span the run, not only its start.
        let (first, last) = (h.full()[0].0, h.full()[coarse - 1].0);
        assert!(first < 100.0 && last > 500.0, "{first} {last}");
    }

    #[test]
    fn events_drive_the_state() {
        let mut s = RunState::new("test");
        s.apply(&Event::Started {
            seed: 1,
            epochs: 3,
            steps_per_epoch: 10,
            total_steps: 30,
            first_step: 0,
            trainable_params: 5,
            frozen_params: 0,
        });
        assert_eq!(s.status, RunStatus::Running);
        s.apply(&Event::Step {
            epoch: 0,
            step: 1,
            loss: 2.0,
            lr: 1e-5,
            elapsed: Duration::from_secs(1),
        });
        s.apply(&Event::Step {
            epoch: 0,
            step: 2,
            loss: 1.0,
            lr: 2e-5,
            elapsed: Duration::from_secs(2),
        });
        assert!((s.ema.unwrap() - 1.9).abs() < 1e-12, "{:?}", s.ema);
        assert_eq!(s.steps_per_sec(), 1.0);
        assert_eq!(s.eta(), Some(Duration::from_secs(28)));
        s.apply(&Event::Paused);
        assert_eq!(s.status.label(), "paused");
        s.apply(&Event::Failed("disk full".into()));
        assert_eq!(s.status.label(), "failed: disk full");
    }
}
