//! The comparison screen on a `TestBackend` (snapshots at 120x40 and 80x24) and its keys as
//! state transitions, on run directories written as a real run writes them.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::*;
use crate::compare::testing::{spec, write_run};
use crate::compare::{Run, RunInput};
use crate::model::{ClsAudio, ModelKind};
use crate::train::history::History;
use crate::ui::tests::text;

fn run(dir: &Path) -> Run {
    Run::new(RunInput {
        dir: dir.to_path_buf(),
        history: History::read_run(dir).unwrap(),
        spec: None,
        test: None,
    })
}

/// `zero` (one run) against `learned` (three seeds, a lower loss), as `compare` finds them.
pub(crate) fn comparison(tmp: &Path) -> Comparison {
    let zero = tmp.join("zero");
    write_run(&zero, &spec(ModelKind::CmBert, ClsAudio::Zero, 1, 3), 1.2, 3);
    let seeds: Vec<Run> = (1..=3)
        .map(|seed| {
            let dir = tmp.join("learned").join(format!("seed-{seed}"));
            write_run(&dir, &spec(ModelKind::CmBert, ClsAudio::Learned, seed, 3), 1.0, 3);
            run(&dir)
        })
        .collect();
    Comparison::new(vec![
        ("runs/zero".into(), Grouping::Single, vec![run(&zero)]),
        ("runs/learned".into(), Grouping::Seeds, seeds),
    ])
}

fn screen(view: &CompareView, w: u16, h: u16) -> (String, Buffer) {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| view.draw(f)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (text(&buffer), buffer)
}

fn key(code: KeyCode) -> Input {
    Input::Key(KeyEvent::from(code))
}

#[test]
fn the_screen_overlays_the_runs_and_tabulates_them() {
    let tmp = tempfile::tempdir().unwrap();
    let view = CompareView::new(comparison(tmp.path()), Vec::new(), Theme::default());
    for (w, h) in [(120, 40), (80, 24)] {
        let (shown, _) = screen(&view, w, h);
        assert!(shown.contains("cls-audio zero, seed 1"), "{shown}");
        assert!(shown.contains("cls-audio learned, seeds 1,2,3"), "{shown}");
        assert!(shown.contains("Acc2"), "{shown}");
        insta::assert_snapshot!(format!("compare_{w}x{h}"), shown);
    }
}

#[test]
fn any_terminal_size_draws_without_a_panic() {
    // A width of 1 to 3 left the label a negative width (a panic in the release build too).
    let tmp = tempfile::tempdir().unwrap();
    let mut view = CompareView::new(comparison(tmp.path()), Vec::new(), Theme::default());
    for screen_key in [None, Some('a')] {
        if let Some(c) = screen_key {
            view.on_input(key(KeyCode::Char(c)));
        }
        for w in 1..=12 {
            for h in 1..=8 {
                screen(&view, w, h);
            }
        }
        screen(&view, 400, 3);
        screen(&view, 2, 150);
    }
}

#[test]
fn the_best_values_are_marked_and_each_row_has_its_colour() {
    let tmp = tempfile::tempdir().unwrap();
    let view = CompareView::new(comparison(tmp.path()), Vec::new(), Theme::default());
    let (shown, buffer) = screen(&view, 120, 40);
    // The seeds have the lower loss: their dev loss is the best, starred and in `good`.
    let (y, line) = shown
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("seeds 1,2,3"))
        .expect("the seed row");
    let star = line.find('*').expect("a best value on the seeds' row");
    let x = line[..star].chars().count() as u16;
    let cell = &buffer[(x, y as u16)];
    assert_eq!(cell.fg, view.theme.good);
    assert!(cell.modifier.contains(Modifier::BOLD));
    let zero = shown
        .lines()
        .find(|l| l.contains("seed 1") && !l.contains("seeds"))
        .unwrap();
    assert!(!zero.contains('*'), "{zero}");
    // The legend squares take the rows' colours.
    let square = |row: usize| {
        let y = shown
            .lines()
            .position(|l| l.contains(["seed 1 ", "seeds 1,2,3"][row]))
            .unwrap();
        let x = shown.lines().nth(y).unwrap().chars().position(|c| c == '■').unwrap();
        buffer[(x as u16, y as u16)].fg
    };
    assert_eq!(square(0), row_colour(&view.theme, 0));
    assert_eq!(square(1), row_colour(&view.theme, 1));
    let colours: Vec<Color> = (0..7).map(|i| row_colour(&view.theme, i)).collect();
    for (i, c) in colours.iter().enumerate() {
        assert!(!colours[..i].contains(c), "row {i} repeats a colour");
    }
}

