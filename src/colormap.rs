//! Heatmap colour maps: piecewise-linear ramps between colour stops, shared by the terminal
//! heatmaps and the exported figures so that both show the same colours for a theme.

use std::fmt;
use std::str::FromStr;

/// A colour, 8 bits per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rrggbb`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Relative luminance (sRGB weights, no gamma): enough to pick black or white text.
    pub fn is_light(self) -> bool {
        0.299 * self.0 as f32 + 0.587 * self.1 as f32 + 0.114 * self.2 as f32 > 140.0
    }
}

impl FromStr for Rgb {
    type Err = String;

    /// `#rrggbb` or `#rgb`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s
            .strip_prefix('#')
            .ok_or_else(|| format!("{s:?} is not a colour; expected \"#rrggbb\""))?;
        let digits: Vec<u8> = hex
            .chars()
            .map(|c| c.to_digit(16).map(|d| d as u8))
            .collect::<Option<_>>()
            .ok_or_else(|| format!("{s:?} is not a colour; expected hex digits as in \"#1f77b4\""))?;
        match digits.as_slice() {
            [r, g, b] => Ok(Rgb(r * 17, g * 17, b * 17)),
            [r1, r2, g1, g2, b1, b2] => Ok(Rgb(r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2)),
            _ => Err(format!("{s:?} is not a colour; expected \"#rrggbb\"")),
        }
    }
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

/// Evenly spaced colour stops from low to high.
#[derive(Debug, Clone, PartialEq)]
pub struct Colormap {
    stops: Vec<Rgb>,
}

impl Colormap {
    /// At least two stops.
    pub fn new(stops: Vec<Rgb>) -> Result<Self, String> {
        if stops.len() < 2 {
            return Err(format!("a colour map needs at least 2 stops, got {}", stops.len()));
        }
        Ok(Self { stops })
    }

    /// The colour stops, low to high.
    pub fn stops(&self) -> &[Rgb] {
        &self.stops
    }

    /// Viridis (perceptually uniform, colour-blind safe), 9 stops.
    pub fn viridis() -> Self {
        Self::parse(&[
            "#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725",
        ])
    }

    /// White to dark blue, as printed figures usually are.
    pub fn blues() -> Self {
        Self::parse(&["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"])
    }

    /// Blue - white - red for signed values.
    pub fn red_blue() -> Self {
        Self::parse(&["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"])
    }

    fn parse(hex: &[&str]) -> Self {
        Self {
            stops: hex.iter().map(|h| h.parse().expect("built-in colour")).collect(),
        }
    }

    /// The colour at `t` in [0, 1] (clamped; NaN maps to the low end).
    pub fn at(&self, t: f32) -> Rgb {
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let x = t * (self.stops.len() - 1) as f32;
        let i = (x.floor() as usize).min(self.stops.len() - 2);
        let f = x - i as f32;
        let (a, b) = (self.stops[i], self.stops[i + 1]);
        let mix = |p: u8, q: u8| (p as f32 + (q as f32 - p as f32) * f).round() as u8;
        Rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}

/// Maps values to [0, 1]: `lo..hi` for non-negative matrices, symmetric around zero for
/// signed ones so that white (the middle of a diverging map) means "no change".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// Value drawn at the low end of the map.
    pub lo: f32,
    /// Value drawn at the high end of the map.
    pub hi: f32,
}

impl Scale {
    /// The scale for a view whose values span `(lo, hi)`; `signed` centres it on zero.
    pub fn for_range((lo, hi): (f32, f32), signed: bool) -> Self {
        if signed {
            let m = lo.abs().max(hi.abs()).max(f32::MIN_POSITIVE);
            Self { lo: -m, hi: m }
        } else {
            let lo = lo.min(0.0);
            Self {
                lo,
                hi: if hi > lo { hi } else { lo + 1.0 },
            }
        }
    }

    /// Where `v` falls on the map, 0 to 1 inside the range.
    pub fn unit(&self, v: f32) -> f32 {
        (v - self.lo) / (self.hi - self.lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_interpolates() {
        assert_eq!("#0a0B0c".parse::<Rgb>(), Ok(Rgb(10, 11, 12)));
        assert_eq!("#fff".parse::<Rgb>(), Ok(Rgb(255, 255, 255)));
        assert!("red".parse::<Rgb>().unwrap_err().contains("#rrggbb"));
        assert!("#12345".parse::<Rgb>().is_err());
        let m = Colormap::new(vec![Rgb(0, 0, 0), Rgb(100, 200, 50), Rgb(200, 200, 200)]).unwrap();
        assert_eq!(m.at(0.0), Rgb(0, 0, 0));
        assert_eq!(m.at(0.25), Rgb(50, 100, 25));
        assert_eq!(m.at(1.0), Rgb(200, 200, 200));
        assert_eq!(m.at(7.0), Rgb(200, 200, 200));
        assert_eq!(m.at(f32::NAN), Rgb(0, 0, 0));
        assert!(Colormap::new(vec![Rgb(0, 0, 0)]).is_err());
    }

    #[test]
    fn signed_scales_are_symmetric() {
        let s = Scale::for_range((-0.1, 0.4), true);
        assert_eq!((s.lo, s.hi), (-0.4, 0.4));
        assert_eq!(s.unit(0.0), 0.5);
        let u = Scale::for_range((0.2, 0.6), false);
        assert_eq!((u.lo, u.hi), (0.0, 0.6));
        let flat = Scale::for_range((0.0, 0.0), false);
        assert_eq!(flat.unit(0.0), 0.0);
    }
}
