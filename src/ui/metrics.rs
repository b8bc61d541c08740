//! Metrics table: dev metrics per epoch and the final test metrics (of the best epoch's
//! weights, those `best/` holds).
//!
//! The run's results must stay in view whatever the panel's height: the best epoch, the
//! newest epochs and the test row are always shown, and the epochs that do not fit are
//! summarised in one line each run of them ("… 5 epochs (dev 7-11) …"). ↑↓ (and j k, PgUp
//! PgDn, g G, the mouse wheel) move the window of epochs; the best and test rows stay. A
//! fixed 6-row table hid dev 7-12, the best epoch and the test row of the default run
//! (issue 20). The layout asks [`MetricsTable::height`] and [`MetricsTable::min_height`]
//! for the rows these need.
//!
//! The columns are the paper's, except for a run on a CH-SIMS file (`data::mmsa`), whose
//! labels lie in [-1, 1]: Acc7 means nothing there, so its columns are the figures MMSA
//! reports for SIMS (`train::MmsaMetrics::Sims`), in the same widths. A MOSI or MOSEI pickle
//! keeps the paper's columns: MMSA's eight figures for them do not fit beside the loss, and
//! the headless lines and the history carry them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use super::state::RunState;
use super::text::{cols, plural};
use super::theme::Theme;
use crate::train::{Metrics, MmsaMetrics};

/// The dev metrics per epoch, the best epoch marked, and the test row at the end.
pub struct MetricsTable<'a>(
    /// The run.
    pub &'a RunState,
    /// Its colours.
    pub &'a Theme,
);

/// One line of the table's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// An epoch's dev metrics (index into `RunState::epoch_rows`).
    Epoch(usize),
    /// Epochs `first..=last` left out.
    Hidden {
        /// The first epoch left out.
        first: usize,
        /// The last epoch left out.
        last: usize,
    },
    /// The test metrics, once the run has them.
    Test,
}

/// Column widths, one space apart: name, loss, Acc2, Acc2*, F1, Acc7, MAE, Corr (SIMS:
/// name, loss, Acc2, Acc3, Acc5, F1, MAE, Corr).
const WIDTHS: [usize; 8] = [7, 6, 5, 5, 5, 5, 6, 6];
const HEADER: [&str; 8] = ["", "loss", "Acc2", "Acc2*", "F1", "Acc7", "MAE", "Corr"];
/// MMSA's `Mult_acc_2`, `Mult_acc_3`, `Mult_acc_5`, `F1_score`, `MAE`, `Corr`.
const SIMS_HEADER: [&str; 8] = ["", "loss", "Acc2", "Acc3", "Acc5", "F1", "MAE", "Corr"];
const BEST: &str = " best";
/// Columns the table needs inside its border, the best row's mark included.
pub const TABLE_WIDTH: u16 = 52 + BEST.len() as u16;
/// Lines for the best, the two newest and the test row with the hidden runs around them.
const PINNED: usize = 6;

/// Which figures the table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Columns {
    /// The paper's (docs/MODEL.md §5).
    Paper,
    /// MMSA's for CH-SIMS.
    Sims,
}

impl Columns {
    /// SIMS's once any of the run's figures are SIMS's (they all are, or none).
    fn of(s: &RunState) -> Self {
        let sims = |m: &Metrics| matches!(m.mmsa, Some(MmsaMetrics::Sims { .. }));
        if s.epoch_rows.iter().any(|r| sims(&r.dev)) || s.test.as_ref().is_some_and(sims) {
            Self::Sims
        } else {
            Self::Paper
        }
    }

    fn header(self) -> [&'static str; 8] {
        match self {
            Self::Paper => HEADER,
            Self::Sims => SIMS_HEADER,
        }
    }
}

/// Whether the table ends with the test row: once the run has been tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestRow {
    /// The run has been tested.
    Shown,
    /// Not yet.
    Absent,
}

