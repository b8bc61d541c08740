//! Command-line interface (clap). Tests and scripts use these names: keep them stable.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::attention::{Level, Matrix};
use crate::bench::{ModelSize, Precision};
use crate::data::{MmsaLabel, Split};
use crate::device::DeviceSpec;
use crate::export::through_training::StepPick;
use crate::export::Format;
use crate::model::{ClsAudio, ModelKind};
use crate::train::Preset;

/// Gives a domain enum its command-line names and `--help` lines: the enums of the layers
/// below (`ModelKind`, `Split`, `Matrix`, ...) carry no clap derive, so the CLI owns how they
/// are typed. One line per variant: `Variant => "name", "help"` (the help is optional). The
/// `match` is exhaustive, so a variant added below does not compile until it has a name here.
macro_rules! cli_values {
    ($ty:ident { $($variant:ident => $name:literal $(, $help:literal)?;)+ }) => {
        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$($ty::$variant),+]
            }

            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(match self {
                    $($ty::$variant => clap::builder::PossibleValue::new($name)$(.help($help))?,)+
                })
            }
        }
    };
}

cli_values!(ModelKind {
    CmBert => "cm-bert", "Cross-Modal BERT: masked multimodal attention fusion head (docs/MODEL.md §3)";
    TBert => "t-bert", "Text-only baseline: `Linear(d, 1)` on the pooled output";
});

cli_values!(ClsAudio {
    Zero => "zero", "The paper's: a zero vector, so the score cannot depend on the audio";
    Mean => "mean", "The mean of the word positions' audio vectors";
    Learned => "learned", "A trainable audio query vector";
});

cli_values!(Preset {
    Paper => "paper", "The reference implementation's recipe (docs/MODEL.md §4)";
    Scratch => "scratch", "For the built-in corpus and a small BERT trained from scratch: the paper's recipe with \
        trainable embeddings, a larger encoder learning rate and more epochs";
});

cli_values!(Split {
    Train => "train";
    Dev => "dev";
    Test => "test";
});

cli_values!(MmsaLabel {
    M => "M", "The multimodal label (regression_labels), which every MMSA file holds";
    T => "T", "CH-SIMS: the text label (regression_labels_T)";
    A => "A", "CH-SIMS: the audio label (regression_labels_A)";
    V => "V", "CH-SIMS: the vision label (regression_labels_V)";
});

cli_values!(ModelSize {
    Minilm => "minilm", "all-MiniLM-L6-v2: 6 layers, hidden 384";
    BertBase => "bert-base", "bert-base-uncased: 12 layers, hidden 768";
    Tiny => "tiny", "2 layers, hidden 32 (smoke test)";
});

cli_values!(Precision {
    F32 => "f32", "float32 products (bench: on both sides)";
    Bf16 => "bf16", "bf16 matrix products with f32 sums (AVX512-BF16 CPUs; elsewhere f32); bench: also PyTorch's bf16 autocast";
});

cli_values!(Format {
    Svg => "svg", "Figure: one row per utterance, two heatmaps side by side";
    Png => "png", "The same figure as a bitmap (text drawn with an embedded font)";
    Json => "json", "Metadata, raw matrices and the two views as drawn";
    Csv => "csv", "The two views in long form, one value per line";
});

cli_values!(Matrix {
    AlphaT => "alpha-t", "alpha_t = ReLU(T' T'^T): the text attention";
    BetaA => "beta-a", "beta_a = ReLU(A A^T): the audio attention";
    WF => "w-f", "W_f = w_t alpha_t + w_a beta_a + b, before the masked softmax";
    WM => "w-m", "W_m = softmax(W_f + M): the multimodal attention that re-weights the words";
    Shift => "shift", "W_m - softmax(alpha_t): how the audio (and the fusion weights) moved the attention";
});

cli_values!(Level {
    Piece => "piece", "One row and column per WordPiece token";
    Word => "word", "Pieces of a word merged: rows averaged, columns summed (so W_m rows still sum to 1)";
});

#[derive(Debug, Parser)]
#[command(
    name = "cmbert-tui",
    version,
    about = "Train and explain Cross-Modal BERT (CM-BERT, ACM MM 2020) in the terminal",
    long_about = "Train and explain Cross-Modal BERT (CM-BERT, ACM MM 2020): a BERT fine-tuned for \
sentiment regression whose words are re-weighted by word-aligned audio through a masked \
multimodal attention. As published, the prediction cannot depend on the audio (only the [CLS] \
row of the attention reaches the score and its audio slot is zero); `--cls-audio mean|learned` \
are variants in which the voice does reach the prediction.

Without a command, cmbert-tui trains the paper's CM-BERT on its built-in prosody corpus (no \
download), in the terminal app when there is a terminal, and then checks whether the audio \
changed any prediction."
)]
/// The command line: a subcommand, or none for the default run.
pub struct Cli {
    /// `None`: train on the built-in corpus (`commands::default_run`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// `Cli::parse`, with a tip when an option of a subcommand comes without one
    /// (`cmbert-tui --theme paper`), where clap alone only calls it unexpected.
    pub fn parse_with_hints() -> Self {
        let args: Vec<OsString> = std::env::args_os().collect();
        Self::try_parse_from(&args).unwrap_or_else(|err| one_run_only(hint_subcommand(err, &args)).exit())
    }
}

