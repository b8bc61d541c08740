//! `<` and `>` as state transitions: no record (each reason in one line), the bounds of the
//! recorded steps, back to the current weights, an utterance change; the live app's own log;
//! and the attention screen of a recorded step at 120x40 and 80x24.

use crossterm::event::KeyCode;

use super::*;
use crate::train::attention_log::CAP;
use crate::train::{AttentionSnapshot, Event};
use crate::ui::browser::Utterance;
use crate::ui::tests::screen;
use crate::ui::{Activity, App, Browser, RunState, Screen, Theme};

/// Dev #0, "i thought it was fun", as the weights after `step` steps see it: the text
/// attention and W_m move towards "fun" as training goes, the prediction grows.
fn snapshot(step: usize) -> AttentionSnapshot {
    let tokens = ["[CLS]", "i", "thought", "it", "was", "fun", "[SEP]"];
    let n = tokens.len();
    let t = (step as f32 / 100.0).min(1.0);
    let grid = |f: &dyn Fn(usize, usize) -> f32| -> Vec<Vec<f32>> {
        (0..n).map(|i| (0..n).map(|j| f(i, j)).collect()).collect()
    };
    let toward_fun = move |_: usize, j: usize| {
        let even = 1.0 / n as f32;
        let peaked = if j == 5 { 0.7 } else { 0.05 };
        even + t * (peaked - even)
    };
    AttentionSnapshot {
        index: 0,
        tokens: tokens.map(String::from).to_vec(),
        words: ["i", "thought", "it", "was", "fun"].map(String::from).to_vec(),
        token_words: vec![None, Some(0), Some(1), Some(2), Some(3), Some(4), None],
        label: 1.2,
        prediction: t,
        prediction_without_audio: t / 2.0,
        batching: "evaluation batch 0".into(),
        text_attention: grid(&toward_fun),
        audio_attention: grid(&|_, _| 0.0),
        fusion_scores: grid(&|i, j| (i as f32 - j as f32) * t),
        multimodal_attention: grid(&toward_fun),
    }
}

fn inspection(split: Split, index: usize, weights: Weights) -> Inspection {
    let mut snapshot = snapshot(weights.step().unwrap_or(100));
    snapshot.index = index;
    Inspection {
        split,
        weights,
        snapshot,
    }
}

fn browser() -> Browser {
    let u = |text: &str| Utterance {
        text: text.into(),
        label: 1.2,
    };
    let dev = vec![u("I THOUGHT IT WAS FUN"), u("AND HE WAS STILL BORING")];
    Browser::new(
        [vec![u("A GOOD FILM")], dev, vec![u("THERE ARE SOME FUNNY MOMENTS")]],
        Split::Dev,
    )
}

/// A log as the engine writes it: dev #0 at steps 10, 20, 30 with the losses of those steps,
/// test #0 at step 30.
fn log() -> AttentionLog {
    let mut log = AttentionLog::default();
    for (step, loss) in [(10, 0.9), (20, 0.7), (30, 0.55)] {
        log.push(&inspection(Split::Dev, 0, Weights::Live { step }), Some(loss));
    }
    log.push(&inspection(Split::Test, 0, Weights::Live { step: 30 }), Some(0.55));
    log
}

/// `open RUN` on dev #0: the run's recorded steps, the best weights' attention shown.
fn opened(timeline: Timeline) -> App {
    let mut app = App::new(
        RunState::new("open /tmp/runs/a"),
        browser(),
        Theme::built_in(0),
        Activity::Inspecting,
    );
    app.explorer.timeline = timeline;
    app.start();
    app.apply(&Event::Attention(Box::new(inspection(
        Split::Dev,
        0,
        Weights::Best { epoch: 3 },
    ))));
    app
}

fn recorded(app: &App) -> Option<(usize, Option<f32>, usize, usize)> {
    let place = app.explorer.shown()?.recorded?;
    Some((place.step, place.loss, place.position, place.of))
}

