//! BERT's Adam variant as the reference uses it (docs/MODEL.md §4): per-tensor gradient
//! clipping, no bias correction, decoupled weight decay added to the update, warm-up-linear
//! schedule driven by a per-parameter step counter. On the CPU the update runs in place over
//! the raw parameter buffer (one pass per tensor) instead of a dozen tensor ops; on other
//! devices the same pass runs on a host copy that is written back, so every device gets
//! bit-identical arithmetic.

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp2, Layout, Result, Var};
use rayon::prelude::*;

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-6;

/// Learning rate and weight decay of one parameter group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Group {
    /// Base learning rate.
    pub lr: f64,
    /// Decoupled weight decay (applied to the weights, not through the gradient).
    pub weight_decay: f64,
}

/// `s(x)` of the reference's `warmup_linear`: `x / warmup` while warming up, then `1 - x`
/// (clamped at 0: the reference lets it go slightly negative after `t_total`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarmupLinear {
    /// Share of `t_total` spent warming up.
    pub warmup: f64,
    /// Total optimiser steps of the run (0: no schedule, the factor is 1).
    pub t_total: usize,
}

impl WarmupLinear {
    /// The multiplier of the base learning rate after `step` steps.
    pub fn factor(&self, step: usize) -> f64 {
        if self.t_total == 0 {
            return 1.0;
        }
        let x = step as f64 / self.t_total as f64;
        if x < self.warmup {
            x / self.warmup
        } else {
            (1.0 - x).max(0.0)
        }
    }
}

#[derive(Debug)]
struct Slot {
    name: String,
    var: Var,
    group: Group,
    m: Vec<f32>,
    v: Vec<f32>,
    step: usize,
}

/// BERT's Adam (`BertAdam` of the reference): per-tensor clipping, no bias correction,
/// decoupled weight decay, and a warmup-linear schedule.
#[derive(Debug)]
pub struct BertAdam {
    slots: Vec<Slot>,
    schedule: WarmupLinear,
    max_grad_norm: f64,
}

impl BertAdam {
    /// `params`: the trainable tensors only; frozen ones are simply not passed.
    pub fn new(params: Vec<(String, Var, Group)>, schedule: WarmupLinear, max_grad_norm: f64) -> Self {
        let slots = params
            .into_iter()
            .map(|(name, var, group)| {
                let n = var.elem_count();
                Slot {
                    name,
                    var,
                    group,
                    m: vec![0.0; n],
                    v: vec![0.0; n],
                    step: 0,
                }
            })
            .collect();
        Self {
            slots,
            schedule,
            max_grad_norm,
        }
    }

    /// Learning rate the next step gives a parameter of `group` that has taken `step` steps.
    pub fn lr(&self, group: &Group, step: usize) -> f64 {
        group.lr * self.schedule.factor(step)
    }

    /// Replaces the schedule (the run's length is known once the data is).
    pub fn set_schedule(&mut self, schedule: WarmupLinear) {
        self.schedule = schedule;
    }

    /// The learning rate the next step gives a parameter whose group has base rate `lr`.
    pub fn current_lr(&self, lr: f64) -> f64 {
        lr * self.schedule.factor(self.steps())
    }

    /// Number of trainable values.
    pub fn param_count(&self) -> usize {
        self.slots.iter().map(|s| s.m.len()).sum()
    }

    /// Steps taken by the most-updated parameter.
    pub fn steps(&self) -> usize {
        self.slots.iter().map(|s| s.step).max().unwrap_or(0)
    }

    /// Moments and step counters by parameter name, for resuming.
    pub fn export_state(&self) -> Vec<(String, &[f32], &[f32], usize)> {
        self.slots
            .iter()
            .map(|s| (s.name.clone(), s.m.as_slice(), s.v.as_slice(), s.step))
            .collect()
    }

    /// Restores what `export_state` gave; every trainable parameter must be present.
    pub fn import_state(
        &mut self,
        mut state: std::collections::HashMap<String, (Vec<f32>, Vec<f32>, usize)>,
    ) -> Result<()> {
        for slot in &mut self.slots {
            let (m, v, step) = state
                .remove(&slot.name)
                .ok_or_else(|| candle_core::Error::Msg(format!("optimiser state has no entry for {}", slot.name)))?;
            if m.len() != slot.m.len() || v.len() != slot.v.len() {
                candle_core::bail!(
                    "optimiser state for {} has {} values, the parameter {}",
                    slot.name,
                    m.len(),
                    slot.m.len()
                );
            }
            (slot.m, slot.v, slot.step) = (m, v, step);
        }
        Ok(())
    }

