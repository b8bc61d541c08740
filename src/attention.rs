//! Views of one utterance's attention matrices, shared by the dashboard and the exports:
//! which matrix, at word-piece or word level, with or without the special tokens. Pure
//! functions over an [`AttentionSnapshot`]; the model is not involved.

use std::fmt;

use serde::Serialize;

use crate::train::AttentionSnapshot;

/// The matrices the fusion head computes (docs/MODEL.md §3), plus what the audio changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Matrix {
    /// alpha_t = ReLU(T' T'^T): the text attention.
    AlphaT,
    /// beta_a = ReLU(A A^T): the audio attention.
    BetaA,
    /// W_f = w_t alpha_t + w_a beta_a + b, before the masked softmax.
    WF,
    /// W_m = softmax(W_f + M): the multimodal attention that re-weights the words.
    WM,
    /// W_m - softmax(alpha_t): how the audio (and the fusion weights) moved the attention.
    Shift,
}

impl Matrix {
    /// Every matrix, in the order `next` cycles through.
    pub const ALL: [Matrix; 5] = [Self::AlphaT, Self::BetaA, Self::WF, Self::WM, Self::Shift];

    /// The paper's symbol (`alpha_t`, `W_m`), for titles.
    pub fn name(self) -> &'static str {
        match self {
            Self::AlphaT => "alpha_t",
            Self::BetaA => "beta_a",
            Self::WF => "W_f",
            Self::WM => "W_m",
            Self::Shift => "W_m - softmax(alpha_t)",
        }
    }

    /// A file-name-safe name.
    pub fn slug(self) -> &'static str {
        match self {
            Self::AlphaT => "alpha-t",
            Self::BetaA => "beta-a",
            Self::WF => "w-f",
            Self::WM => "w-m",
            Self::Shift => "shift",
        }
    }

    /// A few words on what the matrix shows, for captions.
    pub fn caption(self) -> &'static str {
        match self {
            Self::AlphaT => "text attention",
            Self::BetaA => "audio attention",
            Self::WF => "fused scores",
            Self::WM => "multimodal attention",
            Self::Shift => "shift from text attention",
        }
    }

    /// Signed matrices are drawn on a diverging scale centred on zero.
    pub fn signed(self) -> bool {
        matches!(self, Self::WF | Self::Shift)
    }

    /// The matrix after this one, wrapping round.
    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|&m| m == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

impl fmt::Display for Matrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether rows and columns are WordPiece tokens or whole words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// One row and column per WordPiece token.
    Piece,
    /// Pieces of a word merged: rows averaged, columns summed (so W_m rows still sum to 1).
    Word,
}

/// A labelled matrix ready to draw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    /// The matrix shown.
    pub matrix: Matrix,
    /// Tokens or words.
    pub level: Level,
    /// One label per row (and column).
    pub labels: Vec<String>,
    /// `values[row][col]`, square, `labels.len()` on each side.
    pub values: Vec<Vec<f32>>,
    /// The `[CLS]` row, the only one that reaches the prediction (docs/MODEL.md §7), if shown.
    pub cls_row: Option<usize>,
}

impl View {
    /// Smallest and largest value (0, 0 for an empty view).
    pub fn range(&self) -> (f32, f32) {
        let mut it = self.values.iter().flatten().copied().filter(|v| v.is_finite());
        let first = it.next().unwrap_or(0.0);
        it.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v)))
    }
}

/// Groups of token positions that become one row/column, with their labels.
struct Groups {
    labels: Vec<String>,
    members: Vec<Vec<usize>>,
    /// Whether each group is a special token (`[CLS]`, `[SEP]`).
    special: Vec<bool>,
    cls: Option<usize>,
}

fn groups(s: &AttentionSnapshot, level: Level, show_special: bool) -> Groups {
    let mut labels = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut special = Vec::new();
    let mut cls = None;
    let mut last_word = None;
    for (t, token) in s.tokens.iter().enumerate() {
        match s.token_words.get(t).copied().flatten() {
            None => {
                last_word = None;
                if show_special {
                    if token == "[CLS]" && cls.is_none() {
                        cls = Some(labels.len());
                    }
                    labels.push(token.clone());
                    members.push(vec![t]);
                    special.push(true);
                }
            }
            Some(w) if level == Level::Word && last_word == Some(w) => {
                members.last_mut().expect("a group is open").push(t);
            }
            Some(w) => {
                last_word = Some(w);
                labels.push(match level {
                    Level::Word => s.words.get(w).cloned().unwrap_or_else(|| token.clone()),
                    Level::Piece => token.clone(),
                });
                members.push(vec![t]);
                special.push(false);
            }
        }
    }
    Groups {
        labels,
        members,
        special,
        cls,
    }
}

/// The token-level matrix for `matrix`.
pub fn token_matrix(s: &AttentionSnapshot, matrix: Matrix) -> Vec<Vec<f32>> {
    match matrix {
        Matrix::AlphaT => s.text_attention.clone(),
        Matrix::BetaA => s.audio_attention.clone(),
        Matrix::WF => s.fusion_scores.clone(),
        Matrix::WM => s.multimodal_attention.clone(),
        Matrix::Shift => s
            .multimodal_attention
            .iter()
            .zip(&s.text_attention)
            .map(|(wm, at)| wm.iter().zip(softmax(at)).map(|(m, p)| m - p).collect())
            .collect(),
    }
}

