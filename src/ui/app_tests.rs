//! The app's key handling as state transitions: Esc closes the innermost thing open (the
//! help, the search, the heatmap focus) and never quits, whatever the run's state; only `q` and
//! Ctrl-C quit. And what the screens show that depends on the app's state alone (the help
//! overlay, the attention screen of a model without fusion attention).

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Activity, App, Focus, Input, Screen, HELP};
use crate::train::{Command, Event, Metrics, RunSummary};
use crate::ui::tests::{app, screen};
use crate::ui::RunStatus;

fn finished(mut a: App) -> App {
    a.apply(&Event::Finished(RunSummary {
        seed: 1,
        best_epoch: 0,
        best_dev_loss: 0.61,
        test: Metrics::compute(&[1.0, 1.0], &[1.0, -1.0]),
        test_loss: 0.4,
        test_predictions: vec![],
        wall_time: Duration::from_secs(30),
        best_checkpoint: None,
    }));
    assert_eq!(a.state.status, RunStatus::Done);
    a
}

/// Nothing quit, nothing asked, and the worker was told nothing that ends it.
fn still_running(a: &App, commands: &[Command], what: &str) {
    assert!(!a.quit, "{what}: esc quit");
    assert!(!a.confirm_quit, "{what}: esc asked to quit");
    assert!(!commands.contains(&Command::Stop), "{what}: esc stopped the worker");
}

#[test]
fn esc_closes_the_help_and_the_app_keeps_running() {
    for (name, mut a) in [
        ("training", app(Activity::Training)),
        ("inspecting", app(Activity::Inspecting)),
        ("done", finished(app(Activity::Training))),
    ] {
        let screen_before = a.screen;
        a.on_key(KeyCode::Char('?'));
        assert!(a.show_help, "{name}");
        let commands = a.on_key(KeyCode::Esc);
        assert!(!a.show_help, "{name}: esc closes the help");
        assert_eq!(a.screen, screen_before, "{name}: the view under the help stays");
        still_running(&a, &commands, name);
    }
    let a = app(Activity::Training);
    assert_eq!(a.state.status, RunStatus::Running, "the run goes on");
}

#[test]
fn esc_ends_a_search_and_clears_it() {
    let mut a = app(Activity::Training);
    let all = a.browser.order.clone();
    a.on_key(KeyCode::Char('/'));
    for c in "boring".chars() {
        a.on_key(KeyCode::Char(c));
    }
    assert!(a.browser.searching);
    assert_eq!(a.browser.order, [1], "the search filters the list");
    let commands = a.on_key(KeyCode::Esc);
    assert!(!a.browser.searching, "esc ends the search");
    assert!(a.browser.query.is_empty(), "and clears it");
    assert_eq!(a.browser.order, all, "every utterance is listed again");
    assert_eq!(a.screen, Screen::Attention);
    still_running(&a, &commands, "searching");
    // The next esc has nothing left to close, and does nothing.
    let commands = a.on_key(KeyCode::Esc);
    still_running(&a, &commands, "after the search");
    assert_eq!(a.browser.order, all);
}

#[test]
fn esc_leaves_the_heatmap_focus() {
    for (name, mut a) in [
        ("training", app(Activity::Training)),
        ("inspecting", app(Activity::Inspecting)),
    ] {
        a.on_key(KeyCode::Tab);
        assert_eq!(a.focus, Focus::Heatmap, "{name}");
        let commands = a.on_key(KeyCode::Esc);
        assert_eq!(a.focus, Focus::List, "{name}: esc gives the focus back to the list");
        assert_eq!(a.screen, Screen::Attention, "{name}");
        still_running(&a, &commands, name);
    }
}

/// Before, Esc quit at once once the run was done: the finished run's view was lost.
#[test]
fn esc_on_a_done_run_does_not_quit() {
    let mut a = finished(app(Activity::Training));
    for screen_key in ['1', '2'] {
        a.on_key(KeyCode::Char(screen_key));
        for _ in 0..3 {
            let commands = a.on_key(KeyCode::Esc);
            still_running(&a, &commands, "done");
            assert_eq!(commands, [], "nothing to close: esc does nothing");
        }
    }
    let mut inspecting = app(Activity::Inspecting);
    let commands = inspecting.on_key(KeyCode::Esc);
    still_running(&inspecting, &commands, "inspecting");
    // q still quits a finished run at once, and Ctrl-C too.
    assert_eq!(a.on_key(KeyCode::Char('q')), [Command::Stop]);
    assert!(a.quit);
    let mut b = finished(app(Activity::Training));
    let ctrl_c = Input::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(b.on_input(ctrl_c), [Command::Stop]);
    assert!(b.quit);
}

/// The overlay at both sizes: every entry visible, Esc's entry says what it closes.
#[test]
fn help_overlay_at_both_sizes() {
    assert!(HELP.iter().any(|(k, what)| *k == "esc" && what.contains("help")));
    assert!(
        HELP.iter()
            .all(|(k, what)| k.chars().count() <= 9 && what.chars().count() <= 28),
        "an entry is wider than its column"
    );
    for (w, h) in [(80, 24), (120, 40)] {
        let mut a = app(Activity::Training);
        a.on_key(KeyCode::Char('?'));
        let shown = screen(w, h, &a);
        for (key, what) in HELP {
            assert!(shown.contains(what), "{w}x{h}: {key} missing:\n{shown}");
        }
        insta::assert_snapshot!(format!("help_{w}x{h}"), shown);
    }
}

/// The attention screen before any attention arrived: T-BERT, which has no fusion attention,
/// says so (read from the typed model, not from a model line that starts with "t-bert").
#[test]
fn t_bert_says_it_has_no_fusion_attention() {
    use crate::model::{ClsAudio, ModelKind};
    use crate::ui::{Browser, ModelInfo, RunInfo, RunState, Theme};
    let shown = |model: Option<ModelInfo>| {
        let info = RunInfo {
            run_name: "open runs/a/best".into(),
            model,
            ..RunInfo::default()
        };
        let browser = Browser::new([vec![], vec![], vec![]], crate::data::Split::Test);
        let a = App::new(
            RunState::with_info(info),
            browser,
            Theme::built_in(0),
            Activity::Inspecting,
        );
        screen(80, 24, &a)
    };
    let t_bert = ModelInfo {
        kind: ModelKind::TBert,
        cls_audio: None,
        preset: None,
    };
    let cm_bert = ModelInfo {
        kind: ModelKind::CmBert,
        cls_audio: Some(ClsAudio::Zero),
        preset: None,
    };
    assert!(shown(Some(t_bert)).contains("T-BERT has no fusion attention to show"));
    for model in [Some(cm_bert), None] {
        let screen = shown(model);
        assert!(screen.contains("waiting for the model"), "{model:?}:\n{screen}");
    }
}
