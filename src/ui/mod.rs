//! The terminal dashboard (work in progress, issue 5): run state fed by the engine's events,
//! and one widget per panel. Rendering only reads `RunState`. Not yet wired into the CLI:
//! every command still runs headless.

pub mod app;
pub mod loss;
pub mod metrics;
pub mod state;
pub mod status;
pub mod theme;

pub use loss::LossChart;
pub use metrics::MetricsTable;
pub use state::{LossHistory, RunState, RunStatus};
pub use status::StatusPanel;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ratatui::backend::TestBackend;
    use ratatui::layout::{Constraint, Layout};
    use ratatui::Terminal;

    use super::*;
    use crate::train::{Event, Metrics, RunSummary};

    fn sample_state() -> RunState {
        let mut s = RunState::new("cm-bert seed 1");
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
        s.apply(&Event::EpochEnd {
            epoch: 0,
            train_loss: 0.8,
            dev_loss: 0.61,
            dev,
            best: true,
        });
        s.apply(&Event::EpochEnd {
            epoch: 1,
            train_loss: 0.5,
            dev_loss: 0.72,
            dev,
            best: false,
        });
        s
    }

    fn render(width: u16, height: u16, state: &RunState) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|f| {
                let [top, chart, table] =
                    Layout::vertical([Constraint::Length(6), Constraint::Min(6), Constraint::Length(7)])
                        .areas(f.area());
                f.render_widget(StatusPanel(state), top);
                f.render_widget(LossChart(state), chart);
                f.render_widget(MetricsTable(state), table);
            })
            .unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| buffer[(x, y)].symbol().to_string())
                    .collect::<String>()
                    + "\n"
            })
            .collect()
    }

    #[test]
    fn panels_render_at_80x24_and_120x40() {
        for (w, h) in [(80, 24), (120, 40)] {
            let screen = render(w, h, &sample_state());
            if std::env::var_os("SHOW_SCREEN").is_some() {
                eprintln!("{screen}");
            }
            for expected in [
                "status",
                "cm-bert seed 1",
                "state  running",
                "epoch  2/3   step 20/30",
                "ETA 10.0s",
                "loss",
                "metrics",
                "dev 1",
                "dev 2",
                "Acc2",
                "0.610",
            ] {
                assert!(screen.contains(expected), "{w}x{h}: {expected:?} missing in\n{screen}");
            }
        }
    }

    #[test]
    fn finished_run_shows_test_metrics_and_done() {
        let mut s = sample_state();
        let test = Metrics::compute(&[1.0, 1.0], &[1.0, -1.0]);
        s.apply(&Event::Finished(RunSummary {
            seed: 1,
            best_epoch: 0,
            best_dev_loss: 0.61,
            test,
            test_loss: 0.4,
            test_predictions: vec![],
            wall_time: Duration::from_secs(30),
            best_checkpoint: None,
        }));
        let screen = render(80, 24, &s);
        assert!(screen.contains("state  done"), "{screen}");
        assert!(screen.contains("test") && screen.contains("50.0"), "{screen}");
    }
}
