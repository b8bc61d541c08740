//! Writing our checkpoint directory atomically: everything is written into a sibling
//! staging directory `.NAME.tmp-PID`, synced (files, then the directory), and then swapped
//! into place in one step (`fsutil::replace_dir`), so a crash at any moment leaves either
//! the previous checkpoint or the new one, never a mix. A save removes only its own staging
//! directory, and those that dead processes left behind and that hold only checkpoint
//! files: a killed save leaves no debris for ever, and nobody else's directory is touched.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use candle_core::{Tensor, Var};

use super::{CheckpointError, CheckpointMeta, OurConfig};
use crate::fsutil;
use crate::model::BertConfig;

/// Extra safetensors files written into the same atomic checkpoint (e.g. optimiser state).
pub type ExtraFiles<'a> = [(&'a str, Vec<(String, Tensor)>)];

/// Writes `model.safetensors` (canonical names, so `transformers` loads the `bert.*`
/// encoder directly), `config.json` and the vocabulary files found next to `vocab`.
pub fn save(
    dir: &Path,
    vars: &BTreeMap<String, Var>,
    bert: &BertConfig,
    meta: &CheckpointMeta,
    vocab: &Path,
) -> Result<(), CheckpointError> {
    save_with(dir, vars, bert, meta, vocab, &[])
}

/// `save` plus extra safetensors files, all swapped in together.
pub fn save_with(
    dir: &Path,
    vars: &BTreeMap<String, Var>,
    bert: &BertConfig,
    meta: &CheckpointMeta,
    vocab: &Path,
    extra: &ExtraFiles,
) -> Result<(), CheckpointError> {
    staged(dir, |staging| write_contents(staging, vars, bert, meta, vocab, extra))
}

/// Copies the checkpoint directory `src` to `dst` (replacing it), through a staging
/// directory like a save: its regular files only; a link inside it is an error.
pub fn copy(src: &Path, dst: &Path) -> Result<(), CheckpointError> {
    staged(dst, |staging| {
        for entry in fs::read_dir(src).map_err(io(src))? {
            let entry = entry.map_err(io(src))?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_symlink() {
                return Err(CheckpointError::Invalid {
                    path,
                    message: "is a symbolic link; a checkpoint is copied from its own files only".into(),
                });
            }
            if kind.is_file() {
                let mut from = fsutil::open_regular(&path).map_err(io(&path))?;
                let to_path = staging.join(entry.file_name());
                let mut to = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&to_path)
                    .map_err(io(&to_path))?;
                std::io::copy(&mut from, &mut to).map_err(io(&to_path))?;
            }
        }
        sync_files(staging)
    })
}

/// Writes the directory `dir` through its staging directory `.NAME.tmp-PID` beside it, then
/// swaps it into place. Only this process's staging directory is removed on failure; those
/// of processes that are gone (a killed save) are removed first.
fn staged(dir: &Path, fill: impl FnOnce(&Path) -> Result<(), CheckpointError>) -> Result<(), CheckpointError> {
    let parent = fsutil::parent_of(dir);
    fs::create_dir_all(parent).map_err(io(parent))?;
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("checkpoint");
    let staging = fsutil::new_staging_dir(parent, name, is_checkpoint_staging).map_err(io(parent))?;
    let result = fill(&staging).and_then(|()| fsutil::replace_dir(&staging, dir).map_err(io(dir)));
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

/// What a staging directory of ours holds: the files `save_with` and `copy` write.
fn is_checkpoint_staging(dir: &Path) -> bool {
    fsutil::only_files_named(dir, |name| {
        name.ends_with(".safetensors") || matches!(name, "config.json" | "vocab.txt" | "tokenizer.json")
    })
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_contents(
    staging: &Path,
    vars: &BTreeMap<String, Var>,
    bert: &BertConfig,
    meta: &CheckpointMeta,
    vocab: &Path,
    extra: &ExtraFiles,
) -> Result<(), CheckpointError> {
    let tensors: Vec<(String, Tensor)> = vars.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
    write_safetensors(&staging.join("model.safetensors"), tensors)?;
    for (name, tensors) in extra {
        write_safetensors(&staging.join(name), tensors.clone())?;
    }
    let config = OurConfig {
        bert: bert.clone(),
        cmbert: meta.clone(),
    };
    let config_path = staging.join("config.json");
    let json = serde_json::to_string_pretty(&config).expect("config serialises");
    fsutil::write_atomic(&config_path, json.as_bytes()).map_err(io(&config_path))?;
    if !vocab.is_file() {
        return Err(CheckpointError::Invalid {
            path: vocab.to_path_buf(),
            message: "vocabulary file not found".into(),
        });
    }
    let vocab_dir = vocab.parent().unwrap_or(Path::new("."));
    for file in ["vocab.txt", "tokenizer.json"] {
        let src = vocab_dir.join(file);
        if src.is_file() {
            fs::copy(&src, staging.join(file)).map_err(io(&src))?;
        }
    }
    sync_files(staging)
}

/// Syncs every file in the staging directory before it is swapped in (the directory itself
/// is synced by `fsutil::replace_dir`).
fn sync_files(staging: &Path) -> Result<(), CheckpointError> {
    for entry in fs::read_dir(staging).map_err(io(staging))? {
        let path = entry.map_err(io(staging))?.path();
        fs::File::open(&path).and_then(|f| f.sync_all()).map_err(io(&path))?;
    }
    Ok(())
}

fn write_safetensors(path: &Path, tensors: Vec<(String, Tensor)>) -> Result<(), CheckpointError> {
    // `transformers` refuses safetensors files without `format: pt` metadata.
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize_to_file(tensors, Some(metadata), path).map_err(|e| CheckpointError::Invalid {
        path: path.to_path_buf(),
        message: format!("cannot write: {e}"),
    })
}
