//! Run directories: what `train` leaves in one, the `runs` listing of them, and the one
//! resolver from a run directory to the checkpoint a command wants.
//!
//! A run directory (`--out DIR`, or a new `checkpoints/MODEL-TIME/`) holds `best/` (the
//! weights of the best dev epoch), `last/` (the latest state with the optimiser's, for
//! `--resume`) and, once the run has finished, `results.json`: its test metrics, which no
//! checkpoint holds. `--seeds N` makes one run directory per seed, `DIR/seed-S/`.
//!
//! `runs` reads the `config.json` of each checkpoint (never the weights) through
//! `TrainingRecord`, and never follows a symbolic link below the directory it was given: a
//! link is listed as one, not entered, so that a link under `checkpoints/` cannot send it
//! elsewhere. The walk stops `MAX_DEPTH` levels down and after `MAX_ENTRIES` entries.

use crate::commands::printer::say;
use crate::commands::printer::tell;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointMeta, FORMATS_READ};
use crate::cli::RunsArgs;
use crate::model::bf16::Precision;
use crate::model::{ClsAudio, ModelKind};
use crate::train::engine::run_dir_of;
use crate::train::{Metrics, Preset, RunSummary, TrainingRecord};

/// The file a finished run writes into its run directory.
pub const RESULTS_FILE: &str = "results.json";
/// Version tag of `results.json`; a change of its fields gets a new one.
pub const RESULTS_FORMAT: &str = "cmbert-tui.results/1";
/// Where `train` puts runs without `--out`, and what `runs` lists without an argument.
pub const DEFAULT_DIR: &str = "checkpoints";

/// `DIR/RUN/seed-S` is three levels; one more for a directory of experiments.
const MAX_DEPTH: usize = 4;
const MAX_ENTRIES: usize = 10_000;
/// Our `config.json` is a few KiB; anything far larger is not one.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// `results.json`: how a finished run did on the test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    /// `RESULTS_FORMAT` of the build that wrote it.
    pub format: String,
    /// The run's seed.
    pub seed: u64,
    /// Numbered from 1, as printed.
    pub best_epoch: usize,
    /// Dev loss of the best epoch (`None` when not finite).
    pub best_dev_loss: Option<f64>,
    /// Optimiser steps when the run finished (its `last/`'s): results whose step is not
    /// `last/`'s belong to an earlier finish of a run that has been resumed since.
    pub step: Option<usize>,
    /// The best epoch's weights on the test split.
    pub test: TestFigures,
    /// The same weights' test figures as MMSA reports them (runs on an MMSA pickle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mmsa: Option<crate::train::metrics::MmsaMetrics>,
    /// Wall time of the invocation that finished the run (a resumed run: since resuming).
    pub train_seconds: f64,
    /// RFC 3339, local time.
    pub finished_at: String,
}

/// The headline test metrics (`Metrics::headline`): Acc2, Acc2 non-zero, F1 and Acc7 in %,
/// MAE, Corr. `None` where a figure is undefined (Corr of constant predictions): JSON has
/// no NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TestFigures {
    /// Utterances in the test split.
    pub n: usize,
    /// Acc2 as the paper counts it, %.
    pub acc2: Option<f64>,
    /// Acc2 without the zero labels, %.
    pub acc2_nonzero: Option<f64>,
    /// Weighted F1, %.
    pub f1: Option<f64>,
    /// Seven-class accuracy, %.
    pub acc7: Option<f64>,
    /// Mean absolute error.
    pub mae: Option<f64>,
    /// Pearson correlation.
    pub corr: Option<f64>,
    /// Test loss.
    pub loss: Option<f64>,
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl TestFigures {
    /// From the metrics and loss of a test evaluation (non-finite figures become `None`).
    pub fn new(m: &Metrics, loss: f64) -> Self {
        let [acc2, acc2_nonzero, f1, acc7, mae, corr] = m.headline().map(finite);
        Self {
            n: m.n,
            acc2,
            acc2_nonzero,
            f1,
            acc7,
            mae,
            corr,
            loss: finite(loss),
        }
    }
}

impl RunResults {
    /// The results of a finished run, `step` being its `last/`'s optimiser steps.
    pub fn new(summary: &RunSummary, step: Option<usize>) -> Self {
        Self {
            format: RESULTS_FORMAT.into(),
            seed: summary.seed,
            best_epoch: summary.best_epoch + 1,
            best_dev_loss: finite(summary.best_dev_loss),
            step,
            test: TestFigures::new(&summary.test, summary.test_loss),
            mmsa: summary.test.mmsa,
            train_seconds: summary.wall_time.as_secs_f64(),
            finished_at: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        }
    }

