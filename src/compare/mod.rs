//! Runs side by side (`cmbert-tui compare`, `export --curves`): each run's curves read from
//! its history (`RUN/history.jsonl`), the settings that tell the runs apart, seeds of one
//! `--seeds` run grouped into one row (mean, min and max curves; mean ± std figures), and
//! the metrics table with the best value of each column. The table's test figures are those
//! the runs' data family reports (`Family`: the paper's, or MMSA's for MOSI/MOSEI or CH-SIMS),
//! read from what the runs recorded.
//!
//! This module reads nothing from disk but the histories' parsed form: `commands::compare`
//! finds the run directories and hands over what each says (`RunInput`). The screen
//! (`ui::compare`) and the figure and tables (`export::curves`) draw a `Comparison`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::data::Split;
use crate::model::ModelKind;
use crate::train::history::{Entry, History};
use crate::train::{Metrics, MmsaMetrics, RunSpec};

pub mod attention;
mod table;
pub use table::{Better, Column, Family, Figure};

/// A loss, the six headline figures (`Metrics::headline`: Acc2, Acc2 non-zero, F1, Acc7 in
/// %, MAE, Corr) every evaluation has, and MMSA's figures where the data was an MMSA pickle;
/// NaN where a figure is undefined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// The split's mean loss.
    pub loss: f64,
    /// Acc2, Acc2 non-zero, F1, Acc7 (in %), MAE, Corr.
    pub headline: [f64; 6],
    /// MMSA's figures for the data's family (fractions, as recorded).
    pub mmsa: Option<MmsaMetrics>,
}

impl Scores {
    /// From an evaluation's loss and metrics.
    pub fn new(loss: f64, metrics: &Metrics) -> Self {
        Self {
            loss,
            headline: metrics.headline(),
            mmsa: metrics.mmsa,
        }
    }

    /// Whose figures the evaluation reports.
    pub fn family(&self) -> Family {
        Family::of(self.mmsa.as_ref())
    }
}

/// One dev evaluation (an epoch's end).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DevPoint {
    /// The epoch just finished, from 1.
    pub epoch: usize,
    /// Optimiser steps taken.
    pub step: usize,
    /// Its loss and figures.
    pub scores: Scores,
    /// The best dev epoch so far (`best/` was saved from it).
    pub best: bool,
}

/// What one run's history says: the curves and the test figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Curves {
    /// Training loss per optimiser step: (step, loss).
    pub train: Vec<(f64, f64)>,
    /// Dev evaluations in step order.
    pub dev: Vec<DevPoint>,
    /// The best checkpoint on the test split.
    pub test: Option<Scores>,
    /// The run wrote `finished`.
    pub finished: bool,
}

impl Curves {
    /// The curves of a history. A `--resume` session starts from its checkpoint's step: what
    /// the earlier session recorded after that step was trained again, and the newer
    /// session's lines replace it.
    pub fn from_history(history: &History) -> Self {
        let mut c = Self::default();
        for session in &history.sessions {
            let from = session.header.first_step;
            c.train.retain(|p| p.0 <= from as f64);
            c.dev.retain(|d| d.step <= from);
            c.finished = false;
            for entry in &session.entries {
                match entry {
                    Entry::Step { step, loss, .. } => c.train.push((*step as f64, *loss as f64)),
                    Entry::Eval {
                        split: Split::Dev,
                        epoch: Some(epoch),
                        step,
                        loss,
                        metrics,
                        best,
                        ..
                    } => c.dev.push(DevPoint {
                        epoch: *epoch,
                        step: *step,
                        scores: Scores::new(*loss, metrics),
                        best: *best,
                    }),
                    Entry::Eval {
                        split: Split::Test,
                        epoch: None,
                        loss,
                        metrics,
                        ..
                    } => c.test = Some(Scores::new(*loss, metrics)),
                    Entry::Finished { .. } => c.finished = true,
                    // Saves, pauses and failures draw no curve; kinds added later neither.
                    _ => {}
                }
            }
        }
        c
    }

    /// Whose figures the run reports: its test evaluation's, else its latest dev
    /// evaluation's; `None` before any.
    pub fn family(&self) -> Option<Family> {
        self.test.or(self.dev.last().map(|d| d.scores)).map(|s| s.family())
    }

