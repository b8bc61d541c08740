//! The streaming readers (`read_pickle`, `read_pickle_lazy`) against the in-memory one:
//! the same values and the same errors for the same bytes, arrays left in the file decoded
//! only when asked for, and lengths checked against the file's size.

use std::path::{Path, PathBuf};

use super::tests::{frombuffer, global, p2, short_str};
use super::*;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The value with every array left in the file read, as the eager reader gives it.
fn decoded(v: PyValue) -> PyValue {
    let all = |items: Vec<PyValue>| items.into_iter().map(decoded).collect();
    match v {
        PyValue::LazyArray(a) => PyValue::Array(a.decode().unwrap_or_else(|e| panic!("{e}"))),
        PyValue::List(items) => PyValue::List(all(items)),
        PyValue::Tuple(items) => PyValue::Tuple(all(items)),
        PyValue::Set(items) => PyValue::Set(all(items)),
        PyValue::Dict(items) => PyValue::Dict(items.into_iter().map(|(k, v)| (decoded(k), decoded(v))).collect()),
        other => other,
    }
}

/// What a reader gives, errors without the file's name (the in-memory reader has none), as
/// text: NaN must compare equal to NaN, and these arrays are short enough to print whole.
fn outcome(result: Result<PyValue, PickleError>, path: &Path) -> String {
    let result = result.map(decoded).map_err(|e| {
        let text = e.to_string();
        text.strip_prefix(&format!("{}: ", path.display()))
            .map_or(text.clone(), str::to_string)
    });
    format!("{result:?}")
}

/// A float32 array as NumPy pickles it at protocol 4: `_reconstruct` memoised, then BUILD
/// with `(1, shape, dtype, is_fortran, BINBYTES)`.
fn reconstructed(values: &[f32], shape: &[u8]) -> Vec<u8> {
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut out = global("numpy.core.multiarray", "_reconstruct");
    out.extend(global("numpy", "ndarray"));
    out.extend(b"K\x00\x85C\x01b\x87R\x94(K\x01(");
    for &d in shape {
        out.extend([b'K', d]);
    }
    out.push(b't');
    out.extend(global("numpy", "dtype"));
    out.extend(short_str("f4"));
    out.extend(b"\x89\x88\x87R(K\x03");
    out.extend(short_str("<"));
    out.extend(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89B");
    out.extend((raw.len() as u32).to_le_bytes());
    out.extend(raw);
    out.extend(b"tb");
    out
}

/// A dict as MMSA pickles its splits: text, arrays of both forms, memo references, a
/// protocol-0 global and a bytes object long enough to be left in the file.
fn sample() -> Vec<u8> {
    let mut body = b"}\x94(".to_vec();
    body.extend(short_str("raw_text"));
    body.extend(b"]\x94(X\x03\x00\x00\x00abc\x94X\x02\x00\x00\x00\xc3\xa9h\x02e");
    body.extend(short_str("audio"));
    body.extend(reconstructed(
        &[1.5, -2.0, f32::NEG_INFINITY, 0.25, 3.0, 4.0],
        &[1, 2, 3],
    ));
    body.extend(short_str("vision"));
    let vision = frombuffer(&[0, 0, 0x80, 0x3f, 0, 0, 0, 0x40], "f4", ">", &[2], "F");
    body.extend(&vision[2..vision.len() - 1]);
    body.extend(short_str("raw"));
    body.extend(b"C\x05hello");
    body.extend(short_str("cls"));
    body.extend(b"ccollections\nOrderedDict\n)R");
    body.extend(b"u.");
    [&b"\x80\x04"[..], &body].concat()
}

#[test]
fn streamed_files_read_as_the_bytes_do_whole_cut_or_mutated() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = sample();
    assert!(parse_pickle(&whole).is_ok(), "{:?}", parse_pickle(&whole));
    let mut inputs: Vec<Vec<u8>> = (0..=whole.len()).map(|n| whole[..n].to_vec()).collect();
    for i in 0..whole.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bytes = whole.clone();
            bytes[i] ^= flip;
            inputs.push(bytes);
        }
    }
    for (k, bytes) in inputs.iter().enumerate() {
        let path = write(tmp.path(), "p.pkl", bytes);
        let memory = format!("{:?}", parse_pickle(bytes).map_err(|e| e.to_string()));
        let what = format!("input {k} ({} bytes)", bytes.len());
        assert_eq!(outcome(read_pickle(&path), &path), memory, "{what}, read_pickle");
        for lazy_from in [1, 4, 1 << 20] {
            let lazy = outcome(read_pickle_lazy(&path, lazy_from), &path);
            assert_eq!(lazy, memory, "{what}, lazy from {lazy_from}");
        }
    }
}

