//! Finding runs and seed groups in run directories, and the printed table. The binary is
//! run on real runs by the lead's end-to-end test; these directories are written as a real
//! run writes them (`compare::testing`).

use super::*;
use crate::compare::testing::{spec, write_run};
use crate::compare::{Grouping, Setting};
use crate::model::{ClsAudio, ModelKind};

#[test]
fn runs_seed_groups_and_checkpoints_are_found() {
    let tmp = tempfile::tempdir().unwrap();
    let zero = tmp.path().join("zero");
    write_run(&zero, &spec(ModelKind::CmBert, ClsAudio::Zero, 1, 2), 1.2, 2);
    std::fs::create_dir_all(zero.join("best")).unwrap();
    std::fs::write(zero.join("best/config.json"), "{}").unwrap();
    let seeds = tmp.path().join("seeds");
    for seed in [2, 1, 10] {
        let dir = seeds.join(format!("seed-{seed}"));
        write_run(&dir, &spec(ModelKind::CmBert, ClsAudio::Learned, seed, 2), 1.0, 2);
        // `runs` knows a seed run by its checkpoints.
        std::fs::create_dir_all(dir.join("last")).unwrap();
    }
    // A checkpoint stands for its run.
    let cmp = load(&[zero.join("best"), seeds.clone()]).unwrap();
    assert_eq!(cmp.rows[0].dir, zero);
    assert_eq!(cmp.rows[0].grouping, Grouping::Single);
    assert_eq!(cmp.rows[1].grouping, Grouping::Seeds);
    let order: Vec<u64> = cmp.rows[1].runs.iter().map(|r| r.spec.as_ref().unwrap().seed).collect();
    assert_eq!(order, [1, 2, 10], "seed order");
    assert_eq!(cmp.differs, [Setting::ClsAudio, Setting::Seed]);
    let table = text_table(&cmp);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("RUN") && lines[0].contains("dev loss") && lines[0].ends_with("Corr"),
        "{table}"
    );
    assert!(lines[1].starts_with("cls-audio zero, seed 1 "), "{table}");
    assert!(lines[2].starts_with("cls-audio learned, seeds 1,2,10 "), "{table}");
    assert!(lines[2].contains("±") && lines[2].contains('*'), "{table}");
    assert!(table.contains("differ in: cls-audio, seed\n"), "{table}");
    assert!(!table.contains("note:"), "{table}");
}

#[test]
fn what_is_not_a_run_is_said() {
    let tmp = tempfile::tempdir().unwrap();
    let e = load(&[tmp.path().join("nowhere")]).unwrap_err().to_string();
    assert!(e.contains("nowhere: not a directory; give run directories"), "{e}");
    let e = load(&[tmp.path().to_path_buf()]).unwrap_err().to_string();
    assert!(
        e.contains("neither a run directory (no history.jsonl, best/ or last/) nor a --seeds run"),
        "{e}"
    );
    // A corrupt history names its file and line.
    let run = tmp.path().join("run");
    write_run(&run, &spec(ModelKind::CmBert, ClsAudio::Zero, 1, 1), 1.0, 1);
    let path = run.join("history.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("\"step\",", "\"stp\",", 1);
    std::fs::write(&path, text).unwrap();
    let e = format!("{:#}", load(&[run]).unwrap_err());
    assert!(e.contains("history.jsonl: line 2: not a history line"), "{e}");
}

#[test]
fn an_unfinished_run_is_noted() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    write_run(&a, &spec(ModelKind::CmBert, ClsAudio::Zero, 1, 3), 1.0, 3);
    write_run(&b, &spec(ModelKind::TBert, ClsAudio::Zero, 1, 3), 1.0, 1);
    let table = text_table(&load(&[a, b.clone()]).unwrap());
    assert!(
        table.contains(&format!("note: {}: not tested yet", b.display())),
        "{table}"
    );
    let t_bert = table.lines().find(|l| l.starts_with("t-bert")).unwrap();
    assert!(t_bert.contains(" - "), "no test figures: {t_bert}");
}

#[test]
fn each_row_says_what_it_recorded_of_its_attention() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = ["watched", "none", "broken", "text"].map(|n| tmp.path().join(n));
    let models = [
        ModelKind::CmBert,
        ModelKind::CmBert,
        ModelKind::CmBert,
        ModelKind::TBert,
    ];
    for (i, (dir, model)) in dirs.iter().zip(models).enumerate() {
        write_run(dir, &spec(model, ClsAudio::Zero, i as u64 + 1, 2), 1.0, 2);
    }
    let log = crate::compare::attention::tests::log(&[(Split::Test, 6, 1)]);
    log.write(&AttentionLog::path_in(&dirs[0])).unwrap();
    std::fs::write(AttentionLog::path_in(&dirs[2]), b"not safetensors").unwrap();
    // A T-BERT run is said to be one whatever lies in its directory.
    log.write(&AttentionLog::path_in(&dirs[3])).unwrap();
    let got = recordings(&load(&dirs).unwrap());
    assert_eq!(got[0], Recording::from_log(&log));
    assert_eq!(got[1], Recording::Missing);
    let Recording::Unreadable(problem) = &got[2] else {
        panic!("{:?}", got[2]);
    };
    assert!(
        problem.starts_with(&format!(
            "{}: not a recorded attention file",
            AttentionLog::path_in(&dirs[2]).display()
        )),
        "{problem}"
    );
    assert_eq!(got[3], Recording::TextOnly);
}
