//! The PyTorch side of `cmbert-tui bench`: benches/torch_bench.py as a child process, driven
//! line by line so that its timings alternate with ours, and its JSON lines read into types.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde::{Deserialize, Serialize};

/// A PyTorch configuration the script times (its `--configs` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TorchConfig {
    /// The paper's code: eager attention, the reference's per-tensor Python BertAdam.
    #[serde(rename = "paper")]
    Paper,
    /// `BertModel` with eager attention, `AdamW(foreach=True)`, inference_mode forward.
    #[serde(rename = "eager")]
    Eager,
    /// The same with scaled-dot-product attention.
    #[serde(rename = "sdpa")]
    Sdpa,
    /// `Eager` under `torch.autocast("cpu", dtype=torch.bfloat16)`.
    #[serde(rename = "eager-bf16")]
    EagerBf16,
    /// `Sdpa` under bf16 autocast.
    #[serde(rename = "sdpa-bf16")]
    SdpaBf16,
}

pub use crate::model::bf16::Precision;

impl TorchConfig {
    /// Every configuration, in the table's order.
    pub const ALL: [Self; 5] = [Self::Paper, Self::Eager, Self::Sdpa, Self::EagerBf16, Self::SdpaBf16];

    /// The configurations `bench --precision P` times: the float32 ones, and with bf16 also
    /// PyTorch's autocast.
    pub fn for_precision(precision: Precision) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|c| precision == Precision::Bf16 || c.precision() == Precision::F32)
            .collect()
    }

    /// As the script and the table spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Paper => "paper",
            Self::Eager => "eager",
            Self::Sdpa => "sdpa",
            Self::EagerBf16 => "eager-bf16",
            Self::SdpaBf16 => "sdpa-bf16",
        }
    }

    /// The arithmetic it uses.
    pub fn precision(self) -> Precision {
        match self {
            Self::EagerBf16 | Self::SdpaBf16 => Precision::Bf16,
            Self::Paper | Self::Eager | Self::Sdpa => Precision::F32,
        }
    }
}

/// What the script says of itself and the machine before its first timing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorchMachine {
    /// `torch.__version__`.
    pub torch: String,
    /// `transformers.__version__`.
    pub transformers: String,
    /// `torch.backends.cpu.get_cpu_capability()`: the ISA its kernels dispatch to (`AVX512`, `AVX2`, ...).
    pub cpu_capability: String,
    /// `torch.backends.mkl.is_available()`.
    pub mkl: bool,
    /// `torch.backends.mkldnn.is_available()` (oneDNN).
    pub mkldnn: bool,
    /// Whether oneDNN has bf16 kernels for this CPU (`None`: this torch cannot say).
    pub mkldnn_bf16: Option<bool>,
    /// `torch.get_num_threads()` after the script set it.
    pub threads: usize,
    /// The configurations it will time, in order.
    pub configs: Vec<TorchConfig>,
}

/// The script's first line.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Hello {
    Ready {
        #[allow(dead_code)] // present so that a line without it is not read as ready
        ready: bool,
        #[serde(flatten)]
        machine: TorchMachine,
    },
    Failed {
        error: String,
    },
}

/// The script's answer to one `OP CONFIG` line.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Answer {
    Seconds { seconds: f64 },
    Failed { error: String },
}

/// Why the PyTorch side could not be used; one line each.
#[derive(Debug, thiserror::Error)]
pub enum TorchError {
    /// The interpreter could not be started at all.
    #[error("cannot run {python} (the --torch interpreter): {source}")]
    Spawn {
        /// The interpreter.
        python: PathBuf,
        /// Why it could not start.
        #[source]
        source: std::io::Error,
    },
    /// The script said why it cannot run (torch missing, a bad configuration).
    #[error("{script} under {python}: {reason}")]
    Refused {
        /// The script.
        script: PathBuf,
        /// The interpreter.
        python: PathBuf,
        /// The script's words.
        reason: String,
    },
    /// The script ended or wrote something else than its protocol.
    #[error(
        "{script} under {python} did not answer as benches/torch_bench.py does ({what}); is it that script, and \
         do `{python} -c 'import torch, transformers'` succeed?"
    )]
    Protocol {
        /// The script.
        script: PathBuf,
        /// The interpreter.
        python: PathBuf,
        /// What it did instead.
        what: String,
    },
}

/// Reads the script's first line: the machine, or why it cannot run.
pub fn parse_hello(line: &str) -> Result<TorchMachine, String> {
    match serde_json::from_str::<Hello>(line.trim()) {
        Ok(Hello::Ready { machine, .. }) => Ok(machine),
        Ok(Hello::Failed { error }) => Err(error),
        Err(_) if line.trim().is_empty() => Err("it ended without a word".into()),
        Err(_) => Err(format!("its first line was {:?}", truncated(line.trim()))),
    }
}

/// Reads the script's answer to one timing request: seconds, or its error.
pub fn parse_answer(line: &str) -> Result<f64, String> {
    match serde_json::from_str::<Answer>(line.trim()) {
        Ok(Answer::Seconds { seconds }) if seconds.is_finite() && seconds >= 0.0 => Ok(seconds),
        Ok(Answer::Seconds { seconds }) => Err(format!("it answered {seconds} seconds")),
        Ok(Answer::Failed { error }) => Err(error),
        Err(_) if line.trim().is_empty() => Err("it ended without an answer".into()),
        Err(_) => Err(format!("it answered {:?}", truncated(line.trim()))),
    }
}

fn truncated(s: &str) -> String {
    s.chars().take(120).collect()
}

/// The running script for one model size.
pub struct Torch {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    python: PathBuf,
    script: PathBuf,
    /// What it said of itself.
    pub machine: TorchMachine,
}

