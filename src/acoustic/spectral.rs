//! Short-time spectral features, framed exactly as librosa frames them (centred frames,
//! zero padding of n_fft/2 on both sides, a periodic Hann window of `win_length` centred in
//! `n_fft`), so our MFCCs can be checked against `librosa.feature.mfcc` value for value.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// The analysis grid and the MFCC recipe (librosa's defaults where not stated).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FrameParams {
    /// Rate the recording is resampled to, Hz.
    pub sample_rate: u32,
    /// FFT length, samples.
    pub n_fft: usize,
    /// Samples in the analysis window (25 ms at 16 kHz).
    pub win_length: usize,
    /// Samples between frame centres (10 ms at 16 kHz).
    pub hop: usize,
    /// Mel bands.
    pub n_mels: usize,
    /// MFCC coefficients kept.
    pub n_mfcc: usize,
    /// Lowest frequency of the mel bands, Hz.
    pub fmin: f64,
    /// Highest frequency of the mel bands, Hz.
    pub fmax: f64,
    /// Log-mel values are floored at (their maximum over the recording) - top_db, as
    /// `librosa.power_to_db` does.
    pub top_db: f64,
}

impl Default for FrameParams {
    fn default() -> Self {
        Self {
            sample_rate: 16_000,
            n_fft: 512,
            win_length: 400,
            hop: 160,
            n_mels: 40,
            n_mfcc: 13,
            fmin: 0.0,
            fmax: 8_000.0,
            top_db: 80.0,
        }
    }
}

impl FrameParams {
    /// librosa's frame count with `center=True`.
    pub fn frame_count(&self, samples: usize) -> usize {
        1 + samples / self.hop
    }

    /// Centre time of frame `frame`, seconds.
    pub fn frame_time(&self, frame: usize) -> f64 {
        (frame * self.hop) as f64 / self.sample_rate as f64
    }
}

/// Per-frame values, one entry per frame of `FrameParams::frame_count`.
#[derive(Debug, Clone, Default)]
pub struct SpectralFrames {
    /// `[frames][n_mfcc]`.
    pub mfcc: Vec<Vec<f32>>,
    /// 10·log10 of the mean square of the window's raw samples (dB re full scale).
    pub log_energy: Vec<f32>,
    /// Magnitude-weighted mean frequency, Hz (0 in digital silence).
    pub centroid: Vec<f32>,
    /// L2 distance between successive L2-normalised magnitude spectra (0 for the first
    /// frame): level-independent, 0 for a steady sound, up to √2.
    pub flux: Vec<f32>,
    /// Fraction of adjacent sample pairs in the window whose signs differ, samples within
    /// 60 dB of silence (|x| <= 0.001 x the recording's peak) counting as zero (positive),
    /// so low-level hiss in pauses does not read as a fricative.
    pub zcr: Vec<f32>,
}

/// Frame-level spectral features of a recording, with its FFT plan and filters made once.
pub struct SpectralAnalyser {
    params: FrameParams,
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    /// `[n_mels][n_fft/2 + 1]`.
    mel_basis: Vec<Vec<f64>>,
    /// `[n_mfcc][n_mels]`, DCT-II with orthonormal scaling.
    dct: Vec<Vec<f64>>,
}

impl SpectralAnalyser {
    /// Plans the FFT and builds the window, mel filterbank and DCT for `params`.
    pub fn new(params: FrameParams) -> Self {
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(params.n_fft);
        let window = centred_hann(params.win_length, params.n_fft);
        let mel_basis = mel_filterbank(&params);
        let dct = dct_ortho(params.n_mfcc, params.n_mels);
        Self {
            params,
            fft,
            window,
            mel_basis,
            dct,
        }
    }

    /// The grid and recipe it analyses with.
    pub fn params(&self) -> &FrameParams {
        &self.params
    }

