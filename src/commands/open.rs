//! `cmbert-tui open`: the attention explorer on a finished checkpoint, and what the terminal
//! app needs from the outside world (exports), shared with `train`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::Trained;
use crate::cli::{LookArgs, OpenArgs};
use crate::data::{Dataset, Split};
use crate::export::{self, Format, Item, Style};
use crate::train::{Inspector, TrainingRecord, Weights};
use crate::ui::{App, Browser, Request, RunInfo, RunState, Theme};

pub fn run(args: OpenArgs) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        bail!("`open` needs a terminal; for scripts use `cmbert-tui eval` or `cmbert-tui export`");
    }
    let theme = Theme::load(&args.look.theme)?;
    let device = args.device.open()?;
    let trained = Trained::open(&args.checkpoint, &device)?;
    let (data, split) = match (&args.recording.wav, &args.recording.words, &args.data) {
        (Some(wav), Some(words), _) => (trained.recording(wav, words)?, Split::Test),
        (_, _, Some(dir)) => (trained.dataset(dir, args.audio.as_deref())?, args.split),
        _ => bail!("give --data DIR, or --wav FILE with --words FILE"),
    };
    let info = RunInfo {
        run_name: format!("open {}", args.checkpoint.display()),
        model: format!("{} (cls-audio {})", trained.head.model, trained.head.cls_audio),
        bert: format!(
            "{} layers, hidden {}",
            trained.checkpoint.bert.num_hidden_layers, trained.checkpoint.bert.hidden_size
        ),
        data: data_line(&data),
        checkpoint: Some(args.checkpoint.display().to_string()),
    };
    let mut app = App::new(
        RunState::with_info(info),
        Browser::from_dataset(&data, split),
        theme,
        false,
    );
    let record = (trained.checkpoint.meta.as_ref()).and_then(|m| TrainingRecord::from_meta(m).ok().flatten());
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
    crate::ui::terminal::inspect(inspector, &mut app, &mut |app, request| on_request(app, request, &look))?;
    Ok(())
}

pub fn data_line(data: &Dataset) -> String {
    format!(
        "{} ({}/{}/{}); audio {}",
        data.dir.display(),
        data.split(Split::Train).len(),
        data.split(Split::Dev).len(),
        data.split(Split::Test).len(),
        data.audio.describe()
    )
}

/// Answers the app's requests; the outcome is shown in its message line.
pub fn on_request(app: &mut App, request: Request, look: &LookArgs) {
    match request {
        Request::Export => {
            app.message = Some(match export_shown(app, &look.exports) {
                Ok(paths) => format!(
                    "wrote {}",
                    paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Err(e) => format!("export failed: {e:#}"),
            })
        }
    }
}

/// The shown utterance as the app draws it (matrices, level, special tokens, the theme's
/// colour maps): a PNG figure and the JSON numbers, under new names in `dir`.
fn export_shown(app: &App, dir: &Path) -> Result<Vec<PathBuf>> {
    let Some(inspection) = &app.explorer.inspection else {
        bail!("no attention to export yet");
    };
    let split = inspection.split;
    let text = app.browser.splits[split.index()]
        .rows
        .get(inspection.snapshot.index)
        .map_or("", |u| u.text.as_str());
    let items = [Item {
        snapshot: &inspection.snapshot,
        text,
        split,
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
    let meta = serde_json::json!({
        "run": info.run_name,
        "model": info.model,
        "bert": info.bert,
        "data": info.data,
        "checkpoint": info.checkpoint,
        "split": split,
        "weights": inspection.weights.to_string(),
        "step": inspection.weights.step(),
        "batching": inspection.snapshot.batching,
        "theme": app.theme.name,
    });
    let stem = export::file_stem(&items, None, &style);
    [Format::Png, Format::Json]
        .into_iter()
        .map(|format| Ok(export::write_new(&items, &meta, &style, format, dir, &stem)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{AttentionSnapshot, Event, Inspection};
    use crate::ui::browser::Utterance;

    #[test]
    fn the_export_key_writes_png_and_json_under_new_names() {
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
        let rows = vec![Utterance {
            text: "SO FUN".into(),
            label: 1.0,
        }];
        let browser = Browser::new([rows.clone(), rows.clone(), rows], Split::Dev);
        let mut app = App::new(RunState::new("t"), browser, Theme::built_in(1), false);
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
        app.apply(&Event::Attention(Box::new(Inspection {
            split: Split::Dev,
            weights: Weights::Live { step: 7 },
            snapshot,
        })));
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
}
