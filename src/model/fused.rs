//! Fused CPU kernels with hand-written backward passes: softmax over the last dimension and
//! layer normalisation. Built from basic ops, each of these is a chain of a dozen tensors
//! forward and more backward (docs/CANDLE.md); fused, one pass over the data each way.
//!
//! Reductions run over fixed blocks of rows whose partial sums are added in a fixed order,
//! so results do not depend on the thread count or on scheduling: training stays
//! bit-for-bit reproducible and resumable. Off the CPU, or for other dtypes, the composite
//! ops are used.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Layout, Result, Shape, Tensor, D};
use rayon::prelude::*;

use super::fast_math;

/// Rows per parallel task: large enough to amortise scheduling, small enough to balance.
pub(super) const ROWS_PER_TASK: usize = 64;

pub(super) fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let data = storage.as_slice::<f32>()?;
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{op}: the input must be contiguous"),
    }
}

fn last_dim(layout: &Layout) -> usize {
    layout.dims().last().copied().unwrap_or(1).max(1)
}

/// A new buffer filled by `f` in parallel, chunk by chunk (chunks of `xs` aligned with it).
fn map_chunks(xs: &[f32], chunk: usize, f: impl Fn(&mut [f32], &[f32]) + Sync) -> Vec<f32> {
    let mut out = vec![0f32; xs.len()];
    out.par_chunks_mut(chunk)
        .zip(xs.par_chunks(chunk))
        .for_each(|(o, x)| f(o, x));
    out
}

/// As `map_chunks`, with a second input of the same length.
fn map_chunks2(xs: &[f32], ys: &[f32], chunk: usize, f: impl Fn(&mut [f32], &[f32], &[f32]) + Sync) -> Vec<f32> {
    let mut out = vec![0f32; xs.len()];
    out.par_chunks_mut(chunk)
        .zip(xs.par_chunks(chunk).zip(ys.par_chunks(chunk)))
        .for_each(|(o, (x, y))| f(o, x, y));
    out
}

/// Inverted dropout: `x * scale` where `keep`, `x * 0` elsewhere (the same bits as
/// multiplying by a 0-or-scale mask). Fused, it keeps one byte per element for the backward
/// pass instead of an f32 mask tensor, and computes no gradient for the mask.
pub fn dropout(xs: &Tensor, keep: Vec<bool>, scale: f32) -> Result<Tensor> {
    if fusable(xs) {
        xs.contiguous()?.apply_op1(Dropout { keep, scale })
    } else {
        let mask: Vec<f32> = keep.iter().map(|&k| if k { scale } else { 0.0 }).collect();
        xs.mul(&Tensor::from_vec(mask, xs.shape(), xs.device())?)
    }
}

struct Dropout {
    keep: Vec<bool>,
    scale: f32,
}

impl Dropout {
    fn apply(&self, xs: &[f32]) -> Vec<f32> {
        let (keep, scale) = (&self.keep, self.scale);
        let chunk = 1 << 14;
        let mut out = vec![0f32; xs.len()];
        out.par_chunks_mut(chunk)
            .zip(xs.par_chunks(chunk).zip(keep.par_chunks(chunk)))
            .for_each(|(o, (x, k))| {
                for ((o, &x), &k) in o.iter_mut().zip(x).zip(k) {
                    *o = x * if k { scale } else { 0.0 };
                }
            });
        out
    }
}

impl CustomOp1 for Dropout {
    fn name(&self) -> &'static str {
        "cmbert-dropout"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let xs = contiguous_f32(storage, layout, self.name())?;
        if xs.len() != self.keep.len() {
            candle_core::bail!("{}: mask of {} for {} values", self.name(), self.keep.len(), xs.len());
        }
        Ok((CpuStorage::F32(self.apply(xs)), layout.shape().clone()))
    }

    /// The same mask and scale applied to the gradient.
    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let grad = grad_res.contiguous()?;
        let (storage, layout) = grad.storage_and_layout();
        let candle_core::Storage::Cpu(cpu) = &*storage else {
            candle_core::bail!("{}: gradient off the CPU", self.name())
        };
        let values = self.apply(contiguous_f32(cpu, layout, self.name())?);
        Ok(Some(Tensor::from_vec(values, grad.shape(), grad.device())?))
    }
}

