//! The readers under fuzz, one `Format` each: valid seeds, and targets that feed a mutated
//! input to the reader through its public entry point.
//!
//! Readers that take a path get the input written to a fixed file in the worker's scratch
//! directory, beside the companion files the reader needs (TSV splits for audio features, a
//! config and vocabulary for weights, weights for a config), so each call sees what a user's
//! directory would hold. The targets call what the commands call: `Dataset::load` for audio
//! features (so shapes and indices meet the TSVs), `Trained::open` for a checkpoint with a
//! head and `Checkpoint::load` + `Trainer::new` for an encoder (so the config builds a model),
//! `Trainer::resume` for a run's `last/`.
//!
//! Writing the input to a temporary file costs tens of microseconds against readers that
//! take 0.2 to 2.5 ms an input (the summary's `run s` / 10,000), so path readers are fuzzed
//! through their paths and this harness needs no byte-level entry points. Zip members carry
//! CRCs, checked when a member is read to its end, so most mutations of a member's content
//! end as a checksum error; two formats therefore mutate what is inside an archive (the npy
//! arrays of an npz, the pickle of a `pytorch_model.bin`) and wrap it in a fresh archive.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use candle_core::Device;
use cmbert::acoustic::{align, wav};
use cmbert::checkpoint::Checkpoint;
use cmbert::commands::Trained;
use cmbert::data::{pickle, tsv, Dataset, MmsaLabel, Scaling, Split, TextEncoder};
use cmbert::model::ModelKind;
use cmbert::train::attention_log::AttentionLog;
use cmbert::train::{AttentionSnapshot, Inspection, RunSpec, Trainer, Weights};
use cmbert::ui::theme::Theme;

use crate::common::fixtures;
use crate::{mutate, seeds};

/// A reader's verdict on an input: `Ok`, or its error as the user would read it.
pub type Read = Box<dyn Fn(&[u8]) -> Result<(), String>>;

/// One reader, and the file names an error about its input should mention.
pub struct Target {
    pub read: Read,
    /// Empty for readers of bytes, which have no file to name.
    pub names: Vec<String>,
}

pub struct Seed {
    pub name: String,
    pub bytes: Vec<u8>,
    /// Index into `Format::targets`.
    pub target: usize,
}

pub struct Format {
    pub name: &'static str,
    /// Text formats also get the number and token mutations.
    pub text: bool,
    /// Extension for saved failing inputs.
    pub ext: &'static str,
    /// The mutator's dictionary for this format.
    pub tokens: &'static [&'static [u8]],
    pub seeds: Vec<Seed>,
    pub targets: Vec<Target>,
}

pub const NAMES: [&str; 20] = [
    "pickle",
    "audio-pickle",
    "audio-npz",
    "audio-npy",
    "audio-safetensors",
    "audio-jsonl",
    "checkpoint-bin",
    "checkpoint-pickle",
    "checkpoint-safetensors",
    "bert-config",
    "resume-config",
    "wav",
    "textgrid",
    "timings-csv",
    "timings-json",
    "theme",
    "tsv",
    "vocab",
    "tokenizer-json",
    "attention-safetensors",
];

impl Format {
    fn new(name: &'static str, text: bool, ext: &'static str) -> Self {
        Self {
            name,
            text,
            ext,
            tokens: &[],
            seeds: Vec::new(),
            targets: Vec::new(),
        }
    }

    fn tokens(mut self, tokens: &'static [&'static [u8]]) -> Self {
        self.tokens = tokens;
        self
    }

    /// Adds a target and the seeds it reads.
    fn with(mut self, target: Target, seeds: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self {
        let index = self.targets.len();
        self.targets.push(target);
        self.seeds.extend(seeds.into_iter().map(|(name, bytes)| Seed {
            name,
            bytes,
            target: index,
        }));
        self
    }
}

