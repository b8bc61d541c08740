//! Metrics table: dev metrics per epoch (best highlighted) and the final test metrics.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Borders, Row, Table, Widget};

use super::state::RunState;
use super::theme::Theme;
use crate::train::Metrics;

pub struct MetricsTable<'a>(pub &'a RunState, pub &'a Theme);

fn cells(name: String, loss: Option<f64>, m: &Metrics) -> Vec<String> {
    vec![
        name,
        loss.map_or("-".into(), |l| format!("{l:.3}")),
        format!("{:.1}", 100.0 * m.acc2),
        format!("{:.1}", 100.0 * m.acc2_nonzero),
        format!("{:.1}", 100.0 * m.f1),
        format!("{:.1}", 100.0 * m.acc7),
        format!("{:.3}", m.mae),
        format!("{:.3}", m.corr),
    ]
}

impl Widget for MetricsTable<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (s, theme) = (self.0, self.1);
        let best = s.best_epoch();
        let mut rows: Vec<Row> = s
            .epoch_rows
            .iter()
            .map(|r| {
                let row = Row::new(cells(format!("dev {}", r.epoch + 1), Some(r.dev_loss), &r.dev));
                if Some(r.epoch) == best {
                    row.style(Style::default().fg(theme.good).add_modifier(Modifier::BOLD))
                } else {
                    row
                }
            })
            .collect();
        if let Some(test) = &s.test {
            rows.push(
                Row::new(cells("test".into(), None, test))
                    .style(Style::default().fg(theme.accent).add_modifier(Modifier::BOLD)),
            );
        }
        let header = Row::new(["", "loss", "Acc2", "Acc2*", "F1", "Acc7", "MAE", "Corr"])
            .style(Style::default().add_modifier(Modifier::UNDERLINED));
        let widths = [
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(6),
        ];
        Table::new(rows, widths)
            .header(header)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(theme.border))
                    .title(" metrics (best dev epoch in colour) "),
            )
            .style(Style::default().fg(theme.text))
            .render(area, buf);
    }
}
