//! The built-in prosody corpus: a deterministic generator of spoken-movie-review utterances
//! with word-level acoustic features, in which the way words are spoken decides part of the
//! labels (see `generate`). It writes exactly the layouts real users have (a MOSI-text TSV
//! directory and a word-level JSONL audio file), so the default run exercises the same
//! loaders as real data.

pub mod cache;
pub mod generate;
pub mod lexicon;
pub mod speak;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

pub use generate::{Kind, Utterance, FEATURES};

use crate::data::Split;

/// Bumped whenever the generator's output changes for a given seed.
pub const GENERATOR_VERSION: u32 = 1;
/// The word-level audio file the corpus writes beside its TSVs.
pub const AUDIO_FILE: &str = "audio.jsonl";
/// Settings, ceilings and checksums of the other files.
pub const SUMMARY_FILE: &str = "corpus.json";

/// What to generate: seed, sizes, speakers and the shares of each kind.
#[derive(Debug, Clone, Serialize)]
pub struct CorpusConfig {
    /// Seed of everything random in the corpus.
    pub seed: u64,
    /// Utterances per split (CMU-MOSI's by default).
    pub sizes: [usize; 3],
    /// Speakers per split (MOSI's videos: 52 / 10 / 31).
    pub speakers: [usize; 3],
    /// Shares of utterances of each kind (mixed and sarcasm come in pairs); the rest is plain.
    pub mixed: f64,
    /// Share of emphasis utterances.
    pub emphasis: f64,
    /// Share of sarcasm utterances.
    pub sarcasm: f64,
}

impl CorpusConfig {
    /// The default corpus (CMU-MOSI's sizes and speakers) for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            sizes: [1284, 229, 686],
            speakers: [52, 10, 31],
            mixed: 0.35,
            emphasis: 0.15,
            sarcasm: 0.06,
        }
    }
}

/// A generated corpus: three splits of utterances.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// What it was generated from.
    pub config: CorpusConfig,
    /// Indexed by `Split::index()`.
    pub splits: [Vec<Utterance>; 3],
}

/// Best achievable Acc2 with text alone and with text + prosody.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Ceilings {
    /// Per distinct text, predict its majority sign: what any text-only model can reach at best.
    pub text_only_acc2: f64,
    /// The generator's own noiseless score: what text + prosody determine (annotator noise aside).
    pub text_audio_acc2: f64,
    /// Utterances counted.
    pub n: usize,
}

impl Corpus {
    /// Generates the corpus `config` describes (the same for the same config).
    pub fn generate(config: &CorpusConfig) -> Self {
        let mut splits: [Vec<Utterance>; 3] = Default::default();
        for split in Split::ALL {
            let i = split.index();
            let mut rng = StdRng::seed_from_u64(crate::train::derive_seed(config.seed, 100 + i as u64, 0));
            let speakers: Vec<_> = (0..config.speakers[i].max(1))
                .map(|s| (s, generate::Speaker::sample(&mut rng)))
                .collect();
            let target = config.sizes[i];
            let mut out = Vec::with_capacity(target + 1);
            while out.len() < target {
                // A draw of a paired kind yields two utterances: halve its weight.
                let (mixed, sarcasm) = (config.mixed / 2.0, config.sarcasm / 2.0);
                let total = 1.0 - config.mixed / 2.0 - config.sarcasm / 2.0;
                let r: f64 = rng.random::<f64>() * total;
                let mut kind = if r < mixed {
                    Kind::Mixed
                } else if r < mixed + config.emphasis {
                    Kind::Emphasis
                } else if r < mixed + config.emphasis + sarcasm {
                    Kind::Sarcasm
                } else {
                    Kind::Plain
                };
                if target - out.len() == 1 && matches!(kind, Kind::Mixed | Kind::Sarcasm) {
                    kind = Kind::Plain;
                }
                out.extend(generate::group(&mut rng, kind, &speakers));
            }
            // Pairs must not sit side by side: evaluation batches are in file order.
            out.shuffle(&mut rng);
            splits[i] = out;
        }
        Self {
            config: config.clone(),
            splits,
        }
    }

