//! Z-score scaling of word features. Fitted on the training split's words only (dev and
//! test must not leak into it) and stored with the checkpoint, so a new recording is scaled
//! exactly as the training data was.

use super::set::FeatureSetInfo;

/// Per-dimension mean and standard deviation of the training split's word vectors.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AudioNorm {
    /// Mean of each dimension.
    pub mean: Vec<f32>,
    /// Population standard deviation; a constant dimension is stored as 1 (it scales to 0).
    pub std: Vec<f32>,
    /// Words the statistics were computed on.
    pub words: usize,
}

/// What a checkpoint keeps about the features it was trained on.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AudioFeatures {
    /// The features' description, so new recordings are measured the same way.
    pub feature_set: FeatureSetInfo,
    /// The scaling fitted on the training split.
    pub norm: AudioNorm,
}

impl AudioNorm {
    /// `None` when there are no vectors to fit on.
    pub fn fit<'a>(vectors: impl IntoIterator<Item = &'a [f32]>) -> Option<Self> {
        let mut sum: Vec<f64> = Vec::new();
        let mut sum_sq: Vec<f64> = Vec::new();
        let mut words = 0usize;
        for v in vectors {
            if sum.is_empty() {
                sum = vec![0.0; v.len()];
                sum_sq = vec![0.0; v.len()];
            }
            for ((s, q), &x) in sum.iter_mut().zip(&mut sum_sq).zip(v) {
                *s += x as f64;
                *q += (x as f64).powi(2);
            }
            words += 1;
        }
        if words == 0 {
            return None;
        }
        let n = words as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let std = sum_sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| {
                let sd = (q / n - m * m).max(0.0).sqrt();
                if sd > 1e-6 * m.abs().max(1.0) {
                    sd as f32
                } else {
                    1.0
                }
            })
            .collect();
        Some(Self {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            std,
            words,
        })
    }

    /// Dimensions scaled.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Scales `vector` in place to zero mean and unit variance (by the training statistics).
    pub fn apply(&self, vector: &mut [f32]) {
        for ((x, m), s) in vector.iter_mut().zip(&self.mean).zip(&self.std) {
            *x = (*x - m) / s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_scaling_gives_zero_mean_unit_variance_and_keeps_constants_finite() {
        let rows = [vec![1.0f32, 5.0, 100.0], vec![3.0, 5.0, 300.0], vec![5.0, 5.0, 200.0]];
        let norm = AudioNorm::fit(rows.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(norm.words, 3);
        assert_eq!(norm.mean, [3.0, 5.0, 200.0]);
        assert_eq!(norm.std[1], 1.0, "a constant dimension");
        let mut scaled: Vec<Vec<f32>> = rows.to_vec();
        scaled.iter_mut().for_each(|r| norm.apply(r));
        for d in 0..3 {
            let mean: f32 = scaled.iter().map(|r| r[d]).sum::<f32>() / 3.0;
            assert!(mean.abs() < 1e-6, "dim {d}: mean {mean}");
        }
        let var: f32 = scaled.iter().map(|r| r[0] * r[0]).sum::<f32>() / 3.0;
        assert!((var - 1.0).abs() < 1e-5);
        assert!(scaled.iter().all(|r| r[1] == 0.0));
        assert!(AudioNorm::fit(std::iter::empty::<&[f32]>()).is_none());
    }
}
