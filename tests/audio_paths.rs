//! docs/MODEL.md §7: what reaches the prediction. With `cls-audio = zero` (the paper's) the
//! score cannot depend on the audio at all; with `mean` and `learned` it does.

mod common;

use candle_core::{Device, Tensor};
use cmbert::checkpoint::Checkpoint;
use cmbert::model::{loss, BertAttentions, ClsAudio, HeadConfig, Mode, ModelKind};
use common::*;

fn scores_and_audio_grads(cls_audio: ClsAudio, audio: &Tensor) -> (Vec<f32>, f32, f32) {
    let ckpt = Checkpoint::load(&fixtures().join("tiny/reference"), &Device::Cpu).unwrap();
    let (model, store) = build(&ckpt, &HeadConfig::new(ModelKind::CmBert, cls_audio, 5), &[]);
    let (mut inputs, labels) = tiny_inputs();
    inputs.audio = audio.clone();
    let out = model.forward(&inputs, Mode::Eval, BertAttentions::Skip).unwrap();
    let grads = model.backward(&loss(&out.score, &labels).unwrap()).unwrap();
    let vars = store.vars();
    let grad_max = |name: &str| {
        grads
            .get(vars[name].as_tensor())
            .map_or(0.0, |g| g.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap())
    };
    (
        out.score.to_vec1().unwrap(),
        grad_max("fusion.proj_a.weight"),
        grad_max("fusion.audio_weight"),
    )
}

/// Two unrelated audio batches, both non-zero everywhere, the `[CLS]` slot included.
fn two_audios() -> (Tensor, Tensor) {
    let a = Tensor::randn(0f32, 1.0, (3, 50, 5), &Device::Cpu).unwrap();
    let b = Tensor::randn(0f32, 3.0, (3, 50, 5), &Device::Cpu).unwrap();
    (a, b)
}

#[test]
fn paper_variant_score_is_bit_identical_whatever_the_audio() {
    let (a, b) = two_audios();
    let (scores_a, wa_grad, w_a_grad) = scores_and_audio_grads(ClsAudio::Zero, &a);
    let (scores_b, _, _) = scores_and_audio_grads(ClsAudio::Zero, &b);
    let (scores_silent, _, _) = scores_and_audio_grads(ClsAudio::Zero, &a.zeros_like().unwrap());
    assert_eq!(scores_a, scores_b);
    assert_eq!(scores_a, scores_silent);
    assert_eq!(wa_grad, 0.0, "Wa must get exactly zero gradient");
    assert_eq!(w_a_grad, 0.0, "w_a must get exactly zero gradient");
}

#[test]
fn mean_and_learned_variants_depend_on_the_audio() {
    let (a, b) = two_audios();
    for variant in [ClsAudio::Mean, ClsAudio::Learned] {
        let (scores_a, wa_grad, w_a_grad) = scores_and_audio_grads(variant, &a);
        let (scores_b, _, _) = scores_and_audio_grads(variant, &b);
        let moved = scores_a
            .iter()
            .zip(&scores_b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(moved > 1e-4, "{variant}: scores moved only {moved}");
        assert!(
            wa_grad > 1e-6 && w_a_grad > 1e-6,
            "{variant}: Wa {wa_grad}, w_a {w_a_grad}"
        );
    }
}