/// The body lines for `epochs` epochs in `capacity` lines, the newest shown epoch `scroll`
/// back from the last: the best epoch and the test row always, then as many epochs up to
/// the newest shown as fit, the others summarised in one line per run. A run of one hidden
/// epoch is shown instead (it takes the same line).
pub fn shown_rows(epochs: usize, best: Option<usize>, test: TestRow, capacity: usize, scroll: usize) -> Vec<Shown> {
    let test = test == TestRow::Shown;
    let tail = test.then_some(Shown::Test);
    if epochs + usize::from(test) <= capacity {
        return (0..epochs).map(Shown::Epoch).chain(tail).collect();
    }
    let room = capacity.saturating_sub(usize::from(test));
    if epochs == 0 || room == 0 {
        return tail.into_iter().take(capacity).collect();
    }
    let newest = epochs - 1 - scroll.min(epochs - 1);
    for len in (1..=room.min(epochs)).rev() {
        // A window that would start before the first epoch keeps its length.
        let hi = newest.max(len - 1);
        let rows = with_gaps(epochs, |i| (hi + 1 - len..=hi).contains(&i) || Some(i) == best);
        if rows.len() <= room {
            return rows.into_iter().chain(tail).collect();
        }
    }
    // Too short for the runs' summaries: the best and the newest shown, as many as fit.
    let mut rows: Vec<Shown> = best.into_iter().chain([newest]).map(Shown::Epoch).collect();
    rows.dedup();
    rows.truncate(room);
    rows.into_iter().chain(tail).collect()
}

fn with_gaps(epochs: usize, shown: impl Fn(usize) -> bool) -> Vec<Shown> {
    let mut rows = Vec::new();
    let mut i = 0;
    while i < epochs {
        if shown(i) {
            rows.push(Shown::Epoch(i));
            i += 1;
            continue;
        }
        let first = i;
        while i < epochs && !shown(i) {
            i += 1;
        }
        if i - first == 1 {
            rows.push(Shown::Epoch(first));
        } else {
            rows.push(Shown::Hidden { first, last: i - 1 });
        }
    }
    rows
}

fn cells(name: String, loss: Option<f64>, m: &Metrics, columns: Columns) -> [String; 8] {
    let pct = |v: f64| format!("{:.1}", 100.0 * v);
    let fixed = |v: f64| format!("{v:.3}");
    let [a, b, c, d, e, f] = match (columns, m.mmsa) {
        (Columns::Paper, _) => [
            pct(m.acc2),
            pct(m.acc2_nonzero),
            pct(m.f1),
            pct(m.acc7),
            fixed(m.mae),
            fixed(m.corr),
        ],
        (
            Columns::Sims,
            Some(MmsaMetrics::Sims {
                acc2,
                acc3,
                acc5,
                f1,
                mae,
                corr,
            }),
        ) => [pct(acc2), pct(acc3), pct(acc5), pct(f1), fixed(mae), fixed(corr)],
        // Not counted as SIMS's (cannot happen within one run): no figures rather than others.
        (Columns::Sims, _) => ["-"; 6].map(String::from),
    };
    [name, loss.map_or("-".into(), fixed), a, b, c, d, e, f]
}

fn row(cells: [String; 8]) -> String {
    let line: Vec<String> = cells.iter().zip(WIDTHS).map(|(c, w)| format!("{c:<w$}")).collect();
    line.join(" ").trim_end().to_string()
}

