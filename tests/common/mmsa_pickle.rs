//! Writes MMSA pickles (thuiar/MMSA's `aligned_50.pkl` layout, `data::mmsa`) for tests: the
//! opcodes NumPy 2 and `pickle.dump(protocol=5)` write for a dict of lists, strings and
//! float32 arrays (`numpy._core.numeric._frombuffer`), so that the files read as real ones
//! do. Tests include it with `#[path = "common/mmsa_pickle.rs"] mod mmsa_pickle;`.
#![allow(dead_code)]

/// A value to pickle.
#[derive(Debug, Clone)]
pub enum Py {
    Str(String),
    /// A `str` written as these bytes (Python's `surrogatepass` writes a lone surrogate as
    /// bytes that are not UTF-8).
    RawStr(Vec<u8>),
    /// A `bytes`.
    Bytes(Vec<u8>),
    List(Vec<Py>),
    Dict(Vec<(String, Py)>),
    /// A float32 array: shape and values in C order.
    F32(Vec<usize>, Vec<f32>),
    /// A float64 array (labels are float64 in some MMSA files).
    F64(Vec<usize>, Vec<f64>),
}

impl Py {
    pub fn str(s: &str) -> Self {
        Self::Str(s.to_string())
    }

    pub fn strs(items: &[String]) -> Self {
        Self::List(items.iter().map(|s| Self::Str(s.clone())).collect())
    }

    /// The dict's entry `key`, for tests that break one.
    pub fn entry(&mut self, key: &str) -> &mut Py {
        let Self::Dict(items) = self else { panic!("not a dict") };
        &mut items.iter_mut().find(|(k, _)| k == key).expect("key").1
    }

    /// Removes the dict's entry `key`.
    pub fn remove(&mut self, key: &str) {
        let Self::Dict(items) = self else { panic!("not a dict") };
        items.retain(|(k, _)| k != key);
    }

    /// Sets (or adds) the dict's entry `key`.
    pub fn set(&mut self, key: &str, value: Py) {
        let Self::Dict(items) = self else { panic!("not a dict") };
        match items.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = value,
            None => items.push((key.to_string(), value)),
        }
    }
}

/// The pickle's bytes (protocol 5).
pub fn pickle(v: &Py) -> Vec<u8> {
    let mut out = b"\x80\x05".to_vec();
    write(&mut out, v);
    out.push(b'.');
    out
}

fn short_str(out: &mut Vec<u8>, s: &str) {
    out.push(0x8c);
    out.push(s.len() as u8);
    out.extend(s.as_bytes());
}

fn global(out: &mut Vec<u8>, module: &str, name: &str) {
    short_str(out, module);
    short_str(out, name);
    out.push(0x93);
}

