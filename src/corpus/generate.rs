//! Utterances, prosody and labels. The mechanism CM-BERT has is re-weighting words by how
//! they were spoken, so the corpus is built around it:
//! - plain: the text decides the label (prosody varies but carries no label information);
//! - mixed: two clauses of opposite polarity; prosodic emphasis on one clause decides the
//!   label. Each text occurs twice, once with each emphasis, so text alone cannot do better
//!   than chance on these;
//! - emphasis: emphasis on the sentiment word strengthens it (magnitude only);
//! - sarcasm: a positive text spoken flat and drawn out means the opposite. It also occurs in
//!   pairs (sincere and sarcastic, both marked `sarcasm`); no re-weighting of words can flip a sign, so these are
//!   reported separately as beyond the model's mechanism.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use super::lexicon::*;

/// Feature names of the 5 acoustic dimensions (per word, roughly z-scored).
pub const FEATURES: [&str; 5] = ["pitch_level", "pitch_range", "energy", "duration", "voice_quality"];

/// What emphasis adds to a word's features (pitch up and wider, louder, longer, tenser).
const EMPHASIS: [f32; 5] = [1.6, 1.3, 1.5, 1.1, -0.6];
/// A sarcastic delivery over the whole utterance: low, flat, drawn out, breathy.
const SARCASTIC: [f32; 5] = [-0.6, -1.0, -0.4, 0.9, 1.0];

/// The kinds of utterance the generator builds (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The text decides the label; prosody carries no label information.
    Plain,
    /// Two clauses of opposite polarity; the emphasised one decides the label.
    Mixed,
    /// Emphasis on the sentiment word strengthens it.
    Emphasis,
    /// A positive text spoken flat and drawn out: the label is its opposite.
    Sarcasm,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 4] = [Kind::Plain, Kind::Mixed, Kind::Emphasis, Kind::Sarcasm];

    /// The name the corpus files and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::Mixed => "mixed",
            Kind::Emphasis => "emphasis",
            Kind::Sarcasm => "sarcasm",
        }
    }
}

/// One generated utterance: words, their acoustic features and its label.
#[derive(Debug, Clone)]
pub struct Utterance {
    /// The words, upper case as in MOSI.
    pub words: Vec<String>,
    /// One vector per word, in [`FEATURES`] order.
    pub features: Vec<[f32; 5]>,
    /// Mean of three simulated annotators, rounded like MOSI's labels.
    pub label: f32,
    /// The generator's noiseless score (what text + prosody determine).
    pub latent: f32,
    /// How the label depends on the prosody.
    pub kind: Kind,
    /// Index of the speaker within its split.
    pub speaker: usize,
    /// Mixed utterances: which clause (0 or 1) was emphasised.
    pub emphasised_clause: Option<usize>,
    /// Per word, how strongly it was emphasised (0 none, 1 the focus): what the features
    /// above were made from, and what `corpus --speak` says aloud.
    pub emphasis: Vec<f32>,
    /// Spoken flat and drawn out (the sarcastic half of a sarcasm pair).
    pub sarcastic: bool,
}

impl Utterance {
    /// The words joined by spaces, as the text split holds them.
    pub fn text(&self) -> String {
        self.words.join(" ")
    }
}

/// A clause with per-word emphasis weights and its valence.
struct Clause {
    words: Vec<String>,
    /// Index (in `words`) of the sentiment-bearing word.
    focus: usize,
    valence: f32,
}

fn push(words: &mut Vec<String>, phrase: &str) {
    words.extend(phrase.split_whitespace().map(str::to_string));
}

