//! The training loop of the `paper` preset (docs/MODEL.md §4), driven by commands
//! (`protocol`) and reporting through events, shared by the headless CLI and the TUI.
//! Resuming a run is in `engine/resume.rs`, writing and reading its checkpoints in
//! `engine/checkpoint_io.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use candle_core::{Device, Tensor};
use crossbeam_channel::{Receiver, Sender};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::config::{derive_seed, Recording, RunSpec};
use super::error::TrainError;
use super::eval::{check_token_ids, evaluate};
use super::events::{Command, Event, EventSink, RunSummary, Weights};
use super::groups::group_for;
use super::inspect::{Inspector, KeptWeights, Watch};
use super::optim::{BertAdam, WarmupLinear};
use super::protocol::{Flow, Idle, Protocol, Request, Worker};
use super::record::Saved;
use super::record::{EpochsChange, Progress};
use crate::acoustic::AudioFeatures;
use crate::checkpoint::Checkpoint;
use crate::data::{Batch, Dataset, Example, Split};
use crate::model::{loss, BertAttentions, BertConfig, CmBert, DropoutRng, HeadConfig, Mode, ParamStore};
use crate::worker;

mod attention_rec;
mod checkpoint_io;
mod kept;
mod recorder;
mod resume;
mod rota;

use kept::When;
use recorder::{Begun, Recorder};
use rota::Rota;

const STREAM_SHUFFLE: u64 = 1;
const STREAM_DROPOUT: u64 = 2;

/// The run directory a checkpoint belongs to: the one that holds it (`RUN` for `RUN/last`).
pub fn run_dir_of(checkpoint: &Path) -> PathBuf {
    crate::fsutil::parent_of(checkpoint).to_path_buf()
}

/// What the trainer's thread does once the run has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterRun {
    /// Return at once (headless: nobody asks about the model).
    Return,
    /// Keep answering the viewer (`Watch`, `Predict`) with the best weights, and `Switch`
    /// between the best and the last, until the command channel closes (the app).
    Serve,
}

/// Whether `loss` is a new best. A NaN compares false with everything, so without the
/// finiteness check it would become the first best and then never be beaten.
fn improves(best: Option<f64>, loss: f64) -> bool {
    loss.is_finite() && best.is_none_or(|b| loss < b)
}

/// A run in progress: the model, its optimiser and where the loop stands. Build it with
/// `new` or `resume`, then `run` it (or `spawn_scoped`).
pub struct Trainer {
    /// The run's settings (amended on resuming, `amend`).
    pub spec: RunSpec,
    model: CmBert,
    store: Arc<ParamStore>,
    optimizer: BertAdam,
    bert: BertConfig,
    head: HeadConfig,
    vocab: PathBuf,
    device: Device,
    progress: Progress,
    best: Option<Vec<(String, Tensor)>>,
    /// After the run: the best and last weights the viewer switches between, and which of
    /// them the model holds.
    kept: Option<KeptWeights>,
    serving: Option<Weights>,
    /// Recorded with every checkpoint (`TrainingRecord::epochs_changes`).
    epochs_changes: Vec<EpochsChange>,
    frozen_params: usize,
    watch: Watch,
    /// `--watch`: utterances whose attention is recorded (`engine/kept.rs`).
    watched: Vec<(Split, usize)>,
    /// Those and the Figure-4 sentences, recomputed in turn for the log (`engine/rota.rs`).
    kept_rota: Rota,
    audio_features: Option<AudioFeatures>,
    /// Whether this session continues a saved run (its history says so).
    begun: Begun,
    /// The `last/` checkpoint a resumed session continues, whose position is checked against
    /// the data once it is known (`Progress::validate_position`).
    resumed_from: Option<PathBuf>,
    /// What the session writes beside its checkpoints (`with_recording`).
    recording: Recording,
}

impl Trainer {
    /// The vocabulary the model was trained with: the encoder's, or on resuming the
    /// checkpoint's own copy (wherever the run was moved, whatever became of the encoder's).
    pub fn vocab(&self) -> &Path {
        &self.vocab
    }

    /// The settings [`Trainer::new`] refuses, checked without building anything: so that a
    /// command can refuse them before it changes any file.
    pub fn check(spec: &RunSpec, encoder: &Checkpoint, audio_dim: usize) -> Result<(), TrainError> {
        let head = HeadConfig::new(spec.model, spec.cls_audio, audio_dim);
        spec.validate_for(&encoder.bert)
            .and_then(|()| head.validate())
            .map_err(|problem| TrainError::Settings {
                encoder: encoder.dir.clone(),
                problem,
            })
    }

