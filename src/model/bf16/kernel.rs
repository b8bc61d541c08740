//! The microkernel: one `MR x NR` tile of f32 sums from `MR` rows of A (`APanel`: packed
//! pair-major, or A's rows rounded in place order) and a packed panel of B (`NR` columns),
//! over `pairs` pairs of the inner dimension (`pack.rs` lays them out), stored or added
//! straight into the destination with masked stores (no tile buffer to copy). 12 x 32 holds
//! 24 accumulators of 16 lanes in AVX-512's 32 registers, with two for the B row and one for
//! the broadcast A pair; a B panel of 256 pairs (32 KB) stays in Zen 5's 48 KB L1 beside A's
//! 12 KB. On its own, with both in L1, the loop runs at 500 GFLOP/s on one Zen 5 core
//! (docs/BENCHMARKS.md, "Issue 17, third session: the bf16 products").

use super::dot::dot_pair;

/// Rows of a tile (and of a packed A panel).
pub const MR: usize = 12;
/// Columns of a tile (and of a packed B panel).
pub const NR: usize = 32;
/// A tile of sums, row-major.
#[cfg(test)]
pub type Tile = [f32; MR * NR];

/// Proof that this CPU has AVX512-BF16: only `Kernel::hardware` makes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected(());

/// Which implementation computes a tile. Both give the same bits (`dot.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// `VDPBF16PS` on 512-bit registers.
    Avx512Bf16(Detected),
    /// The portable emulation: exact, and some fifty times slower.
    Emulated,
}

impl Kernel {
    /// The hardware kernel, where this CPU has one (and the compiler could build it).
    pub fn hardware() -> Option<Self> {
        has_avx512_bf16().then_some(Self::Avx512Bf16(Detected(())))
    }

    /// As reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Avx512Bf16(_) => "AVX512-BF16 (vdpbf16ps)",
            Self::Emulated => "emulated",
        }
    }

    /// `tile = A panel * B panel`, starting from zero, A pair-major.
    #[cfg(test)]
    pub(super) fn tile(self, a: &[u32], b: &[u32], pairs: usize, tile: &mut Tile) {
        self.tile_into(APanel::PairMajor(a), b, pairs, Dest::whole(tile), Store::Replace);
    }

    /// The sums of `A panel * B panel` over `pairs` pairs, each started from zero, stored in
    /// `dest` (its first `dest.rows` rows and `dest.width` columns) or added to it, as `store`
    /// says: the tile's first row goes to `dest.data[0..width]`, the next `row_stride` on.
    pub(super) fn tile_into(self, a: APanel<'_>, b: &[u32], pairs: usize, dest: Dest<'_>, store: Store<'_>) {
        assert!(
            a.holds(pairs) && pairs.checked_mul(NR).is_some_and(|n| n <= b.len()),
            "bf16 microkernel: panels shorter than {pairs} pairs"
        );
        assert!(
            (1..=MR).contains(&dest.rows) && (1..=NR).contains(&dest.width),
            "bf16 microkernel: a destination of {} x {} rows and columns",
            dest.rows,
            dest.width
        );
        // Row `rows - 1` ends at (rows - 1) * row_stride + width (no overflow: both sides are
        // at most the slice's length when it holds).
        let needed = (dest.rows - 1)
            .checked_mul(dest.row_stride)
            .and_then(|start| start.checked_add(dest.width));
        assert!(
            needed.is_some_and(|needed| needed <= dest.data.len()),
            "bf16 microkernel: destination rows past the end of their slice"
        );
        if let Store::Bias(bias) = store {
            assert!(
                bias.len() >= dest.width,
                "bf16 microkernel: a bias shorter than the tile"
            );
        }
        match self {
            Self::Avx512Bf16(detected) => tile_hardware(detected, a, b, pairs, dest, store),
            Self::Emulated => tile_emulated(a, b, pairs, dest, store),
        }
    }
}

