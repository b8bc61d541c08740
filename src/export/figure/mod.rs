//! Paper-style attention figures, as in CM-BERT's Figure 4: one row per utterance, titled with
//! its text, label and prediction; two heatmaps side by side with the words on both axes, the
//! `[CLS]` row (the one that is scored) marked, and a colour bar each. One drawing routine
//! serves both plotters backends, so the SVG and the PNG are the same figure. Other figures
//! of heatmaps (`export::pair`: two runs and their difference) lay out their own panels
//! through [`Figure::from_rows`]; a stress pair's figure (`export::stress_pair`) adds
//! contour panels (`contour`: F0 and energy over time, per word) under its heatmaps.
//!
//! Here: what a figure holds and how it is drawn on either backend; `layout` (where every
//! row, heatmap and contour panel goes), `heatmap` (a heatmap and its colour bar), `pen`
//! (text, rectangles and lines in pixels on either backend), `axis` (the round values on
//! every figure's axes, `export::curves` included), `contour` (F0 and energy panels).

use plotters::backend::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters::style::text_anchor::HPos;
use plotters::style::RGBColor;

mod axis;
mod contour;
mod heatmap;
mod layout;
mod pen;

pub(super) use axis::{nice_ticks, tick_label};
pub use contour::{Axes, Contour, ContourLayout, PlotBox, ENERGY_RANGE_DB};
pub use layout::{HeatmapLayout, Layout, RowLayout};
pub(super) use pen::{draw_error, Direction, Lettering, Paint, Pen};

use super::text::{Faces, Font};
use super::{scale, ExportError, Item, Meta, Style};
use crate::attention::View;
use crate::colormap::{Colormap, Rgb, Scale};
use axis::ticks;
use heatmap::colour_bar;

// Pixels per em. Labels at 20 px stay readable when the figure is shown 1600 px wide.
pub(super) const HEADER: Font = Font::regular(16.0);
const TITLE: Font = Font::bold(23.0);
pub(super) const SUBTITLE: Font = Font::regular(20.0);
pub(super) const LABEL: Font = Font::regular(20.0);
const CLS_LABEL: Font = Font::bold(20.0);
pub(super) const TICK: Font = Font::regular(17.0);

/// One row fills this width; longer utterances make the figure wider.
const MIN_WIDTH: i32 = 1600;
pub(super) const MARGIN: i32 = 36;
const PANEL_GAP: i32 = 80;
/// A row label must fit in a cell's height.
const MIN_CELL: i32 = 30;
const MAX_CELL: i32 = 84;
const LABEL_PAD: i32 = 10;
const BAR_GAP: i32 = 20;
const BAR_W: i32 = 24;
const TICK_LEN: i32 = 6;
const MIN_BAR_H: i32 = 180;
const ROW_GAP: i32 = 40;
/// Line spacing of a subtitle's lines, in ems.
const SUBTITLE_LINE: f32 = 1.25;
/// A PNG above this many pixels (~180 MB of RGB) is refused rather than allocated.
pub(super) const MAX_PIXELS: u64 = 60_000_000;

pub(super) const INK: RGBColor = RGBColor(34, 34, 34);
pub(super) const MUTED: RGBColor = RGBColor(100, 100, 100);
pub(super) const FRAME: RGBColor = RGBColor(150, 150, 150);
pub(super) const WHITE: RGBColor = RGBColor(255, 255, 255);

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// One heatmap's content.
pub(crate) struct Panel {
    view: View,
    scale: Scale,
    colormap: Colormap,
    /// Lines above the heatmap.
    subtitle: Vec<String>,
    ticks: Vec<(f32, String)>,
}

impl Panel {
    /// `view` drawn on `colormap` with `scale`, under the `subtitle` lines.
    pub(crate) fn new(view: View, scale: Scale, colormap: Colormap, subtitle: Vec<String>) -> Self {
        Self {
            ticks: ticks(scale),
            view,
            scale,
            colormap,
            subtitle,
        }
    }

    fn color(&self, v: f32) -> RGBColor {
        rgb(self.colormap.at(self.scale.unit(v)))
    }

    /// The label of row `r`: the `[CLS]` row says where it goes.
    fn row_label(&self, r: usize) -> (String, Font) {
        let label = &self.view.labels[r];
        if self.view.cls_row == Some(r) {
            (format!("{label} → score"), CLS_LABEL)
        } else {
            (label.clone(), LABEL)
        }
    }
}

struct Row {
    title: String,
    panels: Vec<Panel>,
}

/// One row of a figure: the title made from the utterance's text (cut short with an
/// ellipsis until it fits), and the heatmaps left to right.
pub(crate) struct FigureRow<'a> {
    /// The utterance's text.
    pub text: String,
    /// The title with `text` (or its shortened form) in it.
    pub title: Box<dyn Fn(&str) -> String + 'a>,
    /// The heatmaps.
    pub panels: Vec<Panel>,
}

/// A figure ready to draw on either backend.
pub struct Figure {
    faces: &'static Faces,
    header: String,
    rows: Vec<Row>,
    layout: Layout,
    /// Where each panel's subtitle is centred: over its heatmap, moved inwards where it
    /// would reach past the panel's room.
    subtitle_x: Vec<Vec<i32>>,
    /// The contour panels under the rows, and the axes they share.
    contours: Vec<Contour>,
    axes: Axes,
}

impl Figure {
    /// Lays out one row per item under the metadata line; `Empty` without items.
    pub fn new(items: &[Item], meta: &Meta, style: &Style) -> Result<Self, ExportError> {
        Self::captioned(items, meta, style, &[])
    }

