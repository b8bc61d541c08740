//! The training screen after a whole run: the default run's shape (12 epochs of 54 steps,
//! the best epoch in the middle, both checkpoints saved, the test row) at 80x24, 120x40 and
//! a tall screen; the checkpoint lines; the keys that scroll the metrics.

use super::*;
use crate::train::Saved;

const OUT: &str = "/tmp/b/run1";
const DATA: &str = "/root/.cache/cmbert-tui/corpus-v1-seed1 (1284/229/686); audio zero";

/// Dev loss per epoch: the 6th is the lowest, the ones after it do not improve.
const DEV_LOSS: [f64; 12] = [
    1.656, 1.211, 1.339, 1.031, 0.996, 0.911, 0.95, 0.93, 0.92, 0.97, 0.94, 0.96,
];

fn saved(kind: Saved) -> Event {
    let name = match kind {
        Saved::Best => "best",
        Saved::Last => "last",
    };
    Event::CheckpointSaved {
        path: format!("{OUT}/{name}").into(),
        kind,
    }
}

/// A 12-epoch run up to `epochs` epochs, finished when all 12 are done, its events in the
/// engine's order.
fn run(epochs: usize) -> App {
    let state = RunState::with_info(RunInfo {
        run_name: "cm-bert seed 1".into(),
        model: Some(ModelInfo {
            kind: crate::model::ModelKind::CmBert,
            cls_audio: Some(crate::model::ClsAudio::Zero),
            preset: Some(crate::train::Preset::Scratch),
        }),
        bert: "from scratch (2 layers, hidden 64)".into(),
        data: DATA.into(),
        checkpoint: Some(OUT.into()),
    });
    let mut a = App::new(state, browser(), Theme::built_in(0), Activity::Training);
    let spe = 54;
    a.apply(&Event::Started {
        seed: 1,
        epochs: 12,
        steps_per_epoch: spe,
        total_steps: 12 * spe,
        first_step: 0,
        trainable_params: 5,
        frozen_params: 0,
    });
    let mut best = f64::INFINITY;
    for (epoch, &dev_loss) in DEV_LOSS.iter().enumerate().take(epochs) {
        for step in epoch * spe + 1..=(epoch + 1) * spe {
            a.apply(&Event::Step {
                epoch,
                step,
                loss: 1.0 + 1.0 / step as f32,
                // Linear decay to zero at the last step, as the default schedule does.
                lr: 2e-4 * (1.0 - step as f64 / (12 * spe) as f64),
                elapsed: Duration::from_secs_f64(step as f64 / 15.3),
            });
        }
        let improved = dev_loss < best;
        best = best.min(dev_loss);
        let p = 0.1 * epoch as f32;
        a.apply(&Event::EpochEnd {
            epoch,
            train_loss: 1.0,
            dev_loss,
            dev: Metrics::compute(&[1.0, -1.0, p, -p], &[1.0, -1.0, 0.5, -0.5]),
            best: improved,
        });
        if improved {
            a.apply(&saved(Saved::Best));
        }
        a.apply(&saved(Saved::Last));
    }
    if epochs == 12 {
        a.apply(&Event::Finished(RunSummary {
            seed: 1,
            best_epoch: 5,
            best_dev_loss: DEV_LOSS[5],
            test: Metrics::compute(&[1.0, 1.0, -0.5], &[1.0, -1.0, -0.5]),
            test_loss: 0.987,
            test_predictions: vec![],
            wall_time: Duration::from_secs(47),
            best_checkpoint: Some(format!("{OUT}/best").into()),
        }));
    }
    a
}

/// The line of the screen that starts (after borders) with `start`.
fn line_with<'a>(shown: &'a str, start: &str) -> Option<&'a str> {
    shown
        .lines()
        .find(|l| l.split('│').any(|cell| cell.trim_start().starts_with(start)))
}

