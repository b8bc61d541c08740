//! Who says an utterance, and how each word is said.
//!
//! Speakers: each split has its own espeak-ng voice variants (train 12, dev 4, test 6, no
//! variant in two splits), so a model cannot score by recognising a voice it trained on.
//! A speaker is a variant, an accent and offsets of pitch, speed and loudness, drawn from the
//! corpus seed; the split's speakers take the variants in turn (52 train speakers cover the
//! 12 train variants four times over).
//!
//! Words: the generator's per-word emphasis (`Utterance::emphasis`: 1 on the focus word of
//! the deciding clause of a *mixed* utterance, 0.45 on the rest of that clause, 0 on the other
//! clause; 1 on the sentiment word of *emphasis*; 0.8 on a distractor in some *plain* ones)
//! becomes espeak-ng's controls: higher pitch, a wider pitch range, louder, slower, and a
//! pause before a stressed stretch. Unstressed words are flat (a narrow range). The sarcastic
//! half of a *sarcasm* pair is low, flatter still, quieter, drawn out and slow, with longer
//! gaps. Small per-word jitter keeps repeated words from being identical.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::corpus::Utterance;
use crate::data::Split;
use crate::train::derive_seed;

/// espeak-ng voice variants per split (`Split::index()` order), disjoint. None has a base F0
/// under the pitch tracker's 75 Hz floor at the pitches used here (docs/ACOUSTIC.md), and
/// none is as rough as `m1`, `rob` or `Storm`, whose irregular periods the tracker reads as
/// octave jumps (an F0 spread of 70-90 Hz over a sentence said flat).
pub const VARIANTS: [&[&str]; 3] = [
    &[
        "m2", "m3", "m6", "Andy", "john", "Gene", "f1", "f2", "f4", "Annie", "steph", "linda",
    ],
    &["m7", "Lee", "f3", "belinda"],
    &["Mario", "ed", "Alex", "f5", "Andrea", "anika"],
];

/// Accents: espeak-ng's English voices.
const ACCENTS: [&str; 4] = ["en-us", "en-gb", "en-gb-x-rp", "en-029"];

/// A speaker's voice: what every word of theirs starts from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Voice {
    /// espeak-ng's `-v`: accent and variant, e.g. `en-us+m3`.
    pub name: String,
    /// espeak-ng's `-p` (0-99) of an unstressed word.
    pub pitch: u32,
    /// espeak-ng's `-s` (words per minute) of an unstressed word.
    pub speed: u32,
    /// espeak-ng's `-a` (0-200) of an unstressed word.
    pub amplitude: u32,
}

impl Voice {
    /// The voice of `speaker` of `split` in the corpus of `seed`.
    pub fn of(seed: u64, split: Split, speaker: usize) -> Self {
        let variants = VARIANTS[split.index()];
        let mut rng = StdRng::seed_from_u64(derive_seed(seed, 300 + split.index() as u64, speaker as u64));
        let accent = ACCENTS.choose(&mut rng).expect("accents");
        Self {
            name: format!("{accent}+{}", variants[speaker % variants.len()]),
            pitch: rng.random_range(40..=60),
            speed: rng.random_range(190..=230),
            amplitude: rng.random_range(90..=110),
        }
    }
}

/// How one word is spoken: espeak-ng's controls, and the silence before it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WordProsody {
    /// `-p`, 0-99.
    pub pitch: u32,
    /// `-s`, words per minute (espeak-ng's floor is 80).
    pub speed: u32,
    /// `-a`, 0-200.
    pub amplitude: u32,
    /// SSML `<prosody range>`, percent of the voice's pitch range.
    pub range_percent: u32,
    /// Silence before the word (ignored for the first word: the utterance's lead-in).
    pub gap_ms: u32,
}

/// What full stress (emphasis 1) adds: `-p` units, range points, loudness and slowness shares.
const STRESS_PITCH: f32 = 30.0;
const FLAT_RANGE: f32 = 60.0;
const STRESS_RANGE: f32 = 140.0;
const STRESS_LOUDER: f32 = 0.6;
const STRESS_SLOWER: f32 = 0.2;
/// The pause before a word that is more stressed than the one before it, per unit of the rise.
const STRESS_PAUSE_MS: f32 = 250.0;
/// Sarcastic delivery: lower, flatter, quieter, slower, longer gaps.
const SARCASM_PITCH: f32 = -12.0;
const SARCASM_RANGE: f32 = 20.0;
const SARCASM_QUIETER: f32 = 0.15;
const SARCASM_SLOWER: f32 = 0.3;
const SARCASM_GAP_MS: u32 = 120;

