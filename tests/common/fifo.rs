//! Special files for the tests that hand a reader something that is not a regular file
//! (shared by the library's own tests through `#[path]`, as `mmsa_pickle.rs` is).

use std::path::Path;

/// A FIFO at `path` (by `mkfifo(1)`: std has no call for it, and rustix's needs a directory
/// descriptor).
pub fn mkfifo(path: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", path.display());
}
