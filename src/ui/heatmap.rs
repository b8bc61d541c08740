//! Heatmap of one attention view with word labels, a cell cursor, the cursor's exact value
//! and a colour legend; and the `[CLS]` panel: per-word bars of the row that reaches the
//! score, with the prediction beside the prediction without audio.
//!
//! Both size themselves from the space they are given: cell widths and label lengths come
//! from the panel's width, and the rows, columns or bars that do not fit scroll with the
//! cursor, marked as such (issue 20: cramped heatmaps beside unused columns).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};

use super::text::{self, first_cols, pad_left};
use super::theme::{color, Theme};
use crate::attention::View;
use crate::colormap::{Colormap, Scale};
use crate::train::AttentionSnapshot;

/// Lighter glyphs for lower values, so the pattern survives a terminal without colour.
const SHADES: [&str; 4] = ["░", "▒", "▓", "█"];
/// Narrowest cell: one character cannot show a colour next to its neighbours' (and is
/// half as wide as a line is tall).
const MIN_CELL: usize = 2;
/// Widest cell: beyond this a short utterance is only spread thin.
const MAX_CELL: usize = 12;
/// Row labels are shortened down to this before columns start to scroll.
const MIN_ROW_LABEL: usize = 6;
/// Most lines the column labels take (staggered: label `i` on line `i % lines`).
const MAX_HEADER: usize = 6;

/// One matrix as a heatmap, with labels, a colour scale and the cell cursor.
pub struct HeatmapPanel<'a> {
    /// The matrix and its labels.
    pub view: &'a View,
    /// Its colours.
    pub theme: &'a Theme,
    /// The highlighted cell (row, column), if any.
    pub cursor: Option<(usize, usize)>,
    /// The arrow keys move the cursor (the border says so).
    pub focused: bool,
    /// Extra words for the title (step, "updating…").
    pub note: &'a str,
}

/// `label` in at most `width` terminal columns (a CJK character takes two): whole when it
/// fits, else shortened so that it still reads: a word piece keeps its text (`##ing` →
/// `·ing`, never `#`), `[CLS]` loses its brackets, and a cut is marked with `…` when there are
/// columns to spare.
pub fn abbreviate(label: &str, width: usize) -> String {
    if text::cols(label) <= width {
        return label.to_string();
    }
    let inner = label
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .filter(|l| !l.is_empty());
    let body = match (label.strip_prefix("##").filter(|r| !r.is_empty()), inner) {
        (Some(rest), _) if width >= 4 => format!("·{rest}"),
        (Some(rest), _) => rest.to_string(),
        (None, Some(inner)) => inner.to_string(),
        (None, None) => label.to_string(),
    };
    if text::cols(&body) <= width {
        body
    } else if width >= 4 {
        first_cols(&body, width - 1) + "…"
    } else {
        first_cols(&body, width)
    }
}

/// First index of a window of `visible` items that keeps `target` inside it.
pub(super) fn window(target: usize, visible: usize, total: usize) -> usize {
    if visible == 0 || total <= visible {
        0
    } else {
        target
            .saturating_sub(visible - 1)
            .max(target.saturating_sub(visible / 2))
            .min(total - visible)
    }
}

/// Where everything goes inside the panel's border.
#[derive(Debug, PartialEq)]
struct Grid {
    /// The panel's inner width: labels may run past the last cell, up to it.
    width: usize,
    /// Width of the row labels' column: a marker (`▶` the `[CLS]` row, `↑`/`↓` more rows),
    /// the label, a space.
    label_w: usize,
    col0: usize,
    /// Left edge of each shown column, then the right edge of the last: cells differ by
    /// at most one character so that the columns fill the width.
    xs: Vec<usize>,
    /// Lines of column labels.
    header: usize,
    row0: usize,
    rows: usize,
}

