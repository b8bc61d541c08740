//! NumPy's pickled forms: `dtype(code, align, copy)` plus a BUILD state with the byte order;
//! arrays as `_reconstruct(ndarray, (0,), b"b")` plus a BUILD state
//! `(version, shape, dtype, is_fortran, rawdata)` (NumPy 1.x, and 2.x below protocol 5), or
//! as `_frombuffer(buf, dtype, shape, order)` (protocol 5); scalars as `scalar(dtype, raw)`.
//! Module names moved from `numpy.core` to `numpy._core` in NumPy 2; both are accepted.

use std::mem::size_of;
use std::rc::Rc;

use super::dtype::{Dtype, Elem};
use super::lazy::LazyArray;
use super::vm::{clip, Id, Machine, Node, Val};
use super::{NdArray, PickleError};

/// NumPy's own limit on dimensions.
const MAX_DIMS: usize = 64;

/// No NumPy type code is longer (`<U2147483647`); longer text is refused before parsing.
const MAX_TYPE_CODE: usize = 16;

impl<'a> Machine<'a> {
    /// `numpy.dtype(code, align, copy)`.
    pub(super) fn numpy_dtype(&self, args: &[Val]) -> Result<Node, PickleError> {
        match args.first() {
            Some(Val::Str(code)) => Some(code)
                .filter(|code| code.len() <= MAX_TYPE_CODE)
                .and_then(|code| Dtype::parse(code))
                .map(Node::Dtype)
                .ok_or_else(|| self.malformed(format!("bad NumPy type code \"{}\"", clip(code)))),
            _ => Err(self.malformed("numpy.dtype without a type code")),
        }
    }

    /// BUILD on a dtype: `(version, byteorder, subarray, names, fields, elsize, alignment,
    /// flags[, metadata])`.
    pub(super) fn numpy_dtype_state(&mut self, id: Id, state: &Val) -> Result<(), PickleError> {
        let items = self
            .tuple(state)
            .ok_or_else(|| self.malformed("NumPy dtype state must be a tuple"))?;
        let order = match items.get(1) {
            Some(Val::Str(o)) if matches!(&**o, "<" | ">" | "|" | "=") => o.chars().next(),
            Some(Val::Str(o)) => return Err(self.malformed(format!("NumPy byte order \"{}\"", clip(o)))),
            _ => None,
        };
        let structured = items.len() >= 4 && items[2..4].iter().any(|v| !matches!(v, Val::None));
        let elsize = match items.get(5) {
            Some(Val::Int(n)) => usize::try_from(*n).ok(),
            _ => None,
        };
        if let Node::Dtype(dt) = &mut self.nodes[id] {
            dt.order = order.unwrap_or(dt.order);
            dt.structured = structured;
            dt.elsize = elsize;
        }
        Ok(())
    }

    /// BUILD on `_reconstruct(ndarray, ...)`.
    pub(super) fn numpy_array_state(&mut self, state: &Val) -> Result<Node, PickleError> {
        let all = self.tuple(state).ok_or_else(|| {
            self.malformed(format!(
                "NumPy array state must be a tuple, found {}",
                self.describe(state)
            ))
        })?;
        // Version 1 leads with the version number; version 0 had none. At most five
        // handles are copied, whatever the tuple's length.
        let items = match all.len() {
            5 => all[1..].to_vec(),
            4 => all.to_vec(),
            n => return Err(self.malformed(format!("NumPy array state has {n} items, expected 5"))),
        };
        let shape = self.shape(&items[0])?;
        let dtype = self.dtype_of(&items[1])?;
        let fortran = match items[2] {
            Val::Bool(b) => b,
            Val::Int(i) => i != 0,
            _ => return Err(self.malformed("NumPy array state: is_fortran is not a bool")),
        };
        if dtype.elem() == Ok(Elem::Object) {
            // Object arrays come as a list of their items in C order, whatever the layout.
            let n = self
                .node(&items[3])
                .and_then(Node::as_list)
                .ok_or_else(|| self.malformed("NumPy object array without a list of items"))?
                .len();
            if n as u128 != count(&shape).unwrap_or(u128::MAX) {
                return Err(self.malformed(format!("NumPy object array of shape {shape:?} with {n} items")));
            }
            let objects = self.copy_items(&items[3], Node::as_list)?.unwrap_or_default();
            return self.nested(objects, &shape);
        }
        self.decode_array(&dtype, shape, fortran, &items[3])
    }

