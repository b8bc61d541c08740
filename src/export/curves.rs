//! Runs' curves and their metrics table as files (`compare --out`, `export --curves`): a
//! paper-style figure (PNG or SVG, drawn by the attention figures' pen and font) with the
//! loss (training loss smoothed as the training screen smooths it, dev loss per epoch) and
//! three dev metrics per epoch, one colour per row and a band from the lowest to the highest
//! seed of a `--seeds` run; the table as CSV or Markdown; every curve point as CSV. The dev
//! metrics drawn and the figures tabulated are those of the runs' data family
//! (`compare::Family`: the paper's, or MMSA's for MOSI/MOSEI or CH-SIMS).

use std::fmt::Write as _;
use std::path::Path;

use plotters::backend::{BitMapBackend, DrawingBackend, SVGBackend};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters::element::{Circle, PathElement, Polygon};
use plotters::style::text_anchor::HPos;
use plotters::style::{Color, RGBColor};

use super::figure::{
    draw_error, nice_ticks, tick_label, Direction, Lettering, Paint, Pen, FRAME, HEADER, INK, LABEL, MARGIN, MUTED,
    SUBTITLE, TICK, WHITE,
};
use super::text::Faces;
use super::ExportError;
use crate::compare::{BandPoint, Comparison, Family, Figure, Grouping, Row};

/// The training screen's default smoothing of the training loss (`RunState::ema_alpha`).
pub const EMA: f64 = 0.9;
/// Points per training curve in the figure: more than its pixels across.
const CURVE_POINTS: usize = 800;

const WIDTH: u32 = 1600;
const PANEL_H: i32 = 380;
const GAP: i32 = 110;
const TOP: i32 = 80;
const LEFT: i32 = 100;
const LEGEND_ROW: i32 = 34;

/// Colour-blind safe (Okabe and Ito), in the order rows take them.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

/// What `--out FILE` writes, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurvesFormat {
    /// The figure as a PNG.
    Png,
    /// The figure as an SVG.
    Svg,
    /// A table as CSV (`Contents` says which).
    Csv,
    /// The metrics table as Markdown.
    Markdown,
}

impl CurvesFormat {
    /// From `.png`, `.svg`, `.csv`, `.md`.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "png" => Some(Self::Png),
            "svg" => Some(Self::Svg),
            "csv" => Some(Self::Csv),
            "md" => Some(Self::Markdown),
            _ => None,
        }
    }
}

/// What a CSV holds: the metrics table (`compare`) or every point of the curves
/// (`export --curves`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// One line per row: the settings that differ and the table's figures.
    Comparison,
    /// One line per curve point.
    Curves,
}

/// The file's bytes.
pub fn render(cmp: &Comparison, format: CurvesFormat, contents: Contents) -> Result<Vec<u8>, ExportError> {
    if cmp.rows.is_empty() {
        return Err(ExportError::Empty);
    }
    Ok(match (format, contents) {
        (CurvesFormat::Png, _) => png(cmp)?,
        (CurvesFormat::Svg, _) => svg(cmp)?.into_bytes(),
        (CurvesFormat::Csv, Contents::Comparison) => table_csv(cmp)?.into_bytes(),
        (CurvesFormat::Csv, Contents::Curves) => points_csv(cmp)?.into_bytes(),
        (CurvesFormat::Markdown, _) => markdown(cmp).into_bytes(),
    })
}

/// The colour of row `i` in the figure.
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The figure's size in pixels for `rows` rows (the legend grows with them).
pub fn size(rows: usize) -> (u32, u32) {
    let h = TOP + 2 * PANEL_H + GAP + 90 + rows as i32 * LEGEND_ROW + 40;
    (WIDTH, h as u32)
}

/// The figure as an SVG document.
pub fn svg(cmp: &Comparison) -> Result<String, ExportError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size(cmp.rows.len())).into_drawing_area();
        draw(cmp, &root, Lettering::Svg)?;
        root.present().map_err(draw_error)?;
    }
    Ok(out)
}

