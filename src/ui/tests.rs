//! Screen tests: every panel and the whole app rendered on a `TestBackend` at 80x24 and
//! 120x40 and compared with committed snapshots (`cargo insta review` after a deliberate
//! change), key handling as state transitions, and the event loop driven by a fake trainer.

use std::time::Duration;

use crossbeam_channel::unbounded;
use crossterm::event::KeyCode;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;
use ratatui::Terminal;

use super::app::{Focus, HELP};
use super::browser::{BrowserPanel, Utterance};
use super::heatmap::{ClsPanel, HeatmapPanel};
use super::*;
use crate::attention::{cls_weights, view, Level, Matrix};
use crate::data::Split;
use crate::train::{AttentionSnapshot, Command, Event, Inspection, Metrics, RunSummary, Weights};

mod training;

pub(super) fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    (0..area.height)
        .map(|y| {
            let line: String = (0..area.width).map(|x| buffer[(x, y)].symbol().to_string()).collect();
            line.trim_end().to_string() + "\n"
        })
        .collect()
}

pub(super) fn widget(width: u16, height: u16, w: impl Widget) -> String {
    let mut buffer = Buffer::empty(Rect::new(0, 0, width, height));
    w.render(buffer.area, &mut buffer);
    text(&buffer)
}

pub(super) fn screen(width: u16, height: u16, app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| app.draw(f)).unwrap();
    text(terminal.backend().buffer())
}

/// The app `open run/best` shows on `browser` (a recording or a stress pair, its predictions
/// set), before anything else has happened.
pub(super) fn opened_app(browser: Browser) -> App {
    let info = RunInfo {
        run_name: "open run/best".into(),
        checkpoint: Some("run/best".into()),
        ..RunInfo::default()
    };
    App::new(
        RunState::with_info(info),
        browser,
        Theme::built_in(0),
        Activity::Inspecting,
    )
}

/// The checkpoint's attention of test utterance `snapshot.index` arrives.
pub(super) fn attention_arrives(app: &mut App, snapshot: AttentionSnapshot) {
    app.apply(&Event::Attention(Box::new(Inspection {
        split: Split::Test,
        weights: Weights::Checkpoint,
        snapshot,
    })));
}

fn training_state() -> RunState {
    let mut s = RunState::with_info(RunInfo {
        run_name: "cm-bert seed 1".into(),
        model: Some(ModelInfo {
            kind: crate::model::ModelKind::CmBert,
            cls_audio: Some(crate::model::ClsAudio::Zero),
            preset: Some(crate::train::Preset::Paper),
        }),
        bert: "all-MiniLM-L6-v2 (6 layers, hidden 384)".into(),
        data: "mosi-text (1284/229/686)".into(),
        checkpoint: Some("checkpoints/run".into()),
    });
    s.apply(&Event::Started {
        seed: 1,
        epochs: 3,
        steps_per_epoch: 10,
        total_steps: 30,
        first_step: 0,
        trainable_params: 5,
        frozen_params: 0,
    });
    for step in 1..=20 {
        s.apply(&Event::Step {
            epoch: (step - 1) / 10,
            step,
            loss: 2.0 / step as f32,
            lr: 1e-5,
            elapsed: Duration::from_secs(step as u64),
        });
    }
    let dev = Metrics::compute(&[1.0, -1.0, 0.5], &[1.0, -1.0, -0.5]);
    for (epoch, dev_loss, best) in [(0, 0.61, true), (1, 0.72, false)] {
        s.apply(&Event::EpochEnd {
            epoch,
            train_loss: 0.8,
            dev_loss,
            dev,
            best,
        });
    }
    s
}

fn snapshot(index: usize) -> AttentionSnapshot {
    let tokens = ["[CLS]", "i", "thought", "it", "was", "fun", "[SEP]"];
    let n = tokens.len();
    let grid = |f: &dyn Fn(usize, usize) -> f32| -> Vec<Vec<f32>> {
        (0..n).map(|i| (0..n).map(|j| f(i, j)).collect()).collect()
    };
    let alpha = grid(&|i, j| ((i * 7 + j * 3) % 11) as f32 / 4.0);
    // Every row gives "fun" 0.4 and the six other tokens 0.1 each: rows sum to 1.
    let wm = grid(&|_, j| if j == 5 { 0.4 } else { 0.1 });
    AttentionSnapshot {
        index,
        tokens: tokens.map(String::from).to_vec(),
        words: ["i", "thought", "it", "was", "fun"].map(String::from).to_vec(),
        token_words: vec![None, Some(0), Some(1), Some(2), Some(3), Some(4), None],
        label: 1.2,
        prediction: 0.85,
        prediction_without_audio: 0.85,
        batching: "evaluation batch 0".into(),
        text_attention: alpha,
        audio_attention: grid(&|_, _| 0.0),
        fusion_scores: grid(&|i, j| (i as f32 - j as f32) / 3.0),
        multimodal_attention: wm,
    }
}

