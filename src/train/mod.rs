//! Training: optimiser, schedule, parameter groups.

pub mod groups;
pub mod optim;

pub use groups::{group_for, GroupSettings};
pub use optim::{BertAdam, Group, WarmupLinear};
