//! The comparison screen (`cmbert-tui compare`): the loss curves of every row overlaid
//! (training loss smoothed as on the training screen, dev loss per epoch), one colour per
//! row from the theme, a seed group drawn as its mean with its lowest and highest seed
//! dotted around it; below, the metrics table, one row per run or seed group (mean ± std),
//! whose coloured labels are the chart's legend and whose best values are marked.
//!
//! Keys as on the training screen: `l` log scale, `+` `-` smoothing, `t` theme, `q` quits;
//! `a` (or Tab) switches to the attention view (`ui::compare_attention`: the same utterance
//! in two runs and their difference) and back.

use crossbeam_channel::unbounded;
use crossterm::event::{KeyCode, KeyModifiers};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph, Widget};
use ratatui::Frame;

use super::app::Input;
use super::compare_attention::{AttentionCompare, AttentionPanels};
use super::session::{self, InputReader, Session};
use super::text::cols;
use super::theme::Theme;
use crate::compare::attention::Recording;
use crate::compare::{BandPoint, Column, Comparison, Family, Grouping};

/// Points per curve on screen: more than a wide terminal's braille columns.
const CURVE_POINTS: usize = 600;

/// What the screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareMode {
    /// The overlaid curves and the metrics table.
    Curves,
    /// Two runs' attention on one utterance, and their difference.
    Attention,
}

/// The screen's state: the comparison and how it is drawn.
#[derive(Debug, Clone)]
pub struct CompareView {
    /// What is compared.
    pub comparison: Comparison,
    /// The curves or the attention view (`a`, Tab).
    pub mode: CompareMode,
    /// Which two runs' attention, on which utterance.
    pub attention: AttentionCompare,
    /// The colours.
    pub theme: Theme,
    /// The loss axis is logarithmic (`l`).
    pub log_scale: bool,
    /// The training loss's smoothing factor (`+`, `-`), in [0, 0.99], as on the training screen.
    pub ema_alpha: f64,
    /// A one-off line for the footer, cleared by the next key.
    pub message: Option<String>,
    /// The screen ends after this input.
    pub quit: bool,
}

impl CompareView {
    /// The screen at the training screen's defaults (linear scale, smoothing 0.9), on the
    /// curves; `recordings` is what each row's run recorded of its attention, in row order
    /// (`commands::compare::recordings`).
    pub fn new(comparison: Comparison, recordings: Vec<Recording>, theme: Theme) -> Self {
        Self {
            attention: AttentionCompare::new(&comparison, recordings),
            mode: CompareMode::Curves,
            comparison,
            theme,
            log_scale: false,
            ema_alpha: 0.9,
            message: None,
            quit: false,
        }
    }

    /// What a key (or a signal) does.
    pub fn on_input(&mut self, input: Input) {
        let key = match input {
            Input::Key(key) => key,
            Input::Terminate => {
                self.quit = true;
                return;
            }
            _ => return,
        };
        self.message = None;
        if self.mode == CompareMode::Attention && self.attention.on_key(key.code) {
            return;
        }
        match key.code {
            KeyCode::Char('a') | KeyCode::Tab => {
                self.mode = match self.mode {
                    CompareMode::Curves => CompareMode::Attention,
                    CompareMode::Attention => CompareMode::Curves,
                }
            }
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => self.quit = true,
            KeyCode::Char('l') => self.log_scale = !self.log_scale,
            KeyCode::Char('+') | KeyCode::Char('=') => self.smooth(0.05),
            KeyCode::Char('-') => self.smooth(-0.05),
            KeyCode::Char('t') => {
                let next = self.theme.built_in_index().map_or(0, |i| i + 1);
                self.theme = Theme::built_in(next);
                self.message = Some(format!("theme {}", self.theme.name));
            }
            _ => {}
        }
    }

    /// The same steps and bounds as `RunState::adjust_smoothing`.
    fn smooth(&mut self, by: f64) {
        self.ema_alpha = ((self.ema_alpha + by) * 100.0).round().clamp(0.0, 99.0) / 100.0;
    }

    /// Draws the whole screen; reads the state only.
    pub fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        if let Some(bg) = self.theme.background {
            frame.render_widget(Block::default().style(Style::default().bg(bg)), area);
        }
        let [body, footer] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        if self.mode == CompareMode::Attention {
            let panels = AttentionPanels {
                state: &self.attention,
                theme: &self.theme,
            };
            frame.render_widget(panels, body);
            let hint = self.message.clone().unwrap_or_else(|| self.attention.hint());
            frame.render_widget(Paragraph::new(hint).style(Style::default().fg(self.theme.dim)), footer);
            return;
        }
        let table = CompareTable(self);
        let table_h = table
            .height()
            .min(body.height.saturating_sub(8))
            .max(body.height.min(5));
        let [chart, bottom] = Layout::vertical([Constraint::Min(0), Constraint::Length(table_h)]).areas(body);
        frame.render_widget(CompareChart(self), chart);
        frame.render_widget(table, bottom);
        let hint = self.message.clone().unwrap_or_else(|| {
            format!(
                "l log scale  + - smoothing ({:.2})  a attention  t theme  q quit   `compare --out FILE` writes it",
                self.ema_alpha
            )
        });
        frame.render_widget(Paragraph::new(hint).style(Style::default().fg(self.theme.dim)), footer);
    }
}

