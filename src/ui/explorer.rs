//! What the attention panels show: the latest inspection of the watched utterance, or one
//! of its recorded snapshots (`<` `>`, `timeline`), the two matrices chosen, the level,
//! where the `[CLS]` bars go, and the cell cursor.

use super::timeline::{Place, Stepped, Timeline, Way};
use crate::attention::{cls_weights, view, Level, Matrix, View};
use crate::data::Split;
use crate::train::{AttentionSnapshot, Inspection, Weights};

/// Where the `[CLS]` row of W_m is drawn as per-word bars (`b` toggles). Each place shows
/// the bars once: moving them beside the right matrix removes them from below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bars {
    /// Below the two matrices, when the screen has room once the matrices have theirs.
    Below,
    /// In place of the left matrix, the panel's full height.
    Left,
}

/// One of the two heatmap panels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The left panel (`n` cycles it).
    Left,
    /// The right panel (`m` cycles it).
    Right,
}

#[derive(Debug, Clone)]
/// The heatmaps' state: what is shown of the watched utterance, and how.
pub struct Explorer {
    /// The latest matrices the model sent for the watched utterance.
    pub inspection: Option<Inspection>,
    /// The utterance asked for; differs from `inspection` until the model answers.
    pub watching: Option<(Split, usize)>,
    /// The left heatmap.
    pub left: Matrix,
    /// The right heatmap.
    pub right: Matrix,
    /// Word pieces or whole words (`w`).
    pub level: Level,
    /// Whether `[CLS]` and `[SEP]` are shown (`x`).
    pub show_special: bool,
    /// Row and column of the cell cursor, in the views' coordinates.
    pub cursor: (usize, usize),
    /// Where the `[CLS]` bars go (`b`).
    pub bars: Bars,
    /// How many inspections of the current utterance have arrived (shows that it is live).
    pub updates: usize,
    /// The recorded snapshots `<` and `>` step through.
    pub timeline: Timeline,
    /// The recorded snapshot shown instead of the latest inspection (`None`: the current
    /// weights'), named by its utterance and step: the live log may drop snapshots as it
    /// downsamples, so a place in the list would move under the reader.
    stepped: Option<(Split, usize, usize)>,
}

/// What the panels draw: the latest inspection or a recorded snapshot of the watched
/// utterance.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    /// The utterance's split.
    pub split: Split,
    /// The weights that computed it.
    pub weights: Weights,
    /// Its matrices and predictions.
    pub snapshot: &'a AttentionSnapshot,
    /// Where it stands among the recorded snapshots, when it is one (`<` `>`).
    pub recorded: Option<Place>,
}

impl Default for Explorer {
    fn default() -> Self {
        Self {
            inspection: None,
            watching: None,
            left: Matrix::AlphaT,
            right: Matrix::WM,
            level: Level::Word,
            show_special: true,
            cursor: (0, 0),
            bars: Bars::Below,
            updates: 0,
            timeline: Timeline::live(),
            stepped: None,
        }
    }
}

impl Explorer {
    /// An explorer stepping through `timeline`.
    pub fn with_timeline(timeline: Timeline) -> Self {
        Self {
            timeline,
            ..Self::default()
        }
    }