impl Grid {
    fn new(v: &View, cursor: (usize, usize), width: usize, height: usize) -> Option<Grid> {
        let n = v.labels.len();
        // A header line, a row and the readout at least.
        let body = height.checked_sub(1).filter(|&b| b >= 2)?;
        if n == 0 || width < 3 + MIN_CELL {
            return None;
        }
        let longest = v.labels.iter().map(|l| text::cols(l)).max().unwrap_or(1);
        // Whole row labels when every column keeps its narrowest width; labels shortened
        // (not below MIN_ROW_LABEL) when that lets every column fit; when columns scroll
        // anyway, the labels keep up to a quarter of the width.
        let all_columns = width.saturating_sub(2 + n * MIN_CELL);
        let text_w = if longest <= all_columns {
            longest
        } else if all_columns >= MIN_ROW_LABEL {
            all_columns
        } else {
            longest.min((width / 4).max(MIN_ROW_LABEL))
        }
        .min(width - 2 - MIN_CELL)
        .max(1);
        let label_w = text_w + 2;
        let cells_w = width - label_w;
        let cols = (cells_w / MIN_CELL).min(n);
        let used = cells_w.min(cols * MAX_CELL);
        let xs = (0..=cols).map(|i| label_w + i * used / cols).collect();
        let col0 = window(cursor.1, cols, n);
        let mut grid = Grid {
            width,
            label_w,
            col0,
            xs,
            header: 1,
            row0: 0,
            rows: 0,
        };
        let lens: Vec<usize> = (0..cols).map(|i| text::cols(&v.labels[col0 + i])).collect();
        let need = (1..=MAX_HEADER)
            .find(|&h| grid.place_labels(&lens, h).1)
            .unwrap_or(MAX_HEADER);
        // Rows come first: the labels get the lines the rows leave when that is two or
        // more (every label three characters or more); else a fifth of the lines.
        let spare = body.saturating_sub(n);
        grid.header = if spare >= 2 {
            need.min(spare)
        } else {
            need.min(spare.max(body / 5)).clamp(1, body - 1)
        };
        grid.rows = n.min(body - grid.header);
        grid.row0 = window(cursor.0, grid.rows, n);
        Some(grid)
    }

    fn cols(&self) -> usize {
        self.xs.len() - 1
    }

    /// Line and length of each shown column's label on `lines` lines, and whether every
    /// label is whole. A label starts at its column, on the first line free there, so
    /// short labels pack and long ones stagger. When some label finds no free line, the
    /// labels take the lines in turn instead, each cut at the next one on its line: every
    /// label gets the same room rather than some a letter. The panel's edge cuts the last.
    fn place_labels(&self, lens: &[usize], lines: usize) -> (Vec<(usize, usize)>, bool) {
        let width = self.width;
        let mut placed: Vec<(usize, usize)> = Vec::with_capacity(lens.len());
        // Where each line is free again (after a space).
        let mut free = vec![0; lines];
        for (i, &len) in lens.iter().enumerate() {
            let x = self.xs[i];
            let Some(line) = (0..lines).find(|&l| free[l] <= x) else {
                let turns = (0..lens.len()).map(|i| {
                    let next = self.xs.get(i + lines).filter(|_| i + lines < self.cols());
                    (i % lines, lens[i].min(next.map_or(width, |n| n - 1) - self.xs[i]))
                });
                return (turns.collect(), false);
            };
            placed.push((line, len.min(width - x)));
            free[line] = x + len + 1;
        }
        (placed, true)
    }
}

impl HeatmapPanel<'_> {
    fn colormap(&self, values: Values) -> &Colormap {
        match values {
            Values::Plain => &self.theme.sequential,
            Values::Signed => &self.theme.diverging,
        }
    }

    /// Height (border included) at which `view` shows every row and whole column labels
    /// in a panel `width` wide: what a layout gives it before giving the rest away.
    pub fn wanted_height(view: &View, width: u16) -> u16 {
        let n = view.labels.len();
        let tall = n + MAX_HEADER + 1;
        let header = Grid::new(view, (0, 0), (width as usize).saturating_sub(2), tall).map_or(1, |g| g.header);
        (header + n + 1 + 2).min(u16::MAX as usize) as u16
    }

    fn legend(&self, scale: &Scale, map: &Colormap, width: usize) -> Line<'static> {
        let dim = Style::default().fg(self.theme.dim);
        let legend_w = width.saturating_sub(18).clamp(4, 24);
        let mut legend = vec![Span::styled(format!(" {:.3} ", scale.lo), dim)];
        for k in 0..legend_w {
            let rgb = map.at(k as f32 / (legend_w - 1) as f32);
            legend.push(Span::styled("█", Style::default().fg(color(rgb))));
        }
        legend.push(Span::styled(format!(" {:.3} ", scale.hi), dim));
        Line::from(legend)
    }
}