/// One evaluative clause about a noun, with optional modifiers.
fn clause(rng: &mut StdRng, positive: bool) -> Clause {
    let adjectives = if positive { POSITIVE } else { NEGATIVE };
    let verbs = if positive { POSITIVE_VERBS } else { NEGATIVE_VERBS };
    let noun = *NOUNS.choose(rng).expect("nouns");
    let mut words = Vec::new();
    let mut scale = 1.0;
    let (focus, base) = match rng.random_range(0..4) {
        0 => {
            // I LOVED THE PLOT
            push(&mut words, "I");
            if rng.random_bool(0.3) {
                push(&mut words, "REALLY");
                scale *= 1.3;
            }
            let (verb, v) = *verbs.choose(rng).expect("verbs");
            words.push(verb.into());
            let focus = words.len() - 1;
            push(&mut words, &format!("THE {noun}"));
            (focus, v)
        }
        1 => {
            // IT WAS A VERY CLEVER SCRIPT
            push(&mut words, "IT WAS");
            let mut phrase = Vec::new();
            if rng.random_bool(0.35) {
                let (int, s) = *INTENSIFIERS.choose(rng).expect("intensifiers");
                phrase.push(int);
                scale *= s;
            }
            let (adj, v) = *adjectives.choose(rng).expect("adjectives");
            phrase.push(adj);
            let vowel = phrase[0].starts_with(['A', 'E', 'I', 'O', 'U']);
            words.push(if vowel { "AN" } else { "A" }.into());
            words.extend(phrase.into_iter().map(String::from));
            let focus = words.len() - 1;
            words.push(noun.into());
            (focus, v)
        }
        _ => {
            // (I THOUGHT) THE ACTING WAS (NOT|KIND OF|REALLY) GREAT
            if rng.random_bool(0.4) {
                push(&mut words, STANCES.choose(rng).expect("stances"));
            }
            push(
                &mut words,
                &format!(
                    "THE {noun} {}",
                    if noun.ends_with('S') && rng.random_bool(0.7) {
                        "WERE"
                    } else {
                        "WAS"
                    }
                ),
            );
            match rng.random_range(0..10) {
                0 => {
                    push(&mut words, NEGATORS.choose(rng).expect("negators"));
                    scale *= NEGATION_SCALE;
                }
                1 | 2 => {
                    push(&mut words, HEDGES.choose(rng).expect("hedges"));
                    scale *= HEDGE_SCALE;
                }
                3..=5 => {
                    let (int, s) = *INTENSIFIERS.choose(rng).expect("intensifiers");
                    push(&mut words, int);
                    scale *= s;
                }
                _ => {}
            }
            let (adj, v) = *adjectives.choose(rng).expect("adjectives");
            words.push(adj.into());
            (words.len() - 1, v)
        }
    };
    Clause {
        words,
        focus,
        valence: (base * scale).clamp(-3.0, 3.0),
    }
}

/// Per-speaker voice: offsets of pitch level, energy and voice quality.
#[derive(Debug, Clone, Copy)]
pub struct Speaker([f32; 5]);

impl Speaker {
    /// A random voice.
    pub fn sample(rng: &mut StdRng) -> Self {
        let n = |sd: f32, rng: &mut StdRng| Normal::new(0.0, sd).expect("sd > 0").sample(rng);
        Self([n(0.8, rng), n(0.3, rng), n(0.8, rng), n(0.3, rng), n(0.5, rng)])
    }
}

/// Word features: speaker voice + noise + emphasis (+ sarcastic delivery).
fn prosody(rng: &mut StdRng, words: &[String], emphasis: &[f32], speaker: Speaker, sarcastic: bool) -> Vec<[f32; 5]> {
    let noise = Normal::new(0.0f32, 0.4).expect("sd > 0");
    words
        .iter()
        .zip(emphasis)
        .map(|(word, &e)| {
            let mut f = [0f32; 5];
            for d in 0..5 {
                f[d] = speaker.0[d] + noise.sample(rng) + e * EMPHASIS[d];
                if sarcastic {
                    f[d] += SARCASTIC[d];
                }
            }
            // Longer words take longer to say.
            f[3] += 0.08 * (word.len() as f32 - 5.0);
            f.map(|v| (v * 1000.0).round() / 1000.0)
        })
        .collect()
}

/// Three annotators' integer scores, averaged and rounded to one decimal as MOSI's are.
fn annotate(rng: &mut StdRng, latent: f32) -> f32 {
    let noise = Normal::new(0.0f32, 0.5).expect("sd > 0");
    let mean = (0..3)
        .map(|_| (latent + noise.sample(rng)).clamp(-3.0, 3.0).round())
        .sum::<f32>()
        / 3.0;
    (mean * 10.0).round() / 10.0
}

