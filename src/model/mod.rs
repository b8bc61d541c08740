//! CM-BERT and T-BERT in candle: encoder, fusion head, parameters.

pub mod bert;
pub mod cmbert;
pub mod config;
mod fast_math;
pub mod fused;
pub mod fused_layer;
pub mod fusion;
mod gemm;
mod layer_kernels;
pub mod layers;
pub mod params;

pub use bert::{BertAttentions, BertModel, BertOutput};
pub use cmbert::{loss, CmBert, Inputs, ModelOutput};
pub use config::{BertConfig, ClsAudio, HeadConfig, ModelKind};
pub use fusion::FusionMatrices;
pub use layers::{DropoutRng, Mode};
pub use params::ParamStore;
