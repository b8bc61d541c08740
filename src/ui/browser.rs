//! Utterance browser: the texts, labels and latest predictions of each split, filtered by a
//! search and sorted by file order or by error, with a cursor.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table, Widget};

use super::theme::Theme;
use crate::data::{Dataset, Split};
use crate::train::Weights;

/// The three sentences of the paper's Figure 4, all in CMU-MOSI's test split.
pub const FIGURE4: [&str; 3] = [
    "THERE ARE SOME FUNNY MOMENTS",
    "I JUST WANNA SAY THAT I LOVE YOU",
    "I THOUGHT IT WAS FUN",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    pub text: String,
    pub label: f32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SplitRows {
    pub rows: Vec<Utterance>,
    pub predictions: Option<Vec<f32>>,
    /// The weights that made the predictions.
    pub weights: Option<Weights>,
    /// Asked the model for predictions and not answered yet.
    pub requested: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    File,
    /// Largest absolute error first; utterances without a prediction last.
    Error,
}

#[derive(Debug, Clone)]
pub struct Browser {
    pub splits: [SplitRows; 3],
    pub split: Split,
    pub query: String,
    pub searching: bool,
    pub sort: SortBy,
    /// Utterance indices shown, in display order.
    pub order: Vec<usize>,
    /// Position in `order`.
    pub cursor: usize,
}

pub fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_uppercase()
}

impl Browser {
    pub fn new(splits: [Vec<Utterance>; 3], split: Split) -> Self {
        let mut b = Self {
            splits: splits.map(|rows| SplitRows {
                rows,
                ..SplitRows::default()
            }),
            split,
            query: String::new(),
            searching: false,
            sort: SortBy::File,
            order: Vec::new(),
            cursor: 0,
        };
        b.refilter(None);
        b
    }

    pub fn from_dataset(data: &Dataset, split: Split) -> Self {
        Self::new(
            Split::ALL.map(|s| {
                data.split(s)
                    .iter()
                    .map(|e| Utterance {
                        text: e.text.clone(),
                        label: e.label,
                    })
                    .collect()
            }),
            split,
        )
    }

    pub fn current(&self) -> &SplitRows {
        &self.splits[self.split.index()]
    }

    /// The selected utterance (split, index in file order).
    pub fn selected(&self) -> Option<(Split, usize)> {
        self.order.get(self.cursor).map(|&i| (self.split, i))
    }

    fn error(&self, i: usize) -> Option<f32> {
        let s = self.current();
        s.predictions
            .as_ref()
            .map(|p| (p[i] - s.rows[i].label).abs())
            .filter(|e| e.is_finite())
    }

    /// Rebuilds `order`; keeps `keep` (an utterance index) selected when it is still shown.
    fn refilter(&mut self, keep: Option<usize>) {
        let query = self.query.to_lowercase();
        let mut order: Vec<usize> = (0..self.current().rows.len())
            .filter(|&i| query.is_empty() || self.current().rows[i].text.to_lowercase().contains(&query))
            .collect();
        if self.sort == SortBy::Error {
            order.sort_by(|&a, &b| {
                let (ea, eb) = (self.error(a).unwrap_or(-1.0), self.error(b).unwrap_or(-1.0));
                eb.total_cmp(&ea).then(a.cmp(&b))
            });
        }
        self.order = order;
        self.cursor = keep
            .and_then(|k| self.order.iter().position(|&i| i == k))
            .unwrap_or(0)
            .min(self.order.len().saturating_sub(1));
    }