/// Row `i`'s colour: the theme's accent, warning, good and bad colours, then its sequential
/// colour map's.
pub fn row_colour(theme: &Theme, i: usize) -> Color {
    let named = [theme.accent, theme.warning, theme.good, theme.bad];
    match named.get(i) {
        Some(&c) => c,
        None => {
            let t = [0.15f32, 0.5, 0.85][(i - named.len()) % 3];
            let c = theme.sequential.at(t);
            Color::Rgb(c.0, c.1, c.2)
        }
    }
}

/// The overlaid loss curves.
struct CompareChart<'a>(&'a CompareView);

impl Widget for CompareChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let v = self.0;
        let y = |x: f64| if v.log_scale { x.max(1e-6).log10() } else { x };
        let map = |points: &[BandPoint], pick: fn(&BandPoint) -> f64| -> Vec<(f64, f64)> {
            points.iter().map(|p| (p.x, y(pick(p)))).collect()
        };
        // Per row: training mean, lowest, highest; dev mean, lowest, highest.
        let curves: Vec<[Vec<(f64, f64)>; 6]> = v
            .comparison
            .rows
            .iter()
            .map(|row| {
                let train = row.train_band(v.ema_alpha, CURVE_POINTS);
                let dev = row.dev_band();
                [
                    map(&train, |p| p.mean),
                    map(&train, |p| p.min),
                    map(&train, |p| p.max),
                    map(&dev, |p| p.mean),
                    map(&dev, |p| p.min),
                    map(&dev, |p| p.max),
                ]
            })
            .collect();
        let values = || curves.iter().flatten().flatten().map(|p| p.1).filter(|v| v.is_finite());
        let x_max = curves.iter().flatten().flatten().map(|p| p.0).fold(1.0f64, f64::max);
        let (lo, hi) = values().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (y_min, y_max) = if !lo.is_finite() {
            (0.0, 1.0)
        } else if v.log_scale {
            let pad = 0.05 * (hi - lo).max(0.1);
            (lo - pad, hi + pad)
        } else {
            (0.0, hi.max(1e-3) * 1.05)
        };
        let label = |x: f64| {
            if v.log_scale {
                format!("{:.3}", 10f64.powf(x))
            } else {
                format!("{x:.2}")
            }
        };
        let mut datasets = Vec::new();
        for (i, (row, c)) in v.comparison.rows.iter().zip(&curves).enumerate() {
            let colour = row_colour(&v.theme, i);
            let band = row.grouping == Grouping::Seeds;
            if band {
                datasets.extend([1, 2].map(|k| seed_band(&c[k], colour)));
            }
            datasets.push(
                Dataset::default()
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(Style::default().fg(colour))
                    .data(&c[0]),
            );
            if band {
                datasets.extend([4, 5].map(|k| seed_band(&c[k], colour)));
            }
            datasets.push(
                Dataset::default()
                    .marker(Marker::Block)
                    .graph_type(GraphType::Scatter)
                    .style(Style::default().fg(colour))
                    .data(&c[3]),
            );
        }
        let scale = if v.log_scale { ", log scale" } else { "" };
        let seeds = if v.comparison.rows.iter().any(|r| r.grouping == Grouping::Seeds) {
            "; seeds: mean, lowest and highest ·"
        } else {
            ""
        };
        let title = format!(
            " loss{scale}: training EMA {:.2} (line), dev per epoch (■){seeds} ",
            v.ema_alpha
        );
        Chart::new(datasets)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(v.theme.border))
                    .title(title),
            )
            .style(Style::default().fg(v.theme.text))
            .x_axis(
                Axis::default()
                    .bounds([0.0, x_max])
                    .labels(["0".to_string(), format!("{x_max:.0}")]),
            )
            .y_axis(
                Axis::default()
                    .bounds([y_min, y_max])
                    .labels([label(y_min), label(y_max)]),
            )
            .render(area, buf);
    }
}

/// The metrics table: the legend (each row's colour and label) and its figures; columns
/// that do not fit are left out, the least telling first.
struct CompareTable<'a>(&'a CompareView);

/// The label keeps this many columns (or its whole length) before a column is given up.
const LABEL_MIN: usize = 40;

