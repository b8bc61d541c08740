//! The subcommands: glue between the CLI, the data, the engine and the outputs. Errors here
//! carry user-facing context (anyhow); the modules below them return typed errors.

pub mod bench;
pub mod compare;
pub mod corpus;
pub mod eval;
pub mod export;
pub mod features;
pub mod inputs;
pub mod inspect;
pub mod inspect_data;
pub mod open;
pub mod printer;
pub mod resume;
pub mod runs;
pub mod train;

use crate::commands::printer::say;
use crate::commands::printer::tell;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::Device;

use crate::acoustic::FeatureSet;
use crate::checkpoint::Checkpoint;
use crate::data::{Dataset, MmsaLabel, Scaling, TextEncoder, DEFAULT_MAX_LEN};
use crate::model::bf16::{Precision, Products};
use crate::model::{ClsAudio, CmBert, HeadConfig, ModelKind, ParamStore};
use crate::train::{RecordError, TrainingRecord};
use inputs::{AudioRequest, AudioUsed, Inputs};

/// `cmbert-tui` without arguments: CM-BERT as published, trained from scratch on the built-in
/// prosody corpus, then an audio ablation that shows whether the voice reached the score.
pub fn default_run() -> Result<()> {
    use clap::Parser;
    let cli = crate::cli::Cli::parse_from(["cmbert-tui", "train"]);
    let Some(crate::cli::Command::Train(args)) = cli.command else {
        unreachable!("parsed a train command")
    };
    say!("cmbert-tui: no arguments, so training CM-BERT (as published: --cls-audio zero) on the built-in corpus.");
    say!("           `cmbert-tui --help` lists the commands; `cmbert-tui train --help` the options.");
    let trained = train::run(*args)?;
    if !trained.finished {
        return Ok(());
    }
    let spec = trained.spec;
    let best = spec
        .out
        .as_ref()
        .map(|o| o.join("best"))
        .context("the run kept no checkpoint")?;
    tell!();
    tell!("Does the audio reach the prediction? The test split again, with the audio shuffled across utterances:");
    eval::run(crate::cli::EvalArgs {
        input: crate::cli::ModelOnData {
            checkpoint: best,
            data: Some(spec.data.clone()),
            // The run's own audio, which its checkpoint records: said as such, not as `--audio`
            // the user never typed (`inputs`).
            audio: None,
            zero_audio: false,
            label: None,
            split: crate::data::Split::Test,
            eval_batch_size: spec.eval_batch_size,
            force: false,
            device: Default::default(),
            // The products the run trained with.
            precision: Some(spec.precision),
        },
        predictions: None,
        json: false,
        ablate_audio: Some(crate::cli::Ablation::Shuffle),
    })?;
    tell!();
    tell!("As published, only the [CLS] row of the multimodal attention reaches the score and its audio slot is zero,");
    tell!("so the voice cannot change a prediction. Variants in which it can:");
    // Several seeds: a small BERT from scratch now and then never leaves the labels' mean
    // (seed 1 of `learned` does; docs/EXPERIMENTS.md), which one seed would hide.
    tell!("  cmbert-tui train --headless --cls-audio learned --seeds 3     (or --cls-audio mean)");
    Ok(())
}

/// One line where `precision` asks for bf16 products that this CPU cannot compute (they run
/// in f32, `Products::for_precision`).
pub fn say_if_bf16_unavailable(precision: Precision) {
    if precision == Precision::Bf16 && !crate::model::bf16::hardware_available() {
        say!("--precision bf16: this CPU has no AVX512-BF16, so the products run in f32");
    }
}

/// What a line describing a model adds about its products (`eval`'s heading, the app's
/// `bert` field): nothing for float32, the default nobody needs told.
pub fn products_note(precision: Precision) -> &'static str {
    match precision {
        Precision::F32 => "",
        Precision::Bf16 => ", bf16 products",
    }
}

/// A trained model opened for inference: ours or the reference implementation's.
pub struct Trained {
    /// The checkpoint as read.
    pub checkpoint: Checkpoint,
    /// The model built from it.
    pub model: CmBert,
    /// Its head's settings.
    pub head: HeadConfig,
    /// The text encoder from its vocabulary, at its `max_len`.
    pub encoder: TextEncoder,
    /// The arithmetic of the encoder's products: f32 until `set_precision`.
    pub precision: Precision,
}

