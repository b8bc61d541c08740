//! The dashboard application: key handling as state transitions, and the event loop that
//! `select!`s over the trainer's events, the keyboard and a frame tick.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{select, tick, unbounded, Sender};
use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::{LossChart, MetricsTable, RunState, RunStatus, StatusPanel};
use crate::data::Dataset;
use crate::train::{Command, RunSummary, TrainError, Trainer};

/// Frames are drawn at most this often, whatever the step rate.
const FRAME: Duration = Duration::from_millis(33);

pub const HELP: &[(&str, &str)] = &[
    ("space", "pause / resume training"),
    ("q", "quit (asks while a run is in progress)"),
    ("?", "show or hide this help"),
];

#[derive(Debug)]
pub struct App {
    pub state: RunState,
    pub show_help: bool,
    /// `q` was pressed while training: the next `q` or `y` stops the run.
    pub confirm_quit: bool,
    pub quit: bool,
}

impl App {
    pub fn new(state: RunState) -> Self {
        Self {
            state,
            show_help: false,
            confirm_quit: false,
            quit: false,
        }
    }

    fn in_progress(&self) -> bool {
        matches!(
            self.state.status,
            RunStatus::Starting | RunStatus::Running | RunStatus::Paused
        )
    }

    /// Applies a key; returns the command to send to the trainer, if any.
    pub fn on_key(&mut self, key: KeyCode) -> Option<Command> {
        if self.confirm_quit {
            self.confirm_quit = false;
            if matches!(key, KeyCode::Char('q') | KeyCode::Char('y')) {
                self.quit = true;
                return Some(Command::Stop);
            }
            return None;
        }
        match key {
            KeyCode::Char('q') | KeyCode::Esc if self.in_progress() => {
                self.confirm_quit = true;
                None
            }
            KeyCode::Char('q') | KeyCode::Esc => {
                self.quit = true;
                None
            }
            KeyCode::Char('?') => {
                self.show_help = !self.show_help;
                None
            }
            KeyCode::Char(' ') => match self.state.status {
                RunStatus::Running => Some(Command::Pause),
                RunStatus::Paused => Some(Command::Resume),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn draw(&self, frame: &mut Frame) {
        let [top, chart, table, footer] = Layout::vertical([
            Constraint::Length(6),
            Constraint::Min(6),
            Constraint::Length(7),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        frame.render_widget(StatusPanel(&self.state), top);
        frame.render_widget(LossChart(&self.state), chart);
        frame.render_widget(MetricsTable(&self.state), table);
        let hint = if self.confirm_quit {
            "stop the run? q/y: yes, any other key: no"
        } else {
            "space pause/resume  q quit  ? help"
        };
        frame.render_widget(Paragraph::new(hint), footer);
        if self.show_help {
            let area = centered(frame.area(), 50, HELP.len() as u16 + 2);
            let lines: Vec<String> = HELP.iter().map(|(k, what)| format!("{k:<7} {what}")).collect();
            frame.render_widget(Clear, area);
            frame.render_widget(
                Paragraph::new(lines.join("\n")).block(Block::default().borders(Borders::ALL).title(" keys ")),
                area,
            );
        }
    }
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

/// Reads keys on its own thread until told to stop (polling, so it notices the flag).
fn read_keys(keys: Sender<KeyCode>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        if event::poll(Duration::from_millis(100)).unwrap_or(false) {
            if let Ok(TermEvent::Key(k)) = event::read() {
                if k.kind == KeyEventKind::Press && keys.send(k.code).is_err() {
                    return;
                }
            }
        }
    }
}

/// Trains with the dashboard on the terminal; the terminal is restored on exit, on error
/// and on panic (ratatui's init installs the hook). After the run, the view stays until `q`.
pub fn run(trainer: Trainer, data: &Dataset, run_name: String) -> Result<Option<RunSummary>, TrainError> {
    let (events_tx, events_rx) = unbounded();
    let (commands_tx, commands_rx) = unbounded();
    let (keys_tx, keys_rx) = unbounded();
    let stop_keys = AtomicBool::new(false);
    let mut app = App::new(RunState::new(run_name));
    let mut terminal = ratatui::init();
    let outcome = thread::scope(|scope| {
        let worker = trainer.spawn_scoped(scope, data, events_tx, commands_rx, true);
        thread::Builder::new()
            .name("keys".into())
            .spawn_scoped(scope, || read_keys(keys_tx, &stop_keys))
            .expect("spawn key reader");
        let ticker = tick(FRAME);
        let mut dirty = true;
        let mut events_open = true;
        while !app.quit {
            select! {
                recv(if events_open { events_rx.clone() } else { crossbeam_channel::never() }) -> event => match event {
                    Ok(event) => { app.state.apply(&event); dirty = true; }
                    Err(_) => events_open = false,
                },
                recv(keys_rx) -> key => if let Ok(key) = key {
                    if let Some(command) = app.on_key(key) {
                        let _ = commands_tx.send(command);
                    }
                    dirty = true;
                },
                recv(ticker) -> _ => if dirty {
                    let _ = terminal.draw(|f| app.draw(f));
                    dirty = false;
                },
            }
        }
        stop_keys.store(true, Ordering::Relaxed);
        drop(commands_tx);
        worker.join()
    });
    ratatui::restore();
    match outcome {
        Ok(result) => result,
        Err(_) => Err(TrainError::Panicked),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Event;

    fn running() -> App {
        let mut app = App::new(RunState::new("t"));
        app.state.apply(&Event::Started {
            seed: 1,
            epochs: 1,
            steps_per_epoch: 1,
            total_steps: 1,
            first_step: 0,
            trainable_params: 1,
            frozen_params: 0,
        });
        app
    }

    #[test]
    fn space_pauses_and_resumes() {
        let mut app = running();
        assert_eq!(app.on_key(KeyCode::Char(' ')), Some(Command::Pause));
        app.state.apply(&Event::Paused);
        assert_eq!(app.on_key(KeyCode::Char(' ')), Some(Command::Resume));
    }

    #[test]
    fn quit_asks_while_running_and_not_after() {
        let mut app = running();
        assert_eq!(app.on_key(KeyCode::Char('q')), None);
        assert!(app.confirm_quit && !app.quit);
        assert_eq!(app.on_key(KeyCode::Char('n')), None, "any other key cancels");
        assert!(!app.confirm_quit && !app.quit);
        app.on_key(KeyCode::Char('q'));
        assert_eq!(app.on_key(KeyCode::Char('y')), Some(Command::Stop));
        assert!(app.quit);

        let mut done = running();
        done.state.apply(&Event::Failed("x".into()));
        assert_eq!(done.on_key(KeyCode::Char('q')), None);
        assert!(done.quit, "nothing in progress: quit at once");
    }

    #[test]
    fn help_overlay_lists_every_key() {
        let mut app = running();
        app.on_key(KeyCode::Char('?'));
        let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        terminal.draw(|f| app.draw(f)).unwrap();
        let buffer = terminal.backend().buffer().clone();
        let screen: String = (0..24)
            .map(|y| (0..80).map(|x| buffer[(x, y)].symbol().to_string()).collect::<String>() + "\n")
            .collect();
        for (key, what) in HELP {
            assert!(
                screen.contains(key) && screen.contains(what),
                "{key} missing:\n{screen}"
            );
        }
    }
}
