//! Python pickles holding NumPy arrays, read without Python.
//!
//! A pickle is a program for a small stack machine; the stock unpickler runs it by importing
//! modules and calling functions named in the file, which is why loading an untrusted pickle
//! can run arbitrary code. This reader never imports or calls anything: a global becomes a
//! symbolic `module.name`, and calls are interpreted only for an allow-list (NumPy array,
//! dtype and scalar reconstruction, `_codecs.encode`, `collections.OrderedDict`/`defaultdict`,
//! the builtin containers). Any other call becomes an opaque [`PyValue::Object`], so a
//! pickle of something else still parses and the caller can say what it found.
//!
//! Protocols 0 to 5 are read, except protocol 0's quoted-string opcodes, the extension
//! registry and protocol 5's out-of-band buffers, which are reported as unsupported.
//! Persistent IDs (references to data outside the pickle) are read only by
//! [`parse_torch_pickle`], for PyTorch's `data.pkl`; `checkpoint::read_torch` builds tensors
//! from them.
//!
//! # Files are streamed
//!
//! [`parse_pickle`] runs a pickle held in memory. [`read_pickle`] and [`read_pickle_lazy`]
//! run a file through a buffered reader instead (`input`): each opcode reads the bytes it
//! consumes and nothing else is kept, so the file is never held whole. [`read_pickle_lazy`]
//! goes further for the files this crate reads at scale (MMSA's MOSEI pickle is several
//! gigabytes, most of it arrays CM-BERT never uses): a byte payload (BINBYTES, BINBYTES8,
//! BYTEARRAY8, SHORT_BINBYTES) at least `lazy_from` long is skipped with a seek and recorded
//! by offset and length; a numeric array built on one becomes a [`LazyArray`] (shape, type
//! and length checked as the machine runs), whose values are read only when a caller asks,
//! straight into `f32` if that is what it wants. Loading then costs the arrays read plus
//! what the rest of the pickle builds. The three readers give the same values and the same
//! errors for the same bytes (`stream_tests`).
//!
//! # What a hostile pickle can do
//!
//! Corrupt or hostile input yields a typed error, never a panic, a hang or unbounded memory:
//!
//! - **Memory.** Everything the machine allocates while it runs and while it copies the
//!   result out is charged, before it is allocated, against a budget of
//!   [`BUDGET_PER_BYTE`] (32) bytes per input byte (the file's length, when streamed) plus
//!   [`BUDGET_BASE`] (16 MiB): bytes a stream reads into memory (each at most once), the stack's
//!   and the marks' slots as they first grow, memo entries, every node with its item
//!   vector, copies of item vectors (`list(x)`, call arguments, object-array items), copied
//!   strings and bytes, decoded arrays (8 bytes per item: values become `f64`) and every
//!   value of the result. Nothing is credited back when freed. Rust vectors and the memo's
//!   hash table may reserve up to twice what they hold, so peak memory stays under twice the
//!   budget plus the input itself (plus one 64 KiB buffer instead of the input, streamed):
//!   under 100 MB for a 1 MB file (measured in tests/pickle_formats.rs). Decoding a
//!   [`LazyArray`] later allocates its values (bounded by the data's length, checked) and a
//!   chunk of about a megabyte. Legitimate pickles, which store each value once, need 2 to 8
//!   bytes per input byte for arrays and 20 to 30 for small objects such as PyTorch's
//!   `data.pkl`; only containers of one-byte items (a list of a million `None`s) cost more,
//!   about 100, so a pickle made mostly of them is refused beyond the 16 MiB base. Memo
//!   references (exponential sharing, one list copied a thousand times) are what the budget
//!   is for.
//! - **Time.** Each opcode does constant work besides what it charges (every charged byte
//!   pays for a constant amount of copying or converting) and besides moving values that
//!   were pushed, each of which moves a bounded number of times; finding a newline or a
//!   length reads only bytes that the opcode then consumes. Work is therefore linear in
//!   input size plus budget.
//! - **Recursion and cycles.** The machine itself never recurses. Copying the result out
//!   does, to at most 200 levels, and refuses a value that contains itself; a 0-d object
//!   array (which stands for its one item) is refused when it would stand for itself, and
//!   every walk along such aliases is bounded or charged. Messages describe a value by its
//!   type, with names from the file shortened.
//! - **Lengths** are checked against the bytes that remain (of the file, by its size, when
//!   streamed) before anything is taken, read or skipped, and shape products with checked
//!   arithmetic before anything is decoded. A [`LazyArray`] checks its data against the
//!   file's size again when read, so a file cut or replaced meanwhile is an error naming it.
//!   A streamed file that ends early is a truncated pickle, as in memory; any other read
//!   error is the system's, naming the file.

