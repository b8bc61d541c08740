//! Named, versioned feature sets: which per-word statistics of the frame features make up
//! a word's vector. A file records its set (name, dimension names, analysis parameters)
//! and the version of the extractor that measured it, so a checkpoint can extract the same
//! features from a new recording, and refuses features measured differently from the ones
//! its scaling was fitted on.

use std::path::PathBuf;

use super::pitch::PitchParams;
use super::spectral::{FrameParams, SpectralFrames};

/// What `FeatureSetInfo::version` records for features this build extracts. 1: F0 by the
/// McLeod pitch method (files and checkpoints from before the field existed); 2: F0 by
/// Praat's autocorrelation method with path tracking (docs/ACOUSTIC.md), which changes the
/// pitch dimensions of every set.
pub const EXTRACTOR_VERSION: u32 = 2;

/// One word-level statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Mean F0 over the word's voiced frames, Hz (0 when none is voiced).
    F0Mean,
    /// Standard deviation of F0 over voiced frames, Hz.
    F0Std,
    /// Least-squares slope of F0 over time on voiced frames, Hz/s (0 under two frames).
    F0Slope,
    /// Share of the word's frames that are voiced.
    VoicedFraction,
    /// Mean log energy of the word's frames, dB.
    EnergyMean,
    /// Standard deviation of the log energy, dB.
    EnergyStd,
    /// Mean of one MFCC coefficient (0-based).
    Mfcc(usize),
    /// Mean spectral centroid of the audible frames, Hz.
    CentroidMean,
    /// Mean spectral flux of the audible frames.
    FluxMean,
    /// Mean zero-crossing rate of the audible frames.
    ZcrMean,
}

impl Stat {
    /// The dimension's name as files record it (`f0_mean_hz`, `mfcc_3_mean`).
    pub fn name(self) -> String {
        match self {
            Stat::F0Mean => "f0_mean_hz".into(),
            Stat::F0Std => "f0_std_hz".into(),
            Stat::F0Slope => "f0_slope_hz_per_s".into(),
            Stat::VoicedFraction => "voiced_fraction".into(),
            Stat::EnergyMean => "log_energy_mean_db".into(),
            Stat::EnergyStd => "log_energy_std_db".into(),
            Stat::Mfcc(i) => format!("mfcc_{i}_mean"),
            Stat::CentroidMean => "spectral_centroid_mean_hz".into(),
            Stat::FluxMean => "spectral_flux_mean".into(),
            Stat::ZcrMean => "zero_crossing_rate_mean".into(),
        }
    }
}

/// A named list of word statistics: what one word's vector holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSet {
    /// The name files and checkpoints record (`full-v1`).
    pub name: &'static str,
    /// The statistics, in vector order.
    pub stats: &'static [Stat],
    /// One line for `--help` and reports.
    pub summary: &'static str,
}

const FULL_STATS: [Stat; 22] = [
    Stat::F0Mean,
    Stat::F0Std,
    Stat::F0Slope,
    Stat::VoicedFraction,
    Stat::EnergyMean,
    Stat::EnergyStd,
    Stat::Mfcc(0),
    Stat::Mfcc(1),
    Stat::Mfcc(2),
    Stat::Mfcc(3),
    Stat::Mfcc(4),
    Stat::Mfcc(5),
    Stat::Mfcc(6),
    Stat::Mfcc(7),
    Stat::Mfcc(8),
    Stat::Mfcc(9),
    Stat::Mfcc(10),
    Stat::Mfcc(11),
    Stat::Mfcc(12),
    Stat::CentroidMean,
    Stat::FluxMean,
    Stat::ZcrMean,
];

/// Every statistic: 22 dimensions.
pub const FULL: FeatureSet = FeatureSet {
    name: "full-v1",
    stats: &FULL_STATS,
    summary: "pitch (mean, std, slope, voiced share), energy (mean, std), 13 MFCC means, spectral centroid, flux, zero-crossing rate",
};