/// Builds the format `name` with its companion files under `scratch` (the worker's own).
pub fn build(name: &str, scratch: &Path) -> Format {
    let cpu = Device::Cpu;
    let dir = |sub: &str| {
        let d = scratch.join(sub);
        std::fs::create_dir_all(&d).expect("create scratch directory");
        d
    };
    match name {
        "pickle" => Format::new("pickle", false, "pkl").tokens(mutate::PICKLE).with(
            Target {
                read: Box::new(|b| pickle::parse_pickle(b).map(drop).map_err(|e| e.to_string())),
                names: Vec::new(),
            },
            fixture_files("pickles", |n| n.ends_with(".pkl") && !n.starts_with("truncated")),
        ),
        "audio-pickle" => {
            let refs = seeds::ref_split_dir(&dir("ref"));
            let mmsa = seeds::mmsa_split_dir(&dir("mmsa"));
            Format::new("audio-pickle", false, "pkl")
                .tokens(mutate::PICKLE)
                .with(
                    dataset(refs.join("audio.pkl"), &refs),
                    fixture_files("pickles", |n| n.starts_with("ref_")),
                )
                .with(
                    dataset(mmsa.join("audio.pkl"), &mmsa),
                    fixture_files("pickles", |n| n.starts_with("mmsa_")),
                )
                .with(
                    mmsa_data(dir("mmsa-data").join("data.pkl")),
                    fixture_files("pickles", |n| n.starts_with("mmsa_")),
                )
        }
        "audio-npz" => {
            let refs = seeds::ref_split_dir(&dir("ref"));
            Format::new("audio-npz", false, "npz")
                .tokens(mutate::ZIP)
                .with(dataset(refs.join("audio.npz"), &refs), seeds::npz())
        }
        // The arrays inside an npz, in a fresh archive (see the opening comment).
        "audio-npy" => {
            let refs = seeds::ref_split_dir(&dir("ref"));
            let inner = dataset(refs.join("audio.npz"), &refs);
            let [train_f32, train_f64, dev, test] = seeds::npy_arrays();
            let read = move |npy: &[u8]| {
                let entries = [("train.npy", npy), ("dev.npy", &dev.1[..]), ("test.npy", &test.1[..])];
                (inner.read)(&seeds::zip_stored(entries.map(|(n, b)| (n.to_string(), b.to_vec()))))
            };
            Format::new("audio-npy", false, "npy").tokens(mutate::NPY).with(
                Target {
                    read: Box::new(read),
                    names: inner.names.clone(),
                },
                [train_f32, train_f64],
            )
        }
        "audio-safetensors" => {
            let refs = seeds::ref_split_dir(&dir("ref"));
            Format::new("audio-safetensors", false, "safetensors")
                .tokens(mutate::SAFETENSORS)
                .with(
                    dataset(refs.join("audio.safetensors"), &refs),
                    seeds::audio_safetensors(),
                )
        }
        "audio-jsonl" => {
            let refs = seeds::ref_split_dir(&dir("ref"));
            Format::new("audio-jsonl", true, "jsonl").with(dataset(refs.join("audio.jsonl"), &refs), seeds::jsonl())
        }
        "checkpoint-bin" => ["hf-bin", "reference"].iter().fold(
            Format::new("checkpoint-bin", false, "bin").tokens(mutate::ZIP),
            |f, sub| {
                let ckpt = copy_dir(&fixtures().join("tiny").join(sub), &dir(sub));
                let weights = ckpt.join("pytorch_model.bin");
                let seed = (format!("{sub}/pytorch_model.bin"), read(&weights));
                f.with(open_model(weights, &ckpt, &cpu), [seed])
            },
        ),
        // The pickle inside `pytorch_model.bin`, in a fresh archive (see the opening comment).
        "checkpoint-pickle" => ["hf-bin", "reference"].iter().fold(
            Format::new("checkpoint-pickle", false, "pkl").tokens(mutate::PICKLE),
            |f, sub| {
                let ckpt = copy_dir(&fixtures().join("tiny").join(sub), &dir(sub));
                let weights = ckpt.join("pytorch_model.bin");
                let entries = seeds::zip_entries(&read(&weights));
                let at = entries
                    .iter()
                    .position(|(n, _)| n.ends_with("/data.pkl"))
                    .expect("data.pkl in the archive");
                let seed = (format!("{sub}/{}", entries[at].0), entries[at].1.clone());
                let inner = open_model(weights, &ckpt, &cpu);
                let names = inner.names.clone();
                let read = move |pickle: &[u8]| {
                    let mut entries = entries.clone();
                    entries[at].1 = pickle.to_vec();
                    (inner.read)(&seeds::zip_stored(entries))
                };
                f.with(
                    Target {
                        read: Box::new(read),
                        names,
                    },
                    [seed],
                )
            },
        ),
        "checkpoint-safetensors" => {
            let run = seeds::tiny_run(&dir("run"));
            let mut dirs: Vec<(String, PathBuf)> = ["hf", "hf-encoder"]
                .iter()
                .map(|sub| (sub.to_string(), copy_dir(&fixtures().join("tiny").join(sub), &dir(sub))))
                .collect();
            dirs.push(("run/best".into(), run.join("best")));
            let format = Format::new("checkpoint-safetensors", false, "safetensors").tokens(mutate::SAFETENSORS);
            dirs.iter().fold(format, |f, (name, d)| {
                let weights = d.join("model.safetensors");
                let seed = (format!("{name}/model.safetensors"), read(&weights));
                f.with(open_model(weights, d, &cpu), [seed])
            })
        }
        "bert-config" => {
            let run = seeds::tiny_run(&dir("run"));
            let mut files: Vec<(String, PathBuf)> = ["hf", "hf-bin", "hf-encoder"]
                .iter()
                .map(|sub| {
                    let file = copy_dir(&fixtures().join("tiny").join(sub), &dir(sub)).join("config.json");
                    (format!("{sub}/config.json"), file)
                })
                .collect();
            let reference = copy_dir(&fixtures().join("tiny/reference"), &dir("reference"));
            files.push(("reference/bert_config.json".into(), reference.join("bert_config.json")));
            files.push(("run/best/config.json".into(), run.join("best/config.json")));
            files
                .iter()
                .fold(Format::new("bert-config", true, "json"), |f, (name, file)| {
                    let seed = (name.clone(), read(file));
                    f.with(open_model(file.clone(), file.parent().unwrap(), &cpu), [seed])
                })
        }
        "resume-config" => {
            let last = seeds::tiny_run(&dir("run")).join("last");
            let config = last.join("config.json");
            let seed = ("last/config.json".to_string(), read(&config));
            let target = in_file(config, move |_| {
                Trainer::resume(&last, &Device::Cpu)
                    .map(drop)
                    .map_err(|e| e.to_string())
            });
            Format::new("resume-config", true, "json").with(target, [seed])
        }
        "wav" => {
            let rate = cmbert::acoustic::set::SETS[0].info().frames.sample_rate;
            let target = in_file(dir("wav").join("input.wav"), move |p| {
                let (audio, _) = wav::read_wav(p).map_err(|e| e.to_string())?;
                wav::resample(audio, rate, p).map(drop).map_err(|e| e.to_string())
            });
            let files = ["speech", "speech/tones", "speech/variants"]
                .into_iter()
                .flat_map(|d| fixture_files(d, |n| n.ends_with(".wav")));
            Format::new("wav", false, "wav").tokens(mutate::WAV).with(target, files)
        }
        "textgrid" => {
            let files = ["speech", "speech/tones"]
                .into_iter()
                .flat_map(|d| fixture_files(d, |n| n.ends_with(".TextGrid")))
                .chain(seeds::textgrid_variants());
            Format::new("textgrid", true, "TextGrid").with(words(dir("tg").join("input.TextGrid")), files)
        }
        "timings-csv" => Format::new("timings-csv", true, "csv")
            .with(
                words(dir("csv").join("input.csv")),
                fixture_files("speech/variants", |n| n.ends_with(".csv")),
            )
            .with(many(dir("csv").join("many.csv")), [seeds::many_csv()]),
        "timings-json" => Format::new("timings-json", true, "json")
            .with(
                words(dir("json").join("input.json")),
                fixture_files("speech/variants", |n| n.ends_with(".json")),
            )
            .with(many(dir("json").join("many.json")), [seeds::many_json()]),
        "theme" => {
            let themes = Path::new(env!("CARGO_MANIFEST_DIR")).join("themes");
            let target = in_file(dir("theme").join("input.toml"), |p| {
                Theme::load(p.to_str().expect("UTF-8 scratch path"))
                    .map(drop)
                    .map_err(|e| e.to_string())
            });
            Format::new("theme", true, "toml").with(target, files_in(&themes, |n| n.ends_with(".toml")))
        }
        "tsv" => {
            let target = in_file(dir("tsv").join("train.tsv"), |p| {
                tsv::read_split(p).map(drop).map_err(|e| e.to_string())
            });
            let files = fixture_files("speech", |n| n.ends_with(".tsv"))
                .into_iter()
                .chain(seeds::tsv());
            Format::new("tsv", true, "tsv").with(target, files)
        }
        "vocab" => Format::new("vocab", true, "txt").with(
            encoder(dir("vocab").join("vocab.txt")),
            fixture_files("tiny", |n| n == "vocab.txt"),
        ),
        "tokenizer-json" => Format::new("tokenizer-json", true, "json")
            .with(encoder(dir("tok").join("tokenizer.json")), seeds::tokenizer_json()),
        "attention-safetensors" => {
            let file = dir("attention").join("attention.safetensors");
            let seed = attention_seed(&file);
            let target = in_file(file, |p| AttentionLog::read(p).map(drop).map_err(|e| e.to_string()));
            Format::new("attention-safetensors", false, "safetensors")
                .tokens(mutate::SAFETENSORS)
                .with(target, [("attention.safetensors".to_string(), seed)])
        }
        other => panic!("unknown fuzz format {other:?} (known: {})", NAMES.join(", ")),
    }
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Files of a directory whose name passes `keep`, sorted, as named seeds.
fn files_in(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), read(&p)))
        .collect()
}