mod dtype;
mod input;
mod lazy;
mod node;
mod numpy;
mod output;
mod reduce;
#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
mod vm;

use std::fmt;
use std::path::{Path, PathBuf};

use input::Stream;
#[cfg(test)]
pub(crate) use lazy::decoded_bytes;
pub use lazy::LazyArray;
use vm::Flavor;
pub use vm::{BUDGET_BASE, BUDGET_PER_BYTE};

/// The shortest array data [`read_pickle_lazy`] is asked to leave in the file by the MMSA
/// reader: label arrays (tens of kilobytes) are read as the machine runs, feature arrays
/// (hundreds of megabytes) stay in the file until asked for.
pub const LAZY_MIN_BYTES: usize = 1 << 20;

/// A value from a pickle. Python's `bytearray` reads as `Bytes`, `frozenset` as `Set`, and
/// `collections.OrderedDict`/`defaultdict` as `Dict` (the default factory is dropped).
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// Python's `None`.
    None,
    /// A `bool`.
    Bool(bool),
    /// An `int` within 64 bits.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// Invalid UTF-8 (Python strings with lone surrogates) reads with U+FFFD replacements.
    Str(String),
    /// `bytes` or `bytearray`.
    Bytes(Vec<u8>),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `tuple`.
    Tuple(Vec<PyValue>),
    /// Items in file order. A key written twice (only hand-made pickles do that) appears
    /// twice; [`PyValue::get`] returns the later one, as Python would keep it.
    Dict(Vec<(PyValue, PyValue)>),
    /// A persistent ID (BINPERSID/PERSID): a reference to data outside the pickle, such as
    /// a PyTorch storage. Only [`parse_torch_pickle`] reads them.
    PersistentId(Box<PyValue>),
    /// A `set` or `frozenset`, items in file order.
    Set(Vec<PyValue>),
    /// A numeric NumPy array. Arrays of strings or Python objects (`dtype=object`, `<U..`,
    /// `|S..`) read as nested `List`s, as their `tolist()` would give.
    Array(NdArray),
    /// A numeric NumPy array whose data [`read_pickle_lazy`] left in the file.
    LazyArray(LazyArray),
    /// Anything not on the allow-list: a call `module.name(*args)` with the state BUILD gave
    /// it. A bare global (a class or function itself) reads as an `Object` with no args; an
    /// integer beyond 64 bits as `builtins.int` with its little-endian two's-complement bytes
    /// as the one arg. If the object also received list or dict items (subclasses of list
    /// or dict), `state` is a dict `{"state": .., "listitems": [..], "dictitems": {..}}`.
    Object {
        /// The callable's module (`collections`).
        module: String,
        /// The callable's name (`Counter`).
        name: String,
        /// Its positional arguments.
        args: Vec<PyValue>,
        /// What BUILD gave it, if anything.
        state: Option<Box<PyValue>>,
    },
}

/// A numeric NumPy array converted to `f64` in C (row-major) order, whatever its dtype, byte
/// order or memory layout in the file. `int64`/`uint64` beyond 2^53 lose precision.
#[derive(Clone, PartialEq)]
pub struct NdArray {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// NumPy's name for the stored type: `float16`, `float32`, `float64`, `int8` .. `int64`,
    /// `uint8` .. `uint64` or `bool` (stored as 0.0/1.0).
    pub dtype: String,
    /// The values in C order, `shape.iter().product()` of them.
    pub data: Vec<f64>,
}

