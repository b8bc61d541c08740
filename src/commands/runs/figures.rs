//! The test figures `runs` lists for each finished run: those its data family reports
//! (`compare::Family`, from the MMSA figures its `results.json` recorded). A run on TSV files
//! shows the paper's Acc2, F1, MAE and Corr; one on a MOSI/MOSEI pickle MMSA's Acc2 and F1
//! both ways (`Has0/Non0`), Acc5, Acc7, MAE and Corr; one on a CH-SIMS pickle MMSA's Acc2,
//! Acc3, Acc5, F1, MAE and Corr (of values clipped to [-1, 1]). A listing has the columns
//! its runs fill, in one order, so that runs of different families share one table.

use crate::commands::runs::RunResults;
use crate::compare::{Family, Figure};

/// A figure column of the listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Listed {
    /// The paper's Acc2, or CH-SIMS's `Mult_acc_2`.
    Acc2,
    /// MOSI/MOSEI's `Has0_acc_2/Non0_acc_2`.
    Acc2Has0Non0,
    /// CH-SIMS's `Mult_acc_3`.
    Acc3,
    /// `Mult_acc_5`.
    Acc5,
    /// MOSI/MOSEI's `Mult_acc_7`.
    Acc7,
    /// The paper's F1, or CH-SIMS's `F1_score`.
    F1,
    /// MOSI/MOSEI's `Has0_F1_score/Non0_F1_score`.
    F1Has0Non0,
    /// `MAE`.
    Mae,
    /// `Corr`.
    Corr,
}

impl Listed {
    /// The header.
    pub(super) fn header(self) -> &'static str {
        match self {
            Self::Acc2 => "ACC2",
            Self::Acc2Has0Non0 => "ACC2 HAS0/NON0",
            Self::Acc3 => "ACC3",
            Self::Acc5 => "ACC5",
            Self::Acc7 => "ACC7",
            Self::F1 => "F1",
            Self::F1Has0Non0 => "F1 HAS0/NON0",
            Self::Mae => "MAE",
            Self::Corr => "CORR",
        }
    }

    /// The columns a run of `family` fills, in listing order.
    pub(super) fn of(family: Family) -> &'static [Listed] {
        match family {
            // The listing's four, as before MMSA's figures: the rest is `compare`'s.
            Family::Paper => &[Self::Acc2, Self::F1, Self::Mae, Self::Corr],
            Family::MosiMosei => &[
                Self::Acc2Has0Non0,
                Self::Acc5,
                Self::Acc7,
                Self::F1Has0Non0,
                Self::Mae,
                Self::Corr,
            ],
            Family::Sims => &[Self::Acc2, Self::Acc3, Self::Acc5, Self::F1, Self::Mae, Self::Corr],
        }
    }

    /// The figures its cell shows for a run of `family`, joined by `/`; none where the
    /// family does not report it.
    fn figures(self, family: Family) -> Vec<Figure> {
        use Family::{MosiMosei, Paper, Sims};
        let [mae, corr] = family.mae_corr();
        match (self, family) {
            (Self::Acc2, Paper) => vec![Figure::Acc2],
            (Self::Acc2, Sims) => vec![Figure::SimsAcc2],
            (Self::Acc2Has0Non0, MosiMosei) => vec![Figure::Has0Acc2, Figure::Non0Acc2],
            (Self::Acc3, Sims) => vec![Figure::SimsAcc3],
            (Self::Acc5, MosiMosei) => vec![Figure::MoseiAcc5],
            (Self::Acc5, Sims) => vec![Figure::SimsAcc5],
            (Self::Acc7, MosiMosei) => vec![Figure::MoseiAcc7],
            (Self::F1, Paper) => vec![Figure::F1],
            (Self::F1, Sims) => vec![Figure::SimsF1],
            (Self::F1Has0Non0, MosiMosei) => vec![Figure::Has0F1, Figure::Non0F1],
            (Self::Mae, _) => vec![mae],
            (Self::Corr, _) => vec![corr],
            _ => Vec::new(),
        }
    }

    /// The cell of a run's results: `81.2`, `80.9/82.0`; `-` for a figure it does not have.
    pub(super) fn cell(self, results: Option<&RunResults>) -> String {
        let Some(r) = results else {
            return "-".into();
        };
        let scores = r.scores();
        let figures = self.figures(scores.family());
        if figures.is_empty() {
            return "-".into();
        }
        figures
            .iter()
            .map(|f| match f.value(&scores) {
                v if !v.is_finite() => "-".to_string(),
                v if f.percent() => format!("{v:.1}"),
                v => format!("{v:.3}"),
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The columns of a listing whose finished runs are of `families` (none: the paper's, all
/// dashes), in listing order.
pub(super) fn columns(families: &[Family]) -> Vec<Listed> {
    let mut columns: Vec<Listed> = if families.is_empty() {
        Listed::of(Family::Paper).to_vec()
    } else {
        families.iter().flat_map(|&f| Listed::of(f).iter().copied()).collect()
    };
    columns.sort();
    columns.dedup();
    columns
}

/// The lines under the table that say what MMSA's columns hold, one per MMSA family listed.
pub(super) fn notes(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families {
        match family {
            Family::Paper => {}
            Family::MosiMosei => {
                out += "MMSA MOSI/MOSEI (runs on such a pickle): MMSA's figures, ACC2 and F1 as Has0/Non0 \
                        (Has0_acc_2/Non0_acc_2,\nHas0_F1_score/Non0_F1_score), Mult_acc_5, Mult_acc_7, MAE, Corr.\n"
            }
            Family::Sims => {
                out += "MMSA CH-SIMS (runs on such a pickle): MMSA's Mult_acc_2, Mult_acc_3, Mult_acc_5, F1_score, \
                        MAE and Corr,\nof predictions and labels clipped to [-1, 1].\n"
            }
        }
    }
    out
}
