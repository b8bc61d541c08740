//! cmbert-tui: train and explain Cross-Modal BERT (CM-BERT, ACM MM 2020).

pub mod model;
