//! What `cmbert-tui bench` reports: medians per size and operation for ours and each PyTorch
//! configuration, ratios against the paper's code and against the *best* PyTorch (float32,
//! and bf16 autocast when timed), and the machine: the CPU and the instruction sets each
//! side dispatched to (docs/BENCHMARKS.md, "Speed against PyTorch").

use serde::Serialize;

use super::torch::{Precision, TorchConfig, TorchMachine};

/// One PyTorch configuration's median.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TorchTiming {
    /// The configuration.
    pub config: TorchConfig,
    /// Its median, seconds.
    pub median_s: f64,
}

/// A PyTorch median that ours is measured against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anchor {
    /// Which configuration it is (for a best: the fastest of its precision).
    pub config: TorchConfig,
    /// Its median, seconds.
    pub median_s: f64,
    /// Ours over it (below 1: ours is faster).
    pub ratio: f64,
}

/// Medians of one operation at one size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Model size name.
    pub size: &'static str,
    /// Operation timed: `forward`, or `train` (forward, backward, optimiser step).
    pub op: &'static str,
    /// Our median with f32 products, seconds.
    pub ours_median_s: f64,
    /// Our median with bf16 products, seconds, when timed (`--precision bf16` on a CPU with
    /// AVX512-BF16).
    pub ours_bf16_s: Option<f64>,
    /// Every PyTorch configuration timed, in the order timed.
    pub torch: Vec<TorchTiming>,
    /// The paper's code.
    pub paper: Option<Anchor>,
    /// The fastest float32 configuration (the paper's code included).
    pub best_f32: Option<Anchor>,
    /// The fastest bf16 autocast configuration.
    pub best_bf16: Option<Anchor>,
}

impl Row {
    /// A row with its anchors worked out from the medians: float32 PyTorch against our f32
    /// median, bf16 autocast against our bf16 one where it was timed (else the f32 one).
    pub fn new(
        size: &'static str,
        op: &'static str,
        ours_median_s: f64,
        ours_bf16_s: Option<f64>,
        torch: Vec<TorchTiming>,
    ) -> Self {
        let anchor = |t: &TorchTiming| {
            let ours = match t.config.precision() {
                Precision::Bf16 => ours_bf16_s.unwrap_or(ours_median_s),
                Precision::F32 => ours_median_s,
            };
            Anchor {
                config: t.config,
                median_s: t.median_s,
                ratio: ours / t.median_s,
            }
        };
        let best = |p: Precision| {
            torch
                .iter()
                .filter(|t| t.config.precision() == p)
                .min_by(|a, b| a.median_s.total_cmp(&b.median_s))
                .map(anchor)
        };
        Self {
            size,
            op,
            ours_median_s,
            ours_bf16_s,
            paper: torch.iter().find(|t| t.config == TorchConfig::Paper).map(anchor),
            best_f32: best(Precision::F32),
            best_bf16: best(Precision::Bf16),
            torch,
        }
    }

    fn median_of(&self, config: TorchConfig) -> Option<f64> {
        self.torch.iter().find(|t| t.config == config).map(|t| t.median_s)
    }
}

/// What our side dispatches to on this CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OursIsa {
    /// The `gemm` crate's kernels (built with `x86-v4`), picked at run time as it picks them:
    /// `x86-v4` (AVX-512 F/BW/CD/DQ/VL), `x86-v3` (AVX2 + FMA), or `baseline`.
    pub gemm: &'static str,
    /// The relevant instruction-set extensions the CPU reports (detected at run time).
    pub detected: Vec<&'static str>,
    /// The kernel of our bf16 products when they were timed (`--precision bf16` where the
    /// CPU has AVX512-BF16); `None`: f32 products only.
    pub bf16: Option<&'static str>,
}

