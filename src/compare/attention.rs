//! Two runs' attention side by side (issue 16, item 4): the utterances both runs recorded
//! through training (`train::attention_log`: the Figure-4 sentences, `--watch`), each at its
//! latest snapshot, and the difference of their W_m (run B minus run A).
//!
//! Nothing here reads a file or draws: `commands::compare` reads each run's
//! `RUN/attention.safetensors` into a [`Recording`]; the screen (`ui::compare_attention`) and
//! the figure (`export::pair`) draw a [`Pair`], or say in one line why there is none
//! ([`Unpaired`], [`TokensDiffer`]).

use std::fmt;
use std::path::PathBuf;

use crate::attention::{self, Level, Matrix, View};
use crate::data::Split;
use crate::train::attention_log::{AttentionLog, ATTENTION_FILE};
use crate::train::AttentionSnapshot;

/// The matrix compared: W_m, the multimodal attention that re-weights the words (the
/// paper's Figure 4, right).
pub const COMPARED: Matrix = Matrix::WM;

/// The latest recorded snapshot of one utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Latest {
    /// The utterance's split.
    pub split: Split,
    /// Its index in the split.
    pub index: usize,
    /// Optimiser steps taken when it was computed.
    pub step: usize,
    /// Its matrices and predictions.
    pub snapshot: AttentionSnapshot,
}

/// What one run recorded of its attention, as the pairing needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Recording {
    /// The latest snapshot of each utterance its attention file holds, in the file's order.
    Recorded(Vec<Latest>),
    /// A T-BERT run: it has no audio and no W_m, so nothing is recorded.
    TextOnly,
    /// The run directory has no attention file (the run watched no utterance, or it is from
    /// before attention was recorded).
    Missing,
    /// The attention file cannot be read: the reader's one-line error.
    Unreadable(String),
}

impl Recording {
    /// The latest snapshot of every utterance in `log`.
    pub fn from_log(log: &AttentionLog) -> Self {
        Self::Recorded(
            log.tracks
                .iter()
                .filter_map(|t| {
                    let last = t.snapshots.last()?;
                    Some(Latest {
                        split: t.split,
                        index: t.index,
                        step: last.step,
                        snapshot: last.snapshot.clone(),
                    })
                })
                .collect(),
        )
    }
}

/// One side of a pairing: a run, how the comparison names it, what it recorded.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The label that tells it from the other runs (`cls-audio zero`).
    pub label: &'a str,
    /// The run directory (for messages).
    pub dir: &'a std::path::Path,
    /// What it recorded.
    pub recording: &'a Recording,
}

/// One utterance both runs recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Run A's latest snapshot.
    pub a: Latest,
    /// Run B's.
    pub b: Latest,
}

/// Why two runs' attention cannot be paired at all; one line each (`Display`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Unpaired {
    /// A T-BERT run.
    #[error("{label} is T-BERT: it has no multimodal attention (W_m) to compare")]
    TextOnly {
        /// The run's label.
        label: String,
    },
    /// A run without an attention file.
    #[error("{label}: no {ATTENTION_FILE} in {dir} (a run that watched no utterance, or one from before attention was recorded): no attention to compare")]
    Missing {
        /// The run's label.
        label: String,
        /// Its directory.
        dir: PathBuf,
    },
    /// A run whose attention file cannot be read.
    #[error("{label}: {problem}")]
    Unreadable {
        /// The run's label.
        label: String,
        /// The reader's error.
        problem: String,
    },
    /// Both recorded, but no utterance in common.
    #[error("{a} and {b} recorded no utterance in common (A: {a_has}; B: {b_has}): train both with the same --watch SPLIT:INDEX")]
    NothingShared {
        /// Run A's label.
        a: String,
        /// Run B's label.
        b: String,
        /// What A recorded (`test #6, dev #3`, or `nothing`).
        a_has: String,
        /// What B recorded.
        b_has: String,
    },
    /// Fewer than two runs are compared.
    #[error("the attention of two runs is compared: give compare two runs or more")]
    OneRun,
}

/// The runs split the utterance into different tokens (another tokenizer or vocabulary):
/// their matrices do not line up cell by cell, so no difference is drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{name}: the runs split it into different tokens (A: {a} tokens, B: {b}): no difference drawn")]
pub struct TokensDiffer {
    /// `test #6`.
    pub name: String,
    /// Run A's token count.
    pub a: usize,
    /// Run B's.
    pub b: usize,
}

/// `test #6`.
pub fn utterance_name(split: Split, index: usize) -> String {
    format!("{split} #{index}")
}

impl Pair {
    /// `test #6`.
    pub fn name(&self) -> String {
        utterance_name(self.a.split, self.a.index)
    }

