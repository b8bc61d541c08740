//! WAV in: any PCM width hound reads (8/16/24/32-bit) or 32-bit float, any channel count
//! (mixed down to mono), resampled to the analysis rate.
//!
//! The header is a claim: its sample rate, channel count and sample width are checked
//! against sane ranges, and the samples it declares against the bytes the file has, before
//! anything is allocated. The rate matters most: the resampler's FFT sizes follow the
//! ratio of the two rates, so a header claiming 4294967295 Hz would cost gigabytes. Memory
//! is then at most 4 bytes per sample held (8-bit files: 4x their size), twice that while
//! mixing down, and at most twice that again after resampling (8 kHz up to 16 kHz).

use std::io::{Cursor, Read, Seek};
use std::ops::RangeInclusive;
use std::path::Path;

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::AcousticError;

/// Sample rates read: telephone speech (8 kHz) to high-resolution masters (384 kHz). Below
/// 8 kHz there is no speech band left to analyse.
pub const SAMPLE_RATES: RangeInclusive<u32> = 8_000..=384_000;

/// More channels than any recording setup a speech corpus comes from.
pub const MAX_CHANNELS: u16 = 64;

/// Mono samples in [-1, 1].
#[derive(Debug, Clone)]
pub struct Audio {
    /// Samples, mixed down to mono.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl Audio {
    /// Length, seconds.
    pub fn duration(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}

/// What the file held before conversion, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFormat {
    /// Samples per second as stored.
    pub sample_rate: u32,
    /// Channels before mixing down.
    pub channels: u16,
    /// Bits per sample.
    pub bits: u16,
    /// Whether samples were floating point.
    pub float: bool,
}

