//! Where the default run keeps its generated corpus, and why it can trust it.
//!
//! The corpus lives in the user's cache directory, `$XDG_CACHE_HOME/cmbert-tui/` (else
//! `~/.cache/cmbert-tui/`; the `dirs` crate implements the XDG rules, including ignoring a
//! relative `XDG_CACHE_HOME`), in `corpus-vVERSION-seedSEED/`. A fixed name under a shared
//! `/tmp` let another local user plant links there (the writes followed them) or plant files
//! (they were trained on), so:
//!
//! - `cmbert-tui/` is created with mode 0700 and must be a directory (not a link) owned by
//!   this user and writable by no one else; otherwise the run is refused, naming it.
//! - A corpus is generated into a staging directory beside its final name and swapped in
//!   whole (`fsutil`), its files created with `create_new`.
//! - An existing corpus directory is checked before use: a link, or anything but a regular
//!   file, where one of its files should be is refused (something other than this program
//!   put it there: the user should look); a file whose bytes differ from what the generator
//!   makes for that seed (generated afresh in memory, about 0.1 s; never trusted from the
//!   directory's own `corpus.json`), or a missing one, means a damaged or planted cache, and
//!   the corpus is regenerated (it is deterministic, so nothing is lost).
//! - Without a usable cache directory (no home, a read-only one), the corpus goes to a fresh
//!   private temporary directory (`tempfile`, mode 0700), generated anew each run.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{data_files, Corpus, CorpusConfig, GENERATOR_VERSION, SUMMARY_FILE};
use crate::fsutil;

/// Why the built-in corpus could not be prepared in its cache directory.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{}: {message}", path.display())]
    /// A path in the cache is not what it should be (a link, a foreign file); left as it is.
    Refused {
        /// The path refused.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    #[error("cannot write the built-in corpus to {}: {source}", path.display())]
    /// Writing the corpus failed.
    Io {
        /// The file or directory being written.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
}

/// A corpus ready to read, and what it took.
#[derive(Debug)]
pub struct Prepared {
    /// The directory holding the corpus files.
    pub dir: PathBuf,
    /// Why the cached copy was regenerated, if it was.
    pub regenerated: Option<String>,
    /// Why no cache directory was used (the corpus is in a fresh temporary directory).
    pub no_cache: Option<String>,
}

/// The built-in corpus of `seed`, generated if needed (see the module comment).
pub fn builtin(seed: u64) -> Result<Prepared, CacheError> {
    // Generated once (about 0.1 s): what is written, and what a cached copy must equal.
    let files = Corpus::generate(&CorpusConfig::new(seed))
        .files()
        .map_err(|source| CacheError::Io {
            path: PathBuf::from("the built-in corpus"),
            source,
        })?;
    let root = match private_root()? {
        Ok(root) => root,
        Err(reason) => {
            // tempfile's directories get the umask's mode unless told otherwise.
            let tmp = tempfile::Builder::new()
                .prefix("cmbert-tui-corpus-")
                .permissions(fs::Permissions::from_mode(0o700))
                .tempdir()
                .map_err(|source| CacheError::Io {
                    path: std::env::temp_dir(),
                    source,
                })?
                .keep();
            write(&tmp, &files)?;
            return Ok(Prepared {
                dir: tmp,
                regenerated: None,
                no_cache: Some(reason),
            });
        }
    };
    let name = format!("corpus-v{GENERATOR_VERSION}-seed{seed}");
    let dir = root.join(&name);
    let regenerated = match fs::symlink_metadata(&dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            generate_in_place(&files, &root, &name)?;
            None
        }
        Err(source) => return Err(CacheError::Io { path: dir, source }),
        Ok(m) if !m.is_dir() => {
            return Err(refused(
                &dir,
                "is not a directory (a symbolic link?) where the built-in corpus should be; remove it",
            ))
        }
        Ok(_) => match verify(&dir, &files)? {
            None => None,
            Some(reason) => {
                generate_in_place(&files, &root, &name)?;
                Some(reason)
            }
        },
    };
    Ok(Prepared {
        dir,
        regenerated,
        no_cache: None,
    })
}

