use super::*;

fn snapshot(index: usize, n: usize, seed: f32) -> AttentionSnapshot {
    let m = |k: f32| {
        (0..n)
            .map(|i| (0..n).map(|j| seed + k + (i * n + j) as f32).collect())
            .collect()
    };
    AttentionSnapshot {
        index,
        tokens: (0..n).map(|i| format!("t{i}")).collect(),
        words: vec!["w".into()],
        token_words: (0..n).map(|i| (i > 0 && i + 1 < n).then_some(0)).collect(),
        label: 1.5,
        prediction: 0.25,
        prediction_without_audio: 0.5,
        batching: "evaluation batch 0".into(),
        text_attention: m(0.0),
        audio_attention: m(0.1),
        fusion_scores: m(0.2),
        multimodal_attention: m(0.3),
    }
}

fn live(split: Split, index: usize, step: usize) -> Inspection {
    Inspection {
        split,
        weights: Weights::Live { step },
        snapshot: snapshot(index, 3, step as f32),
    }
}

#[test]
fn downsampling_keeps_first_and_latest_within_the_bound() {
    let mut log = AttentionLog::default();
    for step in 1..=1000 {
        log.push(&live(Split::Test, 4, step), Some(step as f32));
        let track = log.track(Split::Test, 4);
        assert!(track.len() <= CAP, "{} snapshots after step {step}", track.len());
        assert_eq!(track[0].step, 1, "the first stays");
        assert_eq!(track.last().map(|r| r.step), Some(step), "the latest is kept");
        assert!(track.windows(2).all(|w| w[0].step < w[1].step), "in step order");
    }
    let steps: Vec<usize> = log.track(Split::Test, 4).iter().map(|r| r.step).collect();
    // Spread over the run, not bunched at its end: some step in every quarter.
    for q in 0..4 {
        assert!(
            steps.iter().any(|&s| s > q * 250 && s <= (q + 1) * 250),
            "quarter {q}: {steps:?}"
        );
    }
}

#[test]
fn a_full_list_keeps_every_other_and_the_latest() {
    let mut log = AttentionLog::default();
    for step in 0..CAP {
        log.push(&live(Split::Dev, 0, step), None);
    }
    assert_eq!(log.track(Split::Dev, 0).len(), CAP);
    log.push(&live(Split::Dev, 0, CAP), None);
    let steps: Vec<usize> = log.track(Split::Dev, 0).iter().map(|r| r.step).collect();
    let expected: Vec<usize> = (0..=CAP).step_by(2).collect();
    assert_eq!(steps, expected);
    // The next one is kept as the latest, then replaced by the one after it.
    log.push(&live(Split::Dev, 0, CAP + 1), None);
    assert_eq!(log.track(Split::Dev, 0).last().map(|r| r.step), Some(CAP + 1));
    log.push(&live(Split::Dev, 0, CAP + 2), None);
    let steps: Vec<usize> = log.track(Split::Dev, 0).iter().map(|r| r.step).collect();
    assert_eq!(steps[steps.len() - 2..], [CAP, CAP + 2]);
}

#[test]
fn best_weights_are_not_recorded_and_a_repeated_step_replaces() {
    let mut log = AttentionLog::default();
    log.push(
        &Inspection {
            weights: Weights::Best { epoch: 2 },
            ..live(Split::Test, 1, 5)
        },
        None,
    );
    assert!(log.tracks.is_empty());
    log.push(&live(Split::Test, 1, 5), Some(1.0));
    log.push(&live(Split::Test, 1, 5), Some(2.0));
    assert_eq!(log.track(Split::Test, 1).len(), 1);
    assert_eq!(log.track(Split::Test, 1)[0].loss, Some(2.0));
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = AttentionLog::path_in(dir.path());
    let mut log = AttentionLog::default();
    for step in [1, 7, 30] {
        log.push(&live(Split::Test, 2, step), Some(0.5 * step as f32));
        log.push(&live(Split::Dev, 9, step), None);
    }
    let mut unlabelled = live(Split::Train, 0, 3);
    unlabelled.snapshot.label = f32::NAN;
    log.push(&unlabelled, Some(1.0));
    log.write(&path).unwrap();
    let back = AttentionLog::read(&path).unwrap();
    assert_eq!(back.tracks.len(), 3);
    assert_eq!(back.track(Split::Test, 2), log.track(Split::Test, 2));
    assert_eq!(back.track(Split::Dev, 9), log.track(Split::Dev, 9));
    assert!(back.track(Split::Train, 0)[0].snapshot.label.is_nan());
}

#[test]
fn truncated_or_corrupt_files_are_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = AttentionLog::path_in(dir.path());
    let mut log = AttentionLog::default();
    log.push(&live(Split::Test, 2, 1), Some(0.5));
    log.push(&live(Split::Test, 2, 2), Some(0.4));
    log.write(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 5].to_vec()),
        ("empty", Vec::new()),
        ("garbage", b"not a safetensors file at all".to_vec()),
    ];
    // A manifest that claims more snapshots than the tensors hold.
    let text = String::from_utf8_lossy(&good).into_owned();
    let lying = text.replacen("\\\"step\\\":2", "\\\"step\\\":0", 1);
    assert_ne!(lying, text, "the manifest's steps are where the test expects them");
    cases.push(("steps out of order", lying.into_bytes()));
    for (what, bytes) in cases {
        std::fs::write(&path, bytes).unwrap();
        let err = AttentionLog::read(&path).expect_err(what).to_string();
        assert!(err.starts_with(&path.display().to_string()), "{what}: {err}");
        assert!(!err.contains('\n'), "{what}: {err}");
    }
    let err = AttentionLog::read(&dir.path().join("missing")).unwrap_err().to_string();
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn shapes_are_checked_against_the_manifest() {
    // A well-formed safetensors file whose manifest says 4 tokens over tensors of 3x3.
    let manifest = r#"{"version":1,"utterances":[{"split":"test","index":2,"tokens":["a","b","c","d"],
        "words":["w"],"token_words":[null,0,0,null],"label":1.0,"came":1,"stride":1,"snapshots":[{"step":1,"number":0,"loss":null,
        "weights":{"kind":"live","step":1},"prediction":0.0,"prediction_without_audio":0.0,"batching":""}]}]}"#;
    let bytes = vec![0u8; 9 * 4];
    let views: Vec<(String, safetensors::tensor::TensorView)> = MATRICES
        .iter()
        .map(|m| {
            let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1, 3, 3], &bytes).unwrap();
            (tensor_name(Split::Test, 2, m), v)
        })
        .collect();
    let file = safetensors::serialize(
        views,
        Some(HashMap::from([(METADATA_KEY.to_string(), manifest.to_string())])),
    )
    .unwrap();
    let err = AttentionLog::parse(&file).unwrap_err();
    assert!(err.contains("[1, 3, 3]") && err.contains("1 snapshots of 4x4"), "{err}");
    // And a token word past the words.
    let bad_word = manifest.replace("[null,0,0,null]", "[null,0,5,null]");
    let none: Vec<(String, safetensors::tensor::TensorView)> = Vec::new();
    let file = safetensors::serialize(none, Some(HashMap::from([(METADATA_KEY.to_string(), bad_word)]))).unwrap();
    assert!(AttentionLog::parse(&file).unwrap_err().contains("token word 5"));
}
