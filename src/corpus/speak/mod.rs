//! The built-in corpus spoken aloud with espeak-ng (`cmbert-tui corpus --speak`): the same
//! utterances (texts, labels, kinds, speakers) as recordings with exact word timings, in the
//! layout `cmbert-tui features` reads (README, "Audio features from your own recordings"):
//!
//! - `train.tsv`, `dev.tsv`, `test.tsv`: `text<TAB>label<TAB>id`, the id `train-00012` naming
//!   `wavs/train-00012.wav` and `align/train-00012.TextGrid`;
//! - `<split>.meta.jsonl`: each utterance's kind (so `eval` reports per kind), speaker, voice,
//!   emphasised clause, per-word emphasis and delivery;
//! - `speak.json`: settings, the espeak-ng version, the voices of each split, the ceilings.
//!
//! How (prosody: see `prosody`): every word is a separate espeak-ng call (`espeak`), resampled
//! to 16 kHz (the feature extractor's rate) with the extractor's own resampler, quantised to
//! 16 bits and trimmed to its first and last sample at or above 1 % of full scale; the words
//! are joined with digital silence of known length (150 ms lead-in and tail, per-word gaps),
//! so each word's interval is exactly [its first sample, one past its last) / 16000 s. The
//! same seed and the same espeak-ng give the same bytes.

pub mod espeak;
pub mod prosody;
mod textgrid;

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::SeedableRng;

pub use espeak::{Espeak, PROGRAM_ENV};
pub use prosody::{Voice, WordProsody};

use super::{Corpus, Kind, Utterance, GENERATOR_VERSION};
use crate::acoustic::wav::{resample, Audio};
use crate::acoustic::{AcousticError, WordSpan};
use crate::data::Split;
use crate::fsutil::write_atomic;
use crate::train::derive_seed;

/// Bumped whenever the spoken rendering changes for a given seed and espeak-ng.
pub const SPEAK_VERSION: u32 = 1;
/// The recordings' sample rate: the feature extractor's, so it need not resample.
pub const SAMPLE_RATE: u32 = 16_000;
/// The recordings' directory inside the data directory.
pub const WAV_DIR: &str = "wavs";
/// The word timings' directory inside the data directory.
pub const ALIGN_DIR: &str = "align";
/// Settings and the voices of each split.
pub const SUMMARY_FILE: &str = "speak.json";
/// Silence before the first word and after the last.
const LEAD_MS: u32 = 150;
/// A word's edges quieter than this (1 % of full scale) are trimmed.
const TRIM_LEVEL: i32 = 328;

/// Why the corpus could not be spoken.
#[derive(Debug, thiserror::Error)]
pub enum SpeakError {
    /// espeak-ng is not installed (or `CMBERT_ESPEAK` names nothing).
    #[error(
        "{}: not found; `corpus --speak` needs espeak-ng: install it (Debian/Ubuntu: sudo apt-get install espeak-ng; Fedora: sudo dnf install espeak-ng; macOS: brew install espeak-ng) or set {PROGRAM_ENV} to its path",
        program.display()
    )]
    Missing {
        /// What was looked for.
        program: PathBuf,
    },
    /// espeak-ng ran but did not give speech.
    #[error("{}: {what}: {message}", program.display())]
    Espeak {
        /// The program run.
        program: PathBuf,
        /// What it was asked.
        what: String,
        /// What went wrong.
        message: String,
    },
    /// A word came out as silence.
    #[error("{id}: espeak-ng spoke {word:?} in voice {voice} as silence")]
    Silent {
        /// The utterance.
        id: String,
        /// The word.
        word: String,
        /// Its voice.
        voice: String,
    },
    /// Resampling a word failed.
    #[error(transparent)]
    Audio(#[from] AcousticError),
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// One utterance to speak: where it goes, who says it, how each word is said.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its split.
    pub split: Split,
    /// Its index in the split.
    pub index: usize,
    /// Its id: the stem of its WAV and TextGrid.
    pub id: String,
    /// Its speaker's voice.
    pub voice: Voice,
    /// Each word's prosody.
    pub prosody: Vec<WordProsody>,
}

