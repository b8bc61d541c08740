//! Copying the result out of the arena into an owned `PyValue` tree.
//!
//! The one recursive walk of the reader. Its depth is bounded (a value nested deeper, or one
//! that contains itself, is refused), and it charges the machine's budget for every value
//! it makes and every node it has to copy rather than move, so a DAG that shares one value
//! many times (2^60 paths in 60 levels) is refused after the budget's worth of copies.

use std::mem::size_of;

use super::vm::{Id, Machine, Node, Obj, Val};
use super::{PickleError, PyValue};

/// Deeper values are refused: dropping or printing a `PyValue` recurses, and a
/// self-referencing pickle would otherwise never end. Each level takes a few hundred bytes
/// of stack, well within a 2 MiB thread stack.
pub(super) const MAX_DEPTH: usize = 200;

impl Machine<'_> {
    /// Copies the result out of the arena. A node's contents are moved on the last visit
    /// and copied (against the budget) on earlier ones, so an array stored once is never
    /// duplicated.
    pub(super) fn finish(mut self, root: Val) -> Result<PyValue, PickleError> {
        self.stack.clear();
        self.memo.clear();
        // The counting walk's `todo` holds at most one handle per container item, each of
        // which was charged when the container was made; `refs` and `seen` are charged here.
        self.charge(self.nodes.len().saturating_mul(size_of::<usize>() + 1))?;
        self.refs = vec![0; self.nodes.len()];
        let mut seen = vec![false; self.nodes.len()];
        let mut todo = vec![root.clone()];
        while let Some(v) = todo.pop() {
            if let Val::Ref(id) = v {
                self.refs[id] += 1;
                if !std::mem::replace(&mut seen[id], true) {
                    self.nodes[id].for_each_child(|c| todo.push(c.clone()));
                }
            }
        }
        self.value(root, 0)
    }

    fn values(&mut self, items: Vec<Val>, depth: usize) -> Result<Vec<PyValue>, PickleError> {
        items.into_iter().map(|v| self.value(v, depth)).collect()
    }

    fn value(&mut self, v: Val, depth: usize) -> Result<PyValue, PickleError> {
        if depth > MAX_DEPTH {
            return Err(self.unsupported(format!(
                "values nested more than {MAX_DEPTH} deep (or a value that contains itself)"
            )));
        }
        self.charge_n::<PyValue>(1)?;
        Ok(match v {
            Val::None => PyValue::None,
            Val::Bool(b) => PyValue::Bool(b),
            Val::Int(i) => PyValue::Int(i),
            Val::Float(f) => PyValue::Float(f),
            Val::Str(s) => {
                self.charge(s.len())?;
                PyValue::Str(s.to_string())
            }
            Val::Span(..) | Val::Bytes(_) => {
                let bytes = self.bytes_of(&v)?.map_or_else(Vec::new, |b| b.to_vec());
                self.charge(bytes.len())?;
                PyValue::Bytes(bytes)
            }
            Val::Ref(id) => self.node_value(id, depth)?,
        })
    }

    fn node_value(&mut self, id: Id, depth: usize) -> Result<PyValue, PickleError> {
        self.refs[id] = self.refs[id].saturating_sub(1);
        let node = if self.refs[id] == 0 {
            std::mem::replace(&mut self.nodes[id], Node::Taken)
        } else {
            // This copy's children are visited once more than the count says.
            self.charge(size_of::<Node>().saturating_add(self.nodes[id].heap_bytes()))?;
            let node = self.nodes[id].clone();
            node.for_each_child(|c| {
                if let Val::Ref(c) = c {
                    self.refs[*c] += 1;
                }
            });
            node
        };
        let d = depth + 1;
        Ok(match node {
            Node::List(items) => PyValue::List(self.values(items, d)?),
            Node::Tuple(items) => PyValue::Tuple(self.values(items, d)?),
            Node::Set(items) => PyValue::Set(self.values(items, d)?),
            Node::Dict(items) => PyValue::Dict(self.dict_values(items, d)?),
            Node::Array(a) => PyValue::Array(a),
            Node::Lazy(a) => PyValue::LazyArray(a),
            Node::Alias(v) => self.value(v, d)?,
            Node::Persistent(v) => PyValue::PersistentId(Box::new(self.value(v, d)?)),
            Node::BigInt(bytes) => PyValue::Object {
                module: "builtins".into(),
                name: "int".into(),
                args: vec![PyValue::Bytes(bytes)],
                state: None,
            },
            Node::Global { module, name } => PyValue::Object {
                module: self.string(&module)?,
                name: self.string(&name)?,
                args: Vec::new(),
                state: None,
            },
            Node::Dtype(dt) => PyValue::Object {
                module: "numpy".into(),
                name: "dtype".into(),
                args: vec![PyValue::Str(dt.descr())],
                state: None,
            },
            Node::PendingArray { offset } => {
                return Err(PickleError::Malformed {
                    offset,
                    message: "NumPy array never given its data (no BUILD)".into(),
                })
            }
            Node::Object(o) => {
                let Obj {
                    module,
                    name,
                    args,
                    state,
                    list_items,
                    dict_items,
                } = *o;
                let (module, name) = (self.string(&module)?, self.string(&name)?);
                let args = self.values(args, d)?;
                let mut state = state.map(|s| self.value(s, d)).transpose()?;
                if !list_items.is_empty() || !dict_items.is_empty() {
                    let parts = vec![
                        (PyValue::Str("state".into()), state.unwrap_or(PyValue::None)),
                        (
                            PyValue::Str("listitems".into()),
                            PyValue::List(self.values(list_items, d)?),
                        ),
                        (
                            PyValue::Str("dictitems".into()),
                            PyValue::Dict(self.dict_values(dict_items, d)?),
                        ),
                    ];
                    state = Some(PyValue::Dict(parts));
                }
                PyValue::Object {
                    module,
                    name,
                    args,
                    state: state.map(Box::new),
                }
            }
            Node::Taken => return Err(self.unsupported("a value that contains itself")),
        })
    }

    fn string(&mut self, s: &str) -> Result<String, PickleError> {
        self.charge(s.len())?;
        Ok(s.to_string())
    }

    fn dict_values(&mut self, items: Vec<(Val, Val)>, depth: usize) -> Result<Vec<(PyValue, PyValue)>, PickleError> {
        items
            .into_iter()
            .map(|(k, v)| Ok((self.value(k, depth)?, self.value(v, depth)?)))
            .collect()
    }
}
