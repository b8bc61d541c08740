//! The event loop: `select!` over the worker's events, terminal input and a frame tick,
//! drawing at most ~30 frames a second whatever the step rate; and the two ways in (train,
//! or open a finished checkpoint) that own the real terminal.

use std::io::stdout;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{at, never, select, unbounded, Receiver, Sender};
use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent, KeyEventKind, MouseEventKind,
};
use crossterm::execute;
use ratatui::backend::Backend;
use ratatui::Terminal;

use super::app::{App, Input, Request};
use crate::data::Dataset;
use crate::train::{Command, Event, Inspector, RunSummary, TrainError, Trainer};

/// Frames are drawn at most this often: ~30 a second after input.
pub const FRAME: Duration = Duration::from_millis(33);
/// Training progress alone redraws at most this often: every frame preempts a training
/// thread on a busy CPU, and 10 updates a second is all a reader can follow.
pub const PROGRESS_FRAME: Duration = Duration::from_millis(100);

/// Handles what the app asks of the outside world (exports).
pub type OnRequest<'a> = dyn FnMut(&mut App, Request) + 'a;

/// Runs until the app quits. The worker's events may end first (a finished inspection
/// never ends them; a failed run does), the view stays until the user quits.
pub fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    events: Receiver<Event>,
    inputs: Receiver<Input>,
    commands: &Sender<Command>,
    on_request: &mut OnRequest<'_>,
) {
    for command in app.start() {
        let _ = commands.send(command);
    }
    // No periodic tick: the loop sleeps until an event, an input, or a frame that is due.
    let mut dirty = true;
    let mut progressed = false;
    let mut last_draw = Instant::now() - FRAME;
    let mut events_open = true;
    let mut inputs_open = true;
    while !app.quit && (events_open || inputs_open) {
        let due = if dirty {
            Some(last_draw + FRAME)
        } else if progressed {
            Some(last_draw + PROGRESS_FRAME)
        } else {
            None
        };
        if due.is_some_and(|d| d <= Instant::now()) {
            let _ = terminal.draw(|f| app.draw(f));
            (dirty, progressed, last_draw) = (false, false, Instant::now());
            continue;
        }
        select! {
            recv(if events_open { events.clone() } else { never() }) -> event => match event {
                Ok(event) => {
                    // Steps redraw at the slower pace; anything else at the next frame.
                    if matches!(event, Event::Step { .. }) { progressed = true; } else { dirty = true; }
                    app.apply(&event);
                }
                Err(_) => events_open = false,
            },
            recv(if inputs_open { inputs.clone() } else { never() }) -> input => match input {
                Ok(input) => {
                    for command in app.on_input(input) {
                        let _ = commands.send(command);
                    }
                    for request in std::mem::take(&mut app.requests) {
                        on_request(app, request);
                    }
                    dirty = true;
                }
                Err(_) => inputs_open = false,
            },
            recv(due.map_or_else(never, at)) -> _ => {}
        }
    }
    let _ = terminal.draw(|f| app.draw(f));
}

/// Lowers the calling thread's scheduling priority (nice 10), so that drawing never
/// preempts the trainer's threads: on a busy CPU, every preemption of one worker stalls the
/// other at candle's next join. Threads spawned afterwards inherit it, so call this after
/// the trainer is running. Best effort: a refusal changes nothing else.
pub fn yield_cpu_to_training() {
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
}

/// Reads the terminal on its own thread until told to stop (polling, so it sees the flag).
fn read_inputs(inputs: Sender<Input>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        if !event::poll(Duration::from_millis(100)).unwrap_or(false) {
            continue;
        }
        let input = match event::read() {
            Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => Input::Key(k),
            Ok(TermEvent::Mouse(m)) => match m.kind {
                MouseEventKind::ScrollUp => Input::ScrollUp,
                MouseEventKind::ScrollDown => Input::ScrollDown,
                _ => continue,
            },
            Ok(TermEvent::Resize(..)) => Input::Resize,
            _ => continue,
        };
        if inputs.send(input).is_err() {
            return;
        }
    }
}

/// Puts the terminal in raw mode with mouse reporting, and takes both back on drop, on
/// error and on panic (ratatui's hook restores the screen; ours also stops the mouse).
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> (Self, ratatui::DefaultTerminal) {
        let terminal = ratatui::init();
        let _ = execute!(stdout(), EnableMouseCapture);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = execute!(stdout(), DisableMouseCapture);
            previous(info);
        }));
        (Self, terminal)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = execute!(stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}

/// Runs `work` on a thread named `name` (events up, commands down) while the app owns the
/// terminal; returns what the worker returned once the app has quit and the worker ended.
fn with_worker<R: Send>(
    name: &str,
    app: &mut App,
    on_request: &mut OnRequest<'_>,
    work: impl FnOnce(Sender<Event>, Receiver<Command>) -> R + Send,
) -> std::thread::Result<R> {
    let (events_tx, events_rx) = unbounded();
    let (commands_tx, commands_rx) = unbounded();
    let (inputs_tx, inputs_rx) = unbounded();
    let stop_inputs = AtomicBool::new(false);
    let (guard, mut terminal) = TerminalGuard::enter();
    let outcome = thread::scope(|scope| {
        let worker = thread::Builder::new()
            .name(name.into())
            .spawn_scoped(scope, move || work(events_tx, commands_rx))
            .expect("spawn the worker thread");
        // After the worker started, so that its threads keep the normal priority.
        yield_cpu_to_training();
        thread::Builder::new()
            .name("input".into())
            .spawn_scoped(scope, || read_inputs(inputs_tx, &stop_inputs))
            .expect("spawn the input reader");
        event_loop(&mut terminal, app, events_rx, inputs_rx, &commands_tx, on_request);
        stop_inputs.store(true, Ordering::Relaxed);
        drop(commands_tx);
        worker.join()
    });
    drop(guard);
    outcome
}

/// Trains with the dashboard; after the run, the view stays (and the best weights answer
/// the browser) until `q`.
pub fn train(
    mut trainer: Trainer,
    data: &Dataset,
    app: &mut App,
    on_request: &mut OnRequest<'_>,
) -> Result<Option<RunSummary>, TrainError> {
    with_worker("trainer", app, on_request, |events, commands| {
        trainer.run_reporting(data, &events, &commands, true)
    })
    .unwrap_or(Err(TrainError::Panicked))
}

/// Opens a finished model: the inspector answers on a worker thread.
pub fn inspect(inspector: Inspector<'_>, app: &mut App, on_request: &mut OnRequest<'_>) -> Result<(), TrainError> {
    let outcome = with_worker("inspector", app, on_request, |events, commands| {
        let result = inspector.serve(&commands, &events);
        if let Err(e) = &result {
            let _ = events.send(Event::Failed(e.to_string()));
        }
        result
    });
    match outcome {
        Ok(result) => Ok(result?),
        Err(_) => Err(TrainError::Panicked),
    }
}
