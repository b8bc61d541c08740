//! Where everything of a figure goes, in pixels: the metadata line, each row's title,
//! subtitles and heatmaps (cells as large as the width allows, column labels turned when they
//! do not fit), then the contour panels; titles too long for the width are cut short.

use super::super::text::{Faces, Font};
use super::contour::{self, Axes, Contour, ContourLayout};
use super::{
    ExportError, Figure, FigureRow, Row, BAR_GAP, BAR_W, HEADER, LABEL, LABEL_PAD, MARGIN, MAX_CELL, MIN_BAR_H,
    MIN_CELL, MIN_WIDTH, PANEL_GAP, ROW_GAP, SUBTITLE, SUBTITLE_LINE, TICK, TICK_LEN, TITLE,
};

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

impl Figure {
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
}

/// `make(text)`, with `text` cut short (and an ellipsis) until it fits `max_w` pixels.
pub(super) fn fit(faces: &Faces, font: Font, max_w: i32, text: &str, make: impl Fn(&str) -> String) -> String {
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
