//! The event loop: `select!` over the worker's events, terminal input and a frame tick,
//! drawing at most ~30 frames a second whatever the step rate; and the two ways in (train,
//! or open a finished checkpoint) that own the real terminal. `session` gives the terminal
//! back on every way out; `run_with_worker` takes the terminal side as an argument so that
//! tests drive the same code on a `TestBackend`.

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{at, never, select, unbounded, Receiver, Sender};
use ratatui::backend::Backend;
use ratatui::Terminal;

use super::app::{App, Input, Request};
use super::session::{self, InputReader, Session};
use crate::data::Dataset;
use crate::train::{AfterRun, Command, Event, Inspector, RunSummary, TrainError, Trainer};
use crate::worker::{self, Panicked};

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
            let _ = terminal.draw(|f| {
                app.draw(f);
                super::theme::drop_colours_if_asked(f);
            });
            (dirty, progressed, last_draw) = (false, false, Instant::now());
            continue;
        }
        select! {
            recv(if events_open { events.clone() } else { never() }) -> event => match event {
                Ok(event) => {
                    // Steps redraw at the slower pace; anything else at the next frame.
                    if matches!(event, Event::Step { .. }) { progressed = true; } else { dirty = true; }
                    for command in app.apply(&event) {
                        let _ = commands.send(command);
                    }
                }
                Err(_) => {
                    events_open = false;
                    app.worker_ended();
                }
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
    let _ = terminal.draw(|f| {
        app.draw(f);
        super::theme::drop_colours_if_asked(f);
    });
}

/// Lowers the calling thread's scheduling priority (nice 10), so that drawing never
/// preempts the trainer's threads: on a busy CPU, every preemption of one worker stalls the
/// other at candle's next join. Threads spawned afterwards inherit it, so call this after
/// the trainer is running. Best effort: a refusal changes nothing else.
pub fn yield_cpu_to_training() {
    let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10);
}

/// How a session ends, also when the UI thread panics (then from its unwinding): the
/// terminal comes back first, then the worker is told to stop (a run saves `last/` after
/// its current step) and the input reader ends.
struct Ending<'a> {
    release: &'a mut dyn FnMut(),
    commands: Sender<Command>,
    reader: &'a InputReader,
}

impl Drop for Ending<'_> {
    fn drop(&mut self) {
        (self.release)();
        let _ = self.commands.send(Command::Stop);
        self.reader.stop();
    }
}

/// The terminal side of a session: where it draws, how it is given back, how input is read.
pub struct Io<'a, B: Backend> {
    /// Where the app draws.
    pub terminal: &'a mut Terminal<B>,
    /// Gives the terminal back at once (a signal, or the end).
    pub release: &'a mut dyn FnMut(),
    /// The channel the input reader sends on.
    pub inputs: (Sender<Input>, Receiver<Input>),
    /// Reads input into the channel until the flag is set (a thread of its own).
    pub read_inputs: fn(Sender<Input>, &AtomicBool),
}

/// Runs `work` on a thread named `name` (events up, commands down) while the app runs on
/// `io`; returns what the worker returned once the app has quit and the worker ended.
/// The terminal is released as soon as the app quits, not after the worker's current step.
/// A worker's panic is caught and sent as `Event::Failed`, so the app shows it.
pub fn run_with_worker<B: Backend, R: Send>(
    io: Io<'_, B>,
    name: &str,
    app: &mut App,
    on_request: &mut OnRequest<'_>,
    work: impl FnOnce(Sender<Event>, Receiver<Command>) -> R + Send,
) -> Result<R, Panicked> {
    let (events_tx, events_rx) = unbounded();
    let (commands_tx, commands_rx) = unbounded();
    let (inputs_tx, inputs_rx) = io.inputs;
    let reader = InputReader::start(io.read_inputs, inputs_tx).expect("spawn the input reader");
    let outcome = thread::scope(|scope| {
        let failed = events_tx.clone();
        let worker = worker::spawn_scoped(
            scope,
            name,
            move || work(events_tx, commands_rx),
            move |panicked| {
                let _ = failed.send(Event::Failed(panicked.to_string()));
            },
        );
        // After the worker started, so that its threads keep the normal priority.
        yield_cpu_to_training();
        let ending = Ending {
            release: io.release,
            commands: commands_tx,
            reader: &reader,
        };
        event_loop(io.terminal, app, events_rx, inputs_rx, &ending.commands, on_request);
        drop(ending);
        let waited = Instant::now();
        while !worker.is_finished() && waited.elapsed() < Duration::from_millis(300) {
            thread::sleep(Duration::from_millis(10));
        }
        if !worker.is_finished() {
            let _ = writeln!(
                std::io::stderr(),
                "waiting for the {name} to finish its current step (a run saves last/ before it stops); \
                 Ctrl-C exits at once"
            );
        }
        worker.join()
    });
    reader.finish();
    outcome
}

