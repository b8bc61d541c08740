use super::*;
use crate::colormap::{Rgb, Scale};
use crate::export::scale;
use crate::export::tests::snapshot;
use crate::train::{Inspection, Weights};

/// Test #6 recorded at `steps` (loss: step / 1000, none at step 0), its W_m drifting from
/// the diagonal to the first column as the steps go, its largest weight growing from 1.1 to
/// 2.0 (the other cells stay 0.1); dev #3 recorded once.
fn log(steps: &[usize]) -> AttentionLog {
    let mut log = AttentionLog::default();
    let last = *steps.last().unwrap_or(&1) as f32;
    for &step in steps {
        let mut s = snapshot(6);
        let t = step as f32 / last.max(1.0);
        s.multimodal_attention = (0..5)
            .map(|i| {
                (0..5)
                    .map(|j| 0.1 + (i == j) as u8 as f32 * (1.0 - t) + (j == 0) as u8 as f32 * t * 1.9)
                    .collect()
            })
            .collect();
        let inspection = Inspection {
            split: Split::Test,
            weights: Weights::Live { step },
            snapshot: s,
        };
        log.push(&inspection, (step > 0).then_some(step as f32 / 1000.0));
    }
    let dev = Inspection {
        split: Split::Dev,
        weights: Weights::Live { step: 7 },
        snapshot: snapshot(3),
    };
    log.push(&dev, Some(0.5));
    log
}

fn run_meta() -> RunMeta {
    RunMeta {
        run: "runs/a".into(),
        model: "cm-bert (cls-audio zero, preset scratch)".into(),
        bert: "from scratch".into(),
        data: "corpus".into(),
        theme: "paper".into(),
    }
}

fn track(log: &AttentionLog) -> &Track {
    choose(log, Path::new("runs/a/attention.safetensors"), Pick::First).unwrap()
}

/// One decoded frame of an APNG.
struct Frame {
    delay: (u16, u16),
    size: (u32, u32),
    pixels: Vec<u8>,
}

/// The frames the `acTL` chunk announces, and each decoded frame.
fn frames(apng: &[u8]) -> (u32, Vec<Frame>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(apng)).read_info().unwrap();
    let control = *reader.info().animation_control().expect("an acTL chunk");
    assert_eq!(control.num_plays, 0, "loops for ever");
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let mut out = Vec::new();
    for _ in 0..control.num_frames {
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb);
        let fctl = *reader.info().frame_control().expect("an fcTL chunk per frame");
        let pixels = buf[..info.buffer_size()].to_vec();
        out.push(Frame {
            delay: (fctl.delay_num, fctl.delay_den),
            size: (info.width, info.height),
            pixels,
        });
    }
    assert!(reader.next_frame(&mut buf).is_err(), "no frame past num_frames");
    (control.num_frames, out)
}

fn size(png_bytes: &[u8]) -> (u32, u32) {
    let reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
    let info = reader.info();
    assert!(info.animation_control().is_none(), "the strip is a still image");
    (info.width, info.height)
}

#[test]
fn steps_parse_as_numbers_or_last() {
    assert_eq!("last".parse::<StepPick>(), Ok(StepPick::Last));
    assert_eq!(" 200".parse::<StepPick>(), Ok(StepPick::Near(200)));
    assert_eq!(
        "-1".parse::<StepPick>(),
        Err("`-1` is not a step (a step number, or `last`)".into())
    );
    assert_eq!(StepPick::Near(3).to_string(), "3");
    assert_eq!(StepPick::Last.to_string(), "last");
}

#[test]
fn steps_pick_the_nearest_recorded_snapshot_in_step_order_once() {
    let log = log(&[0, 10, 25, 40, 80]);
    let s = &track(&log).snapshots;
    let at = |picks: &[StepPick]| nearest(s, picks);
    assert_eq!(at(&[StepPick::Near(0)]), [0]);
    assert_eq!(at(&[StepPick::Near(17)]), [1], "10 is nearer than 25");
    assert_eq!(at(&[StepPick::Near(18)]), [2], "25 is nearer than 10");
    assert_eq!(at(&[StepPick::Near(60)]), [3], "40 and 80 as near: the earlier");
    assert_eq!(at(&[StepPick::Near(5000)]), [4]);
    assert_eq!(at(&[StepPick::Last]), [4]);
    assert_eq!(
        at(&[
            StepPick::Last,
            StepPick::Near(1),
            StepPick::Near(79),
            StepPick::Near(24)
        ]),
        [0, 2, 4],
        "sorted by step, each once"
    );
    assert_eq!(nearest(&[], &[StepPick::Last]), Vec::<usize>::new());
}

