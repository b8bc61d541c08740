//! A pickle file read as the machine runs, for [`super::read_pickle`] and
//! [`super::read_pickle_lazy`]: the machine asks for the bytes each opcode consumes and
//! nothing more is held, so a file of several gigabytes costs what is built from it, not
//! its size. Byte payloads at least `lazy_from` long (the data of NumPy arrays) are skipped
//! with a seek and read back only if something asks for them.

use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::PickleError;

/// Buffer of the reader: opcodes are a few bytes each; large payloads bypass it.
const BUFFER: usize = 64 << 10;

pub(super) struct Stream {
    reader: BufReader<File>,
    pub(super) path: PathBuf,
    /// Byte payloads at least this long stay in the file; `None`: everything is read.
    pub(super) lazy_from: Option<usize>,
}

/// An opened pickle file: its stream, its length and its first bytes (to recognise other
/// formats before running anything).
pub(super) struct Opened {
    pub(super) stream: Stream,
    pub(super) len: usize,
    pub(super) head: Vec<u8>,
}

impl Stream {
    pub(super) fn open(path: &Path, lazy_from: Option<usize>) -> Result<Opened, PickleError> {
        let io = |error| PickleError::Io {
            path: path.to_path_buf(),
            error,
        };
        // A regular file only: a FIFO would block the open, a device never end.
        let mut file = crate::fsutil::open_input(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        // A length beyond the address space cannot be held whatever it is; lengths in it are
        // then checked against this smaller bound, which only refuses more.
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let mut head = Vec::with_capacity(8);
        (&mut file).take(8).read_to_end(&mut head).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok(Opened {
            stream: Stream {
                reader: BufReader::with_capacity(BUFFER, file),
                path: path.to_path_buf(),
                lazy_from,
            },
            len,
            head,
        })
    }

    /// A read error: a file that ends early (it shrank since it was opened) is truncated at
    /// `at`; anything else is the system's error.
    fn error(&self, error: std::io::Error, at: usize) -> PickleError {
        if error.kind() == ErrorKind::UnexpectedEof {
            PickleError::Truncated { offset: at }
        } else {
            PickleError::Io {
                path: self.path.clone(),
                error,
            }
        }
    }

    /// Fills `buf` from the current position, which is byte `at` of the file.
    pub(super) fn read_exact(&mut self, buf: &mut [u8], at: usize) -> Result<(), PickleError> {
        self.reader.read_exact(buf).map_err(|e| self.error(e, at))
    }

    /// Moves `n` bytes on without reading them.
    pub(super) fn skip(&mut self, n: usize, at: usize) -> Result<(), PickleError> {
        let n = i64::try_from(n).map_err(|_| PickleError::Truncated { offset: at })?;
        self.reader.seek_relative(n).map_err(|e| self.error(e, at))
    }

    /// Bytes up to and including the next newline, reading at most `limit` bytes (what is
    /// left of the file); `None` if there is no newline within them.
    pub(super) fn read_line(&mut self, limit: usize, at: usize) -> Result<Option<Vec<u8>>, PickleError> {
        let mut line = Vec::new();
        (&mut self.reader)
            .take(limit as u64)
            .read_until(b'\n', &mut line)
            .map_err(|e| self.error(e, at))?;
        Ok((line.last() == Some(&b'\n')).then_some(line))
    }

    /// `n` bytes at `start`, which an earlier opcode skipped; the stream then resumes at
    /// `resume`. The caller has charged them.
    pub(super) fn read_at(&mut self, start: usize, n: usize, resume: usize) -> Result<Rc<[u8]>, PickleError> {
        let seek = |s: &mut Self, to: usize| {
            s.reader
                .seek(SeekFrom::Start(to as u64))
                .map(drop)
                .map_err(|e| s.error(e, to))
        };
        seek(self, start)?;
        let mut bytes = zeroed(n);
        if let Some(buf) = Rc::get_mut(&mut bytes) {
            self.read_exact(buf, start)?;
        }
        seek(self, resume)?;
        Ok(bytes)
    }

    /// `n` bytes from the current position, in one allocation.
    pub(super) fn read_shared(&mut self, n: usize, at: usize) -> Result<Rc<[u8]>, PickleError> {
        let mut bytes = zeroed(n);
        if let Some(buf) = Rc::get_mut(&mut bytes) {
            self.read_exact(buf, at)?;
        }
        Ok(bytes)
    }
}

/// A zeroed shared buffer, allocated once (collecting a sized iterator into an `Rc<[u8]>`
/// does not go through a `Vec` and a copy).
fn zeroed(n: usize) -> Rc<[u8]> {
    std::iter::repeat_n(0u8, n).collect()
}
