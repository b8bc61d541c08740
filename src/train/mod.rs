//! Training: the engine (loop, events, checkpoints), optimiser, schedule, parameter groups,
//! evaluation and metrics.

pub mod config;
pub mod engine;
pub mod eval;
pub mod events;
pub mod groups;
pub mod history;
pub mod inspect;
pub mod metrics;
pub mod optim;
pub mod record;

pub use config::{derive_seed, Preset, RunSpec};
pub use engine::{AfterRun, Amend, Progress, TrainError, Trainer};
pub use eval::{attention_snapshot, evaluate, AttentionSnapshot, Evaluation};
pub use events::{CheckpointKind, Command, Event, RunSummary, Weights};
pub use groups::{group_for, GroupSettings};
pub use inspect::{Inspection, Inspector, KeptWeights, Watch};
pub use metrics::Metrics;
pub use optim::{BertAdam, Group, WarmupLinear};
pub use record::{EpochsChange, RecordError, Saved, TrainingRecord};