#[test]
fn the_default_strip_spreads_five_panels_from_first_to_last() {
    assert_eq!(spread(10, DEFAULT_PANELS), [0, 2, 5, 7, 9]);
    assert_eq!(spread(64, DEFAULT_PANELS), [0, 16, 32, 47, 63]);
    assert_eq!(spread(3, DEFAULT_PANELS), [0, 1, 2], "all of fewer");
    assert_eq!(spread(2, 1), [1]);
}

#[test]
fn utterances_are_chosen_and_errors_are_one_line_naming_the_file() {
    let log = log(&[0, 10]);
    let file = Path::new("runs/a/attention.safetensors");
    assert_eq!(recorded(&log), "test #6, dev #3");
    assert_eq!(recorded(&AttentionLog::default()), "nothing");
    let first = choose(&log, file, Pick::First).unwrap();
    assert_eq!((first.split, first.index), (Split::Test, 6));
    let asked = choose(&log, file, Pick::Utterance(Split::Test, 6)).unwrap();
    assert_eq!(asked.snapshots.len(), 2);

    let err = choose(&log, file, Pick::Utterance(Split::Dev, 9)).unwrap_err();
    assert!(matches!(err, ThroughTrainingError::NotRecorded { .. }));
    assert_eq!(
        err.to_string(),
        "runs/a/attention.safetensors: dev #9 was not recorded; recorded: test #6, dev #3 (choose one with \
--split and --index)"
    );
    let err = choose(&log, file, Pick::Utterance(Split::Dev, 3)).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ThroughTrainingError::TooFew { count: 1, .. }), "{text}");
    assert!(
        text.starts_with(
            "runs/a/attention.safetensors: dev #3 has 1 recorded snapshot(s); an animation needs 2 or more"
        ),
        "{text}"
    );
    let err = choose(&AttentionLog::default(), file, Pick::First).unwrap_err();
    assert!(matches!(err, ThroughTrainingError::Nothing { .. }));
    assert!(err
        .to_string()
        .starts_with("runs/a/attention.safetensors: no utterance recorded"));

    let dir = tempfile::tempdir().unwrap();
    let err = read(dir.path()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ThroughTrainingError::Missing { .. }), "{text}");
    assert!(
        text.starts_with(&format!("{}: no such file", dir.path().join(ATTENTION).display())),
        "{text}"
    );
    assert!(
        text.contains("train --watch SPLIT:INDEX") && !text.contains('\n'),
        "{text}"
    );
    std::fs::write(dir.path().join(ATTENTION), "not safetensors").unwrap();
    let err = read(dir.path()).unwrap_err();
    assert!(matches!(err, ThroughTrainingError::Log(_)), "{err}");
    assert!(err.to_string().contains("not a recorded attention file"), "{err}");
}

const ATTENTION: &str = crate::train::attention_log::ATTENTION_FILE;