fn frame(rng: &mut StdRng, core: Vec<String>) -> (Vec<String>, usize) {
    let mut words = Vec::new();
    if rng.random_bool(0.5) {
        push(&mut words, OPENERS.choose(rng).expect("openers"));
    }
    let offset = words.len();
    words.extend(core);
    push(&mut words, TAILS.choose(rng).expect("tails"));
    (words, offset)
}

/// What is said and how, before a speaker says it.
struct Spoken {
    words: Vec<String>,
    emphasis: Vec<f32>,
    sarcastic: bool,
    latent: f32,
    kind: Kind,
    emphasised_clause: Option<usize>,
}

/// A random speaker says it: prosody from their voice, then the annotators' label.
fn speak(rng: &mut StdRng, speakers: &[(usize, Speaker)], s: Spoken) -> Utterance {
    let (id, voice) = *speakers.choose(rng).expect("speakers");
    let features = prosody(rng, &s.words, &s.emphasis, voice, s.sarcastic);
    let label = annotate(rng, s.latent);
    Utterance {
        words: s.words,
        features,
        label,
        latent: s.latent,
        kind: s.kind,
        speaker: id,
        emphasised_clause: s.emphasised_clause,
        emphasis: s.emphasis,
        sarcastic: s.sarcastic,
    }
}

/// Generates one group: a single plain/emphasis utterance, or a mixed/sarcasm pair.
pub fn group(rng: &mut StdRng, kind: Kind, speakers: &[(usize, Speaker)]) -> Vec<Utterance> {
    match kind {
        Kind::Plain | Kind::Emphasis => {
            let positive = rng.random_bool(0.5);
            let c = clause(rng, positive);
            let (words, offset) = frame(rng, c.words.clone());
            let mut emphasis = vec![0f32; words.len()];
            let latent = if kind == Kind::Emphasis {
                emphasis[offset + c.focus] = 1.0;
                (c.valence * 1.4).clamp(-3.0, 3.0)
            } else {
                // Emphasis on a word that does not carry the sentiment: a distractor.
                if rng.random_bool(0.3) {
                    let i = rng.random_range(0..words.len());
                    if i != offset + c.focus {
                        emphasis[i] = 0.8;
                    }
                }
                c.valence
            };
            vec![speak(
                rng,
                speakers,
                Spoken {
                    words,
                    emphasis,
                    sarcastic: false,
                    latent,
                    kind,
                    emphasised_clause: None,
                },
            )]
        }
        Kind::Mixed => {
            let first_positive = rng.random_bool(0.5);
            let (a, b) = (clause(rng, first_positive), clause(rng, !first_positive));
            let contrast = *CONTRASTS.choose(rng).expect("contrasts");
            let mut core = a.words.clone();
            push(&mut core, contrast);
            let b_start = core.len();
            core.extend(b.words.iter().cloned());
            let (words, offset) = frame(rng, core);
            (0..2)
                .map(|emphasised| {
                    let (c, start) = if emphasised == 0 {
                        (&a, offset)
                    } else {
                        (&b, offset + b_start)
                    };
                    let other = if emphasised == 0 { &b } else { &a };
                    let mut emphasis = vec![0f32; words.len()];
                    for (i, e) in emphasis[start..start + c.words.len()].iter_mut().enumerate() {
                        *e = if i == c.focus { 1.0 } else { 0.45 };
                    }
                    let latent = (0.9 * c.valence + 0.1 * other.valence).clamp(-3.0, 3.0);
                    let words = words.clone();
                    speak(
                        rng,
                        speakers,
                        Spoken {
                            words,
                            emphasis,
                            sarcastic: false,
                            latent,
                            kind,
                            emphasised_clause: Some(emphasised),
                        },
                    )
                })
                .collect()
        }
        Kind::Sarcasm => {
            let c = clause(rng, true);
            let (words, _) = frame(rng, c.words.clone());
            (0..2)
                .map(|sarcastic| {
                    let sarcastic = sarcastic == 1;
                    let latent = if sarcastic { -0.7 * c.valence.abs() } else { c.valence };
                    let emphasis = vec![0.0; words.len()];
                    let words = words.clone();
                    speak(
                        rng,
                        speakers,
                        Spoken {
                            words,
                            emphasis,
                            sarcastic,
                            latent,
                            kind,
                            emphasised_clause: None,
                        },
                    )
                })
                .collect()
        }
    }
}
