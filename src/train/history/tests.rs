use super::*;
use crate::model::ModelKind;

fn header(first_step: usize) -> Header {
    Header {
        version: HISTORY_VERSION,
        spec: RunSpec::paper("data".into(), "bert".into(), ModelKind::CmBert),
        machine: Machine::this("cpu"),
        started: "2026-12-01T16:00:00+00:00".into(),
        first_step,
        resumed: first_step > 0,
    }
}

fn metrics(corr: f64) -> Metrics {
    Metrics::compute(&[0.5, -0.5, 1.0], &[1.0, -1.0, corr as f32])
}

fn steps(from: usize, to: usize) -> Vec<Entry> {
    (from..to)
        .map(|step| Entry::Step {
            step,
            epoch: 1,
            loss: 0.25 + step as f32,
            lr: 2e-5,
            seconds: step as f64 / 10.0,
        })
        .collect()
}

fn write(dir: &Path, first_step: usize, entries: &[Entry]) {
    let mut w = HistoryWriter::start(dir, header(first_step)).unwrap();
    for e in entries {
        w.write(e).unwrap();
    }
}

#[test]
fn round_trip_keeps_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = steps(1, 4);
    entries.push(Entry::Eval {
        split: Split::Dev,
        epoch: Some(1),
        step: 3,
        loss: 0.75,
        metrics: metrics(0.25),
        best: true,
        train_loss: Some(0.5),
    });
    entries.push(Entry::Saved {
        checkpoint: Saved::Best,
        step: 3,
    });
    entries.push(Entry::Paused { step: 3 });
    entries.push(Entry::Resumed { step: 3 });
    entries.push(Entry::Finished {
        best_epoch: 1,
        best_dev_loss: 0.75,
        seconds: 1.5,
    });
    write(dir.path(), 0, &entries);
    let h = History::read_run(dir.path()).unwrap().unwrap();
    assert!(!h.truncated);
    assert_eq!(h.sessions.len(), 1);
    assert_eq!(h.sessions[0].header, header(0));
    assert_eq!(h.sessions[0].entries, entries);
}

#[test]
fn a_nan_figure_is_written_as_null_and_read_back_as_nan() {
    let dir = tempfile::tempdir().unwrap();
    // Constant predictions: Pearson's r is undefined.
    let m = Metrics::compute(&[0.5, 0.5, 0.5], &[1.0, -1.0, 0.0]);
    assert!(m.corr.is_nan());
    write(
        dir.path(),
        0,
        &[Entry::Eval {
            split: Split::Test,
            epoch: None,
            step: 9,
            loss: f64::NAN,
            metrics: m,
            best: false,
            train_loss: None,
        }],
    );
    let text = std::fs::read_to_string(dir.path().join(HISTORY_FILE)).unwrap();
    assert!(text.contains("\"corr\":null"), "{text}");
    let h = History::read_run(dir.path()).unwrap().unwrap();
    let Entry::Eval { loss, metrics, .. } = &h.sessions[0].entries[0] else {
        panic!("an eval line")
    };
    assert!(loss.is_nan() && metrics.corr.is_nan());
    assert_eq!(metrics.acc2, m.acc2);
}

#[test]
fn a_truncated_last_line_is_left_out_and_said() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0, &steps(1, 5));
    let path = dir.path().join(HISTORY_FILE);
    let text = std::fs::read(&path).unwrap();
    // Cut inside the last line, as kill -9 during a write leaves it.
    std::fs::write(&path, &text[..text.len() - 12]).unwrap();
    let h = History::read_run(dir.path()).unwrap().unwrap();
    assert!(h.truncated);
    assert_eq!(h.sessions[0].entries, steps(1, 4));
}

#[test]
fn resume_appends_a_session_after_a_cut_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0, &steps(1, 5));
    let path = dir.path().join(HISTORY_FILE);
    let text = std::fs::read(&path).unwrap();
    std::fs::write(&path, &text[..text.len() - 12]).unwrap();
    write(dir.path(), 3, &steps(4, 7));
    let h = History::read_run(dir.path()).unwrap().unwrap();
    assert_eq!(h.sessions.len(), 2);
    assert!(h.sessions[1].header.resumed);
    assert_eq!(h.sessions[1].header.first_step, 3);
    assert_eq!(h.sessions[1].entries, steps(4, 7));
    assert_eq!(
        h.sessions[0].entries,
        steps(1, 4),
        "the cut line is gone, not a corrupt middle line"
    );
    assert!(!h.truncated);
}

#[test]
fn a_corrupt_middle_line_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0, &steps(1, 4));
    let path = dir.path().join(HISTORY_FILE);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text = text.replacen("\"step\",", "\"stp\",", 1);
    std::fs::write(&path, text).unwrap();
    let e = History::read_run(dir.path()).unwrap_err().to_string();
    assert!(e.contains("history.jsonl: line 2: not a history line"), "{e}");
}

#[test]
fn a_newer_version_is_refused_before_its_shape_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(HISTORY_FILE),
        "{\"kind\":\"header\",\"version\":2,\"spec\":\"a shape we do not know\"}\n",
    )
    .unwrap();
    let e = History::read_run(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("line 1: history version 2, this cmbert-tui reads up to 1"),
        "{e}"
    );
}

#[test]
fn lines_before_any_header_and_overlong_lines_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(HISTORY_FILE);
    std::fs::write(&path, "{\"kind\":\"paused\",\"step\":1}\n").unwrap();
    let e = History::read_run(dir.path()).unwrap_err().to_string();
    assert!(e.contains("line 1: a history starts with a header line"), "{e}");
    std::fs::write(&path, vec![b'x'; (MAX_LINE + 10) as usize]).unwrap();
    let e = History::read_run(dir.path()).unwrap_err().to_string();
    assert!(e.contains("line 1: longer than"), "{e}");
}

#[test]
fn no_history_is_none_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(History::read_run(dir.path()).unwrap(), None);
}

#[test]
fn an_eval_line_without_a_train_loss_reads_as_none_and_the_test_writes_none() {
    let dir = tempfile::tempdir().unwrap();
    let test = Entry::Eval {
        split: Split::Test,
        epoch: None,
        step: 9,
        loss: 0.5,
        metrics: metrics(0.25),
        best: false,
        train_loss: None,
    };
    write(dir.path(), 0, std::slice::from_ref(&test));
    let text = std::fs::read_to_string(dir.path().join(HISTORY_FILE)).unwrap();
    assert!(!text.contains("train_loss"), "{text}");
    let h = History::read_run(dir.path()).unwrap().unwrap();
    assert_eq!(h.sessions[0].entries, [test]);
}
