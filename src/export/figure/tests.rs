use super::layout::fit;
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
        line.starts_with("model: cm-bert   ·   cls_audio: zero   ·   checkpoint: runs/a  b   ·   split: test   ·   "),
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