/// Each word's prosody in `u` as `voice` says it; `rng` draws the jitter.
pub fn words(voice: &Voice, u: &Utterance, rng: &mut StdRng) -> Vec<WordProsody> {
    let mut before = 0.0f32;
    u.emphasis
        .iter()
        .map(|&e| {
            let e = e.clamp(0.0, 1.0);
            let jitter_pitch = rng.random_range(-3.0..=3.0f32);
            let jitter_speed = rng.random_range(0.95..=1.05f32);
            let base_gap: u32 = rng.random_range(40..=100);
            let (mut pitch, mut range, mut louder, mut slower, mut gap) = (
                voice.pitch as f32 + STRESS_PITCH * e + jitter_pitch,
                FLAT_RANGE + STRESS_RANGE * e,
                1.0 + STRESS_LOUDER * e,
                1.0 - STRESS_SLOWER * e,
                base_gap + (STRESS_PAUSE_MS * (e - before).max(0.0)).round() as u32,
            );
            if u.sarcastic {
                pitch += SARCASM_PITCH;
                range = SARCASM_RANGE;
                louder -= SARCASM_QUIETER;
                slower -= SARCASM_SLOWER;
                gap += SARCASM_GAP_MS;
            }
            before = e;
            WordProsody {
                pitch: pitch.round().clamp(0.0, 99.0) as u32,
                speed: (voice.speed as f32 * slower * jitter_speed).round().max(80.0) as u32,
                amplitude: (voice.amplitude as f32 * louder).round().clamp(0.0, 200.0) as u32,
                range_percent: range.round() as u32,
                gap_ms: gap,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Kind;

    fn utterance(emphasis: Vec<f32>, sarcastic: bool) -> Utterance {
        Utterance {
            words: emphasis.iter().map(|_| "GOOD".to_string()).collect(),
            features: emphasis.iter().map(|_| [0.0; 5]).collect(),
            label: 1.0,
            latent: 1.0,
            kind: Kind::Mixed,
            speaker: 0,
            emphasised_clause: Some(1),
            emphasis,
            sarcastic,
        }
    }

    #[test]
    fn no_voice_variant_is_in_two_splits_and_train_has_at_least_eight() {
        assert!(VARIANTS[0].len() >= 8);
        for (i, a) in VARIANTS.iter().enumerate() {
            for b in &VARIANTS[i + 1..] {
                assert!(a.iter().all(|v| !b.contains(v)), "{a:?} and {b:?} share a variant");
            }
        }
        let train: std::collections::BTreeSet<String> = (0..52)
            .map(|s| {
                Voice::of(1, Split::Train, s)
                    .name
                    .split('+')
                    .nth(1)
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(train.len(), VARIANTS[0].len(), "52 speakers use every train variant");
        assert_eq!(Voice::of(1, Split::Test, 3), Voice::of(1, Split::Test, 3));
    }

    #[test]
    fn a_stressed_word_is_higher_wider_louder_slower_and_paused_before() {
        let voice = Voice::of(1, Split::Train, 0);
        let mut rng = StdRng::seed_from_u64(0);
        let w = words(&voice, &utterance(vec![0.0, 0.0, 1.0, 0.45], false), &mut rng);
        let (flat, stressed) = (w[1], w[2]);
        assert!(stressed.pitch >= flat.pitch + 20, "{w:?}");
        assert_eq!((flat.range_percent, stressed.range_percent), (60, 200));
        assert!(stressed.amplitude as f32 >= flat.amplitude as f32 * 1.5, "{w:?}");
        assert!(stressed.speed < flat.speed, "{w:?}");
        assert!(stressed.gap_ms >= 40 + 250 && flat.gap_ms <= 100, "{w:?}");
        // The next word is less stressed: no pause for it.
        assert!(w[3].gap_ms <= 100, "{w:?}");
    }

    #[test]
    fn a_sarcastic_delivery_is_flat_low_and_drawn_out() {
        let voice = Voice::of(1, Split::Train, 0);
        let sincere = words(&voice, &utterance(vec![0.0; 4], false), &mut StdRng::seed_from_u64(0));
        let sarcastic = words(&voice, &utterance(vec![0.0; 4], true), &mut StdRng::seed_from_u64(0));
        for (a, b) in sincere.iter().zip(&sarcastic) {
            assert_eq!(b.range_percent, 20);
            assert!(b.pitch < a.pitch && b.speed < a.speed && b.amplitude < a.amplitude);
            assert_eq!(b.gap_ms, a.gap_ms + 120);
        }
    }
}
