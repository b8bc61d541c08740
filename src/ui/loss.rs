//! Loss chart: training loss per step (raw, faint) with its moving average, and the dev
//! loss per epoch; the best epoch is marked.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Widget};

use super::state::RunState;

pub struct LossChart<'a>(pub &'a RunState);

impl Widget for LossChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.0;
        let raw: Vec<(f64, f64)> = s.loss.full().to_vec();
        let ema: Vec<(f64, f64)> = s.ema_points.full().to_vec();
        let steps_per_epoch = s.total_steps as f64 / s.epochs.max(1) as f64;
        let dev: Vec<(f64, f64)> = s
            .epoch_rows
            .iter()
            .map(|r| ((r.epoch + 1) as f64 * steps_per_epoch, r.dev_loss))
            .collect();
        let best: Vec<(f64, f64)> = s
            .epoch_rows
            .iter()
            .filter(|r| Some(r.epoch) == s.best_epoch())
            .map(|r| ((r.epoch + 1) as f64 * steps_per_epoch, r.dev_loss))
            .collect();
        let y_max = raw.iter().chain(&dev).map(|p| p.1).fold(0.0f64, f64::max).max(1e-3) * 1.05;
        let x_max = (s.total_steps.max(1)) as f64;
        let datasets = vec![
            Dataset::default()
                .name("train")
                .marker(Marker::Dot)
                .style(Style::default().fg(Color::DarkGray))
                .data(&raw),
            Dataset::default()
                .name("train (EMA)")
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(Color::Cyan))
                .data(&ema),
            Dataset::default()
                .name("dev")
                .marker(Marker::Block)
                .graph_type(GraphType::Scatter)
                .style(Style::default().fg(Color::Yellow))
                .data(&dev),
            Dataset::default()
                .name("best")
                .marker(Marker::Block)
                .graph_type(GraphType::Scatter)
                .style(Style::default().fg(Color::Green))
                .data(&best),
        ];
        Chart::new(datasets)
            .block(Block::default().borders(Borders::ALL).title(" loss "))
            .x_axis(
                Axis::default()
                    .bounds([0.0, x_max])
                    .labels(["0".to_string(), format!("{}", s.total_steps)]),
            )
            .y_axis(
                Axis::default()
                    .bounds([0.0, y_max])
                    .labels(["0".to_string(), format!("{y_max:.2}")]),
            )
            .render(area, buf);
    }
}
