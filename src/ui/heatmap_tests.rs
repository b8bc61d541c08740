//! The heatmaps and the `[CLS]` bars on an 18-word utterance with word pieces, at 80x24
//! and 120x40: cells and labels sized from the panel, rows, columns and bars that scroll
//! with the cursor, and `b`, which moves the bars without ever drawing them twice.

use crossterm::event::KeyCode;

use super::*;
use crate::attention::{view, Level, Matrix};
use crate::data::Split;
use crate::train::{Event, Inspection};
use crate::ui::browser::Utterance;
use crate::ui::explorer::Bars;
use crate::ui::tests::{screen, widget};
use crate::ui::{Activity, App, Browser, RunState};

const WORDS: [&str; 18] = [
    "honestly",
    "the",
    "momentum",
    "kept",
    "building",
    "until",
    "the",
    "ending",
    "felt",
    "rushed",
    "and",
    "strangely",
    "uninspired",
    "but",
    "i",
    "still",
    "enjoyed",
    "it",
];

/// The 18 words as WordPiece would cut them: 25 pieces, 27 tokens with the specials.
fn pieces() -> Vec<(&'static str, Option<usize>)> {
    let mut out = vec![("[CLS]", None)];
    let cut: [&[&str]; 18] = [
        &["honestly"],
        &["the"],
        &["momentum"],
        &["kept"],
        &["build", "##ing"],
        &["until"],
        &["the"],
        &["end", "##ing"],
        &["felt"],
        &["rush", "##ed"],
        &["and"],
        &["strange", "##ly"],
        &["un", "##ins", "##pired"],
        &["but"],
        &["i"],
        &["still"],
        &["enjoy", "##ed"],
        &["it"],
    ];
    for (w, parts) in cut.iter().enumerate() {
        out.extend(parts.iter().map(|p| (*p, Some(w))));
    }
    out.push(("[SEP]", None));
    out
}

fn long_snapshot() -> AttentionSnapshot {
    let tokens = pieces();
    let n = tokens.len();
    let grid = |f: &dyn Fn(usize, usize) -> f32| -> Vec<Vec<f32>> {
        (0..n).map(|i| (0..n).map(|j| f(i, j)).collect()).collect()
    };
    // W_m rows sum to 1 with uneven weights, so that the bars differ.
    let raw = |i: usize, j: usize| 1.0 + ((j * 13 + i * 3) % 7) as f32;
    let sums: Vec<f32> = (0..n).map(|i| (0..n).map(|j| raw(i, j)).sum()).collect();
    AttentionSnapshot {
        index: 0,
        tokens: tokens.iter().map(|t| t.0.to_string()).collect(),
        words: WORDS.map(String::from).to_vec(),
        token_words: tokens.iter().map(|t| t.1).collect(),
        label: -0.6,
        prediction: -0.42,
        prediction_without_audio: -0.3,
        batching: "evaluation batch 0".into(),
        text_attention: grid(&|i, j| ((i * 7 + j * 3) % 11) as f32 / 4.0),
        audio_attention: grid(&|i, j| ((i + j) % 5) as f32 / 5.0),
        fusion_scores: grid(&|i, j| (i as f32 - j as f32) / 9.0),
        multimodal_attention: grid(&|i, j| raw(i, j) / sums[i]),
    }
}

fn long_app() -> App {
    let row = Utterance {
        text: WORDS.join(" ").to_uppercase(),
        label: -0.6,
    };
    let browser = Browser::new([Vec::new(), vec![row], Vec::new()], Split::Dev);
    let mut state = RunState::new("open");
    state.info.checkpoint = Some("runs/demo/best".into());
    let mut app = App::new(state, browser, crate::ui::Theme::built_in(0), Activity::Inspecting);
    app.apply(&Event::Attention(Box::new(Inspection {
        split: Split::Dev,
        weights: crate::train::Weights::Checkpoint,
        snapshot: long_snapshot(),
    })));
    app.explorer.watching = Some((Split::Dev, 0));
    app
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.on_key(KeyCode::Char(c));
    }
}

/// The screen lines from the heatmaps' title down.
fn maps(shown: &str) -> Vec<&str> {
    shown.lines().skip_while(|l| !l.contains("dev #0")).collect()
}

fn count(shown: &str, what: &str) -> usize {
    shown.matches(what).count()
}

#[test]
fn window_keeps_the_target_visible() {
    assert_eq!(window(0, 5, 3), 0);
    assert_eq!(window(9, 5, 20), 7);
    assert_eq!(window(19, 5, 20), 15);
    for t in 0..20 {
        let w = window(t, 5, 20);
        assert!(w <= t && t < w + 5, "{t} {w}");
    }
}

