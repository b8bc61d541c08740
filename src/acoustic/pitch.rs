//! F0 per frame with the McLeod pitch method (MPM: the pitch-detection crate's normalised
//! square difference and key maxima, with MPM's relative peak choice), on the same 10 ms grid
//! as the spectral frames. Voicing threshold 0.45 and silence threshold 0.03 as Praat's
//! defaults; against Praat on espeak-ng speech the median relative F0 error is about 0.2 %
//! (tests/acoustic_parity.rs). The pitch window is longer than the spectral one (40 ms: three
//! periods of the 75 Hz floor, as Praat sizes its window), otherwise low voices have too
//! few periods in the window to be found.

use pitch_detection::detector::internals::normalized_square_difference;
use pitch_detection::utils::buffer::BufferPool;
use pitch_detection::utils::peak::{correct_peak, detect_peaks, PeakCorrection};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PitchParams {
    pub floor_hz: f32,
    pub ceiling_hz: f32,
    /// Samples in the pitch window.
    pub window: usize,
    /// A frame is voiced when its highest normalised-square-difference peak reaches this.
    pub clarity: f32,
    /// The chosen period is the first peak within this share of the highest (MPM's k).
    pub key: f32,
    /// A frame whose peak amplitude is below this share of the recording's peak is silent
    /// (Praat's "silence threshold").
    pub silence: f32,
}

impl Default for PitchParams {
    fn default() -> Self {
        Self {
            floor_hz: 75.0,
            ceiling_hz: 600.0,
            window: 640,
            clarity: 0.45,
            key: 0.9,
            silence: 0.03,
        }
    }
}

/// F0 in Hz for each frame centred at `t * hop`, `None` where unvoiced.
pub fn track(samples: &[f32], sample_rate: u32, hop: usize, frames: usize, p: &PitchParams) -> Vec<Option<f32>> {
    let half = p.window / 2;
    let global_peak = samples.iter().fold(0f32, |m, v| m.max(v.abs()));
    let mut pool = BufferPool::new(p.window + half);
    let mut nsdf = vec![0f32; p.window + half];
    let mut frame = vec![0f32; p.window];
    let rate = sample_rate as f32;
    let lags = (rate / p.ceiling_hz).floor() as usize..=((rate / p.floor_hz).ceil() as usize).min(half);
    (0..frames)
        .map(|t| {
            let centre = t * hop;
            frame.fill(0.0);
            let first = centre.saturating_sub(half);
            let last = (centre + half).min(samples.len());
            if first < last {
                let offset = first + half - centre;
                frame[offset..offset + (last - first)].copy_from_slice(&samples[first..last]);
            }
            let peak = frame.iter().fold(0f32, |m, v| m.max(v.abs()));
            if global_peak == 0.0 || peak < p.silence * global_peak {
                return None;
            }
            normalized_square_difference(&frame, &mut pool, &mut nsdf);
            // McLeod & Wyvill's choice: of the key maxima (one per positive lobe) in the
            // allowed lag range, the first within `key` of the highest. The crate's own
            // detector takes the first above an absolute threshold, which on speech often
            // lands on a formant (two octaves up).
            let peaks: Vec<(usize, f32)> = detect_peaks(&nsdf[..=*lags.end()])
                .filter(|(lag, _)| lags.contains(lag))
                .collect();
            let highest = peaks.iter().map(|p| p.1).fold(f32::NEG_INFINITY, f32::max);
            if highest < p.clarity {
                return None;
            }
            let chosen = *peaks.iter().find(|peak| peak.1 >= p.key * highest)?;
            let (lag, _) = correct_peak(chosen, &nsdf, PeakCorrection::Quadratic);
            Some(rate / lag).filter(|f| (p.floor_hz..=p.ceiling_hz).contains(f))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_tone_and_nothing_in_silence() {
        let rate = 16_000;
        let mut samples: Vec<f32> = (0..rate)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 220.0 * i as f32 / rate as f32).sin())
            .collect();
        samples.extend(std::iter::repeat_n(0.0, 8000));
        let frames = 1 + samples.len() / 160;
        let f0 = track(&samples, rate as u32, 160, frames, &PitchParams::default());
        let voiced: Vec<f32> = f0[5..95].iter().map(|f| f.expect("voiced")).collect();
        assert!(voiced.iter().all(|f| (f - 220.0).abs() < 1.1), "{voiced:?}");
        assert!(f0[110..].iter().all(Option::is_none));
    }

    #[test]
    fn out_of_range_pitch_is_unvoiced() {
        let rate = 16_000;
        let samples: Vec<f32> = (0..rate)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 900.0 * i as f32 / rate as f32).sin())
            .collect();
        let f0 = track(&samples, rate as u32, 160, 101, &PitchParams::default());
        // A 900 Hz tone is above the 600 Hz ceiling; McLeod must not report it.
        assert!(f0[5..95].iter().all(|f| f.is_none_or(|f| f <= 600.0)), "{f0:?}");
    }
}
