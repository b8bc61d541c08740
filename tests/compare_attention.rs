//! The attention of two runs compared (issue 16, item 4), end to end through the binary: two
//! tiny real runs (`zero` and `learned`) trained with the same `--watch`, then
//! `compare --attention-out` writes both runs' W_m and their difference as PNG and SVG, and
//! the compare screen's attention view (`a`) shows them; a run that recorded nothing is one
//! line, on the screen and as an error.

mod common;

use std::path::{Path, PathBuf};

use cmbert::commands::compare::{load, recordings};
use cmbert::compare::attention::{pair, Recording, Side};
use cmbert::ui::compare::{CompareMode, CompareView};
use cmbert::ui::{Input, Theme};
use common::*;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const SIZES: [usize; 3] = [24, 8, 8];

/// Trains `variant` (a `--cls-audio`) into `dir/NAME` with `extra` flags.
fn train(dir: &Path, name: &str, variant: &str, extra: &[&str]) -> PathBuf {
    let (data, audio, out) = (dir.join("data"), dir.join("audio.safetensors"), dir.join(name));
    train_variant(&data, &audio, &out, variant, Schedule { epochs: 2, batch: 8 }, extra);
    out
}

fn screen(view: &CompareView, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| view.draw(f)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..h)
        .map(|y| (0..w).map(|x| buffer[(x, y)].symbol()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn two_real_runs_attention_side_by_side_exported_and_on_screen() {
    let tmp = tempfile::tempdir().unwrap();
    write_tiny_corpus(&tmp.path().join("data"), SIZES);
    write_tiny_audio(&tmp.path().join("audio.safetensors"), SIZES, 0.5);
    let watch = ["--watch", "test:2", "--watch", "dev:1"];
    let zero = train(tmp.path(), "zero", "zero", &watch);
    let learned = train(tmp.path(), "learned", "learned", &watch);
    let unwatched = train(tmp.path(), "unwatched", "learned", &[]);

    let (code, out, err) = cli_in(
        tmp.path(),
        &[
            "compare",
            "zero",
            "learned",
            "--attention-out",
            "pair.png",
            "--attention-out",
            "pair.svg",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "wrote pair.png (the attention of test #2 in cls-audio zero and cls-audio learned, and their difference)"
        ),
        "{out}"
    );
    // The figure of the first utterance both recorded, as the library lays it out.
    let cmp = load(&[zero.clone(), learned.clone()]).unwrap();
    let recorded = recordings(&cmp);
    let side = |i: usize| Side {
        label: &cmp.rows[i].label,
        dir: &cmp.rows[i].dir,
        recording: &recorded[i],
    };
    let pairs = pair(side(0), side(1)).unwrap();
    let names: Vec<String> = pairs.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["test #2", "dev #1"]);
    assert!(pairs.iter().all(|p| p.same_tokens()), "one tokenizer, one corpus");
    let figure = cmbert::export::pair::figure(&pairs[0], ["cls-audio zero", "cls-audio learned"], "").unwrap();
    let png = std::fs::read(tmp.path().join("pair.png")).unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap()
        .info()
        .clone();
    assert_eq!(
        (info.width, info.height),
        (figure.layout().width, figure.layout().height)
    );
    assert!(
        info.width >= 1600 && info.height > 300,
        "{}x{}",
        info.width,
        info.height
    );
    assert_eq!(figure.layout().rows[0].heatmaps.len(), 3);
    let svg = std::fs::read_to_string(tmp.path().join("pair.svg")).unwrap();
    for text in [
        "A: cls-audio zero",
        "B: cls-audio learned",
        "B − A: W_m difference",
        "audio removed",
    ] {
        assert!(svg.contains(text), "{text}");
    }
    // The models differ: their W_m on the same words do too.
    let diff = pairs[0].difference(cmbert::attention::Level::Word, true).unwrap();
    assert!(diff.values.iter().flatten().any(|v| v.abs() > 1e-6));

    // --utterance picks another shared one; one not shared is a one-line error.
    let (code, out, err) = cli_in(
        tmp.path(),
        &[
            "compare",
            "zero",
            "learned",
            "--attention-out",
            "dev.png",
            "--utterance",
            "dev:1",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("the attention of dev #1"), "{out}");
    let (code, _, err) = cli_in(
        tmp.path(),
        &[
            "compare",
            "zero",
            "learned",
            "--attention-out",
            "x.png",
            "--utterance",
            "dev:5",
        ],
    );
    assert_eq!(code, 2);
    assert_eq!(
        err.trim(),
        "error: --utterance dev:5: not recorded by both runs; they share test #2, dev #1"
    );
    // A run that watched nothing has no attention file: said in one line, nothing written.
    let (code, _, err) = cli_in(
        tmp.path(),
        &["compare", "zero", "unwatched", "--attention-out", "y.png"],
    );
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("no attention.safetensors in") && err.contains("no attention to compare"),
        "{err}"
    );
    assert!(!tmp.path().join("y.png").exists());

    // The screen: `a` switches to the attention view of the same two runs.
    let mut view = CompareView::new(cmp, recorded, Theme::default());
    view.on_input(Input::Key(KeyEvent::from(KeyCode::Char('a'))));
    assert_eq!(view.mode, CompareMode::Attention);
    for (w, h) in [(120, 40), (80, 24)] {
        let shown = screen(&view, w, h);
        for text in [
            "W_m of test #2",
            "A · cls-audio zero",
            "B · cls-audio learned",
            "B − A",
            "audio removed",
        ] {
            assert!(shown.contains(text), "{text} at {w}x{h}:\n{shown}");
        }
    }
    view.on_input(Input::Key(KeyEvent::from(KeyCode::Right)));
    assert!(screen(&view, 120, 40).contains("W_m of dev #1"));
    let cmp = load(&[zero, unwatched]).unwrap();
    let recorded = recordings(&cmp);
    assert!(matches!(recorded[1], Recording::Missing));
    let mut view = CompareView::new(cmp, recorded, Theme::default());
    view.on_input(Input::Key(KeyEvent::from(KeyCode::Tab)));
    let shown = screen(&view, 120, 40);
    assert!(shown.contains("no attention.safetensors in"), "{shown}");
}