#[test]
fn labels_shorten_readably() {
    assert_eq!(abbreviate("##ing", 5), "##ing");
    assert_eq!(abbreviate("##ing", 4), "·ing");
    assert_eq!(abbreviate("##ing", 3), "ing");
    assert_eq!(abbreviate("##ing", 1), "i", "a piece is never shown as '#'");
    assert_eq!(abbreviate("momentum", 8), "momentum");
    assert_eq!(abbreviate("momentum", 6), "momen…");
    assert_eq!(abbreviate("momentum", 3), "mom");
    assert_eq!(abbreviate("##pired", 5), "·pir…");
    assert_eq!(abbreviate("[CLS]", 3), "CLS");
    assert_eq!(abbreviate("[SEP]", 4), "SEP");
}

/// At 120x40 every word row fits, with whole row labels and columns that fill the panel;
/// the column labels are staggered so that each is whole.
#[test]
fn words_at_120x40_fill_the_panels() {
    let mut a = long_app();
    let shown = screen(120, 40, &a);
    insta::assert_snapshot!("long_words_120x40", shown);
    let maps = maps(&shown);
    for w in WORDS {
        assert!(
            maps.iter().any(|l| l.contains(&format!(" {w} ░"))
                || l.contains(&format!(" {w} ▒"))
                || l.contains(&format!(" {w} ▓"))
                || l.contains(&format!(" {w} █"))),
            "row {w} shown whole:\n{shown}"
        );
    }
    // Four lines of column labels (what the 20 rows leave), every word whole.
    let header: Vec<&str> = maps[2..6].iter().flat_map(|l| l.split([' ', '│'])).collect();
    for w in WORDS {
        assert!(header.contains(&w), "column label {w}:\n{shown}");
    }
    // The cells reach the right border: no empty columns beside the grid.
    let sep = maps.iter().find(|l| l.contains("[SEP] ")).expect("the [SEP] row");
    for half in sep.split('│').filter(|h| h.contains("[SEP]")) {
        assert!(!half.ends_with(' '), "cells fill the panel: {half:?}");
    }
    // No room below the matrices for 20 bars and all 20 rows: the bars are not drawn.
    assert_eq!(count(&shown, "the voice"), 0, "{shown}");
    press(&mut a, "b");
    let bars = screen(120, 40, &a);
    insta::assert_snapshot!("long_bars_left_120x40", bars);
    assert_eq!(count(&bars, "[CLS] row of W_m"), 1);
    assert_eq!(count(&bars, "the voice"), 1);
    assert_eq!(
        count(&bars, "alpha_t · text attention"),
        0,
        "the bars replace the left matrix"
    );
    for w in WORDS {
        assert!(bars.contains(&format!("{w:>10} █")), "bar of {w}:\n{bars}");
    }
}

/// Word pieces are labelled in full (`##ing`, not `#`); moving the cursor to the last row
/// scrolls the rows (marked `↑`) and keeps the cursor in view, at both sizes.
#[test]
fn pieces_scroll_with_the_cursor() {
    for (w, h) in [(120, 40), (80, 24)] {
        let mut a = long_app();
        press(&mut a, "w");
        a.on_key(KeyCode::Tab);
        let top = screen(w, h, &a);
        assert!(top.contains("##ing") || top.contains("·ing"), "{w}x{h}:\n{top}");
        let lone = |l: &&str| l.split(['│', ' ']).any(|word| word == "#" || word == "#…");
        assert!(!maps(&top).iter().any(lone), "{w}x{h}: no lone '#':\n{top}");
        assert!(top.contains('↓'), "{w}x{h}: more rows below:\n{top}");
        for _ in 0..40 {
            a.on_key(KeyCode::Down);
            a.on_key(KeyCode::Right);
        }
        assert_eq!(a.explorer.cursor, (26, 26));
        let bottom = screen(w, h, &a);
        insta::assert_snapshot!(format!("long_pieces_last_row_{w}x{h}"), bottom);
        assert!(bottom.contains("[SEP] → [SEP]"), "the readout names the cell");
        let last = maps(&bottom)
            .into_iter()
            .find(|l| l.contains('◆'))
            .unwrap_or_else(|| panic!("{w}x{h}: the cursor cell is drawn:\n{bottom}"));
        assert!(last.contains("[SEP]"), "{w}x{h}: on the [SEP] row: {last}");
        assert!(bottom.contains('↑'), "{w}x{h}: rows above marked:\n{bottom}");
    }
}