/// The status panel's line of field `name` (not the chart legend's "best").
fn field<'a>(shown: &'a str, name: &str) -> Option<&'a str> {
    let start = format!("{name:<7}");
    shown.lines().find(|l| {
        l.split('│')
            .any(|cell| cell.starts_with(&start) && cell[start.len()..].starts_with(|c: char| c != ' '))
    })
}

#[test]
fn a_finished_run_shows_its_best_epoch_last_epochs_and_test_row_at_every_size() {
    let a = run(12);
    for (w, h) in [(80, 24), (120, 40), (120, 70)] {
        let shown = screen(w, h, &a);
        let best = line_with(&shown, "dev 6 ").unwrap_or_else(|| panic!("{w}x{h}: best row\n{shown}"));
        assert!(best.contains("0.911") && best.contains("best"), "{w}x{h}: {best}");
        for row in ["dev 11 ", "dev 12 ", "test "] {
            assert!(line_with(&shown, row).is_some(), "{w}x{h}: {row} missing\n{shown}");
        }
        let test = line_with(&shown, "test ").unwrap();
        assert!(test.contains("0.987"), "the test loss: {test}");
        // Both checkpoints, with the epoch and step each holds.
        let best_ckpt = field(&shown, "best").unwrap_or_else(|| panic!("{w}x{h}\n{shown}"));
        assert!(
            best_ckpt.contains("best") && best_ckpt.contains("epoch 6, step 324"),
            "{w}x{h}\n{shown}"
        );
        let last_ckpt = field(&shown, "last").unwrap_or_else(|| panic!("{w}x{h}\n{shown}"));
        assert!(
            last_ckpt.contains("last") && last_ckpt.contains("epoch 12, step 648"),
            "{w}x{h}\n{shown}"
        );
        assert!(shown.contains("state  done"), "{w}x{h}\n{shown}");
        if h >= 40 {
            // The screen has room for all twelve epochs: none is summarised away.
            for epoch in 1..=12 {
                assert!(
                    line_with(&shown, &format!("dev {epoch} ")).is_some(),
                    "{w}x{h}: dev {epoch}\n{shown}"
                );
            }
            assert!(!shown.contains("…  "), "{w}x{h}\n{shown}");
            assert!(shown.contains(&format!("{OUT}/best")) && shown.contains(&format!("{OUT}/last")));
        } else {
            // The others are summarised, not silently dropped.
            assert!(shown.contains("…  "), "{w}x{h}\n{shown}");
        }
        insta::assert_snapshot!(format!("app_done_12_epochs_{w}x{h}"), shown);
    }
}

#[test]
fn status_lines_wrap_or_shorten_and_never_cut_a_number() {
    let a = run(12);
    for (w, h) in [(80, 24), (120, 40)] {
        let shown = screen(w, h, &a);
        for line in shown.lines() {
            assert!(!line.contains("(1284/229/68│"), "{w}x{h}: {line}");
        }
        // The data line, whole or with its path shortened from the left.
        assert!(
            shown.contains("(1284/229/686); audio zero") || !shown.contains("1284"),
            "{w}x{h}\n{shown}"
        );
        // Wording: a finished run's learning rate is 0, its speed rounded, no ETA.
        let progress = field(&shown, "epoch").unwrap_or_else(|| panic!("{shown}"));
        assert!(
            progress.contains("12/12   step 648/648   lr 0   15.3 steps/s") && !progress.contains("ETA"),
            "{progress}"
        );
    }
    let tall = screen(120, 40, &a);
    for name in ["run", "model", "bert", "data"] {
        assert!(
            field(&tall, name).is_some(),
            "at 120x40 every status line fits: {name}\n{tall}"
        );
    }
}

