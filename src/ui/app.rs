//! The application: state, key handling as state transitions, and the layout of both
//! screens. Rendering only reads the state; the model lives on the worker thread.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::browser::{Browser, BrowserPanel};
use super::explorer::{Bars, Explorer};
use super::heatmap::{ClsPanel, HeatmapPanel};
use super::metrics::TABLE_WIDTH;
use super::state::Scroll;
use super::text::plural;
use super::theme::Theme;
use super::{LossChart, MetricsTable, RunState, RunStatus, StatusPanel};
use crate::data::Split;
use crate::train::{CheckpointKind, Command, Event, Weights};

/// Every key, two columns of 12 so that it fits at 80x24.
pub const HELP: &[(&str, &str)] = &[
    ("1 2", "training / attention screen"),
    ("tab", "focus: list / heatmaps"),
    ("↑↓ j k", "list: move; heatmap: cursor"),
    ("←→ h l", "heatmap: move the cursor"),
    ("PgUp PgDn", "list: a page up / down"),
    ("g G", "list: first / last"),
    ("enter", "list: focus the heatmaps"),
    ("/", "search (esc clears)"),
    ("o", "sort: file order / error"),
    ("[ ]", "previous / next split"),
    ("p", "predict this split now"),
    ("f", "next Figure-4 utterance"),
    ("m n", "cycle right / left matrix"),
    ("w", "word level / word pieces"),
    ("x", "show/hide [CLS] and [SEP]"),
    ("b", "[CLS] bars in the left panel"),
    ("e", "export PNG+JSON to exports/"),
    ("t", "next theme"),
    ("l + -", "loss: log scale, smoothing"),
    ("↑↓ g G", "screen 1: scroll the metrics"),
    ("space", "pause / resume training"),
    ("s", "save a checkpoint (last/)"),
    ("c", "switch best / last weights"),
    ("? esc", "show / hide this help"),
    ("q", "quit (asks while training)"),
];

const SAVING: &str = "saving last/…";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Training,
    Attention,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Heatmap,
}

/// Terminal input, reduced to what the app reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Key(KeyEvent),
    ScrollUp,
    ScrollDown,
    Resize,
    /// End now, whatever the state (no question asked): a signal (SIGINT, SIGTERM, SIGHUP),
    /// or a terminal that no longer answers.
    Terminate,
}

/// A request the app cannot answer by itself (it needs the file system).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Export,
}

#[derive(Debug)]
pub struct App {
    pub state: RunState,
    pub browser: Browser,
    pub explorer: Explorer,
    pub theme: Theme,
    pub screen: Screen,
    pub focus: Focus,
    /// A model is being trained (pause, save and stop apply), not only inspected.
    pub training: bool,
    pub show_help: bool,
    /// `q` was pressed while training: the next `q` or `y` stops the run.
    pub confirm_quit: bool,
    pub quit: bool,
    pub message: Option<String>,
    pub requests: Vec<Request>,
    /// The weights a finished run answers with (`Event::Serving`); `c` switches them.
    pub serving: Option<Weights>,
    figure4_next: usize,
}

impl App {
    pub fn new(state: RunState, browser: Browser, theme: Theme, training: bool) -> Self {
        Self {
            state,
            browser,
            explorer: Explorer::default(),
            theme,
            screen: if training { Screen::Training } else { Screen::Attention },
            focus: Focus::List,
            training,
            show_help: false,
            confirm_quit: false,
            quit: false,
            message: None,
            requests: Vec::new(),
            serving: None,
            figure4_next: 0,
        }
    }

    /// Commands to send once the worker runs: watch the selection, and predict its split
    /// when inspecting. The split chosen (`open --split`, default test; dev while training)
    /// is the one shown: only when it is the test split and holds Figure-4 sentences (CMU-MOSI)
    /// does the cursor start on the first of them. `f` goes to Figure 4 from anywhere.
    pub fn start(&mut self) -> Vec<Command> {
        if self.browser.split == Split::Test {
            if let Some(&first) = self.browser.figure4().first() {
                self.browser.select(Split::Test, first);
                self.figure4_next = 1;
            }
        }
        self.sync()
    }

