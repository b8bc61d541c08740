//! `--device cpu|cuda|cuda:N`. CUDA needs a binary built with `--features cuda` (candle's
//! CUDA backend, which needs the CUDA toolkit at build time); the default build is CPU-only
//! and says so instead of failing obscurely.

use std::fmt;
use std::str::FromStr;

use candle_core::Device;

/// Where the model runs, as `--device` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    /// The CPU.
    #[default]
    Cpu,
    /// The CUDA GPU of this index (binaries built with `--features cuda`).
    Cuda(usize),
}

impl FromStr for DeviceSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Self::Cpu),
            "cuda" | "gpu" => Ok(Self::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Self::Cuda)
                .ok_or_else(|| format!("{s:?}: expected cpu, cuda or cuda:N (N the GPU's index)")),
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Why the device named by `--device` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// A GPU was asked of a binary built without CUDA.
    #[error("--device {0}: this binary was built without CUDA; rebuild with `cargo build --release --features cuda` (needs the CUDA toolkit), or use --device cpu")]
    NoCuda(DeviceSpec),
    /// The device could not be opened.
    #[error("--device {spec}: {source}")]
    Open {
        /// The device asked for.
        spec: DeviceSpec,
        /// Candle's reason.
        source: candle_core::Error,
    },
}

impl DeviceSpec {
    /// The candle device; an error when CUDA is asked of a CPU-only build or the GPU does not open.
    pub fn open(self) -> Result<Device, DeviceError> {
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda(_) if !candle_core::utils::cuda_is_available() => Err(DeviceError::NoCuda(self)),
            Self::Cuda(n) => Device::new_cuda(n).map_err(|source| DeviceError::Open { spec: self, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_cuda_indices() {
        assert_eq!("cpu".parse(), Ok(DeviceSpec::Cpu));
        assert_eq!("CUDA".parse(), Ok(DeviceSpec::Cuda(0)));
        assert_eq!("cuda:1".parse(), Ok(DeviceSpec::Cuda(1)));
        let err = "tpu".parse::<DeviceSpec>().unwrap_err();
        assert!(err.contains("expected cpu, cuda or cuda:N"), "{err}");
        assert!("cuda:x".parse::<DeviceSpec>().is_err());
        assert_eq!(DeviceSpec::Cuda(2).to_string(), "cuda:2");
    }

    #[test]
    fn cpu_opens_and_cuda_without_the_feature_says_how_to_get_it() {
        assert!(DeviceSpec::Cpu.open().unwrap().is_cpu());
        if !candle_core::utils::cuda_is_available() {
            let err = DeviceSpec::Cuda(0).open().unwrap_err().to_string();
            assert!(err.contains("--features cuda"), "{err}");
        }
    }
}
