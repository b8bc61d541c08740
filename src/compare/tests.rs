use super::testing::{spec, write_run, STEPS_PER_EPOCH};
use super::*;
use crate::model::ClsAudio;
use crate::train::history::{Header, HistoryWriter, Machine, HISTORY_VERSION};

fn read(dir: &Path) -> Run {
    Run::new(RunInput {
        dir: dir.to_path_buf(),
        history: History::read_run(dir).unwrap(),
        spec: None,
        test: None,
    })
}

#[test]
fn curves_come_from_the_history_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let s = spec(ModelKind::CmBert, ClsAudio::Learned, 1, 3);
    write_run(tmp.path(), &s, 1.0, 3);
    let run = read(tmp.path());
    assert_eq!(run.spec.as_ref(), Some(&s));
    assert!(run.has_history && !run.truncated);
    let c = &run.curves;
    assert_eq!(c.train.len(), 3 * STEPS_PER_EPOCH);
    assert_eq!(c.train[0].0, 1.0);
    assert!(
        (c.train[0].1 - 3.01).abs() < 1e-6,
        "seed 1 wiggles by 0.01: {:?}",
        c.train[0]
    );
    assert_eq!(
        c.dev.iter().map(|d| (d.epoch, d.step)).collect::<Vec<_>>(),
        [(1, 4), (2, 8), (3, 12)]
    );
    assert!(c.dev.iter().all(|d| d.best), "losses fall every epoch");
    assert_eq!(c.best().map(|d| d.epoch), Some(3));
    let test = c.test.expect("a test evaluation");
    assert!((test.loss - 1.31).abs() < 1e-9, "{test:?}");
    assert!(c.finished);
}

#[test]
fn a_resumed_session_replaces_what_was_trained_again() {
    let tmp = tempfile::tempdir().unwrap();
    let s = spec(ModelKind::CmBert, ClsAudio::Zero, 1, 2);
    let header = |first_step| Header {
        version: HISTORY_VERSION,
        spec: s.clone(),
        machine: Machine::this("cpu"),
        started: "2026-12-01T17:00:00+00:00".into(),
        first_step,
        resumed: first_step > 0,
    };
    let step = |step: usize, loss: f32| Entry::Step {
        step,
        epoch: 1 + (step - 1) / STEPS_PER_EPOCH,
        loss,
        lr: 1e-3,
        seconds: 0.0,
    };
    // The first session got to step 6 (an epoch and a half), but last/ holds step 4.
    let mut w = HistoryWriter::start(tmp.path(), header(0)).unwrap();
    for k in 1..=6 {
        w.write(&step(k, 9.0)).unwrap();
        if k == 4 {
            w.write(&Entry::Eval {
                split: Split::Dev,
                epoch: Some(1),
                step: 4,
                loss: 2.0,
                metrics: super::testing::metrics(0.5),
                best: true,
                train_loss: None,
            })
            .unwrap();
        }
    }
    w.write(&Entry::Stopped { step: 6 }).unwrap();
    let mut w = HistoryWriter::start(tmp.path(), header(4)).unwrap();
    for k in 5..=8 {
        w.write(&step(k, 0.5)).unwrap();
    }
    let run = read(tmp.path());
    let steps: Vec<f64> = run.curves.train.iter().map(|p| p.0).collect();
    assert_eq!(steps, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], "no step twice");
    assert!(
        run.curves.train[4..].iter().all(|p| p.1 == 0.5),
        "the resumed steps win"
    );
    assert_eq!(run.curves.dev.len(), 1, "the dev epoch before the resume stays");
    assert!(!run.curves.finished && run.curves.test.is_none());
}

#[test]
fn without_a_history_the_record_and_results_stand_in() {
    let s = spec(ModelKind::TBert, ClsAudio::Zero, 7, 3);
    let test = Scores {
        loss: 1.0,
        headline: [70.0, 71.0, 69.0, 30.0, 1.1, f64::NAN],
        mmsa: None,
    };
    let run = Run::new(RunInput {
        dir: "runs/old".into(),
        history: None,
        spec: Some(s.clone()),
        test: Some(test),
    });
    assert_eq!(run.spec, Some(s));
    assert!(!run.has_history && run.curves.train.is_empty());
    assert_eq!(
        run.curves.test.map(|t| t.headline[..5].to_vec()),
        Some(test.headline[..5].to_vec())
    );
    let cmp = Comparison::new(vec![("runs/old".into(), Grouping::Single, vec![run])]);
    assert!(
        cmp.notes().iter().any(|n| n.contains("runs/old: no history.jsonl")),
        "{:?}",
        cmp.notes()
    );
    assert_eq!(
        Column::Test(Figure::Corr).stat(&cmp.rows[0]),
        None,
        "an undefined figure is no figure"
    );
    assert_eq!(
        Column::Test(Figure::Acc2).stat(&cmp.rows[0]).map(|s| s.mean),
        Some(70.0)
    );
}