    /// `_frombuffer(buf, dtype, shape, order)`, which NumPy uses from protocol 5 on.
    pub(super) fn numpy_frombuffer(&mut self, args: &[Val]) -> Result<Node, PickleError> {
        let [buf, dtype, shape, order] = args else {
            return Err(self.malformed(format!("numpy _frombuffer with {} arguments, expected 4", args.len())));
        };
        let (dtype, shape) = (self.dtype_of(dtype)?, self.shape(shape)?);
        let fortran = match order {
            Val::Str(o) if &**o == "C" => false,
            Val::Str(o) if &**o == "F" => true,
            _ => return Err(self.malformed("numpy _frombuffer: order is not 'C' or 'F'")),
        };
        self.decode_array(&dtype, shape, fortran, buf)
    }

    /// `scalar(dtype, raw)`: a numpy.float64 and the like becomes a plain number.
    pub(super) fn numpy_scalar(&mut self, args: &[Val]) -> Result<Val, PickleError> {
        let [dtype, raw] = args else {
            return Err(self.malformed(format!("numpy scalar with {} arguments, expected 2", args.len())));
        };
        let dt = self.dtype_of(dtype)?;
        let elem = dt
            .elem()
            .map_err(|what| self.unsupported(format!("NumPy scalar of {what}")))?;
        if elem == Elem::Object {
            return Ok(raw.clone());
        }
        let bytes = self.raw(raw)?;
        if bytes.len() != elem.size() {
            return Err(self.malformed(format!("NumPy {} scalar with {} bytes", dt.descr(), bytes.len())));
        }
        let be = dt.big_endian();
        Ok(match elem {
            Elem::Int(_) | Elem::UInt(_) => {
                let v = read_int(&bytes, matches!(elem, Elem::Int(_)), be);
                i64::try_from(v).map(Val::Int).unwrap_or(Val::Float(v as f64))
            }
            Elem::Bool => Val::Bool(bytes[0] != 0),
            Elem::Unicode(_) | Elem::Bytes(_) => text_items(elem, be, &bytes, 1).pop().unwrap_or(Val::None),
            _ => Val::Float(numbers(elem, be, &bytes)[0]),
        })
    }

    fn dtype_of(&self, v: &Val) -> Result<Dtype, PickleError> {
        match self.node(v) {
            Some(Node::Dtype(dt)) => Ok(dt.clone()),
            _ => Err(self.malformed(format!("expected a numpy.dtype, found {}", self.describe(v)))),
        }
    }

    fn shape(&self, v: &Val) -> Result<Vec<usize>, PickleError> {
        let dims = match v {
            Val::Int(_) => std::slice::from_ref(v),
            _ => self
                .tuple(v)
                .ok_or_else(|| self.malformed(format!("NumPy shape is a {}, not a tuple", self.describe(v))))?,
        };
        if dims.len() > MAX_DIMS {
            return Err(self.malformed(format!("NumPy array with {} dimensions", dims.len())));
        }
        dims.iter()
            .map(|d| match d {
                Val::Int(n) => usize::try_from(*n).map_err(|_| self.malformed(format!("negative NumPy dimension {n}"))),
                _ => Err(self.malformed(format!("NumPy dimension is a {}", self.describe(d)))),
            })
            .collect()
    }

