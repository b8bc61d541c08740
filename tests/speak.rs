//! `corpus --speak`: the built-in corpus spoken by espeak-ng into the layout `features` reads,
//! with exact word timings, the deciding clause measurably stressed, the same bytes for the
//! same seed, and one clear line when espeak-ng is missing or misbehaves. Needs espeak-ng
//! (.ci/run installs it).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use cmbert::acoustic::align::read_words;
use cmbert::acoustic::wav::read_wav;
use cmbert::data::{tsv::read_split, Split};
use common::*;

/// `corpus --speak` at a small size into `dir`.
fn speak(dir: &Path, seed: &str) {
    let (code, out, err) = cli(&[
        "corpus",
        "--speak",
        "--seed",
        seed,
        "--sizes",
        "12,4,6",
        "--out",
        &s(dir),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("(12 / 4 / 6, with ids), wavs/ (22 recordings"), "{out}");
    assert!(out.contains("next: cmbert-tui features --audio-dir"), "{out}");
}

fn meta(dir: &Path, split: Split) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(format!("{}.meta.jsonl", split.name())))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir(dir, dir)
}

fn walkdir(root: &Path, dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walkdir(root, &path));
        } else {
            let name = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.insert(name, std::fs::read(&path).unwrap());
        }
    }
    out
}

#[test]
fn the_spoken_corpus_has_exact_timings_stressed_clauses_and_goes_through_features() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    speak(&data, "2");

    // The layout: TSVs with ids, one WAV and one TextGrid per utterance, the words exact.
    let mut voices: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for split in Split::ALL {
        let rows = read_split(&split.tsv_path(&data)).unwrap();
        let meta = meta(&data, split);
        assert_eq!(rows.len(), meta.len());
        for (row, m) in rows.iter().zip(&meta) {
            let id = row.id.clone().expect("an id column");
            assert_eq!(m["id"], id.as_str());
            voices
                .entry(split.name())
                .or_default()
                .push(m["voice"].as_str().unwrap().to_string());
            let (audio, format) = read_wav(&data.join("wavs").join(format!("{id}.wav"))).unwrap();
            assert_eq!((format.sample_rate, format.bits, format.channels), (16000, 16, 1));
            let words = read_words(&data.join("align").join(format!("{id}.TextGrid"))).unwrap();
            let transcript: Vec<&str> = row.text.split_whitespace().collect();
            assert_eq!(words.iter().map(|w| w.word.as_str()).collect::<Vec<_>>(), transcript);
            // Every span is whole samples: its first and last sample are speech (at least 1 % of
            // full scale), everything outside the spans is digital silence.
            let at = |t: f64| (t * 16000.0).round() as usize;
            let mut inside = vec![false; audio.samples.len()];
            for w in &words {
                let (a, b) = (at(w.start), at(w.end));
                assert!((w.start * 16000.0 - a as f64).abs() < 1e-6, "{id} {w:?}");
                assert!(a < b && b <= audio.samples.len(), "{id} {w:?}");
                assert!(
                    audio.samples[a].abs() >= 0.01 && audio.samples[b - 1].abs() >= 0.01,
                    "{id} {w:?}"
                );
                inside[a..b].iter_mut().for_each(|x| *x = true);
            }
            let stray = (0..audio.samples.len()).find(|&i| !inside[i] && audio.samples[i] != 0.0);
            assert_eq!(stray, None, "{id}: sound outside the word spans");
            assert!(words[0].start >= 0.15 - 1e-9 && audio.duration() - words.last().unwrap().end >= 0.15 - 1e-9);
        }
    }
    // No voice variant in two splits.
    let variant = |v: &String| v.split('+').nth(1).unwrap().to_string();
    let test: Vec<String> = voices["test"].iter().map(variant).collect();
    assert!(voices["train"].iter().map(variant).all(|v| !test.contains(&v)));

    // `features` runs on it unchanged.
    let features = data.join("prosody.jsonl");
    let (code, out, err) = cli(&[
        "features",
        "--audio-dir",
        &s(&data.join("wavs")),
        "--alignments",
        &s(&data.join("align")),
        "--data",
        &s(&data),
        "--out",
        &s(&features),
        "--set",
        "prosody-v1",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("22 utterances"), "{out}");

    // The deciding clause of every mixed utterance is higher and louder than the flat one,
    // as the crate's own extractor measures it (f0_mean_hz, log_energy_mean_db).
    let vectors: BTreeMap<String, Vec<Vec<f64>>> = std::fs::read_to_string(&features)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().to_string(),
                serde_json::from_value(v["features"].clone()).unwrap(),
            )
        })
        .collect();
    let mut mixed = 0;
    for m in Split::ALL.iter().flat_map(|&s| meta(&data, s)) {
        if m["kind"] != "mixed" {
            continue;
        }
        mixed += 1;
        let f = &vectors[m["id"].as_str().unwrap()];
        let emphasis: Vec<f64> = serde_json::from_value(m["emphasis"].clone()).unwrap();
        let mean = |dim: usize, stressed: bool| {
            let picked: Vec<f64> = f
                .iter()
                .zip(&emphasis)
                .filter(|(_, &e)| (e > 0.0) == stressed)
                .map(|(v, _)| v[dim])
                .collect();
            picked.iter().sum::<f64>() / picked.len() as f64
        };
        let (f0, energy) = ((mean(0, true), mean(0, false)), (mean(3, true), mean(3, false)));
        assert!(
            f0.0 > f0.1 + 10.0,
            "{}: F0 stressed {:.1} Hz, flat {:.1} Hz",
            m["id"],
            f0.0,
            f0.1
        );
        assert!(
            energy.0 > energy.1 + 1.0,
            "{}: energy stressed {:.1} dB, flat {:.1} dB",
            m["id"],
            energy.0,
            energy.1
        );
    }
    assert!(mixed >= 4, "only {mixed} mixed utterances");

    // The same seed speaks the same bytes; another seed does not.
    let again = tmp.path().join("again");
    speak(&again, "2");
    let (a, b) = (tree(&data), tree(&again));
    assert_eq!(b.len(), a.len() - 1, "all but prosody.jsonl");
    for (name, bytes) in &b {
        assert!(a[name] == *bytes, "{name} differs between two runs of the same seed");
    }
    let other = tmp.path().join("other");
    speak(&other, "3");
    assert_ne!(tree(&other)["train.tsv"], b["train.tsv"]);
}

