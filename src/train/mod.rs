//! Training: the engine (loop, events, checkpoints), optimiser, schedule, parameter groups,
//! evaluation and metrics.

pub mod attention_log;
pub mod config;
pub mod engine;
pub mod error;
pub mod eval;
pub mod events;
pub mod groups;
pub mod history;
pub mod inspect;
pub mod metrics;
pub mod optim;
pub mod protocol;
pub mod record;

pub use config::{derive_seed, Amend, OnDisk, Preset, Recording, RunSpec};
pub use engine::{AfterRun, Trainer};
pub use error::TrainError;
pub use eval::{attention_snapshot, evaluate, AttentionSnapshot, Evaluation};
pub use events::{Command, Event, EventSink, Inspection, RunSummary, Weights};
pub use groups::{group_for, GroupSettings};
pub use inspect::{Inspector, KeptWeights, Watch};
pub use metrics::{Metrics, MmsaMetrics};
pub use optim::{BertAdam, Group, WarmupLinear};
pub use record::{EpochsChange, Progress, RecordError, Saved, TrainingRecord};
