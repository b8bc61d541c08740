//! Utterance browser: the texts, labels and latest predictions of each split, filtered by a
//! search and sorted by file order or by error, with a cursor. A recording opened with
//! `--wav` (or a stress pair, `--wav` twice) is one utterance per file, named by its file,
//! without split tabs.
//!
//! It stays responsive at MOSEI scale (issue 18: search and sort by error under 50 ms with
//! 20,000 utterances; `benches/browser_scale.rs`, docs/BENCHMARKS.md): each text is
//! lower-cased once, not on every keystroke; a keystroke that extends the search narrows the
//! rows already shown instead of searching them all; the order by error is computed once per
//! set of predictions and kept; and a frame draws only the rows in view.

use std::path::{Path, PathBuf};

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table, Widget};

use super::theme::Theme;
use crate::data::{Dataset, Split};
use crate::train::Weights;

#[derive(Debug, Clone, PartialEq)]
/// One row of the list.
pub struct Utterance {
    /// The transcript.
    pub text: String,
    /// The sentiment label (NaN for a recording, which has none).
    pub label: f32,
}

#[derive(Debug, Clone, Default, PartialEq)]
/// One split's rows and the model's latest predictions for them.
pub struct SplitRows {
    /// In file order.
    pub rows: Vec<Utterance>,
    /// One per row, once the model has made them.
    pub predictions: Option<Vec<f32>>,
    /// The weights that made the predictions.
    pub weights: Option<Weights>,
    /// Asked the model for predictions and not answered yet.
    pub requested: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// The order of the list (`o`).
pub enum SortBy {
    /// As in the file.
    File,
    /// Largest absolute error first; utterances without a prediction last.
    Error,
}

/// Which way `[` and `]` go through the splits (train, dev, test, and round).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cycle {
    /// train, dev, test, train, ...
    Next,
    /// The other way round.
    Previous,
}

#[derive(Debug, Clone)]
/// The utterance list: every split, the one shown, its search, order and cursor.
pub struct Browser {
    /// Train, dev and test, by `Split::index`.
    pub splits: [SplitRows; 3],
    /// The split shown.
    pub split: Split,
    /// The search (case-insensitive substring); empty shows every row.
    pub query: String,
    /// Keys type into the search (`/` until enter or esc).
    pub searching: bool,
    /// The order of the rows.
    pub sort: SortBy,
    /// Utterance indices shown, in display order.
    pub order: Vec<usize>,
    /// Position in `order`.
    pub cursor: usize,
    /// The recordings the rows are (kept in the test split, one row each: one recording
    /// or a stress pair), not a dataset's splits; each is named by its file and there are
    /// no splits to switch between. Empty for a dataset.
    pub recordings: Vec<PathBuf>,
    /// Each split's texts lower-cased, by `Split::index`: what the search compares.
    folded: [Vec<String>; 3],
    /// The lower-cased search `order` was filtered by.
    folded_query: String,
    /// Each split's rows by error, largest first, while its predictions stand
    /// (`set_predictions` and `keep_only` drop it).
    by_error: [Option<Vec<usize>>; 3],
}

