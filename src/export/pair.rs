//! The two-run attention figure (`compare --attention-out FILE.png|svg`, issue 16 item 4):
//! one utterance both runs recorded, run A's W_m beside run B's on one shared scale (so the
//! same colour is the same weight in both), each titled with its run's label, prediction and
//! prediction with the audio removed, and a third heatmap of B minus A on the diverging
//! map, centred on zero. Drawn by the attention figures' renderer (`export::figure`).

use super::figure::{Figure, FigureRow, Panel};
use super::{ExportError, Format, Style};
use crate::attention::{Level, View};
use crate::colormap::Scale;
use crate::compare::attention::{Pair, TokensDiffer, COMPARED};

/// Why the figure was not drawn.
#[derive(Debug, thiserror::Error)]
pub enum PairFigureError {
    /// The runs tokenised the utterance differently: no difference to draw.
    #[error(transparent)]
    Tokens(#[from] TokensDiffer),
    /// Drawing or encoding failed.
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// The figure of `pair`, runs named `labels` (A, B), under the `header` line.
pub fn figure(pair: &Pair, labels: [&str; 2], header: &str) -> Result<Figure, PairFigureError> {
    // Word level with [CLS] and [SEP], as the paper's Figure 4.
    let (level, special) = (Level::Word, true);
    let diff = pair.difference(level, special)?;
    let views = pair.views(level, special);
    let subtitle = |k: usize, latest: &crate::compare::attention::Latest| {
        let s = &latest.snapshot;
        vec![
            format!("{}: {}", ["A", "B"][k], labels[k]),
            format!(
                "prediction {:+.2} (audio removed: {:+.2}), step {}",
                s.prediction, s.prediction_without_audio, latest.step
            ),
        ]
    };
    let difference = Difference {
        view: diff,
        subtitle: vec![
            format!("B − A: {} difference", COMPARED.name()),
            format!("prediction B − A: {:+.2}", pair.prediction_change()),
        ],
    };
    let panels = side_by_side(views, [subtitle(0, &pair.a), subtitle(1, &pair.b)], Some(difference));
    let snap = &pair.a.snapshot;
    let name = pair.name();
    let label = crate::data::label_text(snap.label, 2);
    let row = FigureRow {
        text: snap.words.join(" "),
        title: Box::new(move |t: &str| {
            format!(
                "{name}: \"{t}\" — label {label} — {} ({})",
                COMPARED.name(),
                COMPARED.caption()
            )
        }),
        panels,
    };
    Ok(Figure::from_rows(header, vec![row])?)
}

/// B − A of two views with the same labels, and the lines above it.
pub(crate) struct Difference {
    /// B's values minus A's.
    pub view: View,
    /// Its subtitle.
    pub subtitle: Vec<String>,
}

/// The panels of a two-sided figure: A's and B's views on one shared scale (the same colour
/// is the same weight in both), then B − A on the diverging map centred on zero, if given.
/// The two runs of `compare --attention-out` and the two recordings of a stress pair
/// (`export --wav A --wav B`, `export::stress_pair`) are drawn with these.
pub(crate) fn side_by_side(
    views: [View; 2],
    subtitles: [Vec<String>; 2],
    difference: Option<Difference>,
) -> Vec<Panel> {
    let (lo, hi) = views
        .iter()
        .map(View::range)
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), r| {
            (lo.min(r.0), hi.max(r.1))
        });
    let shared = Scale::for_range((lo, hi), false);
    let style = Style::default();
    let mut panels: Vec<Panel> = views
        .into_iter()
        .zip(subtitles)
        .map(|(view, subtitle)| Panel::new(view, shared, style.sequential.clone(), subtitle))
        .collect();
    if let Some(d) = difference {
        let scale = Scale::for_range(d.view.range(), true);
        panels.push(Panel::new(d.view, scale, style.diverging.clone(), d.subtitle));
    }
    panels
}

/// The figure's bytes in `format` (PNG or SVG; the table formats are refused).
pub fn render(pair: &Pair, labels: [&str; 2], header: &str, format: Format) -> Result<Vec<u8>, PairFigureError> {
    let fig = figure(pair, labels, header)?;
    Ok(match format {
        Format::Png => fig.png()?,
        Format::Svg => fig.svg()?.into_bytes(),
        Format::Json | Format::Csv => {
            return Err(ExportError::Draw(format!("a figure is PNG or SVG, not {format}")).into())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::colormap::{Colormap, Rgb};
    use crate::compare::attention::tests::log;
    use crate::compare::attention::{pair, Recording, Side};
    use crate::data::Split;

    fn pair_of(lean_a: usize, lean_b: usize) -> Pair {
        let a = Recording::from_log(&log(&[(Split::Test, 6, lean_a)]));
        let b = Recording::from_log(&log(&[(Split::Test, 6, lean_b)]));
        let side = |label, recording| Side {
            label,
            dir: std::path::Path::new("runs/x"),
            recording,
        };
        pair(side("zero", &a), side("learned", &b)).unwrap().remove(0)
    }

    #[test]
    fn three_heatmaps_the_difference_on_the_diverging_map() {
        let p = pair_of(1, 3);
        let fig = figure(&p, ["cls-audio zero", "cls-audio learned"], "model: cm-bert").unwrap();
        let layout = fig.layout().clone();
        assert_eq!(layout.rows[0].heatmaps.len(), 3);
        let maps = &layout.rows[0].heatmaps;
        assert!(
            maps[0].x < maps[1].x && maps[1].x < maps[2].x,
            "A, B, B − A left to right"
        );
        let bytes = fig.png().unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
        let mut px = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut px).unwrap();
        assert_eq!((info.width, info.height), (layout.width, layout.height));
        let pixel = |(x, y): (i32, i32)| {
            let i = (y as usize * info.width as usize + x as usize) * 3;
            Rgb(px[i], px[i + 1], px[i + 2])
        };
        // Word level: [CLS] funny ok [SEP]. A leans on "funny", B on "ok": B − A is the
        // diverging map's low end at "funny", its high end at "ok", its middle elsewhere.
        let red_blue = Colormap::red_blue();
        assert_eq!(pixel(maps[2].cell_center(0, 1)), red_blue.at(0.0));
        assert_eq!(pixel(maps[2].cell_center(0, 2)), red_blue.at(1.0));
        assert_eq!(pixel(maps[2].cell_center(0, 0)), red_blue.at(0.5));
        // A and B on one scale (A's largest weight is 0.7, B's 0.6): 0.1 is one colour.
        assert_eq!(pixel(maps[0].cell_center(1, 0)), pixel(maps[1].cell_center(1, 0)));
        let svg =
            String::from_utf8(render(&p, ["cls-audio zero", "cls-audio learned"], "h", Format::Svg).unwrap()).unwrap();
        for text in [
            "A: cls-audio zero",
            "B: cls-audio learned",
            "prediction +0.80 (audio removed: +0.75), step 8",
            "B − A: W_m difference",
            "prediction B − A: +0.00",
            "test #6: &quot;funny ok&quot; — label +1.20 — W_m (multimodal attention)",
        ] {
            assert!(svg.contains(text), "{text} in the SVG");
        }
    }

    #[test]
    fn different_tokens_draw_nothing() {
        let mut p = pair_of(1, 1);
        p.b.snapshot.tokens[2] = "##nies".into();
        let e = render(&p, ["a", "b"], "h", Format::Png).unwrap_err();
        assert!(matches!(e, PairFigureError::Tokens(_)), "{e}");
        assert!(render(&pair_of(1, 1), ["a", "b"], "h", Format::Csv).is_err());
    }
}
