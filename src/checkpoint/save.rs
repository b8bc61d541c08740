//! Writing our checkpoint directory atomically: everything is written into a sibling
//! temporary directory, synced, and then swapped into place in one step, so a crash at any
//! moment leaves either the previous checkpoint or the new one, never a mix.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use candle_core::{Tensor, Var};

use super::{CheckpointError, CheckpointMeta, OurConfig};
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
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("checkpoint");
    let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    fs::create_dir(&staging).map_err(io(&staging))?;
    let result = write_contents(&staging, vars, bert, meta, vocab, extra).and_then(|()| swap_into_place(&staging, dir));
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
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
    fs::write(&config_path, json).map_err(io(&config_path))?;
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

fn swap_into_place(staging: &Path, dir: &Path) -> Result<(), CheckpointError> {
    if !dir.exists() {
        return fs::rename(staging, dir).map_err(io(dir));
    }
    let old = exchange(staging, dir)?;
    fs::remove_dir_all(&old).map_err(io(&old))
}

/// Atomically exchanges the two directories (Linux `renameat2(RENAME_EXCHANGE)`); returns
/// where the previous checkpoint now is.
#[cfg(target_os = "linux")]
fn exchange(staging: &Path, dir: &Path) -> Result<PathBuf, CheckpointError> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, staging, CWD, dir, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(staging.to_path_buf()),
        // File systems without exchange support: fall back to two renames.
        Err(_) => two_renames(staging, dir),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(staging: &Path, dir: &Path) -> Result<PathBuf, CheckpointError> {
    two_renames(staging, dir)
}

/// Not atomic as a whole: between the renames the previous checkpoint sits at `.old`.
fn two_renames(staging: &Path, dir: &Path) -> Result<PathBuf, CheckpointError> {
    let old = staging.with_extension("old");
    fs::rename(dir, &old).map_err(io(dir))?;
    fs::rename(staging, dir).map_err(io(dir))?;
    Ok(old)
}