impl Browser {
    /// A list of these rows showing `split`, in file order, the cursor on the first row.
    pub fn new(splits: [Vec<Utterance>; 3], split: Split) -> Self {
        let folded = std::array::from_fn(|k| splits[k].iter().map(|u| u.text.to_lowercase()).collect());
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
            recordings: Vec::new(),
            folded,
            folded_query: String::new(),
            by_error: [None, None, None],
        };
        b.refilter(None);
        b
    }

    /// The one utterance of a recording (in the test split, as `Dataset::from_recording`
    /// keeps it), named by `wav`.
    pub fn recording(wav: &Path, utterance: Utterance) -> Self {
        Self::recordings(vec![(wav.to_path_buf(), utterance)])
    }

    /// The utterances of recordings (one, or a stress pair), in the test split in this
    /// order, each named by its file.
    pub fn recordings(takes: Vec<(PathBuf, Utterance)>) -> Self {
        let (recordings, rows): (Vec<PathBuf>, Vec<Utterance>) = takes.into_iter().unzip();
        Self {
            recordings,
            ..Self::new([Vec::new(), Vec::new(), rows], Split::Test)
        }
    }

    /// Whether the rows are recordings (`--wav`) rather than a dataset's splits.
    pub fn is_recordings(&self) -> bool {
        !self.recordings.is_empty()
    }

    /// `split` is shown first; a recording is shown as such whatever `split` says.
    pub fn from_dataset(data: &Dataset, split: Split) -> Self {
        let rows = |s: Split| -> Vec<Utterance> {
            data.split(s)
                .iter()
                .map(|e| Utterance {
                    text: e.text.clone(),
                    label: e.label,
                })
                .collect()
        };
        let test = rows(Split::Test);
        if !data.recordings.is_empty() && data.recordings.len() == test.len() {
            return Self::recordings(data.recordings.iter().cloned().zip(test).collect());
        }
        Self::new(Split::ALL.map(rows), split)
    }

    /// The file name (`utt11.wav`) of the recording that row `index` is, for the screen.
    pub fn recording_file(&self, index: usize) -> Option<String> {
        self.recordings.get(index).map(|p| crate::data::recording_label(p))
    }

    /// What names an utterance on screen: `dev #3`, or a recording's file name.
    pub fn name(&self, split: Split, index: usize) -> String {
        self.recording_file(index)
            .unwrap_or_else(|| format!("{} #{index}", split.name()))
    }

    /// The rows of the split shown.
    pub fn current(&self) -> &SplitRows {
        &self.splits[self.split.index()]
    }

    /// The selected utterance (split, index in file order).
    pub fn selected(&self) -> Option<(Split, usize)> {
        self.order.get(self.cursor).map(|&i| (self.split, i))
    }

    /// The shown split's rows by error, largest first, rows without one (no prediction,
    /// an unlabelled recording) last, ties in file order; computed once per predictions.
    fn error_order(&mut self) -> &[usize] {
        let k = self.split.index();
        let rows = &self.splits[k];
        self.by_error[k].get_or_insert_with(|| {
            let errors: Vec<f32> = match &rows.predictions {
                Some(p) => p
                    .iter()
                    .zip(&rows.rows)
                    .map(|(p, u)| Some((p - u.label).abs()).filter(|e| e.is_finite()).unwrap_or(-1.0))
                    .collect(),
                None => vec![-1.0; rows.rows.len()],
            };
            let mut order: Vec<usize> = (0..errors.len()).collect();
            order.sort_unstable_by(|&a, &b| errors[b].total_cmp(&errors[a]).then(a.cmp(&b)));
            order
        })
    }

    /// Rebuilds `order`; keeps `keep` (an utterance index) selected when it is still shown.
    fn refilter(&mut self, keep: Option<usize>) {
        let query = self.query.to_lowercase();
        let k = self.split.index();
        let order: Vec<usize> = match self.sort {
            SortBy::File => (0..self.splits[k].rows.len()).collect(),
            SortBy::Error => self.error_order().to_vec(),
        };
        self.order = self.matching(order, &query);
        self.folded_query = query;
        self.place_cursor(keep);
    }

    /// The rows of `order` whose text holds `query` (lower-cased), in that order.
    fn matching(&self, mut order: Vec<usize>, query: &str) -> Vec<usize> {
        if !query.is_empty() {
            let folded = &self.folded[self.split.index()];
            order.retain(|&i| folded[i].contains(query));
        }
        order
    }

    fn place_cursor(&mut self, keep: Option<usize>) {
        self.cursor = keep
            .and_then(|k| self.order.iter().position(|&i| i == k))
            .unwrap_or(0)
            .min(self.order.len().saturating_sub(1));
    }

    /// Moves the cursor `delta` rows, stopping at either end.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.order.len().saturating_sub(1) as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, last.max(0)) as usize;
    }

    /// The cursor to the first row.
    pub fn home(&mut self) {
        self.cursor = 0;
    }

    /// The cursor to the last row.
    pub fn end(&mut self) {
        self.cursor = self.order.len().saturating_sub(1);
    }

    /// Shows `split`.
    pub fn set_split(&mut self, split: Split) {
        if split != self.split {
            self.split = split;
            self.refilter(None);
        }
    }

    /// Shows the next or previous split (`]`, `[`).
    pub fn cycle_split(&mut self, way: Cycle) {
        let i = self.split.index()
            + match way {
                Cycle::Next => 1,
                Cycle::Previous => 2,
            };
        self.set_split(Split::ALL[i % 3]);
    }

    /// File order or largest error first (`o`).
    pub fn toggle_sort(&mut self) {
        self.sort = match self.sort {
            SortBy::File => SortBy::Error,
            SortBy::Error => SortBy::File,
        };
        // The top of the new order is what the user wants to see (the largest errors).
        self.refilter(None);
    }

    /// Filters the rows by `query`, keeping the selected row where it is still shown. A
    /// query that extends the last one (a key typed) narrows the rows shown: every text that
    /// holds it holds the last one too.
    pub fn set_query(&mut self, query: String) {
        self.query = query;
        let keep = self.selected().map(|s| s.1);
        let folded = self.query.to_lowercase();
        if folded.starts_with(&self.folded_query) {
            let order = std::mem::take(&mut self.order);
            self.order = self.matching(order, &folded);
            self.folded_query = folded;
            self.place_cursor(keep);
        } else {
            self.refilter(keep);
        }
    }

    /// The model's predictions for `split` (ignored unless one per row).
    pub fn set_predictions(&mut self, split: Split, values: Vec<f32>, weights: Weights) {
        let rows = &mut self.splits[split.index()];
        if values.len() != rows.rows.len() {
            return;
        }
        rows.predictions = Some(values);
        rows.weights = Some(weights);
        rows.requested = false;
        self.by_error[split.index()] = None;
        if split == self.split && self.sort == SortBy::Error {
            let keep = self.selected().map(|s| s.1);
            self.refilter(keep);
        }
    }

    /// Forgets the predictions that other weights made (and unanswered requests: the
    /// model that was asked is gone).
    pub fn keep_only(&mut self, weights: Weights) {
        for (rows, by_error) in self.splits.iter_mut().zip(&mut self.by_error) {
            if rows.weights != Some(weights) {
                rows.predictions = None;
                rows.weights = None;
                rows.requested = false;
                *by_error = None;
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
        let test: Vec<&str> = self.splits[Split::Test.index()]
            .rows
            .iter()
            .map(|u| u.text.as_str())
            .collect();
        crate::figure4::locate(&test).into_iter().flatten().collect()
    }
}

/// The list as a widget: the split tabs, the search, and the rows with their errors.
pub struct BrowserPanel<'a> {
    /// What to draw.
    pub browser: &'a Browser,
    /// Its colours.
    pub theme: &'a Theme,
    /// The arrow keys move the list (the border says so).
    pub focused: bool,
}

