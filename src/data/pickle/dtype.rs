//! NumPy's data types: a dtype as pickled (type code, byte order, item size) and the element
//! kinds this reader decodes. A leaf of the pickle reader: the arena's `Node` holds a `Dtype`
//! and `numpy` decodes arrays with it, so it sits below both.

/// A dtype as `numpy.dtype(code)` and its BUILD state describe it.
#[derive(Clone, Debug)]
pub(super) struct Dtype {
    kind: char,
    /// The number in the type code: bytes, or characters for `U`.
    size: usize,
    /// `<`, `>`, `|` (not applicable) or `=` (native).
    pub(super) order: char,
    /// Item size from the BUILD state, given for flexible types (strings, void).
    pub(super) elsize: Option<usize>,
    /// Record or sub-array dtype: fields we do not read.
    pub(super) structured: bool,
}

/// An element kind this reader decodes, with its size in bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Elem {
    Float(usize),
    Int(usize),
    UInt(usize),
    Bool,
    Object,
    /// UCS-4 text of this many bytes per item.
    Unicode(usize),
    Bytes(usize),
}

impl Dtype {
    pub(super) fn parse(code: &str) -> Option<Dtype> {
        let (order, rest) = match code.chars().next()? {
            c @ ('<' | '>' | '|' | '=') => (c, &code[1..]),
            _ => ('|', code),
        };
        let kind = rest.chars().next()?;
        let digits = &rest[kind.len_utf8()..];
        let size = if digits.is_empty() { 0 } else { digits.parse().ok()? };
        let (kind, size) = if kind == '?' { ('b', 1) } else { (kind, size) };
        Some(Dtype {
            kind,
            size,
            order,
            elsize: None,
            structured: false,
        })
    }

    pub(super) fn descr(&self) -> String {
        format!("{}{}{}", self.order, self.kind, self.size)
    }

    pub(super) fn big_endian(&self) -> bool {
        self.order == '>' || (self.order == '=' && cfg!(target_endian = "big"))
    }

    pub(super) fn elem(&self) -> Result<Elem, String> {
        let descr = self.descr();
        if self.structured {
            return Err(format!("structured dtype {descr}"));
        }
        Ok(match (self.kind, self.size) {
            ('f', n @ (2 | 4 | 8)) => Elem::Float(n),
            ('i', n @ (1 | 2 | 4 | 8)) => Elem::Int(n),
            ('u', n @ (1 | 2 | 4 | 8)) => Elem::UInt(n),
            ('b', 1) => Elem::Bool,
            ('O', _) => Elem::Object,
            ('U', n) => Elem::Unicode(self.elsize.unwrap_or(n.saturating_mul(4))),
            ('S', n) => Elem::Bytes(self.elsize.unwrap_or(n)),
            ('f', _) => return Err(format!("extended-precision float {descr}")),
            ('c', _) => return Err(format!("complex dtype {descr}")),
            ('M' | 'm', _) => return Err(format!("datetime/timedelta dtype {descr}")),
            _ => return Err(format!("dtype {descr}")),
        })
    }
}

impl Elem {
    pub(super) fn size(self) -> usize {
        match self {
            Elem::Float(n) | Elem::Int(n) | Elem::UInt(n) | Elem::Unicode(n) | Elem::Bytes(n) => n,
            Elem::Bool => 1,
            Elem::Object => 0,
        }
    }

    pub(super) fn name(self) -> String {
        match self {
            Elem::Float(n) => format!("float{}", n * 8),
            Elem::Int(n) => format!("int{}", n * 8),
            Elem::UInt(n) => format!("uint{}", n * 8),
            Elem::Bool => "bool".into(),
            _ => "object".into(),
        }
    }
}
