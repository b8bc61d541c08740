//! Paper-style attention figures, as in CM-BERT's Figure 4: one row per utterance, titled with
//! its text, label and prediction; two heatmaps side by side with the words on both axes, the
//! `[CLS]` row (the one that is scored) marked, and a colour bar each. One drawing routine
//! serves both plotters backends, so the SVG and the PNG are the same figure. Other figures
//! of heatmaps (`export::pair`: two runs and their difference) lay out their own panels
//! through [`Figure::from_rows`]; a stress pair's figure (`export::stress_pair`) adds
//! contour panels (`contour`: F0 and energy over time, per word) under its heatmaps.

use plotters::backend::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters::element::{PathElement, Rectangle, Text};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, FontDesc, FontFamily, FontStyle, FontTransform, RGBColor};

mod contour;

pub use contour::{Axes, Contour, ContourLayout, PlotBox, ENERGY_RANGE_DB};

use super::text::{Faces, Font};
use super::{scale, ExportError, Item, Meta, Style};
use crate::attention::View;
use crate::colormap::{Colormap, Rgb, Scale};

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

/// Where things are, in pixels; public so that tests can find a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Figure width in pixels.
    pub width: u32,
    /// Figure height in pixels.
    pub height: u32,
    /// Vertical centre of the metadata line.
    pub header_y: i32,
    /// One per utterance, top to bottom.
    pub rows: Vec<RowLayout>,
    /// Column labels are drawn vertically when one does not fit a cell's width.
    pub rotated_columns: bool,
    /// The contour panels under the rows, top to bottom (none but in a stress pair's figure).
    pub contours: Vec<ContourLayout>,
}

#[derive(Debug, Clone, PartialEq)]
/// Where one utterance's row is.
pub struct RowLayout {
    /// Vertical centre of the title.
    pub title_y: i32,
    /// Vertical centre of the heatmaps' subtitles (their first lines).
    pub subtitle_y: i32,
    /// The heatmaps, left to right (two in `export`'s figures).
    pub heatmaps: Vec<HeatmapLayout>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
/// Where one heatmap and its colour bar are.
pub struct HeatmapLayout {
    /// Left edge of the first cell.
    pub x: i32,
    /// Top edge of the first cell.
    pub y: i32,
    /// Side of a cell.
    pub cell: i32,
    /// Rows (= columns).
    pub n: usize,
    /// Colour bar: left, top, width, height.
    pub bar: (i32, i32, i32, i32),
}

impl HeatmapLayout {
    /// The pixel in the middle of cell (`row`, `col`).
    pub fn cell_center(&self, row: usize, col: usize) -> (i32, i32) {
        (
            self.x + col as i32 * self.cell + self.cell / 2,
            self.y + row as i32 * self.cell + self.cell / 2,
        )
    }

    /// Side of the whole heatmap.
    pub fn side(&self) -> i32 {
        self.n as i32 * self.cell
    }
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