    pub fn move_by(&mut self, delta: isize) {
        let last = self.order.len().saturating_sub(1) as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, last.max(0)) as usize;
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.order.len().saturating_sub(1);
    }

    pub fn set_split(&mut self, split: Split) {
        if split != self.split {
            self.split = split;
            self.refilter(None);
        }
    }

    pub fn next_split(&mut self, forward: bool) {
        let i = self.split.index() + if forward { 1 } else { 2 };
        self.set_split(Split::ALL[i % 3]);
    }

    pub fn toggle_sort(&mut self) {
        self.sort = match self.sort {
            SortBy::File => SortBy::Error,
            SortBy::Error => SortBy::File,
        };
        // The top of the new order is what the user wants to see (the largest errors).
        self.refilter(None);
    }

    pub fn set_query(&mut self, query: String) {
        self.query = query;
        let keep = self.selected().map(|s| s.1);
        self.refilter(keep);
    }

    pub fn set_predictions(&mut self, split: Split, values: Vec<f32>, weights: Weights) {
        let rows = &mut self.splits[split.index()];
        if values.len() != rows.rows.len() {
            return;
        }
        rows.predictions = Some(values);
        rows.weights = Some(weights);
        rows.requested = false;
        if split == self.split && self.sort == SortBy::Error {
            let keep = self.selected().map(|s| s.1);
            self.refilter(keep);
        }
    }

    /// Forgets the predictions that other weights made (and unanswered requests: the
    /// model that was asked is gone).
    pub fn keep_only(&mut self, weights: Weights) {
        for rows in &mut self.splits {
            if rows.weights != Some(weights) {
                rows.predictions = None;
                rows.weights = None;
                rows.requested = false;
            }
        }
        if self.sort == SortBy::Error {
            let keep = self.selected().map(|s| s.1);
            self.refilter(keep);
        }
    }

    /// Shows utterance `index` of `split`, clearing a search that hides it.
    pub fn select(&mut self, split: Split, index: usize) {
        self.set_split(split);
        if !self.order.contains(&index) {
            self.query.clear();
            self.refilter(None);
        }
        if let Some(pos) = self.order.iter().position(|&i| i == index) {
            self.cursor = pos;
        }
    }

    /// Indices in the test split of the Figure-4 sentences that the data holds.
    pub fn figure4(&self) -> Vec<usize> {
        let test = &self.splits[Split::Test.index()].rows;
        FIGURE4
            .iter()
            .filter_map(|sentence| test.iter().position(|u| normalise(&u.text) == *sentence))
            .collect()
    }
}

pub struct BrowserPanel<'a> {
    pub browser: &'a Browser,
    pub theme: &'a Theme,
    pub focused: bool,
}

