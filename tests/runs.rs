//! Finding runs and checkpoints as a user does: `runs` over finished, stopped, multi-seed,
//! broken and foreign directories (table and JSON), `inspect`/`--resume` given a run
//! directory, what `inspect best` and `inspect last` tell apart, what a run says before it
//! starts, and the hint for an option given without its subcommand.

mod common;

use std::path::{Path, PathBuf};

use cmbert::data::{Dataset, TextEncoder};
use cmbert::model::ModelKind;
use cmbert::train::{Command, Event, RunSpec};
use common::*;
use crossbeam_channel::unbounded;

const SIZES: [usize; 3] = [40, 12, 14];

fn corpus(root: &Path) -> PathBuf {
    let data = root.join("data");
    write_tiny_corpus(&data, SIZES);
    data
}

/// `train --headless ... --epochs 1 EXTRA`, which must succeed; returns its stderr.
fn train(data: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = train_args(data, &tiny_bert(), out);
    args.extend(["--epochs", "1"].iter().chain(extra).map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = cli(&args);
    assert_eq!(code, 0, "{err}");
    err
}

/// A run of 2 epochs of 7 steps stopped in its second epoch: best/ of epoch 1 (step 7),
/// last/ at the step it returns (the stop is taken between two steps, after step 9 or later).
fn stopped_run(data: &Path, out: &Path) -> usize {
    let mut spec = RunSpec::paper(data.to_path_buf(), tiny_bert(), ModelKind::CmBert);
    spec.epochs = 2;
    spec.batch_size = 6;
    spec.groups.lr = 1e-3;
    spec.out = Some(out.to_path_buf());
    let encoder = TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap();
    let data_set = Dataset::load(data, None, &encoder, 5).unwrap();
    let mut trainer = tiny_trainer(spec);
    let (tx, rx) = unbounded();
    let (ctx, crx) = unbounded();
    let (outcome, stopped) = std::thread::scope(|s| {
        let handle = s.spawn(|| trainer.run(&data_set, &tx, &crx));
        let mut stopped = None;
        for event in rx.iter() {
            match event {
                Event::Step { step: 9, .. } => ctx.send(Command::Stop).unwrap(),
                Event::Stopped { step } => {
                    stopped = Some(step);
                    break;
                }
                _ => {}
            }
        }
        (handle.join().unwrap(), stopped)
    });
    assert!(outcome.unwrap().is_none(), "the run must stop");
    assert!(out.join("best").is_dir() && out.join("last").is_dir());
    let step = stopped.expect("a Stopped event");
    assert!((9..14).contains(&step), "stopped at step {step}");
    step
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

fn run_named<'a>(listing: &'a serde_json::Value, root: &Path, name: &str) -> &'a serde_json::Value {
    let path = root.join(name);
    listing["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"].as_str() == path.to_str())
        .unwrap_or_else(|| panic!("no run {name} in {listing:#}"))
}

