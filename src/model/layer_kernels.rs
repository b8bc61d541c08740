//! Slice-level forward and backward kernels of one encoder layer (`fused_layer.rs`). Every
//! element-wise expression is the one the composite ops evaluate (`fused.rs`, candle's
//! `affine`, `add`, the dropout product), so the two paths differ only in the summation
//! order inside matrix products.
//!
//! With bf16 products (`bf16/`) every matrix product here takes bf16 factors and f32 sums;
//! the element-wise work around them is the same f32 code either way.
//!
//! Reductions over rows (bias and norm gradients) add fixed blocks of rows in a fixed
//! order: results do not depend on the thread count.

use rayon::prelude::*;

use super::bf16::{self, Onto, PackedB, Product, Products, Then};
use super::fused::{self, row_stats, softmax_in_place, ELEMS_PER_TASK, ROWS_PER_TASK};
use super::gemm::{matmul, Mat, MatMut, Threads, Write};

/// One product at the layer's precision. bf16 packs `rhs` for this product alone: the
/// per-head factors are new data each time; weights go through `linear`, which packs once.
fn product(dst: MatMut<'_>, lhs: Mat<'_>, rhs: Mat<'_>, write: Write, threads: Threads, products: Products) {
    match products {
        Products::F32 => matmul(dst, lhs, rhs, write, threads),
        Products::Bf16(kernel) => bf16::matmul(dst, lhs, &PackedB::pack(rhs), write, threads, kernel),
    }
}

/// A dropout mask (true = kept) and the scale of kept values.
pub type Keep<'a> = Option<(&'a [bool], f32)>;

fn dropped(x: f32, keep: bool, scale: f32) -> f32 {
    x * if keep { scale } else { 0.0 }
}

/// `x W^T + b` for `x` `[rows, in]`, `w` `[out, in]` (PyTorch's layout).
pub fn linear(x: &[f32], rows: usize, w: &[f32], bias: &[f32], products: Products) -> Vec<f32> {
    let [y] = linears_then(x, rows, [(w, bias)], products, None);
    y
}

/// `gelu(x W^T + b)`, without the values before the activation (evaluation: nothing reads
/// them). bf16 products apply the activation to each stretch of finished sums while it is
/// in cache (a pass over the feed-forward's widest matrix saved); f32 products, in place.
/// Same bits as `gelu_forward(&linear(..))` either way.
pub fn linear_gelu(x: &[f32], rows: usize, w: &[f32], bias: &[f32], products: Products) -> Vec<f32> {
    let gelu: Then<'_> = &fused::gelu_in_place;
    let [mut y] = linears_then(x, rows, [(w, bias)], products, Some(gelu));
    if products == Products::F32 {
        y.par_chunks_mut(ELEMS_PER_TASK).for_each(fused::gelu_in_place);
    }
    y
}

/// `linear` of one input `x` `[rows, in]` by each `(w, bias)` of `affines` (the query, key
/// and value projections). With bf16 products the rows of `x` are rounded and packed once for
/// all of them (`bf16::matmul_shared_lhs`) instead of once a product, and each weight is
/// packed once, from its rows (no transposed copy), for all row blocks; every sum is the one
/// a product alone computes, so the results are the same bit for bit whatever `N` is.
pub fn linears_of_one_input<const N: usize>(
    x: &[f32],
    rows: usize,
    affines: [(&[f32], &[f32]); N],
    products: Products,
) -> [Vec<f32>; N] {
    linears_then(x, rows, affines, products, None)
}

