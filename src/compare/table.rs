//! The metrics table's columns: what each holds for a row, how it is written, and which way
//! is better (the best row of each column is marked).
//!
//! Which test figures there are depends on the runs' data: the paper's for a TSV dataset
//! (docs/MODEL.md §5), MMSA's for its family for data read from an MMSA pickle
//! (`train::MmsaMetrics`: MOSI/MOSEI report Acc2 both ways, F1 both ways, Acc5, Acc7, MAE and
//! Corr; CH-SIMS Acc2, Acc3, Acc5, F1, MAE and Corr of values clipped to [-1, 1]). A run's
//! [`Family`] is read from what its evaluations recorded (`Metrics::mmsa`), never from a
//! printed line.

use super::{Row, Scores, Stat};
use crate::data::MmsaKind;
use crate::train::MmsaMetrics;

/// Which figures a run's evaluations report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// The paper's (data from TSV files).
    Paper,
    /// MMSA's for CMU-MOSI and CMU-MOSEI pickles (`MmsaMetrics::MosiMosei`).
    MosiMosei,
    /// MMSA's for CH-SIMS pickles (`MmsaMetrics::Sims`).
    Sims,
}

impl Family {
    /// The family of an evaluation's MMSA figures (none: the paper's).
    pub fn of(mmsa: Option<&MmsaMetrics>) -> Self {
        match mmsa {
            None => Self::Paper,
            Some(MmsaMetrics::MosiMosei { .. }) => Self::MosiMosei,
            Some(MmsaMetrics::Sims { .. }) => Self::Sims,
        }
    }

    /// The family of data of `kind` (`Dataset::mmsa`; none: TSV files).
    pub fn of_data(kind: Option<MmsaKind>) -> Self {
        match kind {
            None => Self::Paper,
            Some(MmsaKind::MosiMosei) => Self::MosiMosei,
            Some(MmsaKind::Sims) => Self::Sims,
        }
    }

    /// Its figures, in the order it reports them.
    pub fn figures(self) -> &'static [Figure] {
        match self {
            Self::Paper => &PAPER,
            Self::MosiMosei => &MOSI_MOSEI,
            Self::Sims => &SIMS,
        }
    }

    /// The accuracy a figure of the curves draws: the paper's Acc2; MMSA's Non0_acc_2 for
    /// MOSI/MOSEI (the binary accuracy most papers since MulT print alone); Mult_acc_2 for
    /// SIMS.
    pub fn accuracy(self) -> Figure {
        match self {
            Self::Paper => Figure::Acc2,
            Self::MosiMosei => Figure::Non0Acc2,
            Self::Sims => Figure::SimsAcc2,
        }
    }

    /// Its error and correlation figures.
    pub fn mae_corr(self) -> [Figure; 2] {
        match self {
            Self::Paper => [Figure::Mae, Figure::Corr],
            Self::MosiMosei => [Figure::MoseiMae, Figure::MoseiCorr],
            Self::Sims => [Figure::SimsMae, Figure::SimsCorr],
        }
    }

    /// Whose figures they are, for a table's notes.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Paper => "the paper's figures (Acc2, Acc2* without zero labels, F1, Acc7 in %)",
            Self::MosiMosei => {
                "MMSA's figures for MOSI/MOSEI (Has0: (p >= 0) vs (y >= 0) over all; Non0: zero labels left \
                 out; accuracies and F1 in %)"
            }
            Self::Sims => {
                "MMSA's figures for CH-SIMS (predictions and labels clipped to [-1, 1] first; accuracies and F1 \
                 in %)"
            }
        }
    }

    /// A short name: `paper`, `MMSA MOSI/MOSEI`, `MMSA CH-SIMS`.
    pub fn short(self) -> &'static str {
        match self {
            Self::Paper => "paper",
            Self::MosiMosei => "MMSA MOSI/MOSEI",
            Self::Sims => "MMSA CH-SIMS",
        }
    }
}