fn browser() -> Browser {
    let u = |text: &str, label: f32| Utterance {
        text: text.into(),
        label,
    };
    let mut b = Browser::new(
        [
            vec![u("A GOOD FILM", 2.0)],
            vec![
                u("I THOUGHT IT WAS FUN", 1.2),
                u("AND HE WAS STILL BORING", -1.8),
                u("THE SPECIAL EFFECTS WERE OK", 0.0),
            ],
            vec![u("THERE ARE SOME FUNNY MOMENTS", 0.2), u("I THOUGHT IT WAS FUN", 1.2)],
        ],
        Split::Dev,
    );
    b.set_predictions(Split::Dev, vec![0.85, -0.4, 0.1], Weights::Live { step: 10 });
    b
}

pub(super) fn app(activity: Activity) -> App {
    let state = match activity {
        Activity::Training => training_state(),
        Activity::Inspecting => RunState::new("open"),
    };
    let mut app = App::new(state, browser(), Theme::built_in(0), activity);
    app.apply(&Event::Attention(Box::new(Inspection {
        split: Split::Dev,
        weights: Weights::Live { step: 20 },
        snapshot: snapshot(0),
    })));
    app.explorer.watching = Some((Split::Dev, 0));
    app
}

#[test]
fn panels() {
    let s = training_state();
    let theme = Theme::built_in(0);
    insta::assert_snapshot!("status", widget(60, 10, StatusPanel(&s, &theme)));
    insta::assert_snapshot!("loss", widget(60, 12, LossChart(&s, &theme)));
    insta::assert_snapshot!("metrics", widget(70, 7, MetricsTable(&s, &theme)));
    let b = browser();
    insta::assert_snapshot!(
        "browser",
        widget(
            70,
            7,
            BrowserPanel {
                browser: &b,
                theme: &theme,
                focused: true
            }
        )
    );
    let snap = snapshot(0);
    for (name, matrix, level) in [
        ("heatmap_alpha_t_word", Matrix::AlphaT, Level::Word),
        ("heatmap_w_m_word", Matrix::WM, Level::Word),
        ("heatmap_shift_piece", Matrix::Shift, Level::Piece),
    ] {
        let v = view(&snap, matrix, level, true);
        insta::assert_snapshot!(
            name,
            widget(
                50,
                13,
                HeatmapPanel {
                    view: &v,
                    theme: &theme,
                    cursor: Some((0, 5)),
                    focused: false,
                    note: "· step 20 ",
                }
            )
        );
    }
    let weights = cls_weights(&snap, Level::Word, true);
    insta::assert_snapshot!(
        "cls_bars",
        widget(
            60,
            10,
            ClsPanel {
                snapshot: &snap,
                weights: &weights,
                theme: &theme,
                cursor: Some(5),
            }
        )
    );
}

#[test]
fn whole_app_at_both_sizes() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut a = app(Activity::Training);
        insta::assert_snapshot!(format!("app_training_{w}x{h}"), screen(w, h, &a));
        a.on_key(KeyCode::Char('2'));
        insta::assert_snapshot!(format!("app_attention_{w}x{h}"), screen(w, h, &a));
        a.on_key(KeyCode::Char('?'));
        let help = screen(w, h, &a);
        for (key, what) in HELP {
            assert!(
                help.contains(key) && help.contains(what),
                "{w}x{h}: {key} missing:\n{help}"
            );
        }
    }
    let mut done = app(Activity::Training);
    done.apply(&Event::Finished(RunSummary {
        seed: 1,
        best_epoch: 0,
        best_dev_loss: 0.61,
        test: Metrics::compute(&[1.0, 1.0], &[1.0, -1.0]),
        test_loss: 0.4,
        test_predictions: vec![],
        wall_time: Duration::from_secs(30),
        best_checkpoint: None,
    }));
    let finished = screen(120, 40, &done);
    assert!(
        finished.contains("state  done") && finished.contains("test"),
        "{finished}"
    );
    insta::assert_snapshot!("app_done_120x40", finished);
}

