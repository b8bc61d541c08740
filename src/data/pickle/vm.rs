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

use std::borrow::Cow;
use std::collections::HashMap;
use std::mem::size_of;
use std::rc::Rc;

use super::input::Stream;
use super::lazy::LazyArray;
use super::numpy::Raw;

pub(super) use super::node::{Id, Node, Obj, Val};
use super::{PickleError, PyValue};

enum Items {
    List(Vec<Val>),
    Dict(Vec<(Val, Val)>),
}

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

    /// Checks that `n` more bytes remain: a length the file cannot hold means it was cut.
    fn check_left(&self, n: usize) -> Result<(), PickleError> {
        if n > self.len - self.pos {
            return Err(PickleError::Truncated { offset: self.len });
        }
        Ok(())
    }

    /// The next `n` bytes: borrowed from memory, or read from the stream (and then charged
    /// like any copy; each byte of the file is read at most once this way, so the stream's
    /// reads never cost more than the file's length).
    fn take(&mut self, n: usize) -> Result<Cow<'a, [u8]>, PickleError> {
        self.check_left(n)?;
        let start = self.pos;
        let bytes = if self.stream.is_none() {
            let data: &'a [u8] = self.data;
            Cow::Borrowed(&data[start..start + n])
        } else {
            self.charge(n)?;
            let mut buf = vec![0; n];
            if let Some(s) = &mut self.stream {
                s.read_exact(&mut buf, start)?;
            }
            Cow::Owned(buf)
        };
        self.pos += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        self.check_left(N)?;
        let mut out = [0u8; N];
        match &mut self.stream {
            None => out.copy_from_slice(&self.data[self.pos..self.pos + N]),
            Some(s) => s.read_exact(&mut out, self.pos)?,
        }
        self.pos += N;
        Ok(out)
    }

    /// Moves past `n` bytes without reading them.
    fn skip(&mut self, n: usize) -> Result<(), PickleError> {
        self.check_left(n)?;
        if let Some(s) = &mut self.stream {
            s.skip(n, self.pos)?;
        }
        self.pos += n;
        Ok(())
    }

    /// A length field of 1, 4 or 8 bytes; a length that cannot fit in memory is left huge so
    /// that `take` reports the file as too short for it.
    fn len_field(&mut self, width: usize) -> Result<usize, PickleError> {
        Ok(match width {
            1 => self.array::<1>()?[0] as usize,
            4 => u32::from_le_bytes(self.array()?) as usize,
            _ => usize::try_from(u64::from_le_bytes(self.array()?)).unwrap_or(usize::MAX),
        })
    }

    /// BINBYTES and the like: a span of the input, or (streaming) the bytes read into
    /// memory, unless they are long enough to be left in the file (`read_pickle_lazy`).
    fn span(&mut self, width: usize) -> Result<Val, PickleError> {
        let n = self.len_field(width)?;
        let start = self.pos;
        let left_in_file = match &self.stream {
            None => true,
            Some(s) => s.lazy_from.is_some_and(|min| n >= min),
        };
        if left_in_file {
            self.skip(n)?;
            return Ok(Val::Span(start, n));
        }
        self.check_left(n)?;
        self.charge(n)?;
        let bytes = match &mut self.stream {
            Some(s) => s.read_shared(n, start)?,
            None => Rc::from(&[][..]),
        };
        self.pos += n;
        Ok(Val::Bytes(bytes))
    }

    fn utf8(&mut self, width: usize) -> Result<Val, PickleError> {
        let n = self.len_field(width)?;
        let raw = self.take(n)?;
        let text = String::from_utf8_lossy(&raw);
        // Lossy decoding can triple the length (U+FFFD for each bad byte).
        self.charge(text.len())?;
        Ok(Val::Str(text.into()))
    }

    /// A protocol-0 argument: text up to a newline. Streamed, the line is charged as it is
    /// read (it holds bytes the opcode consumes, so at most the file's length in all).
    fn line(&mut self) -> Result<Cow<'a, str>, PickleError> {
        let truncated = PickleError::Truncated { offset: self.len };
        let line: Cow<'a, [u8]> = match &mut self.stream {
            None => {
                let data: &'a [u8] = self.data;
                let rest = &data[self.pos..];
                let n = rest.iter().position(|&b| b == b'\n').ok_or(truncated)?;
                Cow::Borrowed(&rest[..=n])
            }
            Some(s) => Cow::Owned(s.read_line(self.len - self.pos, self.pos)?.ok_or(truncated)?),
        };
        self.pos += line.len();
        if self.stream.is_some() {
            self.charge(line.len())?;
        }
        let text = match line {
            Cow::Borrowed(b) => std::str::from_utf8(&b[..b.len() - 1]).ok().map(Cow::Borrowed),
            Cow::Owned(mut b) => {
                b.pop();
                String::from_utf8(b).ok().map(Cow::Owned)
            }
        };
        text.ok_or_else(|| self.malformed("text argument is not UTF-8"))
    }

    fn text_int<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, PickleError> {
        let line = self.line()?;
        line.trim()
            .trim_end_matches('L')
            .parse()
            .map_err(|_| self.malformed(format!("bad {what} \"{}\"", clip(&line))))
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

    pub(super) fn alloc(&mut self, node: Node) -> Result<Val, PickleError> {
        self.charge(size_of::<Node>().saturating_add(node.heap_bytes()))?;
        self.nodes.push(node);
        Ok(Val::Ref(self.nodes.len() - 1))
    }

    pub(super) fn node(&self, v: &Val) -> Option<&Node> {
        match v {
            Val::Ref(id) => self.nodes.get(*id),
            _ => None,
        }
    }

    /// The bytes of a `bytes` value (`None` for any other value). A span left in a streamed
    /// file is read now, and charged.
    pub(super) fn bytes_of(&mut self, v: &Val) -> Result<Option<Raw<'a>>, PickleError> {
        Ok(Some(match v {
            Val::Span(start, n) if self.stream.is_none() => {
                let data: &'a [u8] = self.data;
                // Spans are made only after their length was checked against the input.
                Raw::File(data.get(*start..start + n).unwrap_or_default())
            }
            Val::Span(start, n) => {
                self.charge(*n)?;
                let resume = self.pos;
                match &mut self.stream {
                    Some(s) => Raw::Shared(s.read_at(*start, *n, resume)?),
                    None => Raw::File(&[]),
                }
            }
            Val::Bytes(b) => Raw::Shared(b.clone()),
            _ => return Ok(None),
        }))
    }

    /// Where a span left in the file by `read_pickle_lazy` lies: (path, start, length).
    pub(super) fn file_span(&self, v: &Val) -> Option<(&std::path::Path, usize, usize)> {
        match (v, &self.stream) {
            (Val::Span(start, n), Some(s)) => Some((&s.path, *start, *n)),
            _ => None,
        }
    }

    /// An array whose data stays in the file.
    pub(super) fn lazy_node(&mut self, array: LazyArray) -> Result<Node, PickleError> {
        self.charge(array.shape.len().saturating_mul(size_of::<usize>()))?;
        Ok(Node::Lazy(array))
    }

    pub(super) fn tuple(&self, v: &Val) -> Option<&[Val]> {
        self.node(v)?.as_tuple()
    }

    /// A copy of the items of the node `v` refers to, as `items` picks them (`None` if it
    /// picks none), charged before it is made.
    pub(super) fn copy_items(
        &mut self,
        v: &Val,
        items: fn(&Node) -> Option<&[Val]>,
    ) -> Result<Option<Vec<Val>>, PickleError> {
        let Some(n) = self.node(v).and_then(items).map(<[Val]>::len) else {
            return Ok(None);
        };
        self.charge_n::<Val>(n)?;
        Ok(self.node(v).and_then(items).map(<[Val]>::to_vec))
    }

    /// What an alias chain ends at. Aliases never form a cycle (BUILD refuses one), but a
    /// chain can be long, so each step is charged like copying a handle.
    pub(super) fn resolve(&mut self, v: &Val) -> Result<Val, PickleError> {
        let mut v = v.clone();
        while let Some(Node::Alias(next)) = self.node(&v) {
            v = next.clone();
            self.charge_n::<Val>(1)?;
        }
        Ok(v)
    }

    /// The Python type of a value, for messages. Follows only a few aliases, so that it is
    /// cheap and ends whatever the arena holds.
    pub(super) fn describe(&self, v: &Val) -> String {
        let mut v = v;
        for _ in 0..8 {
            match self.node(v) {
                Some(Node::Alias(next)) => v = next,
                _ => break,
            }
        }
        match v {
            Val::None => "None",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float",
            Val::Str(_) => "str",
            Val::Span(..) | Val::Bytes(_) => "bytes",
            Val::Ref(id) => match self.nodes.get(*id).unwrap_or(&Node::Taken) {
                Node::List(_) => "list",
                Node::Tuple(_) => "tuple",
                Node::Dict(_) => "dict",
                Node::Set(_) => "set",
                Node::BigInt(_) => "int",
                Node::Dtype(_) => "numpy.dtype",
                Node::PendingArray { .. } | Node::Array(_) | Node::Lazy(_) | Node::Alias(_) => "numpy.ndarray",
                Node::Persistent(_) => "persistent id",
                Node::Global { module, name } => return format!("{}.{}", clip(module), clip(name)),
                Node::Object(o) => return format!("{}.{} object", clip(&o.module), clip(&o.name)),
                Node::Taken => "value",
            },
        }
        .to_string()
    }

    /// A 4-byte signed length (LONG4, BINSTRING).
    fn signed_len(&mut self, what: &str) -> Result<usize, PickleError> {
        let n = i32::from_le_bytes(self.array()?);
        usize::try_from(n).map_err(|_| self.malformed(format!("{what} with a negative length")))
    }

    pub(super) fn run(mut self) -> Result<PyValue, PickleError> {
        loop {
            self.op = self.pos;
            let [code] = self.array::<1>()?;
            // Each arm yields the value it pushes, if any.
            let pushed = match code {
                0x80 => {
                    let [version] = self.array::<1>()?;
                    if version > 5 {
                        return Err(self.unsupported(format!("pickle protocol {version} is newer than this reader knows (up to 5)")));
                    }
                    None
                }
                // FRAME only groups opcodes for buffered reading; a frame longer than the
                // rest of the file means the file was cut.
                0x95 => {
                    let n = self.len_field(8)?;
                    self.check_left(n)?;
                    None
                }
                b'.' => {
                    let result = self.pop()?;
                    return self.finish(result);
                }
                b'(' => {
                    if self.marks.len() == self.marks_peak {
                        self.charge_n::<usize>(1)?;
                        self.marks_peak += 1;
                    }
                    self.marks.push(self.stack.len());
                    None
                }
                // As in CPython, POP with nothing above the mark discards the mark.
                b'0' if self.stack.len() > self.floor() => self.pop().map(|_| None)?,
                b'0' | b'1' => self.pop_mark().map(|_| None)?,
                b'2' => Some(self.top()?),
                b'N' => Some(Val::None),
                0x88 => Some(Val::Bool(true)),
                0x89 => Some(Val::Bool(false)),
                b'K' => Some(Val::Int(self.array::<1>()?[0].into())),
                b'M' => Some(Val::Int(u16::from_le_bytes(self.array()?).into())),
                b'J' => Some(Val::Int(i32::from_le_bytes(self.array()?).into())),
                0x8a | 0x8b => {
                    let n = if code == 0x8a { self.len_field(1)? } else { self.signed_len("LONG4")? };
                    let bytes = self.take(n)?;
                    Some(self.long(&bytes)?)
                }
                // Protocol 0 spells booleans as I01 / I00.
                b'I' => Some(match &*self.line()? {
                    "01" => Val::Bool(true),
                    "00" => Val::Bool(false),
                    text => Val::Int(text.trim().parse().map_err(|_| self.malformed(format!("bad INT {text:?}")))?),
                }),
                b'L' => Some(Val::Int(self.text_int("LONG (beyond 64 bits?)")?)),
                b'F' => Some(Val::Float(self.text_int("FLOAT")?)),
                b'G' => Some(Val::Float(f64::from_be_bytes(self.array()?))),
                b'X' => Some(self.utf8(4)?),
                0x8c => Some(self.utf8(1)?),
                0x8d => Some(self.utf8(8)?),
                // Python 2 `str`: decoded as latin-1, which keeps every byte (NumPy's advice
                // for Python 2 pickles); array data in it is re-encoded losslessly.
                b'T' | b'U' => {
                    let n = if code == b'U' { self.len_field(1)? } else { self.signed_len("BINSTRING")? };
                    let raw = self.take(n)?;
                    // Bytes from 0x80 take two in UTF-8.
                    self.charge(n.saturating_mul(2))?;
                    let text: String = raw.iter().map(|&b| char::from(b)).collect();
                    Some(Val::Str(text.into()))
                }
                b'C' => Some(self.span(1)?),
                b'B' => Some(self.span(4)?),
                0x8e | 0x96 => Some(self.span(8)?),
                b')' => Some(self.alloc(Node::Tuple(Vec::new()))?),
                b']' => Some(self.alloc(Node::List(Vec::new()))?),
                b'}' => Some(self.alloc(Node::Dict(Vec::new()))?),
                0x8f => Some(self.alloc(Node::Set(Vec::new()))?),
                0x85..=0x87 => {
                    let n = usize::from(code - 0x84);
                    if self.stack.len() < self.floor() + n {
                        return Err(self.malformed("stack underflow"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    Some(self.alloc(Node::Tuple(items))?)
                }
                b't' => Some(self.pop_mark().and_then(|items| self.alloc(Node::Tuple(items)))?),
                b'l' => Some(self.pop_mark().and_then(|items| self.alloc(Node::List(items)))?),
                0x91 => Some(self.pop_mark().and_then(|items| self.alloc(Node::Set(items)))?),
                b'd' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    Some(self.alloc(Node::Dict(pairs))?)
                }
                b'a' => {
                    let item = self.pop()?;
                    self.add_items(Items::List(vec![item])).map(|_| None)?
                }
                b'e' => self.pop_mark().and_then(|items| self.add_items(Items::List(items))).map(|_| None)?,
                b's' => {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    self.add_items(Items::Dict(vec![(key, value)])).map(|_| None)?
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    self.add_items(Items::Dict(pairs)).map(|_| None)?
                }
                0x90 => {
                    let items = self.pop_mark()?;
                    self.charge_n::<Val>(items.len())?;
                    match self.top()? {
                        Val::Ref(id) if matches!(self.nodes[id], Node::Set(_)) => {
                            if let Node::Set(set) = &mut self.nodes[id] {
                                set.extend(items);
                            }
                        }
                        target => return Err(self.malformed(format!("ADDITEMS on a {}", self.describe(&target)))),
                    }
                    None
                }
                // Memo: PUT (text), BINPUT, LONG_BINPUT, MEMOIZE; GET, BINGET, LONG_BINGET.
                b'p' | b'q' | b'r' | 0x94 => {
                    let key = match code {
                        b'p' => self.text_int("memo key")?,
                        b'q' => self.len_field(1)?,
                        b'r' => self.len_field(4)?,
                        _ => self.memo.len(),
                    };
                    let top = self.top()?;
                    // A hash table entry, and the table's spare capacity.
                    self.charge_n::<(usize, Val)>(2)?;
                    self.memo.insert(key, top);
                    None
                }
                b'g' | b'h' | b'j' => {
                    let key = match code {
                        b'g' => self.text_int("memo key")?,
                        b'h' => self.len_field(1)?,
                        _ => self.len_field(4)?,
                    };
                    let v = self.memo.get(&key).cloned();
                    Some(v.ok_or_else(|| self.malformed(format!("memo key {key} was never stored")))?)
                }
                b'c' => {
                    let (module, name) = (self.line()?, self.line()?);
                    Some(self.text_global(&module, &name)?)
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    let (Val::Str(module), Val::Str(name)) = (module, name) else {
                        return Err(self.malformed("STACK_GLOBAL needs two strings"));
                    };
                    Some(self.global(module, name)?)
                }
                b'R' | 0x81 | 0x92 => {
                    let kwargs = if code == 0x92 { Some(self.pop()?) } else { None };
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    let mut args = self.copy_items(&args, Node::as_tuple)?.ok_or_else(|| {
                        self.malformed(format!("call arguments must be a tuple, found {}", self.describe(&args)))
                    })?;
                    // NEWOBJ_EX's keyword arguments are kept (as a trailing dict) if any.
                    if let Some(kw) = kwargs {
                        if !matches!(self.node(&kw), Some(Node::Dict(d)) if d.is_empty()) {
                            args.push(kw);
                        }
                    }
                    Some(self.call(&callable, args)?)
                }
                b'i' => {
                    let (module, name) = (self.line()?, self.line()?);
                    let cls = self.text_global(&module, &name)?;
                    let args = self.pop_mark()?;
                    Some(self.call(&cls, args)?)
                }
                b'o' => {
                    let mut items = self.pop_mark()?.into_iter();
                    let cls = items.next().ok_or_else(|| self.malformed("OBJ without a class"))?;
                    Some(self.call(&cls, items.collect())?)
                }
                b'b' => {
                    let state = self.pop()?;
                    let target = self.top()?;
                    self.build(&target, state).map(|_| None)?
                }
                // Marks an in-band buffer read-only, which changes nothing here.
                0x98 => {
                    let top = self.top()?;
                    if !matches!(top, Val::Span(..) | Val::Bytes(_)) {
                        return Err(self.malformed(format!("READONLY_BUFFER on a {}", self.describe(&top))));
                    }
                    None
                }
                0x97 => {
                    return Err(self.unsupported(
                        "NEXT_BUFFER: the pickle was written with out-of-band buffers (protocol 5 buffer_callback), whose data is not in the file",
                    ))
                }
                b'P' | b'Q' if self.flavor == Flavor::Torch => {
                    let id = if code == b'P' {
                        let line = self.line()?;
                        self.charge(line.len())?;
                        Val::Str((&*line).into())
                    } else {
                        self.pop()?
                    };
                    Some(self.alloc(Node::Persistent(id))?)
                }
                b'P' | b'Q' => {
                    return Err(self.unsupported(
                        "persistent ID: the pickle refers to storage outside itself (a PyTorch or joblib file?)",
                    ))
                }
                0x82..=0x84 => return Err(self.unsupported("extension-registry code (copyreg.add_extension)")),
                b'S' | b'V' => {
                    return Err(self.unsupported("protocol-0 text string; save the pickle with protocol 2 or later"))
                }
                _ => return Err(self.malformed(format!("unknown opcode 0x{code:02x}"))),
            };
            if let Some(v) = pushed {
                if self.stack.len() == self.stack_peak {
                    self.charge_n::<Val>(1)?;
                    self.stack_peak += 1;
                }
                self.stack.push(v);
            }
        }
    }

    /// LONG1/LONG4: little-endian two's complement of any length.
    fn long(&mut self, bytes: &[u8]) -> Result<Val, PickleError> {
        let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
        let fill = if negative { 0xff } else { 0 };
        // Trailing sign-extension bytes do not change the value.
        let mut n = bytes.len();
        while n > 1 && bytes[n - 1] == fill && (bytes[n - 2] & 0x80 != 0) == negative {
            n -= 1;
        }
        if n <= 8 {
            let mut le = [fill; 8];
            le[..n].copy_from_slice(&bytes[..n]);
            return Ok(Val::Int(i64::from_le_bytes(le)));
        }
        self.alloc(Node::BigInt(bytes[..n].to_vec()))
    }

    /// GLOBAL and INST name the global in two lines of text.
    fn text_global(&mut self, module: &str, name: &str) -> Result<Val, PickleError> {
        self.charge(module.len().saturating_add(name.len()))?;
        self.global(module.into(), name.into())
    }

    fn global(&mut self, module: Rc<str>, name: Rc<str>) -> Result<Val, PickleError> {
        // Python 2 names, which protocol-2 pickles written by Python 3 still use.
        let module = match &*module {
            "__builtin__" => "builtins".into(),
            "copy_reg" => "copyreg".into(),
            _ => module,
        };
        self.alloc(Node::Global { module, name })
    }

    /// APPEND(S) and SETITEM(S) onto the object under them; unknown objects (list and dict
    /// subclasses) keep the items too.
    fn add_items(&mut self, items: Items) -> Result<(), PickleError> {
        let target = self.top()?;
        let added = match &items {
            Items::List(items) => items.len(),
            Items::Dict(items) => items.len().saturating_mul(2),
        };
        self.charge_n::<Val>(added)?;
        let node = match target {
            Val::Ref(id) => self.nodes.get_mut(id),
            _ => None,
        };
        match (node, items) {
            (Some(Node::List(list)), Items::List(items)) => list.extend(items),
            (Some(Node::Dict(dict)), Items::Dict(items)) => dict.extend(items),
            (Some(Node::Object(o)), Items::List(items)) => o.list_items.extend(items),
            (Some(Node::Object(o)), Items::Dict(items)) => o.dict_items.extend(items),
            (_, items) => {
                let verb = if matches!(items, Items::List(_)) {
                    "APPEND to"
                } else {
                    "SETITEM on"
                };
                return Err(self.malformed(format!("{verb} a {}", self.describe(&target))));
            }
        }
        Ok(())
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