fn runs_of(tmp: &Path, name: &str, specs: &[(RunSpec, f64)]) -> Vec<Run> {
    specs
        .iter()
        .enumerate()
        .map(|(i, (s, level))| {
            let dir = tmp.join(name).join(format!("seed-{}", i + 1));
            write_run(&dir, s, *level, s.epochs);
            read(&dir)
        })
        .collect()
}

#[test]
fn labels_name_what_differs_and_the_table_marks_the_best() {
    let tmp = tempfile::tempdir().unwrap();
    let zero = runs_of(
        tmp.path(),
        "zero",
        &[(spec(ModelKind::CmBert, ClsAudio::Zero, 1, 3), 1.2)],
    );
    let mut fast = spec(ModelKind::CmBert, ClsAudio::Learned, 1, 3);
    fast.groups.lr = 3e-3;
    let learned = runs_of(tmp.path(), "learned", &[(fast, 1.0)]);
    let tbert = runs_of(
        tmp.path(),
        "tbert",
        &[(spec(ModelKind::TBert, ClsAudio::Zero, 1, 3), 1.5)],
    );
    let cmp = Comparison::new(vec![
        ("zero".into(), Grouping::Single, zero),
        ("learned".into(), Grouping::Single, learned),
        ("tbert".into(), Grouping::Single, tbert),
    ]);
    assert_eq!(cmp.differs, [Setting::Model, Setting::ClsAudio, Setting::Lr]);
    let labels: Vec<&str> = cmp.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "cm-bert, cls-audio zero, lr 1e-3",
            "cm-bert, cls-audio learned, lr 3e-3",
            "t-bert, lr 1e-3"
        ]
    );
    assert!(
        cmp.common().contains(&"preset scratch".to_string()),
        "{:?}",
        cmp.common()
    );
    assert!(
        cmp.common().contains(&"data data/corpus".to_string()),
        "{:?}",
        cmp.common()
    );
    // The lowest level is the best run: lowest losses, highest accuracy.
    assert_eq!(cmp.best_row(Column::DevLoss), Some(1));
    assert_eq!(cmp.best_row(Column::TestLoss), Some(1));
    assert_eq!(cmp.best_row(Column::Test(Figure::Mae)), Some(1));
    assert_eq!(cmp.best_row(Column::BestEpoch), None, "no better way");
    assert!(cmp.notes().is_empty(), "{:?}", cmp.notes());
}

/// An f32 run and the same run with bf16 products (issue 17's fidelity runs) are told apart
/// by their precision, which the other rows' labels do not name while it is the same.
#[test]
fn the_precision_tells_runs_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let f32_run = runs_of(
        tmp.path(),
        "f32",
        &[(spec(ModelKind::CmBert, ClsAudio::Zero, 1, 2), 1.0)],
    );
    let mut bf16 = spec(ModelKind::CmBert, ClsAudio::Zero, 1, 2);
    bf16.precision = crate::model::bf16::Precision::Bf16;
    let bf16_run = runs_of(tmp.path(), "bf16", &[(bf16, 1.1)]);
    let cmp = Comparison::new(vec![
        ("runs/f32".into(), Grouping::Single, f32_run),
        ("runs/bf16".into(), Grouping::Single, bf16_run),
    ]);
    assert_eq!(cmp.differs, [Setting::Precision]);
    let labels: Vec<&str> = cmp.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["precision f32", "precision bf16"]);
    assert!(
        !cmp.common().iter().any(|c| c.starts_with("precision")),
        "{:?}",
        cmp.common()
    );
    // Shared bf16 is said; shared f32, the default, is not.
    let both_bf16 = Comparison::new(vec![("runs/bf16".into(), Grouping::Single, cmp.rows[1].runs.clone())]);
    assert!(
        both_bf16.common().contains(&"precision bf16".to_string()),
        "{:?}",
        both_bf16.common()
    );
    let only_f32 = Comparison::new(vec![("runs/f32".into(), Grouping::Single, cmp.rows[0].runs.clone())]);
    assert!(
        !only_f32.common().iter().any(|c| c.starts_with("precision")),
        "{:?}",
        only_f32.common()
    );
}