/// At 80x24 not every column fits: they scroll with the cursor, the hidden ones counted;
/// the bars (`b`) scroll with the cursor's column and say which words they show.
#[test]
fn columns_and_bars_scroll_at_80x24() {
    let mut a = long_app();
    let start = screen(80, 24, &a);
    insta::assert_snapshot!("long_words_80x24", start);
    assert!(start.contains("▸"), "columns hidden on the right:\n{start}");
    a.on_key(KeyCode::Tab);
    press(&mut a, "b");
    for _ in 0..19 {
        a.on_key(KeyCode::Right);
    }
    let end = screen(80, 24, &a);
    insta::assert_snapshot!("long_bars_left_80x24", end);
    assert!(end.contains("◂"), "columns hidden on the left:\n{end}");
    assert!(
        end.contains("words") && end.contains("of 20"),
        "the bars say which words:\n{end}"
    );
    let bar_of = |shown: &str, w: &str| shown.lines().any(|l| l.contains(&format!("{w} █")));
    assert!(bar_of(&end, "[SEP]"), "the cursor's word has its bar in view:\n{end}");
    assert!(!bar_of(&end, "honestly"), "the first words scrolled away:\n{end}");
}

/// `b` moves the bars between below the matrices and the left panel: each mode draws them
/// at most once, and never beside a copy of themselves or of a matrix.
#[test]
fn b_moves_the_bars_and_never_duplicates() {
    for (w, h) in [(80, 24), (120, 40)] {
        for app in [crate::ui::tests::app(Activity::Inspecting), long_app()] {
            let mut a = app;
            assert_eq!(a.explorer.bars, Bars::Below);
            for mode in [Bars::Left, Bars::Below, Bars::Left] {
                press(&mut a, "b");
                assert_eq!(a.explorer.bars, mode);
                let shown = screen(w, h, &a);
                // The verdict line belongs to the bars panel only.
                let bars = count(&shown, "the voice");
                let left = count(&shown, "alpha_t · text attention");
                let right = count(&shown, "W_m · multimodal attention");
                assert_eq!(right, 1, "{w}x{h} {mode:?}:\n{shown}");
                match mode {
                    Bars::Left => assert_eq!((bars, left), (1, 0), "{w}x{h}:\n{shown}"),
                    Bars::Below => assert!(left == 1 && bars <= 1, "{w}x{h}:\n{shown}"),
                }
            }
        }
    }
    // The short utterance leaves room below at 120x40: the bars are there, then only left.
    let mut a = crate::ui::tests::app(Activity::Inspecting);
    let below = screen(120, 40, &a);
    assert_eq!(count(&below, "the voice"), 1, "{below}");
    press(&mut a, "b");
    let left = screen(120, 40, &a);
    let line = left.lines().find(|l| l.contains("[CLS] row of W_m")).unwrap();
    assert!(line.starts_with("┌ [CLS] row"), "in the left panel: {line}");
}

/// The bars panel lays its words out in as many columns as the height needs.
#[test]
fn bars_flow_into_columns_to_show_every_word() {
    let snap = long_snapshot();
    let weights = crate::attention::cls_weights(&snap, Level::Word, true);
    let theme = Theme::built_in(0);
    let panel = |cursor| ClsPanel {
        snapshot: &snap,
        weights: &weights,
        theme: &theme,
        cursor,
    };
    assert_eq!(panel(None).wanted_height(118), 2 + 1 + 5, "20 bars in 4 columns of 5");
    let shown = widget(118, 8, panel(Some(3)));
    insta::assert_snapshot!("long_bars_strip", shown);
    for w in WORDS {
        assert!(shown.contains(&format!("{w} █")), "{w}:\n{shown}");
    }
    let v = view(&snap, Matrix::WM, Level::Word, true);
    assert_eq!(
        weights.iter().map(|w| &w.0).collect::<Vec<_>>(),
        v.labels.iter().collect::<Vec<_>>(),
        "one bar per heatmap column"
    );
}

/// Every size from nothing to a panel, both levels, the cursor anywhere: no panic, and the
/// cursor's cell is drawn whenever any cell is.
#[test]
fn any_size_draws_without_panic() {
    let snap = long_snapshot();
    let theme = Theme::built_in(0);
    for level in [Level::Word, Level::Piece] {
        let v = view(&snap, Matrix::WF, level, true);
        let weights = crate::attention::cls_weights(&snap, level, true);
        let last = v.labels.len() - 1;
        for (w, h) in (1..70u16)
            .step_by(3)
            .flat_map(|w| (1..34u16).step_by(2).map(move |h| (w, h)))
        {
            for cursor in [(0, 0), (last, last), (last / 2, 3)] {
                let panel = HeatmapPanel {
                    view: &v,
                    theme: &theme,
                    cursor: Some(cursor),
                    focused: true,
                    note: "",
                };
                let shown = widget(w, h, panel);
                // Inside the border (the legend is in the bottom one).
                let inside: String = shown.lines().skip(1).take(h.saturating_sub(2) as usize).collect();
                let any_cell = SHADES.iter().any(|s| inside.contains(s));
                assert!(!any_cell || inside.contains('◆'), "{w}x{h} {cursor:?}:\n{shown}");
                widget(
                    w,
                    h,
                    ClsPanel {
                        snapshot: &snap,
                        weights: &weights,
                        theme: &theme,
                        cursor: Some(cursor.1),
                    },
                );
            }
        }
    }
}