impl MetricsTable<'_> {
    /// Epochs the table makes room for: the planned ones, so that the layout stays put
    /// while they arrive.
    fn epochs(&self) -> usize {
        self.0.epochs.max(self.0.epoch_rows.len())
    }

    /// Body lines for every planned epoch and the test row (expected once training).
    fn full_body(&self) -> usize {
        let s = self.0;
        let test = s.test.is_some() || s.epochs > 0;
        (self.epochs() + usize::from(test)).max(1)
    }

    /// Rows (with the header and the border) to show every epoch and the test row.
    pub fn height(&self) -> u16 {
        self.full_body() as u16 + 3
    }

    /// Rows (with the header and the border) that keep the best, the two newest and the
    /// test row.
    pub fn min_height(&self) -> u16 {
        self.full_body().min(PINNED) as u16 + 3
    }

    fn lines(&self, width: u16, capacity: usize) -> (Vec<Line<'static>>, bool) {
        let (s, theme) = (self.0, self.1);
        let best = s.best_epoch();
        let shown = shown_rows(
            s.epoch_rows.len(),
            best,
            if s.test.is_some() {
                TestRow::Shown
            } else {
                TestRow::Absent
            },
            capacity,
            s.metrics_scroll,
        );
        let dim = Style::default().fg(theme.dim);
        let columns = Columns::of(s);
        let mut lines = vec![Line::styled(
            row(columns.header().map(String::from)),
            Style::default().add_modifier(Modifier::UNDERLINED),
        )];
        let mut hidden = false;
        for item in shown {
            lines.push(match (item, &s.test) {
                (Shown::Epoch(i), _) => {
                    let r = &s.epoch_rows[i];
                    let text = row(cells(format!("dev {}", r.epoch + 1), Some(r.dev_loss), &r.dev, columns));
                    if Some(r.epoch) == best {
                        let style = Style::default().fg(theme.good).add_modifier(Modifier::BOLD);
                        let marked = format!("{text:<w$}{BEST}", w = TABLE_WIDTH as usize - BEST.len());
                        Line::styled(if cols(&marked) <= width as usize { marked } else { text }, style)
                    } else {
                        Line::raw(text)
                    }
                }
                (Shown::Hidden { first, last }, _) => {
                    hidden = true;
                    let rows = &s.epoch_rows[first..=last];
                    let (lo, hi) = rows.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), r| {
                        (lo.min(r.dev_loss), hi.max(r.dev_loss))
                    });
                    let (a, b) = (rows[0].epoch + 1, rows[rows.len() - 1].epoch + 1);
                    let (lo, hi) = (format!("{lo:.3}"), format!("{hi:.3}"));
                    let losses = if lo == hi { lo } else { format!("{lo}-{hi}") };
                    let long = format!("…  {} (dev {a}-{b}), loss {losses}", plural(rows.len(), "epoch"));
                    let short = format!("…  dev {a}-{b}");
                    Line::styled(if cols(&long) <= width as usize { long } else { short }, dim)
                }
                (Shown::Test, Some(test)) => Line::styled(
                    row(cells("test".into(), s.test_loss, test, columns)),
                    Style::default().fg(theme.accent).add_modifier(Modifier::BOLD),
                ),
                (Shown::Test, None) => continue,
            });
        }
        if s.epoch_rows.is_empty() && s.test.is_none() {
            lines.push(Line::styled("no dev evaluation yet", dim));
        }
        (lines, hidden)
    }
}

