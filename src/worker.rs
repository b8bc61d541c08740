//! Named worker threads whose panic comes back as an error value: the one way the crate
//! spawns, joins and maps the panic of a worker (the trainer, the inspector), and of the
//! detached threads that outlive any scope (the terminal's input reader, the signal watcher).
//!
//! The panic is caught on the worker's own thread, so that the caller can also be told at
//! once (`on_panic`, e.g. an `Event::Failed` the app shows) rather than only at the join.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::thread::{self, Scope, ScopedJoinHandle};

/// A worker thread panicked: its name and the panic's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {name} thread panicked: {message}")]
pub struct Panicked {
    /// The thread's name (`trainer`, `inspector`).
    pub name: String,
    /// What the panic said.
    pub message: String,
}

impl Panicked {
    fn new(name: &str, payload: &(dyn Any + Send)) -> Self {
        Self {
            name: name.into(),
            message: panic_message(payload).into(),
        }
    }
}

/// The message of a panic's payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// A worker running in a scope; [`Handle::join`] gives what it returned or how it panicked.
pub struct Handle<'scope, R> {
    handle: ScopedJoinHandle<'scope, Result<R, Panicked>>,
    name: String,
}

/// Runs `work` on a thread named `name` inside `scope`. A panic in `work` is caught there:
/// `on_panic` hears of it on the worker's thread, and [`Handle::join`] returns it.
///
/// Panics only if the OS cannot start a thread (as `std::thread::spawn` does).
pub fn spawn_scoped<'scope, 'env, R: Send + 'scope>(
    scope: &'scope Scope<'scope, 'env>,
    name: &str,
    work: impl FnOnce() -> R + Send + 'scope,
    on_panic: impl FnOnce(&Panicked) + Send + 'scope,
) -> Handle<'scope, R> {
    let thread_name = name.to_string();
    let handle = thread::Builder::new()
        .name(name.into())
        .spawn_scoped(scope, move || {
            panic::catch_unwind(AssertUnwindSafe(work)).map_err(|payload| {
                let panicked = Panicked::new(&thread_name, payload.as_ref());
                on_panic(&panicked);
                panicked
            })
        })
        .unwrap_or_else(|e| panic!("cannot start the {name} thread: {e}"));
    Handle {
        handle,
        name: name.into(),
    }
}

/// Runs `work` on a detached thread named `name`, for a thread that must outlive any scope:
/// one blocked in the terminal or in `sigwait` cannot be joined on demand. A panic in `work`
/// is caught there and `on_panic` hears of it on that thread. Unlike [`spawn_scoped`], a
/// thread the OS refuses is an error the caller may ignore (the app then runs without it).
pub fn spawn_detached(
    name: &str,
    work: impl FnOnce() + Send + 'static,
    on_panic: impl FnOnce(&Panicked) + Send + 'static,
) -> std::io::Result<thread::JoinHandle<()>> {
    let thread_name = name.to_string();
    thread::Builder::new().name(name.into()).spawn(move || {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(work)) {
            on_panic(&Panicked::new(&thread_name, payload.as_ref()));
        }
    })
}

impl<R> Handle<'_, R> {
    /// Whether the worker has returned (or panicked): `join` then does not wait.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the worker: what it returned, or its panic.
    pub fn join(self) -> Result<R, Panicked> {
        // `work`'s panics are caught inside; one in `on_panic` is the worker's too.
        self.handle
            .join()
            .unwrap_or_else(|payload| Err(Panicked::new(&self.name, payload.as_ref())))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn a_worker_returns_its_value_on_a_named_thread() {
        let name = thread::scope(|scope| {
            spawn_scoped(
                scope,
                "trainer",
                || thread::current().name().map(String::from),
                |_| unreachable!("no panic"),
            )
            .join()
        });
        assert_eq!(name, Ok(Some("trainer".into())));
    }

    #[test]
    fn a_panicking_worker_is_an_error_with_its_message() {
        let heard = Mutex::new(None);
        let outcome = thread::scope(|scope| {
            let worker = spawn_scoped(
                scope,
                "inspector",
                || -> usize { panic!("index out of bounds: the len is 3 but the index is 7") },
                |p| *heard.lock().unwrap() = Some(p.clone()),
            );
            worker.join()
        });
        let expected = Panicked {
            name: "inspector".into(),
            message: "index out of bounds: the len is 3 but the index is 7".into(),
        };
        assert_eq!(outcome, Err(expected.clone()));
        assert_eq!(
            heard.into_inner().unwrap(),
            Some(expected),
            "told on the worker's thread"
        );
        assert_eq!(
            outcome.unwrap_err().to_string(),
            "the inspector thread panicked: index out of bounds: the len is 3 but the index is 7"
        );
    }

    #[test]
    fn a_detached_panic_is_heard_with_its_thread_name() {
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = spawn_detached(
            "input",
            || panic!("terminal gone"),
            move |p| tx.send(p.clone()).unwrap(),
        )
        .unwrap();
        handle.join().expect("the panic was caught on the thread");
        let heard = rx.recv().unwrap();
        assert_eq!(heard.to_string(), "the input thread panicked: terminal gone");
    }

    #[test]
    fn a_formatted_panic_keeps_its_message() {
        let outcome = thread::scope(|scope| {
            let n = 7;
            spawn_scoped(scope, "trainer", move || -> u8 { panic!("step {n} failed") }, |_| {}).join()
        });
        assert_eq!(outcome.unwrap_err().message, "step 7 failed");
    }
}