#[test]
fn heatmap_cells_use_the_theme_colour_map() {
    let snap = snapshot(0);
    let v = view(&snap, Matrix::WM, Level::Word, true);
    for theme in [Theme::built_in(0), Theme::built_in(1), Theme::built_in(2)] {
        let mut buffer = Buffer::empty(Rect::new(0, 0, 50, 13));
        HeatmapPanel {
            view: &v,
            theme: &theme,
            cursor: None,
            focused: false,
            note: "",
        }
        .render(buffer.area, &mut buffer);
        // Row [CLS] (marked ▶), column "fun" (where its label starts): W_m is 0.4 there,
        // the maximum.
        let shown = text(&buffer);
        let lines: Vec<&str> = shown.lines().collect();
        let y = lines.iter().position(|l| l.contains("▶")).expect("the [CLS] row") as u16;
        let x = lines[..y as usize]
            .iter()
            .find_map(|l| l.find(" fun").map(|b| l[..b + 1].chars().count()))
            .expect("the column label fun") as u16;
        let expected = theme::color(theme.sequential.at(1.0));
        assert_eq!(buffer[(x, y)].fg, expected, "theme {}", theme.name);
        assert_eq!(buffer[(x, y)].symbol(), "█");
        assert_ne!(buffer[(x - 1, y)].fg, expected, "a 0.1 cell differs");
    }
}

#[test]
fn keys_change_state_as_documented() {
    let mut a = app(Activity::Training);
    assert_eq!(a.screen, Screen::Training);
    assert_eq!(a.on_key(KeyCode::Char(' ')), [Command::Pause]);
    a.apply(&Event::Paused);
    assert_eq!(a.on_key(KeyCode::Char(' ')), [Command::Resume]);
    assert_eq!(a.on_key(KeyCode::Char('s')), [Command::Save]);
    a.on_key(KeyCode::Char('l'));
    assert!(a.state.log_scale);
    a.on_key(KeyCode::Char('+'));
    assert_eq!(a.state.ema_alpha, 0.95);
    a.on_key(KeyCode::Char('-'));
    a.on_key(KeyCode::Char('-'));
    assert_eq!(a.state.ema_alpha, 0.85);

    a.on_key(KeyCode::Char('2'));
    assert_eq!(
        a.on_key(KeyCode::Char('j')),
        [Command::Watch {
            split: Split::Dev,
            index: 1
        }]
    );
    assert_eq!(
        a.on_key(KeyCode::Char('G')),
        [Command::Watch {
            split: Split::Dev,
            index: 2
        }]
    );
    assert_eq!(a.on_key(KeyCode::Char('G')), [], "no change, no command");
    assert_eq!(
        a.on_key(KeyCode::Char('g')),
        [Command::Watch {
            split: Split::Dev,
            index: 0
        }]
    );
    assert_eq!(
        a.on_key(KeyCode::PageDown),
        [Command::Watch {
            split: Split::Dev,
            index: 2
        }]
    );
    assert_eq!(
        a.on_input(Input::ScrollUp),
        [Command::Watch {
            split: Split::Dev,
            index: 0
        }]
    );
    assert_eq!(
        a.on_key(KeyCode::Char('o')),
        [Command::Watch {
            split: Split::Dev,
            index: 1
        }],
        "sort by error: the largest error is selected"
    );
    assert_eq!(a.browser.order, [1, 0, 2]);
    assert_eq!(
        a.on_key(KeyCode::Char(']')),
        [Command::Watch {
            split: Split::Test,
            index: 0
        }],
        "during training, predictions are not requested (they come with the epochs)"
    );
    assert_eq!(a.on_key(KeyCode::Char('p')), [Command::Predict(Split::Test)]);

    for c in "/fun".chars() {
        a.on_key(KeyCode::Char(c));
    }
    assert_eq!(a.browser.order, [0, 1], "search: case-insensitive");
    a.on_key(KeyCode::Enter);
    assert!(!a.browser.searching);
    a.on_key(KeyCode::Esc);
    assert!(a.browser.query.is_empty(), "esc clears the search first");

    assert_eq!(
        a.on_key(KeyCode::Char('f')),
        [],
        "test #0 is Figure 4's first and already shown"
    );
    assert_eq!(
        a.on_key(KeyCode::Char('f')),
        [Command::Watch {
            split: Split::Test,
            index: 1
        }]
    );
    assert_eq!(
        a.on_key(KeyCode::Char('f')),
        [Command::Watch {
            split: Split::Test,
            index: 0
        }]
    );
    assert!(a.message.as_ref().unwrap().contains("Figure 4"));

    a.on_key(KeyCode::Tab);
    assert_eq!(a.focus, Focus::Heatmap);
    a.on_key(KeyCode::Char('j'));
    a.on_key(KeyCode::Char('l'));
    a.on_key(KeyCode::Right);
    assert_eq!(a.explorer.cursor, (1, 2));
    assert!(
        a.state.log_scale,
        "l moves the cursor in the heatmap, not the chart scale"
    );
    a.on_key(KeyCode::Char('m'));
    a.on_key(KeyCode::Char('n'));
    assert_eq!((a.explorer.left, a.explorer.right), (Matrix::BetaA, Matrix::Shift));
    a.on_key(KeyCode::Char('w'));
    assert_eq!(a.explorer.level, Level::Piece);
    a.on_key(KeyCode::Char('x'));
    assert!(!a.explorer.show_special);
    a.on_key(KeyCode::Char('b'));
    assert_eq!(a.explorer.bars, super::explorer::Bars::Left);
    a.on_key(KeyCode::Char('e'));
    assert_eq!(a.requests, [Request::Export]);
    a.on_key(KeyCode::Char('t'));
    assert_eq!(a.theme.name, "paper");
    a.on_key(KeyCode::Esc);
    assert_eq!(a.focus, Focus::List, "esc leaves the heatmap first");
    a.on_key(KeyCode::Char('1'));
    assert_eq!(a.screen, Screen::Training);

    assert_eq!(a.on_key(KeyCode::Char('q')), []);
    assert!(a.confirm_quit && !a.quit);
    a.on_key(KeyCode::Char('n'));
    assert!(!a.confirm_quit && !a.quit, "any other key cancels");
    a.on_key(KeyCode::Char('q'));
    assert_eq!(a.on_key(KeyCode::Char('y')), [Command::Stop]);
    assert!(a.quit);
}