/// Pitch and energy only: 5 dimensions.
pub const PROSODY: FeatureSet = FeatureSet {
    name: "prosody-v1",
    stats: &[
        Stat::F0Mean,
        Stat::F0Std,
        Stat::VoicedFraction,
        Stat::EnergyMean,
        Stat::EnergyStd,
    ],
    summary:
        "pitch (mean, std, voiced share) and energy (mean, std): 5 dimensions, as many as MOSI's COVAREP selection",
};

/// The sets `cmbert-tui features --set` accepts.
pub const SETS: [FeatureSet; 2] = [FULL, PROSODY];

impl FeatureSet {
    /// The set of this name, if this build extracts it.
    pub fn by_name(name: &str) -> Option<FeatureSet> {
        SETS.into_iter().find(|s| s.name == name)
    }

    /// Dimensions of a word vector.
    pub fn dim(&self) -> usize {
        self.stats.len()
    }

    /// The pitch tracker's settings (the same for every set).
    pub fn pitch(&self) -> PitchParams {
        PitchParams::default()
    }

    /// The description files and checkpoints record for features of this set.
    pub fn info(&self) -> FeatureSetInfo {
        FeatureSetInfo {
            name: self.name.to_string(),
            extractor: format!("cmbert-tui {}", env!("CARGO_PKG_VERSION")),
            version: EXTRACTOR_VERSION,
            dims: self.stats.iter().map(|s| s.name()).collect(),
            frames: FrameParams::default(),
            pitch: PitchSettings::Praat(self.pitch()),
        }
    }

    /// The word vector of the frames `frames` (indices into the tracks).
    pub fn word_vector(&self, frames: std::ops::Range<usize>, tracks: &FrameTracks) -> Vec<f32> {
        let voiced: Vec<(f64, f64)> = frames
            .clone()
            .filter_map(|t| tracks.f0[t].map(|f| (tracks.times[t], f as f64)))
            .collect();
        let count = frames.len().max(1) as f64;
        // Centroid, flux and ZCR of a near-silent frame measure noise (or, in digital
        // silence, nothing): only the word's audible frames count, if it has any.
        let audible: Vec<usize> = frames.clone().filter(|&t| tracks.audible[t]).collect();
        let audible = if audible.is_empty() {
            frames.clone().collect()
        } else {
            audible
        };
        let audible_mean =
            |values: &[f32]| audible.iter().map(|&t| values[t] as f64).sum::<f64>() / audible.len() as f64;
        let mean = |values: &[f32]| values[frames.clone()].iter().map(|&v| v as f64).sum::<f64>() / count;
        let std = |values: &[f32]| {
            let m = mean(values);
            (values[frames.clone()]
                .iter()
                .map(|&v| (v as f64 - m).powi(2))
                .sum::<f64>()
                / count)
                .sqrt()
        };
        let f0_mean = if voiced.is_empty() {
            0.0
        } else {
            voiced.iter().map(|v| v.1).sum::<f64>() / voiced.len() as f64
        };
        self.stats
            .iter()
            .map(|stat| match *stat {
                Stat::F0Mean => f0_mean,
                Stat::F0Std if voiced.is_empty() => 0.0,
                Stat::F0Std => {
                    (voiced.iter().map(|v| (v.1 - f0_mean).powi(2)).sum::<f64>() / voiced.len() as f64).sqrt()
                }
                Stat::F0Slope => slope(&voiced),
                Stat::VoicedFraction => voiced.len() as f64 / count,
                Stat::EnergyMean => mean(&tracks.spectral.log_energy),
                Stat::EnergyStd => std(&tracks.spectral.log_energy),
                Stat::Mfcc(i) => frames.clone().map(|t| tracks.spectral.mfcc[t][i] as f64).sum::<f64>() / count,
                Stat::CentroidMean => audible_mean(&tracks.spectral.centroid),
                Stat::FluxMean => audible_mean(&tracks.spectral.flux),
                Stat::ZcrMean => audible_mean(&tracks.spectral.zcr),
            } as f32)
            .collect()
    }
}