    /// What the panels draw: the recorded snapshot stepped to, else the latest inspection.
    pub fn shown(&self) -> Option<Shown<'_>> {
        if let Some((split, index, step)) = self.stepped.filter(|s| Some((s.0, s.1)) == self.watching) {
            let track = self.timeline.track(split, index);
            if let Some(at) = position(track, step) {
                let r = &track[at];
                return Some(Shown {
                    split,
                    weights: r.weights,
                    snapshot: &r.snapshot,
                    recorded: Some(Place::of(track, at)),
                });
            }
        }
        self.inspection.as_ref().map(|i| Shown {
            split: i.split,
            weights: i.weights,
            snapshot: &i.snapshot,
            recorded: None,
        })
    }

    /// Watches an utterance: another one than the one stepped through shows its current
    /// weights' attention again.
    pub fn watch(&mut self, split: Split, index: usize) {
        self.watching = Some((split, index));
        if self.stepped.is_some_and(|(s, i, _)| (s, i) != (split, index)) {
            self.stepped = None;
        }
    }

    /// `<` and `>`: the watched utterance's recorded snapshots, oldest to latest, then its
    /// current weights again.
    pub fn step(&mut self, way: Way) -> Stepped {
        let Some((split, index)) = self.watching else {
            return Stepped::NoneRecorded;
        };
        let track = self.timeline.track(split, index);
        let Some(last) = track.len().checked_sub(1) else {
            self.stepped = None;
            return Stepped::NoneRecorded;
        };
        let at = self
            .stepped
            .filter(|s| (s.0, s.1) == (split, index))
            .and_then(|s| position(track, s.2));
        let (to, stepped) = match (way, at) {
            (Way::Older, None) => (Some(last), Stepped::To(Place::of(track, last))),
            (Way::Older, Some(0)) => (Some(0), Stepped::Oldest(Place::of(track, 0))),
            (Way::Older, Some(i)) => (Some(i - 1), Stepped::To(Place::of(track, i - 1))),
            (Way::Newer, None) => (None, Stepped::AtCurrent { recorded: track.len() }),
            (Way::Newer, Some(i)) if i == last => (None, Stepped::BackToCurrent),
            (Way::Newer, Some(i)) => (Some(i + 1), Stepped::To(Place::of(track, i + 1))),
        };
        self.stepped = to.map(|i| (split, index, track[i].step));
        self.clamp_cursor();
        stepped
    }

    /// Whether a recorded snapshot is shown (`esc` goes back to the current weights).
    pub fn stepping(&self) -> bool {
        self.shown().is_some_and(|s| s.recorded.is_some())
    }

    /// Shows the current weights' attention again.
    pub fn back_to_current(&mut self) {
        self.stepped = None;
        self.clamp_cursor();
    }

    /// The left and right views of what is shown, if anything is.
    pub fn views(&self) -> Option<(View, View)> {
        let s = self.shown()?.snapshot;
        Some((
            view(s, self.left, self.level, self.show_special),
            view(s, self.right, self.level, self.show_special),
        ))
    }

    /// The bars of the `[CLS]` row, one per column of the views (the cursor's column names
    /// its bar).
    pub fn cls_bars(&self) -> Vec<(String, f32)> {
        self.shown()
            .map_or_else(Vec::new, |s| cls_weights(s.snapshot, self.level, self.show_special))
    }

    /// Moves the `[CLS]` bars (`b`).
    pub fn toggle_bars(&mut self) {
        self.bars = match self.bars {
            Bars::Below => Bars::Left,
            Bars::Left => Bars::Below,
        };
    }

    /// Whether the shown matrices are those of the watched utterance.
    pub fn current(&self) -> bool {
        match (&self.inspection, self.watching) {
            (Some(i), Some((split, index))) => i.split == split && i.snapshot.index == index,
            _ => false,
        }
    }

    /// Takes a new inspection (recorded, in the live app): another utterance's puts the
    /// cursor on the `[CLS]` row, the same utterance's keeps it where it is.
    pub fn receive(&mut self, inspection: Inspection) {
        self.timeline.receive(&inspection);
        let same = self
            .inspection
            .as_ref()
            .is_some_and(|old| old.split == inspection.split && old.snapshot.index == inspection.snapshot.index);
        self.updates = if same { self.updates + 1 } else { 1 };
        if !same {
            // Start on the [CLS] row: the one that reaches the prediction.
            self.cursor = (0, 0);
        }
        self.inspection = Some(inspection);
        self.clamp_cursor();
    }

    fn size(&self) -> usize {
        self.views().map_or(0, |(l, _)| l.labels.len())
    }

    fn clamp_cursor(&mut self) {
        let n = self.size();
        self.cursor = (
            self.cursor.0.min(n.saturating_sub(1)),
            self.cursor.1.min(n.saturating_sub(1)),
        );
    }

    /// Moves the cell cursor, stopping at the edges.
    pub fn move_cursor(&mut self, rows: isize, cols: isize) {
        let last = self.size().saturating_sub(1) as isize;
        let step = |v: usize, d: isize| (v as isize + d).clamp(0, last.max(0)) as usize;
        self.cursor = (step(self.cursor.0, rows), step(self.cursor.1, cols));
    }

    /// The next matrix on one side, skipping the one the other side shows: two panels
    /// never draw the same matrix.
    pub fn cycle_matrix(&mut self, side: Side) {
        let (side, other) = match side {
            Side::Right => (&mut self.right, self.left),
            Side::Left => (&mut self.left, self.right),
        };
        *side = side.next();
        if *side == other {
            *side = side.next();
        }
    }

    /// Word pieces or whole words (`w`).
    pub fn toggle_level(&mut self) {
        self.level = match self.level {
            Level::Word => Level::Piece,
            Level::Piece => Level::Word,
        };
        self.clamp_cursor();
    }

    /// Shows or hides `[CLS]` and `[SEP]` (`x`).
    pub fn toggle_special(&mut self) {
        self.show_special = !self.show_special;
        self.clamp_cursor();
    }
}

