//! Word-level acoustic features from recordings: WAV + word timings -> one vector per word,
//! in the word-level format the trainer reads (`data::audio`, format (d)).
//!
//! The pipeline: read and mix down (`wav`), resample to 16 kHz, frame features on a 10 ms
//! grid (`spectral`: MFCC, energy, centroid, flux, ZCR; `pitch`: F0 and voicing), then the
//! statistics of the frames inside each word's span (`set`). `norm` holds the z-score
//! scaling fitted on the training split and kept with the checkpoint.

pub mod align;
mod extract;
pub mod norm;
pub mod pitch;
mod riff;
pub mod set;
pub mod spectral;
pub mod wav;

use std::path::PathBuf;

pub use align::{AlignError, WordSpan};
pub use extract::{analyse, extract, Utterance};
pub use norm::{AudioFeatures, AudioNorm};
pub use set::{FeatureSet, FeatureSetInfo, FrameTracks};

/// Why features could not be extracted from a recording: names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum AcousticError {
    /// The recording cannot be read or is not usable audio.
    #[error("{path}: {message}")]
    Wav {
        /// The recording.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Its word timings could not be read or do not fit it.
    #[error(transparent)]
    Align(#[from] AlignError),
}

impl AcousticError {
    /// The file the error is about: the recording, or its timing file.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Wav { path, .. } => path,
            Self::Align(align) => align.path(),
        }
    }
}
