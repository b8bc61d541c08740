//! The application's state and its key handling, as state transitions: input and the
//! worker's events change the state and yield commands for the worker. Drawing is elsewhere
//! (`layout`, `training_screen`, `attention_screen`, `help`) and only reads the state; the
//! model lives on the worker thread.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::browser::{Browser, Cycle};
use super::explorer::{Bars, Explorer, Side};
use super::state::{Scroll, Smoothing};
use super::theme::Theme;
use super::timeline::{Stepped, Timeline, Way};
use super::{RunState, RunStatus};
use crate::data::Split;
use crate::train::{Command, Event, Saved, Weights};

/// Every key, in two columns of 14 rows so that the overlay fits at 80x24.
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
    ("< >", "older / newer recorded step"),
    ("e", "export PNG+JSON to exports/"),
    ("t", "next theme"),
    ("l + -", "loss: log scale, smoothing"),
    ("↑↓ g G", "screen 1: scroll the metrics"),
    ("space", "pause / resume training"),
    ("s", "save a checkpoint (last/)"),
    ("c", "switch best / last weights"),
    ("?", "show / hide this help"),
    ("esc", "close help/step/search/focus"),
    ("q ctrl-c", "quit (asks while training)"),
];

const SAVING: &str = "saving last/…";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// The two screens (`1`, `2`).
pub enum Screen {
    /// Status, metrics and the loss chart.
    Training,
    /// The utterance list and its heatmaps.
    Attention,
}

/// What the app is attached to: a model being trained (pause, save and stop apply), or a
/// finished one only inspected (`open`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// A model is being trained.
    Training,
    /// A finished model is opened (`open`).
    Inspecting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// Which part of the attention screen the arrow keys move (`tab`).
pub enum Focus {
    /// The utterance list.
    List,
    /// The heatmaps' cell cursor.
    Heatmap,
}

/// Terminal input, reduced to what the app reacts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A key press.
    Key(KeyEvent),
    /// The mouse wheel, up.
    ScrollUp,
    /// The mouse wheel, down.
    ScrollDown,
    /// The terminal changed size (a redraw follows).
    Resize,
    /// End now, whatever the state (no question asked): a signal (SIGINT, SIGTERM, SIGHUP),
    /// or a terminal that no longer answers.
    Terminate,
}

/// A request the app cannot answer by itself (it needs the file system).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Write the view on screen as a PNG and JSON (`e`).
    Export,
    /// Write the stress pair's figure and its numbers, PNG and JSON, as `export` with two
    /// recordings draws them (`e` with a pair open).
    ExportPair,
}

#[derive(Debug)]
/// The whole app: what is shown, and what input does to it.
pub struct App {
    /// The run's progress and metrics.
    pub state: RunState,
    /// The utterance list.
    pub browser: Browser,
    /// The heatmaps.
    pub explorer: Explorer,
    /// The colours.
    pub theme: Theme,
    /// The screen shown.
    pub screen: Screen,
    /// What the arrow keys move on the attention screen.
    pub focus: Focus,
    /// Training or inspecting.
    pub activity: Activity,
    /// The help overlay is open.
    pub show_help: bool,
    /// `q` was pressed while training: the next `q` or `y` stops the run.
    pub confirm_quit: bool,
    /// The app ends after this input.
    pub quit: bool,
    /// A one-off line for the footer, cleared by the next key.
    pub message: Option<String>,
    /// What the caller must do for the app (take them out after each input).
    pub requests: Vec<Request>,
    /// The weights a finished run answers with (`Event::Serving`); `c` switches them.
    pub serving: Option<Weights>,
    /// Two recordings opened as a stress pair (`open --wav A --wav B`): the `[CLS]` panel
    /// compares them.
    pub pair: Option<super::pair::StressPair>,
    figure4_next: usize,
}

