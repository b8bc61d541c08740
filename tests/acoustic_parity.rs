//! Our frame features against librosa (MFCC) and Praat (F0) on the same 16 kHz files.
//! Reference values: tests/fixtures/speech/reference.json, made by
//! `scripts/audio-reference/reference.py` (librosa 0.10.2, Praat 6.1.38 via parselmouth);
//! the fixtures themselves by `scripts/audio-reference/make_fixtures.py` (espeak-ng).

mod common;

use std::path::PathBuf;

use cmbert::acoustic::set::FULL;
use cmbert::acoustic::spectral::SpectralAnalyser;
use cmbert::acoustic::wav::read_wav;
use cmbert::acoustic::{analyse, FrameTracks};
use serde_json::Value;

/// Largest |ours - librosa| allowed on any MFCC coefficient of any frame. MFCCs here span
/// about -700..+250 and the stored reference is rounded to 6 significant digits (±0.0005
/// on -439); we compute in float64, librosa in float32.
const MFCC_TOLERANCE: f64 = 0.002;
/// Praat parity criterion for F0 (issue 7): median relative error on frames both call voiced.
const F0_MEDIAN_TOLERANCE: f64 = 0.02;

fn speech() -> PathBuf {
    common::fixtures().join("speech")
}

fn reference() -> Value {
    serde_json::from_slice(&std::fs::read(speech().join("reference.json")).unwrap()).unwrap()
}

fn tracks(name: &str) -> FrameTracks {
    let (audio, format) = read_wav(&speech().join(format!("{name}.wav"))).unwrap();
    assert_eq!(
        format.sample_rate, 16_000,
        "{name}: the parity files are at the analysis rate"
    );
    analyse(&audio, &FULL)
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect())
        .collect()
}

#[test]
fn mfccs_match_librosa() {
    let reference = reference();
    let mut report = Vec::new();
    for (name, file) in reference["files"].as_object().unwrap() {
        let expected = matrix(&file["mfcc"]);
        let ours = tracks(name).spectral.mfcc;
        assert_eq!(ours.len(), expected.len(), "{name}: frame count");
        let mut worst = (0.0f64, 0, 0);
        for (t, (a, b)) in ours.iter().zip(&expected).enumerate() {
            for (k, (x, y)) in a.iter().zip(b).enumerate() {
                let d = (*x as f64 - y).abs();
                if d > worst.0 {
                    worst = (d, t, k);
                }
            }
        }
        report.push(format!(
            "{name}: max |diff| {:.5} (frame {}, c{})",
            worst.0, worst.1, worst.2
        ));
        assert!(worst.0 < MFCC_TOLERANCE, "{}", report.join("\n"));
    }
    println!("{}", report.join("\n"));
}

#[test]
fn log_mel_matches_librosa_before_the_dct() {
    let reference = reference();
    let expected = matrix(&reference["files"]["utt01"]["logmel_db"]);
    let (audio, _) = read_wav(&speech().join("utt01.wav")).unwrap();
    let (ours, _) = SpectralAnalyser::new(FULL.info().frames).log_mel(&audio.samples);
    assert_eq!(ours.len(), expected.len());
    let worst = ours
        .iter()
        .flatten()
        .zip(expected.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 0.01, "log-mel max |diff| {worst} dB");
}

/// Our F0 at Praat's frame times (linear between our 10 ms frames, both voiced).
fn f0_at(tracks: &FrameTracks, time: f64) -> Option<f64> {
    let hop = tracks.times[1] - tracks.times[0];
    let i = (time / hop).floor() as usize;
    let w = time / hop - i as f64;
    let (a, b) = (tracks.f0.get(i)?.as_ref()?, tracks.f0.get(i + 1)?.as_ref()?);
    Some(*a as f64 * (1.0 - w) + *b as f64 * w)
}

