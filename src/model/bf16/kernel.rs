//! The microkernel: one `MR x NR` tile of f32 sums from a packed panel of A (`MR` rows) and
//! one of B (`NR` columns), over `pairs` pairs of the inner dimension (`pack.rs` lays them
//! out). 12 x 32 holds 24 accumulators of 16 lanes in AVX-512's 32 registers, with two for
//! the B row and one for the broadcast A pair; a B panel of 128 pairs (16 KB) stays in L1.

use super::dot::dot_pair;

/// Rows of a tile (and of a packed A panel).
pub const MR: usize = 12;
/// Columns of a tile (and of a packed B panel).
pub const NR: usize = 32;
/// A tile of sums, row-major.
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

    /// `tile = A panel * B panel`, starting from zero.
    pub(super) fn tile(self, a: &[u32], b: &[u32], pairs: usize, tile: &mut Tile) {
        assert!(
            a.len() >= pairs * MR && b.len() >= pairs * NR,
            "bf16 microkernel: panels shorter than {pairs} pairs"
        );
        match self {
            Self::Avx512Bf16(detected) => tile_hardware(detected, a, b, pairs, tile),
            Self::Emulated => tile_emulated(a, b, pairs, tile),
        }
    }
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
fn tile_hardware(_: Detected, a: &[u32], b: &[u32], pairs: usize, tile: &mut Tile) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a `Detected` exists only where the CPU has avx512f and avx512bf16
    // (`has_avx512_bf16`), and the caller (`Kernel::tile`) asserted that the panels hold
    // `pairs` pairs.
    #[allow(unsafe_code)]
    unsafe {
        tile_avx512(a, b, pairs, tile)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("AVX512-BF16 detected off x86_64: {a:?} {b:?} {pairs} {tile:?}")
}

/// Never called: without the compiler's support no `Detected` is ever made.
#[rustversion::before(1.89)]
fn tile_hardware(_: Detected, _: &[u32], _: &[u32], _: usize, _: &mut Tile) {
    unreachable!("AVX512-BF16 detected by a compiler that cannot build its kernel")
}

fn tile_emulated(a: &[u32], b: &[u32], pairs: usize, tile: &mut Tile) {
    tile.fill(0.0);
    for (a, b) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(pairs) {
        for (row, &x) in tile.chunks_exact_mut(NR).zip(a) {
            for (sum, &y) in row.iter_mut().zip(b) {
                *sum = dot_pair(*sum, y, x);
            }
        }
    }
}

/// # Safety
/// The CPU has avx512f and avx512bf16; `a` holds `pairs * MR` and `b` `pairs * NR` values.
#[rustversion::since(1.89)]
#[clippy::msrv = "1.89"]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bf16")]
#[allow(unsafe_code)]
unsafe fn tile_avx512(a: &[u32], b: &[u32], pairs: usize, tile: &mut Tile) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    let (mut pa, mut pb) = (a.as_ptr(), b.as_ptr());
    for _ in 0..pairs {
        // SAFETY: pair p of the panels is a[p * MR..][..MR] and b[p * NR..][..NR], inside the
        // slices for p < pairs (the caller's contract); unaligned loads of 64 bytes.
        unsafe {
            let b0: __m512bh = std::mem::transmute(_mm512_loadu_si512(pb.cast()));
            let b1: __m512bh = std::mem::transmute(_mm512_loadu_si512(pb.add(16).cast()));
            for (r, acc) in acc.iter_mut().enumerate() {
                let x: __m512bh = std::mem::transmute(_mm512_set1_epi32(*pa.add(r) as i32));
                acc[0] = _mm512_dpbf16_ps(acc[0], b0, x);
                acc[1] = _mm512_dpbf16_ps(acc[1], b1, x);
            }
            pa = pa.add(MR);
            pb = pb.add(NR);
        }
    }
    for (row, acc) in tile.chunks_exact_mut(NR).zip(&acc) {
        // SAFETY: each row of the tile holds NR = 32 floats: two stores of 16.
        unsafe {
            _mm512_storeu_ps(row.as_mut_ptr(), acc[0]);
            _mm512_storeu_ps(row.as_mut_ptr().add(16), acc[1]);
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