    fn in_progress(&self) -> bool {
        self.training
            && matches!(
                self.state.status,
                RunStatus::Starting | RunStatus::Running | RunStatus::Paused
            )
    }

    /// The model can answer at once (inspection, or a finished run serving its best weights).
    fn model_idle(&self) -> bool {
        !self.training || self.state.status == RunStatus::Done
    }

    /// Watch the selected utterance when it changed; ask for predictions when the shown
    /// split has none and the model is free (during training they come with each epoch).
    fn sync(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        if let Some((split, index)) = self.browser.selected() {
            if self.explorer.watching != Some((split, index)) {
                self.explorer.watching = Some((split, index));
                commands.push(Command::Watch { split, index });
            }
        }
        let split = self.browser.split;
        let rows = &self.browser.splits[split.index()];
        if self.model_idle() && rows.predictions.is_none() && !rows.requested && !rows.rows.is_empty() {
            self.browser.splits[split.index()].requested = true;
            commands.push(Command::Predict(split));
        }
        commands
    }

    /// Applies a worker's event; returns the commands it calls for.
    pub fn apply(&mut self, event: &Event) -> Vec<Command> {
        match event {
            Event::Attention(inspection) => self.explorer.receive((**inspection).clone()),
            Event::Predictions { split, weights, values } => {
                self.browser.set_predictions(*split, values.clone(), *weights)
            }
            Event::Serving(weights) => return self.serve(*weights),
            Event::Warning(text) => self.message = Some(format!("warning: {text}")),
            Event::Finished(_) | Event::Stopped { .. } | Event::Failed(_) => {
                // "stop the run?" has no object any more: the next `q` quits.
                self.confirm_quit = false;
                self.state.apply(event);
            }
            Event::CheckpointSaved { path, .. } => {
                if self.message.as_deref() == Some(SAVING) {
                    self.message = Some(format!("saved {}", path.display()));
                }
                self.state.apply(event);
            }
            other => self.state.apply(other),
        }
        Vec::new()
    }

    /// The model answers with `weights` from now on: what other weights computed is
    /// dropped and asked for again, so that the list, the heatmaps and the header above
    /// them show one model, labelled.
    fn serve(&mut self, weights: Weights) -> Vec<Command> {
        if self.serving.is_some_and(|w| w != weights) {
            self.message = Some(format!("list, heatmaps and header: {weights} (c switches)"));
        }
        self.serving = Some(weights);
        self.browser.keep_only(weights);
        if self.explorer.inspection.as_ref().is_some_and(|i| i.weights != weights) {
            self.explorer.watching = None;
        }
        self.sync()
    }

    /// `c`: a finished run's best or last weights.
    fn switch_weights(&mut self) -> Vec<Command> {
        let (to, name) = match self.serving {
            Some(Weights::Best { .. }) => (CheckpointKind::Last, "last"),
            Some(_) => (CheckpointKind::Best, "best"),
            None => {
                self.message = Some(if self.training {
                    "c switches between the best and the last weights once the run has finished".into()
                } else {
                    "this checkpoint is one set of weights: open the run's best/ or last/ for the other".into()
                });
                return Vec::new();
            }
        };
        self.message = Some(format!("switching to the {name} weights…"));
        vec![Command::Switch(to)]
    }

    /// The worker's events ended. A run still in progress ended without saying how (the
    /// worker is gone): it failed, and `q` must not ask about it.
    pub fn worker_ended(&mut self) {
        if self.in_progress() {
            self.confirm_quit = false;
            self.state
                .apply(&Event::Failed("the worker ended without reporting".into()));
        }
    }

