//! `cmbert-tui open`: the attention explorer on a finished checkpoint, and what the terminal
//! app needs from the outside world (exports), shared with `train`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use candle_core::Device;

use super::Trained;
use crate::cli::{LookArgs, OpenArgs};
use crate::data::{Dataset, Split};
use crate::train::Inspector;
use crate::ui::{App, Browser, Request, RunInfo, RunState, Theme};

pub fn run(args: OpenArgs) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        bail!("`open` needs a terminal; for scripts use `cmbert-tui eval` or `cmbert-tui export`");
    }
    let theme = Theme::load(&args.look.theme)?;
    let device = Device::Cpu;
    let trained = Trained::open(&args.checkpoint, &device)?;
    let data = trained.dataset(&args.data, args.audio.as_deref())?;
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
        Browser::from_dataset(&data, args.split),
        theme,
        false,
    );
    let inspector = Inspector {
        model: &trained.model,
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

fn export_shown(_app: &App, _dir: &Path) -> Result<Vec<PathBuf>> {
    bail!("export is not wired yet")
}
