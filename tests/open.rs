//! `open RUN` on a trained run: a tiny run on the tiny encoder, its history on disk, and
//! what the opened run's training screen shows, set against what the live app showed at
//! the run's end; then the same run without a history, with a corrupt or newer one, and
//! killed mid-write.
//!
//! The history is the one the engine wrote during the run (`train::engine::recorder`): what
//! the writer puts on disk and what the reader rebuilds are checked together.

mod common;

use std::path::Path;

use cmbert::commands::open::run_state;
use cmbert::data::{Dataset, Split, TextEncoder};
use cmbert::model::ModelKind;
use cmbert::train::history::HISTORY_FILE;
use cmbert::train::{Event, RunSpec};
use cmbert::ui::{Activity, App, Browser, LossChart, MetricsTable, Record, RunInfo, RunState, Screen, Theme};
use common::*;
use crossbeam_channel::unbounded;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;
use ratatui::Terminal;

const SIZES: [usize; 3] = [40, 12, 14];

fn spec(data: &Path, out: &Path) -> RunSpec {
    let mut spec = RunSpec::paper(data.to_path_buf(), tiny_bert(), ModelKind::CmBert);
    spec.epochs = 3;
    spec.batch_size = 6;
    spec.groups.lr = 1e-3;
    spec.out = Some(out.to_path_buf());
    spec.seed = 7;
    spec
}

/// Trains the run to its end; returns its events.
fn train(spec: &RunSpec) -> Vec<Event> {
    let encoder = TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap();
    let data = Dataset::load(&spec.data, None, &encoder, 5).unwrap();
    let mut trainer = tiny_trainer(spec.clone());
    let (tx, rx) = unbounded();
    let (_ctx, crx) = unbounded();
    trainer.run(&data, &tx, &crx).unwrap().expect("finished");
    rx.try_iter().collect()
}

fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            let line: String = (0..area.width).map(|x| buffer[(x, y)].symbol().to_string()).collect();
            line.trim_end().to_string() + "\n"
        })
        .collect()
}

fn widget(width: u16, height: u16, w: impl Widget) -> String {
    let mut buffer = Buffer::empty(Rect::new(0, 0, width, height));
    w.render(buffer.area, &mut buffer);
    text(&buffer)
}

/// The training screen of `open PATH` at 120x40.
fn opened_screen(state: RunState) -> String {
    let browser = Browser::new([Vec::new(), Vec::new(), Vec::new()], Split::Test);
    let mut app = App::new(state, browser, Theme::built_in(0), Activity::Inspecting);
    app.screen = Screen::Training;
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| app.draw(f)).unwrap();
    text(terminal.backend().buffer())
}

fn info() -> RunInfo {
    RunInfo {
        run_name: "open run".into(),
        ..RunInfo::default()
    }
}

