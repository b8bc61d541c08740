//! Our checkpoint format: round trip, atomic replacement, clear errors.

mod common;

use candle_core::Device;
use cmbert::checkpoint::{self, Checkpoint, CheckpointMeta, Layout, FORMAT};
use cmbert::model::{ClsAudio, HeadConfig, Mode, ModelKind};
use common::*;

fn meta(head: &HeadConfig) -> CheckpointMeta {
    CheckpointMeta {
        format: FORMAT.into(),
        head: head.clone(),
        max_len: 50,
        training: serde_json::json!({"note": "test"}),
        audio_features: None,
    }
}

#[test]
fn save_then_load_gives_identical_scores_and_replaces_atomically() {
    let source = Checkpoint::load(&fixtures().join("tiny/hf-encoder"), &Device::Cpu).unwrap();
    let head = HeadConfig::new(ModelKind::CmBert, ClsAudio::Learned, 5);
    let (model, store) = build(&source, &head, &[]);
    let (inputs, _) = tiny_inputs();
    let before = model
        .forward(&inputs, Mode::Eval, false)
        .unwrap()
        .score
        .to_vec1::<f32>()
        .unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run/best");
    checkpoint::save(&dir, &store.vars(), &source.bert, &meta(&head), &source.vocab).unwrap();
    let loaded = Checkpoint::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(loaded.layout, Layout::Ours);
    assert_eq!(loaded.head.as_ref(), Some(&head));
    assert_eq!(loaded.meta.as_ref().unwrap().training["note"], "test");
    let (reloaded, store2) = build(&loaded, &head, &[]);
    assert!(
        store2.fresh().is_empty(),
        "everything comes from the file: {:?}",
        store2.fresh()
    );
    let after = reloaded
        .forward(&inputs, Mode::Eval, false)
        .unwrap()
        .score
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(before, after);

    // Saving a different model over it replaces it whole, and leaves no staging directory.
    let other_head = HeadConfig::new(ModelKind::TBert, ClsAudio::Zero, 5);
    let (_, other_store) = build(&source, &other_head, &[]);
    checkpoint::save(
        &dir,
        &other_store.vars(),
        &source.bert,
        &meta(&other_head),
        &source.vocab,
    )
    .unwrap();
    let replaced = Checkpoint::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(replaced.head.unwrap().model, ModelKind::TBert);
    assert!(!replaced.tensors.contains_key("fusion.proj_t.weight"));
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("run"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("best")]);
}

#[test]
fn failed_save_keeps_the_previous_checkpoint() {
    let source = Checkpoint::load(&fixtures().join("tiny/hf-encoder"), &Device::Cpu).unwrap();
    let head = HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5);
    let (_, store) = build(&source, &head, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ckpt");
    checkpoint::save(&dir, &store.vars(), &source.bert, &meta(&head), &source.vocab).unwrap();
    // A vanished vocabulary fails the save after the weights were written.
    let other_head = HeadConfig::new(ModelKind::TBert, ClsAudio::Zero, 5);
    let err = checkpoint::save(
        &dir,
        &store.vars(),
        &source.bert,
        &meta(&other_head),
        &tmp.path().join("gone/vocab.txt"),
    );
    assert!(err.unwrap_err().to_string().contains("gone/vocab.txt"));
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("ckpt")],
        "staging directory cleaned up"
    );
    let still = Checkpoint::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(still.head.unwrap(), head);
}

