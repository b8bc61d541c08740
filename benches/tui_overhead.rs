//! Training throughput with the terminal app attached versus headless.
//!
//!     cargo bench --bench tui_overhead [-- REPS [EPOCHS]]
//!
//! Trains the paper's CM-BERT from scratch on the built-in corpus (seed 1) for EPOCHS
//! (default 1), REPS times each way (default 5), alternating: headless (events drained) and
//! with the app's event loop drawing the attention screen at up to 30 frames a second while
//! the trainer recomputes the watched utterance's attention. Frames go through crossterm's
//! backend into a sink, so escape-sequence generation is paid as on a real terminal.
//! Reports median steps per second each way and their ratio.

use std::io::Sink;
use std::thread;
use std::time::Duration;

use candle_core::Device;
use cmbert::checkpoint::Checkpoint;
use cmbert::corpus::{self, Corpus, CorpusConfig};
use cmbert::data::{Dataset, Split, TextEncoder};
use cmbert::model::{BertConfig, ModelKind};
use cmbert::train::{Event, RunSpec, Trainer};
use cmbert::ui::terminal::event_loop;
use cmbert::ui::{App, Browser, RunState, Screen, Theme};
use crossbeam_channel::unbounded;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Setup {
    bert: Checkpoint,
    data: Dataset,
    spec: RunSpec,
}

fn setup(dir: &std::path::Path, epochs: usize) -> Setup {
    let corpus_dir = dir.join("corpus");
    Corpus::generate(&CorpusConfig::new(1)).write(&corpus_dir).unwrap();
    let bert_dir = dir.join("bert");
    let bert = Checkpoint::scratch(
        &bert_dir,
        BertConfig::scratch(corpus::scratch_vocab().len()),
        &corpus::scratch_vocab(),
    )
    .unwrap();
    let mut spec = RunSpec::scratch(corpus_dir.clone(), bert_dir, ModelKind::CmBert);
    spec.audio = Some(corpus_dir.join(corpus::AUDIO_FILE));
    spec.epochs = epochs;
    let encoder = TextEncoder::from_file(&bert.vocab, spec.max_len).unwrap();
    let data = Dataset::load(&corpus_dir, spec.audio.as_deref(), &encoder, 5).unwrap();
    Setup { bert, data, spec }
}

/// Steps per second of the training loop (first to last step, dev evaluations included).
fn steps_per_sec(events: &[Event]) -> f64 {
    let steps: Vec<(usize, Duration)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Step { step, elapsed, .. } => Some((*step, *elapsed)),
            _ => None,
        })
        .collect();
    let (first, last) = (steps.first().unwrap(), steps.last().unwrap());
    (last.0 - first.0) as f64 / (last.1 - first.1).as_secs_f64()
}

fn headless(s: &Setup) -> f64 {
    let trainer = Trainer::new(s.spec.clone(), &s.bert, 5, &Device::Cpu).unwrap();
    let (events_tx, events_rx) = unbounded();
    let (_commands_tx, commands_rx) = unbounded();
    let events = thread::scope(|scope| {
        let worker = trainer.spawn_scoped(scope, &s.data, events_tx, commands_rx, false);
        let events: Vec<Event> = events_rx.iter().collect();
        worker.join().unwrap().unwrap();
        events
    });
    steps_per_sec(&events)
}

fn with_app(s: &Setup) -> (f64, usize) {
    let trainer = Trainer::new(s.spec.clone(), &s.bert, 5, &Device::Cpu).unwrap();
    let (events_tx, events_rx) = unbounded();
    let (tap_tx, tap_rx) = unbounded();
    let (commands_tx, commands_rx) = unbounded();
    let (inputs_tx, inputs_rx) = unbounded();
    // No input: the loop ends when the trainer's events end.
    drop(inputs_tx);
    let mut app = App::new(
        RunState::new("bench"),
        Browser::from_dataset(&s.data, Split::Dev),
        Theme::built_in(0),
        true,
    );
    app.screen = Screen::Attention;
    let backend = CrosstermBackend::new(std::io::sink());
    let mut terminal: Terminal<CrosstermBackend<Sink>> = Terminal::with_options(
        backend,
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 120, 40)),
        },
    )
    .unwrap();
    thread::scope(|scope| {
        let worker = trainer.spawn_scoped(scope, &s.data, events_tx, commands_rx, false);
        // Keeps a copy of every event for the measurement, as the app sees them.
        let tee = scope.spawn(move || {
            let mut kept = Vec::new();
            for e in events_rx.iter() {
                kept.push(e.clone());
                if tap_tx.send(e).is_err() {
                    break;
                }
            }
            kept
        });
        event_loop(&mut terminal, &mut app, tap_rx, inputs_rx, &commands_tx, &mut |_, _| {});
        drop(commands_tx);
        worker.join().unwrap().unwrap();
        let events = tee.join().unwrap();
        let refreshes = events.iter().filter(|e| matches!(e, Event::Attention(_))).count();
        (steps_per_sec(&events), refreshes)
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let reps: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(5);
    let epochs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    let tmp = tempfile::tempdir().unwrap();
    let s = setup(tmp.path(), epochs);
    eprintln!(
        "CM-BERT from scratch on the built-in corpus: {} train utterances, {epochs} epoch(s), {reps} runs each way, alternating",
        s.data.split(Split::Train).len()
    );
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for rep in 0..reps {
        let h = headless(&s);
        let (t, refreshes) = with_app(&s);
        eprintln!("run {}: headless {h:.2} steps/s, with the app {t:.2} steps/s ({refreshes} attention refreshes)", rep + 1);
        a.push(h);
        b.push(t);
    }
    let (h, t) = (median(&mut a), median(&mut b));
    println!(
        "median steps/s: headless {h:.2}, with the app {t:.2}; app/headless = {:.3} ({:+.1}%)",
        t / h,
        100.0 * (t / h - 1.0)
    );
}