fn slope(points: &[(f64, f64)]) -> f64 {
    if points.len() < 2 {
        return 0.0;
    }
    let n = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx > 0.0 {
        sxy / sxx
    } else {
        0.0
    }
}

/// What a feature file or checkpoint records about its features.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureSetInfo {
    /// The feature set's name.
    pub name: String,
    /// The program (and version) that extracted them.
    pub extractor: String,
    /// The extractor version (`EXTRACTOR_VERSION` when written by this build; absent, so 1,
    /// in files and checkpoints from before version 2).
    #[serde(default = "first_version")]
    pub version: u32,
    /// One name per dimension.
    pub dims: Vec<String>,
    /// The frame grid and MFCC recipe they were measured with.
    pub frames: FrameParams,
    /// The pitch tracker's settings.
    pub pitch: PitchSettings,
}

fn first_version() -> u32 {
    1
}

/// The pitch tracker's settings, as recorded.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum PitchSettings {
    /// Version 2: Praat's autocorrelation method.
    Praat(PitchParams),
    /// Version 1's McLeod settings: read so that its files and checkpoints are recognised
    /// (and refused with a message) rather than failing to parse.
    McLeod(McLeodParams),
}

/// Version 1's pitch tracker settings (the McLeod pitch method).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct McLeodParams {
    /// Lowest F0 looked for, Hz.
    pub floor_hz: f32,
    /// Highest F0 looked for, Hz.
    pub ceiling_hz: f32,
    /// Analysis window, samples.
    pub window: usize,
    /// Clarity threshold of a voiced frame.
    pub clarity: f32,
    /// Share of the highest peak a key maximum must reach.
    pub key: f32,
    /// Frames quieter than this were unvoiced.
    pub silence: f32,
}

/// Where the features a model is given come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeaturesFrom {
    /// A file written by `cmbert-tui features`.
    File(PathBuf),
    /// A recording this build extracts now (`open --wav`, `export --wav`).
    Recording,
}

/// Features measured by one extractor version given to a model whose scaling was fitted on
/// another's: their pitch dimensions mean different things, so scaling them would feed the
/// model wrong numbers without a sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct VersionMismatch {
    /// The feature set both are measurements of.
    pub set: String,
    /// The version of the features given, and of those the model's scaling was fitted on.
    pub features: u32,
    /// The version of the features the model's scaling was fitted on.
    pub trained: u32,
    /// Where the given features come from (decides the advice).
    pub from: FeaturesFrom,
}

impl VersionMismatch {
    fn message(&self) -> String {
        let command = |out: &str| {
            format!(
                "`cmbert-tui features --audio-dir WAVS --alignments TIMINGS --data DATA --set {} --out {out} --force`",
                self.set
            )
        };
        let retrain = format!(
            "(F0 is measured differently); extract its training audio again with {} and train it again",
            command("AUDIO.jsonl")
        );
        match &self.from {
            FeaturesFrom::Recording => format!(
                "the model's audio scaling was fitted on features of extractor version {}, but this cmbert-tui extracts version {} {retrain}",
                self.trained, self.features
            ),
            FeaturesFrom::File(_) if self.features > self.trained => format!(
                "features from extractor version {}, but the model's audio scaling was fitted on version-{} features {retrain}",
                self.features, self.trained
            ),
            FeaturesFrom::File(path) => format!(
                "features from extractor version {}, but the model was trained on version-{} features; extract them again with {}",
                self.features,
                self.trained,
                command(&path.display().to_string())
            ),
        }
    }
}

