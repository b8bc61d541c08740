//! Careless commands and hostile neighbours must not cost the user a file: an existing run
//! is not replaced without `--overwrite`, a resumed checkpoint cannot choose where its run
//! writes, the built-in corpus is neither written through planted links nor trusted when
//! tampered with, and a failed write leaves no temporary file. All through the binary, on
//! tiny runs (the golden fixtures' tiny encoder trains in well under a second).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use common::*;

const SIZES: [usize; 3] = [24, 8, 8];

/// Every file under a directory: bytes and modification time.
type Files = BTreeMap<PathBuf, (Vec<u8>, SystemTime)>;

/// Every file under `dir`: bytes and modification time.
fn snapshot(dir: &Path) -> Files {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), (std::fs::read(&path).unwrap(), meta.modified().unwrap()));
            }
        }
    }
    out
}

/// Runs the binary with extra environment; (exit code, stderr).
fn run_env(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> (i32, String) {
    let (code, _, stderr) = cli_env(dir, args, env);
    (code, stderr)
}

/// A one-epoch tiny training into `out`; returns (exit code, stderr).
fn train(data: &Path, out: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = train_args(data, &tiny_bert(), out);
    args.extend(
        ["--epochs", "1", "--batch-size", "8"]
            .iter()
            .chain(extra)
            .map(|a| a.to_string()),
    );
    let (code, _, stderr) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    (code, stderr)
}

/// A finished one-epoch run in `tmp/run` on `tmp/data`: (data, run, its files).
fn finished_run(tmp: &Path) -> (PathBuf, PathBuf, Files) {
    let data = tmp.join("data");
    write_tiny_corpus(&data, SIZES);
    let out = tmp.join("run");
    let (code, stderr) = train(&data, &out, &[]);
    assert_eq!(code, 0, "{stderr}");
    let before = snapshot(&out);
    (data, out, before)
}

fn error_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line: {stderr}");
    lines[0]
}

#[test]
fn an_existing_run_is_refused_untouched_and_replaced_only_with_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out, before) = finished_run(tmp.path());

    let (code, stderr) = train(&data, &out, &["--seed", "2"]);
    assert_eq!(code, 2, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains(&s(&out))
            && line.contains(&format!("--resume {}", s(&out.join("last"))))
            && line.contains("--overwrite"),
        "{line}"
    );
    assert_eq!(before, snapshot(&out), "the previous run is untouched");
    // --overwrite removes the previous run only once the new one is ready to start.
    let (code, stderr) = train(&tmp.path().join("no-data"), &out, &["--overwrite"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(before, snapshot(&out), "a run that failed to start replaced nothing");
    // Settings refused only against the encoder or the head, also before anything goes.
    for refused in [["--max-len", "100000"], ["--audio-dim", "0"]] {
        let (code, stderr) = train(&data, &out, &[&["--overwrite"], &refused[..]].concat());
        assert_eq!(code, 2, "{stderr}");
        let field = refused[0].trim_start_matches("--").replace('-', "_");
        assert!(error_line(&stderr).contains(&field), "{stderr}");
        assert_eq!(
            before,
            snapshot(&out),
            "refused {refused:?}: the previous run is untouched"
        );
    }

    let (code, stderr) = train(&data, &out, &["--seed", "2", "--overwrite"]);
    assert_eq!(code, 0, "{stderr}");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("last/config.json")).unwrap()).unwrap();
    assert_eq!(
        config["cmbert"]["training"]["spec"]["seed"], 2,
        "replaced by the new run"
    );
}

/// A refused run leaves nothing behind: neither the run directory it would have used (named
/// or default) nor the scratch BERT it writes before reading the data.
#[test]
fn a_refused_run_leaves_no_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let env = [("XDG_CACHE_HOME", cache.as_path())];
    for args in [
        &["train", "--headless", "--data", "missing"][..],
        &["train", "--headless", "--lr", "0"],
        &["train", "--headless", "--data", "missing", "--out", "a/b/run"],
        &["train", "--headless", "--max-len", "100000", "--out", "run"],
    ] {
        let (code, stderr) = run_env(tmp.path(), args, &env);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "cache")
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?}: {stderr}");
    }
    // A directory the user had stays, with what it holds.
    let mine = tmp.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "mine").unwrap();
    let (code, stderr) = run_env(tmp.path(), &["train", "--headless", "--lr", "0", "--out", "mine"], &env);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        std::fs::read_dir(&mine).unwrap().count(),
        1,
        "only the user's file is left"
    );
}