/// The real terminal: set up, run, and given back whatever happens (see `session`).
fn with_worker<R: Send>(
    name: &str,
    app: &mut App,
    on_request: &mut OnRequest<'_>,
    work: impl FnOnce(Sender<Event>, Receiver<Command>) -> R + Send,
) -> Result<R, Panicked> {
    let (inputs_tx, inputs_rx) = unbounded();
    let mut session = Session::enter(inputs_tx.clone()).expect("set up the terminal (the caller checked it is one)");
    let io = Io {
        terminal: &mut session.terminal,
        release: &mut session::release,
        inputs: (inputs_tx, inputs_rx),
        read_inputs: session::read_inputs,
    };
    run_with_worker(io, name, app, on_request, work)
}

/// Trains with the dashboard; after the run, the view stays (the best weights answer the
/// browser and the heatmaps, or the last ones after `c`) until `q`.
pub fn train(
    mut trainer: Trainer,
    data: &Dataset,
    app: &mut App,
    on_request: &mut OnRequest<'_>,
) -> Result<Option<RunSummary>, TrainError> {
    with_worker("trainer", app, on_request, |events, commands| {
        trainer.run_reporting(data, &events, &commands, AfterRun::Serve)
    })?
}

/// Opens a finished model: the inspector answers on a worker thread.
pub fn inspect(mut inspector: Inspector<'_>, app: &mut App, on_request: &mut OnRequest<'_>) -> Result<(), TrainError> {
    let outcome = with_worker("inspector", app, on_request, |events, commands| {
        let result = inspector.serve(&commands, &events, None);
        if let Err(e) = &result {
            let _ = events.send(Event::Failed(e.to_string()));
        }
        result
    })?;
    Ok(outcome?)
}

