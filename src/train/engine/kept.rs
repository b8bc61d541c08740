//! Utterances watched for the run's attention log (`train::attention_log`) without being
//! in view: the paper's Figure-4 sentences when the test split holds them, and those named
//! by `train --watch`. Each is recomputed on its own `Watch` schedule (at most 1/50 of
//! training time each) and at every epoch end, and goes to the recorder only
//! (`EventSink::keep`): the viewer is not told of utterances it does not show.

use std::time::Instant;

use super::Trainer;
use crate::data::{Dataset, Split};
use crate::figure4;
use crate::train::config::OnDisk;
use crate::train::error::TrainError;
use crate::train::events::EventSink;
use crate::train::inspect::Watch;

/// When the kept utterances are recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    /// Those whose schedule says so.
    Due,
    /// All of them (an epoch's end).
    Now,
}

impl Trainer {
    /// Also records the attention of these utterances (`train --watch SPLIT:INDEX`); an index
    /// past its split is never computed.
    pub fn with_watched(mut self, watched: Vec<(Split, usize)>) -> Self {
        self.watched = watched;
        self
    }

    /// The watches of this session: Figure-4 sentences first, then `--watch` ones, each
    /// once; none when their attention goes nowhere (no run directory, or
    /// `Recording::attention` skipped), since they are computed for the log alone.
    pub(super) fn plan_kept(&mut self, data: &Dataset) {
        if self.spec.out.is_none() || self.recording.attention == OnDisk::Skip {
            self.kept_watches = Vec::new();
            return;
        }
        let test = data.split(Split::Test);
        let texts: Vec<&str> = test.iter().map(|e| e.text.as_str()).collect();
        let mut targets: Vec<(Split, usize)> = figure4::locate(&texts)
            .into_iter()
            .flatten()
            .map(|i| (Split::Test, i))
            .collect();
        for &w in &self.watched {
            if !targets.contains(&w) {
                targets.push(w);
            }
        }
        self.kept_watches = targets
            .into_iter()
            .map(|(split, index)| {
                let mut watch = Watch::default();
                watch.set(split, index);
                watch
            })
            .collect();
    }

    /// Recomputes the kept utterances `when` says, for the recorder only.
    pub(super) fn refresh_kept(
        &mut self,
        data: &Dataset,
        events: &dyn EventSink,
        when: When,
    ) -> Result<(), TrainError> {
        let mut watches = std::mem::take(&mut self.kept_watches);
        let now = Instant::now();
        let result = watches
            .iter_mut()
            .filter(|w| when == When::Now || w.due(now))
            .try_for_each(|w| {
                if let Some(inspection) = self.inspector(data).inspect(w)? {
                    events.keep(inspection);
                }
                Ok::<_, TrainError>(())
            });
        self.kept_watches = watches;
        result
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use candle_core::Device;

    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::data::TextEncoder;
    use crate::model::ModelKind;
    use crate::train::config::{Recording, RunSpec};

    /// Before, the watched utterances were recomputed whatever became of their attention:
    /// a run skipping its attention log (or without a run directory) still paid for them.
    #[test]
    fn watched_utterances_are_planned_only_when_their_attention_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        for split in ["train", "dev", "test"] {
            std::fs::write(
                tmp.path().join(format!("{split}.tsv")),
                "text\tlabel\nA GOOD FILM\t2.0\n",
            )
            .unwrap();
        }
        let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny/hf-encoder");
        let encoder = TextEncoder::from_file(&tiny.join("vocab.txt"), 50).unwrap();
        let data = Dataset::load(tmp.path(), None, &encoder, 5).unwrap();
        let bert = Checkpoint::load(&tiny, &Device::Cpu).unwrap();
        let planned = |out: Option<&Path>, attention: OnDisk| {
            let mut spec = RunSpec::paper(tmp.path().into(), tiny.clone(), ModelKind::CmBert);
            spec.out = out.map(Path::to_path_buf);
            let recording = Recording {
                attention,
                ..Recording::default()
            };
            let mut trainer = Trainer::new(spec, &bert, 5, &Device::Cpu)
                .unwrap()
                .with_watched(vec![(Split::Test, 0)])
                .with_recording(recording);
            trainer.plan_kept(&data);
            trainer.kept_watches.len()
        };
        let run = tmp.path().join("run");
        assert_eq!(planned(Some(&run), OnDisk::Keep), 1);
        assert_eq!(planned(Some(&run), OnDisk::Skip), 0);
        assert_eq!(planned(None, OnDisk::Keep), 0, "no run directory: nowhere to write it");
    }
}
