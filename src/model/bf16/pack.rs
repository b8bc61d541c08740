//! Packed bf16 panels: a matrix rounded to bf16 and laid out in the order the microkernel
//! reads it. A panel is `group` rows of a `[rows, k]` view (A's rows, or B's columns read
//! through its transpose); pair `p` of the panel is `group` consecutive u32s, each the bf16
//! values at `k = 2p` (low half) and `2p + 1` (high half) of one row, as `VDPBF16PS` pairs
//! them. Rows past the end and an odd `k`'s missing partner are zeros, which add nothing.

use rayon::prelude::*;

use super::kernel::NR;
use super::to_bf16_bits;
use crate::model::gemm::Mat;

/// Values of B from which `PackedB::pack` packs its panels in parallel.
const PARALLEL_PACK_VALUES: usize = 1 << 16;

#[inline]
fn pair(lo: f32, hi: f32) -> u32 {
    u32::from(to_bf16_bits(lo)) | (u32::from(to_bf16_bits(hi)) << 16)
}

/// `out[i]` = the pair `(src[2i], src[2i + 1])`; compiled for the CPU's widest vectors
/// (the rest of the crate targets baseline x86-64: SSE2 packed half as fast).
///
/// A pair's first value is its low half, so on a little-endian CPU the pairs are the
/// rounded values in memory order: the loop rounds value by value into `out` seen as u16s,
/// a plain map with contiguous stores that ran 25 % faster than pairing two by two (which
/// shuffles; 1200 x 384 values: 52 against 68 us on one Zen 5 core).
#[cfg(target_endian = "little")]
#[multiversion::multiversion(targets = "simd")]
fn pairs_of_row(src: &[f32], out: &mut [u32]) {
    let halves: &mut [u16] = bytemuck::cast_slice_mut(out);
    let len = halves.len().min(src.len()) & !1;
    for (half, &x) in halves[..len].iter_mut().zip(&src[..len]) {
        *half = to_bf16_bits(x);
    }
}

#[cfg(not(target_endian = "little"))]
fn pairs_of_row(src: &[f32], out: &mut [u32]) {
    for (c, two) in out.iter_mut().zip(src.chunks_exact(2)) {
        *c = pair(two[0], two[1]);
    }
}

/// `out[i]` = the pair `(lo[i], hi[i])`.
#[multiversion::multiversion(targets = "simd")]
fn pairs_of_rows(lo: &[f32], hi: &[f32], out: &mut [u32]) {
    for ((c, &l), &h) in out.iter_mut().zip(lo).zip(hi) {
        *c = pair(l, h);
    }
}

/// `out[i]` = pair `pairs.start + i` of one contiguous row: whole pairs in the vectorised
/// loop, then an odd last column paired with zero. `out` holds `pairs.len()` values.
fn row_pairs(row: &[f32], pairs: std::ops::Range<usize>, out: &mut [u32]) {
    let cols = row.len();
    let whole = pairs.end.min(cols / 2).saturating_sub(pairs.start);
    pairs_of_row(&row[2 * pairs.start..][..2 * whole], &mut out[..whole]);
    for (p, slot) in pairs.zip(out.iter_mut()).skip(whole) {
        let k = 2 * p;
        *slot = pair(row[k], if k + 1 < cols { row[k + 1] } else { 0.0 });
    }
}

