//! `<` and `>` on an opened run (issue 16, item 2), end to end: a tiny run trained through
//! the binary records a watched utterance's attention into `RUN/attention.safetensors`; the
//! run is opened as `open` opens it (`commands::open::opened_app`, the checkpoint's model
//! answering for the current weights), and its recorded steps are stepped through with the
//! keys and drawn on a `TestBackend`: each screen shows the step, the loss and the place of
//! the snapshot the file holds, and its prediction. Then the same run without the file, and
//! with a file that does not read. Before, the recorded steps could not be seen at all.

mod common;

use std::path::Path;

use candle_core::Device;
use cmbert::commands::inputs::AudioRequest;
use cmbert::commands::open::opened_app;
use cmbert::commands::Trained;
use cmbert::data::Split;
use cmbert::train::attention_log::{AttentionLog, Recorded, ATTENTION_FILE};
use cmbert::train::{Event, Inspector, TrainingRecord, Watch, Weights};
use cmbert::ui::{App, RunInfo, Screen, Theme};
use common::*;
use crossterm::event::KeyCode;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const SIZES: [usize; 3] = [24, 8, 6];
const WATCHED: usize = 2;

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| app.draw(f)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect::<String>() + "\n")
        .collect()
}

/// The app `open PATH` shows, on dev #2, with the current weights' attention computed by
/// the checkpoint's model as `open`'s worker computes it.
fn open(path: &Path) -> App {
    let trained = Trained::open(path, &Device::Cpu).unwrap();
    let (data, _) = trained.inputs(None, AudioRequest::Recorded).unwrap();
    let info = RunInfo {
        run_name: format!("open {}", path.display()),
        ..RunInfo::default()
    };
    let mut app = opened_app(path, info, &data, Split::Dev, Theme::built_in(0));
    app.start();
    app.on_key(KeyCode::Char('2'));
    app.on_key(KeyCode::Char('j'));
    app.on_key(KeyCode::Char('j'));
    assert_eq!(app.explorer.watching, Some((Split::Dev, WATCHED)));
    let record = trained
        .checkpoint
        .meta
        .as_ref()
        .and_then(|m| TrainingRecord::from_meta(m).ok().flatten());
    let inspector = Inspector {
        model: &trained.model,
        weights: Weights::of_record(record.as_ref()),
        kind: trained.head.model,
        data: &data,
        eval_batch_size: 8,
        audio_dim: trained.head.audio_dim,
        device: &Device::Cpu,
    };
    let mut watch = Watch::default();
    watch.set(Split::Dev, WATCHED);
    let inspection = inspector.inspect(&mut watch).unwrap().expect("CM-BERT has attention");
    app.apply(&Event::Attention(Box::new(inspection)));
    app
}

/// What the screen must say of a recorded snapshot: the status line and the title.
fn expected(r: &Recorded, position: usize, of: usize) -> [String; 2] {
    let loss = r.loss.map_or("-".into(), |l| format!("{l:.3}"));
    [
        format!(
            "step {} / loss {loss} · snapshot {position} of {of} (recorded) · pred {:+.2} (no audio {:+.2})",
            r.step, r.snapshot.prediction, r.snapshot.prediction_without_audio
        ),
        format!("dev #{WATCHED} at step {} ({position} of {of})", r.step),
    ]
}

#[test]
fn an_opened_runs_recorded_steps_are_stepped_through_with_their_step_and_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.path().join("run");
    let mut args = train_args(&data, &tiny_bert(), &run);
    args.extend(["--batch-size", "6", "--epochs", "3", "--watch", "dev:2"].map(String::from));
    let (code, _, stderr) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    let log = AttentionLog::read(&run.join(ATTENTION_FILE)).unwrap();
    let track = log.track(Split::Dev, WATCHED);
    let k = track.len();
    assert!(k >= 3, "an epoch end each at least: {k}");

    for path in [run.clone(), run.join("best"), run.join("last")] {
        let mut app = open(&path);
        let now = screen(&app, 120, 40);
        assert!(!now.contains("(recorded)"), "{now}");
        // `<` from the current weights: the latest recorded snapshot, then older ones.
        for back in 0..k {
            app.on_key(KeyCode::Char('<'));
            let position = k - back;
            let shown = screen(&app, 120, 40);
            for part in expected(&track[position - 1], position, k) {
                assert!(shown.contains(&part), "{}: {part:?} in\n{shown}", path.display());
            }
            assert_eq!(app.explorer.shown().unwrap().snapshot, &track[position - 1].snapshot);
        }
        app.on_key(KeyCode::Char('<'));
        assert_eq!(
            app.message.as_deref(),
            Some(format!("the oldest recorded snapshot (step {}); > goes on", track[0].step).as_str())
        );
        let narrow = screen(&app, 80, 24);
        let status = &expected(&track[0], 1, k)[0];
        assert!(
            narrow.starts_with(&status[..status.find(" · pred").unwrap()]),
            "{narrow}"
        );
        // `>` through to the latest, and past it: the current weights again.
        for _ in 0..k {
            app.on_key(KeyCode::Char('>'));
        }
        assert_eq!(
            app.message.as_deref(),
            Some("back to the current weights (< steps back again)")
        );
        // The same screen as before `<`, but for the footer's line saying so.
        let back = screen(&app, 120, 40);
        let body = |s: &str| s.lines().take(39).collect::<Vec<_>>().join("\n");
        assert_eq!(body(&back), body(&now), "{}", path.display());
    }

    // A file that does not read: one warning line naming it; the run opens all the same.
    let file = run.join(ATTENTION_FILE);
    std::fs::write(&file, b"{").unwrap();
    let mut app = open(&run);
    assert_eq!(app.screen, Screen::Attention, "moved there by `2`");
    app.on_key(KeyCode::Char('<'));
    let line = app.message.clone().unwrap();
    assert!(
        line.starts_with(&format!("no recorded steps: {}: ", file.display())),
        "{line}"
    );
    // No file: no recorded steps, said in one line.
    std::fs::remove_file(&file).unwrap();
    let mut app = open(&run.join("last"));
    app.on_key(KeyCode::Char('<'));
    assert_eq!(
        app.message.as_deref(),
        Some(
            format!(
                "no recorded steps: {} does not exist (the run watched nothing; train --watch SPLIT:INDEX records one)",
                file.display()
            )
            .as_str()
        )
    );
}

#[test]
fn the_warning_for_an_unreadable_file_is_shown_when_the_run_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.path().join("run");
    let mut args = train_args(&data, &tiny_bert(), &run);
    args.extend(["--batch-size", "6", "--epochs", "1"].map(String::from));
    let (code, _, stderr) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    let file = run.join(ATTENTION_FILE);
    std::fs::write(&file, b"not safetensors").unwrap();
    let trained = Trained::open(&run, &Device::Cpu).unwrap();
    let (data, _) = trained.inputs(None, AudioRequest::Recorded).unwrap();
    let app = opened_app(&run, RunInfo::default(), &data, Split::Dev, Theme::built_in(0));
    let warning = app.message.unwrap();
    assert!(
        warning.starts_with(&format!("warning: {}: not a recorded attention file", file.display()))
            && !warning.contains('\n'),
        "{warning}"
    );
}