fn fixture_files(sub: &str, keep: impl Fn(&str) -> bool) -> Vec<(String, Vec<u8>)> {
    files_in(&fixtures().join(sub), keep)
}

/// Copies the files of `from` into `to` (flat); returns `to`.
fn copy_dir(from: &Path, to: &Path) -> PathBuf {
    for entry in std::fs::read_dir(from).expect("fixture directory") {
        let path = entry.expect("directory entry").path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).expect("copy fixture");
    }
    to.to_path_buf()
}

/// A target that writes the input to `file` and runs `read` on it.
fn in_file(file: PathBuf, read: impl Fn(&Path) -> Result<(), String> + 'static) -> Target {
    let name = file.file_name().expect("a file name").to_string_lossy().into_owned();
    Target {
        read: Box::new(move |bytes| {
            std::fs::write(&file, bytes).expect("write the input");
            read(&file)
        }),
        names: vec![name],
    }
}

/// The dataset of `split_dir` with the input as its audio features.
fn dataset(file: PathBuf, split_dir: &Path) -> Target {
    let encoder = Rc::new(seeds::tiny_encoder());
    let split_dir = split_dir.to_path_buf();
    let mut target = in_file(file, move |p| {
        Dataset::load(&split_dir, Some(p), &encoder, 5)
            .map(drop)
            .map_err(|e| e.to_string())
    });
    // A count or transcript that disagrees may be blamed on the TSV.
    target
        .names
        .extend(["train.tsv", "dev.tsv", "test.tsv"].map(String::from));
    target
}

