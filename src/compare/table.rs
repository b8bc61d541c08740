//! The metrics table's columns: what each holds for a row, how it is written, and which way
//! is better (the best row of each column is marked).

use super::{Row, Stat};

/// A column of the metrics table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The best dev epoch (from 1).
    BestEpoch,
    /// The best dev epoch's loss.
    DevLoss,
    /// The best checkpoint's test loss.
    TestLoss,
    /// Test Acc2, %.
    Acc2,
    /// Test Acc2 without the zero labels, %.
    Acc2NonZero,
    /// Test weighted F1, %.
    F1,
    /// Test seven-class accuracy, %.
    Acc7,
    /// Test mean absolute error.
    Mae,
    /// Test Pearson correlation.
    Corr,
}

/// The columns in table order.
pub const COLUMNS: [Column; 9] = [
    Column::BestEpoch,
    Column::DevLoss,
    Column::TestLoss,
    Column::Acc2,
    Column::Acc2NonZero,
    Column::F1,
    Column::Acc7,
    Column::Mae,
    Column::Corr,
];

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Accuracies, F1, correlation.
    Higher,
    /// Losses, MAE.
    Lower,
}

impl Column {
    /// The header, as the training screen's metrics table writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::BestEpoch => "best",
            Self::DevLoss => "dev loss",
            Self::TestLoss => "test loss",
            Self::Acc2 => "Acc2",
            Self::Acc2NonZero => "Acc2*",
            Self::F1 => "F1",
            Self::Acc7 => "Acc7",
            Self::Mae => "MAE",
            Self::Corr => "Corr",
        }
    }

    /// A name for CSV headers and file columns.
    pub fn key(self) -> &'static str {
        match self {
            Self::BestEpoch => "best_epoch",
            Self::DevLoss => "dev_loss",
            Self::TestLoss => "test_loss",
            Self::Acc2 => "acc2",
            Self::Acc2NonZero => "acc2_nonzero",
            Self::F1 => "f1",
            Self::Acc7 => "acc7",
            Self::Mae => "mae",
            Self::Corr => "corr",
        }
    }

    /// `None` for the best epoch: neither way is better.
    pub fn better(self) -> Option<Better> {
        match self {
            Self::BestEpoch => None,
            Self::DevLoss | Self::TestLoss | Self::Mae => Some(Better::Lower),
            _ => Some(Better::Higher),
        }
    }

    /// Digits after the point.
    pub fn digits(self) -> usize {
        match self {
            Self::BestEpoch => 0,
            Self::Acc2 | Self::Acc2NonZero | Self::F1 | Self::Acc7 => 1,
            _ => 3,
        }
    }

    /// The column's figure over the row's runs.
    pub fn stat(self, row: &Row) -> Option<Stat> {
        let runs = row.runs.iter();
        match self {
            Self::BestEpoch => Stat::of(runs.filter_map(|r| r.curves.best()).map(|d| d.epoch as f64)),
            Self::DevLoss => Stat::of(runs.filter_map(|r| r.curves.best()).map(|d| d.scores.loss)),
            Self::TestLoss => Stat::of(runs.filter_map(|r| r.curves.test).map(|t| t.loss)),
            _ => {
                let i = self.headline_index();
                Stat::of(runs.filter_map(|r| r.curves.test).map(|t| t.headline[i]))
            }
        }
    }

    fn headline_index(self) -> usize {
        match self {
            Self::Acc2 => 0,
            Self::Acc2NonZero => 1,
            Self::F1 => 2,
            Self::Acc7 => 3,
            Self::Mae => 4,
            _ => 5,
        }
    }

    /// The figure as a cell: `81.2`, or `81.2 ± 1.3` over several runs; `-` without.
    pub fn cell(self, stat: Option<Stat>) -> String {
        let d = self.digits();
        match stat {
            None => "-".into(),
            Some(s) if s.n > 1 => format!("{:.d$} ± {:.d$}", s.mean, s.std, d = d.max(1)),
            Some(s) => format!("{:.d$}", s.mean),
        }
    }
}
