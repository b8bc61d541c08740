//! The blocked product `dst (=|+=) A * B` (or `dst = bias + A * B`) over packed bf16 panels.
//! Rows of A go in blocks of whole tiles, one block per task: a block packs its A rows
//! (pairs `KC_PAIRS` at a time) and runs every column panel of the shared, once-packed B
//! over them. Each output element is the sum over one block of pairs in the kernel's order,
//! added to `dst` block after block, so results do not depend on the thread count. Work on
//! the finished values (`Product::then`, a linear map's activation) runs on each panel's
//! rows of a block right after its last pass, while they are in cache.

use rayon::prelude::*;

use super::kernel::{APanel, Dest, Kernel, Store, MR, NR};
use super::pack::{pack_panels, pack_rows, PackedB};
use crate::model::gemm::{Mat, MatMut, Threads, Write};

/// Pairs of the inner dimension per pass: a 32-column B panel of 256 pairs is 32 KB (L1/L2).
const KC_PAIRS: usize = 256;
/// Rows a task takes at most: its packed A (120 x 512 bf16, 120 KB) stays in L2.
const MAX_BLOCK_ROWS: usize = 120;

/// Rows per task: blocks of whole tiles, as many tasks as a multiple of the pool's threads
/// (1200 rows on two threads: ten blocks of 120).
fn block_rows(rows: usize, threads: Threads) -> usize {
    let workers = match threads {
        Threads::Pool => rayon::current_num_threads().max(1),
        Threads::One => 1,
    };
    let blocks = rows.div_ceil(MAX_BLOCK_ROWS).div_ceil(workers) * workers;
    rows.div_ceil(blocks).div_ceil(MR) * MR
}

/// Asks the CPU to bring `line`'s cache lines in (a hint: no effect on results).
#[inline]
fn prefetch(line: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for chunk in line.chunks(16) {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch reads nothing architecturally and cannot fault; the address is
        // inside `line` anyway. SSE is part of x86_64's baseline.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(chunk.as_ptr().cast());
        }
    }
}

/// What a product's sums are added to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Onto<'b> {
    /// Nothing: `dst = A B`.
    Zero,
    /// `dst`'s own values: `dst += A B`.
    Dest,
    /// A bias, one value a column: `dst = bias + A B` (a linear map), with the bits of
    /// `Dest` onto rows holding the bias, and without writing them first.
    Bias(&'b [f32]),
}

impl From<Write> for Onto<'_> {
    fn from(write: Write) -> Self {
        match write {
            Write::Replace => Self::Zero,
            Write::Add => Self::Dest,
        }
    }
}

/// Work on finished values, in place: called on each stretch of a row (up to `NR` columns)
/// once its sums are complete and while they are in cache (a linear map's activation).
pub type Then<'f> = &'f (dyn Fn(&mut [f32]) + Sync);

/// One product of `matmul_shared_lhs`: `dst (=|+=) lhs * rhs`, as `onto` says, then `then`.
pub struct Product<'d, 'b> {
    /// The destination, `[lhs rows, rhs columns]`.
    pub dst: MatMut<'d>,
    /// The right-hand factor, packed.
    pub rhs: &'b PackedB,
    /// What the sums are added to.
    pub onto: Onto<'b>,
    /// Applied to the finished values, if any.
    pub then: Option<Then<'b>>,
}

/// One product's destination rows: all of them, then a block's.
struct BlockDest<'d, 'b> {
    out: &'d mut [f32],
    cols: usize,
    row_stride: usize,
    rhs: &'b PackedB,
    onto: Onto<'b>,
    then: Option<Then<'b>>,
}

/// `dst = lhs * rhs`, or `dst += lhs * rhs`, as `write` says, with `lhs` rounded to bf16.
pub fn matmul(dst: MatMut<'_>, lhs: Mat<'_>, rhs: &PackedB, write: Write, threads: Threads, kernel: Kernel) {
    let product = Product {
        dst,
        rhs,
        onto: write.into(),
        then: None,
    };
    matmul_shared_lhs(vec![product], lhs, threads, kernel);
}

