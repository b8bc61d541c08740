//! Headless consumer of the engine's events: a progress bar when stderr is a terminal,
//! plain log lines otherwise; and the number formats every printout outside the app shares.

/// `eprintln!` that never panics: a headless run's stderr may be a pipe whose reader is
/// gone (`| head`, or a `| tee` that took the same Ctrl-C), and a progress line must not
/// end the run before it saves `last/`. Control characters are shown, not obeyed
/// ([`printable`]).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let line = $crate::commands::printer::printable(&format!($($arg)*)).into_owned();
        let _ = writeln!(std::io::stderr(), "{line}");
    }};
}
pub(crate) use say;

/// `println!` for a command's report on standard output, without its panic (see
/// [`to_stdout`]).
macro_rules! tell {
    () => {
        $crate::commands::printer::to_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::commands::printer::to_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use tell;

/// Writes a command's report to standard output. When its reader has gone (`| head`), the
/// rest has no reader: the command ends as a Unix filter does, by SIGPIPE (status 141), where
/// `println!` would panic. Any other failure (a full disk) ends it with one error line. A run
/// writes here only after it has saved (its progress goes to stderr, [`say!`]), so a closed
/// pipe never costs a checkpoint.
pub fn to_stdout(text: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let text = text.to_string();
    let Err(e) = std::io::stdout().write_all(printable(&text).as_bytes()) else {
        return;
    };
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        crate::ui::session::die_of(signal_hook::consts::SIGPIPE);
    }
    say!("error: cannot write to standard output: {e}");
    std::process::exit(2);
}

/// `text` with its control characters (but line ends and tabs) written out as escapes
/// (`\u{1b}`): an utterance, a word or a folder name comes from files anyone can write, and
/// printed raw an escape sequence in it would clear the screen or retitle the terminal.
/// The app draws them harmless on its own (`ui::text`).
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let harmful = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.contains(harmful) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if harmful(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::train::{Event, Metrics, Saved};
/// Durations read the same in the app and in the printouts; the app's layer owns the format.
pub use crate::ui::text::format_duration;

/// Prints a run's events as progress lines on stderr, with a bar when stderr is a terminal.
pub struct Printer {
    bar: Option<ProgressBar>,
    label: String,
    total: usize,
    first_step: usize,
    last_logged: Option<std::time::Instant>,
}

impl Printer {
    /// A printer whose lines start with `[label]` (the run, and its seed).
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
            None => say!("{text}"),
        }
    }

    /// Prints what the event means for a reader: steps throttled, epochs and saves in full.
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
                self.line(started_line(
                    &self.label,
                    *epochs,
                    *steps_per_epoch,
                    *first_step,
                    (*trainable_params, *frozen_params),
                ));
                if std::io::stderr().is_terminal() {
                    let bar = ProgressBar::new(*total_steps as u64);
                    bar.set_style(bar_style(
                        "{prefix} [{bar:30}] {pos}/{len} steps  {msg}  {rate}  ETA {eta}",
                        "steps",
                    ));
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
                    bar.set_message(format!("epoch {} loss {loss:.4} lr {}", epoch + 1, format_lr(*lr)));
                } else if self.last_logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) || *step == self.total
                {
                    self.last_logged = Some(std::time::Instant::now());
                    let done = step - self.first_step;
                    let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
                    let eta = (self.total - step) as f64 / rate.max(1e-9);
                    say!(
                        "[{}] epoch {} step {step}/{} loss {loss:.4} lr {} {} ETA {}",
                        self.label,
                        epoch + 1,
                        self.total,
                        format_lr(*lr),
                        format_rate(rate, "steps"),
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
                kind: Saved::Best,
            } => self.line(format!("[{}] saved best checkpoint {}", self.label, path.display())),
            Event::Stopped { step } => self.line(format!("[{}] stopped after step {step}", self.label)),
            Event::Finished(summary) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                say!(
                    "[{}] test (best epoch {}): {}  ({})",
                    self.label,
                    summary.best_epoch + 1,
                    short_metrics(&summary.test),
                    format_duration(summary.wall_time)
                );
            }
            Event::Failed(message) => self.line(format!("[{}] failed: {message}", self.label)),
            Event::Warning(text) => self.line(format!("[{}] warning: {text}", self.label)),
            // Nothing a progress line needs: `last/` saves, pauses, and the viewer's answers.
            Event::CheckpointSaved { .. }
            | Event::Paused
            | Event::Resumed
            | Event::Attention(_)
            | Event::Predictions { .. }
            | Event::Serving(_) => {}
        }
    }
}

