//! `export --through-training RUN` (issue 16, item 2), end to end through the binary: a tiny
//! real run records two watched utterances; the export writes the first one's recorded
//! attention as an animated PNG (one frame per recorded snapshot, all one size) and a strip
//! of steps, under new names in exports/ or at `--out` with the strip beside it; asking for
//! an utterance the run did not record, a run without the file, or a file with one snapshot
//! is a one-line error naming the file. Before, there was no such export.

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};

use cmbert::data::Split;
use cmbert::train::attention_log::{AttentionLog, ATTENTION_FILE};
use cmbert::train::{Inspection, Weights};
use common::*;

const SIZES: [usize; 3] = [24, 8, 6];

fn run_cli(dir: &Path, args: &[&str]) -> (i32, String, String) {
    cli_in(dir, args)
}

/// A 3-epoch tiny run watching dev #3 (first) and test #1.
fn trained(tmp: &Path) -> PathBuf {
    let data = tmp.join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.join("run");
    let mut args = train_args(&data, &tiny_bert(), &run);
    args.extend(
        [
            "--batch-size",
            "6",
            "--epochs",
            "3",
            "--watch",
            "dev:3",
            "--watch",
            "test:1",
        ]
        .map(String::from),
    );
    let (code, _, stderr) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    run
}

/// (frames the acTL chunk announces, each decoded frame's width and height).
fn apng_frames(path: &Path) -> (u32, Vec<(u32, u32)>) {
    let bytes = std::fs::read(path).unwrap();
    let mut reader = png::Decoder::new(Cursor::new(bytes)).read_info().unwrap();
    let control = *reader
        .info()
        .animation_control()
        .unwrap_or_else(|| panic!("{} is not animated", path.display()));
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let sizes = (0..control.num_frames)
        .map(|_| {
            let info = reader.next_frame(&mut buf).unwrap();
            (info.width, info.height)
        })
        .collect();
    (control.num_frames, sizes)
}

/// A still PNG's width and height.
fn still(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    let reader = png::Decoder::new(Cursor::new(bytes)).read_info().unwrap();
    assert!(reader.info().animation_control().is_none(), "{}", path.display());
    (reader.info().width, reader.info().height)
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn one_error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0]
}

