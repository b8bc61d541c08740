//! espeak-ng as a child process: found on PATH (or named by `CMBERT_ESPEAK`), run with
//! arguments (never through a shell), its exit status checked and its output bounded.
//!
//! One call speaks one word: `espeak-ng -v VOICE -p PITCH -s SPEED -a AMPLITUDE -m --stdout
//! "<speak><prosody range=\"R%\">word</prosody></speak>"`. `--stdout` writes a WAV whose
//! header cannot know the length yet (espeak-ng 1.51 writes 0x7ffff000-ish sizes), so the
//! samples are everything after the `data` chunk's header, not what its size field claims.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::prosody::WordProsody;
use super::SpeakError;

/// The environment variable naming the espeak-ng program, when it is not `espeak-ng` on PATH.
pub const PROGRAM_ENV: &str = "CMBERT_ESPEAK";

/// More than any word takes: 10 s of 22.05 kHz 16-bit mono is 441 kB.
const MAX_WAV_BYTES: u64 = 4 << 20;
/// espeak-ng's messages are a line or two; a longer stream is cut here.
const MAX_MESSAGE_BYTES: u64 = 4 << 10;
/// A word takes espeak-ng about 10 ms; one that takes this long is stuck.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How to run espeak-ng, and which one it is.
#[derive(Debug, Clone)]
pub struct Espeak {
    program: PathBuf,
    /// `espeak-ng --version`'s version, e.g. `1.51` (the bytes it speaks depend on it).
    pub version: String,
}

/// A word as espeak-ng spoke it: mono samples in [-1, 1].
#[derive(Debug, Clone)]
pub struct Spoken {
    /// The samples.
    pub samples: Vec<f32>,
    /// Samples per second (22050 for espeak-ng's own voices).
    pub sample_rate: u32,
}

impl Espeak {
    /// The espeak-ng of `CMBERT_ESPEAK` (a path, or a program name looked up on PATH), else
    /// `espeak-ng` on PATH; checked by running `--version`.
    pub fn find() -> Result<Self, SpeakError> {
        let program = std::env::var_os(PROGRAM_ENV)
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from("espeak-ng"), PathBuf::from);
        Self::at(program)
    }

    /// The espeak-ng at `program`, checked by running `--version`.
    pub fn at(program: PathBuf) -> Result<Self, SpeakError> {
        let out = run(&program, &["--version".to_string()], "--version")?;
        let text = String::from_utf8_lossy(&out);
        // "eSpeak NG text-to-speech: 1.51  Data at: /usr/lib/..."
        let version = text
            .split_once("text-to-speech:")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .map(str::to_string)
            .ok_or_else(|| SpeakError::Espeak {
                program: program.clone(),
                what: "--version".into(),
                message: format!(
                    "its version line is not espeak-ng's: {:?}",
                    text.lines().next().unwrap_or("")
                ),
            })?;
        Ok(Self { program, version })
    }

    /// The program run.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Speaks one word (letters and apostrophes only: it is passed as an argument and
    /// inside SSML) in `voice` with `prosody`.
    pub fn word(&self, voice: &str, word: &str, prosody: &WordProsody) -> Result<Spoken, SpeakError> {
        let fail = |message: String| SpeakError::Espeak {
            program: self.program.clone(),
            what: format!("the word {word:?} in voice {voice}"),
            message,
        };
        if word.is_empty() || !word.chars().all(|c| c.is_ascii_alphabetic() || c == '\'') {
            return Err(fail("only letters and apostrophes can be spoken word by word".into()));
        }
        // Lower case: espeak-ng spells out words in capitals it does not know ("IT" as I-T).
        let text = format!(
            "<speak><prosody range=\"{}%\">{}</prosody></speak>",
            prosody.range_percent,
            word.to_ascii_lowercase().replace('\'', "&apos;")
        );
        let args = [
            "-v".to_string(),
            voice.to_string(),
            "-p".to_string(),
            prosody.pitch.to_string(),
            "-s".to_string(),
            prosody.speed.to_string(),
            "-a".to_string(),
            prosody.amplitude.to_string(),
            "-m".to_string(),
            "--stdout".to_string(),
            text,
        ];
        let wav = run(&self.program, &args, &format!("the word {word:?} in voice {voice}"))?;
        parse_stream_wav(&wav).map_err(fail)
    }
}