/// The headline metrics on one line: Acc2 (and non-zero), F1, Acc7, MAE, Corr; for data
/// from an MMSA pickle, MMSA's figures for its family instead.
pub fn short_metrics(m: &Metrics) -> String {
    if let Some(mmsa) = &m.mmsa {
        return mmsa.line();
    }
    let [acc2, acc2_nonzero, f1, acc7, mae, corr] = m.headline();
    format!("Acc2 {acc2:.1} (non-0 {acc2_nonzero:.1}) F1 {f1:.1} Acc7 {acc7:.1} MAE {mae:.3} Corr {corr:.3}")
}

/// `[label] 12 epochs x 54 steps; ...`, the line `Event::Started` prints.
fn started_line(
    label: &str,
    epochs: usize,
    steps_per_epoch: usize,
    first_step: usize,
    params: (usize, usize),
) -> String {
    let (trainable, frozen) = params;
    format!(
        "[{label}] {} x {}; {trainable} trainable values, {frozen} frozen{}",
        plural(epochs, "epoch", "epochs"),
        plural(steps_per_epoch, "step", "steps"),
        if first_step > 0 {
            format!("; resuming at step {first_step}")
        } else {
            String::new()
        }
    )
}

/// A learning rate: `1.00e-3`, and `0` at the end of the linear decay (not `0.00e0`).
pub fn format_lr(lr: f64) -> String {
    if lr == 0.0 {
        "0".into()
    } else {
        format!("{lr:.2e}")
    }
}

/// A rate with three significant figures at most: `24.2 steps/s`, `0.613 steps/s`.
pub fn format_rate(per_sec: f64, unit: &str) -> String {
    let digits = match per_sec.abs() {
        r if r >= 100.0 => 0,
        r if r >= 10.0 => 1,
        r if r >= 1.0 => 2,
        _ => 3,
    };
    format!("{per_sec:.digits$} {unit}/s")
}

/// A progress bar whose `{rate}` is `format_rate` (indicatif's `{per_sec}` prints
/// `24.1625/s`).
pub fn bar_style(template: &str, unit: &'static str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("valid template")
        .with_key(
            "rate",
            move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&format_rate(state.per_sec(), unit));
            },
        )
        .progress_chars("=> ")
}

/// `1 epoch`, `12 epochs`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_nouns() {
        assert_eq!(plural(1, "epoch", "epochs"), "1 epoch");
        assert_eq!(plural(12, "epoch", "epochs"), "12 epochs");
        assert_eq!(plural(0, "run", "runs"), "0 runs");
    }

    #[test]
    fn learning_rates_and_rates_print_readably() {
        assert_eq!(format_lr(0.0), "0");
        assert_eq!(format_lr(1e-3), "1.00e-3");
        assert_eq!(format_rate(24.1625, "steps"), "24.2 steps/s");
        assert_eq!(format_rate(1.5, "steps"), "1.50 steps/s");
        assert_eq!(format_rate(0.61349, "steps"), "0.613 steps/s");
        assert_eq!(format_rate(304.4, "recordings"), "304 recordings/s");
    }

    #[test]
    fn the_start_line_counts_in_the_singular_too() {
        assert_eq!(
            started_line("t", 1, 54, 0, (10, 0)),
            "[t] 1 epoch x 54 steps; 10 trainable values, 0 frozen"
        );
        assert_eq!(
            started_line("t", 3, 1, 0, (10, 0)),
            "[t] 3 epochs x 1 step; 10 trainable values, 0 frozen"
        );
    }
}

/// An error and its causes on one line, as `{:#}` writes them, but without a cause the
/// message before it already quotes: our error types put their `source` in their own
/// message (so that each reads whole on its own), and `{:#}` would say it twice
/// (`x.tsv: No such file or directory: No such file or directory`).
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod one_line_tests {
    use super::one_line;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        use super::printable;
        assert_eq!(printable("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            printable("\x1b[2J\x1b]0;pwned\x07HELLO"),
            "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}HELLO"
        );
        assert_eq!(printable("c1 \u{9b}31m"), "c1 \\u{9b}31m");
    }

    #[test]
    fn a_cause_already_quoted_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let quoted = crate::file_error::FileError::Io {
            path: "x.tsv".into(),
            source: io,
        };
        let err = anyhow::Error::new(quoted).context("cannot read the data");
        assert_eq!(one_line(&err), "cannot read the data: x.tsv: No such file or directory");
        let plain = anyhow::anyhow!("disk full").context("cannot save");
        assert_eq!(one_line(&plain), "cannot save: disk full");
    }
}
