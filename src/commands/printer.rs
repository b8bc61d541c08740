//! Headless consumer of the engine's events: a progress bar when stderr is a terminal,
//! plain log lines otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::train::{CheckpointKind, Event, Metrics};

pub struct Printer {
    bar: Option<ProgressBar>,
    label: String,
    total: usize,
    first_step: usize,
    last_logged: Option<std::time::Instant>,
}

impl Printer {
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            bar: None,
            label: label.into(),
            total: 0,
            first_step: 0,
            last_logged: None,
        }
    }

    /// A line of its own, above the progress bar when there is one.
    pub fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    pub fn handle(&mut self, event: &Event) {
        match event {
            Event::Started {
                epochs,
                steps_per_epoch,
                total_steps,
                first_step,
                trainable_params,
                frozen_params,
                ..
            } => {
                self.total = *total_steps;
                self.first_step = *first_step;
                self.line(format!(
                    "[{}] {epochs} epochs x {steps_per_epoch} steps; {trainable_params} trainable values, {frozen_params} frozen{}",
                    self.label,
                    if *first_step > 0 { format!("; resuming at step {first_step}") } else { String::new() }
                ));
                if std::io::stderr().is_terminal() {
                    let bar = ProgressBar::new(*total_steps as u64);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix} [{bar:30}] {pos}/{len} steps  {msg}  {per_sec}  ETA {eta}",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.set_prefix(self.label.clone());
                    bar.set_position(*first_step as u64);
                    bar.reset_eta();
                    self.bar = Some(bar);
                }
            }
            Event::Step {
                epoch,
                step,
                loss,
                lr,
                elapsed,
            } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(*step as u64);
                    bar.set_message(format!("epoch {} loss {loss:.4} lr {lr:.2e}", epoch + 1));
                } else if self.last_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) || *step == self.total
                {
                    self.last_logged = Some(std::time::Instant::now());
                    let done = step - self.first_step;
                    let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
                    let eta = (self.total - step) as f64 / rate.max(1e-9);
                    eprintln!(
                        "[{}] epoch {} step {step}/{} loss {loss:.4} lr {lr:.2e} {rate:.2} steps/s ETA {}",
                        self.label,
                        epoch + 1,
                        self.total,
                        format_duration(Duration::from_secs_f64(eta))
                    );
                }
            }
            Event::EpochEnd {
                epoch,
                train_loss,
                dev_loss,
                dev,
                best,
            } => self.line(format!(
                "[{}] epoch {} train loss {train_loss:.4} dev loss {dev_loss:.4}{} | dev {}",
                self.label,
                epoch + 1,
                if *best { " (best)" } else { "" },
                short_metrics(dev)
            )),
            Event::CheckpointSaved {
                path,
                kind: CheckpointKind::Best,
            } => self.line(format!("[{}] saved best checkpoint {}", self.label, path.display())),
            Event::CheckpointSaved { .. } | Event::Paused | Event::Resumed => {}
            Event::Stopped { step } => self.line(format!("[{}] stopped after step {step}", self.label)),
            Event::Finished(summary) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                eprintln!(
                    "[{}] test (best epoch {}): {}  ({})",
                    self.label,
                    summary.best_epoch + 1,
                    short_metrics(&summary.test),
                    format_duration(summary.wall_time)
                );
            }
            Event::Failed(message) => self.line(format!("[{}] failed: {message}", self.label)),
            Event::Attention(_) | Event::Predictions { .. } | Event::Serving(_) => {}
        }
    }
}

pub fn short_metrics(m: &Metrics) -> String {
    let [acc2, acc2_nonzero, f1, acc7, mae, corr] = m.headline();
    format!("Acc2 {acc2:.1} (non-0 {acc2_nonzero:.1}) F1 {f1:.1} Acc7 {acc7:.1} MAE {mae:.3} Corr {corr:.3}")
}

pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{:.1}s", d.as_secs_f64()),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}
