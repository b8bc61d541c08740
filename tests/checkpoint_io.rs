//! Our checkpoint format: round trip, atomic replacement, clear errors; and PyTorch's
//! (`pytorch_model.bin`), read from the committed fixtures exactly as candle read them and
//! from generated archives, hostile ones included.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use cmbert::checkpoint::{self, read_torch_bytes, Checkpoint, CheckpointMeta, Layout, TorchError, FORMAT};
use cmbert::model::{BertAttentions, ClsAudio, HeadConfig, Mode, ModelKind};
use common::*;

fn meta(head: &HeadConfig) -> CheckpointMeta {
    CheckpointMeta {
        format: FORMAT.into(),
        head: head.clone(),
        max_len: 50,
        training: serde_json::json!({"note": "test"}),
        audio_features: None,
    }
}

#[test]
fn save_then_load_gives_identical_scores_and_replaces_atomically() {
    let source = Checkpoint::load(&fixtures().join("tiny/hf-encoder"), &Device::Cpu).unwrap();
    let head = HeadConfig::new(ModelKind::CmBert, ClsAudio::Learned, 5);
    let (model, store) = build(&source, &head, &[]);
    let (inputs, _) = tiny_inputs();
    let before = model
        .forward(&inputs, Mode::Eval, BertAttentions::Skip)
        .unwrap()
        .score
        .to_vec1::<f32>()
        .unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run/best");
    checkpoint::save(&dir, &store.vars(), &source.bert, &meta(&head), &source.vocab).unwrap();
    let loaded = Checkpoint::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(loaded.layout, Layout::Ours);
    assert_eq!(loaded.head.as_ref(), Some(&head));
    assert_eq!(loaded.meta.as_ref().unwrap().training["note"], "test");
    let (reloaded, store2) = build(&loaded, &head, &[]);
    assert!(
        store2.fresh().is_empty(),
        "everything comes from the file: {:?}",
        store2.fresh()
    );
    let after = reloaded
        .forward(&inputs, Mode::Eval, BertAttentions::Skip)
        .unwrap()
        .score
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(before, after);

    // Saving a different model over it replaces it whole, and leaves no staging directory.
    let other_head = HeadConfig::new(ModelKind::TBert, ClsAudio::Zero, 5);
    let (_, other_store) = build(&source, &other_head, &[]);
    checkpoint::save(
        &dir,
        &other_store.vars(),
        &source.bert,
        &meta(&other_head),
        &source.vocab,
    )
    .unwrap();
    let replaced = Checkpoint::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(replaced.head.unwrap().model, ModelKind::TBert);
    assert!(!replaced.tensors.contains_key("fusion.proj_t.weight"));
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("run"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("best")]);
}

#[test]
fn failed_save_keeps_the_previous_checkpoint() {
    let source = Checkpoint::load(&fixtures().join("tiny/hf-encoder"), &Device::Cpu).unwrap();
    let head = HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5);
    let (_, store) = build(&source, &head, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ckpt");
    checkpoint::save(&dir, &store.vars(), &source.bert, &meta(&head), &source.vocab).unwrap();
    // A vanished vocabulary fails the save after the weights were written.
    let other_head = HeadConfig::new(ModelKind::TBert, ClsAudio::Zero, 5);
    let err = checkpoint::save(
        &dir,
        &store.vars(),
        &source.bert,
        &meta(&other_head),
        &tmp.path().join("gone/vocab.txt"),
    );
    assert!(err.unwrap_err().to_string().contains("gone/vocab.txt"));
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("ckpt")],
        "staging directory cleaned up"
    );
    let still = Checkpoint::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(still.head.unwrap(), head);
}

