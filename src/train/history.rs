//! A run's history on disk: `RUN/history.jsonl`, one JSON object a line.
//!
//! A session starts with a header line (format version, the run's spec, the machine, the
//! start time, and the step a `--resume` continued from); then one line per optimiser step,
//! per evaluation, per checkpoint save, per pause / resume / stop, and the final test
//! figures. `--resume` appends a new session to the same file, so the curve continues with
//! the resume marked. The format is described field by field in the README ("Run history").
//!
//! Each line is written whole and handed to the kernel at once (one `write` per line, no
//! fsync): a crash or `kill -9` loses nothing written before it, only a power cut can. A line
//! costs a few microseconds against steps of milliseconds (the overhead is measured in
//! docs/BENCHMARKS.md). The reader accepts a truncated last line (the process died inside a
//! write) and names the file and line of anything else it cannot read.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use super::config::RunSpec;
use super::metrics::Metrics;
use super::record::Saved;
use crate::data::Split;

/// The history file inside a run directory.
pub const HISTORY_FILE: &str = "history.jsonl";
/// The version this build writes and the newest it reads.
pub const HISTORY_VERSION: u32 = 1;
/// No line we write comes near this; a longer one is not a history line.
const MAX_LINE: u64 = 1 << 20;

/// Where and when a session ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// The history format's version (`HISTORY_VERSION` when written by this build).
    pub version: u32,
    /// The run as started or resumed.
    pub spec: RunSpec,
    /// The machine it ran on.
    pub machine: Machine,
    /// RFC 3339, local time.
    pub started: String,
    /// Optimiser steps already taken when this session started (0 for a new run).
    pub first_step: usize,
    /// Whether this session continued an earlier one (`--resume`).
    pub resumed: bool,
}

/// The machine a session ran on, as figures are compared across machines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's model name (`/proc/cpuinfo`), or the architecture where it is unknown.
    pub cpu: String,
    /// Hardware threads available to the process.
    pub threads: usize,
    /// Operating system.
    pub os: String,
    /// Where the model ran (`cpu`, `cuda:0`).
    pub device: String,
}

impl Machine {
    /// This machine, running the model on `device`.
    pub fn this(device: &str) -> Self {
        Self {
            cpu: cpu_model().unwrap_or_else(|| std::env::consts::ARCH.to_string()),
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            os: std::env::consts::OS.to_string(),
            device: device.to_string(),
        }
    }
}

fn cpu_model() -> Option<String> {
    let mut text = String::new();
    File::open("/proc/cpuinfo")
        .ok()?
        .take(1 << 20)
        .read_to_string(&mut text)
        .ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix("model name")?
            .split_once(':')
            .map(|(_, v)| v.trim().to_string())
    })
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// A session starts (a new run, or `--resume`).
    Header(Header),
    /// One optimiser step.
    Step {
        /// Optimiser steps taken, this one included.
        step: usize,
        /// The epoch it belongs to, from 1.
        epoch: usize,
        /// The batch's training loss.
        #[serde(deserialize_with = "f32_or_nan")]
        loss: f32,
        /// The learning rate of the head's group at this step.
        lr: f64,
        /// Seconds since the session started.
        seconds: f64,
    },
    /// An evaluation: dev at each epoch end, test at the end.
    Eval {
        /// The split evaluated.
        split: Split,
        /// The epoch just finished (dev), from 1; `None` for the final test.
        epoch: Option<usize>,
        /// Optimiser steps taken.
        step: usize,
        /// The split's mean loss.
        #[serde(deserialize_with = "f64_or_nan")]
        loss: f64,
        /// Every metric.
        metrics: Metrics,
        /// Whether this dev epoch is the best so far.
        best: bool,
        /// Dev: the mean training loss over the epoch's batches (absent for the test).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        train_loss: Option<f64>,
    },
    /// A checkpoint was written.
    Saved {
        /// `best/` or `last/`.
        checkpoint: Saved,
        /// Optimiser steps behind its weights.
        step: usize,
    },
    /// Training paused (`p` in the app).
    Paused {
        /// Optimiser steps taken.
        step: usize,
    },
    /// Training went on after a pause.
    Resumed {
        /// Optimiser steps taken.
        step: usize,
    },
    /// The run was stopped before its end (Ctrl-C, `q`): `last/` holds it for `--resume`.
    Stopped {
        /// Optimiser steps taken.
        step: usize,
    },
    /// The run ended: test figures of its best checkpoint.
    Finished {
        /// The best dev epoch, from 1.
        best_epoch: usize,
        /// Its dev loss.
        #[serde(deserialize_with = "f64_or_nan")]
        best_dev_loss: f64,
        /// Seconds the session trained.
        seconds: f64,
    },
    /// The run failed with this message.
    Failed {
        /// What went wrong, as printed.
        message: String,
    },
}

