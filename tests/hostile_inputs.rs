//! Input files that are not files: a FIFO blocked every reader forever, a link to
//! `/dev/zero` made one allocate until killed, and a FIFO or a directory under a name a
//! reader looks for was reported as missing. Every reader of a file the user names now
//! refuses anything but a regular file (links followed), naming the file and what it is.
//!
//! Each check runs under a deadline (the binary is killed, a library call abandoned in its
//! thread), so a regression fails here instead of hanging the suite.

mod common;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::fifo::mkfifo;
use common::*;

const DEADLINE: Duration = Duration::from_secs(60);

/// `path` as a link to `/dev/zero`.
fn zero(path: &Path) {
    std::os::unix::fs::symlink("/dev/zero", path).unwrap();
}

/// Runs the binary, killed at the deadline; (exit code, stderr).
fn run(args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cmbert-tui"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cmbert-tui {args:?} still running after {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code().unwrap_or(-1), stderr)
}

/// `f`'s result, or a failure at the deadline (its thread is left blocked; the test process
/// ends all the same).
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(DEADLINE)
        .expect("a reader still blocked at the deadline")
}

/// The message names the file, then says what it is ("FILE: not a regular file (a FIFO)",
/// or with the reader's words between: "FILE: cannot read the theme: not a ...").
fn assert_refused(message: &str, file: &Path, kind: &str) {
    let file = format!("{}: ", file.display());
    let what = format!("not a regular file ({kind})");
    let at = message
        .find(&file)
        .unwrap_or_else(|| panic!("{file:?} not named in: {message}"));
    assert!(
        message[at..].contains(&what),
        "expected {what:?} after {file:?} in: {message}"
    );
}

/// A MOSI-text directory whose test split is `make(test.tsv)`.
fn data_with_test(dir: &Path, make: fn(&Path)) -> PathBuf {
    let data = dir.join("data");
    write_tiny_corpus(&data, [4, 2, 2]);
    let test = data.join("test.tsv");
    std::fs::remove_file(&test).unwrap();
    make(&test);
    test
}

#[test]
fn a_split_that_is_a_fifo_or_dev_zero_is_refused_by_name() {
    for (make, kind) in [(mkfifo as fn(&Path), "a FIFO"), (zero, "a character device")] {
        let dir = tempfile::tempdir().unwrap();
        let test = data_with_test(dir.path(), make);
        let data = s(&test.with_file_name(""));
        let (code, stderr) = run(&["inspect-data", &data]);
        assert_ne!(code, 0, "{stderr}");
        assert_refused(&stderr, &test, kind);
    }
}

#[test]
fn a_split_linked_to_a_regular_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let test = data_with_test(dir.path(), |test| {
        let real = test.with_file_name("real-test.tsv");
        std::fs::write(&real, "text\tlabel\nGOOD FUN\t1.0\nBAD\t-1.0\n").unwrap();
        std::os::unix::fs::symlink(&real, test).unwrap();
    });
    let (code, stderr) = run(&["inspect-data", &s(&test.with_file_name(""))]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_run_whose_history_is_a_fifo_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.jsonl");
    mkfifo(&history);
    let (code, stderr) = run(&["compare", "--headless", &s(dir.path())]);
    assert_ne!(code, 0, "{stderr}");
    assert_refused(&stderr, &history, "a FIFO");
}

#[test]
fn library_readers_refuse_fifos_and_devices_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = |name: &str| {
        let p = dir.path().join(name);
        mkfifo(&p);
        p
    };
    let theme = fifo("theme.toml");
    let err = within({
        let t = theme.clone();
        move || cmbert::ui::Theme::load(t.to_str().unwrap()).unwrap_err().to_string()
    });
    assert_refused(&err, &theme, "a FIFO");

    let wav = fifo("take.wav");
    let err = within({
        let w = wav.clone();
        move || cmbert::acoustic::wav::read_wav(&w).unwrap_err().to_string()
    });
    assert_refused(&err, &wav, "a FIFO");

    let words = dir.path().join("words.csv");
    zero(&words);
    let err = within({
        let w = words.clone();
        move || cmbert::acoustic::align::read_words(&w).unwrap_err().to_string()
    });
    assert_refused(&err, &words, "a character device");

    // Was "audio feature file not found".
    let audio = fifo("audio.jsonl");
    let err = within({
        let a = audio.clone();
        move || {
            let bounds = cmbert::data::AudioBounds::of_splits(Path::new("d"), &Default::default(), 50);
            cmbert::data::load_audio(&a, &bounds).unwrap_err().to_string()
        }
    });
    assert_refused(&err, &audio, "a FIFO");
}

/// Was "no model configuration found" for both.
#[test]
fn a_checkpoint_config_that_is_a_fifo_or_a_directory_is_refused_by_name() {
    for kind in ["a FIFO", "a directory"] {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(tiny_bert()).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
        let config = dir.path().join("config.json");
        std::fs::remove_file(&config).unwrap();
        if kind == "a FIFO" {
            mkfifo(&config);
        } else {
            std::fs::create_dir(&config).unwrap();
        }
        let d = dir.path().to_path_buf();
        let err = within(move || {
            cmbert::checkpoint::Checkpoint::load(&d, &candle_core::Device::Cpu)
                .unwrap_err()
                .to_string()
        });
        assert_refused(&err, &config, kind);
    }
}