#[test]
fn inspection_asks_for_predictions_and_quits_at_once() {
    let mut b = browser();
    b.set_split(Split::Test);
    let mut a = App::new(RunState::new("open"), b, Theme::default(), Activity::Inspecting);
    assert_eq!(a.screen, Screen::Attention);
    assert_eq!(
        a.start(),
        [
            Command::Watch {
                split: Split::Test,
                index: 0
            },
            Command::Predict(Split::Test)
        ],
        "opens the test split on the first Figure-4 sentence it holds, and predicts the split"
    );
    assert_eq!(
        a.on_key(KeyCode::Char('j')),
        [Command::Watch {
            split: Split::Test,
            index: 1
        }]
    );
    assert_eq!(a.on_key(KeyCode::Char(' ')), [], "nothing to pause");
    a.on_key(KeyCode::Char('s'));
    assert!(a.message.as_ref().unwrap().contains("read-only"));
    assert_eq!(a.on_key(KeyCode::Char('q')), [Command::Stop]);
    assert!(a.quit);
}

/// A trainer that failed (an error, or a panic turned into `Event::Failed` by
/// `terminal::run_with_worker`) shows "failed" with its message, and `q` quits at once: there
/// is no run left to stop. Before, a panic left the app saying "running" and asking.
#[test]
fn a_failed_run_shows_its_message_and_q_quits_at_once() {
    let message = "model computation failed: the training loss is NaN at step 21";
    let mut a = app(Activity::Training);
    a.apply(&Event::Failed(message.into()));
    assert_eq!(a.state.status, RunStatus::Failed(message.into()));
    let shown = screen(120, 40, &a);
    assert!(shown.contains("state  failed: model computation"), "{shown}");
    assert!(shown.contains(&format!("failed: {message}  (q quits)")), "{shown}");
    insta::assert_snapshot!("app_failed_120x40", shown);
    assert_eq!(a.on_key(KeyCode::Char('q')), [Command::Stop]);
    assert!(a.quit && !a.confirm_quit);

    // The failure arrives while "stop the run?" is asked: the question is dropped.
    let mut a = app(Activity::Training);
    a.on_key(KeyCode::Char('q'));
    assert!(a.confirm_quit);
    a.apply(&Event::Failed(message.into()));
    assert!(!a.confirm_quit);
    assert_eq!(a.on_key(KeyCode::Esc), [], "esc never quits, not even a dead run");
    assert!(!a.quit);
    assert_eq!(
        a.on_key(KeyCode::Char('q')),
        [Command::Stop],
        "q quits a dead run at once"
    );
    assert!(a.quit);

    // A worker that vanished mid-run without a word has failed as well.
    let mut a = app(Activity::Training);
    a.worker_ended();
    assert!(matches!(a.state.status, RunStatus::Failed(_)), "{:?}", a.state.status);
    a.on_key(KeyCode::Char('q'));
    assert!(a.quit);
    // After a finished run, the worker ending is not a failure.
    let mut a = App::new(RunState::new("open"), browser(), Theme::default(), Activity::Inspecting);
    a.worker_ended();
    assert_eq!(a.state.status, RunStatus::Starting);
}

