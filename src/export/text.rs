//! The figures' text, from an embedded font (DejaVu Sans, see assets/fonts/LICENSE) so that a
//! machine without fonts draws the same PNG: measured for the layout, rasterised with
//! ab_glyph for bitmaps, and named in SVGs (whose viewers draw it themselves). Characters
//! DejaVu Sans has no glyph for (Chinese) come from a font found for them (`export::fonts`).

use std::sync::{Mutex, OnceLock};

use ab_glyph::{point, Font as _, FontArc, GlyphId, PxScale, ScaleFont};

use super::fonts::{self, FontSearch};
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
    regular: FontArc,
    bold: FontArc,
    /// For the characters DejaVu Sans lacks, in both weights.
    fallback: Option<FontArc>,
    /// The SVG font-family: DejaVu Sans, then the fallback's family.
    family: String,
}

/// Faces built for a fallback font, one per (search, characters): figures drawn frame by
/// frame (`export --through-training`) search once.
type Found = Vec<((FontSearch, String), &'static Faces)>;

impl Faces {
    /// Parsed once; the fonts are part of the binary, so failing here is a build defect,
    /// reported as an error all the same.
    pub fn get() -> Result<&'static Faces, ExportError> {
        static FACES: OnceLock<Option<Faces>> = OnceLock::new();
        FACES
            .get_or_init(|| Self::embedded(None))
            .as_ref()
            .ok_or(ExportError::Font)
    }

    fn embedded(fallback: Option<(FontArc, &str)>) -> Option<Faces> {
        let family = match &fallback {
            Some((_, name)) => format!("DejaVu Sans, {name}, sans-serif"),
            None => FAMILY.to_string(),
        };
        Some(Faces {
            regular: FontArc::try_from_slice(REGULAR).ok()?,
            bold: FontArc::try_from_slice(BOLD).ok()?,
            fallback: fallback.map(|f| f.0),
            family,
        })
    }

    /// Faces with a glyph for every character of `texts`: the embedded ones when they have
    /// them all (English text draws exactly as before), else with a font found for the rest
    /// where `CMBERT_FONT` says (the system's fonts when unset).
    pub fn for_text<'a>(texts: impl IntoIterator<Item = &'a str>) -> Result<&'static Faces, ExportError> {
        Self::for_text_in(texts, &FontSearch::from_env())
    }

    /// As [`Faces::for_text`], searching where `search` says.
    pub fn for_text_in<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        search: &FontSearch,
    ) -> Result<&'static Faces, ExportError> {
        let faces = Self::get()?;
        // In the order they come (an error quotes the first few), each once.
        let mut missing: Vec<char> = Vec::new();
        for c in texts.into_iter().flat_map(str::chars) {
            if !c.is_whitespace() && !c.is_control() && faces.regular.glyph_id(c).0 == 0 && !missing.contains(&c) {
                missing.push(c);
            }
        }
        if missing.is_empty() {
            return Ok(faces);
        }
        let mut sorted = missing.clone();
        sorted.sort_unstable();
        static FOUND: OnceLock<Mutex<Found>> = OnceLock::new();
        let key = (search.clone(), sorted.iter().collect::<String>());
        let found = FOUND.get_or_init(Mutex::default);
        if let Some(hit) = found
            .lock()
            .ok()
            .and_then(|f| f.iter().find(|e| e.0 == key).map(|e| e.1))
        {
            return Ok(hit);
        }
        let fallback = fonts::find(&missing, search)?;
        let faces = Self::embedded(Some((fallback.face, &fallback.family))).ok_or(ExportError::Font)?;
        // One per font and text for the life of the process, as the embedded faces are.
        let faces: &'static Faces = Box::leak(Box::new(faces));
        if let Ok(mut f) = found.lock() {
            f.push((key, faces));
        }
        Ok(faces)
    }

    /// The SVG font-family.
    pub fn family(&self) -> &str {
        &self.family
    }

    fn face(&self, font: Font) -> &FontArc {
        if font.bold {
            &self.bold
        } else {
            &self.regular
        }
    }

    /// The face that draws `c` and its glyph there: the embedded one unless only the
    /// fallback has it.
    fn glyph(&self, font: Font, c: char) -> (&FontArc, GlyphId) {
        let face = self.face(font);
        let id = face.glyph_id(c);
        match &self.fallback {
            Some(other) if id.0 == 0 => match other.glyph_id(c) {
                GlyphId(0) => (face, id),
                found => (other, found),
            },
            _ => (face, id),
        }
    }

    /// ab_glyph scales by ascent - descent, not by the em: `face` at `font.size` per em.
    fn scale_of(face: &FontArc, font: Font) -> PxScale {
        let em = face.units_per_em().unwrap_or(2048.0);
        PxScale::from(font.size * face.height_unscaled() / em)
    }

    fn scale(&self, font: Font) -> PxScale {
        Self::scale_of(self.face(font), font)
    }

    /// Each character's face, glyph and advance, kerning included (within one face), with
    /// the pen position where it starts.
    fn layout(&self, font: Font, text: &str) -> (Vec<(&FontArc, GlyphId, f32)>, f32) {
        let mut out = Vec::with_capacity(text.len());
        let mut prev: Option<(&FontArc, GlyphId)> = None;
        let mut caret = 0.0;
        for c in text.chars() {
            let (face, id) = self.glyph(font, c);
            let scaled = face.as_scaled(Self::scale_of(face, font));
            if let Some((_, p)) = prev.filter(|(pf, _)| std::ptr::eq(*pf, face)) {
                caret += scaled.kern(p, id);
            }
            out.push((face, id, caret));
            caret += scaled.h_advance(id);
            prev = Some((face, id));
        }
        (out, caret)
    }

    /// Advance width in pixels, kerning included.
    pub fn width(&self, font: Font, text: &str) -> f32 {
        self.layout(font, text).1
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
        for (face, id, caret) in self.layout(font, text).0 {
            let glyph = id.with_scale_and_position(Self::scale_of(face, font), point(caret, 0.0));
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