/// Reads a WAV file (PCM 8/16/24/32-bit or 32-bit float) and mixes it down to mono.
pub fn read_wav(path: &Path) -> Result<(Audio, SourceFormat), AcousticError> {
    let io = |e: std::io::Error| AcousticError::Wav {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    // A regular file only: a FIFO would block the open, a device never end.
    let file = crate::fsutil::open_input(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    decode_from(std::io::BufReader::new(file), size, path)
}

/// A WAV file's bytes; `path` names it in messages.
pub fn decode(bytes: &[u8], path: &Path) -> Result<(Audio, SourceFormat), AcousticError> {
    decode_from(Cursor::new(bytes), bytes.len() as u64, path)
}

fn decode_from<R: Read + Seek>(reader: R, size: u64, path: &Path) -> Result<(Audio, SourceFormat), AcousticError> {
    let fail = |message: String| AcousticError::Wav {
        path: path.to_path_buf(),
        message,
    };
    let wav_error = |e: hound::Error| {
        fail(match e {
            hound::Error::IoError(io) => io.to_string(),
            hound::Error::FormatError(m) => format!("not a WAV file this reader understands ({m})"),
            hound::Error::Unsupported => {
                "unsupported WAV encoding: expected PCM (8/16/24/32-bit) or 32-bit float".to_string()
            }
            other => other.to_string(),
        })
    };
    // hound reads what the chunk walk hands it (`riff.rs`: hound misreads a file with an
    // odd-length chunk).
    let reader = super::riff::fmt_and_data(reader).map_err(|e| {
        fail(match e.kind() {
            std::io::ErrorKind::InvalidData => format!("not a WAV file this reader understands ({e})"),
            _ => e.to_string(),
        })
    })?;
    let mut reader = hound::WavReader::new(reader).map_err(wav_error)?;
    let spec = reader.spec();
    let format = SourceFormat {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        bits: spec.bits_per_sample,
        float: spec.sample_format == hound::SampleFormat::Float,
    };
    check_rate(spec.sample_rate).map_err(fail)?;
    if !(1..=MAX_CHANNELS).contains(&spec.channels) {
        return Err(fail(format!(
            "{} channels; expected 1 to {MAX_CHANNELS}",
            spec.channels
        )));
    }
    if !(1..=32).contains(&spec.bits_per_sample) {
        return Err(fail(format!(
            "{} bits per sample; expected 8, 16, 24 or 32",
            spec.bits_per_sample
        )));
    }
    // Each sample takes at least its whole bytes: more samples than that fits in the file
    // is a false header (or a truncated file), found before anything is allocated for them.
    let declared = u64::from(reader.len());
    let needs = declared * u64::from(spec.bits_per_sample.div_ceil(8));
    if needs > size {
        return Err(fail(format!(
            "the header declares {declared} samples ({needs} bytes) but the whole file is {size} bytes (truncated?)"
        )));
    }
    let mut interleaved: Vec<f32> = Vec::with_capacity(declared as usize);
    match spec.sample_format {
        hound::SampleFormat::Float => {
            for s in reader.samples::<f32>() {
                interleaved.push(s.map_err(wav_error)?);
            }
        }
        hound::SampleFormat::Int => {
            // Full scale of a b-bit signed integer is 2^(b-1): the same scaling as soundfile
            // and librosa, so features compare one to one.
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            for s in reader.samples::<i32>() {
                interleaved.push(s.map_err(wav_error)? as f32 * scale);
            }
        }
    }
    let channels = spec.channels as usize;
    let samples: Vec<f32> = if channels == 1 {
        interleaved
    } else {
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() / channels as f32)
            .collect()
    };
    if samples.is_empty() {
        return Err(fail("the file holds no samples".to_string()));
    }
    if let Some(bad) = samples.iter().find(|v| !(v.is_finite() && v.abs() <= MAX_SAMPLE)) {
        return Err(fail(format!(
            "sample {bad} is not audio: samples are scaled to [-1, 1] (at most {MAX_SAMPLE} is accepted)"
        )));
    }
    Ok((
        Audio {
            samples,
            sample_rate: spec.sample_rate,
        },
        format,
    ))
}

/// Float WAVs nominally hold [-1, 1]; a little more is clipping headroom. Values near f32::MAX
/// overflow the resampler's FFT (rubato then panics), and no recording holds them.
const MAX_SAMPLE: f32 = 1e4;

fn check_rate(rate: u32) -> Result<(), String> {
    if SAMPLE_RATES.contains(&rate) {
        Ok(())
    } else {
        Err(format!(
            "sample rate {rate} Hz; expected {} to {} Hz",
            SAMPLE_RATES.start(),
            SAMPLE_RATES.end()
        ))
    }
}

/// Band-limited resampling (rubato's synchronous FFT resampler), delay-compensated, so word
/// timings stay where they were. Both rates must be in [`SAMPLE_RATES`]: rubato's FFT sizes
/// are the rates divided by their greatest common divisor (at most 384,000 then), and its
/// output is at most the input times the ratio of the rates.
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
    check_rate(audio.sample_rate).and(check_rate(rate)).map_err(fail)?;
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

    /// A PCM WAV header by hand (hound checks `byte_rate = block_align * rate`), then `data`.
    fn wav_bytes(rate: u32, channels: u16, bits: u16, declared: u32, data: &[u8]) -> Vec<u8> {
        let block_align = channels * bits / 8;
        let mut b = b"RIFF".to_vec();
        b.extend((36 + declared).to_le_bytes());
        b.extend(b"WAVEfmt ");
        b.extend(16u32.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.extend(channels.to_le_bytes());
        b.extend(rate.to_le_bytes());
        b.extend(rate.wrapping_mul(u32::from(block_align)).to_le_bytes());
        b.extend(block_align.to_le_bytes());
        b.extend(bits.to_le_bytes());
        b.extend(b"data");
        b.extend(declared.to_le_bytes());
        b.extend(data);
        b
    }

    #[test]
    fn hostile_headers_are_refused_before_allocating() {
        let p = Path::new("h.wav");
        let err = |bytes: Vec<u8>| decode(&bytes, p).unwrap_err().to_string();
        // 16 KB declaring 4294967295 Hz: the resampler would have sized its FFTs from it.
        let noise = vec![0x80u8; 16_000];
        let e = err(wav_bytes(u32::MAX, 1, 8, 16_000, &noise));
        assert!(
            e.starts_with("h.wav: sample rate 4294967295 Hz; expected 8000 to 384000 Hz"),
            "{e}"
        );
        assert!(err(wav_bytes(100, 1, 8, 16_000, &noise)).contains("sample rate 100 Hz"));
        let e = err(wav_bytes(8_000, 100, 8, 16_000, &noise));
        assert!(e.contains("100 channels; expected 1 to 64"), "{e}");
        // A data chunk that claims 4 GB in a 16 KB file.
        let e = err(wav_bytes(16_000, 1, 16, 4_000_000_000, &noise));
        assert!(
            e.contains("declares 2000000000 samples (4000000000 bytes) but the whole file is 16044 bytes"),
            "{e}"
        );
        let ok = decode(&wav_bytes(8_000, 2, 8, 16_000, &noise), p).unwrap();
        assert_eq!((ok.0.samples.len(), ok.1.channels), (8_000, 2));
        // Resampling refuses rates outside the range even for audio built in code.
        let audio = Audio {
            samples: vec![0.0; 100],
            sample_rate: u32::MAX,
        };
        let e = resample(audio, 16_000, p).unwrap_err().to_string();
        assert!(e.contains("sample rate 4294967295 Hz"), "{e}");
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

    /// Found by the fuzz test (tests/fuzz.rs, wav): float samples near f32::MAX overflowed the
    /// resampler's FFT and rubato panicked.
    #[test]
    fn float_samples_far_outside_the_audio_range_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loud.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 22050,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut frames = vec![0.1f32; 2000];
        frames[100] = 2.5e38;
        write(&path, spec, &frames);
        let err = read_wav(&path).unwrap_err().to_string();
        assert!(err.contains("loud.wav") && err.contains("not audio"), "{err}");
    }
}
