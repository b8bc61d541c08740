//! The figures' text, from an embedded font (DejaVu Sans, see assets/fonts/LICENSE) so that a
//! machine without fonts draws the same PNG: measured for the layout, rasterised with
//! ab_glyph for bitmaps, and named in SVGs (whose viewers draw it themselves).

use std::sync::OnceLock;

use ab_glyph::{point, Font as _, FontRef, PxScale, ScaleFont};

use super::ExportError;

/// The SVG font-family: viewers with DejaVu Sans show the metrics the layout assumed.
pub const FAMILY: &str = "DejaVu Sans, sans-serif";
static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// A size in pixels per em (as CSS font-size) and a weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Font {
    pub size: f32,
    pub bold: bool,
}

impl Font {
    pub const fn regular(size: f32) -> Self {
        Self { size, bold: false }
    }

    pub const fn bold(size: f32) -> Self {
        Self { size, bold: true }
    }
}

pub struct Faces {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

impl Faces {
    /// Parsed once; the fonts are part of the binary, so failing here is a build defect,
    /// reported as an error all the same.
    pub fn get() -> Result<&'static Faces, ExportError> {
        static FACES: OnceLock<Option<Faces>> = OnceLock::new();
        FACES
            .get_or_init(|| {
                Some(Faces {
                    regular: FontRef::try_from_slice(REGULAR).ok()?,
                    bold: FontRef::try_from_slice(BOLD).ok()?,
                })
            })
            .as_ref()
            .ok_or(ExportError::Font)
    }

    fn face(&self, font: Font) -> &FontRef<'static> {
        if font.bold {
            &self.bold
        } else {
            &self.regular
        }
    }

    /// ab_glyph scales by ascent - descent, not by the em.
    fn scale(&self, font: Font) -> PxScale {
        let face = self.face(font);
        let em = face.units_per_em().unwrap_or(2048.0);
        PxScale::from(font.size * face.height_unscaled() / em)
    }

    /// Advance width in pixels, kerning included.
    pub fn width(&self, font: Font, text: &str) -> f32 {
        let scaled = self.face(font).as_scaled(self.scale(font));
        let mut prev = None;
        let mut w = 0.0;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                w += scaled.kern(p, id);
            }
            w += scaled.h_advance(id);
            prev = Some(id);
        }
        w
    }

    /// Height of `c`'s ink above the baseline, in pixels.
    fn ink_height(&self, font: Font, c: char) -> f32 {
        let face = self.face(font);
        let scaled = face.as_scaled(self.scale(font));
        face.outline(face.glyph_id(c))
            .map(|o| o.bounds.min.y.abs().max(o.bounds.max.y.abs()) * scaled.v_scale_factor())
            .unwrap_or(0.7 * font.size)
    }

    pub fn cap_height(&self, font: Font) -> f32 {
        self.ink_height(font, 'H')
    }

    pub fn x_height(&self, font: Font) -> f32 {
        self.ink_height(font, 'x')
    }

    /// Calls `pixel(x, y, coverage)` for every pixel `text` covers, with the pen starting at
    /// x = 0 on the baseline y = 0 (y grows downwards).
    pub fn rasterize(&self, font: Font, text: &str, mut pixel: impl FnMut(i32, i32, f32)) {
        let face = self.face(font);
        let scale = self.scale(font);
        let scaled = face.as_scaled(scale);
        let mut caret = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(scale, point(caret, 0.0));
            caret += scaled.h_advance(id);
            if let Some(outline) = face.outline_glyph(glyph) {
                // The glyph's pixels are relative to its ink box, which starts at its side
                // bearing rather than at the pen.
                let b = outline.px_bounds();
                outline.draw(|x, y, coverage| {
                    if coverage > 0.0 {
                        pixel(b.min.x as i32 + x as i32, b.min.y as i32 + y as i32, coverage.min(1.0));
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_and_ink() {
        let faces = Faces::get().unwrap();
        let f = Font::regular(20.0);
        // DejaVu Sans: capitals 0.729 em, x-height 0.547 em.
        assert!((faces.cap_height(f) - 14.58).abs() < 0.1, "{}", faces.cap_height(f));
        assert!((faces.x_height(f) - 10.94).abs() < 0.1, "{}", faces.x_height(f));
        assert!(faces.width(Font::bold(20.0), "WORD") > faces.width(f, "WORD"));
        let (mut lo, mut hi, mut n) = ((i32::MAX, i32::MAX), (i32::MIN, i32::MIN), 0);
        faces.rasterize(f, "IT", |x, y, _| {
            lo = (lo.0.min(x), lo.1.min(y));
            hi = (hi.0.max(x), hi.1.max(y));
            n += 1;
        });
        assert!(n > 50);
        // The "I" starts after its side bearing, the ink sits on the baseline.
        assert!(lo.0 >= 1 && hi.0 < faces.width(f, "IT").ceil() as i32, "{lo:?} {hi:?}");
        assert_eq!((lo.1, hi.1), (-15, -1));
    }
}
