//! The training dashboard under a pseudo-terminal, ended by SIGINT, SIGTERM and SIGHUP while
//! it trains: the terminal comes back (alternate screen left, mouse reporting off, cursor
//! shown, raw mode off), the trainer stops and saves `last/`, and the process ends as the
//! signal would have (the shell's 130, 143, 129). Before, each signal killed the process
//! with the terminal left in raw mode on the alternate screen.

mod common;

use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};
use rustix::process::{kill_process, Pid, Signal};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcgetattr, tcsetwinsize, LocalModes, Winsize};

use common::{tiny_bert, write_tiny_corpus};

/// What the terminal received, read off the pseudo-terminal's master side until `stop`
/// (then the master closes: the terminal hangs up).
struct Screen {
    seen: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    reader: thread::JoinHandle<()>,
}

impl Screen {
    fn text(&self) -> String {
        self.text_from(0)
    }

    /// What arrived after the first `from` bytes.
    fn text_from(&self, from: usize) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()[from..]).into_owned()
    }

    fn len(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Waits until the terminal shows `what`, for at most `limit`.
    fn wait_for(&self, what: &str, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.text().contains(what) {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn hang_up(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.reader.join().unwrap();
    }
}

/// The dashboard training a tiny model for many epochs, on a 120x40 pseudo-terminal.
fn start(dir: &Path) -> (Child, OwnedFd, Screen) {
    start_with(dir, &[])
}

/// [`start`] with extra environment variables.
fn start_with(dir: &Path, env: &[(&str, &str)]) -> (Child, OwnedFd, Screen) {
    let data = dir.join("data");
    // 256 steps an epoch: the signal comes before the first epoch end saves last/ anyway.
    write_tiny_corpus(&data, [512, 8, 8]);
    // Close-on-exec: a master inherited by a child (this one, or another test's) would keep
    // the terminal from ever hanging up.
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    tcsetwinsize(
        &master,
        Winsize {
            ws_row: 40,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .unwrap();
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_cmbert-tui"))
        .args(["train", "--bert"])
        .arg(tiny_bert())
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(dir.join("run"))
        .args(["--epochs", "100000", "--batch-size", "2"])
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        // Not in the test runner's process group: a Ctrl-C there is not this test's signal.
        .process_group(0)
        .spawn()
        .expect("start cmbert-tui");
    // Non-blocking, so that the reader sees `stop` and closes the master when told.
    rustix::fs::fcntl_setfl(&master, rustix::fs::fcntl_getfl(&master).unwrap() | OFlags::NONBLOCK).unwrap();
    let reading = master.try_clone().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (seen, stop) = (seen.clone(), stop.clone());
        thread::spawn(move || {
            let mut file = std::fs::File::from(reading);
            let mut buf = [0u8; 65536];
            while !stop.load(Ordering::Relaxed) {
                match file.read(&mut buf) {
                    Ok(n) if n > 0 => seen.lock().unwrap().extend_from_slice(&buf[..n]),
                    // Nothing read, no data yet, or (EIO) no process holds the terminal any more.
                    Ok(_) | Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        })
    };
    (child, master, Screen { seen, stop, reader })
}

fn wait(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("cmbert-tui still runs {limit:?} after the signal or hang-up");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigint_and_sigterm_give_the_terminal_back_and_save_last() {
    for (signal, name) in [(Signal::INT, "SIGINT"), (Signal::TERM, "SIGTERM")] {
        let dir = tempfile::tempdir().unwrap();
        let (mut child, master, screen) = start(dir.path());
        assert!(
            screen.wait_for("running", Duration::from_secs(60)),
            "{name}: the dashboard never showed a running state:\n{}",
            screen.text()
        );
        let before = screen.len();
        kill_process(Pid::from_child(&child), signal).unwrap();
        let status = wait(&mut child, Duration::from_secs(30));
        // The child is gone: what it wrote is all in the master's buffer.
        thread::sleep(Duration::from_millis(200));
        let after = screen.text_from(before);
        screen.hang_up();
        assert_eq!(status.signal(), Some(signal.as_raw()), "{name}: {status:?}\n{after}");
        for (sequence, what) in [
            ("\x1b[?1049l", "leaves the alternate screen"),
            ("\x1b[?1000l", "stops mouse reporting"),
            ("\x1b[?25h", "shows the cursor"),
        ] {
            assert!(after.contains(sequence), "{name}: never {what}:\n{after:?}");
        }
        let modes = tcgetattr(&master).unwrap().local_modes;
        assert!(
            modes.contains(LocalModes::ICANON | LocalModes::ECHO),
            "{name}: the terminal stays in raw mode: {modes:?}"
        );
        assert!(after.contains("stopped at your request"), "{name}: {after}");
        assert!(
            dir.path().join("run/last").is_dir(),
            "{name}: the trainer saved no last/"
        );
    }
}

/// A terminal that hangs up (SIGHUP, then the master closes while the app is stopping)
/// ends the run as SIGHUP with `last/` saved: the messages after it go nowhere instead of
/// failing (`eprintln!` panics on a write error), and crossterm's reader, which spins on a
/// hung-up terminal, does not hold the process (it hung at 100% CPU).
#[test]
fn sighup_with_the_terminal_gone_ends_as_sighup_with_last_saved() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, master, screen) = start(dir.path());
    assert!(
        screen.wait_for("running", Duration::from_secs(60)),
        "the dashboard never showed a running state:\n{}",
        screen.text()
    );
    kill_process(Pid::from_child(&child), Signal::HUP).unwrap();
    thread::sleep(Duration::from_millis(50));
    drop(master);
    screen.hang_up();
    let status = wait(&mut child, Duration::from_secs(30));
    assert_eq!(status.signal(), Some(Signal::HUP.as_raw()), "{status:?}");
    assert!(dir.path().join("run/last").is_dir(), "the trainer saved no last/");
}

/// A terminal that goes away without a signal (it was not the controlling terminal) ends
/// the app too, as a stop: nobody is left to press `q`.
#[test]
fn a_terminal_that_goes_away_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, master, screen) = start(dir.path());
    assert!(
        screen.wait_for("running", Duration::from_secs(60)),
        "the dashboard never showed a running state:\n{}",
        screen.text()
    );
    drop(master);
    screen.hang_up();
    let status = wait(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(dir.path().join("run/last").is_dir(), "the trainer saved no last/");
}

/// Reverse video on (SGR 7), as crossterm writes it.
const REVERSE: &str = "\x1b[7m";

/// Under NO_COLOR no colour reaches the terminal, and the selected utterance is still marked
/// (reverse video): crossterm writes a dropped colour as `ESC [ m`, which used to
/// reset the mark, so nothing told the selected row from the others.
#[test]
fn without_colour_the_selected_row_is_still_marked() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, master, screen) = start_with(dir.path(), &[("NO_COLOR", "1")]);
    assert!(
        screen.wait_for("running", Duration::from_secs(60)),
        "the dashboard never showed a running state:\n{}",
        screen.text()
    );
    let before = screen.len();
    rustix::io::write(&master, b"2").unwrap();
    let marked = {
        let start = Instant::now();
        loop {
            let shown = screen.text_from(before);
            if shown.contains(REVERSE) || start.elapsed() > Duration::from_secs(20) {
                break shown;
            }
            thread::sleep(Duration::from_millis(20));
        }
    };
    kill_process(Pid::from_child(&child), Signal::TERM).unwrap();
    wait(&mut child, Duration::from_secs(30));
    screen.hang_up();
    let start: String = marked.chars().take(3000).collect();
    assert!(marked.contains(REVERSE), "no reverse-video row on screen 2:\n{start:?}");
    // Colour SGRs (true colour, 256 colours), not cursor moves such as `ESC [ 38 ; 6 H`.
    for colour in [
        "\x1b[38;2;",
        "\x1b[48;2;",
        "\x1b[38;5;",
        "\x1b[48;5;",
        ";38;2;",
        ";48;2;",
    ] {
        if let Some(at) = marked.find(colour) {
            let around: String = marked[at.saturating_sub(200)..].chars().take(400).collect();
            panic!("a colour under NO_COLOR ({colour:?}):\n{around:?}");
        }
    }
}
