//! `cmbert-tui export` end to end on a tiny trained model: the paper's Figure 4 as PNG and SVG
//! (found by text, one file, three rows), tables that read back to the drawn values, file
//! naming that never overwrites, and the errors a user can cause.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use candle_core::Device;
use cmbert::attention::{Level, Matrix};
use cmbert::checkpoint::Checkpoint;
use cmbert::colormap::Rgb;
use cmbert::commands::Trained;
use cmbert::data::{Dataset, Split, TextEncoder};
use cmbert::export::figure::Figure;
use cmbert::export::{self, Item, Style};
use cmbert::figure4::SENTENCES as FIGURE4;
use cmbert::model::{ClsAudio, ModelKind};
use cmbert::train::{attention_snapshot, AttentionSnapshot, RunSpec, Trainer};
use common::*;
use crossbeam_channel::unbounded;

const SIZES: [usize; 3] = [40, 12, 30];
/// Where the Figure 4 sentences go in the tiny test split (one in a second evaluation batch).
const FIGURE4_AT: [usize; 3] = [3, 11, 27];

struct Fixture {
    data: PathBuf,
    audio: PathBuf,
    best: PathBuf,
}

/// One tiny model for all tests (trained once per test run, under Cargo's test tmp dir):
/// its test split holds the Figure 4 sentences, one in other case and spacing.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("export-fixture");
        let _ = std::fs::remove_dir_all(&root);
        let data = root.join("data");
        write_tiny_corpus(&data, SIZES);
        let test = data.join("test.tsv");
        let mut lines: Vec<String> = std::fs::read_to_string(&test)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let texts = [
            FIGURE4[0].to_string(),
            FIGURE4[1].to_string(),
            "  i thought it  was fun ".into(),
        ];
        for ((&at, text), label) in FIGURE4_AT.iter().zip(texts).zip([1.4, 2.2, 1.2]) {
            lines[at + 1] = format!("{text}\t{label}");
        }
        std::fs::write(&test, lines.join("\r\n") + "\r\n").unwrap();
        let audio = root.join("audio.safetensors");
        write_tiny_audio(&audio, SIZES, 0.5);

        let mut spec = RunSpec::paper(data.clone(), tiny_bert(), ModelKind::CmBert);
        spec.audio = Some(audio.clone());
        spec.cls_audio = ClsAudio::Learned;
        spec.epochs = 1;
        spec.batch_size = 8;
        spec.groups.lr = 1e-3;
        spec.out = Some(root.join("run"));
        let encoder = TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap();
        let dataset = Dataset::load(&data, Some(&audio), &encoder, 5).unwrap();
        let bert = Checkpoint::load(&tiny_bert(), &Device::Cpu).unwrap();
        let mut trainer = Trainer::new(spec, &bert, 5, &Device::Cpu).unwrap();
        let (tx, _rx) = unbounded();
        let (_ctx, crx) = unbounded();
        trainer.run(&dataset, &tx, &crx).unwrap().expect("finished");
        Fixture {
            data,
            audio,
            best: root.join("run/best"),
        }
    })
}

/// The model/data arguments every export call shares.
fn base(f: &Fixture) -> Vec<String> {
    [
        "--checkpoint",
        &s(&f.best),
        "--data",
        &s(&f.data),
        "--audio",
        &s(&f.audio),
    ]
    .map(String::from)
    .to_vec()
}

