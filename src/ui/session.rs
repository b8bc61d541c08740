//! Owning the terminal, and giving it back whatever ends the app: `q`, a signal (SIGINT,
//! SIGTERM, SIGHUP), a panic on any thread, or a terminal that went away.
//!
//! Design decisions:
//! - The state is process-global (statics), because a panic hook and a signal are
//!   process-global: they cannot borrow the session. There is at most one session per
//!   process (the dashboard or `open`), so nothing is lost by that.
//! - Restoring is idempotent (`ACTIVE` is swapped off once), so the UI thread, the panic hook
//!   and the signal thread may all ask for it.
//! - A panic on the UI thread restores the terminal, then the previous hook prints as usual.
//!   A panic on any other thread while the app owns the screen neither restores nor prints
//!   there: the app still draws (a trainer panic is caught and shown as "failed"), and a
//!   message written over the alternate screen would be lost with it. Its report is kept and
//!   printed once the terminal is restored.
//! - Signals go through signal-hook's iterator on a thread of their own (a signal handler
//!   itself may do almost nothing). While the app runs, a signal becomes `Input::Terminate`
//!   in its select loop: the app quits at once (no "are you sure": nobody is there to answer
//!   a `kill`, and the keyboard's Ctrl-C arrives as a key in raw mode, not as SIGINT), the
//!   terminal comes back, and the worker is told to stop (the trainer saves `last/` after its
//!   current step). Once the app has quit, another signal ends the process at once (after
//!   restoring), so a long step never holds it. `main` ends the process with the signal that
//!   ended the app after the command returned, so that the caller sees the conventional
//!   status (130, 143, 129) and the command's own messages and clean-up still ran.
//! - Headless training owns no terminal, but its signals are the same: `forward_signals`
//!   sends them to its loop (which stops the trainer, saving `last/`), through the same
//!   thread, sink and exit status, so that the program has one way of handling signals.
//! - crossterm's input reader spins forever once the terminal hangs up (its read loop
//!   retries on EOF and EIO): `read_inputs` polls the terminal itself and ends the app on a
//!   hang-up, and the reader thread is never waited for without a bound.
//! - A terminal that hung up fails writes (EIO), and `eprintln!` panics on a failed write:
//!   after SIGHUP, or when restoring failed that way, standard output and error go to
//!   /dev/null, as for `nohup`, so that the command ends as it would have.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::io::{self, stderr, stdout, IsTerminal, Stdout, Write};
use std::os::fd::AsFd;
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use crossterm::cursor::Show;
use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent, KeyEventKind, MouseEventKind,
};
use crossterm::execute;
use crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use super::app::Input;
use crate::worker;