    /// The best dev epoch: the last one marked best, else the lowest loss.
    pub fn best(&self) -> Option<&DevPoint> {
        self.dev.iter().rev().find(|d| d.best).or_else(|| {
            self.dev
                .iter()
                .filter(|d| d.scores.loss.is_finite())
                .min_by(|a, b| a.scores.loss.total_cmp(&b.scores.loss))
        })
    }
}

/// What a run directory says, as `commands::compare` reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInput {
    /// The run directory.
    pub dir: PathBuf,
    /// Its `history.jsonl`; `None` for a run from before histories.
    pub history: Option<History>,
    /// The run's settings from its checkpoints' record (used when there is no history).
    pub spec: Option<RunSpec>,
    /// Its `results.json` test figures (used when the history has no test evaluation).
    pub test: Option<Scores>,
}

/// One run as compared.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The run directory.
    pub dir: PathBuf,
    /// Its settings: the newest session's header, else the checkpoint record.
    pub spec: Option<RunSpec>,
    /// Its curves (empty without a history).
    pub curves: Curves,
    /// It has a history (a run without one has only its test figures).
    pub has_history: bool,
    /// The history's last line was cut off (a crash while writing).
    pub truncated: bool,
}

impl Run {
    /// The run from what its directory says.
    pub fn new(input: RunInput) -> Self {
        let curves = input.history.as_ref().map(Curves::from_history).unwrap_or_default();
        let spec = input
            .history
            .as_ref()
            .and_then(|h| h.sessions.last())
            .map(|s| s.header.spec.clone())
            .or(input.spec);
        let test = curves.test.or(input.test);
        Self {
            dir: input.dir,
            spec,
            curves: Curves { test, ..curves },
            has_history: input.history.is_some(),
            truncated: input.history.as_ref().is_some_and(|h| h.truncated),
        }
    }
}

/// Whether a row is one run or the seeds of one `--seeds` run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// One run directory.
    Single,
    /// The `seed-N/` runs of one directory.
    Seeds,
}

/// A setting that can tell runs apart, in the order labels name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Setting {
    /// CM-BERT or T-BERT.
    Model,
    /// What CM-BERT's `[CLS]` audio slot carries.
    ClsAudio,
    /// The recipe (`paper`, `scratch`).
    Preset,
    /// The encoder's learning rate.
    Lr,
    /// The fusion head's learning rate.
    HeadLr,
    /// Training examples per step.
    BatchSize,
    /// Planned epochs.
    Epochs,
    /// The data directory.
    Data,
    /// Which of an MMSA pickle's labels (CH-SIMS: `M`, `T`, `A`, `V`).
    Label,
    /// The audio features file.
    Audio,
    /// The arithmetic of the encoder's products (`f32`, `bf16`).
    Precision,
    /// The seed (a seed group: its seeds).
    Seed,
}

/// Every setting, in label order.
pub const SETTINGS: [Setting; 12] = [
    Setting::Model,
    Setting::ClsAudio,
    Setting::Preset,
    Setting::Lr,
    Setting::HeadLr,
    Setting::BatchSize,
    Setting::Epochs,
    Setting::Data,
    Setting::Label,
    Setting::Audio,
    Setting::Precision,
    Setting::Seed,
];

