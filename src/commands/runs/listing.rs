//! The walk behind `cmbert-tui runs` and its two outputs: a table for people, JSON for
//! scripts (the same `Listing`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::figures::{self, Listed};
use super::{is_checkpoint, is_run_dir, modified, read_record, RunResults, RunSetup, MAX_DEPTH, MAX_ENTRIES};
use crate::commands::printer::{format_duration, plural};
use crate::compare::Family;
use crate::model::bf16::Precision;
use crate::model::ModelKind;
use crate::train::TrainingRecord;

/// The runs under a directory, and what else is there.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// The directory listed.
    pub dir: PathBuf,
    /// The runs found, one row each.
    pub runs: Vec<RunRow>,
    /// Directories that hold no run, links (not followed), what could not be read.
    pub other: Vec<Other>,
    /// The walk stopped after `MAX_ENTRIES` entries.
    pub truncated: bool,
}

#[derive(Debug, Clone, Serialize)]
/// An entry under the directory that is not a run, and why.
pub struct Other {
    /// Where it is.
    pub path: PathBuf,
    /// Why it is not listed as a run.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
/// Whether a run finished, and if not whether it can be continued.
pub enum RunState {
    /// It wrote `results.json`.
    Finished,
    /// A `train` or `--resume` is writing it now (it holds the directory's lock).
    Running,
    /// No results, and `last/` can be continued with `--resume`.
    Resumable,
    /// No results and nothing to resume.
    Incomplete,
}

/// One run directory.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    /// The run directory.
    pub path: PathBuf,
    /// Finished, resumable or incomplete.
    pub state: RunState,
    /// From `best/`'s record, else `last/`'s; `None` when neither could be read.
    pub trained: Option<RunSetup>,
    /// Its `best/`, when readable.
    pub best: Option<BestCheckpoint>,
    /// Its `last/`, when readable.
    pub last: Option<LastCheckpoint>,
    /// Its `results.json`, when the run finished.
    pub results: Option<RunResults>,
    /// When the run finished, else when its newest checkpoint was written (RFC 3339).
    pub time: Option<String>,
    /// What is wrong with it (a checkpoint that cannot be read, stale results ...).
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BestCheckpoint {
    /// Numbered from 1.
    pub epoch: Option<usize>,
    pub step: Option<usize>,
    pub dev_loss: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastCheckpoint {
    pub step: Option<usize>,
    pub epochs_done: Option<usize>,
    pub resumable: bool,
}

impl Listing {
    /// A listing of `dir` with nothing found yet.
    pub fn empty(dir: PathBuf) -> Self {
        Self {
            dir,
            runs: Vec::new(),
            other: Vec::new(),
            truncated: false,
        }
    }

    /// Walks `dir` (see the module comment of `runs` for what it follows).
    pub fn scan(dir: &Path) -> Self {
        let mut listing = Self::empty(dir.to_path_buf());
        let mut budget = MAX_ENTRIES;
        let found = listing.visit(dir, 0, &mut budget);
        listing.other.extend(found.others);
        listing
    }

    fn visit(&mut self, dir: &Path, depth: usize, budget: &mut usize) -> Found {
        if is_run_dir(dir) {
            self.runs.push(read_run(dir));
            return Found::run();
        }
        if is_checkpoint(dir) {
            return Found::other(
                dir,
                format!(
                    "a checkpoint, not a run directory: `cmbert-tui inspect {}`",
                    dir.display()
                ),
            );
        }
        let mut entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries.flatten().collect::<Vec<_>>(),
            Err(e) => return Found::other(dir, format!("cannot be read: {e}")),
        };
        entries.sort_by_key(|e| e.file_name());
        let mut found = Found::default();
        for entry in entries {
            // Hidden entries are staging directories of saves in progress, or not ours.
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if *budget == 0 {
                self.truncated = true;
                break;
            }
            *budget -= 1;
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_symlink() {
                found.others.push(Other {
                    path,
                    reason: "a symbolic link (not followed)".into(),
                });
            } else if kind.is_dir() {
                if depth + 1 > MAX_DEPTH {
                    found.cut = true;
                    continue;
                }
                let below = self.visit(&path, depth + 1, budget);
                found.cut |= below.cut;
                if below.runs > 0 {
                    found.runs += below.runs;
                    found.others.extend(below.others);
                } else {
                    // Nothing to list below: one line for the directory, with its own reason
                    // when it has one (a checkpoint, unreadable).
                    let reason = match &below.others[..] {
                        [own] if own.path == path => own.reason.clone(),
                        _ if below.cut => format!("no run within {MAX_DEPTH} levels (deeper ones not searched)"),
                        _ => "no run inside (no best/ or last/)".into(),
                    };
                    found.others.push(Other { path, reason });
                }
            }
        }
        found
    }

    /// The runs' table and the lines that explain it. The figure columns are those the runs'
    /// families fill (`figures`); a FIGURES column names each run's family once MMSA's
    /// figures are among them.
    fn runs_table(&self, shown: &dyn Fn(&Path) -> String) -> String {
        let mut families: Vec<Family> = self.runs.iter().filter_map(RunRow::family).collect();
        families.sort();
        families.dedup();
        let listed = figures::columns(&families);
        let named = families.iter().any(|f| *f != Family::Paper);
        // (header, right-aligned, cell per run)
        let mut columns: Vec<(&str, bool, Vec<String>)> = Vec::new();
        let cells: Vec<_> = self.runs.iter().map(|r| r.cells(shown(&r.path))).collect();
        for (k, header) in ["RUN", "MODEL", "DATA", "BEST", "DEV LOSS"].into_iter().enumerate() {
            columns.push((header, k == 4, cells.iter().map(|c| c.0[k].clone()).collect()));
        }
        if named {
            let family = |r: &RunRow| r.family().map_or("-", Family::short).to_string();
            columns.push(("FIGURES", false, self.runs.iter().map(family).collect()));
        }
        for l in &listed {
            let values = self.runs.iter().map(|r| l.cell(r.results.as_ref())).collect();
            columns.push((l.header(), true, values));
        }
        for (k, header) in ["LAST", "STATE", "WHEN", "TOOK"].into_iter().enumerate() {
            columns.push((header, k == 3, cells.iter().map(|c| c.1[k].clone()).collect()));
        }
        let widths: Vec<usize> = columns
            .iter()
            .map(|(h, _, cells)| cells.iter().map(String::len).chain([h.len()]).max().unwrap_or(0))
            .collect();
        let line = |cell: &dyn Fn(usize) -> String| {
            let mut line = columns
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(k, ((_, right, _), &w))| {
                    if *right {
                        format!("{:>w$}", cell(k))
                    } else {
                        format!("{:<w$}", cell(k))
                    }
                })
                .collect::<Vec<_>>()
                .join("  ");
            line.truncate(line.trim_end().len());
            line + "\n"
        };
        let mut out = line(&|k| columns[k].0.to_string());
        for i in 0..self.runs.len() {
            out += &line(&|k| columns[k].2[i].clone());
        }
        for run in self.runs.iter().filter(|r| !r.problems.is_empty()) {
            out += &format!("  {}: {}\n", shown(&run.path), run.problems.join("; "));
        }
        out += "\nBEST: the best dev epoch (its step), kept in best/; LAST: last/, what `train --resume` continues.\n";
        let figures = if listed.contains(&Listed::Acc2) {
            "ACC2 and F1"
        } else {
            "Accuracies and F1"
        };
        out += &format!(
            "{figures} in % on the test split, measured when the run finished (results.json); TOOK: the\n\
             invocation that finished it (for a resumed run, the time since resuming).\n"
        );
        out += &figures::notes(&families);
        out
    }

