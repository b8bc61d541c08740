//! Test-set metrics exactly as docs/MODEL.md §5 (and as the reference and MMSA compute them).
//!
//! For data read from an MMSA pickle, [`MmsaMetrics`] adds the figures MMSA itself reports
//! for that dataset family, as thuiar/MMSA `src/MMSA/utils/metricsTop.py` computes them
//! (`__eval_mosei_regression`, which MOSI shares, and `__eval_sims_regression`).

use serde::{Deserialize, Deserializer, Serialize};

use crate::data::MmsaKind;

/// The test metrics of a set of predictions (docs/MODEL.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Paper's Acc2: (p > 0) vs (y > 0) over all utterances.
    #[serde(deserialize_with = "nan_if_null")]
    pub acc2: f64,
    /// MMSA's Non0_acc_2: same, utterances with y == 0 removed.
    #[serde(deserialize_with = "nan_if_null")]
    pub acc2_nonzero: f64,
    /// MMSA's Has0_acc_2: (p >= 0) vs (y >= 0) over all.
    #[serde(deserialize_with = "nan_if_null")]
    pub acc2_has0: f64,
    /// Weighted F1 of the Acc2 classes with y as the truth.
    #[serde(deserialize_with = "nan_if_null")]
    pub f1: f64,
    /// The reference's F1, arguments swapped (predictions as the truth).
    #[serde(deserialize_with = "nan_if_null")]
    pub f1_ref: f64,
    /// Five-class accuracy: predictions and labels clamped to [-2, 2], rounded half to even.
    #[serde(deserialize_with = "nan_if_null")]
    pub acc5: f64,
    /// Seven-class accuracy: clamped to [-3, 3], rounded half to even.
    #[serde(deserialize_with = "nan_if_null")]
    pub acc7: f64,
    /// Mean absolute error.
    #[serde(deserialize_with = "nan_if_null")]
    pub mae: f64,
    /// Pearson correlation of predictions and labels.
    #[serde(deserialize_with = "nan_if_null")]
    pub corr: f64,
    /// Number of utterances.
    pub n: usize,
    /// MMSA's own figures, for data read from an MMSA pickle (absent otherwise, so the
    /// paper's outputs keep their fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mmsa: Option<MmsaMetrics>,
}

/// The figures MMSA's `metricsTop.py` reports for a dataset family, as fractions (as MMSA
/// prints them), under MMSA's own names.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dataset", rename_all = "kebab-case")]
pub enum MmsaMetrics {
    /// `__eval_mosei_regression` (MOSI and MOSEI).
    MosiMosei {
        /// `Has0_acc_2`: (p >= 0) vs (y >= 0) over all utterances.
        #[serde(rename = "Has0_acc_2", deserialize_with = "nan_if_null")]
        has0_acc2: f64,
        /// `Has0_F1_score`: weighted F1 of those classes.
        #[serde(rename = "Has0_F1_score", deserialize_with = "nan_if_null")]
        has0_f1: f64,
        /// `Non0_acc_2`: (p > 0) vs (y > 0), utterances with y == 0 removed.
        #[serde(rename = "Non0_acc_2", deserialize_with = "nan_if_null")]
        non0_acc2: f64,
        /// `Non0_F1_score`: weighted F1 of those classes.
        #[serde(rename = "Non0_F1_score", deserialize_with = "nan_if_null")]
        non0_f1: f64,
        /// `Mult_acc_5`: clipped to [-2, 2], rounded half to even.
        #[serde(rename = "Mult_acc_5", deserialize_with = "nan_if_null")]
        acc5: f64,
        /// `Mult_acc_7`: clipped to [-3, 3], rounded half to even.
        #[serde(rename = "Mult_acc_7", deserialize_with = "nan_if_null")]
        acc7: f64,
        /// `MAE`.
        #[serde(rename = "MAE", deserialize_with = "nan_if_null")]
        mae: f64,
        /// `Corr`: Pearson.
        #[serde(rename = "Corr", deserialize_with = "nan_if_null")]
        corr: f64,
    },
    /// `__eval_sims_regression` (CH-SIMS): predictions and labels clipped to [-1, 1] first,
    /// for every figure including MAE and Corr.
    Sims {
        /// `Mult_acc_2`: classes [-1, 0], (0, 1].
        #[serde(rename = "Mult_acc_2", deserialize_with = "nan_if_null")]
        acc2: f64,
        /// `Mult_acc_3`: classes [-1, -0.1], (-0.1, 0.1], (0.1, 1].
        #[serde(rename = "Mult_acc_3", deserialize_with = "nan_if_null")]
        acc3: f64,
        /// `Mult_acc_5`: classes [-1, -0.7], (-0.7, -0.1], (-0.1, 0.1], (0.1, 0.7], (0.7, 1].
        #[serde(rename = "Mult_acc_5", deserialize_with = "nan_if_null")]
        acc5: f64,
        /// `F1_score`: weighted F1 of the two `Mult_acc_2` classes.
        #[serde(rename = "F1_score", deserialize_with = "nan_if_null")]
        f1: f64,
        /// `MAE` of the clipped values.
        #[serde(rename = "MAE", deserialize_with = "nan_if_null")]
        mae: f64,
        /// `Corr` of the clipped values.
        #[serde(rename = "Corr", deserialize_with = "nan_if_null")]
        corr: f64,
    },
}