#[test]
fn runs_lists_finished_stopped_multi_seed_broken_and_foreign_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let root = tmp.path().join("runs");
    let said = train(&data, &root.join("finished"), &[]);
    // The run says where it writes before it starts, and counts in the singular.
    let at = |what: &str| said.find(what).unwrap_or_else(|| panic!("{what:?} not in: {said}"));
    assert!(at(&format!("run directory: {}", s(&root.join("finished")))) < at("1 epoch x 2 steps"));
    train(&data, &root.join("seeds"), &["--seeds", "2"]);
    let stopped_at = stopped_run(&data, &root.join("stopped"));
    std::fs::create_dir_all(root.join("junk/deeper")).unwrap();
    std::fs::write(root.join("junk/notes.txt"), "not a run").unwrap();
    std::fs::create_dir_all(root.join("broken/best")).unwrap();
    std::fs::write(root.join("broken/best/config.json"), "{ not json").unwrap();
    // A link to a directory full of runs: listed, never followed.
    std::os::unix::fs::symlink(root.join("seeds"), root.join("link")).unwrap();

    let (code, out, err) = cli(&["runs", &s(&root), "--json"]);
    assert_eq!(code, 0, "{err}");
    let listing = json(&out);
    assert_eq!(listing["runs"].as_array().unwrap().len(), 5, "{listing:#}");

    let finished = run_named(&listing, &root, "finished");
    assert_eq!(finished["state"], "finished");
    assert_eq!(finished["trained"]["model"], "cm-bert");
    assert_eq!(finished["trained"]["cls_audio"], "zero");
    assert_eq!(finished["best"]["epoch"], 1);
    assert!(finished["best"]["dev_loss"].as_f64().unwrap() > 0.0);
    let test = &finished["results"]["test"];
    assert_eq!(test["n"], SIZES[2]);
    for figure in ["acc2", "f1", "mae"] {
        assert!(test[figure].is_number(), "{figure}: {test}");
    }
    assert_eq!(finished["last"]["step"], 2);
    assert!(finished["results"]["train_seconds"].as_f64().unwrap() > 0.0);

    for seed in ["seeds/seed-1", "seeds/seed-2"] {
        assert_eq!(run_named(&listing, &root, seed)["state"], "finished");
    }
    assert_eq!(run_named(&listing, &root, "seeds/seed-2")["trained"]["seed"], 2);

    let stopped = run_named(&listing, &root, "stopped");
    assert_eq!(stopped["state"], "resumable");
    assert!(stopped["results"].is_null());
    assert_eq!(stopped["last"]["step"], stopped_at);
    assert_eq!(stopped["last"]["resumable"], true);
    assert_eq!(stopped["best"]["epoch"], 1);

    let broken = run_named(&listing, &root, "broken");
    assert_eq!(broken["state"], "incomplete");
    let problems = broken["problems"].to_string();
    assert!(problems.contains("broken/best/config.json"), "{problems}");

    let others = listing["other"].as_array().unwrap();
    let reason = |name: &str| {
        let path = root.join(name);
        others
            .iter()
            .find(|o| o["path"].as_str() == path.to_str())
            .unwrap_or_else(|| panic!("{name} not among {others:?}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason("junk").contains("no run inside"), "{}", reason("junk"));
    assert!(reason("link").contains("symbolic link (not followed)"));
    assert_eq!(others.len(), 2, "only the top of a foreign tree is listed: {others:?}");

    // The same as a table, one line per run.
    let (code, table, err) = cli(&["runs", &s(&root)]);
    assert_eq!(code, 0, "{err}");
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no row {name} in:\n{table}"))
            .to_string()
    };
    assert!(
        table.starts_with(&format!(
            "{}: 5 runs, 1 stopped and resumable, 2 other entries",
            s(&root)
        )),
        "{table}"
    );
    let finished_row = row("finished");
    assert!(finished_row.contains("cm-bert (zero)"), "{finished_row}");
    assert!(finished_row.contains("epoch 1 (step 2)"), "{finished_row}");
    assert!(finished_row.contains("finished"), "{finished_row}");
    let acc2 = format!("{:.1}", test["acc2"].as_f64().unwrap());
    assert!(finished_row.contains(&acc2), "{finished_row} lacks Acc2 {acc2}");
    assert!(
        row("stopped").contains(&format!("step {stopped_at}, resumable")),
        "{}",
        row("stopped")
    );
    assert!(row("seeds/seed-1").contains("finished"));
    assert!(table.contains("junk"), "{table}");
}

#[test]
fn a_missing_or_empty_directory_is_said_so() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = cli_in(tmp.path(), &["runs"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no runs yet: checkpoints/ does not exist"), "{out}");
    let (code, _, err) = cli(&["runs", &s(&tmp.path().join("nowhere"))]);
    assert_eq!(code, 2);
    assert!(err.contains("nowhere: not a directory"), "{err}");
    let (code, out, _) = cli(&["runs", &s(tmp.path())]);
    assert_eq!(code, 0);
    assert!(out.contains(": 0 runs"), "{out}");
}

#[test]
fn inspect_takes_a_run_directory_and_tells_best_from_last() {
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let run = tmp.path().join("run");
    let stopped_at = stopped_run(&data, &run);

    let (code, out, err) = cli(&["inspect", &s(&run)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("checkpoint  {}\n", s(&run.join("best")))),
        "{out}"
    );
    assert!(
        err.contains(&format!("is a run directory: using {}", s(&run.join("best")))),
        "{err}"
    );

    let (_, best, _) = cli(&["inspect", &s(&run.join("best"))]);
    let (code, last, err) = cli(&["inspect", &s(&run.join("last"))]);
    assert_eq!(code, 0, "{err}");
    let line = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key:?} line in:\n{text}"))
            .to_string()
    };
    assert!(line(&best, "layout").contains("cmbert-tui checkpoint"), "{best}");
    assert!(line(&best, "saved as").contains("best"));
    assert!(line(&last, "saved as").contains("last"));
    assert_eq!(line(&best, "progress"), "progress    1 of 2 epochs done, step 7");
    assert_eq!(
        line(&last, "progress"),
        format!("progress    1 of 2 epochs done, step {stopped_at}")
    );
    assert!(line(&best, "best dev").starts_with("best dev    epoch 1, loss "));
    assert_eq!(line(&best, "best dev"), line(&last, "best dev"));
    assert!(line(&best, "resumable").starts_with("resumable   no"));
    assert_eq!(
        line(&last, "resumable"),
        format!("resumable   yes: cmbert-tui train --resume {}", s(&run.join("last")))
    );
    for text in [&best, &last] {
        assert_eq!(
            line(text, "model"),
            "model       cm-bert (cls-audio zero), preset paper, seed 42"
        );
        assert_eq!(line(text, "data"), format!("data        {}", s(&data)));
        assert_eq!(line(text, "audio"), "audio       none (trained on zero audio)");
    }
}

