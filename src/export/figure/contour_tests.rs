use super::*;
use crate::attention::{view, Level, Matrix};
use crate::colormap::{Colormap, Rgb};
use crate::export::figure::{Figure, FigureRow, Panel};

/// 1.2 s at 10 ms: "funny" 0.1-0.5 s voiced at 200 Hz rising to 240 Hz, a pause, "ok"
/// 0.7-1.1 s voiced at 150 Hz; loud in the words (-20 dB), silent between (-120 dB).
fn contour() -> Contour {
    let times: Vec<f64> = (0..120).map(|i| i as f64 * 0.01 + 0.005).collect();
    let in_word = |t: f64| (0.1..0.5).contains(&t) || (0.7..1.1).contains(&t);
    Contour {
        title: "A: a.wav".into(),
        f0: times
            .iter()
            .map(|&t| match t {
                t if (0.1..0.5).contains(&t) => Some(200.0 + 100.0 * (t - 0.1) as f32),
                t if (0.7..1.1).contains(&t) => Some(150.0),
                _ => None,
            })
            .collect(),
        energy: times.iter().map(|&t| if in_word(t) { -20.0 } else { -120.0 }).collect(),
        times,
        words: vec![("funny".into(), 0.1, 0.5), ("ok".into(), 0.7, 1.1)],
    }
}

fn row() -> FigureRow<'static> {
    let s = crate::export::tests::snapshot(1);
    let v = view(&s, Matrix::WM, Level::Word, true);
    let scale = Scale::for_range(v.range(), false);
    FigureRow {
        text: "funny ok".into(),
        title: Box::new(|t: &str| t.to_string()),
        panels: vec![Panel::new(v, scale, Colormap::blues(), vec!["W_m".into()])],
    }
}

fn decode(png_bytes: &[u8]) -> (u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    (info.width, buf)
}

#[test]
fn axes_are_shared_and_the_energy_floor_is_60_db_under_the_loudest_frame() {
    let a = contour();
    let mut b = contour();
    b.f0 = b.f0.iter().map(|v| v.map(|f| f * 0.5)).collect();
    b.words.push(("late".into(), 1.2, 1.5));
    let axes = Axes::of(&[a, b]);
    assert_eq!(axes.seconds, Scale { lo: 0.0, hi: 1.5 }, "the longest recording's end");
    // Voiced 75-239.5 Hz (B is A an octave down), a tenth of the range either side.
    let pad = (239.5 - 75.0) * 0.1;
    assert!((axes.f0.lo - (75.0 - pad)).abs() < 1e-3, "{:?}", axes.f0);
    assert!((axes.f0.hi - (239.5 + pad)).abs() < 1e-3, "{:?}", axes.f0);
    assert_eq!(axes.energy, Scale { lo: -80.0, hi: -19.0 });
    let silent = Contour {
        f0: vec![None; 3],
        ..contour()
    };
    assert_eq!(Axes::of(&[silent]).f0, Scale { lo: 50.0, hi: 400.0 }, "nothing voiced");
}

#[test]
fn runs_break_where_a_frame_is_missing() {
    let p = |x| Some((x, 0));
    let got = runs([p(0), p(1), None, None, p(4), None, p(6), p(7)].into_iter());
    assert_eq!(got, [vec![(0, 0), (1, 0)], vec![(4, 0)], vec![(6, 0), (7, 0)]]);
    assert!(runs([None, None].into_iter()).is_empty());
}

#[test]
fn the_panel_draws_f0_where_voiced_energy_everywhere_and_the_word_spans() {
    let c = contour();
    let fig = Figure::with_contours("header", vec![row()], vec![c.clone()]).unwrap();
    let layout = fig.layout().clone();
    let without = Figure::from_rows("header", vec![row()]).unwrap();
    assert_eq!(without.layout().contours, []);
    let at = &layout.contours[0];
    assert!(
        at.f0.y > layout.rows[0].heatmaps[0].y + layout.rows[0].heatmaps[0].side(),
        "under the heatmaps"
    );
    assert!(at.energy.y > at.f0.y + at.f0.h, "energy under F0");
    assert_eq!(at.energy.x, at.f0.x, "one time axis");
    assert!(
        layout.height as i32 > at.energy.y + at.energy.h,
        "the figure holds the panel"
    );
    assert!(!at.staggered, "both words fit their spans");

    let (w, px) = decode(&fig.png().unwrap());
    let pixel = |(x, y): (i32, i32)| {
        let i = (y as usize * w as usize + x as usize) * 3;
        Rgb(px[i], px[i + 1], px[i + 2])
    };
    let ink = |c: RGBColor| Rgb(c.0, c.1, c.2);
    let axes = Axes::of(std::slice::from_ref(&c));
    // Frame 30 (0.305 s, "funny", 220.5 Hz) is on the F0 line; frame 60 (0.605 s, the
    // pause) has no F0 anywhere in its column.
    let (x, y) = (
        at.f0.x_of(axes.seconds, c.times[30]),
        at.f0.y_of(axes.f0, c.f0[30].unwrap()),
    );
    assert_eq!(pixel((x, y)), ink(F0_INK));
    let x = at.f0.x_of(axes.seconds, c.times[60]);
    assert!((at.f0.y..at.f0.y + at.f0.h).all(|y| pixel((x, y)) != ink(F0_INK)));
    // The energy line is there in the pause too, at the floor.
    let y = at.energy.y_of(axes.energy, axes.energy.lo);
    assert_eq!(pixel((x, y)), ink(ENERGY_INK));
    let y = at.energy.y_of(axes.energy, -20.0);
    assert_eq!(pixel((at.f0.x_of(axes.seconds, c.times[30]), y)), ink(ENERGY_INK));
    // "funny" is tinted, the pause is not; the boundaries are lines.
    let mid = at.f0.y + 10;
    assert_eq!(pixel((at.f0.x_of(axes.seconds, 0.2), mid)), ink(SPAN_TINT));
    assert_eq!(pixel((at.f0.x_of(axes.seconds, 0.6), mid)), Rgb(255, 255, 255));
    for t in [0.1, 0.5, 0.7, 1.1] {
        assert_eq!(pixel((at.f0.x_of(axes.seconds, t), mid)), ink(MUTED), "{t} s");
    }

    let svg = fig.svg().unwrap();
    for text in [
        "A: a.wav",
        "F0 (Hz)",
        "energy (dB)",
        "time (s)",
        ">\nfunny\n<",
        ">\nok\n<",
    ] {
        assert!(svg.contains(text), "{text} in the SVG");
    }
}

#[test]
fn labels_wider_than_their_span_take_two_lines() {
    let mut c = contour();
    c.words = vec![("extraordinarily".into(), 0.1, 0.12), ("long".into(), 0.12, 0.14)];
    let fig = Figure::with_contours("header", vec![row()], vec![c]).unwrap();
    let at = &fig.layout().contours[0];
    assert!(at.staggered);
    let plain = Figure::with_contours("header", vec![row()], vec![contour()]).unwrap();
    let plain = &plain.layout().contours[0];
    assert!(
        at.f0.y - at.words_y > plain.f0.y - plain.words_y,
        "room for the second line"
    );
}