impl Entry {
    /// The line's `kind`, as written.
    fn name(&self) -> &'static str {
        match self {
            Self::Header(_) => "header",
            Self::Step { .. } => "step",
            Self::Eval { .. } => "eval",
            Self::Saved { .. } => "saved",
            Self::Paused { .. } => "paused",
            Self::Resumed { .. } => "resumed",
            Self::Stopped { .. } => "stopped",
            Self::Finished { .. } => "finished",
            Self::Failed { .. } => "failed",
        }
    }
}

/// JSON has no NaN: serde_json writes one as `null`, read back as NaN.
fn f64_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

fn f32_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    Ok(Option::<f32>::deserialize(d)?.unwrap_or(f32::NAN))
}

/// What can go wrong with a history file.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The history file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A line that is not a history line (and not a truncated last one).
    #[error("{}: line {line}: {message}", path.display())]
    Line {
        /// The history file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Written by a newer cmbert-tui.
    #[error("{}: line {line}: history version {found}, this cmbert-tui reads up to {HISTORY_VERSION}: open it with a newer cmbert-tui", path.display())]
    Version {
        /// The history file.
        path: PathBuf,
        /// 1-based line number of the header.
        line: usize,
        /// The version the header claims.
        found: u32,
    },
}

/// Appends a run's history (`RUN/history.jsonl`).
pub struct HistoryWriter {
    file: File,
    path: PathBuf,
    line: Vec<u8>,
}

impl HistoryWriter {
    /// Opens `run/history.jsonl` for appending (creating it) and writes the session's header.
    pub fn start(run: &Path, header: Header) -> Result<Self, HistoryError> {
        let path = run.join(HISTORY_FILE);
        let io = |source| HistoryError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
        let mut writer = Self {
            file,
            path,
            line: Vec::with_capacity(512),
        };
        writer.drop_cut_line()?;
        writer.write(&Entry::Header(header))?;
        Ok(writer)
    }

    /// A file cut inside a line (a crash while writing) loses that line before the next
    /// session is appended: it was never whole, and left in place it would become a middle
    /// line that does not parse.
    fn drop_cut_line(&mut self) -> Result<(), HistoryError> {
        let io = |source| HistoryError::Io {
            path: self.path.clone(),
            source,
        };
        let len = self.file.metadata().map_err(io)?.len();
        let tail_len = len.min(MAX_LINE + 1);
        let mut tail = vec![0u8; tail_len as usize];
        let mut reader = File::open(&self.path).map_err(io)?;
        std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(len - tail_len)).map_err(io)?;
        reader.read_exact(&mut tail).map_err(io)?;
        let keep = match tail.iter().rposition(|&b| b == b'\n') {
            Some(last) => len - tail_len + last as u64 + 1,
            None if len <= MAX_LINE => 0,
            None => {
                return Err(io(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("its last line is longer than {MAX_LINE} bytes: not a history to append to"),
                )))
            }
        };
        if keep < len {
            self.file.set_len(keep).map_err(io)?;
        }
        Ok(())
    }

    /// Writes one line, handed to the kernel at once.
    pub fn write(&mut self, entry: &Entry) -> Result<(), HistoryError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, entry).map_err(|e| HistoryError::Line {
            path: self.path.clone(),
            line: 0,
            message: format!("cannot write a {} line: {e}", entry.name()),
        })?;
        self.line.push(b'\n');
        self.file.write_all(&self.line).map_err(|source| HistoryError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// From now on writes go to `file` (a test's `/dev/full`: a disk that fills mid-run).
    #[cfg(test)]
    pub(crate) fn redirect(&mut self, file: File) {
        self.file = file;
    }
}