/// `linears_of_one_input`, with bf16 products applying `then` to the finished values
/// (f32 products leave it to the caller).
fn linears_then<const N: usize>(
    x: &[f32],
    rows: usize,
    affines: [(&[f32], &[f32]); N],
    products: Products,
    then: Option<Then<'_>>,
) -> [Vec<f32>; N] {
    let in_dim = x.len() / rows.max(1);
    let input = Mat::dense(x, rows, in_dim);
    match products {
        Products::Bf16(kernel) => {
            // The kernel starts every output from its bias (`Onto::Bias`): no copy first.
            let mut ys = affines.map(|(_, bias)| vec![0f32; rows * bias.len()]);
            let packed = affines.map(|(w, bias)| PackedB::pack(Mat::dense(w, bias.len(), in_dim).t()));
            let dsts = ys
                .iter_mut()
                .zip(&packed)
                .zip(affines)
                .map(|((y, packed), (_, bias))| Product {
                    dst: MatMut::dense(y, rows, packed.n()),
                    rhs: packed,
                    onto: Onto::Bias(bias),
                    then,
                })
                .collect();
            bf16::matmul_shared_lhs(dsts, input, Threads::Pool, kernel);
            ys
        }
        Products::F32 => {
            // Every output starts as its bias, and the product is added to it.
            let mut ys = affines.map(|(_, bias)| bias.repeat(rows));
            for (y, (w, bias)) in ys.iter_mut().zip(affines) {
                let out_dim = bias.len();
                let dst = MatMut::dense(y, rows, out_dim);
                // gemm reads a long transposed right-hand side slowly (measured 119 against
                // 196 GFLOP/s for bert-base's feed-forward output, k = 3072): a row-major
                // copy costs far less.
                if in_dim > out_dim {
                    let w_rows = transpose(w, out_dim, in_dim);
                    let weight = Mat::dense(&w_rows, in_dim, out_dim);
                    matmul(dst, input, weight, Write::Add, Threads::Pool);
                } else {
                    let weight = Mat::dense(w, out_dim, in_dim).t();
                    matmul(dst, input, weight, Write::Add, Threads::Pool);
                }
            }
            ys
        }
    }
}

/// The transpose of a row-major `[rows, cols]` matrix, by cache-sized tiles.
pub fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let mut out = vec![0f32; m.len()];
    // Each task writes TILE output rows (input columns c0..c0+TILE).
    out.par_chunks_mut(TILE * rows).enumerate().for_each(|(t, out)| {
        let c0 = t * TILE;
        let width = out.len() / rows;
        for r0 in (0..rows).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                let src = &m[r * cols + c0..][..width];
                for (c, &v) in src.iter().enumerate() {
                    out[c * rows + r] = v;
                }
            }
        }
    });
    out
}

/// Gradients of `linear` for its weight and bias, from `dy` `[rows, out]` and the input.
pub fn linear_param_grads(
    dy: &[f32],
    x: &[f32],
    rows: usize,
    out_dim: usize,
    products: Products,
) -> (Vec<f32>, Vec<f32>) {
    let in_dim = x.len() / rows;
    let mut dw = vec![0f32; out_dim * in_dim];
    product(
        MatMut::dense(&mut dw, out_dim, in_dim),
        Mat::dense(dy, rows, out_dim).t(),
        Mat::dense(x, rows, in_dim),
        Write::Replace,
        Threads::Pool,
        products,
    );
    (dw, column_sums(dy, out_dim))
}

/// `linear_param_grads` of each `dy` of `dys` against the same input `x` (the query, key and
/// value projections). With bf16 products `x`, the right-hand factor of every weight gradient,
/// is rounded and packed once for all of them instead of once a product; the results are
/// `linear_param_grads`'s bit for bit.
pub fn linear_param_grads_of_one_input<const N: usize>(
    dys: [&[f32]; N],
    x: &[f32],
    rows: usize,
    out_dim: usize,
    products: Products,
) -> [(Vec<f32>, Vec<f32>); N] {
    let Products::Bf16(kernel) = products else {
        return dys.map(|dy| linear_param_grads(dy, x, rows, out_dim, products));
    };
    let in_dim = x.len() / rows;
    let packed = PackedB::pack(Mat::dense(x, rows, in_dim));
    dys.map(|dy| {
        let mut dw = vec![0f32; out_dim * in_dim];
        bf16::matmul(
            MatMut::dense(&mut dw, out_dim, in_dim),
            Mat::dense(dy, rows, out_dim).t(),
            &packed,
            Write::Replace,
            Threads::Pool,
            kernel,
        );
        (dw, column_sums(dy, out_dim))
    })
}