/// Softmax of one row over the utterance's real tokens (the snapshot holds no padding),
/// in f64 so that the difference with W_m is not dominated by rounding.
fn softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let exp: Vec<f64> = row.iter().map(|&v| (v as f64 - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| (e / sum) as f32).collect()
}

/// The `matrix` of snapshot `s` at `level`; `show_special` keeps `[CLS]` and `[SEP]`.
pub fn view(s: &AttentionSnapshot, matrix: Matrix, level: Level, show_special: bool) -> View {
    let full = token_matrix(s, matrix);
    let g = groups(s, level, show_special);
    let values = g
        .members
        .iter()
        .map(|rows| {
            g.members
                .iter()
                .map(|cols| {
                    let total: f32 = rows
                        .iter()
                        .map(|&r| cols.iter().map(|&c| full[r][c]).sum::<f32>())
                        .sum();
                    total / rows.len() as f32
                })
                .collect()
        })
        .collect();
    View {
        matrix,
        level,
        labels: g.labels,
        values,
        cls_row: g.cls,
    }
}

/// The `[CLS]` row of W_m merged to words: how much each word contributes to the
/// representation that is scored. One entry per column of the views drawn with the same
/// `level` and `show_special`, so that a heatmap's column cursor names its bar; hidden
/// special tokens are left out, the other weights unchanged (not renormalised).
pub fn cls_weights(s: &AttentionSnapshot, level: Level, show_special: bool) -> Vec<(String, f32)> {
    let v = view(s, Matrix::WM, level, true);
    let Some(row) = v.cls_row else {
        return Vec::new();
    };
    let special = groups(s, level, true).special;
    v.labels
        .into_iter()
        .zip(v.values[row].iter().copied())
        .zip(special)
        .filter(|&(_, special)| show_special || !special)
        .map(|(weight, _)| weight)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "[CLS] fun ##ny ok [SEP]" with two words.
    pub(crate) fn snapshot() -> AttentionSnapshot {
        let n = 5;
        let m = |f: fn(usize, usize) -> f32| (0..n).map(|i| (0..n).map(|j| f(i, j)).collect()).collect();
        AttentionSnapshot {
            index: 0,
            tokens: ["[CLS]", "fun", "##ny", "ok", "[SEP]"].map(String::from).to_vec(),
            words: ["funny", "ok"].map(String::from).to_vec(),
            token_words: vec![None, Some(0), Some(0), Some(1), None],
            label: 1.0,
            prediction: 0.5,
            prediction_without_audio: 0.5,
            batching: "test".into(),
            text_attention: m(|i, j| (i * 10 + j) as f32),
            audio_attention: m(|_, _| 0.0),
            fusion_scores: m(|i, j| i as f32 - j as f32),
            multimodal_attention: m(|_, _| 0.2),
        }
    }

    #[test]
    fn word_level_averages_rows_and_sums_columns() {
        let v = view(&snapshot(), Matrix::AlphaT, Level::Word, true);
        assert_eq!(v.labels, ["[CLS]", "funny", "ok", "[SEP]"]);
        assert_eq!(v.cls_row, Some(0));
        // Row "funny" = mean of token rows 1 and 2; column "funny" = sum of columns 1 and 2.
        assert_eq!(v.values[1][1], ((11.0 + 12.0) + (21.0 + 22.0)) / 2.0);
        assert_eq!(v.values[0][1], 1.0 + 2.0);
        assert_eq!(v.values[2][3], 34.0);
        let wm = view(&snapshot(), Matrix::WM, Level::Word, true);
        for row in &wm.values {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6, "W_m rows still sum to 1");
        }
    }

    #[test]
    fn pieces_and_hidden_special_tokens() {
        let v = view(&snapshot(), Matrix::WF, Level::Piece, false);
        assert_eq!(v.labels, ["fun", "##ny", "ok"]);
        assert_eq!(v.cls_row, None);
        assert_eq!(v.values[0][2], -2.0);
        assert_eq!(v.range(), (-2.0, 2.0));
    }

    #[test]
    fn shift_is_wm_minus_softmax_of_alpha() {
        let s = snapshot();
        let v = view(&s, Matrix::Shift, Level::Piece, true);
        let row0: Vec<f64> = (0..5).map(|j| (j as f64).exp()).collect();
        let z: f64 = row0.iter().sum();
        for (got, e) in v.values[0].iter().zip(&row0) {
            assert!((*got as f64 - (0.2 - e / z)).abs() < 1e-6);
        }
        assert_eq!(
            cls_weights(&s, Level::Word, true),
            vec![
                ("[CLS]".to_string(), 0.2),
                ("funny".to_string(), 0.4),
                ("ok".to_string(), 0.2),
                ("[SEP]".to_string(), 0.2)
            ]
        );
        // Specials hidden: the bars line up with the views' columns, values unchanged.
        let hidden = view(&s, Matrix::WM, Level::Piece, false);
        let bars = cls_weights(&s, Level::Piece, false);
        assert_eq!(bars.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(), hidden.labels);
        assert_eq!(bars.iter().map(|b| b.1).collect::<Vec<_>>(), [0.2, 0.2, 0.2]);
    }
}
