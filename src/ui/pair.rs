//! A stress pair (`open CHECKPOINT --wav A.wav --words A --wav B.wav --words B`): the same
//! words said twice, the stress on another clause each time (issue 19 item 3). The list
//! holds both recordings with their predictions; this panel shows where the `[CLS]` row of
//! W_m (the only row that reaches the score, docs/MODEL.md §3) moved between them: per word,
//! A's weight, B's weight and B − A, under both predictions. It takes the place of the
//! one-utterance `[CLS]` bars, beside the right matrix at first (`b` moves it, as it moves
//! them).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::app::App;
use super::explorer::Bars;
use super::heatmap::{abbreviate, window};
use super::text::{self, pad_left};
use super::theme::{color, Theme};
use crate::attention::{cls_weights, Level};
use crate::train::AttentionSnapshot;

/// Both recordings of a pair as the opened model sees them.
#[derive(Debug, Clone)]
pub struct StressPair {
    /// The recordings' file names, A then B (the order of `--wav`).
    pub names: [String; 2],
    /// Their attention and predictions, computed by `open` with the model it opened, both
    /// utterances in one evaluation batch (as `export` computes them).
    pub snapshots: [AttentionSnapshot; 2],
}

/// One line of the panel: a column of the views and its `[CLS]` weight in each recording
/// (`None` past the end of the shorter one, when the words differ).
#[derive(Debug, Clone, PartialEq)]
pub struct PairRow {
    /// A's word; `a/b` where B's word at this place differs.
    pub label: String,
    /// A's weight.
    pub a: Option<f32>,
    /// B's weight.
    pub b: Option<f32>,
}

impl PairRow {
    /// B − A, where both have the column.
    pub fn moved(&self) -> Option<f32> {
        Some(self.b? - self.a?)
    }
}

impl StressPair {
    /// Whether both recordings have the same words (a true pair).
    pub fn same_words(&self) -> bool {
        self.snapshots[0].words == self.snapshots[1].words
    }

    /// The `[CLS]` weights of both, column by column at `level` (as the heatmaps show it),
    /// the words compared place by place.
    pub fn rows(&self, level: Level, show_special: bool) -> Vec<PairRow> {
        let [a, b] = self.snapshots.each_ref().map(|s| cls_weights(s, level, show_special));
        (0..a.len().max(b.len()))
            .map(|i| {
                let (wa, wb) = (a.get(i), b.get(i));
                let label = match (wa, wb) {
                    (Some((x, _)), Some((y, _))) if x != y => format!("{x}/{y}"),
                    (Some((x, _)), _) => x.clone(),
                    (None, Some((y, _))) => y.clone(),
                    (None, None) => String::new(),
                };
                PairRow {
                    label,
                    a: wa.map(|w| w.1),
                    b: wb.map(|w| w.1),
                }
            })
            .collect()
    }

    /// The largest move of the `[CLS]` row and the column it is in (`None`: no common
    /// column).
    pub fn largest_move(&self, level: Level, show_special: bool) -> Option<(String, f32)> {
        self.rows(level, show_special)
            .into_iter()
            .filter_map(|r| Some((r.label.clone(), r.moved()?)))
            .max_by(|x, y| x.1.abs().total_cmp(&y.1.abs()))
    }
}

impl StressPair {
    /// One line: both predictions, where the `[CLS]` row moved most, and whether the words
    /// differ.
    pub fn summary(&self, level: Level, show_special: bool) -> String {
        let [a, b] = &self.snapshots;
        let moved = self
            .largest_move(level, show_special)
            .map_or(String::new(), |(word, d)| {
                format!("; [CLS] moved most on \"{word}\" ({d:+.3})")
            });
        let words = if self.same_words() {
            ""
        } else {
            "; the two recordings' words differ"
        };
        format!(
            "stress pair: A {:+.2}, B {:+.2}{moved}{words}",
            a.prediction, b.prediction
        )
    }
}

impl App {
    /// Shows `pair`: its panel in place of the left matrix (`b` moves it below, where a
    /// tall screen has room), and its summary in the footer.
    pub fn show_pair(&mut self, pair: StressPair) {
        self.explorer.bars = Bars::Left;
        self.message = Some(pair.summary(self.explorer.level, self.explorer.show_special));
        self.pair = Some(pair);
    }
}

/// The pair's `[CLS]` rows side by side with B − A, and both predictions.
pub struct PairPanel<'a> {
    /// What to draw.
    pub pair: &'a StressPair,
    /// The heatmaps' level and special tokens, so that the cursor's column names a line.
    pub level: Level,
    /// Whether `[CLS]` and `[SEP]` are shown.
    pub show_special: bool,
    /// Its colours.
    pub theme: &'a Theme,
    /// The heatmap cursor's column: its line is highlighted and kept in view.
    pub cursor: Option<usize>,
}