/// `dx = dy W` or `dx += dy W` (as `write` says) for `w` `[out, in]`.
pub fn linear_input_grad(dx: &mut [f32], dy: &[f32], rows: usize, w: &[f32], write: Write, products: Products) {
    let out_dim = dy.len() / rows;
    let in_dim = w.len() / out_dim;
    product(
        MatMut::dense(dx, rows, in_dim),
        Mat::dense(dy, rows, out_dim),
        Mat::dense(w, out_dim, in_dim),
        write,
        Threads::Pool,
        products,
    );
}

/// Column sums of a `[rows, cols]` matrix.
pub fn column_sums(m: &[f32], cols: usize) -> Vec<f32> {
    let partials: Vec<Vec<f32>> = m
        .par_chunks(cols * ROWS_PER_TASK)
        .map(|block| {
            let mut sums = vec![0f32; cols];
            for row in block.chunks(cols) {
                sums.iter_mut().zip(row).for_each(|(s, v)| *s += v);
            }
            sums
        })
        .collect();
    let mut total = vec![0f32; cols];
    for p in &partials {
        total.iter_mut().zip(p).for_each(|(t, v)| *t += v);
    }
    total
}

/// The dropout product, or `x` itself without a mask.
pub fn apply_dropout<'a>(x: &'a [f32], keep: Keep<'_>) -> std::borrow::Cow<'a, [f32]> {
    match keep {
        None => std::borrow::Cow::Borrowed(x),
        Some((keep, scale)) => {
            let mut out = vec![0f32; x.len()];
            out.par_chunks_mut(ELEMS_PER_TASK)
                .zip(x.par_chunks(ELEMS_PER_TASK).zip(keep.par_chunks(ELEMS_PER_TASK)))
                .for_each(|(o, (x, k))| {
                    for ((o, &x), &k) in o.iter_mut().zip(x).zip(k) {
                        *o = dropped(x, k, scale);
                    }
                });
            std::borrow::Cow::Owned(out)
        }
    }
}

/// GELU (erf form) of every element.
pub fn gelu_forward(x: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    out.par_chunks_mut(ELEMS_PER_TASK)
        .zip(x.par_chunks(ELEMS_PER_TASK))
        .for_each(|(o, x)| fused::gelu_into(o, x));
    out
}

/// `grad *= gelu'(x)`, in place.
pub fn gelu_backward_in_place(grad: &mut [f32], x: &[f32]) {
    grad.par_chunks_mut(ELEMS_PER_TASK)
        .zip(x.par_chunks(ELEMS_PER_TASK))
        .for_each(|(g, x)| fused::gelu_backward_in_place(g, x));
}

/// A layer norm's output with what its backward pass needs.
pub struct Normed {
    /// The normalised, scaled and shifted rows.
    pub out: Vec<f32>,
    /// The rows normalised, before the scale and shift.
    pub xhat: Vec<f32>,
    /// One over each row's standard deviation.
    pub rstd: Vec<f32>,
}

/// Whether a backward pass may follow a forward pass, so that the forward kernels keep what
/// it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backward {
    /// Keep it.
    Possible,
    /// Inference: keep nothing.
    Never,
}

/// A buffer of `len` zeros where a backward pass may follow (it will read it), else none.
fn kept(len: usize, backward: Backward) -> Vec<f32> {
    match backward {
        Backward::Possible => vec![0f32; len],
        Backward::Never => Vec::new(),
    }
}

/// `kept`'s buffer in `count` chunks of `chunk` values for parallel work: `None` for each
/// where it is empty (not kept).
fn chunks_if_kept(buf: &mut [f32], chunk: usize, count: usize) -> Vec<Option<&mut [f32]>> {
    if buf.is_empty() {
        (0..count).map(|_| None).collect()
    } else {
        buf.chunks_mut(chunk).map(Some).collect()
    }
}

