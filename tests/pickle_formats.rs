//! Every pickle in tests/fixtures/pickles/, written by NumPy 1.x and 2.x with protocols 2-5
//! (tests/reference/make_pickle_fixtures.py), read back and compared with what NumPy
//! recorded in expected.json; and the memory bound the reader states (data/pickle/mod.rs),
//! measured with a counting allocator on generated pickles that copy one value many times.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cmbert::data::pickle::{parse_pickle, read_pickle, NdArray, PickleError, PyValue, BUDGET_BASE, BUDGET_PER_BYTE};
use serde_json::Value as Json;

/// Counts each thread's live heap bytes and their peak, so that a test can measure what one
/// parse allocates while other tests run on other threads.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn grew(n: usize) {
    let live = LIVE.get() + n as isize;
    LIVE.set(live);
    PEAK.set(PEAK.get().max(live));
}

fn shrank(n: usize) {
    LIVE.set(LIVE.get() - n as isize);
}

// SAFETY: GlobalAlloc is an unsafe trait; this one forwards every call to the system allocator and
// only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, forwarded unchanged (GlobalAlloc's contract).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, forwarded unchanged.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: `p` was allocated by `System` with this layout (every allocation above is).
        unsafe { System.dealloc(p, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `p` came from `System` with `layout`; the caller's arguments, unchanged.
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What `parse_pickle` returns, the most this thread had allocated meanwhile, and the time.
fn measured(bytes: &[u8]) -> (Result<PyValue, PickleError>, usize, Duration) {
    let start = LIVE.get();
    PEAK.set(start);
    let clock = Instant::now();
    let result = parse_pickle(bytes);
    let elapsed = clock.elapsed();
    (result, (PEAK.get() - start).max(0) as usize, elapsed)
}

/// The stated bound: twice the budget (vectors' spare capacity) plus the input.
fn bound(len: usize) -> usize {
    2 * (BUDGET_PER_BYTE * len + BUDGET_BASE) + len
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pickles")
}

fn expected() -> serde_json::Map<String, Json> {
    let text = std::fs::read_to_string(dir().join("expected.json")).expect("expected.json");
    let json: Json = serde_json::from_str(&text).expect("expected.json parses");
    json["files"].as_object().expect("files").clone()
}

fn load(name: &str) -> PyValue {
    read_pickle(&dir().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// Follows "train/audio" or "1" through dicts, tuples and lists.
fn at<'a>(root: &'a PyValue, path: &str) -> &'a PyValue {
    path.split('/').fold(root, |v, key| match v {
        PyValue::Dict(_) => v.get(key).unwrap_or_else(|| panic!("no key {key:?} in {path}")),
        PyValue::Tuple(items) | PyValue::List(items) => &items[key.parse::<usize>().unwrap()],
        other => panic!("{path}: cannot index a {}", other.type_name()),
    })
}

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-9 * (scale + 1.0)
}

fn check_array(file: &str, path: &str, a: &NdArray, want: &Json) {
    let what = format!("{file} {path}");
    let shape: Vec<usize> = want["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(a.shape, shape, "{what}: shape");
    assert_eq!(a.dtype, want["dtype"].as_str().unwrap(), "{what}: dtype");
    assert_eq!(a.data.len() as u64, want["count"].as_u64().unwrap(), "{what}: count");

    let finite = || a.data.iter().enumerate().filter(|(_, v)| v.is_finite());
    let scale: f64 = finite().map(|(_, v)| v.abs() * 7.0).sum();
    let sum: f64 = finite().map(|(_, v)| v).sum();
    let wsum: f64 = finite().map(|(i, v)| v * ((i % 7) + 1) as f64).sum();
    assert!(
        close(sum, want["sum"].as_f64().unwrap(), scale),
        "{what}: sum {sum} vs {}",
        want["sum"]
    );
    assert!(
        close(wsum, want["wsum"].as_f64().unwrap(), scale),
        "{what}: weighted sum {wsum} vs {}",
        want["wsum"]
    );
    let neg_inf = a.data.iter().filter(|&&v| v == f64::NEG_INFINITY).count();
    assert_eq!(neg_inf as u64, want["neg_inf"].as_u64().unwrap(), "{what}: -inf count");

    let head: Vec<f64> = a.data.iter().take(6).copied().filter(|v| v.is_finite()).collect();
    let want_head: Vec<f64> = want["head"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(
        head.len(),
        want_head.len(),
        "{what}: first values {head:?} vs {want_head:?}"
    );
    assert!(
        head.iter().zip(&want_head).all(|(a, b)| close(*a, *b, a.abs())),
        "{what}: first values {head:?} vs {want_head:?}"
    );
    if let Some(bits) = want.get("bits") {
        let bits: Vec<u64> = bits.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        let got: Vec<u64> = a.data.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, bits, "{what}: values {:?}", a.data);
    }
    // to_f32 keeps -inf for the caller, who decides what it means.
    assert_eq!(
        a.to_f32().iter().filter(|&&v| v == f32::NEG_INFINITY).count(),
        neg_inf,
        "{what}: to_f32"
    );
}

fn check_arrays(file: &str, root: &PyValue, want: &Json) {
    for (path, spec) in want["arrays"].as_object().unwrap() {
        match at(root, path) {
            PyValue::Array(a) => check_array(file, path, a, spec),
            other => panic!("{file} {path}: expected numpy.ndarray, found {}", other.type_name()),
        }
    }
}

fn strs(v: &PyValue) -> Vec<&str> {
    match v {
        PyValue::List(items) => items.iter().map(|s| s.as_str().expect("str")).collect(),
        other => panic!("expected a list of str, found {}", other.type_name()),
    }
}

fn check_ref(file: &str, value: &PyValue, want: &Json) {
    let PyValue::Tuple(items) = value else {
        panic!("{file}: expected a tuple, found {}", value.type_name())
    };
    assert_eq!(items.len(), 3, "{file}");
    check_arrays(file, value, want);
    for item in items {
        let a = item.as_array().unwrap();
        // The [CLS] slot (position 0 along axis 1) is all zeros.
        let row = 50 * 5;
        assert!(
            (0..a.shape[0]).all(|n| a.data[n * row..n * row + 5].iter().all(|&v| v == 0.0)),
            "{file}: CLS slot"
        );
    }
}

fn check_mmsa(file: &str, value: &PyValue, want: &Json) {
    assert!(matches!(value, PyValue::Dict(_)), "{file}: {}", value.type_name());
    check_arrays(file, value, want);
    for (path, list) in want["lists"].as_object().unwrap() {
        let list: Vec<&str> = list.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        assert_eq!(strs(at(value, path)), list, "{file} {path}");
    }
    let audio = at(value, "train/audio").as_array().unwrap();
    assert_eq!(
        audio.data[3 * 5 + 1],
        f64::NEG_INFINITY,
        "{file}: -inf survives where NumPy put it"
    );
}

fn check_misc(file: &str, v: &PyValue, want: &Json) {
    check_arrays(file, v, want);
    let get = |k: &str| v.get(k).unwrap_or_else(|| panic!("{file}: no {k}"));
    let s = |x: &str| PyValue::Str(x.into());
    let list = |items: Vec<PyValue>| PyValue::List(items);
    assert_eq!(get("str_array"), &list(vec![s("ab"), s("c")]), "{file}");
    assert_eq!(
        get("bytes_array"),
        &list(vec![PyValue::Bytes(b"xy".to_vec()), PyValue::Bytes(b"z".to_vec())]),
        "{file}"
    );
    assert_eq!(
        get("object_array"),
        &list(vec![list(vec![s("a"), s("bb")]), list(vec![s("c"), PyValue::None])]),
        "{file}"
    );
    assert_eq!(get("scalar_f64"), &PyValue::Float(1.5), "{file}");
    assert_eq!(get("scalar_f32"), &PyValue::Float(-2.25), "{file}");
    assert_eq!(get("scalar_i64"), &PyValue::Int(-7), "{file}");
    assert_eq!(get("scalar_u8"), &PyValue::Int(200), "{file}");
    assert_eq!(get("scalar_bool"), &PyValue::Bool(true), "{file}");
    assert_eq!(get("bytes"), &PyValue::Bytes(b"\x00\xffabc".to_vec()), "{file}");
    assert_eq!(get("empty_bytes"), &PyValue::Bytes(Vec::new()), "{file}");
    assert_eq!(get("bytearray"), &PyValue::Bytes(b"xy".to_vec()), "{file}");
    let PyValue::Set(set) = get("set") else {
        panic!("{file}: set")
    };
    let mut set: Vec<i64> = set
        .iter()
        .map(|v| {
            if let PyValue::Int(i) = v {
                *i
            } else {
                panic!("{file}: set item")
            }
        })
        .collect();
    set.sort();
    assert_eq!(set, [1, 2, 3], "{file}");
    assert_eq!(get("frozenset"), &PyValue::Set(vec![s("a")]), "{file}");
    assert_eq!(
        get("ordered"),
        &PyValue::Dict(vec![(s("b"), PyValue::Int(1)), (s("a"), PyValue::Int(2))]),
        "{file}"
    );
    let big = |bytes: &[u8]| PyValue::Object {
        module: "builtins".into(),
        name: "int".into(),
        args: vec![PyValue::Bytes(bytes.to_vec())],
        state: None,
    };
    // 2**70 and -(2**70), little-endian two's complement.
    assert_eq!(get("big_int"), &big(&[0, 0, 0, 0, 0, 0, 0, 0, 0x40]), "{file}");
    assert_eq!(get("neg_big_int"), &big(&[0, 0, 0, 0, 0, 0, 0, 0, 0xc0]), "{file}");
    assert_eq!(get("neg_int"), &PyValue::Int(-(1 << 40)), "{file}");
    assert_eq!(get("minus_one"), &PyValue::Int(-1), "{file}");
    assert_eq!(get("float"), &PyValue::Float(1e-300), "{file}");
    assert!(matches!(get("nan"), PyValue::Float(f) if f.is_nan()), "{file}");
    assert_eq!(get("none"), &PyValue::None, "{file}");
    assert_eq!(get("true"), &PyValue::Bool(true), "{file}");
    assert_eq!(get("text"), &s("héllo ✓"), "{file}");
    assert_eq!(get("tuple1"), &PyValue::Tuple(vec![PyValue::Int(1)]), "{file}");
    assert_eq!(get("empty_tuple"), &PyValue::Tuple(vec![]), "{file}");
    assert_eq!(get("empty_list"), &list(vec![]), "{file}");
    assert_eq!(get("empty_dict"), &PyValue::Dict(vec![]), "{file}");
    let pair = list(vec![PyValue::Int(1), PyValue::Int(2)]);
    assert_eq!(
        get("shared"),
        &list(vec![pair.clone(), pair]),
        "{file}: a list stored once and referenced twice"
    );
}

fn check_foreign(file: &str, v: &PyValue) {
    let PyValue::Dict(items) = v else {
        panic!("{file}: expected a dict, found {}", v.type_name())
    };
    assert_eq!(items.len(), 3, "{file}");
    assert!(
        items.iter().all(|(_, v)| matches!(v, PyValue::List(_))),
        "{file}: a dict of lists"
    );
    assert_eq!(
        v.get("c"),
        Some(&PyValue::List(vec![
            PyValue::Float(1.5),
            PyValue::None,
            PyValue::Bool(true)
        ]))
    );
}

fn check_foreign_obj(file: &str, v: &PyValue) {
    let kind = |k: &str| v.get(k).unwrap_or_else(|| panic!("{file}: no {k}")).type_name();
    assert_eq!(kind("opaque"), "__main__.Opaque object", "{file}");
    assert_eq!(kind("when"), "datetime.date object", "{file}");
    assert_eq!(kind("queue"), "collections.deque object", "{file}");
    assert_eq!(kind("counts"), "collections.Counter object", "{file}");
    let Some(PyValue::Object { state: Some(state), .. }) = v.get("opaque") else {
        panic!("{file}: opaque has no state")
    };
    assert_eq!(state.get("name"), Some(&PyValue::Str("opaque".into())), "{file}");
    // deque's items arrive by APPENDS onto the opaque object.
    let Some(PyValue::Object { state: Some(state), .. }) = v.get("queue") else {
        panic!("{file}: deque has no items")
    };
    assert_eq!(
        state.get("listitems"),
        Some(&PyValue::List(vec![PyValue::Int(1), PyValue::Int(2)])),
        "{file}"
    );
}

fn check_truncated(name: &str) {
    let path = dir().join(name);
    let err = read_pickle(&path).expect_err("a truncated pickle must not parse");
    let msg = err.to_string();
    assert!(err.is_truncated(), "{msg}");
    assert!(
        msg.contains(&path.display().to_string()),
        "message names the file: {msg}"
    );
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn every_fixture_matches_numpy() {
    let want = expected();
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".pkl"))
        .collect();
    names.sort();
    let listed: Vec<&String> = want.keys().collect();
    assert_eq!(
        names.iter().collect::<Vec<_>>(),
        listed,
        "fixtures on disk and in expected.json differ"
    );
    for np in ["np1", "np2"] {
        for p in 2..=5 {
            for kind in ["ref", "mmsa", "misc"] {
                assert!(
                    want.contains_key(&format!("{kind}_{np}_p{p}.pkl")),
                    "missing {kind}_{np}_p{p}.pkl"
                );
            }
        }
    }
    for (name, spec) in &want {
        match spec["kind"].as_str().unwrap() {
            "ref" => check_ref(name, &load(name), spec),
            "mmsa" => check_mmsa(name, &load(name), spec),
            "misc" => check_misc(name, &load(name), spec),
            "foreign" => check_foreign(name, &load(name)),
            "foreign_obj" => check_foreign_obj(name, &load(name)),
            "truncated" => check_truncated(name),
            other => panic!("{name}: unknown kind {other}"),
        }
    }
}

/// Every prefix of a real NumPy pickle fails cleanly as truncated.
#[test]
fn every_prefix_of_a_numpy_pickle_is_an_error() {
    for name in ["misc_np1_p2.pkl", "misc_np2_p5.pkl"] {
        let bytes = std::fs::read(dir().join(name)).unwrap();
        assert!(parse_pickle(&bytes).is_ok());
        for n in 1..bytes.len() {
            let err = parse_pickle(&bytes[..n]).expect_err("prefix parsed");
            assert!(err.is_truncated(), "{name}[..{n}]: {err}");
        }
    }
}

#[test]
fn missing_and_foreign_files_are_named() {
    let path = dir().join("no_such_file.pkl");
    let msg = read_pickle(&path).unwrap_err().to_string();
    assert!(msg.contains("no_such_file.pkl"), "{msg}");

    let path = dir().join("expected.json");
    let msg = read_pickle(&path).unwrap_err().to_string();
    assert!(msg.contains("expected.json") && msg.contains("not a pickle"), "{msg}");
}

/// Pickles that build one value of `N` items and then use it `TIMES` times, each use
/// copying or expanding it: every one must be refused within the stated memory bound and
/// quickly. The old reader charged its budget only when copying the result out, so the
/// copies made while running (`list(x)`, call arguments, `dict(x)`, object-array items)
/// were unbounded: `list(x)` here took 1.2 GB.
#[test]
fn values_copied_many_times_are_refused_within_the_stated_bound() {
    const N: usize = 50_000;
    const TIMES: usize = 1000;
    let n = (N as u32).to_le_bytes();
    let str4 = |s: &[u8]| [&b"X"[..], &(s.len() as u32).to_le_bytes(), s].concat();
    // Memo 0: a list of N Nones. Memo 1: a tuple of N Nones. Memo 2: a dict of N / 2 pairs.
    // Memo 3: a shape tuple (N,). Memo 4: N bytes. Memo 5: a str of N characters.
    let setup = [
        &b"]q\x00("[..],
        &vec![b'N'; N],
        b"e0(",
        &vec![b'N'; N],
        b"tq\x010}q\x02(",
        &b"K\x01N".repeat(N / 2),
        b"u0J",
        &n,
        b"\x85q\x030B",
        &n,
        &vec![7u8; N],
        b"q\x040",
        &str4(&vec![b'a'; N]),
        b"q\x050",
    ]
    .concat();
    let uses: [(&str, &[u8], &[u8]); 8] = [
        ("list(x)", b"c__builtin__\nlist\nq\x100", b"h\x10h\x00\x85R"),
        ("f(*args)", b"cmod\nf\nq\x100", b"h\x10h\x01R"),
        (
            "OrderedDict(d)",
            b"ccollections\nOrderedDict\nq\x100",
            b"h\x10h\x02\x85R",
        ),
        (
            "object array",
            b"cnumpy.core.multiarray\n_reconstruct\nq\x10cnumpy\nndarray\nK\x00\x85C\x01b\x87q\x110\
              cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87Rq\x120",
            b"h\x10h\x11R(K\x01h\x03h\x12\x89h\x00tb",
        ),
        (
            "int8 array",
            b"cnumpy.core.numeric\n_frombuffer\nq\x10cnumpy\ndtype\nX\x02\x00\x00\x00i1\x89\x88\x87Rq\x120\
              X\x01\x00\x00\x00Cq\x130",
            b"h\x10(h\x04h\x12h\x03h\x13tR",
        ),
        (
            "_codecs.encode",
            b"c_codecs\nencode\nq\x10X\x06\x00\x00\x00latin1q\x110",
            b"h\x10h\x05h\x11\x86R",
        ),
        ("bytes shared", b"", b"h\x04"),
        ("list shared", b"", b"h\x00"),
    ];
    for (what, global, use_once) in uses {
        let bytes = [&b"\x80\x02"[..], &setup, global, b"](", &use_once.repeat(TIMES), b"e."].concat();
        let (result, peak, elapsed) = measured(&bytes);
        let e = result.expect_err(what).to_string();
        assert!(e.contains("expands to far more data"), "{what}: {e}");
        assert!(
            peak <= bound(bytes.len()),
            "{what}: {peak} bytes allocated for a {}-byte pickle, above the stated bound",
            bytes.len()
        );
        assert!(elapsed < Duration::from_secs(5), "{what}: took {elapsed:?}");
        // Used once, the same value is fine.
        let once = [&b"\x80\x02"[..], &setup, global, b"](", use_once, b"e."].concat();
        let PyValue::List(items) = parse_pickle(&once).unwrap_or_else(|e| panic!("{what}: {e}")) else {
            panic!("{what}: not a list")
        };
        assert_eq!(items.len(), 1, "{what}");
    }
}

/// Real pickles stay far inside the bound.
#[test]
fn fixtures_parse_within_the_stated_bound() {
    for (name, _) in expected() {
        let bytes = std::fs::read(dir().join(&name)).unwrap();
        let (_, peak, _) = measured(&bytes);
        assert!(peak <= bound(bytes.len()), "{name}: {peak} bytes");
    }
}
