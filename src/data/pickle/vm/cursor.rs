//! Reading the input: bytes, length fields and text arguments, from memory or from the
//! stream, each length checked against what the file holds before anything is allocated.

use std::borrow::Cow;
use std::rc::Rc;

use super::{clip, Machine, Val};
use crate::data::pickle::PickleError;

impl<'a> Machine<'a> {
    /// Checks that `n` more bytes remain: a length the file cannot hold means it was cut.
    pub(super) fn check_left(&self, n: usize) -> Result<(), PickleError> {
        if n > self.len - self.pos {
            return Err(PickleError::Truncated { offset: self.len });
        }
        Ok(())
    }

    /// The next `n` bytes: borrowed from memory, or read from the stream (and then charged
    /// like any copy; each byte of the file is read at most once this way, so the stream's
    /// reads never cost more than the file's length).
    pub(super) fn take(&mut self, n: usize) -> Result<Cow<'a, [u8]>, PickleError> {
        self.check_left(n)?;
        let start = self.pos;
        let bytes = if self.stream.is_none() {
            let data: &'a [u8] = self.data;
            Cow::Borrowed(&data[start..start + n])
        } else {
            self.charge(n)?;
            let mut buf = vec![0; n];
            if let Some(s) = &mut self.stream {
                s.read_exact(&mut buf, start)?;
            }
            Cow::Owned(buf)
        };
        self.pos += n;
        Ok(bytes)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        self.check_left(N)?;
        let mut out = [0u8; N];
        match &mut self.stream {
            None => out.copy_from_slice(&self.data[self.pos..self.pos + N]),
            Some(s) => s.read_exact(&mut out, self.pos)?,
        }
        self.pos += N;
        Ok(out)
    }

    /// Moves past `n` bytes without reading them.
    pub(super) fn skip(&mut self, n: usize) -> Result<(), PickleError> {
        self.check_left(n)?;
        if let Some(s) = &mut self.stream {
            s.skip(n, self.pos)?;
        }
        self.pos += n;
        Ok(())
    }

    /// A length field of 1, 4 or 8 bytes; a length that cannot fit in memory is left huge so
    /// that `take` reports the file as too short for it.
    pub(super) fn len_field(&mut self, width: usize) -> Result<usize, PickleError> {
        Ok(match width {
            1 => self.array::<1>()?[0] as usize,
            4 => u32::from_le_bytes(self.array()?) as usize,
            _ => usize::try_from(u64::from_le_bytes(self.array()?)).unwrap_or(usize::MAX),
        })
    }

    /// BINBYTES and the like: a span of the input, or (streaming) the bytes read into
    /// memory, unless they are long enough to be left in the file (`read_pickle_lazy`).
    pub(super) fn span(&mut self, width: usize) -> Result<Val, PickleError> {
        let n = self.len_field(width)?;
        let start = self.pos;
        let left_in_file = match &self.stream {
            None => true,
            Some(s) => s.lazy_from.is_some_and(|min| n >= min),
        };
        if left_in_file {
            self.skip(n)?;
            return Ok(Val::Span(start, n));
        }
        self.check_left(n)?;
        self.charge(n)?;
        let bytes = match &mut self.stream {
            Some(s) => s.read_shared(n, start)?,
            None => Rc::from(&[][..]),
        };
        self.pos += n;
        Ok(Val::Bytes(bytes))
    }

    pub(super) fn utf8(&mut self, width: usize) -> Result<Val, PickleError> {
        let n = self.len_field(width)?;
        let raw = self.take(n)?;
        let text = String::from_utf8_lossy(&raw);
        // Lossy decoding can triple the length (U+FFFD for each bad byte).
        self.charge(text.len())?;
        Ok(Val::Str(text.into()))
    }

    /// A protocol-0 argument: text up to a newline. Streamed, the line is charged as it is
    /// read (it holds bytes the opcode consumes, so at most the file's length in all).
    pub(super) fn line(&mut self) -> Result<Cow<'a, str>, PickleError> {
        let truncated = PickleError::Truncated { offset: self.len };
        let line: Cow<'a, [u8]> = match &mut self.stream {
            None => {
                let data: &'a [u8] = self.data;
                let rest = &data[self.pos..];
                let n = rest.iter().position(|&b| b == b'\n').ok_or(truncated)?;
                Cow::Borrowed(&rest[..=n])
            }
            Some(s) => Cow::Owned(s.read_line(self.len - self.pos, self.pos)?.ok_or(truncated)?),
        };
        self.pos += line.len();
        if self.stream.is_some() {
            self.charge(line.len())?;
        }
        let text = match line {
            Cow::Borrowed(b) => std::str::from_utf8(&b[..b.len() - 1]).ok().map(Cow::Borrowed),
            Cow::Owned(mut b) => {
                b.pop();
                String::from_utf8(b).ok().map(Cow::Owned)
            }
        };
        text.ok_or_else(|| self.malformed("text argument is not UTF-8"))
    }

    pub(super) fn text_int<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, PickleError> {
        let line = self.line()?;
        line.trim()
            .trim_end_matches('L')
            .parse()
            .map_err(|_| self.malformed(format!("bad {what} \"{}\"", clip(&line))))
    }

    /// A 4-byte signed length (LONG4, BINSTRING).
    pub(super) fn signed_len(&mut self, what: &str) -> Result<usize, PickleError> {
        let n = i32::from_le_bytes(self.array()?);
        usize::try_from(n).map_err(|_| self.malformed(format!("{what} with a negative length")))
    }
}
