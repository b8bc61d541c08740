//! Status panel: run, state, progress (epoch, step, learning rate, speed, ETA), model, BERT
//! source, data, for an opened run the history it is drawn from (`source`: the file, when
//! it started and each `--resume`), and the checkpoints saved (best/ and last/, with the
//! epoch and step each holds).
//!
//! Values wrap at spaces instead of being cut at the border; when the panel is short, paths
//! are shortened from the left to keep each value on one line, and when it is shorter still
//! the least needed lines go (the run's name first; the state, progress and checkpoints
//! last). The layout asks [`StatusPanel::height`] and [`StatusPanel::min_height`] for the
//! rows these need.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::state::{Record, Replayed, RunState, RunStatus, SavedCheckpoint};
use super::text::{format_duration, format_lr, format_rate, wrap, Paths};
use super::theme::Theme;

/// Width of the field names ("epoch  ").
const NAME: usize = 7;

/// The run's name, state, progress, model, data and saved checkpoints.
pub struct StatusPanel<'a>(
    /// The run.
    pub &'a RunState,
    /// Its colours.
    pub &'a Theme,
);

/// Which lines a short panel leaves out first: the highest `Drop`. The state, progress and
/// checkpoints (the run's outcome) are never left out.
type Drop = u8;
const ALWAYS: Drop = 0;
/// The run's name: the model and seed, also on the model line.
const RUN_NAME: Drop = 4;

struct Field {
    name: &'static str,
    groups: Vec<String>,
    /// For the state only: its colour.
    style: Option<Style>,
    drop: Drop,
}

fn field(name: &'static str, groups: Vec<String>, drop: Drop) -> Field {
    Field {
        name,
        groups,
        style: None,
        drop,
    }
}

/// "…/run1/best" and the epoch and step it holds, as two groups of one value.
fn checkpoint(s: &RunState, saved: &SavedCheckpoint) -> Vec<String> {
    let held = match s.epoch_at(saved.step) {
        Some((epochs, false)) => format!("epoch {epochs}, step {}", saved.step),
        Some((epochs, true)) => format!("step {}, in epoch {}", saved.step, epochs + 1),
        None => format!("step {}", saved.step),
    };
    vec![saved.path.display().to_string(), held]
}

/// "…/run1/history.jsonl", when the run started and where each `--resume` took it up.
fn history(r: &Replayed) -> Vec<String> {
    // "2026-12-01T16:05:00+00:00" as "2026-12-01 16:05".
    let when = |s: &str| s.get(..16).unwrap_or(s).replacen('T', " ", 1);
    let mut groups = vec![r.path.display().to_string()];
    for s in &r.sessions {
        groups.push(if s.resumed {
            format!("resumed at step {} {}", s.first_step, when(&s.started))
        } else {
            format!("started {}", when(&s.started))
        });
    }
    if r.truncated {
        groups.push("its cut last line left out".into());
    }
    groups
}

impl StatusPanel<'_> {
    fn fields(&self) -> Vec<Field> {
        let (s, theme) = (self.0, self.1);
        let in_progress = matches!(s.status, RunStatus::Starting | RunStatus::Running | RunStatus::Paused);
        let mut fields = vec![
            field("run", vec![s.info.run_name.clone()], RUN_NAME),
            Field {
                style: Some(Style::default().fg(match s.status {
                    RunStatus::Failed(_) => theme.bad,
                    RunStatus::Done => theme.good,
                    RunStatus::Paused | RunStatus::Stopped | RunStatus::Unended { .. } => theme.warning,
                    RunStatus::Starting if matches!(s.record, Record::NoCurves(_)) => theme.warning,
                    _ => theme.text,
                })),
                ..field("state", vec![s.status_label()], ALWAYS)
            },
        ];
        if s.total_steps > 0 {
            // One field, so that the ETA stays with the progress on a short panel.
            // An opened run killed in its first epoch: how long an epoch is was never said.
            let steps = if s.steps_per_epoch == 0 {
                format!("step {}", s.step)
            } else {
                format!("step {}/{}", s.step, s.total_steps)
            };
            let mut progress = vec![
                format!("{}/{}", (s.epoch + 1).min(s.epochs.max(1)), s.epochs),
                steps,
                format!("lr {}", format_lr(s.lr)),
                format!("{} steps/s", format_rate(s.steps_per_sec())),
            ];
            // Once the run is over, "ETA 0.0s" says nothing.
            if in_progress {
                progress.push(format!("ETA {}", s.eta().map_or("-".into(), format_duration)));
            }
            fields.push(field("epoch", progress, ALWAYS));
        }
        let model = s.info.model.map_or(String::new(), |m| m.to_string());
        for (name, value, drop) in [
            ("model", &model, 2),
            ("bert", &s.info.bert, 3),
            ("data", &s.info.data, 1),
        ] {
            if !value.is_empty() {
                fields.push(field(name, vec![value.clone()], drop));
            }
        }
        if let Record::History(replayed) = &s.record {
            fields.push(field("source", history(replayed), 1));
        }
        for (name, saved) in [("best", &s.best_saved), ("last", &s.last_saved)] {
            if let Some(saved) = saved {
                fields.push(field(name, checkpoint(s, saved), ALWAYS));
            }
        }
        fields
    }

    /// The lines at this inner size: paths whole if everything fits, else shortened, else
    /// without the least needed fields.
    fn lines(&self, width: u16, height: u16) -> Vec<Line<'static>> {
        let fields = self.fields();
        let width = (width as usize).saturating_sub(NAME);
        let mut lines = self.render_fields(&fields, width, Paths::Whole, RUN_NAME);
        for keep in (ALWAYS..=RUN_NAME).rev() {
            if lines.len() <= height as usize {
                break;
            }
            lines = self.render_fields(&fields, width, Paths::Shorten, keep);
        }
        lines
    }

    /// The fields with `drop <= keep`, wrapped to `width` columns after the names.
    fn render_fields(&self, fields: &[Field], width: usize, paths: Paths, keep: Drop) -> Vec<Line<'static>> {
        let dim = Style::default().fg(self.1.dim);
        let mut lines = Vec::new();
        for f in fields.iter().filter(|f| f.drop <= keep) {
            let groups: Vec<&str> = f.groups.iter().map(String::as_str).collect();
            for (i, text) in wrap(&groups, width, paths).into_iter().enumerate() {
                let name = if i == 0 { f.name } else { "" };
                let value = match f.style {
                    Some(style) => Span::styled(text, style),
                    None => Span::raw(text),
                };
                lines.push(Line::from(vec![Span::styled(format!("{name:<NAME$}"), dim), value]));
            }
        }
        lines
    }

    /// Rows (with the border) to show every line with paths whole at this width.
    pub fn height(&self, width: u16) -> u16 {
        self.rows(width, Paths::Whole, RUN_NAME)
    }

    /// Rows (with the border) for the lines that are always kept: the state, progress and
    /// checkpoints.
    pub fn min_height(&self, width: u16) -> u16 {
        self.rows(width, Paths::Shorten, ALWAYS)
    }

    fn rows(&self, width: u16, paths: Paths, keep: Drop) -> u16 {
        let inner = width.saturating_sub(2);
        self.render_fields(&self.fields(), inner.saturating_sub(NAME as u16) as usize, paths, keep)
            .len() as u16
            + 2
    }
}

impl Widget for StatusPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(Style::default().fg(self.1.border))
            .title(" status ");
        let inner = block.inner(area);
        Paragraph::new(self.lines(inner.width, inner.height))
            .block(block)
            .style(Style::default().fg(self.1.text))
            .render(area, buf);
    }
}