    /// One update. Parameters without a gradient are skipped and their step counter does
    /// not advance, as in PyTorch (e.g. the pooler under CM-BERT).
    /// Tensors are independent, so they are updated in parallel.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        let (schedule, max_grad_norm) = (&self.schedule, self.max_grad_norm);
        self.slots.par_iter_mut().try_for_each(|slot| -> Result<()> {
            let Some(grad) = grads.get(slot.var.as_tensor()) else {
                return Ok(());
            };
            let lr = slot.group.lr * schedule.factor(slot.step);
            let hyper = Hyper {
                lr: lr as f32,
                weight_decay: slot.group.weight_decay as f32,
                max_grad_norm,
            };
            let param = slot.var.as_tensor();
            if param.device().is_cpu() {
                let update = Update {
                    hyper,
                    m: std::cell::RefCell::new(&mut slot.m),
                    v: std::cell::RefCell::new(&mut slot.v),
                };
                param.inplace_op2(&grad.contiguous()?, &update)?;
            } else {
                update_on_host(&slot.var, grad, hyper, &mut slot.m, &mut slot.v)?;
            }
            slot.step += 1;
            Ok(())
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Hyper {
    lr: f32,
    weight_decay: f32,
    max_grad_norm: f64,
}

struct Update<'a> {
    hyper: Hyper,
    m: std::cell::RefCell<&'a mut Vec<f32>>,
    v: std::cell::RefCell<&'a mut Vec<f32>>,
}

/// The update for parameters off the CPU (CUDA): copy down, update, copy back.
fn update_on_host(var: &Var, grad: &candle_core::Tensor, hyper: Hyper, m: &mut [f32], v: &mut [f32]) -> Result<()> {
    let param = var.as_tensor();
    let mut p = param.flatten_all()?.to_vec1::<f32>()?;
    let g = grad.flatten_all()?.to_vec1::<f32>()?;
    adam_update(&mut p, &g, m, v, hyper);
    var.set(&candle_core::Tensor::from_vec(p, param.shape(), param.device())?)
}

/// Sum of squares in f64 over eight interleaved partial sums added in a fixed order: one
/// running sum is a chain of dependent additions, the slowest part of the update.
#[multiversion::multiversion(targets = "simd")]
fn sum_of_squares(g: &[f32]) -> f64 {
    let mut lanes = [0f64; 8];
    let blocks = g.chunks_exact(8);
    let rest = blocks.remainder();
    for block in blocks {
        for (lane, &x) in lanes.iter_mut().zip(block) {
            *lane += f64::from(x) * f64::from(x);
        }
    }
    let mut total: f64 = lanes.iter().sum();
    for &x in rest {
        total += f64::from(x) * f64::from(x);
    }
    total
}

#[multiversion::multiversion(targets = "simd")]
fn adam_update(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], hyper: Hyper) {
    // torch.nn.utils.clip_grad_norm_ on this tensor alone (norm in f64 for stability of
    // the comparison; the coefficient has the same +1e-6 as PyTorch).
    let norm = sum_of_squares(g).sqrt();
    let coef = hyper.max_grad_norm / (norm + 1e-6);
    let scale = if coef < 1.0 { coef as f32 } else { 1.0 };
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        let g = g * scale;
        *m = *m * BETA1 + (1.0 - BETA1) * g;
        *v = *v * BETA2 + (1.0 - BETA2) * g * g;
        let update = *m / (v.sqrt() + EPS) + hyper.weight_decay * *p;
        *p -= hyper.lr * update;
    }
}