impl OursIsa {
    /// This CPU.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            let flags = [
                ("avx2", has!("avx2")),
                ("fma", has!("fma")),
                ("avx512f", has!("avx512f")),
                ("avx512bw", has!("avx512bw")),
                ("avx512cd", has!("avx512cd")),
                ("avx512dq", has!("avx512dq")),
                ("avx512vl", has!("avx512vl")),
                ("avx512bf16", has!("avx512bf16")),
                // AMX detection is not stable in std: read the kernel's flags.
                ("amx_bf16", cpu_flag("amx_bf16")),
            ];
            let on = |n: &str| flags.iter().any(|&(f, v)| f == n && v);
            let gemm = if ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "avx2", "fma"]
                .iter()
                .all(|f| on(f))
            {
                "x86-v4 (AVX-512)"
            } else if on("avx2") && on("fma") {
                "x86-v3 (AVX2 + FMA)"
            } else {
                "baseline"
            };
            Self {
                gemm,
                detected: flags.into_iter().filter(|&(_, v)| v).map(|(f, _)| f).collect(),
                bf16: None,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Self {
            gemm: "baseline",
            detected: Vec::new(),
            bf16: None,
        }
    }
}

/// The CPU's model name, with its family and model numbers where the kernel gives them (a
/// virtual machine may name only the vendor: "AMD EPYC").
pub fn cpu_name() -> String {
    let name = crate::train::history::Machine::this("cpu").cpu;
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    match (field("cpu family"), field("model")) {
        (Some(family), Some(model)) => format!("{name} (family {family}, model {model})"),
        _ => name,
    }
}

#[cfg(target_arch = "x86_64")]
fn cpu_flag(flag: &str) -> bool {
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|text| {
        text.lines()
            .find(|l| l.starts_with("flags"))
            .is_some_and(|l| l.split_whitespace().any(|f| f == flag))
    })
}

/// The whole report: the machine, the settings, the rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The CPU's model name (`/proc/cpuinfo`).
    pub cpu: String,
    /// What ours dispatched to.
    pub ours: OursIsa,
    /// What PyTorch said of itself, when it was timed.
    pub torch: Option<TorchMachine>,
    /// Threads for both sides.
    pub threads: usize,
    /// Utterances per batch.
    pub batch: usize,
    /// Tokens per utterance.
    pub len: usize,
    /// Timed iterations per operation and side (after the warm-up).
    pub iters: usize,
    /// `--precision`: with bf16, PyTorch's autocast is timed too.
    pub precision: Precision,
    /// Where the encoder's weights came from for MiniLM (`random` unless `--minilm DIR`).
    pub minilm_weights: String,
    /// One per size and operation.
    pub rows: Vec<Row>,
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn secs(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |t| format!("{t:.3}"))
}

fn ratio(a: &Option<Anchor>) -> String {
    a.as_ref().map_or("-".to_string(), |a| format!("{:.2}", a.ratio))
}

