//! cmbert-tui: train and explain Cross-Modal BERT (CM-BERT, ACM MM 2020).

pub mod model;
pub mod checkpoint;
pub mod data;
pub mod train;
pub mod bench;
pub mod cli;
