//! The model a finished run serves to the app (`AfterRun::Serve`): its best weights,
//! labelled with their epoch, and after `Command::Switch` its last ones, labelled with
//! their step. Every answer (an utterance's attention, a split's predictions) comes from
//! the weights it is labelled with: those saved in `best/` and `last/`. Before, a finished
//! run served only the best weights, labelled "final", while the app's list still showed
//! the last epoch's predictions.

mod common;

use std::path::Path;
use std::time::Duration;

use candle_core::Device;
use cmbert::commands::Trained;
use cmbert::data::{Dataset, Split, TextEncoder};
use cmbert::model::ModelKind;
use cmbert::train::{evaluate, AfterRun, Command, Event, RunSpec, Saved, Weights};
use common::*;
use crossbeam_channel::{unbounded, Receiver, Sender};

const SIZES: [usize; 3] = [40, 12, 14];
const EPOCHS: usize = 4;

fn dev_predictions(checkpoint: &Path, data: &Dataset) -> Vec<f32> {
    let trained = Trained::open(checkpoint, &Device::Cpu).unwrap();
    evaluate(&trained.model, data.split(Split::Dev), 24, 5, &Device::Cpu)
        .unwrap()
        .predictions
}

/// Asks for dev #1's attention and the dev predictions; returns what comes back.
fn ask(commands: &Sender<Command>, events: &Receiver<Event>) -> (Weights, f32, Weights, Vec<f32>) {
    commands
        .send(Command::Watch {
            split: Split::Dev,
            index: 1,
        })
        .unwrap();
    commands.send(Command::Predict(Split::Dev)).unwrap();
    let (mut attention, mut predictions) = (None, None);
    while attention.is_none() || predictions.is_none() {
        match events.recv_timeout(Duration::from_secs(60)).expect("an answer") {
            Event::Attention(i) => attention = Some((i.weights, i.snapshot.prediction)),
            Event::Predictions { weights, values, .. } => predictions = Some((weights, values)),
            other => panic!("unexpected {other:?}"),
        }
    }
    let ((aw, ap), (pw, values)) = (attention.unwrap(), predictions.unwrap());
    (aw, ap, pw, values)
}

#[test]
fn a_finished_run_serves_the_weights_it_labels_and_switches() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_tiny_corpus(&data, SIZES);
    let out = tmp.path().join("run");
    let mut spec = RunSpec::paper(data.clone(), tiny_bert(), ModelKind::CmBert);
    // A learning rate high enough that the last epoch is not the best one.
    spec.epochs = EPOCHS;
    spec.batch_size = 6;
    spec.groups.lr = 5e-2;
    spec.seed = 7;
    spec.out = Some(out.clone());
    let encoder = TextEncoder::from_file(&tiny_bert().join("vocab.txt"), 50).unwrap();
    let data_set = Dataset::load(&data, None, &encoder, 5).unwrap();
    let trainer = tiny_trainer(spec);
    let (events_tx, events_rx) = unbounded();
    let (commands_tx, commands_rx) = unbounded();
    std::thread::scope(|scope| {
        let worker = trainer.spawn_scoped(scope, &data_set, events_tx, commands_rx, AfterRun::Serve);
        let mut summary = None;
        let served = loop {
            match events_rx.recv_timeout(Duration::from_secs(120)).expect("the run ends") {
                Event::Finished(s) => summary = Some(s),
                Event::Serving(weights) => break weights,
                Event::Failed(e) => panic!("{e}"),
                _ => {}
            }
        };
        let summary = summary.expect("Finished comes before Serving");
        let best = Weights::Best {
            epoch: summary.best_epoch + 1,
        };
        assert_eq!(served, best, "a finished run serves its best weights first");
        assert!(
            summary.best_epoch + 1 < EPOCHS,
            "this run's best epoch must not be its last, for best and last to differ"
        );

        let best_dev = dev_predictions(&out.join("best"), &data_set);
        let last_dev = dev_predictions(&out.join("last"), &data_set);
        assert_ne!(best_dev, last_dev);
        let (attention_w, attention_p, predictions_w, values) = ask(&commands_tx, &events_rx);
        assert_eq!((attention_w, predictions_w), (best, best));
        assert_eq!(values, best_dev, "best/'s weights");
        assert_eq!(attention_p, values[1], "the header's prediction is the list's");

        commands_tx.send(Command::Switch(Saved::Last)).unwrap();
        let steps = EPOCHS * SIZES[0].div_ceil(6);
        match events_rx.recv_timeout(Duration::from_secs(60)).unwrap() {
            Event::Serving(w) => assert_eq!(w, Weights::Last { step: steps }),
            other => panic!("expected Serving, got {other:?}"),
        }
        let (attention_w, attention_p, predictions_w, values) = ask(&commands_tx, &events_rx);
        assert_eq!(
            (attention_w, predictions_w),
            (Weights::Last { step: steps }, Weights::Last { step: steps })
        );
        assert_eq!(values, last_dev, "last/'s weights");
        assert_eq!(attention_p, values[1]);

        commands_tx.send(Command::Switch(Saved::Best)).unwrap();
        assert!(matches!(events_rx.recv_timeout(Duration::from_secs(60)), Ok(Event::Serving(w)) if w == best));
        let (_, _, _, values) = ask(&commands_tx, &events_rx);
        assert_eq!(values, best_dev, "and back, from memory");
        drop(commands_tx);
        let result = worker.join().unwrap().unwrap();
        assert!(result.is_some());
    });
}
