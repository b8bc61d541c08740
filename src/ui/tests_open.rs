//! The training screen of an opened run (`open RUN`), drawn from its history: a finished
//! run at 120x40 and 80x24, and a run resumed after a kill and killed again.

use std::path::Path;

use super::state::replay::tests::{eval, saved, steps, Run};
use super::tests::screen;
use super::*;
use crate::data::Split;
use crate::train::history::{Entry, History};
use crate::train::Saved;

/// Dev loss per epoch of 5 steps: the third is the best.
const DEV_LOSS: [f64; 6] = [1.2, 0.9, 0.8, 0.85, 0.9, 0.95];

/// Epochs `from..=to` (from 1) as the engine writes them: steps, dev, saves.
fn epochs(from: usize, to: usize) -> Vec<Entry> {
    let mut lines = Vec::new();
    let mut best = DEV_LOSS[..from - 1].iter().copied().fold(f64::INFINITY, f64::min);
    for epoch in from..=to {
        let end = epoch * 5;
        lines.extend(steps(end - 4, end));
        let loss = DEV_LOSS[epoch - 1];
        lines.push(eval(Split::Dev, Some(epoch), end, loss, loss < best));
        if loss < best {
            best = loss;
            lines.push(saved(Saved::Best, end));
        }
        lines.push(saved(Saved::Last, end));
    }
    lines
}

fn opened(run: &Run) -> App {
    let history = History::read_run(run.dir.path()).unwrap().unwrap();
    let info = RunInfo {
        run_name: "open /tmp/runs/a".into(),
        model: Some(ModelInfo {
            kind: crate::model::ModelKind::CmBert,
            cls_audio: Some(crate::model::ClsAudio::Zero),
            preset: None,
        }),
        bert: "2 layers, hidden 64".into(),
        data: "/tmp/corpus (120/30/30); audio (recorded in the checkpoint) /tmp/corpus/audio.jsonl".into(),
        checkpoint: Some("/tmp/runs/a".into()),
    };
    // A fixed path, so that the snapshots do not name the temporary directory.
    let state = RunState::from_history(info, &history, Path::new("/tmp/runs/a/history.jsonl"));
    let browser = Browser::new([Vec::new(), Vec::new(), Vec::new()], Split::Test);
    let mut app = App::new(state, browser, Theme::built_in(0), Activity::Inspecting);
    app.screen = Screen::Training;
    app
}

#[test]
fn a_finished_run_opened_shows_the_screen_it_ended_with() {
    let run = Run::new();
    let mut lines = epochs(1, 6);
    lines.extend([
        eval(Split::Test, None, 30, 0.7, false),
        Entry::Finished {
            best_epoch: 3,
            best_dev_loss: 0.8,
            seconds: 15.0,
        },
    ]);
    run.session(6, 0, &lines);
    let app = opened(&run);
    let wide = screen(120, 40, &app);
    for shown in [
        "state  finished",
        "step 30/30",
        "source /tmp/runs/a/history.jsonl",
        "started 2026-12-01 16:00",
        "dev 3   0.800",
        "best",
        "test    0.700",
        "best   /tmp/runs/a/best   epoch 3, step 15",
    ] {
        assert!(wide.contains(shown), "{shown:?} in\n{wide}");
    }
    insta::assert_snapshot!("open_finished_120x40", wide);
    let narrow = screen(80, 24, &app);
    for shown in ["finished", "dev 3", "test"] {
        assert!(narrow.contains(shown), "{shown:?} in\n{narrow}");
    }
    insta::assert_snapshot!("open_finished_80x24", narrow);
}

#[test]
fn a_run_resumed_after_a_kill_and_killed_again_shows_both() {
    let run = Run::new();
    let mut first = epochs(1, 2);
    first.extend(steps(11, 13));
    run.session(6, 0, &first);
    let mut second = epochs(3, 4);
    second.extend(steps(21, 22));
    run.session(6, 10, &second);
    let app = opened(&run);
    let wide = screen(120, 40, &app);
    for shown in [
        "history ends at step 22 without an end line",
        "resumed at step 10 2026-12-01 16:10",
        "loss (dotted line: resumed at step 10)",
        "EMA 0.90",
    ] {
        assert!(wide.contains(shown), "{shown:?} in\n{wide}");
    }
    insta::assert_snapshot!("open_resumed_killed_120x40", wide);
}