fn refused(path: &Path, message: &str) -> CacheError {
    CacheError::Refused {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// `cmbert-tui/` in the cache directory, created 0700. The inner `Err` says why there is
/// no usable cache directory; a hostile one is a `CacheError`.
fn private_root() -> Result<Result<PathBuf, String>, CacheError> {
    let Some(base) = dirs::cache_dir() else {
        return Ok(Err("neither XDG_CACHE_HOME nor HOME names a cache directory".into()));
    };
    let root = base.join("cmbert-tui");
    if let Err(e) = fs::DirBuilder::new().recursive(true).mode(0o700).create(&base) {
        return Ok(Err(format!("cannot create {}: {e}", base.display())));
    }
    match fs::DirBuilder::new().mode(0o700).create(&root) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Ok(Err(format!("cannot create {}: {e}", root.display()))),
    }
    let meta = fs::symlink_metadata(&root).map_err(|source| CacheError::Io {
        path: root.clone(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(refused(
            &root,
            "is not a directory (a symbolic link?); the built-in corpus is kept only in a private directory: remove it",
        ));
    }
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(refused(&root, "belongs to another user; remove it"));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(refused(
            &root,
            "is writable by other users, who could plant corpus files; `chmod 700` it",
        ));
    }
    Ok(Ok(root))
}

fn write(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), CacheError> {
    super::write_files(dir, files).map_err(|source| CacheError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Generates into a staging directory and swaps it in as `root/name`.
fn generate_in_place(files: &[(String, Vec<u8>)], root: &Path, name: &str) -> Result<(), CacheError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CacheError::Io { path, source }
    };
    let staging = fsutil::new_staging_dir(root, name, is_corpus_staging).map_err(io_err(root))?;
    let dir = root.join(name);
    let result = write(&staging, files).and_then(|()| fsutil::replace_dir(&staging, &dir).map_err(io_err(&dir)));
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

fn is_corpus_staging(dir: &Path) -> bool {
    let files = data_files();
    fsutil::only_files_named(dir, |name| name == SUMMARY_FILE || files.iter().any(|f| f == name))
}

/// `None` when every file holds exactly the `expected` bytes; `Some(reason)`
/// when the cache is damaged or was changed and should be regenerated; `Err` when a link or
/// special file sits where a file should be. `expected` comes from the generator, never from
/// the directory's own `corpus.json`: a checksum the directory vouches for itself would let
/// anything that can write there choose what is trained on.
fn verify(dir: &Path, expected: &[(String, Vec<u8>)]) -> Result<Option<String>, CacheError> {
    for (name, _) in expected {
        let path = dir.join(name);
        match fs::symlink_metadata(&path) {
            Ok(m) if !m.is_file() => {
                return Err(refused(
                    &path,
                    "is not a regular file (a symbolic link?) where the built-in corpus keeps one; \
                     cmbert-tui neither reads nor writes corpus files through links: remove the directory",
                ))
            }
            _ => {}
        }
    }
    for (name, want) in expected {
        let path = dir.join(name);
        let mut file = match open(&path)? {
            Ok(file) => file,
            Err(reason) => return Ok(Some(reason)),
        };
        // One byte more than expected is enough to tell a longer file apart.
        let mut got = Vec::with_capacity(want.len() + 1);
        let cap = want.len() as u64 + 1;
        if let Err(e) = file.by_ref().take(cap).read_to_end(&mut got) {
            return Ok(Some(format!("{}: {e}", path.display())));
        }
        if &got != want {
            return Ok(Some(format!(
                "{} differs from what the generator makes for this seed",
                path.display()
            )));
        }
    }
    Ok(None)
}

/// Opens a corpus file; a link found now (planted since the check) is refused, any other
/// failure is a damaged cache.
fn open(path: &Path) -> Result<Result<fs::File, String>, CacheError> {
    match fsutil::open_regular(path) {
        Ok(file) => Ok(Ok(file)),
        Err(e) if fsutil::is_link_error(&e) => Err(refused(path, "is a symbolic link where a corpus file should be")),
        Err(e) => Ok(Err(format!("{}: {e}", path.display()))),
    }
}

/// SHA-256 of `bytes` in lower-case hex, as `corpus.json` records each file's.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_written_corpus_verifies_and_a_tampered_one_does_not() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = CorpusConfig::new(2);
        config.sizes = [20, 5, 5];
        let files = Corpus::generate(&config).files().unwrap();
        Corpus::generate(&config).write(tmp.path()).unwrap();
        assert_eq!(verify(tmp.path(), &files).unwrap(), None);
        let audio = tmp.path().join(super::super::AUDIO_FILE);
        let mut bytes = fs::read(&audio).unwrap();
        bytes[10] ^= 1;
        fs::write(&audio, bytes).unwrap();
        let reason = verify(tmp.path(), &files).unwrap().expect("tampering detected");
        assert!(reason.contains("audio.jsonl") && reason.contains("differs"), "{reason}");
        // A planted corpus whose corpus.json vouches for its own files is not the generator's.
        let planted = tempfile::tempdir().unwrap();
        let mut other = config.clone();
        other.seed += 1;
        Corpus::generate(&other).write(planted.path()).unwrap();
        assert!(verify(planted.path(), &files).unwrap().is_some());
        fs::remove_file(&audio).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("train.tsv"), &audio).unwrap();
        let err = verify(tmp.path(), &files).unwrap_err().to_string();
        assert!(err.contains("audio.jsonl") && err.contains("symbolic link"), "{err}");
    }
}