    /// Convenience for tests and scripted input.
    pub fn on_key(&mut self, code: KeyCode) -> Vec<Command> {
        self.on_input(Input::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    /// Applies an input; returns the commands for the worker.
    pub fn on_input(&mut self, input: Input) -> Vec<Command> {
        let key = match input {
            Input::Resize => return Vec::new(),
            Input::ScrollUp | Input::ScrollDown => {
                if self.screen == Screen::Attention {
                    self.browser.move_by(if input == Input::ScrollUp { -3 } else { 3 });
                    return self.sync();
                }
                self.state.scroll_metrics(if input == Input::ScrollUp {
                    Scroll::Older(1)
                } else {
                    Scroll::Newer(1)
                });
                return Vec::new();
            }
            Input::Terminate => {
                self.quit = true;
                return vec![Command::Stop];
            }
            Input::Key(key) => key,
        };
        let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if self.confirm_quit {
            self.confirm_quit = false;
            if ctrl_c || matches!(key.code, KeyCode::Char('q') | KeyCode::Char('y')) {
                self.quit = true;
                return vec![Command::Stop];
            }
            self.message = Some("still running".into());
            return Vec::new();
        }
        if self.browser.searching {
            return self.on_search_key(key.code);
        }
        if ctrl_c {
            return self.ask_quit();
        }
        self.message = None;
        let code = key.code;
        match code {
            KeyCode::Char('q') => return self.ask_quit(),
            // Esc backs out of the innermost thing open, and never quits: a user closing the
            // help must not lose the run view. Only `q` and Ctrl-C quit.
            KeyCode::Esc if self.show_help => self.show_help = false,
            KeyCode::Esc if self.focus == Focus::Heatmap => self.focus = Focus::List,
            KeyCode::Esc if !self.browser.query.is_empty() => self.browser.set_query(String::new()),
            KeyCode::Esc => {}
            KeyCode::Char('?') => self.show_help = !self.show_help,
            KeyCode::Char('1') => self.screen = Screen::Training,
            KeyCode::Char('2') => self.screen = Screen::Attention,
            KeyCode::Tab | KeyCode::BackTab => {
                self.screen = Screen::Attention;
                self.focus = match self.focus {
                    Focus::List => Focus::Heatmap,
                    Focus::Heatmap => Focus::List,
                };
            }
            KeyCode::Char(' ') if self.training => {
                return match self.state.status {
                    RunStatus::Running => vec![Command::Pause],
                    RunStatus::Paused => vec![Command::Resume],
                    _ => Vec::new(),
                }
            }
            KeyCode::Char('s') => {
                if self.in_progress() {
                    self.message = Some(SAVING.into());
                    return vec![Command::Save];
                }
                self.message = Some(if self.training {
                    "the run is over: best/ and last/ are saved".into()
                } else {
                    "nothing to save: this checkpoint is opened read-only".into()
                });
            }
            KeyCode::Char('c') => return self.switch_weights(),
            KeyCode::Char('t') => {
                let next = self.theme.built_in_index().map_or(0, |i| i + 1);
                self.theme = Theme::built_in(next);
                self.message = Some(format!("theme {}", self.theme.name));
            }
            KeyCode::Char('l') if !(self.screen == Screen::Attention && self.focus == Focus::Heatmap) => {
                self.state.log_scale = !self.state.log_scale
            }
            KeyCode::Char('+') | KeyCode::Char('=') => self.state.adjust_smoothing(true),
            KeyCode::Char('-') => self.state.adjust_smoothing(false),
            KeyCode::Char('f') => return self.next_figure4(),
            KeyCode::Char('e') => {
                if self.explorer.inspection.is_some() {
                    self.requests.push(Request::Export);
                } else {
                    self.message = Some("nothing to export yet: the attention has not arrived".into());
                }
            }
            KeyCode::Char('m') => self.explorer.cycle_matrix(true),
            KeyCode::Char('n') => self.explorer.cycle_matrix(false),
            KeyCode::Char('w') => self.explorer.toggle_level(),
            KeyCode::Char('x') => self.explorer.toggle_special(),
            KeyCode::Char('b') => {
                self.explorer.toggle_bars();
                self.message = Some(match self.explorer.bars {
                    Bars::Left => "[CLS] bars in place of the left matrix (b: back)".into(),
                    Bars::Below => "[CLS] bars below the matrices, when the screen has room".into(),
                });
            }
            KeyCode::Char('/') => {
                self.screen = Screen::Attention;
                self.focus = Focus::List;
                self.browser.searching = true;
            }
            KeyCode::Char('o') => {
                self.browser.toggle_sort();
                return self.sync();
            }
            KeyCode::Char('p') => {
                let split = self.browser.split;
                self.browser.splits[split.index()].requested = true;
                return vec![Command::Predict(split)];
            }
            KeyCode::Char('[') | KeyCode::Char(']') if self.browser.recording.is_some() => {
                self.message = Some("one recording: there are no splits to switch to".into());
            }
            KeyCode::Char('[') => {
                self.browser.next_split(false);
                return self.sync();
            }
            KeyCode::Char(']') => {
                self.browser.next_split(true);
                return self.sync();
            }
            _ if self.screen == Screen::Attention => return self.on_navigation(code),
            _ => self.on_training_key(code),
        }
        Vec::new()
    }

    /// The training screen's keys move the metrics table's epochs (`Older` goes up).
    fn on_training_key(&mut self, code: KeyCode) {
        let by = match code {
            KeyCode::Up | KeyCode::Char('k') => Scroll::Older(1),
            KeyCode::Down | KeyCode::Char('j') => Scroll::Newer(1),
            KeyCode::PageUp => Scroll::Older(5),
            KeyCode::PageDown => Scroll::Newer(5),
            KeyCode::Char('g') | KeyCode::Home => Scroll::Oldest,
            KeyCode::Char('G') | KeyCode::End => Scroll::Newest,
            _ => return,
        };
        self.state.scroll_metrics(by);
    }

    fn ask_quit(&mut self) -> Vec<Command> {
        if self.in_progress() {
            self.confirm_quit = true;
            Vec::new()
        } else {
            self.quit = true;
            vec![Command::Stop]
        }
    }

    fn on_search_key(&mut self, code: KeyCode) -> Vec<Command> {
        match code {
            KeyCode::Enter => self.browser.searching = false,
            KeyCode::Esc => {
                self.browser.searching = false;
                self.browser.set_query(String::new());
            }
            KeyCode::Backspace => {
                let mut q = self.browser.query.clone();
                q.pop();
                self.browser.set_query(q);
            }
            KeyCode::Char(c) => {
                let q = format!("{}{c}", self.browser.query);
                self.browser.set_query(q);
            }
            _ => {}
        }
        self.sync()
    }

    fn on_navigation(&mut self, code: KeyCode) -> Vec<Command> {
        if self.focus == Focus::Heatmap {
            let (dr, dc) = match code {
                KeyCode::Up | KeyCode::Char('k') => (-1, 0),
                KeyCode::Down | KeyCode::Char('j') => (1, 0),
                KeyCode::Left | KeyCode::Char('h') => (0, -1),
                KeyCode::Right | KeyCode::Char('l') => (0, 1),
                KeyCode::Enter => {
                    self.focus = Focus::List;
                    (0, 0)
                }
                _ => (0, 0),
            };
            self.explorer.move_cursor(dr, dc);
            return Vec::new();
        }
        let page = 10;
        match code {
            KeyCode::Up | KeyCode::Char('k') => self.browser.move_by(-1),
            KeyCode::Down | KeyCode::Char('j') => self.browser.move_by(1),
            KeyCode::PageUp => self.browser.move_by(-page),
            KeyCode::PageDown => self.browser.move_by(page),
            KeyCode::Char('g') | KeyCode::Home => self.browser.home(),
            KeyCode::Char('G') | KeyCode::End => self.browser.end(),
            KeyCode::Enter => self.focus = Focus::Heatmap,
            _ => return Vec::new(),
        }
        self.sync()
    }

    fn next_figure4(&mut self) -> Vec<Command> {
        let found = self.browser.figure4();
        if found.is_empty() {
            self.message =
                Some("Figure 4's utterances are in CMU-MOSI's test split; this data has none of them".into());
            return Vec::new();
        }
        let index = found[self.figure4_next % found.len()];
        self.figure4_next = (self.figure4_next + 1) % found.len();
        self.screen = Screen::Attention;
        self.browser.select(Split::Test, index);
        self.message = Some(format!(
            "Figure 4: {:?} ({} of {} found)",
            self.browser.current().rows[index].text.trim(),
            found.iter().position(|&i| i == index).unwrap_or(0) + 1,
            found.len()
        ));
        self.sync()
    }

    pub fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        if let Some(bg) = self.theme.background {
            frame.render_widget(Block::default().style(Style::default().bg(bg)), area);
        }
        let [body, footer] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        match self.screen {
            Screen::Training => self.draw_training(frame, body),
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
                    .style(
                        Style::default()
                            .fg(self.theme.text)
                            .bg(self.theme.background.unwrap_or_default()),
                    )
                    .block(Block::default().borders(Borders::ALL).title(" keys (? closes) ")),
                area,
            );
        }
    }