/// Packs rows `rows` and pairs `pairs` of `view` into `out`, `group` rows a panel: panel `i`
/// then pair `p` then row. `out` must hold `panels * pairs.len() * group` values.
///
/// Each of the two layouts has a loop that reads memory in order: rows contiguous (A, a
/// weight read by its rows) and columns contiguous (a transposed view: a gradient's
/// transpose, or B read by its columns).
pub(super) fn pack_panels(
    view: &Mat<'_>,
    rows: std::ops::Range<usize>,
    pairs: std::ops::Range<usize>,
    group: usize,
    out: &mut [u32],
) {
    let panel_len = pairs.len() * group;
    let panels = rows.len().div_ceil(group);
    assert!(out.len() >= panels * panel_len, "bf16 packing: buffer too small");
    assert!(
        rows.end <= view.height() && 2 * pairs.end <= view.width() + 1,
        "bf16 packing: outside the view"
    );
    let (_, row_stride, col_stride) = view.parts();
    // `Mat`'s constructors give column stride 1 and `t` swaps the strides: one is always 1.
    assert!(
        col_stride == 1 || row_stride == 1,
        "bf16 packing: a view without a unit stride"
    );
    if panel_len == 0 {
        return;
    }
    let out = &mut out[..panels * panel_len];
    if col_stride == 1 {
        panels_from_rows(view, rows.clone(), pairs, group, out);
    } else {
        panels_from_columns(view, rows.clone(), pairs, group, out);
    }
    // Rows past the end of a partial last panel add nothing.
    let real = rows.len() - (panels.max(1) - 1) * group;
    if real < group {
        if let Some(last) = out.chunks_exact_mut(panel_len).last() {
            for slot in last.chunks_exact_mut(group) {
                slot[real..].fill(0);
            }
        }
    }
}

/// `pack_panels` where the view's rows are contiguous: a row's pairs convert over
/// contiguous memory (`row_pairs`), then go to their slots `group` apart.
fn panels_from_rows(
    view: &Mat<'_>,
    rows: std::ops::Range<usize>,
    pairs: std::ops::Range<usize>,
    group: usize,
    out: &mut [u32],
) {
    let (data, row_stride, _) = view.parts();
    let cols = view.width();
    let mut converted = vec![0; pairs.len()];
    for (i, panel) in out.chunks_exact_mut(pairs.len() * group).enumerate() {
        let first = rows.start + i * group;
        for r in 0..group.min(rows.end - first) {
            // In bounds: the view was checked for its last row and column.
            row_pairs(&data[(first + r) * row_stride..][..cols], pairs.clone(), &mut converted);
            for (slot, &c) in panel.chunks_exact_mut(group).zip(&converted) {
                slot[r] = c;
            }
        }
    }
}

/// `pack_panels` where the view's columns are contiguous (a transpose): each pair converts
/// the two stretches of all `rows` at once, read in memory order, then hands each panel its
/// `group`. Panel by panel instead, every pair read a few values from each of two rows far
/// apart in memory: a training step's gradient packing stalled on those reads (13 % of a
/// MiniLM bf16 step, docs/BENCHMARKS.md, "Issue 17, fifth session").
fn panels_from_columns(
    view: &Mat<'_>,
    rows: std::ops::Range<usize>,
    pairs: std::ops::Range<usize>,
    group: usize,
    out: &mut [u32],
) {
    let (data, _, col_stride) = view.parts();
    let cols = view.width();
    let mut converted = vec![0; rows.len()];
    for (j, p) in pairs.clone().enumerate() {
        let k = 2 * p;
        // In bounds: the view was checked for its last row and column.
        let lo = &data[k * col_stride + rows.start..][..rows.len()];
        if k + 1 < cols {
            let hi = &data[(k + 1) * col_stride + rows.start..][..rows.len()];
            pairs_of_rows(lo, hi, &mut converted);
        } else {
            for (c, &l) in converted.iter_mut().zip(lo) {
                *c = pair(l, 0.0);
            }
        }
        for (panel, values) in out.chunks_exact_mut(pairs.len() * group).zip(converted.chunks(group)) {
            panel[j * group..][..values.len()].copy_from_slice(values);
        }
    }
}