/// `open RUN RUN --wav FILE`: clap's conflict (with its usage) as one line naming the option
/// and what to do instead.
pub fn one_run_only(err: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::ArgumentConflict {
        return err;
    }
    let arg = |kind| match err.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        _ => Vec::new(),
    };
    let args = [arg(ContextKind::InvalidArg), arg(ContextKind::PriorArg)].concat();
    if !args.iter().any(|a| a.starts_with("[RUN]")) {
        return err;
    }
    let Some(option) = args.iter().find(|a| a.starts_with('-')) else {
        return err;
    };
    let option = option.split([' ', '=']).next().unwrap_or(option);
    clap::Error::raw(
        ErrorKind::ArgumentConflict,
        format!(
            "{option} is an option of one run: `open RUN RUN...` opens the runs' comparison \
             (as `compare` does), which takes only --theme; open one run for {option}\n"
        ),
    )
}

/// Adds to clap's "unexpected argument" error, when no subcommand was named, the command
/// line with the first subcommand that takes the option (and which others do).
pub fn hint_subcommand(mut err: clap::Error, args: &[OsString]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use clap::CommandFactory;
    let cmd = Cli::command();
    let given: Vec<String> = args.iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let named = given.first().is_some_and(|a| cmd.find_subcommand(a).is_some());
    if err.kind() != ErrorKind::UnknownArgument || named {
        return err;
    }
    let Some(ContextValue::String(invalid)) = err.get(ContextKind::InvalidArg) else {
        return err;
    };
    let option = invalid.split('=').next().unwrap_or(invalid).to_string();
    let takes = |arg: &clap::Arg| match option.strip_prefix("--") {
        Some(long) => arg.get_long() == Some(long),
        None => option.strip_prefix('-').and_then(|s| s.chars().next()) == arg.get_short(),
    };
    let takers: Vec<&str> = cmd
        .get_subcommands()
        .filter(|sub| sub.get_arguments().any(takes))
        .map(|sub| sub.get_name())
        .collect();
    let Some((first, others)) = takers.split_first() else {
        return err;
    };
    let quoted: Vec<String> = given
        .iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
                format!("'{}'", a.replace('\'', r"'\''"))
            } else {
                a.clone()
            }
        })
        .collect();
    let mut tip = format!(
        "options like {option} belong to a subcommand: cmbert-tui {first} {}",
        quoted.join(" ")
    );
    if !others.is_empty() {
        tip += &format!(" ({option} is also an option of {})", others.join(", "));
    }
    err.insert(ContextKind::Suggested, ContextValue::StyledStrs(vec![tip.into()]));
    err
}