/// One test or dev figure of a family. Accuracies and F1 are in %, as the tables print them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Figure {
    /// The paper's Acc2: (p > 0) vs (y > 0) over all utterances.
    Acc2,
    /// The paper's Acc2 without the zero labels.
    Acc2NonZero,
    /// The paper's weighted F1.
    F1,
    /// The paper's seven-class accuracy.
    Acc7,
    /// The paper's mean absolute error.
    Mae,
    /// The paper's Pearson correlation.
    Corr,
    /// MMSA's `Has0_acc_2`.
    Has0Acc2,
    /// MMSA's `Has0_F1_score`.
    Has0F1,
    /// MMSA's `Non0_acc_2`.
    Non0Acc2,
    /// MMSA's `Non0_F1_score`.
    Non0F1,
    /// MMSA's `Mult_acc_5` for MOSI/MOSEI.
    MoseiAcc5,
    /// MMSA's `Mult_acc_7`.
    MoseiAcc7,
    /// MMSA's `MAE` for MOSI/MOSEI.
    MoseiMae,
    /// MMSA's `Corr` for MOSI/MOSEI.
    MoseiCorr,
    /// MMSA's `Mult_acc_2` for CH-SIMS.
    SimsAcc2,
    /// MMSA's `Mult_acc_3`.
    SimsAcc3,
    /// MMSA's `Mult_acc_5` for CH-SIMS.
    SimsAcc5,
    /// MMSA's `F1_score`.
    SimsF1,
    /// MMSA's `MAE` for CH-SIMS (of the clipped values).
    SimsMae,
    /// MMSA's `Corr` for CH-SIMS (of the clipped values).
    SimsCorr,
}

/// The paper's, as `Metrics::headline` orders them.
const PAPER: [Figure; 6] = [
    Figure::Acc2,
    Figure::Acc2NonZero,
    Figure::F1,
    Figure::Acc7,
    Figure::Mae,
    Figure::Corr,
];
/// MMSA's for MOSI/MOSEI, in `MmsaMetrics::figures` order.
const MOSI_MOSEI: [Figure; 8] = [
    Figure::Has0Acc2,
    Figure::Has0F1,
    Figure::Non0Acc2,
    Figure::Non0F1,
    Figure::MoseiAcc5,
    Figure::MoseiAcc7,
    Figure::MoseiMae,
    Figure::MoseiCorr,
];
/// MMSA's for CH-SIMS, in `MmsaMetrics::figures` order.
const SIMS: [Figure; 6] = [
    Figure::SimsAcc2,
    Figure::SimsAcc3,
    Figure::SimsAcc5,
    Figure::SimsF1,
    Figure::SimsMae,
    Figure::SimsCorr,
];

/// What a table needs to know of a figure.
struct Spec {
    /// The header (short: the family is said once, beside the table).
    name: &'static str,
    /// CSV headers and curve series; unique across families where the meaning differs.
    key: &'static str,
    /// MMSA's name (`MmsaMetrics::figures`); empty for the paper's.
    mmsa: &'static str,
    /// A fraction shown in %.
    percent: bool,
    /// When a narrow screen gives up columns, lower ranks stay longest (the losses rank 4
    /// and 5).
    rank: u8,
}

impl Figure {
    fn spec(self) -> Spec {
        let s = |name, key, mmsa, percent, rank| Spec {
            name,
            key,
            mmsa,
            percent,
            rank,
        };
        match self {
            Self::Acc2 => s("Acc2", "acc2", "", true, 0),
            Self::Acc2NonZero => s("Acc2*", "acc2_nonzero", "", true, 7),
            Self::F1 => s("F1", "f1", "", true, 3),
            Self::Acc7 => s("Acc7", "acc7", "", true, 6),
            Self::Mae => s("MAE", "mae", "", false, 1),
            Self::Corr => s("Corr", "corr", "", false, 2),
            Self::Has0Acc2 => s("Has0 Acc2", "has0_acc2", "Has0_acc_2", true, 6),
            Self::Has0F1 => s("Has0 F1", "has0_f1", "Has0_F1_score", true, 7),
            Self::Non0Acc2 => s("Non0 Acc2", "non0_acc2", "Non0_acc_2", true, 0),
            Self::Non0F1 => s("Non0 F1", "non0_f1", "Non0_F1_score", true, 3),
            Self::MoseiAcc5 => s("Acc5", "acc5", "Mult_acc_5", true, 9),
            Self::MoseiAcc7 => s("Acc7", "acc7", "Mult_acc_7", true, 8),
            Self::MoseiMae => s("MAE", "mae", "MAE", false, 1),
            Self::MoseiCorr => s("Corr", "corr", "Corr", false, 2),
            Self::SimsAcc2 => s("Acc2", "sims_acc2", "Mult_acc_2", true, 0),
            Self::SimsAcc3 => s("Acc3", "sims_acc3", "Mult_acc_3", true, 6),
            Self::SimsAcc5 => s("Acc5", "sims_acc5", "Mult_acc_5", true, 7),
            Self::SimsF1 => s("F1", "sims_f1", "F1_score", true, 3),
            Self::SimsMae => s("MAE", "sims_mae", "MAE", false, 1),
            Self::SimsCorr => s("Corr", "sims_corr", "Corr", false, 2),
        }
    }

