//! Opcode edge cases on hand-built pickles. (Files written by NumPy are checked in
//! tests/pickle_formats.rs.)

use super::numpy::{f16_to_f64, fortran_to_c};
use super::*;

fn parse(bytes: &[u8]) -> PyValue {
    parse_pickle(bytes).unwrap_or_else(|e| panic!("{e}"))
}

fn err(bytes: &[u8]) -> String {
    match parse_pickle(bytes) {
        Ok(v) => panic!("parsed to {v:?}"),
        Err(e) => e.to_string(),
    }
}

/// Protocol 2 prologue and STOP around `body`.
pub(super) fn p2(body: &[u8]) -> Vec<u8> {
    [b"\x80\x02", body, b"."].concat()
}

pub(super) fn short_str(s: &str) -> Vec<u8> {
    [&[0x8c, s.len() as u8][..], s.as_bytes()].concat()
}

pub(super) fn global(module: &str, name: &str) -> Vec<u8> {
    [short_str(module), short_str(name), vec![0x93]].concat()
}

/// A protocol-5 array as NumPy 2 writes it: `_frombuffer(buf, dtype(code) + BUILD(order), shape, order)`.
pub(super) fn frombuffer(raw: &[u8], code: &str, byte_order: &str, shape: &[u8], order: &str) -> Vec<u8> {
    let mut out = b"\x80\x05".to_vec();
    out.extend(global("numpy._core.numeric", "_frombuffer"));
    out.push(b'(');
    out.push(0x96);
    out.extend((raw.len() as u64).to_le_bytes());
    out.extend(raw);
    out.extend(global("numpy", "dtype"));
    out.extend(short_str(code));
    out.extend(b"\x89\x88\x87R(K\x03");
    out.extend(short_str(byte_order));
    out.extend(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb(");
    for &d in shape {
        out.extend([b'K', d]);
    }
    out.push(b't');
    out.extend(short_str(order));
    out.extend(b"tR.");
    out
}

#[test]
fn long1_and_long4_are_twos_complement() {
    assert_eq!(parse(&p2(b"\x8a\x01\xff")), PyValue::Int(-1));
    assert_eq!(parse(&p2(b"\x8a\x02\x00\x80")), PyValue::Int(-32768));
    assert_eq!(parse(&p2(b"\x8a\x02\xff\x00")), PyValue::Int(255));
    assert_eq!(parse(&p2(b"\x8a\x00")), PyValue::Int(0));
    // Nine bytes that are only sign extension still fit.
    assert_eq!(
        parse(&p2(b"\x8a\x09\xfe\xff\xff\xff\xff\xff\xff\xff\xff")),
        PyValue::Int(-2)
    );
    assert_eq!(
        parse(&p2(b"\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80")),
        PyValue::Int(i64::MIN)
    );
    assert_eq!(parse(&p2(b"\x8b\x01\x00\x00\x00\x85")), PyValue::Int(-123));
    // 2**64 does not fit: kept as its bytes.
    let big = parse(&p2(b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01"));
    assert_eq!(big.type_name(), "builtins.int object");
    assert!(err(&p2(b"\x8b\xff\xff\xff\xff")).contains("negative length"));
}

#[test]
fn small_ints_and_floats() {
    assert_eq!(parse(&p2(b"K\xff")), PyValue::Int(255));
    assert_eq!(parse(&p2(b"M\xff\xff")), PyValue::Int(65535));
    assert_eq!(parse(&p2(b"J\xfe\xff\xff\xff")), PyValue::Int(-2));
    assert_eq!(parse(&p2(b"G\xbf\xf8\x00\x00\x00\x00\x00\x00")), PyValue::Float(-1.5));
    assert_eq!(parse(b"I01\n."), PyValue::Bool(true));
    assert_eq!(parse(b"I-12\n."), PyValue::Int(-12));
    assert_eq!(parse(b"L99L\n."), PyValue::Int(99));
    assert_eq!(parse(b"F2.5\n."), PyValue::Float(2.5));
}

#[test]
fn memo_put_and_get_share_one_object() {
    // x = []; memoise; append 1 to it afterwards; the tuple holds it twice.
    let v = parse(&p2(b"]q\x00K\x01ah\x00\x86"));
    let one = PyValue::List(vec![PyValue::Int(1)]);
    assert_eq!(v, PyValue::Tuple(vec![one.clone(), one.clone()]));
    // LONG_BINPUT / LONG_BINGET and MEMOIZE / text PUT and GET.
    assert_eq!(
        parse(&p2(b"K\x07r\x10\x00\x00\x00j\x10\x00\x00\x00\x86")),
        PyValue::Tuple(vec![PyValue::Int(7); 2])
    );
    assert_eq!(
        parse(b"\x80\x04(K\x05\x94K\x06\x94h\x00h\x01t."),
        PyValue::Tuple(vec![PyValue::Int(5), PyValue::Int(6), PyValue::Int(5), PyValue::Int(6)])
    );
    assert_eq!(parse(b"K\x03p5\ng5\n\x86."), PyValue::Tuple(vec![PyValue::Int(3); 2]));
    assert!(err(&p2(b"h\x05")).contains("memo key 5 was never stored"));
}

#[test]
fn empty_containers() {
    assert_eq!(parse(&p2(b")")), PyValue::Tuple(vec![]));
    assert_eq!(parse(&p2(b"]")), PyValue::List(vec![]));
    assert_eq!(parse(&p2(b"}")), PyValue::Dict(vec![]));
    assert_eq!(parse(b"\x80\x04\x8f."), PyValue::Set(vec![]));
    assert_eq!(parse(b"\x80\x04(\x91."), PyValue::Set(vec![]));
    assert_eq!(parse(b"(t."), PyValue::Tuple(vec![]));
    assert_eq!(parse(b"(l."), PyValue::List(vec![]));
    assert_eq!(parse(b"(d."), PyValue::Dict(vec![]));
    assert_eq!(parse(&p2(b"](e")), PyValue::List(vec![]));
    assert_eq!(parse(&p2(b"}(u")), PyValue::Dict(vec![]));
    assert_eq!(parse(&p2(b"C\x00")), PyValue::Bytes(vec![]));
    assert_eq!(parse(&p2(b"X\x00\x00\x00\x00")), PyValue::Str(String::new()));
}

#[test]
fn containers_strings_and_sets() {
    let v = parse(
        &[
            b"\x80\x04}(".to_vec(),
            short_str("a"),
            b"K\x01".to_vec(),
            short_str("a"),
            b"K\x02u.".to_vec(),
        ]
        .concat(),
    );
    // A key written twice: the later value wins, as in Python.
    assert_eq!(v.get("a"), Some(&PyValue::Int(2)));
    assert_eq!(v.get("b"), None);
    assert_eq!(
        parse(b"\x80\x04\x8f(K\x01K\x02\x90."),
        PyValue::Set(vec![PyValue::Int(1), PyValue::Int(2)])
    );
    assert_eq!(
        parse(b"\x80\x04\x8d\x02\x00\x00\x00\x00\x00\x00\x00\xc3\xa9."),
        PyValue::Str("é".into())
    );
    assert_eq!(
        parse(b"\x80\x04\x8e\x01\x00\x00\x00\x00\x00\x00\x00z."),
        PyValue::Bytes(b"z".to_vec())
    );
    assert_eq!(parse(b"\x80\x03B\x02\x00\x00\x00ab."), PyValue::Bytes(b"ab".to_vec()));
    // Python 2 str reads as latin-1 text.
    assert_eq!(parse(b"U\x02\xe9a."), PyValue::Str("éa".into()));
    // Protocol 2 bytes: _codecs.encode(text, "latin1").
    let v = parse(&p2(
        b"c_codecs\nencode\nX\x02\x00\x00\x00\xc3\xbfX\x06\x00\x00\x00latin1\x86R",
    ));
    assert_eq!(v, PyValue::Bytes(vec![0xff]));
    let v = err(&p2(
        b"c_codecs\nencode\nX\x03\x00\x00\x00\xe2\x82\xacX\x06\x00\x00\x00latin1\x86R",
    ));
    assert!(v.contains("latin-1"), "{v}");
    assert_eq!(
        parse(&p2(b"N\x88\x89\x87")),
        PyValue::Tuple(vec![PyValue::None, PyValue::Bool(true), PyValue::Bool(false)])
    );
}

#[test]
fn builtins_and_ordered_dict_from_the_allow_list() {
    let set = parse(&p2(b"c__builtin__\nset\n]K\x01a\x85R"));
    assert_eq!(set, PyValue::Set(vec![PyValue::Int(1)]));
    let od = parse(&p2(b"ccollections\nOrderedDict\n)RX\x01\x00\x00\x00kK\x02s"));
    assert_eq!(od, PyValue::Dict(vec![(PyValue::Str("k".into()), PyValue::Int(2))]));
    assert_eq!(parse(&p2(b"c__builtin__\nbytes\n)R")), PyValue::Bytes(vec![]));
}

#[test]
fn unknown_globals_become_objects() {
    // mod.Cls(1) with state {"x": 2}.
    let v = parse(&p2(b"cmod\nCls\nK\x01\x85R}X\x01\x00\x00\x00xK\x02sb"));
    let PyValue::Object {
        module,
        name,
        args,
        state,
    } = &v
    else {
        panic!("{v:?}")
    };
    assert_eq!((module.as_str(), name.as_str()), ("mod", "Cls"));
    assert_eq!(args, &[PyValue::Int(1)]);
    assert_eq!(state.as_deref().and_then(|s| s.get("x")), Some(&PyValue::Int(2)));
    assert_eq!(v.type_name(), "mod.Cls object");
    // NEWOBJ, and a bare global.
    assert_eq!(parse(&p2(b"cmod\nCls\n)\x81")).type_name(), "mod.Cls object");
    assert_eq!(parse(&p2(b"cos\nsystem\n")).type_name(), "os.system object");
    // Items appended to an unknown object are kept.
    let v = parse(&p2(b"cmod\nL\n)\x81K\x01a"));
    let PyValue::Object { state: Some(state), .. } = v else {
        panic!()
    };
    assert_eq!(state.get("listitems"), Some(&PyValue::List(vec![PyValue::Int(1)])));
}

#[test]
fn numpy_arrays_by_hand() {
    // Fortran order: [[1, 2, 3], [4, 5, 6]] stored column by column.
    let raw: Vec<u8> = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let v = parse(&frombuffer(&raw, "f4", "<", &[2, 3], "F"));
    assert_eq!(
        v,
        PyValue::Array(NdArray {
            shape: vec![2, 3],
            dtype: "float32".into(),
            data: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        })
    );
    // Big-endian int16.
    let v = parse(&frombuffer(&[0xff, 0xfe, 0x01, 0x00], "i2", ">", &[2], "C"));
    assert_eq!(v.as_array().unwrap().data, [-2.0, 256.0]);
    assert_eq!(v.as_array().unwrap().to_f32(), [-2.0f32, 256.0]);
    // -inf survives.
    let v = parse(&frombuffer(&f64::NEG_INFINITY.to_le_bytes(), "f8", "<", &[1], "C"));
    assert_eq!(v.as_array().unwrap().data, [f64::NEG_INFINITY]);
    // Data of the wrong length, and dtypes we do not read.
    assert!(err(&frombuffer(&[0; 7], "f4", "<", &[2], "C")).contains("needs 8 bytes"));
    assert!(err(&frombuffer(&[0; 8], "c8", "<", &[1], "C")).contains("complex"));
    assert!(err(&frombuffer(&[0; 8], "f4", "?", &[2], "C")).contains("byte order"));
    assert!(err(&frombuffer(&[0; 8], "f4", "<", &[2], "X")).contains("order"));
}

#[test]
fn fortran_and_float16_helpers() {
    // A [2, 3, 2] array numbered in C order, laid out column-major.
    let shape = [2, 3, 2];
    let c: Vec<f64> = (0..12).map(f64::from).collect();
    let mut f = vec![0.0; 12];
    for (i, v) in c.iter().enumerate() {
        let (a, b, k) = (i / 6, (i / 2) % 3, i % 2);
        f[a + 2 * b + 6 * k] = *v;
    }
    assert_eq!(fortran_to_c(&f, &shape), c);
    assert_eq!(fortran_to_c(&[] as &[f64], &[0, 3]), Vec::<f64>::new());
    assert_eq!(f16_to_f64(0x3c00), 1.0);
    assert_eq!(f16_to_f64(0xc000), -2.0);
    assert_eq!(f16_to_f64(0x7bff), 65504.0);
    assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
    assert_eq!(f16_to_f64(0xfc00), f64::NEG_INFINITY);
    assert!(f16_to_f64(0x7e00).is_nan());
}

#[test]
fn every_prefix_of_a_valid_pickle_is_truncated() {
    let mut body = b"}\x94(".to_vec();
    body.extend(short_str("key"));
    body.extend(b"\x94]\x94(K\x01J\xff\xff\xff\xff\x8a\x02\x00\x80G?\xf0\x00\x00\x00\x00\x00\x00e");
    body.extend(short_str("b"));
    body.extend(b"C\x03abcu.");
    let whole = [&b"\x80\x04\x95"[..], &(body.len() as u64).to_le_bytes(), &body].concat();
    assert!(parse_pickle(&whole).is_ok());
    let array = frombuffer(&[1, 0, 2, 0], "u2", "<", &[2], "C");
    assert!(parse_pickle(&array).is_ok());
    for bytes in [&whole, &array] {
        for n in 1..bytes.len() {
            match parse_pickle(&bytes[..n]) {
                Err(e) => assert!(e.is_truncated(), "prefix of {n} bytes: {e}"),
                Ok(v) => panic!("prefix of {n} bytes parsed to {v:?}"),
            }
        }
    }
    assert!(err(b"").contains("empty"));
    assert_eq!(
        err(b"\x80\x04K\x01"),
        "unexpected end of file at byte 4 (truncated pickle?)"
    );
}

#[test]
fn absurd_lengths_fail_without_allocating() {
    for body in [
        &b"X\xff\xff\xff\xff"[..],
        b"\x8d\xff\xff\xff\xff\xff\xff\xff\x7f",
        b"\x8e\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\x96\x00\x00\x00\x00\x00\x00\x00\x80",
        b"\x95\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\x8b\xff\xff\xff\x7f",
        b"T\xff\xff\xff\x7f",
    ] {
        let e = parse_pickle(&p2(body)).unwrap_err();
        assert!(e.is_truncated(), "{e}");
    }
    // A shape whose product overflows, and one far larger than its data.
    assert!(parse_pickle(&frombuffer(&[], "f4", "<", &[255; 40], "C")).is_err());
}

#[test]
fn hostile_structure_is_refused() {
    // Stack underflow, including popping past a MARK.
    assert!(err(&p2(b"a")).contains("underflow"));
    assert!(err(&p2(b"K\x01(\x85")).contains("underflow"));
    assert!(err(&p2(b"](e(K\x01K\x02u")).contains("SETITEM on a list"));
    assert!(err(&p2(b"(K\x01d")).contains("odd number"));
    assert!(err(&p2(b"1")).contains("MARK"));
    // A list that contains itself.
    assert!(err(&p2(b"]q\x00h\x00a")).contains("itself"));
    // A list holding the previous one twice, 64 levels deep: 2^64 items when expanded.
    let mut body = b"]".to_vec();
    for _ in 0..64 {
        body.extend(b"\x94\x32\x86");
    }
    let e = err(&p2(&body));
    assert!(e.contains("expands"), "{e}");
    // Deep nesting is an error, not a stack overflow.
    let deep = [vec![b']'; 100_000], vec![b'a'; 99_999]].concat();
    assert!(err(&p2(&deep)).contains("nested"));
}

#[test]
fn not_a_pickle_or_unsupported() {
    assert!(err(b"PK\x03\x04rest").contains("zip"));
    assert!(err(b"\x93NUMPY\x01\x00").contains(".npy"));
    assert!(err(b"hello world").starts_with("not a pickle"));
    assert!(err(b"Name,Age\n").starts_with("not a pickle"), "{}", err(b"Name,Age\n"));
    assert!(err(b"{\"a\": 1}").starts_with("not a pickle"));
    assert!(err(b"\x80\x06K\x01.").contains("protocol 6"));
    assert!(err(b"\x80\x05\x97.").contains("out-of-band"));
    assert!(err(b"\x80\x02X\x00\x00\x00\x00Q.").contains("persistent"));
    assert!(err(b"\x80\x02\xff.").contains("unknown opcode 0xff"));
    let e = err(b"\x80\x02K\x01K\x02\xff.");
    assert_eq!(e, "malformed pickle at byte 6: unknown opcode 0xff");
}

/// Random corruption of valid pickles must give values or errors, never a panic.
#[test]
fn mutated_pickles_never_panic() {
    let raw: Vec<u8> = [1.0f32, -2.0, f32::NEG_INFINITY, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let seeds = [
        frombuffer(&raw, "f4", "<", &[2, 2], "F"),
        p2(b"}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01h\x01ecmod\nC\n)\x81}bu"),
        p2(b"c__builtin__\nset\n]K\x01a\x85Rccollections\nOrderedDict\n)R\x86"),
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for seed in &seeds {
        for _ in 0..20_000 {
            let mut bytes = seed.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % bytes.len() as u64) as usize;
                match next() % 3 {
                    0 => bytes[i] = next() as u8,
                    1 => bytes[i] ^= 1 << (next() % 8),
                    _ => bytes.truncate(i.max(1)),
                }
            }
            let _ = parse_pickle(&bytes);
        }
    }
}

#[test]
fn type_names_and_lookup() {
    assert_eq!(PyValue::Dict(vec![]).type_name(), "dict");
    assert_eq!(PyValue::Tuple(vec![]).type_name(), "tuple");
    let a = PyValue::Array(NdArray {
        shape: vec![1],
        dtype: "float32".into(),
        data: vec![0.0],
    });
    assert_eq!(a.type_name(), "numpy.ndarray");
    assert_eq!(a.get("x"), None);
    let long = NdArray {
        shape: vec![100],
        dtype: "float64".into(),
        data: vec![0.5; 100],
    };
    assert!(format!("{long:?}").contains(".. 100 values"));
}

/// `_reconstruct(ndarray, (0,), b"b")`, memoised under `key` before BUILD gives it data, as
/// NumPy pickles an array.
fn pending_array(key: u8) -> Vec<u8> {
    [
        &b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b\x87Rq"[..],
        &[key],
    ]
    .concat()
}

/// BUILD state of a 0-d object array whose one item is memo entry `item`.
fn object_0d_state(item: u8) -> Vec<u8> {
    [
        &b"(K\x01)cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87R\x89]h"[..],
        &[item],
        b"atb",
    ]
    .concat()
}

/// Runs `parse_pickle` on another thread: a hang fails the test instead of stalling it.
fn parse_within(bytes: Vec<u8>, secs: u64) -> Result<PyValue, PickleError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(parse_pickle(&bytes)));
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .expect("the pickle reader did not finish in time")
}

#[test]
fn a_0d_object_array_that_contains_itself_is_refused() {
    // It stands for its one item, itself: describing it for an error used to loop forever.
    let array = [pending_array(0), object_0d_state(0)].concat();
    for then in [&b"K\x01a"[..], b")R", b""] {
        let e = parse_within(p2(&[&array[..], then].concat()), 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("contains itself"), "{e}");
    }
    // Two arrays standing for each other.
    let pair = [
        pending_array(0),
        pending_array(1),
        object_0d_state(0),
        b"0".to_vec(),
        object_0d_state(1),
    ]
    .concat();
    let e = parse_within(p2(&pair), 10).unwrap_err().to_string();
    assert!(e.contains("contains itself"), "{e}");
    // One standing for a list that holds it: a cycle through a container, refused on copy-out.
    let through_list = [pending_array(0), b"]q\x01h\x00a0".to_vec(), object_0d_state(1)].concat();
    let e = parse_within(p2(&through_list), 10).unwrap_err().to_string();
    assert!(e.contains("itself") || e.contains("nested"), "{e}");
    // An array standing for another array's item is fine, and reads as that item.
    let ok = [pending_array(0), b"K\x07q\x010".to_vec(), object_0d_state(1)].concat();
    assert_eq!(parse(&p2(&ok)), PyValue::Int(7));
}

#[test]
fn messages_shorten_names_from_the_file() {
    let text = |s: &str| [&b"X"[..], &(s.len() as u32).to_le_bytes(), s.as_bytes()].concat();
    let e = err(&p2(
        &[text(&"m".repeat(5000)), text("f\nx"), b"\x93K\x01a".to_vec()].concat()
    ));
    assert!(e.len() < 300 && e.contains("...") && e.contains("f\\nx"), "{e}");
}

#[test]
fn deep_nesting_of_a_megabyte_is_an_error_not_a_stack_overflow() {
    let n = 1 << 19;
    for body in [
        vec![b'('; 2 * n],
        [vec![b']'; n], vec![b'a'; n - 1]].concat(),
        [vec![b'('; n], vec![b'N'], vec![b't'; n]].concat(),
        [vec![b']'; n], vec![0x85; n]].concat(),
    ] {
        assert!(parse_within(p2(&body), 20).is_err());
    }
}

#[test]
fn persistent_ids_only_in_the_torch_flavour() {
    let bytes = p2(b"(X\x07\x00\x00\x00storageK\x00tQ");
    assert!(err(&bytes).contains("persistent ID"));
    let v = parse_torch_pickle(&bytes).unwrap();
    let PyValue::PersistentId(id) = &v else { panic!("{v:?}") };
    assert_eq!(
        **id,
        PyValue::Tuple(vec![PyValue::Str("storage".into()), PyValue::Int(0)])
    );
    assert_eq!(v.type_name(), "persistent id");
    assert_eq!(
        parse_torch_pickle(b"P0\n.").unwrap(),
        PyValue::PersistentId(Box::new(PyValue::Str("0".into())))
    );
    // The state dict's attributes (BUILD on an OrderedDict) are dropped.
    let od = p2(b"ccollections\nOrderedDict\n)R}(X\x01\x00\x00\x00kK\x01ub");
    assert!(err(&od).contains("BUILD with state on a dict"));
    assert_eq!(parse_torch_pickle(&od).unwrap(), PyValue::Dict(vec![]));
}
