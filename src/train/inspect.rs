//! Answers a viewer's questions about the model as it is now: the attention of one
//! utterance, the predictions of a split. The trainer asks it between steps; `open` asks it
//! for a finished checkpoint. Both use the evaluation batching (docs/MODEL.md §3, step 2).
//!
//! Every answer carries the `Weights` that computed it. A finished run keeps its best and
//! its last weights in memory (`KeptWeights`) and switches between them on request, so that
//! the viewer's list, heatmaps and header always come from one labelled model.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::eval::{attention_snapshot, attention_snapshots, evaluate};
use super::events::{Command, Event, EventSink, Inspection, Weights};
use super::protocol::{Idle, Protocol, Request, Worker};
use super::record::Saved;
use crate::data::{Dataset, Split};
use crate::model::{CmBert, ModelKind};
use candle_core::{Device, Result, Tensor, Var};
use crossbeam_channel::Receiver;

/// A finished run's best and last weights, copies kept in memory so that the viewer
/// switches between them without reading a checkpoint: the model's variables take either.
pub struct KeptWeights {
    vars: BTreeMap<String, Var>,
    best: (Weights, Vec<(String, Tensor)>),
    last: (Weights, Vec<(String, Tensor)>),
}

impl KeptWeights {
    /// `vars`: the served model's variables; `best` and `last`: a value for each of them.
    pub fn new(
        vars: BTreeMap<String, Var>,
        best: (Weights, Vec<(String, Tensor)>),
        last: (Weights, Vec<(String, Tensor)>),
    ) -> Self {
        Self { vars, best, last }
    }

    /// Gives the model the `which` weights; returns their label.
    pub fn load(&self, which: Saved) -> Result<Weights> {
        let (label, values) = match which {
            Saved::Best => &self.best,
            Saved::Last => &self.last,
        };
        for (name, value) in values {
            if let Some(var) = self.vars.get(name) {
                var.set(value)?;
            }
        }
        Ok(*label)
    }
}

/// The utterance a viewer is watching, and when its attention was last recomputed.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// The watched utterance (split, index), if any.
    pub target: Option<(Split, usize)>,
    last: Option<(Instant, Duration)>,
}

/// Recomputing costs this share of the time between refreshes at most.
const REFRESH_SHARE: u32 = 50;
/// And refreshes are never closer than this (the screen cannot show more anyway).
const MIN_REFRESH: Duration = Duration::from_millis(250);

impl Watch {
    /// Watches this utterance from now on; due at once.
    pub fn set(&mut self, split: Split, index: usize) {
        self.target = Some((split, index));
        self.last = None;
    }

    /// Due when never computed, or when enough time has passed for the refresh to cost at
    /// most 1/REFRESH_SHARE of training time.
    pub fn due(&self, now: Instant) -> bool {
        match (self.target, self.last) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(_), Some((at, cost))) => now.duration_since(at) >= (cost * REFRESH_SHARE).max(MIN_REFRESH),
        }
    }

    /// Records a refresh that ended at `finished` and took `cost`.
    pub fn done(&mut self, finished: Instant, cost: Duration) {
        self.last = Some((finished, cost));
    }
}

/// Answers the viewer about one model: attention maps and predictions, labelled with the
/// weights that computed them.
pub struct Inspector<'a> {
    /// The model asked about.
    pub model: &'a CmBert,
    /// What the model's variables hold now: the label of every answer.
    pub weights: Weights,
    /// CM-BERT or T-BERT (which has no fusion matrices).
    pub kind: ModelKind,
    /// The splits asked about.
    pub data: &'a Dataset,
    /// Examples per evaluation batch (as in training: scores depend on it).
    pub eval_batch_size: usize,
    /// Width of the audio features.
    pub audio_dim: usize,
    /// Where the batches go.
    pub device: &'a Device,
}