fn run_file() -> Timeline {
    Timeline::with(log(), Source::Run("/tmp/runs/a/attention.safetensors".into()))
}

#[test]
fn less_than_without_a_record_says_why_in_one_line() {
    let cases = [
        (
            Timeline::off(),
            "no recorded steps in this view (open a run directory to step through its attention.safetensors)",
        ),
        (
            Timeline::with(AttentionLog::default(), Source::Missing("/r/attention.safetensors".into())),
            "no recorded steps: /r/attention.safetensors does not exist (the run watched nothing; train --watch SPLIT:INDEX records one)",
        ),
        (
            Timeline::live(),
            "no recorded steps of dev #0 yet: each recomputation of its attention is recorded as training goes",
        ),
    ];
    for (timeline, why) in cases {
        let mut app = opened(timeline);
        app.screen = Screen::Training;
        assert!(app.on_key(KeyCode::Char('<')).is_empty());
        assert_eq!(app.message.as_deref(), Some(why));
        assert_eq!(app.screen, Screen::Attention, "`<` shows the attention screen");
        assert_eq!(recorded(&app), None);
        assert!(!app.explorer.stepping());
        app.on_key(KeyCode::Char('>'));
        assert_eq!(app.message.as_deref(), Some(why));
    }
    // A run's file without this utterance names those it holds.
    let mut app = opened(run_file());
    app.on_key(KeyCode::Char('j'));
    app.on_key(KeyCode::Char('<'));
    assert_eq!(
        app.message.as_deref(),
        Some(
            "no recorded steps of dev #1; recorded: dev #0, test #0 (/tmp/runs/a/attention.safetensors; train --watch SPLIT:INDEX adds others)"
        )
    );
}

#[test]
fn an_unreadable_file_is_one_warning_line_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("attention.safetensors");
    std::fs::write(&path, b"not safetensors").unwrap();
    let (timeline, warning) = Timeline::of_run(tmp.path());
    let warning = warning.unwrap();
    assert!(warning.starts_with(&format!("warning: {}: not a recorded attention file", path.display())));
    assert!(
        warning.ends_with("; no recorded steps to show") && !warning.contains('\n'),
        "{warning}"
    );
    let mut app = opened(timeline);
    app.on_key(KeyCode::Char('<'));
    let line = app.message.unwrap();
    assert!(
        line.starts_with(&format!("no recorded steps: {}", path.display())),
        "{line}"
    );

    let (missing, warning) = Timeline::of_run(&tmp.path().join("none"));
    assert_eq!(
        (missing.source, warning),
        (Source::Missing(tmp.path().join("none/attention.safetensors")), None)
    );
    log().write(&path).unwrap();
    let (read, warning) = Timeline::of_run(tmp.path());
    assert_eq!((read.source, warning), (Source::Run(path), None));
    assert_eq!(read.log, log());
}

