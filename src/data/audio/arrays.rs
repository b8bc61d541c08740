//! Array containers: `.npz` (a zip of `.npy` members) and `.safetensors`, one `[N, L, D]`
//! array per split. Both declare each array's shape in a header before its data, so the shape
//! is checked against the text (`check_shape`) before a value is read.
//!
//! npz: the zip is read with the `zip` crate through npyz's archive, but each `.npy` member's
//! header is parsed here, not by npyz. npyz allocates whatever header length the file states
//! (up to 4 GiB) before reading it, multiplies the shape without overflow checks (a panic in
//! debug builds) and parses the header's Python literal recursively; the header is a small,
//! documented dict (numpy/lib/format.py), so ours reads at most [`MAX_NPY_HEADER`] bytes and
//! accepts only what a float array's header holds. The data is then decompressed through
//! `Read::take`, exactly as many bytes as the checked shape needs: a member that inflates to
//! gigabytes (a zip bomb) costs no more than an honest one.
//!
//! safetensors: the crate checks its header (size at most 100 MB, offsets inside the file,
//! shape products checked against the byte ranges); only the three split tensors are then
//! converted, each after its shape is checked.

use std::io::{Cursor, Read};
use std::path::Path;

use super::{assemble, check_shape, token_aligned, AudioBounds, AudioFile, AudioFormat, SPLIT_KEYS};
use crate::data::error::DataError;

/// The longest `.npy` header read. NumPy's writer pads headers to 64-byte multiples and a
/// float array's header is about 128 bytes; its own reader refuses more than 10,000 by
/// default.
const MAX_NPY_HEADER: usize = 65_536;

/// Decompressed bytes read per step while converting an npz member.
const CHUNK: usize = 1 << 16;

/// An npz archive's bytes (format (c)).
pub fn parse_npz(bytes: &[u8], path: &Path, bounds: &AudioBounds) -> Result<AudioFile, DataError> {
    let err = |e: &dyn std::fmt::Display| DataError::file(path, format!("cannot read npz: {e}"));
    let mut npz = npyz::npz::NpzArchive::new(Cursor::new(bytes)).map_err(|e| err(&e))?;
    let names: Vec<String> = npz.array_names().map(str::to_string).collect();
    let mut parts = Vec::new();
    for (split, keys) in SPLIT_KEYS.iter().enumerate() {
        let name = keys.iter().find(|k| names.iter().any(|n| n == *k)).ok_or_else(|| {
            DataError::file(
                path,
                format!("no array named {} (arrays: {names:?})", keys.join(" or ")),
            )
        })?;
        let member_err = |e: &dyn std::fmt::Display| DataError::file(path, format!("array {name}: {e}"));
        let mut member = npz
            .zip_archive()
            .by_name(&npyz::npz::file_name_from_array_name(name))
            .map_err(|e| member_err(&e))?;
        let header = read_npy_header(&mut member).map_err(|e| member_err(&e))?;
        let shape = check_shape(path, name, split, &header.shape, bounds)?;
        let values = read_floats(&mut member, &header, shape.values).map_err(|e| member_err(&e))?;
        parts.push(token_aligned(path, name, shape, values, false)?);
    }
    assemble(path, AudioFormat::Npz, parts, None)
}

/// What a float array's `.npy` header says.
#[derive(Debug, Clone, PartialEq)]
struct NpyHeader {
    /// 4 (float32) or 8 (float64).
    size: usize,
    big_endian: bool,
    shape: Vec<u64>,
}

