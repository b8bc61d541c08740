//! Data: text splits, audio features, tokenisation, alignment and batching.

pub mod audio;
pub mod batch;
pub mod dataset;
pub mod error;
pub mod mmsa;
pub mod packed;
pub mod pickle;
pub mod tokenize;
pub mod tsv;

pub use audio::{load_audio, parse_audio, AudioBounds, AudioFile, AudioFormat, MAX_FEATURE_DIM};
pub use batch::{AudioRow, Batch, Example};
pub use dataset::{recording_label, AudioSummary, Dataset, Scaling};
pub use error::DataError;
pub use mmsa::{MmsaKind, MmsaLabel};
pub use packed::Packed;
pub use tokenize::{Encoded, TextEncoder, TokenizeError, DEFAULT_MAX_LEN};
pub use tsv::{label_text, Split, Utterance};