#[test]
fn an_opened_run_shows_the_screen_the_live_run_ended_with_and_says_when_it_cannot() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.path().join("run");
    let spec = spec(&data, &run);
    let events = train(&spec);
    assert!(run.join(HISTORY_FILE).is_file(), "the engine wrote the run's history");

    let mut live = RunState::with_info(info());
    for event in &events {
        live.apply(event);
    }
    assert_eq!(live.status_label(), "done");
    let theme = Theme::built_in(0);
    for path in [run.clone(), run.join("best"), run.join("last")] {
        let opened = run_state(&path, info());
        let shown = path.display();
        assert_eq!(opened.status_label(), "finished", "{shown}");
        assert!(
            matches!(&opened.record, Record::History(r) if r.path == run.join(HISTORY_FILE)),
            "{shown}: {:?}",
            opened.record
        );
        // The curves and the table as the live app drew them at the end, at two sizes.
        for (w, h) in [(120, 20), (60, 12)] {
            assert_eq!(
                widget(w, h, LossChart(&opened, &theme)),
                widget(w, h, LossChart(&live, &theme)),
                "{shown}: loss chart at {w}x{h}"
            );
            assert_eq!(
                widget(w, h, MetricsTable(&opened, &theme)),
                widget(w, h, MetricsTable(&live, &theme)),
                "{shown}: metrics at {w}x{h}"
            );
        }
        assert_eq!((opened.step, opened.total_steps, opened.epochs), (21, 21, 3));
        assert_eq!(opened.best_epoch(), live.best_epoch());
        assert_eq!((opened.test, opened.test_loss), (live.test, live.test_loss));
        for (a, b) in [
            (&opened.best_saved, &live.best_saved),
            (&opened.last_saved, &live.last_saved),
        ] {
            let (a, b) = (a.as_ref().unwrap(), b.as_ref().unwrap());
            assert_eq!((&a.path, a.step), (&b.path, b.step), "{shown}");
        }
    }
    let screen = opened_screen(run_state(&run, info()));
    for shown in [
        "state  finished".to_string(),
        format!("source {}", run.join(HISTORY_FILE).display()),
        "test ".into(),
        "best".into(),
    ] {
        assert!(screen.contains(&shown), "{shown:?} in\n{screen}");
    }

    // Killed inside a write, after the first epoch's dev line: the curve up to its last
    // whole line.
    let history = std::fs::read_to_string(run.join(HISTORY_FILE)).unwrap();
    let lines: Vec<&str> = history.lines().collect();
    let is_step = |l: &&str| l.contains("\"kind\":\"step\"");
    let dev1 = lines.iter().position(|l| l.contains("\"split\":\"dev\"")).unwrap();
    let step8 = dev1 + lines[dev1..].iter().position(is_step).unwrap();
    assert!(lines[step8].contains("\"step\":8,"), "{}", lines[step8]);
    let cut = format!("{}\n{}", lines[..=step8].join("\n"), &lines[step8 + 1][..20]);
    std::fs::write(run.join(HISTORY_FILE), &cut).unwrap();
    let killed = run_state(&run.join("best"), info());
    assert_eq!(
        killed.status_label(),
        "history ends at step 8 without an end line (killed?)"
    );
    assert_eq!(killed.loss.full().len(), 8);
    assert_eq!(killed.epoch_rows.len(), 1);
    assert!(opened_screen(killed).contains("its cut last line left out"));

    // A corrupt middle line: the checkpoint opens without curves, the line named.
    let mut corrupt = lines.clone();
    corrupt[2] = "{\"kind\":\"step\",\"step\":";
    std::fs::write(run.join(HISTORY_FILE), corrupt.join("\n") + "\n").unwrap();
    let opened = run_state(&run, info());
    let why = format!("{}: line 3: not a history line", run.join(HISTORY_FILE).display());
    assert!(opened.status_label().starts_with(&why), "{}", opened.status_label());
    assert!(opened.status_label().ends_with("curves not available"));
    assert!(matches!(opened.record, Record::NoCurves(_)));
    assert!(opened.loss.full().is_empty());

    // A newer format: said with both versions.
    let mut newer = lines.clone();
    let header = lines[0].replacen("\"version\":1", "\"version\":2", 1);
    newer[0] = &header;
    std::fs::write(run.join(HISTORY_FILE), newer.join("\n") + "\n").unwrap();
    let label = run_state(&run, info()).status_label();
    assert!(
        label.contains("line 1: history version 2, this cmbert-tui reads up to 1"),
        "{label}"
    );

    // No history (a run from before histories): said in one line, on the chart too.
    std::fs::remove_file(run.join(HISTORY_FILE)).unwrap();
    let opened = run_state(&run.join("best"), info());
    let why = format!("no training history in {}: curves not available", run.display());
    assert_eq!(opened.status_label(), why);
    let chart = widget(200, 10, LossChart(&opened, &theme));
    assert!(chart.contains(&why), "{chart}");
}
