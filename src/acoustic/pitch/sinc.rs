//! Band-limited interpolation of a sampled autocorrelation and the search for its maximum
//! between samples: the two numerical steps that give Praat's pitch its sub-sample precision
//! and its candidate strengths (Boersma 1993, section 2, steps 3.5-3.7: "sin(x)/x
//! interpolation" and "Brent's method"). They follow Praat's `NUM_interpolate_sinc` and
//! `NUMminimize_brent` (its `NUMimproveMaximum`) step for step, because candidate strengths
//! decide the path through the candidates, and a strength computed differently picks a
//! different candidate now and then. Positions are 0-based sample indices here; the Brent
//! search runs in Praat's 1-based coordinates so that its tolerances, which scale with the
//! position, are the same.

use std::f64::consts::PI;

/// `y` between its samples at `x` (0-based), by a Hann-tapered sin(x)/x over at most
/// `max_depth` samples each side; fewer where `x` is near an end (down to linear and
/// nearest, as Praat does).
pub fn interpolate(y: &[f64], x: f64, max_depth: usize) -> f64 {
    let n = y.len() as i64;
    // Praat's 1-based position: y1[i] = y[i - 1].
    let x = x + 1.0;
    let at = |i: i64| y[(i - 1) as usize];
    if n < 1 {
        return f64::NAN;
    }
    if x > n as f64 {
        return at(n);
    }
    if x < 1.0 {
        return at(1);
    }
    let midleft = x.floor() as i64;
    if x == midleft as f64 {
        return at(midleft);
    }
    let midright = midleft + 1;
    let depth = (max_depth as i64).min(midright - 1).min(n - midleft);
    match depth {
        d if d <= 0 => return at(x.round() as i64),
        1 => return at(midleft) + (x - midleft as f64) * (at(midright) - at(midleft)),
        2 => {
            let (yl, yr) = (at(midleft), at(midright));
            let (dyl, dyr) = (0.5 * (yr - at(midleft - 1)), 0.5 * (at(midright + 1) - yl));
            let (fil, fir) = (x - midleft as f64, midright as f64 - x);
            return yl * fir + yr * fil - fil * fir * (0.5 * (dyr - dyl) + (fil - 0.5) * (dyl + dyr - 2.0 * (yr - yl)));
        }
        _ => {}
    }
    let (left, right) = (midright - depth, midleft + depth);
    // Each side: sum of y[i] * sin(a)/a * (1 + cos(a / width)) / 2, with the sines and
    // cosines stepped by rotation rather than evaluated per sample.
    let side = |from: i64, step: i64, distance: f64, width: f64| {
        let mut a = PI * distance;
        let mut half_sin_a = 0.5 * a.sin();
        let (aa, daa) = (a / width, PI / width);
        let (mut cos_aa, mut sin_aa) = (aa.cos(), aa.sin());
        let (cos_daa, sin_daa) = (daa.cos(), daa.sin());
        let mut sum = 0.0;
        let mut i = from;
        while (step < 0 && i >= left) || (step > 0 && i <= right) {
            sum += at(i) * half_sin_a / a * (1.0 + cos_aa);
            a += PI;
            let next_cos = cos_aa * cos_daa - sin_aa * sin_daa;
            sin_aa = cos_aa * sin_daa + sin_aa * cos_daa;
            cos_aa = next_cos;
            half_sin_a = -half_sin_a;
            i += step;
        }
        sum
    };
    side(midleft, -1, x - midleft as f64, x - left as f64 + 1.0)
        + side(midright, 1, midright as f64 - x, right as f64 - x + 1.0)
}