/// Two runs without `--out` started in the same second get two directories. The names of
/// the coming minute are taken beforehand by a "previous run", which must survive.
#[test]
fn runs_without_out_never_share_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let now = chrono::Utc::now();
    for dt in -2..60 {
        let stamp = (now + chrono::Duration::seconds(dt)).format("%Y%m%d-%H%M%S");
        let marker = tmp.path().join(format!("checkpoints/cm-bert-{stamp}/best/marker"));
        std::fs::create_dir_all(marker.parent().unwrap()).unwrap();
        std::fs::write(&marker, "previous run").unwrap();
    }
    let before = snapshot(&tmp.path().join("checkpoints"));
    let args = [
        "train",
        "--headless",
        "--data",
        &s(&data),
        "--bert",
        &s(&tiny_bert()),
        "--epochs",
        "1",
        "--batch-size",
        "8",
    ];
    for _ in 0..2 {
        let (code, stderr) = run_env(tmp.path(), &args, &[("TZ", Path::new("UTC"))]);
        assert_eq!(code, 0, "{stderr}");
    }
    let after = snapshot(&tmp.path().join("checkpoints"));
    for (path, file) in &before {
        assert_eq!(after.get(path), Some(file), "{} untouched", path.display());
    }
    let runs: Vec<_> = after
        .keys()
        .filter(|p| p.ends_with("last/config.json"))
        .map(|p| p.parent().unwrap().parent().unwrap().to_path_buf())
        .collect();
    assert_eq!(runs.len(), 2, "two new run directories: {runs:?}");
    assert!(
        runs.iter().all(|r| !before.keys().any(|p| p.starts_with(r))),
        "{runs:?}"
    );
}