/// A signal (or a lost terminal) ends the app from any state, without the question a `q`
/// asks while training, and tells the worker to stop.
#[test]
fn terminate_quits_from_any_state() {
    let mut running = app(Activity::Training);
    let mut asking = app(Activity::Training);
    asking.on_key(KeyCode::Char('q'));
    let mut searching = app(Activity::Training);
    searching.on_key(KeyCode::Char('/'));
    assert!(searching.browser.searching);
    let mut inspecting = App::new(RunState::new("open"), browser(), Theme::default(), Activity::Inspecting);
    for (name, a) in [
        ("running", &mut running),
        ("asking", &mut asking),
        ("searching", &mut searching),
        ("inspecting", &mut inspecting),
    ] {
        assert_eq!(a.on_input(Input::Terminate), [Command::Stop], "{name}");
        assert!(a.quit, "{name}");
    }
}

/// A stand-in for the trainer: a short run's events, and attention for every watch.
fn fake_trainer(
    commands: crossbeam_channel::Receiver<Command>,
    events: crossbeam_channel::Sender<Event>,
) -> Vec<Command> {
    let mut seen = Vec::new();
    let _ = events.send(Event::Started {
        seed: 1,
        epochs: 1,
        steps_per_epoch: 50,
        total_steps: 50,
        first_step: 0,
        trainable_params: 1,
        frozen_params: 0,
    });
    for step in 1..=50 {
        let _ = events.send(Event::Step {
            epoch: 0,
            step,
            loss: 1.0 / step as f32,
            lr: 1e-3,
            elapsed: Duration::from_millis(step as u64),
        });
        while let Ok(c) = commands.try_recv() {
            if let Command::Watch { split, index } = c {
                let _ = events.send(Event::Attention(Box::new(Inspection {
                    split,
                    weights: Weights::Live { step },
                    snapshot: snapshot(index),
                })));
            }
            seen.push(c);
        }
    }
    let _ = events.send(Event::Predictions {
        split: Split::Dev,
        weights: Weights::Live { step: 50 },
        values: vec![0.5, 0.5, 0.5],
    });
    let _ = events.send(Event::Finished(RunSummary {
        seed: 1,
        best_epoch: 0,
        best_dev_loss: 0.5,
        test: Metrics::compute(&[1.0, -1.0], &[1.0, -1.0]),
        test_loss: 0.1,
        test_predictions: vec![],
        wall_time: Duration::from_secs(1),
        best_checkpoint: None,
    }));
    // After the run, serve watches until the app hangs up.
    for c in commands.iter() {
        if let Command::Watch { split, index } = c {
            let _ = events.send(Event::Attention(Box::new(Inspection {
                split,
                weights: Weights::Best { epoch: 1 },
                snapshot: snapshot(index),
            })));
        }
        seen.push(c);
    }
    seen
}

