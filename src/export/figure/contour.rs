//! The contour panel of a figure: one recording's frame-level F0 and energy (the tracks the
//! acoustic extractor computes on its 10 ms grid, `acoustic::analyse`) over time, the word
//! boundaries marked and the words named above, so that a reader sees which words were said
//! higher and louder. A stress pair's figure (`export::stress_pair`) puts one under the
//! heatmaps for each recording, on shared axes (the same height is the same pitch, the same
//! place the same time), so the two stress patterns compare at a glance.

use plotters::backend::DrawingBackend;
use plotters::style::text_anchor::HPos;
use plotters::style::RGBColor;

use super::{ticks, Direction, Paint, Pen, FRAME, INK, LABEL, MUTED, SUBTITLE, TICK, TICK_LEN};
use crate::colormap::Scale;
use crate::export::text::{Faces, Font};
use crate::export::ExportError;

/// One recording's tracks, as the panel draws them.
#[derive(Debug, Clone, PartialEq)]
pub struct Contour {
    /// The line above the panel (the recording and its prediction).
    pub title: String,
    /// Frame centre times, seconds.
    pub times: Vec<f64>,
    /// F0 per frame, Hz; `None` where unvoiced (no line is drawn there).
    pub f0: Vec<Option<f32>>,
    /// Energy per frame, dB (re full scale).
    pub energy: Vec<f32>,
    /// The words and their spans, seconds.
    pub words: Vec<(String, f64, f64)>,
}

/// Energy more than this far below the loudest frame of the figure is drawn at the floor:
/// silence between words would otherwise stretch the axis over 100 dB.
pub const ENERGY_RANGE_DB: f32 = 60.0;

/// The axes every contour panel of a figure shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axes {
    /// Seconds, 0 to the longest recording's end.
    pub seconds: Scale,
    /// Hz, the voiced frames' range with a margin.
    pub f0: Scale,
    /// dB, `ENERGY_RANGE_DB` below the loudest frame up to it.
    pub energy: Scale,
}

impl Axes {
    /// Axes that hold every contour.
    pub fn of(contours: &[Contour]) -> Self {
        let end = contours
            .iter()
            .flat_map(|c| c.times.last().copied().into_iter().chain(c.words.iter().map(|w| w.2)))
            .fold(0.0f64, f64::max);
        let voiced = contours.iter().flat_map(|c| c.f0.iter().flatten().copied());
        let (lo, hi) = voiced.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let f0 = if lo.is_finite() {
            let pad = ((hi - lo) * 0.1).max(5.0);
            Scale {
                lo: (lo - pad).max(0.0),
                hi: hi + pad,
            }
        } else {
            // Nothing voiced: an axis all the same, the panel's lines absent.
            Scale { lo: 50.0, hi: 400.0 }
        };
        let loudest = contours
            .iter()
            .flat_map(|c| c.energy.iter().copied())
            .filter(|e| e.is_finite())
            .fold(f32::NEG_INFINITY, f32::max);
        let top = if loudest.is_finite() { loudest.ceil() } else { 0.0 };
        Self {
            seconds: Scale {
                lo: 0.0,
                hi: (end as f32).max(0.1),
            },
            f0,
            energy: Scale {
                lo: top - ENERGY_RANGE_DB,
                hi: top + 1.0,
            },
        }
    }
}

/// A plot's box, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotBox {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub w: i32,
    /// Height.
    pub h: i32,
}

impl PlotBox {
    /// The pixel column of `t` seconds.
    pub fn x_of(&self, scale: Scale, t: f64) -> i32 {
        self.x + (scale.unit(t as f32).clamp(0.0, 1.0) * (self.w - 1) as f32).round() as i32
    }

    /// The pixel row of `v` on `scale` (the top is the high end).
    pub fn y_of(&self, scale: Scale, v: f32) -> i32 {
        self.y + ((1.0 - scale.unit(v).clamp(0.0, 1.0)) * (self.h - 1) as f32).round() as i32
    }
}