/// Reads the magic, version, header length and header of a `.npy` stream, leaving `r` at
/// the first data byte.
fn read_npy_header(r: &mut impl Read) -> Result<NpyHeader, String> {
    let io = |e: std::io::Error| format!("truncated .npy header ({e})");
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(io)?;
    if &magic[..6] != b"\x93NUMPY" {
        return Err("not a .npy array (no \\x93NUMPY magic)".into());
    }
    let len = match magic[6] {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).map_err(io)?;
            u16::from_le_bytes(b) as usize
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b).map_err(io)?;
            u32::from_le_bytes(b) as usize
        }
        v => return Err(format!(".npy format version {v}; expected 1, 2 or 3")),
    };
    if len > MAX_NPY_HEADER {
        return Err(format!(
            ".npy header of {len} bytes; a float array's is a few hundred (at most {MAX_NPY_HEADER} read)"
        ));
    }
    let mut text = vec![0u8; len];
    r.read_exact(&mut text).map_err(io)?;
    let text = std::str::from_utf8(&text).map_err(|_| "the .npy header is not text".to_string())?;
    parse_npy_header(text)
}

/// `{'descr': '<f4', 'fortran_order': False, 'shape': (6, 50, 5), }`, keys in any order.
fn parse_npy_header(text: &str) -> Result<NpyHeader, String> {
    let bad = || format!("malformed .npy header {:?}", text.chars().take(200).collect::<String>());
    let mut rest = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(bad)?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (key, after) = quoted(rest).ok_or_else(bad)?;
        rest = after.trim_start().strip_prefix(':').ok_or_else(bad)?.trim_start();
        match key {
            "descr" => {
                let (d, after) =
                    quoted(rest).ok_or_else(|| "expected float32 or float64, found a structured dtype".to_string())?;
                descr = Some(d);
                rest = after;
            }
            "fortran_order" => {
                let (b, after) = if let Some(a) = rest.strip_prefix("True") {
                    (true, a)
                } else if let Some(a) = rest.strip_prefix("False") {
                    (false, a)
                } else {
                    return Err(bad());
                };
                fortran = Some(b);
                rest = after;
            }
            "shape" => {
                let (dims, after) = rest.strip_prefix('(').and_then(|r| r.split_once(')')).ok_or_else(bad)?;
                let dims = dims
                    .split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(|d| d.trim_end_matches('L').parse::<u64>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| bad())?;
                shape = Some(dims);
                rest = after;
            }
            other => return Err(format!("unexpected key {other:?} in the .npy header")),
        }
        rest = rest.trim_start();
        rest = match rest.strip_prefix(',') {
            Some(r) => r,
            None if rest.is_empty() => rest,
            None => return Err(bad()),
        };
    }
    let (Some(descr), Some(fortran), Some(shape)) = (descr, fortran, shape) else {
        return Err(bad());
    };
    if fortran {
        return Err("stored in Fortran order; save it with numpy.ascontiguousarray".into());
    }
    let (size, big_endian) = match descr {
        "<f4" => (4, false),
        ">f4" => (4, true),
        "<f8" => (8, false),
        ">f8" => (8, true),
        other => return Err(format!("expected float32 or float64, found {other}")),
    };
    Ok(NpyHeader {
        size,
        big_endian,
        shape,
    })
}

/// A Python string literal at the start of `s` (no escapes: a dtype or key never has one).
fn quoted(s: &str) -> Option<(&str, &str)> {
    let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let (inner, rest) = s[1..].split_once(q)?;
    Some((inner, rest))
}

/// `count` values after the header, decompressed through `take` to exactly their bytes.
fn read_floats(r: &mut impl Read, header: &NpyHeader, count: usize) -> Result<Vec<f32>, String> {
    let bytes = count
        .checked_mul(header.size)
        .ok_or_else(|| format!("{count} values are too many to read"))?;
    let mut data = r.take(bytes as u64);
    let mut values = Vec::with_capacity(count);
    let mut buf = vec![0u8; CHUNK];
    let mut left = bytes;
    while left > 0 {
        let chunk = &mut buf[..left.min(CHUNK)];
        data.read_exact(chunk)
            .map_err(|e| format!("data ends after {} of {count} values ({e})", values.len()))?;
        let (size, big) = (header.size, header.big_endian);
        values.extend(chunk.chunks_exact(size).map(|b| match (size, big) {
            (4, false) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            (4, true) => f32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            (_, false) => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32,
            (_, true) => f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32,
        }));
        left -= chunk.len();
    }
    Ok(values)
}

