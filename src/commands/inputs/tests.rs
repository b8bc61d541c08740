//! `Inputs::resolve`: the recorded data, audio and label, and the flags that change them.

use super::*;
use crate::train::Saved;

fn record(data: &Path, audio: Option<&Path>) -> Result<Option<TrainingRecord>, RecordError> {
    let mut spec = RunSpec::paper(data.to_path_buf(), "bert".into(), ModelKind::CmBert);
    spec.audio = audio.map(Path::to_path_buf);
    Ok(Some(TrainingRecord {
        spec,
        saved: Some(Saved::Best),
        step: Some(1),
        epochs_done: Some(1),
        best_epoch: Some(1),
        best_dev_loss: Some(1.0),
        progress: None,
        optimizer_steps: None,
        epochs_changes: Vec::new(),
    }))
}

struct Files {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    audio: PathBuf,
}

fn files() -> Files {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let audio = tmp.path().join("audio.jsonl");
    std::fs::write(&audio, "").unwrap();
    Files { data, audio, _tmp: tmp }
}

fn resolve(
    model: ModelKind,
    record: Result<Option<TrainingRecord>, RecordError>,
    data: Option<&Path>,
    audio: AudioRequest,
) -> Result<Inputs> {
    Inputs::resolve(Path::new("ckpt"), model, record, data, audio, None)
}

/// A run on a CH-SIMS file's `label`: the data is the pickle, which is its own audio.
fn sims_record(pickle: &Path, label: MmsaLabel) -> Result<Option<TrainingRecord>, RecordError> {
    let mut record = record(pickle, Some(pickle));
    if let Ok(Some(r)) = &mut record {
        r.spec.label = label;
    }
    record
}

#[test]
fn the_recorded_label_is_used_and_another_is_applied_and_said() {
    let f = files();
    let pickle = f.data.parent().unwrap().join("sims.pkl");
    std::fs::write(&pickle, "").unwrap();
    let labelled = |record, data: Option<&Path>, label| {
        Inputs::resolve(
            Path::new("ckpt"),
            ModelKind::CmBert,
            record,
            data,
            AudioRequest::Recorded,
            label,
        )
        .unwrap()
    };
    // Without --label: the run's.
    let inputs = labelled(sims_record(&pickle, MmsaLabel::T), None, None);
    assert_eq!(inputs.label, LabelUsed::Recorded(MmsaLabel::T));
    assert_eq!(inputs.label.label(), MmsaLabel::T);
    assert_eq!(
        inputs.notices().last().unwrap(),
        "label: T, regression_labels_T (recorded in the checkpoint; --label to change)"
    );
    // The same file named with --data keeps it.
    let inputs = labelled(sims_record(&pickle, MmsaLabel::V), Some(&pickle), None);
    assert_eq!(inputs.label.label(), MmsaLabel::V);
    // Another label: applied, and said with the one the model was trained on.
    let inputs = labelled(sims_record(&pickle, MmsaLabel::T), None, Some(MmsaLabel::M));
    assert_eq!(inputs.label.label(), MmsaLabel::M);
    assert_eq!(
        inputs.notices().last().unwrap(),
        "label: M (--label; the model was trained on T, regression_labels_T)"
    );
    // The label it was trained on, named or recorded as M (and every older checkpoint):
    // nothing more to say.
    let inputs = labelled(sims_record(&pickle, MmsaLabel::T), None, Some(MmsaLabel::T));
    assert_eq!(inputs.notices().len(), 2, "{:?}", inputs.notices());
    let inputs = labelled(sims_record(&pickle, MmsaLabel::M), None, None);
    assert_eq!(inputs.label, LabelUsed::Recorded(MmsaLabel::M));
    assert_eq!(inputs.notices().len(), 2, "{:?}", inputs.notices());
    // A directory of TSV splits has one label, whatever the run trained on.
    let inputs = Inputs::resolve(
        Path::new("ckpt"),
        ModelKind::CmBert,
        sims_record(&pickle, MmsaLabel::T),
        Some(&f.data),
        AudioRequest::Zero,
        None,
    )
    .unwrap();
    assert_eq!(inputs.label, LabelUsed::Only);
    assert_eq!(inputs.label.label(), MmsaLabel::M);
    // An unreadable record when only the label is missing: said, with the flag to give.
    let broken = serde_json::from_str::<TrainingRecord>("3")
        .map(Some)
        .map_err(RecordError::from);
    let err = Inputs::resolve(
        Path::new("ckpt"),
        ModelKind::CmBert,
        broken,
        Some(&pickle),
        AudioRequest::Zero,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("ckpt/config.json: the run record"), "{err}");
    assert!(err.ends_with("give --label M (or, for CH-SIMS, T, A or V)"), "{err}");
}

#[test]
fn the_recorded_audio_and_data_are_used_and_said() {
    let f = files();
    let inputs = resolve(
        ModelKind::CmBert,
        record(&f.data, Some(&f.audio)),
        None,
        AudioRequest::Recorded,
    )
    .unwrap();
    assert_eq!(inputs.data, DataUsed::Recorded(f.data.clone()));
    assert_eq!(inputs.audio, AudioUsed::Recorded(f.audio.clone()));
    let notices = inputs.notices();
    assert_eq!(notices.len(), 2);
    assert!(notices[0].contains("recorded in the checkpoint; --data DIR to change"));
    assert_eq!(
        notices[1],
        format!(
            "audio: {} (recorded in the checkpoint; --audio FILE or --zero-audio to change)",
            f.audio.display()
        )
    );
    // The same directory named with --data (through a `..`) still pairs with its audio.
    let same = f.data.join("..").join("data");
    let inputs = resolve(
        ModelKind::CmBert,
        record(&f.data, Some(&f.audio)),
        Some(&same),
        AudioRequest::Recorded,
    )
    .unwrap();
    assert_eq!(inputs.audio, AudioUsed::Recorded(f.audio.clone()));
    assert_eq!(inputs.notices().len(), 1, "the data was named");
}

