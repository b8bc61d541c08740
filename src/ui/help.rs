//! The help overlay: every key of [`HELP`] in two columns, centred over the screen.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::app::HELP;
use super::theme::Theme;

/// Draws the overlay over `area` (the whole frame).
pub(super) fn draw(frame: &mut Frame, area: Rect, theme: &Theme) {
    let rows = HELP.len().div_ceil(2);
    let area = centered(area, 78, rows as u16 + 2);
    let entry = |i: usize| {
        HELP.get(i)
            .map_or(String::new(), |(k, what)| format!("{k:<9} {what:<28}"))
    };
    let lines: Vec<Line> = (0..rows)
        .map(|r| Line::from(format!("{}{}", entry(r), entry(r + rows))))
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .style(Style::default().fg(theme.text).bg(theme.background.unwrap_or_default()))
            .block(Block::default().borders(Borders::ALL).title(" keys (? closes) ")),
        area,
    );
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}
