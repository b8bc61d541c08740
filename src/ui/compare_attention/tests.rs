//! The attention view of the compare screen on a `TestBackend` (snapshots at 120x40 and
//! 80x24), what it says when there is nothing to pair, and its keys as state transitions.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::compare::attention::tests::log;
use crate::compare::attention::Recording;
use crate::compare::testing::{spec, write_run};
use crate::compare::{Comparison, Grouping, Run, RunInput};
use crate::data::Split;
use crate::model::{ClsAudio, ModelKind};
use crate::train::history::History;
use crate::ui::app::Input;
use crate::ui::compare::{CompareMode, CompareView};
use crate::ui::tests::text;
use crate::ui::Theme;

/// One row per (directory name, cls-audio, model), as `compare` finds them.
fn comparison(tmp: &Path, runs: &[(&str, ClsAudio, ModelKind)]) -> Comparison {
    let rows = runs
        .iter()
        .enumerate()
        .map(|(i, &(name, cls_audio, model))| {
            let dir = tmp.join(name);
            write_run(&dir, &spec(model, cls_audio, 1, 2), 1.0 + i as f64 * 0.1, 2);
            let run = Run::new(RunInput {
                dir: dir.clone(),
                history: History::read_run(&dir).unwrap(),
                spec: None,
                test: None,
            });
            (dir, Grouping::Single, vec![run])
        })
        .collect();
    Comparison::new(rows)
}

fn screen(view: &CompareView, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| view.draw(f)).unwrap();
    text(terminal.backend().buffer())
}

fn key(code: KeyCode) -> Input {
    Input::Key(KeyEvent::from(code))
}

const ZERO: (&str, ClsAudio, ModelKind) = ("zero", ClsAudio::Zero, ModelKind::CmBert);
const LEARNED: (&str, ClsAudio, ModelKind) = ("learned", ClsAudio::Learned, ModelKind::CmBert);

/// `zero` and `learned`, both watching test #6 and dev #3 (learned leaning elsewhere).
fn two_runs(tmp: &Path) -> CompareView {
    let recordings = vec![
        Recording::from_log(&log(&[(Split::Test, 6, 1), (Split::Dev, 3, 1)])),
        Recording::from_log(&log(&[(Split::Dev, 3, 3), (Split::Test, 6, 3), (Split::Dev, 9, 3)])),
    ];
    let mut view = CompareView::new(comparison(tmp, &[ZERO, LEARNED]), recordings, Theme::default());
    view.on_input(key(KeyCode::Char('a')));
    view
}

#[test]
fn the_view_shows_both_runs_and_their_difference() {
    let tmp = tempfile::tempdir().unwrap();
    let view = two_runs(tmp.path());
    assert_eq!(view.mode, CompareMode::Attention);
    for (w, h) in [(120, 40), (80, 24)] {
        let shown = screen(&view, w, h);
        assert!(shown.contains("test #6 \"funny ok\""), "{shown}");
        assert!(shown.contains("A prediction +0.800"), "{shown}");
        assert!(shown.contains("audio removed +0.750"), "{shown}");
        assert!(shown.contains("W_m of test #6") && shown.contains("B − A"), "{shown}");
        assert!(
            shown.contains("-0.500") && shown.contains("0.500"),
            "the difference's scale: {shown}"
        );
        insta::assert_snapshot!(format!("compare_attention_{w}x{h}"), shown);
    }
    let wide = screen(&view, 120, 40);
    assert!(
        wide.contains("A · cls-audio zero") && wide.contains("A prediction +0.800"),
        "{wide}"
    );
    assert!(
        wide.contains("B · cls-audio learned") && wide.contains("at step 8"),
        "{wide}"
    );
    assert!(wide.contains("recorded by both: test #6, dev #3"), "{wide}");
    assert!(wide.contains("←→ utterance 1/2"), "{wide}");
}

