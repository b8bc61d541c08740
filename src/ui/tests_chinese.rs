//! Chinese text on screen (issue 18 item 2, CH-SIMS): the browser, the heatmaps' row and
//! column labels, the `[CLS]` bars and the status line at 80x24 and 120x40. A CJK character
//! takes two terminal columns, so labels are measured and padded in columns, not characters;
//! the snapshots are read back as a terminal shows them (a wide character's second cell is
//! not printed, and must not have been drawn over).

use crossterm::event::KeyCode;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

use crate::attention::{view, Level, Matrix};
use crate::data::Split;
use crate::train::{AttentionSnapshot, Event, Inspection, Weights};
use crate::ui::browser::Utterance;
use crate::ui::heatmap::{abbreviate, HeatmapPanel};
use crate::ui::text::cols;
use crate::ui::{Activity, App, Browser, RunState, Theme};

/// The buffer as a terminal shows it; panics where a cell hidden under a wide character was
/// drawn on (the terminal would show the wide character cut, or shifted).
fn shown(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        let mut x = 0;
        while x < area.width {
            let symbol = buffer[(x, y)].symbol();
            line.push_str(symbol);
            let w = cols(symbol).max(1) as u16;
            for hidden in 1..w {
                if x + hidden < area.width {
                    let under = buffer[(x + hidden, y)].symbol();
                    assert_eq!(under, " ", "({x}, {y}): {symbol:?} drawn over by {under:?}\n{line}");
                }
            }
            x += w;
        }
        out += line.trim_end();
        out.push('\n');
    }
    out
}

fn screen(width: u16, height: u16, app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| app.draw(f)).unwrap();
    shown(terminal.backend().buffer())
}

/// 我很喜欢这部电影 as bert-base-chinese tokenises it: one token, and one word, per character.
fn snapshot(index: usize) -> AttentionSnapshot {
    let chars = ["我", "很", "喜", "欢", "这", "部", "电", "影"];
    let tokens: Vec<String> = std::iter::once("[CLS]")
        .chain(chars)
        .chain(["[SEP]"])
        .map(String::from)
        .collect();
    let n = tokens.len();
    let grid = |f: &dyn Fn(usize, usize) -> f32| -> Vec<Vec<f32>> {
        (0..n).map(|i| (0..n).map(|j| f(i, j)).collect()).collect()
    };
    AttentionSnapshot {
        index,
        token_words: (0..n).map(|t| (t > 0 && t + 1 < n).then(|| t - 1)).collect(),
        tokens,
        words: chars.map(String::from).to_vec(),
        label: 0.8,
        prediction: 0.62,
        prediction_without_audio: 0.55,
        batching: "evaluation batch 0".into(),
        text_attention: grid(&|i, j| ((i * 7 + j * 3) % 11) as f32 / 4.0),
        audio_attention: grid(&|i, j| ((i + j) % 3) as f32),
        fusion_scores: grid(&|i, j| (i as f32 - j as f32) / 3.0),
        multimodal_attention: grid(&|_, j| if j == 3 { 0.3 } else { 0.7 / (n - 1) as f32 }),
    }
}

fn app() -> App {
    let u = |text: &str, label: f32| Utterance {
        text: text.into(),
        label,
    };
    let mut browser = Browser::new(
        [
            vec![u("太无聊了", -0.6)],
            vec![
                u("我很喜欢这部电影", 0.8),
                u("演员演得不错，但是情节一般", 0.2),
                u("不好看", -0.8),
            ],
            vec![u("非常感人", 1.0)],
        ],
        Split::Dev,
    );
    browser.set_predictions(Split::Dev, vec![0.62, -0.1, -0.5], Weights::Live { step: 10 });
    let mut app = App::new(RunState::new("open"), browser, Theme::built_in(0), Activity::Inspecting);
    app.apply(&Event::Attention(Box::new(Inspection {
        split: Split::Dev,
        weights: Weights::Live { step: 10 },
        snapshot: snapshot(0),
    })));
    app.explorer.watching = Some((Split::Dev, 0));
    app.on_key(KeyCode::Char('2'));
    app
}

#[test]
fn chinese_browser_heatmaps_and_bars_at_both_sizes() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut a = app();
        let shown = screen(w, h, &a);
        assert!(shown.contains("我很喜欢这部电影"), "{w}x{h}:\n{shown}");
        insta::assert_snapshot!(format!("chinese_attention_{w}x{h}"), shown);
        // The cursor on a character's cell: its row and column labels and the readout.
        a.on_key(KeyCode::Tab);
        a.on_key(KeyCode::Right);
        a.on_key(KeyCode::Down);
        insta::assert_snapshot!(format!("chinese_attention_cursor_{w}x{h}"), screen(w, h, &a));
    }
}

#[test]
fn a_heatmap_too_narrow_for_whole_labels_cuts_them_at_a_column_not_inside_a_character() {
    let snap = snapshot(0);
    let theme = Theme::built_in(0);
    let v = view(&snap, Matrix::AlphaT, Level::Word, true);
    for width in [14, 17, 24, 30] {
        let mut buffer = Buffer::empty(ratatui::layout::Rect::new(0, 0, width, 14));
        ratatui::widgets::Widget::render(
            HeatmapPanel {
                view: &v,
                theme: &theme,
                cursor: Some((2, 2)),
                focused: true,
                note: "",
            },
            buffer.area,
            &mut buffer,
        );
        // Panics if a label ran into the cells or a cell covered half a character.
        let text = shown(&buffer);
        assert!(text.contains('我'), "{width}:\n{text}");
    }
    assert_eq!(abbreviate("电影院", 5), "电影…", "two columns each");
    assert_eq!(abbreviate("电影院", 4), "电…");
    assert_eq!(abbreviate("电影院", 3), "电");
    assert_eq!(abbreviate("##电影院", 6), "·电影…");
}
