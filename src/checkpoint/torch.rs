//! PyTorch checkpoints (`pytorch_model.bin`): the zip archive `torch.save` has written since
//! PyTorch 1.6, read with the crate's own pickle reader.
//!
//! The archive holds `<name>/data.pkl`, a pickle of the state dict (an `OrderedDict`) in
//! which each tensor is `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ..)`,
//! possibly wrapped in `_rebuild_parameter`; each storage is a persistent ID
//! `("storage", torch.FloatStorage, key, location, numel)` whose raw bytes are the entry
//! `<name>/data/<key>`, in the byte order named by `<name>/byteorder` (little if absent).
//! That is `torch.serialization._load`'s format; its writer stores every entry uncompressed.
//!
//! candle_core::pickle, used before, panics on short tuples, overflows its stack on deeply
//! nested pickles and deep-copies memo entries (a 408-byte file whose memo doubles takes
//! gigabytes). The crate's VM ([`crate::data::pickle`]) has stated bounds instead, and every
//! claim of `data.pkl` is checked here, with checked arithmetic, against what the archive
//! actually holds before anything is allocated:
//!
//! - **Zip.** Read with `zip` 9 (the version candle already builds, and one that is fuzzed
//!   upstream) without decompressors: PyTorch never compresses, so a compressed entry is
//!   refused rather than inflated, and no zip bomb can expand. A stored entry's declared
//!   size must equal its stored size and fit in the archive; the entries read add up to at
//!   most the archive's size (overlapping entries, the non-recursive zip bomb, cannot
//!   multiply it); each read is capped with `Read::take` and must return exactly the
//!   declared size.
//! - **Storages.** The element count times the dtype's size must be the entry's length.
//! - **Tensors.** Offset, shape and strides must stay inside their storage (the last element
//!   addressed is computed with checked arithmetic). Each tensor becomes its own contiguous
//!   copy, so views of one storage (tied embeddings) or stride-0 views (an expanded scalar)
//!   could claim far more than the archive holds: all tensors together are capped at
//!   [`OUTPUT_PER_BYTE`] times the archive's size plus [`OUTPUT_BASE`].
//!
//! Memory is therefore at most the archive's size (storages) plus that cap plus the pickle
//! VM's budget for `data.pkl`.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

use candle_core::{DType, Device, Tensor};
use zip::result::ZipError;
use zip::{CompressionMethod, ZipArchive};

use crate::data::pickle::{parse_torch_pickle, PickleError, PyValue};

/// All tensors together may take this many bytes per archive byte, plus [`OUTPUT_BASE`].
pub const OUTPUT_PER_BYTE: u64 = 4;
/// The fixed allowance added to [`OUTPUT_PER_BYTE`] times the archive's size.
pub const OUTPUT_BASE: u64 = 16 << 20;

/// PyTorch's own limit on dimensions.
const MAX_DIMS: usize = 64;