#[test]
fn arrays_left_in_the_file_decode_as_the_eager_reader_gives_them() {
    let tmp = tempfile::tempdir().unwrap();
    let fortran: Vec<u8> = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let cases = [
        frombuffer(&fortran, "f4", "<", &[2, 3], "F"),
        frombuffer(&[0xff, 0xfe, 0x01, 0x00], "i2", ">", &[2], "C"),
        frombuffer(&[0x00, 0x3c, 0x00, 0xfc], "f2", "<", &[2], "C"),
        frombuffer(&(-3i64).to_le_bytes(), "i8", "<", &[1], "C"),
        frombuffer(&[1, 0, 2], "?", "|", &[3], "C"),
        p2(&reconstructed(&[0.1, 0.2, 0.3, 1e30], &[2, 2])),
    ];
    for (k, bytes) in cases.iter().enumerate() {
        let path = write(tmp.path(), &format!("a{k}.pkl"), bytes);
        let eager = parse_pickle(bytes).unwrap_or_else(|e| panic!("case {k}: {e}"));
        let eager = eager.as_array().unwrap_or_else(|| panic!("case {k}: {eager:?}"));
        let PyValue::LazyArray(lazy) = read_pickle_lazy(&path, 1).unwrap() else {
            panic!("case {k}: not left in the file");
        };
        assert_eq!(lazy.shape, eager.shape, "case {k}");
        assert_eq!(lazy.dtype, eager.dtype, "case {k}");
        assert_eq!(&lazy.decode().unwrap(), eager, "case {k}");
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&lazy.to_f32().unwrap()), bits(&eager.to_f32()), "case {k}");
        // Below the threshold the machine decodes as it runs.
        assert_eq!(
            read_pickle_lazy(&path, 1 << 20).unwrap().as_array(),
            Some(eager),
            "case {k}"
        );
    }
}

#[test]
fn an_array_nobody_asks_for_is_never_read() {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), "s.pkl", &sample());
    let before = decoded_bytes();
    let value = read_pickle_lazy(&path, 1).unwrap();
    assert_eq!(decoded_bytes(), before, "reading the pickle decoded array data");
    let audio = value.get("audio").and_then(PyValue::as_numeric).unwrap();
    assert!(matches!(audio, ArrayRef::Lazy(_)), "{audio:?}");
    assert!(matches!(value.get("vision"), Some(PyValue::LazyArray(_))));
    assert_eq!(audio.to_f32().unwrap()[..2], [1.5, -2.0]);
    // The audio's 24 bytes, and not the vision's 8.
    assert_eq!(decoded_bytes() - before, 24);
}

#[test]
fn lengths_beyond_the_file_are_refused_before_anything_is_allocated() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("binbytes8", [&b"\x8e"[..], &(1u64 << 40).to_le_bytes()].concat()),
        ("bytearray8", [&b"\x96"[..], &u64::MAX.to_le_bytes()].concat()),
        ("binunicode8", [&b"\x8d"[..], &(1u64 << 40).to_le_bytes()].concat()),
        ("frame", [&b"\x95"[..], &(1u64 << 40).to_le_bytes(), b"N."].concat()),
    ] {
        let path = write(tmp.path(), "long.pkl", &[b"\x80\x05", &body[..], b"."].concat());
        for result in [read_pickle(&path), read_pickle_lazy(&path, 1)] {
            let e = result.unwrap_err();
            assert!(e.is_truncated(), "{name}: {e}");
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("{}: unexpected end of file", path.display())),
                "{name}: {text}"
            );
        }
    }
}

#[test]
fn a_file_cut_after_it_was_read_gives_a_clear_error_when_an_array_is_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = sample();
    let path = write(tmp.path(), "s.pkl", &bytes);
    let value = read_pickle_lazy(&path, 1).unwrap();
    std::fs::write(&path, &bytes[..40]).unwrap();
    let Some(PyValue::LazyArray(audio)) = value.get("audio") else {
        panic!()
    };
    let e = audio.to_f32().unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: unexpected end of file at byte 40", path.display())),
        "{e}"
    );
    std::fs::remove_file(&path).unwrap();
    let e = audio.decode().unwrap_err().to_string();
    assert!(e.starts_with(&format!("cannot read {}", path.display())), "{e}");
}

#[test]
fn other_formats_and_missing_files_say_so_when_streamed() {
    let tmp = tempfile::tempdir().unwrap();
    let npy = write(tmp.path(), "a.pkl", b"\x93NUMPY\x01\x00");
    assert!(read_pickle(&npy).unwrap_err().to_string().contains("a NumPy .npy file"));
    let empty = write(tmp.path(), "e.pkl", b"");
    assert!(read_pickle_lazy(&empty, 1)
        .unwrap_err()
        .to_string()
        .contains("the file is empty"));
    let e = read_pickle(&tmp.path().join("none.pkl")).unwrap_err().to_string();
    assert!(e.starts_with("cannot read ") && e.contains("none.pkl"), "{e}");
}