#[test]
fn seeds_group_into_a_band_and_mean_and_std() {
    let tmp = tempfile::tempdir().unwrap();
    let seeds = runs_of(
        tmp.path(),
        "seeds",
        &[1, 2, 3].map(|seed| (spec(ModelKind::CmBert, ClsAudio::Zero, seed, 2), 1.0)),
    );
    let single = runs_of(
        tmp.path(),
        "one",
        &[(spec(ModelKind::CmBert, ClsAudio::Zero, 9, 2), 1.0)],
    );
    let cmp = Comparison::new(vec![
        ("runs/seeds".into(), Grouping::Seeds, seeds),
        ("runs/one".into(), Grouping::Single, single),
    ]);
    assert_eq!(cmp.differs, [Setting::Seed]);
    assert_eq!(cmp.rows[0].label, "seeds 1,2,3");
    assert_eq!(cmp.rows[1].label, "seed 9");
    let row = &cmp.rows[0];
    // Seeds 1, 2, 3 add wiggles of 0.01, 0.02, 0.03 on odd steps.
    let band = row.train_band(0.0, 1000);
    assert_eq!(band.len(), 2 * STEPS_PER_EPOCH);
    let first = band[0];
    assert_eq!(first.x, 1.0);
    assert!(
        (first.min - 3.01).abs() < 1e-6 && (first.max - 3.03).abs() < 1e-6,
        "{first:?}"
    );
    assert!((first.mean - 3.02).abs() < 1e-6, "{first:?}");
    let dev = row.dev_band();
    assert_eq!(dev.iter().map(|p| p.x).collect::<Vec<_>>(), [4.0, 8.0]);
    let loss = Column::TestLoss.stat(row).unwrap();
    assert_eq!(loss.n, 3);
    assert!(
        (loss.mean - 1.32).abs() < 1e-9 && (loss.std - 0.01).abs() < 1e-9,
        "{loss:?}"
    );
    assert_eq!(Column::TestLoss.cell(Some(loss)), "1.320 ± 0.010");
    assert_eq!(
        Column::Test(Figure::Acc2)
            .cell(Column::Test(Figure::Acc2).stat(&cmp.rows[1]))
            .matches('±')
            .count(),
        0
    );
}

#[test]
fn rows_nothing_tells_apart_are_named_by_their_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let s = spec(ModelKind::CmBert, ClsAudio::Zero, 1, 1);
    let a = runs_of(tmp.path(), "a", &[(s.clone(), 1.0)]);
    let b = runs_of(tmp.path(), "b", &[(s, 1.0)]);
    let cmp = Comparison::new(vec![
        ("runs/a".into(), Grouping::Single, a),
        ("runs/b".into(), Grouping::Single, b),
    ]);
    assert!(cmp.differs.is_empty());
    assert_eq!(cmp.rows[0].label, "runs/a");
    assert_eq!(cmp.rows[1].label, "runs/b");
    assert_eq!(cmp.best_row(Column::Test(Figure::Acc2)), None, "equal figures: no best");
}

#[test]
fn different_data_is_said() {
    let tmp = tempfile::tempdir().unwrap();
    let mut other = spec(ModelKind::CmBert, ClsAudio::Zero, 1, 1);
    other.data = "data/mosi".into();
    let a = runs_of(tmp.path(), "a", &[(spec(ModelKind::CmBert, ClsAudio::Zero, 1, 1), 1.0)]);
    let b = runs_of(tmp.path(), "b", &[(other, 1.0)]);
    let cmp = Comparison::new(vec![
        ("a".into(), Grouping::Single, a),
        ("b".into(), Grouping::Single, b),
    ]);
    assert_eq!(cmp.differs, [Setting::Data]);
    assert_eq!(cmp.rows[1].label, "data data/mosi");
    assert!(cmp.notes()[0].contains("different data"), "{:?}", cmp.notes());
}

#[test]
fn smoothing_bands_and_downsampling() {
    assert_eq!(ema(&[(1.0, 2.0), (2.0, 0.0)], 0.75), [(1.0, 2.0), (2.0, 1.5)]);
    // Bands only where every curve has a point.
    let b = band(&[vec![(1.0, 1.0), (2.0, 2.0)], vec![(1.0, 3.0)]]);
    assert_eq!(
        b,
        [BandPoint {
            x: 1.0,
            mean: 2.0,
            min: 1.0,
            max: 3.0
        }]
    );
    let many: Vec<BandPoint> = (0..1000)
        .map(|i| BandPoint {
            x: i as f64,
            mean: 1.0,
            min: 0.5 - (i % 7) as f64,
            max: 2.0,
        })
        .collect();
    let d = downsample(&many, 100);
    assert!(d.len() <= 100 && d.len() >= 50, "{}", d.len());
    assert!(d.iter().all(|p| p.mean == 1.0 && p.max == 2.0));
    assert_eq!(d[0].min, -5.5, "the band keeps its extremes");
    let s = Stat::of([1.0, f64::NAN, 3.0]).unwrap();
    assert_eq!((s.mean, s.n, s.min, s.max), (2.0, 2, 1.0, 3.0));
    assert!((s.std - 2f64.sqrt()).abs() < 1e-12);
    assert_eq!(Stat::of([f64::NAN]), None);
}