/// SIMS's class boundaries (`ms_2`, `ms_3`, `ms_5` in `metricsTop.py`): class i is
/// (b[i], b[i+1]].
const SIMS_2: [f64; 3] = [-1.01, 0.0, 1.01];
const SIMS_3: [f64; 4] = [-1.01, -0.1, 0.1, 1.01];
const SIMS_5: [f64; 6] = [-1.01, -0.7, -0.1, 0.1, 0.7, 1.01];

impl MmsaMetrics {
    /// MMSA's figures for `kind` of predictions `p` against labels `y`.
    pub fn compute(kind: MmsaKind, p: &[f64], y: &[f64]) -> Self {
        let n = y.len();
        match kind {
            MmsaKind::MosiMosei => {
                let nonzero: Vec<usize> = (0..n).filter(|&i| y[i] != 0.0).collect();
                let has0 = |v: &[f64]| v.iter().map(|&x| x >= 0.0).collect::<Vec<bool>>();
                let (hp, hy) = (has0(p), has0(y));
                let np: Vec<bool> = nonzero.iter().map(|&i| p[i] > 0.0).collect();
                let ny: Vec<bool> = nonzero.iter().map(|&i| y[i] > 0.0).collect();
                Self::MosiMosei {
                    has0_acc2: accuracy(&hp, &hy),
                    has0_f1: weighted_f1(&hy, &hp),
                    non0_acc2: accuracy(&np, &ny),
                    non0_f1: weighted_f1(&ny, &np),
                    acc5: class_accuracy(p, y, 2.0),
                    acc7: class_accuracy(p, y, 3.0),
                    mae: mae(p, y),
                    corr: pearson(p, y),
                }
            }
            MmsaKind::Sims => {
                let clip = |v: &[f64]| v.iter().map(|x| x.clamp(-1.0, 1.0)).collect::<Vec<f64>>();
                let (p, y) = (clip(p), clip(y));
                // NumPy compares a float32 array with a Python float in float32 (value-based
                // casting before NumPy 2, NEP 50 since), so a label of 0.1 (float32) is in
                // (-0.1, 0.1]: compared here in f32 as well.
                let classes = |bounds: &[f64]| {
                    let class = |v: f64| {
                        let v = v as f32;
                        bounds.windows(2).position(|b| v > b[0] as f32 && v <= b[1] as f32)
                    };
                    ratio((0..n).filter(|&i| class(p[i]) == class(y[i])).count(), n)
                };
                let (p2, y2): (Vec<bool>, Vec<bool>) = (
                    p.iter().map(|&v| v > 0.0).collect(),
                    y.iter().map(|&v| v > 0.0).collect(),
                );
                Self::Sims {
                    acc2: classes(&SIMS_2),
                    acc3: classes(&SIMS_3),
                    acc5: classes(&SIMS_5),
                    f1: weighted_f1(&y2, &p2),
                    mae: mae(&p, &y),
                    corr: pearson(&p, &y),
                }
            }
        }
    }