/// The figure as an 8-bit RGB PNG.
pub fn png(cmp: &Comparison) -> Result<Vec<u8>, ExportError> {
    let (w, h) = size(cmp.rows.len());
    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        draw(cmp, &root, Lettering::Raster)?;
        root.present().map_err(draw_error)?;
    }
    super::figure::rgb_png(&pixels, w, h)
}

/// One panel's curves: per row a band of (x, mean, min, max), drawn as a line or markers.
struct Series {
    title: String,
    /// Per row: the training curve (a line) and the per-epoch points (markers).
    lines: Vec<(Vec<BandPoint>, Vec<BandPoint>)>,
}

fn series(cmp: &Comparison) -> [Series; 4] {
    let dev = |f: Figure| Series {
        title: match (f.mmsa_name(), f.percent()) {
            (Some(name), true) => format!("dev {} ({name}, %)", f.name()),
            (Some(name), false) => format!("dev {name}"),
            (None, true) => format!("dev {} (%)", f.name()),
            (None, false) => format!("dev {}", f.name()),
        },
        lines: cmp
            .rows
            .iter()
            .map(|r| (Vec::new(), r.dev_figure_band(|s| f.value(s))))
            .collect(),
    };
    let [mae, corr] = cmp.family.mae_corr();
    [
        Series {
            title: "loss: training (smoothed, EMA 0.9) and dev (●)".into(),
            lines: cmp
                .rows
                .iter()
                .map(|r: &Row| (r.train_band(EMA, CURVE_POINTS), r.dev_band()))
                .collect(),
        },
        dev(cmp.family.accuracy()),
        dev(mae),
        dev(corr),
    ]
}

fn draw<DB: DrawingBackend>(
    cmp: &Comparison,
    area: &DrawingArea<DB, Shift>,
    lettering: Lettering,
) -> Result<(), ExportError> {
    let pen = Pen {
        area,
        faces: Faces::get()?,
        lettering,
    };
    area.fill(&WHITE).map_err(draw_error)?;
    let mut header = String::new();
    if !cmp.differs.is_empty() {
        let names: Vec<&str> = cmp.differs.iter().map(|s| s.name()).collect();
        header += &format!("differ in: {}", names.join(", "));
    }
    let common = cmp.common();
    if !common.is_empty() {
        if !header.is_empty() {
            header += "  ·  ";
        }
        header += &format!("all: {}", common.join(", "));
    }
    if cmp.family != Family::Paper {
        header += &format!("  ·  figures: {}", cmp.family.short());
    }
    pen.text(&header, (MARGIN, 30), HEADER, MUTED, HPos::Left, Direction::Across)?;
    let x_max = cmp
        .rows
        .iter()
        .flat_map(|r| r.runs.iter())
        .flat_map(|r| {
            r.curves
                .train
                .iter()
                .map(|p| p.0)
                .chain(r.curves.dev.iter().map(|d| d.step as f64))
        })
        .fold(1.0f64, f64::max);
    let panel_w = (WIDTH as i32 - 2 * LEFT - GAP) / 2;
    for (k, s) in series(cmp).iter().enumerate() {
        let (col, row) = ((k % 2) as i32, (k / 2) as i32);
        let frame = Frame {
            x: LEFT + col * (panel_w + GAP),
            y: TOP + row * (PANEL_H + GAP),
            w: panel_w,
            h: PANEL_H,
            x_max,
        };
        panel(&pen, s, &frame)?;
    }
    // The legend: one line per row, its colour and label.
    let mut y = TOP + 2 * PANEL_H + GAP + 80;
    for (i, row) in cmp.rows.iter().enumerate() {
        let c = colour(i);
        pen.area
            .draw(&PathElement::new(vec![(LEFT, y), (LEFT + 40, y)], c.stroke_width(3)))
            .map_err(draw_error)?;
        let what = match row.grouping {
            Grouping::Seeds => format!(
                "{}  (mean of {} seeds; band: lowest to highest)",
                row.label,
                row.runs.len()
            ),
            Grouping::Single => row.label.clone(),
        };
        pen.text(&what, (LEFT + 52, y), LABEL, INK, HPos::Left, Direction::Across)?;
        y += LEGEND_ROW;
    }
    Ok(())
}

struct Frame {
    x: i32,
    y: i32,
    w: i32,
    h: i32,
    x_max: f64,
}