impl App {
    /// The app on the training screen when training, else on the attention screen.
    pub fn new(state: RunState, browser: Browser, theme: Theme, activity: Activity) -> Self {
        Self {
            state,
            browser,
            // The live app records what it shows; an opened run's file is attached by
            // `open` (`Timeline::of_run`).
            explorer: Explorer::with_timeline(match activity {
                Activity::Training => Timeline::live(),
                Activity::Inspecting => Timeline::off(),
            }),
            theme,
            screen: match activity {
                Activity::Training => Screen::Training,
                Activity::Inspecting => Screen::Attention,
            },
            focus: Focus::List,
            activity,
            show_help: false,
            confirm_quit: false,
            quit: false,
            message: None,
            requests: Vec::new(),
            serving: None,
            pair: None,
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

    fn training(&self) -> bool {
        self.activity == Activity::Training
    }

    fn in_progress(&self) -> bool {
        self.training()
            && matches!(
                self.state.status,
                RunStatus::Starting | RunStatus::Running | RunStatus::Paused
            )
    }

    /// The model can answer at once (inspection, or a finished run serving its best weights).
    fn model_idle(&self) -> bool {
        !self.training() || self.state.status == RunStatus::Done
    }

    /// Watch the selected utterance when it changed; ask for predictions when the shown
    /// split has none and the model is free (during training they come with each epoch).
    fn sync(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        if let Some((split, index)) = self.browser.selected() {
            if self.explorer.watching != Some((split, index)) {
                self.explorer.watch(split, index);
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
            Event::Step { loss, .. } => {
                self.explorer.timeline.note_loss(*loss);
                self.state.apply(event);
            }
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
            Some(Weights::Best { .. }) => (Saved::Last, "last"),
            Some(_) => (Saved::Best, "best"),
            None => {
                self.message = Some(if self.training() {
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
            KeyCode::Esc if self.screen == Screen::Attention && self.explorer.stepping() => {
                self.explorer.back_to_current();
                self.message = Some("back to the current weights".into());
            }
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
            KeyCode::Char(' ') if self.training() => {
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
                self.message = Some(if self.training() {
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
            KeyCode::Char('+') | KeyCode::Char('=') => self.state.adjust_smoothing(Smoothing::More),
            KeyCode::Char('-') => self.state.adjust_smoothing(Smoothing::Less),
            KeyCode::Char('f') => return self.next_figure4(),
            KeyCode::Char('e') => {
                // A pair's figure holds both recordings, whichever is on screen.
                if self.pair.is_some() {
                    self.requests.push(Request::ExportPair);
                } else if self.explorer.shown().is_some() {
                    self.requests.push(Request::Export);
                } else {
                    self.message = Some("nothing to export yet: the attention has not arrived".into());
                }
            }
            KeyCode::Char('m') => self.explorer.cycle_matrix(Side::Right),
            KeyCode::Char('n') => self.explorer.cycle_matrix(Side::Left),
            KeyCode::Char('w') => self.explorer.toggle_level(),
            KeyCode::Char('x') => self.explorer.toggle_special(),
            KeyCode::Char('b') => {
                self.explorer.toggle_bars();
                self.message = Some(match self.explorer.bars {
                    Bars::Left => "[CLS] bars in place of the left matrix (b: back)".into(),
                    Bars::Below => "[CLS] bars below the matrices, when the screen has room".into(),
                });
            }
            KeyCode::Char('<') => self.step(Way::Older),
            KeyCode::Char('>') => self.step(Way::Newer),
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
            KeyCode::Char('[') | KeyCode::Char(']') if self.browser.is_recordings() => {
                self.message = Some(match self.browser.recordings.len() {
                    1 => "one recording: there are no splits to switch to".into(),
                    n => format!("{n} recordings: there are no splits to switch to (↑↓ goes between them)"),
                });
            }
            KeyCode::Char('[') => {
                self.browser.cycle_split(Cycle::Previous);
                return self.sync();
            }
            KeyCode::Char(']') => {
                self.browser.cycle_split(Cycle::Next);
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

    /// `<` `>`: the utterance in view through its recorded snapshots (`Explorer::step`); the
    /// title says where, and this line what is not plain from it.
    fn step(&mut self, way: Way) {
        self.screen = Screen::Attention;
        if self.browser.is_recordings() {
            let index = self.explorer.watching.map_or(0, |(_, i)| i);
            let wav = &self.browser.recordings[index.min(self.browser.recordings.len() - 1)];
            self.message = Some(format!(
                "{} has no recorded steps: they are kept for a run's watched utterances",
                wav.display()
            ));
            return;
        }
        self.message = match self.explorer.step(way) {
            Stepped::To(_) => None,
            Stepped::Oldest(place) => Some(format!("the oldest recorded snapshot (step {}); > goes on", place.step)),
            Stepped::BackToCurrent => Some("back to the current weights (< steps back again)".into()),
            Stepped::AtCurrent { recorded } => Some(format!(
                "the current weights: nothing later (< steps back through {})",
                super::text::plural(recorded, "recorded snapshot")
            )),
            Stepped::NoneRecorded => {
                let utterance = self
                    .explorer
                    .watching
                    .map_or("this view".to_string(), |(split, index)| {
                        self.browser.name(split, index)
                    });
                Some(
                    self.explorer
                        .timeline
                        .why_none(&utterance, |split, index| self.browser.name(split, index)),
                )
            }
        };
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
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