    /// Array data: bytes, or (protocol 2 before `_codecs.encode` was applied, and Python 2)
    /// a str holding one byte per character.
    fn raw(&mut self, v: &Val) -> Result<Raw<'a>, PickleError> {
        if let Some(bytes) = self.bytes_of(v)? {
            return Ok(bytes);
        }
        match v {
            // A memoised string can be used as data any number of times; each copy is charged.
            Val::Str(s) => self.charge(s.len()).and_then(|()| {
                s.chars()
                    .map(|c| {
                        u8::try_from(u32::from(c))
                            .map_err(|_| self.malformed("NumPy data string has characters beyond latin-1"))
                    })
                    .collect::<Result<Vec<u8>, _>>()
                    .map(Raw::Owned)
            }),
            _ => Err(self.malformed(format!("NumPy data is a {}, not bytes", self.describe(v)))),
        }
    }

    fn decode_array(
        &mut self,
        dtype: &Dtype,
        shape: Vec<usize>,
        fortran: bool,
        raw: &Val,
    ) -> Result<Node, PickleError> {
        let elem = dtype.elem().map_err(|what| {
            self.unsupported(format!(
                "NumPy array of {what}; only numbers, bool and strings are read"
            ))
        })?;
        if elem == Elem::Object {
            return Err(self.malformed("NumPy object array given as raw bytes"));
        }
        let n = count(&shape)
            .filter(|&n| n <= usize::MAX as u128)
            .ok_or_else(|| self.malformed(format!("NumPy shape {shape:?} is too large")))?;
        let text = matches!(elem, Elem::Unicode(_) | Elem::Bytes(_));
        let be = dtype.big_endian();
        // Numbers whose data was left in a streamed file stay there: checked here, read when
        // a caller asks (`LazyArray`). Text arrays are read now, as below.
        if let Some((path, start, len)) = self.file_span(raw).filter(|_| !text) {
            if n * elem.size() as u128 != len as u128 {
                return Err(self.data_mismatch(dtype, &shape, n * elem.size() as u128, len));
            }
            let array = LazyArray::new(shape, elem, be, fortran, path, start);
            return self.lazy_node(array);
        }
        let bytes = self.raw(raw)?;
        if n * elem.size() as u128 != bytes.len() as u128 {
            return Err(self.data_mismatch(dtype, &shape, n * elem.size() as u128, bytes.len()));
        }
        let n = n as usize;
        // What is about to be made: a handle per string plus the text (zero-width strings
        // take no bytes, so the count of items matters), or an f64 per number; a Fortran
        // array is reordered into a second copy.
        let made = if text {
            n.saturating_mul(size_of::<Val>()).saturating_add(bytes.len())
        } else {
            n.saturating_mul(size_of::<f64>())
        };
        self.charge(if fortran { made.saturating_mul(2) } else { made })?;
        if text {
            let items = text_items(elem, be, &bytes, n);
            let items = if fortran { fortran_to_c(&items, &shape) } else { items };
            return self.nested(items, &shape);
        }
        let data = numbers(elem, be, &bytes);
        let data = if fortran { fortran_to_c(&data, &shape) } else { data };
        Ok(Node::Array(NdArray {
            shape,
            dtype: elem.name(),
            data,
        }))
    }

    fn data_mismatch(&self, dtype: &Dtype, shape: &[usize], needs: u128, holds: usize) -> PickleError {
        self.malformed(format!(
            "NumPy {} array of shape {shape:?} needs {needs} bytes of data, the pickle holds {holds}",
            dtype.descr()
        ))
    }

    /// Non-numeric arrays read as nested lists, as `tolist()` gives them.
    fn nested(&mut self, items: Vec<Val>, shape: &[usize]) -> Result<Node, PickleError> {
        let Some((_, inner)) = shape.split_first() else {
            return Ok(Node::Alias(items.into_iter().next().unwrap_or(Val::None)));
        };
        let mut level = items;
        for (k, &size) in inner.iter().enumerate().rev() {
            // Lists at this level: the product of the dimensions before it. A zero-length
            // inner dimension makes many empty lists from no items, so this level's handles
            // are charged before any is made, and each list as it is made.
            let groups = shape[..=k]
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .ok_or_else(|| self.malformed("NumPy shape is too large"))?;
            self.charge_n::<Val>(groups)?;
            let mut it = level.into_iter();
            level = (0..groups)
                .map(|_| {
                    let row: Vec<Val> = it.by_ref().take(size).collect();
                    self.alloc(Node::List(row))
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(Node::List(level))
    }
}

/// Array data, borrowed rather than copied where it can be.
pub(super) enum Raw<'a> {
    File(&'a [u8]),
    Shared(Rc<[u8]>),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Raw<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Raw::File(b) => b,
            Raw::Shared(b) => b,
            Raw::Owned(b) => b,
        }
    }
}