/// The place of the snapshot at `step` in `track`, or of the latest before it (the live log
/// dropped it as it downsampled).
fn position(track: &[crate::train::attention_log::Recorded], step: usize) -> Option<usize> {
    track
        .iter()
        .rposition(|r| r.step <= step)
        .or((!track.is_empty()).then_some(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::AttentionSnapshot;

    pub(crate) fn inspection(index: usize) -> Inspection {
        let n = 5;
        let m = |f: fn(usize, usize) -> f32| (0..n).map(|i| (0..n).map(|j| f(i, j)).collect()).collect();
        Inspection {
            split: Split::Test,
            weights: crate::train::Weights::Live { step: 3 },
            snapshot: AttentionSnapshot {
                index,
                tokens: ["[CLS]", "fun", "##ny", "ok", "[SEP]"].map(String::from).to_vec(),
                words: ["funny", "ok"].map(String::from).to_vec(),
                token_words: vec![None, Some(0), Some(0), Some(1), None],
                label: 1.0,
                prediction: 0.5,
                prediction_without_audio: 0.25,
                batching: "evaluation batch 0".into(),
                text_attention: m(|i, j| (i + j) as f32),
                audio_attention: m(|_, _| 0.0),
                fusion_scores: m(|i, j| i as f32 - j as f32),
                multimodal_attention: m(|_, j| [0.1, 0.3, 0.2, 0.3, 0.1][j]),
            },
        }
    }

    #[test]
    fn cursor_follows_level_and_special_tokens() {
        let mut e = Explorer::default();
        e.receive(inspection(1));
        e.move_cursor(10, 10);
        assert_eq!(e.cursor, (3, 3), "word level with specials: 4 labels");
        e.toggle_level();
        e.move_cursor(10, 10);
        assert_eq!(e.cursor, (4, 4));
        e.toggle_special();
        assert_eq!(e.cursor, (2, 2), "clamped to the 3 word pieces");
        e.receive(inspection(1));
        assert_eq!((e.cursor, e.updates), ((2, 2), 2), "same utterance: cursor kept");
        e.receive(inspection(2));
        assert_eq!((e.cursor, e.updates), ((0, 0), 1));
    }

    #[test]
    fn matrices_cycle_on_the_focused_side() {
        let mut e = Explorer::default();
        e.cycle_matrix(Side::Right);
        assert_eq!((e.left, e.right), (Matrix::AlphaT, Matrix::Shift));
        e.cycle_matrix(Side::Left);
        assert_eq!(e.left, Matrix::BetaA);
        e.cycle_matrix(Side::Left);
        e.cycle_matrix(Side::Left);
        assert_eq!(e.left, Matrix::WM, "W_f, then W_m: the right side shows Shift");
        e.cycle_matrix(Side::Left);
        assert_eq!(e.left, Matrix::AlphaT, "Shift is skipped");
        for _ in 0..20 {
            e.cycle_matrix(Side::Right);
            assert_ne!(e.left, e.right);
        }
        e.watching = Some((Split::Test, 1));
        assert!(!e.current());
        e.receive(inspection(1));
        assert!(e.current());
    }
}
