//! The round values on a figure's axes, for every figure of `export`: the colour bars and
//! contour axes of the attention figures (`ticks`, labelled with as many decimals as their
//! spacing needs) and the curves' axes (`nice_ticks`, `tick_label`; `export::curves`). One
//! rule picks the spacing (`round_step`): a multiple of a power of ten from a short list, the
//! finest giving at most so many ticks.

use std::ops::RangeInclusive;

use crate::colormap::Scale;

/// The spacing of at most `most` ticks over `span`: one of `multiples` (ascending, the last
/// 10) times the power of ten at or below `span / 5`, the smallest that fits.
fn round_step(span: f64, multiples: &[f64], most: f64) -> f64 {
    let magnitude = 10f64.powf((span / 5.0).log10().floor());
    multiples
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= most + 1e-9)
        .unwrap_or(10.0 * magnitude)
}

/// `k` for the multiples `k * step` inside [lo, hi]; a millionth of a step outside counts as
/// inside (a scale's ends come from f32s: -0.4 is -0.4000000059604645 here).
fn multiples_inside(lo: f64, hi: f64, step: f64) -> RangeInclusive<i64> {
    let first = (lo / step - 1e-6).ceil() as i64;
    let last = (hi / step + 1e-6).floor() as i64;
    first..=last
}

/// Round values (multiples of 1, 2, 2.5 or 5 times a power of ten) inside the scale, about
/// six, with as many decimals as their spacing needs; zero is one of them on signed scales.
pub(super) fn ticks(scale: Scale) -> Vec<(f32, String)> {
    let (lo, hi) = (scale.lo as f64, scale.hi as f64);
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return vec![
            (scale.lo, format!("{:.2e}", scale.lo)),
            (scale.hi, format!("{:.2e}", scale.hi)),
        ];
    }
    let step = round_step(span, &[1.0, 2.0, 2.5, 5.0, 10.0], 6.0);
    let ks = multiples_inside(lo, hi, step);
    if step < 1e-4 {
        return ks
            .map(|k| (k as f64 * step) as f32)
            .map(|v| (v, format!("{v:.1e}")))
            .collect();
    }
    let decimals = (0..=6)
        .find(|&d| {
            let scaled = step * 10f64.powi(d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(6) as usize;
    ks.map(|k| {
        let v = k as f64 * step;
        (v as f32, format!("{v:.decimals$}"))
    })
    .collect()
}

/// Round values (1, 2 or 5 times a power of ten) inside [lo, hi], about five: the curves'
/// axes.
pub(in crate::export) fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    // NaN bounds compare false too.
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let step = round_step(hi - lo, &[1.0, 2.0, 5.0, 10.0], 5.0);
    // Stepped from the first, not `k * step` as `ticks` does: the curves' figures keep the
    // values (and so the 3-decimal labels of half-way ticks) they have always had.
    let mut t = (lo / step).ceil() * step;
    let mut ticks = Vec::new();
    while t <= hi + step * 1e-9 {
        ticks.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    ticks
}

/// A curves' tick label: as many decimals as a range of `span` needs.
pub(in crate::export) fn tick_label(v: f64, span: f64) -> String {
    let digits = if span >= 10.0 {
        0
    } else if span >= 1.0 {
        1
    } else if span >= 0.1 {
        2
    } else {
        3
    };
    format!("{v:.digits$}")
}