/// The subcommands; each runs in `commands::<name>`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fine-tune CM-BERT or T-BERT with the reference code's recipe (or from scratch on the built-in corpus).
    Train(Box<TrainArgs>),
    /// Evaluate a trained checkpoint (ours or the reference's) on a split.
    Eval(EvalArgs),
    /// Export attention matrices: paper-style figures (SVG, PNG) or tables (JSON, CSV).
    Export(ExportArgs),
    /// Write the built-in prosody corpus (MOSI-text TSVs + word-level audio JSONL).
    Corpus(CorpusArgs),
    /// Time the forward pass and a full training step, optionally against PyTorch.
    Bench(BenchArgs),
    /// Show what a checkpoint holds and the run it comes from: which checkpoint (best/ or last/),
    /// epoch and step, dev loss, data, audio, model, whether it can be resumed.
    Inspect(InspectArgs),
    /// Show what a data path holds and what training would use: splits, utterances, audio
    /// dimensions, label range, the label used and the arrays skipped (MMSA pickles, TSV
    /// directories).
    InspectData(InspectDataArgs),
    /// List the runs under a directory (default checkpoints/): model, data, best epoch, dev loss,
    /// test metrics, whether they can be resumed.
    Runs(RunsArgs),
    /// Open a finished run or a trained checkpoint (ours or the reference's), without training:
    /// the training screen as the run ended (from RUN/history.jsonl) and the attention explorer.
    /// Several runs open their comparison, as `compare` does.
    Open(OpenArgs),
    /// Compare runs: their loss curves overlaid and their metrics side by side (seeds of a
    /// `--seeds` run as one row, mean ± std); `--out` writes the curves (PNG, SVG) or the table
    /// (CSV, Markdown).
    Compare(CompareArgs),
    /// Word-level acoustic features from WAV recordings and word timings (TextGrid, CSV, JSON),
    /// written as the word-level file `train --audio` reads.
    Features(FeaturesArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Feature sets (dimensions in the README):
  full-v1     22: F0 mean/std/slope and voiced share, log-energy mean/std, 13 MFCC means,
              spectral centroid, spectral flux, zero-crossing rate
  prosody-v1   5: F0 mean/std, voiced share, log-energy mean/std

Recordings are mixed down to mono and resampled to 16 kHz; frames are 25 ms every 10 ms.
Values are raw measurements (Hz, dB, ...): training z-scores them with the training split's
statistics and stores the scaling in the checkpoint.

Example:
  cmbert-tui features --audio-dir wavs/ --alignments textgrids/ --data my-data/ --out my-data/audio.jsonl
  cmbert-tui train --data my-data/ --audio my-data/audio.jsonl --bert DIR")]
/// `cmbert-tui features`: word-level features from WAVs and word timings.
pub struct FeaturesArgs {
    /// Directory of .wav files (PCM 8/16/24/32-bit or 32-bit float, any rate, mono or stereo).
    #[arg(long, value_name = "DIR")]
    pub audio_dir: PathBuf,
    /// Word timings: a directory of ID.TextGrid (a "words" tier, as Montreal Forced Aligner or
    /// P2FA write), ID.csv (word,start,end) or ID.json files, or one CSV (id,word,start,end) or
    /// JSON ({"ID": [{"word", "start", "end"}, ...]}) file for all recordings.
    #[arg(long, value_name = "DIR|FILE")]
    pub alignments: PathBuf,
    /// The data directory (train.tsv, dev.tsv, test.tsv) with a third column "id" naming each
    /// utterance's WAV (without .wav): it places each recording in its split and checks its
    /// words against the transcript.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Output file (word-level JSON Lines, the feature set recorded on its first line).
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: PathBuf,
    /// Feature set: full-v1 or prosody-v1.
    #[arg(long, value_name = "NAME", default_value = "full-v1")]
    pub set: String,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// The options of `open` that belong to one run's model and data: refused with several runs
/// (their comparison runs no model), one line each (`one_run_only`).
const OPEN_ONE_RUN_ONLY: [&str; 11] = [
    "data",
    "audio",
    "zero_audio",
    "label",
    "wav",
    "words",
    "device",
    "split",
    "eval_batch_size",
    "precision",
    "exports",
];

/// `cmbert-tui open`: a trained checkpoint in the attention explorer, or several runs'
/// comparison.
#[derive(Debug, Args)]
#[command(
    after_help = "Several runs: `cmbert-tui open RUN RUN [RUN...]` opens their comparison, the same \
screen as `cmbert-tui compare RUN RUN...` (without a terminal: its table). Of the options \
above, only --theme applies to it.

Examples:
  cmbert-tui open runs/zero
  cmbert-tui open runs/zero/last --split dev
  cmbert-tui open runs/zero runs/learned     (as `cmbert-tui compare runs/zero runs/learned`)
  cmbert-tui open runs/learned --wav a.wav --words a.TextGrid --wav b.wav --words b.TextGrid
                                             (a stress pair: both, and where [CLS] moved)"
)]
pub struct OpenArgs {
    /// A run directory (its best/ is opened) or a checkpoint: ours (best/ or last/ of a run)
    /// or a reference-layout directory (bert_config.json + pytorch_model.bin). The run's
    /// history.jsonl, where there is one, gives the training screen its curves and metrics.
    #[arg(value_name = "RUN|CHECKPOINT")]
    pub checkpoint: PathBuf,
    /// More runs: `open RUN RUN...` opens the comparison of all of them, as `compare` does.
    #[arg(value_name = "RUN", conflicts_with_all = OPEN_ONE_RUN_ONLY)]
    pub more: Vec<PathBuf>,
    /// MOSI-text directory: train.tsv, dev.tsv, test.tsv. [default: the data the checkpoint
    /// was trained on]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Audio features (as for `train`). [default: the audio the checkpoint was trained on]
    #[arg(long, value_name = "FILE")]
    pub audio: Option<PathBuf>,
    /// Run the model on zero audio (instead of its recorded audio).
    #[arg(long, conflicts_with = "audio")]
    pub zero_audio: bool,
    /// Which label of an MMSA pickle the browser shows and scores against: M, or (CH-SIMS)
    /// T, A or V. [default: the one the checkpoint was trained on, else M]
    #[arg(long, value_enum)]
    pub label: Option<MmsaLabel>,
    /// A recording instead of a dataset.
    #[command(flatten)]
    pub recording: RecordingArgs,
    /// Where the model runs: cpu, or cuda:N with a binary built with `--features cuda`.
    #[arg(long, value_name = "cpu|cuda:N", default_value = "cpu")]
    pub device: DeviceSpec,
    /// The split shown first. In CMU-MOSI's test split the cursor starts on the paper's first
    /// Figure-4 utterance; `f` goes to Figure 4 from any split.
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    /// Batches in file order, as the reference evaluates (scores depend on batching).
    #[arg(long, default_value_t = 24, value_parser = in_range::<1, 100_000>)]
    pub eval_batch_size: usize,
    /// The encoder's matrix products: bf16 on CPUs with AVX512-BF16 (elsewhere f32).
    /// [default: the precision the checkpoint was trained with, else f32]
    #[arg(long, value_enum)]
    pub precision: Option<Precision>,
    /// Theme and exports directory of the app.
    #[command(flatten)]
    pub look: LookArgs,
}

/// One recording (or a stress pair of two) instead of a dataset: their features are extracted
/// as the checkpoint's training features were (feature set and scaling stored in the
/// checkpoint).
#[derive(Debug, Clone, Default, Args)]
pub struct RecordingArgs {
    /// A WAV recording to run the model on (needs --words; the checkpoint must have been
    /// trained on `cmbert-tui features` output). Twice, each followed by its --words, for a
    /// stress pair (the same words, the stress elsewhere): `open` lists both with the [CLS]
    /// row of W_m of each; `export` writes one figure of both (their W_m, B − A, and each
    /// one's F0 and energy word by word; PNG, SVG and JSON, or the --out file).
    #[arg(long, value_name = "FILE.wav", requires = "words", conflicts_with_all = ["data", "audio", "zero_audio", "label", "split"])]
    pub wav: Vec<PathBuf>,
    /// The recording's word timings: a TextGrid ("words" tier), CSV (word,start,end) or JSON.
    /// Its words are the transcript. One per --wav, in the same order.
    #[arg(long, value_name = "FILE", requires = "wav")]
    pub words: Vec<PathBuf>,
}

/// One recording and its word timings (`--wav FILE --words FILE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Take {
    /// The WAV file.
    pub wav: PathBuf,
    /// Its word timings.
    pub words: PathBuf,
}

/// At most this many recordings at once: one, or a stress pair.
pub const MAX_TAKES: usize = 2;

