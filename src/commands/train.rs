//! `cmbert-tui train`: one run or several seeds, headless or in the app; or a resumed run.
//!
//! A run stopped before its end (`q` in the app, Ctrl-C or another signal headless) saves
//! `last/` after its current step and prints the command that continues it. Headless, the
//! signals come through `ui::session` (the one place that handles them): the first stops the
//! run, a second one during the save ends the process at once.

use crate::commands::printer::tell;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::thread;

use anyhow::{bail, Context, Result};

use crossbeam_channel::{never, select, unbounded};

use super::printer::{format_duration, say, Printer};
use crate::checkpoint::Checkpoint;
use crate::cli::TrainArgs;
use crate::corpus;
use crate::data::{Dataset, Scaling, Split, TextEncoder};
use crate::fsutil::DirLock;
use crate::hub::resolve_bert;
use crate::model::bf16::Precision;
use crate::model::{BertConfig, ModelKind};
use crate::train::attention_log::AttentionLog;
use crate::train::engine::run_dir_of;
use crate::train::history::HISTORY_FILE;
use crate::train::{AfterRun, Command, Preset, RunSpec, RunSummary, Trainer};
use crate::ui::session;

/// How `train` ended: its settings (the last seed's output directory for multi-seed runs),
/// and whether every run finished (false when the user stopped one).
pub struct TrainOutcome {
    /// The run's settings (the last seed's, for several seeds).
    pub spec: RunSpec,
    /// Every run finished (false when the user stopped one).
    pub finished: bool,
}