#[test]
fn f0_matches_praat_on_voiced_frames() {
    let reference = reference();
    let mut report = Vec::new();
    for (name, file) in reference["files"].as_object().unwrap() {
        let pitch = &file["pitch"];
        let times: Vec<f64> = pitch["times"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let f0: Vec<f64> = pitch["f0"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let ours = tracks(name);
        let mut errors: Vec<f64> = times
            .iter()
            .zip(&f0)
            .filter(|(_, &praat)| praat > 0.0)
            .filter_map(|(&t, &praat)| f0_at(&ours, t).map(|o| (o - praat).abs() / praat))
            .collect();
        let praat_voiced = f0.iter().filter(|&&f| f > 0.0).count();
        let only_ours = times
            .iter()
            .zip(&f0)
            .filter(|(&t, &praat)| praat == 0.0 && f0_at(&ours, t).is_some())
            .count();
        if praat_voiced == 0 {
            // White noise: Praat finds no pitch; we must not find much either.
            let ours_voiced = ours.f0.iter().filter(|f| f.is_some()).count();
            report.push(format!(
                "{name}: Praat 0 voiced frames, ours {ours_voiced} of {}",
                ours.f0.len()
            ));
            assert!(ours_voiced * 10 < ours.f0.len(), "{}", report.join("\n"));
            continue;
        }
        errors.sort_by(f64::total_cmp);
        let median = errors[errors.len() / 2];
        let within_5 = errors.iter().filter(|&&e| e < 0.05).count();
        report.push(format!(
            "{name}: {} of {praat_voiced} Praat-voiced frames voiced in ours ({only_ours} voiced only in ours); median relative error {:.3}%, {} within 5%",
            errors.len(),
            median * 100.0,
            within_5
        ));
        assert!(
            errors.len() * 2 >= praat_voiced,
            "we find pitch in too few of Praat's voiced frames\n{}",
            report.join("\n")
        );
        assert!(median < F0_MEDIAN_TOLERANCE, "{}", report.join("\n"));
    }
    println!("{}", report.join("\n"));
}

/// The same utterance stored at other rates, widths and channel counts gives the same word
/// features, up to what resampling changes: a resampler rings into the digital silence
/// between words, which moves the recording-wide -80 dB floor of the log-mel (MFCC 0 by
/// about 1 of -230 here).
#[test]
fn other_rates_widths_and_stereo_give_the_same_word_features() {
    let words_path = speech().join("utt01.TextGrid");
    let words = cmbert::acoustic::align::read_words(&words_path).unwrap();
    let extract = |wav: PathBuf| cmbert::acoustic::extract(&wav, &words, &words_path, &FULL).unwrap();
    let original = extract(speech().join("utt01.wav"));
    let dims = FULL.info().dims;
    for (variant, mfcc_tolerance) in [
        ("utt01-22050-float32.wav", 3.0),
        ("utt01-44100-stereo-pcm24.wav", 3.0),
        // 8 kHz has nothing above 4 kHz: energy, the upper mel bands (and so the MFCCs),
        // centroid and ZCR differ; pitch must not.
        ("utt01-8000-pcm32.wav", f32::INFINITY),
    ] {
        let other = extract(speech().join("variants").join(variant));
        assert_eq!(other.words, original.words);
        assert!((other.duration - original.duration).abs() < 1e-3, "{variant}");
        for (w, (a, b)) in other.features.iter().zip(&original.features).enumerate() {
            let f0 = (a[0] - b[0]).abs() / b[0].max(1.0);
            assert!(f0 < 0.02, "{variant} word {w}: F0 mean {} vs {}", a[0], b[0]);
            assert!(
                (a[3] - b[3]).abs() <= 0.2,
                "{variant} word {w}: voiced share {} vs {}",
                a[3],
                b[3]
            );
            if mfcc_tolerance.is_finite() {
                assert!(
                    (a[4] - b[4]).abs() < 0.5,
                    "{variant} word {w}: energy {} vs {} dB",
                    a[4],
                    b[4]
                );
                assert!(
                    (a[19] - b[19]).abs() < 100.0,
                    "{variant} word {w}: centroid {} vs {} Hz",
                    a[19],
                    b[19]
                );
                assert!(
                    (a[21] - b[21]).abs() < 0.01,
                    "{variant} word {w}: ZCR {} vs {}",
                    a[21],
                    b[21]
                );
            }
            for d in 6..19 {
                assert!(
                    (a[d] - b[d]).abs() < mfcc_tolerance,
                    "{variant} word {w}: {} {} vs {}",
                    dims[d],
                    a[d],
                    b[d]
                );
            }
        }
    }
}
