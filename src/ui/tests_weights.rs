//! One model per view: after a run, the utterance list, the heatmaps and the prediction in
//! the header above them come from the same weights, each labelled with them, and `c`
//! switches all of them between the best and the last weights. Before, the list kept the
//! last epoch's dev predictions ("step 648", -2.15 for dev #1) while the header and the
//! heatmaps showed the best weights' (-2.13, "final").

use crossterm::event::KeyCode;

use super::browser::Utterance;
use super::tests::screen;
use super::*;
use crate::data::Split;
use crate::train::{AttentionSnapshot, Command, Event, Inspection, Metrics, RunSummary, Saved, Weights};

const BEST: Weights = Weights::Best { epoch: 10 };
const LAST: Weights = Weights::Last { step: 648 };
const LIVE: Weights = Weights::Live { step: 648 };

fn attention(index: usize, weights: Weights, prediction: f32) -> Event {
    let tokens = ["[CLS]", "i", "hated", "the", "camera", "[SEP]"];
    let n = tokens.len();
    let grid = |f: &dyn Fn(usize, usize) -> f32| -> Vec<Vec<f32>> {
        (0..n).map(|i| (0..n).map(|j| f(i, j)).collect()).collect()
    };
    Event::Attention(Box::new(Inspection {
        split: Split::Dev,
        weights,
        snapshot: AttentionSnapshot {
            index,
            tokens: tokens.map(String::from).to_vec(),
            words: ["i", "hated", "the", "camera"].map(String::from).to_vec(),
            token_words: vec![None, Some(0), Some(1), Some(2), Some(3), None],
            label: -3.0,
            prediction,
            prediction_without_audio: prediction,
            batching: "evaluation batch 0".into(),
            text_attention: grid(&|i, j| ((i * 5 + j * 3) % 7) as f32 / 7.0),
            audio_attention: grid(&|_, _| 0.0),
            fusion_scores: grid(&|i, j| i as f32 - j as f32),
            multimodal_attention: grid(&|_, j| if j == 2 { 0.5 } else { 0.1 }),
        },
    }))
}

fn dev(weights: Weights, values: [f32; 3]) -> Event {
    Event::Predictions {
        split: Split::Dev,
        weights,
        values: values.to_vec(),
    }
}

/// A training app on dev #1 ("i hated the camera") as a 12-epoch run ends: the last
/// epoch's dev predictions, then what the engine sends as it finishes (the test split and
/// the watched utterance from the best weights, `Finished`, `Serving`).
fn finished_run() -> (App, Vec<Command>) {
    let u = |text: &str, label: f32| Utterance {
        text: text.into(),
        label,
    };
    let browser = Browser::new(
        [
            vec![u("a good film", 2.0)],
            vec![
                u("the villain was forgettable", -0.3),
                u("i hated the camera", -3.0),
                u("the music was fine", 0.4),
            ],
            vec![u("it was fun", 1.2)],
        ],
        Split::Dev,
    );
    let mut app = App::new(
        RunState::new("cm-bert seed 1"),
        browser,
        Theme::built_in(0),
        Activity::Training,
    );
    app.on_key(KeyCode::Char('2'));
    app.on_key(KeyCode::Char('j'));
    let mut commands = Vec::new();
    for event in [
        Event::Started {
            seed: 1,
            epochs: 12,
            steps_per_epoch: 54,
            total_steps: 648,
            first_step: 0,
            trainable_params: 1,
            frozen_params: 0,
        },
        Event::Step {
            epoch: 11,
            step: 648,
            loss: 0.65,
            lr: 0.0,
            elapsed: std::time::Duration::from_secs(46),
        },
        dev(LIVE, [-0.19, -2.15, 0.2]),
        attention(1, LIVE, -2.15),
        Event::Predictions {
            split: Split::Test,
            weights: BEST,
            values: vec![1.1],
        },
        attention(1, BEST, -2.13),
        Event::Finished(RunSummary {
            seed: 1,
            best_epoch: 9,
            best_dev_loss: 0.9,
            test: Metrics::compute(&[1.1], &[1.2]),
            test_loss: 0.1,
            test_predictions: vec![1.1],
            wall_time: std::time::Duration::from_secs(47),
            best_checkpoint: None,
        }),
        Event::Serving(BEST),
    ] {
        commands.extend(app.apply(&event));
    }
    (app, commands)
}