/// How to start the script for one size.
pub struct TorchStart<'a> {
    /// The interpreter (`--torch`).
    pub python: &'a Path,
    /// benches/torch_bench.py.
    pub script: &'a Path,
    /// The size's name (`--size`).
    pub size: &'a str,
    /// A pre-trained BERT directory for the encoder, else random weights.
    pub weights: Option<&'a Path>,
    /// Utterances per batch.
    pub batch: usize,
    /// Tokens per utterance.
    pub len: usize,
    /// Threads (`torch.set_num_threads`).
    pub threads: usize,
    /// The configurations to time.
    pub configs: &'a [TorchConfig],
}

impl Torch {
    /// Starts the script and reads its first line.
    pub fn start(s: &TorchStart<'_>) -> Result<Self, TorchError> {
        let configs: Vec<&str> = s.configs.iter().map(|c| c.name()).collect();
        let mut cmd = Command::new(s.python);
        cmd.arg(s.script)
            .args(["--size", s.size, "--configs", &configs.join(",")])
            .args(["--batch", &s.batch.to_string(), "--len", &s.len.to_string()])
            .args(["--threads", &s.threads.to_string()]);
        if let Some(w) = s.weights {
            cmd.arg("--weights").arg(w);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|source| TorchError::Spawn {
                python: s.python.to_path_buf(),
                source,
            })?;
        let (python, script) = (s.python.to_path_buf(), s.script.to_path_buf());
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            unreachable!("both were piped above")
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let hello = read.map_err(|e| e.to_string()).and_then(|_| parse_hello(&line));
        let machine = match hello {
            Ok(m) => m,
            Err(reason) => {
                let _ = child.kill();
                let _ = child.wait();
                // The script's own words (torch missing) are clear; anything else is not the script.
                return Err(if serde_json::from_str::<Hello>(line.trim()).is_ok() {
                    TorchError::Refused { script, python, reason }
                } else {
                    TorchError::Protocol {
                        script,
                        python,
                        what: reason,
                    }
                });
            }
        };
        if machine.configs != s.configs {
            return Err(TorchError::Protocol {
                script,
                python,
                what: format!("it will time {:?}, asked for {:?}", machine.configs, s.configs),
            });
        }
        Ok(Self {
            child,
            stdin,
            stdout,
            python,
            script,
            machine,
        })
    }

    /// Runs `op` (`forward` or `train`) once in `config`: seconds.
    pub fn run(&mut self, op: &str, config: TorchConfig) -> Result<f64, TorchError> {
        let mut line = String::new();
        let answer = writeln!(self.stdin, "{op} {}", config.name())
            .and_then(|()| self.stdin.flush())
            .and_then(|()| self.stdout.read_line(&mut line))
            .map_err(|e| e.to_string())
            .and_then(|_| parse_answer(&line));
        answer.map_err(|reason| TorchError::Refused {
            script: self.script.clone(),
            python: self.python.clone(),
            reason: format!("{op} {}: {reason}", config.name()),
        })
    }
}

impl Drop for Torch {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The lines below are what benches/torch_bench.py printed here (torch 2.15, an AMD EPYC).
    const READY: &str = r#"{"ready": true, "configs": ["paper", "eager", "sdpa", "eager-bf16", "sdpa-bf16"], "torch": "2.15.0+cu132", "transformers": "5.24.0", "cpu_capability": "AVX512", "mkl": true, "mkldnn": true, "mkldnn_bf16": true, "threads": 2}"#;

    #[test]
    fn the_first_line_reads_into_the_machine() {
        let m = parse_hello(READY).unwrap();
        assert_eq!(m.configs, TorchConfig::ALL.to_vec());
        assert_eq!(m.cpu_capability, "AVX512");
        assert_eq!((m.mkl, m.mkldnn, m.mkldnn_bf16, m.threads), (true, true, Some(true), 2));
        assert_eq!(m.torch, "2.15.0+cu132");
    }

    #[test]
    fn a_script_without_torch_is_its_own_one_line_reason() {
        let line = r#"{"error": "No module named 'torch' (install torch and transformers for /usr/bin/python3)"}"#;
        assert_eq!(
            parse_hello(line).unwrap_err(),
            "No module named 'torch' (install torch and transformers for /usr/bin/python3)"
        );
        assert_eq!(parse_hello("").unwrap_err(), "it ended without a word");
        assert!(parse_hello("ready\n").unwrap_err().contains("\"ready\""));
        // A ready line without the machine is not ready.
        assert!(parse_hello(r#"{"ready": true}"#).is_err());
        // An unknown configuration is not silently dropped.
        assert!(parse_hello(&READY.replace("\"sdpa\"", "\"flash\"")).is_err());
    }

    #[test]
    fn answers_are_seconds_or_the_scripts_error() {
        assert_eq!(parse_answer("{\"seconds\": 0.25}\n"), Ok(0.25));
        assert_eq!(
            parse_answer(r#"{"error": "train sdpa: out of memory"}"#).unwrap_err(),
            "train sdpa: out of memory"
        );
        assert!(parse_answer(r#"{"seconds": -1.0}"#).is_err());
        assert!(parse_answer("0.25").unwrap_err().contains("0.25"));
        assert_eq!(parse_answer("").unwrap_err(), "it ended without an answer");
    }

    #[test]
    fn bf16_adds_the_autocast_configurations() {
        assert_eq!(
            TorchConfig::for_precision(Precision::F32),
            [TorchConfig::Paper, TorchConfig::Eager, TorchConfig::Sdpa]
        );
        assert_eq!(TorchConfig::for_precision(Precision::Bf16), TorchConfig::ALL.to_vec());
        // The names the script takes are the names serde reads back.
        for c in TorchConfig::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.name()));
        }
    }
}