/// Runs `cmbert-tui train`: one run, several seeds, or a resumed run, headless or in the app.
pub fn run(args: TrainArgs) -> Result<TrainOutcome> {
    let device = args.device.open()?;
    // A bad theme is reported before any work, even for a headless run.
    crate::ui::Theme::load(&args.look.theme)?;
    if let Some(dir) = &args.resume {
        let dir = &super::runs::checkpoint_in(dir, super::runs::Pick::Last)?;
        // The flags are held to the checkpoint before anything is written (a new --out is
        // prepared only after).
        let mut trainer = Trainer::resume(dir, &device)?;
        let applied = super::resume::amend(&args, &mut trainer, dir)?;
        // A new --out gets a copy of the run's best/: the one `resume` loaded.
        let (out, _lock) = resume_out(dir, args.out.as_deref(), args.overwrite)?;
        trainer.spec.out = Some(out);
        let spec = trainer.spec.clone();
        let data = load_data(
            &spec,
            trainer.vocab(),
            trainer.head().audio_dim,
            Scaling::Trained(trainer.audio_features()),
            trainer.model().bert.config.vocab_size,
        )?;
        applied.print(&spec, data.split(Split::Train).len());
        // The utterances the run recorded so far go on being recorded (`--watch` adds).
        let mut watched = args.watch.clone();
        if let Some(out) = &spec.out {
            let recorded = AttentionLog::read(&AttentionLog::path_in(out)).map(|log| log.tracks);
            for t in recorded.unwrap_or_default() {
                if !watched.contains(&(t.split, t.index)) && t.index < data.split(t.split).len() {
                    watched.push((t.split, t.index));
                }
            }
        }
        check_watched(&watched, &data)?;
        let trainer = trainer.with_watched(watched);
        let label = format!("{} seed {}", spec.model, spec.seed);
        let summary = if dashboard(&args, 1) {
            let bert = format!(
                "{} (resumed){}",
                spec.bert.display(),
                super::products_note(spec.precision)
            );
            run_dashboard(trainer, &data, label, &args.look, bert)?
        } else {
            run_one(trainer, &data, label)?
        };
        let finished = summary.is_some();
        match summary {
            Some(s) => {
                super::runs::record_results(&s);
                print_table(&spec, &[s])
            }
            None => print_stopped(spec.out.as_deref(), &[], None),
        }
        return Ok(TrainOutcome { spec, finished });
    }
    let seeds: Vec<u64> = match args.seeds {
        Some(n) if n > 0 => (1..=n as u64).collect(),
        Some(_) => bail!("--seeds must be at least 1"),
        None => vec![args.seed.unwrap_or(1)],
    };
    // What this run creates before it is known to start (its directory, `scratch-bert/`)
    // goes again if it is refused, so that a refused command leaves no run behind.
    let mut provisional = crate::fsutil::Provisional::default();
    let (out, named) = match &args.out {
        Some(out) => {
            if std::fs::metadata(out).is_ok_and(|m| !m.is_dir()) {
                bail!("--out {}: a file, not a directory", out.display());
            }
            provisional.note_missing(out);
            std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
            (out.clone(), true)
        }
        None => {
            provisional.note_missing(Path::new(super::runs::DEFAULT_DIR));
            let dir = default_out(args.model())?;
            provisional.note_created(&dir);
            (dir, false)
        }
    };
    // Held until the command ends: no other run writes here meanwhile (each seed's own
    // directory is locked too as its run starts, against a `--resume` of it).
    let _lock = lock_run(&out)?;
    let runs: Vec<PathBuf> = seeds.iter().map(|&s| seed_dir(&out, s, seeds.len())).collect();
    // A directory of our own making holds no previous run.
    let replaced = if named {
        previous_runs(&runs, args.overwrite)?
    } else {
        Vec::new()
    };
    let base = spec_from_args(&args, out)?;
    let encoder = if args.bert.is_some() {
        Checkpoint::load(&base.bert, &device).with_context(|| format!("cannot load --bert {}", base.bert.display()))?
    } else {
        let cfg = BertConfig::scratch(corpus::scratch_vocab().len());
        say!(
            "bert: none given: a small BERT trained from scratch ({} layers, hidden {}), preset {}",
            cfg.num_hidden_layers,
            cfg.hidden_size,
            base.preset
        );
        provisional.note_missing(&base.bert);
        for file in Checkpoint::SCRATCH_FILES {
            provisional.note_missing(&base.bert.join(file));
        }
        Checkpoint::scratch(&base.bert, cfg, &corpus::scratch_vocab())?
    };
    let data = load_data(
        &base,
        &encoder.vocab,
        args.audio_dim(),
        Scaling::Fit,
        encoder.bert.vocab_size,
    )?;
    say!(
        "data: {} ({} / {} / {} utterances); audio: {}",
        base.data.display(),
        data.splits[0].len(),
        data.splits[1].len(),
        data.splits[2].len(),
        data.audio.describe()
    );
    if base.model == ModelKind::CmBert && base.audio.is_none() {
        say!("note: no --audio given: CM-BERT runs on zero audio");
    }
    check_watched(&args.watch, &data)?;
    Trainer::check(&base, &encoder, data.audio.dim)?;
    // Only now that the new run is ready to start does --overwrite remove the previous one.
    remove_previous(&replaced)?;
    provisional.keep();
    super::runs::announce(base.out.as_deref(), seeds.len());
    let mut summaries = Vec::new();
    for (i, &seed) in seeds.iter().enumerate() {
        // A signal between two seeds (after one ended, before the next started) stops too.
        if session::ended_by_signal().is_some() {
            if !summaries.is_empty() {
                print_table(&base, &summaries);
            }
            print_stopped(None, &seeds[i..], base.out.as_deref());
            return Ok(TrainOutcome {
                spec: base,
                finished: false,
            });
        }
        let mut spec = base.clone();
        spec.seed = seed;
        spec.out = spec.out.map(|o| seed_dir(&o, seed, seeds.len()));
        let spec_out = spec.out.clone();
        let _seed_lock = match (&spec_out, seeds.len()) {
            (Some(dir), n) if n > 1 => {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                Some(lock_run(dir)?)
            }
            _ => None,
        };
        let trainer = Trainer::new(spec, &encoder, data.audio.dim, &device)?
            .with_audio_features(data.audio.features.clone())
            .with_watched(args.watch.clone());
        let label = format!("{} seed {seed}", base.model);
        let outcome = if dashboard(&args, seeds.len()) {
            run_dashboard(
                trainer,
                &data,
                label,
                &args.look,
                bert_line(&args, &encoder, base.precision),
            )?
        } else {
            run_one(trainer, &data, label)?
        };
        match outcome {
            Some(s) => {
                super::runs::record_results(&s);
                summaries.push(s)
            }
            None => {
                if !summaries.is_empty() {
                    print_table(&base, &summaries);
                }
                print_stopped(spec_out.as_deref(), &seeds[i + 1..], base.out.as_deref());
                return Ok(TrainOutcome {
                    spec: base,
                    finished: false,
                });
            }
        }
    }
    print_table(&base, &summaries);
    Ok(TrainOutcome {
        spec: base,
        finished: true,
    })
}

