//! Heatmap of one attention view with word labels, a cell cursor, the cursor's exact value
//! and a colour legend; and the `[CLS]` panel: per-word bars of the row that reaches the
//! score, with the prediction beside the prediction without audio.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::theme::{color, Theme};
use crate::attention::View;
use crate::colormap::{Colormap, Scale};
use crate::train::AttentionSnapshot;

/// Lighter glyphs for lower values, so the pattern survives a terminal without colour.
const SHADES: [&str; 4] = ["░", "▒", "▓", "█"];
const MAX_LABEL: usize = 10;

pub struct HeatmapPanel<'a> {
    pub view: &'a View,
    pub theme: &'a Theme,
    pub cursor: Option<(usize, usize)>,
    pub focused: bool,
    /// Extra words for the title (step, "updating…").
    pub note: &'a str,
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// First index of a window of `visible` items that keeps `target` inside it.
fn window(target: usize, visible: usize, total: usize) -> usize {
    if visible == 0 || total <= visible {
        0
    } else {
        target
            .saturating_sub(visible - 1)
            .max(target.saturating_sub(visible / 2))
            .min(total - visible)
    }
}

impl HeatmapPanel<'_> {
    fn colormap(&self) -> &Colormap {
        if self.view.matrix.signed() {
            &self.theme.diverging
        } else {
            &self.theme.sequential
        }
    }
}

impl Widget for HeatmapPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (v, theme) = (self.view, self.theme);
        let border = if self.focused { theme.accent } else { theme.border };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(Style::default().fg(border))
            .title(format!(" {} · {} {}", v.matrix.name(), v.matrix.caption(), self.note));
        let inner = block.inner(area);
        block.render(area, buf);
        let n = v.labels.len();
        if n == 0 || inner.height < 4 || inner.width < 8 {
            return;
        }
        let label_w = v
            .labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(1)
            .min(MAX_LABEL)
            + 1;
        let cells_w = (inner.width as usize).saturating_sub(label_w);
        let cell_w = (cells_w / n).clamp(2, 6);
        let cols = (cells_w / cell_w).min(n);
        let rows = (inner.height as usize - 3).min(n);
        let (cur_r, cur_c) = self.cursor.unwrap_or((0, 0));
        let (row0, col0) = (window(cur_r, rows, n), window(cur_c, cols, n));
        let scale = Scale::for_range(v.range(), v.matrix.signed());
        let map = self.colormap();
        let dim = Style::default().fg(theme.dim);

        // Column labels, truncated to the cell; the cursor's column in full below.
        let mut header = vec![Span::raw(" ".repeat(label_w))];
        for c in col0..col0 + cols {
            let style = if self.cursor.is_some_and(|(_, cc)| cc == c) {
                Style::default().fg(theme.accent).add_modifier(Modifier::BOLD)
            } else {
                dim
            };
            header.push(Span::styled(
                format!("{:<w$}", truncate(&v.labels[c], cell_w - 1), w = cell_w),
                style,
            ));
        }
        let mut lines = vec![Line::from(header)];
        for r in row0..row0 + rows {
            let is_cls = v.cls_row == Some(r);
            let label = if is_cls {
                Span::styled(
                    format!(
                        "{:>w$}",
                        format!("▶{}", truncate(&v.labels[r], MAX_LABEL - 1)),
                        w = label_w
                    ),
                    Style::default().fg(theme.accent).add_modifier(Modifier::BOLD),
                )
            } else {
                Span::styled(
                    format!("{:>w$} ", truncate(&v.labels[r], MAX_LABEL), w = label_w - 1),
                    dim,
                )
            };
            let mut spans = vec![label];
            for c in col0..col0 + cols {
                let t = scale.unit(v.values[r][c]);
                let rgb = map.at(t);
                // Signed values: the glyph grows with the distance from zero.
                let strength = if v.matrix.signed() { (2.0 * t - 1.0).abs() } else { t };
                let shade = SHADES[((strength * 4.0) as usize).min(3)];
                let span = if self.cursor == Some((r, c)) {
                    let fg = if rgb.is_light() { Color::Black } else { Color::White };
                    Span::styled(
                        format!("{:^w$}", "◆", w = cell_w),
                        Style::default().bg(color(rgb)).fg(fg).add_modifier(Modifier::BOLD),
                    )
                } else {
                    Span::styled(shade.repeat(cell_w), Style::default().fg(color(rgb)))
                };
                spans.push(span);
            }
            lines.push(Line::from(spans));
        }
        let readout = match self.cursor {
            Some((r, c)) if r < n && c < n => format!(
                "{}{} → {}: {:.4}",
                if v.cls_row == Some(r) { "score row " } else { "" },
                v.labels[r],
                v.labels[c],
                v.values[r][c]
            ),
            _ => format!("{} × {} {:?} level", n, n, v.level).to_lowercase(),
        };
        lines.push(Line::from(Span::styled(readout, Style::default().fg(theme.text))));
        let legend_w = (inner.width as usize).saturating_sub(18).clamp(4, 24);
        let mut legend = vec![Span::styled(format!("{:>8.3} ", scale.lo), dim)];
        for k in 0..legend_w {
            let rgb = map.at(k as f32 / (legend_w - 1) as f32);
            legend.push(Span::styled("█", Style::default().fg(color(rgb))));
        }
        legend.push(Span::styled(format!(" {:.3}", scale.hi), dim));
        lines.push(Line::from(legend));
        Paragraph::new(lines).render(inner, buf);
    }
}