fn export_in(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["export".to_string()];
    args.extend(base(fixture()));
    args.extend(extra.iter().map(|a| a.to_string()));
    cli_in(dir, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The test split's texts and the snapshots the CLI computes (same model, same batching).
fn snapshots(indices: &[usize]) -> (Vec<String>, Vec<AttentionSnapshot>) {
    let f = fixture();
    let trained = Trained::open(&f.best, &Device::Cpu).unwrap();
    let data = trained.dataset(&f.data, Some(&f.audio)).unwrap();
    let examples = data.split(Split::Test);
    let snaps = indices
        .iter()
        .map(|&i| attention_snapshot(&trained.model, examples, i, 24, trained.head.audio_dim, &Device::Cpu).unwrap())
        .collect();
    (examples.iter().map(|e| e.text.clone()).collect(), snaps)
}

fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut reader = png::Decoder::new(file).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Rgb, png::BitDepth::Eight)
    );
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn figure4_png_is_one_file_with_three_rows_in_the_colormap_colours() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = export_in(tmp.path(), &["--figure4", "--format", "png"]);
    assert_eq!(code, 0, "{stderr}");
    let path = tmp.path().join("exports/figure4-alpha-t-w-m-word.png");
    assert!(
        stdout.contains("wrote exports/figure4-alpha-t-w-m-word.png") && stdout.contains("3 utterances"),
        "{stdout}"
    );
    for (at, text) in FIGURE4_AT.iter().zip(["THERE ARE SOME FUNNY MOMENTS", "I JUST WANNA"]) {
        assert!(stdout.contains(&format!("#{at}")) && stdout.contains(text), "{stdout}");
    }
    let (width, height, px) = decode(&path);
    assert!(width >= 1600, "{width}");

    // The same figure laid out here from the same snapshots: size and every cell's colour.
    let (texts, snaps) = snapshots(&FIGURE4_AT);
    let items: Vec<Item> = snaps
        .iter()
        .map(|s| Item {
            snapshot: s,
            text: &texts[s.index],
            split: Split::Test,
            recording: None,
        })
        .collect();
    let style = Style::default();
    let meta = export::Meta {
        split: Split::Test,
        checkpoint: Some("a header line, as the CLI writes one".into()),
        wav: None,
        source: export::Source::Command(export::CommandMeta {
            model: cmbert::model::ModelKind::CmBert,
            cls_audio: Some(cmbert::model::ClsAudio::Zero),
            data: None,
            audio: None,
            audio_source: "zero-audio".into(),
            words: None,
            eval_batch_size: 24,
            precision: cmbert::model::bf16::Precision::F32,
        }),
    };
    let figure = Figure::new(&items, &meta, &style).unwrap();
    let layout = figure.layout();
    assert_eq!((width, height), (layout.width, layout.height));
    assert_eq!(layout.rows.len(), 3);
    let pixel = |(x, y): (i32, i32)| {
        let i = (y as usize * width as usize + x as usize) * 3;
        Rgb(px[i], px[i + 1], px[i + 2])
    };
    let mut cells = 0;
    for (row, snap) in layout.rows.iter().zip(&snaps) {
        for (map, view) in row.heatmaps.iter().zip(style.views(snap)) {
            assert_eq!(map.n, view.labels.len());
            let scale = export::scale(&view);
            let colours = style.colormap(view.matrix);
            for r in 0..map.n {
                for c in 0..map.n {
                    let expected = colours.at(scale.unit(view.values[r][c]));
                    assert_eq!(pixel(map.cell_center(r, c)), expected, "{} ({r}, {c})", view.matrix);
                    cells += 1;
                }
            }
        }
    }
    // [CLS] THERE ARE SOME FUNNY MOMENTS [SEP] is 7 words, the others 10 and 7.
    assert_eq!(cells, 2 * (49 + 100 + 49));

    // Again: a new name, the first file untouched.
    let before = std::fs::read(&path).unwrap();
    let (code, stdout, stderr) = export_in(tmp.path(), &["--figure4", "--format", "png"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("figure4-alpha-t-w-m-word-2.png"), "{stdout}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn figure4_svg_shows_every_word_title_and_matrix() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fig4.svg");
    let (code, _, stderr) = export_in(
        tmp.path(),
        &["--figure4", "--level", "piece", "--right", "shift", "--out", &s(&out)],
    );
    assert_eq!(code, 0, "{stderr}");
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"));
    for text in [
        "THERE ARE SOME FUNNY MOMENTS",
        "I JUST WANNA SAY THAT I LOVE YOU",
        "i thought it was fun",
    ] {
        assert!(svg.contains(&format!("&quot;{text}&quot;")), "title of {text:?}");
    }
    assert!(svg.contains("alpha_t — text attention"));
    assert!(svg.contains("W_m - softmax(alpha_t) — shift from text attention"));
    assert_eq!(
        svg.matches(">\n[CLS] → score\n<").count(),
        6,
        "the [CLS] row of 6 heatmaps"
    );
    // Word pieces, on both axes of both heatmaps of their row.
    for piece in ["there", "moment", "##s", "wan", "##na", "love", "thought", "fun"] {
        assert!(svg.matches(&format!(">\n{piece}\n<")).count() >= 4, "{piece}");
    }
}

