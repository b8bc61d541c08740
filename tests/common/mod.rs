#![allow(dead_code)]
//! Shared helpers for the integration tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use cmbert::checkpoint::Checkpoint;
use cmbert::model::{CmBert, HeadConfig, Inputs, ParamStore};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn load_tensors(path: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(path, &Device::Cpu)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn tiny_inputs() -> (Inputs, Tensor) {
    let t = load_tensors(&fixtures().join("tiny/inputs.safetensors"));
    let inputs = Inputs {
        input_ids: t["input_ids"].to_dtype(candle_core::DType::U32).unwrap(),
        attention_mask: t["attention_mask"].clone(),
        audio: t["audio"].clone(),
    };
    (inputs, t["labels"].clone())
}

/// Builds a model from a checkpoint, with optional head override and extra tensors.
pub fn build(
    ckpt: &Checkpoint,
    head: &HeadConfig,
    extra: &[(&str, Tensor)],
) -> (CmBert, std::sync::Arc<ParamStore>) {
    let mut tensors = ckpt.tensors.clone();
    for (k, v) in extra {
        tensors.insert(k.to_string(), v.clone());
    }
    let store = ParamStore::new(tensors, 0, &Device::Cpu);
    let model = CmBert::load(store.var_builder(), &ckpt.bert, head).expect("model builds");
    (model, store)
}

/// Largest |a - b| relative to max(largest |b|, floor) (tensor-wise relative error).
pub fn rel_err(ours: &Tensor, reference: &Tensor, floor: f32) -> f32 {
    assert_eq!(ours.dims(), reference.dims(), "shape mismatch");
    let a = ours.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = reference.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let scale = b
        .iter()
        .fold(0f32, |m, v| m.max(v.abs()))
        .max(floor)
        .max(1e-30);
    a.iter()
        .zip(&b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

pub fn assert_close(name: &str, ours: &Tensor, reference: &Tensor, tol: f32) {
    assert_close_floor(name, ours, reference, tol, 0.0)
}

pub fn assert_close_floor(name: &str, ours: &Tensor, reference: &Tensor, tol: f32, floor: f32) {
    let err = rel_err(ours, reference, floor);
    if std::env::var_os("GOLDEN_VERBOSE").is_some() {
        eprintln!("{name}: relative error {err:e}");
    }
    assert!(err <= tol, "{name}: relative error {err:e} exceeds {tol:e}");
}
