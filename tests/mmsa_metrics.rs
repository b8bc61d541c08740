//! Every printout and export of a run's metrics shows the figures its data family reports
//! (issue 18 item 4): MMSA's CH-SIMS figures for runs on a SIMS-like pickle, MMSA's MOSI/MOSEI
//! figures for a MOSI-like one, the paper's for TSV files; in `eval`, `runs`, `compare` (its
//! table and files) and `export --curves`, each checked against the run's own results.json.
//! Runs of different families compared together show the paper's figures, which every run
//! records, and say so. Tiny scratch runs trained through the binary on generated pickles
//! (tests/common/mmsa_pickle.rs).

mod common;
#[path = "common/mmsa_pickle.rs"]
mod mmsa_pickle;

use std::path::{Path, PathBuf};

use common::{cli, s, tiny_bert, train_args, train_variant, write_tiny_audio, write_tiny_corpus, Schedule};
use mmsa_pickle::{dataset, pickle, Layout};
use serde_json::Value;

fn write_pickle(dir: &Path, name: &str, layout: Layout) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pickle(&dataset(layout, [24, 6, 8]))).unwrap();
    path
}

/// Trains the tiny model on `data` into `out` (2 epochs), `extra` flags last; its results.json.
fn train(data: &Path, out: &Path, extra: &[&str]) -> Value {
    let mut args = train_args(data, &tiny_bert(), out);
    args.extend(["--epochs", "2", "--batch-size", "8"].map(String::from));
    args.extend(extra.iter().map(|a| a.to_string()));
    let (code, _, stderr) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

/// An MMSA figure of a results.json as the tables print it: accuracies and F1 in % to one
/// decimal, MAE and Corr to three.
fn shown(results: &Value, name: &str) -> String {
    let v = results["mmsa"][name]
        .as_f64()
        .unwrap_or_else(|| panic!("{name}: {results}"));
    match name {
        "MAE" | "Corr" => format!("{v:.3}"),
        _ => format!("{:.1}", 100.0 * v),
    }
}

/// The cells of a table line, split on runs of two spaces or more.
fn cells(line: &str) -> Vec<&str> {
    line.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect()
}

const SIMS: [&str; 6] = ["Mult_acc_2", "Mult_acc_3", "Mult_acc_5", "F1_score", "MAE", "Corr"];

#[test]
fn sims_runs_show_mmsas_sims_figures_in_every_printout_and_export() {
    let tmp = tempfile::tempdir().unwrap();
    let data = write_pickle(tmp.path(), "sims.pkl", Layout::Sims);
    let runs = tmp.path().join("runs");
    let (a, b) = (runs.join("m"), runs.join("t"));
    let results_a = train(&data, &a, &[]);
    let results_b = train(&data, &b, &["--seed", "2", "--label", "T"]);
    assert_eq!(results_a["mmsa"]["dataset"], "sims", "{results_a}");

    // eval: MMSA's figures, then the loss and whose figures they are, never the paper's.
    let (code, stdout, stderr) = cli(&["eval", "--checkpoint", &s(&a)]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let want: Vec<String> = SIMS.iter().map(|n| format!("{n} {}", shown(&results_a, n))).collect();
    assert_eq!(
        lines[2].trim(),
        want.join(" "),
        "the best weights' test figures: {stdout}"
    );
    assert!(
        lines[3].trim().starts_with("loss ") && lines[3].contains("MMSA's figures for CH-SIMS"),
        "{stdout}"
    );
    for paper in ["Acc2 has-0", "reference's argument order", "Acc5 ", "Acc7"] {
        assert!(!stdout.contains(paper), "{paper}: {stdout}");
    }

    // runs: SIMS's columns, each run's cells its results'.
    let (code, listing, stderr) = cli(&["runs", &s(&runs)]);
    assert_eq!(code, 0, "{stderr}");
    let header = listing.lines().find(|l| l.starts_with("RUN")).expect(&listing);
    assert_eq!(
        cells(header)[5..12],
        ["FIGURES", "ACC2", "ACC3", "ACC5", "F1", "MAE", "CORR"],
        "{listing}"
    );
    for (name, results) in [("m ", &results_a), ("t ", &results_b)] {
        let row = listing.lines().find(|l| l.starts_with(name)).expect(&listing);
        let want: Vec<String> = SIMS.iter().map(|n| shown(results, n)).collect();
        assert_eq!(cells(row)[6..12], want, "{listing}");
        assert_eq!(cells(row)[5], "MMSA CH-SIMS");
    }

    // compare: the table's columns and the files.
    let (code, table, stderr) = cli(&["compare", &s(&a), &s(&b), "--headless"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        cells(lines[0]),
        [
            "RUN",
            "best",
            "dev loss",
            "test loss",
            "Acc2",
            "Acc3",
            "Acc5",
            "F1",
            "MAE",
            "Corr"
        ],
        "{table}"
    );
    for (line, results) in [(lines[1], &results_a), (lines[2], &results_b)] {
        let figures: Vec<String> = cells(line)[4..10]
            .iter()
            .map(|c| c.trim_end_matches('*').to_string())
            .collect();
        let want: Vec<String> = SIMS.iter().map(|n| shown(results, n)).collect();
        assert_eq!(figures, want, "{table}");
    }
    assert!(
        lines[1].starts_with("label M, seed 1") && lines[2].starts_with("label T, seed 2"),
        "{table}"
    );
    assert!(table.contains("MMSA's figures for CH-SIMS"), "{table}");
    assert!(!table.contains("Acc7") && !table.contains("Acc2*"), "{table}");
    let csv = tmp.path().join("table.csv");
    let (code, _, stderr) = cli(&["compare", &s(&a), &s(&b), "--out", &s(&csv)]);
    assert_eq!(code, 0, "{stderr}");
    let header = std::fs::read_to_string(&csv).unwrap();
    let header = header.lines().next().unwrap();
    assert!(
        header.starts_with("label,dir,runs,mmsa_label,seed,"),
        "one `label` column: {header}"
    );
    assert!(header.contains(",sims_acc3,sims_acc3_std,"), "{header}");

    // export --curves: every point, and the figure's panels.
    let points = tmp.path().join("points.csv");
    let (code, _, stderr) = cli(&["export", "--curves", &s(&a), &s(&b), "--out", &s(&points)]);
    assert_eq!(code, 0, "{stderr}");
    let points = std::fs::read_to_string(&points).unwrap();
    for (series, name) in [("test_sims_acc3", "Mult_acc_3"), ("test_sims_mae", "MAE")] {
        let line = points
            .lines()
            .find(|l| l.contains(&format!(",{series},")) && l.contains(&s(&a)))
            .unwrap_or_else(|| panic!("{series}: {points}"));
        let value: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
        let recorded = results_a["mmsa"][name].as_f64().unwrap();
        let want = if name == "MAE" { recorded } else { 100.0 * recorded };
        assert!((value - want).abs() < 1e-9, "{series}: {value} vs {want}");
    }
    assert!(points.contains(",dev_sims_f1,"), "{points}");
    assert!(!points.contains("acc7") && !points.contains(",dev_acc2,"), "{points}");
    let svg = tmp.path().join("curves.svg");
    let (code, _, stderr) = cli(&["export", "--curves", &s(&a), &s(&b), "--out", &s(&svg)]);
    assert_eq!(code, 0, "{stderr}");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains("dev Acc2 (Mult_acc_2, %)") && svg.contains("figures: MMSA CH-SIMS"));
}

#[test]
fn runs_of_different_families_are_listed_together_and_compared_on_the_papers_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let (sims, mosi, tsv) = (runs.join("sims"), runs.join("mosi"), runs.join("tsv"));
    let results_sims = train(&write_pickle(tmp.path(), "sims.pkl", Layout::Sims), &sims, &[]);
    let results_mosi = train(&write_pickle(tmp.path(), "aligned_50.pkl", Layout::Mosi), &mosi, &[]);
    let corpus = tmp.path().join("corpus");
    write_tiny_corpus(&corpus, [24, 6, 8]);
    write_tiny_audio(&corpus.join("audio.safetensors"), [24, 6, 8], 0.0);
    let schedule = Schedule { epochs: 2, batch: 8 };
    train_variant(&corpus, &corpus.join("audio.safetensors"), &tsv, "zero", schedule, &[]);

    // eval of the MOSI-like run: MMSA's MOSI/MOSEI figures, and whose they are.
    let (code, stdout, stderr) = cli(&["eval", "--checkpoint", &s(&mosi)]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[2].contains(&format!("Non0_acc_2 {}", shown(&results_mosi, "Non0_acc_2")))
            && lines[2].contains(&format!("Mult_acc_7 {}", shown(&results_mosi, "Mult_acc_7"))),
        "{stdout}"
    );
    assert!(lines[3].contains("MMSA's figures for MOSI/MOSEI"), "{stdout}");
    // The TSV run's eval keeps the paper's second line.
    let (code, stdout, stderr) = cli(&["eval", "--checkpoint", &s(&tsv)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Acc2 has-0 ") && stdout.contains("  loss "), "{stdout}");

    // runs: one table, each row its family's figures.
    let (code, listing, stderr) = cli(&["runs", &s(&runs)]);
    assert_eq!(code, 0, "{stderr}");
    let header = listing.lines().find(|l| l.starts_with("RUN")).expect(&listing);
    assert_eq!(
        cells(header)[5..15],
        [
            "FIGURES",
            "ACC2",
            "ACC2 HAS0/NON0",
            "ACC3",
            "ACC5",
            "ACC7",
            "F1",
            "F1 HAS0/NON0",
            "MAE",
            "CORR"
        ],
        "{listing}"
    );
    let row = |name: &str| cells(listing.lines().find(|l| l.starts_with(name)).expect(&listing));
    let m = row("mosi ");
    assert_eq!(m[5], "MMSA MOSI/MOSEI");
    let both = |a: &str, b: &str| format!("{}/{}", shown(&results_mosi, a), shown(&results_mosi, b));
    assert_eq!(m[7], both("Has0_acc_2", "Non0_acc_2"), "{listing}");
    assert_eq!(m[10], shown(&results_mosi, "Mult_acc_7"), "{listing}");
    assert_eq!(m[12], both("Has0_F1_score", "Non0_F1_score"), "{listing}");
    let sims_row = row("sims ");
    assert_eq!(sims_row[8], shown(&results_sims, "Mult_acc_3"), "{listing}");
    assert_eq!(sims_row[10], "-", "no Acc7 for SIMS: {listing}");
    let t = row("tsv ");
    assert_eq!(t[5], "paper");
    assert_eq!(t[8], "-", "{listing}");

    // compare of two families: the paper's figures, which both recorded, and a note.
    let (code, table, stderr) = cli(&["compare", &s(&sims), &s(&tsv), "--headless"]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        cells(lines[0])[4..],
        ["Acc2", "Acc2*", "F1", "Acc7", "MAE", "Corr"],
        "{table}"
    );
    let acc2 = |results: &Value| format!("{:.1}", results["test"]["acc2"].as_f64().unwrap());
    assert_eq!(cells(lines[1])[4].trim_end_matches('*'), acc2(&results_sims), "{table}");
    assert!(
        table.contains(
            "note: the runs report different figures (paper, MMSA CH-SIMS): shown are the paper's, which every run \
             records; compare runs of one kind for MMSA's"
        ),
        "{table}"
    );
}
