//! Data: tokenisation, alignment and batching.

pub mod batch;
pub mod pickle;
pub mod tokenize;

pub use batch::{Batch, Example};
pub use tokenize::{Encoded, TextEncoder, TokenizeError, DEFAULT_MAX_LEN};
