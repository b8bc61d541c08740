//! CM-BERT and T-BERT in candle: encoder, fusion head, parameters.

pub mod bert;
pub mod bf16;
pub mod cmbert;
pub mod config;
mod fast_math;
pub mod fused;
pub mod fused_layer;
pub mod fusion;
pub mod gemm;
pub mod layer_kernels;
pub mod layers;
pub mod params;

pub use bert::{BertAttentions, BertModel, BertOutput};
pub use cmbert::{loss, CmBert, Inputs, ModelOutput};
pub use config::{BertConfig, ClsAudio, HeadConfig, ModelKind};
pub use fusion::FusionMatrices;
pub use layers::{DropoutRng, Mode};
pub use params::ParamStore;