impl NdArray {
    /// The values as `f32`.
    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&v| v as f32).collect()
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

// Arrays can hold millions of values; a derived Debug would flood error messages and test
// failure output.
impl fmt::Debug for NdArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 8;
        write!(
            f,
            "NdArray {{ shape: {:?}, dtype: {:?}, data: {:?}",
            self.shape,
            self.dtype,
            &self.data[..self.data.len().min(SHOWN)]
        )?;
        if self.data.len() > SHOWN {
            write!(f, " .. {} values", self.data.len())?;
        }
        f.write_str(" }")
    }
}

impl PyValue {
    /// The Python type, for messages: `dict`, `tuple`, `numpy.ndarray`, `collections.deque object`.
    pub fn type_name(&self) -> String {
        match self {
            Self::None => "None",
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Float(_) => "float",
            Self::Str(_) => "str",
            Self::Bytes(_) => "bytes",
            Self::List(_) => "list",
            Self::Tuple(_) => "tuple",
            Self::Dict(_) => "dict",
            Self::Set(_) => "set",
            Self::Array(_) | Self::LazyArray(_) => "numpy.ndarray",
            Self::PersistentId(_) => "persistent id",
            Self::Object { module, name, .. } => return format!("{module}.{name} object"),
        }
        .to_string()
    }

    /// Dict lookup by string key.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            Self::Dict(items) => items
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The array of an `Array`.
    pub fn as_array(&self) -> Option<&NdArray> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A numeric array, decoded or left in the file.
    pub fn as_numeric(&self) -> Option<ArrayRef<'_>> {
        match self {
            Self::Array(a) => Some(ArrayRef::Decoded(a)),
            Self::LazyArray(a) => Some(ArrayRef::Lazy(a)),
            _ => None,
        }
    }
}

/// A numeric array however it was read, for readers that take both.
#[derive(Debug, Clone, Copy)]
pub enum ArrayRef<'a> {
    /// Decoded as the machine ran.
    Decoded(&'a NdArray),
    /// Left in the file.
    Lazy(&'a LazyArray),
}

impl ArrayRef<'_> {
    /// Dimensions, outermost first.
    pub fn shape(&self) -> &[usize] {
        match self {
            Self::Decoded(a) => &a.shape,
            Self::Lazy(a) => &a.shape,
        }
    }

    /// The values as `f32`, read from the file if they are still there.
    pub fn to_f32(&self) -> Result<Vec<f32>, PickleError> {
        match self {
            Self::Decoded(a) => Ok(a.to_f32()),
            Self::Lazy(a) => a.to_f32(),
        }
    }
}

/// Why a pickle could not be read; offsets are bytes into the pickle.
#[derive(Debug, thiserror::Error)]
pub enum PickleError {
    #[error("cannot read {}: {error}", path.display())]
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        error: std::io::Error,
    },
    /// Any other error, with the file it came from.
    #[error("{}: {error}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        error: Box<PickleError>,
    },
    #[error("unexpected end of file at byte {offset} (truncated pickle?)")]
    /// The pickle ends before its STOP.
    Truncated {
        /// Where it ends.
        offset: usize,
    },
    /// The bytes are not a pickle at all (what they look like instead).
    #[error("not a pickle: {0}")]
    NotPickle(String),
    #[error("unsupported pickle content at byte {offset}: {message}")]
    /// Content this reader does not take: an unknown opcode or type, a value that contains
    /// itself, more data than the allocation budget allows.
    Unsupported {
        /// Where it is.
        offset: usize,
        /// What it is.
        message: String,
    },
    #[error("malformed pickle at byte {offset}: {message}")]
    /// Content no pickler writes: a bad argument, a stack underflow, a bad NumPy type code.
    Malformed {
        /// Where it is.
        offset: usize,
        /// What is wrong.
        message: String,
    },
}

impl PickleError {
    /// Whether the pickle was cut short (and so the file is incomplete, not wrong).
    pub fn is_truncated(&self) -> bool {
        match self {
            Self::Truncated { .. } => true,
            Self::File { error, .. } => error.is_truncated(),
            _ => false,
        }
    }
}