fn panel<DB: DrawingBackend>(pen: &Pen<DB>, s: &Series, f: &Frame) -> Result<(), ExportError> {
    pen.text(
        &s.title,
        (f.x + f.w / 2, f.y - 24),
        SUBTITLE,
        INK,
        HPos::Center,
        Direction::Across,
    )?;
    pen.rect((f.x, f.y), (f.x + f.w, f.y + f.h), FRAME, Paint::Outline)?;
    let values = s
        .lines
        .iter()
        .flat_map(|(a, b)| a.iter().chain(b))
        .flat_map(|p| [p.min, p.max])
        .filter(|v| v.is_finite());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        pen.text(
            "no dev evaluations",
            (f.x + f.w / 2, f.y + f.h / 2),
            LABEL,
            MUTED,
            HPos::Center,
            Direction::Across,
        )?;
        return Ok(());
    }
    let (lo, hi) = if hi > lo {
        (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    } else {
        (lo - 0.5, hi + 0.5)
    };
    let px = |x: f64| f.x + ((x / f.x_max) * f.w as f64).round() as i32;
    let py = |v: f64| f.y + f.h - (((v - lo) / (hi - lo)) * f.h as f64).round() as i32;
    for t in nice_ticks(lo, hi) {
        let y = py(t);
        pen.line((f.x - 6, y), (f.x, y), INK)?;
        pen.text(
            &tick_label(t, hi - lo),
            (f.x - 10, y),
            TICK,
            INK,
            HPos::Right,
            Direction::Across,
        )?;
    }
    for t in nice_ticks(0.0, f.x_max) {
        let x = px(t);
        pen.line((x, f.y + f.h), (x, f.y + f.h + 6), INK)?;
        pen.text(
            &tick_label(t, f.x_max),
            (x, f.y + f.h + 20),
            TICK,
            INK,
            HPos::Center,
            Direction::Across,
        )?;
    }
    pen.text(
        "step",
        (f.x + f.w / 2, f.y + f.h + 48),
        TICK,
        MUTED,
        HPos::Center,
        Direction::Across,
    )?;
    for (i, (line, marks)) in s.lines.iter().enumerate() {
        let c = colour(i);
        for points in [line, marks] {
            if points.iter().any(|p| p.max > p.min) {
                let mut outline: Vec<(i32, i32)> = points.iter().map(|p| (px(p.x), py(p.max))).collect();
                outline.extend(points.iter().rev().map(|p| (px(p.x), py(p.min))));
                pen.area
                    .draw(&Polygon::new(outline, c.mix(0.18).filled()))
                    .map_err(draw_error)?;
            }
        }
        let path = |points: &Vec<BandPoint>| points.iter().map(|p| (px(p.x), py(p.mean))).collect::<Vec<_>>();
        if !line.is_empty() {
            pen.area
                .draw(&PathElement::new(path(line), c.stroke_width(2)))
                .map_err(draw_error)?;
        }
        if !marks.is_empty() {
            // Dev points on the loss panel sit on the training line: dashed-free thin join.
            pen.area
                .draw(&PathElement::new(path(marks), c.mix(0.6).stroke_width(1)))
                .map_err(draw_error)?;
            for p in path(marks) {
                pen.area.draw(&Circle::new(p, 5, c.filled())).map_err(draw_error)?;
            }
        }
    }
    Ok(())
}

/// The metrics table: label, directory, runs, the differing settings, each column's mean
/// and standard deviation (empty for one run).
pub fn table_csv(cmp: &Comparison) -> Result<String, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["label", "dir", "runs"].map(String::from).to_vec();
    header.extend(cmp.differs.iter().map(|s| s.key().to_string()));
    let columns = cmp.columns();
    for c in &columns {
        header.push(c.key().into());
        header.push(format!("{}_std", c.key()));
    }
    header.push("best_in".into());
    w.write_record(&header)?;
    for (i, row) in cmp.rows.iter().enumerate() {
        let mut record = vec![
            row.label.clone(),
            row.dir.display().to_string(),
            row.runs.len().to_string(),
        ];
        record.extend(cmp.differs.iter().map(|s| row.settings[s].clone()));
        for c in &columns {
            let stat = c.stat(row);
            record.push(stat.map_or(String::new(), |s| s.mean.to_string()));
            record.push(stat.filter(|s| s.n > 1).map_or(String::new(), |s| s.std.to_string()));
        }
        let best: Vec<&str> = columns
            .iter()
            .filter(|c| cmp.best_row(**c) == Some(i))
            .map(|c| c.key())
            .collect();
        record.push(best.join(" "));
        w.write_record(&record)?;
    }
    finish(w)
}

