//! `cmbert-tui features`: recordings + word timings -> the word-level feature file that
//! `train --audio` reads.

use crate::commands::printer::say;
use crate::commands::printer::tell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ParallelProgressIterator, ProgressBar};
use rayon::prelude::*;

use super::eval::refuse_overwrite;
use crate::acoustic::{align, extract, FeatureSet, WordSpan};
use crate::cli::FeaturesArgs;
use crate::data::tsv::{read_split, Split};

/// One utterance to extract: where it sits in the data and where its inputs are.
struct Job {
    split: Split,
    index: usize,
    id: String,
    wav: PathBuf,
    words: Vec<WordSpan>,
    words_source: PathBuf,
}

/// Runs `cmbert-tui features`: extracts every recording, then writes the file at once.
pub fn run(args: FeaturesArgs) -> Result<()> {
    let set = FeatureSet::by_name(&args.set).with_context(|| {
        format!(
            "--set {}: unknown feature set; choose one of {}",
            args.set,
            crate::acoustic::set::SETS.map(|s| s.name).join(", ")
        )
    })?;
    refuse_overwrite(&args.out, args.force)?;
    let wavs = list_wavs(&args.audio_dir)?;
    let jobs = plan(&args, &wavs)?;
    let unused = wavs.len() - jobs.len();
    if unused > 0 {
        say!(
            "note: {unused} WAV files in {} are not in the data's id column and are skipped",
            args.audio_dir.display()
        );
    }
    let bar = ProgressBar::new(jobs.len() as u64).with_style(super::printer::bar_style(
        "extracting [{bar:30}] {pos}/{len} recordings  {rate}  ETA {eta}",
        "recordings",
    ));
    let start = Instant::now();
    let results: Vec<_> = jobs
        .par_iter()
        .progress_with(bar.clone())
        .map(|job| extract(&job.wav, &job.words, &job.words_source, &set))
        .collect();
    bar.finish_and_clear();
    let elapsed = start.elapsed().as_secs_f64();
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    match failures.as_slice() {
        [] => {}
        // One bad file is one line: the file's own message first, where a reader looks.
        [only] => bail!("{only} (1 of {} recordings failed; nothing was written)", jobs.len()),
        [first, ..] => bail!(
            "{} of {} recordings failed; nothing was written. First: {first}\n  {}",
            failures.len(),
            jobs.len(),
            failures[1..].iter().take(9).cloned().collect::<Vec<_>>().join("\n  ")
        ),
    }
    let utterances: Vec<_> = results.into_iter().map(|r| r.expect("failures handled")).collect();
    write_jsonl(&args.out, &set, &jobs, &utterances)?;
    let seconds: f64 = utterances.iter().map(|u| u.duration).sum();
    let words: usize = utterances.iter().map(|u| u.words.len()).sum();
    tell!(
        "wrote {}: {} utterances, {words} words, {} dimensions ({}), {seconds:.1} s of audio in {elapsed:.2} s ({:.0} s of audio per second, {} threads)",
        args.out.display(),
        utterances.len(),
        set.dim(),
        set.name,
        seconds / elapsed.max(1e-9),
        rayon::current_num_threads()
    );
    Ok(())
}

/// `*.wav` (any case) in `dir`, by stem.
fn list_wavs(dir: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("--audio-dir {}: cannot read the directory", dir.display()))?;
    let mut wavs = BTreeMap::new();
    for entry in entries {
        let path = entry.with_context(|| format!("cannot list {}", dir.display()))?.path();
        let is_wav = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
        if let (true, Some(stem)) = (is_wav, path.file_stem().and_then(|s| s.to_str())) {
            wavs.insert(stem.to_string(), path.clone());
        }
    }
    if wavs.is_empty() {
        bail!("--audio-dir {}: no .wav files", dir.display());
    }
    Ok(wavs)
}

