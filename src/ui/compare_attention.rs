//! The compare screen's attention view (issue 16, item 4): one utterance both runs recorded
//! through training, run A's W_m beside run B's (each at its latest snapshot, with its
//! prediction and its prediction with the audio removed), and a third panel with B minus A
//! on the theme's diverging map, its scale in the legend. The pairing (which utterances,
//! the difference) is `compare::attention`'s; this file keeps which pair is in view and
//! draws it.
//!
//! Keys (the compare screen hands them on in this view): `←` `→` the shared utterances,
//! `s` swaps A and B, `r` / `R` take the next run as B / A when more than two are compared.

use std::path::PathBuf;

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::compare::row_colour;
use super::heatmap::{HeatmapPanel, TitledPanel, Values};
use super::theme::Theme;
use crate::attention::Level;
use crate::compare::attention::{pair, Pair, Recording, Side, Unpaired, COMPARED};
use crate::compare::Comparison;

/// Word level with `[CLS]` and `[SEP]`, as the paper's Figure 4 and the exported figure.
const LEVEL: Level = Level::Word;
const SHOW_SPECIAL: bool = true;

/// One compared row as the attention view knows it.
#[derive(Debug, Clone)]
struct RunAttention {
    label: String,
    dir: PathBuf,
    recording: Recording,
}

/// Which two runs and which of their shared utterances are in view.
#[derive(Debug, Clone)]
pub struct AttentionCompare {
    runs: Vec<RunAttention>,
    /// Run A: a row of the comparison.
    pub a: usize,
    /// Run B (B minus A is drawn).
    pub b: usize,
    /// The shared utterance in view.
    pub at: usize,
    pairs: Result<Vec<Pair>, Unpaired>,
}

impl AttentionCompare {
    /// The first two rows of `cmp`; `recordings` is what each row's run recorded, in row
    /// order (a row without one has no attention file).
    pub fn new(cmp: &Comparison, recordings: Vec<Recording>) -> Self {
        let mut recordings = recordings.into_iter();
        let runs = cmp
            .rows
            .iter()
            .map(|row| RunAttention {
                label: row.label.clone(),
                dir: row.runs.first().map_or_else(|| row.dir.clone(), |r| r.dir.clone()),
                recording: recordings.next().unwrap_or(Recording::Missing),
            })
            .collect();
        let mut view = Self {
            runs,
            a: 0,
            b: 1,
            at: 0,
            pairs: Err(Unpaired::OneRun),
        };
        view.pair_up();
        view
    }

    fn pair_up(&mut self) {
        self.at = 0;
        let side = |i: usize| {
            self.runs.get(i).map(|r| Side {
                label: &r.label,
                dir: &r.dir,
                recording: &r.recording,
            })
        };
        self.pairs = match (side(self.a), side(self.b)) {
            (Some(a), Some(b)) => pair(a, b),
            _ => Err(Unpaired::OneRun),
        };
    }

    /// The utterances in common, or why there are none.
    pub fn pairs(&self) -> &Result<Vec<Pair>, Unpaired> {
        &self.pairs
    }

    /// The pair in view.
    pub fn pair(&self) -> Option<&Pair> {
        self.pairs.as_ref().ok()?.get(self.at)
    }

    /// What a key does here; false when it is not one of this view's.
    pub fn on_key(&mut self, code: KeyCode) -> bool {
        let shared = self.pairs.as_ref().map_or(0, Vec::len);
        match code {
            KeyCode::Right if shared > 0 => self.at = (self.at + 1) % shared,
            KeyCode::Left if shared > 0 => self.at = (self.at + shared - 1) % shared,
            KeyCode::Char('s') if self.runs.len() >= 2 => {
                std::mem::swap(&mut self.a, &mut self.b);
                self.pair_up();
            }
            KeyCode::Char('r') if self.runs.len() > 2 => {
                self.b = self.next_run(self.b, self.a);
                self.pair_up();
            }
            KeyCode::Char('R') if self.runs.len() > 2 => {
                self.a = self.next_run(self.a, self.b);
                self.pair_up();
            }
            _ => return false,
        }
        true
    }

    /// The row after `from` that is not `other`, wrapping round.
    fn next_run(&self, from: usize, other: usize) -> usize {
        let n = self.runs.len();
        (1..n).map(|k| (from + k) % n).find(|&i| i != other).unwrap_or(from)
    }

    /// The footer's keys for this view.
    pub fn hint(&self) -> String {
        let shared = self.pairs.as_ref().map_or(0, Vec::len);
        let mut parts = vec!["a curves".to_string()];
        if shared > 1 {
            parts.push(format!("←→ utterance {}/{shared}", self.at + 1));
        }
        parts.push("s swap A B".into());
        if self.runs.len() > 2 {
            parts.push("r R next run as B / A".into());
        }
        parts.push("t theme  q quit  `compare --attention-out FILE` writes it".into());
        parts.join("  ")
    }
}

