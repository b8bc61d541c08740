//! F0 per frame by Praat's autocorrelation method ("Sound: To Pitch (ac)...", Boersma 1993,
//! "Accurate short-term analysis of the fundamental frequency and the harmonics-to-noise
//! ratio of a sampled sound", IFA Proceedings 17), on the same 10 ms grid as the spectral
//! frames, with Praat's standard settings: 75-600 Hz, 3 periods per Hann window, 15
//! candidates, silence threshold 0.03, voicing threshold 0.45, octave cost 0.01, octave-jump
//! cost 0.35, voiced/unvoiced cost 0.14.
//!
//! Each frame yields up to 15 candidates, the peaks of its window-corrected autocorrelation
//! plus "voiceless" (`frame`); a Viterbi search then picks one per frame, charging for octave
//! jumps and voicing switches (`path`). The path is what makes word-level F0 right: a
//! per-frame picker (our earlier McLeod method) lands on a harmonic or on a fricative's noise
//! in a few frames per word, and a word mean does not survive such frames (docs/ACOUSTIC.md
//! has the measurements of the methods tried).
//!
//! Hand-written, because no maintained crate implements Praat's method: `pitch-detection`
//! offers per-frame McLeod/YIN/autocorrelation without candidates or tracking (and its
//! normalised square difference is not McLeod's), and `pyin` (a port of librosa's pYIN)
//! tracks, but against another reference (it leaves low and creaky words unvoiced that
//! Praat voices), about 45 times slower than this, and it panics on speech whose refined
//! candidates fall below the floor.
//! Praat's numerics are followed step for step where they decide which candidate wins
//! (window and lag sizes, strength interpolation, the candidate cap, the path costs),
//! so that word-level statistics agree with Praat's (tests/acoustic_parity.rs).

mod frame;
mod path;
mod sinc;

use frame::FrameAnalyser;

/// Settings of the pitch tracker (Praat's autocorrelation method).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PitchParams {
    /// Lowest F0 looked for, Hz.
    pub floor_hz: f32,
    /// Highest F0 looked for, Hz.
    pub ceiling_hz: f32,
    /// Window length in periods of the floor (3: 40 ms at 75 Hz, Praat's Hann window).
    pub periods_per_window: f32,
    /// Candidates per frame, the voiceless one included.
    pub max_candidates: usize,
    /// Frames whose local peak is below this share of the recording's peak lean towards
    /// voiceless.
    pub silence: f32,
    /// Autocorrelation strength a candidate needs to beat voicelessness.
    pub voicing: f32,
    /// Per octave below the ceiling, subtracted from a candidate's strength.
    pub octave_cost: f32,
    /// Per octave of F0 change between consecutive voiced frames.
    pub octave_jump_cost: f32,
    /// Per voiced/unvoiced switch between consecutive frames.
    pub voiced_unvoiced_cost: f32,
}

impl Default for PitchParams {
    fn default() -> Self {
        Self {
            floor_hz: 75.0,
            ceiling_hz: 600.0,
            periods_per_window: 3.0,
            max_candidates: 15,
            silence: 0.03,
            voicing: 0.45,
            octave_cost: 0.01,
            octave_jump_cost: 0.35,
            voiced_unvoiced_cost: 0.14,
        }
    }
}

/// F0 in Hz for each frame centred at sample `t * hop`, `None` where unvoiced.
pub fn track(samples: &[f32], sample_rate: u32, hop: usize, frames: usize, p: &PitchParams) -> Vec<Option<f32>> {
    if frames == 0 {
        return Vec::new();
    }
    let mean = samples.iter().map(|&v| v as f64).sum::<f64>() / samples.len().max(1) as f64;
    let global_peak = samples.iter().fold(0.0f64, |m, &v| m.max((v as f64 - mean).abs()));
    if global_peak == 0.0 {
        return vec![None; frames];
    }
    let analyser = FrameAnalyser::new(p, sample_rate);
    let mut scratch = analyser.scratch();
    let candidates: Vec<_> = (0..frames)
        .map(|t| analyser.analyse(samples, t * hop, global_peak, &mut scratch))
        .collect();
    path::best_path(&candidates, p, hop as f64 / sample_rate as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f64, seconds: f64) -> Vec<f32> {
        (0..(seconds * 16_000.0) as usize)
            .map(|i| (0.5 * (2.0 * std::f64::consts::PI * hz * i as f64 / 16_000.0).sin()) as f32)
            .collect()
    }

    #[test]
    fn finds_a_tone_and_nothing_in_silence() {
        let mut samples = tone(220.0, 1.0);
        samples.extend(std::iter::repeat_n(0.0, 8000));
        let frames = 1 + samples.len() / 160;
        let f0 = track(&samples, 16_000, 160, frames, &PitchParams::default());
        let voiced: Vec<f32> = f0[5..95].iter().map(|f| f.expect("voiced")).collect();
        assert!(voiced.iter().all(|f| (f - 220.0).abs() < 0.05), "{voiced:?}");
        assert!(f0[110..].iter().all(Option::is_none));
        assert_eq!(
            track(&[0.0; 1000], 16_000, 160, 7, &PitchParams::default()),
            vec![None; 7]
        );
    }

    #[test]
    fn out_of_range_pitch_is_never_reported() {
        let samples = tone(900.0, 1.0);
        let f0 = track(&samples, 16_000, 160, 101, &PitchParams::default());
        // 900 Hz is above the 600 Hz ceiling: voiceless, or a subharmonic below it.
        assert!(f0.iter().all(|f| f.is_none_or(|f| f < 600.0)), "{f0:?}");
    }

    #[test]
    fn a_low_voice_with_strong_harmonics_stays_on_its_fundamental() {
        // 80 Hz pulses with a second harmonic twice as strong as the fundamental: the
        // frame-wise strongest period is often half the true one.
        let rate = 16_000.0;
        let samples: Vec<f32> = (0..16_000)
            .map(|i| {
                let t = i as f32 / rate;
                let w = 2.0 * std::f32::consts::PI * 80.0 * t;
                0.2 * w.sin() + 0.4 * (2.0 * w).sin() + 0.1 * (3.0 * w).sin()
            })
            .collect();
        let f0 = track(&samples, 16_000, 160, 101, &PitchParams::default());
        let voiced: Vec<f32> = f0[5..95].iter().map(|f| f.expect("voiced")).collect();
        assert!(voiced.iter().all(|f| (f - 80.0).abs() < 0.5), "{voiced:?}");
    }
}