impl Trained {
    /// Opens a checkpoint (a run directory stands for its `best/`) with a head, ready to run.
    pub fn open(path: &Path, device: &Device) -> Result<Self> {
        let path = &runs::checkpoint_in(path, runs::Pick::Best)?;
        let checkpoint =
            Checkpoint::load(path, device).with_context(|| format!("cannot open checkpoint {}", path.display()))?;
        let Some(head) = checkpoint.head.clone() else {
            bail!(
                "{}: a pre-trained encoder without a regression head; train one with `cmbert-tui train --bert {}`",
                path.display(),
                path.display()
            );
        };
        let store = ParamStore::new(checkpoint.tensors.clone(), 0, device);
        let model = CmBert::load(store.var_builder(), &checkpoint.bert, &head)
            .with_context(|| format!("{}: the weights do not fit the model", path.display()))?;
        let missing = store.fresh();
        if !missing.is_empty() {
            bail!(
                "{}: tensors missing from the checkpoint: {}",
                path.display(),
                missing.join(", ")
            );
        }
        let max_len = checkpoint.meta.as_ref().map_or(DEFAULT_MAX_LEN, |m| m.max_len);
        let encoder = TextEncoder::from_file(&checkpoint.vocab, max_len)?.with_vocab_limit(checkpoint.bert.vocab_size);
        Ok(Self {
            checkpoint,
            model,
            head,
            encoder,
            precision: Precision::F32,
        })
    }

    /// How the run that saved these weights was trained, where the checkpoint records it
    /// (`Ok(None)`: it does not, as a reference-layout checkpoint).
    pub fn read_record(&self) -> Result<Option<TrainingRecord>, RecordError> {
        self.checkpoint
            .meta
            .as_ref()
            .map_or(Ok(None), TrainingRecord::from_meta)
    }

    /// The same where it reads (a record that does not read is reported where it decides
    /// something: `inputs_labelled`, `set_precision`).
    pub fn record(&self) -> Option<TrainingRecord> {
        self.read_record().ok().flatten()
    }

    /// Sets the arithmetic of the encoder's products to `requested`, else to the precision the
    /// checkpoint was trained with (said in one line when it is bf16, as `inputs` says the
    /// recorded data), else f32, so that by default `eval`, `export` and the app reproduce the
    /// run's own scores. Returns the precision the products compute in: f32 where bf16 was
    /// asked of a CPU without AVX512-BF16 (said too).
    pub fn set_precision(&mut self, requested: Option<Precision>) -> Precision {
        let precision = requested.unwrap_or_else(|| match self.read_record() {
            Ok(record) => {
                let recorded = record.map(|r| r.spec.precision).unwrap_or_default();
                if recorded == Precision::Bf16 {
                    say!("precision: bf16 products (recorded in the checkpoint; --precision f32 to change)");
                }
                recorded
            }
            Err(e) => {
                say!(
                    "precision: f32, as the checkpoint's precision cannot be read ({}: {e}); --precision bf16 \
                     if it was trained with bf16 products",
                    self.checkpoint.dir.join("config.json").display()
                );
                Precision::F32
            }
        });
        say_if_bf16_unavailable(precision);
        let products = Products::for_precision(precision);
        self.model.bert.set_products(products);
        self.precision = products.precision();
        self.precision
    }

    /// One recording (WAV + word timings) as a one-utterance dataset, its features
    /// extracted and scaled as this model's training features were.
    pub fn recording(&self, wav: &Path, words: &Path) -> Result<Dataset> {
        let Some(trained) = self.checkpoint.meta.as_ref().and_then(|m| m.audio_features.clone()) else {
            bail!(
                "{}: this model was not trained on features from `cmbert-tui features`, so a recording's audio cannot be \
                 measured and scaled as its training audio was; train one with --audio FILE written by `cmbert-tui features`",
                self.checkpoint.dir.display()
            );
        };
        let set = FeatureSet::by_name(&trained.feature_set.name)
            .filter(|s| s.info().dims == trained.feature_set.dims)
            .with_context(|| {
                format!(
                    "{}: feature set {} ({} dimensions) is not one this version extracts ({})",
                    self.checkpoint.dir.display(),
                    trained.feature_set.name,
                    trained.feature_set.dims.len(),
                    crate::acoustic::set::SETS.map(|s| s.name).join(", ")
                )
            })?;
        trained
            .feature_set
            .check_recording()
            .with_context(|| format!("{}", self.checkpoint.dir.display()))?;
        let spans = crate::acoustic::align::read_words(words)?;
        let mut utterance = crate::acoustic::extract(wav, &spans, words, &set)?;
        for v in &mut utterance.features {
            trained.norm.apply(v);
        }
        Ok(Dataset::from_recording(
            wav,
            &utterance.words,
            &utterance.features,
            &self.encoder,
            trained,
        )?)
    }