    /// The table for people: one row per run, then the other directories.
    pub fn table(&self) -> String {
        let mut out = String::new();
        // A folder's name is anyone's text: a line end (or any control character) in it is
        // written out, so that it cannot split a row or reach the terminal.
        let shown = |p: &Path| {
            let name = match p.strip_prefix(&self.dir) {
                Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
                _ => p.display().to_string(),
            };
            if name.contains(char::is_control) {
                name.chars()
                    .flat_map(|c| {
                        let escaped: Vec<char> = if c.is_control() {
                            c.escape_default().collect()
                        } else {
                            vec![c]
                        };
                        escaped
                    })
                    .collect()
            } else {
                name
            }
        };
        let resumable = self.runs.iter().filter(|r| r.state == RunState::Resumable).count();
        out += &format!(
            "{}: {}{}{}\n",
            self.dir.display(),
            plural(self.runs.len(), "run", "runs"),
            match resumable {
                0 => String::new(),
                n => format!(", {n} stopped and resumable"),
            },
            match self.other.len() {
                0 => String::new(),
                n => format!(", {}", plural(n, "other entry", "other entries")),
            }
        );
        if !self.runs.is_empty() {
            out += "\n";
            out += &self.runs_table(&shown);
        }
        if !self.other.is_empty() {
            out += "\nnot runs:\n";
            let width = self.other.iter().map(|o| shown(&o.path).len()).max().unwrap_or(0);
            for other in &self.other {
                out += &format!("  {:<width$}  {}\n", shown(&other.path), other.reason);
            }
        }
        if self.truncated {
            out += &format!("(stopped after {MAX_ENTRIES} entries: give a smaller directory)\n");
        }
        if let Some(run) = self.runs.first() {
            let resumable = self.runs.iter().find(|r| r.state == RunState::Resumable).unwrap_or(run);
            out += &format!(
                "\nA run directory can be given where a checkpoint is asked for: `cmbert-tui inspect {}` \
                 (also open, eval, export) uses its best/, `cmbert-tui train --resume {}` its last/.\n",
                run.path.display(),
                resumable.path.display()
            );
        }
        out
    }
}