#[test]
fn user_errors_name_the_file_and_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = Checkpoint::load(&tmp.path().join("nope"), &Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(missing.contains("does not exist"), "{missing}");

    let empty = Checkpoint::load(tmp.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(
        empty.contains("config.json") && empty.contains("bert_config.json"),
        "{empty}"
    );

    std::fs::write(tmp.path().join("config.json"), "{\"hidden_size\": 32").unwrap();
    let bad_json = Checkpoint::load(tmp.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(
        bad_json.contains("config.json") && bad_json.contains("not valid JSON"),
        "{bad_json}"
    );

    std::fs::copy(fixtures().join("tiny/hf/config.json"), tmp.path().join("config.json")).unwrap();
    let no_weights = Checkpoint::load(tmp.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(
        no_weights.contains("model.safetensors or pytorch_model.bin"),
        "{no_weights}"
    );

    std::fs::write(tmp.path().join("pytorch_model.bin"), b"\x80\x02legacy").unwrap();
    let legacy = Checkpoint::load(tmp.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(
        legacy.contains("pytorch_model.bin") && legacy.contains("PyTorch < 1.6"),
        "{legacy}"
    );

    std::fs::remove_file(tmp.path().join("pytorch_model.bin")).unwrap();
    std::fs::write(tmp.path().join("model.safetensors"), b"truncated").unwrap();
    let truncated = Checkpoint::load(tmp.path(), &Device::Cpu).unwrap_err().to_string();
    assert!(
        truncated.contains("model.safetensors") && truncated.contains("cannot read weights"),
        "{truncated}"
    );
}

/// A killed save leaves `.NAME.tmp-PID`: the next save removes those of dead processes that
/// hold checkpoint files, and keeps a live process's, other names', and a look-alike
/// directory of the user's.
#[test]
fn a_save_cleans_staging_directories_of_dead_processes_only() {
    let source = Checkpoint::load(&fixtures().join("tiny/hf-encoder"), &Device::Cpu).unwrap();
    let head = HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5);
    let (_, store) = build(&source, &head, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let dead = |n: usize| -> Vec<u32> {
        (0..n)
            .map(|_| {
                let mut child = std::process::Command::new("true").spawn().unwrap();
                let pid = child.id();
                child.wait().unwrap();
                pid
            })
            .collect()
    };
    let [killed_save, users, killed_swap]: [u32; 3] = dead(3).try_into().unwrap();
    let mut sleeping = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    let staging = |name: &str, files: &[&str]| {
        let dir = tmp.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        for f in files {
            std::fs::write(dir.join(f), "partial").unwrap();
        }
        dir
    };
    let ckpt_files = ["model.safetensors", "config.json"];
    let stale = staging(&format!(".last.tmp-{killed_save}"), &ckpt_files);
    let stale_swap = staging(&format!(".last.old-{killed_swap}"), &ckpt_files);
    let live = staging(&format!(".last.tmp-{}", sleeping.id()), &ckpt_files);
    let look_alike = staging(&format!(".last.tmp-{users}"), &["notes.txt"]);
    let other_name = staging(&format!(".best.tmp-{killed_save}"), &ckpt_files);

    checkpoint::save(
        &tmp.path().join("last"),
        &store.vars(),
        &source.bert,
        &meta(&head),
        &source.vocab,
    )
    .unwrap();
    sleeping.kill().unwrap();
    sleeping.wait().unwrap();
    assert!(!stale.exists() && !stale_swap.exists(), "debris of dead saves removed");
    for kept in [&live, &look_alike, &other_name] {
        assert!(kept.exists(), "{} kept", kept.display());
    }
    assert_eq!(
        std::fs::read_to_string(look_alike.join("notes.txt")).unwrap(),
        "partial"
    );
    Checkpoint::load(&tmp.path().join("last"), &Device::Cpu).unwrap();
}

/// `checkpoint::copy` (a resumed run's best/ into a new --out) refuses a link inside.
#[test]
fn copying_a_checkpoint_refuses_links() {
    let source = Checkpoint::load(&fixtures().join("tiny/hf-encoder"), &Device::Cpu).unwrap();
    let head = HeadConfig::new(ModelKind::CmBert, ClsAudio::Zero, 5);
    let (_, store) = build(&source, &head, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst) = (tmp.path().join("run/best"), tmp.path().join("out/best"));
    checkpoint::save(&src, &store.vars(), &source.bert, &meta(&head), &source.vocab).unwrap();
    checkpoint::copy(&src, &dst).unwrap();
    assert_eq!(Checkpoint::load(&dst, &Device::Cpu).unwrap().head, Some(head));
    std::os::unix::fs::symlink("/etc/passwd", src.join("vocab.txt.bak")).unwrap();
    let err = checkpoint::copy(&src, &tmp.path().join("out2/best"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("vocab.txt.bak") && err.contains("symbolic link"), "{err}");
    assert!(!tmp.path().join("out2/best").exists());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("out2")).unwrap().collect();
    assert!(leftovers.is_empty(), "no staging left: {leftovers:?}");
}