    /// Recordings (`--wav A --words A [--wav B --words B]`) as one dataset, their
    /// utterances in the test split in the order given ([`Trained::recording`] each). A pair
    /// whose words differ is run all the same (`open` and `export` say so).
    pub fn recordings(&self, takes: &[crate::cli::Take]) -> Result<Dataset> {
        let mut data: Option<Dataset> = None;
        for (k, take) in takes.iter().enumerate() {
            let one = self.recording(&take.wav, &take.words).map_err(|e| {
                // The reader's errors mostly name the WAV already; add only what they lack:
                // which recording of a pair, and the WAV where the error is about another
                // file (its timings, the checkpoint).
                let which = match takes.len() {
                    1 => "the recording".to_string(),
                    _ => format!("recording {}", take_letter(k)),
                };
                let names_the_wav = e.chain().any(|cause| {
                    cause
                        .downcast_ref::<crate::acoustic::AcousticError>()
                        .is_some_and(|a| a.path() == take.wav.as_path())
                });
                if names_the_wav {
                    e.context(which)
                } else {
                    e.context(format!("{which} ({})", take.wav.display()))
                }
            })?;
            data = Some(match data {
                Some(data) => data.and_recording(one),
                None => one,
            });
        }
        data.context("no recording given (--wav FILE --words FILE)")
    }

    /// The data and audio to run this model on: the ones named, else the ones its training
    /// recorded (`inputs`), said on stderr; then loaded as [`Trained::dataset`] does. An MMSA
    /// pickle is scored against the label the run trained on.
    pub fn inputs(&self, data: Option<&Path>, audio: AudioRequest) -> Result<(Dataset, AudioUsed)> {
        self.inputs_labelled(data, audio, None)
    }

    /// As [`Trained::inputs`], scoring an MMSA pickle against `label` (`--label`) where one
    /// is named (`inputs::LabelUsed`).
    pub fn inputs_labelled(
        &self,
        data: Option<&Path>,
        audio: AudioRequest,
        label: Option<MmsaLabel>,
    ) -> Result<(Dataset, AudioUsed)> {
        let inputs = Inputs::resolve(
            &self.checkpoint.dir,
            self.head.model,
            self.read_record(),
            data,
            audio,
            label,
        )?;
        for line in inputs.notices() {
            say!("{line}");
        }
        let data = self.dataset_labelled(inputs.data.dir(), inputs.audio.path(), inputs.label.label())?;
        Ok((data, inputs.audio))
    }

    /// The `[CLS]` audio slot's setting, which only CM-BERT has.
    pub fn cls_audio(&self) -> Option<ClsAudio> {
        (self.head.model == ModelKind::CmBert).then_some(self.head.cls_audio)
    }

    /// The data of `dir` (and optional audio) encoded for this model.
    pub fn dataset(&self, dir: &Path, audio: Option<&Path>) -> Result<Dataset> {
        self.dataset_labelled(dir, audio, MmsaLabel::M)
    }

    /// As [`Trained::dataset`]; `dir` may be an MMSA pickle, scored on its `label`.
    pub fn dataset_labelled(&self, dir: &Path, audio: Option<&Path>, label: MmsaLabel) -> Result<Dataset> {
        let trained = self.checkpoint.meta.as_ref().and_then(|m| m.audio_features.as_ref());
        let data = Dataset::load_labelled(
            dir,
            audio,
            &self.encoder,
            self.head.audio_dim,
            Scaling::Trained(trained),
            label,
        )?;
        if data.audio.dim != self.head.audio_dim {
            bail!(
                "{}: {} audio dimensions, but the model was trained with {}",
                audio.map_or("audio".into(), |p| p.display().to_string()),
                data.audio.dim,
                self.head.audio_dim
            );
        }
        Ok(data)
    }
}

/// The name of the `k`th recording given (`A`, `B`, ...), as the pair's figure names them.
fn take_letter(k: usize) -> String {
    (b'A'..=b'Z')
        .nth(k)
        .map_or_else(|| format!("#{}", k + 1), |c| char::from(c).to_string())
}