/// The maximum of the interpolated `y` within one sample of the local maximum at `peak`
/// (0-based): (position, value).
pub fn improve_maximum(y: &[f64], peak: usize, depth: usize) -> (f64, f64) {
    if peak == 0 || peak + 1 >= y.len() {
        return (peak as f64, y[peak]);
    }
    // Brent's search in Praat's 1-based coordinates, on the negated interpolant.
    let centre = peak as f64 + 1.0;
    let (x, fx) = minimize_brent(|x| -interpolate(y, x - 1.0, depth), centre - 1.0, centre + 1.0, 1e-10);
    (x - 1.0, -fx)
}

/// Brent's minimisation on [a, b] (golden section with parabolic steps), as Praat's
/// `NUMminimize_brent`: (argmin, min).
fn minimize_brent(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64, tol: f64) -> (f64, f64) {
    const GOLDEN: f64 = 0.381_966_011_250_105_1; // 1 - (sqrt(5) - 1) / 2
    let sqrt_epsilon = f64::EPSILON.sqrt();
    let mut v = a + GOLDEN * (b - a);
    let mut fv = f(v);
    let (mut x, mut w) = (v, v);
    let (mut fx, mut fw) = (fv, fv);
    for _ in 0..60 {
        let range = b - a;
        let middle = (a + b) / 2.0;
        let tol_act = sqrt_epsilon * x.abs() + tol / 3.0;
        if (x - middle).abs() + range / 2.0 <= 2.0 * tol_act {
            break;
        }
        let mut step = GOLDEN * if x < middle { b - x } else { a - x };
        if (x - w).abs() >= tol_act {
            let t = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * t;
            q = 2.0 * (q - t);
            if q > 0.0 {
                p = -p;
            } else {
                q = -q;
            }
            if p.abs() < (step * q).abs() && p > q * (a - x + 2.0 * tol_act) && p < q * (b - x - 2.0 * tol_act) {
                step = p / q;
            }
        }
        if step.abs() < tol_act {
            step = if step > 0.0 { tol_act } else { -tol_act };
        }
        let t = x + step;
        let ft = f(t);
        if ft <= fx {
            if t < x {
                b = x;
            } else {
                a = x;
            }
            (v, w, x) = (w, x, t);
            (fv, fw, fx) = (fw, fx, ft);
        } else {
            if t < x {
                a = t;
            } else {
                b = t;
            }
            if ft <= fw || w == x {
                (v, w) = (w, t);
                (fv, fw) = (fw, ft);
            } else if ft <= fv || v == x || v == w {
                v = t;
                fv = ft;
            }
        }
    }
    (x, fx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_is_exact_on_samples_and_recovers_a_band_limited_signal() {
        let f = |x: f64| (0.05 * x).cos() + 0.5 * (0.11 * x + 0.3).sin();
        let y: Vec<f64> = (0..400).map(|i| f(i as f64)).collect();
        assert_eq!(interpolate(&y, 17.0, 70), y[17]);
        for x in [150.25, 200.5, 233.9] {
            let got = interpolate(&y, x, 70);
            assert!((got - f(x)).abs() < 2e-3, "at {x}: {got} vs {}", f(x));
        }
        // Near the ends it falls back to lower orders rather than reading outside.
        assert!((interpolate(&y, 0.5, 70) - (y[0] + y[1]) / 2.0).abs() < 1e-12);
        assert_eq!(interpolate(&y, -3.0, 70), y[0]);
        assert_eq!(interpolate(&y, 1e6, 70), y[399]);
    }

    #[test]
    fn the_maximum_between_samples_is_found() {
        // A raised cosine peaking at 100.3: the sampled peak is at 100.
        let y: Vec<f64> = (0..240).map(|i| (0.04 * (i as f64 - 100.3)).cos()).collect();
        let (x, v) = improve_maximum(&y, 100, 70);
        assert!((x - 100.3).abs() < 1e-3, "{x}");
        assert!((v - 1.0).abs() < 1e-3, "{v}");
        let (x, _) = minimize_brent(|x| (x - 2.5).powi(2), 1.0, 4.0, 1e-10);
        assert!((x - 2.5).abs() < 1e-7);
    }
}