impl RecordingArgs {
    /// The recordings given, each --wav with the --words of the same position: none (a
    /// dataset), one, or a pair. Unequal counts or more than a pair are refused, naming them.
    pub fn takes(&self) -> Result<Vec<Take>, String> {
        if self.wav.len() != self.words.len() {
            return Err(format!(
                "{} --wav but {} --words: give each recording's timings after it \
(--wav A.wav --words A.TextGrid --wav B.wav --words B.TextGrid)",
                self.wav.len(),
                self.words.len()
            ));
        }
        if self.wav.len() > MAX_TAKES {
            return Err(format!(
                "{} recordings: --wav takes one recording, or two for a stress pair",
                self.wav.len()
            ));
        }
        Ok(self
            .wav
            .iter()
            .zip(&self.words)
            .map(|(wav, words)| Take {
                wav: wav.clone(),
                words: words.clone(),
            })
            .collect())
    }
}

/// How the terminal app looks and where it exports.
#[derive(Debug, Clone, Args)]
pub struct LookArgs {
    /// Colour theme: dark, paper, colorblind, or a .toml file (see themes/). `t` cycles in the app.
    #[arg(long, value_name = "NAME|FILE", default_value = "dark")]
    pub theme: String,
    /// Where `e` writes its files.
    #[arg(long, value_name = "DIR", default_value = "exports")]
    pub exports: PathBuf,
}

/// `cmbert-tui bench`: forward and training-step timings.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Model sizes to time (repeat or comma-separate).
    #[arg(long, value_delimiter = ',', default_values = ["minilm", "bert-base"])]
    pub size: Vec<ModelSize>,
    /// Utterances per batch.
    #[arg(long, default_value_t = 24, value_parser = in_range::<1, 4096>)]
    pub batch_size: usize,
    /// Token positions per utterance (the benched models have 512).
    #[arg(long, default_value_t = 50, value_parser = in_range::<1, 512>)]
    pub max_len: usize,
    /// Timed iterations per operation (medians are reported).
    #[arg(long, default_value_t = 7, value_parser = in_range::<1, 100_000>)]
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
    #[arg(long, default_value_t = 2, value_parser = in_range::<1, 1024>)]
    pub threads: usize,
    /// Arithmetic to compare: with bf16, ours is timed with bf16 products as well (where the
    /// CPU has AVX512-BF16), and so is PyTorch's bf16 autocast.
    #[arg(long, value_enum, default_value = "f32")]
    pub precision: Precision,
    /// all-MiniLM-L6-v2's directory (scripts/fetch-minilm.sh): MiniLM loads its weights on both
    /// sides instead of random ones.
    #[arg(long, value_name = "DIR")]
    pub minilm: Option<PathBuf>,
    /// Print the report as JSON instead.
    #[arg(long)]
    pub json: bool,
}

/// `cmbert-tui inspect`: what a checkpoint holds.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Checkpoint directory (ours, Hugging Face or the reference implementation's), or a run
    /// directory (train's --out), which stands for its best/.
    pub checkpoint: PathBuf,
}

/// `cmbert-tui inspect-data`: what a data path holds.
#[derive(Debug, Args)]
pub struct InspectDataArgs {
    /// An MMSA pickle (aligned_50.pkl) or a directory of train.tsv, dev.tsv, test.tsv.
    #[arg(value_name = "DIR|FILE.pkl")]
    pub data: PathBuf,
    /// The label to report on (MMSA pickles): M, or (CH-SIMS) T, A or V.
    #[arg(long, value_enum, default_value_t = MmsaLabel::M)]
    pub label: MmsaLabel,
    /// Token positions the audio must be aligned to. [default: 50]
    #[arg(long, value_parser = in_range::<1, 100_000>)]
    pub max_len: Option<usize>,
}

/// `cmbert-tui runs`: the runs under a directory.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Where to look: run directories (best/, last/), multi-seed runs (seed-N/) and folders of
    /// them, a few levels down; symbolic links are listed, not followed. [default: checkpoints]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print the listing as JSON instead.
    #[arg(long)]
    pub json: bool,
}

