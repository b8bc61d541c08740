//! The app's utterance browser at MOSEI scale: 20,000 utterances in the split shown.
//!
//!     cargo bench --bench browser_scale [-- REPS]
//!
//! Builds the app as `open` does on a finished run (attention screen, predictions arrived)
//! with 20,000 utterances of MOSEI-like lengths (4 to 60 words, about 23 and 120 characters
//! on average) and times, through the app's own key handling, REPS times each (default 30):
//! new predictions arriving (as after each epoch), typing a search (`/` then each key of
//! "the movie was", each keystroke refiltering the list; the first and the others apart),
//! a backspace, clearing it (esc: every row back), sorting by error (`o`: the first time
//! after the predictions arrived, and again) and back, and drawing a whole 120x40 frame of
//! the attention screen (a `TestBackend`, so no terminal I/O).
//! Prints the CPU model and the median and worst of each; issue 18 asks for search and sort
//! under 50 ms.

use std::time::Instant;

use cmbert::data::Split;
use cmbert::train::Weights;
use cmbert::ui::browser::Utterance;
use cmbert::ui::{Activity, App, Browser, RunInfo, RunState, Screen, Theme};
use crossterm::event::KeyCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Utterances in the split shown (MOSEI has about 16,000 training utterances).
const N: usize = 20_000;
const QUERY: &str = "the movie was";

const WORDS: [&str; 48] = [
    "the",
    "movie",
    "was",
    "really",
    "i",
    "thought",
    "it",
    "good",
    "bad",
    "and",
    "but",
    "not",
    "very",
    "funny",
    "boring",
    "acting",
    "story",
    "plot",
    "characters",
    "great",
    "just",
    "like",
    "love",
    "hate",
    "that",
    "this",
    "so",
    "um",
    "uh",
    "you",
    "know",
    "kind",
    "of",
    "think",
    "actually",
    "pretty",
    "much",
    "ending",
    "scenes",
    "music",
    "director",
    "whole",
    "time",
    "watch",
    "again",
    "would",
    "recommend",
    "Overall",
];

fn utterances(rng: &mut StdRng) -> Vec<Utterance> {
    (0..N)
        .map(|_| {
            // Skewed to the short end as MOSEI's are: 4 to 60 words, about 23 on average.
            let u: f64 = rng.random();
            let words = 4 + (u * u * 57.0) as usize;
            let text: Vec<&str> = (0..words).map(|_| WORDS[rng.random_range(0..WORDS.len())]).collect();
            Utterance {
                text: text.join(" "),
                label: rng.random_range(-3.0f32..=3.0),
            }
        })
        .collect()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Median and worst, sorting `v`.
fn summary(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[v.len() - 1])
}

/// Milliseconds of each thing timed, one per repetition (per keystroke for the search).
#[derive(Default)]
struct Timings {
    arrive: Vec<f64>,
    keystroke: Vec<f64>,
    first_key: Vec<f64>,
    next_key: Vec<f64>,
    backspace: Vec<f64>,
    clear: Vec<f64>,
    sort_new: Vec<f64>,
    sort_kept: Vec<f64>,
    unsort: Vec<f64>,
    frame: Vec<f64>,
    frame_sorted: Vec<f64>,
}

fn main() {
    let reps: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let mut rng = StdRng::seed_from_u64(18);
    let rows = utterances(&mut rng);
    let chars: usize = rows.iter().map(|u| u.text.chars().count()).sum();
    let predictions: Vec<f32> = rows.iter().map(|_| rng.random_range(-3.0f32..=3.0)).collect();
    let build = Instant::now();
    let browser = Browser::new([Vec::new(), Vec::new(), rows], Split::Test);
    let build_ms = ms(build);
    let mut app = App::new(
        RunState::with_info(RunInfo::default()),
        browser,
        Theme::built_in(0),
        Activity::Inspecting,
    );
    app.screen = Screen::Attention;
    // What `open` does first: look for the paper's Figure-4 sentences, watch the selection.
    let start = Instant::now();
    app.start();
    let start_ms = ms(start);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();

    let mut t = Timings::default();
    let mut shown = (0, 0);
    for rep in 0..reps {
        // New predictions (as after each epoch): the order by error must be computed anew.
        let moved: Vec<f32> = predictions.iter().map(|p| p + rep as f32 * 1e-3).collect();
        let at = Instant::now();
        app.browser
            .set_predictions(Split::Test, moved, Weights::Live { step: rep });
        t.arrive.push(ms(at));
        app.on_key(KeyCode::Char('/'));
        for (k, c) in QUERY.chars().enumerate() {
            let at = Instant::now();
            app.on_key(KeyCode::Char(c));
            let took = ms(at);
            t.keystroke.push(took);
            if k == 0 {
                t.first_key.push(took);
            } else {
                t.next_key.push(took);
            }
        }
        shown.0 = app.browser.order.len();
        let at = Instant::now();
        app.on_key(KeyCode::Backspace);
        t.backspace.push(ms(at));
        app.on_key(KeyCode::Enter);
        let at = Instant::now();
        app.on_key(KeyCode::Esc);
        t.clear.push(ms(at));
        assert!(app.browser.query.is_empty() && app.browser.order.len() == N);

        let at = Instant::now();
        terminal.draw(|f| app.draw(f)).unwrap();
        t.frame.push(ms(at));
        let at = Instant::now();
        app.on_key(KeyCode::Char('o'));
        t.sort_new.push(ms(at));
        shown.1 = app.browser.order[0];
        let at = Instant::now();
        terminal.draw(|f| app.draw(f)).unwrap();
        t.frame_sorted.push(ms(at));
        let at = Instant::now();
        app.on_key(KeyCode::Char('o'));
        t.unsort.push(ms(at));
        let at = Instant::now();
        app.on_key(KeyCode::Char('o'));
        t.sort_kept.push(ms(at));
        app.on_key(KeyCode::Char('o'));
    }

    println!(
        "browser at {N} utterances ({chars} characters, {:.0} on average), {reps} repetitions",
        chars as f64 / N as f64
    );
    println!("cpu: {}", cpu_model());
    println!("building the list: {build_ms:.2} ms; opening it (the Figure-4 search): {start_ms:.2} ms");
    let line = |what: &str, v: &mut Vec<f64>| {
        let (median, worst) = summary(v);
        println!("{what:<52} median {median:>7.3} ms  worst {worst:>7.3} ms");
    };
    line("new predictions arrive", &mut t.arrive);
    line(&format!("search: any keystroke of {QUERY:?}"), &mut t.keystroke);
    line("  its first (every row compared)", &mut t.first_key);
    line("  the others (the rows shown narrowed)", &mut t.next_key);
    line("  backspace (every row compared again)", &mut t.backspace);
    println!("  ({} of {N} rows match the whole query)", shown.0);
    line("clear the search (esc: every row back)", &mut t.clear);
    line("sort by error (o), first after new predictions", &mut t.sort_new);
    line("sort by error (o) again, predictions unchanged", &mut t.sort_kept);
    line("back to file order (o)", &mut t.unsort);
    line("draw a 120x40 frame, file order", &mut t.frame);
    line("draw a 120x40 frame, sorted by error", &mut t.frame_sorted);
    std::hint::black_box(shown.1);
}
