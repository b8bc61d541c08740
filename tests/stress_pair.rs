//! Two recordings as a stress pair (issue 19 item 3), without espeak-ng: the committed pair
//! (tests/fixtures/stress_pair/: the same words, the stress on opposite clauses) through tiny
//! CM-BERTs trained here on the committed speech fixtures' prosody features. `export` writes
//! the figure and its JSON with both predictions (those `eval` gives the pair); the paper's
//! variant (`--cls-audio zero`) gives both recordings the same score, bit for bit, a variant
//! that reads the voice does not; `open` shows both in the app (under a pseudo-terminal); bad
//! pairs are refused with the file or the counts named.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use candle_core::Device;
use cmbert::checkpoint::Checkpoint;
use cmbert::cli::{ExportArgs, FeaturesArgs, Take};
use cmbert::commands::Trained;
use cmbert::data::{Dataset, Split, TextEncoder};
use cmbert::model::{ClsAudio, ModelKind};
use cmbert::train::{RunSpec, Trainer};
use common::*;
use crossbeam_channel::unbounded;

fn pair_dir() -> PathBuf {
    fixtures().join("stress_pair")
}

fn takes() -> Vec<Take> {
    ["a", "b"]
        .map(|k| Take {
            wav: pair_dir().join(format!("{k}.wav")),
            words: pair_dir().join(format!("{k}.TextGrid")),
        })
        .to_vec()
}

/// Checkpoints trained once for every test here: `best/` of `zero` and of `mean`.
struct Models {
    _dir: tempfile::TempDir,
    zero: PathBuf,
    mean: PathBuf,
}

fn models() -> &'static Models {
    static MODELS: OnceLock<Models> = OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let speech = fixtures().join("speech");
        let features = dir.path().join("prosody.jsonl");
        cmbert::commands::features::run(FeaturesArgs {
            audio_dir: speech.clone(),
            alignments: speech.clone(),
            data: speech.clone(),
            out: features.clone(),
            set: "prosody-v1".into(),
            force: false,
        })
        .unwrap();
        let encoder = TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap();
        let train = |cls_audio: ClsAudio, name: &str| {
            let mut spec = RunSpec::paper(speech.clone(), tiny_bert(), ModelKind::CmBert);
            spec.audio = Some(features.clone());
            spec.cls_audio = cls_audio;
            spec.epochs = 2;
            spec.batch_size = 4;
            spec.out = Some(dir.path().join(name));
            let data = Dataset::load(&spec.data, spec.audio.as_deref(), &encoder, 5).unwrap();
            let scaling = data.audio.features.clone();
            let mut trainer = Trainer::new(
                spec,
                &Checkpoint::load(&tiny_bert(), &Device::Cpu).unwrap(),
                5,
                &Device::Cpu,
            )
            .unwrap()
            .with_audio_features(scaling);
            let (tx, _rx) = unbounded();
            let (_ctx, crx) = unbounded();
            trainer.run(&data, &tx, &crx).unwrap().expect("finished");
            dir.path().join(name).join("best")
        };
        Models {
            zero: train(ClsAudio::Zero, "zero"),
            mean: train(ClsAudio::Mean, "mean"),
            _dir: dir,
        }
    })
}

/// The JSON `export` writes for the pair, and the predictions in it.
fn exported(best: &Path, takes: &[Take], dir: &Path) -> (serde_json::Value, [f32; 2]) {
    let out = dir.join("pair.json");
    cmbert::commands::export::run(recording_export_args(best, takes, &out)).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let p = |k: usize| json["recordings"][k]["prediction"].as_f64().unwrap() as f32;
    (json.clone(), [p(0), p(1)])
}