impl Setting {
    /// Its name as a table column and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::ClsAudio => "cls-audio",
            Self::Preset => "preset",
            Self::Lr => "lr",
            Self::HeadLr => "head-lr",
            Self::BatchSize => "batch-size",
            Self::Epochs => "epochs",
            Self::Data => "data",
            Self::Label => "label",
            Self::Audio => "audio",
            Self::Precision => "precision",
            Self::Seed => "seed",
        }
    }

    /// Its value for runs of these settings (the seeds of a group joined), `?` without.
    fn value(self, specs: &[&RunSpec]) -> String {
        let Some(spec) = specs.first() else {
            return "?".into();
        };
        match self {
            Self::Model => spec.model.to_string(),
            Self::ClsAudio => match spec.model {
                ModelKind::CmBert => spec.cls_audio.to_string(),
                // T-BERT has no audio slot: its setting does not tell it from anything.
                ModelKind::TBert => "-".into(),
            },
            Self::Preset => spec.preset.to_string(),
            Self::Lr => format!("{:e}", spec.groups.lr),
            Self::HeadLr => format!("{:e}", spec.groups.head_lr),
            Self::BatchSize => spec.batch_size.to_string(),
            Self::Epochs => spec.epochs.to_string(),
            Self::Data => short_path(&spec.data),
            // A TSV dataset has one label: the setting does not tell it from anything.
            Self::Label if crate::data::mmsa::is_pickle(&spec.data) => spec.label.to_string(),
            Self::Label => "-".into(),
            Self::Audio => spec.audio.as_deref().map_or_else(|| "none".into(), short_path),
            Self::Precision => spec.precision.name().into(),
            Self::Seed => {
                let mut seeds: Vec<u64> = specs.iter().map(|s| s.seed).collect();
                seeds.sort_unstable();
                seeds.dedup();
                seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
            }
        }
    }

    /// Its column in a CSV, beside the row's `label`: the name, `mmsa_label` for the label.
    pub fn key(self) -> &'static str {
        match self {
            Self::Label => "mmsa_label",
            _ => self.name(),
        }
    }

    /// As a label names it: `cm-bert`, `cls-audio learned`, `lr 1e-3`, `seeds 1,2,3`.
    fn labelled(self, value: &str, group: Grouping) -> String {
        match (self, group) {
            (Self::Model, _) => value.to_string(),
            (Self::Seed, Grouping::Seeds) => format!("seeds {value}"),
            // As the command line spells it: `cls-audio learned`, `lr 1e-3`.
            _ => format!("{} {value}", self.name()),
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The last two components: enough to tell `data/text` from `corpus-v1-seed1`.
fn short_path(p: &Path) -> String {
    let parts: Vec<_> = p.components().rev().take(2).collect();
    parts.into_iter().rev().collect::<PathBuf>().display().to_string()
}

/// One row of the comparison: a run, or the seeds of one `--seeds` run.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The directory given.
    pub dir: PathBuf,
    /// One run, or the seed runs in seed order.
    pub runs: Vec<Run>,
    /// One run or a seed group.
    pub grouping: Grouping,
    /// What tells it from the other rows (`cm-bert, cls-audio learned`), or its directory
    /// where nothing does.
    pub label: String,
    /// The value of every setting (`?` where the run records none).
    pub settings: BTreeMap<Setting, String>,
}

/// A statistic of one figure over a row's runs (one run: its value, std 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Mean over the runs that have the figure.
    pub mean: f64,
    /// Sample standard deviation (0 for one run).
    pub std: f64,
    /// The lowest.
    pub min: f64,
    /// The highest.
    pub max: f64,
    /// Runs that have the figure.
    pub n: usize,
}

impl Stat {
    /// Of the finite values; `None` when there are none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let v: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        let n = v.len();
        if n == 0 {
            return None;
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let std = if n > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Self {
            mean,
            std,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            n,
        })
    }
}

/// Mean, lowest and highest of a row's curves at one x (one run: all three its value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    /// Step.
    pub x: f64,
    /// Mean over the runs.
    pub mean: f64,
    /// Lowest.
    pub min: f64,
    /// Highest.
    pub max: f64,
}

/// The band of `curves` at the x values all of them have (seeds of one run take the same
/// steps; a run cut short ends the band where it ends).
pub fn band(curves: &[Vec<(f64, f64)>]) -> Vec<BandPoint> {
    let mut at: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    for curve in curves {
        for &(x, y) in curve {
            at.entry(x.to_bits()).or_default().push(y);
        }
    }
    let mut points: Vec<BandPoint> = at
        .into_iter()
        .filter(|(_, ys)| ys.len() == curves.len())
        .filter_map(|(x, ys)| {
            let s = Stat::of(ys)?;
            Some(BandPoint {
                x: f64::from_bits(x),
                mean: s.mean,
                min: s.min,
                max: s.max,
            })
        })
        .collect();
    points.sort_by(|a, b| a.x.total_cmp(&b.x));
    points
}