/// A spoken recording: its words' spans and its length.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The words and their spans, seconds.
    pub words: Vec<WordSpan>,
    /// Seconds of audio.
    pub duration: f64,
}

/// A corpus and how each of its utterances is to be spoken.
#[derive(Debug, Clone)]
pub struct SpokenCorpus {
    /// The text corpus spoken.
    pub corpus: Corpus,
    /// Train, then dev, then test, each in file order.
    pub jobs: Vec<Job>,
}

impl SpokenCorpus {
    /// Plans the speaking of `corpus` (voices and prosody drawn from its seed).
    pub fn plan(corpus: Corpus) -> Self {
        let seed = corpus.config.seed;
        let mut jobs = Vec::new();
        for split in Split::ALL {
            for (index, u) in corpus.splits[split.index()].iter().enumerate() {
                let voice = Voice::of(seed, split, u.speaker);
                let mut rng = StdRng::seed_from_u64(derive_seed(seed, 400 + split.index() as u64, index as u64));
                jobs.push(Job {
                    split,
                    index,
                    id: format!("{}-{index:05}", split.name()),
                    prosody: prosody::words(&voice, u, &mut rng),
                    voice,
                });
            }
        }
        Self { corpus, jobs }
    }

    /// The utterance `job` speaks.
    pub fn utterance(&self, job: &Job) -> &Utterance {
        &self.corpus.splits[job.split.index()][job.index]
    }

    /// Speaks `job` with `espeak` and writes `DIR/wavs/ID.wav` and `DIR/align/ID.TextGrid`
    /// (the directories must exist: [`SpokenCorpus::prepare`]).
    pub fn render(&self, job: &Job, espeak: &Espeak, dir: &Path) -> Result<Recording, SpeakError> {
        let u = self.utterance(job);
        let ms = |ms: u32| (ms * SAMPLE_RATE / 1000) as usize;
        let mut samples: Vec<i16> = vec![0; ms(LEAD_MS)];
        let mut spans = Vec::with_capacity(u.words.len());
        for (k, (word, p)) in u.words.iter().zip(&job.prosody).enumerate() {
            if k > 0 {
                samples.resize(samples.len() + ms(p.gap_ms), 0);
            }
            let spoken = espeak.word(&job.voice.name, word, p)?;
            let audio = Audio {
                samples: spoken.samples,
                sample_rate: spoken.sample_rate,
            };
            let audio = resample(audio, SAMPLE_RATE, espeak.program())?;
            let q: Vec<i16> = audio
                .samples
                .iter()
                .map(|&x| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
                .collect();
            let loud = |s: &i16| i32::from(*s).abs() >= TRIM_LEVEL;
            let (Some(first), Some(last)) = (q.iter().position(loud), q.iter().rposition(loud)) else {
                return Err(SpeakError::Silent {
                    id: job.id.clone(),
                    word: word.clone(),
                    voice: job.voice.name.clone(),
                });
            };
            let start = samples.len();
            samples.extend_from_slice(&q[first..=last]);
            spans.push(WordSpan {
                word: word.clone(),
                start: start as f64 / SAMPLE_RATE as f64,
                end: samples.len() as f64 / SAMPLE_RATE as f64,
            });
        }
        samples.resize(samples.len() + ms(LEAD_MS), 0);
        let duration = samples.len() as f64 / SAMPLE_RATE as f64;
        let wav = dir.join(WAV_DIR).join(format!("{}.wav", job.id));
        write_atomic(&wav, &wav_bytes(&samples)).map_err(|source| SpeakError::Io { path: wav, source })?;
        let grid = dir.join(ALIGN_DIR).join(format!("{}.TextGrid", job.id));
        write_atomic(&grid, textgrid::textgrid(duration, &spans).as_bytes())
            .map_err(|source| SpeakError::Io { path: grid, source })?;
        Ok(Recording { words: spans, duration })
    }

    /// Creates `dir`, `dir/wavs` and `dir/align`.
    pub fn prepare(dir: &Path) -> Result<(), SpeakError> {
        for d in [dir.to_path_buf(), dir.join(WAV_DIR), dir.join(ALIGN_DIR)] {
            std::fs::create_dir_all(&d).map_err(|source| SpeakError::Io { path: d, source })?;
        }
        Ok(())
    }

    /// Writes the TSVs, the meta files and `speak.json` (after the recordings, so a data
    /// directory whose TSVs name a recording has it). `recordings` are in `jobs` order.
    pub fn write_index(&self, dir: &Path, espeak: &Espeak, recordings: &[Recording]) -> Result<(), SpeakError> {
        let io = |path: PathBuf| move |source| SpeakError::Io { path, source };
        for split in Split::ALL {
            let jobs: Vec<&Job> = self.jobs.iter().filter(|j| j.split == split).collect();
            let (tsv, meta) = self.split_files(&jobs).map_err(io(dir.to_path_buf()))?;
            let path = split.tsv_path(dir);
            write_atomic(&path, &tsv).map_err(io(path.clone()))?;
            let path = dir.join(format!("{}.meta.jsonl", split.name()));
            write_atomic(&path, &meta).map_err(io(path.clone()))?;
        }
        let summary = self.summary(espeak, recordings);
        let path = dir.join(SUMMARY_FILE);
        write_atomic(&path, summary.as_bytes()).map_err(io(path.clone()))
    }

    fn split_files(&self, jobs: &[&Job]) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let mut tsv = b"text\tlabel\tid\r\n".to_vec();
        let mut meta = Vec::new();
        for job in jobs {
            let u = self.utterance(job);
            write!(tsv, "{}\t{:.1}\t{}\r\n", u.text(), u.label, job.id)?;
            let m = serde_json::json!({
                "index": job.index,
                "id": job.id,
                "kind": u.kind,
                "speaker": u.speaker,
                "voice": job.voice.name,
                "emphasised_clause": u.emphasised_clause,
                "latent": round3(u.latent),
                "emphasis": u.emphasis.iter().map(|&e| round3(e)).collect::<Vec<_>>(),
                "delivery": if u.sarcastic { "sarcastic" } else { "sincere" },
            });
            writeln!(meta, "{m}")?;
        }
        Ok((tsv, meta))
    }