/// `cmbert-tui train`: options of a training run (`None`: left out, see the methods below).
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Print progress lines instead of the dashboard (the default when stdout is not a terminal,
    /// and for --seeds).
    #[arg(long)]
    pub headless: bool,
    /// Where the model runs: cpu, or cuda:N with a binary built with `--features cuda`.
    #[arg(long, value_name = "cpu|cuda:N", default_value = "cpu")]
    pub device: DeviceSpec,
    /// Theme and exports directory of the app.
    #[command(flatten)]
    pub look: LookArgs,
    /// MOSI-text directory: train.tsv, dev.tsv, test.tsv (text<TAB>label), or an MMSA pickle
    /// (aligned_50.pkl of MOSI, MOSEI or CH-SIMS) holding text, labels and audio.
    /// [default: the built-in prosody corpus, with its audio]
    #[arg(long, value_name = "DIR|FILE.pkl")]
    pub data: Option<PathBuf>,
    /// Which label of an MMSA pickle to train on: M, or (CH-SIMS) T, A or V; recorded in the
    /// checkpoints (a resumed run keeps it; eval, export and open use it). [default: M]
    #[arg(long, value_enum)]
    pub label: Option<MmsaLabel>,
    /// Audio features: reference .pkl, MMSA aligned_50.pkl, .npz, .safetensors or word-level .jsonl.
    /// Without it CM-BERT runs on zero audio.
    #[arg(long, value_name = "FILE")]
    pub audio: Option<PathBuf>,
    /// Pre-trained BERT: a local directory or a Hugging Face model id (needs the network or the hub cache).
    /// [default: a small BERT trained from scratch, with the `scratch` preset]
    #[arg(long, value_name = "DIR|HF_ID")]
    pub bert: Option<String>,
    /// [default: cm-bert]
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    /// What the [CLS] audio slot carries: zero is the paper's (the score cannot depend on the audio).
    /// [default: zero]
    #[arg(long, value_enum)]
    pub cls_audio: Option<ClsAudio>,
    /// Recipe defaults. [default: paper with --bert, scratch without]
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// [paper: 3] With --resume: the run's new length (more epochs train a finished run further,
    /// fewer end it earlier); from the resumed step on, the learning rate follows the schedule of
    /// a run of that length.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// [paper: 24]
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Evaluation batch size; scores depend on batching (docs/MODEL.md §3). [paper: 24]
    #[arg(long)]
    pub eval_batch_size: Option<usize>,
    /// Learning rate of BERT and the regressor. [paper: 2e-5]
    #[arg(long)]
    pub lr: Option<f64>,
    /// Learning rate of the fusion head's weights. [paper: 0.01]
    #[arg(long)]
    pub head_lr: Option<f64>,
    /// [paper: 0.01]
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Warm-up share of t_total. [paper: 0.1]
    #[arg(long)]
    pub warmup: Option<f64>,
    /// Per-tensor gradient clipping norm. [paper: 1.0]
    #[arg(long)]
    pub max_grad_norm: Option<f64>,
    /// Token positions per utterance. [paper: 50]
    #[arg(long)]
    pub max_len: Option<usize>,
    /// Seed of the built-in corpus when no --data is given. [default: 1]
    #[arg(long, value_name = "SEED")]
    pub corpus_seed: Option<u64>,
    /// Random seed (head initialisation, data order, dropout). [default: 1]
    #[arg(long, conflicts_with = "seeds")]
    pub seed: Option<u64>,
    /// Train N runs with seeds 1..=N and print the paper-style table (mean +- std).
    #[arg(long, value_name = "N")]
    pub seeds: Option<usize>,
    /// Output directory for best/ and last/ checkpoints; one that holds a previous run is
    /// refused unless --overwrite. With --resume: where the continued run goes.
    /// [default: a new checkpoints/<model>-<time>; with --resume, the run directory of the checkpoint]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace the previous run in --out (its best/ and last/ are removed before training).
    #[arg(long)]
    pub overwrite: bool,
    /// Also save last/ (with optimiser state) every N steps; it is saved at each epoch end anyway.
    #[arg(long, value_name = "N")]
    pub save_every: Option<usize>,
    /// Continue an interrupted run from its last/ checkpoint, or from its run directory (which
    /// stands for its last/). It writes beside that checkpoint (RUN/last -> RUN/best, RUN/last),
    /// or into --out. The settings come from the checkpoint: --epochs, --eval-batch-size and
    /// --save-every change them (recorded in the checkpoints it writes); flags that would change
    /// the model, the data or the optimiser are refused.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data", "bert", "seeds"])]
    pub resume: Option<PathBuf>,
    /// Also record this utterance's attention through training (RUN/attention.safetensors),
    /// e.g. `test:12`; repeatable. The one in view and the paper's Figure-4 sentences (when
    /// the data holds them) are recorded anyway.
    #[arg(long, value_name = "SPLIT:INDEX", value_parser = parse_watch)]
    pub watch: Vec<(Split, usize)>,
    /// Audio width when no --audio is given (zero audio). [default: 5]
    #[arg(long, value_name = "N")]
    pub audio_dim: Option<usize>,
    /// The encoder's matrix products: bf16 factors with f32 sums on CPUs with AVX512-BF16
    /// (elsewhere f32); weights, optimiser, norms, softmax and loss stay f32. [default: f32]
    #[arg(long, value_enum)]
    pub precision: Option<Precision>,
}

/// The defaults of the options that `--resume` must tell given from left out (`None`: left
/// out; a resumed run refuses those that would change it, see `commands::resume`).
impl TrainArgs {
    /// `--model`, cm-bert when left out.
    pub fn model(&self) -> ModelKind {
        self.model.unwrap_or(ModelKind::CmBert)
    }

    /// `--cls-audio`, zero when left out.
    pub fn cls_audio(&self) -> ClsAudio {
        self.cls_audio.unwrap_or(ClsAudio::Zero)
    }

    /// `--corpus-seed`, 1 when left out.
    pub fn corpus_seed(&self) -> u64 {
        self.corpus_seed.unwrap_or(1)
    }

    /// `--audio-dim`, 5 when left out.
    pub fn audio_dim(&self) -> usize {
        self.audio_dim.unwrap_or(5)
    }
}

/// How `eval --ablate-audio` takes the audio away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Ablation {
    /// All audio features set to zero.
    Zero,
    /// Audio rows shuffled across utterances (seeded).
    Shuffle,
}

