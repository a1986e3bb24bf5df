//! The Rust-side model of the generated types: what each schema became, before it is
//! written out as tokens.

use serde_json::Value;

use crate::ir::SchemaId;

/// Index into [`super::TypeSpace`]'s entries (the named, defined types).
pub(crate) type EntryId = usize;

/// A Rust type used somewhere (a field, an item, a variant payload), with the checks
/// its schema asks for that the type itself does not enforce.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ty {
    pub kind: TyKind,
    /// Constraints checked by the enclosing type's `validate_at` (never on `Option`
    /// or `Box` themselves: those hold the checks on their content).
    pub checks: Vec<Check>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TyKind {
    Prim(Prim),
    Named(EntryId),
    Option(Box<Ty>),
    Box(Box<Ty>),
    Vec(Box<Ty>),
    /// A JSON object with arbitrary keys: `BTreeMap<String, T>`.
    Map(Box<Ty>),
    Tuple(Vec<Ty>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prim {
    /// JSON `null` only.
    Unit,
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    String,
    Uuid,
    DateTime,
    Date,
    Value,
}

impl Prim {
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            Prim::I8
                | Prim::I16
                | Prim::I32
                | Prim::I64
                | Prim::U8
                | Prim::U16
                | Prim::U32
                | Prim::U64
        )
    }
    pub fn is_float(self) -> bool {
        matches!(self, Prim::F32 | Prim::F64)
    }
}

impl Ty {
    pub fn prim(p: Prim) -> Ty {
        Ty {
            kind: TyKind::Prim(p),
            checks: Vec::new(),
        }
    }
    pub fn named(e: EntryId) -> Ty {
        Ty {
            kind: TyKind::Named(e),
            checks: Vec::new(),
        }
    }
    pub fn wrap(kind: fn(Box<Ty>) -> TyKind, inner: Ty) -> Ty {
        Ty {
            kind: kind(Box::new(inner)),
            checks: Vec::new(),
        }
    }
    pub fn option(inner: Ty) -> Ty {
        if matches!(inner.kind, TyKind::Option(_)) {
            return inner;
        }
        Ty::wrap(TyKind::Option, inner)
    }
    pub fn is_option(&self) -> bool {
        matches!(self.kind, TyKind::Option(_))
    }
}

/// One constraint checked by the generated `validate_at`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Check {
    MinLength(u64),
    MaxLength(u64),
    Pattern(String),
    Format(Format),
    Minimum {
        bound: f64,
        exclusive: bool,
    },
    Maximum {
        bound: f64,
        exclusive: bool,
    },
    MultipleOf(f64),
    MinItems(u64),
    MaxItems(u64),
    UniqueItems,
    MinProperties(u64),
    MaxProperties(u64),
    /// Every key of a map must match this pattern.
    KeyPattern(String),
    Enum(Vec<Value>),
    Const(Value),
}

/// String formats that are checked (the others either have a type of their own or are
/// not checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Email,
    Hostname,
    Ipv4,
    Ipv6,
    Uri,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "email" | "idn-email" => Format::Email,
            "hostname" | "idn-hostname" => Format::Hostname,
            "ipv4" => Format::Ipv4,
            "ipv6" => Format::Ipv6,
            "uri" | "iri" => Format::Uri,
            _ => return None,
        })
    }
    /// The runtime function that checks it (in `<runtime>::schema`).
    pub fn checker(self) -> &'static str {
        match self {
            Format::Email => "is_email",
            Format::Hostname => "is_hostname",
            Format::Ipv4 => "is_ipv4",
            Format::Ipv6 => "is_ipv6",
            Format::Uri => "is_uri",
        }
    }
    pub fn what(self) -> &'static str {
        match self {
            Format::Email => "an email address",
            Format::Hostname => "a hostname",
            Format::Ipv4 => "an IPv4 address",
            Format::Ipv6 => "an IPv6 address",
            Format::Uri => "an absolute URI",
        }
    }
}

/// Documentation taken from a schema.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Doc {
    pub title: Option<String>,
    pub description: Option<String>,
    pub deprecated: bool,
    /// The schema's `examples`, shown as JSON.
    pub examples: Vec<Value>,
}

/// A named type to define.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub name: String,
    pub schema: SchemaId,
    pub doc: Doc,
    pub kind: EntryKind,
}

#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // few entries; boxing would only add noise
pub(crate) enum EntryKind {
    /// Being built (recursion may already refer to it).
    Pending,
    /// Reserved but not needed after all (an anonymous schema that is a plain type).
    Removed,
    Struct(StructDef),
    StringEnum(Vec<EnumVariant>),
    /// Internally tagged enum: `tag` names the property holding the variant's value.
    Tagged {
        tag: String,
        variants: Vec<TaggedVariant>,
        /// Every variant forbids other properties.
        deny_unknown_fields: bool,
    },
    Untagged(Vec<UntaggedVariant>),
    /// `pub struct Name(pub T);` — a named type whose value has checks of its own.
    Newtype(Ty),
    /// `pub type Name = T;`
    Alias(Ty),
}

#[derive(Clone, Debug)]
pub(crate) struct StructDef {
    pub fields: Vec<Field>,
    pub deny_unknown_fields: bool,
    /// `additionalProperties: <schema>` next to `properties`: a flattened map.
    pub extra: Option<Field>,
    /// Checks on the whole object (`minProperties`, `maxProperties`).
    pub checks: Vec<Check>,
}

#[derive(Clone, Debug)]
pub(crate) struct Field {
    /// Rust identifier (may be a raw identifier such as `r#type`).
    pub ident: String,
    /// The property name in JSON.
    pub json_name: String,
    /// The field's full type (already `Option<..>` where the mode needs it).
    pub ty: Ty,
    pub mode: FieldMode,
    pub doc: Doc,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FieldMode {
    Required,
    /// Required but may be `null`: `Option<T>`, present on the wire either way.
    RequiredNullable,
    /// Not required: `Option<T>`, omitted when `None`.
    Optional,
    /// Not required, with a schema `default`: `T`, filled in when absent.
    Defaulted(Value),
    /// The flattened map of additional properties.
    Flatten,
}

#[derive(Clone, Debug)]
pub(crate) struct EnumVariant {
    pub ident: String,
    pub value: String,
    pub doc: Doc,
}

#[derive(Clone, Debug)]
pub(crate) struct TaggedVariant {
    pub ident: String,
    pub tag_value: String,
    pub fields: Vec<Field>,
    pub doc: Doc,
}

#[derive(Clone, Debug)]
pub(crate) struct UntaggedVariant {
    pub ident: String,
    pub ty: Ty,
    pub doc: Doc,
}
