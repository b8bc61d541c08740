//! `cmbert-tui corpus`: writes the built-in prosody corpus and prints its ceilings.

use anyhow::{bail, Context, Result};

use crate::cli::CorpusArgs;
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
    let corpus = Corpus::generate(&config);
    corpus
        .write(&args.out)
        .with_context(|| format!("cannot write the corpus to {}", args.out.display()))?;
    println!(
        "wrote {}: train.tsv, dev.tsv, test.tsv ({} / {} / {}), audio.jsonl, <split>.meta.jsonl, corpus.json",
        args.out.display(),
        corpus.splits[0].len(),
        corpus.splits[1].len(),
        corpus.splits[2].len()
    );
    println!("Acc2 ceilings on the test split:");
    println!(
        "  {:<10} {:>6} {:>12} {:>14}",
        "subset", "n", "text only", "text + audio"
    );
    for (name, c) in corpus.split_ceilings(Split::Test) {
        println!(
            "  {name:<10} {:>6} {:>11.1}% {:>13.1}%",
            c.n,
            100.0 * c.text_only_acc2,
            100.0 * c.text_audio_acc2
        );
    }
    Ok(())
}
