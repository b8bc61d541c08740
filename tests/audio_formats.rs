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