#[test]
fn export_writes_one_figure_of_both_and_the_predictions_eval_gives() {
    let m = models();
    let tmp = tempfile::tempdir().unwrap();
    for (name, best) in [("zero", &m.zero), ("mean", &m.mean)] {
        let (json, [a, b]) = exported(best, &takes(), tmp.path());
        assert_eq!(json["same_words"], true, "{name}");
        let words = &json["recordings"][0]["words"];
        assert_eq!(words[1], "ADORED", "{name}: {json}");
        assert_eq!(words, &json["recordings"][1]["words"]);
        assert_eq!(json["recordings"][1]["wav"], takes()[1].wav.display().to_string());
        assert_eq!(
            json["recordings"][0]["words_file"],
            takes()[0].words.display().to_string()
        );
        // The files are each recording's: the meta has no `wav` or `words` (once empty), and
        // keeps what both share.
        let meta = json["meta"].as_object().unwrap();
        assert!(
            !meta.contains_key("wav") && !meta.contains_key("words"),
            "{name}: {meta:?}"
        );
        assert_eq!(meta["checkpoint"], best.display().to_string(), "{name}");
        assert_eq!(meta["cls_audio"], name, "{name}");
        assert_eq!(meta["eval_batch_size"], 24, "{name}");
        // The predictions are eval's on the two recordings, scored in one batch.
        let trained = Trained::open(best, &Device::Cpu).unwrap();
        let data = trained.recordings(&takes()).unwrap();
        let eval = cmbert::train::evaluate(
            &trained.model,
            data.split(Split::Test),
            24,
            trained.head.audio_dim,
            &Device::Cpu,
        )
        .unwrap();
        assert_eq!(eval.predictions, [a, b], "{name}");
        let rows = json["recordings"][0]["cls_row"].as_array().unwrap();
        assert_eq!(rows.len(), 11, "{name}: [CLS], 9 words, [SEP]");
        std::fs::remove_file(tmp.path().join("pair.json")).unwrap();
        if name == "zero" {
            // The paper's variant never reads the voice: the same words, the same score.
            assert_eq!(a.to_bits(), b.to_bits(), "zero: {a} vs {b}");
            assert_eq!(json["prediction_change"], 0.0);
        } else {
            assert!((a - b).abs() > 1e-6, "mean reads the voice: {a} vs {b}");
        }
    }

    // The figure, both ways: one PNG, one SVG naming both recordings and their contours.
    let png = tmp.path().join("pair.png");
    cmbert::commands::export::run(recording_export_args(&m.mean, &takes(), &png)).unwrap();
    let bytes = std::fs::read(&png).unwrap();
    let reader = png::Decoder::new(std::io::Cursor::new(&bytes)).read_info().unwrap();
    let (w, h) = (reader.info().width, reader.info().height);
    assert!(
        w >= 1600 && h > w / 2,
        "heatmaps and two contour panels under them: {w}x{h}"
    );
    let svg_path = tmp.path().join("pair.svg");
    cmbert::commands::export::run(recording_export_args(&m.mean, &takes(), &svg_path)).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    for text in [
        "A: a.wav",
        "B: b.wav",
        "stress pair: &quot;I ADORED THE DIALOGUE BUT I MISSED THE FINALE&quot;",
        "B − A: W_m difference",
        "F0 (Hz)",
        "energy (dB)",
        "cls_audio: mean",
    ] {
        assert!(svg.contains(text), "{text} in the SVG");
    }
    // An existing file is kept without --force; CSV is not a pair's format.
    let err = format!(
        "{:#}",
        cmbert::commands::export::run(recording_export_args(&m.mean, &takes(), &png)).unwrap_err()
    );
    assert!(err.contains("already exists") && err.contains("--force"), "{err}");
    let err = format!(
        "{:#}",
        cmbert::commands::export::run(recording_export_args(&m.mean, &takes(), &tmp.path().join("p.csv"))).unwrap_err()
    );
    assert!(err.contains("p.csv") && err.contains("not csv"), "{err}");
}

#[test]
fn bad_pairs_are_refused_naming_what_is_wrong_and_other_words_are_said() {
    let m = models();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("x.json");
    let run = |args: ExportArgs| format!("{:#}", cmbert::commands::export::run(args).unwrap_err());

    let mut args = recording_export_args(&m.mean, &takes(), &out);
    args.recording.words.pop();
    let err = run(args);
    assert!(err.starts_with("2 --wav but 1 --words"), "{err}");

    let three: Vec<Take> = takes().into_iter().chain(takes().into_iter().take(1)).collect();
    let err = run(recording_export_args(&m.mean, &three, &out));
    assert!(err.contains("3 recordings"), "{err}");

    let mut missing = takes();
    missing[1].wav = tmp.path().join("nowhere.wav");
    let err = run(recording_export_args(&m.mean, &missing, &out));
    assert!(err.contains("nowhere.wav"), "{err}");
    assert!(!out.exists(), "nothing written");

    // A B that is not a WAV: the binary's one line names the file once, and which take it is
    // (before, "the recording J: J: not a WAV file").
    let junk = tmp.path().join("junk.wav");
    std::fs::write(&junk, "not a wav at all").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_cmbert-tui"))
        .arg("export")
        .arg("--checkpoint")
        .arg(&m.mean)
        .args(["--wav".as_ref(), takes()[0].wav.as_os_str()])
        .args(["--words".as_ref(), takes()[0].words.as_os_str()])
        .args(["--wav".as_ref(), junk.as_os_str()])
        .args(["--words".as_ref(), takes()[1].words.as_os_str()])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.matches(&junk.display().to_string()).count(), 1, "{stderr}");
    assert!(stderr.contains("recording B"), "{stderr}");
    // Timings that do not read name the timings file, and the WAV they go with.
    let bad_words = tmp.path().join("bad.TextGrid");
    std::fs::write(&bad_words, "not a TextGrid").unwrap();
    let mut bad = takes();
    bad[1].words = bad_words.clone();
    let err = run(recording_export_args(&m.mean, &bad, &out));
    let b_wav = takes()[1].wav.display().to_string();
    assert!(err.contains("recording B") && err.contains("bad.TextGrid"), "{err}");
    assert_eq!(err.matches(&b_wav).count(), 1, "{err}");
    assert!(!out.exists(), "nothing written");

    // B's timings with one word changed: run all the same, and said in the JSON.
    let other = tmp.path().join("b-other.TextGrid");
    let grid = std::fs::read_to_string(&takes()[1].words).unwrap();
    std::fs::write(&other, grid.replace("\"FINALE\"", "\"ENDING\"")).unwrap();
    let mut differ = takes();
    differ[1].words = other;
    let (json, _) = exported(&m.mean, &differ, tmp.path());
    assert_eq!(json["same_words"], false);
    assert_eq!(json["recordings"][1]["words"][8], "ENDING");
    assert_eq!(json["recordings"][0]["words"][8], "FINALE");

    // The binary: unpaired recordings are refused before anything else, exit status 2.
    let output = Command::new(env!("CARGO_BIN_EXE_cmbert-tui"))
        .arg("open")
        .arg(&m.mean)
        .arg("--wav")
        .arg(&takes()[0].wav)
        .arg("--words")
        .arg(&takes()[0].words)
        .arg("--wav")
        .arg(&takes()[1].wav)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("2 --wav but 1 --words"), "{stderr}");
}