    /// Both runs split the utterance into the same tokens (their matrices line up).
    pub fn same_tokens(&self) -> bool {
        self.a.snapshot.tokens == self.b.snapshot.tokens && self.a.snapshot.token_words == self.b.snapshot.token_words
    }

    /// Each run's W_m at `level`.
    pub fn views(&self, level: Level, show_special: bool) -> [View; 2] {
        [&self.a, &self.b].map(|l| attention::view(&l.snapshot, COMPARED, level, show_special))
    }

    /// Run B's W_m minus run A's at `level` (the same labels as both views; values signed).
    /// Merging pieces into words is linear, so this is also the merged token difference.
    pub fn difference(&self, level: Level, show_special: bool) -> Result<View, TokensDiffer> {
        if !self.same_tokens() {
            return Err(TokensDiffer {
                name: self.name(),
                a: self.a.snapshot.tokens.len(),
                b: self.b.snapshot.tokens.len(),
            });
        }
        let [a, b] = self.views(level, show_special);
        let values = b
            .values
            .iter()
            .zip(&a.values)
            .map(|(rb, ra)| rb.iter().zip(ra).map(|(x, y)| x - y).collect())
            .collect();
        Ok(View { values, ..b })
    }

    /// Run B's prediction minus run A's.
    pub fn prediction_change(&self) -> f32 {
        self.b.snapshot.prediction - self.a.snapshot.prediction
    }
}

/// The utterances both `a` and `b` recorded (the same split and index), in A's order, each
/// at its latest snapshot; or why there are none. A pair whose tokens differ is kept (both
/// sides can be shown); [`Pair::difference`] says why it has no difference.
pub fn pair(a: Side, b: Side) -> Result<Vec<Pair>, Unpaired> {
    let (la, lb) = (recorded(a)?, recorded(b)?);
    let pairs: Vec<Pair> = la
        .iter()
        .filter_map(|x| {
            let y = lb.iter().find(|y| y.split == x.split && y.index == x.index)?;
            Some(Pair {
                a: x.clone(),
                b: y.clone(),
            })
        })
        .collect();
    if pairs.is_empty() {
        let has = |l: &[Latest]| {
            if l.is_empty() {
                "nothing".to_string()
            } else {
                l.iter()
                    .map(|x| utterance_name(x.split, x.index))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        return Err(Unpaired::NothingShared {
            a: a.label.into(),
            b: b.label.into(),
            a_has: has(la),
            b_has: has(lb),
        });
    }
    Ok(pairs)
}

/// What `side` recorded, or why it has nothing to pair.
fn recorded<'a>(side: Side<'a>) -> Result<&'a [Latest], Unpaired> {
    match side.recording {
        Recording::Recorded(latest) => Ok(latest),
        Recording::TextOnly => Err(Unpaired::TextOnly {
            label: side.label.into(),
        }),
        Recording::Missing => Err(Unpaired::Missing {
            label: side.label.into(),
            dir: side.dir.to_path_buf(),
        }),
        Recording::Unreadable(problem) => Err(Unpaired::Unreadable {
            label: side.label.into(),
            problem: problem.clone(),
        }),
    }
}

