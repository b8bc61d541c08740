use super::*;
use crate::export::tests::{meta, snapshot};

/// A recording's tracks: voiced and loud inside each of `words`' spans.
fn contour(words: &[(&str, f64, f64)], hz: f32) -> Contour {
    let times: Vec<f64> = (0..100).map(|i| i as f64 * 0.01 + 0.005).collect();
    let inside = |t: f64| words.iter().any(|w| (w.1..w.2).contains(&t));
    Contour {
        title: String::new(),
        f0: times.iter().map(|&t| inside(t).then_some(hz)).collect(),
        energy: times.iter().map(|&t| if inside(t) { -20.0 } else { -90.0 }).collect(),
        times,
        words: words.iter().map(|w| (w.0.to_string(), w.1, w.2)).collect(),
    }
}

/// A leans on "funny", B on "ok"; A scores +0.85, B -0.40.
fn snapshots() -> [AttentionSnapshot; 2] {
    let mut a = snapshot(0);
    a.multimodal_attention[0] = vec![0.1, 0.5, 0.2, 0.1, 0.1];
    let mut b = snapshot(1);
    b.multimodal_attention[0] = vec![0.1, 0.1, 0.1, 0.6, 0.1];
    b.prediction = -0.4;
    b.prediction_without_audio = 0.8;
    [a, b]
}

fn takes(s: &[AttentionSnapshot; 2]) -> [Take<'_>; 2] {
    let spans = [("funny", 0.1, 0.4), ("ok", 0.5, 0.8)];
    [
        Take {
            wav: Path::new("pair/a.wav"),
            words: Path::new("pair/a.TextGrid"),
            snapshot: &s[0],
            contour: contour(&spans, 220.0),
        },
        Take {
            wav: Path::new("pair/b.wav"),
            words: Path::new("pair/b.TextGrid"),
            snapshot: &s[1],
            contour: contour(&spans, 180.0),
        },
    ]
}

#[test]
fn both_maps_their_difference_and_a_contour_panel_each() {
    let s = snapshots();
    let t = takes(&s);
    let fig = figure(&t, &meta()).unwrap();
    let layout = fig.layout();
    assert_eq!(layout.rows.len(), 1);
    assert_eq!(layout.rows[0].heatmaps.len(), 3, "A, B, B − A");
    assert_eq!(layout.contours.len(), 2, "A's tracks, then B's");
    assert!(layout.contours[1].f0.y > layout.contours[0].energy.y);
    let svg = String::from_utf8(render(&t, &meta(), Format::Svg).unwrap()).unwrap();
    for text in [
        "stress pair: &quot;funny ok&quot; — W_m (multimodal attention)",
        "A: a.wav",
        "B: b.wav",
        "prediction +0.85 (audio removed: +0.80)",
        "prediction -0.40 (audio removed: +0.80)",
        "B − A: W_m difference",
        "prediction B − A: -1.25",
        "A: a.wav — prediction +0.85 — F0 and energy, word by word",
        "B: b.wav — prediction -0.40 — F0 and energy, word by word",
    ] {
        assert!(svg.contains(text), "{text} in the SVG");
    }
    let png = render(&t, &meta(), Format::Png).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn the_json_holds_both_predictions_and_cls_rows() {
    let s = snapshots();
    let t = takes(&s);
    let json: serde_json::Value = serde_json::from_slice(&render(&t, &meta(), Format::Json).unwrap()).unwrap();
    assert_eq!(json["same_words"], true);
    let r = &json["recordings"];
    assert_eq!(r[0]["wav"], "pair/a.wav");
    assert_eq!(r[1]["words_file"], "pair/b.TextGrid");
    assert!((r[0]["prediction"].as_f64().unwrap() - 0.85).abs() < 1e-6);
    assert!((r[1]["prediction"].as_f64().unwrap() + 0.4).abs() < 1e-6);
    assert!((json["prediction_change"].as_f64().unwrap() + 1.25).abs() < 1e-6);
    // Word level: [CLS] funny ok [SEP]; "funny" is fun + ##ny (0.5 + 0.2 in A).
    let row = |k: usize| -> Vec<(String, f64)> { serde_json::from_value(r[k]["cls_row"].clone()).unwrap() };
    let (a, b) = (row(0), row(1));
    assert_eq!(
        a.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(),
        ["[CLS]", "funny", "ok", "[SEP]"]
    );
    assert!(
        (a[1].1 - 0.7).abs() < 1e-6 && (b[2].1 - 0.6).abs() < 1e-6,
        "{a:?} {b:?}"
    );
    assert_eq!(json["meta"]["checkpoint"], "runs/a/best");
    assert!(render(&t, &meta(), Format::Csv).is_err());
}

#[test]
fn different_words_are_drawn_without_a_difference_and_said() {
    let mut s = snapshots();
    s[1].tokens[3] = "fine".into();
    s[1].words[1] = "fine".into();
    let t = takes(&s);
    assert!(!same_words(&t));
    let fig = figure(&t, &meta()).unwrap();
    assert_eq!(fig.layout().rows[0].heatmaps.len(), 2, "no B − A of different words");
    let svg = fig.svg().unwrap();
    assert!(
        svg.contains("pair (the words differ): &quot;funny ok&quot; / &quot;funny fine&quot;"),
        "the title says so"
    );
}