#[test]
fn a_trained_run_exports_its_recorded_attention_as_an_animation_and_a_strip() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path());
    let log = AttentionLog::read(&run.join(ATTENTION_FILE)).unwrap();
    let dev = log.track(Split::Dev, 3);
    let test = log.track(Split::Test, 1);
    assert!(
        dev.len() >= 3 && test.len() >= 3,
        "{} and {} snapshots",
        dev.len(),
        test.len()
    );
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();

    // The defaults: the first recorded utterance (dev #3), new names in exports/.
    let (code, stdout, stderr) = run_cli(&work, &["export", "--through-training", &s(&run)]);
    assert_eq!(code, 0, "{stderr}");
    let exports = work.join("exports");
    let stem = "dev-0003-alpha-t-w-m-word";
    assert_eq!(
        names(&exports),
        [format!("{stem}-steps.png"), format!("{stem}-through-training.png")]
    );
    let (count, sizes) = apng_frames(&exports.join(format!("{stem}-through-training.png")));
    assert_eq!(count as usize, dev.len(), "one frame per recorded snapshot");
    assert!(
        sizes.windows(2).all(|w| w[0] == w[1]),
        "every frame one size: {sizes:?}"
    );
    let (frame_w, frame_h) = sizes[0];
    let (strip_w, strip_h) = still(&exports.join(format!("{stem}-steps.png")));
    let panels = dev.len().min(5) as u32;
    // One figure, a panel per step (not a frame's figure per step), a row per matrix.
    assert!(strip_w >= 1600 && strip_w < panels * frame_w, "{strip_w}");
    assert!(
        strip_h > frame_h,
        "two rows of heatmaps: {strip_h} (a frame: {frame_h})"
    );
    let (first, last) = (dev[0].step, dev[dev.len() - 1].step);
    assert!(
        stdout.contains(&format!(
            "(animated PNG: dev #3, {} frames, steps {first} to {last}, 400 ms a frame; alpha_t and W_m, word level)",
            dev.len()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("(strip: dev #3 at steps {first}, ")),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with(&format!(", {last})")), "{stdout}");

    // Again: new names, nothing replaced.
    let before = std::fs::read(exports.join(format!("{stem}-steps.png"))).unwrap();
    let (code, _, stderr) = run_cli(&work, &["export", "--through-training", &s(&run)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(names(&exports).len(), 4);
    assert!(exports.join(format!("{stem}-steps-2.png")).exists());
    assert_eq!(
        std::fs::read(exports.join(format!("{stem}-steps.png"))).unwrap(),
        before
    );

    // test #1 by --index (the split defaults to test, as for a checkpoint), two steps, a
    // checkpoint of the run standing for the run, --out naming the animation.
    let out = work.join("figs/anim.png");
    let args = |steps: &str| {
        [
            "export",
            "--through-training",
            &s(&run.join("best")),
            "--index",
            "1",
            "--steps",
            steps,
            "--frame-ms",
            "100",
            "--out",
            &s(&out),
        ]
        .map(String::from)
    };
    let cli_args = args("0,last");
    let (code, stdout, stderr) = run_cli(&work, &cli_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(names(&work.join("figs")), ["anim-steps.png", "anim.png"]);
    assert_eq!(apng_frames(&out).0 as usize, test.len());
    let two = still(&work.join("figs/anim-steps.png")).0;
    assert!(
        stdout.contains(&format!(
            "test #1 at steps {}, {})",
            test[0].step,
            test[test.len() - 1].step
        )),
        "{stdout}"
    );

    // The named file is kept without --force; with it, replaced, and the strip gets a new name.
    let (code, _, stderr) = run_cli(&work, &cli_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 2);
    assert!(one_error_line(&stderr).contains("anim.png already exists"), "{stderr}");
    // A step past the run's end: the last recorded one stands in, and the output says so.
    let (mid, last) = (test[test.len() / 2].step, test[test.len() - 1].step);
    let mut forced = args(&format!("0,{mid},{}", last + 100)).to_vec();
    forced.push("--force".into());
    let (code, stdout, stderr) = run_cli(&work, &forced.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        names(&work.join("figs")),
        ["anim-steps-2.png", "anim-steps.png", "anim.png"]
    );
    let three = still(&work.join("figs/anim-steps-2.png")).0;
    assert!(three > two, "a panel more, a wider strip: {two} then {three}");
    assert!(
        stdout.contains(&format!("{} -> {last}", last + 100)),
        "the nearest step is said: {stdout}"
    );
}

#[test]
fn what_was_not_recorded_is_a_one_line_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let run = trained(tmp.path());
    let file = run.join(ATTENTION_FILE);
    let dir = tmp.path();

    let (code, _, stderr) = run_cli(dir, &["export", "--through-training", &s(&run), "--index", "5"]);
    assert_eq!(code, 2);
    assert_eq!(
        one_error_line(&stderr),
        format!(
            "error: {}: test #5 was not recorded; recorded: dev #3, test #1 (choose one with --split and --index)",
            file.display()
        )
    );
    let (code, _, stderr) = run_cli(dir, &["export", "--through-training", &s(&run), "--split", "dev"]);
    assert_eq!(code, 2);
    assert!(
        one_error_line(&stderr).contains("--split dev without --index: say which utterance; "),
        "{stderr}"
    );
    let (code, _, stderr) = run_cli(
        dir,
        &[
            "export",
            "--through-training",
            &s(&run),
            "--out",
            &s(&dir.join("a.gif")),
        ],
    );
    assert_eq!(code, 2);
    assert!(one_error_line(&stderr).ends_with("give --out a .png name"), "{stderr}");
    assert!(!dir.join("a.gif").exists() && !dir.join("exports").exists());

    // A run that recorded nothing.
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, stderr) = run_cli(dir, &["export", "--through-training", &s(&empty)]);
    assert_eq!(code, 2);
    let line = one_error_line(&stderr);
    assert!(
        line.starts_with(&format!(
            "error: {}: no such file",
            empty.join(ATTENTION_FILE).display()
        )) && line.contains("--watch"),
        "{stderr}"
    );

    // One snapshot: nothing to animate.
    let one = AttentionLog::read(&file).unwrap().tracks[0].snapshots[0].clone();
    let mut single = AttentionLog::default();
    single.push(
        &Inspection {
            split: Split::Dev,
            weights: Weights::Live { step: one.step },
            snapshot: one.snapshot,
        },
        one.loss,
    );
    single.write(&empty.join(ATTENTION_FILE)).unwrap();
    let (code, _, stderr) = run_cli(dir, &["export", "--through-training", &s(&empty)]);
    assert_eq!(code, 2);
    assert!(
        one_error_line(&stderr).starts_with(&format!(
            "error: {}: dev #3 has 1 recorded snapshot(s); an animation needs 2 or more",
            empty.join(ATTENTION_FILE).display()
        )),
        "{stderr}"
    );
    assert!(!dir.join("exports").exists(), "no file written on an error");

    // Options of the export that make no sense here are refused by clap.
    let (code, _, stderr) = run_cli(dir, &["export", "--through-training", &s(&run), "--figure4"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run_cli(
        dir,
        &["export", "--checkpoint", &s(&run), "--index", "1", "--steps", "3"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        one_error_line(&stderr),
        "error: --steps and --frame-ms go with --through-training RUN (the attention a run recorded)"
    );
    let (code, _, stderr) = run_cli(dir, &["export", "--index", "1", "--frame-ms", "50"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--through-training"), "{stderr}");
    let (code, _, stderr) = run_cli(dir, &["export", "--through-training", &s(&run), "--steps", "x"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`x` is not a step"), "{stderr}");
}