/// `LayerNorm(dropout(proj) + residual)`, one pass per row, written over `proj` (the
/// backward pass reads the normalised rows, not `proj`). `xhat` is kept only where a
/// backward pass may follow.
pub fn residual_norm(
    mut proj: Vec<f32>,
    keep: Keep<'_>,
    residual: &[f32],
    (w, b): (&[f32], &[f32]),
    eps: f32,
    backward: Backward,
) -> Normed {
    let d = w.len();
    let rows = proj.len() / d;
    let block = d * ROWS_PER_TASK;
    let mut xhat = kept(proj.len(), backward);
    let xhat_blocks = chunks_if_kept(&mut xhat, block, proj.len().div_ceil(block));
    let mut rstd = vec![0f32; rows];
    proj.par_chunks_mut(block)
        .zip(xhat_blocks)
        .zip(rstd.par_chunks_mut(ROWS_PER_TASK))
        .enumerate()
        .for_each(|(t, ((x, mut xhat), rstd))| {
            let start = t * block;
            let mut sum = vec![0f32; d];
            for (r, x) in x.chunks_mut(d).enumerate() {
                let at = start + r * d;
                let keep = keep.map(|(k, scale)| (&k[at..at + d], scale));
                let xhat = xhat.as_deref_mut().map(|xh| &mut xh[r * d..][..d]);
                rstd[r] = residual_norm_row((x, xhat), &mut sum, (keep, &residual[at..at + d]), (w, b), eps);
            }
        });
    Normed { out: proj, xhat, rstd }
}

/// One row of `residual_norm`: `sum = dropout(x) + res`, then its norm into `x` (and
/// `xhat`); returns `1/std`. Compiled for the CPU's widest vectors.
#[multiversion::multiversion(targets = "simd")]
fn residual_norm_row(
    (x, xhat): (&mut [f32], Option<&mut [f32]>),
    sum: &mut [f32],
    (keep, res): (Keep<'_>, &[f32]),
    (w, b): (&[f32], &[f32]),
    eps: f32,
) -> f32 {
    let d = w.len();
    let (x, sum, res, b) = (&mut x[..d], &mut sum[..d], &res[..d], &b[..d]);
    match keep {
        Some((k, scale)) => {
            let k = &k[..d];
            for i in 0..d {
                sum[i] = dropped(x[i], k[i], scale) + res[i];
            }
        }
        None => (0..d).for_each(|i| sum[i] = x[i] + res[i]),
    }
    let (mean, r_std) = row_stats(sum, eps);
    // The same two roundings either way: the normalised value, then the scale and shift.
    match xhat {
        Some(xhat) => {
            let xhat = &mut xhat[..d];
            for i in 0..d {
                xhat[i] = (sum[i] - mean) * r_std;
                x[i] = xhat[i] * w[i] + b[i];
            }
        }
        None => (0..d).for_each(|i| x[i] = ((sum[i] - mean) * r_std) * w[i] + b[i]),
    }
    r_std
}

/// Layer norm backward from the saved `xhat` and `1/std`: `(dx, d_weight, d_bias)`.
pub fn norm_backward(dy: &[f32], xhat: &[f32], rstd: &[f32], w: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let d = w.len();
    let block = d * ROWS_PER_TASK;
    let mut dx = vec![0f32; dy.len()];
    let partials: Vec<(Vec<f32>, Vec<f32>)> = dx
        .par_chunks_mut(block)
        .zip(dy.par_chunks(block).zip(xhat.par_chunks(block)))
        .zip(rstd.par_chunks(ROWS_PER_TASK))
        .map(|((dx, (dy, xhat)), rstd)| {
            let mut dw = vec![0f32; d];
            let mut db = vec![0f32; d];
            for (((dx, g), xh), &r) in dx.chunks_mut(d).zip(dy.chunks(d)).zip(xhat.chunks(d)).zip(rstd) {
                fused::norm_backward_row(dx, g, xh, r, w, (&mut dw, &mut db));
            }
            (dw, db)
        })
        .collect();
    let (mut dw, mut db) = (vec![0f32; d], vec![0f32; d]);
    for (pw, pb) in &partials {
        dw.iter_mut().zip(pw).for_each(|(t, v)| *t += v);
        db.iter_mut().zip(pb).for_each(|(t, v)| *t += v);
    }
    (dx, dw, db)
}

/// Shapes of the attention: `batch` sequences of `len` tokens, `heads` heads of `head_dim`.
#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    /// Sequences.
    pub batch: usize,
    /// Tokens per sequence.
    pub len: usize,
    /// Attention heads.
    pub heads: usize,
    /// Width of one head.
    pub head_dim: usize,
}