/// Rounds rows `rows` and pairs `pairs` of `view`, whose rows are contiguous, into `out` in
/// place order: pair `p` of row `r` at `out[r * pairs.len() + p]`, then zeros for the rows
/// of `out` past the last (a tile reads whole groups of rows). No transposition: the
/// microkernel reads the rows side by side (`APanel::RowMajor`), which measured faster
/// than the pair-major panels as well as cheaper to make (docs/BENCHMARKS.md, "Issue 17,
/// third session: the bf16 products").
pub(super) fn pack_rows(view: &Mat<'_>, rows: std::ops::Range<usize>, pairs: std::ops::Range<usize>, out: &mut [u32]) {
    let np = pairs.len();
    assert!(out.len() >= rows.len() * np, "bf16 packing: buffer too small");
    assert!(
        rows.end <= view.height() && 2 * pairs.end <= view.width() + 1,
        "bf16 packing: outside the view"
    );
    let (data, row_stride, col_stride) = view.parts();
    assert!(
        col_stride == 1 || view.width() <= 1,
        "bf16 packing: rows that are not contiguous"
    );
    let cols = view.width();
    let mut chunks = out.chunks_exact_mut(np.max(1));
    for (r, dst) in rows.clone().zip(&mut chunks) {
        // In bounds: the view was checked for its last row and column.
        row_pairs(&data[r * row_stride..][..cols], pairs.clone(), &mut dst[..np]);
    }
    for dst in chunks {
        dst.fill(0);
    }
}

/// The right-hand factor `B` (`[k, n]`) packed once, in panels of `NR` columns, for every
/// product that uses it (a weight: all row blocks of a layer's product).
#[derive(Debug, Clone)]
pub struct PackedB {
    data: Vec<u32>,
    k: usize,
    n: usize,
    pairs: usize,
}

impl PackedB {
    /// Rounds `b` to bf16 and packs it.
    pub fn pack(b: Mat<'_>) -> Self {
        let (k, n) = (b.height(), b.width());
        let pairs = k.div_ceil(2);
        let mut data = vec![0u32; n.div_ceil(NR) * pairs * NR];
        if pairs > 0 && n > 0 {
            let bt = b.t();
            let panels = n.div_ceil(NR);
            // A weight's panels are packed in parallel, a run of panels per thread (a bert-base
            // feed-forward weight is 2.4 million values); the attention's small factors are
            // not worth a task each. A run of panels reads B's rows in stretches of its
            // columns (`panels_from_columns`).
            let tasks = if k * n >= PARALLEL_PACK_VALUES {
                rayon::current_num_threads().clamp(1, panels)
            } else {
                1
            };
            let run = panels.div_ceil(tasks);
            let pack = |(i, out): (usize, &mut [u32])| {
                let first = i * run * NR;
                pack_panels(&bt, first..n.min(first + run * NR), 0..pairs, NR, out);
            };
            if tasks > 1 {
                data.par_chunks_mut(run * pairs * NR).enumerate().for_each(pack);
            } else {
                pack((0, &mut data));
            }
        }
        Self { data, k, n, pairs }
    }

    /// Rows of B (the inner dimension).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of B.
    pub fn n(&self) -> usize {
        self.n
    }

    pub(super) fn pairs(&self) -> usize {
        self.pairs
    }