#[test]
fn event_loop_with_a_fake_trainer() {
    let (events_tx, events_rx) = unbounded();
    let (commands_tx, commands_rx) = unbounded();
    let (inputs_tx, inputs_rx) = unbounded();
    let mut a = App::new(RunState::new("fake"), browser(), Theme::default(), Activity::Training);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut exports = 0;
    let seen = std::thread::scope(|scope| {
        let trainer = scope.spawn(move || fake_trainer(commands_rx, events_tx));
        let keys = scope.spawn(move || {
            // The keys arrive while the run goes on and after it ends.
            let keys = ['2', ']', '[', 'j', 'j', 'e'];
            for code in keys.map(KeyCode::Char) {
                inputs_tx.send(Input::Key(code.into())).unwrap();
                std::thread::sleep(Duration::from_millis(40));
            }
            std::thread::sleep(Duration::from_millis(200));
            inputs_tx.send(Input::Key(KeyCode::Char('q').into())).unwrap();
        });
        terminal::event_loop(
            &mut terminal,
            &mut a,
            events_rx,
            inputs_rx,
            &commands_tx,
            &mut |app, request| {
                assert_eq!(request, Request::Export);
                exports += 1;
                app.message = Some("exported".into());
            },
        );
        drop(commands_tx);
        keys.join().unwrap();
        trainer.join().unwrap()
    });
    assert!(a.quit);
    assert_eq!(a.state.status, RunStatus::Done);
    assert_eq!(a.state.step, 50);
    assert_eq!(exports, 1);
    assert_eq!(
        seen.first(),
        Some(&Command::Watch {
            split: Split::Dev,
            index: 0
        }),
        "starts on the split chosen (dev), not on Figure 4 in test"
    );
    assert!(
        seen.contains(&Command::Watch {
            split: Split::Dev,
            index: 2
        }),
        "{seen:?}"
    );
    assert_eq!(a.explorer.inspection.as_ref().map(|i| i.snapshot.index), Some(2));
    let last = text(terminal.backend().buffer());
    assert!(last.contains("dev #2"), "{last}");
}

#[test]
fn tiny_and_odd_terminal_sizes_do_not_panic() {
    for (w, h) in [(1, 1), (10, 3), (20, 5), (40, 10), (60, 15), (79, 23), (200, 60)] {
        for screen_key in ['1', '2'] {
            let mut a = app(Activity::Training);
            a.on_key(KeyCode::Char(screen_key));
            screen(w, h, &a);
            a.on_key(KeyCode::Char('?'));
            screen(w, h, &a);
            a.on_key(KeyCode::Char('?'));
            a.on_key(KeyCode::Char('b'));
            a.on_key(KeyCode::Char('w'));
            screen(w, h, &a);
        }
    }
}

#[test]
fn an_unlabelled_recording_shows_no_label_and_no_error() {
    let theme = Theme::built_in(0);
    let row = Utterance {
        text: "it was a great movie".into(),
        label: f32::NAN,
    };
    let mut b = Browser::new([Vec::new(), Vec::new(), vec![row]], Split::Test);
    b.set_predictions(Split::Test, vec![1.74], Weights::Checkpoint);
    b.toggle_sort();
    let shown = widget(
        60,
        4,
        BrowserPanel {
            browser: &b,
            theme: &theme,
            focused: true,
        },
    );
    let line = shown
        .lines()
        .find(|l| l.contains("great movie"))
        .expect("the row is shown");
    assert!(line.contains("n/a") && line.contains("+1.74"), "{line}");
    assert!(
        !line.contains("NaN") && line.contains("   -"),
        "no error for an unlabelled row: {line}"
    );
    assert_eq!(b.selected(), Some((Split::Test, 0)));
}

/// Esc closes the help, leaves the heatmaps, clears the search, and otherwise does nothing:
/// before, it quit the app, the help overlay open or not (issue: a user closing the help lost
/// the run view).
#[test]
fn esc_backs_out_and_never_quits() {
    let mut a = app(Activity::Training);
    a.on_key(KeyCode::Char('?'));
    assert!(a.show_help);
    assert_eq!(a.on_key(KeyCode::Esc), []);
    assert!(!a.show_help && !a.quit && !a.confirm_quit, "esc closed the help only");
    a.on_key(KeyCode::Tab);
    assert_eq!(a.focus, Focus::Heatmap);
    a.on_key(KeyCode::Char('?'));
    a.on_key(KeyCode::Esc);
    assert!(!a.show_help);
    assert_eq!(a.focus, Focus::Heatmap, "one esc, one thing closed");
    a.on_key(KeyCode::Esc);
    assert_eq!(a.focus, Focus::List);
    for _ in 0..3 {
        assert_eq!(a.on_key(KeyCode::Esc), []);
    }
    assert!(!a.quit && !a.confirm_quit, "esc never quits");
    assert_eq!(a.on_key(KeyCode::Char('q')), []);
    assert!(a.confirm_quit, "q still asks while training");
}