    /// As [`Figure::from_rows`], with `contours` under the rows, across the figure's width,
    /// on shared axes.
    pub(crate) fn with_contours(
        header: &str,
        rows: Vec<FigureRow>,
        contours: Vec<Contour>,
    ) -> Result<Self, ExportError> {
        if rows.is_empty() {
            return Err(ExportError::Empty);
        }
        // Every text the figure may draw, for a font that has all their characters.
        let faces = Faces::for_text(
            std::iter::once(header.to_string())
                .chain(rows.iter().flat_map(|r| {
                    let labels = r.panels.iter().flat_map(|p| p.view.labels.iter().chain(&p.subtitle));
                    [(r.title)(&r.text)].into_iter().chain(labels.cloned())
                }))
                .chain(contours.iter().flat_map(contour::texts).map(String::from))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        )?;
        let width_of = |font: Font, text: &str| faces.width(font, text).ceil() as i32;
        let (specs, mut rows): (Vec<_>, Vec<Row>) = rows
            .into_iter()
            .map(|r| {
                let row = Row {
                    title: String::new(),
                    panels: r.panels,
                };
                ((r.text, r.title), row)
            })
            .unzip();

        let panels = || rows.iter().flat_map(|r| r.panels.iter());
        let label_w = panels()
            .flat_map(|p| {
                (0..p.view.labels.len()).map(|r| {
                    let (text, font) = p.row_label(r);
                    width_of(font, &text)
                })
            })
            .max()
            .unwrap_or(0)
            + LABEL_PAD;
        let col_w = panels()
            .flat_map(|p| p.view.labels.iter().map(|l| width_of(LABEL, l)))
            .max()
            .unwrap_or(0);
        let tick_w = panels()
            .flat_map(|p| p.ticks.iter().map(|(_, t)| width_of(TICK, t)))
            .max()
            .unwrap_or(0);
        let subtitle_w = panels()
            .flat_map(|p| p.subtitle.iter().map(|l| width_of(SUBTITLE, l)))
            .max()
            .unwrap_or(0);
        let k = rows.iter().map(|r| r.panels.len()).max().unwrap_or(0).max(1) as i32;
        let bar_total = BAR_GAP + BAR_W + TICK_LEN + 6 + tick_w;
        let n_max = panels().map(|p| p.view.labels.len()).max().unwrap_or(0).max(1) as i32;
        let fixed = 2 * MARGIN + (k - 1) * PANEL_GAP + k * (label_w + bar_total);
        let cell = ((MIN_WIDTH - fixed) / (k * n_max)).clamp(MIN_CELL, MAX_CELL);
        let rotated = col_w > cell - 6;
        let col_label_h = if rotated { col_w } else { LABEL.size as i32 } + 2 * LABEL_PAD;
        // A panel has room for its longest subtitle line.
        let slot = (label_w + n_max * cell + bar_total).max(subtitle_w);
        let content_w = k * slot + (k - 1) * PANEL_GAP;
        let width = (content_w + 2 * MARGIN).max(MIN_WIDTH);
        let left = (width - content_w) / 2;

        let line = |font: Font, spacing: f32| (font.size * spacing).round() as i32;
        let mut y = MARGIN;
        let header = fit(faces, HEADER, width - 2 * MARGIN, header, |t| t.to_string());
        let header_y = y + line(HEADER, 0.5);
        y += line(HEADER, 2.0);
        let mut layouts = Vec::new();
        let mut subtitle_x = Vec::new();
        for (r, (text, make)) in rows.iter_mut().zip(&specs) {
            r.title = fit(faces, TITLE, width - 2 * MARGIN, text, make);
            let title_y = y + line(TITLE, 0.5);
            y += line(TITLE, 1.7);
            let subtitle_y = y + line(SUBTITLE, 0.5);
            let lines = r.panels.iter().map(|p| p.subtitle.len()).max().unwrap_or(1).max(1) as i32;
            y += line(SUBTITLE, 1.6) + (lines - 1) * line(SUBTITLE, SUBTITLE_LINE);
            let heatmaps: Vec<HeatmapLayout> = (0..r.panels.len())
                .map(|k| {
                    let n = r.panels[k].view.labels.len();
                    let x = left + k as i32 * (slot + PANEL_GAP) + label_w;
                    HeatmapLayout {
                        x,
                        y,
                        cell,
                        n,
                        bar: (
                            x + n as i32 * cell + BAR_GAP,
                            y,
                            BAR_W,
                            (n as i32 * cell).max(MIN_BAR_H),
                        ),
                    }
                })
                .collect();
            subtitle_x.push(
                heatmaps
                    .iter()
                    .zip(&r.panels)
                    .map(|(map, p)| {
                        let half = p.subtitle.iter().map(|l| width_of(SUBTITLE, l)).max().unwrap_or(0) / 2;
                        let (room_l, room_r) = (map.x - label_w, map.x - label_w + slot);
                        (map.x + map.side() / 2).min(room_r - half).max(room_l + half)
                    })
                    .collect(),
            );
            let side = heatmaps.iter().map(HeatmapLayout::side).max().unwrap_or(0);
            let bar = heatmaps.iter().map(|m| m.bar.3).max().unwrap_or(0);
            // The lowest tick label reaches half a line below the bar.
            y += (side + col_label_h).max(bar + line(TICK, 0.6)) + ROW_GAP;
            layouts.push(RowLayout {
                title_y,
                subtitle_y,
                heatmaps,
            });
        }
        let axes = Axes::of(&contours);
        let (contour_layouts, y) = contour::layout(&contours, &axes, faces, MARGIN, width - 2 * MARGIN, y);
        let height = y - ROW_GAP + MARGIN;
        Ok(Self {
            faces,
            header,
            rows,
            layout: Layout {
                width: width as u32,
                height: height as u32,
                header_y,
                rows: layouts,
                rotated_columns: rotated,
                contours: contour_layouts,
            },
            subtitle_x,
            contours,
            axes,
        })
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
        let pixels = self.pixels()?;
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
        Ok(out)
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

    fn heatmap<DB: DrawingBackend>(
        &self,
        pen: &Pen<DB>,
        panel: &Panel,
        map: &HeatmapLayout,
    ) -> Result<(), ExportError> {
        let (x, y, c, side) = (map.x, map.y, map.cell, map.side());
        for (r, row) in panel.view.values.iter().enumerate() {
            for (k, &v) in row.iter().enumerate() {
                let (x0, y0) = (x + k as i32 * c, y + r as i32 * c);
                // Half-open on both backends: [x0, x0 + c) is exactly one cell.
                pen.rect((x0, y0), (x0 + c, y0 + c), panel.color(v), Paint::Fill)?;
            }
        }
        if side > 0 {
            pen.rect((x - 1, y - 1), (x + side, y + side), FRAME, Paint::Outline)?;
        }
        if let Some(r) = panel.view.cls_row {
            // On the row's own edge pixels, so every cell keeps its colour at its centre.
            let y0 = y + r as i32 * c;
            pen.rect((x, y0), (x + side - 1, y0 + c - 1), INK, Paint::Outline)?;
            pen.rect((x + 1, y0 + 1), (x + side - 2, y0 + c - 2), INK, Paint::Outline)?;
        }
        for r in 0..map.n {
            let (text, font) = panel.row_label(r);
            pen.text(
                &text,
                (x - LABEL_PAD, y + r as i32 * c + c / 2),
                font,
                INK,
                HPos::Right,
                Direction::Across,
            )?;
        }
        let below = y + side + LABEL_PAD;
        for (k, text) in panel.view.labels.iter().enumerate() {
            let cx = x + k as i32 * c + c / 2;
            if self.layout.rotated_columns {
                // Read bottom to top, ending at the heatmap (matplotlib's rotation=90).
                pen.text(text, (cx, below), LABEL, INK, HPos::Right, Direction::Up)?;
            } else {
                let at = (cx, below + (LABEL.size / 2.0) as i32);
                pen.text(text, at, LABEL, INK, HPos::Center, Direction::Across)?;
            }
        }
        Ok(())
    }
}

/// A vertical bar from the scale's low end (bottom) to its high end (top), with ticks.
fn colour_bar<DB: DrawingBackend>(pen: &Pen<DB>, panel: &Panel, map: &HeatmapLayout) -> Result<(), ExportError> {
    let (bx, by, bw, bh) = map.bar;
    let span = (bh - 1).max(1) as f32;
    for py in 0..bh {
        let t = 1.0 - py as f32 / span;
        pen.rect(
            (bx, by + py),
            (bx + bw, by + py + 1),
            rgb(panel.colormap.at(t)),
            Paint::Fill,
        )?;
    }
    pen.rect((bx - 1, by - 1), (bx + bw, by + bh), FRAME, Paint::Outline)?;
    for (v, text) in &panel.ticks {
        let t = panel.scale.unit(*v).clamp(0.0, 1.0);
        let ty = by + ((1.0 - t) * span).round() as i32;
        pen.line((bx + bw, ty), (bx + bw + TICK_LEN, ty), INK)?;
        pen.text(
            text,
            (bx + bw + TICK_LEN + 6, ty),
            TICK,
            INK,
            HPos::Left,
            Direction::Across,
        )?;
    }
    Ok(())
}

/// How text reaches the backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Lettering {
    /// As `<text>` elements, drawn by the viewer.
    Svg,
    /// As pixels from the embedded font.
    Raster,
}

pub(super) struct Pen<'a, DB: DrawingBackend> {
    pub(super) area: &'a DrawingArea<DB, Shift>,
    pub(super) faces: &'static Faces,
    pub(super) lettering: Lettering,
}

