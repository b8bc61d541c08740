//! Errors a user can trigger with their data: each names the file (and line) and what was
//! expected.

use std::path::PathBuf;

/// A data file that cannot be used: names the file (and line) and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read, or a problem on one of its lines or with the whole.
    #[error(transparent)]
    File(#[from] crate::file_error::FileError),
    /// An audio file whose split has another number of utterances than its text split.
    #[error("{audio}: split {split} has {audio_count} utterances but {text} has {text_count}; the audio file must have one row per line of the text split, in the same order")]
    CountMismatch {
        /// The audio file.
        audio: PathBuf,
        /// The text split.
        text: PathBuf,
        /// The split's name.
        split: &'static str,
        /// Utterances in the audio file's split.
        audio_count: usize,
        /// Lines in the text split.
        text_count: usize,
    },
    /// A line of a text split the tokenizer refused.
    #[error("{path}:{line}: {source}")]
    Text {
        /// The text split.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// Why the tokenizer refused it.
        source: super::TokenizeError,
    },
    /// The tokenizer could not be built or used.
    #[error(transparent)]
    Tokenize(#[from] super::TokenizeError),
}

impl DataError {
    /// A problem with the file at `path` as a whole.
    pub fn file(path: &std::path::Path, message: impl Into<String>) -> Self {
        crate::file_error::FileError::file(path, message).into()
    }

    /// A problem on line `line` (1-based) of `path`.
    pub fn line(path: &std::path::Path, line: usize, message: impl Into<String>) -> Self {
        crate::file_error::FileError::line(path, line, message).into()
    }
}