#[test]
fn keys_switch_views_move_between_utterances_and_pick_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut view = two_runs(tmp.path());
    view.on_input(key(KeyCode::Right));
    assert_eq!(view.attention.at, 1);
    assert!(screen(&view, 120, 40).contains("dev #3 \"funny ok\""));
    view.on_input(key(KeyCode::Right));
    assert_eq!(view.attention.at, 0, "wraps round");
    view.on_input(key(KeyCode::Left));
    assert_eq!(view.attention.at, 1);
    view.on_input(key(KeyCode::Char('s')));
    assert_eq!((view.attention.a, view.attention.b, view.attention.at), (1, 0, 0));
    let swapped = screen(&view, 120, 40);
    assert!(swapped.contains("A · cls-audio learned"), "{swapped}");
    assert!(swapped.contains("dev #3"), "A's order now: {swapped}");
    view.on_input(key(KeyCode::Tab));
    assert_eq!(view.mode, CompareMode::Curves);
    let curves = screen(&view, 120, 40);
    assert!(curves.contains("a attention") && curves.contains(" loss"), "{curves}");
    view.on_input(key(KeyCode::Right));
    assert_eq!(view.attention.at, 0, "the curves leave the utterance alone");
    view.on_input(key(KeyCode::Tab));
    assert_eq!(view.mode, CompareMode::Attention);
    view.on_input(key(KeyCode::Char('q')));
    assert!(view.quit, "q still quits");

    // Three runs: r and R take the next run as B or A, never both the same.
    let third = ("other", ClsAudio::Zero, ModelKind::CmBert);
    let all = log(&[(Split::Test, 6, 2)]);
    let recordings = vec![Recording::from_log(&all); 3];
    let tmp = tempfile::tempdir().unwrap();
    let mut view = CompareView::new(
        comparison(tmp.path(), &[ZERO, LEARNED, third]),
        recordings,
        Theme::default(),
    );
    view.on_input(key(KeyCode::Char('a')));
    let pick = |v: &CompareView| (v.attention.a, v.attention.b);
    assert_eq!(pick(&view), (0, 1));
    view.on_input(key(KeyCode::Char('r')));
    assert_eq!(pick(&view), (0, 2));
    view.on_input(key(KeyCode::Char('r')));
    assert_eq!(pick(&view), (0, 1), "B skips A");
    view.on_input(key(KeyCode::Char('R')));
    assert_eq!(pick(&view), (2, 1));
    assert!(screen(&view, 120, 40).contains("r R next run as B / A"));
}

#[test]
fn nothing_to_pair_is_said_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let t_bert = ("text", ClsAudio::Zero, ModelKind::TBert);
    let watched = Recording::from_log(&log(&[(Split::Test, 6, 1)]));
    let other = Recording::from_log(&log(&[(Split::Dev, 1, 1)]));
    let cases = [
        (
            vec![ZERO, LEARNED],
            vec![watched.clone()],
            "attention: cls-audio learned: no attention.safetensors in",
        ),
        (
            vec![ZERO, t_bert],
            vec![watched.clone(), Recording::TextOnly],
            "attention: t-bert is T-BERT: it has no multimodal attention (W_m) to compare",
        ),
        (
            vec![ZERO, LEARNED],
            vec![watched.clone(), other],
            "attention: cls-audio zero and cls-audio learned recorded no utterance in common (A: test #6; B: dev #1)",
        ),
    ];
    for (i, (runs, recordings, line)) in cases.into_iter().enumerate() {
        let dir = tmp.path().join(i.to_string());
        let mut view = CompareView::new(comparison(&dir, &runs), recordings, Theme::default());
        view.on_input(key(KeyCode::Char('a')));
        let shown = screen(&view, 120, 40);
        // Nothing but the one line (wrapped where the screen is narrower) and the footer.
        let said: Vec<&str> = shown.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let body = said[..said.len() - 1].join(" ");
        assert!(body.starts_with(line), "{line}\n{shown}");
        assert!(!body[1..].contains("attention: "), "one message: {shown}");
        assert!(said[said.len() - 1].starts_with("a curves"), "{shown}");
        view.on_input(key(KeyCode::Right));
        assert_eq!(view.attention.at, 0);
    }
    // Different tokens: both maps, and the difference panel says why it is empty.
    let mut b = watched.clone();
    if let Recording::Recorded(l) = &mut b {
        l[0].snapshot.tokens[2] = "##nies".into();
    }
    let view = {
        let mut v = CompareView::new(
            comparison(&tmp.path().join("t"), &[ZERO, LEARNED]),
            vec![watched, b],
            Theme::default(),
        );
        v.on_input(key(KeyCode::Char('a')));
        v
    };
    let shown = screen(&view, 120, 40);
    assert!(shown.contains("B prediction"), "{shown}");
    assert!(shown.contains("different tokens"), "{shown}");
}
