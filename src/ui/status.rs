//! Status panel: run, model, BERT source, data, progress, learning rate, speed, ETA, state.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::state::{RunState, RunStatus};
use super::theme::Theme;
use crate::commands::printer::format_duration;

pub struct StatusPanel<'a>(pub &'a RunState, pub &'a Theme);

impl Widget for StatusPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (s, theme) = (self.0, self.1);
        let state_style = Style::default().fg(match s.status {
            RunStatus::Failed(_) => theme.bad,
            RunStatus::Done => theme.good,
            RunStatus::Paused | RunStatus::Stopped => theme.warning,
            _ => theme.text,
        });
        let dim = Style::default().fg(theme.dim);
        let field = |name: &'static str, value: String| {
            Line::from(vec![Span::styled(format!("{name:<7}"), dim), Span::raw(value)])
        };
        let eta = s.eta().map_or("-".into(), format_duration);
        let mut lines = vec![
            field("run", s.info.run_name.clone()),
            Line::from(vec![
                Span::styled("state  ", dim),
                Span::styled(s.status_label(), state_style),
            ]),
        ];
        if s.total_steps > 0 {
            lines.push(field(
                "epoch",
                format!(
                    "{}/{}   step {}/{}",
                    (s.epoch + 1).min(s.epochs.max(1)),
                    s.epochs,
                    s.step,
                    s.total_steps
                ),
            ));
            lines.push(field(
                "lr",
                format!("{:.2e}   {:.2} steps/s   ETA {eta}", s.lr, s.steps_per_sec()),
            ));
        }
        let saved = s.last_saved.as_ref().map_or(String::new(), |p| p.display().to_string());
        for (name, value) in [
            ("model", &s.info.model),
            ("bert", &s.info.bert),
            ("data", &s.info.data),
            ("saved", &saved),
        ] {
            if !value.is_empty() {
                lines.push(field(name, value.clone()));
            }
        }
        Paragraph::new(lines)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(theme.border))
                    .title(" status "),
            )
            .style(Style::default().fg(theme.text))
            .render(area, buf);
    }
}