/// How a heatmap's values map to colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    /// From the lowest value up, on the theme's sequential map.
    Plain,
    /// Centred on zero, on the theme's diverging map.
    Signed,
}

impl Widget for HeatmapPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let v = self.view;
        let values = if v.matrix.signed() {
            Values::Signed
        } else {
            Values::Plain
        };
        let title = format!(" {} · {} {}", v.matrix.name(), v.matrix.caption(), self.note);
        self.draw(title, values, area, buf);
    }
}

/// A heatmap under its own title rather than its matrix's (the compare screen names the
/// run; the difference of two runs' W_m is no one snapshot's matrix and is `Signed`).
pub struct TitledPanel<'a> {
    /// The view and its colours.
    pub panel: HeatmapPanel<'a>,
    /// The title.
    pub title: &'a str,
    /// Its colour scale.
    pub values: Values,
}

impl Widget for TitledPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        self.panel.draw(format!(" {} ", self.title), self.values, area, buf);
    }
}

impl HeatmapPanel<'_> {
    fn draw(self, title: String, values: Values, area: Rect, buf: &mut Buffer) {
        let (v, theme) = (self.view, self.theme);
        let scale = Scale::for_range(v.range(), values == Values::Signed);
        let map = self.colormap(values);
        let border = if self.focused { theme.accent } else { theme.border };
        // The legend sits in the bottom border: one more line for the rows.
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(Style::default().fg(border))
            .title(title)
            .title_bottom(self.legend(&scale, map, area.width.saturating_sub(2) as usize));
        let inner = block.inner(area);
        block.render(area, buf);
        let n = v.labels.len();
        let cursor = self.cursor.filter(|&(r, c)| r < n && c < n);
        let width = inner.width as usize;
        let Some(g) = Grid::new(v, cursor.unwrap_or((0, 0)), width, inner.height as usize) else {
            return;
        };
        let dim = Style::default().fg(theme.dim);
        let strong = Style::default().fg(theme.accent).add_modifier(Modifier::BOLD);
        let at = |x: usize, y: usize| (inner.x + x as u16, inner.y + y as u16);

        // Column labels over the header lines; the cursor's column highlighted.
        let lens: Vec<usize> = (0..g.cols()).map(|i| text::cols(&v.labels[g.col0 + i])).collect();
        for (i, (line, len)) in g.place_labels(&lens, g.header).0.into_iter().enumerate() {
            let c = g.col0 + i;
            let style = if cursor.is_some_and(|(_, cc)| cc == c) {
                strong
            } else {
                dim
            };
            let (x, y) = at(g.xs[i], line);
            buf.set_string(x, y, abbreviate(&v.labels[c], len), style);
        }
        // Columns out of sight: how many on each side, where the row labels leave room.
        let (left, right) = (g.col0, n - g.col0 - g.cols());
        if left + right > 0 {
            let counts = [
                (left > 0).then(|| format!("◂{left}")),
                (right > 0).then(|| format!("{right}▸")),
            ];
            let mut text = counts.into_iter().flatten().collect::<Vec<_>>().join(" ");
            if text::cols(&text) >= g.label_w {
                text = [(left > 0, "◂"), (right > 0, "▸")]
                    .iter()
                    .filter(|a| a.0)
                    .map(|a| a.1)
                    .collect();
            }
            let (x, y) = at(g.label_w - 1 - text::cols(&text).min(g.label_w - 1), g.header - 1);
            buf.set_stringn(x, y, text, g.label_w - 1, strong);
        }

        for k in 0..g.rows {
            let r = g.row0 + k;
            let y = g.header + k;
            let marker = if k == 0 && g.row0 > 0 {
                "↑"
            } else if k + 1 == g.rows && r + 1 < n {
                "↓"
            } else if v.cls_row == Some(r) {
                "▶"
            } else {
                " "
            };
            let (x, yy) = at(0, y);
            buf.set_string(x, yy, marker, strong);
            let highlighted = v.cls_row == Some(r) || cursor.is_some_and(|(cr, _)| cr == r);
            let text_w = g.label_w - 2;
            let label = pad_left(&abbreviate(&v.labels[r], text_w), text_w);
            buf.set_string(x + 1, yy, label, if highlighted { strong } else { dim });
            for i in 0..g.cols() {
                let c = g.col0 + i;
                let w = g.xs[i + 1] - g.xs[i];
                let t = scale.unit(v.values[r][c]);
                let rgb = map.at(t);
                let (x, y) = at(g.xs[i], y);
                if cursor == Some((r, c)) {
                    let fg = if rgb.is_light() { Color::Black } else { Color::White };
                    let style = Style::default().bg(color(rgb)).fg(fg).add_modifier(Modifier::BOLD);
                    buf.set_string(x, y, format!("{:^w$}", "◆"), style);
                } else {
                    // Signed values: the glyph grows with the distance from zero.
                    let strength = match values {
                        Values::Signed => (2.0 * t - 1.0).abs(),
                        Values::Plain => t,
                    };
                    let shade = SHADES[((strength * 4.0) as usize).min(3)];
                    buf.set_string(x, y, shade.repeat(w), Style::default().fg(color(rgb)));
                }
            }
        }
        let readout = match cursor {
            Some((r, c)) => format!(
                "{}{} → {}: {:.4}",
                if v.cls_row == Some(r) { "score row " } else { "" },
                v.labels[r],
                v.labels[c],
                v.values[r][c]
            ),
            None => format!("{} × {} {:?} level", n, n, v.level).to_lowercase(),
        };
        let (x, y) = at(0, g.header + g.rows);
        buf.set_stringn(x, y, readout, width, Style::default().fg(theme.text));
    }
}