impl Widget for BrowserPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (b, theme) = (self.browser, self.theme);
        let split_tabs: Vec<Span> = Split::ALL
            .iter()
            .flat_map(|&s| {
                let style = if s == b.split {
                    Style::default()
                        .fg(theme.accent)
                        .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
                } else {
                    Style::default().fg(theme.dim)
                };
                [Span::styled(s.name(), style), Span::raw(" ")]
            })
            .collect();
        let current = b.current();
        let status = match (&current.predictions, current.requested) {
            (Some(_), _) => current.weights.map_or(String::new(), |w| w.to_string()),
            (None, true) => "predicting…".into(),
            (None, false) => "no predictions yet".into(),
        };
        let sort = match b.sort {
            SortBy::File => "file order",
            SortBy::Error => "by error",
        };
        let mut title = vec![Span::raw(" utterances ")];
        title.extend(split_tabs);
        title.push(Span::styled(
            format!("· {}/{} · {sort} · {status} ", b.order.len(), current.rows.len()),
            Style::default().fg(theme.dim),
        ));
        let search = if b.searching || !b.query.is_empty() {
            let cursor = if b.searching { "▏" } else { "" };
            Line::from(format!(" /{}{cursor}", b.query)).style(Style::default().fg(theme.warning))
        } else {
            Line::default()
        };
        let border = if self.focused { theme.accent } else { theme.border };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(Style::default().fg(border))
            .title(Line::from(title))
            .title_bottom(search);
        let inner = block.inner(area);
        block.render(area, buf);
        let visible = inner.height.saturating_sub(1) as usize;
        if visible == 0 {
            return;
        }
        // Keeps the cursor on screen without per-frame scroll state.
        let offset = b
            .cursor
            .saturating_sub(visible / 2)
            .min(b.order.len().saturating_sub(visible));
        let rows: Vec<Row> = b.order[offset..(offset + visible).min(b.order.len())]
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let u = &current.rows[i];
                let pred = current.predictions.as_ref().map(|p| p[i]);
                // An unlabelled recording (NaN label) has no error.
                let err = pred.map(|p| (p - u.label).abs()).filter(|e| e.is_finite());
                let err_style = match err {
                    Some(e) if e >= 1.0 => Style::default().fg(theme.bad),
                    Some(_) => Style::default().fg(theme.good),
                    None => Style::default().fg(theme.dim),
                };
                let row = Row::new(vec![
                    Cell::from(format!("{i:>4}")).style(Style::default().fg(theme.dim)),
                    Cell::from(crate::data::label_text(u.label, 1)),
                    Cell::from(pred.map_or("   -".into(), |p| format!("{p:+.2}"))),
                    Cell::from(err.map_or("   -".into(), |e| format!("{e:.2}"))).style(err_style),
                    Cell::from(u.text.to_lowercase()),
                ]);
                if offset + k == b.cursor {
                    row.style(Style::default().bg(theme.selection).add_modifier(Modifier::BOLD))
                } else {
                    row
                }
            })
            .collect();
        let header = Row::new(["   #", "label", " pred", " err", "text"])
            .style(Style::default().fg(theme.dim).add_modifier(Modifier::UNDERLINED));
        Table::new(
            rows,
            [
                Constraint::Length(4),
                Constraint::Length(5),
                Constraint::Length(5),
                Constraint::Length(4),
                Constraint::Min(10),
            ],
        )
        .header(header)
        .render(inner, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Browser {
        let u = |text: &str, label: f32| Utterance {
            text: text.into(),
            label,
        };
        Browser::new(
            [
                vec![u("a good film", 2.0), u("bad acting", -2.0)],
                vec![u("fine", 0.4)],
                vec![
                    u("AND HE WAS STILL BORING", -1.8),
                    u("there are  some funny moments ", 0.2),
                    u("I THOUGHT IT WAS FUN", 1.2),
                    u("it was fun to watch", 1.0),
                ],
            ],
            Split::Test,
        )
    }

    #[test]
    fn navigation_stays_in_bounds() {
        let mut b = sample();
        assert_eq!(b.selected(), Some((Split::Test, 0)));
        b.move_by(-3);
        assert_eq!(b.cursor, 0);
        b.move_by(10);
        assert_eq!(b.selected(), Some((Split::Test, 3)));
        b.home();
        assert_eq!(b.cursor, 0);
        b.end();
        assert_eq!(b.cursor, 3);
        b.next_split(true);
        assert_eq!(b.selected(), Some((Split::Train, 0)));
        b.next_split(false);
        assert_eq!(b.split, Split::Test);
    }

    #[test]
    fn search_filters_and_sort_by_error_orders() {
        let mut b = sample();
        b.set_query("FUN".into());
        assert_eq!(b.order, [1, 2, 3], "case-insensitive substring");
        b.set_query(String::new());
        b.toggle_sort();
        assert_eq!(b.order, [0, 1, 2, 3], "no predictions yet: file order");
        b.set_predictions(Split::Test, vec![-1.0, 2.0, 1.0, -1.0], Weights::Live { step: 7 });
        assert_eq!(b.order, [3, 1, 0, 2], "largest error first (2.0, 1.8, 0.8, 0.2)");
        b.set_predictions(Split::Test, vec![0.0], Weights::Checkpoint);
        assert_eq!(
            b.current().weights,
            Some(Weights::Live { step: 7 }),
            "a wrong-length answer is ignored"
        );
    }

    #[test]
    fn figure4_sentences_are_found_by_normalised_text() {
        let mut b = sample();
        assert_eq!(b.figure4(), [1, 2]);
        b.set_split(Split::Train);
        b.set_query("zzz".into());
        b.select(Split::Test, 2);
        assert_eq!(b.selected(), Some((Split::Test, 2)));
    }
}