/// Where one contour panel is.
#[derive(Debug, Clone, PartialEq)]
pub struct ContourLayout {
    /// Vertical centre of the title.
    pub title_y: i32,
    /// Vertical centre of the word labels (the first of their lines).
    pub words_y: i32,
    /// Word labels take two staggered lines (some do not fit their span).
    pub staggered: bool,
    /// The F0 plot.
    pub f0: PlotBox,
    /// The energy plot, under it on the same time axis.
    pub energy: PlotBox,
}

pub(super) const F0_H: i32 = 170;
pub(super) const ENERGY_H: i32 = 110;
const PLOT_GAP: i32 = 12;
/// Room left of the plots for the tick labels and the axis name.
const AXIS_W: i32 = 96;
/// Under the energy plot: the seconds' ticks and "time (s)".
const TIME_AXIS_H: i32 = 46;
const PANEL_GAP: i32 = 34;

pub(super) const F0_INK: RGBColor = RGBColor(31, 100, 180);
pub(super) const ENERGY_INK: RGBColor = RGBColor(214, 95, 14);
/// Every other word's span is tinted, so that spans read without counting lines.
pub(super) const SPAN_TINT: RGBColor = RGBColor(240, 240, 240);
const LINE_W: u32 = 2;

/// Lays out `contours` one under the other from `y`, `left` to `left + width`; returns
/// their layouts and where the next thing would start (`y` itself without contours).
pub(super) fn layout(
    contours: &[Contour],
    axes: &Axes,
    faces: &Faces,
    left: i32,
    width: i32,
    mut y: i32,
) -> (Vec<ContourLayout>, i32) {
    let line = |font: Font, spacing: f32| (font.size * spacing).round() as i32;
    let plot_x = left + AXIS_W;
    let plot_w = (width - AXIS_W).max(100);
    let mut out = Vec::new();
    for c in contours {
        let title_y = y + line(SUBTITLE, 0.5);
        y += line(SUBTITLE, 1.6);
        let f0 = PlotBox {
            x: plot_x,
            y,
            w: plot_w,
            h: F0_H,
        };
        // The labels go above the plots, centred on their spans; two staggered lines when
        // one of them is wider than its span.
        let staggered = c.words.iter().any(|(word, start, end)| {
            let span = f0.x_of(axes.seconds, *end) - f0.x_of(axes.seconds, *start);
            faces.width(LABEL, word).ceil() as i32 + 4 > span
        });
        let words_y = y + line(LABEL, 0.5);
        y += line(LABEL, if staggered { 2.6 } else { 1.4 });
        let f0 = PlotBox { y, ..f0 };
        let energy = PlotBox {
            y: y + F0_H + PLOT_GAP,
            h: ENERGY_H,
            ..f0
        };
        y = energy.y + ENERGY_H + TIME_AXIS_H + PANEL_GAP;
        out.push(ContourLayout {
            title_y,
            words_y,
            staggered,
            f0,
            energy,
        });
    }
    // As after a row of heatmaps: the figure's bottom margin follows one ROW_GAP up.
    let end = if out.is_empty() {
        y
    } else {
        y - PANEL_GAP + super::ROW_GAP
    };
    (out, end)
}

