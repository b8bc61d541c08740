//! The committed small spoken set (tests/fixtures/spoken/, written by
//! scripts/make-spoken-small.sh from `corpus --speak` and `features`): 60 utterances' word
//! features extracted from espeak-ng recordings, trained on in CI without espeak-ng, through
//! the binary as a user would, and evaluated with the audio shuffled across utterances.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn spoken() -> PathBuf {
    fixtures().join("spoken")
}

/// Mixed-utterance Acc2 of a run on the test split: as trained, and with the audio rows
/// shuffled across utterances (`eval --ablate-audio shuffle --json`), plus how many test
/// predictions the shuffle changed.
struct Mixed {
    acc2: f64,
    shuffled: f64,
    changed: u64,
}

/// Trains `--cls-audio VARIANT` (the scratch BERT of the built-in corpus, its preset) on the
/// committed set and evaluates its best checkpoint.
fn train_and_eval(out: &Path, variant: &str, seed: u64) -> Mixed {
    let data = spoken();
    let audio = data.join(FEATURES);
    let (code, _, err) = cli(&[
        "train",
        "--headless",
        "--data",
        &s(&data),
        "--audio",
        &s(&audio),
        "--cls-audio",
        variant,
        "--seed",
        &seed.to_string(),
        "--epochs",
        &EPOCHS.to_string(),
        "--out",
        &s(out),
    ]);
    assert_eq!(code, 0, "{variant}: {err}");
    let (code, json, err) = cli(&[
        "eval",
        "--checkpoint",
        &s(&out.join("best")),
        "--data",
        &s(&data),
        "--audio",
        &s(&audio),
        "--split",
        "test",
        "--ablate-audio",
        "shuffle",
        "--json",
    ]);
    assert_eq!(code, 0, "{variant}: {err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let mixed = |by_kind: &Value| {
        by_kind["mixed"]["acc2"]
            .as_f64()
            .expect("mixed utterances in the test split")
    };
    Mixed {
        acc2: mixed(&v["by_kind"]),
        shuffled: mixed(&v["ablation"]["by_kind"]),
        changed: v["ablation"]["changed"].as_u64().unwrap(),
    }
}

const FEATURES: &str = "audio.jsonl";
const EPOCHS: usize = 12;
const SEED: u64 = 1;

/// What the set is for: recordings' features reaching the score in CI. Not asserted, because it
/// does not hold at this size (docs/EXPERIMENTS.md, "The spoken corpus"): a BERT trained from
/// scratch on 36 utterances learns neither the text nor the stress (both variants sit at chance
/// on the 6 mixed test utterances, and at 240 training utterances they still overfit), so the
/// gain of `learned` over the paper's variant is measured on the default-size spoken corpus.
#[test]
fn the_committed_spoken_set_trains_and_only_the_variant_with_audio_in_cls_reads_the_voice() {
    let tmp = tempfile::tempdir().unwrap();
    let paper = train_and_eval(&tmp.path().join("zero"), "zero", SEED);
    let learned = train_and_eval(&tmp.path().join("learned"), "learned", SEED);
    eprintln!(
        "mixed Acc2: paper {:.3} (shuffled {:.3}), learned {:.3} (shuffled {:.3}, {} of 16 predictions changed)",
        paper.acc2, paper.shuffled, learned.acc2, learned.shuffled, learned.changed
    );
    // The paper's CM-BERT gives bit-identical predictions whatever the recordings say.
    assert_eq!(paper.changed, 0, "the paper's variant cannot read the audio");
    assert_eq!(paper.acc2, paper.shuffled);
    // With the audio in the [CLS] slot, other recordings change the scores.
    assert!(
        learned.changed >= 8,
        "only {} of 16 test predictions moved",
        learned.changed
    );
}