/// A checkpoint's config names another run's directory: resuming it must not write there.
#[test]
fn a_resumed_checkpoint_cannot_choose_where_the_run_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let (a, victim) = (tmp.path().join("a"), tmp.path().join("victim"));
    for out in [&a, &victim] {
        let (code, stderr) = train(&data, out, &[]);
        assert_eq!(code, 0, "{stderr}");
    }
    // The crafted file: its run directory is the victim's, and one more epoch is due.
    let config_path = a.join("last/config.json");
    let craft = |epochs: usize| {
        let mut config: serde_json::Value = serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
        config["cmbert"]["training"]["spec"]["out"] = serde_json::json!(s(&victim));
        config["cmbert"]["training"]["spec"]["epochs"] = serde_json::json!(epochs);
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    };
    craft(2);
    let victim_before = snapshot(&victim);
    let a_before = snapshot(&a);
    let last = s(&a.join("last"));
    let (code, _, stderr) = cli(&["train", "--headless", "--resume", &last]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        victim_before,
        snapshot(&victim),
        "the directory the file names is untouched"
    );
    assert_ne!(a_before, snapshot(&a), "the run continued beside its checkpoint");

    // An --out that holds another run is refused like a new run's.
    craft(3);
    let a_before = snapshot(&a);
    let (code, _, stderr) = cli(&["train", "--headless", "--resume", &last, "--out", &s(&victim)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(error_line(&stderr).contains("--overwrite"), "{stderr}");
    assert_eq!(victim_before, snapshot(&victim));

    // With a new --out, the continued run goes there, with the run's best/ beside its last/.
    let elsewhere = tmp.path().join("elsewhere");
    let (code, _, stderr) = cli(&["train", "--headless", "--resume", &last, "--out", &s(&elsewhere)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(elsewhere.join("best/model.safetensors").is_file() && elsewhere.join("last/config.json").is_file());
    assert_eq!(
        a_before,
        snapshot(&a),
        "resuming into --out leaves the source run alone"
    );
    assert_eq!(victim_before, snapshot(&victim));
}

/// The cache and the old fixed name under the temporary directory both hold planted links:
/// no run may write through them.
#[test]
fn planted_links_in_the_corpus_directory_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "the user's file").unwrap();
    let (cache, tmpdir) = (tmp.path().join("cache"), tmp.path().join("tmp"));
    let planted = [
        cache.join("cmbert-tui/corpus-v1-seed1"),
        tmpdir.join("cmbert-tui-corpus-v1-seed1"),
    ];
    for dir in &planted {
        std::fs::create_dir_all(dir).unwrap();
        for name in ["train.tsv", "train.tmp", "audio.jsonl", "audio.tmp"] {
            std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
        }
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(cache.join("cmbert-tui"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let env = [("XDG_CACHE_HOME", cache.as_path()), ("TMPDIR", tmpdir.as_path())];
    // --bert names nothing: a run that got past the corpus stops there.
    let args = [
        "train",
        "--headless",
        "--bert",
        &s(&tmp.path().join("no-bert")),
        "--out",
        &s(&tmp.path().join("run")),
    ];
    let (code, stderr) = run_env(tmp.path(), &args, &env);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "the user's file");
    assert_eq!(code, 2, "{stderr}");
    let line = error_line(&stderr);
    assert!(
        line.contains("corpus-v1-seed1/") && line.contains("symbolic link"),
        "{line}"
    );

    // A link where the cache's own directory should be is refused too.
    std::fs::remove_dir_all(cache.join("cmbert-tui")).unwrap();
    std::os::unix::fs::symlink(tmp.path(), cache.join("cmbert-tui")).unwrap();
    let (code, stderr) = run_env(tmp.path(), &args, &env);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        error_line(&stderr).contains("cmbert-tui: is not a directory"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "the user's file");
}

#[test]
fn a_tampered_corpus_is_detected_and_generated_again() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let env = [("XDG_CACHE_HOME", cache.as_path()), ("TMPDIR", tmp.path())];
    let args = [
        "train",
        "--headless",
        "--bert",
        &s(&tmp.path().join("no-bert")),
        "--out",
        &s(&tmp.path().join("run")),
    ];
    let (_, stderr) = run_env(tmp.path(), &args, &env);
    let dir = cache.join("cmbert-tui/corpus-v1-seed1");
    assert!(stderr.contains(&s(&dir)), "{stderr}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(cache.join("cmbert-tui"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "the cache directory is private");
    let train = dir.join("train.tsv");
    let original = std::fs::read(&train).unwrap();
    let tampered = String::from_utf8(original.clone()).unwrap().replacen("\t-", "\t", 1);
    assert_ne!(tampered.as_bytes(), original);
    std::fs::write(&train, tampered).unwrap();

    let (_, stderr) = run_env(tmp.path(), &args, &env);
    assert!(
        stderr.contains("train.tsv differs from what the generator makes") && stderr.contains("generated again"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&train).unwrap(),
        original,
        "the corpus trained on is the generator's"
    );
}

/// No usable cache directory (a relative XDG_CACHE_HOME is ignored, as the XDG rules say,
/// and HOME is a file): the corpus goes to a new private temporary directory.
#[test]
fn without_a_cache_directory_the_corpus_goes_to_a_private_temporary_one() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home-is-a-file");
    std::fs::write(&home, "").unwrap();
    let tmpdir = tmp.path().join("tmp");
    std::fs::create_dir(&tmpdir).unwrap();
    let env = [
        ("XDG_CACHE_HOME", Path::new("relative/cache")),
        ("HOME", home.as_path()),
        ("TMPDIR", tmpdir.as_path()),
    ];
    let args = [
        "train",
        "--headless",
        "--bert",
        &s(&tmp.path().join("no-bert")),
        "--out",
        &s(&tmp.path().join("run")),
    ];
    let (_, stderr) = run_env(tmp.path(), &args, &env);
    assert!(stderr.contains("note: no cache directory"), "{stderr}");
    let dirs: Vec<PathBuf> = std::fs::read_dir(&tmpdir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert!(
        stderr.contains(&s(&dirs[0])) && dirs[0].join("train.tsv").is_file(),
        "{stderr}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&dirs[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "private");
    assert!(!tmp.path().join("relative").exists());
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect()
}

/// The final rename fails (the target is a non-empty directory): no temporary file stays.
#[test]
fn a_failed_final_rename_leaves_no_temporary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let run = tmp.path().join("run");
    let (code, stderr) = train(&data, &run, &[]);
    assert_eq!(code, 0, "{stderr}");
    let outputs = tmp.path().join("outputs");
    let taken = |name: &str| {
        let p = outputs.join(name);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("keep"), "x").unwrap();
        s(&p)
    };
    let best = s(&run.join("best"));
    let data = s(&data);
    let speech = s(&fixtures().join("speech"));
    let commands: [Vec<String>; 3] = [
        [
            "eval",
            "--checkpoint",
            &best,
            "--data",
            &data,
            "--force",
            "--predictions",
        ]
        .map(String::from)
        .into_iter()
        .chain([taken("preds.jsonl")])
        .collect(),
        [
            "export",
            "--checkpoint",
            &best,
            "--data",
            &data,
            "--index",
            "0",
            "--format",
            "json",
            "--force",
            "--out",
        ]
        .map(String::from)
        .into_iter()
        .chain([taken("snap.json")])
        .collect(),
        [
            "features",
            "--audio-dir",
            &speech,
            "--alignments",
            &speech,
            "--data",
            &speech,
            "--force",
            "--out",
        ]
        .map(String::from)
        .into_iter()
        .chain([taken("audio.jsonl")])
        .collect(),
    ];
    for args in &commands {
        let (code, _, stderr) = cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(error_line(&stderr).contains(args.last().unwrap()), "{stderr}");
        assert_eq!(temporaries(&outputs), Vec::<String>::new(), "{args:?}");
    }
}

/// One writer per run directory: a run directory another process is writing (here: this
/// test holds its lock, as a running training would) is refused, by `train --out`, with
/// `--overwrite` and by `--resume`; once free, the same commands go ahead.
#[test]
fn a_run_directory_has_one_writer_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, out, before) = finished_run(tmp.path());
    let held = cmbert::fsutil::lock_dir(&out).unwrap().expect("free");
    let resume = ["train", "--headless", "--resume", &s(&out), "--epochs", "2"];
    let resumed = {
        let (code, _, stderr) = cli(&resume);
        (code, stderr)
    };
    for (code, stderr) in [train(&data, &out, &["--overwrite"]), resumed] {
        assert_eq!(code, 2, "{stderr}");
        assert!(
            error_line(&stderr).contains("is being written by another cmbert-tui run"),
            "{stderr}"
        );
    }
    assert_eq!(before, snapshot(&out), "untouched while another writer holds it");
    // `runs` tells a run being written from one that stopped (without its results, as
    // while it trains).
    std::fs::remove_file(out.join("results.json")).unwrap();
    let (_, listing, _) = cli(&["runs", &s(tmp.path())]);
    assert!(listing.contains("running now"), "{listing}");
    drop(held);
    let (_, listing, _) = cli(&["runs", &s(tmp.path())]);
    assert!(
        !listing.contains("running now") && listing.contains("stopped"),
        "{listing}"
    );
    let (code, _, stderr) = cli(&resume);
    assert_eq!(code, 0, "free again: {stderr}");
}