/// A trained checkpoint and the data to run it on (shared by `eval` and `export`).
#[derive(Debug, Clone, Args)]
pub struct ModelOnData {
    /// Our checkpoint directory (a run directory stands for its best/) or a reference-layout
    /// directory (bert_config.json + pytorch_model.bin).
    #[arg(long, value_name = "PATH")]
    pub checkpoint: PathBuf,
    /// MOSI-text directory: train.tsv, dev.tsv, test.tsv, or an MMSA pickle. [default: the
    /// data the checkpoint was trained on]
    #[arg(long, value_name = "DIR|FILE.pkl")]
    pub data: Option<PathBuf>,
    /// Audio features (as for `train`). [default: the audio the checkpoint was trained on]
    #[arg(long, value_name = "FILE")]
    pub audio: Option<PathBuf>,
    /// Run the model on zero audio (instead of its recorded audio).
    #[arg(long, conflicts_with = "audio")]
    pub zero_audio: bool,
    /// Which label of an MMSA pickle to score against: M, or (CH-SIMS) T, A or V. [default:
    /// the one the checkpoint was trained on, else M]
    #[arg(long, value_enum)]
    pub label: Option<MmsaLabel>,
    /// The split to run on.
    #[arg(long, value_enum, default_value_t = Split::Test)]
    pub split: Split,
    /// Batches in file order, as the reference evaluates (scores depend on batching).
    #[arg(long, default_value_t = 24, value_parser = in_range::<1, 100_000>)]
    pub eval_batch_size: usize,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
    /// Where the model runs: cpu, or cuda:N with a binary built with `--features cuda`.
    #[arg(long, value_name = "cpu|cuda:N", default_value = "cpu")]
    pub device: DeviceSpec,
    /// The encoder's matrix products: bf16 on CPUs with AVX512-BF16 (elsewhere f32).
    /// [default: the precision the checkpoint was trained with, else f32]
    #[arg(long, value_enum)]
    pub precision: Option<Precision>,
}

/// `cmbert-tui eval`: metrics of a checkpoint on a split.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The checkpoint and the data.
    #[command(flatten)]
    pub input: ModelOnData,
    /// Write one JSON object per utterance: index, text, label, prediction.
    #[arg(long, value_name = "FILE.jsonl")]
    pub predictions: Option<PathBuf>,
    /// Print the metrics as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also evaluate with the audio removed or shuffled, and report what changes.
    #[arg(long, value_enum)]
    pub ablate_audio: Option<Ablation>,
}

/// `cmbert-tui export`: attention figures and tables.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("utterances").args(["index", "figure4", "wav", "curves"])))]
// One of them is needed; --index may also pick --through-training's utterance.
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["index", "figure4", "wav", "curves", "through_training"])))]
// `--curves` draws runs' histories and `--through-training` a run's recorded attention, not a
// checkpoint's attention: no --checkpoint then (the default "." is never read; clap still
// asks for --checkpoint without them).
#[command(mut_arg("checkpoint", |a| a.required(false).required_unless_present_any(["curves", "through_training"]).default_value(".").hide_default_value(true)))]
pub struct ExportArgs {
    /// The checkpoint and the data.
    #[command(flatten)]
    pub input: ModelOnData,
    /// A recording instead of a dataset.
    #[command(flatten)]
    pub recording: RecordingArgs,
    /// Utterance index in the split (0-based, file order).
    #[arg(long)]
    pub index: Option<usize>,
    /// The three utterances of the paper's Figure 4, found in the split by their text
    /// (CMU-MOSI's test split), as the rows of one file.
    #[arg(long)]
    pub figure4: bool,
    /// svg and png draw the figure; json holds the raw matrices too; csv the drawn values.
    /// [default: from the --out extension, else json]
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Left heatmap (the paper's Figure 4: alpha_t).
    #[arg(long, value_enum, default_value_t = Matrix::AlphaT)]
    pub left: Matrix,
    /// Right heatmap (the paper's Figure 4: W_m).
    #[arg(long, value_enum, default_value_t = Matrix::WM)]
    pub right: Matrix,
    /// Rows and columns per word (pieces merged) or per WordPiece token.
    #[arg(long, value_enum, default_value_t = Level::Word)]
    pub level: Level,
    /// Leave out [CLS] and [SEP] (and so the [CLS] row, the only one that reaches the score).
    #[arg(long)]
    pub hide_special: bool,
    /// Output file (an existing one is kept unless --force).
    /// [default: a new file in exports/, named after the utterances and matrices]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Colour maps of the figure: a theme name (dark, paper, colorblind) or a .toml file.
    #[arg(long, value_name = "NAME|FILE", default_value = "paper")]
    pub theme: String,
    /// Instead of attention: the loss and dev-metric curves of these runs (run directories; a
    /// `--seeds` run's directory is one band), as a figure (--out FILE.png or FILE.svg) or every
    /// point as CSV (--out FILE.csv). [default: a new curves.png and curves.csv in exports/]
    #[arg(long, value_name = "RUN", num_args = 1.., conflicts_with_all = ["index", "figure4", "wav", "format"])]
    pub curves: Vec<PathBuf>,
    /// Instead of a checkpoint's attention: one utterance's attention as run RUN recorded it
    /// (RUN/attention.safetensors), as an animated PNG (a frame per recorded step, titled with
    /// the step and its loss) and a PNG strip of --steps side by side. The utterance: --index
    /// (of --split) [default: the first the run recorded]. Files: --out FILE.png is the
    /// animation and a new FILE-steps.png beside it the strip. [default: new
    /// ...-through-training.png and ...-steps.png in exports/]
    #[arg(long, value_name = "RUN", conflicts_with_all = [
        "figure4", "wav", "format", "curves", "checkpoint", "data", "audio", "zero_audio", "label", "eval_batch_size",
        "device",
    ])]
    pub through_training: Option<PathBuf>,
    /// With --through-training: the strip's steps, each the nearest recorded one (a step
    /// number or `last`), e.g. 0,200,last. [default: 5 recorded steps spread evenly, the first
    /// and the last among them]
    #[arg(long, value_name = "STEP,...", value_delimiter = ',', num_args = 1.., requires = "through_training")]
    pub steps: Vec<StepPick>,
    /// With --through-training: how long each frame of the animation shows, in milliseconds
    /// (the last one 3 times as long before it loops). [default: 400]
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u16).range(20..=20000), requires = "through_training")]
    pub frame_ms: Option<u16>,
}