/// Shows an opened run that has no model to run (a history without a checkpoint): nothing
/// answers the app's commands; the view stays until `q`.
pub fn review(app: &mut App, on_request: &mut OnRequest<'_>) -> Result<(), Panicked> {
    with_worker("viewer", app, on_request, |_events, commands| {
        while commands.recv().is_ok_and(|c| c != Command::Stop) {}
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Mutex;

    use ratatui::backend::TestBackend;

    use super::*;
    use crate::data::Split;
    use crate::ui::{Activity, Browser, RunState, RunStatus, Theme};

    fn training_app() -> App {
        let browser = Browser::new([Vec::new(), Vec::new(), Vec::new()], Split::Dev);
        App::new(RunState::new("run"), browser, Theme::default(), Activity::Training)
    }

    /// Reads nothing: the tests send their input through the channel.
    fn no_terminal(_: Sender<Input>, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(5));
        }
    }

    fn started() -> Event {
        Event::Started {
            seed: 1,
            epochs: 1,
            steps_per_epoch: 10,
            total_steps: 10,
            first_step: 0,
            trainable_params: 1,
            frozen_params: 0,
        }
    }

    /// A signal arrives while the trainer is in the middle of a long step: the terminal is
    /// given back at once (not when the step ends), and the trainer is still told to stop
    /// (it then saves `last/`). Before, SIGTERM/SIGHUP killed the process in raw mode.
    #[test]
    fn terminate_releases_the_terminal_at_once_and_stops_the_worker_after_its_step() {
        const STEP: Duration = Duration::from_secs(2);
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let released = Mutex::new(None);
        let mut release = || *released.lock().unwrap() = Some(Instant::now());
        let (inputs_tx, inputs_rx) = unbounded();
        let signal = inputs_tx.clone();
        let mut app = training_app();
        let (step_started_tx, step_started) = unbounded();
        let sent = thread::spawn(move || {
            step_started.recv().unwrap();
            let at = Instant::now();
            signal.send(Input::Terminate).unwrap();
            at
        });
        let io = Io {
            terminal: &mut terminal,
            release: &mut release,
            inputs: (inputs_tx, inputs_rx),
            read_inputs: no_terminal,
        };
        let outcome = run_with_worker(io, "trainer", &mut app, &mut |_, _| {}, |events, commands| {
            let _ = events.send(started());
            step_started_tx.send(()).unwrap();
            thread::sleep(STEP);
            let stop = commands.try_iter().any(|c| c == Command::Stop);
            (stop, Instant::now())
        });
        let sent = sent.join().unwrap();
        let (stopped, step_ended) = outcome.expect("the worker returns");
        let released = released.lock().unwrap().expect("the terminal was released");
        assert!(app.quit);
        assert!(stopped, "the worker is told to stop");
        assert!(
            released.duration_since(sent) < Duration::from_secs(1),
            "released {:?} after the signal",
            released.duration_since(sent)
        );
        assert!(released < step_ended, "released before the step ended");
    }

    /// A panic on the worker thread is caught: the app shows "failed" with the panic's
    /// message (it said "running" before), `q` quits, and the outcome is the panic.
    #[test]
    fn a_worker_panic_shows_failed_and_q_quits() {
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        let (inputs_tx, inputs_rx) = unbounded();
        let keys = inputs_tx.clone();
        let mut app = training_app();
        let (panicking_tx, panicking) = unbounded();
        let typist = thread::spawn(move || {
            panicking.recv().unwrap();
            // Twice: a `q` that arrives before the failure asks, the second one answers. The
            // first waits a second: on a loaded 2-core machine the unwinding and the
            // `Failed` event took longer than the 200 ms once allowed, and two `q`s before
            // the failure stop the run instead of showing it.
            for wait in [1000, 200] {
                thread::sleep(Duration::from_millis(wait));
                let _ = keys.send(Input::Key(crossterm::event::KeyCode::Char('q').into()));
            }
        });
        let io = Io {
            terminal: &mut terminal,
            release: &mut || {},
            inputs: (inputs_tx, inputs_rx),
            read_inputs: no_terminal,
        };
        let outcome = run_with_worker(io, "trainer", &mut app, &mut |_, _| {}, |events, _commands| {
            let _ = events.send(started());
            panicking_tx.send(()).unwrap();
            panic!("index out of bounds: the len is 3 but the index is 7")
        });
        typist.join().unwrap();
        let panicked = outcome.expect_err("the panic is the outcome");
        assert_eq!(panicked.message, "index out of bounds: the len is 3 but the index is 7");
        assert!(app.quit);
        assert_eq!(
            app.state.status,
            RunStatus::Failed(
                "the trainer thread panicked: index out of bounds: the len is 3 but the index is 7".into()
            )
        );
        let shown = format!("{:?}", terminal.backend().buffer());
        assert!(shown.contains("failed: the trainer thread panicked"), "{shown}");
    }

    /// An input reader that dies (a panic, or a terminal that no longer answers) ends the
    /// app instead of leaving it without a way to quit.
    #[test]
    fn a_dead_input_reader_ends_the_app() {
        fn broken(_: Sender<Input>, _: &AtomicBool) {
            panic!("the terminal went away");
        }
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let mut app = training_app();
        let io = Io {
            terminal: &mut terminal,
            release: &mut || {},
            inputs: unbounded(),
            read_inputs: broken,
        };
        let outcome = run_with_worker(io, "trainer", &mut app, &mut |_, _| {}, |events, commands| {
            let _ = events.send(started());
            // Serves until told to stop, as a run does.
            commands.iter().any(|c| c == Command::Stop)
        });
        assert!(app.quit);
        assert_eq!(outcome.ok(), Some(true), "the worker was told to stop");
    }
}
