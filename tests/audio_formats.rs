//! Every audio pickle fixture (NumPy 1.x and 2.x writers, protocols 2-5; written by
//! tests/reference/make_pickle_fixtures.py) loads through the normal dataset path.

mod common;

use std::path::Path;

use cmbert::data::pickle::{read_pickle, PyValue};
use cmbert::data::{AudioFormat, Dataset, Split, TextEncoder};
use common::*;

fn encoder() -> TextEncoder {
    TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap()
}

fn write_split(dir: &Path, split: &str, texts: &[String]) {
    let mut out = String::from("text\tlabel\n");
    for t in texts {
        out += &format!("{t}\t0.5\n");
    }
    std::fs::write(dir.join(format!("{split}.tsv")), out).unwrap();
}

fn fixtures_named(prefix: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures().join("pickles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    files.sort();
    files
}

#[test]
fn reference_pickles_of_every_writer_load() {
    let files = fixtures_named("ref_");
    assert_eq!(files.len(), 8, "numpy 1.x and 2.x x protocols 2-5");
    for file in files {
        let PyValue::Tuple(items) = read_pickle(&file).unwrap() else {
            panic!("{}: not a tuple", file.display())
        };
        let tmp = tempfile::tempdir().unwrap();
        for (split, item) in ["train", "dev", "test"].iter().zip(&items) {
            let n = item.as_array().unwrap().shape[0];
            write_split(tmp.path(), split, &vec!["GOOD MOVIE".to_string(); n]);
        }
        let ds =
            Dataset::load(tmp.path(), Some(&file), &encoder(), 5).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(ds.audio.format, Some(AudioFormat::ReferencePickle));
        assert_eq!(ds.audio.dim, 5);
        assert_eq!(
            ds.audio.cls_slot_nonzero,
            0,
            "{}: [CLS] slot is zero in these files",
            file.display()
        );
        // The token-aligned rows are taken as they are: compare with the array itself.
        let train = items[0].as_array().unwrap();
        let first_row: Vec<f32> = train.to_f32()[..50 * 5].to_vec();
        assert_eq!(ds.split(Split::Train)[0].audio, first_row, "{}", file.display());
    }
}

#[test]
fn mmsa_pickles_of_every_writer_load_and_check_transcripts() {
    let files = fixtures_named("mmsa_");
    assert_eq!(files.len(), 8);
    for file in files {
        let value = read_pickle(&file).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let mut neg_inf = 0;
        for (split, key) in [("train", "train"), ("dev", "valid"), ("test", "test")] {
            let part = value.get(key).unwrap();
            let texts: Vec<String> = match part.get("raw_text").unwrap() {
                PyValue::List(items) => items.iter().map(|t| t.as_str().unwrap().to_string()).collect(),
                other => panic!("raw_text is {}", other.type_name()),
            };
            write_split(tmp.path(), split, &texts);
            neg_inf += part
                .get("audio")
                .unwrap()
                .as_array()
                .unwrap()
                .data
                .iter()
                .filter(|v| **v == f64::NEG_INFINITY)
                .count();
        }
        let ds =
            Dataset::load(tmp.path(), Some(&file), &encoder(), 5).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(ds.audio.format, Some(AudioFormat::MmsaPickle));
        assert!(neg_inf > 0, "fixture has -inf values");
        assert_eq!(
            ds.audio.neg_inf_zeroed,
            neg_inf,
            "{}: every -inf read as 0",
            file.display()
        );
        assert!(ds
            .splits
            .iter()
            .flatten()
            .all(|e| e.audio.iter().all(|v| v.is_finite())));

        // Transcripts in another order are refused.
        let dev = tmp.path().join("dev.tsv");
        std::fs::write(&dev, "text\tlabel\nSOMETHING ELSE ENTIRELY\t0.5\n").unwrap();
        let err = Dataset::load(tmp.path(), Some(&file), &encoder(), 5)
            .unwrap_err()
            .to_string();
        assert!(err.contains("dev.tsv:2") && err.contains("another order"), "{err}");
    }
}

/// The tiny corpus (6 / 3 / 3 utterances) in a fresh directory, and an encoder.
fn tiny_data() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, [6, 3, 3]);
    (tmp, data)
}

/// A version-1 `.npy` member: header by hand (as numpy/lib/format.py writes it), then `data`.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// An npz of raw members, deflated as `numpy.savez_compressed` does.
fn npz(path: &Path, members: &[(&str, Vec<u8>)]) {
    let mut zip = zip_npz::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip_npz::write::FileOptions::default()
        .compression_method(zip_npz::CompressionMethod::Deflated)
        .large_file(true);
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), options).unwrap();
        std::io::Write::write_all(&mut zip, bytes).unwrap();
    }
    zip.finish().unwrap();
}

fn f64_zeros(n: usize) -> Vec<u8> {
    vec![0u8; n * 8]
}