/// The `[CLS]` row of W_m as bars, and what the audio did to the prediction.
pub struct ClsPanel<'a> {
    pub snapshot: &'a AttentionSnapshot,
    pub weights: &'a [(String, f32)],
    pub theme: &'a Theme,
}

/// Below this the two predictions are the same number for all purposes.
const NO_CHANGE: f32 = 1e-6;

pub fn audio_verdict(s: &AttentionSnapshot) -> String {
    let delta = s.prediction - s.prediction_without_audio;
    if delta.abs() < NO_CHANGE {
        "the voice did not change this prediction".into()
    } else {
        format!("the voice moved this prediction by {delta:+.3}")
    }
}

impl Widget for ClsPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (s, theme) = (self.snapshot, self.theme);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(Style::default().fg(theme.border))
            .title(" [CLS] row of W_m → score ");
        let inner = block.inner(area);
        block.render(area, buf);
        let changed = (s.prediction - s.prediction_without_audio).abs() >= NO_CHANGE;
        let mut lines = vec![
            Line::from(vec![
                Span::raw(format!("label {}   prediction ", crate::data::label_text(s.label, 2))),
                Span::styled(
                    format!("{:+.3}", s.prediction),
                    Style::default().fg(theme.accent).add_modifier(Modifier::BOLD),
                ),
                Span::raw(format!("   audio removed {:+.3}", s.prediction_without_audio)),
            ]),
            Line::from(Span::styled(
                audio_verdict(s),
                Style::default().fg(if changed { theme.warning } else { theme.dim }),
            )),
        ];
        let label_w = self
            .weights
            .iter()
            .map(|(w, _)| w.chars().count())
            .max()
            .unwrap_or(1)
            .min(MAX_LABEL);
        let bar_w = (inner.width as usize).saturating_sub(label_w + 9).max(1);
        let max = self.weights.iter().map(|w| w.1).fold(f32::MIN_POSITIVE, f32::max);
        for (word, weight) in self.weights {
            let len = ((weight / max).clamp(0.0, 1.0) * bar_w as f32).round() as usize;
            lines.push(Line::from(vec![
                Span::styled(
                    format!("{:>label_w$} ", truncate(word, label_w)),
                    Style::default().fg(theme.dim),
                ),
                Span::styled(
                    "█".repeat(len),
                    Style::default().fg(color(theme.sequential.at(weight / max))),
                ),
                Span::raw(format!(" {weight:.3}")),
            ]));
        }
        Paragraph::new(lines).render(inner, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
