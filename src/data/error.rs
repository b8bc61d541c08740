//! Errors a user can trigger with their data: each names the file (and line) and what was
//! expected.

use std::path::PathBuf;

/// A data file that cannot be used: names the file (and line) and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A problem on one line of the file.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong and what was expected.
        message: String,
    },
    #[error("{path}: {message}")]
    /// A problem with the file as a whole.
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong and what was expected.
        message: String,
    },
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
    /// A [`DataError::File`] for `path`.
    pub fn file(path: &std::path::Path, message: impl Into<String>) -> Self {
        Self::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// A [`DataError::Line`] for line `line` (1-based) of `path`.
    pub fn line(path: &std::path::Path, line: usize, message: impl Into<String>) -> Self {
        Self::Line {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}