/// Draws one panel.
pub(super) fn draw<DB: DrawingBackend>(
    pen: &Pen<DB>,
    c: &Contour,
    axes: &Axes,
    at: &ContourLayout,
) -> Result<(), ExportError> {
    let (f0, energy) = (at.f0, at.energy);
    pen.text(
        &c.title,
        (f0.x - AXIS_W, at.title_y),
        SUBTITLE,
        INK,
        HPos::Left,
        Direction::Across,
    )?;
    let top = f0.y;
    let bottom = energy.y + energy.h;
    for (k, (word, start, end)) in c.words.iter().enumerate() {
        let (x0, x1) = (f0.x_of(axes.seconds, *start), f0.x_of(axes.seconds, *end));
        if k % 2 == 0 && x1 > x0 {
            for b in [f0, energy] {
                pen.rect((x0, b.y), (x1, b.y + b.h), SPAN_TINT, Paint::Fill)?;
            }
        }
        let line = if at.staggered { k % 2 } else { 0 };
        let y = at.words_y + line as i32 * (LABEL.size * 1.2).round() as i32;
        pen.text(word, ((x0 + x1) / 2, y), LABEL, INK, HPos::Center, Direction::Across)?;
    }
    // Boundaries over the tint, under the tracks.
    for (_, start, end) in &c.words {
        for t in [start, end] {
            let x = f0.x_of(axes.seconds, *t);
            pen.line((x, top), (x, bottom), MUTED)?;
        }
    }
    for (b, scale, name) in [(f0, axes.f0, "F0 (Hz)"), (energy, axes.energy, "energy (dB)")] {
        pen.rect((b.x - 1, b.y - 1), (b.x + b.w, b.y + b.h), FRAME, Paint::Outline)?;
        for (v, text) in ticks(scale) {
            let y = b.y_of(scale, v);
            pen.line((b.x - TICK_LEN, y), (b.x - 1, y), INK)?;
            pen.text(
                &text,
                (b.x - TICK_LEN - 4, y),
                TICK,
                INK,
                HPos::Right,
                Direction::Across,
            )?;
        }
        let mid = b.y + b.h / 2;
        pen.text(name, (b.x - AXIS_W + 12, mid), TICK, INK, HPos::Center, Direction::Up)?;
    }
    for (v, text) in ticks(axes.seconds) {
        let x = energy.x_of(axes.seconds, v as f64);
        pen.line((x, bottom), (x, bottom + TICK_LEN), INK)?;
        let y = bottom + TICK_LEN + (TICK.size * 0.7) as i32;
        pen.text(&text, (x, y), TICK, INK, HPos::Center, Direction::Across)?;
    }
    pen.text(
        "time (s)",
        (energy.x + energy.w, bottom + TIME_AXIS_H - (TICK.size * 0.5) as i32),
        TICK,
        MUTED,
        HPos::Right,
        Direction::Across,
    )?;
    // F0 only where voiced: a run of voiced frames is one line, a lone one a dot.
    let f0_points = c
        .times
        .iter()
        .zip(&c.f0)
        .map(|(&t, v)| v.map(|v| (f0.x_of(axes.seconds, t), f0.y_of(axes.f0, v))));
    for run in runs(f0_points) {
        pen.polyline(&run, F0_INK, LINE_W)?;
    }
    let floor = axes.energy.lo;
    let energy_points = c
        .times
        .iter()
        .zip(&c.energy)
        .map(|(&t, &e)| Some((energy.x_of(axes.seconds, t), energy.y_of(axes.energy, e.max(floor)))));
    for run in runs(energy_points) {
        pen.polyline(&run, ENERGY_INK, LINE_W)?;
    }
    Ok(())
}

/// The unbroken runs of points (`None` breaks a run).
fn runs(points: impl Iterator<Item = Option<(i32, i32)>>) -> Vec<Vec<(i32, i32)>> {
    let mut out: Vec<Vec<(i32, i32)>> = vec![Vec::new()];
    for p in points {
        match p {
            Some(p) => out.last_mut().map_or((), |run| run.push(p)),
            None if out.last().is_some_and(|r| !r.is_empty()) => out.push(Vec::new()),
            None => {}
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

/// Every text a panel draws, for the figure's choice of font.
pub(super) fn texts(c: &Contour) -> impl Iterator<Item = &str> {
    std::iter::once(c.title.as_str())
        .chain(c.words.iter().map(|w| w.0.as_str()))
        .chain(["F0 (Hz)", "energy (dB)", "time (s)"])
}

#[cfg(test)]
#[path = "contour_tests.rs"]
mod tests;