/// Every point: label, run directory, series (`train_loss`, `dev_loss`, `dev_acc2`, ...,
/// `test_*`), step, epoch (dev and test), value. One line per run, not per row: a seed
/// group's runs are listed each. An evaluation's figures are its data family's
/// (`Figure::key`: `dev_acc2` the paper's, `dev_non0_acc2` MMSA's for MOSI/MOSEI,
/// `dev_sims_acc3` for CH-SIMS), accuracies and F1 in %.
pub fn points_csv(cmp: &Comparison) -> Result<String, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["label", "run", "series", "step", "epoch", "value"])?;
    for row in &cmp.rows {
        for run in &row.runs {
            let dir = run.dir.display().to_string();
            let mut put = |series: &str, step: String, epoch: String, value: f64| {
                let value = match value {
                    v if !v.is_finite() => String::new(),
                    // Training losses are f32 in the history: written as read, not widened
                    // (3.16, not 3.1600000858306885).
                    v if series == "train_loss" => (v as f32).to_string(),
                    v => v.to_string(),
                };
                w.write_record([row.label.as_str(), &dir, series, &step, &epoch, &value])
            };
            for &(step, loss) in &run.curves.train {
                put("train_loss", step.to_string(), String::new(), loss)?;
            }
            for d in &run.curves.dev {
                put("dev_loss", d.step.to_string(), d.epoch.to_string(), d.scores.loss)?;
                for f in d.scores.family().figures() {
                    let v = f.value(&d.scores);
                    put(&format!("dev_{}", f.key()), d.step.to_string(), d.epoch.to_string(), v)?;
                }
            }
            if let Some(t) = run.curves.test {
                put("test_loss", String::new(), String::new(), t.loss)?;
                for f in t.family().figures() {
                    put(&format!("test_{}", f.key()), String::new(), String::new(), f.value(&t))?;
                }
            }
        }
    }
    finish(w)
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<String, ExportError> {
    let bytes = w.into_inner().map_err(|e| ExportError::Draw(e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The metrics table in Markdown, the best of each column in bold, then what differs and
/// the notes.
pub fn markdown(cmp: &Comparison) -> String {
    let columns = cmp.columns();
    let mut out = String::from("| run |");
    for c in &columns {
        let _ = write!(out, " {} |", c.name());
    }
    out += "\n|---|";
    out += &"---:|".repeat(columns.len());
    out += "\n";
    for (i, row) in cmp.rows.iter().enumerate() {
        let _ = write!(out, "| {} |", row.label.replace('|', "\\|"));
        for &c in &columns {
            let cell = c.cell(c.stat(row));
            if cmp.best_row(c) == Some(i) {
                let _ = write!(out, " **{cell}** |");
            } else {
                let _ = write!(out, " {cell} |");
            }
        }
        out += "\n";
    }
    let _ = writeln!(
        out,
        "\n{}. Bold: the best row of a column. mean ± std over the seeds of a `--seeds` run.",
        cmp.figures_note()
    );
    if !cmp.differs.is_empty() {
        let names: Vec<&str> = cmp.differs.iter().map(|s| s.name()).collect();
        let _ = writeln!(out, "\nDiffer in: {}.", names.join(", "));
    }
    let common = cmp.common();
    if !common.is_empty() {
        let _ = writeln!(out, "All: {}.", common.join(", "));
    }
    out += "\n";
    for row in &cmp.rows {
        let _ = writeln!(out, "- {}: `{}`", row.label, row.dir.display());
    }
    for note in cmp.notes() {
        let _ = writeln!(out, "- note: {note}");
    }
    out
}

#[cfg(test)]
mod tests;