#[test]
fn the_last_checkpoint_line_appears_once_saved() {
    let mut a = run(2);
    a.apply(&Event::Step {
        epoch: 2,
        step: 120,
        loss: 1.0,
        lr: 1e-4,
        elapsed: Duration::from_secs(8),
    });
    for (w, h) in [(80, 24), (120, 40)] {
        let before = screen(w, h, &a);
        let last = field(&before, "last").unwrap_or_else(|| panic!("{w}x{h}\n{before}"));
        assert!(last.contains("epoch 2, step 108"), "{w}x{h}: {last}");
    }
    // `s` mid-epoch: last/ holds step 120, inside epoch 3.
    a.apply(&saved(Saved::Last));
    assert_eq!(a.state.last_saved.as_ref().map(|s| s.step), Some(120));
    assert_eq!(a.state.best_saved.as_ref().map(|s| s.step), Some(108));
    for (w, h) in [(80, 24), (120, 40)] {
        let after = screen(w, h, &a);
        let last = field(&after, "last").unwrap_or_else(|| panic!("{w}x{h}\n{after}"));
        assert!(last.contains("step 120, in epoch 3"), "{w}x{h}: {last}");
        assert!(
            field(&after, "best").is_some_and(|l| l.contains("epoch 2, step 108")),
            "{after}"
        );
        // While running, the progress and ETA stay too.
        assert!(
            field(&after, "epoch").is_some_and(|l| l.contains("step 120/648   lr 1e-4")) && after.contains("ETA "),
            "{after}"
        );
    }
    // A run with no output directory saves nothing and shows no checkpoint line.
    let bare = screen(120, 40, &app(Activity::Training));
    assert!(
        field(&bare, "last").is_none() && field(&bare, "best").is_none(),
        "{bare}"
    );
}

#[test]
fn keys_scroll_the_metrics_on_the_training_screen() {
    let mut a = run(12);
    assert_eq!(a.state.metrics_scroll, 0, "follows the newest epoch");
    let at_80 = |a: &App| screen(80, 24, a);
    assert!(line_with(&at_80(&a), "dev 1 ").is_none(), "{}", at_80(&a));
    assert_eq!(a.on_key(KeyCode::Char('k')), []);
    assert_eq!(a.state.metrics_scroll, 1);
    a.on_key(KeyCode::Up);
    assert_eq!(a.state.metrics_scroll, 2);
    a.on_key(KeyCode::Char('j'));
    a.on_key(KeyCode::Down);
    a.on_key(KeyCode::Down);
    assert_eq!(a.state.metrics_scroll, 0, "no further than the newest");
    a.on_key(KeyCode::PageUp);
    assert_eq!(a.state.metrics_scroll, 5);
    a.on_input(Input::ScrollDown);
    assert_eq!(a.state.metrics_scroll, 4, "the mouse wheel too");
    a.on_key(KeyCode::Char('g'));
    assert_eq!(a.state.metrics_scroll, 11, "the first epoch");
    a.on_key(KeyCode::PageUp);
    assert_eq!(a.state.metrics_scroll, 11, "no further than the first");
    let top = at_80(&a);
    for row in ["dev 1 ", "dev 6 ", "test "] {
        assert!(line_with(&top, row).is_some(), "{row} after g\n{top}");
    }
    assert!(line_with(&top, "dev 12 ").is_none(), "{top}");
    a.on_key(KeyCode::Char('G'));
    assert_eq!(a.state.metrics_scroll, 0);
    a.on_key(KeyCode::PageUp);
    a.on_key(KeyCode::PageDown);
    assert_eq!(a.state.metrics_scroll, 0);

    // On the attention screen the same keys move the list, not the metrics.
    a.on_key(KeyCode::Char('2'));
    a.on_key(KeyCode::Char('k'));
    a.on_key(KeyCode::Char('g'));
    assert_eq!(a.state.metrics_scroll, 0);
}

#[test]
fn rows_in_view_stay_in_view_as_epochs_arrive() {
    let mut a = run(4);
    a.on_key(KeyCode::Char('k'));
    a.on_key(KeyCode::Char('k'));
    assert_eq!(a.state.metrics_scroll, 2);
    a.apply(&Event::EpochEnd {
        epoch: 4,
        train_loss: 1.0,
        dev_loss: 0.99,
        dev: Metrics::compute(&[1.0, -1.0], &[1.0, -1.0]),
        best: true,
    });
    assert_eq!(a.state.metrics_scroll, 3, "the newest shown is still dev 2");
}
