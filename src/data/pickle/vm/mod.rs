//! The pickle machine.
//!
//! Python objects are shared and mutable: a list is memoised when created and filled
//! afterwards (APPENDS), a dtype is memoised before BUILD sets its byte order, and later
//! opcodes fetch them back from the memo. Values therefore live in an arena of `Node`s and
//! the stack and memo hold handles (`Val`), so a mutation is seen through every handle. Only
//! at STOP is the result copied out into an owned `PyValue` tree.
//!
//! Everything the machine allocates goes through [`Machine::charge`] first (see the bound in
//! the module above): stack and mark slots as the stack first grows to them, memo entries,
//! nodes with their item vectors, every copied string, clone of an item vector and decoded
//! array. Handles are cheap to copy (strings are shared through `Rc`), so a memo fetch costs
//! at most one stack slot whatever it refers to; copying what a handle refers to is what
//! gets charged.
//!
//! Here: the machine's state, its budget and its stack. Reading the input is in `cursor`,
//! the arena in `arena`, the opcode loop in `run`.

use std::collections::HashMap;
use std::mem::size_of;

use super::input::Stream;

pub(super) use super::node::{Id, Node, Obj, Val};
use super::PickleError;

mod arena;
mod cursor;
mod run;

/// What the machine accepts beyond plain pickles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavor {
    Plain,
    /// PyTorch's `data.pkl`: persistent IDs name storages, and an `OrderedDict` state dict
    /// carries attributes (`_metadata`) that are dropped.
    Torch,
}

pub(super) struct Machine<'a> {
    /// The pickle, when it is held in memory (`parse_pickle`); empty when it is streamed.
    data: &'a [u8],
    /// The pickle, when it is read from a file as the machine runs (`read_pickle`).
    stream: Option<Stream>,
    /// Its length in bytes, which bounds every length it claims.
    len: usize,
    pub(super) flavor: Flavor,
    pos: usize,
    /// Offset of the opcode being run, for messages.
    pub(super) op: usize,
    pub(super) stack: Vec<Val>,
    /// Stack heights at each MARK.
    marks: Vec<usize>,
    pub(super) memo: HashMap<usize, Val>,
    pub(super) nodes: Vec<Node>,
    /// Bytes the result may still grow by beyond what the file holds (see `charge`).
    budget: usize,
    /// While building the result: references not yet visited, per node.
    pub(super) refs: Vec<usize>,
    /// The most values the stack and the marks have held: their vectors never shrink, so a
    /// slot is charged when the stack first grows to it, not on every push.
    stack_peak: usize,
    marks_peak: usize,
}

impl<'a> Machine<'a> {
    pub(super) fn new(data: &'a [u8], flavor: Flavor) -> Self {
        Self::with(data, None, data.len(), flavor)
    }

    /// A machine reading `len` bytes from `stream`.
    pub(super) fn streaming(stream: Stream, len: usize, flavor: Flavor) -> Machine<'static> {
        Machine::with(&[], Some(stream), len, flavor)
    }

    fn with(data: &'a [u8], stream: Option<Stream>, len: usize, flavor: Flavor) -> Self {
        Machine {
            data,
            stream,
            len,
            flavor,
            pos: 0,
            op: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            nodes: Vec::new(),
            budget: len.saturating_mul(BUDGET_PER_BYTE).saturating_add(BUDGET_BASE),
            refs: Vec::new(),
            stack_peak: 0,
            marks_peak: 0,
        }
    }

    pub(super) fn malformed(&self, message: impl Into<String>) -> PickleError {
        PickleError::Malformed {
            offset: self.op,
            message: message.into(),
        }
    }

    pub(super) fn unsupported(&self, message: impl Into<String>) -> PickleError {
        PickleError::Unsupported {
            offset: self.op,
            message: message.into(),
        }
    }

    /// Takes `bytes` from the budget before they are allocated. Memo references let a small
    /// file describe a huge value (a list holding itself twice, nested 60 times, is 2^60
    /// items; `list(x)` called a thousand times on one memoised list copies it a thousand
    /// times). Legitimate pickles store each value once, so what they allocate is a small
    /// multiple of the file's size; anything beyond that is refused before it is allocated.
    pub(super) fn charge(&mut self, bytes: usize) -> Result<(), PickleError> {
        self.budget = self.budget.checked_sub(bytes).ok_or_else(|| {
            self.unsupported(
                "the pickle expands to far more data than the file holds (values shared or copied many times \
                 over); refusing to build it",
            )
        })?;
        Ok(())
    }

    /// [`Self::charge`] for `n` values of type `T`.
    pub(super) fn charge_n<T>(&mut self, n: usize) -> Result<(), PickleError> {
        self.charge(n.saturating_mul(size_of::<T>()))
    }

    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    /// Values below the latest MARK belong to an enclosing container and cannot be popped.
    fn pop(&mut self) -> Result<Val, PickleError> {
        if self.stack.len() <= self.floor() {
            return Err(self.malformed("stack underflow"));
        }
        self.stack.pop().ok_or_else(|| self.malformed("stack underflow"))
    }

    fn top(&self) -> Result<Val, PickleError> {
        match self.stack.last() {
            Some(v) if self.stack.len() > self.floor() => Ok(v.clone()),
            _ => Err(self.malformed("stack underflow")),
        }
    }

    fn pop_mark(&mut self) -> Result<Vec<Val>, PickleError> {
        let mark = self.marks.pop().ok_or_else(|| self.malformed("no MARK to pop to"))?;
        // The new vector holds values already charged as stack slots; moving them is linear
        // in what was pushed.
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn pairs(&self, items: Vec<Val>) -> Result<Vec<(Val, Val)>, PickleError> {
        if items.len() % 2 != 0 {
            return Err(self.malformed("odd number of items for a dict"));
        }
        let mut it = items.into_iter();
        Ok(std::iter::from_fn(|| Some((it.next()?, it.next()?))).collect())
    }
}

/// A name or text from the file, shortened for a one-line message.
pub(super) fn clip(text: &str) -> String {
    const MAX: usize = 60;
    let mut out = String::new();
    for c in text.chars().take(MAX) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if text.chars().nth(MAX).is_some() {
        out.push_str("...");
    }
    out
}

/// The budget: bytes the machine may allocate per byte of input, plus a base so that small
/// files holding a little structure are not refused. See the bound in the module above.
pub const BUDGET_PER_BYTE: usize = 32;
/// Bytes the machine may allocate whatever the input's size.
pub const BUDGET_BASE: usize = 16 << 20;
