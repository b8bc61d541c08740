//! The built-in prosody corpus: deterministic, loadable through the normal paths, and an
//! instrument that separates the paper's CM-BERT from variants in which audio reaches the score.

mod common;

use std::path::Path;

use candle_core::Device;
use cmbert::checkpoint::Checkpoint;
use cmbert::commands::eval::metrics_by_group;
use cmbert::corpus::{self, Corpus, CorpusConfig, Kind};
use cmbert::data::{Dataset, Split, TextEncoder};
use cmbert::model::{BertConfig, ClsAudio, ModelKind};
use cmbert::train::{evaluate, RunSpec, Trainer};
use crossbeam_channel::unbounded;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn same_seed_same_bytes_and_loads_through_the_normal_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = CorpusConfig::new(3);
    config.sizes = [300, 50, 120];
    Corpus::generate(&config).write(&tmp.path().join("a")).unwrap();
    Corpus::generate(&config).write(&tmp.path().join("b")).unwrap();
    let a = files(&tmp.path().join("a"));
    assert_eq!(a.len(), 8, "3 TSVs, 3 meta files, audio.jsonl, corpus.json");
    assert_eq!(a, files(&tmp.path().join("b")));
    config.seed = 4;
    Corpus::generate(&config).write(&tmp.path().join("c")).unwrap();
    assert_ne!(a, files(&tmp.path().join("c")));

    let dir = tmp.path().join("a");
    let vocab = tmp.path().join("vocab.txt");
    std::fs::write(&vocab, corpus::scratch_vocab().join("\n")).unwrap();
    let encoder = TextEncoder::from_file(&vocab, 50).unwrap();
    let data = Dataset::load(&dir, Some(&dir.join(corpus::AUDIO_FILE)), &encoder, 5).unwrap();
    assert_eq!(
        [data.splits[0].len(), data.splits[1].len(), data.splits[2].len()],
        [300, 50, 120]
    );
    assert_eq!(data.audio.dim, 5);
    let unknown = data
        .splits
        .iter()
        .flatten()
        .flat_map(|e| e.encoded.tokens())
        .filter(|t| *t == "[UNK]")
        .count();
    assert_eq!(unknown, 0, "the scratch vocabulary covers the lexicon");
}

#[test]
fn ceilings_show_the_text_audio_gap() {
    let corpus = Corpus::generate(&CorpusConfig::new(1));
    let ceilings = corpus.split_ceilings(Split::Test);
    let all = ceilings.iter().find(|(k, _)| k == "all").unwrap().1;
    assert!(all.text_audio_acc2 - all.text_only_acc2 >= 0.10, "{all:?}");
    let mixed = ceilings.iter().find(|(k, _)| k == "mixed").unwrap().1;
    assert!(mixed.text_only_acc2 < 0.6 && mixed.text_audio_acc2 > 0.95, "{mixed:?}");
}

/// Trains a tiny CM-BERT from scratch and returns (mixed Acc2, mixed Acc2 with shuffled audio).
fn mixed_acc2(dir: &Path, cls_audio: ClsAudio) -> (f64, f64) {
    let scratch = tempfile::tempdir().unwrap();
    let bert = Checkpoint::scratch(
        scratch.path(),
        BertConfig::scratch(corpus::scratch_vocab().len()),
        &corpus::scratch_vocab(),
    )
    .unwrap();
    let mut spec = RunSpec::scratch(dir.to_path_buf(), scratch.path().to_path_buf(), ModelKind::CmBert);
    spec.audio = Some(dir.join(corpus::AUDIO_FILE));
    spec.cls_audio = cls_audio;
    spec.epochs = 8;
    spec.seed = 5;
    let encoder = TextEncoder::from_file(&bert.vocab, 50).unwrap();
    let data = Dataset::load(dir, spec.audio.as_deref(), &encoder, 5).unwrap();
    let mut trainer = Trainer::new(spec, &bert, 5, &Device::Cpu).unwrap();
    let (tx, _rx) = unbounded();
    let (_ctx, crx) = unbounded();
    let summary = trainer.run(&data, &tx, &crx).unwrap().unwrap();
    let test = data.split(Split::Test);
    let labels: Vec<f32> = test.iter().map(|e| e.label).collect();
    let kinds: Vec<String> = std::fs::read_to_string(dir.join("test.meta.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mixed = |preds: &[f32]| {
        metrics_by_group(&kinds, preds, &labels)
            .into_iter()
            .find(|(k, _)| k == Kind::Mixed.name())
            .unwrap()
            .1
            .acc2
    };
    let mut shuffled = test.to_vec();
    shuffled.rotate_left(1);
    for (e, orig) in shuffled.iter_mut().zip(test) {
        e.encoded = orig.encoded.clone();
        e.label = orig.label;
        e.text = orig.text.clone();
    }
    let ablated = evaluate(trainer.model(), &shuffled, 24, 5, &Device::Cpu).unwrap();
    (mixed(&summary.test_predictions), mixed(&ablated.predictions))
}

#[test]
fn a_variant_where_audio_reaches_the_score_beats_the_paper_on_mixed_utterances() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = CorpusConfig::new(2);
    config.sizes = [400, 40, 200];
    Corpus::generate(&config).write(tmp.path()).unwrap();
    let (paper, paper_ablated) = mixed_acc2(tmp.path(), ClsAudio::Zero);
    let (learned, learned_ablated) = mixed_acc2(tmp.path(), ClsAudio::Learned);
    eprintln!("mixed Acc2: paper {paper:.3} (ablated {paper_ablated:.3}), learned {learned:.3} (ablated {learned_ablated:.3})");
    assert_eq!(paper, paper_ablated, "the paper variant cannot use the audio");
    assert!(learned - paper >= 0.15, "learned {learned:.3} vs paper {paper:.3}");
    assert!(
        learned - learned_ablated >= 0.15,
        "the gain must vanish without the audio: {learned:.3} vs {learned_ablated:.3}"
    );
}
