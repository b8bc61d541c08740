//! The run directory's files and the listing, on directories written by hand (the CLI
//! tests in tests/runs.rs train real runs).

use std::path::Path;

use super::*;
use crate::checkpoint::FORMAT;
use crate::model::bf16::Precision;
use crate::model::HeadConfig;
use crate::train::{MmsaMetrics, RunSpec, Saved};

/// A checkpoint directory whose config.json holds only what `runs` reads.
fn checkpoint(dir: &Path, saved: Saved, step: usize) {
    checkpoint_at(dir, saved, step, Precision::F32);
}

/// The same, of a run trained with `precision`.
fn checkpoint_at(dir: &Path, saved: Saved, step: usize, precision: Precision) {
    let mut spec = RunSpec::paper("data/text".into(), "bert".into(), ModelKind::CmBert);
    spec.precision = precision;
    let record = TrainingRecord {
        spec,
        saved: Some(saved),
        step: Some(step),
        epochs_done: Some(1),
        best_epoch: Some(1),
        best_dev_loss: Some(0.5),
        progress: None,
        optimizer_steps: None,
        epochs_changes: Vec::new(),
    };
    let meta = CheckpointMeta {
        format: FORMAT.into(),
        head: HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5),
        max_len: 50,
        training: record.to_value(),
        audio_features: None,
    };
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::json!({ "cmbert": meta }).to_string(),
    )
    .unwrap();
}

fn results(step: usize) -> RunResults {
    RunResults {
        format: RESULTS_FORMAT.into(),
        seed: 1,
        best_epoch: 1,
        best_dev_loss: Some(0.5),
        step: Some(step),
        test: TestFigures {
            n: 10,
            acc2: Some(70.0),
            acc2_nonzero: Some(71.0),
            f1: Some(69.5),
            acc7: Some(30.0),
            mae: Some(1.1),
            corr: None,
            loss: Some(2.0),
        },
        mmsa: None,
        train_seconds: 47.3,
        finished_at: "2025-05-01T12:03:00+00:00".into(),
    }
}

fn write_results(run: &Path, r: &RunResults) {
    std::fs::write(run.join(RESULTS_FILE), serde_json::to_string(r).unwrap()).unwrap();
}

#[test]
fn results_with_an_undefined_figure_read_back() {
    let tmp = tempfile::tempdir().unwrap();
    let m = Metrics::compute(&[0.5, 0.5, 0.5], &[1.5, -0.5, 1.5]);
    assert!(m.corr.is_nan(), "constant predictions have no correlation");
    let figures = TestFigures::new(&m, 1.5);
    assert_eq!(figures.corr, None);
    assert_eq!(figures.mae, Some(1.0));
    let mut r = results(3);
    r.test = figures;
    write_results(tmp.path(), &r);
    assert_eq!(RunResults::read(tmp.path()).unwrap(), Some(r));
    assert_eq!(RunResults::read(&tmp.path().join("none")).unwrap(), None);
    std::fs::write(tmp.path().join(RESULTS_FILE), r#"{"format": "other/9"}"#).unwrap();
    assert!(RunResults::read(tmp.path()).unwrap_err().contains("results.json"));
}

#[test]
fn results_of_an_earlier_finish_are_not_shown_as_the_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    checkpoint(&run.join("best"), Saved::Best, 7);
    checkpoint(&run.join("last"), Saved::Last, 20);
    write_results(&run, &results(14));
    let listing = Listing::scan(tmp.path());
    let row = &listing.runs[0];
    assert!(row.results.is_none());
    assert!(row.problems[0].contains("results.json is from step 14, last/ is at step 20"));
    write_results(&run, &results(20));
    let row = &Listing::scan(tmp.path()).runs[0];
    assert_eq!(row.state, RunState::Finished);
    assert_eq!(row.trained.as_ref().unwrap().model, ModelKind::CmBert);
}

#[test]
fn links_are_listed_and_never_entered() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    checkpoint(&outside.join("elsewhere/best"), Saved::Best, 7);
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("run")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("linked-dir")).unwrap();
    // A run whose best/ is a link: the run is listed, the link reported, its target unread.
    std::os::unix::fs::symlink(outside.join("elsewhere/best"), root.join("run/best")).unwrap();
    let listing = Listing::scan(&root);
    assert_eq!(listing.runs.len(), 1);
    let run = &listing.runs[0];
    assert!(run.trained.is_none(), "read through a link");
    assert_eq!(run.problems, ["best/ is a symbolic link (not followed)"]);
    assert_eq!(listing.other.len(), 1);
    assert_eq!(listing.other[0].reason, "a symbolic link (not followed)");
}