/// One session of a history: its header and the lines that followed.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// How the session started.
    pub header: Header,
    /// Everything after the header, in order.
    pub entries: Vec<Entry>,
}

/// A run's history as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// Sessions in order: the run, then each `--resume`.
    pub sessions: Vec<Session>,
    /// The last line was cut off (the process died while writing it) and was left out.
    pub truncated: bool,
}

impl History {
    /// Reads `run/history.jsonl`; `Ok(None)` when the run has none (a run from before
    /// histories, or another tool's checkpoint).
    pub fn read_run(run: &Path) -> Result<Option<Self>, HistoryError> {
        let path = run.join(HISTORY_FILE);
        // A regular file only: a FIFO would block the open, a device never end.
        match crate::fsutil::open_input(&path) {
            Ok(file) => Self::read(&path, file).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(HistoryError::Io { path, source }),
        }
    }

    /// Reads a history from `source`; `path` names it in errors.
    pub fn read(path: &Path, source: impl Read) -> Result<Self, HistoryError> {
        let mut reader = BufReader::new(source);
        let mut history = Self {
            sessions: Vec::new(),
            truncated: false,
        };
        let mut buf = Vec::new();
        let mut number = 0usize;
        let bad = |line: usize, message: String| HistoryError::Line {
            path: path.to_path_buf(),
            line,
            message,
        };
        loop {
            buf.clear();
            let read = (&mut reader)
                .take(MAX_LINE + 1)
                .read_until(b'\n', &mut buf)
                .map_err(|source| HistoryError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
            if read == 0 {
                break;
            }
            number += 1;
            let complete = buf.last() == Some(&b'\n');
            if !complete && buf.len() as u64 > MAX_LINE {
                return Err(bad(number, format!("longer than {MAX_LINE} bytes: not a history line")));
            }
            let text = match std::str::from_utf8(&buf) {
                Ok(text) => text.trim(),
                Err(_) if !complete => {
                    history.truncated = true;
                    break;
                }
                Err(e) => return Err(bad(number, format!("not UTF-8 ({e})"))),
            };
            if text.is_empty() {
                continue;
            }
            let entry = match parse(text) {
                Ok(entry) => entry,
                // A line cut by a crash: only ever the last one.
                Err(_) if !complete => {
                    history.truncated = true;
                    break;
                }
                Err(Parse::Version(found)) => {
                    return Err(HistoryError::Version {
                        path: path.to_path_buf(),
                        line: number,
                        found,
                    })
                }
                Err(Parse::Bad(message)) => return Err(bad(number, message)),
            };
            match (entry, history.sessions.last_mut()) {
                (Entry::Header(header), _) => history.sessions.push(Session {
                    header,
                    entries: Vec::new(),
                }),
                (entry, Some(session)) => session.entries.push(entry),
                (_, None) => return Err(bad(number, "a history starts with a header line".into())),
            }
        }
        Ok(history)
    }

    /// Every entry of every session, in order, with the session's index.
    pub fn entries(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.sessions
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.entries.iter().map(move |e| (i, e)))
    }
}

enum Parse {
    Version(u32),
    Bad(String),
}

fn parse(text: &str) -> Result<Entry, Parse> {
    // The version is checked before the shape: a newer header may not parse as ours.
    #[derive(Deserialize)]
    struct Probe {
        kind: Option<String>,
        version: Option<u32>,
    }
    if let Ok(Probe {
        kind: Some(kind),
        version: Some(found),
    }) = serde_json::from_str::<Probe>(text)
    {
        if kind == "header" && found > HISTORY_VERSION {
            return Err(Parse::Version(found));
        }
    }
    serde_json::from_str(text).map_err(|e| Parse::Bad(format!("not a history line: {e}")))
}

#[cfg(test)]
mod tests;