    /// As [`Figure::new`], row `i`'s title led by `captions[i]` where there is one (the step
    /// and loss of a frame of `export --through-training`); the transcript, not the caption,
    /// is shortened when the title does not fit.
    pub(crate) fn captioned(
        items: &[Item],
        meta: &Meta,
        style: &Style,
        captions: &[String],
    ) -> Result<Self, ExportError> {
        let rows = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let caption = captions.get(i);
                FigureRow {
                    // Transcripts may carry stray spaces; a title shows the words.
                    text: item.text.split_whitespace().collect::<Vec<_>>().join(" "),
                    title: Box::new(move |t: &str| match caption {
                        Some(caption) => format!("{caption} — {}", title(item, t)),
                        None => title(item, t),
                    }),
                    panels: panels(item, style),
                }
            })
            .collect();
        Self::from_rows(&header(meta), rows)
    }

    /// Lays out `rows` under the `header` line, each row's panels side by side; `Empty`
    /// without rows.
    pub(crate) fn from_rows(header: &str, rows: Vec<FigureRow>) -> Result<Self, ExportError> {
        Self::with_contours(header, rows, Vec::new())
    }

    /// Where everything is drawn.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The figure as an SVG document.
    pub fn svg(&self) -> Result<String, ExportError> {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (self.layout.width, self.layout.height)).into_drawing_area();
            self.draw(&root, Lettering::Svg)?;
            root.present().map_err(draw_error)?;
        }
        Ok(out)
    }

    /// An 8-bit RGB PNG.
    pub fn png(&self) -> Result<Vec<u8>, ExportError> {
        let (w, h) = (self.layout.width, self.layout.height);
        rgb_png(&self.pixels()?, w, h)
    }

    /// The figure drawn: `width * height` RGB pixels, row by row (the frames of an animation
    /// are laid on a canvas of their own).
    pub(crate) fn pixels(&self) -> Result<Vec<u8>, ExportError> {
        let (w, h) = (self.layout.width, self.layout.height);
        if w as u64 * h as u64 > MAX_PIXELS {
            let tokens = self
                .layout
                .rows
                .iter()
                .flat_map(|r| r.heatmaps.iter().map(|m| m.n))
                .max()
                .unwrap_or(0);
            return Err(ExportError::TooLarge {
                width: w,
                height: h,
                tokens,
            });
        }
        let mut pixels = vec![255u8; w as usize * h as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
            self.draw(&root, Lettering::Raster)?;
            root.present().map_err(draw_error)?;
        }
        Ok(pixels)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, lettering: Lettering) -> Result<(), ExportError> {
        let pen = Pen {
            area,
            faces: self.faces,
            lettering,
        };
        area.fill(&WHITE).map_err(draw_error)?;
        pen.text(
            &self.header,
            (MARGIN, self.layout.header_y),
            HEADER,
            MUTED,
            HPos::Left,
            Direction::Across,
        )?;
        let center = self.layout.width as i32 / 2;
        for ((row, at), xs) in self.rows.iter().zip(&self.layout.rows).zip(&self.subtitle_x) {
            pen.text(
                &row.title,
                (center, at.title_y),
                TITLE,
                INK,
                HPos::Center,
                Direction::Across,
            )?;
            for ((panel, map), &mid) in row.panels.iter().zip(&at.heatmaps).zip(xs) {
                for (i, text) in panel.subtitle.iter().enumerate() {
                    let y = at.subtitle_y + i as i32 * (SUBTITLE.size * SUBTITLE_LINE).round() as i32;
                    pen.text(text, (mid, y), SUBTITLE, INK, HPos::Center, Direction::Across)?;
                }
                self.heatmap(&pen, panel, map)?;
                colour_bar(&pen, panel, map)?;
            }
        }
        for (c, at) in self.contours.iter().zip(&self.layout.contours) {
            contour::draw(&pen, c, &self.axes, at)?;
        }
        Ok(())
    }
}

fn panels(item: &Item, style: &Style) -> Vec<Panel> {
    style
        .views(item.snapshot)
        .into_iter()
        .map(|view| {
            let subtitle = vec![format!("{} — {}", view.matrix.name(), view.matrix.caption())];
            Panel::new(
                view.clone(),
                scale(&view),
                style.colormap(view.matrix).clone(),
                subtitle,
            )
        })
        .collect()
}

/// `test #572: "I THOUGHT IT WAS FUN" — label +1.20, prediction +0.85 (audio removed: +0.85)`
/// (a recording: `utt11.wav: ...`).
pub(crate) fn title(item: &Item, text: &str) -> String {
    let s = item.snapshot;
    format!(
        "{}: \"{text}\" — label {}, prediction {:+.2} (audio removed: {:+.2})",
        item.name(),
        crate::data::label_text(s.label, 2),
        s.prediction,
        s.prediction_without_audio
    )
}

/// The metadata's entries that have a value, the usual ones first:
/// `model: cm-bert · cls_audio: zero · checkpoint: ... · split: test · ...`.
pub(crate) fn header(meta: &Meta) -> String {
    const FIRST: [&str; 4] = ["model", "cls_audio", "checkpoint", "split"];
    let mut entries = meta.entries();
    // Stable: the others keep their name order.
    entries.sort_by_key(|(name, _)| FIRST.iter().position(|f| f == name).unwrap_or(FIRST.len()));
    let parts: Vec<String> = entries
        .iter()
        .filter_map(|(name, value)| value.one_line().map(|v| format!("{name}: {v}")))
        .collect();
    parts.join("   ·   ")
}

/// `width * height` RGB pixels, row by row, as an 8-bit PNG (every figure's and the curves').
pub(crate) fn rgb_png(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests;
