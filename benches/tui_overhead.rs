//! Training throughput with the terminal app attached versus headless.
//!
//!     cargo bench --bench tui_overhead [-- REPS [EPOCHS]]
//!
//! Trains the paper's CM-BERT from scratch on the built-in corpus (seed 1) for EPOCHS
//! (default 2), REPS times each way (default 5), alternating: headless (events drained) and
//! with the app's event loop drawing the attention screen at up to 30 frames a second while
//! the trainer recomputes the watched utterance's attention. Frames go through crossterm's
//! backend into a sink, so escape-sequence generation is paid as on a real terminal.
//! Reports median steps per second each way and their ratio.

mod common;

use std::io::Sink;
use std::thread;
use std::time::Duration;

use candle_core::Device;
use cmbert::data::Split;
use cmbert::train::{Event, Trainer};
use cmbert::ui::terminal::{event_loop, yield_cpu_to_training};
use cmbert::ui::{Activity, App, Browser, RunState, Screen, Theme};
use common::{median, setup, Setup};
use crossbeam_channel::unbounded;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Steps per second from the start of the run to its last step (dev evaluations included),
/// as the app's status panel computes it.
fn steps_per_sec(step: usize, elapsed: Duration) -> f64 {
    step as f64 / elapsed.as_secs_f64()
}

fn headless(s: &Setup) -> f64 {
    let trainer = Trainer::new(s.spec.clone(), &s.bert, 5, &Device::Cpu).unwrap();
    let (events_tx, events_rx) = unbounded();
    let (_commands_tx, commands_rx) = unbounded();
    let last = thread::scope(|scope| {
        let worker = trainer.spawn_scoped(scope, &s.data, events_tx, commands_rx, cmbert::train::AfterRun::Return);
        let mut last = (0, Duration::ZERO);
        for event in events_rx.iter() {
            if let Event::Step { step, elapsed, .. } = event {
                last = (step, elapsed);
            }
        }
        worker.join().unwrap().unwrap();
        last
    });
    steps_per_sec(last.0, last.1)
}

fn with_app(s: &Setup) -> (f64, usize) {
    let trainer = Trainer::new(s.spec.clone(), &s.bert, 5, &Device::Cpu).unwrap();
    let (events_tx, events_rx) = unbounded();
    let (commands_tx, commands_rx) = unbounded();
    let (inputs_tx, inputs_rx) = unbounded();
    // No input: the loop ends when the trainer's events end.
    drop(inputs_tx);
    let mut app = App::new(
        RunState::new("bench"),
        Browser::from_dataset(&s.data, Split::Dev),
        Theme::built_in(0),
        Activity::Training,
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
        let worker = trainer.spawn_scoped(scope, &s.data, events_tx, commands_rx, cmbert::train::AfterRun::Return);
        // As `ui::terminal::train` does, but on a scoped thread: nice is per thread and sticks.
        let ui = scope.spawn(move || {
            yield_cpu_to_training();
            event_loop(
                &mut terminal,
                &mut app,
                events_rx,
                inputs_rx,
                &commands_tx,
                &mut |_, _| {},
            );
            drop(commands_tx);
            if std::env::var_os("DRAW_COST").is_some() {
                let started = std::time::Instant::now();
                for _ in 0..200 {
                    // A changed frame each time, as during training.
                    app.state.step += 1;
                    terminal.draw(|f| app.draw(f)).unwrap();
                }
                eprintln!("one frame: {:.2} ms", started.elapsed().as_secs_f64() * 1000.0 / 200.0);
            }
            (steps_per_sec(app.state.step, app.state.elapsed), app.explorer.updates)
        });
        worker.join().unwrap().unwrap();
        ui.join().unwrap()
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let reps: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(5);
    let epochs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(2);
    let tmp = tempfile::tempdir().unwrap();
    let s = setup(tmp.path(), epochs);
    eprintln!(
        "CM-BERT from scratch on the built-in corpus: {} train utterances, {epochs} epoch(s), {reps} runs each way, alternating",
        s.data.split(Split::Train).len()
    );
    let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for rep in 0..reps {
        // Alternate which goes first, so that a drift of the machine hits both alike.
        let (h, (t, refreshes)) = if rep % 2 == 0 {
            let h = headless(&s);
            (h, with_app(&s))
        } else {
            let t = with_app(&s);
            (headless(&s), t)
        };
        eprintln!(
            "pair {}: headless {h:.2} steps/s, with the app {t:.2} steps/s ({:+.1}%, {refreshes} attention refreshes)",
            rep + 1,
            100.0 * (t / h - 1.0)
        );
        a.push(h);
        b.push(t);
        ratios.push(t / h);
    }
    let (h, t, r) = (median(&mut a), median(&mut b), median(&mut ratios));
    println!(
        "median steps/s: headless {h:.2}, with the app {t:.2}; median of paired app/headless = {r:.3} ({:+.1}%)",
        100.0 * (r - 1.0)
    );
}