impl RunRow {
    /// Whose figures its results hold (`None`: not finished).
    fn family(&self) -> Option<Family> {
        self.results.as_ref().map(|r| Family::of(r.mmsa.as_ref()))
    }

    /// The cells before the figures (RUN to DEV LOSS) and after them (LAST to TOOK).
    fn cells(&self, shown: String) -> ([String; 5], [String; 4]) {
        let dash = || "-".to_string();
        let figure = |v: Option<f64>, digits: usize| v.map_or_else(dash, |v| format!("{v:.digits$}"));
        (
            [
                shown,
                self.trained.as_ref().map_or_else(dash, model_cell),
                self.trained.as_ref().map_or_else(dash, |t| short_path(&t.data)),
                self.best.as_ref().map_or_else(dash, |b| match (b.epoch, b.step) {
                    (Some(e), Some(s)) => format!("epoch {e} (step {s})"),
                    (Some(e), None) => format!("epoch {e}"),
                    _ => "saved".into(),
                }),
                figure(self.best.as_ref().and_then(|b| b.dev_loss), 4),
            ],
            [
                self.last.as_ref().map_or_else(dash, |l| {
                    let step = l.step.map_or_else(|| "saved".into(), |s| format!("step {s}"));
                    // A finished run's last/ resumes too, but only to train further.
                    if l.resumable && self.state == RunState::Resumable {
                        format!("{step}, resumable")
                    } else {
                        step
                    }
                }),
                match self.state {
                    RunState::Finished => "finished",
                    RunState::Running => "running now",
                    RunState::Resumable => "stopped",
                    RunState::Incomplete => "incomplete",
                }
                .into(),
                self.time.as_deref().and_then(local_minute).unwrap_or_else(dash),
                self.results.as_ref().map_or_else(dash, |r| {
                    format_duration(Duration::from_secs_f64(r.train_seconds.max(0.0)))
                }),
            ],
        )
    }
}

/// What a directory's walk found below it.
#[derive(Default)]
struct Found {
    runs: usize,
    others: Vec<Other>,
    /// Some directory below was deeper than `MAX_DEPTH` and not searched.
    cut: bool,
}

impl Found {
    fn run() -> Self {
        Self {
            runs: 1,
            ..Self::default()
        }
    }

    fn other(path: &Path, reason: String) -> Self {
        Self {
            others: vec![Other {
                path: path.to_path_buf(),
                reason,
            }],
            ..Self::default()
        }
    }
}