#[test]
fn npz_arrays_of_either_width_and_byte_order_load() {
    let (tmp, data) = tiny_data();
    let path = tmp.path().join("audio.npz");
    let be: Vec<u8> = (0..6 * 50 * 5).flat_map(|i| (i as f64 / 8.0).to_be_bytes()).collect();
    let le: Vec<u8> = (0..3 * 50 * 5).flat_map(|i| (i as f32).to_le_bytes()).collect();
    npz(
        &path,
        &[
            ("train", npy(">f8", "(6, 50, 5)", &be)),
            ("valid", npy("<f4", "(3, 50, 5)", &le)),
            ("test", npy("<f8", "(3, 50, 5)", &f64_zeros(750))),
        ],
    );
    let ds = Dataset::load(&data, Some(&path), &encoder(), 5).unwrap();
    assert_eq!(ds.audio.format, Some(AudioFormat::Npz));
    assert_eq!(ds.split(Split::Train)[1].audio[..2], [250.0 / 8.0, 251.0 / 8.0]);
    assert_eq!(ds.split(Split::Dev)[2].audio[249], 749.0);
}

/// npz headers are claims: a shape beyond the text, or one whose product wraps, or a header
/// length of 4 GiB, is refused before any data is decompressed. Before, the first member
/// here (64 MB of zeros behind a header declaring a million utterances, a zip bomb in
/// miniature) was inflated until its data ran out and failed with "failed to fill whole
/// buffer" (3.6 GB for the issue's bomb); the second made `audio.rs:216` index past the
/// empty data and panic.
#[test]
fn npz_shapes_are_checked_before_the_data_is_read() {
    let (tmp, data) = tiny_data();
    let ok = |n: usize| npy("<f8", &format!("({n}, 50, 5)"), &f64_zeros(n * 250));
    let cases = [
        (
            npy("<f8", "(1000000, 50, 5)", &vec![0u8; 64 << 20]),
            "split train has 1000000 utterances but",
        ),
        (
            npy("<f8", "(4611686018427387904, 4, 1)", &[]),
            "split train has 4611686018427387904 utterances but",
        ),
        (
            npy("<f8", "(6, 0, 5)", &[]),
            "features are aligned to 0 token positions",
        ),
        (
            npy("<f8", "(6, 50, 100000)", &[]),
            "100000 feature dimensions; expected 1 to 4096",
        ),
        (
            [b"\x93NUMPY\x02\x00".as_slice(), &u32::MAX.to_le_bytes()].concat(),
            "header of 4294967295 bytes",
        ),
    ];
    for (i, (train, expected)) in cases.into_iter().enumerate() {
        let path = tmp.path().join(format!("case{i}.npz"));
        npz(&path, &[("train", train), ("dev", ok(3)), ("test", ok(3))]);
        let err = Dataset::load(&data, Some(&path), &encoder(), 5)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("{}: ", path.display())) && err.contains(expected),
            "{err}"
        );
        if i == 0 {
            assert!(err.contains("train.tsv has 6"), "{err}");
        }
    }
}

/// A JSON Lines index is checked against the text before a slot is made for it. Before, a
/// one-line file with index 10^9 grew the slot vector to 10^9 entries (killed at 22.8 GB:
/// this test then dies out of memory), and index 2^64-1 overflowed `index + 1` and panicked
/// indexing (`audio.rs:494`).
#[test]
fn jsonl_indices_beyond_the_text_are_refused() {
    let (tmp, data) = tiny_data();
    let path = tmp.path().join("words.jsonl");
    for index in ["1000000000", "18446744073709551615"] {
        std::fs::write(
            &path,
            format!(r#"{{"split": "train", "index": {index}, "words": ["GOOD"], "features": [[1.0]]}}"#),
        )
        .unwrap();
        let err = Dataset::load(&data, Some(&path), &encoder(), 5)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("{}:1: train utterance {index} does not exist", path.display()))
                && err.contains("train.tsv has 6 utterances"),
            "{err}"
        );
    }
}

/// A 16 KB WAV whose header claims 4294967295 Hz. Before, it read fine and the resampler
/// sized its FFTs from the rate's ratio to 16 kHz (10 GB); now the header is refused.
#[test]
fn a_wav_claiming_an_absurd_sample_rate_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = tmp.path().join("claim.wav");
    let data = vec![0x80u8; 16_000];
    let mut bytes = b"RIFF".to_vec();
    bytes.extend((36 + data.len() as u32).to_le_bytes());
    bytes.extend(b"WAVEfmt ");
    for field in [
        16u32.to_le_bytes().to_vec(),
        1u16.to_le_bytes().to_vec(),
        1u16.to_le_bytes().to_vec(),
    ] {
        bytes.extend(field);
    }
    // rate, byte rate (= rate for 8-bit mono), block align 1, 8 bits.
    bytes.extend(u32::MAX.to_le_bytes());
    bytes.extend(u32::MAX.to_le_bytes());
    bytes.extend(1u16.to_le_bytes());
    bytes.extend(8u16.to_le_bytes());
    bytes.extend(b"data");
    bytes.extend((data.len() as u32).to_le_bytes());
    bytes.extend(&data);
    std::fs::write(&wav, bytes).unwrap();
    // A word inside the aligner's tolerance of the (3.7 microsecond) recording.
    let words = [cmbert::acoustic::WordSpan {
        word: "hi".into(),
        start: 0.0,
        end: 0.01,
    }];
    let err = cmbert::acoustic::extract(&wav, &words, &wav, &cmbert::acoustic::set::FULL)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{}: sample rate 4294967295 Hz", wav.display())),
        "{err}"
    );
}