    /// The status and metrics panels get the rows they need (every epoch when there is
    /// room) and at least the rows that keep the run's outcome in view; the loss chart keeps
    /// `CHART` rows where the screen has them and takes the rest.
    fn draw_training(&self, frame: &mut Frame, area: Rect) {
        const CHART: u16 = 8;
        let (s, theme) = (&self.state, &self.theme);
        let (status, table) = (StatusPanel(s, theme), MetricsTable(s, theme));
        let spare = area.height.saturating_sub(CHART);
        if area.width >= 110 {
            // Side by side: the table as wide as its columns, the status the rest.
            let table_w = (TABLE_WIDTH + 2).min(area.width / 2);
            let status_w = area.width - table_w;
            let least = table.min_height().max(status.min_height(status_w)).min(area.height);
            let top_h = status.height(status_w).max(table.height()).min(spare).max(least);
            let [top, chart] = Layout::vertical([Constraint::Length(top_h), Constraint::Min(0)]).areas(area);
            let [left, right] =
                Layout::horizontal([Constraint::Length(status_w), Constraint::Length(table_w)]).areas(top);
            frame.render_widget(status, left);
            frame.render_widget(table, right);
            frame.render_widget(LossChart(s, theme), chart);
        } else {
            // Stacked: each panel its least first, then the status, then the table, up to
            // what they need.
            let table_h = table.min_height().min(spare);
            let mut status_h = status.min_height(area.width).min(spare - table_h);
            let extra = spare - table_h - status_h;
            let more = status.height(area.width).saturating_sub(status_h).min(extra);
            status_h += more;
            let table_h = table_h + table.height().saturating_sub(table_h).min(extra - more);
            let [top, chart, bottom] = Layout::vertical([
                Constraint::Length(status_h),
                Constraint::Min(0),
                Constraint::Length(table_h),
            ])
            .areas(area);
            frame.render_widget(status, top);
            frame.render_widget(LossChart(s, theme), chart);
            frame.render_widget(table, bottom);
        }
    }

