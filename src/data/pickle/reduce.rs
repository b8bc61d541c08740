//! What REDUCE, NEWOBJ, OBJ, INST and BUILD mean: nothing is imported or run. Calls on the
//! allow-list build the value they would have built; any other call is recorded as an
//! opaque object.

use std::rc::Rc;

use super::vm::{Flavor, Machine, Node, Obj, Val};
use super::PickleError;

/// No codec name is longer; a longer one is refused before it is normalised.
const MAX_ENCODING: usize = 32;

impl Machine<'_> {
    /// REDUCE, NEWOBJ, OBJ and INST: the allow-list, or an opaque object.
    pub(super) fn call(&mut self, callable: &Val, args: Vec<Val>) -> Result<Val, PickleError> {
        let (module, name) = match self.node(callable) {
            Some(Node::Global { module, name }) => (module.clone(), name.clone()),
            // Calling the result of another call (getattr and the like): keep the name.
            Some(Node::Object(o)) => {
                let node = Obj::node(&o.module, &o.name, args);
                return self.alloc(node);
            }
            _ => return Err(self.malformed(format!("cannot call a {}", self.describe(callable)))),
        };
        let node = match (&*module, &*name) {
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                match self.node(args.first().unwrap_or(&Val::None)) {
                    Some(Node::Global { module, name }) if &**module == "numpy" && &**name == "ndarray" => {
                        Node::PendingArray { offset: self.op }
                    }
                    // ndarray subclasses (masked arrays, matrices) carry state we do not read.
                    Some(Node::Global { module, name }) => Obj::node(module, name, Vec::new()),
                    _ => return Err(self.malformed("numpy _reconstruct without an array class")),
                }
            }
            ("numpy.core.multiarray" | "numpy._core.multiarray", "scalar") => return self.numpy_scalar(&args),
            ("numpy.core.numeric" | "numpy._core.numeric", "_frombuffer") => self.numpy_frombuffer(&args)?,
            ("numpy", "dtype") => self.numpy_dtype(&args)?,
            ("_codecs", "encode") => match (args.first(), args.get(1)) {
                (Some(Val::Str(text)), Some(Val::Str(encoding))) => return self.encode(text, encoding),
                _ => Obj::node(&module, &name, args),
            },
            ("builtins", "bytes" | "bytearray") => match args.as_slice() {
                [] => return Ok(Val::Bytes(Rc::from(&[][..]))),
                [b @ (Val::Span(..) | Val::Bytes(_))] => return Ok(b.clone()),
                [Val::Str(text), Val::Str(encoding)] => return self.encode(text, encoding),
                _ => Obj::node(&module, &name, args),
            },
            ("builtins", "list" | "tuple" | "set" | "frozenset") => match self.iterable(args.first())? {
                Some(items) if args.len() <= 1 => match &*name {
                    "list" => Node::List(items),
                    "tuple" => Node::Tuple(items),
                    _ => Node::Set(items),
                },
                _ => Obj::node(&module, &name, args),
            },
            // The default factory of a defaultdict is a callable; it is dropped.
            ("collections", "defaultdict") => Node::Dict(Vec::new()),
            ("builtins", "dict") | ("collections", "OrderedDict") => match self.dict_arg(args.first())? {
                Some(items) if args.len() <= 1 => Node::Dict(items),
                _ => Obj::node(&module, &name, args),
            },
            // Protocol 0/1 instances: copyreg._reconstructor(cls, base, state).
            ("copyreg", "_reconstructor") => match self.node(args.first().unwrap_or(&Val::None)) {
                Some(Node::Global { module, name }) => {
                    let extra = args.get(2).filter(|v| !matches!(v, Val::None)).cloned();
                    Obj::node(module, name, extra.into_iter().collect())
                }
                _ => Obj::node(&module, &name, args),
            },
            _ => Obj::node(&module, &name, args),
        };
        self.alloc(node)
    }

    /// How protocol 2 stores bytes: `_codecs.encode(text, "latin1")`.
    fn encode(&mut self, text: &str, encoding: &str) -> Result<Val, PickleError> {
        if encoding.len() > MAX_ENCODING {
            return Err(self.unsupported("_codecs.encode with an encoding name of absurd length"));
        }
        // The text may be a memoised string used many times over; each copy is charged.
        self.charge(text.len())?;
        let bytes: Vec<u8> = match encoding.to_ascii_lowercase().replace('_', "-").as_str() {
            "latin1" | "latin-1" | "iso-8859-1" => text
                .chars()
                .map(|c| {
                    u8::try_from(u32::from(c))
                        .map_err(|_| self.malformed(format!("character {c:?} cannot be latin-1 encoded")))
                })
                .collect::<Result<_, _>>()?,
            "utf8" | "utf-8" => text.as_bytes().to_vec(),
            other => return Err(self.unsupported(format!("_codecs.encode with encoding {other:?}"))),
        };
        Ok(Val::Bytes(bytes.into()))
    }

    /// The items of `list(x)` and the like: a copy, charged before it is made (the node it
    /// goes into is charged again when allocated).
    fn iterable(&mut self, arg: Option<&Val>) -> Result<Option<Vec<Val>>, PickleError> {
        let Some(arg) = arg else {
            return Ok(Some(Vec::new()));
        };
        self.copy_items(arg, Node::as_sequence)
    }

    /// `dict(x)`: another dict, or pairs (Python 2's OrderedDict pickled `[[k, v], ..]`).
    fn dict_arg(&mut self, arg: Option<&Val>) -> Result<Option<Vec<(Val, Val)>>, PickleError> {
        if let Some(Node::Dict(d)) = arg.and_then(|a| self.node(a)) {
            self.charge_n::<(Val, Val)>(d.len())?;
            return Ok(arg.and_then(|a| match self.node(a) {
                Some(Node::Dict(d)) => Some(d.clone()),
                _ => None,
            }));
        }
        let Some(items) = self.iterable(arg)? else {
            return Ok(None);
        };
        // A list of pairs: the pairs vector is as long again as the items.
        self.charge_n::<Val>(items.len().saturating_mul(2))?;
        Ok(items
            .iter()
            .map(|pair| match self.node(pair) {
                Some(Node::List(kv) | Node::Tuple(kv)) if kv.len() == 2 => Some((kv[0].clone(), kv[1].clone())),
                _ => None,
            })
            .collect())
    }

    pub(super) fn build(&mut self, target: &Val, state: Val) -> Result<(), PickleError> {
        let Val::Ref(id) = *target else {
            return Err(self.malformed(format!("BUILD on a {}", self.describe(target))));
        };
        let trivial = matches!(state, Val::None) || matches!(self.node(&state), Some(Node::Dict(d)) if d.is_empty());
        let torch = self.flavor == Flavor::Torch;
        match self.nodes[id] {
            Node::PendingArray { .. } => {
                let array = self.numpy_array_state(&state)?;
                if let Node::Alias(item) = &array {
                    // A 0-d object array whose item is (an alias of) the array itself would
                    // stand for itself: every walk along it would never end.
                    if matches!(self.resolve(item)?, Val::Ref(end) if end == id) {
                        return Err(self.malformed("a 0-d NumPy object array that contains itself"));
                    }
                }
                self.nodes[id] = array;
            }
            Node::Dtype(_) => self.numpy_dtype_state(id, &state)?,
            Node::Object(ref mut o) => o.state = Some(state),
            // Containers from the allow-list take no state; an empty one is harmless.
            _ if trivial => {}
            // PyTorch's state dicts are OrderedDicts carrying a `_metadata` attribute.
            Node::Dict(_) if torch => {}
            _ => return Err(self.malformed(format!("BUILD with state on a {}", self.describe(target)))),
        }
        Ok(())
    }
}
