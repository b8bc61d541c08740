//! From recordings to attention: espeak-ng utterances with TextGrids -> `features` ->
//! a tiny CM-BERT trained for a few steps -> `export` of one recording's attention, with
//! the recording's features scaled by the statistics stored in the checkpoint.

mod common;

use std::path::{Path, PathBuf};

use candle_core::Device;
use cmbert::acoustic::set::FULL;
use cmbert::checkpoint::Checkpoint;
use cmbert::cli::{FeaturesArgs, Take};
use cmbert::commands::Trained;
use cmbert::data::{load_audio, AudioBounds, Dataset, Split, TextEncoder};
use cmbert::model::{ClsAudio, ModelKind};
use cmbert::train::{RunSpec, Trainer};
use common::*;
use crossbeam_channel::unbounded;

fn speech() -> PathBuf {
    fixtures().join("speech")
}

fn features_args(out: &Path) -> FeaturesArgs {
    FeaturesArgs {
        audio_dir: speech(),
        alignments: speech(),
        data: speech(),
        out: out.to_path_buf(),
        set: "full-v1".into(),
        force: false,
    }
}

#[test]
fn recordings_to_features_to_training_to_an_exported_attention_map() {
    let tmp = tempfile::tempdir().unwrap();
    let features = tmp.path().join("audio.jsonl");
    cmbert::commands::features::run(features_args(&features)).unwrap();

    // The file: the feature set on its first line, then the 8/2/2 utterances, one vector per word.
    let texts = Split::ALL.map(|s| cmbert::data::tsv::read_split(&s.tsv_path(&speech())).unwrap());
    let file = load_audio(&features, &AudioBounds::of_splits(&speech(), &texts, 50)).unwrap();
    let set = file.feature_set.clone().expect("the feature set is recorded");
    assert_eq!(set.name, "full-v1");
    assert_eq!(set.dims, FULL.info().dims);
    assert_eq!(file.dim, 22);
    assert_eq!(
        [0, 1, 2].map(|s| file.splits[s].count()),
        [8, 2, 2],
        "train, dev, test as the TSVs place them"
    );

    // Train a tiny CM-BERT for a few steps; the voice reaches the score (cls-audio mean).
    let encoder = TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap();
    let mut spec = RunSpec::paper(speech(), tiny_bert(), ModelKind::CmBert);
    spec.audio = Some(features.clone());
    spec.cls_audio = ClsAudio::Mean;
    spec.epochs = 2;
    spec.batch_size = 4;
    spec.out = Some(tmp.path().join("run"));
    let data = Dataset::load(&spec.data, spec.audio.as_deref(), &encoder, 22).unwrap();
    let scaling = data
        .audio
        .features
        .clone()
        .expect("features from the extractor are z-scored");
    assert_eq!(
        scaling.norm.words,
        train_words(),
        "fitted on the training split's words only"
    );
    let train_audio: Vec<f32> = data.split(Split::Train).iter().flat_map(|e| e.audio.clone()).collect();
    assert!(train_audio.iter().all(|v| v.is_finite()));
    let mut trainer = Trainer::new(
        spec,
        &Checkpoint::load(&tiny_bert(), &Device::Cpu).unwrap(),
        22,
        &Device::Cpu,
    )
    .unwrap()
    .with_audio_features(Some(scaling.clone()));
    let (tx, _rx) = unbounded();
    let (_ctx, crx) = unbounded();
    trainer.run(&data, &tx, &crx).unwrap().expect("finished");
    let best = tmp.path().join("run/best");
    let stored = Checkpoint::load(&best, &Device::Cpu)
        .unwrap()
        .meta
        .unwrap()
        .audio_features;
    assert_eq!(
        stored.as_ref(),
        Some(&scaling),
        "the scaling travels with the checkpoint"
    );

    // One recording through the checkpoint: the same audio the features file gives it.
    let trained = Trained::open(&best, &Device::Cpu).unwrap();
    let wav = speech().join("utt11.wav");
    let words = speech().join("utt11.TextGrid");
    let single = trained.recording(&wav, &words).unwrap();
    let from_file = trained.dataset(&speech(), Some(&features)).unwrap();
    let (a, b) = (&single.split(Split::Test)[0], &from_file.split(Split::Test)[0]);
    assert_eq!(a.text, "the jokes were stupid");
    assert!(a.label.is_nan(), "a bare recording has no label");
    assert_eq!(a.audio, b.audio, "recording path and features file agree bit for bit");

    // Export its attention.
    let take = [Take {
        wav: wav.clone(),
        words: words.clone(),
    }];
    let out = tmp.path().join("utt11.json");
    cmbert::commands::export::run(recording_export_args(&best, &take, &out)).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let text = json.to_string();
    for word in ["the", "jokes", "were", "stupid"] {
        assert!(text.contains(&format!("\"{word}\"")), "{word} in the export");
    }
    assert_eq!(json["meta"]["wav"], wav.display().to_string());
    assert_eq!(
        json["utterances"][0]["recording"],
        wav.display().to_string(),
        "the utterance is the recording, not test #0"
    );
    // PNG too, looked at by a person once; here it must at least be a PNG.
    let png = tmp.path().join("utt11.png");
    cmbert::commands::export::run(recording_export_args(&best, &take, &png)).unwrap();
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
}

