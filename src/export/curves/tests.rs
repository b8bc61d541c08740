//! The comparison's files: the figure decodes at its size with the rows' colours, the
//! tables hold the figures.

use std::path::Path;

use super::*;
use crate::compare::testing::{spec, write_run};
use crate::compare::{Run, RunInput};
use crate::model::{ClsAudio, ModelKind};
use crate::train::history::History;

fn run(dir: &Path) -> Run {
    Run::new(RunInput {
        dir: dir.to_path_buf(),
        history: History::read_run(dir).unwrap(),
        spec: None,
        test: None,
    })
}

fn comparison(tmp: &Path) -> Comparison {
    let zero = tmp.join("zero");
    write_run(&zero, &spec(ModelKind::CmBert, ClsAudio::Zero, 1, 3), 1.2, 3);
    let seeds: Vec<Run> = (1..=2)
        .map(|seed| {
            let dir = tmp.join("learned").join(format!("seed-{seed}"));
            write_run(&dir, &spec(ModelKind::CmBert, ClsAudio::Learned, seed, 3), 1.0, 3);
            run(&dir)
        })
        .collect();
    Comparison::new(vec![
        ("runs/zero".into(), Grouping::Single, vec![run(&zero)]),
        ("runs/learned".into(), Grouping::Seeds, seeds),
    ])
}

#[test]
fn the_png_decodes_at_its_size_with_each_rows_colour() {
    let tmp = tempfile::tempdir().unwrap();
    let cmp = comparison(tmp.path());
    let bytes = render(&cmp, CurvesFormat::Png, Contents::Comparison).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), size(2));
    assert_eq!(info.width, 1600);
    let has = |c: RGBColor| pixels.chunks(3).filter(|p| p == &[c.0, c.1, c.2]).count();
    assert!(has(colour(0)) > 500, "row 1's curves: {}", has(colour(0)));
    assert!(has(colour(1)) > 500, "row 2's curves: {}", has(colour(1)));
    assert!(has(colour(2)) == 0, "no third row");
    let svg = String::from_utf8(render(&cmp, CurvesFormat::Svg, Contents::Comparison).unwrap()).unwrap();
    assert!(
        svg.contains("dev Acc2 (%)") && svg.contains("differ in: cls-audio, seed"),
        "{}",
        &svg[..400]
    );
    assert!(svg.contains("cls-audio learned, seeds 1,2"));
}

#[test]
fn the_tables_hold_the_figures_and_mark_the_best() {
    let tmp = tempfile::tempdir().unwrap();
    let cmp = comparison(tmp.path());
    let csv = String::from_utf8(render(&cmp, CurvesFormat::Csv, Contents::Comparison).unwrap()).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "label,dir,runs,cls-audio,seed,best_epoch,best_epoch_std,dev_loss,dev_loss_std,test_loss,test_loss_std,\
acc2,acc2_std,acc2_nonzero,acc2_nonzero_std,f1,f1_std,acc7,acc7_std,mae,mae_std,corr,corr_std,best_in"
    );
    let records: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    let zero: Vec<&str> = records[0].iter().collect();
    assert_eq!(
        &zero[..5],
        ["cls-audio zero, seed 1", "runs/zero", "1", "zero", "1"].as_slice()
    );
    // level 1.2, seed 1: test loss 1.2 * 1.3 + 0.01.
    assert!((zero[9].parse::<f64>().unwrap() - 1.57).abs() < 1e-9, "{zero:?}");
    assert_eq!(zero[10], "", "no std for one run");
    lines.next();
    let seeds = lines.next().unwrap();
    assert!(
        seeds.starts_with("\"cls-audio learned, seeds 1,2\",runs/learned,2,learned,\"1,2\","),
        "{seeds}"
    );
    assert!(
        seeds.contains(",1.315,0.007071067811865"),
        "mean and std of 1.31 and 1.32: {seeds}"
    );
    assert!(
        seeds.ends_with(",dev_loss test_loss acc2 acc2_nonzero f1 acc7 mae corr"),
        "{seeds}"
    );
    let md = String::from_utf8(render(&cmp, CurvesFormat::Markdown, Contents::Comparison).unwrap()).unwrap();
    assert!(md.starts_with("| run | best | dev loss | test loss | Acc2 |"), "{md}");
    assert!(md.contains("| cls-audio learned, seeds 1,2 | 3.0 ± 0.0 |"), "{md}");
    assert!(md.contains("**1.315 ± 0.007**"), "{md}");
    assert!(md.contains("Differ in: cls-audio, seed."), "{md}");
    let points = String::from_utf8(render(&cmp, CurvesFormat::Csv, Contents::Curves).unwrap()).unwrap();
    let mut lines = points.lines();
    assert_eq!(lines.next(), Some("label,run,series,step,epoch,value"));
    let rows: Vec<&str> = lines.collect();
    // 3 runs: 12 steps, 3 epochs x 7 dev series, 7 test figures each.
    assert_eq!(rows.len(), 3 * (12 + 3 * 7 + 7));
    assert!(rows[0].starts_with(&format!(
        "\"cls-audio zero, seed 1\",{},train_loss,1,,",
        tmp.path().join("zero").display()
    )));
    assert!(rows.iter().any(|r| r.contains(",dev_acc2,8,2,")), "{rows:?}");
    assert!(rows.iter().any(|r| r.contains(",test_mae,,,")), "{rows:?}");
}