fn list_prediction(app: &App, index: usize) -> Option<(f32, Weights)> {
    let rows = &app.browser.splits[Split::Dev.index()];
    Some((rows.predictions.as_ref()?[index], rows.weights?))
}

fn header_prediction(app: &App) -> Option<(f32, Weights)> {
    let i = app.explorer.inspection.as_ref()?;
    Some((i.snapshot.prediction, i.weights))
}

#[test]
fn after_the_run_the_list_and_the_header_show_the_same_model() {
    let (mut app, commands) = finished_run();
    assert_eq!(
        commands,
        [Command::Predict(Split::Dev)],
        "the last epoch's dev predictions are not the served model's: asked again"
    );
    assert_eq!(list_prediction(&app, 1), None, "no list from other weights meanwhile");
    app.apply(&dev(BEST, [-0.18, -2.13, 0.3]));
    assert_eq!(list_prediction(&app, 1), Some((-2.13, BEST)));
    assert_eq!(list_prediction(&app, 1), header_prediction(&app));
    let shown = screen(120, 40, &app);
    assert!(shown.contains("best, epoch 10: pred -2.13"), "{shown}");
    assert!(shown.contains("file order · best, epoch 10"), "{shown}");
    assert!(shown.contains("-3.0  -2.13"), "{shown}");
    assert!(!shown.contains("-2.15") && !shown.contains("final"), "{shown}");
}

#[test]
fn c_switches_every_view_between_best_and_last() {
    let (mut app, _) = finished_run();
    app.apply(&dev(BEST, [-0.18, -2.13, 0.3]));
    assert_eq!(app.on_key(KeyCode::Char('c')), [Command::Switch(Saved::Last)]);
    assert_eq!(app.serving, Some(BEST), "unchanged until the model answers");
    assert_eq!(
        app.apply(&Event::Serving(LAST)),
        [
            Command::Watch {
                split: Split::Dev,
                index: 1
            },
            Command::Predict(Split::Dev)
        ],
        "the list and the heatmaps are asked for again"
    );
    assert_eq!(app.serving, Some(LAST));
    assert_eq!(list_prediction(&app, 1), None);
    assert!(
        app.browser.splits[Split::Test.index()].predictions.is_none(),
        "the best weights' test predictions are gone too"
    );
    app.apply(&attention(1, LAST, -2.15));
    app.apply(&dev(LAST, [-0.19, -2.15, 0.2]));
    assert_eq!(list_prediction(&app, 1), Some((-2.15, LAST)));
    assert_eq!(list_prediction(&app, 1), header_prediction(&app));
    for (w, h) in [(80, 24), (120, 40)] {
        let shown = screen(w, h, &app);
        insta::assert_snapshot!(format!("app_last_weights_{w}x{h}"), shown);
    }
    assert_eq!(app.on_key(KeyCode::Char('c')), [Command::Switch(Saved::Best)]);
    app.apply(&Event::Serving(BEST));
    app.apply(&attention(1, BEST, -2.13));
    app.apply(&dev(BEST, [-0.18, -2.13, 0.3]));
    for (w, h) in [(80, 24), (120, 40)] {
        insta::assert_snapshot!(format!("app_best_weights_{w}x{h}"), screen(w, h, &app));
    }
}

#[test]
fn c_does_nothing_but_explain_before_the_end_or_on_a_checkpoint() {
    let mut training = App::new(
        RunState::new("run"),
        Browser::new([Vec::new(), Vec::new(), Vec::new()], Split::Dev),
        Theme::built_in(0),
        Activity::Training,
    );
    assert_eq!(training.on_key(KeyCode::Char('c')), []);
    assert!(training.message.as_ref().unwrap().contains("once the run has finished"));
    let mut opened = App::new(
        RunState::new("open"),
        Browser::new([Vec::new(), Vec::new(), Vec::new()], Split::Test),
        Theme::built_in(0),
        Activity::Inspecting,
    );
    assert_eq!(opened.on_key(KeyCode::Char('c')), []);
    assert!(opened.message.as_ref().unwrap().contains("best/ or last/"));
}

#[test]
fn live_weights_are_labelled_with_their_step() {
    let (mut app, _) = finished_run();
    // As during training: the live weights' attention, with its update count.
    app.serving = None;
    app.apply(&attention(1, Weights::Live { step: 320 }, -1.0));
    let shown = screen(120, 40, &app);
    assert!(shown.contains("· step 320 ("), "{shown}");
    assert!(shown.contains("step 320: pred -1.00"), "{shown}");
}