/// After a run stopped before its end: the command that continues it (when it saved
/// `last/`), and the seeds of a multi-seed run that never started.
/// `root`: the directory of a multi-seed run, whose `seed-S/` the seeds not started go to.
fn print_stopped(out: Option<&Path>, not_started: &[u64], root: Option<&Path>) {
    let last = out.map(|o| o.join("last")).filter(|l| l.is_dir());
    say!(
        "stopped at your request{}",
        last.map(|l| format!("; continue with: cmbert-tui train --resume {}", l.display()))
            .unwrap_or_default()
    );
    if !not_started.is_empty() {
        let seeds: Vec<String> = not_started.iter().map(u64::to_string).collect();
        say!("seeds not started: {}", seeds.join(", "));
        if let Some(root) = root {
            // `runs` and `compare` group the seed-S directories under one run, however each
            // was made, so a seed started on its own completes the set.
            say!(
                "start each with the same command, --seeds N replaced by --seed S --out {}",
                root.join("seed-S").display()
            );
        }
    }
}

fn spec_from_args(args: &TrainArgs, out: PathBuf) -> Result<RunSpec> {
    let (data, audio) = match &args.data {
        // An MMSA pickle carries its own audio: recorded as the run's audio file, so that
        // `eval`, `export` and `open` find it as they find any other.
        Some(file) if crate::data::mmsa::is_pickle(file) && args.audio.is_none() => (file.clone(), Some(file.clone())),
        Some(dir) => (dir.clone(), args.audio.clone()),
        None => {
            let dir = builtin_corpus(args.corpus_seed())?;
            let audio = args.audio.clone().unwrap_or_else(|| dir.join(corpus::AUDIO_FILE));
            (dir, Some(audio))
        }
    };
    // Recorded absolute: `eval`, `export` and `open` use them from any working directory
    // when no --data or --audio is given (commands::inputs).
    let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    let (data, audio) = (absolute(data), audio.map(absolute));
    let (bert, default_preset) = match &args.bert {
        Some(source) => (resolve_bert(source)?, Preset::Paper),
        None => (absolute(out.join("scratch-bert")), Preset::Scratch),
    };
    let mut spec = match args.preset.unwrap_or(default_preset) {
        Preset::Paper => RunSpec::paper(data, bert, args.model()),
        Preset::Scratch => RunSpec::scratch(data, bert, args.model()),
    };
    spec.audio = audio;
    spec.cls_audio = args.cls_audio();
    spec.epochs = args.epochs.unwrap_or(spec.epochs);
    spec.batch_size = args.batch_size.unwrap_or(spec.batch_size);
    spec.eval_batch_size = args.eval_batch_size.unwrap_or(spec.eval_batch_size);
    spec.groups.lr = args.lr.unwrap_or(spec.groups.lr);
    spec.groups.head_lr = args.head_lr.unwrap_or(spec.groups.head_lr);
    spec.groups.weight_decay = args.weight_decay.unwrap_or(spec.groups.weight_decay);
    spec.warmup = args.warmup.unwrap_or(spec.warmup);
    spec.max_grad_norm = args.max_grad_norm.unwrap_or(spec.max_grad_norm);
    spec.max_len = args.max_len.unwrap_or(spec.max_len);
    spec.seed = args.seed.unwrap_or(1);
    spec.label = args.label.unwrap_or_default();
    spec.save_every = args.save_every;
    spec.precision = args.precision.unwrap_or_default();
    super::say_if_bf16_unavailable(spec.precision);
    spec.out = Some(out);
    // The same check a resumed spec gets (`Trainer::resume`), before any data is read.
    spec.validate().context("invalid training settings")?;
    Ok(spec)
}