#[test]
fn the_walk_is_bounded_in_depth() {
    let tmp = tempfile::tempdir().unwrap();
    let deep = tmp.path().join("a/b/c/d/e");
    checkpoint(&deep.join("run/best"), Saved::Best, 7);
    checkpoint(&tmp.path().join("a/b/near/best"), Saved::Best, 7);
    let listing = Listing::scan(tmp.path());
    assert_eq!(listing.runs.len(), 1, "{listing:?}");
    assert!(listing.runs[0].path.ends_with("a/b/near"));
    assert_eq!(listing.other.len(), 1, "{:?}", listing.other);
    assert!(listing.other[0].path.ends_with("a/b/c"));
    assert!(
        listing.other[0].reason.contains("deeper ones not searched"),
        "{:?}",
        listing.other
    );
}

#[test]
fn the_table_aligns_its_columns_and_marks_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let done = tmp.path().join("done");
    checkpoint(&done.join("best"), Saved::Best, 7);
    checkpoint(&done.join("last"), Saved::Last, 14);
    write_results(&done, &results(14));
    let half = tmp.path().join("half");
    checkpoint(&half.join("last"), Saved::Last, 3);
    let table = Listing::scan(tmp.path()).table();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].ends_with(": 2 runs"), "{table}");
    let header = lines[2];
    let done_row = lines[3];
    assert!(header.starts_with("RUN "), "{table}");
    assert!(done_row.starts_with("done "), "{table}");
    // Right-aligned figures end where their header ends.
    let end = |line: &str, what: &str| line.find(what).unwrap() + what.len();
    assert_eq!(end(header, "ACC2"), end(done_row, "70.0"), "{table}");
    assert!(done_row.contains("text"), "data shown by its last components: {table}");
    assert!(done_row.contains("47.3s"), "{table}");
    let half_row = lines[4];
    assert!(half_row.starts_with("half "), "{table}");
    assert!(half_row.contains(" - "), "no best/, no results: {table}");
    assert!(
        half_row.contains("incomplete"),
        "no optimiser state in this hand-made last/: {table}"
    );
}

#[test]
fn the_model_cell_and_the_json_name_bf16_products() {
    let tmp = tempfile::tempdir().unwrap();
    checkpoint(&tmp.path().join("plain/best"), Saved::Best, 7);
    checkpoint_at(&tmp.path().join("half/best"), Saved::Best, 7, Precision::Bf16);
    let listing = Listing::scan(tmp.path());
    let table = listing.table();
    let row = |name: &str| table.lines().find(|l| l.starts_with(name)).unwrap().to_string();
    assert!(row("half ").contains("cm-bert (zero, bf16)"), "{table}");
    assert!(row("plain ").contains("cm-bert (zero) "), "{table}");
    let json = serde_json::to_value(&listing).unwrap();
    let precisions: Vec<&str> = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["trained"]["precision"].as_str().unwrap())
        .collect();
    assert_eq!(precisions, ["bf16", "f32"], "{json}");
}

#[test]
fn a_run_directory_stands_for_the_checkpoint_a_command_wants() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    checkpoint(&run.join("best"), Saved::Best, 7);
    checkpoint(&run.join("last"), Saved::Last, 9);
    assert_eq!(checkpoint_in(&run, Pick::Best).unwrap(), run.join("best"));
    assert_eq!(checkpoint_in(&run, Pick::Last).unwrap(), run.join("last"));
    // A checkpoint is itself, whatever is wanted, except best/ where last/ is wanted.
    assert_eq!(checkpoint_in(&run.join("last"), Pick::Best).unwrap(), run.join("last"));
    let err = checkpoint_in(&run.join("best"), Pick::Last).unwrap_err().to_string();
    assert!(err.contains("cannot be resumed; resume"), "{err}");
    // What does not exist is left to the loader, which says so.
    let missing = tmp.path().join("missing");
    assert_eq!(checkpoint_in(&missing, Pick::Best).unwrap(), missing);
    let only_last = tmp.path().join("early");
    checkpoint(&only_last.join("last"), Saved::Last, 2);
    assert_eq!(checkpoint_in(&only_last, Pick::Best).unwrap(), only_last.join("last"));
}

