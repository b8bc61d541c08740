//! The protocol against a recording worker: each command while running, paused and
//! serving, and a closed channel in each state (which must stop, never hang or spin).

use std::convert::Infallible;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{unbounded, Receiver, Sender};

use super::*;

/// Long enough for any of these to finish on a loaded machine; a hang fails instead.
const PATIENCE: Duration = Duration::from_secs(10);

/// Records what it was asked; `work` pieces of idle work are pending at the start and
/// after each request; `idle_done` hears when the idle work runs out.
#[derive(Default)]
struct Recorder {
    answered: Vec<Request>,
    idle_calls: usize,
    work: usize,
    left: usize,
    idle_done: Option<Sender<()>>,
}

impl Worker for Recorder {
    type Error = Infallible;

    fn answer(&mut self, request: Request) -> Result<(), Infallible> {
        self.answered.push(request);
        self.left = self.work;
        Ok(())
    }

    fn idle(&mut self) -> Result<Idle, Infallible> {
        self.idle_calls += 1;
        self.left = self.left.saturating_sub(1);
        if self.left > 0 {
            return Ok(Idle::Pending);
        }
        if let Some(done) = &self.idle_done {
            let _ = done.send(());
        }
        Ok(Idle::Done)
    }
}

const WATCH: Command = Command::Watch {
    split: Split::Dev,
    index: 3,
};

fn channels(commands: &[Command]) -> (Sender<Command>, Receiver<Command>, Sender<Event>, Receiver<Event>) {
    let (commands_tx, commands_rx) = unbounded();
    let (events_tx, events_rx) = unbounded();
    for &command in commands {
        commands_tx.send(command).unwrap();
    }
    (commands_tx, commands_rx, events_tx, events_rx)
}

fn names(events: &Receiver<Event>) -> Vec<&'static str> {
    events
        .try_iter()
        .map(|e| match e {
            Event::Paused => "paused",
            Event::Resumed => "resumed",
            _ => "other",
        })
        .collect()
}

/// Runs `between_steps` on a thread (it may block), the result within `PATIENCE`.
fn spawn_between_steps(
    commands: Receiver<Command>,
    events: Sender<Event>,
    mut worker: Recorder,
) -> Receiver<(Flow, Recorder)> {
    let (done_tx, done) = unbounded();
    thread::spawn(move || {
        let flow = Protocol::new(&commands, &events).between_steps(&mut worker).unwrap();
        let _ = done_tx.send((flow, worker));
    });
    done
}

#[test]
fn requests_are_answered_in_order_between_steps() {
    let switch = Command::Switch(Saved::Last);
    let (_tx, rx, events_tx, events) = channels(&[Command::Save, WATCH, Command::Predict(Split::Test), switch]);
    let mut worker = Recorder::default();
    let flow = Protocol::new(&rx, &events_tx).between_steps(&mut worker).unwrap();
    assert_eq!(flow, Flow::Continue);
    assert_eq!(
        worker.answered,
        [
            Request::Save,
            Request::Watch {
                split: Split::Dev,
                index: 3
            },
            Request::Predict(Split::Test),
            Request::Switch(Saved::Last),
        ]
    );
    assert_eq!(worker.idle_calls, 0, "a running loop's work is its next step");
    assert!(names(&events).is_empty());
}

#[test]
fn nothing_sent_continues_and_resume_without_pause_is_ignored() {
    let (_tx, rx, events_tx, events) = channels(&[]);
    let mut worker = Recorder::default();
    assert_eq!(
        Protocol::new(&rx, &events_tx).between_steps(&mut worker).unwrap(),
        Flow::Continue
    );
    let (_tx, rx, _, _) = channels(&[Command::Resume, Command::Save]);
    assert_eq!(
        Protocol::new(&rx, &events_tx).between_steps(&mut worker).unwrap(),
        Flow::Continue
    );
    assert_eq!(worker.answered, [Request::Save]);
    assert!(names(&events).is_empty());
}

#[test]
fn stop_ends_and_leaves_later_commands_unread() {
    let (_tx, rx, events_tx, _events) = channels(&[Command::Save, Command::Stop, Command::Predict(Split::Dev)]);
    let mut worker = Recorder::default();
    let flow = Protocol::new(&rx, &events_tx).between_steps(&mut worker).unwrap();
    assert_eq!(flow, Flow::Stop);
    assert_eq!(worker.answered, [Request::Save]);
    assert_eq!(rx.try_recv(), Ok(Command::Predict(Split::Dev)));
}

/// The viewer is gone: what it sent is still answered, then the run stops (it used to
/// keep training for no one).
#[test]
fn a_closed_channel_between_steps_stops() {
    let (tx, rx, events_tx, _events) = channels(&[Command::Save]);
    drop(tx);
    let mut worker = Recorder::default();
    let protocol = Protocol::new(&rx, &events_tx);
    assert_eq!(protocol.between_steps(&mut worker).unwrap(), Flow::Stop);
    assert_eq!(worker.answered, [Request::Save]);
    assert_eq!(
        protocol.between_steps(&mut worker).unwrap(),
        Flow::Stop,
        "and stays stopped"
    );
}