/// `open` on the pair under a 120x40 pseudo-terminal: the list holds both recordings with
/// their predictions, the panel both `[CLS]` rows, the footer both scores; `q` quits.
#[test]
fn open_shows_both_recordings_and_their_cls_rows() {
    use rustix::fs::{Mode, OFlags};
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    use rustix::termios::{tcsetwinsize, Winsize};

    let m = models();
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let size = Winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    tcsetwinsize(&master, size).unwrap();
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unwrap();
    let exports = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_cmbert-tui"));
    command.arg("open").arg(&m.mean).arg("--exports").arg(exports.path());
    for t in takes() {
        command.arg("--wav").arg(&t.wav).arg("--words").arg(&t.words);
    }
    let mut child = command
        .env("TERM", "xterm-256color")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    rustix::fs::fcntl_setfl(&master, rustix::fs::fcntl_getfl(&master).unwrap() | OFlags::NONBLOCK).unwrap();
    let mut terminal = std::fs::File::from(master);
    let mut seen = Vec::new();
    let start = Instant::now();
    let wanted = [
        "recordings (a pair)",
        "a.wav",
        "b.wav",
        "stress pair: A ",
        "[CLS] row of W_m",
    ];
    let shown = |seen: &[u8]| {
        let text = String::from_utf8_lossy(seen).into_owned();
        wanted.iter().all(|w| text.contains(w))
    };
    while !shown(&seen) && start.elapsed() < Duration::from_secs(60) {
        let mut buf = [0u8; 65536];
        match terminal.read(&mut buf) {
            Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    // `e` writes the pair's figure and numbers, as `export` does, whichever is on screen.
    let pair_json = exports.path().join("a-b-stress-pair.json");
    if shown(&seen) {
        terminal.write_all(b"e").unwrap();
        while !pair_json.exists() && start.elapsed() < Duration::from_secs(60) {
            let mut buf = [0u8; 65536];
            match terminal.read(&mut buf) {
                Ok(n) if n > 0 => seen.extend_from_slice(&buf[..n]),
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
    terminal.write_all(b"q").unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("open did not quit on q");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = String::from_utf8_lossy(&seen);
    assert!(shown(&seen), "the screen never showed {wanted:?}:\n{text}");
    assert!(status.success(), "{status:?}\n{text}");
    // Both predictions, as `export` computes them, are on screen.
    let (json, [a, b]) = exported(&m.mean, &takes(), tempfile::tempdir().unwrap().path());
    let footer = format!("stress pair: A {a:+.2}, B {b:+.2}");
    assert!(text.contains(&footer), "{footer} on screen:\n{text}");
    // `e` wrote what `export` writes: the same JSON, byte for byte in value, and a PNG.
    let mut names: Vec<String> = std::fs::read_dir(exports.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a-b-stress-pair.json", "a-b-stress-pair.png"], "{text}");
    let from_app: serde_json::Value = serde_json::from_slice(&std::fs::read(&pair_json).unwrap()).unwrap();
    assert_eq!(from_app, json, "the app's pair JSON is export's");
    let png = std::fs::read(exports.path().join("a-b-stress-pair.png")).unwrap();
    let reader = png::Decoder::new(std::io::Cursor::new(&png)).read_info().unwrap();
    let (w, h) = (reader.info().width, reader.info().height);
    assert!(w >= 1600 && h > w / 2, "heatmaps and two contour panels: {w}x{h}");
}