#[test]
fn keys_change_the_scale_the_smoothing_and_the_theme() {
    let tmp = tempfile::tempdir().unwrap();
    let mut view = CompareView::new(comparison(tmp.path()), Vec::new(), Theme::default());
    let (linear, _) = screen(&view, 120, 40);
    view.on_input(key(KeyCode::Char('l')));
    assert!(view.log_scale);
    let (log, _) = screen(&view, 120, 40);
    assert!(log.contains(" loss, log scale") && !linear.contains(" loss, log scale"));
    assert_ne!(linear, log);
    view.on_input(key(KeyCode::Char('-')));
    assert_eq!(view.ema_alpha, 0.85);
    for _ in 0..5 {
        view.on_input(key(KeyCode::Char('+')));
    }
    assert_eq!(view.ema_alpha, 0.99, "bounded as on the training screen");
    let (smooth, _) = screen(&view, 120, 40);
    assert!(smooth.contains("EMA 0.99"), "{smooth}");
    view.on_input(key(KeyCode::Char('t')));
    assert_eq!(view.theme.name, "dark");
    assert_eq!(view.message.as_deref(), Some("theme dark"));
    view.on_input(key(KeyCode::Char('x')));
    assert_eq!(view.message, None, "the next key clears the message");
    assert!(!view.quit);
    view.on_input(key(KeyCode::Char('q')));
    assert!(view.quit);
    let mut view = CompareView::new(comparison(tmp.path()), Vec::new(), Theme::default());
    view.on_input(Input::Terminate);
    assert!(view.quit, "a signal ends the screen");
    let mut view = CompareView::new(comparison(tmp.path()), Vec::new(), Theme::default());
    view.on_input(Input::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
    assert!(view.quit);
}

/// Runs on a CH-SIMS pickle, as `compare` finds them: label M (one run) against label T
/// (two seeds).
fn sims_comparison(tmp: &Path) -> Comparison {
    use crate::compare::testing::write_run_of;
    use crate::data::{MmsaKind, MmsaLabel};
    let sims = |seed: u64, label: MmsaLabel| {
        let mut s = spec(ModelKind::CmBert, ClsAudio::Zero, seed, 3);
        s.data = "mmsa/sims.pkl".into();
        s.label = label;
        s
    };
    let m = tmp.join("m");
    write_run_of(Some(MmsaKind::Sims), &m, &sims(1, MmsaLabel::M), 1.2, 3);
    let seeds: Vec<Run> = (1..=2)
        .map(|seed| {
            let dir = tmp.join("t").join(format!("seed-{seed}"));
            write_run_of(Some(MmsaKind::Sims), &dir, &sims(seed, MmsaLabel::T), 1.0, 3);
            run(&dir)
        })
        .collect();
    Comparison::new(vec![
        ("runs/m".into(), Grouping::Single, vec![run(&m)]),
        ("runs/t".into(), Grouping::Seeds, seeds),
    ])
}

/// Before, a CH-SIMS run's table showed the paper's Acc2*, Acc7 (of labels in [-1, 1]) and
/// unclipped MAE; now MMSA's SIMS figures, a narrow screen keeping Acc2, MAE and Corr
/// longest (`compare --headless` and the files have Acc3 and Acc5 too).
#[test]
fn a_sims_comparison_shows_mmsas_sims_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let view = CompareView::new(sims_comparison(tmp.path()), Vec::new(), Theme::default());
    for (w, h) in [(120, 40), (80, 24)] {
        let (shown, _) = screen(&view, w, h);
        assert!(shown.contains("test (MMSA CH-SIMS)"), "{shown}");
        assert!(
            shown.contains("label M, seed 1") && shown.contains("label T, seeds 1,2"),
            "{shown}"
        );
        assert!(!shown.contains("Acc7") && !shown.contains("Acc2*"), "{shown}");
        for name in ["Acc2", "MAE", "Corr"] {
            assert!(shown.contains(name), "{name}: {shown}");
        }
        if w == 120 {
            assert!(shown.contains("F1") && shown.contains("test loss"), "{shown}");
        }
        insta::assert_snapshot!(format!("compare_sims_{w}x{h}"), shown);
    }
}
