//! The terminal application: a training dashboard and an attention explorer. State is fed
//! by the worker's events (`state`, `browser`, `explorer`); widgets only read it; `app`
//! maps input to state changes and worker commands; `terminal` runs the loop.

pub mod app;
mod attention_screen;
pub mod browser;
pub mod compare;
pub mod compare_attention;
pub mod explorer;
pub mod heatmap;
mod help;
mod layout;
pub mod loss;
pub mod metrics;
pub mod pair;
pub mod session;
pub mod state;
pub mod status;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod timeline;
mod training_screen;

pub use app::{Activity, App, Input, Request, Screen};
pub use browser::Browser;
pub use loss::LossChart;
pub use metrics::MetricsTable;
pub use state::{LossHistory, ModelInfo, Record, RunInfo, RunState, RunStatus, SavedCheckpoint, Scroll};
pub use status::StatusPanel;
pub use theme::Theme;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_open;
#[cfg(test)]
mod tests_weights;