/// The report as text: the machine, the medians (seconds), then the ratios.
pub fn format_report(r: &Report) -> String {
    let mut out = format!("CPU: {}\n", r.cpu);
    let products = match (r.ours.bf16, r.precision) {
        (Some(kernel), _) => format!("float32 and bf16 products (bf16 kernel {kernel})"),
        (None, Precision::Bf16) => "float32 (no AVX512-BF16 here: --precision bf16 runs our products in f32)".into(),
        (None, Precision::F32) => "float32".into(),
    };
    out += &format!(
        "ours: {products}, gemm kernels {}; CPU reports {}\n",
        r.ours.gemm,
        if r.ours.detected.is_empty() {
            "none of avx2/fma/avx512/amx".to_string()
        } else {
            r.ours.detected.join(" ")
        }
    );
    if let Some(t) = &r.torch {
        out += &format!(
            "PyTorch {} (transformers {}): cpu capability {}, MKL {}, oneDNN {}{}, {} threads\n",
            t.torch,
            t.transformers,
            t.cpu_capability,
            yes(t.mkl),
            yes(t.mkldnn),
            t.mkldnn_bf16.map_or(String::new(), |b| format!(" (bf16 {})", yes(b))),
            t.threads
        );
    }
    out += &format!(
        "batch {} x {}, {} threads, medians of {} alternating iterations, MiniLM weights: {}\n\n",
        r.batch, r.len, r.threads, r.iters, r.minilm_weights
    );
    let configs: Vec<TorchConfig> = TorchConfig::ALL
        .into_iter()
        .filter(|c| r.rows.iter().any(|row| row.median_of(*c).is_some()))
        .collect();
    let bf16 = r.rows.iter().any(|row| row.ours_bf16_s.is_some());
    out += &format!("{:<10} {:<8} {:>8}", "size", "op", "ours");
    if bf16 {
        out += &format!(" {:>9}", "ours-bf16");
    }
    for c in &configs {
        out += &format!(" {:>10}", c.name());
    }
    out += "  (median seconds)\n";
    for row in &r.rows {
        out += &format!("{:<10} {:<8} {:>8.3}", row.size, row.op, row.ours_median_s);
        if bf16 {
            out += &format!(" {:>9}", secs(row.ours_bf16_s));
        }
        for c in &configs {
            out += &format!(" {:>10}", secs(row.median_of(*c)));
        }
        out += "\n";
    }
    if bf16 {
        out += "\nours bf16 / ours f32:";
        for row in &r.rows {
            if let Some(b) = row.ours_bf16_s {
                out += &format!(" {} {} {:.2};", row.size, row.op, b / row.ours_median_s);
            }
        }
        out += "\n";
    }
    if configs.is_empty() {
        return out;
    }
    out += &format!(
        "\n{:<10} {:<8} {:>10} {:>16} {:>14} {:>16} {:>15}\n",
        "size", "op", "ours/paper", "best f32", "ours/best f32", "best bf16", "ours/best bf16"
    );
    let which = |a: &Option<Anchor>| {
        a.as_ref()
            .map_or("-".to_string(), |a| format!("{} {:.3}", a.config.name(), a.median_s))
    };
    for row in &r.rows {
        out += &format!(
            "{:<10} {:<8} {:>10} {:>16} {:>14} {:>16} {:>15}\n",
            row.size,
            row.op,
            ratio(&row.paper),
            which(&row.best_f32),
            ratio(&row.best_f32),
            which(&row.best_bf16),
            ratio(&row.best_bf16)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(config: TorchConfig, median_s: f64) -> TorchTiming {
        TorchTiming { config, median_s }
    }

    #[test]
    fn the_best_is_the_fastest_of_its_precision_and_ratios_are_ours_over_it() {
        let row = Row::new(
            "minilm",
            "train",
            0.6,
            None,
            vec![
                timing(TorchConfig::Paper, 0.8),
                timing(TorchConfig::Eager, 0.5),
                timing(TorchConfig::Sdpa, 0.75),
                timing(TorchConfig::EagerBf16, 0.4),
                timing(TorchConfig::SdpaBf16, 0.3),
            ],
        );
        let best = row.best_f32.as_ref().unwrap();
        assert_eq!((best.config, best.median_s), (TorchConfig::Eager, 0.5));
        assert!((best.ratio - 1.2).abs() < 1e-12);
        let bf16 = row.best_bf16.as_ref().unwrap();
        assert_eq!(bf16.config, TorchConfig::SdpaBf16);
        assert!((bf16.ratio - 2.0).abs() < 1e-12);
        assert!((row.paper.as_ref().unwrap().ratio - 0.75).abs() < 1e-12);
    }

    #[test]
    fn the_papers_code_can_be_the_best_and_bf16_is_absent_unless_timed() {
        let row = Row::new(
            "bert-base",
            "forward",
            1.0,
            None,
            vec![timing(TorchConfig::Paper, 0.9), timing(TorchConfig::Sdpa, 0.95)],
        );
        assert_eq!(row.best_f32.as_ref().unwrap().config, TorchConfig::Paper);
        assert_eq!(row.best_bf16, None);
        let alone = Row::new("tiny", "forward", 1.0, None, vec![]);
        assert_eq!((alone.paper, alone.best_f32, alone.best_bf16), (None, None, None));
    }

    fn report(rows: Vec<Row>, torch: Option<TorchMachine>) -> Report {
        Report {
            cpu: "AMD EPYC 9554 64-Core Processor".into(),
            ours: OursIsa {
                gemm: "x86-v4 (AVX-512)",
                detected: vec!["avx2", "fma", "avx512f", "avx512bf16"],
                bf16: None,
            },
            torch,
            threads: 2,
            batch: 24,
            len: 50,
            iters: 7,
            precision: Precision::Bf16,
            minilm_weights: "random".into(),
            rows,
        }
    }

    #[test]
    fn the_text_names_the_cpu_both_sides_isa_and_the_best_configuration() {
        let machine = TorchMachine {
            torch: "2.15.0".into(),
            transformers: "5.24.0".into(),
            cpu_capability: "AVX512".into(),
            mkl: true,
            mkldnn: true,
            mkldnn_bf16: Some(true),
            threads: 2,
            configs: TorchConfig::ALL.to_vec(),
        };
        let rows = vec![Row::new(
            "minilm",
            "forward",
            0.2,
            None,
            vec![
                timing(TorchConfig::Paper, 0.22),
                timing(TorchConfig::Eager, 0.21),
                timing(TorchConfig::Sdpa, 0.16),
                timing(TorchConfig::EagerBf16, 0.1),
                timing(TorchConfig::SdpaBf16, 0.08),
            ],
        )];
        let text = format_report(&report(rows, Some(machine)));
        assert!(text.starts_with("CPU: AMD EPYC 9554 64-Core Processor\n"), "{text}");
        assert!(
            text.contains("gemm kernels x86-v4 (AVX-512); CPU reports avx2 fma avx512f avx512bf16"),
            "{text}"
        );
        assert!(
            text.contains("cpu capability AVX512, MKL yes, oneDNN yes (bf16 yes), 2 threads"),
            "{text}"
        );
        assert!(text.contains("no AVX512-BF16 here"), "{text}");
        let ratios = text.lines().last().unwrap();
        let cells: Vec<&str> = ratios.split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "minilm",
                "forward",
                "0.91",
                "sdpa",
                "0.160",
                "1.25",
                "sdpa-bf16",
                "0.080",
                "2.50"
            ],
            "{text}"
        );
    }

    #[test]
    fn without_torch_the_text_is_ours_alone() {
        let text = format_report(&report(vec![Row::new("tiny", "train", 0.05, None, vec![])], None));
        assert!(!text.contains("PyTorch"), "{text}");
        assert!(!text.contains("best f32"), "{text}");
        let last: Vec<&str> = text.lines().last().unwrap().split_whitespace().collect();
        assert_eq!(last, ["tiny", "train", "0.050"], "{text}");
    }

    #[test]
    fn our_bf16_median_is_measured_against_autocast_and_our_f32_against_float32() {
        let torch = vec![timing(TorchConfig::Sdpa, 0.5), timing(TorchConfig::SdpaBf16, 0.2)];
        let row = Row::new("minilm", "forward", 0.4, Some(0.25), torch);
        assert!((row.best_f32.as_ref().unwrap().ratio - 0.8).abs() < 1e-12);
        assert!((row.best_bf16.as_ref().unwrap().ratio - 1.25).abs() < 1e-12);
        let mut r = report(vec![row], None);
        r.ours.bf16 = Some("AVX512-BF16 (vdpbf16ps)");
        let text = format_report(&r);
        assert!(
            text.contains("float32 and bf16 products (bf16 kernel AVX512-BF16 (vdpbf16ps))"),
            "{text}"
        );
        assert!(text.contains("ours bf16 / ours f32: minilm forward 0.62;"), "{text}");
    }
}