    /// A new run on a pre-trained encoder (any accepted checkpoint layout).
    pub fn new(spec: RunSpec, encoder: &Checkpoint, audio_dim: usize, device: &Device) -> Result<Self, TrainError> {
        Self::check(&spec, encoder, audio_dim)?;
        let head = HeadConfig::new(spec.model, spec.cls_audio, audio_dim);
        // Only the encoder is taken from the pre-trained checkpoint: the head is new.
        let tensors = encoder
            .tensors
            .iter()
            .filter(|(k, _)| k.starts_with("bert."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self::build(
            spec,
            tensors,
            encoder.bert.clone(),
            head,
            encoder.vocab.clone(),
            device,
            Progress::default(),
        )
    }

    fn build(
        spec: RunSpec,
        tensors: HashMap<String, Tensor>,
        bert: BertConfig,
        head: HeadConfig,
        vocab: PathBuf,
        device: &Device,
        progress: Progress,
    ) -> Result<Self, TrainError> {
        let store = ParamStore::new(tensors, spec.seed, device);
        // A tensor of the wrong shape is the checkpoint's fault: say which checkpoint.
        let mut model = CmBert::load(store.var_builder(), &bert, &head).map_err(|source| TrainError::Weights {
            dir: crate::fsutil::parent_of(&vocab).to_path_buf(),
            source: Box::new(source),
        })?;
        model
            .bert
            .set_products(crate::model::bf16::Products::for_precision(spec.precision));
        if group_for("bert.embeddings.word_embeddings.weight", head.model, &spec.groups).is_none() {
            model.bert.detach_embeddings();
        }
        let mut frozen_params = 0;
        let params = store
            .vars()
            .into_iter()
            .filter_map(|(name, var)| match group_for(&name, head.model, &spec.groups) {
                Some(group) => Some((name, var, group)),
                None => {
                    frozen_params += var.elem_count();
                    None
                }
            })
            .collect();
        // t_total needs the training-set size; set for real in `run`.
        let optimizer = BertAdam::new(
            params,
            WarmupLinear {
                warmup: spec.warmup,
                t_total: 0,
            },
            spec.max_grad_norm,
        );
        Ok(Self {
            spec,
            model,
            store,
            optimizer,
            bert,
            head,
            vocab,
            device: device.clone(),
            progress,
            best: None,
            kept: None,
            serving: None,
            epochs_changes: Vec::new(),
            frozen_params,
            watch: Watch::default(),
            watched: Vec::new(),
            kept_rota: Rota::new(Vec::new(), Instant::now()),
            audio_features: None,
            begun: Begun::New,
            resumed_from: None,
            recording: Recording::default(),
        })
    }

    /// The model being trained.
    pub fn model(&self) -> &CmBert {
        &self.model
    }

    /// The model's head configuration.
    pub fn head(&self) -> &HeadConfig {
        &self.head
    }

    /// Records the feature set and scaling of the audio this run trains on (files from
    /// `cmbert-tui features`), saved with every checkpoint.
    pub fn with_audio_features(mut self, features: Option<AudioFeatures>) -> Self {
        self.audio_features = features;
        self
    }

    /// Writes the run's history and attention log, or skips them (`Recording`; both are
    /// kept by default).
    pub fn with_recording(mut self, recording: Recording) -> Self {
        self.recording = recording;
        self
    }

    /// The audio feature set this run trains on, when recorded.
    pub fn audio_features(&self) -> Option<&AudioFeatures> {
        self.audio_features.as_ref()
    }

    /// Where the loop stands (a resumed run: where it resumes).
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Runs on a thread named `trainer` inside `scope`; a failure, a panic included, is
    /// also sent as `Event::Failed` so that consumers can show it. `after`: whether a
    /// finished run then keeps answering the viewer.
    pub fn spawn_scoped<'scope, 'env>(
        mut self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        data: &'env Dataset,
        events: Sender<Event>,
        commands: Receiver<Command>,
        after: AfterRun,
    ) -> worker::Handle<'scope, Result<Option<RunSummary>, TrainError>>
    where
        Self: 'scope,
    {
        let failed = events.clone();
        worker::spawn_scoped(
            scope,
            "trainer",
            move || self.run_reporting(data, &events, &commands, after),
            move |panicked| {
                let _ = failed.send(Event::Failed(panicked.to_string()));
            },
        )
    }

    /// `run`, then what `after` says; a failure is also sent as `Event::Failed` so that
    /// consumers can show it.
    pub fn run_reporting(
        &mut self,
        data: &Dataset,
        events: &Sender<Event>,
        commands: &Receiver<Command>,
        after: AfterRun,
    ) -> Result<Option<RunSummary>, TrainError> {
        let recorder = self.recorder(events);
        let mut result = self.run_recorded(data, &recorder, commands);
        if after == AfterRun::Serve && matches!(result, Ok(Some(_))) {
            if let Err(e) = self.serve(data, &recorder, commands) {
                result = Err(e);
            }
        }
        if let Err(e) = &result {
            let _ = events.send(Event::Failed(e.to_string()));
        }
        result
    }

    /// Runs to the end (returns the summary) or until told to stop (returns `None`). With an
    /// output directory, the run's history is written on the way (`RUN/history.jsonl`,
    /// `engine/recorder.rs`), its failure included.
    pub fn run(
        &mut self,
        data: &Dataset,
        events: &Sender<Event>,
        commands: &Receiver<Command>,
    ) -> Result<Option<RunSummary>, TrainError> {
        let recorder = self.recorder(events);
        self.run_recorded(data, &recorder, commands)
    }

    /// The recorder of this session: its history goes into the run directory, if any.
    fn recorder<'e>(&self, events: &'e Sender<Event>) -> Recorder<'e> {
        let plan = self.spec.out.as_ref().map(|run| recorder::Plan {
            run: run.clone(),
            spec: self.spec.clone(),
            device: recorder::device_name(&self.device),
            begun: self.begun,
            recording: self.recording,
        });
        Recorder::new(events, plan)
    }

