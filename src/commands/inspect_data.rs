//! `cmbert-tui inspect-data`: what a data path holds and what `train --data` would use of
//! it, before any model is built: for an MMSA pickle (`data::mmsa`) its splits, utterances,
//! audio dimensions, label range, which label is used and which arrays are skipped; for a
//! directory of TSV splits its utterances and label range. It reports how long loading took:
//! a pickle is streamed and only its audio and labels are read (`data::mmsa`).

use crate::commands::printer::tell;
use std::fmt::Write as _;

use std::time::{Duration, Instant};

use anyhow::Result;

use super::printer::plural;
use crate::cli::InspectDataArgs;
use crate::data::mmsa::{is_pickle, load_mmsa, MmsaFile};
use crate::data::tsv::read_split;
use crate::data::{Split, DEFAULT_MAX_LEN};

/// Runs `cmbert-tui inspect-data`.
pub fn run(args: InspectDataArgs) -> Result<()> {
    let max_len = args.max_len.unwrap_or(DEFAULT_MAX_LEN);
    if is_pickle(&args.data) {
        let started = Instant::now();
        let file = load_mmsa(&args.data, args.label, max_len)?;
        let took = started.elapsed();
        super::printer::to_stdout(format_args!("{}", describe_mmsa(&file)));
        let size = std::fs::metadata(&args.data).map_or(0, |m| m.len());
        tell!("{}", load_line(took, size));
    } else {
        super::printer::to_stdout(format_args!("{}", describe_tsv(&args.data)?));
    }
    Ok(())
}

/// How long loading a pickle of `size` bytes took.
fn load_line(took: Duration, size: u64) -> String {
    format!(
        "loaded      in {:.2} s from a {:.1} MB file (streamed: only the audio and the labels are read)",
        took.as_secs_f64(),
        size as f64 / 1e6
    )
}

/// `     6 utterances`, `     1 utterance`: the count right-aligned in 6 columns, so that the
/// splits' counts line up.
fn utterances(n: usize) -> String {
    let counted = plural(n, "utterance", "utterances");
    let pad = 6usize.saturating_sub(n.to_string().len());
    format!("{}{counted}", " ".repeat(pad))
}

/// The lines printed for an MMSA pickle.
pub fn describe_mmsa(f: &MmsaFile) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "data        {} (MMSA pickle)", f.path.display());
    let _ = writeln!(out, "dataset     {}", f.kind);
    for (split, part) in Split::ALL.iter().zip(&f.splits) {
        let ids = match &part.ids {
            Some(ids) => format!("ids {}", ids.first().map_or("-", String::as_str)),
            None => "no ids".into(),
        };
        let _ = writeln!(
            out,
            "{:<11} {} (key {:?}; {ids})",
            split.name(),
            utterances(part.texts.len()),
            part.key
        );
    }
    let range = f
        .label_range()
        .map_or_else(|| "no labels".into(), |(lo, hi)| format!("{lo:+.3} to {hi:+.3}"));
    let _ = writeln!(out, "label       {} ({:?}), range {range}", f.label, f.label.key());
    let len = f.audio.splits.first().map_or(0, |s| match s {
        crate::data::audio::SplitFeatures::TokenAligned { len, .. } => *len,
        crate::data::audio::SplitFeatures::WordLevel(_) => 0,
    });
    let _ = writeln!(
        out,
        "audio       \"audio\": {len} positions x {} features per utterance; {} -inf values read as 0",
        f.audio.dim, f.audio.neg_inf_zeroed
    );
    let _ = writeln!(
        out,
        "used        \"raw_text\" (text), {:?} (labels), \"audio\"{}",
        f.label.key(),
        if f.splits.iter().any(|s| s.ids.is_some()) {
            ", \"id\" (in --predictions)"
        } else {
            ""
        }
    );
    let skipped = if f.skipped.is_empty() {
        "nothing".to_string()
    } else {
        f.skipped
            .iter()
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "skipped     {skipped}");
    let _ = writeln!(
        out,
        "metrics     {}",
        match f.kind {
            crate::data::MmsaKind::MosiMosei =>
                "MMSA's MOSI/MOSEI figures: Has0_acc_2, Has0_F1_score, Non0_acc_2, Non0_F1_score, Mult_acc_5, Mult_acc_7, MAE, Corr",
            crate::data::MmsaKind::Sims =>
                "MMSA's SIMS figures: Mult_acc_2, Mult_acc_3, Mult_acc_5, F1_score, MAE, Corr",
        }
    );
    out
}

/// The lines printed for a directory of TSV splits.
fn describe_tsv(dir: &std::path::Path) -> Result<String> {
    let mut out = String::new();
    let _ = writeln!(out, "data        {} (TSV splits)", dir.display());
    let mut labels = Vec::new();
    for split in Split::ALL {
        let path = split.tsv_path(dir);
        let rows = read_split(&path)?;
        let ids = rows.iter().filter(|r| r.id.is_some()).count();
        let _ = writeln!(
            out,
            "{:<11} {} ({}; {ids} with ids)",
            split.name(),
            utterances(rows.len()),
            path.display()
        );
        labels.extend(rows.iter().map(|r| r.label));
    }
    let (lo, hi) = labels.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    let _ = writeln!(out, "label       column \"label\", range {lo:+.3} to {hi:+.3}");
    let _ = writeln!(
        out,
        "audio       none in the directory: give train --audio FILE (or CM-BERT runs on zero audio)"
    );
    let _ = writeln!(out, "metrics     the paper's: Acc2, Acc2 non-zero, F1, Acc7, MAE, Corr");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_their_noun_and_line_up() {
        assert_eq!(utterances(1), "     1 utterance");
        assert_eq!(utterances(6), "     6 utterances");
        assert_eq!(utterances(0), "     0 utterances");
        assert_eq!(utterances(16_326), " 16326 utterances");
        assert_eq!(utterances(1_234_567), "1234567 utterances");
    }

    #[test]
    fn the_load_time_is_reported_with_the_file_size() {
        assert_eq!(
            load_line(Duration::from_millis(1234), 4_321_000_000),
            "loaded      in 1.23 s from a 4321.0 MB file (streamed: only the audio and the labels are read)"
        );
    }
}