/// Whether `xs` can go through the fused CPU kernels (this module's ops and the fused
/// encoder layer, `fused_layer.rs`): f32 on the CPU. Anything else takes candle's ops.
pub fn fusable(xs: &Tensor) -> bool {
    xs.device().is_cpu() && xs.dtype() == DType::F32
}

/// `softmax(xs)` over the last dimension, differentiable.
pub fn softmax_last_dim(xs: &Tensor) -> Result<Tensor> {
    if fusable(xs) {
        xs.contiguous()?.apply_op1(Softmax)
    } else {
        candle_nn::ops::softmax(xs, D::Minus1)
    }
}

/// `softmax(scores * scale + mask)` over the last dimension, for attention: `scores`
/// `[B, H, Lq, Lk]`, `mask` additive `[B, 1, 1, Lk]` and constant. One node instead of three
/// (scale, add, softmax): the graph keeps neither the scaled nor the masked scores, and the
/// backward pass makes no gradient for the mask. The arithmetic is that of the three ops
/// (`affine`, `broadcast_add`, `softmax_last_dim`), so the bits are the same.
pub fn masked_softmax(scores: &Tensor, mask: &Tensor, scale: f64) -> Result<Tensor> {
    let (b, _, _, lk) = scores.dims4()?;
    if fusable(scores) && fusable(mask) && !mask.track_op() && mask.dims() == [b, 1, 1, lk] {
        scores
            .contiguous()?
            .apply_op2(&mask.contiguous()?, MaskedSoftmax { scale })
    } else {
        softmax_last_dim(&scores.affine(scale, 0.0)?.broadcast_add(mask)?)
    }
}

struct MaskedSoftmax {
    scale: f64,
}

impl CustomOp2 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "cmbert-masked-softmax"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let scores = contiguous_f32(s1, l1, self.name())?;
        let mask = contiguous_f32(s2, l2, self.name())?;
        let lk = last_dim(l1);
        let per_batch = l1.shape().elem_count() / l2.dims()[0].max(1);
        let scale = self.scale as f32;
        let mut out = vec![0f32; scores.len()];
        out.par_chunks_mut(per_batch)
            .zip(scores.par_chunks(per_batch))
            .zip(mask.par_chunks(lk))
            .for_each(|((out, scores), mask)| {
                for (o, s) in out.chunks_mut(lk).zip(scores.chunks(lk)) {
                    for ((o, &s), &m) in o.iter_mut().zip(s).zip(mask) {
                        *o = (s * scale + 0.0) + m;
                    }
                    softmax_in_place(o);
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _scores: &Tensor,
        _mask: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dmasked = res.apply_op2_no_bwd(&grad.contiguous()?, &SoftmaxBackward)?;
        Ok((Some(dmasked.affine(self.scale, 0.0)?), None))
    }
}

/// Lanes of every row reduction here (the softmax's maximum and sum, the layer norm's
/// sums). A fixed count, not the machine's vector width, so that the order of the sums, and
/// the bits of every result, are the same on every instruction set. A running sum over a
/// row is a chain the compiler must keep in order, one element at a time; in lanes it
/// vectorises (docs/BENCHMARKS.md, "Issue 17, after the forward-pass fixes").
const LANES: usize = 16;

/// The lanes' total, by a fixed tree: lane i + lane i + 8, then + 4, + 2, + 1.
#[inline(always)]
fn lanes_total(mut lanes: [f32; LANES]) -> f32 {
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
        width /= 2;
    }
    lanes[0]
}