    /// Log-mel power in dB, `[frames][n_mels]`, floored `top_db` below its maximum.
    pub fn log_mel(&self, samples: &[f32]) -> (Vec<Vec<f64>>, SpectralFrames) {
        let p = &self.params;
        let pad = p.n_fft / 2;
        let mut padded = vec![0f64; samples.len() + 2 * pad];
        for (dst, &s) in padded[pad..].iter_mut().zip(samples) {
            *dst = s as f64;
        }
        let frames = p.frame_count(samples.len());
        let bins = p.n_fft / 2 + 1;
        let win_start = (p.n_fft - p.win_length) / 2;
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut out = SpectralFrames::default();
        let mut mels = Vec::with_capacity(frames);
        let mut previous: Option<Vec<f64>> = None;
        let bin_hz = p.sample_rate as f64 / p.n_fft as f64;
        let zero_band = 1e-3 * samples.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
        let negative = |x: f64| x < -zero_band;
        for t in 0..frames {
            let frame = &padded[t * p.hop..t * p.hop + p.n_fft];
            for ((dst, &x), &w) in input.iter_mut().zip(frame).zip(&self.window) {
                *dst = x * w;
            }
            self.fft
                .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
                .expect("buffers come from the same plan");
            let power: Vec<f64> = spectrum.iter().map(|c| c.norm_sqr()).collect();
            mels.push(
                self.mel_basis
                    .iter()
                    .map(|filter| filter.iter().zip(&power).map(|(w, p)| w * p).sum::<f64>())
                    .collect::<Vec<f64>>(),
            );
            let magnitude: Vec<f64> = power.iter().map(|p| p.sqrt()).collect();
            let total: f64 = magnitude.iter().sum();
            out.centroid.push(if total > 0.0 {
                (magnitude
                    .iter()
                    .enumerate()
                    .map(|(k, m)| k as f64 * bin_hz * m)
                    .sum::<f64>()
                    / total) as f32
            } else {
                0.0
            });
            let norm = magnitude.iter().map(|m| m * m).sum::<f64>().sqrt();
            let unit: Vec<f64> = if norm > 0.0 {
                magnitude.iter().map(|m| m / norm).collect()
            } else {
                vec![0.0; bins]
            };
            out.flux.push(match &previous {
                Some(prev) => unit.iter().zip(prev).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt() as f32,
                None => 0.0,
            });
            previous = Some(unit);
            let raw = &frame[win_start..win_start + p.win_length];
            let mean_square = raw.iter().map(|x| x * x).sum::<f64>() / p.win_length as f64;
            out.log_energy.push((10.0 * (mean_square + 1e-10).log10()) as f32);
            let crossings = raw.windows(2).filter(|w| negative(w[0]) != negative(w[1])).count();
            out.zcr.push(crossings as f32 / p.win_length as f32);
        }
        // power_to_db(S, ref=1.0, amin=1e-10, top_db): the floor is global over the recording.
        let mut peak = f64::NEG_INFINITY;
        for row in &mut mels {
            for v in row.iter_mut() {
                *v = 10.0 * v.max(1e-10).log10();
                peak = peak.max(*v);
            }
        }
        for row in &mut mels {
            for v in row.iter_mut() {
                *v = v.max(peak - p.top_db);
            }
        }
        (mels, out)
    }

    /// MFCCs, log energy, centroid, flux and zero-crossing rate per frame of `samples`.
    pub fn analyse(&self, samples: &[f32]) -> SpectralFrames {
        let (mels, mut out) = self.log_mel(samples);
        out.mfcc = mels
            .iter()
            .map(|mel| {
                self.dct
                    .iter()
                    .map(|basis| basis.iter().zip(mel).map(|(b, m)| b * m).sum::<f64>() as f32)
                    .collect()
            })
            .collect();
        out
    }
}

/// scipy's periodic Hann window of `length`, zero-padded to `n_fft` in the middle
/// (librosa's `pad_center`).
fn centred_hann(length: usize, n_fft: usize) -> Vec<f64> {
    let offset = (n_fft - length) / 2;
    let mut w = vec![0f64; n_fft];
    for n in 0..length {
        w[offset + n] = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / length as f64).cos();
    }
    w
}

/// Slaney's mel scale (librosa's `htk=False`): linear below 1 kHz, logarithmic above.
pub fn hz_to_mel(hz: f64) -> f64 {
    let (f_sp, min_log_hz, min_log_mel) = (200.0 / 3.0, 1000.0, 15.0);
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= min_log_hz {
        min_log_mel + (hz / min_log_hz).ln() / logstep
    } else {
        hz / f_sp
    }
}