/// A safetensors file's bytes (format (c)).
pub fn parse_safetensors_audio(bytes: &[u8], path: &Path, bounds: &AudioBounds) -> Result<AudioFile, DataError> {
    use candle_core::safetensors::Load;
    let tensors = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| DataError::file(path, format!("cannot read safetensors: {e}")))?;
    let mut parts = Vec::new();
    for (split, keys) in SPLIT_KEYS.iter().enumerate() {
        let (name, view) = keys
            .iter()
            .find_map(|k| tensors.tensor(k).ok().map(|t| (*k, t)))
            .ok_or_else(|| {
                let mut have = tensors.names();
                have.sort();
                DataError::file(
                    path,
                    format!("no tensor named {} (tensors: {have:?})", keys.join(" or ")),
                )
            })?;
        let shape: Vec<u64> = view.shape().iter().map(|&d| d as u64).collect();
        let checked = check_shape(path, name, split, &shape, bounds)?;
        let values = view
            .load(&candle_core::Device::Cpu)
            .and_then(|t| t.to_dtype(candle_core::DType::F32))
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| DataError::file(path, format!("tensor {name}: {e}")))?;
        parts.push(token_aligned(path, name, checked, values, false)?);
    }
    assemble(path, AudioFormat::Safetensors, parts, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_headers_as_numpy_writes_them() {
        let h =
            parse_npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6, 50, 5), }          \n").unwrap();
        assert_eq!(
            h,
            NpyHeader {
                size: 4,
                big_endian: false,
                shape: vec![6, 50, 5]
            }
        );
        let h = parse_npy_header("{'shape': (3L,), 'fortran_order': False, 'descr': '>f8'}").unwrap();
        assert_eq!((h.size, h.big_endian, h.shape), (8, true, vec![3]));
        assert_eq!(
            parse_npy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (), }")
                .unwrap()
                .shape,
            Vec::<u64>::new()
        );
    }

    #[test]
    fn npy_headers_that_are_not_float_arrays_are_refused() {
        let err = |h: &str| parse_npy_header(h).unwrap_err();
        assert!(err("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }").contains("found <i8"));
        assert!(err("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }").contains("Fortran order"));
        assert!(err("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }").contains("structured"));
        assert!(err("{'descr': '<f4', 'shape': (1,), }").contains("malformed"));
        assert!(
            err("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }")
                .contains("malformed")
        );
        assert!(err("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}").contains("unexpected key"));
        assert!(err("(((((").contains("malformed"));
        // A stated header length beyond the cap is refused before anything is allocated.
        let mut npy = b"\x93NUMPY\x02\x00".to_vec();
        npy.extend(u32::MAX.to_le_bytes());
        assert!(read_npy_header(&mut npy.as_slice())
            .unwrap_err()
            .contains("at most 65536"));
    }

    #[test]
    fn floats_of_either_byte_order_and_truncation() {
        let header = NpyHeader {
            size: 8,
            big_endian: true,
            shape: vec![2],
        };
        let bytes: Vec<u8> = [1.5f64, -2.0].iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(read_floats(&mut bytes.as_slice(), &header, 2).unwrap(), [1.5, -2.0]);
        let err = read_floats(&mut &bytes[..12], &header, 2).unwrap_err();
        assert!(err.contains("data ends after 0 of 2 values"), "{err}");
        // Only what the shape needs is read, however much follows.
        let mut long = std::io::repeat(0).take(1 << 40);
        let header = NpyHeader {
            size: 4,
            big_endian: false,
            shape: vec![3],
        };
        assert_eq!(read_floats(&mut long, &header, 3).unwrap(), [0.0; 3]);
        assert_eq!(long.limit(), (1 << 40) - 12);
    }
}
