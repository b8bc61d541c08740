//! One recording in, one vector per word out.

use std::path::Path;

use super::align::{validate, WordSpan};
use super::pitch;
use super::set::{FeatureSet, FrameTracks};
use super::spectral::SpectralAnalyser;
use super::wav::{read_wav, resample, Audio};
use super::AcousticError;

/// A recording's words and their vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// The words of the timings, silences left out.
    pub words: Vec<String>,
    /// One vector per word, in the feature set's dimension order.
    pub features: Vec<Vec<f32>>,
    /// Seconds of audio, for throughput reports.
    pub duration: f64,
}

/// Frame tracks of audio already at the analysis rate.
pub fn analyse(audio: &Audio, set: &FeatureSet) -> FrameTracks {
    let info = set.info();
    debug_assert_eq!(audio.sample_rate, info.frames.sample_rate);
    let analyser = SpectralAnalyser::new(info.frames.clone());
    let spectral = analyser.analyse(&audio.samples);
    let frames = spectral.log_energy.len();
    let f0 = pitch::track(&audio.samples, audio.sample_rate, info.frames.hop, frames, &set.pitch());
    FrameTracks::new((0..frames).map(|t| info.frames.frame_time(t)).collect(), f0, spectral)
}

/// Reads `wav`, checks `words` against its duration (`words_source` names the timings in
/// messages) and returns one vector of `set` per word.
pub fn extract(
    wav: &Path,
    words: &[WordSpan],
    words_source: &Path,
    set: &FeatureSet,
) -> Result<Utterance, AcousticError> {
    let (audio, _) = read_wav(wav)?;
    let duration = audio.duration();
    validate(words, duration, words_source)?;
    let audio = resample(audio, set.info().frames.sample_rate, wav)?;
    let tracks = analyse(&audio, set);
    Ok(Utterance {
        words: words.iter().map(|w| w.word.clone()).collect(),
        features: words
            .iter()
            .map(|w| set.word_vector(tracks.frames_in(w.start, w.end), &tracks))
            .collect(),
        duration,
    })
}
