//! One frame's pitch candidates: the peaks of its windowed, window-corrected
//! autocorrelation (Boersma 1993, section 2; Praat's `Sound_into_PitchFrame` with the Hann
//! window of "To Pitch (ac)..."). The autocorrelation comes from the power spectrum
//! (realfft), zero-padded so that lags up to half the window are free of wrap-around.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::sinc::{improve_maximum, interpolate};
use super::PitchParams;

/// A peak of the autocorrelation: frequency in Hz (0 for the voiceless candidate) and
/// its normalised autocorrelation ("strength", at most 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub frequency: f64,
    pub strength: f64,
}

/// A frame's candidates (the first is always the voiceless one) and its local peak
/// amplitude relative to the recording's.
#[derive(Debug, Clone)]
pub struct Frame {
    pub candidates: Vec<Candidate>,
    pub intensity: f64,
}

/// Depth of the sin(x)/x interpolation that measures a peak's strength (Praat: 30), and of
/// the search for its exact lag (Praat's "sinc70" for the Hann window).
const STRENGTH_DEPTH: usize = 30;
const REFINE_DEPTH: usize = 70;

/// Everything that depends only on the parameters, made once per recording.
pub struct FrameAnalyser {
    rate: f64,
    floor: f64,
    voicing: f64,
    octave_cost: f64,
    max_candidates: usize,
    /// Samples in the window (even), and half of it.
    window_len: usize,
    half_window: usize,
    /// Samples in the longest period (1 / floor), and half of it plus one.
    period: usize,
    half_period: usize,
    /// Largest lag searched for peaks (exclusive), and largest lag interpolated.
    max_lag: usize,
    max_interp_lag: usize,
    window: Vec<f64>,
    /// The window's own normalised autocorrelation, which the frame's is divided by.
    window_ac: Vec<f64>,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    fft_len: usize,
}

/// Per-thread work buffers.
pub struct Scratch {
    frame: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    ac: Vec<f64>,
    /// r(-max_interp_lag ..= max_interp_lag), symmetric.
    r: Vec<f64>,
    lags: Vec<usize>,
}

impl FrameAnalyser {
    pub fn new(params: &PitchParams, sample_rate: u32) -> Self {
        let rate = sample_rate as f64;
        let floor = params.floor_hz as f64;
        let periods = params.periods_per_window as f64;
        // Praat's sizes: a window of `periods` longest periods, cut to an even count; the
        // largest lag a window of that many periods can still measure.
        let half_window = ((periods / floor * rate).floor() as usize / 2).saturating_sub(1).max(2);
        let window_len = 2 * half_window;
        let period = (rate / floor).floor() as usize;
        let max_lag = ((window_len as f64 / periods).floor() as usize + 2).min(window_len);
        let max_interp_lag = window_len / 2;
        let fft_len = (window_len as f64 * 1.5).ceil() as usize;
        let fft_len = fft_len.next_power_of_two();
        let window: Vec<f64> = (1..=window_len)
            .map(|i| 0.5 - 0.5 * (i as f64 * 2.0 * std::f64::consts::PI / (window_len + 1) as f64).cos())
            .collect();
        let energy: f64 = window.iter().map(|w| w * w).sum();
        let window_ac = (0..=max_interp_lag)
            .map(|lag| window.iter().zip(&window[lag..]).map(|(a, b)| a * b).sum::<f64>() / energy)
            .collect();
        let mut planner = RealFftPlanner::<f64>::new();
        Self {
            rate,
            floor,
            voicing: params.voicing as f64,
            octave_cost: params.octave_cost as f64,
            max_candidates: params.max_candidates.max(2),
            window_len,
            half_window,
            period,
            half_period: period / 2 + 1,
            max_lag,
            max_interp_lag,
            window,
            window_ac,
            forward: planner.plan_fft_forward(fft_len),
            inverse: planner.plan_fft_inverse(fft_len),
            fft_len,
        }
    }

    pub fn scratch(&self) -> Scratch {
        Scratch {
            frame: vec![0.0; self.fft_len],
            spectrum: self.forward.make_output_vec(),
            ac: vec![0.0; self.fft_len],
            r: vec![0.0; 2 * self.max_interp_lag + 1],
            lags: Vec::with_capacity(self.max_candidates),
        }
    }