/// The `MR` rows of A a tile reads, as packed pairs (`pack.rs`) in one of two orders.
#[derive(Debug, Clone, Copy)]
pub(super) enum APanel<'a> {
    /// Pair `p` of row `r` at `[p * MR + r]` (`pack_panels`: A read through a transpose).
    PairMajor(&'a [u32]),
    /// Pair `p` of row `r` at `[r * row_stride + p]` (`pack_rows`: A's rows rounded in
    /// place order, no transposition; the kernel reads the rows side by side).
    RowMajor { data: &'a [u32], row_stride: usize },
}

impl APanel<'_> {
    /// Whether every row holds `pairs` pairs inside the slice.
    fn holds(&self, pairs: usize) -> bool {
        match *self {
            Self::PairMajor(a) => pairs.checked_mul(MR).is_some_and(|n| n <= a.len()),
            Self::RowMajor { data, row_stride } => {
                (pairs == 0 || pairs <= row_stride)
                    && (MR - 1)
                        .checked_mul(row_stride)
                        .and_then(|start| start.checked_add(pairs))
                        .is_some_and(|end| end <= data.len())
            }
        }
    }

    /// Pair `p` of row `r` (in bounds where `holds(p + 1)`).
    #[inline(always)]
    fn at(&self, r: usize, p: usize) -> u32 {
        match *self {
            Self::PairMajor(a) => a[p * MR + r],
            Self::RowMajor { data, row_stride } => data[r * row_stride + p],
        }
    }
}

/// Where a tile's sums go: `rows` rows of `width` values, `row_stride` apart in `data`.
pub(super) struct Dest<'d> {
    pub data: &'d mut [f32],
    pub row_stride: usize,
    pub rows: usize,
    pub width: usize,
}

impl<'d> Dest<'d> {
    /// A whole tile, row-major.
    #[cfg(test)]
    fn whole(tile: &'d mut Tile) -> Self {
        Self {
            data: tile,
            row_stride: NR,
            rows: MR,
            width: NR,
        }
    }
}

/// Whether a tile's sums replace the destination, are added to it, or to a bias row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Store<'b> {
    /// `dest = sums`.
    Replace,
    /// `dest += sums` (one f32 addition per element, after the sums are complete).
    Add,
    /// `dest = bias + sums`, `bias` holding the tile's columns' values (at least `width`):
    /// a linear map's output starts as its bias without a pass that copies the bias in,
    /// and with the same bits as `Add` onto a copy.
    Bias(&'b [f32]),
}

/// Whether the CPU runs `VDPBF16PS` on 512-bit registers. AVX-512 detection, target
/// features and intrinsics are stable from Rust 1.89; an older compiler (our MSRV is 1.85)
/// builds without the hardware kernel, and `--precision bf16` then runs in f32.
#[rustversion::since(1.89)]
#[clippy::msrv = "1.89"]
fn has_avx512_bf16() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[rustversion::before(1.89)]
fn has_avx512_bf16() -> bool {
    false
}

