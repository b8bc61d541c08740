//! The committed spoken set (tests/fixtures/spoken/, written by scripts/make-spoken-fixture.sh
//! from `corpus --speak` and `features --set prosody-v1`): the built-in corpus at its default
//! size spoken by espeak-ng, as pitch and energy per word, trained on in CI without espeak-ng
//! through the binary as a user would, and evaluated with the audio shuffled across utterances.
//! What issue 19 asks of it: `learned` beats the paper's variant on the mixed utterances (the
//! same words twice, the stress on opposite clauses) by a stated margin, and shuffling the
//! recordings takes the margin away.

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
    n: u64,
    acc2: f64,
    shuffled: f64,
    changed: u64,
}

/// Trains `--cls-audio VARIANT` (the scratch BERT of the built-in corpus, its preset, with
/// `MAX_LEN` token positions) on the committed set and evaluates its best checkpoint.
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
        "--max-len",
        &MAX_LEN.to_string(),
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
    let mixed = |by_kind: &Value, key: &str| {
        by_kind["mixed"][key]
            .as_f64()
            .unwrap_or_else(|| panic!("no mixed {key} in the test split's report"))
    };
    Mixed {
        n: mixed(&v["by_kind"], "n") as u64,
        acc2: mixed(&v["by_kind"], "acc2"),
        shuffled: mixed(&v["ablation"]["by_kind"], "acc2"),
        changed: v["ablation"]["changed"].as_u64().unwrap(),
    }
}

const FEATURES: &str = "prosody.jsonl";
/// The `scratch` preset's epochs.
const EPOCHS: usize = 12;
/// Token positions: the longest utterance is 22 words (24 tokens with [CLS] and [SEP]), and
/// 32 positions instead of the preset's 50 make a training about 13 s instead of 44 s on the
/// 2-core machine (docs/EXPERIMENTS.md, "The spoken corpus").
const MAX_LEN: usize = 32;
/// Seeds tried in order until `learned` finds the stress. Training is deterministic for a
/// seed (the same figures with 1 and 2 threads), but not every seed finds the stress within
/// 12 epochs, and which ones do changes whenever the kernels' rounding does: issue 17's
/// softmax and fusion-head changes turned seeds 1 and 7 from chance to 75.4 and 79.1, and
/// seeds 3 and 5 the other way. So the test asks what the recipe promises, that it finds the
/// stress, with three draws: 6 or 7 seeds of 8 find it in every version measured
/// (docs/EXPERIMENTS.md, "The spoken corpus"). Features that carry no stress (shuffled
/// across utterances) fail all three.
const SEEDS: [u64; 3] = [1, 2, 3];
/// `learned`'s mixed Acc2 must exceed the paper's by this much: issue 19's bar at the default
/// size (15 points). Measured gaps where `learned` finds the stress: 22.5 to 32.0 points, so
/// the margin leaves 7.5 points of headroom or more.
const MARGIN: f64 = 0.15;
/// How far from chance (50 %) and from the paper's figure `learned`'s mixed Acc2 may sit with
/// the audio shuffled: one standard deviation of a coin on the 244 mixed utterances is 3.2
/// points, so 10 points is about three; measured 44.7 to 51.2 over seeds 1-8 in two versions.
const CHANCE_BAND: f64 = 0.10;

#[test]
fn on_the_committed_spoken_set_learned_beats_the_papers_variant_on_mixed_utterances_until_the_audio_is_shuffled() {
    let tmp = tempfile::tempdir().unwrap();
    for seed in SEEDS {
        let paper = train_and_eval(&tmp.path().join(format!("zero-{seed}")), "zero", seed);
        let learned = train_and_eval(&tmp.path().join(format!("learned-{seed}")), "learned", seed);
        eprintln!(
            "seed {seed}: mixed Acc2 ({} utterances): paper {:.3} (shuffled {:.3}), learned {:.3} (shuffled {:.3}); \
             predictions the shuffle changed: paper {}, learned {}",
            paper.n, paper.acc2, paper.shuffled, learned.acc2, learned.shuffled, paper.changed, learned.changed
        );
        // The paper's CM-BERT gives bit-identical predictions whatever the recordings say.
        assert_eq!(paper.changed, 0, "the paper's variant cannot read the audio");
        assert_eq!(paper.acc2, paper.shuffled);
        // With the audio in the [CLS] slot the stress decides the mixed utterances...
        if learned.acc2 < paper.acc2 + MARGIN {
            eprintln!("seed {seed}: learned did not find the stress; the next seed");
            continue;
        }
        // ...and only the stress of this utterance's own recording: another's takes the gain away.
        assert!(
            (learned.shuffled - 0.5).abs() <= CHANCE_BAND,
            "learned with shuffled audio: {:.3}, not within {CHANCE_BAND} of chance",
            learned.shuffled
        );
        assert!(
            (learned.shuffled - paper.acc2).abs() <= CHANCE_BAND,
            "learned with shuffled audio: {:.3}, not within {CHANCE_BAND} of the paper's {:.3}",
            learned.shuffled,
            paper.acc2
        );
        return;
    }
    panic!("on none of seeds {SEEDS:?} was learned {MARGIN} above the paper's variant on the mixed utterances");
}