/// `cmbert-tui compare`: runs side by side.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  cmbert-tui compare runs/zero runs/learned
  cmbert-tui compare runs/zero runs/seeds --out cmp.png --out cmp.md
  cmbert-tui compare runs/zero runs/learned --headless     (the table, as when not on a terminal)")]
pub struct CompareArgs {
    /// Run directories (train's --out; a checkpoint stands for its run). The directory of a
    /// `--seeds` run is one row: its seeds' mean, lowest and highest curves, mean ± std figures.
    #[arg(required = true, value_name = "RUN")]
    pub runs: Vec<PathBuf>,
    /// Write the comparison instead of showing it: FILE.png or FILE.svg (the curves), FILE.csv
    /// or FILE.md (the metrics table). Repeat for several files.
    #[arg(long, value_name = "FILE")]
    pub out: Vec<PathBuf>,
    /// Write the attention figure of the first two runs instead of showing it: FILE.png or
    /// FILE.svg (both runs' W_m on an utterance both recorded, and B minus A). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub attention_out: Vec<PathBuf>,
    /// The utterance of --attention-out (one both runs recorded); the first they share by default.
    #[arg(long, value_name = "SPLIT:INDEX", value_parser = parse_watch, requires = "attention_out")]
    pub utterance: Option<(Split, usize)>,
    /// Replace existing --out and --attention-out files.
    #[arg(long)]
    pub force: bool,
    /// Print the metrics table instead of opening the screen (as when stdout is not a terminal).
    #[arg(long)]
    pub headless: bool,
    /// Colour theme: dark, paper, colorblind, or a .toml file. `t` cycles in the app.
    #[arg(long, value_name = "NAME|FILE", default_value = "dark")]
    pub theme: String,
}

/// `cmbert-tui corpus`: write the built-in corpus.
#[derive(Debug, Args)]
pub struct CorpusArgs {
    /// Seed of the corpus (the same seed writes the same files).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory (created). A corpus already there (its corpus.json or speak.json) is
    /// replaced; data files of any other origin are not, without --force.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace data files in --out that no corpus wrote (train.tsv and the like).
    #[arg(long)]
    pub force: bool,
    /// Utterances in train, dev, test (CMU-MOSI's by default).
    #[arg(long, value_delimiter = ',', default_values_t = [1284, 229, 686], value_parser = in_range::<1, 1_000_000>)]
    pub sizes: Vec<usize>,
    /// Speak it with espeak-ng instead: --out gets train/dev/test.tsv with an id column,
    /// wavs/ and align/ (TextGrids), ready for `cmbert-tui features`. Needs espeak-ng
    /// (or its path in CMBERT_ESPEAK).
    #[arg(long)]
    pub speak: bool,
}

/// A count between `LO` and `HI`: clap's own range parser takes only fixed-width integers.
fn in_range<const LO: usize, const HI: usize>(text: &str) -> Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("expected a whole number from {LO} to {HI}"))?;
    if (LO..=HI).contains(&n) {
        Ok(n)
    } else {
        Err(format!("must be from {LO} to {HI}"))
    }
}