/// The exponential moving average the training screen draws (`alpha` the weight of the past).
pub fn ema(points: &[(f64, f64)], alpha: f64) -> Vec<(f64, f64)> {
    let mut e: Option<f64> = None;
    points
        .iter()
        .map(|&(x, y)| {
            let v = e.map_or(y, |e| alpha * e + (1.0 - alpha) * y);
            e = Some(v);
            (x, v)
        })
        .collect()
}

/// At most `max` points: means of consecutive buckets (the ends stay in place).
pub fn downsample(points: &[BandPoint], max: usize) -> Vec<BandPoint> {
    if points.len() <= max.max(1) {
        return points.to_vec();
    }
    let size = points.len().div_ceil(max.max(1));
    points
        .chunks(size)
        .map(|c| {
            let n = c.len() as f64;
            BandPoint {
                x: c.iter().map(|p| p.x).sum::<f64>() / n,
                mean: c.iter().map(|p| p.mean).sum::<f64>() / n,
                min: c.iter().map(|p| p.min).fold(f64::INFINITY, f64::min),
                max: c.iter().map(|p| p.max).fold(f64::NEG_INFINITY, f64::max),
            }
        })
        .collect()
}

impl Row {
    /// The training loss smoothed with `alpha` (each run's, then their band), at most
    /// `max_points` points.
    pub fn train_band(&self, alpha: f64, max_points: usize) -> Vec<BandPoint> {
        let smoothed: Vec<Vec<(f64, f64)>> = self.runs.iter().map(|r| ema(&r.curves.train, alpha)).collect();
        downsample(&band(&smoothed), max_points)
    }

    /// The dev loss per epoch, at the epoch's step.
    pub fn dev_band(&self) -> Vec<BandPoint> {
        self.dev_figure_band(|s| s.loss)
    }

    /// One dev figure per epoch (`figure` of the scores), at the epoch's step.
    pub fn dev_figure_band(&self, figure: impl Fn(&Scores) -> f64) -> Vec<BandPoint> {
        let curves: Vec<Vec<(f64, f64)>> = self
            .runs
            .iter()
            .map(|r| {
                r.curves
                    .dev
                    .iter()
                    .map(|d| (d.step as f64, figure(&d.scores)))
                    .collect()
            })
            .collect();
        band(&curves)
    }

    /// Some run has a history.
    pub fn has_curves(&self) -> bool {
        self.runs.iter().any(|r| r.has_history)
    }
}

/// Runs compared: one row each (a seed group is one row), and what tells them apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// In the order given.
    pub rows: Vec<Row>,
    /// The settings whose values differ between rows, in label order.
    pub differs: Vec<Setting>,
    /// Whose figures the table and the figure's curves show: the runs' family when they
    /// share one (the paper's when none has been evaluated).
    pub family: Family,
    /// The families the runs report, when they differ: then the table shows the paper's
    /// figures, which every evaluation records alike (`Metrics::headline`), and says so.
    pub mixed: Vec<Family>,
}

impl Comparison {
    /// The rows given as (directory, grouping, its runs). Labels name the settings that
    /// differ (a seed group's seeds count as its seed); rows that nothing tells apart are
    /// named by their directory.
    pub fn new(rows: Vec<(PathBuf, Grouping, Vec<Run>)>) -> Self {
        let mut rows: Vec<Row> = rows
            .into_iter()
            .map(|(dir, grouping, runs)| {
                let specs: Vec<&RunSpec> = runs.iter().filter_map(|r| r.spec.as_ref()).collect();
                let settings = SETTINGS.iter().map(|&s| (s, s.value(&specs))).collect();
                Row {
                    dir,
                    runs,
                    grouping,
                    label: String::new(),
                    settings,
                }
            })
            .collect();
        let differs: Vec<Setting> = SETTINGS
            .into_iter()
            .filter(|s| {
                let mut values = rows.iter().map(|r| &r.settings[s]).filter(|v| *v != "?");
                let first = values.next();
                values.any(|v| Some(v) != first)
            })
            .collect();
        for row in &mut rows {
            let parts: Vec<String> = differs
                .iter()
                // A T-BERT row says nothing about the audio slot it does not have.
                .filter(|s| row.settings[s] != "-")
                .map(|s| s.labelled(&row.settings[s], row.grouping))
                .collect();
            row.label = parts.join(", ");
        }
        let mut families: Vec<Family> = rows
            .iter()
            .flat_map(|r| &r.runs)
            .filter_map(|r| r.curves.family())
            .collect();
        families.sort();
        families.dedup();
        let (family, mixed) = match families[..] {
            [] => (Family::Paper, Vec::new()),
            [one] => (one, Vec::new()),
            _ => (Family::Paper, families),
        };
        // Rows that nothing tells apart (the same settings, or none recorded) are named by
        // their directory as well.
        let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
        for (i, row) in rows.iter_mut().enumerate() {
            let twin = labels.iter().enumerate().any(|(j, l)| j != i && *l == labels[i]);
            if row.label.is_empty() || twin {
                let dir = short_path(&row.dir);
                row.label = if row.label.is_empty() {
                    dir
                } else {
                    format!("{} ({dir})", row.label)
                };
            }
            if row.grouping == Grouping::Seeds && !differs.contains(&Setting::Seed) {
                row.label += &format!(" ({} seeds)", row.runs.len());
            }
        }
        Self {
            rows,
            differs,
            family,
            mixed,
        }
    }