#[test]
fn csv_and_json_read_back_to_the_drawn_views() {
    let tmp = tempfile::tempdir().unwrap();
    let csv_path = tmp.path().join("views.csv");
    // The format comes from the extension.
    let (code, stdout, stderr) = export_in(
        tmp.path(),
        &[
            "--index",
            "11",
            "--left",
            "w-f",
            "--right",
            "beta-a",
            "--level",
            "piece",
            "--hide-special",
            "--out",
            &s(&csv_path),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("(csv: W_f and beta_a, piece level, 1 utterance"),
        "{stdout}"
    );
    let bytes = std::fs::read(&csv_path).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("# audio: "), "{text}");
    assert!(text.contains(&format!("# checkpoint: {}\n", s(&fixture().best))));
    assert!(text.contains("# special_tokens: false\n"));

    let (texts, snaps) = snapshots(&[11]);
    let style = Style {
        left: Matrix::WF,
        right: Matrix::BetaA,
        level: Level::Piece,
        show_special: false,
        ..Style::default()
    };
    let views = style.views(&snaps[0]);
    assert_eq!(
        views[0].labels,
        ["i", "just", "wan", "##na", "say", "that", "i", "love", "you"]
    );
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).from_reader(&bytes[..]);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        export::table::CSV_HEADER
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2 * 81);
    for (k, rec) in records.iter().enumerate() {
        let view = &views[k / 81];
        let (r, c) = ((k % 81) / 9, k % 9);
        assert_eq!(&rec[0], "11");
        assert_eq!(&rec[1], texts[11]);
        assert_eq!((&rec[2], &rec[3]), (view.matrix.slug(), "piece"));
        assert_eq!((&rec[4], &rec[5]), (r.to_string().as_str(), view.labels[r].as_str()));
        assert_eq!((&rec[6], &rec[7]), (c.to_string().as_str(), view.labels[c].as_str()));
        assert_eq!(rec[8].parse::<f32>().unwrap(), view.values[r][c], "{rec:?}");
    }

    // JSON, into exports/ with a name that says what it holds.
    let (code, stdout, stderr) = export_in(tmp.path(), &["--index", "11", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("exports/test-0011-alpha-t-w-m-word.json"), "{stdout}");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("exports/test-0011-alpha-t-w-m-word.json")).unwrap())
            .unwrap();
    assert_eq!(doc["meta"]["split"], "test");
    assert_eq!(doc["meta"]["eval_batch_size"], 24);
    let u = &doc["utterances"][0];
    assert_eq!(
        (u["index"].as_u64(), u["text"].as_str()),
        (Some(11), Some(texts[11].as_str()))
    );
    assert_eq!(
        u["snapshot"]["prediction"].as_f64().unwrap() as f32,
        snaps[0].prediction
    );
    assert_eq!(u["views"][1]["matrix"], "w-m");
    assert_eq!(u["views"][1]["cls_row"], 0);
}

#[test]
fn explicit_outputs_are_kept_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fig.png");
    std::fs::write(&out, "precious").unwrap();
    let (code, _, stderr) = export_in(tmp.path(), &["--index", "0", "--out", &s(&out)]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious");
    let (code, _, stderr) = export_in(tmp.path(), &["--index", "0", "--out", &s(&out), "--force"]);
    assert_eq!(code, 0, "{stderr}");
    let (w, _, _) = decode(&out);
    assert!(w >= 1600);
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["fig.png"], "no temporary files left");
}

#[test]
fn figure4_without_the_sentences_names_the_missing_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, [4, 4, 4]);
    std::fs::write(
        data.join("test.tsv"),
        "text\tlabel\nI THOUGHT IT WAS FUN\t1.0\nTHE MOVIE WAS GOOD\t2.0\n",
    )
    .unwrap();
    let f = fixture();
    let (code, _, stderr) = cli_in(
        tmp.path(),
        &[
            "export",
            "--checkpoint",
            &s(&f.best),
            "--data",
            &s(&data),
            "--zero-audio",
            "--figure4",
            "--format",
            "png",
        ],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("\"THERE ARE SOME FUNNY MOMENTS\""), "{stderr}");
    assert!(stderr.contains("\"I JUST WANNA SAY THAT I LOVE YOU\""), "{stderr}");
    assert!(
        !stderr.contains("\"I THOUGHT IT WAS FUN\""),
        "found, so not named: {stderr}"
    );
    assert!(stderr.contains("test.tsv lacks 2 of the 3"), "{stderr}");
    assert!(!tmp.path().join("exports").exists(), "nothing written");
}

#[test]
fn user_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, stderr) = export_in(tmp.path(), &["--index", "30", "--format", "svg"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--index 30: the test split has 30 utterances"),
        "{stderr}"
    );
    let (code, _, stderr) = export_in(tmp.path(), &["--format", "svg"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--index") && stderr.contains("--figure4"), "{stderr}");
    let (code, _, stderr) = export_in(tmp.path(), &["--index", "1", "--figure4"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

/// The format is never guessed against the file name: `--out notes.md` (no format of ours)
/// and `--out fig.png --format svg` (two formats) are refused before anything is written.
#[test]
fn the_format_and_the_file_name_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, stderr) = export_in(tmp.path(), &["--index", "1", "--out", "notes.md"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--out notes.md: .md is not a format export writes"),
        "{stderr}"
    );
    let (code, _, stderr) = export_in(tmp.path(), &["--index", "1", "--out", "fig.png", "--format", "svg"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--format svg but --out fig.png names png"), "{stderr}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "nothing written");
    let (code, _, stderr) = export_in(tmp.path(), &["--index", "1", "--out", "fig.svg", "--format", "svg"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(tmp.path().join("fig.svg").is_file());
}