/// Header lines: the two predictions, then what the lines are.
const HEADER: usize = 2;
/// " 0.082" after each bar.
const VALUE_W: usize = 6;
/// " Δ-0.041".
const MOVED_W: usize = 8;
/// Shortest bar before labels are cut.
const MIN_BAR: usize = 3;

impl PairPanel<'_> {
    /// Height (border included) that shows every line.
    pub fn wanted_height(&self) -> u16 {
        let n = self.pair.rows(self.level, self.show_special).len();
        (HEADER + n.max(1) + 2).min(u16::MAX as usize) as u16
    }

    fn header(&self, width: usize) -> [Line<'static>; 2] {
        let theme = self.theme;
        let [a, b] = &self.pair.snapshots;
        let [na, nb] = &self.pair.names;
        let predictions = format!(
            "A {na}: prediction {:+.2}   B {nb}: prediction {:+.2}",
            a.prediction, b.prediction
        );
        let short = format!("A {:+.2}   B {:+.2}", a.prediction, b.prediction);
        let first = if text::cols(&predictions) <= width {
            predictions
        } else {
            short
        };
        let second = if self.pair.same_words() {
            Line::styled("[CLS] weight per word; Δ = B − A", Style::default().fg(theme.dim))
        } else {
            Line::styled(
                "the words differ: compared place by place (a/b where they differ)",
                Style::default().fg(theme.warning),
            )
        };
        [
            Line::styled(first, Style::default().fg(theme.text).add_modifier(Modifier::BOLD)),
            second,
        ]
    }
}

impl Widget for PairPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = self.theme;
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(Style::default().fg(theme.border))
            .title(" [CLS] row of W_m → score: A and B ");
        let inner = block.inner(area);
        block.render(area, buf);
        let (width, height) = (inner.width as usize, inner.height as usize);
        if width == 0 || height == 0 {
            return;
        }
        for (k, line) in self.header(width).iter().enumerate().take(height) {
            buf.set_line(inner.x, inner.y + k as u16, line, inner.width);
        }
        let rows = self.pair.rows(self.level, self.show_special);
        let visible = height.saturating_sub(HEADER);
        if visible == 0 || rows.is_empty() {
            return;
        }
        let first = window(self.cursor.unwrap_or(0), visible, rows.len());
        let longest = rows.iter().map(|r| text::cols(&r.label)).max().unwrap_or(1);
        // The label's space, "A " and "B " with their values, the space between, B − A.
        let fixed = 1 + 2 * (2 + VALUE_W) + 1 + MOVED_W;
        let label_w = longest.min(width.saturating_sub(fixed + 2 * MIN_BAR).max(4));
        let bar_w = (width.saturating_sub(label_w + fixed) / 2).max(1);
        let max = rows
            .iter()
            .flat_map(|r| [r.a, r.b])
            .flatten()
            .fold(f32::MIN_POSITIVE, f32::max);
        let max_moved = rows
            .iter()
            .filter_map(PairRow::moved)
            .fold(f32::MIN_POSITIVE, |m, d| m.max(d.abs()));
        let bar = |tag: &'static str, w: Option<f32>| -> Vec<Span<'static>> {
            let Some(w) = w else {
                return vec![Span::styled(
                    format!("{tag} {}", " ".repeat(bar_w + VALUE_W)),
                    Style::default().fg(theme.dim),
                )];
            };
            let len = ((w / max).clamp(0.0, 1.0) * bar_w as f32).round() as usize;
            vec![
                Span::styled(format!("{tag} "), Style::default().fg(theme.dim)),
                Span::styled(
                    format!("{:<bar_w$}", "█".repeat(len)),
                    Style::default().fg(color(theme.sequential.at(w / max))),
                ),
                Span::styled(format!(" {w:.3}"), Style::default().fg(theme.text)),
            ]
        };
        for (j, row) in rows.iter().enumerate().skip(first).take(visible) {
            let y = inner.y + (HEADER + j - first) as u16;
            let label_style = if self.cursor == Some(j) {
                Style::default().fg(theme.accent).add_modifier(Modifier::BOLD)
            } else {
                Style::default().fg(theme.dim)
            };
            let mut spans = vec![Span::styled(
                pad_left(&abbreviate(&row.label, label_w), label_w) + " ",
                label_style,
            )];
            spans.extend(bar("A", row.a));
            spans.push(Span::raw(" "));
            spans.extend(bar("B", row.b));
            if let Some(d) = row.moved() {
                let tone = theme.diverging.at(0.5 + 0.5 * (d / max_moved).clamp(-1.0, 1.0));
                // Below the last digit shown is no move: never "-0.000".
                let d = if d.abs() < 5e-4 { 0.0 } else { d };
                spans.push(Span::styled(format!(" Δ{d:+.3}"), Style::default().fg(color(tone))));
            }
            buf.set_line(inner.x, y, &Line::from(spans), inner.width);
        }
    }
}

#[cfg(test)]
#[path = "pair_tests.rs"]
mod tests;
