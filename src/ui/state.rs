//! What the dashboard shows, updated from the training engine's events. Rendering only
//! reads this; nothing here touches tensors.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use crate::train::{CheckpointKind, Event, Metrics};

/// Training loss per step, bounded: the recent steps raw, the whole run downsampled.
#[derive(Debug, Clone)]
pub struct LossHistory {
    recent: VecDeque<(f64, f64)>,
    recent_cap: usize,
    /// Means of `bucket` consecutive steps; buckets double when there are too many.
    coarse: Vec<(f64, f64)>,
    coarse_cap: usize,
    bucket: usize,
    pending: (f64, f64, usize),
}

impl LossHistory {
    pub fn new(recent_cap: usize, coarse_cap: usize) -> Self {
        Self {
            recent: VecDeque::new(),
            recent_cap,
            coarse: Vec::new(),
            coarse_cap: coarse_cap.max(2),
            bucket: 1,
            pending: (0.0, 0.0, 0),
        }
    }

    pub fn push(&mut self, step: f64, loss: f64) {
        if self.recent.len() == self.recent_cap {
            self.recent.pop_front();
        }
        self.recent.push_back((step, loss));
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

    pub fn recent(&self) -> impl Iterator<Item = &(f64, f64)> {
        self.recent.iter()
    }

    /// The whole run at reduced resolution.
    pub fn full(&self) -> &[(f64, f64)] {
        &self.coarse
    }

    pub fn len_bounds(&self) -> (usize, usize) {
        (self.recent.len(), self.coarse.len())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    Starting,
    Running,
    Paused,
    Done,
    Stopped,
    Failed(String),
}

impl RunStatus {
    pub fn label(&self) -> String {
        match self {
            Self::Starting => "starting".into(),
            Self::Running => "running".into(),
            Self::Paused => "paused".into(),
            Self::Done => "done".into(),
            Self::Stopped => "stopped".into(),
            Self::Failed(e) => format!("failed: {e}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EpochRow {
    pub epoch: usize,
    pub train_loss: f64,
    pub dev_loss: f64,
    pub dev: Metrics,
    pub best: bool,
}

/// A checkpoint this run wrote, and the step its weights are from (the epoch follows from
/// it: the events carry only the path, and arrive after the step and epoch they follow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedCheckpoint {
    pub path: PathBuf,
    pub step: usize,
}

/// A move of the metrics table's rows; `Older` shows earlier epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scroll {
    Older(usize),
    Newer(usize),
    Oldest,
    Newest,
}

/// What is being trained or inspected, for the status panel and export metadata.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunInfo {
    pub run_name: String,
    pub model: String,
    pub bert: String,
    pub data: String,
    /// Checkpoint directory (`open`) or output directory (`train`).
    pub checkpoint: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RunState {
    pub info: RunInfo,
    pub steps_per_epoch: usize,
    /// Display options of the loss chart.
    pub log_scale: bool,
    pub status: RunStatus,
    pub epoch: usize,
    pub epochs: usize,
    pub step: usize,
    pub total_steps: usize,
    pub first_step: usize,
    pub lr: f64,
    pub elapsed: Duration,
    pub loss: LossHistory,
    /// Exponential moving average of the training loss, and its smoothing factor.
    pub ema: Option<f64>,
    pub ema_alpha: f64,
    pub epoch_rows: Vec<EpochRow>,
    pub test: Option<Metrics>,
    pub test_loss: Option<f64>,
    pub best_saved: Option<SavedCheckpoint>,
    pub last_saved: Option<SavedCheckpoint>,
    /// How many epochs back from the newest the metrics table shows (0 follows the run).
    pub metrics_scroll: usize,
}

impl RunState {
    pub fn new(run_name: impl Into<String>) -> Self {
        let run_name = run_name.into();
        Self::with_info(RunInfo {
            run_name,
            ..RunInfo::default()
        })
    }

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
            loss: LossHistory::new(512, 1024),
            ema: None,
            ema_alpha: 0.9,
            epoch_rows: Vec::new(),
            test: None,
            test_loss: None,
            best_saved: None,
            last_saved: None,
            metrics_scroll: 0,
        }
    }

    pub fn steps_per_sec(&self) -> f64 {
        (self.step - self.first_step) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

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
        self.status.label()
    }

    /// Smoothing of the loss curve: the EMA factor, changed in steps of 0.05 within [0, 0.99].
    pub fn adjust_smoothing(&mut self, up: bool) {
        let a = self.ema_alpha + if up { 0.05 } else { -0.05 };
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

    pub fn best_epoch(&self) -> Option<usize> {
        self.epoch_rows.iter().filter(|r| r.best).map(|r| r.epoch).next_back()
    }

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
                    CheckpointKind::Best => self.best_saved = saved,
                    CheckpointKind::Last => self.last_saved = saved,
                }
            }
            // A warning is the app's message line (`App::apply`).
            Event::Attention(_) | Event::Predictions { .. } | Event::Serving(_) | Event::Warning(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_stays_bounded_and_keeps_the_mean() {
        let mut h = LossHistory::new(10, 8);
        for step in 0..1000 {
            h.push(step as f64, 2.0);
        }
        let (recent, coarse) = h.len_bounds();
        assert_eq!(recent, 10);
        assert!(coarse <= 9, "{coarse}");
        assert!(h.full().iter().all(|p| (p.1 - 2.0).abs() < 1e-12));
        assert_eq!(h.recent().last().unwrap().0, 999.0);
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
