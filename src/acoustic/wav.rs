//! WAV in: any PCM width hound reads (8/16/24/32-bit) or 32-bit float, any channel count
//! (mixed down to mono), resampled to the analysis rate.

use std::path::Path;

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::AcousticError;

/// Mono samples in [-1, 1].
#[derive(Debug, Clone)]
pub struct Audio {
    pub samples: Vec<f32>,
    pub sample_rate: u32,
}

impl Audio {
    pub fn duration(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}

/// What the file held before conversion, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFormat {
    pub sample_rate: u32,
    pub channels: u16,
    pub bits: u16,
    pub float: bool,
}

pub fn read_wav(path: &Path) -> Result<(Audio, SourceFormat), AcousticError> {
    let wav_error = |e: hound::Error| AcousticError::Wav {
        path: path.to_path_buf(),
        message: match e {
            hound::Error::IoError(io) => io.to_string(),
            hound::Error::FormatError(m) => format!("not a WAV file this reader understands ({m})"),
            hound::Error::Unsupported => {
                "unsupported WAV encoding: expected PCM (8/16/24/32-bit) or 32-bit float".to_string()
            }
            other => other.to_string(),
        },
    };
    let mut reader = hound::WavReader::open(path).map_err(wav_error)?;
    let spec = reader.spec();
    let format = SourceFormat {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        bits: spec.bits_per_sample,
        float: spec.sample_format == hound::SampleFormat::Float,
    };
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>().map_err(wav_error)?,
        hound::SampleFormat::Int => {
            // Full scale of a b-bit signed integer is 2^(b-1): the same scaling as soundfile
            // and librosa, so features compare one to one.
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(wav_error)?
        }
    };
    let channels = spec.channels.max(1) as usize;
    let samples: Vec<f32> = if channels == 1 {
        interleaved
    } else {
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() / channels as f32)
            .collect()
    };
    if samples.is_empty() {
        return Err(AcousticError::Wav {
            path: path.to_path_buf(),
            message: "the file holds no samples".to_string(),
        });
    }
    if let Some(bad) = samples.iter().find(|v| !v.is_finite()) {
        return Err(AcousticError::Wav {
            path: path.to_path_buf(),
            message: format!("non-finite sample {bad}"),
        });
    }
    Ok((
        Audio {
            samples,
            sample_rate: spec.sample_rate,
        },
        format,
    ))
}

/// Band-limited resampling (rubato's synchronous FFT resampler), delay-compensated, so word
/// timings stay where they were.
pub fn resample(audio: Audio, rate: u32, path: &Path) -> Result<Audio, AcousticError> {
    if audio.sample_rate == rate {
        return Ok(audio);
    }
    let fail = |message: String| AcousticError::Wav {
        path: path.to_path_buf(),
        message: format!(
            "resampling from {} Hz to {rate} Hz failed: {message}",
            audio.sample_rate
        ),
    };
    let mut resampler = Fft::<f32>::new(audio.sample_rate as usize, rate as usize, 1024, 1, FixedSync::Input)
        .map_err(|e| fail(e.to_string()))?;
    let frames = audio.samples.len();
    let input = InterleavedSlice::new(&audio.samples, 1, frames).map_err(|e| fail(e.to_string()))?;
    let out = resampler
        .process_all(&input, frames, None)
        .map_err(|e| fail(e.to_string()))?;
    Ok(Audio {
        samples: out.take_data(),
        sample_rate: rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, spec: hound::WavSpec, frames: &[f32]) {
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for &v in frames {
            for _ in 0..spec.channels {
                match spec.sample_format {
                    hound::SampleFormat::Float => w.write_sample(v).unwrap(),
                    hound::SampleFormat::Int => {
                        let full = (1i64 << (spec.bits_per_sample - 1)) as f32;
                        w.write_sample((v * full) as i32).unwrap()
                    }
                }
            }
        }
        w.finalize().unwrap();
    }

    fn sine(rate: u32, freq: f32, secs: f32) -> Vec<f32> {
        (0..(rate as f32 * secs) as usize)
            .map(|i| 0.5 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn reads_every_pcm_width_and_float_and_mixes_channels_down() {
        let dir = tempfile::tempdir().unwrap();
        let signal = sine(8000, 440.0, 0.1);
        for (bits, float, channels) in [
            (16, false, 1),
            (24, false, 2),
            (32, false, 1),
            (32, true, 2),
            (8, false, 1),
        ] {
            let spec = hound::WavSpec {
                channels,
                sample_rate: 8000,
                bits_per_sample: bits,
                sample_format: if float {
                    hound::SampleFormat::Float
                } else {
                    hound::SampleFormat::Int
                },
            };
            let path = dir.path().join(format!("{bits}-{float}-{channels}.wav"));
            write(&path, spec, &signal);
            let (audio, format) = read_wav(&path).unwrap();
            assert_eq!(audio.samples.len(), signal.len(), "{path:?}");
            assert_eq!((format.bits, format.channels, format.float), (bits, channels, float));
            let tolerance = if bits == 8 { 1.0 / 64.0 } else { 1e-4 };
            let worst = audio
                .samples
                .iter()
                .zip(&signal)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < tolerance, "{path:?}: worst sample error {worst}");
        }
    }

    #[test]
    fn resampling_keeps_frequency_and_timing() {
        let audio = Audio {
            samples: sine(22050, 300.0, 1.0),
            sample_rate: 22050,
        };
        let out = resample(audio, 16000, Path::new("x.wav")).unwrap();
        assert_eq!(out.sample_rate, 16000);
        assert!((out.samples.len() as i64 - 16000).abs() <= 2, "{}", out.samples.len());
        // Compare against the same sine generated at 16 kHz, away from the edges: phase and
        // amplitude both survive (no delay left uncompensated).
        let expected = sine(16000, 300.0, 1.0);
        let worst = out.samples[800..15000]
            .iter()
            .zip(&expected[800..15000])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        // rubato compensates its delay in whole output samples; the fraction left over
        // (a 0.03 error at 300 Hz is a 32 µs shift) is far below the 10 ms frame hop.
        assert!(worst < 0.03, "worst error {worst}");
        let rms = (out.samples[800..15000].iter().map(|v| v * v).sum::<f32>() / 14200.0).sqrt();
        assert!((rms - 0.5 / 2f32.sqrt()).abs() < 0.003, "rms {rms}");
    }

    #[test]
    fn unreadable_and_empty_files_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.wav");
        std::fs::write(&text, "hello").unwrap();
        let err = read_wav(&text).unwrap_err().to_string();
        assert!(err.contains("notes.wav") && err.contains("not a WAV file"), "{err}");
        let empty = dir.path().join("empty.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        write(&empty, spec, &[]);
        let err = read_wav(&empty).unwrap_err().to_string();
        assert!(err.contains("empty.wav") && err.contains("no samples"), "{err}");
        let missing = read_wav(&dir.path().join("missing.wav")).unwrap_err().to_string();
        assert!(missing.contains("missing.wav"), "{missing}");
    }
}