/// The input as an MMSA pickle given as `--data`: the whole dataset (transcripts, labels,
/// ids and its own audio), as `train --data FILE.pkl` reads it.
fn mmsa_data(file: PathBuf) -> Target {
    let encoder = Rc::new(seeds::tiny_encoder());
    in_file(file, move |p| {
        Dataset::load_labelled(p, Some(p), &encoder, 5, Scaling::Fit, MmsaLabel::M)
            .map(drop)
            .map_err(|e| e.to_string())
    })
}

/// Loads the checkpoint in `dir` (with the input written to `file` in it) the way the
/// commands would: one with a head opened for inference, an encoder built into a new
/// CM-BERT for training. Which one is decided by the unmutated checkpoint.
fn open_model(file: PathBuf, dir: &Path, cpu: &Device) -> Target {
    let dir = dir.to_path_buf();
    let headed = Checkpoint::load(&dir, cpu)
        .unwrap_or_else(|e| panic!("seed checkpoint {}: {e}", dir.display()))
        .head
        .is_some();
    let name = dir
        .file_name()
        .expect("a directory name")
        .to_string_lossy()
        .into_owned();
    let mut target = in_file(file, move |_| {
        if headed {
            Trained::open(&dir, &Device::Cpu)
                .map(drop)
                .map_err(|e| format!("{e:#}"))
        } else {
            let ckpt = Checkpoint::load(&dir, &Device::Cpu).map_err(|e| e.to_string())?;
            let spec = RunSpec::paper(dir.clone(), dir.clone(), ModelKind::CmBert);
            Trainer::new(spec, &ckpt, 5, &Device::Cpu)
                .map(drop)
                .map_err(|e| e.to_string())
        }
    });
    // A weight missing or of the wrong shape may be blamed on the checkpoint as a whole.
    target.names.push(name);
    target
}