#[derive(Debug, thiserror::Error)]
/// Why a `pytorch_model.bin` was refused; nothing is allocated before the check that fails.
pub enum TorchError {
    #[error(
        "not a PyTorch zip archive. Files from PyTorch < 1.6 use a legacy format: re-save with \
         `torch.save(torch.load(f), f)` on a recent PyTorch, or convert to model.safetensors"
    )]
    /// Not a zip archive: probably PyTorch's pre-1.6 format.
    Legacy,
    #[error("{0}")]
    /// Reading the archive failed.
    Io(#[from] std::io::Error),
    #[error("not a readable zip archive: {0}")]
    /// The zip structure itself is broken.
    Zip(#[from] ZipError),
    /// The archive lacks `data.pkl` or holds several, or the pickle is not a state dict.
    #[error("{0}")]
    Layout(String),
    #[error("zip entry {name}: {message}")]
    /// One archive entry is compressed, oversized or unreadable.
    Entry {
        /// The entry's name in the archive.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    #[error("data.pkl: {0}")]
    /// `data.pkl` is not a pickle our machine accepts.
    Pickle(#[from] PickleError),
    #[error("tensor {name:?}: {message}")]
    /// A tensor's storage, offset, shape or strides do not fit its bytes.
    Tensor {
        /// The tensor's key in the state dict.
        name: String,
        /// What does not fit.
        message: String,
    },
}

/// Reads a whole checkpoint held in memory (for fuzzing, and tests).
pub fn read_torch_bytes(bytes: &[u8]) -> Result<Vec<(String, Tensor)>, TorchError> {
    read_torch(std::io::Cursor::new(bytes))
}

/// Reads every tensor of a `torch.save` archive, in the state dict's order, on the CPU and
/// in the storage's dtype. Values of the state dict that are not tensors are skipped.
pub fn read_torch<R: Read + Seek>(mut reader: R) -> Result<Vec<(String, Tensor)>, TorchError> {
    let len = reader.seek(SeekFrom::End(0))?;
    reader.seek(SeekFrom::Start(0))?;
    let mut magic = [0u8; 4];
    match reader.read_exact(&mut magic) {
        Ok(()) if &magic == b"PK\x03\x04" => {}
        Err(e) if e.kind() != std::io::ErrorKind::UnexpectedEof => return Err(e.into()),
        _ => return Err(TorchError::Legacy),
    }
    reader.seek(SeekFrom::Start(0))?;
    let mut archive = Archive::open(reader, len)?;
    let state = parse_torch_pickle(&archive.entry("data.pkl")?)?;
    let big_endian = match archive.optional_entry("byteorder")?.as_deref() {
        None | Some(b"little") => false,
        Some(b"big") => true,
        Some(other) => {
            return Err(TorchError::Layout(format!(
                "byteorder says {:?}, expected \"little\" or \"big\"",
                String::from_utf8_lossy(&other[..other.len().min(16)])
            )))
        }
    };
    let PyValue::Dict(items) = state else {
        return Err(TorchError::Layout(format!(
            "data.pkl's top-level value is of type {}, not a state dict",
            state.type_name()
        )));
    };
    let mut specs = Vec::new();
    for (key, value) in &items {
        let Some(name) = key.as_str() else {
            return Err(TorchError::Layout(format!(
                "a state dict key is a {}, not a str",
                key.type_name()
            )));
        };
        let fail = |message: String| TorchError::Tensor {
            name: name.to_string(),
            message,
        };
        if let Some(args) = rebuild_args(value).map_err(fail)? {
            specs.push((name, TensorSpec::parse(args).map_err(fail)?));
        }
    }
    // Each storage is read once, when first used, and dropped after its last use.
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for (_, spec) in &specs {
        *uses.entry(&spec.key).or_default() += 1;
    }
    let mut storages: HashMap<&str, Vec<u8>> = HashMap::new();
    let mut output_left = len.saturating_mul(OUTPUT_PER_BYTE).saturating_add(OUTPUT_BASE);
    let mut tensors = Vec::new();
    for (name, spec) in &specs {
        let fail = |message: String| TorchError::Tensor {
            name: name.to_string(),
            message,
        };
        let key = spec.key.as_str();
        if !storages.contains_key(key) {
            storages.insert(key, archive.entry(&format!("data/{key}"))?);
        }
        let bytes = spec.gather(&storages[key], &mut output_left).map_err(fail)?;
        let last_use = uses.get_mut(key).is_none_or(|n| {
            *n -= 1;
            *n == 0
        });
        if last_use {
            storages.remove(key);
        }
        let bytes = if big_endian {
            swap_bytes(bytes, spec.dtype.size_in_bytes())
        } else {
            bytes
        };
        let tensor =
            Tensor::from_raw_buffer(&bytes, spec.dtype, &spec.size, &Device::Cpu).map_err(|e| fail(e.to_string()))?;
        tensors.push((name.to_string(), tensor));
    }
    Ok(tensors)
}

/// The zip archive, with the directory that holds `data.pkl` and how much more may be read.
struct Archive<R> {
    zip: ZipArchive<R>,
    /// `archive/` or `<name>/`.
    prefix: String,
    /// Bytes the entries still to be read may add up to.
    left: u64,
}

impl<R: Read + Seek> Archive<R> {
    fn open(reader: R, len: u64) -> Result<Self, TorchError> {
        let zip = ZipArchive::new(reader)?;
        let found: Vec<String> = zip
            .file_names()
            .filter_map(|name| name.ok())
            .filter(|name| name.ends_with("/data.pkl") && name.matches('/').count() == 1)
            .filter_map(|name| name.strip_suffix("data.pkl").map(str::to_string))
            .take(2)
            .collect();
        let mut found = found.into_iter();
        let prefix = match (found.next(), found.next()) {
            (Some(prefix), None) => prefix,
            (None, _) => {
                return Err(TorchError::Layout(
                    "no <name>/data.pkl in the zip archive: not a torch.save checkpoint".into(),
                ))
            }
            (Some(a), Some(b)) => {
                return Err(TorchError::Layout(format!(
                    "the zip archive holds several checkpoints ({a}data.pkl, {b}data.pkl)"
                )))
            }
        };
        Ok(Self { zip, prefix, left: len })
    }

    fn entry(&mut self, name: &str) -> Result<Vec<u8>, TorchError> {
        let full = format!("{}{name}", self.prefix);
        self.optional_entry(name)?.ok_or(TorchError::Entry {
            name: full,
            message: "missing from the archive".into(),
        })
    }

    /// An entry's bytes, after checking what its headers claim.
    fn optional_entry(&mut self, name: &str) -> Result<Option<Vec<u8>>, TorchError> {
        let name = format!("{}{name}", self.prefix);
        let Some(index) = self.zip.index_for_name(&name) else {
            return Ok(None);
        };
        let fail = |message: String| TorchError::Entry {
            name: name.clone(),
            message,
        };
        let raw = self.zip.by_index_raw(index)?;
        let (method, size, stored) = (raw.compression(), raw.size(), raw.compressed_size());
        drop(raw);
        if method != CompressionMethod::Stored {
            return Err(fail(format!(
                "compressed ({method:?}); torch.save stores entries uncompressed, so this archive was \
                 repacked or crafted"
            )));
        }
        if size != stored {
            return Err(fail(format!(
                "declares {size} bytes but stores {stored}, and an uncompressed entry cannot expand"
            )));
        }
        if size > self.left {
            return Err(fail(format!(
                "declares {size} bytes, more than the rest of the archive can hold"
            )));
        }
        self.left -= size;
        let mut bytes = Vec::with_capacity(usize::try_from(size).map_err(|_| fail("too large".into()))?);
        // by_index verifies the CRC when the entry's end is reached, which reading one byte
        // past the declared size makes sure of.
        self.zip
            .by_index(index)?
            .take(size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| fail(e.to_string()))?;
        if bytes.len() as u64 != size {
            return Err(fail(format!("holds {} bytes, declares {size}", bytes.len())));
        }
        Ok(Some(bytes))
    }
}

/// The arguments of `_rebuild_tensor_v2`, unwrapping `_rebuild_parameter` and
/// `_rebuild_from_type_v2`; `None` for values that are not tensors.
fn rebuild_args(value: &PyValue) -> Result<Option<&[PyValue]>, String> {
    let mut value = value;
    // A parameter wraps a tensor, which may be a subclass wrapping a tensor: two levels.
    for _ in 0..3 {
        let PyValue::Object { module, name, args, .. } = value else {
            return Ok(None);
        };
        let inner = match (module.as_str(), name.as_str()) {
            ("torch._utils", "_rebuild_tensor_v2") => return Ok(Some(args)),
            ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => args.first(),
            // (func, type, args, state): func(*args), then the subclass, which is dropped.
            ("torch._tensor", "_rebuild_from_type_v2") => match args.as_slice() {
                [PyValue::Object { module, name, .. }, _, PyValue::Tuple(inner), ..]
                    if module == "torch._utils" && name == "_rebuild_tensor_v2" =>
                {
                    return Ok(Some(inner))
                }
                _ => return Err("_rebuild_from_type_v2 of something other than a plain tensor".into()),
            },
            (m, n) if m.starts_with("torch") && n.starts_with("_rebuild") => {
                return Err(format!(
                    "{m}.{n} tensors (quantized, sparse, nested ..) are not supported"
                ))
            }
            _ => return Ok(None),
        };
        value = inner.ok_or_else(|| format!("{module}.{name} without arguments"))?;
    }
    Err("tensor wrapped in more than two parameters".into())
}

/// What `_rebuild_tensor_v2` claims about one tensor, not yet checked against its storage.
struct TensorSpec {
    key: String,
    dtype: DType,
    /// Elements in the storage, as its persistent ID says.
    numel: usize,
    offset: usize,
    size: Vec<usize>,
    stride: Vec<usize>,
}

impl TensorSpec {
    /// `(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    fn parse(args: &[PyValue]) -> Result<Self, String> {
        let [storage, offset, size, stride, ..] = args else {
            return Err(format!("_rebuild_tensor_v2 with {} arguments, expected 6", args.len()));
        };
        let PyValue::PersistentId(id) = storage else {
            return Err(format!("storage is a {}, not a persistent id", storage.type_name()));
        };
        let PyValue::Tuple(id) = &**id else {
            return Err(format!("storage id is a {}, not a tuple", id.type_name()));
        };
        let [PyValue::Str(tag), class, PyValue::Str(key), _location, numel] = id.as_slice() else {
            return Err(format!(
                "storage id is not (\"storage\", type, key, location, numel) but {} items",
                id.len()
            ));
        };
        if tag != "storage" {
            return Err(format!("persistent id of kind {tag:?}, expected \"storage\""));
        }
        let dtype = match class {
            PyValue::Object { module, name, args, .. } if module == "torch" && args.is_empty() => {
                storage_dtype(name).ok_or_else(|| format!("storage type torch.{name} is not supported"))?
            }
            other => return Err(format!("storage type is a {}", other.type_name())),
        };
        let size = dims(size, "size")?;
        let stride = dims(stride, "stride")?;
        if size.len() != stride.len() {
            return Err(format!("size {size:?} and stride {stride:?} differ in length"));
        }
        Ok(Self {
            key: key.clone(),
            dtype,
            numel: count(numel, "storage size")?,
            offset: count(offset, "storage offset")?,
            size,
            stride,
        })
    }

    /// The tensor's bytes in C order, checked against the storage and charged to `left`.
    fn gather(&self, storage: &[u8], left: &mut u64) -> Result<Vec<u8>, String> {
        let elem = self.dtype.size_in_bytes();
        let stored = self.numel.checked_mul(elem);
        if stored != Some(storage.len()) {
            return Err(format!(
                "its storage declares {} {:?} elements, but the entry holds {} bytes",
                self.numel,
                self.dtype,
                storage.len()
            ));
        }
        let overflow = || format!("shape {:?} is too large", self.size);
        let n = self
            .size
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(overflow)?;
        if n == 0 {
            if self.offset > self.numel {
                return Err(format!(
                    "storage offset {} beyond its {} elements",
                    self.offset, self.numel
                ));
            }
            return Ok(Vec::new());
        }
        // The last element addressed: offset + sum((size - 1) * stride).
        let last = self
            .size
            .iter()
            .zip(&self.stride)
            .try_fold(self.offset, |acc, (&d, &s)| {
                (d - 1).checked_mul(s).and_then(|x| acc.checked_add(x))
            });
        if last.is_none_or(|last| last >= self.numel) {
            return Err(format!(
                "offset {}, size {:?} and stride {:?} reach beyond its storage of {} elements",
                self.offset, self.size, self.stride, self.numel
            ));
        }
        let bytes = n.checked_mul(elem).ok_or_else(overflow)?;
        *left = left.checked_sub(bytes as u64).ok_or_else(|| {
            format!(
                "the tensors claim more than {OUTPUT_PER_BYTE} times the archive's size (views expanding \
                 one storage many times over); refusing to build them"
            )
        })?;
        // A dimension of size 1 is never stepped along, whatever its stride says. For the
        // others, (size - 1) * stride <= last, so no step below overflows, and every element
        // read is at most `last`, inside the storage.
        let stride: Vec<usize> = self
            .size
            .iter()
            .zip(&self.stride)
            .map(|(&d, &s)| if d == 1 { 0 } else { s })
            .collect();
        let mut contiguous = 1usize;
        let is_contiguous = self.size.iter().zip(&stride).rev().all(|(&d, &s)| {
            let ok = d == 1 || s == contiguous;
            contiguous = contiguous.saturating_mul(d);
            ok
        });
        if is_contiguous {
            return Ok(storage[self.offset * elem..(self.offset + n) * elem].to_vec());
        }
        let mut out = Vec::with_capacity(bytes);
        let mut index = vec![0usize; self.size.len()];
        let mut at = self.offset;
        for _ in 0..n {
            out.extend_from_slice(&storage[at * elem..(at + 1) * elem]);
            // Advance the C-order index, last axis fastest.
            for k in (0..index.len()).rev() {
                index[k] += 1;
                at += stride[k];
                if index[k] < self.size[k] {
                    break;
                }
                at -= stride[k] * self.size[k];
                index[k] = 0;
            }
        }
        Ok(out)
    }
}

/// The storage classes a checkpoint uses, as candle dtypes. candle has no bool or int8;
/// bools are read as u8 (0 or 1).
fn storage_dtype(class: &str) -> Option<DType> {
    Some(match class {
        "FloatStorage" => DType::F32,
        "DoubleStorage" => DType::F64,
        "HalfStorage" => DType::F16,
        "BFloat16Storage" => DType::BF16,
        "LongStorage" => DType::I64,
        "IntStorage" => DType::I32,
        "ShortStorage" => DType::I16,
        "ByteStorage" | "BoolStorage" => DType::U8,
        _ => return None,
    })
}

fn count(v: &PyValue, what: &str) -> Result<usize, String> {
    match v {
        PyValue::Int(n) => usize::try_from(*n).map_err(|_| format!("{what} {n} is negative or too large")),
        other => Err(format!("{what} is a {}, not an int", other.type_name())),
    }
}

fn dims(v: &PyValue, what: &str) -> Result<Vec<usize>, String> {
    match v {
        PyValue::Tuple(items) if items.len() <= MAX_DIMS => items.iter().map(|d| count(d, what)).collect(),
        PyValue::Tuple(items) => Err(format!("{what} with {} dimensions", items.len())),
        other => Err(format!("{what} is a {}, not a tuple", other.type_name())),
    }
}

fn swap_bytes(mut bytes: Vec<u8>, elem: usize) -> Vec<u8> {
    bytes.chunks_exact_mut(elem).for_each(<[u8]>::reverse);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(numel: usize, offset: usize, size: &[usize], stride: &[usize]) -> TensorSpec {
        TensorSpec {
            key: "0".into(),
            dtype: DType::U8,
            numel,
            offset,
            size: size.to_vec(),
            stride: stride.to_vec(),
        }
    }

    #[test]
    fn gather_follows_strides_and_stays_inside_the_storage() {
        let storage: Vec<u8> = (0..12).collect();
        let mut left = 1 << 20;
        // A [3, 4] matrix read transposed: [4, 3] with strides (1, 4).
        let t = spec(12, 0, &[4, 3], &[1, 4]).gather(&storage, &mut left).unwrap();
        assert_eq!(t, [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
        // An offset row, a stride-0 broadcast and an empty tensor.
        assert_eq!(
            spec(12, 4, &[4], &[1]).gather(&storage, &mut left).unwrap(),
            [4, 5, 6, 7]
        );
        assert_eq!(spec(12, 11, &[3], &[0]).gather(&storage, &mut left).unwrap(), [11; 3]);
        assert!(spec(12, 12, &[0, 5], &[5, 1])
            .gather(&storage, &mut left)
            .unwrap()
            .is_empty());
        // One element too far, an offset beyond the end, and a size that overflows.
        assert!(spec(12, 9, &[4], &[1]).gather(&storage, &mut left).is_err());
        assert!(spec(12, 13, &[0], &[1]).gather(&storage, &mut left).is_err());
        assert!(spec(12, 0, &[1 << 40, 1 << 40], &[0, 0])
            .gather(&storage, &mut left)
            .is_err());
        // A storage whose entry is shorter than it declares.
        assert!(spec(13, 0, &[1], &[1]).gather(&storage, &mut left).is_err());
        // The output cap: stride 0 could expand one byte into gigabytes.
        let mut small = 8;
        assert!(spec(12, 0, &[9], &[0]).gather(&storage, &mut small).is_err());
        assert_eq!(small, 8, "nothing charged for a refused tensor");
    }

    #[test]
    fn big_endian_storages_are_swapped() {
        assert_eq!(swap_bytes(vec![1, 2, 3, 4], 2), [2, 1, 4, 3]);
    }
}