    fn summary(&self, espeak: &Espeak, recordings: &[Recording]) -> String {
        let mut voices: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
        let mut seconds: BTreeMap<&str, f64> = BTreeMap::new();
        for (job, r) in self.jobs.iter().zip(recordings) {
            voices.entry(job.split.name()).or_default().insert(&job.voice.name);
            *seconds.entry(job.split.name()).or_default() += r.duration;
        }
        let kinds: BTreeMap<&str, usize> = Kind::ALL
            .iter()
            .map(|k| {
                let n = self.corpus.splits.iter().flatten().filter(|u| u.kind == *k).count();
                (k.name(), n)
            })
            .collect();
        let summary = serde_json::json!({
            "generator": "cmbert-tui built-in prosody corpus, spoken with espeak-ng",
            "version": GENERATOR_VERSION,
            "speak_version": SPEAK_VERSION,
            "espeak_ng": espeak.version,
            "config": self.corpus.config,
            "sample_rate": SAMPLE_RATE,
            "utterances": self.corpus.splits.iter().map(Vec::len).collect::<Vec<_>>(),
            "kinds": kinds,
            "seconds": seconds.iter().map(|(k, v)| (*k, (v * 1000.0).round() / 1000.0)).collect::<BTreeMap<_, _>>(),
            "voices": voices,
            "ceilings_test": self.corpus.split_ceilings(Split::Test).into_iter().collect::<BTreeMap<_, _>>(),
        });
        serde_json::to_string_pretty(&summary).expect("JSON of plain values") + "\n"
    }
}

/// Three decimals, printed as such (not as the nearest f32's long expansion).
fn round3(v: f32) -> f64 {
    (v as f64 * 1000.0).round() / 1000.0
}

/// A 16 kHz 16-bit mono PCM WAV of `samples`.
fn wav_bytes(samples: &[i16]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Vec::with_capacity(44 + 2 * samples.len());
    {
        let mut w = hound::WavWriter::new(io::Cursor::new(&mut bytes), spec).expect("writing to memory");
        let mut w16 = w.get_i16_writer(samples.len() as u32);
        for &s in samples {
            w16.write_sample(s);
        }
        w16.flush().expect("writing to memory");
        w.finalize().expect("writing to memory");
    }
    bytes
}