/// Runs `program args` with no stdin, its stdout bounded to [`MAX_WAV_BYTES`] (more is an
/// error: the child is killed), its stderr kept for the message of a failure, and the child
/// killed when it runs past [`TIMEOUT`].
/// `what` says what it was asked, for messages.
fn run(program: &Path, args: &[String], what: &str) -> Result<Vec<u8>, SpeakError> {
    let fail = |message: String| SpeakError::Espeak {
        program: program.to_path_buf(),
        what: what.to_string(),
        message,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error(program, e))?;
    let pid = rustix::process::Pid::from_child(&child);
    let (mut stdout, mut stderr) = (
        child.stdout.take().expect("piped stdout"),
        child.stderr.take().expect("piped stderr"),
    );
    let (out, err, timed_out) = std::thread::scope(|scope| {
        // stderr is drained beside stdout, so a chatty child cannot block on a full pipe.
        let err = scope.spawn(move || {
            let mut kept = Vec::new();
            let _ = (&mut stderr).take(MAX_MESSAGE_BYTES).read_to_end(&mut kept);
            let _ = io::copy(&mut stderr, &mut io::sink());
            kept
        });
        // The child is reaped only after this thread is joined, so `pid` is still the child's
        // when it is killed.
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let watchdog = scope.spawn(move || {
            let late = finished.recv_timeout(TIMEOUT) == Err(std::sync::mpsc::RecvTimeoutError::Timeout);
            if late {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            late
        });
        let mut out = Vec::new();
        let read = (&mut stdout).take(MAX_WAV_BYTES + 1).read_to_end(&mut out);
        if read.is_err() || out.len() as u64 > MAX_WAV_BYTES {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        drop(stdout);
        let _ = done.send(());
        let timed_out = watchdog.join().unwrap_or(false);
        (read.map(|_| out), err.join().unwrap_or_default(), timed_out)
    });
    let status = child.wait().map_err(|e| fail(format!("cannot wait for it: {e}")))?;
    if timed_out {
        return Err(fail(format!("it ran for more than {} s; stopped", TIMEOUT.as_secs())));
    }
    let out = out.map_err(|e| fail(format!("cannot read its output: {e}")))?;
    if out.len() as u64 > MAX_WAV_BYTES {
        return Err(fail(format!("it wrote more than {MAX_WAV_BYTES} bytes; stopped")));
    }
    if !status.success() {
        let message = String::from_utf8_lossy(&err);
        let first = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(fail(format!("it failed ({status}): {first}")));
    }
    Ok(out)
}

fn spawn_error(program: &Path, e: io::Error) -> SpeakError {
    if e.kind() == io::ErrorKind::NotFound {
        SpeakError::Missing {
            program: program.to_path_buf(),
        }
    } else {
        SpeakError::Espeak {
            program: program.to_path_buf(),
            what: "start".into(),
            message: format!("cannot run it: {e}"),
        }
    }
}

/// The samples of a 16-bit mono PCM WAV as espeak-ng streams it (see the module comment).
pub fn parse_stream_wav(bytes: &[u8]) -> Result<Spoken, String> {
    let u16_at = |i: usize| bytes.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |i: usize| {
        bytes
            .get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(format!("its output is not a WAV file ({} bytes)", bytes.len()));
    }
    let mut at = 12;
    let mut sample_rate = None;
    loop {
        let (Some(id), Some(size)) = (bytes.get(at..at + 4), u32_at(at + 4)) else {
            return Err("its WAV output has no data chunk".into());
        };
        let body = at + 8;
        if id == b"fmt " {
            let (format, channels, rate, bits) = (u16_at(body), u16_at(body + 2), u32_at(body + 4), u16_at(body + 14));
            if (format, channels, bits) != (Some(1), Some(1), Some(16)) {
                return Err(format!(
                    "its WAV output is not 16-bit mono PCM (format {format:?}, {channels:?} channels, {bits:?} bits)"
                ));
            }
            sample_rate = rate.filter(|r| crate::acoustic::wav::SAMPLE_RATES.contains(r));
        } else if id == b"data" {
            let rate = sample_rate.ok_or("its WAV output has no usable fmt chunk before the data")?;
            let samples = bytes[body.min(bytes.len())..]
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
                .collect();
            return Ok(Spoken {
                samples,
                sample_rate: rate,
            });
        }
        at = body + size as usize + (size as usize & 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(rate: u32, channels: u16, bits: u16) -> Vec<u8> {
        let mut h = b"RIFF\x24\xf0\xff\x7fWAVEfmt \x10\0\0\0\x01\0".to_vec();
        h.extend(channels.to_le_bytes());
        h.extend(rate.to_le_bytes());
        h.extend((rate * 2).to_le_bytes());
        h.extend(2u16.to_le_bytes());
        h.extend(bits.to_le_bytes());
        h.extend(b"data\x00\xf0\xff\x7f");
        h
    }

    #[test]
    fn a_streamed_wav_is_read_to_its_end_whatever_its_sizes_claim() {
        let mut bytes = header(22050, 1, 16);
        for s in [0i16, 16384, -32768, 1] {
            bytes.extend(s.to_le_bytes());
        }
        let spoken = parse_stream_wav(&bytes).unwrap();
        assert_eq!(spoken.sample_rate, 22050);
        assert_eq!(spoken.samples, vec![0.0, 0.5, -1.0, 1.0 / 32768.0]);
    }

    #[test]
    fn other_output_is_refused_with_what_it_is() {
        assert!(parse_stream_wav(b"hello")
            .unwrap_err()
            .contains("not a WAV file (5 bytes)"));
        assert!(parse_stream_wav(&header(22050, 2, 16))
            .unwrap_err()
            .contains("not 16-bit mono PCM"));
        assert!(parse_stream_wav(&header(1000, 1, 16))
            .unwrap_err()
            .contains("no usable fmt chunk"));
        assert!(parse_stream_wav(&header(22050, 1, 16)[..36])
            .unwrap_err()
            .contains("no data chunk"));
    }
}