    fn run_recorded(
        &mut self,
        data: &Dataset,
        recorder: &Recorder<'_>,
        commands: &Receiver<Command>,
    ) -> Result<Option<RunSummary>, TrainError> {
        let result = self.train(data, recorder, commands);
        if let Err(e) = &result {
            recorder.record(&Event::Failed(e.to_string()));
        }
        result
    }

    fn train(
        &mut self,
        data: &Dataset,
        events: &dyn EventSink,
        commands: &Receiver<Command>,
    ) -> Result<Option<RunSummary>, TrainError> {
        let started = Instant::now();
        let train = data.split(Split::Train);
        if train.is_empty() {
            return Err(TrainError::EmptyTrain);
        }
        for split in Split::ALL {
            check_token_ids(data.split(split), self.bert.vocab_size).map_err(|problem| TrainError::Vocabulary {
                data: data.dir.clone(),
                split,
                problem,
            })?;
        }
        let t_total = self.spec.t_total(train.len());
        self.optimizer.set_schedule(WarmupLinear {
            warmup: self.spec.warmup,
            t_total,
        });
        let steps_per_epoch = self.spec.steps_per_epoch(train.len());
        if let Some(dir) = &self.resumed_from {
            self.progress
                .validate_position(steps_per_epoch)
                .map_err(|problem| TrainError::ResumeSpec {
                    path: dir.join("config.json"),
                    problem,
                })?;
        }
        let trainable: usize = self.optimizer.param_count();
        events.emit(Event::Started {
            seed: self.spec.seed,
            epochs: self.spec.epochs,
            steps_per_epoch,
            total_steps: steps_per_epoch * self.spec.epochs,
            first_step: self.progress.global_step,
            trainable_params: trainable,
            frozen_params: self.frozen_params,
        });
        let audio_dim = self.head.audio_dim;
        self.plan_kept(data);
        while self.progress.epoch < self.spec.epochs {
            let order = self.epoch_order(train.len());
            while self.progress.batch_in_epoch < steps_per_epoch {
                let mut answering = Answering {
                    trainer: self,
                    data,
                    events,
                };
                if Protocol::new(commands, events).between_steps(&mut answering)? == Flow::Stop {
                    self.save_checkpoint(Saved::Last, events)?;
                    events.emit(Event::Stopped {
                        step: self.progress.global_step,
                    });
                    return Ok(None);
                }
                let b = self.progress.batch_in_epoch;
                let idx = &order[b * self.spec.batch_size..((b + 1) * self.spec.batch_size).min(train.len())];
                let refs: Vec<&Example> = idx.iter().map(|&i| &train[i]).collect();
                let batch = Batch::new(&refs, audio_dim, &self.device)?;
                let rng = DropoutRng::new(derive_seed(
                    self.spec.seed,
                    STREAM_DROPOUT,
                    self.progress.global_step as u64,
                ));
                let out = self
                    .model
                    .forward(&batch.inputs, Mode::Train(&rng), BertAttentions::Skip)?;
                let batch_loss = loss(&out.score, &batch.labels)?;
                let loss_value = batch_loss.to_scalar::<f32>()?;
                if !loss_value.is_finite() {
                    // Checked before the update, so the weights and `last/` stay as they were.
                    return Err(TrainError::NonFiniteLoss {
                        step: self.progress.global_step + 1,
                        epoch: self.progress.epoch + 1,
                        loss: loss_value,
                    });
                }
                let lr = self.optimizer.current_lr(self.spec.groups.lr);
                self.optimizer.step(&self.model.backward(&batch_loss)?)?;
                self.progress.batch_in_epoch += 1;
                self.progress.global_step += 1;
                self.progress.epoch_loss_sum += loss_value as f64;
                self.progress.epoch_loss_count += 1;
                events.emit(Event::Step {
                    epoch: self.progress.epoch,
                    step: self.progress.global_step,
                    loss: loss_value,
                    lr,
                    elapsed: started.elapsed(),
                });
                if self
                    .spec
                    .save_every
                    .is_some_and(|n| n > 0 && self.progress.global_step % n == 0)
                {
                    self.save_checkpoint(Saved::Last, events)?;
                }
                if self.watch.due(Instant::now()) {
                    self.refresh_watch(data, events)?;
                }
                self.refresh_kept(data, events, When::Due)?;
            }
            self.end_epoch(data, events)?;
        }
        let summary = self.finish(data, started)?;
        events.emit(Event::Predictions {
            split: Split::Test,
            weights: self.weights(),
            values: summary.test_predictions.clone(),
        });
        if self.watch.target.is_some() {
            self.refresh_watch(data, events)?;
        }
        events.emit(Event::Finished(summary.clone()));
        Ok(Some(summary))
    }