/// Reads what a run directory holds; whatever cannot be read becomes a problem of the row.
fn read_run(dir: &Path) -> RunRow {
    let mut problems = Vec::new();
    let mut checkpoint = |name: &str| -> Option<TrainingRecord> {
        let path = dir.join(name);
        match std::fs::symlink_metadata(&path) {
            Err(_) => None,
            Ok(m) if m.file_type().is_symlink() => {
                problems.push(format!("{name}/ is a symbolic link (not followed)"));
                None
            }
            Ok(m) if !m.is_dir() => {
                problems.push(format!("{name} is not a directory"));
                None
            }
            Ok(_) => match read_record(&path) {
                Ok(Some(record)) => Some(record),
                Ok(None) => {
                    problems.push(format!("{name}/ has no run record (not written by `cmbert-tui train`)"));
                    None
                }
                Err(e) => {
                    problems.push(e);
                    None
                }
            },
        }
    };
    let best = checkpoint("best");
    let last = checkpoint("last");
    let results = match RunResults::read(dir) {
        Ok(r) => r,
        Err(e) => {
            problems.push(e);
            None
        }
    };
    let last_step = last.as_ref().and_then(|l| l.step);
    let results = results.filter(|r| match (r.step, last_step) {
        (Some(finished), Some(now)) if finished != now => {
            problems.push(format!(
                "results.json is from step {finished}, last/ is at step {now}: the run was resumed since, its \
                 results are not shown"
            ));
            false
        }
        _ => true,
    });
    let trained = best.as_ref().or(last.as_ref()).map(|r| RunSetup {
        model: r.spec.model,
        cls_audio: r.spec.cls_audio,
        preset: r.spec.preset,
        seed: r.spec.seed,
        epochs: r.spec.epochs,
        data: r.spec.data.clone(),
        audio: r.spec.audio.clone(),
        precision: r.spec.precision,
    });
    let state = if results.is_some() {
        RunState::Finished
    } else if crate::fsutil::is_locked(dir) {
        // Not "stopped, resumable": a --resume now would be refused, and the row would lie.
        RunState::Running
    } else if last.as_ref().is_some_and(TrainingRecord::resumable) {
        RunState::Resumable
    } else {
        RunState::Incomplete
    };
    let time = results.as_ref().map(|r| r.finished_at.clone()).or_else(|| {
        ["last", "best"]
            .iter()
            .filter_map(|n| modified(&dir.join(n)))
            .max()
            .map(|t| chrono::DateTime::<chrono::Local>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
    });
    RunRow {
        path: dir.to_path_buf(),
        state,
        trained,
        best: best.as_ref().map(|r| BestCheckpoint {
            epoch: r.best_epoch,
            step: r.step,
            dev_loss: r.best_dev_loss,
        }),
        last: last.as_ref().map(|r| LastCheckpoint {
            step: r.step,
            epochs_done: r.epochs_done,
            resumable: r.resumable(),
        }),
        results,
        time,
        problems,
    }
}

/// An RFC 3339 time as `2025-05-01 12:03` in local time.
fn local_minute(rfc3339: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    Some(t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string())
}

/// The last two components: enough to tell `data/text` from `cmbert-tui/corpus-v1-seed1`.
fn short_path(p: &Path) -> String {
    let parts: Vec<_> = p.components().rev().take(2).collect();
    parts.into_iter().rev().collect::<PathBuf>().display().to_string()
}

/// The MODEL cell: `cm-bert (zero)`, `t-bert`, and bf16 products where they were used
/// (`cm-bert (zero, bf16)`); float32, the default, is not named.
fn model_cell(setup: &RunSetup) -> String {
    let mut notes = Vec::new();
    if setup.model == ModelKind::CmBert {
        notes.push(setup.cls_audio.to_string());
    }
    if setup.precision == Precision::Bf16 {
        notes.push(setup.precision.name().to_string());
    }
    if notes.is_empty() {
        setup.model.to_string()
    } else {
        format!("{} ({})", setup.model, notes.join(", "))
    }
}
