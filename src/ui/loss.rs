//! Loss chart: training loss per step (raw, faint) with its moving average (adjustable),
//! and the dev loss per epoch; the best epoch is marked; optional log scale. An opened run
//! marks where each `--resume` took it up; an opened checkpoint without a history says why
//! there is no curve.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Widget, Wrap};

use super::state::{Record, RunState};
use super::theme::Theme;

/// The training loss per step, raw and smoothed, and the dev loss per epoch; linear or log
/// scale (`l`).
pub struct LossChart<'a>(
    /// The run.
    pub &'a RunState,
    /// Its colours.
    pub &'a Theme,
);

impl Widget for LossChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (s, theme) = (self.0, self.1);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(Style::default().fg(theme.border));
        if let Record::NoCurves(why) = &s.record {
            Paragraph::new(why.as_str())
                .wrap(Wrap { trim: true })
                .block(block.title(" loss "))
                .style(Style::default().fg(theme.warning))
                .render(area, buf);
            return;
        }
        // Log scale plots log10(loss); losses are positive (half squared errors).
        let y = |v: f64| if s.log_scale { v.max(1e-6).log10() } else { v };
        let map = |points: Vec<(f64, f64)>| -> Vec<(f64, f64)> { points.into_iter().map(|(x, v)| (x, y(v))).collect() };
        let raw = map(s.loss.full().to_vec());
        let smooth = map(s.smoothed());
        let steps_per_epoch = s.total_steps as f64 / s.epochs.max(1) as f64;
        let dev = map(s
            .epoch_rows
            .iter()
            .map(|r| ((r.epoch + 1) as f64 * steps_per_epoch, r.dev_loss))
            .collect());
        let best = map(s
            .epoch_rows
            .iter()
            .filter(|r| Some(r.epoch) == s.best_epoch())
            .map(|r| ((r.epoch + 1) as f64 * steps_per_epoch, r.dev_loss))
            .collect());
        let values = || raw.iter().chain(&dev).map(|p| p.1);
        let (y_min, y_max) = if s.log_scale {
            let lo = values().fold(f64::INFINITY, f64::min);
            let hi = values().fold(f64::NEG_INFINITY, f64::max);
            if lo.is_finite() && hi > lo {
                (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
            } else {
                (-1.0, 1.0)
            }
        } else {
            (0.0, values().fold(0.0f64, f64::max).max(1e-3) * 1.05)
        };
        let label = |v: f64| {
            if s.log_scale {
                format!("{:.3}", 10f64.powf(v))
            } else {
                format!("{v:.2}")
            }
        };
        let x_max = (s.total_steps.max(1)) as f64;
        // A dotted vertical line at each resume, 24 dots high, said in the title: a seventh
        // legend row would hide the legend on all but tall screens.
        let resumed_at: Vec<usize> = match &s.record {
            Record::History(r) => r.resumes().collect(),
            _ => Vec::new(),
        };
        let resumes: Vec<(f64, f64)> = resumed_at
            .iter()
            .flat_map(|&step| (0..=24).map(move |i| (step as f64, y_min + (y_max - y_min) * i as f64 / 24.0)))
            .collect();
        let mut datasets = vec![
            Dataset::default()
                .name("train")
                .marker(Marker::Dot)
                .style(Style::default().fg(theme.dim))
                .data(&raw),
            Dataset::default()
                .name(format!("EMA {:.2}", s.ema_alpha))
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(theme.accent))
                .data(&smooth),
            Dataset::default()
                .name("dev")
                .marker(Marker::Block)
                .graph_type(GraphType::Scatter)
                .style(Style::default().fg(theme.warning))
                .data(&dev),
            Dataset::default()
                .name("best")
                .marker(Marker::Block)
                .graph_type(GraphType::Scatter)
                .style(Style::default().fg(theme.good))
                .data(&best),
        ];
        if !resumes.is_empty() {
            // First, so that the curves and the dev points are drawn over it.
            datasets.insert(
                0,
                Dataset::default()
                    .marker(Marker::Dot)
                    .graph_type(GraphType::Scatter)
                    .style(Style::default().fg(theme.text))
                    .data(&resumes),
            );
        }
        let mut notes = Vec::new();
        if s.log_scale {
            notes.push("log scale".to_string());
        }
        if !resumed_at.is_empty() {
            let steps: Vec<String> = resumed_at.iter().map(usize::to_string).collect();
            notes.push(format!("dotted line: resumed at step {}", steps.join(", ")));
        }
        let title = if notes.is_empty() {
            " loss ".to_string()
        } else {
            format!(" loss ({}) ", notes.join("; "))
        };
        Chart::new(datasets)
            // The legend (6 rows) stays while it takes up to a third of the chart's height
            // (ratatui's default of a quarter hid it at 120x40 once the tables took their
            // rows).
            .hidden_legend_constraints((Constraint::Ratio(1, 4), Constraint::Ratio(1, 3)))
            .block(block.title(title))
            .style(Style::default().fg(theme.text))
            .x_axis(
                Axis::default()
                    .bounds([0.0, x_max])
                    .labels(["0".to_string(), format!("{}", s.total_steps)]),
            )
            .y_axis(
                Axis::default()
                    .bounds([y_min, y_max])
                    .labels([label(y_min), label(y_max)]),
            )
            .render(area, buf);
    }
}
