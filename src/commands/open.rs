//! `cmbert-tui open`: a finished run (or any checkpoint) in the terminal app, and what the
//! app needs from the outside world (exports), shared with `train`.
//!
//! A run with a history (`RUN/history.jsonl`, `train::history`) opens on the training
//! screen as the run ended (`RunState::from_history`); the attention explorer on screen 2
//! runs its checkpoint as before. Without a history (a run from before histories, the
//! reference implementation's output) or with one that cannot be read (a newer format, a
//! corrupt line), the checkpoint still opens on the attention screen, and one line says why
//! there are no curves: the model is worth inspecting whatever happened to its log.
//!
//! Several runs (`open RUN RUN...`) are `compare RUN RUN...` (`commands::compare`): the
//! command line refuses the options of one run with them (`cli::one_run_only`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::export::pair::PairFigure;
use super::inputs::{AudioRequest, AudioUsed};
use super::Trained;
use crate::cli::{CompareArgs, LookArgs, OpenArgs};
use crate::data::{Dataset, Split};
use crate::export::{self, AppMeta, Format, Item, Meta, Source, Style};
use crate::train::history::{History, HISTORY_FILE};
use crate::train::{Inspector, Weights};
use crate::ui::state::Record;
use crate::ui::timeline::Timeline;
use crate::ui::{Activity, App, Browser, ModelInfo, Request, RunInfo, RunState, Screen, Theme};

/// Runs `cmbert-tui open`: the app on a finished model, on a split or on one recording.
pub fn run(args: OpenArgs) -> Result<()> {
    if !args.more.is_empty() {
        return super::compare::run(comparison(args));
    }
    // Before the terminal check, so that a script learns of unpaired recordings first.
    let takes = args.recording.takes().map_err(anyhow::Error::msg)?;
    if !std::io::stdout().is_terminal() {
        bail!("`open` needs a terminal; for scripts use `cmbert-tui eval` or `cmbert-tui export`");
    }
    let theme = Theme::load(&args.look.theme)?;
    if history_only(&args.checkpoint) {
        let info = RunInfo {
            run_name: format!("open {}", args.checkpoint.display()),
            checkpoint: Some(args.checkpoint.display().to_string()),
            ..RunInfo::default()
        };
        let mut app = review_app(run_state(&args.checkpoint, info), theme);
        let look = args.look.clone();
        crate::ui::terminal::review(&mut app, &mut |app, request| on_request(app, request, &look))?;
        return Ok(());
    }
    let device = args.device.open()?;
    let mut trained = Trained::open(&args.checkpoint, &device)?;
    let precision = trained.set_precision(args.precision);
    let (data, audio) = match takes.first() {
        Some(first) => (trained.recordings(&takes)?, AudioUsed::Recording(first.wav.clone())),
        None => {
            let request = AudioRequest::from_flags(args.audio.as_deref(), args.zero_audio);
            trained.inputs_labelled(args.data.as_deref(), request, args.label)?
        }
    };
    let info = RunInfo {
        run_name: format!("open {}", args.checkpoint.display()),
        model: Some(ModelInfo {
            kind: trained.head.model,
            cls_audio: trained.cls_audio(),
            preset: None,
        }),
        bert: format!(
            "{} layers, hidden {}{}",
            trained.checkpoint.bert.num_hidden_layers,
            trained.checkpoint.bert.hidden_size,
            super::products_note(precision)
        ),
        data: data_line(&data, &audio),
        checkpoint: Some(args.checkpoint.display().to_string()),
    };
    let mut app = opened_app(&args.checkpoint, info, &data, args.split, theme);
    let mut pair_figure = None;
    if let Ok(takes) = <&[_; 2]>::try_from(&takes[..]) {
        let pair = super::export::pair::stress_pair(&trained, &data, args.eval_batch_size, &device)?;
        app.show_pair(pair);
        // The pair is what was asked to see; the run's curves are one key away (`1`).
        app.screen = Screen::Attention;
        pair_figure = Some(PairFigure::new(
            &trained,
            takes,
            &args.checkpoint,
            args.eval_batch_size,
        )?);
    }
    let record = trained.record();
    let inspector = Inspector {
        model: &trained.model,
        weights: Weights::of_record(record.as_ref()),
        kind: trained.head.model,
        data: &data,
        eval_batch_size: args.eval_batch_size.max(1),
        audio_dim: trained.head.audio_dim,
        device: &device,
    };
    let look = args.look.clone();
    crate::ui::terminal::inspect(inspector, &mut app, &mut |app, request| {
        answer(app, request, &look, pair_figure.as_ref())
    })?;
    Ok(())
}

