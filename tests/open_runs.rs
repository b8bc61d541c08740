//! `open RUN RUN [RUN...]` (issue 16, item 4): several runs open their comparison, as
//! `compare RUN RUN...` does (without a terminal, its table); the options of one run are
//! refused in one line naming them; one run opens as before. Before, `open` took one path
//! and called a second one unexpected.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// Two real tiny runs trained through the binary (so the engine wrote their histories and
/// checkpoints): a `zero` and a `learned` CM-BERT on one corpus.
fn two_runs(tmp: &Path) -> [PathBuf; 2] {
    let data = tmp.join("data");
    write_tiny_corpus(&data, [18, 6, 6]);
    let audio = tmp.join("audio.safetensors");
    write_tiny_audio(&audio, [18, 6, 6], 0.5);
    ["zero", "learned"].map(|variant| {
        let run = tmp.join(variant);
        train_variant(&data, &audio, &run, variant, Schedule { epochs: 1, batch: 6 }, &[]);
        run
    })
}

#[test]
fn open_with_several_runs_is_compare_and_refuses_the_options_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let [zero, learned] = two_runs(tmp.path());
    let (zero, learned) = (s(&zero), s(&learned));

    // Not a terminal (the test's pipes): compare prints its table, and so does open.
    let (code, compared, err) = cli(&["compare", &zero, &learned]);
    assert_eq!(code, 0, "{err}");
    assert!(compared.starts_with("RUN ") && compared.contains("zero") && compared.contains("learned"));
    let (code, opened, err) = cli(&["open", &zero, &learned]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(opened, compared);
    // The one option that applies to the comparison; a checkpoint stands for its run.
    let last = format!("{learned}/last");
    let (code, themed, err) = cli(&["open", &zero, &last, "--theme", "paper"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(themed, compared);

    // The options of one run's model and data, each refused in one line naming it, whether
    // it comes before or after the runs.
    let refused: [&[&str]; 10] = [
        &["--data", "d"],
        &["--audio", "a.jsonl"],
        &["--zero-audio"],
        &["--label", "T"],
        &["--wav", "take.wav", "--words", "take.csv"],
        &["--words", "take.csv", "--wav", "take.wav"],
        &["--device", "cpu"],
        &["--split", "dev"],
        &["--eval-batch-size", "8"],
        &["--exports", "out"],
    ];
    for options in refused {
        let option = options[0];
        for args in [
            [&["open", &zero, &learned], options].concat(),
            [&["open"], options, &[&zero, &learned]].concat(),
        ] {
            let (code, out, err) = cli(&args);
            assert_eq!(code, 2, "{args:?}: {out}");
            assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
            assert!(
                err.starts_with(&format!("error: {option} is an option of one run"))
                    && err.contains("`open RUN RUN...` opens the runs' comparison"),
                "{args:?}: {err}"
            );
            assert!(out.is_empty(), "{args:?}: {out}");
        }
    }

    // One run: as before (the app needs a terminal), its options accepted.
    let (code, _, err) = cli(&["open", &zero, "--split", "dev"]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        "error: `open` needs a terminal; for scripts use `cmbert-tui eval` or `cmbert-tui export`\n"
    );
    // A conflict of one run's own options keeps clap's message.
    let (code, _, err) = cli(&["open", &zero, "--audio", "a.jsonl", "--zero-audio"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn open_help_says_several_runs_open_their_comparison() {
    let (code, help, err) = cli(&["open", "--help"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        help.contains("Usage: cmbert-tui open [OPTIONS] <RUN|CHECKPOINT> [RUN]..."),
        "{help}"
    );
    assert!(
        help.contains("`cmbert-tui open RUN RUN [RUN...]` opens their comparison, the same screen as `cmbert-tui compare RUN RUN...`"),
        "{help}"
    );
    assert!(help.contains("only --theme applies to it"), "{help}");
    let (_, top, _) = cli(&["--help"]);
    assert!(top.contains("Several runs open their comparison"), "{top}");
}
