//! `cmbert-tui bench`: forward pass and full training step (forward, backward, BERT-Adam)
//! of a randomly initialised CM-BERT, batch 24 x length 50 by default, optionally against
//! PyTorch (benches/torch_bench.py) measured in the same invocation, alternating A/B.

mod report;
mod torch;

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use candle_core::{Device, Tensor};

pub use report::{cpu_name, format_report, Anchor, OursIsa, Report, Row, TorchTiming};
pub use torch::{parse_answer, parse_hello, Precision, TorchConfig, TorchError, TorchMachine};
use torch::{Torch, TorchStart};

use crate::data::{Batch, Encoded, Example};
use crate::model::bf16::Products;
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
    /// With `Bf16`, ours is timed with bf16 products too (where the CPU has AVX512-BF16),
    /// and PyTorch's bf16 autocast.
    pub precision: Precision,
    /// all-MiniLM-L6-v2's directory: MiniLM loads its weights on both sides (else random).
    pub minilm_weights: Option<PathBuf>,
}

struct Ours {
    model: CmBert,
    optimizer: BertAdam,
    batch: Batch,
    rng: DropoutRng,
}

impl Ours {
    fn new(size: ModelSize, batch: usize, len: usize, weights: Option<&PathBuf>) -> Result<Self> {
        let (cfg, tensors) = match weights {
            // The encoder only, as `train` takes it: the head is new.
            Some(dir) => {
                let ckpt = crate::checkpoint::Checkpoint::load(dir, &Device::Cpu)?;
                let tensors = ckpt
                    .tensors
                    .into_iter()
                    .filter(|(k, _)| k.starts_with("bert."))
                    .collect();
                (ckpt.bert, tensors)
            }
            None => (size.config(), HashMap::new()),
        };
        let head = HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5);
        let store = ParamStore::new(tensors, 0, &Device::Cpu);
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

    fn forward(&mut self, products: Products) -> Result<f64> {
        self.model.bert.set_products(products);
        let start = Instant::now();
        let out = self
            .model
            .forward(&self.batch.inputs, Mode::Infer, BertAttentions::Skip)?;
        out.score.to_vec1::<f32>()?;
        Ok(start.elapsed().as_secs_f64())
    }

    fn train(&mut self, products: Products) -> Result<f64> {
        self.model.bert.set_products(products);
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
                encoded: encoded.into(),
                audio: audio.get(b).cloned().unwrap_or_else(|| vec![0.0; len * 5]).into(),
                label: 0.5,
                id: None,
            }
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Gives the other side's worker threads time to stop spinning before we time ours.
const SETTLE: Duration = Duration::from_millis(300);

/// Times every size in `opts`, alternating with each PyTorch configuration when asked;
/// progress goes to `log`.
pub fn run(opts: &BenchOptions, log: &mut dyn Write) -> Result<Report> {
    let configs = TorchConfig::for_precision(opts.precision);
    // Our bf16 products, timed after our f32 ones in every round, where the CPU runs them.
    let bf16 = match Products::for_precision(opts.precision) {
        Products::F32 => None,
        products => Some(products),
    };
    let mut rows = Vec::new();
    let mut machine = None;
    for &size in &opts.sizes {
        let weights = opts.minilm_weights.as_ref().filter(|_| size == ModelSize::Minilm);
        // PyTorch first: a python without torch fails before minutes of our timings.
        let mut torch = match &opts.torch_python {
            Some(python) => Some(Torch::start(&TorchStart {
                python,
                script: &opts.torch_script,
                size: size.name(),
                weights: weights.map(PathBuf::as_path),
                batch: opts.batch,
                len: opts.len,
                threads: opts.threads,
                configs: &configs,
            })?),
            None => None,
        };
        let mut ours = Ours::new(size, opts.batch, opts.len, weights)
            .with_context(|| format!("cannot build our {} model", size.name()))?;
        for op in ["forward", "train"] {
            let mut a = Vec::new();
            let mut a_bf16 = Vec::new();
            let mut b: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
            for i in 0..opts.warmup + opts.iters {
                let mut time = |products| {
                    if op == "forward" {
                        ours.forward(products)
                    } else {
                        ours.train(products)
                    }
                };
                let t_ours = time(Products::F32)?;
                let mut line = format!("  {} {op} #{i}: ours {t_ours:.3} s", size.name());
                if let Some(products) = bf16 {
                    let t = time(products)?;
                    line += &format!(", ours-bf16 {t:.3} s");
                    if i >= opts.warmup {
                        a_bf16.push(t);
                    }
                }
                if let Some(t) = torch.as_mut() {
                    for (c, times) in configs.iter().zip(&mut b) {
                        std::thread::sleep(SETTLE);
                        let s = t.run(op, *c)?;
                        line += &format!(", {} {s:.3} s", c.name());
                        if i >= opts.warmup {
                            times.push(s);
                        }
                    }
                    std::thread::sleep(SETTLE);
                }
                if i >= opts.warmup {
                    a.push(t_ours);
                }
                writeln!(log, "{line}")?;
            }
            let timings = configs
                .iter()
                .zip(b)
                .filter(|(_, times)| !times.is_empty())
                .map(|(&config, times)| TorchTiming {
                    config,
                    median_s: median(times),
                })
                .collect();
            let ours_bf16 = (!a_bf16.is_empty()).then(|| median(a_bf16));
            rows.push(Row::new(size.name(), op, median(a), ours_bf16, timings));
        }
        machine = machine.or(torch.map(|t| t.machine.clone()));
    }
    Ok(Report {
        cpu: report::cpu_name(),
        ours: OursIsa {
            bf16: bf16.and_then(|p| match p {
                Products::Bf16(kernel) => Some(kernel.name()),
                Products::F32 => None,
            }),
            ..OursIsa::detect()
        },
        torch: machine,
        threads: opts.threads,
        batch: opts.batch,
        len: opts.len,
        iters: opts.iters,
        precision: opts.precision,
        minilm_weights: opts
            .minilm_weights
            .as_ref()
            .map_or("random".to_string(), |d| d.display().to_string()),
        rows,
    })
}