/// The attention view: a heading line, then A, B and B − A side by side.
pub struct AttentionPanels<'a> {
    /// What is in view.
    pub state: &'a AttentionCompare,
    /// The colours (runs in their rows' colours, as in the table).
    pub theme: &'a Theme,
}

impl Widget for AttentionPanels<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (s, theme) = (self.state, self.theme);
        let pair = match (&s.pairs, s.pair()) {
            (Err(why), _) => {
                // Exactly one line: why there is nothing to draw.
                Paragraph::new(format!("attention: {why}"))
                    .style(Style::default().fg(theme.warning))
                    .wrap(Wrap { trim: true })
                    .render(area, buf);
                return;
            }
            (Ok(_), Some(pair)) => pair,
            (Ok(_), None) => return,
        };
        let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        heading(pair, s, theme).render(head, buf);
        let columns = Layout::horizontal([Constraint::Ratio(1, 3); 3]).split(body);
        let [va, vb] = pair.views(LEVEL, SHOW_SPECIAL);
        // The maps as tall as they need (all three alike), the numbers right below them.
        let wanted =
            HeatmapPanel::wanted_height(&va, columns[0].width).max(HeatmapPanel::wanted_height(&vb, columns[0].width));
        let split = |column: Rect| {
            let [map, info, _] = Layout::vertical([
                Constraint::Length(wanted.min(column.height.saturating_sub(3))),
                Constraint::Length(3),
                Constraint::Min(0),
            ])
            .areas(column);
            (map, info)
        };
        for (k, (view, latest, row)) in [(&va, &pair.a, s.a), (&vb, &pair.b, s.b)].into_iter().enumerate() {
            let (map, info) = split(columns[k]);
            let title = format!("{} · {}", ["A", "B"][k], s.runs[row].label);
            panel(view, theme, &title, Values::Plain).render(map, buf);
            let snap = &latest.snapshot;
            let colour = Style::default().fg(row_colour(theme, row));
            Paragraph::new(vec![
                Line::from(vec![
                    Span::styled(format!("{} ", ["A", "B"][k]), colour.add_modifier(Modifier::BOLD)),
                    Span::raw(format!("prediction {:+.3}", snap.prediction)),
                ]),
                Line::styled(
                    format!("  audio removed {:+.3}", snap.prediction_without_audio),
                    Style::default().fg(theme.text),
                ),
                Line::styled(format!("  at step {}", latest.step), Style::default().fg(theme.dim)),
            ])
            .render(info, buf);
        }
        let (map, info) = split(columns[2]);
        match pair.difference(LEVEL, SHOW_SPECIAL) {
            Ok(diff) => {
                let title = "B − A".to_string();
                panel(&diff, theme, &title, Values::Signed).render(map, buf);
                Paragraph::new(vec![
                    Line::raw(format!("prediction B − A {:+.3}", pair.prediction_change())),
                    Line::styled("high end: B attends more", Style::default().fg(theme.dim)),
                ])
                .render(info, buf);
            }
            Err(differ) => {
                Paragraph::new(differ.to_string())
                    .wrap(Wrap { trim: true })
                    .style(Style::default().fg(theme.warning))
                    .block(
                        Block::default()
                            .borders(Borders::ALL)
                            .border_style(Style::default().fg(theme.border))
                            .title(" B − A "),
                    )
                    .render(map, buf);
            }
        }
    }
}

fn panel<'a>(view: &'a crate::attention::View, theme: &'a Theme, title: &'a str, values: Values) -> TitledPanel<'a> {
    TitledPanel {
        panel: HeatmapPanel {
            view,
            theme,
            cursor: None,
            focused: false,
            note: "",
        },
        title,
        values,
    }
}

/// `W_m of test #6 "there are some funny moments"  label +2.00  recorded by both: test #6, dev #3`.
fn heading<'a>(pair: &Pair, s: &AttentionCompare, theme: &Theme) -> Line<'a> {
    let snap = &pair.a.snapshot;
    let shared: Vec<String> = s
        .pairs
        .as_ref()
        .map_or(Vec::new(), |p| p.iter().map(Pair::name).collect());
    Line::from(vec![
        Span::raw(format!("{} of ", COMPARED.name())),
        Span::styled(
            pair.name(),
            Style::default().fg(theme.accent).add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(" \"{}\"", snap.words.join(" "))),
        Span::styled(
            format!("  label {}", crate::data::label_text(snap.label, 2)),
            Style::default().fg(theme.text),
        ),
        Span::styled(
            format!("  recorded by both: {}", shared.join(", ")),
            Style::default().fg(theme.dim),
        ),
    ])
}

#[cfg(test)]
mod tests;