#[test]
fn less_than_and_greater_than_step_within_the_recorded_steps_and_back() {
    let mut app = opened(run_file());
    let current = app.explorer.shown().unwrap().snapshot.clone();
    app.on_key(KeyCode::Char('<'));
    assert_eq!(recorded(&app), Some((30, Some(0.55), 3, 3)), "the latest first");
    assert_eq!(app.message, None, "the title says where");
    app.on_key(KeyCode::Char('<'));
    assert_eq!(recorded(&app), Some((20, Some(0.7), 2, 3)));
    let shown = app.explorer.shown().unwrap();
    assert_eq!(shown.snapshot, &snapshot(20), "the step's matrices and predictions");
    assert_eq!(shown.weights, Weights::Live { step: 20 });
    assert_eq!(
        app.explorer.cls_bars(),
        crate::attention::cls_weights(&snapshot(20), app.explorer.level, app.explorer.show_special)
    );
    app.on_key(KeyCode::Char('<'));
    app.on_key(KeyCode::Char('<'));
    assert_eq!(recorded(&app), Some((10, Some(0.9), 1, 3)), "the oldest stays");
    assert_eq!(
        app.message.as_deref(),
        Some("the oldest recorded snapshot (step 10); > goes on")
    );
    app.on_key(KeyCode::Char('>'));
    app.on_key(KeyCode::Char('>'));
    assert_eq!(recorded(&app), Some((30, Some(0.55), 3, 3)));
    app.on_key(KeyCode::Char('>'));
    assert_eq!(recorded(&app), None, "past the latest: the current weights");
    assert_eq!(app.explorer.shown().unwrap().snapshot, &current);
    assert_eq!(
        app.message.as_deref(),
        Some("back to the current weights (< steps back again)")
    );
    app.on_key(KeyCode::Char('>'));
    assert_eq!(recorded(&app), None);
    assert_eq!(
        app.message.as_deref(),
        Some("the current weights: nothing later (< steps back through 3 recorded snapshots)")
    );
    // Esc goes back at once, and then backs out of what it did before.
    app.on_key(KeyCode::Char('<'));
    app.on_key(KeyCode::Char('<'));
    app.on_key(KeyCode::Tab);
    app.on_key(KeyCode::Esc);
    assert_eq!(
        (recorded(&app), app.message.as_deref()),
        (None, Some("back to the current weights"))
    );
    app.on_key(KeyCode::Esc);
    assert_eq!(app.focus, crate::ui::app::Focus::List);
}

#[test]
fn changing_utterance_returns_to_the_current_view() {
    let mut app = opened(run_file());
    app.on_key(KeyCode::Char('<'));
    app.on_key(KeyCode::Char('<'));
    assert_eq!(recorded(&app).map(|r| r.0), Some(20));
    app.on_key(KeyCode::Char('j'));
    assert_eq!(app.explorer.watching, Some((Split::Dev, 1)));
    assert!(!app.explorer.stepping());
    app.on_key(KeyCode::Char('k'));
    assert_eq!(recorded(&app), None, "back on dev #0: its current weights, not step 20");
    app.on_key(KeyCode::Char('<'));
    assert_eq!(
        recorded(&app).map(|r| r.0),
        Some(30),
        "`<` starts from the latest again"
    );
    // Another split, another utterance.
    app.on_key(KeyCode::Char(']'));
    assert!(!app.explorer.stepping());
    // The run's weights switched (`c`): the same utterance, asked again, stays stepped.
    let mut app = opened(run_file());
    app.on_key(KeyCode::Char('<'));
    app.apply(&Event::Serving(Weights::Last { step: 30 }));
    app.apply(&Event::Serving(Weights::Best { epoch: 3 }));
    assert_eq!(recorded(&app).map(|r| r.0), Some(30));
}

