//! Test-set metrics exactly as docs/MODEL.md §5 (and as the reference and MMSA compute them).

use serde::{Deserialize, Deserializer, Serialize};

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
            mae: if n == 0 {
                f64::NAN
            } else {
                p.iter().zip(&y).map(|(a, b)| (a - b).abs()).sum::<f64>() / n as f64
            },
            corr: pearson(&p, &y),
            n,
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