/// Pairs every utterance of the data with its WAV and its word timings, and checks the
/// timings' words against the transcript before any audio is read.
fn plan(args: &FeaturesArgs, wavs: &BTreeMap<String, PathBuf>) -> Result<Vec<Job>> {
    // Anything there but a directory is read as one file, which refuses a FIFO or a device
    // as what it is.
    let many = if args.alignments.is_dir() {
        None
    } else if crate::fsutil::input_present(&args.alignments) {
        Some(align::read_many(&args.alignments)?)
    } else {
        bail!(
            "--alignments {}: no such file or directory (expected a directory of TextGrid/CSV/JSON files named after the WAVs, or one CSV/JSON file for all)",
            args.alignments.display()
        );
    };
    let mut jobs = Vec::new();
    let mut seen: HashMap<String, (Split, usize)> = HashMap::new();
    let mut missing_wav = Vec::new();
    let mut missing_words = Vec::new();
    for split in Split::ALL {
        let tsv = split.tsv_path(&args.data);
        let rows = read_split(&tsv)?;
        for (index, row) in rows.into_iter().enumerate() {
            let Some(id) = row.id else {
                bail!(
                    "{}: no id column; add a third column \"id\" (header text<TAB>label<TAB>id) naming each utterance's WAV file without .wav",
                    tsv.display()
                );
            };
            if let Some((s, i)) = seen.insert(id.clone(), (split, index)) {
                bail!(
                    "{}:{}: id {id} is used twice (also {s} utterance {i})",
                    tsv.display(),
                    row.line
                );
            }
            let Some(wav) = wavs.get(&id) else {
                missing_wav.push(id);
                continue;
            };
            let (words, words_source) = match &many {
                Some(map) => match map.get(&id) {
                    Some(w) => (w.clone(), args.alignments.clone()),
                    None => {
                        missing_words.push(id);
                        continue;
                    }
                },
                None => match alignment_file(&args.alignments, &id) {
                    Some(path) => (align::read_words(&path)?, path),
                    None => {
                        missing_words.push(id);
                        continue;
                    }
                },
            };
            check_transcript(&words, &row.text, &words_source, &id, &tsv, row.line)?;
            jobs.push(Job {
                split,
                index,
                id,
                wav: wav.clone(),
                words,
                words_source,
            });
        }
    }
    let list = |ids: &[String]| {
        let shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
        format!("{}{}", shown.join(", "), if ids.len() > 5 { ", ..." } else { "" })
    };
    if !missing_wav.is_empty() {
        bail!(
            "--audio-dir {}: no WAV for {} utterances of the data: {}",
            args.audio_dir.display(),
            missing_wav.len(),
            list(&missing_wav)
        );
    }
    if !missing_words.is_empty() {
        bail!(
            "--alignments {}: no word timings for {} utterances: {} (expected {})",
            args.alignments.display(),
            missing_words.len(),
            list(&missing_words),
            if many.is_some() {
                "their ids in the file"
            } else {
                "ID.TextGrid, ID.csv or ID.json"
            }
        );
    }
    Ok(jobs)
}

fn alignment_file(dir: &Path, id: &str) -> Option<PathBuf> {
    ["TextGrid", "textgrid", "csv", "json"]
        .iter()
        .map(|ext| dir.join(format!("{id}.{ext}")))
        .find(|p| crate::fsutil::input_present(p))
}

/// The trainer pairs word vectors with the transcript's words one to one, so they must be
/// the same words (case aside).
fn check_transcript(words: &[WordSpan], text: &str, source: &Path, id: &str, tsv: &Path, line: usize) -> Result<()> {
    // The trainer's words (each CJK character one, see data::tokenize::words).
    let transcript: Vec<&str> = crate::data::tokenize::words(text);
    let timed: Vec<&str> = words.iter().map(|w| w.word.as_str()).collect();
    if let Some(i) = (0..transcript.len().max(timed.len())).find(|&i| match (timed.get(i), transcript.get(i)) {
        (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
        _ => true,
    }) {
        let describe = |w: Option<&&str>| w.map_or("nothing".to_string(), |w| format!("{w:?}"));
        bail!(
            "{}: the words of {id} do not match its transcript ({}:{line}): word {} is {} in the timings but {} in the transcript",
            source.display(),
            tsv.display(),
            i + 1,
            describe(timed.get(i)),
            describe(transcript.get(i)),
        );
    }
    Ok(())
}

fn write_jsonl(out: &Path, set: &FeatureSet, jobs: &[Job], utterances: &[crate::acoustic::Utterance]) -> Result<()> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    crate::fsutil::write_atomic_with(out, |w| {
        serde_json::to_writer(&mut *w, &serde_json::json!({ "feature_set": set.info() }))?;
        writeln!(w)?;
        for (job, u) in jobs.iter().zip(utterances) {
            let row = serde_json::json!({
                "split": job.split,
                "index": job.index,
                "id": job.id,
                "words": u.words,
                "features": u.features,
            });
            serde_json::to_writer(&mut *w, &row)?;
            writeln!(w)?;
        }
        Ok(())
    })
    .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}
