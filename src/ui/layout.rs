//! The frame around both screens: the theme's background, the screen shown, the footer line
//! (a question, a message, a failure, or the keys), and the help overlay on top.

use ratatui::layout::{Constraint, Layout};
use ratatui::style::Style;
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::app::{App, Screen};
use super::RunStatus;

impl App {
    /// Draws the whole app; reads the state only.
    pub fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        if let Some(bg) = self.theme.background {
            frame.render_widget(Block::default().style(Style::default().bg(bg)), area);
        }
        let [body, footer] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        match self.screen {
            Screen::Training => super::training_screen::draw(frame, body, &self.state, &self.theme),
            Screen::Attention => self.draw_attention(frame, body),
        }
        let hint = if self.confirm_quit {
            "stop the run? q/y: yes, any other key: no".to_string()
        } else if let Some(m) = &self.message {
            m.clone()
        } else if let RunStatus::Failed(e) = &self.state.status {
            // In full here: the status panel's line is cut at its width.
            format!("failed: {e}  (q quits)")
        } else {
            let screen = match self.screen {
                Screen::Training => "[1 training] 2 attention",
                Screen::Attention => "1 training [2 attention]",
            };
            format!("{screen}  f figure 4  e export  space pause  ? help  q quit")
        };
        frame.render_widget(Paragraph::new(hint).style(Style::default().fg(self.theme.dim)), footer);
        if self.show_help {
            super::help::draw(frame, area, &self.theme);
        }
    }
}