/// The app `open PATH` shows on `data` (`--split`): the training screen from the run's
/// history (`run_state`), and the attention screen with the run's recorded steps
/// (`RUN/attention.safetensors`, `ui::timeline`; a recording has none). A file that does not
/// read is one warning line; the app opens all the same.
pub fn opened_app(path: &Path, info: RunInfo, data: &Dataset, split: Split, theme: Theme) -> App {
    let mut app = explorer(run_state(path, info), data, split, theme);
    if data.recordings.is_empty() {
        let (timeline, warning) = Timeline::of_run(run_dir(path));
        app.explorer.timeline = timeline;
        if let Some(warning) = warning {
            app.message = Some(match app.message.take() {
                Some(why) => format!("{why}; {warning}"),
                None => warning,
            });
        }
    }
    app
}

/// `open RUN RUN...` as `compare` takes it: the runs, shown (or their table printed without a
/// terminal) in `open`'s theme.
fn comparison(args: OpenArgs) -> CompareArgs {
    CompareArgs {
        runs: std::iter::once(args.checkpoint).chain(args.more).collect(),
        out: Vec::new(),
        attention_out: Vec::new(),
        utterance: None,
        force: false,
        headless: false,
        theme: args.look.theme,
    }
}

/// The app on a finished model: `data` on `split` (`--split`; a recording is its own view).
/// A run with a history starts on the training screen; otherwise on the attention screen,
/// saying why there are no curves.
fn explorer(state: RunState, data: &Dataset, split: Split, theme: Theme) -> App {
    let record = state.record.clone();
    let mut app = App::new(state, Browser::from_dataset(data, split), theme, Activity::Inspecting);
    match record {
        Record::History(_) => app.screen = Screen::Training,
        Record::NoCurves(why) => app.message = Some(why),
        Record::Live => {}
    }
    app
}

/// A run directory with a history and no checkpoint yet: killed (or still in its first
/// epoch) before its first save. Its training screen is all there is to show.
fn history_only(path: &Path) -> bool {
    use super::runs::is_checkpoint;
    crate::fsutil::input_present(&path.join(HISTORY_FILE))
        && !is_checkpoint(path)
        && !is_checkpoint(&path.join("best"))
        && !is_checkpoint(&path.join("last"))
}

/// The app on a run's training screen alone (`history_only`): no model, no utterances.
fn review_app(state: RunState, theme: Theme) -> App {
    let no_data = Browser::new([Vec::new(), Vec::new(), Vec::new()], Split::Test);
    let mut app = App::new(state, no_data, theme, Activity::Inspecting);
    app.screen = Screen::Training;
    app.message = Some("no checkpoint in this run yet (best/ or last/): the attention screen needs one".into());
    app
}

/// The run `path` names: the directory around a checkpoint, or `path` itself.
fn run_dir(path: &Path) -> &Path {
    if super::runs::is_checkpoint(path) {
        crate::fsutil::parent_of(path)
    } else {
        path
    }
}

/// The training screen of the run `path` names (a run directory, or a checkpoint in one):
/// its history replayed, or why there are no curves (no history; one that cannot be read,
/// named with its file and line).
pub fn run_state(path: &Path, info: RunInfo) -> RunState {
    let run = run_dir(path);
    let why = match History::read_run(run) {
        Ok(Some(history)) => return RunState::from_history(info, &history, &run.join(HISTORY_FILE)),
        Ok(None) => format!("no training history in {}: curves not available", run.display()),
        Err(e) => format!("{e}; curves not available"),
    };
    let mut state = RunState::with_info(info);
    state.record = Record::NoCurves(why);
    state
}