/// Reads a pickle file as the machine runs (the file is never held whole), every array
/// decoded; errors name the file. The result equals [`parse_pickle`]'s on the file's bytes.
pub fn read_pickle(path: &Path) -> Result<PyValue, PickleError> {
    read(path, None)
}

/// As [`read_pickle`], but numeric arrays whose data takes at least `lazy_from` bytes are
/// left in the file as [`PyValue::LazyArray`]s (their shape, type and length checked), to be
/// read when asked for; byte payloads that long which are not array data are read only
/// when the result is built. What this costs is what is built plus the arrays asked for.
pub fn read_pickle_lazy(path: &Path, lazy_from: usize) -> Result<PyValue, PickleError> {
    read(path, Some(lazy_from.max(1)))
}

fn read(path: &Path, lazy_from: Option<usize>) -> Result<PyValue, PickleError> {
    let in_file = |error| match error {
        e @ PickleError::Io { .. } => e,
        error => PickleError::File {
            path: path.to_path_buf(),
            error: Box::new(error),
        },
    };
    let opened = Stream::open(path, lazy_from)?;
    check_start(&opened.head).map_err(in_file)?;
    let result = vm::Machine::streaming(opened.stream, opened.len, Flavor::Plain).run();
    explain_headerless(result, opened.head[0]).map_err(in_file)
}

/// Runs a pickle held in memory; persistent IDs are refused.
pub fn parse_pickle(bytes: &[u8]) -> Result<PyValue, PickleError> {
    parse(bytes, Flavor::Plain)
}

/// Runs PyTorch's `data.pkl`: persistent IDs read as [`PyValue::PersistentId`], and the
/// attributes PyTorch gives a state dict (`OrderedDict._metadata`, set by BUILD) are
/// dropped. Same bounds as [`parse_pickle`].
pub fn parse_torch_pickle(bytes: &[u8]) -> Result<PyValue, PickleError> {
    parse(bytes, Flavor::Torch)
}

fn parse(bytes: &[u8], flavor: Flavor) -> Result<PyValue, PickleError> {
    check_start(bytes)?;
    let result = vm::Machine::new(bytes, flavor).run();
    explain_headerless(result, bytes[0])
}

/// Python 3 always writes a protocol header, so a headerless file that fails to run is far
/// more likely some other format than a damaged protocol 0/1 pickle.
fn explain_headerless(result: Result<PyValue, PickleError>, first: u8) -> Result<PyValue, PickleError> {
    match result {
        Err(e @ (PickleError::Malformed { .. } | PickleError::Unsupported { .. })) if first != 0x80 => {
            Err(PickleError::NotPickle(format!(
                "no protocol header, and then {e} (or a damaged protocol 0/1 pickle)"
            )))
        }
        other => other,
    }
}

/// Opcodes that can begin a pickle: they push without popping. Checking the first byte turns
/// "stack underflow at byte 0" for a text or binary file of another kind into a plain answer.
const FIRST_OPCODES: &[u8] = b"\x80\x95(NIJKLMFGSTUVXBC}])cP\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x96\x97";

fn check_start(bytes: &[u8]) -> Result<(), PickleError> {
    let Some(&first) = bytes.first() else {
        return Err(PickleError::NotPickle("the file is empty".into()));
    };
    const MAGIC: [(&[u8], &str); 4] = [
        (b"PK\x03\x04", "a zip archive (a PyTorch .pt/.pth file or an .npz?)"),
        (b"\x93NUMPY", "a NumPy .npy file"),
        (b"\x89HDF", "an HDF5 file"),
        (b"\x1f\x8b", "gzip-compressed (decompress it first)"),
    ];
    let kind = MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic));
    match kind {
        Some((_, what)) => Err(PickleError::NotPickle(format!("the file is {what}"))),
        None if !FIRST_OPCODES.contains(&first) => Err(PickleError::NotPickle(format!(
            "the first byte, 0x{first:02x}, cannot begin a pickle"
        ))),
        None => Ok(()),
    }
}