impl Widget for BrowserPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (b, theme) = (self.browser, self.theme);
        let recording = b.is_recordings();
        // A recording has no splits: tabs would lead to empty lists.
        let tabs = if recording { &[][..] } else { &Split::ALL[..] };
        let split_tabs: Vec<Span> = tabs
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
        let mut title = vec![Span::raw(match b.recordings.len() {
            0 => " utterances ",
            1 => " recording ",
            _ => " recordings (a pair) ",
        })];
        title.extend(split_tabs);
        let shown = if recording {
            String::new()
        } else {
            format!("· {}/{} · {sort} ", b.order.len(), current.rows.len())
        };
        title.push(Span::styled(
            format!("{shown}· {status} "),
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
                let name = b.recording_file(i).unwrap_or_else(|| format!("{i:>4}"));
                let row = Row::new(vec![
                    Cell::from(name).style(Style::default().fg(theme.dim)),
                    Cell::from(crate::data::label_text(u.label, 1)),
                    Cell::from(pred.map_or("   -".into(), |p| format!("{p:+.2}"))),
                    Cell::from(err.map_or("   -".into(), |e| format!("{e:.2}"))).style(err_style),
                    Cell::from(b.folded[b.split.index()][i].as_str()),
                ]);
                if offset + k == b.cursor {
                    // Without colour the background is dropped: reverse video marks the row.
                    let mark = if super::theme::no_color() {
                        Modifier::BOLD | Modifier::REVERSED
                    } else {
                        Modifier::BOLD
                    };
                    row.style(Style::default().bg(theme.selection).add_modifier(mark))
                } else {
                    row
                }
            })
            .collect();
        // A recording's row is named by its file (up to 24 characters shown), a split's rows
        // by their index.
        let longest = (0..b.recordings.len())
            .filter_map(|i| b.recording_file(i))
            .map(|f| super::text::cols(&f))
            .max();
        let (first, first_w) = match longest {
            Some(w) => ("file", w.clamp(4, 24) as u16),
            None => ("   #", 4),
        };
        let header = Row::new([first, "label", " pred", " err", "text"])
            .style(Style::default().fg(theme.dim).add_modifier(Modifier::UNDERLINED));
        Table::new(
            rows,
            [
                Constraint::Length(first_w),
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
    use crate::ui::tests::{attention_arrives, opened_app, screen};

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
        b.cycle_split(Cycle::Next);
        assert_eq!(b.selected(), Some((Split::Train, 0)));
        b.cycle_split(Cycle::Previous);
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

    /// What the list must show: the rows holding `query` (case-insensitive), in file order
    /// or largest error first (no error last, ties in file order), computed from scratch.
    fn expected(rows: &[Utterance], predictions: Option<&[f32]>, query: &str, sort: SortBy) -> Vec<usize> {
        let q = query.to_lowercase();
        let mut order: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].text.to_lowercase().contains(&q))
            .collect();
        if sort == SortBy::Error {
            let err = |i: usize| {
                predictions
                    .map(|p| (p[i] - rows[i].label).abs())
                    .filter(|e| e.is_finite())
                    .unwrap_or(-1.0)
            };
            order.sort_by(|&a, &b| err(b).total_cmp(&err(a)).then(a.cmp(&b)));
        }
        order
    }

    /// The search narrows the rows shown as keys are typed and the order by error is kept
    /// between keystrokes: whatever the way to a query, the list is what a fresh search
    /// shows, and new predictions (or forgotten ones) reorder it.
    #[test]
    fn typed_searches_and_the_kept_order_show_what_a_fresh_search_does() {
        let words = ["The", "movie", "WAS", "fun", "the", "ΟΔΟΣ", "plot", "not"];
        let rows: Vec<Utterance> = (0..300)
            .map(|i: usize| Utterance {
                text: (0..1 + i % 7)
                    .map(|k| words[(i * 31 + k * 17) % words.len()])
                    .collect::<Vec<_>>()
                    .join(" "),
                label: if i % 29 == 0 {
                    f32::NAN
                } else {
                    (i % 13) as f32 / 2.0 - 3.0
                },
            })
            .collect();
        let first: Vec<f32> = (0..300).map(|i| ((i * 7919) % 61) as f32 / 10.0 - 3.0).collect();
        let second: Vec<f32> = first.iter().map(|p| -p).collect();
        let mut b = Browser::new([Vec::new(), Vec::new(), rows.clone()], Split::Test);
        let check = |b: &Browser, predictions: Option<&[f32]>| {
            assert_eq!(
                b.order,
                expected(&rows, predictions, &b.query, b.sort),
                "query {:?}, {:?}",
                b.query,
                b.sort
            );
        };
        let mut typed = String::new();
        for c in "THE MOV".chars() {
            typed.push(c);
            b.set_query(typed.clone());
            check(&b, None);
        }
        b.toggle_sort();
        check(&b, None);
        b.set_predictions(Split::Test, first.clone(), Weights::Checkpoint);
        check(&b, Some(&first));
        typed.pop();
        b.set_query(typed.clone());
        check(&b, Some(&first));
        for query in ["", "ο", "οδός", "ΟΔΟΣ", "t", "th", "the", "the m", "x", ""] {
            b.set_query(query.into());
            check(&b, Some(&first));
        }
        b.set_query("t".into());
        b.set_predictions(Split::Test, second.clone(), Weights::Live { step: 3 });
        check(&b, Some(&second));
        b.set_query("th".into());
        check(&b, Some(&second));
        b.keep_only(Weights::Checkpoint);
        check(&b, None);
        b.set_split(Split::Train);
        assert!(b.order.is_empty());
        b.set_split(Split::Test);
        check(&b, None);
        b.toggle_sort();
        b.set_query("the".into());
        check(&b, None);
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

    /// The app on one recording, its attention arrived: what `open --wav takes/utt11.wav` shows.
    fn recording_app() -> crate::ui::App {
        let utterance = Utterance {
            text: "funny ok".into(),
            label: f32::NAN,
        };
        let mut browser = Browser::recording(Path::new("takes/utt11.wav"), utterance);
        browser.set_predictions(Split::Test, vec![0.85], Weights::Checkpoint);
        let mut app = opened_app(browser);
        let mut snapshot = crate::export::tests::snapshot(0);
        snapshot.label = f32::NAN;
        attention_arrives(&mut app, snapshot);
        app
    }

    /// Before, a recording showed as "test #0" under tabs leading to empty train and dev
    /// splits, and its file name appeared nowhere.
    #[test]
    fn a_recording_is_named_by_its_file_without_split_tabs() {
        use crate::train::Command;
        use crossterm::event::KeyCode;
        let mut app = recording_app();
        assert_eq!(
            app.start(),
            [Command::Watch {
                split: Split::Test,
                index: 0
            }],
            "predictions already shown: only the watch"
        );
        for (w, h) in [(80, 24), (120, 40)] {
            let shown = screen(w, h, &app);
            insta::assert_snapshot!(format!("recording_{w}x{h}"), shown);
            assert!(
                shown.contains(" utt11.wav: funny ok ") && shown.contains("recording"),
                "the heatmaps' header and the list name the file:\n{shown}"
            );
            let row = shown.lines().find(|l| l.contains("funny ok") && l.contains("+0.85"));
            assert!(row.is_some_and(|r| r.contains("utt11.wav")), "its row too:\n{shown}");
            assert!(
                !shown.contains("test #0") && !shown.contains("train dev test"),
                "no split name, no tabs:\n{shown}"
            );
        }
        for key in ['[', ']'] {
            assert_eq!(app.on_key(KeyCode::Char(key)), [], "no empty split to go to");
            assert_eq!(app.browser.selected(), Some((Split::Test, 0)));
            assert!(app.message.as_deref().unwrap().contains("one recording"));
        }
    }

    #[test]
    fn a_dataset_from_a_recording_makes_a_recording_browser() {
        let vocab = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny/vocab.txt");
        let encoder = crate::data::TextEncoder::from_file(&vocab, 50).unwrap();
        let set = crate::acoustic::set::PROSODY;
        let dims = set.info().dims.len();
        let features = crate::acoustic::AudioFeatures {
            feature_set: set.info(),
            norm: crate::acoustic::AudioNorm {
                mean: vec![0.0; dims],
                std: vec![1.0; dims],
                words: 2,
            },
        };
        let words = ["so", "fun"].map(String::from);
        let data = Dataset::from_recording(
            Path::new("takes/utt11.wav"),
            &words,
            &[vec![0.0; dims], vec![1.0; dims]],
            &encoder,
            features,
        )
        .unwrap();
        let b = Browser::from_dataset(&data, Split::Dev);
        assert_eq!(b.recording_file(0).as_deref(), Some("utt11.wav"));
        assert_eq!(
            b.selected(),
            Some((Split::Test, 0)),
            "the recording, whatever the split asked"
        );
        assert_eq!(b.name(Split::Test, 0), "utt11.wav");
        assert_eq!(sample().name(Split::Dev, 3), "dev #3");
    }
}