/// Each MMSA family's figures are MMSA's (`MmsaMetrics::figures`), in its order, read from
/// what the evaluation recorded; the paper's are `Metrics::headline`'s.
#[test]
fn each_familys_figures_are_read_from_the_recorded_metrics() {
    use crate::data::MmsaKind;
    for kind in [None, Some(MmsaKind::MosiMosei), Some(MmsaKind::Sims)] {
        let m = super::testing::metrics_of(kind, 0.7);
        let scores = Scores::new(1.0, &m);
        let family = Family::of_data(kind);
        assert_eq!(scores.family(), family);
        let figures = family.figures();
        let values: Vec<f64> = figures.iter().map(|f| f.value(&scores)).collect();
        match m.mmsa {
            None => assert_eq!(values, m.headline()),
            Some(mmsa) => {
                let recorded = mmsa.figures();
                let names: Vec<&str> = figures.iter().filter_map(|f| f.mmsa_name()).collect();
                assert_eq!(names, recorded.iter().map(|r| r.0).collect::<Vec<_>>());
                for (f, (name, v)) in figures.iter().zip(recorded) {
                    let want = if f.percent() { 100.0 * v } else { v };
                    assert_eq!(f.value(&scores), want, "{name}");
                }
            }
        }
        // Another family's figure is none of this evaluation's.
        let other = if family == Family::Sims {
            Figure::Non0Acc2
        } else {
            Figure::SimsAcc3
        };
        assert!(other.value(&scores).is_nan(), "{family:?}");
    }
}

/// Runs on CH-SIMS pickles are tabulated with MMSA's SIMS figures; a comparison that mixes
/// families shows the paper's, which every run records, and says so.
#[test]
fn the_table_shows_the_runs_family_and_the_paper_s_when_they_differ() {
    use super::testing::write_run_of;
    use crate::data::MmsaKind;
    let tmp = tempfile::tempdir().unwrap();
    let run_of = |name: &str, kind: Option<MmsaKind>, seed: u64| {
        let dir = tmp.path().join(name);
        let mut s = spec(ModelKind::CmBert, ClsAudio::Zero, seed, 2);
        if kind.is_some() {
            s.data = "mmsa/sims.pkl".into();
        }
        write_run_of(kind, &dir, &s, 1.0, 2);
        read(&dir)
    };
    let sims = Comparison::new(vec![
        ("a".into(), Grouping::Single, vec![run_of("a", Some(MmsaKind::Sims), 1)]),
        ("b".into(), Grouping::Single, vec![run_of("b", Some(MmsaKind::Sims), 2)]),
    ]);
    assert_eq!(sims.family, Family::Sims);
    assert!(sims.mixed.is_empty());
    let names: Vec<&str> = sims.columns().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "best",
            "dev loss",
            "test loss",
            "Acc2",
            "Acc3",
            "Acc5",
            "F1",
            "MAE",
            "Corr"
        ]
    );
    let test = sims.rows[0].runs[0].curves.test.unwrap();
    let Some(crate::train::MmsaMetrics::Sims { acc3, mae, .. }) = test.mmsa else {
        panic!("{test:?}")
    };
    let stat = |f: Figure| Column::Test(f).stat(&sims.rows[0]).unwrap().mean;
    assert_eq!(stat(Figure::SimsAcc3), 100.0 * acc3);
    assert_eq!(stat(Figure::SimsMae), mae);
    assert!(
        sims.figures_note().contains("MMSA's figures for CH-SIMS"),
        "{}",
        sims.figures_note()
    );
    // The label an MMSA run trained on is one of its settings.
    assert!(sims.common().contains(&"label M".to_string()), "{:?}", sims.common());

    let mixed = Comparison::new(vec![
        (
            "a".into(),
            Grouping::Single,
            vec![run_of("a2", Some(MmsaKind::Sims), 1)],
        ),
        ("tsv".into(), Grouping::Single, vec![run_of("tsv", None, 1)]),
    ]);
    assert_eq!(mixed.family, Family::Paper);
    assert_eq!(mixed.mixed, [Family::Paper, Family::Sims]);
    assert_eq!(mixed.columns(), Column::all(Family::Paper));
    assert!(
        mixed
            .notes()
            .iter()
            .any(|n| n.contains("different figures (paper, MMSA CH-SIMS): shown are the paper's")),
        "{:?}",
        mixed.notes()
    );
    // The SIMS run has the paper's figures too.
    assert!(Column::Test(Figure::Acc2).stat(&mixed.rows[0]).is_some());
}