/// The sum of `f(x[i], y[i])` over `i`: whole chunks of `LANES` into partial lanes, their
/// tree (`lanes_total`), then the remainder in order. Inlined into its (multiversioned)
/// callers so that it is compiled for their vectors.
#[inline(always)]
fn lane_sum(x: &[f32], y: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    debug_assert_eq!(x.len(), y.len(), "lane_sum: two rows of one length");
    let mut lanes = [0f32; LANES];
    let (mut xs, mut ys) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    for (x, y) in (&mut xs).zip(&mut ys) {
        for ((s, &x), &y) in lanes.iter_mut().zip(x).zip(y) {
            *s += f(x, y);
        }
    }
    let rest = xs
        .remainder()
        .iter()
        .zip(ys.remainder())
        .fold(0f32, |s, (&x, &y)| s + f(x, y));
    lanes_total(lanes) + rest
}

/// One row's softmax, in place (shared by `Softmax`, `MaskedSoftmax` and the fused layer),
/// with the vectorisable `exp` (relative error below 3e-7). The maximum and the sum run in
/// `LANES` partial lanes: a running `f32::max` or sum over the row is a chain the
/// compiler must keep in order, one element at a time, and at the attention's rows of 50
/// those chains took half of the attention's time (docs/BENCHMARKS.md, "Issue 17, after
/// the forward-pass fixes").
#[multiversion::multiversion(targets = "simd")]
pub(super) fn softmax_in_place(row: &mut [f32]) {
    // `>` rather than `f32::max`: it compiles to the vector maximum. A NaN is passed over
    // either way, and reaches the output through `exp` below.
    let larger = |a: f32, b: f32| if b > a { b } else { a };
    let mut maxes = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (m, &v) in maxes.iter_mut().zip(chunk) {
            *m = larger(*m, v);
        }
    }
    let max = chunks
        .remainder()
        .iter()
        .chain(&maxes)
        .fold(f32::NEG_INFINITY, |m, &v| larger(m, v));
    let mut sums = [0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (s, v) in sums.iter_mut().zip(chunk) {
            *v = fast_math::exp(*v - max);
            *s += *v;
        }
    }
    let mut rest = 0f32;
    for v in chunks.into_remainder() {
        *v = fast_math::exp(*v - max);
        rest += *v;
    }
    // A fixed tree over the lanes, then the rest.
    let inv = 1.0 / (lanes_total(sums) + rest);
    row.iter_mut().for_each(|v| *v *= inv);
}

struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "cmbert-softmax-last-dim"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let xs = contiguous_f32(storage, layout, self.name())?;
        let d = last_dim(layout);
        let out = map_chunks(xs, d * ROWS_PER_TASK, |out, xs| {
            for (o, x) in out.chunks_mut(d).zip(xs.chunks(d)) {
                o.copy_from_slice(x);
                softmax_in_place(o);
            }
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(res.apply_op2_no_bwd(&grad_res.contiguous()?, &SoftmaxBackward)?))
    }
}

/// `dx = y * (g - sum(g * y))` per row.
struct SoftmaxBackward;

