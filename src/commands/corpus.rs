//! `cmbert-tui corpus`: writes the built-in prosody corpus and prints its ceilings; with
//! `--speak`, speaks it with espeak-ng into recordings and TextGrids (`corpus::speak`).

use crate::commands::printer::tell;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use indicatif::{ParallelProgressIterator, ProgressBar};
use rayon::prelude::*;

use crate::cli::CorpusArgs;
use crate::corpus::speak::{Espeak, Recording, SpokenCorpus, WAV_DIR};
use crate::corpus::{Corpus, CorpusConfig};
use crate::data::Split;

/// Runs `cmbert-tui corpus`: writes the corpus into `--out` and prints its ceilings.
pub fn run(args: CorpusArgs) -> Result<()> {
    let [train, dev, test] = args.sizes[..] else {
        bail!("--sizes takes three numbers (train,dev,test), got {:?}", args.sizes);
    };
    if train == 0 || dev == 0 || test == 0 {
        bail!("--sizes: every split needs at least one utterance");
    }
    let mut config = CorpusConfig::new(args.seed);
    config.sizes = [train, dev, test];
    refuse_foreign_files(&args.out, args.speak, args.force)?;
    let corpus = Corpus::generate(&config);
    if args.speak {
        return speak(corpus, &args.out);
    }
    corpus
        .write(&args.out)
        .with_context(|| format!("cannot write the corpus to {}", args.out.display()))?;
    tell!(
        "wrote {}: train.tsv, dev.tsv, test.tsv ({} / {} / {}), audio.jsonl, <split>.meta.jsonl, corpus.json",
        args.out.display(),
        corpus.splits[0].len(),
        corpus.splits[1].len(),
        corpus.splits[2].len()
    );
    print_ceilings(&corpus);
    Ok(())
}

/// Refuses to write over data files that no corpus wrote: `--out` pointed at the user's
/// own data by mistake must cost nothing. A directory holding a corpus's record
/// (`corpus.json`, `speak.json`) is a corpus, rewritten as documented.
fn refuse_foreign_files(dir: &Path, speak: bool, force: bool) -> Result<()> {
    let records = [crate::corpus::SUMMARY_FILE, crate::corpus::speak::SUMMARY_FILE];
    if force || records.iter().any(|r| dir.join(r).exists()) {
        return Ok(());
    }
    let mut written = crate::corpus::data_files();
    if speak {
        written.retain(|f| f != crate::corpus::AUDIO_FILE);
        written.extend([WAV_DIR.to_string(), crate::corpus::speak::ALIGN_DIR.to_string()]);
    }
    let found: Vec<&str> = written
        .iter()
        .map(String::as_str)
        .filter(|name| {
            let path = dir.join(name);
            // An empty folder (a spoken corpus that failed at its first word) holds nothing.
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_some()),
                Ok(_) => true,
                Err(_) => false,
            }
        })
        .collect();
    if !found.is_empty() {
        bail!(
            "{} already holds {} and no corpus record ({}): data of yours? \
             Choose another --out, or pass --force to replace them",
            dir.display(),
            found.join(", "),
            records.join(" or ")
        );
    }
    Ok(())
}

/// `corpus --speak`: every utterance spoken in parallel, then the TSVs that name them.
fn speak(corpus: Corpus, out: &Path) -> Result<()> {
    // Before anything is written: without espeak-ng there is nothing to do.
    let espeak = Espeak::find()?;
    let spoken = SpokenCorpus::plan(corpus);
    SpokenCorpus::prepare(out)?;
    let bar = ProgressBar::new(spoken.jobs.len() as u64).with_style(super::printer::bar_style(
        "speaking [{bar:30}] {pos}/{len} utterances  {rate}  ETA {eta}",
        "utterances",
    ));
    let start = Instant::now();
    // The first failure stops the rest (a broken espeak-ng fails every utterance alike).
    let recordings: Result<Vec<Recording>, _> = spoken
        .jobs
        .par_iter()
        .progress_with(bar.clone())
        .map(|job| spoken.render(job, &espeak, out))
        .collect();
    bar.finish_and_clear();
    let recordings = recordings?;
    let elapsed = start.elapsed().as_secs_f64();
    spoken.write_index(out, &espeak, &recordings)?;
    let seconds: f64 = recordings.iter().map(|r| r.duration).sum();
    let words: usize = recordings.iter().map(|r| r.words.len()).sum();
    let splits = &spoken.corpus.splits;
    tell!(
        "wrote {}: train.tsv, dev.tsv, test.tsv ({} / {} / {}, with ids), {WAV_DIR}/ ({} recordings, {words} words, {seconds:.1} s of audio), align/ (TextGrids), <split>.meta.jsonl, speak.json",
        out.display(),
        splits[0].len(),
        splits[1].len(),
        splits[2].len(),
        recordings.len(),
    );
    tell!(
        "spoken by espeak-ng {} in {elapsed:.1} s ({:.1} s of audio per second, {} threads)",
        espeak.version,
        seconds / elapsed.max(1e-9),
        rayon::current_num_threads()
    );
    print_ceilings(&spoken.corpus);
    let dir = out.display();
    tell!("next: cmbert-tui features --audio-dir {dir}/wavs --alignments {dir}/align --data {dir} --out {dir}/audio.jsonl");
    Ok(())
}

fn print_ceilings(corpus: &Corpus) {
    tell!("Acc2 ceilings on the test split:");
    tell!(
        "  {:<10} {:>6} {:>12} {:>14}",
        "subset",
        "n",
        "text only",
        "text + audio"
    );
    for (name, c) in corpus.split_ceilings(Split::Test) {
        tell!(
            "  {name:<10} {:>6} {:>11.1}% {:>13.1}%",
            c.n,
            100.0 * c.text_only_acc2,
            100.0 * c.text_audio_acc2
        );
    }
}
