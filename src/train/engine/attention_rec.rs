//! The recorder's half for attention through training (`train::attention_log`): every
//! snapshot of a watched utterance the engine computes, shown (`Event::Attention`) or only
//! kept (`EventSink::keep`), goes into the run's log with the loss of the step it was
//! computed after; the log is written to `RUN/attention.safetensors` with every save of
//! `last/` (each epoch end, `--save-every`) and when the session ends, never per step. A `--resume` continues the file it finds.
//!
//! A log that cannot be read on resuming, or written, does not stop the run: the reader is
//! told once and the run goes on without recording attention (the file is left as it was).

use std::path::PathBuf;

use crate::train::attention_log::AttentionLog;
use crate::train::events::{Event, Inspection};
use crate::train::record::Saved;

use super::recorder::Begun;

/// Where the attention log stands.
pub(super) enum AttentionRec {
    /// No run directory, or the log could not be read or written (said once).
    Off,
    /// Recording into `path`.
    On {
        /// `RUN/attention.safetensors`.
        path: PathBuf,
        /// What is recorded so far.
        log: AttentionLog,
        /// The loss of the latest step.
        loss: Option<f32>,
        /// Snapshots added since the file was last written.
        dirty: bool,
    },
}

impl AttentionRec {
    /// The log of run directory `run` (`None`: no directory); on resuming, the file there is
    /// continued. The error is the warning to give.
    pub(super) fn start(run: Option<&PathBuf>, begun: Begun) -> (Self, Option<String>) {
        let Some(run) = run else { return (Self::Off, None) };
        let path = AttentionLog::path_in(run);
        let log = if begun == Begun::Resumed && path.exists() {
            match AttentionLog::read(&path) {
                Ok(log) => log,
                Err(e) => {
                    return (
                        Self::Off,
                        Some(format!("{e}; the run goes on without recording attention")),
                    )
                }
            }
        } else {
            AttentionLog::default()
        };
        let on = Self::On {
            path,
            log,
            loss: None,
            dirty: false,
        };
        (on, None)
    }

    /// Takes note of `event`; the warning to give when the log just became unwritable.
    pub(super) fn record(&mut self, event: &Event) -> Option<String> {
        let Self::On { loss, dirty, .. } = self else {
            return None;
        };
        match event {
            Event::Step { loss: l, .. } => *loss = Some(*l),
            Event::Attention(inspection) => self.keep(inspection),
            // `last/` is saved at every epoch end (after its snapshots), so the file keeps
            // up with what `--resume` continues from.
            Event::CheckpointSaved { kind: Saved::Last, .. }
            | Event::Finished(_)
            | Event::Stopped { .. }
            | Event::Failed(_)
                if *dirty =>
            {
                return self.write()
            }
            _ => {}
        }
        None
    }

    /// Adds a snapshot.
    pub(super) fn keep(&mut self, inspection: &Inspection) {
        if let Self::On { log, loss, dirty, .. } = self {
            log.push(inspection, *loss);
            *dirty = true;
        }
    }

    fn write(&mut self) -> Option<String> {
        let Self::On { path, log, dirty, .. } = self else {
            return None;
        };
        match log.write(path) {
            Ok(()) => {
                *dirty = false;
                None
            }
            Err(e) => {
                *self = Self::Off;
                Some(format!("{e}; the run goes on without recording attention"))
            }
        }
    }
}
