//! `cmbert-tui compare RUN RUN [RUN...]`: runs side by side. Finds each run directory (a
//! `--seeds` run's directory is one row of its `seed-N/` runs), reads what it says (its
//! history, its checkpoints' record, `results.json`) into a `compare::Comparison`, then
//! shows it (`ui::compare`), prints its table (no terminal, `--headless`) or writes it
//! (`--out FILE`: the curves as PNG/SVG, the table as CSV/Markdown; `--attention-out FILE`:
//! the first two runs' attention on an utterance both recorded, `export::pair`).

use crate::commands::printer::tell;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::eval::refuse_overwrite;
use super::runs::{is_checkpoint, is_run_dir, read_record, seed_runs, RunResults};
use crate::cli::CompareArgs;
use crate::compare::attention::{pair, Recording, Side};
use crate::compare::{Comparison, Grouping, Run, RunInput};
use crate::data::Split;
use crate::export::curves::{self, CurvesFormat};
use crate::export::Format;
use crate::model::ModelKind;
use crate::train::attention_log::{AttentionLog, AttentionLogError};
use crate::train::engine::run_dir_of;
use crate::train::history::{History, HISTORY_FILE};

/// Runs `cmbert-tui compare`.
pub fn run(args: CompareArgs) -> Result<()> {
    // A bad --theme is reported whatever the output, not only when the screen opens.
    let theme = crate::ui::Theme::load(&args.theme)?;
    let outs = args
        .out
        .iter()
        .map(|out| {
            let format = CurvesFormat::from_path(out).with_context(|| {
                format!(
                    "{}: --out takes a .png or .svg file (the curves), or a .csv or .md file (the table)",
                    out.display()
                )
            })?;
            refuse_overwrite(out, args.force)?;
            Ok((out, format))
        })
        .collect::<Result<Vec<_>>>()?;
    let attention_outs = args
        .attention_out
        .iter()
        .map(|out| {
            let format = Format::from_path(out)
                .filter(|f| matches!(f, Format::Png | Format::Svg))
                .with_context(|| {
                    format!(
                        "{}: --attention-out takes a .png or .svg file (the two runs' attention figure)",
                        out.display()
                    )
                })?;
            refuse_overwrite(out, args.force)?;
            Ok((out, format))
        })
        .collect::<Result<Vec<_>>>()?;
    let comparison = load(&args.runs)?;
    if !outs.is_empty() || !attention_outs.is_empty() {
        for (out, format) in outs {
            let what = write(&comparison, format, out, curves::Contents::Comparison)?;
            tell!("wrote {} ({what})", out.display());
        }
        if !attention_outs.is_empty() {
            let recordings = recordings(&comparison);
            for (out, format) in attention_outs {
                let what = write_attention(&comparison, &recordings, args.utterance, format, out)?;
                tell!("wrote {} ({what})", out.display());
            }
        }
        return Ok(());
    }
    if args.headless || !std::io::stdout().is_terminal() {
        super::printer::to_stdout(format_args!("{}", text_table(&comparison)));
        return Ok(());
    }
    let recordings = recordings(&comparison);
    crate::ui::compare::show(crate::ui::compare::CompareView::new(comparison, recordings, theme))?;
    Ok(())
}

/// What each row's run recorded of its attention (`RUN/attention.safetensors`), in row
/// order: a seed group's first seed stands for it.
pub fn recordings(cmp: &Comparison) -> Vec<Recording> {
    cmp.rows
        .iter()
        .map(|row| {
            let Some(run) = row.runs.first() else {
                return Recording::Missing;
            };
            if run.spec.as_ref().is_some_and(|s| s.model == ModelKind::TBert) {
                return Recording::TextOnly;
            }
            match AttentionLog::read(&AttentionLog::path_in(&run.dir)) {
                Ok(log) => Recording::from_log(&log),
                Err(AttentionLogError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    Recording::Missing
                }
                Err(e) => Recording::Unreadable(e.to_string()),
            }
        })
        .collect()
}

