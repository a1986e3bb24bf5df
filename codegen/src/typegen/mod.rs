//! JSON Schemas → idiomatic Rust types with `serde`/`schemars` derives and a generated
//! `Validate` implementation.
//!
//! The mapping rules:
//! - objects → structs; required properties are plain fields, the others `Option<T>`
//!   (omitted when `None`), or `T` filled from the schema `default` when that default is
//!   a literal of the field's type (a bool, number, string, string-enum value or a named
//!   scalar); a required nullable property is `Option<T>` that must be present and
//!   round-trips `null`; an optional nullable one is `Option<T>` (absent and `null` are
//!   not told apart). Structs without required properties implement `Default` (what
//!   decoding `{}` gives). `additionalProperties: false` → `deny_unknown_fields`; an
//!   `additionalProperties` schema (or a single `patternProperties` schema) → a
//!   `BTreeMap<String, T>`, flattened into the struct when there are properties too.
//! - string `enum`s → enums with `Display`, `FromStr` and `as_str`; other `enum`s and
//!   `const`s → the value's type, checked by `validate()`.
//! - `oneOf`/`anyOf` → an internally tagged enum with struct variants when a
//!   `discriminator` or a property with a distinct string `const` in every variant tells
//!   them apart (`deny_unknown_fields` when every variant is closed), else an untagged
//!   enum (variants named by schema name without the enum's own name as prefix, by title,
//!   or by type; structs with more required properties are tried first); a `null` member makes it `Option<..>`.
//!   Properties next to `oneOf` go into every variant.
//! - `allOf` → one merged schema (see `merge`); `allOf: [$ref]` → the referenced type.
//! - `type: [X, null]` / `nullable` → `Option<X>`: a named nullable schema defines `X`
//!   and is referred to as `Option<X>`; other type lists → untagged enums.
//! - integers by `format` (`int32` → `i32`, ..., default `i64`; bounds never change the
//!   type), numbers `f64` (`float` → `f32`), `uuid`/`date-time`/`date` strings →
//!   `Uuid`/`DateTime<Utc>`/`NaiveDate`; other formats stay `String` and `email`,
//!   `hostname`, `ipv4`, `ipv6`, `uri` are checked.
//! - arrays → `Vec<T>` (`uniqueItems` checked), tuples → tuple types.
//! - a named schema that is a plain type becomes an alias, or a newtype when it has
//!   checks of its own (so that it validates wherever it is used), is recursive, or
//!   holds a tuple.
//! - recursion is boxed only where a cycle of direct (not `Vec`/map) containment needs
//!   it, `Option` included (an `Option<Self>` field has no finite size either).
//! - names: the component key, else the `title`, else the caller's hint (PascalCase),
//!   unique within the type space by deterministic numeric suffixes; definitions are
//!   emitted sorted by name.
//! - keywords that cannot be expressed (`not`, `if`, `contains`, `propertyNames`, ...)
//!   are reported as diagnostics, never silently dropped.

mod boxing;
mod convert;
mod emit;
mod merge;
mod model;
mod naming;
mod rustdoc;
mod validation;

use std::collections::{HashMap, HashSet};

use proc_macro2::TokenStream;

use crate::ir::{Diagnostic, SchemaArena, SchemaId, SchemaNode, Severity};
use crate::Result;
pub use emit::{DefaultFn, Definitions};
use model::{Entry, EntryKind, Ty, TyKind};

/// Settings for the generated code.
#[derive(Clone, Debug)]
pub struct TypeSettings {
    /// Path of the runtime crate in generated code, default `::jetwire`.
    pub runtime_crate: String,
}

impl Default for TypeSettings {
    fn default() -> Self {
        TypeSettings {
            runtime_crate: "::jetwire".into(),
        }
    }
}

/// The Rust types for a set of schemas.
pub struct TypeSpace<'a> {
    arena: &'a SchemaArena,
    /// Schemas made up while mapping (merged `allOf`s, per-type variants), numbered
    /// after the arena's.
    synthetic: Vec<SchemaNode>,
    settings: TypeSettings,
    entries: Vec<model::Entry>,
    names: naming::Names,
    memo: HashMap<SchemaId, Ty>,
    in_progress: HashSet<SchemaId>,
    /// Entries referred to while still being built (they are recursive).
    recursive_hits: HashSet<model::EntryId>,
    merged_properties: HashMap<(SchemaId, SchemaId), SchemaId>,
    flattening: Vec<SchemaId>,
    diagnostics: Vec<Diagnostic>,
    /// Entries before this index have had their cycles boxed (see `boxing`).
    boxed_entries: usize,
    /// Which entries have anything to validate (computed on demand, reset by `add`).
    validating: std::sync::OnceLock<Vec<bool>>,
}

impl<'a> TypeSpace<'a> {
    pub fn new(arena: &'a SchemaArena, settings: TypeSettings) -> Self {
        TypeSpace {
            arena,
            synthetic: Vec::new(),
            settings,
            entries: Vec::new(),
            names: naming::Names::default(),
            memo: HashMap::new(),
            in_progress: HashSet::new(),
            recursive_hits: HashSet::new(),
            merged_properties: HashMap::new(),
            flattening: Vec::new(),
            diagnostics: Vec::new(),
            boxed_entries: 0,
            validating: Default::default(),
        }
    }