    fn epoch_order(&self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut StdRng::seed_from_u64(derive_seed(
            self.spec.seed,
            STREAM_SHUFFLE,
            self.progress.epoch as u64,
        )));
        order
    }

    /// What the model's variables hold: the live weights until the run finished.
    fn weights(&self) -> Weights {
        self.serving.unwrap_or(Weights::Live {
            step: self.progress.global_step,
        })
    }

    fn inspector<'a>(&'a self, data: &'a Dataset) -> Inspector<'a> {
        Inspector {
            model: &self.model,
            weights: self.weights(),
            kind: self.spec.model,
            data,
            eval_batch_size: self.spec.eval_batch_size,
            audio_dim: self.head.audio_dim,
            device: &self.device,
        }
    }

    fn refresh_watch(&mut self, data: &Dataset, events: &dyn EventSink) -> Result<(), TrainError> {
        let mut watch = std::mem::take(&mut self.watch);
        let result = self.inspector(data).refresh(&mut watch, events);
        self.watch = watch;
        Ok(result?)
    }

    /// After the run: the best weights answer the viewer until it closes the channel, or
    /// the last ones when it switches.
    fn serve(
        &mut self,
        data: &Dataset,
        events: &dyn EventSink,
        commands: &Receiver<Command>,
    ) -> Result<(), TrainError> {
        // The run is over: best/ and last/ are on disk already, so Save has nothing to do.
        let mut inspector = self.inspector(data);
        Ok(inspector.serve(commands, events, self.kept.as_ref())?)
    }

    fn end_epoch(&mut self, data: &Dataset, events: &dyn EventSink) -> Result<(), TrainError> {
        let dev = evaluate(
            &self.model,
            data.split(Split::Dev),
            self.spec.eval_batch_size,
            self.head.audio_dim,
            &self.device,
        )?
        .counted_for(data.mmsa, data.split(Split::Dev));
        let epoch = self.progress.epoch;
        dev.check_finite(data.split(Split::Dev))
            .map_err(|problem| TrainError::NonFiniteDev {
                step: self.progress.global_step,
                epoch: epoch + 1,
                problem,
            })?;
        let train_loss = self.progress.epoch_loss_sum / self.progress.epoch_loss_count.max(1) as f64;
        let best = improves(self.progress.best_dev_loss, dev.loss);
        if best {
            self.progress.best_dev_loss = Some(dev.loss);
            self.progress.best_epoch = Some(epoch);
            self.best = Some(
                self.store
                    .vars()
                    .into_iter()
                    .map(|(k, v)| Ok((k, v.as_tensor().copy()?)))
                    .collect::<candle_core::Result<_>>()?,
            );
        }
        self.progress.epoch += 1;
        self.progress.batch_in_epoch = 0;
        self.progress.epoch_loss_sum = 0.0;
        self.progress.epoch_loss_count = 0;
        events.emit(Event::EpochEnd {
            epoch,
            train_loss,
            dev_loss: dev.loss,
            dev: dev.metrics,
            best,
        });
        events.emit(Event::Predictions {
            split: Split::Dev,
            weights: self.weights(),
            values: dev.predictions,
        });
        if self.watch.target.is_some() {
            self.refresh_watch(data, events)?;
        }
        self.refresh_kept(data, events, When::Now)?;
        if best {
            self.save_checkpoint(Saved::Best, events)?;
        }
        self.save_checkpoint(Saved::Last, events)
    }

    /// The best weights, tested. The last ones are kept beside them for the viewer (a copy
    /// of the variables: switching then reads no checkpoint).
    fn finish(&mut self, data: &Dataset, started: Instant) -> Result<RunSummary, TrainError> {
        let vars = self.store.vars();
        let last_label = Weights::Last {
            step: self.progress.global_step,
        };
        self.serving = Some(last_label);
        if let (Some(best), Some(epoch)) = (&self.best, self.progress.best_epoch) {
            let last = vars
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
                .collect::<candle_core::Result<_>>()?;
            let kept = KeptWeights::new(
                vars,
                (Weights::Best { epoch: epoch + 1 }, best.clone()),
                (last_label, last),
            );
            self.serving = Some(kept.load(Saved::Best)?);
            self.kept = Some(kept);
        }
        let test = evaluate(
            &self.model,
            data.split(Split::Test),
            self.spec.eval_batch_size,
            self.head.audio_dim,
            &self.device,
        )?
        .counted_for(data.mmsa, data.split(Split::Test));
        test.check_finite(data.split(Split::Test))
            .map_err(TrainError::NonFiniteTest)?;
        Ok(RunSummary {
            seed: self.spec.seed,
            best_epoch: self.progress.best_epoch.unwrap_or(0),
            best_dev_loss: self.progress.best_dev_loss.unwrap_or(f64::NAN),
            test: test.metrics,
            test_loss: test.loss,
            test_predictions: test.predictions,
            wall_time: started.elapsed(),
            best_checkpoint: self.spec.out.as_ref().map(|o| o.join(Saved::Best.dir_name())),
        })
    }
}

