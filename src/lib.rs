//! cmbert-tui: train and explain Cross-Modal BERT (CM-BERT, ACM MM 2020).

pub mod acoustic;
pub mod attention;
pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod colormap;
pub mod commands;
pub mod compare;
pub mod corpus;
pub mod data;
pub mod device;
pub mod export;
pub mod figure4;
pub mod file_error;
pub mod fsutil;
pub mod hub;
pub mod model;
pub mod train;
pub mod ui;
pub mod worker;
