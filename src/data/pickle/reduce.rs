//! What REDUCE, NEWOBJ, OBJ, INST and BUILD mean: nothing is imported or run. Calls on the
//! allow-list build the value they would have built; any other call is recorded as an
//! opaque object.

use std::rc::Rc;

use super::vm::{Machine, Node, Obj, Val};
use super::PickleError;

impl Machine<'_> {
    /// REDUCE, NEWOBJ, OBJ and INST: the allow-list, or an opaque object.
    pub(super) fn call(&mut self, callable: &Val, args: Vec<Val>) -> Result<Val, PickleError> {
        let (module, name) = match self.node(callable) {
            Some(Node::Global { module, name }) => (module.clone(), name.clone()),
            // Calling the result of another call (getattr and the like): keep the name.
            Some(Node::Object(o)) => {
                let node = Obj::node(&o.module, &o.name, args);
                return Ok(self.alloc(node));
            }
            _ => return Err(self.malformed(format!("cannot call a {}", self.describe(callable)))),
        };
        let node = match (module.as_str(), name.as_str()) {
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                match self.node(args.first().unwrap_or(&Val::None)) {
                    Some(Node::Global { module, name }) if module == "numpy" && name == "ndarray" => {
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
                [b] if self.bytes_of(b).is_some() => return Ok(b.clone()),
                [Val::Str(text), Val::Str(encoding)] => return self.encode(text, encoding),
                _ => Obj::node(&module, &name, args),
            },
            ("builtins", "list" | "tuple" | "set" | "frozenset") => match self.iterable(args.first()) {
                Some(items) if args.len() <= 1 => match name.as_str() {
                    "list" => Node::List(items),
                    "tuple" => Node::Tuple(items),
                    _ => Node::Set(items),
                },
                _ => Obj::node(&module, &name, args),
            },
            // The default factory of a defaultdict is a callable; it is dropped.
            ("collections", "defaultdict") => Node::Dict(Vec::new()),
            ("builtins", "dict") | ("collections", "OrderedDict") => match self.dict_arg(args.first()) {
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
        Ok(self.alloc(node))
    }

    /// How protocol 2 stores bytes: `_codecs.encode(text, "latin1")`.
    fn encode(&mut self, text: &str, encoding: &str) -> Result<Val, PickleError> {
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
        self.charge(bytes.len())?;
        Ok(Val::Bytes(bytes.into()))
    }

    fn iterable(&self, arg: Option<&Val>) -> Option<Vec<Val>> {
        match arg.map(|a| self.node(a)) {
            None => Some(Vec::new()),
            Some(Some(Node::List(v) | Node::Tuple(v) | Node::Set(v))) => Some(v.clone()),
            _ => None,
        }
    }

    /// `dict(x)`: another dict, or pairs (Python 2's OrderedDict pickled `[[k, v], ..]`).
    fn dict_arg(&self, arg: Option<&Val>) -> Option<Vec<(Val, Val)>> {
        if let Some(Node::Dict(d)) = arg.and_then(|a| self.node(a)) {
            return Some(d.clone());
        }
        self.iterable(arg)?
            .iter()
            .map(|pair| match self.node(pair) {
                Some(Node::List(kv) | Node::Tuple(kv)) if kv.len() == 2 => Some((kv[0].clone(), kv[1].clone())),
                _ => None,
            })
            .collect()
    }

    pub(super) fn build(&mut self, target: &Val, state: Val) -> Result<(), PickleError> {
        let what = self.describe(target);
        let Val::Ref(id) = *target else {
            return Err(self.malformed(format!("BUILD on a {what}")));
        };
        let trivial = matches!(state, Val::None) || matches!(self.node(&state), Some(Node::Dict(d)) if d.is_empty());
        match self.nodes[id] {
            Node::PendingArray { .. } => self.nodes[id] = self.numpy_array_state(&state)?,
            Node::Dtype(_) => self.numpy_dtype_state(id, &state)?,
            Node::Object(ref mut o) => o.state = Some(state),
            // Containers from the allow-list take no state; an empty one is harmless.
            _ if trivial => {}
            _ => return Err(self.malformed(format!("BUILD with state on a {what}"))),
        }
        Ok(())
    }
}