/// The signals that end the app; each otherwise kills the process with the terminal in raw
/// mode on the alternate screen.
pub const SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// The terminal is in the app's modes (raw, alternate screen, mouse reporting).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The thread that draws: its panics restore the terminal at once.
static UI_THREAD: Mutex<Option<ThreadId>> = Mutex::new(None);
/// Panic reports of other threads, printed once the terminal is restored.
static DEFERRED: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Where signals go while the app's loop runs; `None` before and after.
static SINK: Mutex<Option<Sender<Input>>> = Mutex::new(None);
/// The first signal that ended the app, 0 if none.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// A lock that outlives a panic elsewhere: the data behind these locks stays consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The real terminal in the app's modes, taken back on drop.
pub struct Session {
    /// Where the app draws.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Session {
    /// Sets up the terminal; `signals` receives `Input::Terminate` on SIGINT/SIGTERM/SIGHUP
    /// until the session is released.
    pub fn enter(signals: Sender<Input>) -> io::Result<Self> {
        install_panic_hook();
        watch_signals();
        *lock(&SINK) = Some(signals);
        *lock(&UI_THREAD) = Some(thread::current().id());
        // Active before the first change, so that a failure half-way is undone too.
        ACTIVE.store(true, Ordering::SeqCst);
        let entered = enable_raw_mode()
            .and_then(|()| execute!(stdout(), EnterAlternateScreen, EnableMouseCapture))
            .and_then(|()| Terminal::new(CrosstermBackend::new(stdout())));
        match entered {
            Ok(terminal) => Ok(Self { terminal }),
            Err(e) => {
                release();
                Err(e)
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        release();
        *lock(&UI_THREAD) = None;
    }
}

/// Signals without a terminal to own (headless training): until `release` or the guard's
/// drop, SIGINT, SIGTERM and SIGHUP arrive on `signals` as `Input::Terminate` and are
/// recorded for the exit status, as in the app; once released, the next one ends the
/// process at once.
pub fn forward_signals(signals: Sender<Input>) -> Forwarding {
    watch_signals();
    *lock(&SINK) = Some(signals);
    Forwarding
}

/// Forwards signals until dropped (`forward_signals`).
#[must_use = "signals are forwarded only while the guard lives"]
pub struct Forwarding;

impl Drop for Forwarding {
    fn drop(&mut self) {
        *lock(&SINK) = None;
    }
}

/// Gives the terminal back now and stops forwarding signals (the next one ends the process).
/// Called as soon as the app quits, before waiting for the worker.
pub fn release() {
    let hung_up = match restore() {
        Err(e) => e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()),
        Ok(()) => false,
    };
    // After SIGHUP the terminal is gone or going: it may still take the restoring writes
    // above and fail the messages that follow.
    if hung_up || ended_by_signal() == Some(SIGHUP) {
        silence_stdio();
    }
    *lock(&SINK) = None;
}

/// Leaves the alternate screen, stops mouse reporting, leaves raw mode and shows the cursor
/// (once; later calls do nothing), then prints the panic reports kept meanwhile.
pub fn restore() -> io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let raw = disable_raw_mode();
    let screen = execute!(stdout(), DisableMouseCapture, LeaveAlternateScreen, Show);
    let mut err = stderr().lock();
    for report in std::mem::take(&mut *lock(&DEFERRED)) {
        let _ = writeln!(err, "{report}");
    }
    // The write's error first: EIO there is how a hung-up terminal shows (raw mode then
    // fails otherwise, finding no terminal).
    screen.and(raw)
}

/// The signal that ended the app, if one did.
pub fn ended_by_signal() -> Option<i32> {
    Some(SIGNAL.load(Ordering::SeqCst)).filter(|&s| s != 0)
}

/// Ends the process as `signal` would have (the shell sees 128 + its number).
pub fn die_of(signal: i32) -> ! {
    let _ = restore();
    let _ = stdout().flush();
    // Resets the default action and raises the signal again; exit is the fallback.
    let _ = signal_hook::low_level::emulate_default_handler(signal);
    std::process::exit(128 + signal)
}

/// Points standard output and error at /dev/null: the terminal hung up.
fn silence_stdio() {
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdout(&null);
        let _ = rustix::stdio::dup2_stderr(&null);
    }
}

/// The thread that reads the terminal into the app's input channel, for every screen that
/// takes keys (the app, `compare`). Not scoped, so never waited for without a bound:
/// crossterm's reader can spin forever on a terminal that hung up (its read loop retries on
/// EOF and EIO). A reader that panics or ends sends `Input::Terminate`, so the app is never
/// left without input.
pub struct InputReader {
    stop: Arc<AtomicBool>,
    thread: thread::JoinHandle<()>,
}

impl InputReader {
    /// Starts `read` on a thread of its own, sending on `inputs` until told to stop.
    pub fn start(read: fn(Sender<Input>, &AtomicBool), inputs: Sender<Input>) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let terminate = inputs.clone();
        let on_panic = inputs.clone();
        let thread = worker::spawn_detached(
            "input",
            move || {
                read(inputs, &flag);
                let _ = terminate.send(Input::Terminate);
            },
            move |_| {
                let _ = on_panic.send(Input::Terminate);
            },
        )?;
        Ok(Self { stop, thread })
    }

    /// Tells the reader to end (it sees the flag within one poll).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Tells the reader to end and waits for it a bounded time; one stuck in crossterm is
    /// left behind.
    pub fn finish(self) {
        self.stop();
        let waited = Instant::now();
        while !self.thread.is_finished() && waited.elapsed() < Duration::from_millis(300) {
            thread::sleep(Duration::from_millis(10));
        }
        if self.thread.is_finished() {
            let _ = self.thread.join();
        }
    }
}