#[rustversion::since(1.89)]
#[clippy::msrv = "1.89"]
fn tile_hardware(_: Detected, a: APanel<'_>, b: &[u32], pairs: usize, dest: Dest<'_>, store: Store<'_>) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a `Detected` exists only where the CPU has avx512f and avx512bf16
    // (`has_avx512_bf16`), and the caller (`Kernel::tile_into`) asserted that the panels hold
    // `pairs` pairs, that `dest`'s rows and columns lie inside its slice, and that a bias
    // holds `dest.width` values.
    #[allow(unsafe_code)]
    unsafe {
        match a {
            APanel::PairMajor(a) => tile_avx512::<false>(a, 0, b, pairs, dest, store),
            APanel::RowMajor { data, row_stride } => tile_avx512::<true>(data, row_stride, b, pairs, dest, store),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!(
        "AVX512-BF16 detected off x86_64: {a:?} {b:?} {pairs} {store:?} {}",
        dest.rows
    )
}

/// Never called: without the compiler's support no `Detected` is ever made.
#[rustversion::before(1.89)]
fn tile_hardware(_: Detected, _: APanel<'_>, _: &[u32], _: usize, _: Dest<'_>, _: Store<'_>) {
    unreachable!("AVX512-BF16 detected by a compiler that cannot build its kernel")
}

fn tile_emulated(a: APanel<'_>, b: &[u32], pairs: usize, dest: Dest<'_>, store: Store<'_>) {
    let mut tile = [0f32; MR * NR];
    for (p, b) in b.chunks_exact(NR).take(pairs).enumerate() {
        for (r, row) in tile.chunks_exact_mut(NR).enumerate() {
            let x = a.at(r, p);
            for (sum, &y) in row.iter_mut().zip(b) {
                *sum = dot_pair(*sum, y, x);
            }
        }
    }
    for (r, sums) in tile.chunks_exact(NR).take(dest.rows).enumerate() {
        let out = &mut dest.data[r * dest.row_stride..][..dest.width];
        match store {
            Store::Replace => out.copy_from_slice(&sums[..dest.width]),
            Store::Add => out.iter_mut().zip(sums).for_each(|(o, s)| *o += s),
            Store::Bias(bias) => {
                for ((o, s), b) in out.iter_mut().zip(sums).zip(bias) {
                    *o = b + s;
                }
            }
        }
    }
}

/// # Safety
/// The CPU has avx512f and avx512bf16; A's pairs lie as `APanel` says, `PairMajor` when
/// `ROW_MAJOR` is false, else `RowMajor` with `row_stride`, `pairs` of each of `MR` rows
/// inside `a` (`APanel::holds`); `b` holds `pairs * NR` values; `dest` has 1..=MR rows of
/// 1..=NR columns inside its slice; a `Store::Bias` holds at least `dest.width` values.
/// The layout is a constant so that each compiles to fixed steps.
#[rustversion::since(1.89)]
#[clippy::msrv = "1.89"]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
#[allow(unsafe_code)]
unsafe fn tile_avx512<const ROW_MAJOR: bool>(
    a: &[u32],
    row_stride: usize,
    b: &[u32],
    pairs: usize,
    dest: Dest<'_>,
    store: Store<'_>,
) {
    use std::arch::x86_64::*;
    let (row_step, pair_step) = if ROW_MAJOR { (row_stride, 1) } else { (1, MR) };
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    let (mut pa, mut pb) = (a.as_ptr(), b.as_ptr());
    for _ in 0..pairs {
        // SAFETY: pair p of the panels is at pa + r * row_step (row r < MR) and
        // b[p * NR..][..NR], inside the slices for p < pairs (the caller's contract);
        // unaligned loads of 64 bytes.
        unsafe {
            let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(pb.cast()));
            let b1: __m512bh = std::mem::transmute(_mm512_loadu_si512(pb.add(16).cast()));
            for (r, acc) in acc.iter_mut().enumerate() {
                let x: __m512bh = std::mem::transmute(_mm512_set1_epi32(*pa.add(r * row_step) as i32));
                acc[0] = _mm512_dpbf16_ps(acc[0], b0, x);
                acc[1] = _mm512_dpbf16_ps(acc[1], b1, x);
            }
            pa = pa.add(pair_step);
            pb = pb.add(NR);
        }
    }
    // The columns of each half that exist: masked loads and stores touch nothing else (a
    // masked-off lane neither reads nor faults).
    let lanes = |n: usize| -> __mmask16 { ((1u32 << n.min(16)) - 1) as __mmask16 };
    let (low, high) = (lanes(dest.width), lanes(dest.width.saturating_sub(16)));
    let bias = match store {
        // SAFETY: the bias holds `width` values (the caller's contract); the masks read only
        // those, and a masked-off lane of the second half reads nothing.
        Store::Bias(bias) => unsafe {
            Some((
                _mm512_maskz_loadu_ps(low, bias.as_ptr()),
                _mm512_maskz_loadu_ps(high, bias.as_ptr().wrapping_add(16)),
            ))
        },
        Store::Replace | Store::Add => None,
    };
    for (r, acc) in acc.iter().take(dest.rows).enumerate() {
        // SAFETY: row r < rows starts at r * row_stride and its `width` columns end inside
        // the slice (the caller's contract); the masks cover exactly those columns, so the
        // second half's pointer (`wrapping_add`: it may point past the slice when `width`
        // is 16 or less) is only dereferenced in lanes that exist.
        unsafe {
            let row = dest.data.as_mut_ptr().add(r * dest.row_stride);
            let (mut s0, mut s1) = (acc[0], acc[1]);
            if store == Store::Add {
                s0 = _mm512_add_ps(_mm512_maskz_loadu_ps(low, row), s0);
                s1 = _mm512_add_ps(_mm512_maskz_loadu_ps(high, row.wrapping_add(16)), s1);
            } else if let Some((b0, b1)) = bias {
                s0 = _mm512_add_ps(b0, s0);
                s1 = _mm512_add_ps(b1, s1);
            }
            _mm512_mask_storeu_ps(row, low, s0);
            _mm512_mask_storeu_ps(row.wrapping_add(16), high, s1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random pairs over the whole bf16 range, with zeros, denormals, infinities and NaNs
    /// mixed in; `spread` binades around 1.
    fn panel(len: usize, seed: u64, spread: u64) -> Vec<u32> {
        let mut state = seed;
        (0..len)
            .map(|i| {
                let mut half = || {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let exponent = (127 - spread / 2 + state % spread.max(1)).min(255) as u32;
                    let bits = ((state >> 20) as u32 & 0x8000) | (exponent << 7) | ((state >> 32) as u32 & 0x7f);
                    match (state >> 40) % 64 {
                        0 => 0,
                        1 => (state >> 44) as u32 & 0x807f, // denormal (or zero)
                        2 if i % 7 == 0 => 0x7f80,          // infinity
                        3 if i % 11 == 0 => 0x7fc1,         // NaN
                        _ => bits,
                    }
                };
                half() | (half() << 16)
            })
            .collect()
    }

    /// The tile from its definition: lane by lane, pair by pair.
    #[test]
    fn the_emulated_tile_is_the_chain_of_pair_products() {
        let pairs = 37;
        let (a, b) = (panel(pairs * MR, 3, 16), panel(pairs * NR, 5, 16));
        let mut tile = [0f32; MR * NR];
        Kernel::Emulated.tile(&a, &b, pairs, &mut tile);
        for r in 0..MR {
            for c in 0..NR {
                let expect = (0..pairs).fold(0f32, |acc, p| dot_pair(acc, a[p * MR + r], b[p * NR + c]));
                assert_eq!(tile[r * NR + c].to_bits(), expect.to_bits(), "({r}, {c})");
            }
        }
    }

    /// The same A rows read pair-major and row-major (with a row stride wider than the
    /// pairs read) give the same bits, for a partial destination inside a wider matrix: only
    /// its rows and columns change, replaced, added to, or set to a bias plus the sums.
    #[test]
    fn both_a_layouts_and_partial_destinations_give_the_same_sums() {
        let pairs = 29;
        let (a, b) = (panel(pairs * MR, 7, 16), panel(pairs * NR, 8, 16));
        let stride = pairs + 3;
        let mut rows = vec![0u32; MR * stride];
        for r in 0..MR {
            for p in 0..pairs {
                rows[r * stride + p] = a[p * MR + r];
            }
        }
        let mut full = [0f32; MR * NR];
        Kernel::Emulated.tile(&a, &b, pairs, &mut full);
        let bias: Vec<f32> = (0..NR).map(|c| c as f32 * 0.375 - 3.0).collect();
        let kernels = [Some(Kernel::Emulated), Kernel::hardware()];
        for kernel in kernels.into_iter().flatten() {
            for (layout, (height, width)) in [(0, (MR, NR)), (1, (5, 17)), (0, (1, 16)), (1, (12, 3))] {
                let a = match layout {
                    0 => APanel::PairMajor(&a),
                    _ => APanel::RowMajor {
                        data: &rows,
                        row_stride: stride,
                    },
                };
                for store in [Store::Replace, Store::Add, Store::Bias(&bias[..width])] {
                    // The destination starts at column 2 of a 40-wide matrix of 14 rows.
                    let mut m = vec![1f32; 14 * 40];
                    let dest = Dest {
                        data: &mut m[2..],
                        row_stride: 40,
                        rows: height,
                        width,
                    };
                    kernel.tile_into(a, &b, pairs, dest, store);
                    for r in 0..14 {
                        for c in 0..40 {
                            let got = m[r * 40 + c];
                            let expect = if r < height && (2..2 + width).contains(&c) {
                                let sum = full[r * NR + c - 2];
                                match store {
                                    Store::Replace => sum,
                                    Store::Add => 1.0 + sum,
                                    Store::Bias(bias) => bias[c - 2] + sum,
                                }
                            } else {
                                1.0
                            };
                            assert!(
                                got.to_bits() == expect.to_bits() || (got.is_nan() && expect.is_nan()),
                                "{kernel:?} layout {layout} {height}x{width} {store:?} ({r}, {c}): {got} {expect}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// A destination that ends exactly where its slice ends, 16 columns or fewer wide: the
    /// second half's lanes are masked off past the end (nothing read or written there).
    #[test]
    fn a_destination_at_the_end_of_its_slice_is_written_exactly() {
        let pairs = 9;
        let (a, b) = (panel(pairs * MR, 21, 8), panel(pairs * NR, 22, 8));
        let mut full = [0f32; MR * NR];
        Kernel::Emulated.tile(&a, &b, pairs, &mut full);
        for kernel in [Some(Kernel::Emulated), Kernel::hardware()].into_iter().flatten() {
            for width in [1, 7, 16] {
                // A bias of exactly `width` values: its masked loads stop at its end too.
                let bias: Vec<f32> = (0..width).map(|c| c as f32 - 0.5).collect();
                for store in [Store::Add, Store::Bias(&bias)] {
                    // 3 rows 20 apart, the last ending at the slice's end.
                    let mut m = vec![2f32; 2 * 20 + width];
                    let dest = Dest {
                        data: &mut m,
                        row_stride: 20,
                        rows: 3,
                        width,
                    };
                    kernel.tile_into(APanel::PairMajor(&a), &b, pairs, dest, store);
                    for (i, &got) in m.iter().enumerate() {
                        let (r, c) = (i / 20, i % 20);
                        let expect = match store {
                            _ if c >= width => 2.0,
                            Store::Bias(bias) => bias[c] + full[r * NR + c],
                            _ => 2.0 + full[r * NR + c],
                        };
                        assert!(
                            got.to_bits() == expect.to_bits() || (got.is_nan() && expect.is_nan()),
                            "{kernel:?} width {width} {store:?} ({r}, {c}): {got} {expect}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_panel_shorter_than_its_rows_is_refused() {
        let b = vec![0u32; 4 * NR];
        let mut tile = [0f32; MR * NR];
        let rows = vec![0u32; (MR - 1) * 5 + 3];
        let short = APanel::RowMajor {
            data: &rows,
            row_stride: 5,
        };
        let run = || Kernel::Emulated.tile_into(short, &b, 4, Dest::whole(&mut tile), Store::Replace);
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).is_err());
        let mut m = vec![0f32; 10];
        let wide = Dest {
            data: &mut m,
            row_stride: 4,
            rows: 3,
            width: 4,
        };
        let packed = vec![0u32; 4 * MR];
        let run = || Kernel::Emulated.tile_into(APanel::PairMajor(&packed), &b, 4, wide, Store::Add);
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).is_err());
        // A bias shorter than the tile's columns.
        let bias = [0f32; NR - 1];
        let run = || {
            let dest = Dest::whole(&mut tile);
            Kernel::Emulated.tile_into(APanel::PairMajor(&packed), &b, 4, dest, Store::Bias(&bias))
        };
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).is_err());
    }

    /// The hardware kernel gives the emulation's bits, NaN payloads aside.
    #[test]
    fn the_hardware_tile_is_bit_exact_to_the_emulation() {
        let Some(hardware) = Kernel::hardware() else {
            println!("no AVX512-BF16 on this CPU: the hardware kernel is not compared (the emulation is tested alone)");
            return;
        };
        for (seed, spread, pairs) in [(1, 2, 1), (2, 16, 128), (3, 40, 64), (4, 250, 200), (5, 250, 3)] {
            let (a, b) = (panel(pairs * MR, seed, spread), panel(pairs * NR, seed + 100, spread));
            let (mut hw, mut emulated) = ([0f32; MR * NR], [0f32; MR * NR]);
            hardware.tile(&a, &b, pairs, &mut hw);
            Kernel::Emulated.tile(&a, &b, pairs, &mut emulated);
            for (i, (h, e)) in hw.iter().zip(&emulated).enumerate() {
                assert!(
                    h.to_bits() == e.to_bits() || (h.is_nan() && e.is_nan()),
                    "spread {spread}, pairs {pairs}, element {i}: hardware {h:e}, emulated {e:e}"
                );
            }
        }
    }
}