impl AttentionShape {
    fn hidden(&self) -> usize {
        self.heads * self.head_dim
    }

    fn probs_per_sequence(&self) -> usize {
        self.heads * self.len * self.len
    }

    /// One head's `[len, head_dim]` columns of a sequence's `[len, hidden]` rows.
    fn head<'a>(&self, rows: &'a [f32], head: usize) -> Mat<'a> {
        Mat::rows(&rows[head * self.head_dim..], self.len, self.head_dim, self.hidden())
    }

    fn head_mut<'a>(&self, rows: &'a mut [f32], head: usize) -> MatMut<'a> {
        MatMut::rows(
            &mut rows[head * self.head_dim..],
            self.len,
            self.head_dim,
            self.hidden(),
        )
    }
}

/// `softmax(q k^T * scale + mask)` per head (returned, `[B, heads, L, L]`, where a backward
/// pass may follow; else empty, each head's in a scratch), and the context
/// `dropout(probs) v` written head by head into `[B * L, hidden]` rows.
pub fn attention_forward(
    shape: AttentionShape,
    (q, k, v): (&[f32], &[f32], &[f32]),
    mask: &[f32],
    scale: f32,
    keep: Keep<'_>,
    products: Products,
    backward: Backward,
) -> (Vec<f32>, Vec<f32>) {
    let AttentionShape { batch, len, heads, .. } = shape;
    let seq = len * shape.hidden();
    let per_seq = shape.probs_per_sequence();
    let mut probs = kept(batch * per_seq, backward);
    let probs_of_seq = chunks_if_kept(&mut probs, per_seq, batch);
    let mut context = vec![0f32; batch * seq];
    probs_of_seq
        .into_par_iter()
        .zip(context.par_chunks_mut(seq))
        .enumerate()
        .for_each(|(b, (mut probs, context))| {
            let (q, k, v) = (&q[b * seq..][..seq], &k[b * seq..][..seq], &v[b * seq..][..seq]);
            let mask = &mask[b * len..][..len];
            let mut scratch = vec![0f32; len * len];
            let mut head_probs = match probs {
                Some(_) => Vec::new(),
                None => vec![0f32; len * len],
            };
            for h in 0..heads {
                let p = match probs.as_deref_mut() {
                    Some(probs) => &mut probs[h * len * len..][..len * len],
                    None => &mut head_probs[..],
                };
                let scores = MatMut::dense(p, len, len);
                product(
                    scores,
                    shape.head(q, h),
                    shape.head(k, h).t(),
                    Write::Replace,
                    Threads::One,
                    products,
                );
                for row in p.chunks_mut(len) {
                    mask_scores(row, mask, scale);
                    softmax_in_place(row);
                }
                let used: &[f32] = match keep {
                    Some((keep, drop_scale)) => {
                        let keep = &keep[(b * heads + h) * len * len..][..len * len];
                        for ((o, &p), &kp) in scratch.iter_mut().zip(p.iter()).zip(keep) {
                            *o = dropped(p, kp, drop_scale);
                        }
                        &scratch
                    }
                    None => p,
                };
                let out = shape.head_mut(context, h);
                product(
                    out,
                    Mat::dense(used, len, len),
                    shape.head(v, h),
                    Write::Replace,
                    Threads::One,
                    products,
                );
            }
        });
    (probs, context)
}

/// `scores * scale + mask`, as the composite path's `affine` and `add` compute it.
#[multiversion::multiversion(targets = "simd")]
fn mask_scores(row: &mut [f32], mask: &[f32], scale: f32) {
    for (s, &m) in row.iter_mut().zip(mask) {
        *s = (*s * scale + 0.0) + m;
    }
}