/// Each finished run shows the figures its data family reports, from the MMSA figures its
/// results.json recorded: the paper's four for TSV data, MMSA's for a MOSI/MOSEI pickle
/// (Acc2 and F1 both ways), MMSA's for CH-SIMS; one table holds them all, a FIGURES column
/// saying whose each row's are.
#[test]
fn each_run_lists_the_figures_of_its_data_family() {
    use crate::data::MmsaKind;
    let tmp = tempfile::tempdir().unwrap();
    let p = [0.9f32, -0.4, 0.3, -0.8, 0.05, 0.6];
    let y = [1.0f32, -0.2, 0.0, -1.0, 0.3, 0.8];
    let mut recorded = Vec::new();
    for (name, kind) in [
        ("mosi", Some(MmsaKind::MosiMosei)),
        ("sims", Some(MmsaKind::Sims)),
        ("tsv", None),
    ] {
        let run = tmp.path().join(name);
        checkpoint(&run.join("best"), Saved::Best, 7);
        checkpoint(&run.join("last"), Saved::Last, 14);
        let m = Metrics::compute_for(kind, &p, &y);
        let mut r = results(14);
        r.test = TestFigures::new(&m, 0.5);
        r.mmsa = m.mmsa;
        write_results(&run, &r);
        recorded.push(m);
    }
    let table = Listing::scan(tmp.path()).table();
    let lines: Vec<&str> = table.lines().collect();
    let header = lines[2];
    let columns: Vec<&str> = header.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(
        columns,
        [
            "RUN",
            "MODEL",
            "DATA",
            "BEST",
            "DEV LOSS",
            "FIGURES",
            "ACC2",
            "ACC2 HAS0/NON0",
            "ACC3",
            "ACC5",
            "ACC7",
            "F1",
            "F1 HAS0/NON0",
            "MAE",
            "CORR",
            "LAST",
            "STATE",
            "WHEN",
            "TOOK"
        ],
        "{table}"
    );
    let row = |name: &str| *lines.iter().find(|l| l.starts_with(name)).unwrap();
    let cell = |line: &str, column: &str| {
        // Right-aligned under its header: the word that ends where the header ends.
        let end = header.find(column).unwrap() + column.len();
        line[..end].rsplit(' ').next().unwrap().to_string()
    };
    let pct = |v: f64| format!("{:.1}", 100.0 * v);
    let Some(MmsaMetrics::MosiMosei {
        has0_acc2,
        non0_acc2,
        has0_f1,
        non0_f1,
        acc7,
        mae,
        ..
    }) = recorded[0].mmsa
    else {
        panic!()
    };
    let mosi = row("mosi");
    assert!(mosi.contains("MMSA MOSI/MOSEI"), "{table}");
    assert_eq!(
        cell(mosi, "ACC2 HAS0/NON0"),
        format!("{}/{}", pct(has0_acc2), pct(non0_acc2))
    );
    assert_eq!(cell(mosi, "F1 HAS0/NON0"), format!("{}/{}", pct(has0_f1), pct(non0_f1)));
    assert_eq!(cell(mosi, "ACC7"), pct(acc7));
    assert_eq!(cell(mosi, "MAE"), format!("{mae:.3}"));
    assert_eq!(cell(mosi, "ACC3"), "-");
    assert_eq!(cell(mosi, "ACC2"), "-", "MOSI shows Acc2 both ways instead");
    let Some(MmsaMetrics::Sims {
        acc2, acc3, acc5, mae, ..
    }) = recorded[1].mmsa
    else {
        panic!()
    };
    let sims = row("sims");
    assert!(sims.contains("MMSA CH-SIMS"), "{table}");
    assert_eq!(cell(sims, "ACC2"), pct(acc2));
    assert_eq!(cell(sims, "ACC3"), pct(acc3));
    assert_eq!(cell(sims, "ACC5"), pct(acc5));
    assert_eq!(cell(sims, "MAE"), format!("{mae:.3}"), "of the clipped values");
    assert_eq!(cell(sims, "ACC7"), "-");
    let tsv = row("tsv");
    assert!(tsv.contains(" paper "), "{table}");
    assert_eq!(cell(tsv, "ACC2"), pct(recorded[2].acc2));
    assert_eq!(cell(tsv, "MAE"), format!("{:.3}", recorded[2].mae));
    assert_eq!(cell(tsv, "ACC3"), "-");
    assert!(
        table.contains("MMSA CH-SIMS (runs on such a pickle): MMSA's Mult_acc_2"),
        "{table}"
    );
    assert!(table.contains("MMSA MOSI/MOSEI (runs on such a pickle)"), "{table}");

    // A listing of CH-SIMS runs alone has SIMS's columns only.
    let only = tmp.path().join("sims");
    let table = Listing::scan(&only).table();
    let header = table.lines().find(|l| l.starts_with("RUN")).unwrap();
    assert!(
        header.contains("FIGURES") && header.contains("ACC3") && !header.contains("ACC7") && !header.contains("HAS0"),
        "{table}"
    );
}

#[test]
fn a_line_end_in_a_folder_name_cannot_split_its_row() {
    let tmp = tempfile::tempdir().unwrap();
    let odd = tmp.path().join("new\nline\x1b[31m");
    checkpoint(&odd.join("best"), Saved::Best, 7);
    let table = Listing::scan(tmp.path()).table();
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("new")).collect();
    assert_eq!(rows.len(), 1, "{table}");
    assert!(rows[0].starts_with("new\\nline\\u{1b}[31m "), "{table}");
}
