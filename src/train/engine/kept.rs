//! Utterances watched for the run's attention log (`train::attention_log`) without being
//! in view: the paper's Figure-4 sentences when the test split holds them, and those named
//! by `train --watch`. They are recomputed in turn, one per refresh, under one time budget
//! shared by all of them (`engine/rota.rs`: 2 % of the run's wall time, epoch ends
//! included), and all at every epoch end, one evaluation batch at a time. Their snapshots go
//! to the recorder only (`EventSink::keep`): the viewer is not told of utterances it does not
//! show. The utterance in view is recorded from what is shown (`Event::Attention`), on its
//! own schedule, and is not recomputed here a second time.

use std::time::Instant;

use super::rota::Rota;
use super::Trainer;
use crate::data::{Dataset, Split};
use crate::figure4;
use crate::model::ModelKind;
use crate::train::config::OnDisk;
use crate::train::error::TrainError;
use crate::train::events::EventSink;

/// When the kept utterances are recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    /// The one whose turn it is, if the shared budget allows.
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

    /// The rota of this session: Figure-4 sentences first, then `--watch` ones, each once,
    /// those past their split left out; none when their attention goes nowhere (no run
    /// directory, `Recording::attention` skipped, or T-BERT, which has no fusion attention),
    /// since they are computed for the log alone. Its budget accrues from now.
    pub(super) fn plan_kept(&mut self, data: &Dataset) {
        let mut targets: Vec<(Split, usize)> = Vec::new();
        if self.spec.out.is_some() && self.recording.attention == OnDisk::Keep && self.spec.model != ModelKind::TBert {
            let test = data.split(Split::Test);
            let texts: Vec<&str> = test.iter().map(|e| e.text.as_str()).collect();
            targets.extend(figure4::locate(&texts).into_iter().flatten().map(|i| (Split::Test, i)));
            for &w in &self.watched {
                if !targets.contains(&w) && w.1 < data.split(w.0).len() {
                    targets.push(w);
                }
            }
        }
        self.kept_rota = Rota::new(targets, Instant::now());
    }

    /// Recomputes the kept utterances `when` says, for the recorder only, and charges the
    /// time to the rota's budget.
    pub(super) fn refresh_kept(
        &mut self,
        data: &Dataset,
        events: &dyn EventSink,
        when: When,
    ) -> Result<(), TrainError> {
        let shown = self.watch.target;
        let targets: Vec<(Split, usize)> = match when {
            When::Due => self.kept_rota.due(Instant::now()).into_iter().collect(),
            // The utterance in view was just recomputed and recorded (`end_epoch`).
            When::Now => self.kept_rota.targets().to_vec(),
        };
        let targets: Vec<(Split, usize)> = targets.into_iter().filter(|&t| Some(t) != shown).collect();
        if targets.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        for inspection in self.inspector(data).inspect_all(&targets)? {
            events.keep(inspection);
        }
        let finished = Instant::now();
        self.kept_rota.charge(finished, finished - started);
        Ok(())
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
    use crate::train::inspect::Watch;

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
            trainer.kept_rota.targets().len()
        };
        let run = tmp.path().join("run");
        assert_eq!(planned(Some(&run), OnDisk::Keep), 1);
        assert_eq!(planned(Some(&run), OnDisk::Skip), 0);
        assert_eq!(planned(None, OnDisk::Keep), 0, "no run directory: nowhere to write it");
    }

    /// The epoch end recomputes every kept utterance one evaluation batch at a time; each
    /// snapshot must still be the one computed alone (same batch-mates, same prediction).
    #[test]
    fn utterances_inspected_together_equal_each_inspected_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let rows: String = [
            "A GOOD FILM\t2.0\n",
            "A BAD FILM\t-1.0\n",
            "GOOD\t1.0\n",
            "FILM\t0.0\n",
            "BAD\t-2.0\n",
        ]
        .concat();
        for split in ["train", "dev", "test"] {
            std::fs::write(tmp.path().join(format!("{split}.tsv")), format!("text\tlabel\n{rows}")).unwrap();
        }
        let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny/hf-encoder");
        let encoder = TextEncoder::from_file(&tiny.join("vocab.txt"), 50).unwrap();
        let data = Dataset::load(tmp.path(), None, &encoder, 5).unwrap();
        let bert = Checkpoint::load(&tiny, &Device::Cpu).unwrap();
        let mut spec = RunSpec::paper(tmp.path().into(), tiny.clone(), ModelKind::CmBert);
        spec.eval_batch_size = 2;
        let trainer = Trainer::new(spec, &bert, 5, &Device::Cpu).unwrap();
        let inspector = trainer.inspector(&data);
        // Test 4 and 0 in batches of their own, test 1 beside 0, dev 3, and test 9 is past
        // the split.
        let targets = [
            (Split::Test, 4),
            (Split::Test, 0),
            (Split::Dev, 3),
            (Split::Test, 1),
            (Split::Test, 9),
        ];
        let together = inspector.inspect_all(&targets).unwrap();
        assert_eq!(together.len(), 4, "the index past its split has no snapshot");
        for inspection in &together {
            let mut watch = Watch::default();
            watch.set(inspection.split, inspection.snapshot.index);
            let alone = inspector.inspect(&mut watch).unwrap().unwrap();
            assert_eq!(alone.split, inspection.split);
            assert_eq!(alone.snapshot.batching, inspection.snapshot.batching);
            assert_eq!(alone.snapshot.prediction, inspection.snapshot.prediction);
            assert_eq!(
                alone.snapshot.prediction_without_audio,
                inspection.snapshot.prediction_without_audio
            );
            assert_eq!(
                alone.snapshot.multimodal_attention,
                inspection.snapshot.multimodal_attention
            );
            assert_eq!(alone.snapshot.text_attention, inspection.snapshot.text_attention);
        }
        let mut found: Vec<(Split, usize)> = together.iter().map(|i| (i.split, i.snapshot.index)).collect();
        found.sort_by_key(|&(split, index)| (split as u8, index));
        assert_eq!(
            found,
            [(Split::Dev, 3), (Split::Test, 0), (Split::Test, 1), (Split::Test, 4)]
        );
    }
}