/// The app's data line: the directory, the split sizes, and the audio the model runs on
/// and why (`AudioUsed`).
pub fn data_line(data: &Dataset, audio: &AudioUsed) -> String {
    match &data.recordings[..] {
        [] => {}
        [wav] => {
            return format!(
                "the recording {}; audio {}",
                wav.display(),
                audio.with_summary(&data.audio)
            )
        }
        [a, b, ..] => {
            return format!(
                "the stress pair A {} and B {}; audio measured from each ({})",
                a.display(),
                b.display(),
                data.audio
                    .features
                    .as_ref()
                    .map_or("?", |f| f.feature_set.name.as_str())
            )
        }
    }
    format!(
        "{} ({}/{}/{}); audio {}",
        data.dir.display(),
        data.split(Split::Train).len(),
        data.split(Split::Dev).len(),
        data.split(Split::Test).len(),
        audio.with_summary(&data.audio)
    )
}

/// Answers the app's requests; the outcome is shown in its message line.
pub fn on_request(app: &mut App, request: Request, look: &LookArgs) {
    answer(app, request, look, None)
}

/// As [`on_request`], with the figure `e` writes when a stress pair is open.
fn answer(app: &mut App, request: Request, look: &LookArgs, pair: Option<&PairFigure>) {
    let written = match request {
        Request::Export => export_shown(app, &look.exports),
        Request::ExportPair => export_pair(app, pair, &look.exports),
    };
    app.message = Some(match written {
        Ok(paths) => format!(
            "wrote {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(e) => format!("export failed: {}", super::printer::one_line(&e)),
    })
}

/// The open stress pair as `export` draws it (`PairFigure`), from the predictions on screen:
/// a PNG figure and the JSON numbers, under new names in `dir`.
fn export_pair(app: &App, figure: Option<&PairFigure>, dir: &Path) -> Result<Vec<PathBuf>> {
    let (Some(pair), Some(figure)) = (&app.pair, figure) else {
        bail!("no stress pair open");
    };
    figure.write_new(&pair.snapshots, dir)
}

/// The shown utterance as the app draws it (matrices, level, special tokens, the theme's
/// colour maps): a PNG figure and the JSON numbers, under new names in `dir`.
fn export_shown(app: &App, dir: &Path) -> Result<Vec<PathBuf>> {
    // What is on screen: the current weights' attention or a recorded step's (`<` `>`).
    let Some(inspection) = app.explorer.shown() else {
        bail!("no attention to export yet");
    };
    let split = inspection.split;
    let text = app.browser.splits[split.index()]
        .rows
        .get(inspection.snapshot.index)
        .map_or("", |u| u.text.as_str());
    let items = [Item {
        snapshot: inspection.snapshot,
        text,
        split,
        recording: app
            .browser
            .recordings
            .get(inspection.snapshot.index)
            .map(PathBuf::as_path),
    }];
    let e = &app.explorer;
    let style = Style {
        left: e.left,
        right: e.right,
        level: e.level,
        show_special: e.show_special,
        sequential: app.theme.sequential.clone(),
        diverging: app.theme.diverging.clone(),
    };
    let info = &app.state.info;
    let meta = Meta {
        split,
        checkpoint: info.checkpoint.as_ref().map(PathBuf::from),
        wav: app.browser.recordings.get(inspection.snapshot.index).cloned(),
        source: Source::App(AppMeta {
            run: info.run_name.clone(),
            model: info.model.map_or(String::new(), |m| m.to_string()),
            bert: info.bert.clone(),
            data: info.data.clone(),
            weights: inspection.weights,
            batching: inspection.snapshot.batching.clone(),
            theme: app.theme.name.clone(),
        }),
    };
    let stem = export::file_stem(&items, None, &style);
    [Format::Png, Format::Json]
        .into_iter()
        .map(|format| Ok(export::write_new(&items, &meta, &style, format, dir, &stem)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{AttentionSnapshot, Command, Event, Inspection};
    use crate::ui::browser::Utterance;
    use crossterm::event::KeyCode;

    /// A tiny data directory: one of Figure 4's sentences in test (index 1), others in dev.
    fn figure4_data(dir: &Path) -> Dataset {
        for (split, rows) in [
            ("train", "A GOOD FILM\t2.0\n"),
            ("dev", "IT WAS BORING\t-1.8\nTHE PLOT WAS OK\t0.0\n"),
            ("test", "AND HE WAS STILL BORING\t-1.8\nI thought it  was fun\t1.2\n"),
        ] {
            std::fs::write(dir.join(format!("{split}.tsv")), format!("text\tlabel\n{rows}")).unwrap();
        }
        let vocab = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny/vocab.txt");
        let encoder = crate::data::TextEncoder::from_file(&vocab, 50).unwrap();
        Dataset::load(dir, None, &encoder, 4).unwrap()
    }

    fn open_args(args: &[&str]) -> OpenArgs {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(["cmbert-tui", "open", "ckpt"].iter().chain(args)).unwrap();
        let Some(crate::cli::Command::Open(args)) = cli.command else {
            panic!("open")
        };
        args
    }

    /// Before, `App::start` jumped to the first Figure-4 utterance of the test split whatever
    /// `--split` said, so `open --data mosi --split dev` showed the test split.
    #[test]
    fn open_split_dev_starts_on_dev_and_f_goes_to_figure_4() {
        let tmp = tempfile::tempdir().unwrap();
        let data = figure4_data(tmp.path());
        let dir = tmp.path().to_str().unwrap();

        let args = open_args(&["--data", dir, "--split", "dev"]);
        let mut app = explorer(
            RunState::with_info(RunInfo::default()),
            &data,
            args.split,
            Theme::built_in(0),
        );
        assert_eq!(
            app.start(),
            [
                Command::Watch {
                    split: Split::Dev,
                    index: 0
                },
                Command::Predict(Split::Dev)
            ]
        );
        assert_eq!(app.browser.selected(), Some((Split::Dev, 0)));
        assert_eq!(
            app.on_key(KeyCode::Char('f')),
            [
                Command::Watch {
                    split: Split::Test,
                    index: 1
                },
                Command::Predict(Split::Test)
            ],
            "f goes to Figure 4 on demand"
        );
        assert!(
            app.message.as_deref().unwrap().contains("Figure 4"),
            "{:?}",
            app.message
        );

        // Without --split: the test split, its cursor on the Figure-4 sentence.
        let args = open_args(&["--data", dir]);
        let mut app = explorer(
            RunState::with_info(RunInfo::default()),
            &data,
            args.split,
            Theme::built_in(0),
        );
        assert_eq!(
            app.start(),
            [
                Command::Watch {
                    split: Split::Test,
                    index: 1
                },
                Command::Predict(Split::Test)
            ]
        );
    }

    /// Before, `open` always started on the attention screen and its training screen said
    /// "starting" with no curves and no reason.
    #[test]
    fn a_run_with_a_history_opens_on_the_training_screen_one_without_says_why() {
        let tmp = tempfile::tempdir().unwrap();
        let data = figure4_data(tmp.path());
        let run = tmp.path().join("run");
        std::fs::create_dir_all(run.join("best")).unwrap();
        std::fs::write(run.join("best/config.json"), "{}").unwrap();

        let app = explorer(
            run_state(&run.join("best"), RunInfo::default()),
            &data,
            Split::Test,
            Theme::built_in(0),
        );
        let why = format!("no training history in {}: curves not available", run.display());
        assert_eq!(app.screen, Screen::Attention);
        assert_eq!(app.message.as_deref(), Some(why.as_str()));
        assert_eq!(app.state.status_label(), why, "the training screen says it too");

        let spec = crate::train::RunSpec::paper("d".into(), "b".into(), crate::model::ModelKind::CmBert);
        let header = crate::train::history::Header {
            version: crate::train::history::HISTORY_VERSION,
            spec,
            machine: crate::train::history::Machine::this("cpu"),
            started: "2026-12-01T16:00:00+00:00".into(),
            first_step: 0,
            resumed: false,
        };
        crate::train::history::HistoryWriter::start(&run, header).unwrap();
        for path in [run.clone(), run.join("best")] {
            let app = explorer(
                run_state(&path, RunInfo::default()),
                &data,
                Split::Test,
                Theme::built_in(0),
            );
            assert_eq!(app.screen, Screen::Training, "{}", path.display());
            assert_eq!(app.message, None);
            assert!(matches!(&app.state.record, Record::History(r) if r.path == run.join(HISTORY_FILE)));
        }
    }

    /// Before, a run killed before its first save could not be opened at all ("neither a
    /// checkpoint nor a run directory"), though its history holds its curve.
    #[test]
    fn a_run_with_a_history_and_no_checkpoint_opens_its_training_screen() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path();
        assert!(!history_only(run), "no history");
        let header = crate::train::history::Header {
            version: crate::train::history::HISTORY_VERSION,
            spec: crate::train::RunSpec::paper("d".into(), "b".into(), crate::model::ModelKind::CmBert),
            machine: crate::train::history::Machine::this("cpu"),
            started: "2026-12-01T16:00:00+00:00".into(),
            first_step: 0,
            resumed: false,
        };
        let mut w = crate::train::history::HistoryWriter::start(run, header).unwrap();
        w.write(&crate::train::history::Entry::Step {
            step: 1,
            epoch: 1,
            loss: 0.5,
            lr: 1e-4,
            seconds: 0.1,
        })
        .unwrap();
        assert!(history_only(run));
        let app = review_app(run_state(run, RunInfo::default()), Theme::built_in(0));
        assert_eq!(app.screen, Screen::Training);
        assert_eq!(
            app.state.status_label(),
            "history ends at step 1 without an end line (killed?)"
        );
        assert!(app.message.as_deref().unwrap().contains("no checkpoint"));
        std::fs::create_dir(run.join("last")).unwrap();
        std::fs::write(run.join("last/config.json"), "{}").unwrap();
        assert!(!history_only(run), "a checkpoint to open");
    }

    #[test]
    fn the_data_line_says_which_audio_the_model_runs_on_and_why() {
        let data = |file: Option<&str>| Dataset {
            dir: "corpus".into(),
            recordings: Vec::new(),
            mmsa: None,
            splits: Default::default(),
            audio: crate::data::AudioSummary {
                path: file.map(PathBuf::from),
                format: file.map(|_| crate::data::AudioFormat::WordJsonl),
                dim: 5,
                cls_slot_nonzero: 0,
                neg_inf_zeroed: 0,
                features: None,
            },
        };
        let file = data(Some("/c/audio.jsonl"));
        let recorded = AudioUsed::Recorded("/c/audio.jsonl".into());
        assert_eq!(
            data_line(&file, &recorded),
            "corpus (0/0/0); audio (recorded in the checkpoint) /c/audio.jsonl (word-level JSON Lines, 5 dims)"
        );
        let given = AudioUsed::Given("/c/audio.jsonl".into());
        assert_eq!(
            data_line(&file, &given),
            "corpus (0/0/0); audio /c/audio.jsonl (word-level JSON Lines, 5 dims)"
        );
        let none = data(None);
        assert_eq!(
            data_line(&none, &AudioUsed::ZeroAsked),
            "corpus (0/0/0); audio none: zero audio (--zero-audio)"
        );
        assert_eq!(
            data_line(&none, &AudioUsed::NotUsedByTBert),
            "corpus (0/0/0); audio not used by T-BERT"
        );
    }

    /// The attention of utterance 0 of the dev split.
    fn attention() -> Event {
        let n = 4;
        let grid = |v: f32| vec![vec![v; n]; n];
        let snapshot = AttentionSnapshot {
            index: 0,
            tokens: ["[CLS]", "so", "fun", "[SEP]"].map(String::from).to_vec(),
            words: ["so", "fun"].map(String::from).to_vec(),
            token_words: vec![None, Some(0), Some(1), None],
            label: 1.0,
            prediction: 0.5,
            prediction_without_audio: 0.5,
            batching: "evaluation batch 0".into(),
            text_attention: grid(1.0),
            audio_attention: grid(0.0),
            fusion_scores: grid(1.0),
            multimodal_attention: grid(0.25),
        };
        Event::Attention(Box::new(Inspection {
            split: Split::Dev,
            weights: Weights::Live { step: 7 },
            snapshot,
        }))
    }

    #[test]
    fn the_export_key_writes_png_and_json_under_new_names() {
        let rows = vec![Utterance {
            text: "SO FUN".into(),
            label: 1.0,
        }];
        let browser = Browser::new([rows.clone(), rows.clone(), rows], Split::Dev);
        let mut app = App::new(RunState::new("t"), browser, Theme::built_in(1), Activity::Inspecting);
        let tmp = tempfile::tempdir().unwrap();
        let look = LookArgs {
            theme: "paper".into(),
            exports: tmp.path().join("exports"),
        };
        on_request(&mut app, Request::Export, &look);
        assert!(
            app.message.as_ref().unwrap().starts_with("export failed"),
            "nothing shown yet"
        );
        app.apply(&attention());
        on_request(&mut app, Request::Export, &look);
        on_request(&mut app, Request::Export, &look);
        let mut names: Vec<String> = std::fs::read_dir(&look.exports)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "dev-0000-alpha-t-w-m-word-2.json",
                "dev-0000-alpha-t-w-m-word-2.png",
                "dev-0000-alpha-t-w-m-word.json",
                "dev-0000-alpha-t-w-m-word.png"
            ]
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(look.exports.join("dev-0000-alpha-t-w-m-word.json")).unwrap())
                .unwrap();
        assert_eq!(json["meta"]["step"], 7, "{json}");
        assert_eq!(json["meta"]["theme"], "paper");
    }

    /// Before, `e` on a recording wrote `test-0000-...` while `export --wav` named the file
    /// after the recording.
    #[test]
    fn the_export_key_names_a_recording_after_its_file() {
        let wav = Path::new("takes/utt11.wav");
        let utterance = Utterance {
            text: "SO FUN".into(),
            label: f32::NAN,
        };
        let mut app = App::new(
            RunState::new("t"),
            Browser::recording(wav, utterance),
            Theme::built_in(1),
            Activity::Inspecting,
        );
        let Event::Attention(inspection) = attention() else {
            unreachable!()
        };
        app.apply(&Event::Attention(Box::new(Inspection {
            split: Split::Test,
            ..*inspection
        })));
        let tmp = tempfile::tempdir().unwrap();
        let look = LookArgs {
            theme: "paper".into(),
            exports: tmp.path().to_path_buf(),
        };
        on_request(&mut app, Request::Export, &look);
        let mut names: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // What `export --wav takes/utt11.wav` names it (commands::export, same stem function).
        let items = [Item {
            snapshot: &app.explorer.inspection.as_ref().unwrap().snapshot,
            text: "SO FUN",
            split: Split::Test,
            recording: Some(wav),
        }];
        let cli = export::file_stem(&items, None, &Style::default());
        assert_eq!(names, [format!("{cli}.json"), format!("{cli}.png")]);
        assert_eq!(cli, "utt11-alpha-t-w-m-word");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(tmp.path().join(format!("{cli}.json"))).unwrap()).unwrap();
        assert_eq!(json["meta"]["wav"], "takes/utt11.wav");
    }
}