impl FeatureSetInfo {
    /// Whether features described by `self`, from `from`, can be scaled with statistics
    /// fitted on features described by `trained` (same set assumed): same extractor version.
    pub fn check_scaling(&self, trained: &FeatureSetInfo, from: FeaturesFrom) -> Result<(), VersionMismatch> {
        if self.version == trained.version {
            return Ok(());
        }
        Err(VersionMismatch {
            set: trained.name.clone(),
            features: self.version,
            trained: trained.version,
            from,
        })
    }

    /// `check_scaling` for features this build extracts from a recording now, `self`
    /// being what the model's scaling was fitted on.
    pub fn check_recording(&self) -> Result<(), VersionMismatch> {
        if self.version == EXTRACTOR_VERSION {
            return Ok(());
        }
        Err(VersionMismatch {
            set: self.name.clone(),
            features: EXTRACTOR_VERSION,
            trained: self.version,
            from: FeaturesFrom::Recording,
        })
    }
}

/// Frame tracks of one recording, on one time grid.
#[derive(Debug, Clone)]
pub struct FrameTracks {
    /// Frame centre times, seconds.
    pub times: Vec<f64>,
    /// F0 per frame, Hz; `None` where unvoiced.
    pub f0: Vec<Option<f32>>,
    /// The spectral tracks of the same frames.
    pub spectral: SpectralFrames,
    /// Within `AUDIBLE_RANGE_DB` of the recording's loudest frame.
    pub audible: Vec<bool>,
}

/// Frames more than this far below the loudest frame are silence for the spectral-shape
/// statistics.
pub const AUDIBLE_RANGE_DB: f32 = 50.0;

impl FrameTracks {
    /// Tracks on one grid; marks which frames are audible.
    pub fn new(times: Vec<f64>, f0: Vec<Option<f32>>, spectral: SpectralFrames) -> Self {
        let loudest = spectral.log_energy.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let audible = spectral
            .log_energy
            .iter()
            .map(|&e| e >= loudest - AUDIBLE_RANGE_DB)
            .collect();
        Self {
            times,
            f0,
            spectral,
            audible,
        }
    }
}