/// Writes the attention figure of the first two rows on `utterance` (else the first one
/// both recorded) to `out`; says what the file holds.
fn write_attention(
    cmp: &Comparison,
    recordings: &[Recording],
    utterance: Option<(Split, usize)>,
    format: Format,
    out: &Path,
) -> Result<String> {
    let side = |i: usize| {
        let row = cmp.rows.get(i)?;
        Some(Side {
            label: &row.label,
            dir: row.runs.first().map_or(&row.dir, |r| &r.dir),
            recording: recordings.get(i)?,
        })
    };
    let (Some(a), Some(b)) = (side(0), side(1)) else {
        bail!("--attention-out compares the attention of two runs: give compare two runs or more");
    };
    let pairs = pair(a, b).map_err(|e| anyhow::anyhow!("--attention-out: {e}"))?;
    let chosen = match utterance {
        Some((split, index)) => pairs
            .iter()
            .find(|p| p.a.split == split && p.a.index == index)
            .with_context(|| {
                let shared: Vec<String> = pairs.iter().map(|p| p.name()).collect();
                format!(
                    "--utterance {split}:{index}: not recorded by both runs; they share {}",
                    shared.join(", ")
                )
            })?,
        None => pairs.iter().find(|p| p.same_tokens()).unwrap_or(&pairs[0]),
    };
    let mut header = format!("W_m of two runs: A {}, B {}", a.label, b.label);
    let common = cmp.common();
    if !common.is_empty() {
        header += &format!("   ·   all: {}", common.join(", "));
    }
    let bytes = crate::export::pair::render(chosen, [a.label, b.label], &header, format)
        .map_err(|e| anyhow::anyhow!("--attention-out {}: {e}", out.display()))?;
    crate::fsutil::write_atomic(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(format!(
        "the attention of {} in {} and {}, and their difference",
        chosen.name(),
        a.label,
        b.label
    ))
}

/// Writes `format` of the comparison to `out`; says what the file holds.
pub fn write(cmp: &Comparison, format: CurvesFormat, out: &Path, contents: curves::Contents) -> Result<String> {
    let bytes = curves::render(cmp, format, contents)?;
    crate::fsutil::write_atomic(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    let runs = cmp.rows.len();
    Ok(match (format, contents) {
        (CurvesFormat::Png | CurvesFormat::Svg, _) => format!("loss and dev-metric curves of {runs} rows"),
        (CurvesFormat::Csv, curves::Contents::Curves) => format!("every curve point of {runs} rows"),
        (CurvesFormat::Csv | CurvesFormat::Markdown, _) => format!("the metrics table, {runs} rows"),
    })
}

/// The runs `paths` name, one row each: a run directory (or a checkpoint inside one), or
/// the directory of a `--seeds` run (its `seed-N/` runs as one row).
pub fn load(paths: &[PathBuf]) -> Result<Comparison> {
    let mut rows = Vec::new();
    for path in paths {
        let (dir, grouping, dirs) = resolve(path)?;
        let runs = dirs.iter().map(|d| read_run(d)).collect::<Result<Vec<Run>>>()?;
        rows.push((dir, grouping, runs));
    }
    Ok(Comparison::new(rows))
}

/// A run directory has a history or a checkpoint; a checkpoint stands for its run.
fn resolve(path: &Path) -> Result<(PathBuf, Grouping, Vec<PathBuf>)> {
    if !path.is_dir() {
        bail!(
            "{}: not a directory; give run directories (train's --out, or one `cmbert-tui runs` lists)",
            path.display()
        );
    }
    // Present, not `is_file`: a history that is a FIFO or a device is refused by name when
    // read, not taken for no run.
    let is_run = |d: &Path| crate::fsutil::input_present(&d.join(HISTORY_FILE)) || is_run_dir(d);
    if is_run(path) {
        return Ok((path.to_path_buf(), Grouping::Single, vec![path.to_path_buf()]));
    }
    if is_checkpoint(path) {
        let run = run_dir_of(path);
        if is_run(&run) {
            return Ok((run.clone(), Grouping::Single, vec![run]));
        }
    }
    let seeds = seed_runs(path);
    if !seeds.is_empty() {
        let dirs = seeds.iter().map(|s| path.join(s)).collect();
        return Ok((path.to_path_buf(), Grouping::Seeds, dirs));
    }
    bail!(
        "{}: neither a run directory (no {HISTORY_FILE}, best/ or last/) nor a --seeds run (no seed-N/); \
         `cmbert-tui runs {}` lists the runs under it",
        path.display(),
        path.display()
    )
}

/// What one run directory says.
fn read_run(dir: &Path) -> Result<Run> {
    let history = History::read_run(dir)?;
    let spec = ["best", "last"]
        .iter()
        .find_map(|c| read_record(&dir.join(c)).ok().flatten())
        .map(|r| r.spec);
    let test = match RunResults::read(dir) {
        Ok(results) => results.map(|r| r.scores()),
        // The history's test evaluation is used first; a broken results.json only matters
        // without one.
        Err(e) if history.is_none() => bail!(e),
        Err(_) => None,
    };
    Ok(Run::new(RunInput {
        dir: dir.to_path_buf(),
        history,
        spec,
        test,
    }))
}

/// The table for people: one line per row, the best of each column marked `*`, then what
/// the figures do not say.
pub fn text_table(cmp: &Comparison) -> String {
    let columns = cmp.columns();
    let mut header = vec!["RUN".to_string()];
    header.extend(columns.iter().map(|c| c.name().to_string()));
    let mut lines = vec![header];
    for (i, row) in cmp.rows.iter().enumerate() {
        let mut cells = vec![row.label.clone()];
        for &c in &columns {
            let mark = if cmp.best_row(c) == Some(i) { "*" } else { "" };
            cells.push(format!("{}{mark}", c.cell(c.stat(row))));
        }
        lines.push(cells);
    }
    let widths: Vec<usize> = (0..lines[0].len())
        .map(|k| lines.iter().map(|l| l[k].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let pad = widths[k] - c.chars().count();
                if k == 0 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect();
        out += cells.join("  ").trim_end();
        out += "\n";
    }
    out += &format!(
        "\nbest: the best dev epoch; test figures of its weights:\n{};\n\
         * the best row of a column; mean ± std over the seeds of a --seeds run.\n",
        cmp.family.describe()
    );
    if !cmp.differs.is_empty() {
        let names: Vec<&str> = cmp.differs.iter().map(|s| s.name()).collect();
        out += &format!("differ in: {}\n", names.join(", "));
    }
    let common = cmp.common();
    if !common.is_empty() {
        out += &format!("all: {}\n", common.join(", "));
    }
    for row in &cmp.rows {
        out += &format!("{}: {}\n", row.label, row.dir.display());
    }
    for note in cmp.notes() {
        out += &format!("note: {note}\n");
    }
    out
}

#[cfg(test)]
mod tests;