/// The `[CLS]` row of W_m as bars, and what the audio did to the prediction.
pub struct ClsPanel<'a> {
    /// The utterance (its predictions with and without audio).
    pub snapshot: &'a AttentionSnapshot,
    /// One bar per word, in the heatmaps' column order.
    pub weights: &'a [(String, f32)],
    /// Its colours.
    pub theme: &'a Theme,
    /// The heatmap cursor's column: its bar is highlighted and kept in view.
    pub cursor: Option<usize>,
}

/// Below this the two predictions are the same number for all purposes.
const NO_CHANGE: f32 = 1e-6;
/// Bars at least this long, else fewer columns of bars.
const MIN_BAR: usize = 8;
/// " 0.082" after each bar.
const VALUE_W: usize = 6;
/// Spaces between two columns of bars.
const BAR_GAP: usize = 3;

/// One line on what the audio did to the prediction (nothing, for the paper's model).
pub fn audio_verdict(s: &AttentionSnapshot) -> String {
    let delta = s.prediction - s.prediction_without_audio;
    if delta.abs() < NO_CHANGE {
        "the voice did not change this prediction".into()
    } else {
        format!("the voice moved this prediction by {delta:+.3}")
    }
}

/// How the bars are laid out: column by column, as many columns as the width allows and
/// as few as the height needs; a window around the cursor when even that is too few.
#[derive(Debug, PartialEq)]
struct BarLayout {
    header: usize,
    text_w: usize,
    columns: usize,
    per_column: usize,
    first: usize,
    shown: usize,
}