impl fmt::Display for Latest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at step {}", utterance_name(self.split, self.index), self.step)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use super::*;
    use crate::train::attention_log::AttentionLog;
    use crate::train::events::{Inspection, Weights};

    /// "[CLS] fun ##ny ok [SEP]", W_m rows that sum to 1 and lean on column `lean`.
    pub(crate) fn snapshot(index: usize, lean: usize, prediction: f32) -> AttentionSnapshot {
        let n = 5;
        let wm = (0..n)
            .map(|_| (0..n).map(|j| if j == lean { 0.6 } else { 0.1 }).collect())
            .collect();
        AttentionSnapshot {
            index,
            tokens: ["[CLS]", "fun", "##ny", "ok", "[SEP]"].map(String::from).to_vec(),
            words: ["funny", "ok"].map(String::from).to_vec(),
            token_words: vec![None, Some(0), Some(0), Some(1), None],
            label: 1.2,
            prediction,
            prediction_without_audio: prediction - 0.05,
            batching: "test".into(),
            text_attention: vec![vec![0.0; n]; n],
            audio_attention: vec![vec![0.0; n]; n],
            fusion_scores: vec![vec![0.0; n]; n],
            multimodal_attention: wm,
        }
    }

    /// A log that recorded `utterances` (split, index, lean) at steps 4 and 8.
    pub(crate) fn log(utterances: &[(Split, usize, usize)]) -> AttentionLog {
        let mut log = AttentionLog::default();
        for step in [4, 8] {
            for &(split, index, lean) in utterances {
                let inspection = Inspection {
                    split,
                    weights: Weights::Live { step },
                    // The first snapshot leans elsewhere: the latest must be the one paired.
                    snapshot: snapshot(index, if step == 4 { 0 } else { lean }, step as f32 / 10.0),
                };
                log.push(&inspection, Some(1.0));
            }
        }
        log
    }

    fn side<'a>(label: &'a str, recording: &'a Recording) -> Side<'a> {
        Side {
            label,
            dir: Path::new("runs/x"),
            recording,
        }
    }

    #[test]
    fn shared_utterances_are_paired_at_their_latest_snapshots_with_their_difference() {
        let a = Recording::from_log(&log(&[(Split::Test, 6, 1), (Split::Dev, 3, 1), (Split::Dev, 5, 1)]));
        let b = Recording::from_log(&log(&[(Split::Dev, 3, 3), (Split::Test, 6, 1), (Split::Test, 3, 3)]));
        let pairs = pair(side("zero", &a), side("learned", &b)).unwrap();
        let names: Vec<String> = pairs.iter().map(Pair::name).collect();
        assert_eq!(names, ["test #6", "dev #3"], "in A's order; test #3 is not dev #3");
        let p = &pairs[1];
        assert_eq!((p.a.step, p.b.step), (8, 8), "the latest snapshots");
        let d = p.difference(Level::Piece, true).unwrap();
        assert_eq!(d.labels, ["[CLS]", "fun", "##ny", "ok", "[SEP]"]);
        // B leans on column 3, A on column 1: +0.5 and -0.5 there, zero elsewhere.
        for row in &d.values {
            let want = [0.0, -0.5, 0.0, 0.5, 0.0];
            for (got, want) in row.iter().zip(want) {
                assert!((got - want).abs() < 1e-6, "{row:?}");
            }
        }
        // At word level: the difference of the merged views (fun + ##ny summed).
        let w = p.difference(Level::Word, true).unwrap();
        let [va, vb] = p.views(Level::Word, true);
        assert_eq!(w.labels, ["[CLS]", "funny", "ok", "[SEP]"]);
        assert!((w.values[0][1] - (vb.values[0][1] - va.values[0][1])).abs() < 1e-6);
        assert!(pairs[0]
            .difference(Level::Word, true)
            .unwrap()
            .values
            .iter()
            .flatten()
            .all(|v| *v == 0.0));
        assert!((p.prediction_change()).abs() < 1e-6, "both at step 8");
    }

    #[test]
    fn different_tokens_are_said_not_subtracted() {
        let a = Recording::from_log(&log(&[(Split::Test, 6, 1)]));
        let mut b = Recording::from_log(&log(&[(Split::Test, 6, 1)]));
        if let Recording::Recorded(latest) = &mut b {
            let s = &mut latest[0].snapshot;
            s.tokens[1] = "funny".into();
            s.tokens.remove(2);
            s.token_words.remove(2);
        }
        let pairs = pair(side("a", &a), side("b", &b)).unwrap();
        assert_eq!(pairs.len(), 1, "still shown side by side");
        assert!(!pairs[0].same_tokens());
        let e = pairs[0].difference(Level::Word, true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "test #6: the runs split it into different tokens (A: 5 tokens, B: 4): no difference drawn"
        );
    }

    #[test]
    fn a_missing_file_text_only_run_or_nothing_shared_is_one_line() {
        let a = Recording::from_log(&log(&[(Split::Test, 6, 1), (Split::Dev, 3, 1)]));
        let b = Recording::from_log(&log(&[(Split::Dev, 4, 1)]));
        let lines = [
            pair(side("zero", &a), side("old", &Recording::Missing)),
            pair(side("t-bert", &Recording::TextOnly), side("zero", &a)),
            pair(side("zero", &a), side("learned", &b)),
            pair(
                side("zero", &a),
                side("bad", &Recording::Unreadable("x: broken".into())),
            ),
            pair(side("zero", &a), side("empty", &Recording::Recorded(Vec::new()))),
        ]
        .map(|r| r.unwrap_err().to_string());
        assert_eq!(
            lines,
            [
                "old: no attention.safetensors in runs/x (a run that watched no utterance, or one from before attention was recorded): no attention to compare",
                "t-bert is T-BERT: it has no multimodal attention (W_m) to compare",
                "zero and learned recorded no utterance in common (A: test #6, dev #3; B: dev #4): \
                 train both with the same --watch SPLIT:INDEX",
                "bad: x: broken",
                "zero and empty recorded no utterance in common (A: test #6, dev #3; B: nothing): \
                 train both with the same --watch SPLIT:INDEX",
            ]
        );
        assert!(lines.iter().all(|l| !l.contains('\n')));
    }
}