    /// Whose figure it is.
    pub fn family(self) -> Family {
        if PAPER.contains(&self) {
            Family::Paper
        } else if MOSI_MOSEI.contains(&self) {
            Family::MosiMosei
        } else {
            Family::Sims
        }
    }

    /// The header.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// A name for CSV headers and curve series. MOSI/MOSEI's Acc5, Acc7, MAE and Corr are
    /// computed as the paper's (`metricsTop.py`), so they share its keys; CH-SIMS's are of
    /// clipped values and have their own.
    pub fn key(self) -> &'static str {
        self.spec().key
    }

    /// MMSA's name for it (`Non0_acc_2`), `None` for the paper's.
    pub fn mmsa_name(self) -> Option<&'static str> {
        Some(self.spec().mmsa).filter(|n| !n.is_empty())
    }

    /// Accuracies and F1: shown in %.
    pub fn percent(self) -> bool {
        self.spec().percent
    }

    /// Which way it is better.
    pub fn better(self) -> Better {
        match self {
            Self::Mae | Self::MoseiMae | Self::SimsMae => Better::Lower,
            _ => Better::Higher,
        }
    }

    /// Its value in `scores` (in % where `percent`); NaN where the evaluation has none
    /// (another family's, or undefined).
    pub fn value(self, scores: &Scores) -> f64 {
        let family = self.family();
        if family == Family::Paper {
            let i = PAPER.iter().position(|f| *f == self).expect("a paper figure");
            return scores.headline[i];
        }
        let name = self.spec().mmsa;
        scores
            .mmsa
            .filter(|m| Family::of(Some(m)) == family)
            .and_then(|m| m.figures().into_iter().find(|(n, _)| *n == name))
            .map_or(f64::NAN, |(_, v)| if self.percent() { 100.0 * v } else { v })
    }
}

/// A column of the metrics table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// The best dev epoch (from 1).
    BestEpoch,
    /// The best dev epoch's loss.
    DevLoss,
    /// The best checkpoint's test loss.
    TestLoss,
    /// A test figure of the best checkpoint.
    Test(Figure),
}

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Accuracies, F1, correlation.
    Higher,
    /// Losses, MAE.
    Lower,
}

impl Column {
    /// The columns of a table of `family`'s figures, in table order.
    pub fn all(family: Family) -> Vec<Column> {
        let mut columns = vec![Self::BestEpoch, Self::DevLoss, Self::TestLoss];
        columns.extend(family.figures().iter().map(|&f| Self::Test(f)));
        columns
    }

    /// The header, as the training screen's metrics table writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::BestEpoch => "best",
            Self::DevLoss => "dev loss",
            Self::TestLoss => "test loss",
            Self::Test(f) => f.name(),
        }
    }

    /// A name for CSV headers and file columns.
    pub fn key(self) -> &'static str {
        match self {
            Self::BestEpoch => "best_epoch",
            Self::DevLoss => "dev_loss",
            Self::TestLoss => "test_loss",
            Self::Test(f) => f.key(),
        }
    }

    /// `None` for the best epoch: neither way is better.
    pub fn better(self) -> Option<Better> {
        match self {
            Self::BestEpoch => None,
            Self::DevLoss | Self::TestLoss => Some(Better::Lower),
            Self::Test(f) => Some(f.better()),
        }
    }

    /// When a narrow screen gives up columns, lower ranks stay longest.
    pub fn rank(self) -> u8 {
        match self {
            Self::DevLoss => 4,
            Self::TestLoss => 5,
            Self::BestEpoch => u8::MAX,
            Self::Test(f) => f.spec().rank,
        }
    }

    /// Digits after the point.
    pub fn digits(self) -> usize {
        match self {
            Self::BestEpoch => 0,
            Self::Test(f) if f.percent() => 1,
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
            Self::Test(f) => Stat::of(runs.filter_map(|r| r.curves.test).map(|t| f.value(&t))),
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