/// A `best/` or `last/` folder that is not a checkpoint is not a previous run to replace.
#[test]
fn a_folder_named_best_that_is_no_checkpoint_is_never_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let out = tmp.path().join("mine");
    std::fs::create_dir_all(out.join("best")).unwrap();
    std::fs::write(out.join("best/thesis.tex"), "mine").unwrap();
    let (code, stderr) = train(&data, &out, &["--overwrite"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(error_line(&stderr).contains("is not a checkpoint"), "{stderr}");
    assert_eq!(std::fs::read_to_string(out.join("best/thesis.tex")).unwrap(), "mine");
}

/// `corpus --out` at a directory of the user's data refuses, naming what it would replace;
/// a corpus it wrote before is rewritten, and --force replaces the user's files.
#[test]
fn corpus_does_not_write_over_data_it_did_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("train.tsv"), "my own train data\n").unwrap();
    let corpus = |extra: &[&str]| {
        let out = s(&mine);
        let mut args = vec!["corpus", "--sizes", "3,3,3", "--out", &out];
        args.extend(extra);
        let (code, _, stderr) = cli(&args);
        (code, stderr)
    };
    let (code, stderr) = corpus(&[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(error_line(&stderr).contains("already holds train.tsv"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(mine.join("train.tsv")).unwrap(),
        "my own train data\n"
    );
    let (code, stderr) = corpus(&["--force"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stderr) = corpus(&[]);
    assert_eq!(code, 0, "a corpus is rewritten: {stderr}");
    let (code, _, stderr) = cli(&["corpus", "--sizes", "100000000000,1,1", "--out", &s(&mine)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("must be from 1 to 1000000"), "{stderr}");
}
