//! Drawing in pixels on either plotters backend, the same on both: text whose capitals are
//! centred where it is put (as `<text>` in an SVG, rasterised from the embedded font in a
//! PNG), rectangles, lines and polylines.

use plotters::backend::DrawingBackend;
use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::element::{PathElement, Rectangle, Text};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontDesc, FontFamily, FontStyle, FontTransform, RGBColor};

use super::super::text::{Faces, Font};
use super::ExportError;

/// How text reaches the backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(in crate::export) enum Lettering {
    /// As `<text>` elements, drawn by the viewer.
    Svg,
    /// As pixels from the embedded font.
    Raster,
}

pub(in crate::export) struct Pen<'a, DB: DrawingBackend> {
    pub(in crate::export) area: &'a DrawingArea<DB, Shift>,
    pub(in crate::export) faces: &'static Faces,
    pub(in crate::export) lettering: Lettering,
}

impl<DB: DrawingBackend> Pen<'_, DB> {
    /// Text whose capitals are centred vertically on `at` (horizontally as `h` says);
    /// `Direction::Up` turns it a quarter counter-clockwise about `at`.
    pub(in crate::export) fn text(
        &self,
        text: &str,
        (x, y): (i32, i32),
        font: Font,
        color: RGBColor,
        h: HPos,
        direction: Direction,
    ) -> Result<(), ExportError> {
        let rotated = direction == Direction::Up;
        // Baseline below the anchor, in the text's own frame (which points right once turned).
        let base = self.faces.cap_height(font) / 2.0;
        match self.lettering {
            Lettering::Svg => {
                // plotters writes dy="0.5ex" for a centred anchor and font-size = size / 1.24.
                let d = (base - self.faces.x_height(font) / 2.0).round() as i32;
                let weight = if font.bold { FontStyle::Bold } else { FontStyle::Normal };
                let desc = FontDesc::new(FontFamily::Name(self.faces.family()), font.size as f64 * 1.24, weight);
                let style = desc.color(&color).pos(Pos::new(h, VPos::Center));
                let (style, at) = if rotated {
                    (style.transform(FontTransform::Rotate270), (x + d, y))
                } else {
                    (style, (x, y + d))
                };
                self.area
                    .draw(&Text::new(text.to_string(), at, style))
                    .map_err(draw_error)
            }
            Lettering::Raster => {
                let w = self.faces.width(font, text);
                let start = match h {
                    HPos::Left => 0.0,
                    HPos::Center => -w / 2.0,
                    HPos::Right => -w,
                }
                .round() as i32;
                let base = base.round() as i32;
                let mut result = Ok(());
                self.faces.rasterize(font, text, |fx, fy, coverage| {
                    let (fx, fy) = (start + fx, base + fy);
                    let at = if rotated { (x + fy, y - fx) } else { (x + fx, y + fy) };
                    if result.is_ok() {
                        result = self.area.draw_pixel(at, &color.mix(coverage as f64));
                    }
                });
                result.map_err(draw_error)
            }
        }
    }

    pub(in crate::export) fn rect(
        &self,
        a: (i32, i32),
        b: (i32, i32),
        color: RGBColor,
        paint: Paint,
    ) -> Result<(), ExportError> {
        let style = match paint {
            Paint::Fill => color.filled(),
            Paint::Outline => color.stroke_width(1),
        };
        self.area.draw(&Rectangle::new([a, b], style)).map_err(draw_error)
    }

    pub(in crate::export) fn line(&self, a: (i32, i32), b: (i32, i32), color: RGBColor) -> Result<(), ExportError> {
        self.area
            .draw(&PathElement::new(vec![a, b], color.stroke_width(1)))
            .map_err(draw_error)
    }

    /// Segments through `points`, `width` pixels wide; a single point is a dot of that size.
    pub(in crate::export) fn polyline(
        &self,
        points: &[(i32, i32)],
        color: RGBColor,
        width: u32,
    ) -> Result<(), ExportError> {
        match points {
            [] => Ok(()),
            [(x, y)] => {
                let r = width as i32;
                self.rect(
                    (x - r / 2, y - r / 2),
                    (x + r - r / 2, y + r - r / 2),
                    color,
                    Paint::Fill,
                )
            }
            _ => self
                .area
                .draw(&PathElement::new(points.to_vec(), color.stroke_width(width)))
                .map_err(draw_error),
        }
    }
}

/// Which way a line of text runs: left to right, or bottom to top (column labels too wide for
/// their cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::export) enum Direction {
    Across,
    Up,
}

/// How a rectangle is drawn: a cell or a colour bar's strip, or a frame around one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::export) enum Paint {
    Fill,
    Outline,
}

pub(in crate::export) fn draw_error(e: impl std::fmt::Display) -> ExportError {
    ExportError::Draw(e.to_string())
}