#[test]
fn other_data_never_gets_the_recorded_audio() {
    let f = files();
    let other = f.data.parent().unwrap().join("other");
    std::fs::create_dir(&other).unwrap();
    let err = resolve(
        ModelKind::CmBert,
        record(&f.data, Some(&f.audio)),
        Some(&other),
        AudioRequest::Recorded,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&format!("--data {} is other data", other.display())),
        "{err}"
    );
    assert!(err.contains("--audio FILE") && err.contains("--zero-audio"), "{err}");
    // Both choices work there.
    let zero = resolve(
        ModelKind::CmBert,
        record(&f.data, Some(&f.audio)),
        Some(&other),
        AudioRequest::Zero,
    )
    .unwrap();
    assert_eq!(zero.audio, AudioUsed::ZeroAsked);
    assert_eq!(
        zero.audio.why_no_ablation().unwrap(),
        "the model runs on zero audio here (--zero-audio), so there is no audio to take away; give --audio FILE"
    );
}

#[test]
fn missing_recorded_files_are_named_with_the_path_tried() {
    let f = files();
    std::fs::remove_file(&f.audio).unwrap();
    let err = resolve(
        ModelKind::CmBert,
        record(&f.data, Some(&f.audio)),
        None,
        AudioRequest::Recorded,
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        format!(
            "ckpt was trained with the audio {}, which is not there any more; give --audio FILE, or --zero-audio \
             to run it on zero audio",
            f.audio.display()
        )
    );
    // An older checkpoint's relative path, resolved against the working directory.
    let err = resolve(
        ModelKind::CmBert,
        record(&f.data, Some(Path::new("gone/audio.pkl"))),
        None,
        AudioRequest::Recorded,
    )
    .unwrap_err()
    .to_string();
    let tried = std::env::current_dir().unwrap().join("gone/audio.pkl");
    assert!(
        err.contains(&format!("gone/audio.pkl (tried {})", tried.display())),
        "{err}"
    );
    let err = resolve(
        ModelKind::CmBert,
        record(Path::new("/no/such/data"), None),
        None,
        AudioRequest::Zero,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("--data DIR is required: the data ckpt was trained on, /no/such/data,"),
        "{err}"
    );
}

#[test]
fn no_flag_needed_for_t_bert_or_a_model_trained_without_audio() {
    let f = files();
    let t = resolve(ModelKind::TBert, Ok(None), Some(&f.data), AudioRequest::Recorded).unwrap();
    assert_eq!(t.audio, AudioUsed::NotUsedByTBert);
    assert_eq!(t.notices(), ["audio: not used by T-BERT"]);
    assert!(t
        .audio
        .why_no_ablation()
        .unwrap()
        .starts_with("T-BERT does not read the audio"));
    let named = resolve(
        ModelKind::TBert,
        Ok(None),
        Some(&f.data),
        AudioRequest::File(f.audio.clone()),
    )
    .unwrap();
    assert_eq!(
        named.audio,
        AudioUsed::Given(f.audio.clone()),
        "loaded, to show it unread"
    );
    let without = resolve(ModelKind::CmBert, record(&f.data, None), None, AudioRequest::Recorded).unwrap();
    assert_eq!(without.audio, AudioUsed::ZeroAsTrained);
    assert!(without.audio.why_no_ablation().is_some());
    let given = resolve(
        ModelKind::CmBert,
        record(&f.data, None),
        None,
        AudioRequest::File(f.audio.clone()),
    )
    .unwrap();
    assert_eq!(given.audio, AudioUsed::Given(f.audio.clone()));
    assert_eq!(given.audio.why_no_ablation(), None);
}

#[test]
fn a_checkpoint_without_a_record_needs_a_choice() {
    let f = files();
    let err = resolve(ModelKind::CmBert, Ok(None), Some(&f.data), AudioRequest::Recorded)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ckpt does not record the audio it was trained with"),
        "{err}"
    );
    assert!(
        err.ends_with("give --audio FILE, or --zero-audio to run it on zero audio"),
        "{err}"
    );
    let err = resolve(ModelKind::CmBert, Ok(None), None, AudioRequest::Zero)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("--data DIR is required"), "{err}");
    let broken = serde_json::from_str::<TrainingRecord>("3")
        .map(Some)
        .map_err(RecordError::from);
    let err = resolve(ModelKind::CmBert, broken, Some(&f.data), AudioRequest::Recorded)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("ckpt/config.json: the run record"), "{err}");
    let broken = serde_json::from_str::<TrainingRecord>("3")
        .map(Some)
        .map_err(RecordError::from);
    assert!(
        resolve(ModelKind::CmBert, broken, Some(&f.data), AudioRequest::Zero).is_ok(),
        "not needed when both are given"
    );
}

/// The export metadata spells each source as the other JSON outputs do.
#[test]
fn audio_source_names_are_the_json_spelling() {
    use AudioSource::*;
    for source in [
        Given,
        Recorded,
        Recording,
        ZeroAudio,
        TrainedWithoutAudio,
        NotGiven,
        NotUsedByTBert,
    ] {
        assert_eq!(serde_json::to_value(source).unwrap(), source.name());
    }
}
