//! The arena: allocating nodes (charged), following handles and aliases, reading the bytes
//! a value refers to, and naming a value's Python type for messages.

use std::mem::size_of;

use super::{clip, Machine, Node, Val};
use crate::data::pickle::lazy::LazyArray;
use crate::data::pickle::numpy::Raw;
use crate::data::pickle::PickleError;

impl<'a> Machine<'a> {
    pub(in crate::data::pickle) fn alloc(&mut self, node: Node) -> Result<Val, PickleError> {
        self.charge(size_of::<Node>().saturating_add(node.heap_bytes()))?;
        self.nodes.push(node);
        Ok(Val::Ref(self.nodes.len() - 1))
    }

    pub(in crate::data::pickle) fn node(&self, v: &Val) -> Option<&Node> {
        match v {
            Val::Ref(id) => self.nodes.get(*id),
            _ => None,
        }
    }

    /// The bytes of a `bytes` value (`None` for any other value). A span left in a streamed
    /// file is read now, and charged.
    pub(in crate::data::pickle) fn bytes_of(&mut self, v: &Val) -> Result<Option<Raw<'a>>, PickleError> {
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
    pub(in crate::data::pickle) fn file_span(&self, v: &Val) -> Option<(&std::path::Path, usize, usize)> {
        match (v, &self.stream) {
            (Val::Span(start, n), Some(s)) => Some((&s.path, *start, *n)),
            _ => None,
        }
    }

    /// An array whose data stays in the file.
    pub(in crate::data::pickle) fn lazy_node(&mut self, array: LazyArray) -> Result<Node, PickleError> {
        self.charge(array.shape.len().saturating_mul(size_of::<usize>()))?;
        Ok(Node::Lazy(array))
    }

    pub(in crate::data::pickle) fn tuple(&self, v: &Val) -> Option<&[Val]> {
        self.node(v)?.as_tuple()
    }

    /// A copy of the items of the node `v` refers to, as `items` picks them (`None` if it
    /// picks none), charged before it is made.
    pub(in crate::data::pickle) fn copy_items(
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
    pub(in crate::data::pickle) fn resolve(&mut self, v: &Val) -> Result<Val, PickleError> {
        let mut v = v.clone();
        while let Some(Node::Alias(next)) = self.node(&v) {
            v = next.clone();
            self.charge_n::<Val>(1)?;
        }
        Ok(v)
    }

    /// The Python type of a value, for messages. Follows only a few aliases, so that it is
    /// cheap and ends whatever the arena holds.
    pub(in crate::data::pickle) fn describe(&self, v: &Val) -> String {
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
}