impl Widget for MetricsTable<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let inner = Block::default().borders(Borders::ALL).inner(area);
        let (lines, hidden) = self.lines(inner.width, inner.height.saturating_sub(1) as usize);
        let title = if hidden {
            " metrics (test: best epoch's weights; ↑↓ scroll) "
        } else {
            " metrics (test: best epoch's weights) "
        };
        Paragraph::new(lines)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(Style::default().fg(self.1.border))
                    .title(title),
            )
            .style(Style::default().fg(self.1.text))
            .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::Shown::{Epoch, Hidden, Test};
    use super::*;

    #[test]
    fn all_rows_when_they_fit() {
        assert_eq!(
            shown_rows(3, Some(1), TestRow::Shown, 4, 0),
            [Epoch(0), Epoch(1), Epoch(2), Test]
        );
        assert_eq!(shown_rows(0, None, TestRow::Absent, 4, 0), []);
        assert_eq!(
            shown_rows(2, None, TestRow::Absent, 4, 7),
            [Epoch(0), Epoch(1)],
            "nothing to scroll"
        );
    }

    #[test]
    fn the_best_the_newest_and_the_test_row_stay() {
        // The default run: 12 epochs, the best (index 5) in the middle.
        assert_eq!(
            shown_rows(12, Some(5), TestRow::Shown, 5, 0),
            [
                Hidden { first: 0, last: 4 },
                Epoch(5),
                Hidden { first: 6, last: 10 },
                Epoch(11),
                Test
            ]
        );
        assert_eq!(
            shown_rows(12, Some(5), TestRow::Shown, 8, 0),
            [
                Hidden { first: 0, last: 4 },
                Epoch(5),
                Hidden { first: 6, last: 7 },
                Epoch(8),
                Epoch(9),
                Epoch(10),
                Epoch(11),
                Test
            ]
        );
        // A run of one hidden epoch is shown: it costs the same line.
        assert_eq!(
            shown_rows(12, Some(5), TestRow::Shown, 12, 0),
            (0..12)
                .filter(|&i| i != 1)
                .map(|i| if i == 0 { Hidden { first: 0, last: 1 } } else { Epoch(i) })
                .chain([Test])
                .collect::<Vec<_>>()
        );
        // The best is the newest: one summary line.
        assert_eq!(
            shown_rows(12, Some(11), TestRow::Absent, 3, 0),
            [Hidden { first: 0, last: 9 }, Epoch(10), Epoch(11)]
        );
    }

    #[test]
    fn scrolling_moves_the_window_and_keeps_the_best() {
        assert_eq!(
            shown_rows(12, Some(5), TestRow::Shown, 5, 11),
            [
                Epoch(0),
                Hidden { first: 1, last: 4 },
                Epoch(5),
                Hidden { first: 6, last: 11 },
                Test
            ],
            "the first epoch in view, the best still there"
        );
        assert_eq!(
            shown_rows(12, Some(5), TestRow::Shown, 7, 3),
            [
                Hidden { first: 0, last: 4 },
                Epoch(5),
                Epoch(6),
                Epoch(7),
                Epoch(8),
                Hidden { first: 9, last: 11 },
                Test
            ],
            "three epochs back: dev 9 is the newest shown"
        );
    }

    /// A CH-SIMS run (labels in [-1, 1]) shows MMSA's SIMS figures, not the paper's Acc7;
    /// every other run keeps the paper's columns (the `metrics` snapshot in ui/tests.rs).
    #[test]
    fn a_sims_run_shows_mmsas_sims_figures() {
        use crate::data::MmsaKind;
        use crate::train::Event;
        let theme = Theme::built_in(0);
        // Classes (-0.1, 0.1] of 0.05 and 0.1 agree; 0.65 is (0.1, 0.7] and 1.0 (0.7, 1]:
        // Acc2 and Acc3 4 of 4, Acc5 3 of 4; MAE (0.1 + 0.2 + 0.05 + 0.35) / 4.
        let (p, y) = ([0.5f32, -0.2, 0.05, 0.65], [0.6f32, -0.4, 0.1, 1.0]);
        let sims = Metrics::compute_for(Some(MmsaKind::Sims), &p, &y);
        let mut s = RunState::new("sims");
        for (epoch, best) in [(0, true), (1, false)] {
            s.apply(&Event::EpochEnd {
                epoch,
                train_loss: 0.5,
                dev_loss: 0.25 + epoch as f64 / 10.0,
                dev: sims,
                best,
            });
        }
        s.test = Some(sims);
        s.test_loss = Some(0.3);
        let out = crate::ui::tests::widget(70, 7, MetricsTable(&s, &theme));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[1],
            "│        loss   Acc2  Acc3  Acc5  F1    MAE    Corr                  │"
        );
        assert!(
            lines[2].starts_with("│dev 1   0.250  100.0 100.0 75.0  100.0 0.175 "),
            "{out}"
        );
        assert!(
            lines[4].starts_with("│test    0.300  100.0 100.0 75.0  100.0 0.175 "),
            "{out}"
        );
        insta::assert_snapshot!("metrics_sims", out);
        // The same figures without MMSA's (a TSV run): the paper's columns, as before.
        s.epoch_rows.iter_mut().for_each(|r| r.dev.mmsa = None);
        s.test = Some(Metrics::compute(&p, &y));
        let out = crate::ui::tests::widget(70, 7, MetricsTable(&s, &theme));
        assert!(out.contains("Acc2*") && out.contains("Acc7"), "{out}");
    }

    #[test]
    fn tiny_panels_keep_what_fits() {
        assert_eq!(shown_rows(12, Some(5), TestRow::Shown, 1, 0), [Test]);
        assert_eq!(shown_rows(12, Some(5), TestRow::Shown, 2, 0), [Epoch(5), Test]);
        assert_eq!(
            shown_rows(12, Some(5), TestRow::Shown, 3, 0),
            [Epoch(5), Epoch(11), Test]
        );
        assert_eq!(shown_rows(12, Some(5), TestRow::Shown, 0, 0), []);
    }
}
