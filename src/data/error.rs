//! Errors a user can trigger with their data: each names the file (and line) and what was
//! expected.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{audio}: split {split} has {audio_count} utterances but {text} has {text_count}; the audio file must have one row per line of the text split, in the same order")]
    CountMismatch {
        audio: PathBuf,
        text: PathBuf,
        split: &'static str,
        audio_count: usize,
        text_count: usize,
    },
    /// A line of a text split the tokenizer refused.
    #[error("{path}:{line}: {source}")]
    Text {
        path: PathBuf,
        line: usize,
        source: super::TokenizeError,
    },
    #[error(transparent)]
    Tokenize(#[from] super::TokenizeError),
}

impl DataError {
    pub fn file(path: &std::path::Path, message: impl Into<String>) -> Self {
        Self::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    pub fn line(path: &std::path::Path, line: usize, message: impl Into<String>) -> Self {
        Self::Line {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}
