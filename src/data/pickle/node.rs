//! The arena's values: handles (`Val`) on the stack and in the memo, and the `Node`s they
//! refer to, with what each costs against the machine's budget.

use std::mem::size_of;
use std::rc::Rc;

use super::dtype::Dtype;
use super::lazy::LazyArray;
use super::NdArray;

pub(super) type Id = usize;

/// A stack or memo entry. Immutable scalars are held inline; bytes read from the file are
/// borrowed from it rather than copied.
#[derive(Clone, Debug)]
pub(super) enum Val {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    /// Bytes in the input: start, length. When the pickle is streamed, only payloads left in
    /// the file (`read_pickle_lazy`) are spans; others are read into `Bytes`.
    Span(usize, usize),
    Bytes(Rc<[u8]>),
    Ref(Id),
}

#[derive(Clone, Debug)]
pub(super) enum Node {
    List(Vec<Val>),
    Tuple(Vec<Val>),
    Dict(Vec<(Val, Val)>),
    Set(Vec<Val>),
    /// Little-endian two's complement, more than 64 bits.
    BigInt(Vec<u8>),
    Global {
        module: Rc<str>,
        name: Rc<str>,
    },
    Dtype(Dtype),
    /// `_reconstruct(ndarray, ...)`, waiting for BUILD to give it shape, dtype and data.
    PendingArray {
        offset: usize,
    },
    Array(NdArray),
    /// A numeric array whose data stays in the streamed file (`read_pickle_lazy`).
    Lazy(LazyArray),
    /// Stands for another value (a 0-d object array is its one item). Never part of a cycle
    /// of aliases: BUILD refuses an array that would stand for itself.
    Alias(Val),
    Object(Box<Obj>),
    /// BINPERSID/PERSID's reference to data outside the pickle (PyTorch's storages).
    Persistent(Val),
    /// Moved out while building the result.
    Taken,
}

#[derive(Clone, Debug)]
pub(super) struct Obj {
    pub(super) module: Rc<str>,
    pub(super) name: Rc<str>,
    pub(super) args: Vec<Val>,
    pub(super) state: Option<Val>,
    pub(super) list_items: Vec<Val>,
    pub(super) dict_items: Vec<(Val, Val)>,
}

impl Obj {
    pub(super) fn node(module: &Rc<str>, name: &Rc<str>, args: Vec<Val>) -> Node {
        let (module, name) = (module.clone(), name.clone());
        Node::Object(Box::new(Obj {
            module,
            name,
            args,
            state: None,
            list_items: Vec::new(),
            dict_items: Vec::new(),
        }))
    }
}

impl Node {
    pub(super) fn for_each_child(&self, mut f: impl FnMut(&Val)) {
        match self {
            Node::List(v) | Node::Tuple(v) | Node::Set(v) => v.iter().for_each(f),
            Node::Dict(items) => items.iter().for_each(|(k, v)| {
                f(k);
                f(v)
            }),
            Node::Alias(v) | Node::Persistent(v) => f(v),
            Node::Object(o) => {
                o.args.iter().chain(&o.state).chain(&o.list_items).for_each(&mut f);
                o.dict_items.iter().for_each(|(k, v)| {
                    f(k);
                    f(v)
                });
            }
            _ => {}
        }
    }

    pub(super) fn as_tuple(&self) -> Option<&[Val]> {
        match self {
            Node::Tuple(items) => Some(items),
            _ => None,
        }
    }

    pub(super) fn as_list(&self) -> Option<&[Val]> {
        match self {
            Node::List(items) => Some(items),
            _ => None,
        }
    }

    /// The items of a list, tuple or set.
    pub(super) fn as_sequence(&self) -> Option<&[Val]> {
        match self {
            Node::List(v) | Node::Tuple(v) | Node::Set(v) => Some(v),
            _ => None,
        }
    }

    /// Bytes this node holds on the heap beyond its own slot in the arena: what making it,
    /// or copying it, costs against the budget.
    pub(super) fn heap_bytes(&self) -> usize {
        let vals = |n: usize| n.saturating_mul(size_of::<Val>());
        match self {
            Node::List(v) | Node::Tuple(v) | Node::Set(v) => vals(v.len()),
            Node::Dict(items) => vals(items.len()).saturating_mul(2),
            Node::BigInt(b) => b.len(),
            Node::Array(a) => a.data.len().saturating_add(a.shape.len()).saturating_mul(8),
            Node::Lazy(a) => a.shape.len().saturating_mul(8),
            Node::Object(o) => {
                let items = o.args.len() + o.list_items.len() + 2 * o.dict_items.len() + 1;
                vals(items).saturating_add(size_of::<Obj>())
            }
            Node::Global { .. }
            | Node::Dtype(_)
            | Node::PendingArray { .. }
            | Node::Alias(_)
            | Node::Persistent(_)
            | Node::Taken => 0,
        }
    }
}