#[test]
fn user_errors_name_the_file_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = Checkpoint::load(&tmp.path().join("nope"), &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(missing.contains("does not exist"), "{missing}");

    let empty = Checkpoint::load(tmp.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(
        empty.contains("config.json") && empty.contains("bert_config.json"),
        "{empty}"
    );

    std::fs::write(tmp.path().join("config.json"), "{\"hidden_size\": 32").unwrap();
    let bad_json = Checkpoint::load(tmp.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(
        bad_json.contains("config.json") && bad_json.contains("not valid JSON"),
        "{bad_json}"
    );

    std::fs::copy(fixtures().join("tiny/hf/config.json"), tmp.path().join("config.json")).unwrap();
    let no_weights = Checkpoint::load(tmp.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(
        no_weights.contains("model.safetensors or pytorch_model.bin"),
        "{no_weights}"
    );

    std::fs::write(tmp.path().join("pytorch_model.bin"), b"\x80\x02legacy").unwrap();
    let legacy = Checkpoint::load(tmp.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(
        legacy.contains("pytorch_model.bin") && legacy.contains("PyTorch < 1.6"),
        "{legacy}"
    );

    std::fs::remove_file(tmp.path().join("pytorch_model.bin")).unwrap();
    std::fs::write(tmp.path().join("model.safetensors"), b"truncated").unwrap();
    let truncated = Checkpoint::load(tmp.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(
        truncated.contains("model.safetensors") && truncated.contains("cannot read weights"),
        "{truncated}"
    );
}

/// A killed save leaves `.NAME.tmp-PID`: the next save removes those of dead processes that
/// hold checkpoint files, and keeps a live process's, other names', and a look-alike
/// directory of the user's.
#[test]
fn a_save_cleans_staging_directories_of_dead_processes_only() {
    let source = Checkpoint::load(&fixtures().join("tiny/hf-encoder"), &Device::Cpu).unwrap();
    let head = HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5);
    let (_, store) = build(&source, &head, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let dead = |n: usize| -> Vec<u32> {
        (0..n)
            .map(|_| {
                let mut child = std::process::Command::new("true").spawn().unwrap();
                let pid = child.id();
                child.wait().unwrap();
                pid
            })
            .collect()
    };
    let [killed_save, users, killed_swap]: [u32; 3] = dead(3).try_into().unwrap();
    let mut sleeping = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    let staging = |name: &str, files: &[&str]| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        for f in files {
            std::fs::write(dir.join(f), "partial").unwrap();
        }
        dir
    };
    let ckpt_files = ["model.safetensors", "config.json"];
    let stale = staging(&format!(".last.tmp-{killed_save}"), &ckpt_files);
    let stale_swap = staging(&format!(".last.old-{killed_swap}"), &ckpt_files);
    let live = staging(&format!(".last.tmp-{}", sleeping.id()), &ckpt_files);
    let look_alike = staging(&format!(".last.tmp-{users}"), &["notes.txt"]);
    let other_name = staging(&format!(".best.tmp-{killed_save}"), &ckpt_files);

    checkpoint::save(
        &tmp.path().join("last"),
        &store.vars(),
        &source.bert,
        &meta(&head),
        &source.vocab,
    )
    .unwrap();
    sleeping.kill().unwrap();
    sleeping.wait().unwrap();
    assert!(!stale.exists() && !stale_swap.exists(), "debris of dead saves removed");
    for kept in [&live, &look_alike, &other_name] {
        assert!(kept.exists(), "{} kept", kept.display());
    }
    assert_eq!(
        std::fs::read_to_string(look_alike.join("notes.txt")).unwrap(),
        "partial"
    );
    Checkpoint::load(&tmp.path().join("last"), &Device::Cpu).unwrap();
}

/// `checkpoint::copy` (a resumed run's best/ into a new --out) refuses a link inside.
#[test]
fn copying_a_checkpoint_refuses_links() {
    let source = Checkpoint::load(&fixtures().join("tiny/hf-encoder"), &Device::Cpu).unwrap();
    let head = HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5);
    let (_, store) = build(&source, &head, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("run/best"), tmp.path().join("out/best"));
    checkpoint::save(&src, &store.vars(), &source.bert, &meta(&head), &source.vocab).unwrap();
    checkpoint::copy(&src, &dst).unwrap();
    assert_eq!(Checkpoint::load(&dst, &Device::Cpu).unwrap().head, Some(head));
    std::os::unix::fs::symlink("/etc/passwd", src.join("vocab.txt.bak")).unwrap();
    let err = checkpoint::copy(&src, &tmp.path().join("out2/best"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("vocab.txt.bak") && err.contains("symbolic link"), "{err}");
    assert!(!tmp.path().join("out2/best").exists());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("out2")).unwrap().collect();
    assert!(leftovers.is_empty(), "no staging left: {leftovers:?}");
}

/// One tensor of a generated state dict.
struct Spec<'a> {
    name: &'a str,
    class: &'a str,
    key: &'a str,
    numel: i64,
    offset: i64,
    size: &'a [i64],
    stride: Vec<i64>,
}

fn tensor<'a>(name: &'a str, class: &'a str, key: &'a str, numel: i64, size: &'a [i64]) -> Spec<'a> {
    Spec {
        name,
        class,
        key,
        numel,
        offset: 0,
        size,
        stride: match size {
            [_, cols] => vec![*cols, 1],
            _ => vec![1],
        },
    }
}

fn text(s: &str) -> Vec<u8> {
    [&b"X"[..], &(s.len() as u32).to_le_bytes(), s.as_bytes()].concat()
}

/// An int as Python's pickler writes it: BININT1, BININT2, BININT, or LONG1 beyond 32 bits.
fn int(v: i64) -> Vec<u8> {
    match v {
        0..=0xff => vec![b'K', v as u8],
        0x100..=0xffff => [&b"M"[..], &(v as u16).to_le_bytes()].concat(),
        _ if i32::try_from(v).is_ok() => [&b"J"[..], &(v as i32).to_le_bytes()].concat(),
        _ => [&b"\x8a\x08"[..], &v.to_le_bytes()].concat(),
    }
}

fn ints(vs: &[i64]) -> Vec<u8> {
    [vec![b'('], vs.iter().flat_map(|&v| int(v)).collect(), vec![b't']].concat()
}

/// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`,
/// with memo 0 holding `collections.OrderedDict`, as protocol 2 `torch.save` writes it.
fn rebuild(t: &Spec) -> Vec<u8> {
    [
        b"ctorch._utils\n_rebuild_tensor_v2\n((".to_vec(),
        text("storage"),
        format!("ctorch\n{}\n", t.class).into_bytes(),
        text(t.key),
        text("cpu"),
        int(t.numel),
        b"tQ".to_vec(),
        int(t.offset),
        ints(t.size),
        ints(&t.stride),
        b"\x89h\x00)RtR".to_vec(),
    ]
    .concat()
}

/// A state dict of `entries` (name, pickled value), with the `_metadata` attribute PyTorch
/// gives it.
fn state_dict(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(".to_vec();
    for (name, value) in entries {
        out.extend(text(name));
        out.extend(value);
    }
    out.extend(b"u}");
    out.extend(text("_metadata"));
    out.extend(b"h\x00)Rsb.");
    out
}

fn tensors(specs: &[Spec]) -> Vec<u8> {
    let entries: Vec<(&str, Vec<u8>)> = specs.iter().map(|t| (t.name, rebuild(t))).collect();
    state_dict(&entries)
}

/// A `torch.save` archive: `archive/data.pkl`, `archive/byteorder` and the storages, stored.
fn archive(pkl: &[u8], byteorder: &str, storages: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut add = |name: &str, bytes: &[u8]| {
        zip.start_file(format!("archive/{name}"), stored).unwrap();
        zip.write_all(bytes).unwrap();
    };
    add("data.pkl", pkl);
    add("byteorder", byteorder.as_bytes());
    for (key, bytes) in storages {
        add(&format!("data/{key}"), bytes);
    }
    zip.finish().unwrap().into_inner()
}

fn le<T: Copy, const N: usize>(values: &[T], bytes: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| bytes(v)).collect()
}

/// Reads an archive that must be refused, and says how.
fn refused(bytes: &[u8]) -> TorchError {
    let clock = Instant::now();
    let result = read_torch_bytes(bytes);
    assert!(clock.elapsed() < Duration::from_secs(5), "took {:?}", clock.elapsed());
    match result {
        Ok(t) => panic!("read {} tensors from a hostile archive", t.len()),
        Err(e) => e,
    }
}

#[test]
fn generated_checkpoints_read_exactly() {
    let floats = le(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], f32::to_le_bytes);
    let halves = le(&[0x3c00u16, 0xc000, 0x7bff, 0x0001], u16::to_le_bytes);
    let bf16 = le(&[0x3f80u16, 0xc040], u16::to_le_bytes);
    let longs = le(&[0i64, 1, -2], i64::to_le_bytes);
    let transposed = Spec {
        stride: vec![1, 3],
        ..tensor("t", "FloatStorage", "0", 6, &[3, 2])
    };
    let row = Spec {
        offset: 3,
        ..tensor("row", "FloatStorage", "0", 6, &[3])
    };
    let parameter = [
        b"ctorch._utils\n_rebuild_parameter\n(".to_vec(),
        rebuild(&tensor("p", "FloatStorage", "0", 6, &[2, 3])),
        b"\x88h\x00)RtR".to_vec(),
    ]
    .concat();
    let specs = [
        tensor("w", "FloatStorage", "0", 6, &[2, 3]),
        transposed,
        row,
        tensor("h", "HalfStorage", "1", 4, &[4]),
        tensor("b", "BFloat16Storage", "2", 2, &[2]),
        tensor("ids", "LongStorage", "3", 3, &[3]),
    ];
    let mut entries: Vec<(&str, Vec<u8>)> = specs.iter().map(|t| (t.name, rebuild(t))).collect();
    entries.push(("p", parameter));
    entries.push(("not_a_tensor", int(5)));
    let pkl = state_dict(&entries);
    let storages = [("0", floats), ("1", halves), ("2", bf16), ("3", longs)];
    let swapped: Vec<(&str, Vec<u8>)> = storages
        .iter()
        .zip([4, 2, 2, 8])
        .map(|((k, b), n)| (*k, b.chunks(n).flat_map(|c| c.iter().rev().copied()).collect()))
        .collect();
    for bytes in [archive(&pkl, "little", &storages), archive(&pkl, "big", &swapped)] {
        let read = read_torch_bytes(&bytes).unwrap();
        let names: Vec<&str> = read.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["w", "t", "row", "h", "b", "ids", "p"]);
        let get = |name: &str| &read.iter().find(|(n, _)| n == name).unwrap().1;
        let f32s = |t: &Tensor| {
            t.flatten_all()
                .unwrap()
                .to_dtype(DType::F32)
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        };
        assert_eq!(get("w").dims(), [2, 3]);
        assert_eq!(f32s(get("w")), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(get("t").dims(), [3, 2]);
        assert_eq!(f32s(get("t")), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(f32s(get("row")), [4.0, 5.0, 6.0]);
        assert_eq!(get("h").dtype(), DType::F16);
        assert_eq!(f32s(get("h")), [1.0, -2.0, 65504.0, 2f32.powi(-24)]);
        assert_eq!(get("b").dtype(), DType::BF16);
        assert_eq!(f32s(get("b")), [1.0, -3.0]);
        assert_eq!(get("ids").dtype(), DType::I64);
        assert_eq!(get("ids").to_vec1::<i64>().unwrap(), [0, 1, -2]);
        assert_eq!(f32s(get("p")), f32s(get("w")));
    }
}

/// The committed fixtures give the tensors candle's reader gave (the reader they replaced).
#[test]
fn committed_fixtures_read_as_candle_read_them() {
    for dir in ["tiny/hf-bin", "tiny/reference"] {
        let path = fixtures().join(dir).join("pytorch_model.bin");
        let ours = checkpoint::read_torch_file(&path).unwrap();
        let mut theirs = candle_core::pickle::read_all(&path).unwrap();
        theirs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut ours_sorted: Vec<_> = ours.iter().collect();
        ours_sorted.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(ours_sorted.len(), theirs.len(), "{dir}");
        for ((name, a), (their_name, b)) in ours_sorted.into_iter().zip(&theirs) {
            assert_eq!(name, their_name, "{dir}");
            assert_eq!((a.dtype(), a.dims()), (b.dtype(), b.dims()), "{dir} {name}");
            let bits = |t: &Tensor| {
                t.flatten_all()
                    .unwrap()
                    .to_dtype(DType::F64)
                    .unwrap()
                    .to_vec1::<f64>()
                    .unwrap()
            };
            assert_eq!(bits(a), bits(b), "{dir} {name}");
        }
    }
}

#[test]
fn hostile_pytorch_checkpoints_end_in_typed_errors() {
    let floats = || vec![("0", le(&[1.0f32; 4], f32::to_le_bytes))];
    let dict_of = |value: Vec<u8>| state_dict(&[("x", value)]);
    let message = |e: TorchError| e.to_string();

    // A memo that doubles: a tuple of the previous one twice, 60 times over (candle deep-copies
    // each memo fetch: 2^60 copies).
    let mut doubling = b"]q\x02".to_vec();
    for _ in 0..60 {
        doubling.extend(b"h\x02h\x02\x86q\x02");
    }
    let e = refused(&archive(&dict_of(doubling), "little", &floats()));
    assert!(matches!(e, TorchError::Pickle(_)) && message(e).contains("expands"));

    // Nested a megabyte deep (candle overflowed its stack).
    let n = 1 << 19;
    let deep = [&b"\x80\x02"[..], &vec![b']'; n], &vec![b'a'; n - 1], b"."].concat();
    assert!(matches!(
        refused(&archive(&deep, "little", &floats())),
        TorchError::Pickle(_)
    ));

    // Short tuples (candle panicked on them): the call's arguments, and the storage's id.
    let short_call = b"ctorch._utils\n_rebuild_tensor_v2\n(X\x01\x00\x00\x00aQtR".to_vec();
    let e = message(refused(&archive(&dict_of(short_call), "little", &floats())));
    assert!(e.contains("\"x\"") && e.contains("1 arguments, expected 6"), "{e}");
    let short_id = [
        b"ctorch._utils\n_rebuild_tensor_v2\n((".to_vec(),
        text("storage"),
        b"ctorch\nFloatStorage\ntQ".to_vec(),
        int(0),
        ints(&[4]),
        ints(&[1]),
        b"\x89h\x00)RtR".to_vec(),
    ]
    .concat();
    let e = message(refused(&archive(&dict_of(short_id), "little", &floats())));
    assert!(e.contains("2 items"), "{e}");

    // Offset, size and stride beyond the storage's 4 elements.
    for spec in [
        Spec {
            offset: 1,
            ..tensor("x", "FloatStorage", "0", 4, &[4])
        },
        Spec {
            stride: vec![3, 1],
            ..tensor("x", "FloatStorage", "0", 4, &[2, 2])
        },
        tensor("x", "FloatStorage", "0", 4, &[5]),
    ] {
        let e = message(refused(&archive(&tensors(&[spec]), "little", &floats())));
        assert!(e.contains("beyond its storage of 4 elements"), "{e}");
    }
    // A storage that claims more elements than its entry holds.
    let e = message(refused(&archive(
        &tensors(&[tensor("x", "FloatStorage", "0", 1 << 40, &[4])]),
        "little",
        &floats(),
    )));
    assert!(e.contains("entry holds 16 bytes"), "{e}");
    // A shape whose product overflows, and stride-0 views expanding one element to 8 GiB.
    let huge = [1i64 << 40, 1 << 40, 1 << 40];
    let e = message(refused(&archive(
        &tensors(&[Spec {
            stride: vec![0, 0, 0],
            ..tensor("x", "FloatStorage", "0", 4, &huge)
        }]),
        "little",
        &floats(),
    )));
    assert!(e.contains("too large"), "{e}");
    let e = message(refused(&archive(
        &tensors(&[Spec {
            stride: vec![0],
            ..tensor("x", "FloatStorage", "0", 4, &[1 << 31])
        }]),
        "little",
        &floats(),
    )));
    assert!(e.contains("times the archive's size"), "{e}");

    // A storage entry that is not there.
    let e = refused(&archive(
        &tensors(&[tensor("x", "FloatStorage", "7", 4, &[4])]),
        "little",
        &floats(),
    ));
    assert!(
        matches!(&e, TorchError::Entry { name, .. } if name == "archive/data/7"),
        "{e}"
    );

    // Zip bombs: an entry declaring 4 GiB, and one claiming to be compressed.
    let good = archive(
        &tensors(&[tensor("x", "FloatStorage", "0", 4, &[4])]),
        "little",
        &floats(),
    );
    assert!(read_torch_bytes(&good).is_ok());
    for (at, len) in [(20, 8), (24, 4)] {
        let e = refused(&patch_entry(&good, "archive/data/0", |header| {
            for k in (at..at + len).step_by(4) {
                header[k..k + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
            }
        }));
        assert!(matches!(e, TorchError::Entry { .. } | TorchError::Zip(_)), "{e}");
    }
    let e = message(refused(&patch_entry(&good, "archive/data/0", |header| {
        header[10..12].copy_from_slice(&8u16.to_le_bytes());
    })));
    assert!(e.contains("compressed"), "{e}");

    // Not a state dict, no data.pkl, not a zip.
    let e = message(refused(&archive(b"\x80\x02K\x01.", "little", &[])));
    assert!(e.contains("top-level value is of type int, not a state dict"), "{e}");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("other.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    let e = message(refused(&zip.finish().unwrap().into_inner()));
    assert!(e.contains("no <name>/data.pkl"), "{e}");
    assert!(matches!(refused(b"\x80\x02}."), TorchError::Legacy));
}

/// Edits the central directory record of `name` (its fixed 46 bytes), and copies the fields
/// it shares with the local header (version needed .. uncompressed size) there too.
fn patch_entry(zip: &[u8], name: &str, edit: impl Fn(&mut [u8])) -> Vec<u8> {
    let mut out = zip.to_vec();
    let c = (0..out.len() - 46)
        .find(|&i| out[i..].starts_with(b"PK\x01\x02") && out[i + 46..].starts_with(name.as_bytes()))
        .expect("central directory record");
    edit(&mut out[c..c + 46]);
    let local = u32::from_le_bytes(out[c + 42..c + 46].try_into().unwrap()) as usize;
    let shared = out[c + 6..c + 28].to_vec();
    out[local + 4..local + 26].copy_from_slice(&shared);
    out
}

#[test]
fn a_hostile_pytorch_model_bin_is_named_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    for file in ["config.json", "vocab.txt"] {
        std::fs::copy(fixtures().join("tiny/hf-bin").join(file), tmp.path().join(file)).unwrap();
    }
    let short_call = b"ctorch._utils\n_rebuild_tensor_v2\n(X\x01\x00\x00\x00aQtR".to_vec();
    let bytes = archive(&state_dict(&[("x", short_call)]), "little", &[]);
    std::fs::write(tmp.path().join("pytorch_model.bin"), bytes).unwrap();
    let e = Checkpoint::load(tmp.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(
        e.contains("pytorch_model.bin: cannot read weights: tensor \"x\"") && !e.contains('\n'),
        "{e}"
    );
}
