//! What the benches share: the run they time (the paper's CM-BERT from scratch on the
//! built-in corpus, seed 1, with its audio) and medians.
#![allow(dead_code)]

use std::path::Path;

use cmbert::checkpoint::Checkpoint;
use cmbert::corpus::{self, Corpus, CorpusConfig};
use cmbert::data::{Dataset, TextEncoder};
use cmbert::model::{BertConfig, ModelKind};
use cmbert::train::RunSpec;

/// A scratch encoder, the built-in corpus and the run's settings (no output directory).
pub struct Setup {
    pub bert: Checkpoint,
    pub data: Dataset,
    pub spec: RunSpec,
}

/// Writes the built-in corpus (seed 1) and a scratch BERT under `dir`; `epochs` of the
/// scratch preset on them.
pub fn setup(dir: &Path, epochs: usize) -> Setup {
    let corpus_dir = dir.join("corpus");
    Corpus::generate(&CorpusConfig::new(1)).write(&corpus_dir).unwrap();
    let bert_dir = dir.join("bert");
    let bert = Checkpoint::scratch(
        &bert_dir,
        BertConfig::scratch(corpus::scratch_vocab().len()),
        &corpus::scratch_vocab(),
    )
    .unwrap();
    let mut spec = RunSpec::scratch(corpus_dir.clone(), bert_dir, ModelKind::CmBert);
    spec.audio = Some(corpus_dir.join(corpus::AUDIO_FILE));
    spec.epochs = epochs;
    let encoder = TextEncoder::from_file(&bert.vocab, spec.max_len).unwrap();
    let data = Dataset::load(&corpus_dir, spec.audio.as_deref(), &encoder, 5).unwrap();
    Setup { bert, data, spec }
}

/// The median (the upper one of an even count); sorts `v`.
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