    fn draw_attention(&self, frame: &mut Frame, area: Rect) {
        let theme = &self.theme;
        // Ten rows of list at 120x40 leave the heatmaps an 18-word utterance's rows.
        let list_h = if area.height >= 36 { 10 } else { 8 };
        let [bar, list, maps] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(list_h), Constraint::Min(6)]).areas(area);
        frame.render_widget(
            Paragraph::new(self.status_line()).style(Style::default().fg(theme.text)),
            bar,
        );
        frame.render_widget(
            BrowserPanel {
                browser: &self.browser,
                theme,
                focused: self.focus == Focus::List,
            },
            list,
        );
        let Some(inspection) = &self.explorer.inspection else {
            let waiting = if self.state.info.model.starts_with("t-bert") {
                "T-BERT has no fusion attention to show"
            } else {
                "waiting for the model to compute this utterance's attention…"
            };
            frame.render_widget(
                Paragraph::new(waiting)
                    .style(Style::default().fg(theme.dim))
                    .block(Block::default().borders(Borders::ALL)),
                maps,
            );
            return;
        };
        let Some((left, right)) = self.explorer.views() else {
            return;
        };
        let note = match (self.explorer.current(), inspection.weights) {
            (false, _) => "(updating…) ".to_string(),
            (true, live @ Weights::Live { .. }) => format!("· {live} ({}) ", plural(self.explorer.updates, "update")),
            (true, weights) => format!("· {weights} "),
        };
        let title = format!(
            " {}: {} ",
            self.browser.name(inspection.split, inspection.snapshot.index),
            self.browser.splits[inspection.split.index()]
                .rows
                .get(inspection.snapshot.index)
                .map_or("", |u| u.text.trim())
                .to_lowercase()
        );
        let outer = Block::default()
            .borders(Borders::TOP)
            .border_style(Style::default().fg(theme.border))
            .title(title);
        let inner = outer.inner(maps);
        frame.render_widget(outer, maps);
        let cursor = Some(self.explorer.cursor);
        let focused = self.focus == Focus::Heatmap;
        let weights = self.explorer.cls_bars();
        let bars = ClsPanel {
            snapshot: &inspection.snapshot,
            weights: &weights,
            theme,
            cursor: Some(self.explorer.cursor.1),
        };
        let heatmap = |view| HeatmapPanel {
            view,
            theme,
            cursor,
            focused,
            note: &note,
        };
        // The bars are drawn in one place only (`b` moves them). Below, they get what the
        // matrices leave once every row and whole labels are shown, and only if all fit.
        let mats_h = HeatmapPanel::wanted_height(&left, inner.width / 2);
        let below = self.explorer.bars == Bars::Below && inner.height >= mats_h + bars.wanted_height(inner.width);
        let mats_h = if below { mats_h } else { inner.height };
        let [mats, strip] = Layout::vertical([Constraint::Length(mats_h), Constraint::Min(0)]).areas(inner);
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(mats);
        frame.render_widget(heatmap(&right), r);
        match self.explorer.bars {
            Bars::Left => frame.render_widget(bars, l),
            Bars::Below => {
                frame.render_widget(heatmap(&left), l);
                if below {
                    frame.render_widget(bars, strip);
                }
            }
        }
    }

    /// One line with the run's progress and the audio readout, for the attention screen.
    fn status_line(&self) -> String {
        let s = &self.state;
        let progress = if s.total_steps > 0 {
            format!(
                "{} · epoch {}/{} step {}/{} · loss {}",
                s.status_label(),
                (s.epoch + 1).min(s.epochs.max(1)),
                s.epochs,
                s.step,
                s.total_steps,
                s.ema.map_or("-".into(), |e| format!("{e:.3}"))
            )
        } else {
            s.info.checkpoint.clone().unwrap_or_default()
        };
        let audio = self.explorer.inspection.as_ref().map_or(String::new(), |i| {
            let snap = &i.snapshot;
            format!(
                " · {}: pred {:+.2} (no audio {:+.2}) label {}",
                i.weights,
                snap.prediction,
                snap.prediction_without_audio,
                crate::data::label_text(snap.label, 1)
            )
        });
        format!("{progress}{audio}")
    }
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}