    /// The test figures as the comparison reads them: `None` (undefined) as NaN, with MMSA's
    /// figures when the run recorded them.
    pub fn scores(&self) -> crate::compare::Scores {
        let t = &self.test;
        let v = |x: Option<f64>| x.unwrap_or(f64::NAN);
        crate::compare::Scores {
            loss: v(t.loss),
            headline: [t.acc2, t.acc2_nonzero, t.f1, t.acc7, t.mae, t.corr].map(v),
            mmsa: self.mmsa,
        }
    }

    /// `run/results.json`; `Ok(None)` when there is none (a run that has not finished).
    pub fn read(run: &Path) -> Result<Option<Self>, String> {
        let path = run.join(RESULTS_FILE);
        let Some(text) = read_small(&path)? else {
            return Ok(None);
        };
        let results: Self =
            serde_json::from_str(&text).map_err(|e| format!("{}: not a results file of ours: {e}", path.display()))?;
        if results.format != RESULTS_FORMAT {
            return Err(format!(
                "{}: format {:?}, this build reads {RESULTS_FORMAT:?}",
                path.display(),
                results.format
            ));
        }
        Ok(Some(results))
    }
}

/// Writes a finished run's `results.json` beside its checkpoints. A failure is reported
/// and does not fail the run: its checkpoints are saved and its metrics printed.
pub fn record_results(summary: &RunSummary) {
    let Some(run) = summary.best_checkpoint.as_deref().map(run_dir_of) else {
        return;
    };
    let step = read_record(&run.join("last")).ok().flatten().and_then(|r| r.step);
    let path = run.join(RESULTS_FILE);
    let json = serde_json::to_string_pretty(&RunResults::new(summary, step)).expect("results serialise");
    if let Err(e) = crate::fsutil::write_atomic(&path, (json + "\n").as_bytes()) {
        say!(
            "warning: cannot write {}: {e} (the checkpoints are saved)",
            path.display()
        );
    }
}

/// Says where a new run writes, before it starts.
pub fn announce(out: Option<&Path>, seeds: usize) {
    let Some(out) = out else { return };
    let inside = "best/, last/ and at the end results.json";
    if seeds > 1 {
        say!(
            "run directory: {} (seed-1/ to seed-{seeds}/, each with {inside})",
            out.display()
        );
    } else {
        say!("run directory: {} ({inside})", out.display());
    }
}

/// Which checkpoint of a run a command wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// The best dev epoch's weights (`inspect`, `open`, `eval`, `export`).
    Best,
    /// The latest state with the optimiser's (`--resume`).
    Last,
}

/// The checkpoint `path` names for a command that wants `pick`: `path` itself when it is a
/// checkpoint (or does not exist: the loader says so); for a run directory its `best/` or
/// `last/`, said on stderr; otherwise an error that says what to give instead.
pub fn checkpoint_in(path: &Path, pick: Pick) -> Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    if is_checkpoint(path) {
        let run = run_dir_of(path);
        if pick == Pick::Last && path.file_name().is_some_and(|n| n == "best") && is_checkpoint(&run.join("last")) {
            bail!(
                "{} holds the best epoch's weights without the optimiser's state and cannot be resumed; \
                 resume {} (or give the run directory {})",
                path.display(),
                run.join("last").display(),
                run.display()
            );
        }
        return Ok(path.to_path_buf());
    }
    let (best, last) = (path.join("best"), path.join("last"));
    let chosen = match pick {
        Pick::Best if is_checkpoint(&best) => best,
        Pick::Last if is_checkpoint(&last) => last,
        Pick::Best if is_checkpoint(&last) => {
            say!(
                "note: {} has no best/ yet (the run stopped before its first epoch ended): using {}",
                path.display(),
                last.display()
            );
            return Ok(last);
        }
        Pick::Last if is_checkpoint(&best) => bail!(
            "{}: no last/ checkpoint to resume, only best/, which holds no optimiser state; \
             train again with --out DIR",
            path.display()
        ),
        _ => {
            let seeds = seed_runs(path);
            if let Some(first) = seeds.first() {
                bail!(
                    "{} holds the runs of {} seeds ({}): give one, e.g. {} (`cmbert-tui runs {}` lists them)",
                    path.display(),
                    seeds.len(),
                    seeds.join(", "),
                    path.join(first).display(),
                    path.display()
                );
            }
            bail!(
                "{}: neither a checkpoint (no config.json or bert_config.json) nor a run directory (no best/ or \
                 last/); `cmbert-tui runs {}` lists the runs under a directory",
                path.display(),
                path.display()
            );
        }
    };
    let record = read_record(&chosen).ok().flatten();
    let what = match (pick, &record) {
        (Pick::Best, Some(r)) => format!(
            "the best dev epoch{}",
            r.best_epoch.map(|e| format!(", epoch {e}")).unwrap_or_default()
        ),
        (Pick::Best, None) => "the best dev epoch".into(),
        (Pick::Last, r) => format!(
            "the latest state{}",
            r.as_ref()
                .and_then(|r| r.step)
                .map(|s| format!(", step {s}"))
                .unwrap_or_default()
        ),
    };
    let other = match pick {
        Pick::Best => "; its last/ is what --resume continues",
        Pick::Last => "",
    };
    say!(
        "note: {} is a run directory: using {} ({what}){other}",
        path.display(),
        chosen.display()
    );
    Ok(chosen)
}

