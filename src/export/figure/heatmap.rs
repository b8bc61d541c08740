//! A heatmap of a figure: its cells in the panel's colour map, a frame, the `[CLS]` row
//! outlined, the labels on both axes; and its colour bar with round ticks.

use plotters::backend::DrawingBackend;
use plotters::style::text_anchor::HPos;

use super::{
    rgb, Direction, ExportError, Figure, HeatmapLayout, Paint, Panel, Pen, FRAME, INK, LABEL, LABEL_PAD, TICK, TICK_LEN,
};

impl Figure {
    pub(super) fn heatmap<DB: DrawingBackend>(
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
pub(super) fn colour_bar<DB: DrawingBackend>(
    pen: &Pen<DB>,
    panel: &Panel,
    map: &HeatmapLayout,
) -> Result<(), ExportError> {
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