#[test]
fn ticks_are_round() {
    assert_eq!(nice_ticks(0.0, 12.0), [0.0, 5.0, 10.0]);
    assert_eq!(nice_ticks(0.0, 9.0), [0.0, 2.0, 4.0, 6.0, 8.0]);
    let shown: Vec<String> = nice_ticks(0.13, 0.92).iter().map(|t| format!("{t:.3}")).collect();
    assert_eq!(shown, ["0.200", "0.400", "0.600", "0.800"]);
    assert_eq!(nice_ticks(1.0, f64::NAN), [1.0]);
    assert_eq!(
        CurvesFormat::from_path(Path::new("a/b.MD")),
        Some(CurvesFormat::Markdown)
    );
    assert_eq!(CurvesFormat::from_path(Path::new("a/b.json")), None);
}

/// Two runs on a CH-SIMS pickle: the figure draws MMSA's SIMS Acc2, MAE and Corr, the tables
/// and every point carry MMSA's SIMS figures (not the paper's Acc7 of labels in [-1, 1]).
#[test]
fn a_sims_comparison_draws_and_tabulates_mmsas_sims_figures() {
    use crate::compare::testing::write_run_of;
    use crate::data::MmsaKind;
    let tmp = tempfile::tempdir().unwrap();
    let runs: Vec<Run> = [1, 2]
        .map(|seed| {
            let dir = tmp.path().join(format!("sims-{seed}"));
            let mut s = spec(ModelKind::CmBert, ClsAudio::Zero, seed, 2);
            s.data = "mmsa/sims.pkl".into();
            write_run_of(Some(MmsaKind::Sims), &dir, &s, 1.0 + seed as f64 / 10.0, 2);
            run(&dir)
        })
        .into();
    let mut runs = runs.into_iter();
    let cmp = Comparison::new(vec![
        ("runs/a".into(), Grouping::Single, vec![runs.next().unwrap()]),
        ("runs/b".into(), Grouping::Single, vec![runs.next().unwrap()]),
    ]);
    let svg = String::from_utf8(render(&cmp, CurvesFormat::Svg, Contents::Comparison).unwrap()).unwrap();
    for title in [
        "dev Acc2 (Mult_acc_2, %)",
        "dev MAE",
        "dev Corr",
        "figures: MMSA CH-SIMS",
    ] {
        assert!(svg.contains(title), "{title}");
    }
    assert!(!svg.contains("dev Acc2 (%)"), "the paper's Acc2 panel");
    let csv = String::from_utf8(render(&cmp, CurvesFormat::Csv, Contents::Comparison).unwrap()).unwrap();
    assert!(
        csv.lines().next().unwrap().ends_with(
            "test_loss,test_loss_std,sims_acc2,sims_acc2_std,sims_acc3,sims_acc3_std,sims_acc5,sims_acc5_std,\
sims_f1,sims_f1_std,sims_mae,sims_mae_std,sims_corr,sims_corr_std,best_in"
        ),
        "{csv}"
    );
    let md = String::from_utf8(render(&cmp, CurvesFormat::Markdown, Contents::Comparison).unwrap()).unwrap();
    assert!(
        md.starts_with("| run | best | dev loss | test loss | Acc2 | Acc3 | Acc5 | F1 | MAE | Corr |"),
        "{md}"
    );
    assert!(md.contains("MMSA's figures for CH-SIMS"), "{md}");
    let points = String::from_utf8(render(&cmp, CurvesFormat::Csv, Contents::Curves).unwrap()).unwrap();
    let rows: Vec<&str> = points.lines().skip(1).collect();
    // 2 runs: 8 steps, 2 epochs x 7 dev series (loss and six figures), 7 test series each.
    assert_eq!(rows.len(), 2 * (8 + 2 * 7 + 7), "{points}");
    assert!(!points.contains("acc7") && !points.contains("dev_acc2,"), "{points}");
    let test = cmp.rows[0].runs[0].curves.test.unwrap();
    let Some(crate::train::MmsaMetrics::Sims { acc3, .. }) = test.mmsa else {
        panic!("{test:?}")
    };
    let written = rows
        .iter()
        .find(|r| r.contains(",test_sims_acc3,,,") && r.contains("sims-1"))
        .expect("the test Acc3");
    let value: f64 = written.rsplit(',').next().unwrap().parse().unwrap();
    assert_eq!(value, 100.0 * acc3);
}