fn words(file: PathBuf) -> Target {
    in_file(file, |p| align::read_words(p).map(drop).map_err(|e| e.to_string()))
}

fn many(file: PathBuf) -> Target {
    in_file(file, |p| align::read_many(p).map(drop).map_err(|e| e.to_string()))
}

/// Loads a vocabulary or tokenizer and encodes a sentence with it.
fn encoder(file: PathBuf) -> Target {
    in_file(file, |p| {
        let encoder = TextEncoder::from_file(p, 50).map_err(|e| e.to_string())?;
        encoder
            .encode("Really GOOD movie, but the plot... not great!")
            .map(drop)
            .map_err(|e| e.to_string())
    })
}

/// A recorded attention file (`train::attention_log`): two utterances, three snapshots each.
fn attention_seed(file: &Path) -> Vec<u8> {
    let mut log = AttentionLog::default();
    for step in [1, 4, 9] {
        for (split, index, n) in [(Split::Test, 2, 4), (Split::Dev, 0, 3)] {
            let m: Vec<Vec<f32>> = (0..n)
                .map(|i| (0..n).map(|j| (i * n + j + step) as f32).collect())
                .collect();
            let snapshot = AttentionSnapshot {
                index,
                tokens: (0..n).map(|i| format!("t{i}")).collect(),
                words: vec!["w".into()],
                token_words: (0..n).map(|i| (i > 0 && i + 1 < n).then_some(0)).collect(),
                label: 1.0,
                prediction: 0.5,
                prediction_without_audio: 0.25,
                batching: "evaluation batch 0".into(),
                text_attention: m.clone(),
                audio_attention: m.clone(),
                fusion_scores: m.clone(),
                multimodal_attention: m,
            };
            let weights = Weights::Live { step };
            log.push(
                &Inspection {
                    split,
                    weights,
                    snapshot,
                },
                Some(1.0 / step as f32),
            );
        }
    }
    log.write(file).expect("write the attention seed");
    read(file)
}