impl<DB: DrawingBackend> Pen<'_, DB> {
    /// Text whose capitals are centred vertically on `at` (horizontally as `h` says);
    /// `Direction::Up` turns it a quarter counter-clockwise about `at`.
    pub(super) fn text(
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

    pub(super) fn rect(&self, a: (i32, i32), b: (i32, i32), color: RGBColor, paint: Paint) -> Result<(), ExportError> {
        let style = match paint {
            Paint::Fill => color.filled(),
            Paint::Outline => color.stroke_width(1),
        };
        self.area.draw(&Rectangle::new([a, b], style)).map_err(draw_error)
    }

    pub(super) fn line(&self, a: (i32, i32), b: (i32, i32), color: RGBColor) -> Result<(), ExportError> {
        self.area
            .draw(&PathElement::new(vec![a, b], color.stroke_width(1)))
            .map_err(draw_error)
    }

    /// Segments through `points`, `width` pixels wide; a single point is a dot of that size.
    pub(super) fn polyline(&self, points: &[(i32, i32)], color: RGBColor, width: u32) -> Result<(), ExportError> {
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
pub(super) enum Direction {
    Across,
    Up,
}

/// How a rectangle is drawn: a cell or a colour bar's strip, or a frame around one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Paint {
    Fill,
    Outline,
}

pub(super) fn draw_error(e: impl std::fmt::Display) -> ExportError {
    ExportError::Draw(e.to_string())
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

/// `make(text)`, with `text` cut short (and an ellipsis) until it fits `max_w` pixels.
fn fit(faces: &Faces, font: Font, max_w: i32, text: &str, make: impl Fn(&str) -> String) -> String {
    let fits = |s: &str| faces.width(font, s).ceil() as i32 <= max_w;
    let full = make(text);
    if fits(&full) {
        return full;
    }
    let chars: Vec<char> = text.chars().collect();
    let cut = |n: usize| make(&format!("{}…", chars[..n].iter().collect::<String>().trim_end()));
    // Longest prefix that fits, by bisection (the width grows with the prefix).
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(&cut(mid)) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    cut(lo)
}

/// Round values (multiples of 1, 2, 2.5 or 5 times a power of ten) inside the scale, about
/// six, with as many decimals as their spacing needs; zero is one of them on signed scales.
fn ticks(scale: Scale) -> Vec<(f32, String)> {
    let (lo, hi) = (scale.lo as f64, scale.hi as f64);
    let span = hi - lo;
    let ends = || {
        vec![
            (scale.lo, format!("{:.2e}", scale.lo)),
            (scale.hi, format!("{:.2e}", scale.hi)),
        ]
    };
    if !(span.is_finite() && span > 0.0) {
        return ends();
    }
    let magnitude = 10f64.powf((span / 5.0).log10().floor());
    let Some(step) = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= 6.0 + 1e-9)
    else {
        return ends();
    };
    // The scale's ends come from f32s: -0.4 is -0.4000000059604645 here.
    let first = (lo / step - 1e-6).ceil() as i64;
    let last = (hi / step + 1e-6).floor() as i64;
    if step < 1e-4 {
        return (first..=last)
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
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            (v as f32, format!("{v:.decimals$}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::Matrix;
    use crate::data::Split;
    use crate::export::tests::{meta, snapshot};

    fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    fn labels(scale: Scale) -> Vec<String> {
        ticks(scale).into_iter().map(|(_, s)| s).collect()
    }

    #[test]
    fn ticks_are_round_values_inside_the_scale() {
        assert_eq!(
            labels(Scale { lo: -0.4, hi: 0.4 }),
            ["-0.4", "-0.2", "0.0", "0.2", "0.4"]
        );
        assert_eq!(
            labels(Scale { lo: 0.0, hi: 0.28 }),
            ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25"]
        );
        assert_eq!(labels(Scale { lo: 0.0, hi: 3.3 }), ["0", "1", "2", "3"]);
        assert_eq!(labels(Scale { lo: -12.5, hi: 12.5 }), ["-10", "-5", "0", "5", "10"]);
        assert_eq!(
            labels(Scale { lo: 0.0, hi: 1.0 }),
            ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
        );
        assert_eq!(labels(Scale { lo: -2e-6, hi: 2e-6 })[2], "0.0e0");
        for (v, _) in ticks(Scale { lo: -0.37, hi: 0.37 }) {
            assert!(v.abs() <= 0.37);
        }
        assert_eq!(ticks(Scale { lo: 1.0, hi: 1.0 }).len(), 2);
    }

    #[test]
    fn headers_and_titles_fit() {
        let meta = Meta {
            checkpoint: Some("runs/a\r\nb".into()),
            ..meta()
        };
        let line = header(&meta);
        assert!(
            line.starts_with(
                "model: cm-bert   ·   cls_audio: zero   ·   checkpoint: runs/a  b   ·   split: test   ·   "
            ),
            "the usual entries first, on one line: {line}"
        );
        let names: Vec<&str> = line.split("   ·   ").filter_map(|e| e.split(':').next()).collect();
        assert!(
            !names.contains(&"audio") && !names.contains(&"wav"),
            "no value, no entry: {line}"
        );
        let faces = Faces::get().unwrap();
        let long = "WORD ".repeat(100);
        let s = fit(faces, TITLE, 800, &long, |t| format!("[{t}]"));
        assert!(faces.width(TITLE, &s) <= 800.0 && s.ends_with("…]"), "{s}");
        assert!(
            faces.width(TITLE, &format!("{s}WORD")) > 800.0 - faces.width(TITLE, "…]"),
            "as long as fits"
        );
        assert!(faces.width(TITLE, &format!("[{long}]")) > 800.0);
        assert_eq!(fit(faces, TITLE, 800, "short", |t| format!("[{t}]")), "[short]");
    }

    #[test]
    fn one_row_is_paper_sized_and_pixels_have_the_colormap_colours() {
        let s = snapshot(572);
        let items = [Item {
            snapshot: &s,
            text: "I THOUGHT IT WAS FUN",
            split: Split::Test,
            recording: None,
        }];
        let style = Style::default();
        let fig = Figure::new(&items, &meta(), &style).unwrap();
        let layout = fig.layout().clone();
        assert_eq!(layout.width, MIN_WIDTH as u32);
        let (w, h, px) = decode(&fig.png().unwrap());
        assert_eq!((w, h), (layout.width, layout.height));
        let pixel = |(x, y): (i32, i32)| {
            let i = (y as usize * w as usize + x as usize) * 3;
            Rgb(px[i], px[i + 1], px[i + 2])
        };
        for (k, view) in style.views(&s).iter().enumerate() {
            let map = layout.rows[0].heatmaps[k];
            assert_eq!(map.n, 4);
            assert!(map.cell >= MIN_CELL);
            let sc = scale(view);
            let cmap = style.colormap(view.matrix);
            for r in 0..4 {
                for c in 0..4 {
                    let expected = cmap.at(sc.unit(view.values[r][c]));
                    assert_eq!(pixel(map.cell_center(r, c)), expected, "{} ({r}, {c})", view.matrix);
                }
            }
            let (bx, by, bw, bh) = map.bar;
            assert!(bx + bw < w as i32 && by + bh < h as i32, "colour bar inside the figure");
            assert_eq!(pixel((bx + bw / 2, by)), cmap.at(1.0), "the bar's top is the high end");
            assert_eq!(pixel((bx + bw / 2, by + bh - 1)), cmap.at(0.0));
        }
        // Text is drawn: the title line holds dark pixels.
        let title_y = layout.rows[0].title_y;
        assert!((0..w as i32).any(|x| pixel((x, title_y)) == Rgb(34, 34, 34)));
    }

    #[test]
    fn svg_has_the_labels_and_rows_stack() {
        let a = snapshot(1);
        let b = snapshot(2);
        let items = [
            Item {
                snapshot: &a,
                text: "funny ok",
                split: Split::Test,
                recording: None,
            },
            Item {
                snapshot: &b,
                text: "second <one>",
                split: Split::Test,
                recording: None,
            },
        ];
        let style = Style {
            right: Matrix::WF,
            ..Style::default()
        };
        let fig = Figure::new(&items, &meta(), &style).unwrap();
        let layout = fig.layout();
        assert!(
            layout.header_y < layout.rows[0].title_y,
            "the metadata heads the figure"
        );
        let first = layout.rows[0].heatmaps[0];
        assert!(layout.rows[1].title_y > first.y + first.side());
        let svg = fig.svg().unwrap();
        assert!(svg.contains("second &lt;one&gt;"), "titles are escaped");
        assert!(svg.contains("W_f — fused scores"));
        assert_eq!(svg.matches("[CLS] → score").count(), 4);
        for label in ["funny", "ok", "[SEP]"] {
            let n = svg.matches(&format!(">\n{label}\n</text>")).count();
            assert_eq!(n, 8, "{label} on both axes of 4 heatmaps");
        }
        // W_f's diagonal is 0: the diverging map's middle.
        let zero = Colormap::red_blue().at(0.5).hex().to_uppercase();
        assert!(svg.contains(&format!("fill=\"{zero}\"")), "{zero}");
    }
}