#[test]
fn the_live_app_records_what_it_receives_with_the_loss_of_its_step() {
    let mut app = crate::ui::tests::app(Activity::Training);
    // `tests::app` showed dev #0 at step 20 before any step event: no loss known.
    let step = |app: &mut App, step: usize, loss: f32| {
        app.apply(&Event::Step {
            epoch: 0,
            step,
            loss,
            lr: 1e-4,
            elapsed: std::time::Duration::from_secs(1),
        });
    };
    let show = |app: &mut App, weights: Weights| {
        app.apply(&Event::Attention(Box::new(inspection(Split::Dev, 0, weights))));
    };
    step(&mut app, 21, 0.8);
    show(&mut app, Weights::Live { step: 21 });
    step(&mut app, 22, 0.6);
    step(&mut app, 23, 0.5);
    show(&mut app, Weights::Live { step: 23 });
    show(&mut app, Weights::Best { epoch: 1 });
    app.on_key(KeyCode::Char('<'));
    assert_eq!(
        recorded(&app),
        Some((23, Some(0.5), 3, 3)),
        "the best weights are no step"
    );
    app.on_key(KeyCode::Char('<'));
    assert_eq!(recorded(&app), Some((21, Some(0.8), 2, 3)));
    app.on_key(KeyCode::Char('<'));
    assert_eq!(recorded(&app), Some((20, None, 1, 3)));
    app.on_key(KeyCode::Char('>'));
    assert_eq!(recorded(&app).map(|r| r.0), Some(21));
    // Training goes on while the reader looks back: the step shown stays while it is kept;
    // when the log downsamples, the nearest kept step before it is shown.
    let mut engine = AttentionLog::default();
    engine.push(&inspection(Split::Dev, 0, Weights::Live { step: 20 }), None);
    engine.push(&inspection(Split::Dev, 0, Weights::Live { step: 21 }), Some(0.8));
    engine.push(&inspection(Split::Dev, 0, Weights::Live { step: 23 }), Some(0.5));
    for s in 24..24 + CAP {
        let loss = 1.0 / s as f32;
        step(&mut app, s, loss);
        show(&mut app, Weights::Live { step: s });
        engine.push(&inspection(Split::Dev, 0, Weights::Live { step: s }), Some(loss));
        if s == 30 {
            assert_eq!(recorded(&app), Some((21, Some(0.8), 2, 10)));
        }
    }
    assert_eq!(
        recorded(&app),
        Some((20, None, 1, 34)),
        "step 21 went: every other one did"
    );
    // The app's log is the one the engine's recorder keeps: the same pushes, the same bound.
    assert_eq!(
        app.explorer.timeline.log.tracks[0].snapshots[1..],
        engine.tracks[0].snapshots[1..]
    );
}

#[test]
fn a_recorded_step_on_the_attention_screen() {
    let mut app = opened(run_file());
    app.on_key(KeyCode::Char('<'));
    app.on_key(KeyCode::Char('<'));
    app.on_key(KeyCode::Char('<'));
    for (w, h) in [(120, 40), (80, 24)] {
        let shown = screen(w, h, &app);
        for part in [
            "step 10 / loss 0.900 · snapshot 1 of 3 (recorded) · pred +0.10 (no audio +0.05)",
            "dev #0 at step 10 (1 of 3): i thought it was fun",
            "alpha_t · text attention · step 10, recorded",
        ] {
            // The status line and the panels' titles are cut at 80 columns; their starts
            // are there.
            let part: String = part.chars().take(if w == 80 { 35 } else { 120 }).collect();
            let part = part.as_str();
            assert!(shown.contains(part), "{part:?} at {w}x{h}:\n{shown}");
        }
        insta::assert_snapshot!(format!("recorded_step_{w}x{h}"), shown);
    }
    // Esc: the current weights' predictions again.
    app.on_key(KeyCode::Esc);
    let now = screen(120, 40, &app);
    assert!(now.contains("best, epoch 3: pred +1.00"), "{now}");
}

#[test]
fn a_resumed_runs_app_steps_back_before_the_resume() {
    let tmp = tempfile::tempdir().unwrap();
    log().write(&AttentionLog::path_in(tmp.path())).unwrap();
    let mut app = crate::ui::tests::app(Activity::Training);
    app.explorer.timeline = Timeline::live_continuing(tmp.path());
    app.apply(&Event::Step {
        epoch: 3,
        step: 40,
        loss: 0.4,
        lr: 1e-4,
        elapsed: std::time::Duration::from_secs(1),
    });
    app.apply(&Event::Attention(Box::new(inspection(
        Split::Dev,
        0,
        Weights::Live { step: 40 },
    ))));
    app.on_key(KeyCode::Char('<'));
    assert_eq!(recorded(&app), Some((40, Some(0.4), 4, 4)));
    for _ in 0..3 {
        app.on_key(KeyCode::Char('<'));
    }
    assert_eq!(
        recorded(&app),
        Some((10, Some(0.9), 1, 4)),
        "recorded before the resume"
    );
    let fresh = Timeline::live_continuing(&tmp.path().join("new"));
    assert_eq!((fresh.source, fresh.log), (Source::Live, AttentionLog::default()));
}