    /// The candidates of the frame whose window starts after sample `centre`: samples
    /// `centre + 1 - half_window ..= centre + half_window`, zero outside the recording.
    /// `global_peak` is the recording's largest |sample - mean|.
    pub fn analyse(&self, samples: &[f32], centre: usize, global_peak: f64, s: &mut Scratch) -> Frame {
        let sample = |i: i64| {
            usize::try_from(i)
                .ok()
                .and_then(|i| samples.get(i))
                .map_or(0.0, |&v| v as f64)
        };
        let (left, right) = (centre as i64, centre as i64 + 1);
        // The local mean over one longest period each side is removed before windowing
        // (it would otherwise add a lag-independent term to every correlation).
        let mean = (right - self.period as i64..=left + self.period as i64)
            .map(sample)
            .sum::<f64>()
            / (2 * self.period) as f64;
        let start = right - self.half_window as i64;
        for (j, (f, w)) in s.frame.iter_mut().zip(&self.window).enumerate() {
            *f = (sample(start + j as i64) - mean) * w;
        }
        s.frame[self.window_len..].fill(0.0);
        // The local peak: half a longest period each side of the centre.
        let first = self.half_window.saturating_sub(self.half_period);
        let last = (self.half_window + self.half_period).min(self.window_len);
        let local_peak = s.frame[first..last].iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let intensity = if global_peak > 0.0 {
            (local_peak / global_peak).min(1.0)
        } else {
            0.0
        };
        let mut frame = Frame {
            candidates: vec![Candidate {
                frequency: 0.0,
                strength: 0.0,
            }],
            intensity,
        };
        if local_peak == 0.0 {
            return frame;
        }
        self.forward
            .process(&mut s.frame, &mut s.spectrum)
            .expect("buffer sizes come from the plan");
        for c in s.spectrum.iter_mut() {
            *c = Complex::new(c.norm_sqr(), 0.0);
        }
        self.inverse
            .process(&mut s.spectrum, &mut s.ac)
            .expect("buffer sizes come from the plan");
        // Normalised to lag 0 and divided by the window's own autocorrelation (Boersma's
        // equation 9), so a periodic signal scores near 1 at its period.
        let m = self.max_interp_lag;
        s.r[m] = 1.0;
        for lag in 1..=m {
            let v = s.ac[lag] / (s.ac[0] * self.window_ac[lag]);
            s.r[m + lag] = v;
            s.r[m - lag] = v;
        }
        let r = |lag: usize| s.r[m + lag];
        s.lags.clear();
        s.lags.push(0);
        for lag in 2..self.max_lag.min(m) {
            let v = r(lag);
            if !(v > 0.5 * self.voicing && v > r(lag - 1) && v >= r(lag + 1)) {
                continue;
            }
            // Parabolic first estimate of the period, sin(x)/x for the strength; values
            // above 1 (short windows) are reflected around 1.
            let dr = 0.5 * (r(lag + 1) - r(lag - 1));
            let d2r = 2.0 * v - r(lag - 1) - r(lag + 1);
            let frequency = self.rate / (lag as f64 + dr / d2r);
            let strength = reflect(interpolate(&s.r, self.rate / frequency + m as f64, STRENGTH_DEPTH));
            let place = if frame.candidates.len() < self.max_candidates {
                frame.candidates.push(Candidate { frequency, strength });
                s.lags.push(lag);
                continue;
            } else {
                // Full: replace the weakest, counting higher frequencies as a little
                // stronger (the octave cost), if this one beats it.
                let (place, weakest) = frame.candidates[1..]
                    .iter()
                    .map(|c| c.strength - self.octave_cost * (self.floor / c.frequency).log2())
                    .enumerate()
                    .fold((0, 2.0), |best, (i, v)| if v < best.1 { (i + 1, v) } else { best });
                if place == 0 || strength - self.octave_cost * (self.floor / frequency).log2() <= weakest {
                    continue;
                }
                place
            };
            frame.candidates[place] = Candidate { frequency, strength };
            s.lags[place] = lag;
        }
        // Second pass: the exact lag and strength of each peak.
        for (c, &lag) in frame.candidates.iter_mut().zip(&s.lags).skip(1) {
            let (x, strength) = improve_maximum(&s.r, lag + m, REFINE_DEPTH);
            c.frequency = self.rate / (x - m as f64);
            c.strength = reflect(strength);
        }
        frame
    }
}

fn reflect(strength: f64) -> f64 {
    if strength > 1.0 {
        1.0 / strength
    } else {
        strength
    }
}