/// Runs `corpus --speak` with `env` and returns (code, stderr).
fn speak_with(tmp: &Path, env: &[(&str, &Path)]) -> (i32, String) {
    let out = tmp.join("data");
    let (code, _, err) = cli_env(tmp, &["corpus", "--speak", "--sizes", "2,1,1", "--out", &s(&out)], env);
    (code, err)
}

fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn without_espeak_ng_one_line_says_how_to_install_it_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty-path");
    std::fs::create_dir(&empty).unwrap();
    let (code, err) = speak_with(tmp.path(), &[("PATH", &empty)]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: espeak-ng: not found; `corpus --speak` needs espeak-ng: install it (Debian/Ubuntu: sudo apt-get install espeak-ng;"),
        "{err}"
    );
    assert!(err.contains("or set CMBERT_ESPEAK to its path"), "{err}");
    assert!(
        !tmp.path().join("data").exists(),
        "nothing is written without espeak-ng"
    );

    // CMBERT_ESPEAK naming nothing: the same line, naming it.
    let nowhere = tmp.path().join("no-such-espeak");
    let (code, err) = speak_with(tmp.path(), &[("CMBERT_ESPEAK", &nowhere)]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(&format!("error: {}: not found;", nowhere.display())),
        "{err}"
    );
}

#[test]
fn an_espeak_ng_that_fails_or_speaks_garbage_is_reported_with_what_it_was_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let version = r#"if [ "$1" = --version ]; then echo "eSpeak NG text-to-speech: 9.99  Data at: /x"; exit 0; fi"#;
    let failing = script(
        tmp.path(),
        "failing",
        &format!("{version}\necho 'no such voice' >&2\nexit 3"),
    );
    let (code, err) = speak_with(tmp.path(), &[("CMBERT_ESPEAK", &failing)]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("failing: the word "), "{err}");
    assert!(err.contains(": it failed (exit status: 3): no such voice"), "{err}");

    let garbage = script(tmp.path(), "garbage", &format!("{version}\necho hello"));
    let (code, err) = speak_with(tmp.path(), &[("CMBERT_ESPEAK", &garbage)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("garbage: the word"), "{err}");
    assert!(err.contains("its output is not a WAV file (6 bytes)"), "{err}");

    let impostor = script(tmp.path(), "impostor", "echo 'some other program'");
    let (code, err) = speak_with(tmp.path(), &[("CMBERT_ESPEAK", &impostor)]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("impostor: --version: its version line is not espeak-ng's"),
        "{err}"
    );
    // None of them left TSVs naming recordings that are not there.
    assert!(!tmp.path().join("data/train.tsv").exists());
}