/// Inverse of [`hz_to_mel`].
pub fn mel_to_hz(mel: f64) -> f64 {
    let (f_sp, min_log_hz, min_log_mel) = (200.0 / 3.0, 1000.0, 15.0);
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        min_log_hz * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// librosa.filters.mel with `norm="slaney"`: triangles between adjacent mel points, each
/// scaled to unit area (2 / bandwidth in Hz).
fn mel_filterbank(p: &FrameParams) -> Vec<Vec<f64>> {
    let bins = p.n_fft / 2 + 1;
    let fft_hz: Vec<f64> = (0..bins)
        .map(|k| k as f64 * p.sample_rate as f64 / p.n_fft as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(p.fmin), hz_to_mel(p.fmax));
    let points: Vec<f64> = (0..p.n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (p.n_mels + 1) as f64))
        .collect();
    (0..p.n_mels)
        .map(|m| {
            let (left, centre, right) = (points[m], points[m + 1], points[m + 2]);
            let area = 2.0 / (right - left);
            fft_hz
                .iter()
                .map(|&f| {
                    let rising = (f - left) / (centre - left);
                    let falling = (right - f) / (right - centre);
                    rising.min(falling).max(0.0) * area
                })
                .collect()
        })
        .collect()
}

fn dct_ortho(outputs: usize, inputs: usize) -> Vec<Vec<f64>> {
    let n = inputs as f64;
    (0..outputs)
        .map(|k| {
            let scale = if k == 0 { (1.0 / n).sqrt() } else { (2.0 / n).sqrt() };
            (0..inputs)
                .map(|i| scale * (std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2.0 * n)).cos())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, secs: f64, amplitude: f64) -> Vec<f32> {
        (0..(16_000.0 * secs) as usize)
            .map(|i| (amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / 16_000.0).sin()) as f32)
            .collect()
    }

    #[test]
    fn mel_scale_round_trips_and_is_linear_below_1khz() {
        for hz in [0.0, 250.0, 999.0, 1000.0, 3000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz}");
        }
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-12);
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn dct_rows_are_orthonormal() {
        let d = dct_ortho(13, 40);
        for a in 0..13 {
            for b in 0..13 {
                let dot: f64 = d[a].iter().zip(&d[b]).map(|(x, y)| x * y).sum();
                assert!((dot - f64::from(a == b)).abs() < 1e-12, "{a},{b}: {dot}");
            }
        }
    }

    #[test]
    fn frame_count_and_centroid_of_a_tone() {
        let analyser = SpectralAnalyser::new(FrameParams::default());
        let samples = tone(1000.0, 0.5, 0.5);
        let frames = analyser.analyse(&samples);
        assert_eq!(frames.mfcc.len(), 1 + 8000 / 160);
        assert!(frames.mfcc.iter().all(|f| f.len() == 13));
        let middle = frames.centroid.len() / 2;
        // A pure tone's magnitude centroid sits near the tone (leakage pulls it a little).
        assert!(
            (frames.centroid[middle] - 1000.0).abs() < 60.0,
            "{}",
            frames.centroid[middle]
        );
        // 1 kHz at 16 kHz: 2 crossings per 16 samples.
        assert!((frames.zcr[middle] - 0.125).abs() < 0.005, "{}", frames.zcr[middle]);
        // Mean square of a 0.5 sine is 0.125: -9.03 dB.
        assert!(
            (frames.log_energy[middle] + 9.03).abs() < 0.05,
            "{}",
            frames.log_energy[middle]
        );
        assert!(
            frames.flux[middle] < 1e-3,
            "a steady tone has no flux: {}",
            frames.flux[middle]
        );
    }

    #[test]
    fn log_mel_is_floored_top_db_below_its_peak() {
        let analyser = SpectralAnalyser::new(FrameParams::default());
        let mut samples = tone(440.0, 0.3, 0.9);
        samples.extend(std::iter::repeat_n(0.0, 4800));
        let (mels, _) = analyser.log_mel(&samples);
        let peak = mels.iter().flatten().cloned().fold(f64::NEG_INFINITY, f64::max);
        let floor = mels.iter().flatten().cloned().fold(f64::INFINITY, f64::min);
        assert!((peak - floor - 80.0).abs() < 1e-9, "peak {peak}, floor {floor}");
    }
}