/// `test:12` for `train --watch` and `compare --utterance`.
fn parse_watch(s: &str) -> Result<(Split, usize), String> {
    let (split, index) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}` is not SPLIT:INDEX (e.g. test:12)"))?;
    let split = <Split as clap::ValueEnum>::from_str(split, true)
        .map_err(|_| format!("`{split}` is not a split (train, dev or test)"))?;
    let index = index
        .parse()
        .map_err(|_| format!("`{index}` is not an utterance index (0, 1, ...)"))?;
    Ok((split, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("cmbert-tui").chain(args.split_whitespace()))
    }

    /// What the command line accepts for `T`, in `--help` order.
    fn accepted<T: clap::ValueEnum>() -> Vec<String> {
        T::value_variants()
            .iter()
            .map(|v| {
                v.to_possible_value()
                    .expect("every value is named")
                    .get_name()
                    .to_string()
            })
            .collect()
    }

    /// Each value of `T` is typed as the domain prints it (`spelled`), and parses back.
    fn typed_as_printed<T: clap::ValueEnum + PartialEq + std::fmt::Debug>(spelled: impl Fn(&T) -> String) {
        for value in T::value_variants() {
            let name = spelled(value);
            assert_eq!(T::from_str(&name, false).as_ref(), Ok(value), "{name}");
        }
    }

    fn serde_name<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_value(value).unwrap().as_str().unwrap().to_string()
    }

    #[test]
    fn domain_values_are_typed_as_the_domain_prints_them() {
        assert_eq!(accepted::<ModelKind>(), ["cm-bert", "t-bert"]);
        assert_eq!(accepted::<ClsAudio>(), ["zero", "mean", "learned"]);
        assert_eq!(accepted::<Preset>(), ["paper", "scratch"]);
        assert_eq!(accepted::<Split>(), ["train", "dev", "test"]);
        assert_eq!(accepted::<ModelSize>(), ["minilm", "bert-base", "tiny"]);
        assert_eq!(accepted::<Format>(), ["svg", "png", "json", "csv"]);
        assert_eq!(accepted::<Matrix>(), ["alpha-t", "beta-a", "w-f", "w-m", "shift"]);
        assert_eq!(accepted::<Level>(), ["piece", "word"]);
        // What is printed (`--preset scratch` in a summary, a checkpoint's JSON) can be typed.
        typed_as_printed::<ModelKind>(|v| v.to_string());
        typed_as_printed::<ModelKind>(serde_name);
        typed_as_printed::<ClsAudio>(|v| v.to_string());
        typed_as_printed::<ClsAudio>(serde_name);
        typed_as_printed::<Preset>(|v| v.to_string());
        typed_as_printed::<Preset>(serde_name);
        typed_as_printed::<Split>(|v| v.to_string());
        typed_as_printed::<Split>(serde_name);
        typed_as_printed::<ModelSize>(|v| v.name().to_string());
        typed_as_printed::<Format>(|v| v.to_string());
        typed_as_printed::<Matrix>(|v| v.slug().to_string());
        typed_as_printed::<Matrix>(serde_name);
        typed_as_printed::<Level>(serde_name);
        assert_eq!(<Matrix as clap::ValueEnum>::value_variants(), Matrix::ALL);
        assert_eq!(<Split as clap::ValueEnum>::value_variants(), Split::ALL);
        assert_eq!(<Format as clap::ValueEnum>::value_variants(), Format::ALL);
        assert!(
            parse("export --checkpoint c --index 0 --left W-M").is_err(),
            "case matters"
        );
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// What `cmbert-tui ARGS` prints when clap refuses them.
    fn refusal(args: &str) -> String {
        let argv: Vec<OsString> = std::iter::once("cmbert-tui")
            .chain(args.split_whitespace())
            .map(OsString::from)
            .collect();
        let err = Cli::try_parse_from(&argv).unwrap_err();
        hint_subcommand(err, &argv).render().to_string()
    }

    #[test]
    fn an_option_without_its_subcommand_names_the_subcommand() {
        let text = refusal("--theme paper");
        assert!(text.contains("unexpected argument '--theme'"), "{text}");
        assert!(
            text.contains("options like --theme belong to a subcommand: cmbert-tui train --theme paper"),
            "{text}"
        );
        assert!(text.contains("also an option of export, open"), "{text}");
        assert!(refusal("--headless").contains("cmbert-tui train --headless"));
        assert!(refusal("--epochs=3").contains("cmbert-tui train --epochs=3"));
        // Given to a subcommand that lacks it, or taken by none: clap's message alone.
        assert!(!refusal("corpus --theme paper").contains("belong to a subcommand"));
        assert!(!refusal("--no-such-option").contains("belong to a subcommand"));
    }

    #[test]
    fn a_recording_or_a_dataset_but_not_both() {
        let export = parse("export --checkpoint c --wav a.wav --words a.TextGrid").unwrap();
        let Some(Command::Export(args)) = export.command else {
            panic!("export")
        };
        assert_eq!(args.recording.wav, [std::path::Path::new("a.wav")]);
        assert!(parse("export --checkpoint c --data d --index 3").is_ok());
        assert!(parse("export --checkpoint c --data d").is_err(), "which utterance?");
        assert!(parse("export --checkpoint c --wav a.wav --words w --index 0").is_err());
        assert!(parse("export --checkpoint c --wav a.wav --words w --data d").is_err());
        assert!(
            parse("export --checkpoint c --wav a.wav").is_err(),
            "--wav needs --words"
        );
        assert!(parse("open c --wav a.wav --words a.TextGrid").is_ok());
        assert!(parse("open c --data d").is_ok());
        assert!(parse("open c").is_ok(), "the data the checkpoint records");
        assert!(parse("open c --wav a.wav --words w --audio x.pkl").is_err());
        // A recording has no splits: a --split would be silently ignored.
        assert!(parse("open c --wav a.wav --words w --split dev").is_err());
        assert!(parse("export --checkpoint c --wav a.wav --words w --split dev").is_err());
        assert!(parse("open c --wav a.wav --words w --zero-audio").is_err());
        assert!(parse("eval --checkpoint c --audio a --zero-audio").is_err());
        assert!(parse("open c --audio a --zero-audio").is_err());
        assert!(parse("train --device cuda:1 --headless").is_ok());
        assert!(parse("train --device tpu").is_err());
    }

    /// A stress pair: `--wav A --words A --wav B --words B`, each timing file with the
    /// recording before it; counts that do not pair up are refused by `takes`, naming them.
    #[test]
    fn two_recordings_make_a_pair_in_order() {
        let takes = |args: &str| {
            let Some(Command::Open(open)) = parse(&format!("open c {args}")).unwrap().command else {
                panic!("open")
            };
            open.recording.takes()
        };
        let pair = takes("--wav a.wav --words a.TextGrid --wav b.wav --words b.TextGrid").unwrap();
        assert_eq!(
            pair,
            [
                Take {
                    wav: "a.wav".into(),
                    words: "a.TextGrid".into()
                },
                Take {
                    wav: "b.wav".into(),
                    words: "b.TextGrid".into()
                }
            ]
        );
        assert_eq!(takes("").unwrap(), []);
        let e = takes("--wav a.wav --words a.TextGrid --wav b.wav").unwrap_err();
        assert!(e.starts_with("2 --wav but 1 --words"), "{e}");
        let e = takes("--wav a --words a --wav b --words b --wav c --words c").unwrap_err();
        assert!(e.contains("3 recordings"), "{e}");
        assert!(parse("export --checkpoint c --wav a --words a --wav b --words b").is_ok());
        assert!(parse("open c --wav a --words a --wav b --words b --split dev").is_err());
    }
}
