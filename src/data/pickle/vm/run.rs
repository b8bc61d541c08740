//! The opcode loop: one arm per pickle opcode, each yielding what it pushes.

use std::rc::Rc;

use super::{Flavor, Machine, Node, Val};
use crate::data::pickle::{PickleError, PyValue};

enum Items {
    List(Vec<Val>),
    Dict(Vec<(Val, Val)>),
}

impl<'a> Machine<'a> {
    pub(in crate::data::pickle) fn run(mut self) -> Result<PyValue, PickleError> {
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