    /// The metrics table's columns, in table order.
    pub fn columns(&self) -> Vec<Column> {
        Column::all(self.family)
    }

    /// What the test figures are, for the lines under a table: whose, and in which units.
    pub fn figures_note(&self) -> String {
        format!(
            "best: the best dev epoch; test figures of its weights: {}",
            self.family.describe()
        )
    }

    /// The settings all rows share, as `name value` (for a figure's header), but for float32
    /// products: the default, which every run had before `--precision`, is not named.
    pub fn common(&self) -> Vec<String> {
        let Some(first) = self.rows.first() else {
            return Vec::new();
        };
        let f32 = crate::model::bf16::Precision::F32.name();
        SETTINGS
            .iter()
            .filter(|s| !self.differs.contains(s) && **s != Setting::Seed)
            .map(|s| (s, &first.settings[s]))
            .filter(|(s, v)| *v != "?" && *v != "-" && !(**s == Setting::Precision && *v == f32))
            .map(|(s, v)| format!("{} {v}", s.name()))
            .collect()
    }

    /// The row with the best mean in `column` (`None` where the column has no better way,
    /// fewer than two rows have the figure, or all are equal).
    pub fn best_row(&self, column: Column) -> Option<usize> {
        let better = column.better()?;
        let means: Vec<(usize, f64)> = self
            .rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i, column.stat(r)?.mean)))
            .collect();
        if means.len() < 2 {
            return None;
        }
        let pick = |a: &(usize, f64), b: &(usize, f64)| match better {
            Better::Higher => a.1.total_cmp(&b.1),
            Better::Lower => b.1.total_cmp(&a.1),
        };
        let best = means
            .iter()
            .copied()
            .reduce(|a, b| if pick(&b, &a).is_gt() { b } else { a })?;
        let all_equal = means.iter().all(|m| m.1 == best.1);
        (!all_equal).then_some(best.0)
    }

    /// Lines that say what the figures do not: rows on different data, runs without a
    /// history or test figures, cut histories.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.differs.contains(&Setting::Data) {
            notes.push("the runs were trained and tested on different data: their figures are not comparable".into());
        }
        if !self.mixed.is_empty() {
            let names: Vec<&str> = self.mixed.iter().map(|f| f.short()).collect();
            notes.push(format!(
                "the runs report different figures ({}): shown are the paper's, which every run records; \
                 compare runs of one kind for MMSA's",
                names.join(", ")
            ));
        }
        for row in &self.rows {
            for run in &row.runs {
                let dir = run.dir.display();
                if !run.has_history {
                    notes.push(format!(
                        "{dir}: no history.jsonl (a run from before histories): no curves"
                    ));
                } else if run.truncated {
                    notes.push(format!(
                        "{dir}: history.jsonl ends in a cut line (a crash while writing): left out"
                    ));
                }
                if run.curves.test.is_none() {
                    notes.push(format!("{dir}: not tested yet (unfinished): no test figures"));
                }
            }
        }
        notes
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) mod testing;