/// The trainer answering the viewer between two steps and while paused (`Protocol`).
struct Answering<'t> {
    trainer: &'t mut Trainer,
    data: &'t Dataset,
    events: &'t dyn EventSink,
}

impl Worker for Answering<'_> {
    type Error = TrainError;

    fn answer(&mut self, request: Request) -> Result<(), TrainError> {
        match request {
            Request::Save => self.trainer.save_checkpoint(Saved::Last, self.events)?,
            // Coalesced: a viewer scrolling through utterances costs one recomputation per
            // step at most (`Watch::due`; at once while paused).
            Request::Watch { split, index } => self.trainer.watch.set(split, index),
            Request::Predict(split) => self.trainer.inspector(self.data).predict(split, self.events)?,
            // Best and last exist once the run has finished (`serve`).
            Request::Switch(_) => {}
        }
        Ok(())
    }

    fn idle(&mut self) -> Result<Idle, TrainError> {
        if self.trainer.watch.due(Instant::now()) {
            self.trainer.refresh_watch(self.data, self.events)?;
        }
        Ok(Idle::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_and_infinity_are_never_best() {
        assert!(!improves(None, f64::NAN), "a NaN first epoch is not best");
        assert!(!improves(None, f64::INFINITY));
        assert!(!improves(Some(1.0), f64::NAN));
        assert!(improves(None, 3.0));
        assert!(improves(Some(3.0), 2.0));
        assert!(!improves(Some(2.0), 2.0));
    }
}