/// Reads the terminal until told to stop (polling, so that it sees the flag). A terminal
/// that hung up, or fails to answer, ends the app: nobody could quit it otherwise.
///
/// crossterm's reader spins forever once the terminal hangs up (its read loop retries on
/// EOF and EIO), so the terminal is polled here first, and crossterm is asked only for what
/// is there already (keys, or a resize it caught).
pub fn read_inputs(inputs: Sender<Input>, stop: &AtomicBool) {
    // What crossterm reads: standard input when it is a terminal, else /dev/tty.
    let tty = (!io::stdin().is_terminal())
        .then(|| std::fs::File::open("/dev/tty").ok())
        .flatten();
    let stdin = io::stdin();
    let fd = tty.as_ref().map_or(stdin.as_fd(), |t| t.as_fd());
    let tick = Timespec {
        tv_sec: 0,
        tv_nsec: 100_000_000,
    };
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, Some(&tick)) {
            Ok(_)
                if fds[0]
                    .revents()
                    .intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL) =>
            {
                let _ = inputs.send(Input::Terminate);
                return;
            }
            // A timeout, or a signal (SIGWINCH) interrupted the wait: a resize is looked for.
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(_) => {
                let _ = inputs.send(Input::Terminate);
                return;
            }
        }
        let input = match event::poll(Duration::ZERO) {
            Ok(false) => continue,
            Ok(true) => event::read(),
            Err(e) => Err(e),
        };
        let input = match input {
            Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => Input::Key(k),
            Ok(TermEvent::Mouse(m)) => match m.kind {
                MouseEventKind::ScrollUp => Input::ScrollUp,
                MouseEventKind::ScrollDown => Input::ScrollDown,
                _ => continue,
            },
            Ok(TermEvent::Resize(..)) => Input::Resize,
            Ok(_) => continue,
            Err(_) => Input::Terminate,
        };
        if inputs.send(input).is_err() || input == Input::Terminate {
            return;
        }
    }
}

fn install_panic_hook() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if ACTIVE.load(Ordering::SeqCst) && *lock(&UI_THREAD) != Some(thread::current().id()) {
                lock(&DEFERRED).push(report(info));
                return;
            }
            let _ = restore();
            previous(info);
        }));
    });
}

/// What the default hook would print (its format is not exposed).
fn report(info: &PanicHookInfo<'_>) -> String {
    let thread = thread::current();
    let mut report = format!("thread '{}' {info}", thread.name().unwrap_or("<unnamed>"));
    let backtrace = Backtrace::capture();
    if backtrace.status() == BacktraceStatus::Captured {
        report += &format!("\nstack backtrace:\n{backtrace}");
    }
    report
}

/// Starts the signal thread once per process. Registration failing leaves the signals'
/// default actions, which is what there was before.
fn watch_signals() {
    static WATCHING: OnceLock<()> = OnceLock::new();
    WATCHING.get_or_init(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new(SIGNALS) else {
            return;
        };
        // A panic here (none is expected) leaves the default actions, as a failed start does.
        let _ = worker::spawn_detached(
            "signals",
            move || {
                for signal in signals.forever() {
                    on_signal(signal);
                }
            },
            |_| {},
        );
    });
}

/// While the app's loop runs: record the signal and tell the app to terminate. Otherwise
/// (the app has quit and waits for its worker, or has ended): end the process now.
fn on_signal(signal: i32) {
    if let Some(sink) = lock(&SINK).clone() {
        let _ = SIGNAL.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
        if sink.send(Input::Terminate).is_ok() {
            return;
        }
    }
    die_of(signal)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signal path, short of a terminal: a SIGTERM raised while a session's sink is
    /// registered arrives in the app's loop as `Input::Terminate` and is recorded for the
    /// exit status. (Unregistered, it would end the test binary: the sink is cleared only
    /// after the input arrived.) The binary under a pseudo-terminal is in
    /// tests/terminal_signals.rs.
    #[test]
    fn a_signal_reaches_the_app_as_terminate_and_is_recorded() {
        watch_signals();
        let (tx, rx) = crossbeam_channel::unbounded();
        *lock(&SINK) = Some(tx);
        signal_hook::low_level::raise(SIGTERM).unwrap();
        let got = rx.recv_timeout(Duration::from_secs(5));
        *lock(&SINK) = None;
        assert_eq!(got, Ok(Input::Terminate));
        assert_eq!(ended_by_signal(), Some(SIGTERM));
    }
}
