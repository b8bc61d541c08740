//! `cmbert-tui bench`: forward pass and full training step (forward, backward, BERT-Adam)
//! of a randomly initialised CM-BERT, batch 24 x length 50 by default, optionally against
//! PyTorch (benches/torch_bench.py) measured in the same invocation, alternating A/B.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};

use crate::data::{Batch, Encoded, Example};
use crate::model::{
    loss, BertAttentions, BertConfig, ClsAudio, CmBert, DropoutRng, HeadConfig, Mode, ModelKind, ParamStore,
};
use crate::train::{group_for, BertAdam, GroupSettings, WarmupLinear};

/// A BERT size to time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSize {
    /// all-MiniLM-L6-v2: 6 layers, hidden 384.
    Minilm,
    /// bert-base-uncased: 12 layers, hidden 768.
    BertBase,
    /// 2 layers, hidden 32 (smoke test).
    Tiny,
}

impl ModelSize {
    fn config(self) -> BertConfig {
        match self {
            Self::Minilm => BertConfig::minilm(),
            Self::BertBase => BertConfig::bert_base(),
            Self::Tiny => BertConfig::sized(30522, 32, 2, 4, 64),
        }
    }

    /// As the command line and the bench's table spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Minilm => "minilm",
            Self::BertBase => "bert-base",
            Self::Tiny => "tiny",
        }
    }
}

/// What `cmbert-tui bench` times and how.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Model sizes, in order.
    pub sizes: Vec<ModelSize>,
    /// Utterances per batch.
    pub batch: usize,
    /// Tokens per utterance.
    pub len: usize,
    /// Timed iterations per operation.
    pub iters: usize,
    /// Untimed iterations first.
    pub warmup: usize,
    /// Python interpreter with torch + transformers; `None` times only ours.
    pub torch_python: Option<PathBuf>,
    /// The PyTorch side of the bench (benches/torch_bench.py).
    pub torch_script: PathBuf,
    /// Threads for both sides.
    pub threads: usize,
}

/// Median seconds of one operation for both implementations.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    /// Model size name.
    pub size: &'static str,
    /// Operation timed: `forward`, or `train` (forward, backward, optimiser step).
    pub op: &'static str,
    /// Our median, seconds.
    pub ours_median_s: f64,
    /// PyTorch's median, seconds, when it was timed.
    pub torch_median_s: Option<f64>,
}

impl Row {
    /// Ours over PyTorch's time (below 1: ours is faster).
    pub fn ratio(&self) -> Option<f64> {
        self.torch_median_s.map(|t| self.ours_median_s / t)
    }
}

struct Ours {
    model: CmBert,
    optimizer: BertAdam,
    batch: Batch,
    rng: DropoutRng,
}

impl Ours {
    fn new(size: ModelSize, batch: usize, len: usize) -> Result<Self> {
        let cfg = size.config();
        let head = HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5);
        let store = ParamStore::new(HashMap::new(), 0, &Device::Cpu);
        let mut model = CmBert::load(store.var_builder(), &cfg, &head)?;
        // The paper recipe freezes the embeddings (as the PyTorch side does).
        model.bert.detach_embeddings();
        let settings = GroupSettings::default();
        let params = store
            .vars()
            .into_iter()
            .filter_map(|(n, v)| group_for(&n, head.model, &settings).map(|g| (n, v, g)))
            .collect();
        let optimizer = BertAdam::new(
            params,
            WarmupLinear {
                warmup: 0.1,
                t_total: 1000,
            },
            1.0,
        );
        let examples = synthetic_examples(batch, len, cfg.vocab_size);
        let refs: Vec<&Example> = examples.iter().collect();
        let batch = Batch::new(&refs, 5, &Device::Cpu)?;
        Ok(Self {
            model,
            optimizer,
            batch,
            rng: DropoutRng::new(0),
        })
    }

    fn forward(&self) -> Result<f64> {
        let start = Instant::now();
        let out = self
            .model
            .forward(&self.batch.inputs, Mode::Eval, BertAttentions::Skip)?;
        out.score.to_vec1::<f32>()?;
        Ok(start.elapsed().as_secs_f64())
    }

    fn train(&mut self) -> Result<f64> {
        let start = Instant::now();
        let out = self
            .model
            .forward(&self.batch.inputs, Mode::Train(&self.rng), BertAttentions::Skip)?;
        let grads = self.model.backward(&loss(&out.score, &self.batch.labels)?)?;
        self.optimizer.step(&grads)?;
        Ok(start.elapsed().as_secs_f64())
    }
}