impl Inspector<'_> {
    /// Sends the watched utterance's attention (T-BERT has none: nothing is sent).
    pub fn refresh(&self, watch: &mut Watch, events: &dyn EventSink) -> Result<()> {
        if let Some(inspection) = self.inspect(watch)? {
            events.emit(Event::Attention(Box::new(inspection)));
        }
        Ok(())
    }

    /// The watched utterance's attention, and the watch told when it was computed (`None`:
    /// nothing watched, T-BERT, or an index past the split, which ends the watch).
    pub fn inspect(&self, watch: &mut Watch) -> Result<Option<Inspection>> {
        let Some((split, index)) = watch.target else {
            return Ok(None);
        };
        if self.kind == ModelKind::TBert || index >= self.data.split(split).len() {
            watch.target = None;
            return Ok(None);
        }
        let started = Instant::now();
        let snapshot = attention_snapshot(
            self.model,
            self.data.split(split),
            index,
            self.eval_batch_size,
            self.audio_dim,
            self.device,
        )?;
        let now = Instant::now();
        watch.done(now, now - started);
        Ok(Some(Inspection {
            split,
            weights: self.weights,
            snapshot,
        }))
    }

    /// The attention of each of `targets` that has one (T-BERT and indices past their split
    /// have none), computed one evaluation batch at a time: utterances sharing a batch cost
    /// one recomputation together (`eval::attention_snapshots`).
    pub fn inspect_all(&self, targets: &[(Split, usize)]) -> Result<Vec<Inspection>> {
        if self.kind == ModelKind::TBert {
            return Ok(Vec::new());
        }
        let mut inspections = Vec::with_capacity(targets.len());
        for split in Split::ALL {
            let examples = self.data.split(split);
            let indices: Vec<usize> = targets
                .iter()
                .filter(|&&(s, index)| s == split && index < examples.len())
                .map(|&(_, index)| index)
                .collect();
            if indices.is_empty() {
                continue;
            }
            let snapshots = attention_snapshots(
                self.model,
                examples,
                &indices,
                self.eval_batch_size,
                self.audio_dim,
                self.device,
            )?;
            inspections.extend(snapshots.into_iter().map(|snapshot| Inspection {
                split,
                weights: self.weights,
                snapshot,
            }));
        }
        Ok(inspections)
    }

    /// Answers `Watch` and `Predict` until `Stop` or the command channel closes
    /// (`protocol`), and with `kept`, `Switch` (announced by `Event::Serving`, also once at
    /// the start); the rest do not apply to a model that is not training.
    pub fn serve(
        &mut self,
        commands: &Receiver<Command>,
        events: &dyn EventSink,
        kept: Option<&KeptWeights>,
    ) -> Result<()> {
        if kept.is_some() {
            events.emit(Event::Serving(self.weights));
        }
        let mut serving = Serving {
            inspector: self,
            events,
            kept,
            watch: Watch::default(),
            watch_pending: false,
            jobs: Vec::new(),
        };
        Protocol::new(commands, events).serve(&mut serving)
    }

    /// Sends the predictions of `split` (one evaluation pass).
    pub fn predict(&self, split: Split, events: &dyn EventSink) -> Result<()> {
        let eval = evaluate(
            self.model,
            self.data.split(split),
            self.eval_batch_size,
            self.audio_dim,
            self.device,
        )?;
        events.emit(Event::Predictions {
            split,
            weights: self.weights,
            values: eval.predictions,
        });
        Ok(())
    }
}

/// An inspector serving the viewer: a watch is answered first, predictions one evaluation
/// batch at a time, so that a watch (a key press) is answered between two batches instead
/// of after a whole split.
struct Serving<'s, 'a> {
    inspector: &'s mut Inspector<'a>,
    events: &'s dyn EventSink,
    kept: Option<&'s KeptWeights>,
    watch: Watch,
    watch_pending: bool,
    /// Splits being predicted, and the predictions made so far.
    jobs: Vec<(Split, Vec<f32>)>,
}

impl Worker for Serving<'_, '_> {
    type Error = candle_core::Error;

    fn answer(&mut self, request: Request) -> Result<()> {
        match request {
            Request::Watch { split, index } => {
                self.watch.set(split, index);
                self.watch_pending = true;
            }
            Request::Predict(split) => {
                if !self.jobs.iter().any(|(s, _)| *s == split) {
                    self.jobs.push((split, Vec::new()));
                }
            }
            Request::Switch(which) => {
                if let Some(kept) = self.kept {
                    self.inspector.weights = kept.load(which)?;
                    // Half a split from one model and half from the other is neither: the
                    // viewer asks again for what it shows (`Event::Serving`).
                    self.jobs.clear();
                    self.events.emit(Event::Serving(self.inspector.weights));
                }
            }
            // The run is over: best/ and last/ are on disk already.
            Request::Save => {}
        }
        Ok(())
    }

    fn idle(&mut self) -> Result<Idle> {
        if self.watch_pending {
            self.watch_pending = false;
            self.inspector.refresh(&mut self.watch, self.events)?;
        } else if let Some((split, values)) = self.jobs.first_mut() {
            let inspector = &self.inspector;
            let examples = inspector.data.split(*split);
            let start = values.len();
            let end = (start + inspector.eval_batch_size.max(1)).min(examples.len());
            values.extend(
                evaluate(
                    inspector.model,
                    &examples[start..end],
                    inspector.eval_batch_size,
                    inspector.audio_dim,
                    inspector.device,
                )?
                .predictions,
            );
            if values.len() == examples.len() {
                let (split, values) = self.jobs.remove(0);
                self.events.emit(Event::Predictions {
                    split,
                    weights: self.inspector.weights,
                    values,
                });
            }
        }
        Ok(if self.watch_pending || !self.jobs.is_empty() {
            Idle::Pending
        } else {
            Idle::Done
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_cost_is_bounded_by_its_share() {
        let mut w = Watch::default();
        let t0 = Instant::now();
        assert!(!w.due(t0), "nothing watched");
        w.set(Split::Dev, 3);
        assert!(w.due(t0), "a new target is due at once");
        w.done(t0, Duration::from_millis(100));
        assert!(!w.due(t0 + Duration::from_secs(4)));
        assert!(w.due(t0 + Duration::from_secs(5)), "after 50 x the cost");
        w.done(t0, Duration::from_micros(10));
        assert!(
            !w.due(t0 + Duration::from_millis(200)),
            "never more often than MIN_REFRESH"
        );
        assert!(w.due(t0 + Duration::from_millis(250)));
    }
}
