//! The worker's side of the command protocol (`Command` down, `Event` up), one handler for
//! every worker: the training loop between two steps and while paused, and a finished
//! model answering the viewer (`Inspector::serve`).
//!
//! The worker says how to answer a request ([`Worker::answer`]) and what it does while it
//! waits ([`Worker::idle`]); [`Protocol`] decides when to read, when to block, and what
//! `Pause`, `Resume`, `Stop` and a closed channel mean:
//!
//! - Commands already sent are handled before any other work, in the order sent.
//! - `Stop`, or a **closed command channel**, stops the worker. The channel closes when
//!   the viewer is gone (its thread finished or died), and then no one can resume, save or
//!   stop the run any more: a training run stops as if told `Stop` (it saves `last/` and
//!   sends `Event::Stopped`), a serving worker returns. Neither keeps working for no one,
//!   waits on the channel, nor polls it in a loop.
//! - `Pause` (training only) blocks between two steps, still answering requests, until
//!   `Resume`; `Event::Paused` is sent just before the first wait, so a `Resume` already
//!   queued behind the `Pause` cancels it unannounced. Serving ignores `Pause` and `Resume`.

use crossbeam_channel::{Receiver, TryRecvError};

use super::events::{Command, Event, EventSink};
use super::record::Saved;
use crate::data::Split;

/// A command that asks something of the worker without changing the course of its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `Command::Save`.
    Save,
    /// `Command::Watch`.
    Watch {
        /// The split of the watched utterance.
        split: Split,
        /// Its index in that split, in file order.
        index: usize,
    },
    /// `Command::Predict`.
    Predict(Split),
    /// `Command::Switch`.
    Switch(Saved),
}

/// Whether work remains for [`Worker::idle`] to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Call `idle` again once the pending commands are handled.
    Pending,
    /// Nothing left: the worker may block until the next command.
    Done,
}

/// What the worker does once the commands read so far are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Carry on (the next training step).
    Continue,
    /// End: `Stop` was sent, or the command channel closed.
    Stop,
}

/// A worker's answers to the protocol's requests.
pub trait Worker {
    /// What answering can fail with.
    type Error;
    /// Answers one request (a `Watch` may only note its target for `idle`).
    fn answer(&mut self, request: Request) -> Result<(), Self::Error>;
    /// One bounded piece of the work done between commands while the worker waits (paused
    /// or serving): a due attention refresh, one batch of a prediction.
    fn idle(&mut self) -> Result<Idle, Self::Error>;
}

/// A command as the protocol reads it; a closed channel reads as `Stop` (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Received {
    Stop,
    Pause,
    Resume,
    Request(Request),
}

impl From<Command> for Received {
    fn from(command: Command) -> Self {
        match command {
            Command::Stop => Self::Stop,
            Command::Pause => Self::Pause,
            Command::Resume => Self::Resume,
            Command::Save => Self::Request(Request::Save),
            Command::Watch { split, index } => Self::Request(Request::Watch { split, index }),
            Command::Predict(split) => Self::Request(Request::Predict(split)),
            Command::Switch(which) => Self::Request(Request::Switch(which)),
        }
    }
}

/// Whether `Pause` and `Resume` apply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Paused between two training steps: `Resume` continues.
    Paused,
    /// A finished model answering the viewer: `Pause` and `Resume` do not apply.
    Serving,
}

/// The command channel a worker reads and the events channel the protocol's own events
/// (`Paused`, `Resumed`) go to.
pub struct Protocol<'a> {
    commands: &'a Receiver<Command>,
    events: &'a dyn EventSink,
}

impl<'a> Protocol<'a> {
    /// The protocol over these channels.
    pub fn new(commands: &'a Receiver<Command>, events: &'a dyn EventSink) -> Self {
        Self { commands, events }
    }

    /// Between two training steps: handles every command already sent without waiting for
    /// more; a `Pause` waits here (answering requests, doing `idle` work) until `Resume`.
    pub fn between_steps<W: Worker>(&self, worker: &mut W) -> Result<Flow, W::Error> {
        while let Some(received) = self.poll() {
            match received {
                Received::Stop => return Ok(Flow::Stop),
                Received::Pause => {
                    if self.wait(worker, Phase::Paused)? == Flow::Stop {
                        return Ok(Flow::Stop);
                    }
                }
                // Not paused: nothing to resume.
                Received::Resume => {}
                Received::Request(request) => worker.answer(request)?,
            }
        }
        Ok(Flow::Continue)
    }

    /// A finished model: answers requests and does the `idle` work until `Stop` or the
    /// channel closes.
    pub fn serve<W: Worker>(&self, worker: &mut W) -> Result<(), W::Error> {
        self.wait(worker, Phase::Serving).map(drop)
    }

    /// Commands first, then `idle` work, then (nothing pending) a blocking read.
    fn wait<W: Worker>(&self, worker: &mut W, phase: Phase) -> Result<Flow, W::Error> {
        let mut pending = Idle::Pending;
        let mut announced = false;
        loop {
            let received = match self.poll() {
                Some(received) => received,
                None if pending == Idle::Pending => {
                    pending = worker.idle()?;
                    continue;
                }
                None => {
                    if phase == Phase::Paused && !announced {
                        self.events.emit(Event::Paused);
                        announced = true;
                    }
                    self.block()
                }
            };
            match received {
                Received::Stop => return Ok(Flow::Stop),
                Received::Resume if phase == Phase::Paused => {
                    if announced {
                        self.events.emit(Event::Resumed);
                    }
                    return Ok(Flow::Continue);
                }
                Received::Pause | Received::Resume => {}
                Received::Request(request) => {
                    worker.answer(request)?;
                    pending = Idle::Pending;
                }
            }
        }
    }

    /// The next command already sent, if any.
    fn poll(&self) -> Option<Received> {
        match self.commands.try_recv() {
            Ok(command) => Some(command.into()),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Received::Stop),
        }
    }

    /// The next command, waiting for it.
    fn block(&self) -> Received {
        self.commands.recv().map_or(Received::Stop, Received::from)
    }
}

#[cfg(test)]
mod tests;