#[test]
fn the_animation_has_a_frame_per_snapshot_all_one_size_each_showing_its_step() {
    let steps = [0, 10, 25, 40, 80];
    let log = log(&steps);
    let track = track(&log);
    let style = Style::default();
    let apng = animation(track, &run_meta(), &style, 250).unwrap();
    let (count, frames) = frames(&apng);
    assert_eq!(count as usize, steps.len());
    let scales = shared_scales(track, &style);
    let figures = figures(track, &[0, 1, 2, 3, 4], &run_meta(), &style, scales).unwrap();
    let (w, h) = canvas(&figures);
    for (i, Frame { delay, size, pixels }) in frames.iter().enumerate() {
        assert_eq!(*size, (w, h), "frame {i} has the canvas's size");
        let hold = if i == steps.len() - 1 { 3 } else { 1 };
        assert_eq!(*delay, (250 * hold, 1000), "frame {i}'s delay");
        // Each frame is its snapshot's figure: W_m's cells have that snapshot's values, in
        // the colours of the export's one scale.
        let layout = figures[i].layout();
        let dx = (w - layout.width) as i32 / 2;
        let view = &style.views(&track.snapshots[i].snapshot)[1];
        let map = layout.rows[0].heatmaps[1];
        for (r, c) in [(0, 0), (1, 1), (1, 0), (2, 3)] {
            let (x, y) = map.cell_center(r, c);
            let k = (y as usize * w as usize + (x + dx) as usize) * 3;
            let expected = style.colormap(view.matrix).at(scales[1].unit(view.values[r][c]));
            assert_eq!(
                Rgb(pixels[k], pixels[k + 1], pixels[k + 2]),
                expected,
                "frame {i}, W_m ({r}, {c})"
            );
        }
    }
    assert_ne!(frames[0].pixels, frames[4].pixels, "the attention moves");
}

#[test]
fn titles_lead_with_the_step_and_the_loss() {
    let log = log(&[0, 120]);
    let track = track(&log);
    assert_eq!(caption(&track.snapshots[0]), "step 0 · no loss yet");
    assert_eq!(caption(&track.snapshots[1]), "step 120 · loss 0.1200");
    let style = Style::default();
    let figures = figures(track, &[1], &run_meta(), &style, shared_scales(track, &style)).unwrap();
    let svg = figures[0].svg().unwrap();
    assert!(
        svg.contains("step 120 · loss 0.1200 — test #6: &quot;funny ok&quot; — label +1.20, prediction +0.85"),
        "{svg}"
    );
    assert!(
        svg.contains("model: cm-bert (cls-audio zero, preset scratch)   ·   split: test")
            && svg.contains("run: runs/a   ·   step: 120"),
        "the header names the run and the step: {svg}"
    );
}

/// The RGB pixel at `at` of a decoded image `width` pixels across.
fn pixel(px: &[u8], width: u32, (x, y): (i32, i32)) -> Rgb {
    let i = (y as usize * width as usize + x as usize) * 3;
    Rgb(px[i], px[i + 1], px[i + 2])
}

/// The first frame of a PNG (the still image of a strip), with its width.
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes)).read_info().unwrap();
    let mut px = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut px).unwrap();
    px.truncate(info.buffer_size());
    (info.width, info.height, px)
}

#[test]
fn every_frame_shares_one_scale_per_matrix_the_max_over_all_snapshots() {
    let log = log(&[0, 10, 25, 40, 80]);
    let track = track(&log);
    let style = Style::default();
    let scales = shared_scales(track, &style);
    let first = &style.views(&track.snapshots[0].snapshot)[1];
    let last = &style.views(&track.snapshots[4].snapshot)[1];
    assert!(
        scale(first).hi < 1.5 && (scale(last).hi - 2.0).abs() < 1e-5,
        "the frames' own maxima differ: {:?} {:?}",
        scale(first),
        scale(last)
    );
    // W_m: from 0 to the largest weight of any snapshot; the same for α_T's scale.
    assert_eq!(
        scales[1],
        Scale {
            lo: 0.0,
            hi: scale(last).hi
        }
    );
    let alpha_hi = track
        .snapshots
        .iter()
        .map(|r| scale(&style.views(&r.snapshot)[0]).hi)
        .fold(0.0f32, f32::max);
    assert_eq!(scales[0], Scale { lo: 0.0, hi: alpha_hi });

    // The same weight is the same colour in the first and the last frame.
    let (_, frames) = frames(&animation(track, &run_meta(), &style, 400).unwrap());
    let figures = figures(track, &[0, 4], &run_meta(), &style, scales).unwrap();
    let (w, _) = canvas(&figures);
    let at = |f: usize, k: usize, r: usize, c: usize| {
        let layout = figures[f].layout();
        let (x, y) = layout.rows[0].heatmaps[1].cell_center(r, c);
        pixel(&frames[k].pixels, w, (x + (w - layout.width) as i32 / 2, y))
    };
    let n = first.values.len();
    let same: Vec<(usize, usize)> = (0..n)
        .flat_map(|r| (0..n).map(move |c| (r, c)))
        .filter(|&(r, c)| first.values[r][c] == last.values[r][c])
        .collect();
    assert!(!same.is_empty(), "some weight is unchanged");
    for (r, c) in same {
        assert_eq!(at(0, 0, r, c), at(1, 4, r, c), "W_m ({r}, {c}) in frames 0 and 4");
    }
    // The first frame's W_m colour bar reaches the common maximum (2.0), not its own (1.2):
    // its top tick is 2.0. (W_m on both sides, so that every tick is one of W_m's.)
    let wm = Style {
        left: Matrix::WM,
        ..Style::default()
    };
    let figures = super::figures(track, &[0], &run_meta(), &wm, shared_scales(track, &wm)).unwrap();
    let svg = figures[0].svg().unwrap();
    for tick in ["0.5", "1.5", "2.0"] {
        assert!(
            svg.contains(&format!(">\n{tick}\n</text>")),
            "tick {tick} on frame 0's bar"
        );
    }
}