/// Number of items; `None` on overflow.
fn count(shape: &[usize]) -> Option<u128> {
    shape.iter().try_fold(1u128, |n, &d| {
        n.checked_mul(d as u128).filter(|&n| n <= u64::MAX as u128)
    })
}

pub(super) fn numbers(elem: Elem, be: bool, raw: &[u8]) -> Vec<f64> {
    macro_rules! convert {
        ($t:ty) => {{
            const N: usize = std::mem::size_of::<$t>();
            raw.chunks_exact(N)
                .map(|c| {
                    let mut b = [0u8; N];
                    b.copy_from_slice(c);
                    (if be {
                        <$t>::from_be_bytes(b)
                    } else {
                        <$t>::from_le_bytes(b)
                    }) as f64
                })
                .collect()
        }};
    }
    match elem {
        Elem::Float(2) => {
            let bits: Vec<f64> = convert!(u16);
            bits.into_iter().map(|b| f16_to_f64(b as u16)).collect()
        }
        Elem::Float(4) => convert!(f32),
        Elem::Float(_) => convert!(f64),
        Elem::Int(1) => convert!(i8),
        Elem::Int(2) => convert!(i16),
        Elem::Int(4) => convert!(i32),
        Elem::Int(_) => convert!(i64),
        Elem::UInt(1) => convert!(u8),
        Elem::UInt(2) => convert!(u16),
        Elem::UInt(4) => convert!(u32),
        Elem::UInt(_) => convert!(u64),
        _ => raw.iter().map(|&b| if b != 0 { 1.0 } else { 0.0 }).collect(),
    }
}

/// Fixed-width strings, NUL-padded as NumPy stores them.
fn text_items(elem: Elem, be: bool, raw: &[u8], n: usize) -> Vec<Val> {
    let size = elem.size();
    if size == 0 {
        let empty = match elem {
            Elem::Unicode(_) => Val::Str("".into()),
            _ => Val::Bytes(Rc::from(&[][..])),
        };
        return vec![empty; n];
    }
    raw.chunks_exact(size)
        .map(|item| match elem {
            Elem::Unicode(_) => {
                let text: String = item
                    .chunks_exact(4)
                    .map(|c| {
                        let b = [c[0], c[1], c[2], c[3]];
                        let code = if be {
                            u32::from_be_bytes(b)
                        } else {
                            u32::from_le_bytes(b)
                        };
                        char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
                    })
                    .collect();
                Val::Str(text.trim_end_matches('\0').into())
            }
            _ => {
                let end = item.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                Val::Bytes(item[..end].into())
            }
        })
        .collect()
}

/// Reorders column-major (Fortran) data of `shape` into row-major order.
pub(super) fn fortran_to_c<T: Clone>(data: &[T], shape: &[usize]) -> Vec<T> {
    if shape.len() < 2 || data.is_empty() {
        return data.to_vec();
    }
    // Column-major strides, in items.
    let mut strides = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        strides[k] = strides[k - 1] * shape[k - 1];
    }
    let mut index = vec![0usize; shape.len()];
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(data.len());
    for _ in 0..data.len() {
        out.push(data[offset].clone());
        // Advance the row-major index, last axis fastest.
        for k in (0..shape.len()).rev() {
            index[k] += 1;
            offset += strides[k];
            if index[k] < shape[k] {
                break;
            }
            offset -= strides[k] * shape[k];
            index[k] = 0;
        }
    }
    out
}

fn read_int(bytes: &[u8], signed: bool, be: bool) -> i128 {
    let msb = if be { bytes.first() } else { bytes.last() };
    let mut v: i128 = if signed && msb.is_some_and(|b| b & 0x80 != 0) {
        -1
    } else {
        0
    };
    let mut push = |b: &u8| v = (v << 8) | i128::from(*b);
    if be {
        bytes.iter().for_each(&mut push);
    } else {
        bytes.iter().rev().for_each(&mut push);
    }
    v
}

pub(super) fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let mantissa = f64::from(h & 0x3ff);
    match exp {
        0 => sign * mantissa * 2f64.powi(-24),
        31 if mantissa == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        _ => sign * (1.0 + mantissa / 1024.0) * 2f64.powi(exp - 15),
    }
}