    /// Ensures `id` has a Rust type; `name_hint` is used when the schema has no name of
    /// its own (e.g. "GetSystemStatusRequest" for an inline message payload). Returns the
    /// type reference to use in a signature, e.g. `SystemStatus`,
    /// `::std::vec::Vec<Foo>`, `i64`.
    pub fn add(&mut self, id: SchemaId, name_hint: &str) -> Result<TokenStream> {
        if id.0 >= self.arena.nodes.len() {
            return Err(crate::Error::Internal {
                what: format!("schema #{}", id.0),
                message: "the schema id is not in the arena".into(),
            });
        }
        let hint = naming::type_name(name_hint);
        let mut ty = self.ty_for(id, &hint)?;
        if convert::has_inline_checks(&ty) || convert::contains_tuple(&ty) {
            // The type is used on its own (a payload): it has to validate itself.
            let e = self.reserve(&hint, id, convert::doc_of(&self.node(id).schema));
            self.entries[e].kind = EntryKind::Newtype(ty);
            ty = Ty::named(e);
            self.memo.insert(id, ty.clone());
        }
        self.box_cycles();
        self.validating = std::sync::OnceLock::new();
        Ok(self.ty_tokens(&ty))
    }

    /// All type definitions (structs, enums, their impls incl. `Validate`) added so far,
    /// in a deterministic order, as one token stream to place in a `types` module.
    pub fn definitions(&self) -> TokenStream {
        self.definitions_plan().all()
    }

    /// The same definitions, to be emitted range by range (on several threads if need
    /// be): see [`Definitions`].
    pub fn definitions_in_parts(&self) -> Definitions<'_> {
        self.definitions_plan()
    }

    /// Problems found (unsupported keywords, approximations), with locations.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    fn node(&self, id: SchemaId) -> &SchemaNode {
        match id.0.checked_sub(self.arena.nodes.len()) {
            Some(i) => &self.synthetic[i],
            None => self.arena.get(id),
        }
    }

    fn diag(&mut self, id: SchemaId, severity: Severity, message: impl Into<String>) {
        let diagnostic = Diagnostic {
            severity,
            location: self.node(id).location.clone(),
            message: message.into(),
        };
        if !self.diagnostics.contains(&diagnostic) {
            self.diagnostics.push(diagnostic);
        }
    }

    /// For each entry, whether its `validate_at` checks anything (so that callers can
    /// skip calling it).
    fn validating_entries(&self) -> &[bool] {
        self.validating.get_or_init(|| {
            let mut validating = vec![false; self.entries.len()];
            loop {
                let mut changed = false;
                for (i, entry) in self.entries.iter().enumerate() {
                    if validating[i] {
                        continue;
                    }
                    let own_checks =
                        matches!(&entry.kind, EntryKind::Struct(def) if !def.checks.is_empty());
                    if own_checks
                        || entry_tys(&entry.kind)
                            .iter()
                            .any(|t| ty_validates(t, &validating))
                    {
                        validating[i] = true;
                        changed = true;
                    }
                }
                if !changed {
                    break;
                }
            }
            validating
        })
    }

    /// Every entry that is (being) defined, with its index.
    fn live_entries(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !matches!(e.kind, EntryKind::Removed | EntryKind::Pending))
    }
}

/// Every type slot of an entry (field types, variant payloads, the wrapped type).
fn entry_tys(kind: &EntryKind) -> Vec<&Ty> {
    match kind {
        EntryKind::Pending | EntryKind::Removed | EntryKind::StringEnum(_) => Vec::new(),
        EntryKind::Struct(def) => def
            .fields
            .iter()
            .chain(def.extra.iter())
            .map(|f| &f.ty)
            .collect(),
        EntryKind::Tagged { variants, .. } => variants
            .iter()
            .flat_map(|v| v.fields.iter().map(|f| &f.ty))
            .collect(),
        EntryKind::Untagged(variants) => variants.iter().map(|v| &v.ty).collect(),
        EntryKind::Newtype(ty) | EntryKind::Alias(ty) => vec![ty],
    }
}

fn entry_tys_mut(kind: &mut EntryKind) -> Vec<&mut Ty> {
    match kind {
        EntryKind::Pending | EntryKind::Removed | EntryKind::StringEnum(_) => Vec::new(),
        EntryKind::Struct(def) => def
            .fields
            .iter_mut()
            .chain(def.extra.iter_mut())
            .map(|f| &mut f.ty)
            .collect(),
        EntryKind::Tagged { variants, .. } => variants
            .iter_mut()
            .flat_map(|v| v.fields.iter_mut().map(|f| &mut f.ty))
            .collect(),
        EntryKind::Untagged(variants) => variants.iter_mut().map(|v| &mut v.ty).collect(),
        EntryKind::Newtype(ty) | EntryKind::Alias(ty) => vec![ty],
    }
}

/// Whether values of `ty` can be `Eq`/`Hash` given which entries can.
fn ty_is_eq(ty: &Ty, entry_eq: &[bool]) -> bool {
    match &ty.kind {
        TyKind::Prim(p) => !p.is_float(),
        TyKind::Named(e) => entry_eq[*e],
        TyKind::Option(inner) | TyKind::Box(inner) | TyKind::Vec(inner) | TyKind::Map(inner) => {
            ty_is_eq(inner, entry_eq)
        }
        TyKind::Tuple(elems) => elems.iter().all(|t| ty_is_eq(t, entry_eq)),
    }
}

/// Whether a value of `ty` has anything to check, given which entries do.
fn ty_validates(ty: &Ty, validating: &[bool]) -> bool {
    if !ty.checks.is_empty() {
        return true;
    }
    match &ty.kind {
        TyKind::Prim(_) => false,
        TyKind::Named(e) => validating[*e],
        TyKind::Option(inner) | TyKind::Box(inner) | TyKind::Vec(inner) | TyKind::Map(inner) => {
            ty_validates(inner, validating)
        }
        TyKind::Tuple(elems) => elems.iter().any(|t| ty_validates(t, validating)),
    }
}