impl FrameTracks {
    /// Frames whose centre lies in `[start, end)`; a word shorter than a hop gets the frame
    /// nearest its middle, so no word is left without a vector.
    pub fn frames_in(&self, start: f64, end: f64) -> std::ops::Range<usize> {
        let first = self.times.partition_point(|&t| t < start);
        let last = self.times.partition_point(|&t| t < end);
        if first < last {
            return first..last;
        }
        let middle = (start + end) / 2.0;
        let nearest = self.times.partition_point(|&t| t < middle).min(self.times.len() - 1);
        let nearest = if nearest > 0 && (middle - self.times[nearest - 1]) < (self.times[nearest] - middle) {
            nearest - 1
        } else {
            nearest
        };
        nearest..nearest + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracks() -> FrameTracks {
        let n = 10;
        FrameTracks::new(
            (0..n).map(|t| t as f64 * 0.01).collect(),
            (0..n)
                .map(|t| (t % 2 == 0).then_some(100.0 + 10.0 * t as f32))
                .collect(),
            SpectralFrames {
                mfcc: (0..n).map(|t| vec![t as f32; 13]).collect(),
                log_energy: (0..n).map(|t| if t == 5 { -90.0 } else { -(t as f32) }).collect(),
                centroid: (0..n).map(|t| if t == 5 { 4000.0 } else { 500.0 }).collect(),
                flux: vec![0.5; n],
                zcr: vec![0.1; n],
            },
        )
    }

    #[test]
    fn sets_have_named_dimensions() {
        assert_eq!(FULL.dim(), 22);
        assert_eq!(PROSODY.dim(), 5);
        let info = FULL.info();
        assert_eq!(info.dims.len(), 22);
        assert_eq!(info.dims[6], "mfcc_0_mean");
        assert_eq!(info.dims[21], "zero_crossing_rate_mean");
        let unique: std::collections::BTreeSet<_> = info.dims.iter().collect();
        assert_eq!(unique.len(), 22);
        assert_eq!(FeatureSet::by_name("prosody-v1"), Some(PROSODY));
        assert_eq!(FeatureSet::by_name("nope"), None);
    }

    #[test]
    fn word_statistics_skip_unvoiced_frames_for_pitch() {
        let t = tracks();
        // Frames 2..6: voiced 2 (120 Hz) and 4 (140 Hz); energies -2, -3, -4 and -90 (frame 5
        // is silent: its 4 kHz centroid is noise and left out).
        let v = FULL.word_vector(2..6, &t);
        assert!((v[0] - 130.0).abs() < 1e-4, "mean {}", v[0]);
        assert!((v[1] - 10.0).abs() < 1e-4, "std {}", v[1]);
        assert!((v[2] - 1000.0).abs() < 1e-2, "slope {} Hz/s", v[2]);
        assert!((v[3] - 0.5).abs() < 1e-6);
        assert!((v[4] + 24.75).abs() < 1e-5, "{}", v[4]);
        assert!((v[6] - 3.5).abs() < 1e-6);
        assert_eq!(&v[19..], &[500.0, 0.5, 0.1]);
        let unvoiced = FULL.word_vector(3..4, &t);
        assert_eq!(&unvoiced[..4], &[0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn version_one_headers_read_as_version_one_and_versions_must_match() {
        // A header exactly as version 1 (McLeod pitch) wrote it: no version field.
        let old: FeatureSetInfo = serde_json::from_str(
            r#"{"name":"prosody-v1","extractor":"cmbert-tui 0.1.0","dims":["a"],
                "frames":{"sample_rate":16000,"n_fft":512,"win_length":400,"hop":160,"n_mels":40,"n_mfcc":13,
                          "fmin":0.0,"fmax":8000.0,"top_db":80.0},
                "pitch":{"floor_hz":75.0,"ceiling_hz":600.0,"window":640,"clarity":0.45,"key":0.9,"silence":0.03}}"#,
        )
        .unwrap();
        assert_eq!(old.version, 1);
        assert!(matches!(old.pitch, PitchSettings::McLeod(ref m) if m.window == 640));
        let new = PROSODY.info();
        assert_eq!(new.version, EXTRACTOR_VERSION);
        let round_trip: FeatureSetInfo = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert_eq!(round_trip, new);
        assert!(matches!(round_trip.pitch, PitchSettings::Praat(_)));

        assert_eq!(new.check_scaling(&new, FeaturesFrom::Recording), Ok(()));
        assert_eq!(old.check_scaling(&old, FeaturesFrom::Recording), Ok(()));
        assert_eq!(new.check_recording(), Ok(()));
        let file = PathBuf::from("my/audio.jsonl");
        let e = new
            .check_scaling(&old, FeaturesFrom::File(file.clone()))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "features from extractor version 2, but the model's audio scaling was fitted on version-1 features"
            ) && e.contains("--set prosody-v1 --out AUDIO.jsonl --force")
                && e.ends_with("train it again"),
            "{e}"
        );
        let e = old
            .check_scaling(&new, FeaturesFrom::File(file))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the model was trained on version-2 features")
                && e.ends_with("--set prosody-v1 --out my/audio.jsonl --force`"),
            "{e}"
        );
        let e = old.check_recording().unwrap_err().to_string();
        assert!(e.contains("version 1, but this cmbert-tui extracts version 2"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn frames_in_a_span_and_the_nearest_for_short_words() {
        let t = tracks();
        assert_eq!(t.frames_in(0.02, 0.05), 2..5);
        assert_eq!(t.frames_in(0.021, 0.024), 2..3);
        assert_eq!(t.frames_in(0.026, 0.029), 3..4);
        assert_eq!(t.frames_in(0.5, 0.6), 9..10);
    }
}