#[test]
fn a_pause_waits_answering_requests_until_resume() {
    let (tx, rx, events_tx, events) = channels(&[Command::Pause]);
    let done = spawn_between_steps(rx, events_tx, Recorder::default());
    assert!(matches!(events.recv_timeout(PATIENCE), Ok(Event::Paused)));
    tx.send(WATCH).unwrap();
    tx.send(Command::Pause).unwrap();
    assert!(done.recv_timeout(Duration::from_millis(200)).is_err(), "still paused");
    tx.send(Command::Resume).unwrap();
    let (flow, worker) = done.recv_timeout(PATIENCE).expect("resumed");
    assert_eq!(flow, Flow::Continue);
    assert_eq!(worker.answered.len(), 1, "the watch, while paused");
    assert_eq!(worker.idle_calls, 2, "once before pausing, once after the watch");
    assert_eq!(names(&events), ["resumed"]);
}

#[test]
fn a_resume_queued_behind_the_pause_cancels_it_unannounced() {
    let (_tx, rx, events_tx, events) = channels(&[
        Command::Pause,
        Command::Save,
        Command::Resume,
        Command::Predict(Split::Dev),
    ]);
    let mut worker = Recorder::default();
    let flow = Protocol::new(&rx, &events_tx).between_steps(&mut worker).unwrap();
    assert_eq!(flow, Flow::Continue);
    assert_eq!(worker.answered, [Request::Save, Request::Predict(Split::Dev)]);
    assert!(names(&events).is_empty());
}

#[test]
fn stop_while_paused_stops() {
    let (tx, rx, events_tx, events) = channels(&[Command::Pause]);
    let done = spawn_between_steps(rx, events_tx, Recorder::default());
    assert!(matches!(events.recv_timeout(PATIENCE), Ok(Event::Paused)));
    tx.send(Command::Stop).unwrap();
    let (flow, _) = done.recv_timeout(PATIENCE).expect("stopped");
    assert_eq!(flow, Flow::Stop);
    assert!(names(&events).is_empty(), "not resumed");
}

/// The same meaning while paused: the viewer is gone, so the run stops (and saves),
/// instead of waiting forever for a `Resume` no one can send.
#[test]
fn a_closed_channel_while_paused_stops() {
    let (tx, rx, events_tx, events) = channels(&[Command::Pause]);
    let done = spawn_between_steps(rx, events_tx, Recorder::default());
    assert!(matches!(events.recv_timeout(PATIENCE), Ok(Event::Paused)));
    drop(tx);
    let (flow, _) = done.recv_timeout(PATIENCE).expect("a closed channel ends the pause");
    assert_eq!(flow, Flow::Stop);
    assert!(names(&events).is_empty(), "not resumed");
}

#[test]
fn serving_ignores_pause_and_resume_and_ends_on_stop() {
    let (_tx, rx, events_tx, events) = channels(&[Command::Pause, WATCH, Command::Resume, Command::Stop, WATCH]);
    let mut worker = Recorder::default();
    Protocol::new(&rx, &events_tx).serve(&mut worker).unwrap();
    assert_eq!(worker.answered.len(), 1);
    assert!(names(&events).is_empty(), "serving never pauses");
    assert_eq!(rx.try_recv(), Ok(WATCH), "nothing read after Stop");
}

/// Work a request left pending is done between commands, commands first; then the
/// worker blocks, and a closed channel ends it.
#[test]
fn serving_works_between_commands_then_waits_until_the_channel_closes() {
    let (tx, rx, events_tx, _events) = channels(&[WATCH, Command::Predict(Split::Dev)]);
    let (idle_tx, idle_done) = unbounded();
    let worker = Recorder {
        work: 3,
        idle_done: Some(idle_tx),
        ..Recorder::default()
    };
    let (done_tx, done) = unbounded();
    thread::spawn(move || {
        let mut worker = worker;
        Protocol::new(&rx, &events_tx).serve(&mut worker).unwrap();
        let _ = done_tx.send(worker);
    });
    idle_done.recv_timeout(PATIENCE).expect("the work is done");
    assert!(
        done.recv_timeout(Duration::from_millis(200)).is_err(),
        "waiting, not ended"
    );
    drop(tx);
    let worker = done.recv_timeout(PATIENCE).expect("a closed channel ends serving");
    assert_eq!(worker.answered.len(), 2);
    assert_eq!(worker.idle_calls, 3, "both requests read before the work began");
}

/// A closed channel ends serving even with work pending: no one is left to see it.
#[test]
fn serving_ends_on_a_closed_channel_with_work_pending() {
    let (tx, rx, events_tx, _events) = channels(&[WATCH]);
    drop(tx);
    let mut worker = Recorder {
        work: usize::MAX,
        ..Recorder::default()
    };
    Protocol::new(&rx, &events_tx).serve(&mut worker).unwrap();
    assert_eq!(worker.answered.len(), 1);
    assert_eq!(worker.idle_calls, 0, "the end is read before any work");
}
