//! Slice-level forward and backward kernels of one encoder layer (`fused_layer.rs`). Every
//! element-wise expression is the one the composite ops evaluate (`fused.rs`, candle's
//! `affine`, `add`, the dropout product), so the two paths differ only in the summation
//! order inside matrix products.
//!
//! Reductions over rows (bias and norm gradients) add fixed blocks of rows in a fixed
//! order: results do not depend on the thread count.

use rayon::prelude::*;

use super::fused::{self, row_stats, softmax_in_place, ELEMS_PER_TASK, ROWS_PER_TASK};
use super::gemm::{matmul, Mat, MatMut, Threads};

/// A dropout mask (true = kept) and the scale of kept values.
pub type Keep<'a> = Option<(&'a [bool], f32)>;

fn dropped(x: f32, keep: bool, scale: f32) -> f32 {
    x * if keep { scale } else { 0.0 }
}

/// `x W^T + b` for `x` `[rows, in]`, `w` `[out, in]` (PyTorch's layout).
pub fn linear(x: &[f32], rows: usize, w: &[f32], bias: &[f32]) -> Vec<f32> {
    let (out_dim, in_dim) = (bias.len(), w.len() / bias.len());
    let mut y = Vec::with_capacity(rows * out_dim);
    for _ in 0..rows {
        y.extend_from_slice(bias);
    }
    let dst = MatMut::dense(&mut y, rows, out_dim);
    // gemm reads a long transposed right-hand side slowly (measured 119 against 196 GFLOP/s
    // for bert-base's feed-forward output, k = 3072): a row-major copy costs far less.
    if in_dim > out_dim {
        let w_rows = transpose(w, out_dim, in_dim);
        matmul(
            dst,
            Mat::dense(x, rows, in_dim),
            Mat::dense(&w_rows, in_dim, out_dim),
            true,
            Threads::Pool,
        );
    } else {
        matmul(
            dst,
            Mat::dense(x, rows, in_dim),
            Mat::dense(w, out_dim, in_dim).t(),
            true,
            Threads::Pool,
        );
    }
    y
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
pub fn linear_param_grads(dy: &[f32], x: &[f32], rows: usize, out_dim: usize) -> (Vec<f32>, Vec<f32>) {
    let in_dim = x.len() / rows;
    let mut dw = vec![0f32; out_dim * in_dim];
    matmul(
        MatMut::dense(&mut dw, out_dim, in_dim),
        Mat::dense(dy, rows, out_dim).t(),
        Mat::dense(x, rows, in_dim),
        false,
        Threads::Pool,
    );
    (dw, column_sums(dy, out_dim))
}

/// `dx (+)= dy W` for `w` `[out, in]`.
pub fn linear_input_grad(dx: &mut [f32], dy: &[f32], rows: usize, w: &[f32], accumulate: bool) {
    let out_dim = dy.len() / rows;
    let in_dim = w.len() / out_dim;
    matmul(
        MatMut::dense(dx, rows, in_dim),
        Mat::dense(dy, rows, out_dim),
        Mat::dense(w, out_dim, in_dim),
        accumulate,
        Threads::Pool,
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
    pub out: Vec<f32>,
    pub xhat: Vec<f32>,
    pub rstd: Vec<f32>,
}

/// `LayerNorm(dropout(proj) + residual)`, one pass per row.
pub fn residual_norm(proj: &[f32], keep: Keep<'_>, residual: &[f32], w: &[f32], b: &[f32], eps: f32) -> Normed {
    let d = w.len();
    let rows = proj.len() / d;
    let mut out = vec![0f32; proj.len()];
    let mut xhat = vec![0f32; proj.len()];
    let mut rstd = vec![0f32; rows];
    let block = d * ROWS_PER_TASK;
    out.par_chunks_mut(block)
        .zip(xhat.par_chunks_mut(block))
        .zip(rstd.par_chunks_mut(ROWS_PER_TASK))
        .enumerate()
        .for_each(|(t, ((out, xhat), rstd))| {
            let start = t * block;
            let mut sum = vec![0f32; d];
            for (r, (o, xh)) in out.chunks_mut(d).zip(xhat.chunks_mut(d)).enumerate() {
                let at = start + r * d;
                let (p, res) = (&proj[at..at + d], &residual[at..at + d]);
                match keep {
                    Some((k, scale)) => {
                        let k = &k[at..at + d];
                        for i in 0..d {
                            sum[i] = dropped(p[i], k[i], scale) + res[i];
                        }
                    }
                    None => (0..d).for_each(|i| sum[i] = p[i] + res[i]),
                }
                let (mean, r_std) = row_stats(&sum, eps);
                rstd[r] = r_std;
                for i in 0..d {
                    xh[i] = (sum[i] - mean) * r_std;
                    o[i] = xh[i] * w[i] + b[i];
                }
            }
        });
    Normed { out, xhat, rstd }
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
                let (mut sum_gw, mut sum_gw_xhat) = (0f32, 0f32);
                for i in 0..d {
                    let gw = g[i] * w[i];
                    sum_gw += gw;
                    sum_gw_xhat += gw * xh[i];
                    dw[i] += g[i] * xh[i];
                    db[i] += g[i];
                }
                let n = d as f32;
                for i in 0..d {
                    dx[i] = r * (g[i] * w[i] - sum_gw / n - xh[i] * sum_gw_xhat / n);
                }
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
    pub batch: usize,
    pub len: usize,
    pub heads: usize,
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

/// `softmax(q k^T * scale + mask)` per head (returned, `[B, heads, L, L]`), and the context
/// `dropout(probs) v` written head by head into `[B * L, hidden]` rows.
pub fn attention_forward(
    shape: AttentionShape,
    (q, k, v): (&[f32], &[f32], &[f32]),
    mask: &[f32],
    scale: f32,
    keep: Keep<'_>,
) -> (Vec<f32>, Vec<f32>) {
    let AttentionShape { batch, len, heads, .. } = shape;
    let seq = len * shape.hidden();
    let per_seq = shape.probs_per_sequence();
    let mut probs = vec![0f32; batch * per_seq];
    let mut context = vec![0f32; batch * seq];
    probs
        .par_chunks_mut(per_seq)
        .zip(context.par_chunks_mut(seq))
        .enumerate()
        .for_each(|(b, (probs, context))| {
            let (q, k, v) = (&q[b * seq..][..seq], &k[b * seq..][..seq], &v[b * seq..][..seq]);
            let mask = &mask[b * len..][..len];
            let mut scratch = vec![0f32; len * len];
            for h in 0..heads {
                let p = &mut probs[h * len * len..][..len * len];
                let scores = MatMut::dense(p, len, len);
                matmul(scores, shape.head(q, h), shape.head(k, h).t(), false, Threads::One);
                for row in p.chunks_mut(len) {
                    for (s, &m) in row.iter_mut().zip(mask) {
                        *s = (*s * scale + 0.0) + m;
                    }
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
                matmul(out, Mat::dense(used, len, len), shape.head(v, h), false, Threads::One);
            }
        });
    (probs, context)
}

/// Gradients of `q`, `k` and `v` (each `[B * L, hidden]`) from the context's gradient.
pub fn attention_backward(
    shape: AttentionShape,
    (q, k, v): (&[f32], &[f32], &[f32]),
    probs: &[f32],
    d_context: &[f32],
    scale: f32,
    keep: Keep<'_>,
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
                matmul(
                    MatMut::dense(&mut dp, len, len),
                    dctx,
                    shape.head(v, h).t(),
                    false,
                    Threads::One,
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
                matmul(
                    shape.head_mut(dv, h),
                    Mat::dense(used, len, len).t(),
                    dctx,
                    false,
                    Threads::One,
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
                matmul(shape.head_mut(dq, h), ds, shape.head(k, h), false, Threads::One);
                matmul(shape.head_mut(dk, h), ds.t(), shape.head(q, h), false, Threads::One);
            }
        });
    (dq, dk, dv)
}
#[cfg(test)]
mod timing_probe {
    use super::*;
    #[test]
    #[ignore]
    fn probe() {
        let shape = AttentionShape {
            batch: 24,
            len: 50,
            heads: 12,
            head_dim: 32,
        };
        let n = 24 * 50 * 384;
        let q: Vec<f32> = (0..n).map(|i| (i as f32 * 0.01).sin()).collect();
        let mask = vec![0f32; 24 * 50];
        let t = |f: &dyn Fn()| {
            for _ in 0..3 {
                f()
            }
            let s = std::time::Instant::now();
            for _ in 0..20 {
                f()
            }
            s.elapsed().as_secs_f64() / 20.0 * 1e3
        };
        println!(
            "attn fwd {:.3} ms",
            t(&|| {
                attention_forward(shape, (&q, &q, &q), &mask, 0.17, None);
            })
        );
        let (p, _) = attention_forward(shape, (&q, &q, &q), &mask, 0.17, None);
        println!(
            "attn bwd {:.3} ms",
            t(&|| {
                attention_backward(shape, (&q, &q, &q), &p, &q, 0.17, None);
            })
        );
        let w: Vec<f32> = (0..384 * 1536).map(|i| (i as f32 * 0.01).cos()).collect();
        let b = vec![0f32; 1536];
        println!(
            "linear ffn1 {:.3} ms",
            t(&|| {
                linear(&q, 1200, &w, &b);
            })
        );
        let x: Vec<f32> = (0..1200 * 1536).map(|i| (i as f32 * 0.01).cos()).collect();
        println!(
            "gelu {:.3} ms",
            t(&|| {
                gelu_forward(&x);
            })
        );
        let mut g = x.clone();
        println!(
            "gelu bwd {:.3} ms",
            t(&|| {
                gelu_backward_in_place(&mut g.clone(), &x);
            })
        );
        let w2 = vec![1f32; 384];
        println!(
            "resnorm {:.3} ms",
            t(&|| {
                residual_norm(&q, None, &q, &w2, &w2, 1e-12);
            })
        );
        let nm = residual_norm(&q, None, &q, &w2, &w2, 1e-12);
        println!(
            "norm bwd {:.3} ms",
            t(&|| {
                norm_backward(&q, &nm.xhat, &nm.rstd, &w2);
            })
        );
        println!(
            "colsum {:.3} ms",
            t(&|| {
                column_sums(&x, 1536);
            })
        );
        println!(
            "lin grads {:.3} ms",
            t(&|| {
                linear_param_grads(&x, &q, 1200, 1536);
            })
        );
        let q = &q;
        println!(
            "ffn1 no-acc {:.3} ms",
            t(&|| {
                let mut y = vec![0f32; 1200 * 1536];
                matmul(
                    MatMut::dense(&mut y, 1200, 1536),
                    Mat::dense(q, 1200, 384),
                    Mat::dense(&w, 1536, 384).t(),
                    false,
                    Threads::Pool,
                );
            })
        );
        println!(
            "ffn1 acc-zero {:.3} ms",
            t(&|| {
                let mut y = vec![0f32; 1200 * 1536];
                matmul(
                    MatMut::dense(&mut y, 1200, 1536),
                    Mat::dense(q, 1200, 384),
                    Mat::dense(&w, 1536, 384).t(),
                    true,
                    Threads::Pool,
                );
            })
        );
        println!(
            "ffn1 w-rowmajor {:.3} ms",
            t(&|| {
                let mut y = vec![0f32; 1200 * 1536];
                matmul(
                    MatMut::dense(&mut y, 1200, 1536),
                    Mat::dense(q, 1200, 384),
                    Mat::dense(&w, 384, 1536),
                    false,
                    Threads::Pool,
                );
            })
        );
        let w3: Vec<f32> = (0..384 * 384).map(|i| (i as f32 * 0.01).cos()).collect();
        println!(
            "qkv-size {:.3} ms",
            t(&|| {
                linear(q, 1200, &w3, &b[..384]);
            })
        );
        println!(
            "qkv-size w-rowmajor {:.3} ms",
            t(&|| {
                let mut y = vec![0f32; 1200 * 384];
                matmul(
                    MatMut::dense(&mut y, 1200, 384),
                    Mat::dense(q, 1200, 384),
                    Mat::dense(&w3, 384, 384),
                    false,
                    Threads::Pool,
                );
            })
        );
        let xb: Vec<f32> = (0..1200 * 3072).map(|i| (i as f32 * 0.01).cos()).collect();
        let wb: Vec<f32> = (0..768 * 3072).map(|i| (i as f32 * 0.01).cos()).collect();
        let bb = vec![0f32; 3072];
        println!(
            "bb ffn1 {:.3} ms",
            t(&|| {
                linear(&xb[..1200 * 768], 1200, &wb, &bb);
            })
        );
        println!(
            "bb ffn2 {:.3} ms",
            t(&|| {
                linear(&xb, 1200, &wb, &bb[..768]);
            })
        );
        println!(
            "bb ffn1 rowmajor {:.3} ms",
            t(&|| {
                let mut y = vec![0f32; 1200 * 3072];
                matmul(
                    MatMut::dense(&mut y, 1200, 3072),
                    Mat::dense(&xb[..1200 * 768], 1200, 768),
                    Mat::dense(&wb, 768, 3072),
                    false,
                    Threads::Pool,
                );
            })
        );
        println!(
            "bb ffn2 rowmajor {:.3} ms",
            t(&|| {
                let mut y = vec![0f32; 1200 * 768];
                matmul(
                    MatMut::dense(&mut y, 1200, 768),
                    Mat::dense(&xb, 1200, 3072),
                    Mat::dense(&wb, 3072, 768),
                    false,
                    Threads::Pool,
                );
            })
        );
        let shape = AttentionShape {
            batch: 24,
            len: 50,
            heads: 12,
            head_dim: 64,
        };
        println!(
            "bb attn fwd {:.3} ms",
            t(&|| {
                attention_forward(
                    shape,
                    (&xb[..1200 * 768], &xb[..1200 * 768], &xb[..1200 * 768]),
                    &mask,
                    0.17,
                    None,
                );
            })
        );
        for (m, k, n) in [
            (1200usize, 384usize, 384usize),
            (1200, 384, 1536),
            (1200, 1536, 384),
            (1200, 768, 768),
            (1200, 768, 3072),
            (1200, 3072, 768),
        ] {
            let x: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.01).cos()).collect();
            let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.013).sin()).collect();
            let dy: Vec<f32> = (0..m * n).map(|i| (i as f32 * 0.017).sin()).collect();
            let fl = 2.0 * (m * k * n) as f64 / 1e6;
            let f_t = t(&|| {
                let mut y = vec![0f32; m * n];
                matmul(
                    MatMut::dense(&mut y, m, n),
                    Mat::dense(&x, m, k),
                    Mat::dense(&w, n, k).t(),
                    false,
                    Threads::Pool,
                );
            });
            let f_r = t(&|| {
                let mut y = vec![0f32; m * n];
                matmul(
                    MatMut::dense(&mut y, m, n),
                    Mat::dense(&x, m, k),
                    Mat::dense(&w, k, n),
                    false,
                    Threads::Pool,
                );
            });
            let dx = t(&|| {
                let mut y = vec![0f32; m * k];
                matmul(
                    MatMut::dense(&mut y, m, k),
                    Mat::dense(&dy, m, n),
                    Mat::dense(&w, n, k),
                    false,
                    Threads::Pool,
                );
            });
            let dw = t(&|| {
                let mut y = vec![0f32; n * k];
                matmul(
                    MatMut::dense(&mut y, n, k),
                    Mat::dense(&dy, m, n).t(),
                    Mat::dense(&x, m, k),
                    false,
                    Threads::Pool,
                );
            });
            let dwt = t(&|| {
                let mut y = vec![0f32; n * k];
                matmul(
                    MatMut::dense(&mut y, k, n),
                    Mat::dense(&x, m, k).t(),
                    Mat::dense(&dy, m, n),
                    false,
                    Threads::Pool,
                );
            });
            println!(
                "{m}x{k}x{n}: fwd W^T {:.0} GF/s, fwd W {:.0}, dx {:.0}, dW {:.0}, dW^T {:.0}",
                fl / f_t,
                fl / f_r,
                fl / dx,
                fl / dw,
                fl / dwt
            );
        }
        let wb2: Vec<f32> = (0..768 * 3072).map(|i| i as f32).collect();
        println!(
            "transpose 768x3072 {:.3} ms",
            t(&|| {
                transpose(&wb2, 768, 3072);
            })
        );
        let tr = transpose(&wb2, 768, 3072);
        assert_eq!(tr[5 * 768 + 7], wb2[7 * 3072 + 5]);
        {
            let (m, k, n) = (1200usize, 3072usize, 768usize);
            let x: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.01).cos()).collect();
            let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.013).sin()).collect();
            let bias = vec![0f32; n];
            let mut a = vec![];
            let mut b = vec![];
            for _ in 0..25 {
                let s = std::time::Instant::now();
                let mut y = vec![0f32; m * n];
                matmul(
                    MatMut::dense(&mut y, m, n),
                    Mat::dense(&x, m, k),
                    Mat::dense(&w, n, k).t(),
                    true,
                    Threads::Pool,
                );
                a.push(s.elapsed().as_secs_f64());
                let s = std::time::Instant::now();
                linear(&x, m, &w, &bias);
                b.push(s.elapsed().as_secs_f64());
            }
            a.sort_by(f64::total_cmp);
            b.sort_by(f64::total_cmp);
            println!(
                "AB ffn2: W^T direct {:.2} ms, transpose+rowmajor {:.2} ms",
                a[12] * 1e3,
                b[12] * 1e3
            );
        }
        g.truncate(1);
    }
}