/// A directory a checkpoint loader reads (ours, Hugging Face's or the reference's).
pub(crate) fn is_checkpoint(dir: &Path) -> bool {
    // Present, not `is_file`: a configuration that is a FIFO or a directory is refused by
    // name when read, not taken for no checkpoint.
    crate::fsutil::input_present(&dir.join("config.json"))
        || crate::fsutil::input_present(&dir.join("bert_config.json"))
}

/// The `seed-S` run directories of a multi-seed run, in seed order.
pub(crate) fn seed_runs(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut seeds: Vec<(u64, String)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let seed = name.strip_prefix("seed-")?.parse().ok()?;
            (e.file_type().ok()?.is_dir() && is_run_dir(&e.path())).then_some((seed, name))
        })
        .collect();
    seeds.sort();
    seeds.into_iter().map(|(_, name)| name).collect()
}

/// Holds `best` or `last` (of any kind: a link there is reported, not followed).
pub(crate) fn is_run_dir(dir: &Path) -> bool {
    ["best", "last"]
        .iter()
        .any(|name| std::fs::symlink_metadata(dir.join(name)).is_ok())
}

/// A small file's text, never through a link; `Ok(None)` when it does not exist.
fn read_small(path: &Path) -> Result<Option<String>, String> {
    let file = match crate::fsutil::open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if crate::fsutil::is_link_error(&e) => {
            return Err(format!("{}: a symbolic link (not followed)", path.display()))
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!(
            "{}: larger than {} KiB, not one of ours",
            path.display(),
            MAX_CONFIG_BYTES >> 10
        ));
    }
    Ok(Some(text))
}

/// The run record of a checkpoint directory from its `config.json` alone (no weights);
/// `Ok(None)` for a checkpoint that is not ours or has no record.
pub(crate) fn read_record(dir: &Path) -> Result<Option<TrainingRecord>, String> {
    #[derive(Deserialize)]
    struct Ours {
        cmbert: Option<CheckpointMeta>,
    }
    let path = dir.join("config.json");
    let text = read_small(&path)?.ok_or_else(|| format!("{}: no config.json", dir.display()))?;
    let ours: Ours = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let Some(meta) = ours.cmbert else {
        return Ok(None);
    };
    if !FORMATS_READ.contains(&meta.format.as_str()) {
        return Err(format!(
            "{}: checkpoint format {:?}, this build reads {}",
            path.display(),
            meta.format,
            FORMATS_READ.join(" or ")
        ));
    }
    TrainingRecord::from_meta(&meta).map_err(|e| format!("{}: {e}", path.display()))
}

mod figures;
mod listing;
pub use listing::{Listing, Other, RunRow, RunState};

/// `cmbert-tui runs [DIR]`.
pub fn run(args: RunsArgs) -> Result<()> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
    if !dir.is_dir() {
        if args.dir.is_some() {
            bail!(
                "{}: not a directory; give the directory that holds your runs (train's --out)",
                dir.display()
            );
        }
        if args.json {
            tell!("{}", serde_json::to_string_pretty(&Listing::empty(dir))?);
        } else {
            tell!(
                "no runs yet: {DEFAULT_DIR}/ does not exist (`cmbert-tui train` without --out writes its runs there; \
                 `cmbert-tui runs DIR` lists another directory)"
            );
        }
        return Ok(());
    }
    let listing = Listing::scan(&dir);
    if args.json {
        tell!("{}", serde_json::to_string_pretty(&listing)?);
    } else {
        super::printer::to_stdout(format_args!("{}", listing.table()));
    }
    Ok(())
}

/// When a path was last written, as the listing prints it.
fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::symlink_metadata(path).and_then(|m| m.modified()).ok()
}

/// What a run was trained as, from its checkpoints' record.
#[derive(Debug, Clone, Serialize)]
pub struct RunSetup {
    /// CM-BERT or T-BERT.
    pub model: ModelKind,
    /// What its `[CLS]` audio slot carries (docs/MODEL.md §7).
    pub cls_audio: ClsAudio,
    /// The recipe's defaults (`paper` or `scratch`).
    pub preset: Preset,
    /// The run's seed.
    pub seed: u64,
    /// The epochs it was set to train.
    pub epochs: usize,
    /// The data directory it trained on.
    pub data: PathBuf,
    /// Its audio file, if any.
    pub audio: Option<PathBuf>,
    /// The arithmetic of its encoder's products.
    pub precision: Precision,
}

#[cfg(test)]
mod tests;