fn array(out: &mut Vec<u8>, shape: &[usize], raw: &[u8], code: &str) {
    global(out, "numpy._core.numeric", "_frombuffer");
    out.push(b'(');
    out.push(0x96);
    out.extend((raw.len() as u64).to_le_bytes());
    out.extend(raw);
    global(out, "numpy", "dtype");
    short_str(out, code);
    out.extend(b"\x89\x88\x87R(K\x03");
    short_str(out, "<");
    out.extend(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb(");
    for &d in shape {
        out.push(b'J');
        out.extend((d as i32).to_le_bytes());
    }
    out.push(b't');
    short_str(out, "C");
    out.extend(b"tR");
}

fn write(out: &mut Vec<u8>, v: &Py) {
    match v {
        Py::Str(s) => {
            out.push(b'X');
            out.extend((s.len() as u32).to_le_bytes());
            out.extend(s.as_bytes());
        }
        Py::RawStr(b) => {
            out.push(b'X');
            out.extend((b.len() as u32).to_le_bytes());
            out.extend(b);
        }
        Py::Bytes(b) => {
            out.push(b'B');
            out.extend((b.len() as u32).to_le_bytes());
            out.extend(b);
        }
        Py::List(items) => {
            out.push(b']');
            if !items.is_empty() {
                out.push(b'(');
                items.iter().for_each(|i| write(out, i));
                out.push(b'e');
            }
        }
        Py::Dict(items) => {
            out.push(b'}');
            if !items.is_empty() {
                out.push(b'(');
                for (k, v) in items {
                    write(out, &Py::Str(k.clone()));
                    write(out, v);
                }
                out.push(b'u');
            }
        }
        Py::F32(shape, values) => {
            let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            array(out, shape, &raw, "f4");
        }
        Py::F64(shape, values) => {
            let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            array(out, shape, &raw, "f8");
        }
    }
}

/// Which MMSA family to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// CMU-MOSI / MOSEI: English, one label in [-3, 3].
    Mosi,
    /// CH-SIMS: Chinese, labels M, T, A, V in [-1, 1].
    Sims,
}

/// Audio features per token position.
pub const DIM: usize = 5;
/// Token positions (aligned_50).
pub const LEN: usize = 50;

const ENGLISH: [&str; 8] = ["good", "bad", "funny", "love", "not", "great", "fun", "but"];
const FILLER: [&str; 6] = ["the", "movie", "was", "really", "i", "thought"];
const CHINESE: [&str; 6] = [
    "我很喜欢这部电影",
    "太无聊了",
    "演员演得不错",
    "情节一般",
    "非常感人",
    "不好看",
];

/// The splits' utterance texts and labels, as the label function `label(split, i)` gives.
pub fn text(layout: Layout, split: usize, i: usize) -> String {
    match layout {
        Layout::Mosi => {
            let w = ENGLISH[(i + split) % ENGLISH.len()];
            format!(
                "{} {w} {}",
                FILLER[i % FILLER.len()],
                FILLER[(i * 7 + 3) % FILLER.len()]
            )
        }
        Layout::Sims => CHINESE[(i + split * 2) % CHINESE.len()].to_string(),
    }
}

/// Label `key` ("M" for regression_labels) of utterance i: positive words score positive.
pub fn label(layout: Layout, key: &str, split: usize, i: usize) -> f64 {
    let base = match layout {
        Layout::Mosi => {
            let w = ENGLISH[(i + split) % ENGLISH.len()];
            let sign = if ["bad", "not", "but"].contains(&w) { -1.0 } else { 1.0 };
            sign * (0.6 + 0.4 * (i % 5) as f64)
        }
        Layout::Sims => {
            let t = (i + split * 2) % CHINESE.len();
            [0.8, -0.6, 0.4, 0.0, 1.0, -0.8][t]
        }
    };
    let shift = match key {
        "T" => 0.1,
        "A" => -0.2,
        "V" => 0.2,
        _ => 0.0,
    };
    match layout {
        Layout::Mosi => base,
        Layout::Sims => (base + shift).clamp(-1.0, 1.0),
    }
}

/// One split's dict: `raw_text`, `audio` (with a -inf at utterance 0), the labels, `id`,
/// and the arrays a CM-BERT run does not read (`vision`, `text_bert`, `audio_lengths`).
pub fn split(layout: Layout, split: usize, n: usize) -> Py {
    let texts: Vec<String> = (0..n).map(|i| text(layout, split, i)).collect();
    let ids: Vec<String> = (0..n).map(|i| format!("video{split}$_${i}")).collect();
    let mut audio = vec![0f32; n * LEN * DIM];
    for (k, v) in audio.iter_mut().enumerate() {
        let position = (k / DIM) % LEN;
        if (1..6).contains(&position) {
            *v = ((k as f32 * 0.31 + split as f32).sin() * 4.0).round() / 4.0;
        }
    }
    if n > 0 {
        audio[DIM + 2] = f32::NEG_INFINITY;
    }
    let labels = |key: &str| Py::F32(vec![n], (0..n).map(|i| label(layout, key, split, i) as f32).collect());
    let mut items = vec![
        ("raw_text".to_string(), Py::strs(&texts)),
        ("audio".to_string(), Py::F32(vec![n, LEN, DIM], audio)),
        ("vision".to_string(), Py::F32(vec![n, LEN, 3], vec![0.5; n * LEN * 3])),
        (
            "text_bert".to_string(),
            Py::F32(vec![n, 3, LEN], vec![1.0; n * 3 * LEN]),
        ),
        ("audio_lengths".to_string(), Py::F64(vec![n], vec![LEN as f64; n])),
        ("regression_labels".to_string(), labels("M")),
        ("id".to_string(), Py::strs(&ids)),
    ];
    if layout == Layout::Sims {
        for m in ["T", "A", "V"] {
            items.push((format!("regression_labels_{m}"), labels(m)));
        }
    }
    Py::Dict(items)
}

/// A whole file: `train`, `valid`, `test` of `sizes` utterances.
pub fn dataset(layout: Layout, sizes: [usize; 3]) -> Py {
    Py::Dict(
        ["train", "valid", "test"]
            .iter()
            .enumerate()
            .map(|(i, name)| (name.to_string(), split(layout, i, sizes[i])))
            .collect(),
    )
}

/// A Chinese BERT in miniature, as bert-base-chinese lays out its vocabulary: the special
/// tokens, every character of the SIMS-like texts as a token of its own, and `##` pieces for
/// Latin. It has the tiny BERT's 34 entries, so it takes that model's weights and config
/// (tests/fixtures/tiny/hf-encoder). Returns the directory, for `--bert`.
pub fn chinese_bert(dir: &std::path::Path) -> std::path::PathBuf {
    let tiny = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny/hf-encoder");
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .map(String::from)
        .to_vec();
    for c in CHINESE.iter().flat_map(|t| t.chars()) {
        if !vocab.contains(&c.to_string()) {
            vocab.push(c.to_string());
        }
    }
    vocab.extend(["good", "##s"].map(String::from));
    assert_eq!(vocab.len(), 34, "the tiny BERT's vocab_size");
    std::fs::create_dir_all(dir).unwrap();
    for file in ["config.json", "model.safetensors"] {
        std::fs::copy(tiny.join(file), dir.join(file)).unwrap();
    }
    std::fs::write(dir.join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
    dir.to_path_buf()
}