    /// Pairs `pairs` of column panel `panel`.
    pub(super) fn panel(&self, panel: usize, pairs: std::ops::Range<usize>) -> &[u32] {
        &self.data[(panel * self.pairs + pairs.start) * NR..][..pairs.len() * NR]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bf16::bf16_to_f32;

    #[test]
    fn panels_hold_rounded_pairs_with_zero_padding() {
        // B is 5 x 3 (odd k, fewer columns than a panel), read as a transposed view.
        let (k, n) = (5, 3);
        let bt: Vec<f32> = (0..n * k).map(|i| 1.0 + i as f32 / 1000.0).collect();
        let packed = PackedB::pack(Mat::dense(&bt, n, k).t());
        assert_eq!((packed.k(), packed.n(), packed.pairs()), (5, 3, 3));
        let panel = packed.panel(0, 0..3);
        for p in 0..3 {
            for c in 0..NR {
                let pair = panel[p * NR + c];
                let (lo, hi) = (bf16_to_f32(pair as u16), bf16_to_f32((pair >> 16) as u16));
                let at = |kk: usize| if c < n && kk < k { bt[c * k + kk] } else { 0.0 };
                assert_eq!(lo, bf16_to_f32(to_bf16_bits(at(2 * p))), "pair {p} column {c} low");
                assert_eq!(hi, bf16_to_f32(to_bf16_bits(at(2 * p + 1))), "pair {p} column {c} high");
            }
        }
    }

    /// `pack_rows` holds the pairs `pack_panels` does, in place order, with zero rows after.
    #[test]
    fn rows_in_place_order_hold_the_panels_pairs() {
        let (rows, cols) = (29, 13);
        let m: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let view = Mat::dense(&m, rows, cols);
        let mut panels = vec![7u32; 3 * 12 * 6];
        pack_panels(&view, 2..29, 1..7, 12, &mut panels);
        let mut in_order = vec![7u32; 36 * 6];
        pack_rows(&view, 2..29, 1..7, &mut in_order);
        for r in 0..36 {
            for p in 0..6 {
                let expect = if r < 27 {
                    panels[(r / 12) * 72 + p * 12 + r % 12]
                } else {
                    0
                };
                assert_eq!(in_order[r * 6 + p], expect, "row {r} pair {p}");
            }
        }
        // The odd last column (12) pairs with zero.
        assert_eq!(in_order[5] >> 16, 0);
        assert_eq!(in_order[5] as u16, to_bf16_bits(m[2 * cols + 12]));
    }

    /// A B large enough to be packed in parallel, in runs of panels, gives the same panels
    /// from either layout, with a partial last panel and an odd inner dimension.
    #[test]
    fn a_parallel_packing_is_the_same_from_either_layout() {
        let (k, n) = (301, 7 * NR + 5);
        assert!(k * n >= PARALLEL_PACK_VALUES);
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.61).sin()).collect();
        let bt: Vec<f32> = (0..k * n).map(|i| b[(i % k) * n + i / k]).collect();
        let from_rows = PackedB::pack(Mat::dense(&b, k, n));
        let from_columns = PackedB::pack(Mat::dense(&bt, n, k).t());
        assert_eq!(from_rows.data, from_columns.data);
        for (panel, c, p) in [(0, 0, 0), (3, 7, 150), (7, 4, 150), (7, 5, 0)] {
            let pair = from_rows.panel(panel, p..p + 1)[c];
            let col = panel * NR + c;
            let at = |kk: usize| if col < n && kk < k { b[kk * n + col] } else { 0.0 };
            assert_eq!(
                pair as u16,
                to_bf16_bits(at(2 * p)),
                "panel {panel} column {c} pair {p}"
            );
            assert_eq!((pair >> 16) as u16, to_bf16_bits(at(2 * p + 1)));
        }
    }

    /// Both loops (rows contiguous, columns contiguous) pack the same panels.
    #[test]
    fn every_layout_packs_the_same_panels() {
        let (rows, cols) = (29, 13);
        let m: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let t: Vec<f32> = (0..rows * cols).map(|i| m[(i % rows) * cols + i / rows]).collect();
        let views = [Mat::dense(&m, rows, cols), Mat::dense(&t, cols, rows).t()];
        let pack = |view: &Mat<'_>| {
            let mut out = vec![7u32; 3 * 12 * 5];
            pack_panels(view, 2..29, 1..6, 12, &mut out);
            out
        };
        let expected = pack(&views[0]);
        assert!(expected.iter().all(|&v| v != 7), "every slot written");
        assert_eq!(pack(&views[1]), expected, "columns contiguous");
        // The last panel has 3 real rows: the rest are zero.
        assert!(expected[2 * 60..]
            .chunks(12)
            .all(|slot| slot[3..].iter().all(|&v| v == 0)));
    }
}