impl CustomOp2 for SoftmaxBackward {
    fn name(&self) -> &'static str {
        "cmbert-softmax-last-dim-backward"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let ys = contiguous_f32(s1, l1, self.name())?;
        let gs = contiguous_f32(s2, l2, self.name())?;
        let d = last_dim(l1);
        let out = map_chunks2(ys, gs, d * ROWS_PER_TASK, |out, ys, gs| {
            for (o, (y, g)) in out.chunks_mut(d).zip(ys.chunks(d).zip(gs.chunks(d))) {
                let dot: f32 = y.iter().zip(g).map(|(y, g)| y * g).sum();
                for ((o, &y), &g) in o.iter_mut().zip(y).zip(g) {
                    *o = y * (g - dot);
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Exact (erf) GELU, as candle's `gelu_erf` computes it forward but with a vectorised
/// `erf` (`fast_math.rs`), and a one-pass backward.
pub fn gelu_erf(xs: &Tensor) -> Result<Tensor> {
    if fusable(xs) {
        xs.contiguous()?.apply_op1(Gelu)
    } else {
        xs.gelu_erf()
    }
}

/// `x Phi(x)`, as candle's `gelu_erf` writes it, with the vectorisable `erf`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    (fast_math::erf(x * std::f32::consts::FRAC_1_SQRT_2) + 1.0) * 0.5 * x
}

/// d gelu / dx = Phi(x) + x phi(x).
#[inline(always)]
fn gelu_slope(x: f32) -> f32 {
    let cdf = 0.5 * (1.0 + fast_math::erf(x * std::f32::consts::FRAC_1_SQRT_2));
    let pdf = fast_math::exp(-0.5 * x * x) * (0.5 * std::f32::consts::FRAC_2_SQRT_PI * std::f32::consts::FRAC_1_SQRT_2);
    cdf + x * pdf
}

/// `out = gelu(x)`, compiled for the CPU's widest vectors.
#[multiversion::multiversion(targets = "simd")]
pub(super) fn gelu_into(out: &mut [f32], x: &[f32]) {
    out.iter_mut().zip(x).for_each(|(o, &x)| *o = gelu(x));
}

/// `x = gelu(x)`, in place (evaluation's feed-forward: `layer_kernels::linear_gelu`).
#[multiversion::multiversion(targets = "simd")]
pub(super) fn gelu_in_place(x: &mut [f32]) {
    x.iter_mut().for_each(|x| *x = gelu(*x));
}

/// `out = grad * gelu'(x)`.
#[multiversion::multiversion(targets = "simd")]
pub(super) fn gelu_backward_into(out: &mut [f32], grad: &[f32], x: &[f32]) {
    for ((o, &g), &x) in out.iter_mut().zip(grad).zip(x) {
        *o = g * gelu_slope(x);
    }
}

/// `grad *= gelu'(x)`.
#[multiversion::multiversion(targets = "simd")]
pub(super) fn gelu_backward_in_place(grad: &mut [f32], x: &[f32]) {
    grad.iter_mut().zip(x).for_each(|(g, &x)| *g *= gelu_slope(x));
}

pub(super) const ELEMS_PER_TASK: usize = 16 * 1024;

struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "cmbert-gelu-erf"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let xs = contiguous_f32(storage, layout, self.name())?;
        let out = map_chunks(xs, ELEMS_PER_TASK, gelu_into);
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(arg.apply_op2_no_bwd(&grad_res.contiguous()?, &GeluBackward)?))
    }
}

struct GeluBackward;

impl CustomOp2 for GeluBackward {
    fn name(&self) -> &'static str {
        "cmbert-gelu-erf-backward"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let xs = contiguous_f32(s1, l1, self.name())?;
        let gs = contiguous_f32(s2, l2, self.name())?;
        let out = map_chunks2(xs, gs, ELEMS_PER_TASK, |o, x, g| gelu_backward_into(o, g, x));
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Layer normalisation over the last dimension (biased variance, as `torch.nn.LayerNorm`),
/// differentiable in `xs`, `weight` and `bias`.
pub fn layer_norm(xs: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor> {
    if fusable(xs) {
        xs.contiguous()?.apply_op3(
            &weight.contiguous()?,
            &bias.contiguous()?,
            LayerNormOp { eps: eps as f32 },
        )
    } else {
        let mean = xs.mean_keepdim(D::Minus1)?;
        let centred = xs.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + eps)?.sqrt()?)?;
        normed.broadcast_mul(weight)?.broadcast_add(bias)
    }
}

struct LayerNormOp {
    eps: f32,
}

/// One row of the layer norm's backward pass from its normalised input `xhat` and
/// `1/std`: writes `dx` and adds to the running weight and bias gradients. The row's two
/// sums run in lanes (`lane_sum`).
#[multiversion::multiversion(targets = "simd")]
pub(super) fn norm_backward_row(
    dx: &mut [f32],
    g: &[f32],
    xhat: &[f32],
    rstd: f32,
    w: &[f32],
    (dw, db): (&mut [f32], &mut [f32]),
) {
    let d = w.len();
    let (g, xhat, dx, dw, db) = (&g[..d], &xhat[..d], &mut dx[..d], &mut dw[..d], &mut db[..d]);
    let sum_gw = lane_sum(g, w, |g, w| g * w);
    let mut lanes = [0f32; LANES];
    let (mut gs, mut ws, mut xs) = (g.chunks_exact(LANES), w.chunks_exact(LANES), xhat.chunks_exact(LANES));
    for ((g, w), x) in (&mut gs).zip(&mut ws).zip(&mut xs) {
        for (((s, &g), &w), &x) in lanes.iter_mut().zip(g).zip(w).zip(x) {
            *s += (g * w) * x;
        }
    }
    let rest =
        (gs.remainder().iter().zip(ws.remainder()).zip(xs.remainder())).fold(0f32, |s, ((&g, &w), &x)| s + (g * w) * x);
    let sum_gw_xhat = lanes_total(lanes) + rest;
    for i in 0..d {
        dw[i] += g[i] * xhat[i];
        db[i] += g[i];
    }
    let n = d as f32;
    for i in 0..d {
        dx[i] = rstd * (g[i] * w[i] - sum_gw / n - xhat[i] * sum_gw_xhat / n);
    }
}

/// Mean and 1/sqrt(var + eps) of one row, two passes (the mean, then the squared
/// deviations), each sum in lanes (`lane_sum`).
#[multiversion::multiversion(targets = "simd")]
pub(super) fn row_stats(x: &[f32], eps: f32) -> (f32, f32) {
    let n = x.len() as f32;
    let mean = lane_sum(x, x, |v, _| v) / n;
    let var = lane_sum(x, x, |v, _| (v - mean) * (v - mean)) / n;
    (mean, 1.0 / (var + eps).sqrt())
}

impl CustomOp3 for LayerNormOp {
    fn name(&self) -> &'static str {
        "cmbert-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let xs = contiguous_f32(s1, l1, self.name())?;
        let w = contiguous_f32(s2, l2, self.name())?;
        let b = contiguous_f32(s3, l3, self.name())?;
        let d = last_dim(l1);
        if w.len() != d || b.len() != d {
            candle_core::bail!("{}: weight and bias must have {d} values", self.name());
        }
        let out = map_chunks(xs, d * ROWS_PER_TASK, |out, xs| {
            for (o, x) in out.chunks_mut(d).zip(xs.chunks(d)) {
                let (mean, rstd) = row_stats(x, self.eps);
                for i in 0..d {
                    o[i] = (x[i] - mean) * rstd * w[i] + b[i];
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        xs: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // One output holds dx (the rows of xs), then d_weight and d_bias as two more rows.
        let d = xs.dim(D::Minus1)?;
        let rows = xs.elem_count() / d;
        let all = xs.apply_op3_no_bwd(weight, &grad.contiguous()?, &LayerNormBackward { eps: self.eps })?;
        let dx = all.narrow(0, 0, rows)?.reshape(xs.shape())?;
        let dw = all.narrow(0, rows, 1)?.reshape(d)?;
        let db = all.narrow(0, rows + 1, 1)?.reshape(d)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

struct LayerNormBackward {
    eps: f32,
}

impl CustomOp3 for LayerNormBackward {
    fn name(&self) -> &'static str {
        "cmbert-layer-norm-backward"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let xs = contiguous_f32(s1, l1, self.name())?;
        let w = contiguous_f32(s2, l2, self.name())?;
        let gs = contiguous_f32(s3, l3, self.name())?;
        let d = last_dim(l1);
        let rows = xs.len() / d;
        let mut out = vec![0f32; xs.len() + 2 * d];
        let (dx, _) = out.split_at_mut(xs.len());
        // Per block: dx rows, and the block's partial sums of g * xhat and g.
        let partials: Vec<(Vec<f32>, Vec<f32>)> = dx
            .par_chunks_mut(d * ROWS_PER_TASK)
            .zip(xs.par_chunks(d * ROWS_PER_TASK).zip(gs.par_chunks(d * ROWS_PER_TASK)))
            .map(|(dx, (xs, gs))| {
                let mut dw = vec![0f32; d];
                let mut db = vec![0f32; d];
                let mut xhat = vec![0f32; d];
                for (dx, (x, g)) in dx.chunks_mut(d).zip(xs.chunks(d).zip(gs.chunks(d))) {
                    let (mean, rstd) = row_stats(x, self.eps);
                    xhat.iter_mut().zip(x).for_each(|(h, &x)| *h = (x - mean) * rstd);
                    norm_backward_row(dx, g, &xhat, rstd, w, (&mut dw, &mut db));
                }
                (dw, db)
            })
            .collect();
        let (dw, db) = out[rows * d..].split_at_mut(d);
        for (pw, pb) in &partials {
            for i in 0..d {
                dw[i] += pw[i];
                db[i] += pb[i];
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((rows + 2, d))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn random(shape: &[usize], seed: u64) -> Result<Tensor> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.random_range(-3.0..3.0)).collect();
        Tensor::from_vec(v, shape, &Device::Cpu)
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
        (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
    }

    /// Rows shorter than, equal to and past the partial lanes, with a partial last chunk,
    /// the mask's -10000 and a maximum in the remainder: the f64 definition to 1e-6.
    #[test]
    fn a_row_softmax_matches_the_definition_at_every_length() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for len in [1, 2, 15, 16, 17, 31, 32, 50, 64, 100, 513] {
            let mut row: Vec<f32> = (0..len).map(|_| rng.random_range(-8.0..8.0)).collect();
            if len > 3 {
                row[len / 3] = -10_000.0;
                row[len - 1] = 9.0;
            }
            let peak = row.iter().copied().fold(f64::NEG_INFINITY, |m, v| m.max(f64::from(v)));
            let exps: Vec<f64> = row.iter().map(|&v| (f64::from(v) - peak).exp()).collect();
            let total: f64 = exps.iter().sum();
            softmax_in_place(&mut row);
            for (i, (&got, e)) in row.iter().zip(&exps).enumerate() {
                let want = e / total;
                assert!(
                    (f64::from(got) - want).abs() <= 1e-6 * want.max(1e-30) + 1e-12,
                    "len {len}, {i}: {got} vs {want}"
                );
            }
            if len > 3 {
                assert_eq!(row[len / 3], 0.0, "len {len}: a masked position gets nothing");
            }
        }
        let mut poisoned = [0.5f32, f32::NAN, 1.0];
        softmax_in_place(&mut poisoned);
        assert!(
            poisoned.iter().all(|v| v.is_nan()),
            "a NaN score is not hidden: {poisoned:?}"
        );
    }

    /// The layer norm's row statistics and its backward row, summed in lanes, against the
    /// f64 definitions at lengths around the lanes (and BERT's 384 and 768), with a large
    /// common offset that a careless one-pass variance would lose.
    #[test]
    fn norm_rows_match_the_definition_at_every_length() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for len in [1, 15, 16, 17, 33, 384, 768] {
            let x: Vec<f32> = (0..len).map(|_| 100.0 + rng.random_range(-2.0..2.0)).collect();
            let n = len as f64;
            let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
            let var = x.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
            let (got_mean, got_rstd) = row_stats(&x, 1e-5);
            assert!(
                (f64::from(got_mean) - mean).abs() <= 1e-6 * mean,
                "len {len}: mean {got_mean} {mean}"
            );
            let rstd = 1.0 / (var + 1e-5).sqrt();
            assert!(
                (f64::from(got_rstd) - rstd).abs() <= 2e-4 * rstd,
                "len {len}: 1/std {got_rstd} {rstd}"
            );

            let g: Vec<f32> = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
            let w: Vec<f32> = (0..len).map(|_| rng.random_range(0.5..1.5)).collect();
            let xhat: Vec<f32> = (0..len).map(|_| rng.random_range(-2.0..2.0)).collect();
            let (mut dx, mut dw, mut db) = (vec![0f32; len], vec![1f32; len], vec![2f32; len]);
            norm_backward_row(&mut dx, &g, &xhat, 0.5, &w, (&mut dw, &mut db));
            let wide = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
            let (g, w, xhat) = (wide(&g), wide(&w), wide(&xhat));
            let sum_gw: f64 = g.iter().zip(&w).map(|(g, w)| g * w).sum();
            let sum_gw_xhat: f64 = (0..len).map(|i| g[i] * w[i] * xhat[i]).sum();
            for i in 0..len {
                let want = 0.5 * (g[i] * w[i] - sum_gw / n - xhat[i] * sum_gw_xhat / n);
                assert!(
                    (f64::from(dx[i]) - want).abs() <= 1e-5,
                    "len {len}, dx {i}: {} {want}",
                    dx[i]
                );
                assert!(
                    (f64::from(dw[i]) - (1.0 + g[i] * xhat[i])).abs() <= 1e-6,
                    "len {len}, dw {i}"
                );
                assert!((f64::from(db[i]) - (2.0 + g[i])).abs() <= 1e-6, "len {len}, db {i}");
            }
        }
    }

    #[test]
    fn softmax_matches_the_composite_forward_and_backward() -> Result<()> {
        // 3 x 70 rows: more than one block, and a last block that is not full.
        let x = Var::from_tensor(&random(&[3, 70, 9], 1)?)?;
        let g = random(&[3, 70, 9], 2)?;
        let fused = softmax_last_dim(x.as_tensor())?;
        let plain = candle_nn::ops::softmax(x.as_tensor(), D::Minus1)?;
        assert!(max_diff(&fused, &plain)? < 1e-6);
        let gf = fused.mul(&g)?.sum_all()?.backward()?;
        let gp = plain.mul(&g)?.sum_all()?.backward()?;
        let (a, b) = (gf.get(&x).unwrap(), gp.get(&x).unwrap());
        assert!(max_diff(a, b)? < 1e-5, "{}", max_diff(a, b)?);
        Ok(())
    }

    #[test]
    fn masked_softmax_equals_scale_add_softmax_bit_for_bit() -> Result<()> {
        let scores = Var::from_tensor(&random(&[3, 4, 7, 7], 19)?)?;
        let g = random(&[3, 4, 7, 7], 20)?;
        let keep: Vec<f32> = (0..21)
            .map(|i| if i % 7 < 5 - i / 7 { 0.0 } else { -10000.0 })
            .collect();
        let mask = Tensor::from_vec(keep, (3, 1, 1, 7), &Device::Cpu)?;
        let scale = 1.0 / 8f64.sqrt();
        let fused = masked_softmax(scores.as_tensor(), &mask, scale)?;
        let plain = softmax_last_dim(&(scores.as_tensor() / 8f64.sqrt())?.broadcast_add(&mask)?)?;
        assert_eq!(
            fused.flatten_all()?.to_vec1::<f32>()?,
            plain.flatten_all()?.to_vec1::<f32>()?
        );
        let gf = fused.mul(&g)?.sum_all()?.backward()?;
        let gp = plain.mul(&g)?.sum_all()?.backward()?;
        assert_eq!(
            gf.get(&scores).unwrap().flatten_all()?.to_vec1::<f32>()?,
            gp.get(&scores).unwrap().flatten_all()?.to_vec1::<f32>()?
        );
        assert!(gf.get(&mask).is_none(), "no gradient for the constant mask");
        Ok(())
    }

    #[test]
    fn layer_norm_matches_the_composite_forward_and_backward() -> Result<()> {
        let x = Var::from_tensor(&random(&[2, 100, 24], 3)?)?;
        let w = Var::from_tensor(&random(&[24], 4)?)?;
        let b = Var::from_tensor(&random(&[24], 5)?)?;
        let g = random(&[2, 100, 24], 6)?;
        let eps = 1e-12;
        let fused = layer_norm(x.as_tensor(), w.as_tensor(), b.as_tensor(), eps)?;
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let plain = centred
            .broadcast_div(&(var + eps)?.sqrt()?)?
            .broadcast_mul(w.as_tensor())?
            .broadcast_add(b.as_tensor())?;
        assert!(max_diff(&fused, &plain)? < 1e-5);
        let gf = fused.mul(&g)?.sum_all()?.backward()?;
        let gp = plain.mul(&g)?.sum_all()?.backward()?;
        for (name, v) in [("x", &x), ("weight", &w), ("bias", &b)] {
            let (a, p) = (gf.get(v).unwrap(), gp.get(v).unwrap());
            let scale = p.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()?;
            let diff = max_diff(a, p)?;
            assert!(diff <= 1e-5 * scale.max(1.0), "{name}: {diff} (scale {scale})");
        }
        Ok(())
    }

    #[test]
    fn gelu_matches_candle_forward_and_backward() -> Result<()> {
        let x = Var::from_tensor(&random(&[5, 7000], 11)?)?;
        let g = random(&[5, 7000], 12)?;
        let fused = gelu_erf(x.as_tensor())?;
        let plain = x.as_tensor().gelu_erf()?;
        // Our erf is within 5e-7 of libm's (fast_math.rs); |x| < 3 here.
        let diff = max_diff(&fused, &plain)?;
        assert!(diff < 1e-6, "{diff}");
        let gf = fused.mul(&g)?.sum_all()?.backward()?;
        let gp = plain.mul(&g)?.sum_all()?.backward()?;
        let diff = max_diff(gf.get(&x).unwrap(), gp.get(&x).unwrap())?;
        assert!(diff < 1e-5, "{diff}");
        Ok(())
    }

    #[test]
    fn dropout_equals_the_mask_product_bit_for_bit_forward_and_backward() -> Result<()> {
        // 40 000 values: several parallel chunks, the last one partial.
        let x = Var::from_tensor(&random(&[8, 5000], 13)?)?;
        let g = random(&[8, 5000], 14)?;
        let keep: Vec<bool> = (0..40_000).map(|i| (i * 7919) % 10 != 0).collect();
        let scale = 1.0 / 0.9f32;
        let fused = dropout(x.as_tensor(), keep.clone(), scale)?;
        let mask: Vec<f32> = keep.iter().map(|&k| if k { scale } else { 0.0 }).collect();
        let plain = x.as_tensor().mul(&Tensor::from_vec(mask, (8, 5000), &Device::Cpu)?)?;
        assert_eq!(fused.to_vec2::<f32>()?, plain.to_vec2::<f32>()?);
        let gf = fused.mul(&g)?.sum_all()?.backward()?;
        let gp = plain.mul(&g)?.sum_all()?.backward()?;
        assert_eq!(
            gf.get(&x).unwrap().to_vec2::<f32>()?,
            gp.get(&x).unwrap().to_vec2::<f32>()?
        );
        let err = dropout(x.as_tensor(), vec![true; 3], scale).unwrap_err().to_string();
        assert!(err.contains("mask of 3 for 40000 values"), "{err}");
        Ok(())
    }

    #[test]
    fn reductions_do_not_depend_on_the_thread_count() -> Result<()> {
        let x = Var::from_tensor(&random(&[300, 32], 7)?)?;
        let w = Var::from_tensor(&random(&[32], 8)?)?;
        let b = Var::from_tensor(&random(&[32], 9)?)?;
        let g = random(&[300, 32], 10)?;
        let grads = |threads: usize| -> Result<Vec<f32>> {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let y = layer_norm(x.as_tensor(), w.as_tensor(), b.as_tensor(), 1e-12)?;
                let gr = y.mul(&g)?.sum_all()?.backward()?;
                gr.get(&w).unwrap().to_vec1::<f32>()
            })
        };
        assert_eq!(grads(1)?, grads(3)?);
        Ok(())
    }
}