impl InplaceOp2 for Update<'_> {
    fn name(&self) -> &'static str {
        "bert-adam"
    }

    fn cpu_fwd(&self, param: &mut CpuStorage, pl: &Layout, grad: &CpuStorage, gl: &Layout) -> Result<()> {
        let (CpuStorage::F32(p), CpuStorage::F32(g)) = (param, grad) else {
            candle_core::bail!("bert-adam: parameters and gradients must be f32")
        };
        let (Some((p0, p1)), Some((g0, g1))) = (pl.contiguous_offsets(), gl.contiguous_offsets()) else {
            candle_core::bail!("bert-adam: non-contiguous parameter or gradient")
        };
        let (p, g) = (&mut p[p0..p1], &g[g0..g1]);
        adam_update(p, g, &mut self.m.borrow_mut(), &mut self.v.borrow_mut(), self.hyper);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    #[test]
    fn schedule_warms_up_then_decays_and_clamps() {
        let s = WarmupLinear {
            warmup: 0.1,
            t_total: 100,
        };
        assert_eq!(s.factor(0), 0.0);
        assert!((s.factor(5) - 0.5).abs() < 1e-12);
        assert!((s.factor(10) - 0.9).abs() < 1e-12);
        assert!((s.factor(60) - 0.4).abs() < 1e-12);
        assert_eq!(s.factor(130), 0.0);
    }

    /// Two steps by hand: the first has lr 0 (schedule at step 0), the second applies
    /// clipping, moments without bias correction and weight decay.
    #[test]
    fn update_matches_hand_computation() -> Result<()> {
        let dev = Device::Cpu;
        let var = Var::from_tensor(&Tensor::new(&[1.0f32, -2.0], &dev)?)?;
        let group = Group {
            lr: 0.1,
            weight_decay: 0.01,
        };
        let schedule = WarmupLinear {
            warmup: 0.5,
            t_total: 4,
        };
        let mut opt = BertAdam::new(vec![("w".into(), var.clone(), group)], schedule, 1.0);
        let loss = |scale: f32| var.as_tensor().affine(scale as f64, 0.0)?.sum_all();
        // d/dw of sum(3 w) = [3, 3]: norm 4.243 > 1, so clipped to [0.7071, 0.7071].
        opt.step(&loss(3.0)?.backward()?)?;
        assert_eq!(var.as_tensor().to_vec1::<f32>()?, vec![1.0, -2.0], "lr is 0 at step 0");
        opt.step(&loss(3.0)?.backward()?)?;
        let g = 3.0 / (18f64.sqrt() + 1e-6);
        let (mut m, mut v) = (0.1 * g, 0.001 * g * g);
        m = 0.9 * m + 0.1 * g;
        v = 0.999 * v + 0.001 * g * g;
        let lr = 0.1 * (0.25 / 0.5);
        let want: Vec<f64> = [1.0f64, -2.0]
            .iter()
            .map(|p| p - lr * (m / (v.sqrt() + 1e-6) + 0.01 * p))
            .collect();
        let got = var.as_tensor().to_vec1::<f32>()?;
        for (g, w) in got.iter().zip(&want) {
            assert!((*g as f64 - w).abs() < 1e-5, "{got:?} vs {want:?}");
        }
        assert_eq!(opt.steps(), 2);
        Ok(())
    }

    #[test]
    fn parameters_without_gradient_are_left_alone() -> Result<()> {
        let dev = Device::Cpu;
        let used = Var::from_tensor(&Tensor::new(&[1.0f32], &dev)?)?;
        let unused = Var::from_tensor(&Tensor::new(&[5.0f32], &dev)?)?;
        let group = Group {
            lr: 1.0,
            weight_decay: 0.5,
        };
        let schedule = WarmupLinear {
            warmup: 0.0,
            t_total: 10,
        };
        let mut opt = BertAdam::new(
            vec![("a".into(), used.clone(), group), ("b".into(), unused.clone(), group)],
            schedule,
            1.0,
        );
        opt.step(&used.as_tensor().sum_all()?.backward()?)?;
        assert_eq!(
            unused.as_tensor().to_vec1::<f32>()?,
            vec![5.0],
            "no decay without a gradient"
        );
        assert_ne!(used.as_tensor().to_vec1::<f32>()?, vec![1.0]);
        Ok(())
    }

    /// The path other devices take (host copy, update, write back) gives the same bits
    /// as the in-place CPU pass.
    #[test]
    fn host_copy_update_equals_the_in_place_update() -> Result<()> {
        let dev = Device::Cpu;
        let init: Vec<f32> = (0..257).map(|i| (i as f32 * 0.37).sin()).collect();
        let grad_values: Vec<f32> = (0..257).map(|i| (i as f32 * 1.3).cos() * 3.0).collect();
        let grad = Tensor::from_vec(grad_values, 257, &dev)?;
        let hyper = Hyper {
            lr: 0.01,
            weight_decay: 0.01,
            max_grad_norm: 1.0,
        };
        let in_place = Var::from_tensor(&Tensor::from_vec(init.clone(), 257, &dev)?)?;
        let on_host = Var::from_tensor(&Tensor::from_vec(init, 257, &dev)?)?;
        let (mut m1, mut v1, mut m2, mut v2) = (vec![0.1; 257], vec![0.2; 257], vec![0.1; 257], vec![0.2; 257]);
        for _ in 0..3 {
            let update = Update {
                hyper,
                m: std::cell::RefCell::new(&mut m1),
                v: std::cell::RefCell::new(&mut v1),
            };
            in_place.as_tensor().inplace_op2(&grad, &update)?;
            update_on_host(&on_host, &grad, hyper, &mut m2, &mut v2)?;
        }
        assert_eq!(
            in_place.as_tensor().to_vec1::<f32>()?,
            on_host.as_tensor().to_vec1::<f32>()?
        );
        assert_eq!((m1, v1), (m2, v2));
        Ok(())
    }
}