/// Gradients of `q`, `k` and `v` (each `[B * L, hidden]`) from the context's gradient.
pub fn attention_backward(
    shape: AttentionShape,
    (q, k, v): (&[f32], &[f32], &[f32]),
    probs: &[f32],
    d_context: &[f32],
    scale: f32,
    keep: Keep<'_>,
    products: Products,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let AttentionShape { len, heads, .. } = shape;
    let seq = len * shape.hidden();
    let per_seq = shape.probs_per_sequence();
    let (mut dq, mut dk, mut dv) = (vec![0f32; q.len()], vec![0f32; k.len()], vec![0f32; v.len()]);
    dq.par_chunks_mut(seq)
        .zip(dk.par_chunks_mut(seq))
        .zip(dv.par_chunks_mut(seq))
        .enumerate()
        .for_each(|(b, ((dq, dk), dv))| {
            let (q, k, v) = (&q[b * seq..][..seq], &k[b * seq..][..seq], &v[b * seq..][..seq]);
            let d_context = &d_context[b * seq..][..seq];
            let mut dp = vec![0f32; len * len];
            let mut dropped_probs = vec![0f32; len * len];
            for h in 0..heads {
                let p = &probs[b * per_seq + h * len * len..][..len * len];
                let keep = keep.map(|(k, s)| (&k[(b * heads + h) * len * len..][..len * len], s));
                // Gradient of the dropped-out probabilities, and of v through them.
                let dctx = shape.head(d_context, h);
                product(
                    MatMut::dense(&mut dp, len, len),
                    dctx,
                    shape.head(v, h).t(),
                    Write::Replace,
                    Threads::One,
                    products,
                );
                let used: &[f32] = match keep {
                    Some((kp, s)) => {
                        for ((o, &p), &kp) in dropped_probs.iter_mut().zip(p).zip(kp) {
                            *o = dropped(p, kp, s);
                        }
                        &dropped_probs
                    }
                    None => p,
                };
                product(
                    shape.head_mut(dv, h),
                    Mat::dense(used, len, len).t(),
                    dctx,
                    Write::Replace,
                    Threads::One,
                    products,
                );
                if let Some((kp, s)) = keep {
                    dp.iter_mut().zip(kp).for_each(|(g, &kp)| *g = dropped(*g, kp, s));
                }
                // Softmax backward, then the scale: gradient of the raw scores, in `dp`.
                for (g, y) in dp.chunks_mut(len).zip(p.chunks(len)) {
                    let dot: f32 = y.iter().zip(g.iter()).map(|(y, g)| y * g).sum();
                    for (g, &y) in g.iter_mut().zip(y) {
                        *g = (y * (*g - dot)) * scale + 0.0;
                    }
                }
                let ds = Mat::dense(&dp, len, len);
                product(
                    shape.head_mut(dq, h),
                    ds,
                    shape.head(k, h),
                    Write::Replace,
                    Threads::One,
                    products,
                );
                product(
                    shape.head_mut(dk, h),
                    ds.t(),
                    shape.head(q, h),
                    Write::Replace,
                    Threads::One,
                    products,
                );
            }
        });
    (dq, dk, dv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sharing one packing of the input among the query, key and value products changes no
    /// bit of their results or of their weight gradients, for both products (the emulated
    /// bf16 kernel: the same on every CPU). 37 rows and 45 columns: partial tiles and panels.
    #[test]
    fn products_of_one_input_equal_the_products_one_by_one() {
        use super::bf16::Kernel;
        let (rows, in_dim, out_dim) = (37, 45, 45);
        let values =
            |len: usize, seed: f32| -> Vec<f32> { (0..len).map(|i| ((i as f32 + seed) * 0.618).sin()).collect() };
        let x = values(rows * in_dim, 1.0);
        let ws: Vec<Vec<f32>> = (0..3).map(|i| values(out_dim * in_dim, 2.0 + i as f32)).collect();
        let bs: Vec<Vec<f32>> = (0..3).map(|i| values(out_dim, 5.0 + i as f32)).collect();
        let dys: Vec<Vec<f32>> = (0..3).map(|i| values(rows * out_dim, 8.0 + i as f32)).collect();
        for products in [Products::F32, Products::Bf16(Kernel::Emulated)] {
            let affines = [0, 1, 2].map(|i| (&ws[i][..], &bs[i][..]));
            let shared = linears_of_one_input(&x, rows, affines, products);
            let grads = linear_param_grads_of_one_input([0, 1, 2].map(|i| &dys[i][..]), &x, rows, out_dim, products);
            for i in 0..3 {
                let alone = linear(&x, rows, &ws[i], &bs[i], products);
                assert_eq!(shared[i], alone, "product {i}");
                // And `linear` is `x W^T + b` (bf16: on rounded factors, so a looser bound).
                let bound = if products == Products::F32 { 1e-5 } else { 0.05 };
                for r in 0..rows {
                    for o in 0..out_dim {
                        let exact: f32 = bs[i][o]
                            + (0..in_dim)
                                .map(|c| x[r * in_dim + c] * ws[i][o * in_dim + c])
                                .sum::<f32>();
                        let got = alone[r * out_dim + o];
                        assert!((got - exact).abs() < bound, "product {i} ({r},{o}): {got} vs {exact}");
                    }
                }
                assert_eq!(
                    grads[i],
                    linear_param_grads(&dys[i], &x, rows, out_dim, products),
                    "gradient {i}"
                );
            }
        }
    }

    /// The activation applied as the product finishes gives `gelu_forward(&linear(..))`'s
    /// bits, at a feed-forward-like shape whose bf16 product takes three passes.
    #[test]
    fn linear_gelu_is_the_gelu_of_linear_bit_for_bit() {
        use super::bf16::Kernel;
        let (rows, in_dim, out_dim) = (29, 1100, 70);
        let values =
            |len: usize, seed: f32| -> Vec<f32> { (0..len).map(|i| ((i as f32 + seed) * 0.618).sin()).collect() };
        let x = values(rows * in_dim, 1.0);
        let w: Vec<f32> = values(out_dim * in_dim, 2.0).iter().map(|v| v * 0.1).collect();
        let b = values(out_dim, 3.0);
        let hardware = Kernel::hardware().map(Products::Bf16);
        for products in [Some(Products::F32), Some(Products::Bf16(Kernel::Emulated)), hardware]
            .into_iter()
            .flatten()
        {
            let expected = gelu_forward(&linear(&x, rows, &w, &b, products));
            let got = linear_gelu(&x, rows, &w, &b, products);
            assert!(expected.iter().any(|&v| v < 0.0), "GELU's negative lobe is exercised");
            assert!(
                got.iter().zip(&expected).all(|(g, e)| g.to_bits() == e.to_bits()),
                "{products:?}"
            );
        }
    }

    #[test]
    fn transpose_handles_partial_tiles() {
        let (rows, cols) = (37, 70);
        let m: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
        let t = transpose(&m, rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(t[c * rows + r], m[r * cols + c], "({r}, {c})");
            }
        }
    }

    #[test]
    fn linear_matches_the_definition_both_ways_round() {
        // in > out takes the transposed-copy path, in < out the strided one.
        for (in_dim, out_dim) in [(70, 9), (9, 70)] {
            let rows = 5;
            let x: Vec<f32> = (0..rows * in_dim).map(|i| (i as f32 * 0.3).sin()).collect();
            let w: Vec<f32> = (0..out_dim * in_dim).map(|i| (i as f32 * 0.7).cos()).collect();
            let b: Vec<f32> = (0..out_dim).map(|i| i as f32 * 0.1).collect();
            let y = linear(&x, rows, &w, &b, Products::F32);
            for r in 0..rows {
                for o in 0..out_dim {
                    let expect: f32 = b[o] + (0..in_dim).map(|i| x[r * in_dim + i] * w[o * in_dim + i]).sum::<f32>();
                    assert!(
                        (y[r * out_dim + o] - expect).abs() < 1e-4,
                        "{in_dim}->{out_dim} ({r}, {o})"
                    );
                }
            }
        }
    }
}