/// Each product of `products`, all with the same `lhs`: a block of A's rows is packed once
/// for all of them (the query, key and value products of a layer read the same input).
/// Every output element is summed exactly as `matmul` sums it alone.
pub fn matmul_shared_lhs(products: Vec<Product<'_, '_>>, lhs: Mat<'_>, threads: Threads, kernel: Kernel) {
    let rows = lhs.height();
    let mut outs = Vec::with_capacity(products.len());
    for Product { dst, rhs, onto, then } in products {
        let (cols, row_stride) = (dst.width(), dst.row_stride());
        assert_eq!(dst.height(), rows, "bf16 matmul: lhs rows");
        assert_eq!(rhs.n(), cols, "bf16 matmul: rhs columns");
        assert_eq!(lhs.width(), rhs.k(), "bf16 matmul: inner dimensions");
        if let Onto::Bias(bias) = onto {
            assert_eq!(bias.len(), cols, "bf16 matmul: bias length");
        }
        let data = dst.into_data();
        if rows == 0 || cols == 0 {
            continue;
        }
        if rhs.pairs() == 0 {
            // No sums: what they are added to, finished.
            for r in 0..rows {
                let row = &mut data[r * row_stride..][..cols];
                match onto {
                    Onto::Zero => row.fill(0.0),
                    Onto::Dest => {}
                    Onto::Bias(bias) => row.copy_from_slice(bias),
                }
                if let Some(then) = then {
                    row.chunks_mut(NR).for_each(then);
                }
            }
            continue;
        }
        outs.push(BlockDest {
            out: data,
            cols,
            row_stride,
            rhs,
            onto,
            then,
        });
    }
    if outs.is_empty() {
        return;
    }
    let pairs = lhs.width().div_ceil(2);
    let passes = pairs.div_ceil(KC_PAIRS);
    // A's rows in place order where they are contiguous (activations); through a transpose
    // (a gradient's `dy^T`) the pair-major panels read memory in order instead.
    let row_major = lhs.parts().2 == 1;
    let block = block_rows(rows, threads);
    let blocks = rows.div_ceil(block);
    // Block `b`'s rows of every destination; each chunk starts at the block's first row, and
    // the views' bounds checks cover their last.
    let mut per_block: Vec<Vec<BlockDest<'_, '_>>> = (0..blocks).map(|_| Vec::new()).collect();
    for whole in outs {
        for (chunks, out) in per_block.iter_mut().zip(whole.out.chunks_mut(block * whole.row_stride)) {
            chunks.push(BlockDest { out, ..whole });
        }
    }
    let run = |(b, outs): (usize, Vec<BlockDest<'_, '_>>)| {
        let first = b * block;
        let height = block.min(rows - first);
        let tiles = height.div_ceil(MR);
        let mut a = vec![0u32; tiles * KC_PAIRS.min(pairs) * MR];
        let mut outs = outs;
        for (pass, p0) in (0..pairs).step_by(KC_PAIRS).enumerate() {
            let np = KC_PAIRS.min(pairs - p0);
            if row_major {
                pack_rows(&lhs, first..first + height, p0..p0 + np, &mut a[..tiles * MR * np]);
            } else {
                pack_panels(&lhs, first..first + height, p0..p0 + np, MR, &mut a);
            }
            for dest in outs.iter_mut() {
                let (cols, row_stride) = (dest.cols, dest.row_stride);
                for panel in 0..cols.div_ceil(NR) {
                    let b = dest.rhs.panel(panel, p0..p0 + np);
                    let c0 = panel * NR;
                    let width = NR.min(cols - c0);
                    let store = match (pass, dest.onto) {
                        (0, Onto::Zero) => Store::Replace,
                        (0, Onto::Bias(bias)) => Store::Bias(&bias[c0..][..width]),
                        _ => Store::Add,
                    };
                    let out = &mut *dest.out;
                    for t in 0..tiles {
                        let rows = MR.min(height - t * MR);
                        // The tile's destination rows are far apart (one per row of dst): ask
                        // for them now, so they are cached when the sums arrive.
                        for r in 0..rows {
                            prefetch(&out[(t * MR + r) * row_stride + c0..][..width]);
                        }
                        let tile_dest = Dest {
                            data: &mut out[t * MR * row_stride + c0..],
                            row_stride,
                            rows,
                            width,
                        };
                        let a = &a[t * np * MR..][..np * MR];
                        let a = if row_major {
                            APanel::RowMajor {
                                data: a,
                                row_stride: np,
                            }
                        } else {
                            APanel::PairMajor(a)
                        };
                        kernel.tile_into(a, b, np, tile_dest, store);
                    }
                    // The panel's columns of the block are finished after the last pass,
                    // and still in cache.
                    if let Some(then) = dest.then.filter(|_| pass + 1 == passes) {
                        for r in 0..height {
                            then(&mut out[r * row_stride + c0..][..width]);
                        }
                    }
                }
            }
        }
    };
    if blocks > 1 && threads == Threads::Pool {
        per_block.into_par_iter().enumerate().for_each(run);
    } else {
        per_block.into_iter().enumerate().for_each(run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bf16::{bf16_to_f32, to_bf16_bits};
    use crate::model::gemm;

    fn values(len: usize, seed: f32) -> Vec<f32> {
        (0..len).map(|i| ((i as f32 + seed) * 0.618).sin() * 2.0).collect()
    }

    /// The blocked product, emulated, against the definition on bf16-rounded factors summed
    /// in f64: the f32 sums of at most `KC_PAIRS` pairs per pass, added pass after pass,
    /// stay within a few ulps of the exact sum (bound: k * 2^-24 relative to the sum of
    /// |products|).
    #[test]
    fn the_blocked_product_matches_the_definition_on_odd_shapes() {
        // 601 inner values: two passes (256 pairs, then 45 with the odd last value alone);
        // 37 rows, 45 columns: partial tiles.
        let (m, k, n) = (37, 601, 45);
        let a = values(m * k, 0.5);
        let b = values(k * n, 7.0);
        let round = |x: f32| f64::from(bf16_to_f32(to_bf16_bits(x)));
        let a_t: Vec<f32> = (0..m * k).map(|i| a[(i % m) * k + i / m]).collect();
        let layouts = [Mat::dense(&a, m, k), Mat::dense(&a_t, k, m).t()];
        for ((write, threads), lhs) in [(Write::Replace, Threads::One), (Write::Add, Threads::Pool)]
            .into_iter()
            .flat_map(|w| layouts.map(|lhs| (w, lhs)))
        {
            // dst is the middle of a wider matrix, on top of ones.
            let mut wide = vec![1f32; m * 50];
            matmul(
                MatMut::rows(&mut wide[2..], m, n, 50),
                lhs,
                &PackedB::pack(Mat::dense(&b, k, n)),
                write,
                threads,
                Kernel::Emulated,
            );
            for i in 0..m {
                for j in 0..n {
                    let exact: f64 = (0..k).map(|p| round(a[i * k + p]) * round(b[p * n + j])).sum();
                    let size: f64 = (0..k).map(|p| (round(a[i * k + p]) * round(b[p * n + j])).abs()).sum();
                    let base = if write == Write::Add { 1.0 } else { 0.0 };
                    let got = f64::from(wide[i * 50 + 2 + j]) - base;
                    assert!(
                        (got - exact).abs() <= size * k as f64 * 2f64.powi(-24) + 1e-6,
                        "({i},{j}) {got} {exact}"
                    );
                }
                assert_eq!(wide[i * 50], 1.0, "left of the view untouched");
                assert_eq!(wide[i * 50 + 49], 1.0, "right of the view untouched");
            }
        }
    }

    /// The whole product with the hardware kernel gives the emulated product's bits, on a
    /// BERT shape (many blocks, threads) and an attention head's.
    #[test]
    fn the_hardware_product_is_bit_exact_to_the_emulated_one() {
        let Some(hardware) = Kernel::hardware() else {
            println!("no AVX512-BF16 on this CPU: only the emulated product is tested");
            return;
        };
        // The last shape takes three passes (`Store::Add` after the first) and its output
        // ends at the end of its slice with a partial last half of columns.
        for (m, k, n) in [(240, 384, 96), (50, 64, 50), (50, 50, 64), (50, 1100, 50)] {
            let a = values(m * k, 1.0);
            let b = values(k * n, 2.0);
            let packed = PackedB::pack(Mat::dense(&b, k, n));
            // A's rows in place order, and A read through a transpose (pair-major panels).
            let a_t: Vec<f32> = (0..m * k).map(|i| a[(i % m) * k + i / m]).collect();
            for lhs in [Mat::dense(&a, m, k), Mat::dense(&a_t, k, m).t()] {
                let run = |kernel| {
                    let mut out = vec![0f32; m * n];
                    matmul(
                        MatMut::dense(&mut out, m, n),
                        lhs,
                        &packed,
                        Write::Replace,
                        Threads::Pool,
                        kernel,
                    );
                    out
                };
                let (hw, emulated) = (run(hardware), run(Kernel::Emulated));
                assert!(
                    hw.iter().zip(&emulated).all(|(h, e)| h.to_bits() == e.to_bits()),
                    "{m}x{k}x{n}"
                );
            }
        }
    }

    /// A product started from a bias gives the bits of one added onto rows holding the bias,
    /// and `then` sees each value once, finished: over three passes (1100 inner values) and
    /// partial tiles, in both kernels, threaded and not, with the zero-pairs case too.
    #[test]
    fn a_bias_start_and_then_give_the_bits_of_separate_passes() {
        let (m, n) = (37, 45);
        let bias = values(n, 9.0);
        let twice_plus_one = |x: &mut [f32]| x.iter_mut().for_each(|v| *v = *v * 2.0 + 1.0);
        let then: Then<'_> = &twice_plus_one;
        let kernels = [Some(Kernel::Emulated), Kernel::hardware()];
        for (kernel, k) in kernels
            .into_iter()
            .flatten()
            .flat_map(|kernel| [(kernel, 1100), (kernel, 0)])
        {
            let a = values(m * k, 1.5);
            let b = values(k * n, 2.5);
            let packed = PackedB::pack(Mat::dense(&b, k, n));
            for threads in [Threads::One, Threads::Pool] {
                let mut expected = bias.repeat(m);
                matmul(
                    MatMut::dense(&mut expected, m, n),
                    Mat::dense(&a, m, k),
                    &packed,
                    Write::Add,
                    threads,
                    kernel,
                );
                twice_plus_one(&mut expected);
                let mut got = vec![f32::NAN; m * n];
                let product = Product {
                    dst: MatMut::dense(&mut got, m, n),
                    rhs: &packed,
                    onto: Onto::Bias(&bias),
                    then: Some(then),
                };
                matmul_shared_lhs(vec![product], Mat::dense(&a, m, k), threads, kernel);
                assert!(
                    got.iter().zip(&expected).all(|(g, e)| g.to_bits() == e.to_bits()),
                    "{kernel:?} k {k} {threads:?}"
                );
            }
        }
    }

    /// Against the f32 product on the BERT shapes. Rounding to bf16 moves each factor by a
    /// uniform relative error of at most 2^-9, so a product by one of standard deviation
    /// about 0.41 * 2^-8; over k terms of both signs the errors add like a random walk, so the
    /// error over `typical = sum |products| / sqrt(k)` has a deviation near 0.55 * 2^-8 (with
    /// these inputs' rms / mean |product|). The bound, 4 * 2^-8, is about 7 deviations: the
    /// worst of 1.8 million sums measured 3.2 * 2^-8 (a Gaussian tail at 5.8 deviations), and
    /// a wrong product (errors of order one) fails it by far.
    #[test]
    fn bf16_products_stay_near_the_f32_ones_on_bert_shapes() {
        let kernel = Kernel::hardware().unwrap_or(Kernel::Emulated);
        // tokens x hidden x ffn (MiniLM), the feed-forward output, one head.
        let shapes: &[(usize, usize, usize)] = match kernel {
            Kernel::Emulated => &[(96, 384, 64), (50, 64, 50)],
            Kernel::Avx512Bf16(_) => &[(1200, 384, 1536), (1200, 1536, 384), (50, 64, 50), (50, 50, 64)],
        };
        for &(m, k, n) in shapes {
            let a = values(m * k, 3.0);
            let b = values(k * n, 4.0);
            let mut ours = vec![0f32; m * n];
            let mut reference = vec![0f32; m * n];
            matmul(
                MatMut::dense(&mut ours, m, n),
                Mat::dense(&a, m, k),
                &PackedB::pack(Mat::dense(&b, k, n)),
                Write::Replace,
                Threads::Pool,
                kernel,
            );
            gemm::matmul(
                MatMut::dense(&mut reference, m, n),
                Mat::dense(&a, m, k),
                Mat::dense(&b, k, n),
                Write::Replace,
                Threads::Pool,
            );
            let mut worst = 0f64;
            for i in 0..m {
                for j in 0..n {
                    let size: f64 = (0..k).map(|p| f64::from((a[i * k + p] * b[p * n + j]).abs())).sum();
                    let err = f64::from((ours[i * n + j] - reference[i * n + j]).abs());
                    worst = worst.max(err / (size / (k as f64).sqrt()));
                }
            }
            println!(
                "{m}x{k}x{n}: worst error {worst:.5} of the typical sum (bound {:.5})",
                4.0 * 2f64.powi(-8)
            );
            assert!(
                worst < 4.0 * 2f64.powi(-8),
                "{m}x{k}x{n}: error {worst} of the typical sum"
            );
        }
    }
}