    /// `(MMSA's name, value)` in the order MMSA reports them.
    pub fn figures(&self) -> Vec<(&'static str, f64)> {
        match *self {
            Self::MosiMosei {
                has0_acc2,
                has0_f1,
                non0_acc2,
                non0_f1,
                acc5,
                acc7,
                mae,
                corr,
            } => vec![
                ("Has0_acc_2", has0_acc2),
                ("Has0_F1_score", has0_f1),
                ("Non0_acc_2", non0_acc2),
                ("Non0_F1_score", non0_f1),
                ("Mult_acc_5", acc5),
                ("Mult_acc_7", acc7),
                ("MAE", mae),
                ("Corr", corr),
            ],
            Self::Sims {
                acc2,
                acc3,
                acc5,
                f1,
                mae,
                corr,
            } => vec![
                ("Mult_acc_2", acc2),
                ("Mult_acc_3", acc3),
                ("Mult_acc_5", acc5),
                ("F1_score", f1),
                ("MAE", mae),
                ("Corr", corr),
            ],
        }
    }

    /// The figures on one line, accuracies and F1 in % as the paper's tables print them.
    pub fn line(&self) -> String {
        self.figures()
            .iter()
            .map(|&(name, v)| match name {
                "MAE" | "Corr" => format!("{name} {v:.3}"),
                _ => format!("{name} {:.1}", 100.0 * v),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Metrics {
    /// The six figures every report shows, in this order: Acc2, Acc2 non-zero, F1 and Acc7
    /// (in %), MAE, Corr.
    pub fn headline(&self) -> [f64; 6] {
        [
            100.0 * self.acc2,
            100.0 * self.acc2_nonzero,
            100.0 * self.f1,
            100.0 * self.acc7,
            self.mae,
            self.corr,
        ]
    }

    /// As [`Metrics::compute`], with MMSA's figures for data of `kind` (an MMSA pickle).
    pub fn compute_for(kind: Option<MmsaKind>, predictions: &[f32], labels: &[f32]) -> Self {
        let mut m = Self::compute(predictions, labels);
        m.mmsa = kind.map(|kind| {
            let widen = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
            MmsaMetrics::compute(kind, &widen(predictions), &widen(labels))
        });
        m
    }

    /// The metrics of `predictions` against `labels` (one per label).
    pub fn compute(predictions: &[f32], labels: &[f32]) -> Self {
        assert_eq!(predictions.len(), labels.len(), "one prediction per label");
        let n = labels.len();
        let p: Vec<f64> = predictions.iter().map(|&v| v as f64).collect();
        let y: Vec<f64> = labels.iter().map(|&v| v as f64).collect();
        let positive = |v: f64| v > 0.0;
        let non_negative = |v: f64| v >= 0.0;
        let (pb, yb): (Vec<bool>, Vec<bool>) = (
            p.iter().map(|&v| positive(v)).collect(),
            y.iter().map(|&v| positive(v)).collect(),
        );
        let nonzero: Vec<usize> = (0..n).filter(|&i| y[i] != 0.0).collect();
        Self {
            acc2: accuracy(&pb, &yb),
            acc2_nonzero: ratio(nonzero.iter().filter(|&&i| pb[i] == yb[i]).count(), nonzero.len()),
            acc2_has0: ratio((0..n).filter(|&i| non_negative(p[i]) == non_negative(y[i])).count(), n),
            f1: weighted_f1(&yb, &pb),
            f1_ref: weighted_f1(&pb, &yb),
            acc5: class_accuracy(&p, &y, 2.0),
            acc7: class_accuracy(&p, &y, 3.0),
            mae: mae(&p, &y),
            corr: pearson(&p, &y),
            n,
            mmsa: None,
        }
    }
}

/// JSON has no NaN: serde_json writes an undefined figure (Corr of constant predictions)
/// as `null`, read back as NaN.
fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

fn ratio(hits: usize, total: usize) -> f64 {
    if total == 0 {
        f64::NAN
    } else {
        hits as f64 / total as f64
    }
}

fn accuracy(a: &[bool], b: &[bool]) -> f64 {
    ratio(a.iter().zip(b).filter(|(x, y)| x == y).count(), a.len())
}

/// `round(clip(v, -c, c))` with round half to even (NumPy's `np.round`), compared.
fn class_accuracy(p: &[f64], y: &[f64], clip: f64) -> f64 {
    let class = |v: f64| v.clamp(-clip, clip).round_ties_even();
    ratio(
        p.iter().zip(y).filter(|(a, b)| class(**a) == class(**b)).count(),
        p.len(),
    )
}

/// scikit-learn's `f1_score(truth, pred, average="weighted")` for two classes: per-class F1
/// weighted by the class's support in `truth`; an undefined F1 (no predicted and no true
/// members) counts as 0, as sklearn's default `zero_division` does.
fn weighted_f1(truth: &[bool], pred: &[bool]) -> f64 {
    let n = truth.len();
    if n == 0 {
        return f64::NAN;
    }
    [true, false]
        .iter()
        .map(|&class| {
            let tp = truth
                .iter()
                .zip(pred)
                .filter(|(t, p)| **t == class && **p == class)
                .count() as f64;
            let support = truth.iter().filter(|t| **t == class).count() as f64;
            let predicted = pred.iter().filter(|p| **p == class).count() as f64;
            let f1 = if support + predicted == 0.0 {
                0.0
            } else {
                2.0 * tp / (support + predicted)
            };
            f1 * support / n as f64
        })
        .sum()
}

fn mae(p: &[f64], y: &[f64]) -> f64 {
    if y.is_empty() {
        f64::NAN
    } else {
        p.iter().zip(y).map(|(a, b)| (a - b).abs()).sum::<f64>() / y.len() as f64
    }
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    if a.len() < 2 {
        return f64::NAN;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va.sqrt() * vb.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }

    #[test]
    fn acc7_and_acc5_round_half_to_even() {
        // Labels 0.5 -> 0, 1.5 -> 2, -2.5 -> -2; predictions chosen on both sides.
        let y = [0.5f32, 1.5, -2.5, 2.5, 3.4];
        let p = [0.4f32, 2.4, -1.6, 2.6, 9.0];
        let m = Metrics::compute(&p, &y);
        // classes y: 0, 2, -2, 2, 3 ; p: 0, 2, -2, 3, 3 -> 4 of 5.
        close(m.acc7, 0.8);
        // clip to 2: y 0, 2, -2, 2, 2 ; p 0, 2, -2, 2, 2 -> 5 of 5.
        close(m.acc5, 1.0);
    }

    #[test]
    fn acc2_conventions_differ_on_zeros() {
        let y = [0.0f32, 0.0, 1.0, -1.0];
        let p = [0.0f32, 0.3, 0.2, 0.1];
        let m = Metrics::compute(&p, &y);
        // paper: (p>0) vs (y>0): F==F, T!=F, T==T, T!=F -> 2/4.
        close(m.acc2, 0.5);
        // non-zero: only the last two -> 1/2.
        close(m.acc2_nonzero, 0.5);
        // has0: (p>=0) vs (y>=0): all p >= 0; y >= 0 for the first three -> 3/4.
        close(m.acc2_has0, 0.75);
    }

    #[test]
    fn f1_weighted_and_swapped() {
        // truth (y>0): T T T F ; pred (p>0): T F T T
        let y = [1.0f32, 1.0, 1.0, -1.0];
        let p = [1.0f32, -1.0, 1.0, 1.0];
        let m = Metrics::compute(&p, &y);
        // class T: tp 2, support 3, predicted 3 -> f1 2/3, weight 3/4; class F: tp 0 -> 0.
        close(m.f1, 0.5);
        // swapped: truth=pred: T support 3, predicted (y) 3, tp 2 -> 2/3 * 3/4; F: 0.
        close(m.f1_ref, 0.5);
        // asymmetric case
        let m = Metrics::compute(&[1.0, 1.0, 1.0, 1.0], &[1.0, 1.0, -1.0, -1.0]);
        close(m.f1, (2.0 * 2.0 / 6.0) * 0.5);
        close(m.f1_ref, 2.0 * 2.0 / 6.0);
    }

    fn mmsa(kind: MmsaKind, p: &[f32], y: &[f32]) -> Vec<(&'static str, f64)> {
        let m = Metrics::compute_for(Some(kind), p, y);
        assert_eq!(
            Metrics { mmsa: None, ..m },
            Metrics::compute(p, y),
            "the paper's figures stay"
        );
        m.mmsa.expect("MMSA figures").figures()
    }

    fn check(figures: &[(&str, f64)], want: &[(&str, f64)]) {
        assert_eq!(figures.len(), want.len());
        for ((name, v), (want_name, w)) in figures.iter().zip(want) {
            assert_eq!(name, want_name);
            assert!((v - w).abs() < 1e-6, "{name}: {v} vs {w}");
        }
    }

    #[test]
    fn mmsa_mosi_figures_by_hand() {
        let y = [0.0f32, 1.2, -0.4, 2.6, -2.5, 0.5];
        let p = [-0.3f32, 0.4, 0.2, 1.4, -0.2, -0.5];
        let figures = mmsa(MmsaKind::MosiMosei, &p, &y);
        let corr = pearson(&p.map(f64::from), &y.map(f64::from));
        check(
            &figures,
            &[
                // y >= 0: T T F T F T; p >= 0: F T T T F F -> 3 of 6.
                ("Has0_acc_2", 0.5),
                // T: support 4, predicted 3, tp 2 -> 4/7 x 4/6; F: support 2, predicted 3, tp 1 -> 2/5 x 2/6.
                ("Has0_F1_score", 4.0 / 7.0 * 4.0 / 6.0 + 0.4 * 2.0 / 6.0),
                // y != 0: y > 0 T F T F T; p > 0 T T T F F -> 3 of 5.
                ("Non0_acc_2", 0.6),
                // T: support 3, predicted 3, tp 2 -> 2/3 x 3/5; F: support 2, predicted 2, tp 1 -> 1/2 x 2/5.
                ("Non0_F1_score", 0.6),
                // clip 2, round half to even: y 0 1 -0 2 -2 0; p -0 0 0 1 -0 -0 -> 3 of 6.
                ("Mult_acc_5", 0.5),
                // clip 3: y 0 1 -0 3 -2 0 -> the same 3 of 6.
                ("Mult_acc_7", 0.5),
                ("MAE", (0.3 + 0.8 + 0.6 + 1.2 + 2.3 + 1.0) / 6.0),
                ("Corr", corr),
            ],
        );
    }

    #[test]
    fn mmsa_sims_figures_by_hand_at_the_class_boundaries() {
        let y = [-1.0f32, -0.7, -0.1, 0.1, 0.7, 1.0, 0.0];
        let p = [-1.5f32, -0.69, -0.11, 0.0, 0.71, 0.65, 0.11];
        let figures = mmsa(MmsaKind::Sims, &p, &y);
        // Clipped to [-1, 1] first: p[0] is -1.
        let clipped = p.map(|v| f64::from(v.clamp(-1.0, 1.0)));
        check(
            &figures,
            &[
                // > 0: y F F F T T T F; p F F F F T T T -> 5 of 7.
                ("Mult_acc_2", 5.0 / 7.0),
                // [-1, -0.1], (-0.1, 0.1], (0.1, 1]: y 0 0 0 1 2 2 1; p 0 0 0 1 2 2 2 -> 6 of 7.
                ("Mult_acc_3", 6.0 / 7.0),
                // [-1, -0.7], (-0.7, -0.1], (-0.1, 0.1], (0.1, 0.7], (0.7, 1]:
                // y 0 0 1 2 3 4 2; p 0 1 1 2 4 3 3 -> 3 of 7.
                ("Mult_acc_5", 3.0 / 7.0),
                // T: support 3, predicted 3, tp 2 -> 2/3 x 3/7; F: support 4, predicted 4, tp 3 -> 3/4 x 4/7.
                ("F1_score", 5.0 / 7.0),
                ("MAE", (0.0 + 0.01 + 0.01 + 0.1 + 0.01 + 0.35 + 0.11) / 7.0),
                ("Corr", pearson(&clipped, &y.map(f64::from))),
            ],
        );
        // Serialised under MMSA's names, and read back.
        let m = Metrics::compute_for(Some(MmsaKind::Sims), &p, &y);
        let json = serde_json::to_value(m).unwrap();
        assert_eq!(json["mmsa"]["dataset"], "sims");
        assert!((json["mmsa"]["Mult_acc_3"].as_f64().unwrap() - 6.0 / 7.0).abs() < 1e-12);
        let back: Metrics = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
        // The paper's figures serialise as before: no "mmsa" key.
        assert!(serde_json::to_value(Metrics::compute(&p, &y))
            .unwrap()
            .get("mmsa")
            .is_none());
    }

    #[test]
    fn mae_and_correlation() {
        let m = Metrics::compute(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.5]);
        close(m.mae, (1.0 + 2.0 + 3.5) / 3.0);
        let expected = {
            let (a, b) = ([1.0f64, 2.0, 3.0], [2.0f64, 4.0, 6.5]);
            let (ma, mb) = (2.0, 12.5 / 3.0);
            let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
            cov / (a.iter().map(|x| (x - ma).powi(2)).sum::<f64>().sqrt()
                * b.iter().map(|y| (y - mb).powi(2)).sum::<f64>().sqrt())
        };
        close(m.corr, expected);
        assert!(
            Metrics::compute(&[1.0, 1.0], &[1.0, 2.0]).corr.is_nan(),
            "constant predictions have no correlation"
        );
    }
}