#[test]
fn resume_takes_a_run_directory_and_continues_its_last() {
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let run = tmp.path().join("run");
    let stopped_at = stopped_run(&data, &run);

    // best/ cannot be resumed: the error names last/.
    let (code, _, err) = cli(&["train", "--headless", "--resume", &s(&run.join("best"))]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("resume {}", s(&run.join("last")))), "{err}");

    let (code, out, err) = cli(&["train", "--headless", "--resume", &s(&run)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "is a run directory: using {} (the latest state, step {stopped_at})",
            s(&run.join("last"))
        )),
        "{err}"
    );
    assert!(err.contains(&format!("resuming at step {stopped_at}")), "{err}");
    assert!(out.contains("preset paper"), "{out}");
    let (_, listing, _) = cli(&["runs", &s(tmp.path()), "--json"]);
    let listing = json(&listing);
    let row = run_named(&listing, tmp.path(), "run");
    assert_eq!(row["state"], "finished", "{row:#}");
    assert_eq!(row["results"]["step"], 14);
}

#[test]
fn a_run_directory_without_the_wanted_checkpoint_says_what_to_give() {
    let tmp = tempfile::tempdir().unwrap();
    let data = corpus(tmp.path());
    let seeds = tmp.path().join("seeds");
    train(&data, &seeds, &["--seeds", "2"]);

    let (code, _, err) = cli(&["inspect", &s(&seeds)]);
    assert_eq!(code, 2);
    assert!(err.contains("holds the runs of 2 seeds (seed-1, seed-2)"), "{err}");
    assert!(err.contains(&s(&seeds.join("seed-1"))), "{err}");
    let (code, _, err) = cli(&["train", "--headless", "--resume", &s(&seeds)]);
    assert_eq!(code, 2);
    assert!(err.contains("holds the runs of 2 seeds"), "{err}");

    let only_best = seeds.join("seed-1");
    std::fs::remove_dir_all(only_best.join("last")).unwrap();
    let (code, _, err) = cli(&["train", "--headless", "--resume", &s(&only_best)]);
    assert_eq!(code, 2);
    assert!(err.contains("no last/ checkpoint to resume"), "{err}");

    let (code, _, err) = cli(&["inspect", &s(tmp.path())]);
    assert_eq!(code, 2);
    assert!(err.contains("`cmbert-tui runs"), "{err}");
}

#[test]
fn an_option_without_its_subcommand_suggests_it() {
    let (code, _, err) = cli(&["--theme", "paper"]);
    assert_eq!(code, 2);
    assert!(err.contains("cmbert-tui train --theme paper"), "{err}");
}