/// The built-in corpus of `seed` from the user's cache (generated once per seed and
/// generator version, and checked before each use: `corpus::cache`).
pub fn builtin_corpus(seed: u64) -> Result<PathBuf> {
    let prepared = corpus::cache::builtin(seed)?;
    if let Some(reason) = &prepared.no_cache {
        say!("note: no cache directory ({reason}); the corpus goes to a new private directory");
    }
    if let Some(reason) = &prepared.regenerated {
        say!("note: {reason}; the built-in corpus was generated again");
    }
    say!(
        "data: the built-in prosody corpus (seed {seed}) in {}",
        prepared.dir.display()
    );
    Ok(prepared.dir)
}

/// Where seed `seed` of a run of `n` seeds writes: `out`, or `out/seed-S` for several.
fn seed_dir(out: &Path, seed: u64, n: usize) -> PathBuf {
    if n > 1 {
        out.join(format!("seed-{seed}"))
    } else {
        out.to_path_buf()
    }
}

/// What a run writes into its directory: its checkpoints, its history and, once finished,
/// its results.
const RUN_OUTPUTS: [&str; 4] = ["best", "last", HISTORY_FILE, super::runs::RESULTS_FILE];

/// The `best/` and `last/` already in the run directories: a run that this one did not
/// make, so refused unless `overwrite`; with it, what [`remove_previous`] removes once the
/// new run is ready to start (and only that), so that a directory never mixes two runs.
fn previous_runs(runs: &[PathBuf], overwrite: bool) -> Result<Vec<PathBuf>> {
    let mut previous = Vec::new();
    for run in runs {
        let existing: Vec<PathBuf> = RUN_OUTPUTS
            .iter()
            .map(|name| run.join(name))
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .collect();
        // A `best/` or `last/` that is no checkpoint (a folder of the user's that happens to
        // have the name) is not ours to remove, even with --overwrite; a link is (only the
        // link goes).
        if let Some(foreign) = existing
            .iter()
            .find(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()) && !p.join("config.json").is_file())
        {
            bail!(
                "{} is not a checkpoint (no config.json), and the run would replace it; \
                 move it away or choose another --out",
                foreign.display()
            );
        }
        if !existing.is_empty() && !overwrite {
            bail!(
                "{} holds a previous run ({}); continue it with `--resume {}` or pass --overwrite to replace it",
                run.display(),
                existing
                    .iter()
                    .map(|p| format!("{}{}", p.display(), if p.is_dir() { "/" } else { "" }))
                    .collect::<Vec<_>>()
                    .join(", "),
                run.join("last").display()
            );
        }
        previous.extend(existing);
    }
    Ok(previous)
}

fn remove_previous(paths: &[PathBuf]) -> Result<()> {
    for path in paths {
        let removed = match std::fs::symlink_metadata(path) {
            // remove_dir_all removes a link itself, never what it points to.
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
            _ => std::fs::remove_file(path),
        };
        removed.with_context(|| format!("--overwrite: cannot remove {}", path.display()))?;
    }
    Ok(())
}

