//! The streamed MMSA reader reads the audio and the label used, nothing else, and gives what
//! the in-memory reader gives. (Layouts and malformed files: tests/mmsa_data.rs.)

#[path = "../../tests/common/mmsa_pickle.rs"]
mod mmsa_pickle;

use mmsa_pickle::{dataset, pickle, Layout, DIM, LEN};

use super::*;
use crate::data::audio::SplitFeatures;
use crate::data::pickle::decoded_bytes;

fn audio_values(f: &MmsaFile) -> Vec<Vec<f32>> {
    f.audio
        .splits
        .iter()
        .map(|s| match s {
            SplitFeatures::TokenAligned { values, .. } => values.to_vec(),
            SplitFeatures::WordLevel(_) => panic!("word-level audio from a pickle"),
        })
        .collect()
}

#[test]
fn only_the_audio_and_the_label_used_are_read_from_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let sizes = [6, 2, 3];
    let bytes = pickle(&dataset(Layout::Sims, sizes));
    let path = tmp.path().join("sims.pkl");
    std::fs::write(&path, &bytes).unwrap();
    let before = decoded_bytes();
    // Every array left in the file, however small: `vision`, `text_bert`, `audio_lengths` and
    // the labels M, A, V are there too, and must not be read.
    let streamed = load_mmsa_from(&path, MmsaLabel::T, LEN, 1).unwrap();
    let utterances: usize = sizes.iter().sum();
    let audio = utterances * LEN * DIM * 4;
    let labels = utterances * 4;
    assert_eq!(decoded_bytes() - before, (audio + labels) as u64);

    let eager = parse_mmsa(&bytes, &path, MmsaLabel::T, LEN).unwrap();
    for (s, e) in streamed.splits.iter().zip(&eager.splits) {
        assert_eq!(
            (&s.key, &s.texts, &s.labels, &s.ids),
            (&e.key, &e.texts, &e.labels, &e.ids)
        );
    }
    assert_eq!(audio_values(&streamed), audio_values(&eager));
    assert_eq!(streamed.audio.neg_inf_zeroed, eager.audio.neg_inf_zeroed);
    assert_eq!(streamed.skipped, eager.skipped);
    assert_eq!(streamed.kind, MmsaKind::Sims);
    // The default threshold reads arrays this small as the machine runs: same result.
    let default = load_mmsa(&path, MmsaLabel::T, LEN).unwrap();
    assert_eq!(audio_values(&default), audio_values(&eager));
}

#[test]
fn a_streamed_file_cut_short_gives_one_line_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = pickle(&dataset(Layout::Mosi, [3, 1, 2]));
    let path = tmp.path().join("cut.pkl");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = load_mmsa_from(&path, MmsaLabel::M, LEN, 1).unwrap_err().to_string();
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains(&path.display().to_string()) && e.contains("unexpected end of file"),
        "{e}"
    );
    // Named once, not twice.
    assert_eq!(e.matches("cut.pkl").count(), 1, "{e}");
}
