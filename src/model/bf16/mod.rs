//! bf16 mixed precision for the fused encoder layer's matrix products, as PyTorch's CPU
//! autocast does them: both factors rounded to bfloat16 (round to nearest even), products
//! summed in f32, the result written as f32. Everything else (master weights, optimiser,
//! layer norm, softmax, loss) stays f32. Speed and accuracy: docs/BENCHMARKS.md, "bf16 products".
//!
//! Why our own kernels: no maintained crate we could call from stable Rust had them when this
//! was written. The `gemm` crate (0.19, what `gemm.rs` and candle use) multiplies f16 by
//! widening to f32 on x86 and has no bf16 type; candle 0.11's CPU backend widens bf16 to f32
//! for matmul; tract-linalg's documented x86 kernels are f32 and i8 behind tract's own packed
//! tensor types. A widening path would be slower than our f32 one, so the point is lost.
//!
//! The kernel is one instruction: `VDPBF16PS` (AVX512-BF16), which adds to each f32 lane the
//! two products of a pair of bf16 values (`dot.rs` states its exact arithmetic). B is packed
//! in panels and A's rows are rounded to bf16 in place order (through a transpose, in
//! panels too: `pack.rs`), then fed to a 12 x 32 microkernel (`kernel.rs`); `matmul.rs`
//! blocks and threads them. The microkernel has two implementations with identical
//! results: the hardware one, chosen at run time, and a portable emulation of the
//! instruction's arithmetic that makes the whole product testable on any CPU. Without AVX512-BF16 the layer keeps its
//! f32 products (`Products::for_precision`). AMX (`TDPBF16PS`) is not implemented: the
//! machines this was built on have no AMX, an untested path does not ship, and Intel's two
//! descriptions of the instruction's sums disagree, so an emulation to test it against cannot
//! be written without the silicon (docs/BENCHMARKS.md, "bf16 products").

mod dot;
mod kernel;
mod matmul;
mod pack;

pub use kernel::Kernel;
pub use matmul::{matmul, matmul_shared_lhs, Onto, Product, Then};
pub use pack::PackedB;

/// The arithmetic of the encoder's matrix products (and of a timing in `bench`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// float32 throughout.
    #[default]
    F32,
    /// bf16 matrix products (PyTorch: CPU autocast), f32 elsewhere.
    Bf16,
}

impl Precision {
    /// As the command line and the tables spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
        }
    }

    /// f32, the default (what a run spec leaves unwritten).
    pub fn is_f32(&self) -> bool {
        *self == Self::F32
    }
}

/// How the fused layer multiplies: f32 (`gemm.rs`), or bf16 with a given kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Products {
    /// f32 factors, the `gemm` crate.
    #[default]
    F32,
    /// bf16 factors, f32 sums.
    Bf16(Kernel),
}

impl Products {
    /// The products `precision` asks for on this CPU: bf16 only where the hardware kernel
    /// runs (the emulation is exact but far slower than f32, so it is for tests).
    pub fn for_precision(precision: Precision) -> Self {
        match (precision, Kernel::hardware()) {
            (Precision::Bf16, Some(kernel)) => Self::Bf16(kernel),
            _ => Self::F32,
        }
    }

    /// The precision these products compute in.
    pub fn precision(self) -> Precision {
        match self {
            Self::F32 => Precision::F32,
            Self::Bf16(_) => Precision::Bf16,
        }
    }
}

/// Whether this CPU runs bf16 products in hardware (AVX512-BF16).
pub fn hardware_available() -> bool {
    Kernel::hardware().is_some()
}

/// `x` rounded to bfloat16 (round to nearest, ties to even), as its bit pattern. NaN stays a
/// (quiet) NaN; infinities and overflow to infinity behave as IEEE rounding says.
#[inline]
pub fn to_bf16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    // Adding 0x7fff plus the lowest kept bit carries into the kept half exactly when the
    // dropped half is above one half, or exactly one half with an odd kept half.
    let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1)) >> 16;
    let quiet_nan = (bits >> 16) | 0x0040;
    // A select, not a branch, so that packing loops vectorise.
    let nan = bits & 0x7fff_ffff > 0x7f80_0000;
    (if nan { quiet_nan } else { rounded }) as u16
}

/// The f32 value of a bf16 bit pattern (exact).
#[inline]
pub fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_matches_the_half_crate_and_ties_go_to_even() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for i in 0..200_000u32 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Random bit patterns, and every 4th one a tie (low half exactly 0x8000).
            let mut bits = state as u32;
            if i % 4 == 0 {
                bits = (bits & 0xffff_0000) | 0x8000;
            }
            let x = f32::from_bits(bits);
            let ours = to_bf16_bits(x);
            let theirs = half::bf16::from_f32(x);
            if x.is_nan() {
                assert!(bf16_to_f32(ours).is_nan(), "{bits:#x}: NaN kept");
            } else {
                assert_eq!(ours, theirs.to_bits(), "{bits:#x}");
            }
        }
        // Ties: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7; even is 1.
        assert_eq!(to_bf16_bits(1.0 + 2f32.powi(-8)), 0x3f80);
        assert_eq!(to_bf16_bits(1.0 + 3.0 * 2f32.powi(-8)), 0x3f82);
        assert_eq!(to_bf16_bits(f32::MAX), 0x7f80, "overflow rounds to infinity");
    }

    #[test]
    fn without_the_hardware_bf16_asks_for_f32_products() {
        let products = Products::for_precision(Precision::Bf16);
        assert_eq!(products == Products::F32, !hardware_available());
        assert_eq!(Products::for_precision(Precision::F32), Products::F32);
    }
}
