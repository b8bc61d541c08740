//! Numeric NumPy arrays left in the file by [`super::read_pickle_lazy`]: what the pickle
//! says of them (shape, type, byte order, layout, where the data lies) is checked as the
//! machine runs, and the values are read when a caller asks for them, straight into the
//! type it wants. A reader that needs two arrays of a file holding ten never reads the
//! other eight.

use std::fmt;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::dtype::Elem;
use super::numpy::{fortran_to_c, numbers};
use super::{NdArray, PickleError};

/// Items converted per read: bounds the scratch memory of a decode (a megabyte or so)
/// whatever the array's size.
const CHUNK_ITEMS: usize = 1 << 16;

/// A numeric NumPy array whose data is still in the file. Its values are read by
/// [`LazyArray::to_f32`] or [`LazyArray::decode`] (which gives the [`NdArray`] that
/// [`super::read_pickle`] would have); they equal what the eager reader gives, value for
/// value.
#[derive(Clone, PartialEq)]
pub struct LazyArray {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// NumPy's name for the stored type, as [`NdArray::dtype`].
    pub dtype: String,
    path: PathBuf,
    /// Where the data starts in the file.
    offset: u64,
    elem: Elem,
    big_endian: bool,
    fortran: bool,
}

impl fmt::Debug for LazyArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LazyArray {{ shape: {:?}, dtype: {:?}, at byte {} of {} }}",
            self.shape,
            self.dtype,
            self.offset,
            self.path.display()
        )
    }
}

#[cfg(test)]
thread_local! {
    /// Bytes of array data decoded on this thread, for the tests that show an array nobody
    /// asked for is never read.
    static DECODED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Bytes of lazy array data decoded so far on this thread.
#[cfg(test)]
pub(crate) fn decoded_bytes() -> u64 {
    DECODED.with(std::cell::Cell::get)
}

impl LazyArray {
    /// Made by the machine once the data's length has been checked against the shape (so
    /// the count of items fits in `usize`).
    pub(super) fn new(
        shape: Vec<usize>,
        elem: Elem,
        big_endian: bool,
        fortran: bool,
        path: &Path,
        offset: usize,
    ) -> Self {
        LazyArray {
            shape,
            dtype: elem.name(),
            path: path.to_path_buf(),
            offset: offset as u64,
            elem,
            big_endian,
            fortran,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as `f32` in C order, converted as [`NdArray::to_f32`] converts them (through
    /// `f64`), without an `f64` copy of the whole array.
    pub fn to_f32(&self) -> Result<Vec<f32>, PickleError> {
        self.values(|v| v as f32)
    }

    /// The array as the eager reader gives it.
    pub fn decode(&self) -> Result<NdArray, PickleError> {
        Ok(NdArray {
            shape: self.shape.clone(),
            dtype: self.dtype.clone(),
            data: self.values(|v| v)?,
        })
    }

    fn values<T: Clone>(&self, convert: impl Fn(f64) -> T) -> Result<Vec<T>, PickleError> {
        let in_file = |error| PickleError::File {
            path: self.path.clone(),
            error: Box::new(error),
        };
        let io = |error| PickleError::Io {
            path: self.path.clone(),
            error,
        };
        let n = self.len();
        let size = self.elem.size();
        let mut file = crate::fsutil::open_input(&self.path).map_err(io)?;
        // The machine checked the data against the file's length; a file that has since
        // been cut or replaced is refused before anything is allocated for it.
        let file_len = file.metadata().map_err(io)?.len();
        let end = self.offset.saturating_add((n as u64).saturating_mul(size as u64));
        if end > file_len {
            return Err(in_file(PickleError::Truncated {
                offset: file_len as usize,
            }));
        }
        file.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        let mut reader = BufReader::new(file);
        let mut out = Vec::with_capacity(n);
        let mut raw = vec![0u8; CHUNK_ITEMS.min(n) * size];
        let mut left = n;
        while left > 0 {
            let k = left.min(CHUNK_ITEMS);
            let chunk = &mut raw[..k * size];
            reader.read_exact(chunk).map_err(io)?;
            out.extend(numbers(self.elem, self.big_endian, chunk).into_iter().map(&convert));
            left -= k;
        }
        #[cfg(test)]
        DECODED.with(|d| d.set(d.get() + (n * size) as u64));
        Ok(if self.fortran {
            fortran_to_c(&out, &self.shape)
        } else {
            out
        })
    }
}