/// Lengths spread over 10..=len like real utterances, random ids, random audio.
fn synthetic_examples(batch: usize, len: usize, vocab: usize) -> Vec<Example> {
    let audio = Tensor::randn(0f32, 1.0, (batch, len * 5), &Device::Cpu)
        .and_then(|t| t.to_vec2::<f32>())
        .unwrap_or_default();
    (0..batch)
        .map(|b| {
            let real = (10 + (b * 7) % len.saturating_sub(9).max(1)).min(len);
            let input_ids = (0..len)
                .map(|i| {
                    if i < real {
                        (5 + (b * 31 + i * 17) % (vocab - 5)) as u32
                    } else {
                        0
                    }
                })
                .collect();
            let attention_mask = (0..len).map(|i| if i < real { 1.0 } else { 0.0 }).collect();
            let encoded = Encoded {
                input_ids,
                attention_mask,
                tokens: vec![],
                token_words: vec![],
                words: vec![],
                truncated: false,
            };
            Example {
                text: String::new(),
                encoded,
                audio: audio.get(b).cloned().unwrap_or_else(|| vec![0.0; len * 5]).into(),
                label: 0.5,
                id: None,
            }
        })
        .collect()
}

struct Torch {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Torch {
    fn start(python: &PathBuf, script: &PathBuf, size: ModelSize, opts: &BenchOptions) -> Result<Self> {
        let mut child = Command::new(python)
            .arg(script)
            .args([
                "--size",
                size.name(),
                "--batch",
                &opts.batch.to_string(),
                "--len",
                &opts.len.to_string(),
            ])
            .args(["--threads", &opts.threads.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {} {}", python.display(), script.display()))?;
        let stdin = child.stdin.take().context("torch stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("torch stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        if line.trim() != "ready" {
            bail!(
                "{} did not start (is torch installed for {}?)",
                script.display(),
                python.display()
            );
        }
        Ok(Self { child, stdin, stdout })
    }

    fn run(&mut self, op: &str) -> Result<f64> {
        writeln!(self.stdin, "{op}")?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        line.trim()
            .parse()
            .with_context(|| format!("torch bench answered {line:?}"))
    }
}

impl Drop for Torch {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.wait();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Gives the other side's worker threads time to stop spinning before we time ours.
const SETTLE: Duration = Duration::from_millis(300);

/// Times every size in `opts`, alternating with PyTorch when asked; progress goes to `log`.
pub fn run(opts: &BenchOptions, log: &mut dyn Write) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for &size in &opts.sizes {
        let mut ours = Ours::new(size, opts.batch, opts.len)?;
        let mut torch = match &opts.torch_python {
            Some(python) => Some(Torch::start(python, &opts.torch_script, size, opts)?),
            None => None,
        };
        for op in ["forward", "train"] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for i in 0..opts.warmup + opts.iters {
                let t_ours = if op == "forward" {
                    ours.forward()?
                } else {
                    ours.train()?
                };
                let t_torch = match torch.as_mut() {
                    Some(t) => {
                        std::thread::sleep(SETTLE);
                        let s = t.run(op)?;
                        std::thread::sleep(SETTLE);
                        Some(s)
                    }
                    None => None,
                };
                if i >= opts.warmup {
                    a.push(t_ours);
                    b.extend(t_torch);
                }
                writeln!(
                    log,
                    "  {} {op} #{i}: ours {t_ours:.3} s{}",
                    size.name(),
                    t_torch.map(|t| format!(", torch {t:.3} s")).unwrap_or_default()
                )?;
            }
            rows.push(Row {
                size: size.name(),
                op,
                ours_median_s: median(a),
                torch_median_s: (!b.is_empty()).then(|| median(b)),
            });
        }
    }
    Ok(rows)
}

/// The rows as an aligned text table.
pub fn format_table(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<10} {:<8} {:>12} {:>14} {:>12}\n",
        "size", "op", "ours median", "torch median", "ours/torch"
    );
    for r in rows {
        let torch = r.torch_median_s.map_or("-".to_string(), |t| format!("{t:.3} s"));
        let ratio = r.ratio().map_or("-".to_string(), |x| format!("{x:.2}"));
        out += &format!(
            "{:<10} {:<8} {:>12} {:>14} {:>12}\n",
            r.size,
            r.op,
            format!("{:.3} s", r.ours_median_s),
            torch,
            ratio
        );
    }
    out
}