#[test]
fn the_strip_is_one_figure_a_row_per_matrix_a_panel_per_step() {
    let log = log(&[0, 10, 25, 40, 80]);
    let track = track(&log);
    let style = Style::default();
    let scales = shared_scales(track, &style);
    let layouts: Vec<_> = (1..=5)
        .map(|n| {
            let which: Vec<usize> = (0..n).collect();
            let figure = strip_figure(track, &which, &run_meta(), &style).unwrap();
            let layout = figure.layout().clone();
            assert_eq!(layout.rows.len(), 2, "a row for --left and one for --right");
            for row in &layout.rows {
                assert_eq!(row.heatmaps.len(), n, "a panel per step");
            }
            let png = strip(track, &which, &run_meta(), &style).unwrap();
            assert_eq!(
                size(&png),
                (layout.width, layout.height),
                "the strip is that one figure"
            );
            layout
        })
        .collect();
    // Once the figure is wider than its minimum and the cells are at their smallest, each
    // step adds one panel's pitch to the width.
    let mut grown = 0;
    for n in 1..5 {
        let (before, after) = (&layouts[n - 1], &layouts[n]);
        let maps = &after.rows[0].heatmaps;
        if before.width > 1600 && before.rows[0].heatmaps[0].cell == maps[0].cell {
            assert_eq!(
                after.width - before.width,
                (maps[1].x - maps[0].x) as u32,
                "{n} to {} panels",
                n + 1
            );
            grown += 1;
        }
    }
    assert!(grown >= 1, "{:?}", layouts.iter().map(|l| l.width).collect::<Vec<_>>());
    assert!(
        layouts[4].width < 2 * 1600,
        "five panels, not five figures: {}",
        layouts[4].width
    );

    // Every panel on its row's shared scale: the strip's colours are the animation's.
    let which = [0, 2, 4];
    let figure = strip_figure(track, &which, &run_meta(), &style).unwrap();
    let (w, _, px) = decode(&figure.png().unwrap());
    for (p, &i) in which.iter().enumerate() {
        for (k, view) in style.views(&track.snapshots[i].snapshot).iter().enumerate() {
            let map = figure.layout().rows[k].heatmaps[p];
            for (r, c) in [(0, 0), (1, 1), (1, 0), (2, 3)] {
                let expected = style.colormap(view.matrix).at(scales[k].unit(view.values[r][c]));
                assert_eq!(
                    pixel(&px, w, map.cell_center(r, c)),
                    expected,
                    "step {i}, row {k}, ({r}, {c})"
                );
            }
        }
    }
    let svg = figure.svg().unwrap();
    for text in [
        "step 0 · no loss yet",
        "step 25 · loss 0.0250",
        "step 80 · loss 0.0800",
        "prediction +0.85 (audio removed: ",
        "test #6: &quot;funny ok&quot; — label +1.20 — alpha_t — text attention",
        "W_m — multimodal attention",
    ] {
        assert!(svg.contains(text), "{text} in the strip");
    }
    assert_eq!(svg.matches("funny ok").count(), 1, "one title");
    assert!(matches!(
        strip(track, &[], &run_meta(), &style),
        Err(ThroughTrainingError::Export(ExportError::Empty))
    ));
}
