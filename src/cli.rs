//! Command-line interface (clap). Tests and scripts use these names: keep them stable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::bench::ModelSize;

#[derive(Debug, Parser)]
#[command(
    name = "cmbert-tui",
    version,
    about = "Train and explain Cross-Modal BERT (CM-BERT, ACM MM 2020) in the terminal",
    long_about = "Train and explain Cross-Modal BERT (CM-BERT, ACM MM 2020): a BERT fine-tuned for \
sentiment regression whose words are re-weighted by word-aligned audio through a masked \
multimodal attention. As published, the prediction cannot depend on the audio (only the [CLS] \
row of the attention reaches the score and its audio slot is zero); `--cls-audio mean|learned` \
are variants in which the voice does reach the prediction."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Time the forward pass and a full training step, optionally against PyTorch.
    Bench(BenchArgs),
    /// Show what a checkpoint directory holds: layout, configuration, head, tensors.
    Inspect(InspectArgs),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Model sizes to time (repeat or comma-separate).
    #[arg(long, value_delimiter = ',', default_values = ["minilm", "bert-base"])]
    pub size: Vec<ModelSize>,
    #[arg(long, default_value_t = 24)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 50)]
    pub max_len: usize,
    /// Timed iterations per operation (medians are reported).
    #[arg(long, default_value_t = 7)]
    pub iters: usize,
    /// Untimed iterations first.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Python with torch and transformers: also time PyTorch, alternating with ours.
    #[arg(long, value_name = "PYTHON")]
    pub torch: Option<PathBuf>,
    /// The PyTorch side of the bench.
    #[arg(long, default_value = "benches/torch_bench.py")]
    pub torch_script: PathBuf,
    /// Threads for both sides (sets RAYON_NUM_THREADS for ours).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Print the table as JSON instead.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Checkpoint directory (ours, Hugging Face or the reference implementation's).
    pub checkpoint: PathBuf,
}