impl ClsPanel<'_> {
    /// What the audio did, in as many lines as `width` needs: the label and both
    /// predictions beside the verdict, or below each other, or (narrow: the screen's
    /// status line has the numbers) the verdict alone, short.
    fn summary(&self, width: usize) -> Vec<Line<'static>> {
        let (s, theme) = (self.snapshot, self.theme);
        let delta = s.prediction - s.prediction_without_audio;
        let changed = delta.abs() >= NO_CHANGE;
        let verdict_style = Style::default().fg(if changed { theme.warning } else { theme.dim });
        let numbers = Span::styled(
            format!(
                "label {}   prediction {:+.3}   audio removed {:+.3}",
                crate::data::label_text(s.label, 2),
                s.prediction,
                s.prediction_without_audio
            ),
            Style::default().fg(theme.text),
        );
        let verdict = audio_verdict(s);
        let (a, b) = (text::cols(&numbers.content), text::cols(&verdict));
        if a + 3 + b <= width {
            vec![Line::from(vec![
                numbers,
                Span::raw("   "),
                Span::styled(verdict, verdict_style),
            ])]
        } else if a.max(b) <= width {
            vec![Line::from(numbers), Line::styled(verdict, verdict_style)]
        } else if changed {
            vec![Line::styled(
                format!("the voice moved it by {delta:+.3}"),
                verdict_style,
            )]
        } else {
            vec![Line::styled("the voice did not change it", verdict_style)]
        }
    }

    /// Header lines, label width and the most columns of bars that fit `width`.
    fn shape(&self, width: usize) -> (usize, usize, usize) {
        let header = self.summary(width).len();
        let longest = self.weights.iter().map(|(w, _)| text::cols(w)).max().unwrap_or(1);
        let text_w = longest.min(width.saturating_sub(1 + MIN_BAR + VALUE_W).max(4));
        let column_w = text_w + 1 + MIN_BAR + VALUE_W;
        let most = ((width + BAR_GAP) / (column_w + BAR_GAP)).clamp(1, self.weights.len().max(1));
        (header, text_w, most)
    }

    fn layout(&self, width: usize, height: usize) -> BarLayout {
        let n = self.weights.len();
        let (header, text_w, most) = self.shape(width);
        let avail = height.saturating_sub(header).max(1);
        let columns = (1..=most).find(|&k| n.div_ceil(k) <= avail).unwrap_or(most);
        let per_column = n.div_ceil(columns).min(avail).max(1);
        let shown = n.min(per_column * columns);
        BarLayout {
            header,
            text_w,
            columns,
            per_column,
            first: window(self.cursor.unwrap_or(0), shown, n),
            shown,
        }
    }

    /// Height (border included) that shows every bar at `width`, in as many columns as fit.
    pub fn wanted_height(&self, width: u16) -> u16 {
        let (header, _, most) = self.shape((width as usize).saturating_sub(2));
        (header + self.weights.len().div_ceil(most).max(1) + 2).min(u16::MAX as usize) as u16
    }
}

impl Widget for ClsPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let theme = self.theme;
        let inner = Block::default().borders(Borders::ALL).inner(area);
        let (width, n) = (inner.width as usize, self.weights.len());
        let l = self.layout(width, inner.height as usize);
        let base = " [CLS] row of W_m → score ";
        let title = if l.shown < n {
            let range = format!("words {}-{} of {n} ", l.first + 1, l.first + l.shown);
            [
                format!("{base}· {range}"),
                format!(" [CLS] bars · {range}"),
                format!(" {range}"),
            ]
            .into_iter()
            .find(|t| text::cols(t) <= width)
            .unwrap_or_default()
        } else {
            base.to_string()
        };
        Block::default()
            .borders(Borders::ALL)
            .border_style(Style::default().fg(theme.border))
            .title(title)
            .render(area, buf);
        if width == 0 || inner.height == 0 {
            return;
        }
        for (k, line) in self.summary(width).iter().enumerate().take(inner.height as usize) {
            buf.set_line(inner.x, inner.y + k as u16, line, inner.width);
        }
        let column_w = (width + BAR_GAP) / l.columns - BAR_GAP;
        let bar_w = column_w.saturating_sub(l.text_w + 1 + VALUE_W).max(1);
        let max = self.weights.iter().map(|w| w.1).fold(f32::MIN_POSITIVE, f32::max);
        for j in 0..l.shown {
            let index = l.first + j;
            let (word, weight) = &self.weights[index];
            let x = inner.x + ((j / l.per_column) * (column_w + BAR_GAP)) as u16;
            let y = inner.y + (l.header + j % l.per_column) as u16;
            if y >= inner.bottom() {
                continue;
            }
            let label_style = if self.cursor == Some(index) {
                Style::default().fg(theme.accent).add_modifier(Modifier::BOLD)
            } else {
                Style::default().fg(theme.dim)
            };
            let label = pad_left(&abbreviate(word, l.text_w), l.text_w) + " ";
            let len = ((weight / max).clamp(0.0, 1.0) * bar_w as f32).round() as usize;
            let bar_style = Style::default().fg(color(theme.sequential.at(weight / max)));
            let line = Line::from(vec![
                Span::styled(label, label_style),
                Span::styled("█".repeat(len), bar_style),
                Span::styled(format!(" {weight:.3}"), label_style.fg(theme.text)),
            ]);
            buf.set_line(x, y, &line, column_w as u16);
        }
    }
}

#[cfg(test)]
#[path = "heatmap_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "tests_chinese.rs"]
mod chinese_tests;