impl CompareTable<'_> {
    /// Rows with the border, the header and the notes.
    fn height(&self) -> u16 {
        let cmp = &self.0.comparison;
        (cmp.rows.len() + 3 + self.notes().len()) as u16
    }

    fn notes(&self) -> Vec<String> {
        let cmp = &self.0.comparison;
        let mut notes = Vec::new();
        let common = cmp.common();
        if !common.is_empty() {
            notes.push(format!("all: {}", common.join(", ")));
        }
        notes.extend(cmp.notes());
        notes
    }

    /// The cells of each column shown, in table order, and the label's width.
    fn layout(&self, width: usize) -> (Vec<(Column, Vec<String>, usize)>, usize) {
        let cmp = &self.0.comparison;
        let cells = |c: Column| -> Vec<String> {
            cmp.rows
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let mark = if cmp.best_row(c) == Some(i) { "*" } else { "" };
                    format!("{}{mark}", c.cell(c.stat(r)))
                })
                .collect()
        };
        let want = cmp.rows.iter().map(|r| cols(&r.label) + 2).max().unwrap_or(0).max(3);
        let least = LABEL_MIN.min(want);
        let mut used = least;
        let mut kept: Vec<(Column, Vec<String>, usize)> = Vec::new();
        // The columns in the order they are given up when the screen is narrow (last first).
        let table = cmp.columns();
        let mut by_rank = table.clone();
        by_rank.sort_by_key(|c| c.rank());
        for c in by_rank {
            let cells = cells(c);
            let w = cells.iter().map(|s| cols(s)).chain([cols(c.name())]).max().unwrap_or(0);
            if used + 2 + w > width {
                break;
            }
            used += 2 + w;
            kept.push((c, cells, w));
        }
        kept.sort_by_key(|(c, ..)| table.iter().position(|x| x == c));
        let label = want.min(width.saturating_sub(used - least));
        (kept, label)
    }
}

impl Widget for CompareTable<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let v = self.0;
        let cmp = &v.comparison;
        let inner = Block::default().borders(Borders::ALL).inner(area);
        let (columns, label_w) = self.layout(inner.width as usize);
        let fit = |s: &str, w: usize| -> String {
            if cols(s) <= w {
                format!("{s:<w$}")
            } else {
                let cut: String = s.chars().take(w.saturating_sub(1)).collect();
                format!("{cut}…")
            }
        };
        let mut header = vec![Span::raw(fit("", label_w))];
        for (c, _, w) in &columns {
            header.push(Span::raw(format!("  {:>w$}", c.name())));
        }
        let mut lines = vec![Line::from(header).style(Style::default().add_modifier(Modifier::UNDERLINED))];
        for (i, row) in cmp.rows.iter().enumerate() {
            let colour = row_colour(&v.theme, i);
            let mut spans = vec![
                Span::styled("■ ", Style::default().fg(colour)),
                // The label's width counts the marker; a terminal narrower than the marker
                // leaves none.
                Span::styled(fit(&row.label, label_w.saturating_sub(2)), Style::default().fg(colour)),
            ];
            for (c, cells, w) in &columns {
                let text = format!("  {:>w$}", cells[i]);
                if cmp.best_row(*c) == Some(i) {
                    spans.push(Span::styled(
                        text,
                        Style::default().fg(v.theme.good).add_modifier(Modifier::BOLD),
                    ));
                } else {
                    spans.push(Span::raw(text));
                }
            }
            lines.push(Line::from(spans));
        }
        for note in self.notes() {
            lines.push(Line::styled(note, Style::default().fg(v.theme.dim)));
        }
        let differ = if cmp.differs.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = cmp.differs.iter().map(|s| s.name()).collect();
            format!("; differ in {}", names.join(", "))
        };
        let figures = match cmp.family {
            Family::Paper => String::new(),
            family => format!(" ({})", family.short()),
        };
        let title = format!(" test{figures}: best epoch's weights, * best, ± std over seeds{differ} ");
        Paragraph::new(lines)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(v.theme.border))
                    .title(title),
            )
            .style(Style::default().fg(v.theme.text))
            .render(area, buf);
    }
}

/// Shows the comparison on the real terminal until `q` (or a signal); the terminal is given
/// back whatever happens (`session`).
pub fn show(mut view: CompareView) -> std::io::Result<()> {
    let (inputs_tx, inputs) = unbounded();
    let mut session = Session::enter(inputs_tx.clone())?;
    let reader = InputReader::start(session::read_inputs, inputs_tx)?;
    let mut outcome = Ok(());
    while !view.quit {
        if let Err(e) = session.terminal.draw(|f| {
            view.draw(f);
            super::theme::drop_colours_if_asked(f);
        }) {
            outcome = Err(e);
            break;
        }
        match inputs.recv() {
            Ok(input) => view.on_input(input),
            Err(_) => break,
        }
    }
    reader.stop();
    drop(session);
    reader.finish();
    outcome
}

/// A seed group's lowest or highest points: dim dots in the group's colour.
fn seed_band(points: &[(f64, f64)], colour: Color) -> Dataset<'_> {
    Dataset::default()
        .marker(Marker::Dot)
        .graph_type(GraphType::Scatter)
        .style(Style::default().fg(colour).add_modifier(Modifier::DIM))
        .data(points)
}

#[cfg(test)]
mod tests;