fn train_words() -> usize {
    std::fs::read_to_string(speech().join("train.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').next().unwrap().split_whitespace().count())
        .sum()
}

#[test]
fn features_refuses_bad_inputs_with_named_files() {
    let tmp = tempfile::tempdir().unwrap();
    // Words that do not match the transcript.
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for split in ["train", "dev", "test"] {
        std::fs::copy(speech().join(format!("{split}.tsv")), data.join(format!("{split}.tsv"))).unwrap();
    }
    let train = std::fs::read_to_string(data.join("train.tsv")).unwrap();
    std::fs::write(data.join("train.tsv"), train.replace("IT IS SO GOOD", "IT IS SO BAD")).unwrap();
    let mut args = features_args(&tmp.path().join("a.jsonl"));
    args.data = data.clone();
    let err = format!("{:#}", cmbert::commands::features::run(args).unwrap_err());
    assert!(
        err.contains("utt01.TextGrid") && err.contains("word 4 is \"good\"") && err.contains("\"BAD\""),
        "{err}"
    );
    // A TSV without the id column.
    std::fs::write(data.join("train.tsv"), "text\tlabel\nIT IS SO GOOD\t2.4\n").unwrap();
    let mut args = features_args(&tmp.path().join("b.jsonl"));
    args.data = data.clone();
    let err = format!("{:#}", cmbert::commands::features::run(args).unwrap_err());
    assert!(err.contains("train.tsv") && err.contains("no id column"), "{err}");
    // An existing output is kept.
    let existing = tmp.path().join("c.jsonl");
    std::fs::write(&existing, "keep").unwrap();
    let err = format!(
        "{:#}",
        cmbert::commands::features::run(features_args(&existing)).unwrap_err()
    );
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep");
    assert!(!tmp.path().join("a.jsonl").exists() && !tmp.path().join("b.jsonl").exists());
}

#[test]
fn one_bad_recording_is_one_error_line_naming_it() {
    // A copy of the recordings with one WAV whose header claims 4294967295 Hz.
    let tmp = tempfile::tempdir().unwrap();
    let wavs = tmp.path().join("wavs");
    std::fs::create_dir(&wavs).unwrap();
    for entry in std::fs::read_dir(speech()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wav") {
            std::fs::copy(&path, wavs.join(path.file_name().unwrap())).unwrap();
        }
    }
    let bad = wavs.join("utt05.wav");
    let mut bytes = std::fs::read(&bad).unwrap();
    bytes[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&bad, bytes).unwrap();
    let mut args = features_args(&tmp.path().join("out.jsonl"));
    args.audio_dir = wavs;
    let err = format!("{:#}", cmbert::commands::features::run(args).unwrap_err());
    assert!(!err.contains('\n'), "one line: {err:?}");
    assert!(
        err.contains("utt05.wav") && err.contains("1 of 12 recordings failed"),
        "{err}"
    );
    assert!(!tmp.path().join("out.jsonl").exists());
}

#[test]
fn a_recording_needs_a_model_trained_on_extracted_features() {
    let err = Trained::open(&fixtures().join("tiny/reference"), &Device::Cpu)
        .unwrap()
        .recording(&speech().join("utt01.wav"), &speech().join("utt01.TextGrid"))
        .map(drop)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not trained on features from `cmbert-tui features`"),
        "{err}"
    );

    // Nor is a features file fed to a model trained on other audio, even of the same width.
    let tmp = tempfile::tempdir().unwrap();
    let prosody = tmp.path().join("prosody.jsonl");
    let mut args = features_args(&prosody);
    args.set = "prosody-v1".into();
    cmbert::commands::features::run(args).unwrap();
    let trained = Trained::open(&fixtures().join("tiny/reference"), &Device::Cpu).unwrap();
    assert_eq!(trained.head.audio_dim, 5, "the same width as prosody-v1");
    let err = format!(
        "{:#}",
        trained.dataset(&speech(), Some(&prosody)).map(drop).unwrap_err()
    );
    assert!(
        err.contains("prosody.jsonl") && err.contains("was not trained on such features"),
        "{err}"
    );
}
