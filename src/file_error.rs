//! A file a user gave that cannot be used: which file, which line where there is one, and
//! what was expected. One type for every reader below the commands (word timings in
//! `acoustic`, splits and feature files in `data`), at the bottom of the layering so that
//! each can use it without importing the other.

use std::path::{Path, PathBuf};

/// A file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
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
    /// A problem with the file as a whole.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong and what was expected.
        message: String,
    },
}

impl FileError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. } | Self::Line { path, .. } | Self::File { path, .. } => path,
        }
    }

    /// `path` could not be read.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A problem with the file as a whole.
    pub fn file(path: &Path, message: impl Into<String>) -> Self {
        Self::File {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// A problem on line `line` (1-based) of the file.
    pub fn line(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Self::Line {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_names_its_file_and_line() {
        let path = Path::new("dir/a.tsv");
        let line = FileError::line(path, 7, "expected 3 columns");
        assert_eq!(line.to_string(), "dir/a.tsv:7: expected 3 columns");
        assert_eq!(FileError::file(path, "empty").to_string(), "dir/a.tsv: empty");
        let missing = FileError::io(Path::new("/nonexistent/x.csv"), std::io::ErrorKind::NotFound.into());
        assert!(missing.to_string().starts_with("/nonexistent/x.csv: "), "{missing}");
        assert_eq!(missing.path(), Path::new("/nonexistent/x.csv"));
        assert_eq!(line.path(), path);
    }
}