    /// The best Acc2 any model can reach on `utterances`, with text alone and with text and prosody.
    pub fn ceilings(utterances: &[&Utterance]) -> Ceilings {
        let mut by_text: HashMap<String, (usize, usize)> = HashMap::new();
        for u in utterances {
            let e = by_text.entry(u.text()).or_default();
            if u.label > 0.0 {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
        let text_hits: usize = by_text.values().map(|(p, n)| *p.max(n)).sum();
        let oracle_hits = utterances
            .iter()
            .filter(|u| (u.latent > 0.0) == (u.label > 0.0))
            .count();
        let n = utterances.len().max(1) as f64;
        Ceilings {
            text_only_acc2: text_hits as f64 / n,
            text_audio_acc2: oracle_hits as f64 / n,
            n: utterances.len(),
        }
    }

    /// Ceilings of a split, overall and per kind.
    pub fn split_ceilings(&self, split: Split) -> Vec<(String, Ceilings)> {
        let all: Vec<&Utterance> = self.splits[split.index()].iter().collect();
        let mut out = vec![("all".to_string(), Self::ceilings(&all))];
        for kind in Kind::ALL {
            let subset: Vec<&Utterance> = all.iter().copied().filter(|u| u.kind == kind).collect();
            if !subset.is_empty() {
                out.push((kind.name().to_string(), Self::ceilings(&subset)));
            }
        }
        out
    }

    /// The corpus's files, named and in memory: `train.tsv`, `dev.tsv`, `test.tsv` (MOSI
    /// layout, CRLF), `audio.jsonl` (word-level features), `<split>.meta.jsonl` (kind of each
    /// utterance, used by `eval` to report per-kind metrics) and, last, `corpus.json`
    /// (settings, ceilings, and the SHA-256 of every other file). Deterministic: the same
    /// config gives the same bytes, which is how a cached copy is checked (`cache`).
    pub fn files(&self) -> std::io::Result<Vec<(String, Vec<u8>)>> {
        let mut files = Vec::new();
        let mut audio = Vec::new();
        for split in Split::ALL {
            let utterances = &self.splits[split.index()];
            let mut tsv = b"text\tlabel\r\n".to_vec();
            let mut meta = Vec::new();
            for (index, u) in utterances.iter().enumerate() {
                write!(tsv, "{}\t{:.1}\r\n", u.text(), u.label)?;
                let m = serde_json::json!({"index": index, "kind": u.kind, "speaker": u.speaker, "emphasised_clause": u.emphasised_clause, "latent": (u.latent * 1000.0).round() / 1000.0});
                writeln!(meta, "{m}")?;
                // Three decimals, printed as such (not as the nearest f32's long expansion).
                let features: Vec<Vec<f64>> = u
                    .features
                    .iter()
                    .map(|f| f.iter().map(|&v| (v as f64 * 1000.0).round() / 1000.0).collect())
                    .collect();
                let a =
                    serde_json::json!({"split": split.name(), "index": index, "words": u.words, "features": features});
                writeln!(audio, "{a}")?;
            }
            files.push((format!("{}.tsv", split.name()), tsv));
            files.push((meta_file(split), meta));
        }
        files.push((AUDIO_FILE.into(), audio));
        let checksums: BTreeMap<&str, String> = files
            .iter()
            .map(|(name, bytes)| (name.as_str(), cache::sha256_hex(bytes)))
            .collect();
        let summary = serde_json::json!({
            "generator": "cmbert-tui built-in prosody corpus",
            "version": GENERATOR_VERSION,
            "config": self.config,
            "features": FEATURES,
            "ceilings_test": self.split_ceilings(Split::Test).into_iter().collect::<HashMap<_, _>>(),
            "sha256": checksums,
        });
        let summary = serde_json::to_string_pretty(&summary)?.into_bytes();
        files.push((SUMMARY_FILE.into(), summary));
        Ok(files)
    }

    /// Writes [`Corpus::files`] into `dir`, each through `fsutil::write_atomic`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        write_files(dir, &self.files()?)
    }
}

/// Writes named files (as [`Corpus::files`] gives them) into `dir`, each atomically.
pub(crate) fn write_files(dir: &Path, files: &[(String, Vec<u8>)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, bytes) in files {
        crate::fsutil::write_atomic(&dir.join(name), bytes)?;
    }
    Ok(())
}

fn meta_file(split: Split) -> String {
    format!("{}.meta.jsonl", split.name())
}

/// The files of a corpus directory whose checksums `corpus.json` records.
pub fn data_files() -> Vec<String> {
    let mut files: Vec<String> = Split::ALL
        .iter()
        .flat_map(|&s| [format!("{}.tsv", s.name()), meta_file(s)])
        .collect();
    files.push(AUDIO_FILE.into());
    files
}

/// The from-scratch vocabulary: BERT's special tokens and every lexicon word, lower-cased.
pub fn scratch_vocab() -> Vec<String> {
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    vocab.extend(lexicon::all_words().into_iter().map(|w| w.to_lowercase()));
    vocab
}