/// Where a resumed run writes: beside the checkpoint, or into `--out`. A different `--out`
/// gets the run's `best/` copied first (the resumed run keeps comparing against it and
/// evaluates it at the end) and its `history.jsonl` (the resumed session is appended to the
/// copy), after the same refusal as a new run.
fn resume_out(checkpoint: &Path, out: Option<&Path>, overwrite: bool) -> Result<(PathBuf, DirLock)> {
    let beside = run_dir_of(checkpoint);
    let Some(out) = out else {
        let lock = lock_run(&beside)?;
        return Ok((beside, lock));
    };
    let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if same(out, &beside) {
        return Ok((out.to_path_buf(), lock_run(out)?));
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let lock = lock_run(out)?;
    remove_previous(&previous_runs(&[out.to_path_buf()], overwrite)?)?;
    let best = beside.join("best");
    if best.is_dir() {
        crate::checkpoint::copy(&best, &out.join("best"))
            .with_context(|| format!("cannot copy {} into --out", best.display()))?;
    }
    // The curve continues in the new directory: the resumed session is appended to a copy.
    let history = beside.join(HISTORY_FILE);
    // Present, not `is_file`: a history that is a FIFO or a device is refused (copying it
    // would block or never end), not silently left behind.
    if crate::fsutil::input_present(&history) {
        crate::fsutil::check_input(&history).map_err(|e| anyhow::anyhow!("{}: {e}", history.display()))?;
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        std::fs::copy(&history, out.join(HISTORY_FILE))
            .with_context(|| format!("cannot copy {} into --out", history.display()))?;
    }
    Ok((out.to_path_buf(), lock))
}

/// This process's lock on the run directory `dir` (`fsutil::lock_dir`), or the refusal
/// that another run (a training, a `--resume`) is writing there now.
fn lock_run(dir: &Path) -> Result<DirLock> {
    match crate::fsutil::lock_dir(dir).with_context(|| format!("cannot lock {}", dir.display()))? {
        Some(lock) => Ok(lock),
        None => bail!(
            "{} is being written by another cmbert-tui run that is still going (a training or a --resume); \
             wait for it to end, or choose another --out",
            dir.display()
        ),
    }
}

/// A new directory `checkpoints/<model>-<time>` (`-2`, `-3`, ... when taken), claimed by
/// creating it, so that two runs started in the same second never share one.
fn default_out(model: ModelKind) -> Result<PathBuf> {
    let parent = PathBuf::from(super::runs::DEFAULT_DIR);
    std::fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let stamp = format!("{model}-{}", chrono::Local::now().format("%Y%m%d-%H%M%S"));
    for n in 1..1000 {
        let dir = parent.join(if n == 1 { stamp.clone() } else { format!("{stamp}-{n}") });
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
        }
    }
    bail!(
        "{}: no free name for this run's directory ({stamp}-N)",
        parent.display()
    )
}

/// `vocab_size`: the model's word embeddings, which every token id must be below.
/// Every `--watch` names an utterance the data holds.
fn check_watched(watched: &[(Split, usize)], data: &Dataset) -> Result<()> {
    for &(split, index) in watched {
        let n = data.split(split).len();
        if index >= n {
            bail!(
                "--watch {split}:{index}: the {split} split of {} has {n} utterances (0 to {})",
                data.dir.display(),
                n.saturating_sub(1)
            );
        }
    }
    Ok(())
}

/// The run's data (its recorded label of an MMSA pickle, `RunSpec::label`).
/// The run's data, tokenised with `vocab` (a vocab.txt or tokenizer.json).
fn load_data(
    spec: &RunSpec,
    vocab: &Path,
    audio_dim: usize,
    scaling: Scaling<'_>,
    vocab_size: usize,
) -> Result<Dataset> {
    let encoder = TextEncoder::from_file(vocab, spec.max_len)?.with_vocab_limit(vocab_size);
    Ok(Dataset::load_labelled(
        &spec.data,
        spec.audio.as_deref(),
        &encoder,
        audio_dim,
        scaling,
        spec.label,
    )?)
}

