//! Status panel: run, progress, learning rate, speed, ETA and state.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::state::{RunState, RunStatus};
use crate::commands::printer::format_duration;

pub struct StatusPanel<'a>(pub &'a RunState);

impl Widget for StatusPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.0;
        let state_style = match s.status {
            RunStatus::Failed(_) => Style::default().fg(Color::Red),
            RunStatus::Done => Style::default().fg(Color::Green),
            RunStatus::Paused => Style::default().fg(Color::Yellow),
            _ => Style::default(),
        };
        let eta = s.eta().map_or("-".into(), format_duration);
        let lines = vec![
            Line::from(vec![Span::raw("run    "), Span::raw(s.run_name.as_str())]),
            Line::from(vec![Span::raw("state  "), Span::styled(s.status.label(), state_style)]),
            Line::from(format!(
                "epoch  {}/{}   step {}/{}",
                (s.epoch + 1).min(s.epochs.max(1)),
                s.epochs,
                s.step,
                s.total_steps
            )),
            Line::from(format!(
                "lr     {:.2e}   {:.2} steps/s   ETA {eta}",
                s.lr,
                s.steps_per_sec()
            )),
        ];
        Paragraph::new(lines)
            .block(Block::default().borders(Borders::ALL).title(" status "))
            .render(area, buf);
    }
}