/// The dashboard for one seed on a terminal, unless asked for plain progress.
fn dashboard(args: &TrainArgs, seeds: usize) -> bool {
    !args.headless && seeds == 1 && std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

fn bert_line(args: &TrainArgs, encoder: &Checkpoint, precision: Precision) -> String {
    let size = format!(
        "{} layers, hidden {}",
        encoder.bert.num_hidden_layers, encoder.bert.hidden_size
    );
    let note = super::products_note(precision);
    match &args.bert {
        Some(source) => format!("{source} ({size}){note}"),
        None => format!("from scratch ({size}){note}"),
    }
}

fn run_dashboard(
    trainer: Trainer,
    data: &Dataset,
    label: String,
    look: &crate::cli::LookArgs,
    bert: String,
) -> Result<Option<RunSummary>> {
    let theme = crate::ui::Theme::load(&look.theme)?;
    let spec = &trainer.spec;
    let info = crate::ui::RunInfo {
        run_name: label,
        model: Some(crate::ui::ModelInfo {
            kind: spec.model,
            cls_audio: Some(spec.cls_audio),
            preset: Some(spec.preset),
        }),
        bert,
        data: super::open::data_line(data, &super::inputs::AudioUsed::of_training(spec)),
        checkpoint: spec.out.as_ref().map(|o| o.display().to_string()),
    };
    let mut app = crate::ui::App::new(
        crate::ui::RunState::with_info(info),
        crate::ui::Browser::from_dataset(data, crate::data::Split::Dev),
        theme,
        crate::ui::Activity::Training,
    );
    // A resumed run's engine continues its attention file: `<` reaches back before the resume.
    if let (Some(out), true) = (&spec.out, trainer.progress().global_step > 0) {
        app.explorer.timeline = crate::ui::timeline::Timeline::live_continuing(out);
    }
    let look = look.clone();
    let outcome = crate::ui::terminal::train(trainer, data, &mut app, &mut |app, request| {
        super::open::on_request(app, request, &look)
    })?;
    if let Some(summary) = &outcome {
        say!(
            "{}: test {} ({})",
            app.state.info.run_name,
            super::printer::short_metrics(&summary.test),
            format_duration(summary.wall_time)
        );
    }
    Ok(outcome)
}

/// Runs the engine on a named thread and prints its events. A signal (Ctrl-C, SIGTERM,
/// SIGHUP) stops the run after its current step, which saves `last/` (`None`: stopped); a
/// second one ends the process at once (`ui::session`).
fn run_one(trainer: Trainer, data: &Dataset, label: String) -> Result<Option<RunSummary>> {
    let (events_tx, events_rx) = unbounded();
    let (commands_tx, commands_rx) = unbounded();
    let (signals_tx, signals_rx) = unbounded();
    let _forwarding = session::forward_signals(signals_tx);
    let mut printer = Printer::new(label);
    let outcome = thread::scope(|scope| {
        let worker = trainer.spawn_scoped(scope, data, events_tx, commands_rx, AfterRun::Return);
        let mut stopping = false;
        loop {
            select! {
                recv(events_rx) -> event => match event {
                    Ok(event) => printer.handle(&event),
                    Err(_) => break,
                },
                recv(if stopping { never() } else { signals_rx.clone() }) -> _ => {
                    stopping = true;
                    // From now on a signal ends the process at once, whatever the save.
                    session::release();
                    printer.line(
                        "interrupted: stopping after this step to save last/ \
                         (interrupt again to end at once; last/ then stays as it was last saved)"
                            .into(),
                    );
                    let _ = commands_tx.send(Command::Stop);
                }
            }
        }
        worker.join()
    });
    Ok(outcome??)
}

fn print_table(spec: &RunSpec, runs: &[RunSummary]) {
    if runs.iter().all(|r| r.test.mmsa.is_some()) && !runs.is_empty() {
        return print_mmsa_table(spec, runs);
    }
    tell!(
        "{} on {} (cls-audio {}, preset {}), test split:",
        spec.model,
        spec.data.display(),
        spec.cls_audio,
        spec.preset
    );
    tell!(
        "{:<8} {:>6} {:>6} {:>6} {:>6} {:>7} {:>6} {:>6} {:>10}",
        "seed",
        "Acc2",
        "Acc2*",
        "F1",
        "Acc7",
        "MAE",
        "Corr",
        "epoch",
        "time"
    );
    let row = |name: &str, [acc2, acc2_nonzero, f1, acc7, mae, corr]: [f64; 6], extra: &str| {
        tell!("{name:<8} {acc2:>6.1} {acc2_nonzero:>6.1} {f1:>6.1} {acc7:>6.1} {mae:>7.3} {corr:>6.3} {extra}")
    };
    for r in runs {
        let extra = format!("{:>6} {:>10}", r.best_epoch + 1, format_duration(r.wall_time));
        row(&r.seed.to_string(), r.test.headline(), &extra);
    }
    if runs.len() > 1 {
        let stats: [(f64, f64); 6] =
            std::array::from_fn(|i| mean_std(&runs.iter().map(|r| r.test.headline()[i]).collect::<Vec<_>>()));
        row("mean", stats.map(|s| s.0), "");
        row("+- std", stats.map(|s| s.1), "");
        let total: std::time::Duration = runs.iter().map(|r| r.wall_time).sum();
        tell!(
            "Acc2* = Acc2 without zero labels (MMSA Non0_acc_2); std = sample standard deviation; total time {}",
            format_duration(total)
        );
    }
}

/// The table of a run on an MMSA pickle: MMSA's figures for the data's family (accuracies
/// and F1 in %), as `metricsTop.py` names them.
fn print_mmsa_table(spec: &RunSpec, runs: &[RunSummary]) {
    let figures: Vec<Vec<(&'static str, f64)>> = runs
        .iter()
        .map(|r| r.test.mmsa.map(|m| m.figures()).unwrap_or_default())
        .collect();
    let names: Vec<&str> = figures[0].iter().map(|f| f.0).collect();
    tell!(
        "{} on {} (cls-audio {}, preset {}), test split, as MMSA reports it:",
        spec.model,
        spec.data.display(),
        spec.cls_audio,
        spec.preset
    );
    let mut header = format!("{:<8}", "seed");
    for name in &names {
        header += &format!(" {name:>13}");
    }
    tell!("{header} {:>6} {:>10}", "epoch", "time");
    let cell = |name: &str, v: f64| match name {
        "MAE" | "Corr" => format!(" {v:>13.3}"),
        _ => format!(" {:>13.1}", 100.0 * v),
    };
    let row = |label: &str, values: &[f64], extra: &str| {
        let mut line = format!("{label:<8}");
        for (name, &v) in names.iter().zip(values) {
            line += &cell(name, v);
        }
        tell!("{line} {extra}");
    };
    for (r, f) in runs.iter().zip(&figures) {
        let values: Vec<f64> = f.iter().map(|x| x.1).collect();
        row(
            &r.seed.to_string(),
            &values,
            &format!("{:>6} {:>10}", r.best_epoch + 1, format_duration(r.wall_time)),
        );
    }
    if runs.len() > 1 {
        let stats: Vec<(f64, f64)> = (0..names.len())
            .map(|i| {
                mean_std(
                    &figures
                        .iter()
                        .map(|f| f.get(i).map_or(f64::NAN, |x| x.1))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        row("mean", &stats.iter().map(|s| s.0).collect::<Vec<_>>(), "");
        row("+- std", &stats.iter().map(|s| s.1).collect::<Vec<_>>(), "");
    }
}

/// Mean and sample standard deviation.
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}
