//! Schemas → [`Ty`]s and [`Entry`]s: the mapping rules.
//!
//! Every schema is converted once ([`TypeSpace::ty_for`] memoises by id). A schema that
//! may become a named type reserves its entry *before* its sub-schemas are converted, so
//! recursive references resolve to that entry; anonymous schemas that turn out to be
//! plain types (a string, a `Vec<T>`) give their reservation back.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use serde_json::Value;

use super::merge::{flatten, without_null};
use super::model::{
    Check, Doc, Entry, EntryId, EntryKind, EnumVariant, Field, FieldMode, Format, Prim, StructDef,
    TaggedVariant, Ty, TyKind, UntaggedVariant,
};
use super::naming::{field_name, type_name, variant_name, Names};
use super::TypeSpace;
use crate::ir::{AdditionalProperties, InstanceType, Schema, SchemaId, SchemaNode, Severity};
use crate::Result;

/// What building a schema produced.
pub(crate) enum Built {
    /// The schema's reserved entry gets this definition.
    Entry(EntryKind),
    /// As `Entry`, but `null` is also allowed (a `oneOf` with a `null` member).
    NullableEntry(EntryKind),
    /// A plain type; the reservation is dropped unless the schema is named.
    Ty(Ty),
}

impl<'a> TypeSpace<'a> {
    /// The node of `id`, borrowed when the document holds it (almost always): only
    /// made-up schemas are copied, as they live in `self`, which mapping changes.
    fn node_ref(&self, id: SchemaId) -> Cow<'a, SchemaNode> {
        match id.0.checked_sub(self.arena.nodes.len()) {
            Some(i) => Cow::Owned(self.synthetic[i].clone()),
            None => Cow::Borrowed(self.arena.get(id)),
        }
    }

    /// The Rust type for schema `id`; `hint` names it when the schema has no name.
    pub(crate) fn ty_for(&mut self, id: SchemaId, hint: &str) -> Result<Ty> {
        self.ty_for_hinted(id, || hint.to_string())
    }

    /// [`Self::ty_for`] with the hint made only when it is used (most schemas are
    /// named, already converted or plain types, which need none).
    pub(crate) fn ty_for_hinted(
        &mut self,
        id: SchemaId,
        hint: impl FnOnce() -> String,
    ) -> Result<Ty> {
        if let Some(ty) = self.memo.get(&id) {
            if let Some(e) = innermost_named(ty) {
                if matches!(self.entries[e].kind, EntryKind::Pending) {
                    self.recursive_hits.insert(e);
                }
            }
            return Ok(ty.clone());
        }
        if self.in_progress.contains(&id) {
            self.diag(
                id,
                Severity::Warning,
                "recursion through an anonymous array or value; the inner occurrence is typed as a JSON value",
            );
            return Ok(Ty::prim(Prim::Value));
        }

        let node = self.node_ref(id);
        if let Some(allowed) = node.schema.boolean {
            if !allowed {
                self.diag(
                    id,
                    Severity::Warning,
                    "the `false` schema (no value is valid) is typed as a JSON value",
                );
            }
            let ty = Ty::prim(Prim::Value);
            self.memo.insert(id, ty.clone());
            return Ok(ty);
        }
        let (schema, nullable) = without_null(&node.schema);
        if nullable && is_only_null(&schema, &node.schema) {
            let ty = Ty::prim(Prim::Unit);
            self.memo.insert(id, ty.clone());
            return Ok(ty);
        }

        if node.name.is_none() && is_leaf(&schema) {
            // What `build` gives such a schema, without reserving an entry and a name
            // only to give both back (nothing nested could have referred to them).
            let ty = self.build_leaf(id, &schema);
            let ty = if nullable { Ty::option(ty) } else { ty };
            self.memo.insert(id, ty.clone());
            return Ok(ty);
        }

        let wanted = node.name.as_deref().map(type_name).unwrap_or_else(hint);
        let e = self.reserve(&wanted, id, doc_of(&schema));
        let placeholder = Ty::named(e);
        self.memo.insert(
            id,
            if nullable {
                Ty::option(placeholder)
            } else {
                placeholder
            },
        );
        self.in_progress.insert(id);
        let built = self.build(id, &schema, e);
        self.in_progress.remove(&id);
        let built = match built {
            Ok(b) => b,
            Err(err) => {
                self.memo.remove(&id);
                return Err(err);
            }
        };

        let (ty, nullable) = match built {
            Built::Entry(kind) => {
                self.entries[e].kind = kind;
                (Ty::named(e), nullable)
            }
            Built::NullableEntry(kind) => {
                self.entries[e].kind = kind;
                (Ty::named(e), true)
            }
            Built::Ty(ty) => {
                let recursive = self.recursive_hits.contains(&e);
                if node.name.is_some() || recursive {
                    // A recursive type alias is not allowed, and an alias would lose the
                    // checks when the type is used on its own: both need a newtype.
                    self.entries[e].kind =
                        if recursive || has_inline_checks(&ty) || contains_tuple(&ty) {
                            EntryKind::Newtype(ty)
                        } else {
                            EntryKind::Alias(ty)
                        };
                    (Ty::named(e), nullable)
                } else {
                    let name = std::mem::take(&mut self.entries[e].name);
                    self.names.release(&name);
                    if e + 1 == self.entries.len() {
                        // Nothing was added after it and nothing refers to it (it is not
                        // recursive): the reservation can go altogether. Most properties
                        // are such plain types; keeping each as `Removed` only grew the
                        // list every later pass walks.
                        self.entries.pop();
                    } else {
                        self.entries[e].kind = EntryKind::Removed;
                    }
                    (ty, nullable)
                }
            }
        };
        let ty = if nullable { Ty::option(ty) } else { ty };
        self.memo.insert(id, ty.clone());
        Ok(ty)
    }

    pub(crate) fn reserve(&mut self, wanted: &str, schema: SchemaId, doc: Doc) -> EntryId {
        let name = self.names.claim(wanted);
        self.entries.push(Entry {
            name,
            schema,
            doc,
            kind: EntryKind::Pending,
        });
        self.entries.len() - 1
    }

    fn build(&mut self, id: SchemaId, s: &Schema, e: EntryId) -> Result<Built> {
        self.report_approximations(id, s);
        if !s.all_of.is_empty() {
            return self.build_all_of(id, s, e);
        }
        if !s.one_of.is_empty() || !s.any_of.is_empty() {
            return self.build_union(id, s, e);
        }
        if let Some(values) = &s.enum_values {
            if let Some(kind) = self.string_enum(id, s, values) {
                return Ok(Built::Entry(kind));
            }
        }
        let types = inferred_types(s);
        match types.as_slice() {
            [] => Ok(Built::Ty(value_ty(s))),
            [single] => self.build_single(id, s, e, *single),
            _ => self.build_multi_type(id, s, e, &types),
        }
    }

    /// `build` for a schema [`is_leaf`] accepts.
    fn build_leaf(&mut self, id: SchemaId, s: &Schema) -> Ty {
        self.report_approximations(id, s);
        match inferred_types(s).as_slice() {
            [t] => self.scalar_ty(id, s, *t),
            _ => value_ty(s),
        }
    }

    fn build_single(
        &mut self,
        id: SchemaId,
        s: &Schema,
        e: EntryId,
        t: InstanceType,
    ) -> Result<Built> {
        match t {
            InstanceType::Object => self.build_object(id, s, e),
            InstanceType::Array => self.build_array(id, s, e),
            _ => Ok(Built::Ty(self.scalar_ty(id, s, t))),
        }
    }

    /// The type of a schema of one scalar type `t` (not an object or array).
    fn scalar_ty(&mut self, id: SchemaId, s: &Schema, t: InstanceType) -> Ty {
        let prim = match t {
            // Not called for these (see `build_single`); any value is the safe reading.
            InstanceType::Object | InstanceType::Array => Prim::Value,
            InstanceType::Null => Prim::Unit,
            InstanceType::Boolean => Prim::Bool,
            InstanceType::String => self.string_prim(id, s),
            InstanceType::Integer => self.integer_prim(id, s),
            InstanceType::Number => match s.format.as_deref() {
                Some("float") => Prim::F32,
                _ => Prim::F64,
            },
        };
        let mut ty = Ty::prim(prim);
        ty.checks = self.scalar_checks(id, s, prim);
        ty
    }

    fn string_prim(&mut self, id: SchemaId, s: &Schema) -> Prim {
        match s.format.as_deref() {
            Some("uuid") => Prim::Uuid,
            Some("date-time") => Prim::DateTime,
            Some("date") => Prim::Date,
            Some(f) if Format::parse(f).is_some() => Prim::String,
            // Formats that describe the content but have no check of their own.
            Some(
                "password"
                | "binary"
                | "byte"
                | "base64"
                | "time"
                | "duration"
                | "regex"
                | "uri-reference"
                | "iri-reference"
                | "uri-template"
                | "json-pointer"
                | "relative-json-pointer",
            )
            | None => Prim::String,
            Some(other) => {
                self.diag(
                    id,
                    Severity::Note,
                    format!("string format `{other}` is not checked"),
                );
                Prim::String
            }
        }
    }

    fn integer_prim(&mut self, id: SchemaId, s: &Schema) -> Prim {
        match s.format.as_deref() {
            Some("int8") => Prim::I8,
            Some("int16") => Prim::I16,
            Some("int32") => Prim::I32,
            Some("int64") | None => Prim::I64,
            Some("uint8") => Prim::U8,
            Some("uint16") => Prim::U16,
            Some("uint32") => Prim::U32,
            Some("uint64") => Prim::U64,
            Some(other) => {
                self.diag(
                    id,
                    Severity::Note,
                    format!("integer format `{other}` is not known; using i64"),
                );
                Prim::I64
            }
        }
    }

    /// The checks a scalar schema asks for, as far as they apply to `prim`.
    fn scalar_checks(&mut self, id: SchemaId, s: &Schema, prim: Prim) -> Vec<Check> {
        let mut checks = Vec::new();
        if matches!(prim, Prim::String | Prim::Value) {
            checks.extend(s.min_length.map(Check::MinLength));
            checks.extend(s.max_length.map(Check::MaxLength));
            if let Some(pattern) = &s.pattern {
                match pattern_error(pattern) {
                    None => checks.push(Check::Pattern(pattern.clone())),
                    Some(err) => self.diag(
                        id,
                        Severity::Warning,
                        format!(
                            "pattern `{pattern}` is not supported by the regex engine and is not checked ({})",
                            last_line(&err)
                        ),
                    ),
                }
            }
            if let Some(f) = s.format.as_deref().and_then(Format::parse) {
                checks.push(Check::Format(f));
            }
        }
        if prim.is_integer() || prim.is_float() || prim == Prim::Value {
            if let Some(m) = s.minimum {
                checks.push(Check::Minimum {
                    bound: m,
                    exclusive: false,
                });
            }
            if let Some(m) = s.exclusive_minimum {
                checks.push(Check::Minimum {
                    bound: m,
                    exclusive: true,
                });
            }
            if let Some(m) = s.maximum {
                checks.push(Check::Maximum {
                    bound: m,
                    exclusive: false,
                });
            }
            if let Some(m) = s.exclusive_maximum {
                checks.push(Check::Maximum {
                    bound: m,
                    exclusive: true,
                });
            }
            checks.extend(s.multiple_of.map(Check::MultipleOf));
        }
        if prim == Prim::Value {
            checks.extend(s.min_items.map(Check::MinItems));
            checks.extend(s.max_items.map(Check::MaxItems));
            checks.extend(s.min_properties.map(Check::MinProperties));
            checks.extend(s.max_properties.map(Check::MaxProperties));
        }
        checks.extend(value_checks(s));
        checks
    }

    /// `enum` of strings only → a Rust enum.
    fn string_enum(&mut self, id: SchemaId, s: &Schema, values: &[Value]) -> Option<EntryKind> {
        if values.is_empty() || !values.iter().all(Value::is_string) {
            return None;
        }
        if !(s.types.is_empty() || s.types == [InstanceType::String]) {
            return None;
        }
        if matches!(s.format.as_deref(), Some("uuid" | "date-time" | "date")) {
            // A typed string (a uuid, a date) limited to some values stays that type.
            return None;
        }
        let strings = |key: &str| -> Option<Vec<String>> {
            let list = s.extensions.get(key)?.as_array()?;
            let list: Option<Vec<String>> = list
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect();
            list.filter(|l| l.len() == values.len())
        };
        let var_names = strings("x-enum-varnames").or_else(|| strings("x-enumNames"));
        let descriptions = strings("x-enum-descriptions");
        let mut names = Names::with_capacity(values.len());
        let mut seen = Vec::new();
        let mut variants = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let value = v.as_str().unwrap_or_default().to_string();
            if seen.contains(&value) {
                self.diag(
                    id,
                    Severity::Note,
                    format!("duplicate enum value `{value}`"),
                );
                continue;
            }
            seen.push(value.clone());
            let wanted = match &var_names {
                Some(n) => variant_name(&n[i]),
                None => variant_name(&value),
            };
            variants.push(EnumVariant {
                ident: names.claim(&wanted),
                value,
                doc: Doc {
                    description: descriptions.as_ref().map(|d| d[i].clone()),
                    ..Doc::default()
                },
            });
        }
        Some(EntryKind::StringEnum(variants))
    }

    fn build_object(&mut self, id: SchemaId, s: &Schema, e: EntryId) -> Result<Built> {
        let name = self.entries[e].name.clone();
        let mut checks = Vec::new();
        checks.extend(s.min_properties.map(Check::MinProperties));
        checks.extend(s.max_properties.map(Check::MaxProperties));
        let closed = s.additional_properties == Some(AdditionalProperties::Allowed(false));
        let extra = self.extra_properties(id, s, &name, closed)?;

        if s.properties.is_empty() && s.required.is_empty() {
            let Some(mut map) = extra else {
                if closed {
                    return Ok(Built::Entry(EntryKind::Struct(StructDef {
                        fields: Vec::new(),
                        deny_unknown_fields: true,
                        extra: None,
                        checks,
                    })));
                }
                let mut ty = Ty::wrap(TyKind::Map, Ty::prim(Prim::Value));
                ty.checks = checks;
                return Ok(Built::Ty(ty));
            };
            map.checks.extend(checks);
            return Ok(Built::Ty(map));
        }

        let fields = self.build_fields(s, &name, None)?;
        let deny_unknown_fields = closed && extra.is_none();
        let extra = extra.map(|map| {
            let mut idents = Names::default();
            for f in &fields {
                idents.claim(&f.ident);
            }
            Field {
                ident: idents.claim("additional_properties"),
                json_name: String::new(),
                ty: map,
                mode: FieldMode::Flatten,
                doc: Doc {
                    description: Some("Properties not named in the schema.".into()),
                    ..Doc::default()
                },
            }
        });
        Ok(Built::Entry(EntryKind::Struct(StructDef {
            fields,
            deny_unknown_fields,
            extra,
            checks,
        })))
    }

    /// The map holding the properties `properties` does not name: typed by
    /// `additionalProperties`, or by the single `patternProperties` schema (whose
    /// pattern every key must then match when no other property is allowed).
    fn extra_properties(
        &mut self,
        id: SchemaId,
        s: &Schema,
        name: &str,
        closed: bool,
    ) -> Result<Option<Ty>> {
        let hint = || [name, "Value"].concat();
        if let Some(AdditionalProperties::Schema(a)) = &s.additional_properties {
            if self.node(*a).schema.boolean != Some(true) {
                if !s.pattern_properties.is_empty() {
                    self.diag(
                        id,
                        Severity::Warning,
                        "`patternProperties` next to an `additionalProperties` schema are not checked",
                    );
                }
                let value = self.ty_for(*a, &hint())?;
                return Ok(Some(Ty::wrap(TyKind::Map, value)));
            }
        }
        match s.pattern_properties.len() {
            0 => Ok(None),
            1 => {
                let (pattern, p) = s.pattern_properties.first().expect("one entry");
                let (pattern, p) = (pattern.clone(), *p);
                let mut map = Ty::wrap(TyKind::Map, self.ty_for(p, &hint())?);
                if !closed {
                    self.diag(
                        id,
                        Severity::Note,
                        format!("properties whose names do not match `{pattern}` are typed like those that do"),
                    );
                } else if pattern_error(&pattern).is_none() {
                    map.checks.push(Check::KeyPattern(pattern));
                } else {
                    self.diag(
                        id,
                        Severity::Warning,
                        format!("property pattern `{pattern}` is not supported by the regex engine and is not checked"),
                    );
                }
                Ok(Some(map))
            }
            _ => {
                self.diag(
                    id,
                    Severity::Warning,
                    "several `patternProperties`: their values are typed as JSON values and names are not checked",
                );
                Ok(Some(Ty::wrap(TyKind::Map, Ty::prim(Prim::Value))))
            }
        }
    }

    /// The fields for the properties of `s` (leaving out `skip`, a tag property).
    pub(crate) fn build_fields(
        &mut self,
        s: &Schema,
        owner: &str,
        skip: Option<&str>,
    ) -> Result<Vec<Field>> {
        let mut idents = Names::with_capacity(s.properties.len());
        let mut fields = Vec::with_capacity(s.properties.len());
        for (key, &pid) in &s.properties {
            if Some(key.as_str()) == skip {
                continue;
            }
            let required = s.required.contains(key);
            let ty = self.ty_for_hinted(pid, || [owner, &type_name(key)].concat())?;
            let prop_node = self.node_ref(pid);
            let prop = &prop_node.schema;
            let (ty, mode) = if required {
                let mode = if ty.is_option() {
                    FieldMode::RequiredNullable
                } else {
                    FieldMode::Required
                };
                (ty, mode)
            } else if let Some(default) = prop
                .default
                .as_ref()
                .filter(|d| self.default_is_literal(&ty, d))
            {
                (ty, FieldMode::Defaulted(default.clone()))
            } else {
                if let Some(default) = &prop.default {
                    self.diag(
                        pid,
                        Severity::Note,
                        format!("default {default} is not a literal of the field's type; the field stays optional"),
                    );
                }
                (Ty::option(ty), FieldMode::Optional)
            };
            // A named schema's documentation belongs to its type, not to this field.
            let doc = if prop_node.name.is_some() {
                Doc::default()
            } else {
                doc_of(prop)
            };
            fields.push(Field {
                ident: idents.claim(&field_name(key)),
                json_name: key.clone(),
                ty,
                mode,
                doc,
            });
        }
        // Required properties the schema does not describe still have to be there.
        for key in &s.required {
            if s.properties.contains_key(key) || Some(key.as_str()) == skip {
                continue;
            }
            let ty = match &s.additional_properties {
                Some(AdditionalProperties::Schema(a)) => {
                    self.ty_for(*a, &[owner, &type_name(key)].concat())?
                }
                _ => Ty::prim(Prim::Value),
            };
            fields.push(Field {
                ident: idents.claim(&field_name(key)),
                json_name: key.clone(),
                mode: if ty.is_option() {
                    FieldMode::RequiredNullable
                } else {
                    FieldMode::Required
                },
                ty,
                doc: Doc::default(),
            });
        }
        Ok(fields)
    }

    /// Whether `default` can be written as a Rust literal of `ty` (then the field is
    /// `T` with a default function instead of `Option<T>`).
    fn default_is_literal(&self, ty: &Ty, default: &Value) -> bool {
        match (&ty.kind, default) {
            (TyKind::Prim(Prim::Bool), Value::Bool(_)) => true,
            (TyKind::Prim(Prim::String), Value::String(_)) => true,
            (TyKind::Prim(p), Value::Number(n)) if p.is_integer() => n
                .as_i64()
                .map(i128::from)
                .or(n.as_u64().map(i128::from))
                .is_some_and(|v| int_fits(*p, v)),
            (TyKind::Prim(p), Value::Number(_)) if p.is_float() => true,
            (TyKind::Named(e), _) => match (&self.entries[*e].kind, default) {
                (EntryKind::StringEnum(variants), Value::String(v)) => {
                    variants.iter().any(|x| &x.value == v)
                }
                // A named scalar: `Name(literal)` or the aliased literal.
                (EntryKind::Newtype(inner) | EntryKind::Alias(inner), _) => {
                    matches!(inner.kind, TyKind::Prim(_)) && self.default_is_literal(inner, default)
                }
                _ => false,
            },
            _ => false,
        }
    }

    fn build_array(&mut self, id: SchemaId, s: &Schema, e: EntryId) -> Result<Built> {
        let name = self.entries[e].name.clone();
        if !s.prefix_items.is_empty() {
            if s.items.is_some() {
                self.diag(
                    id,
                    Severity::Warning,
                    "a tuple with more items of another schema is typed as a list of JSON values",
                );
            } else {
                let len = s.prefix_items.len() as u64;
                if s.max_items != Some(len) || s.min_items.unwrap_or(0) != len {
                    self.diag(
                        id,
                        Severity::Note,
                        format!("tuple typed as exactly {len} items; shorter or longer arrays are rejected"),
                    );
                }
                let mut elems = Vec::new();
                for (i, p) in s.prefix_items.clone().into_iter().enumerate() {
                    elems.push(self.ty_for(p, &format!("{name}{i}"))?);
                }
                return Ok(Built::Ty(Ty {
                    kind: TyKind::Tuple(elems),
                    checks: Vec::new(),
                }));
            }
        }
        let item = match s.items {
            Some(items) if s.prefix_items.is_empty() => {
                self.ty_for(items, &[&name, "Item"].concat())?
            }
            _ => Ty::prim(Prim::Value),
        };
        let mut ty = Ty::wrap(TyKind::Vec, item);
        ty.checks.extend(s.min_items.map(Check::MinItems));
        ty.checks.extend(s.max_items.map(Check::MaxItems));
        if s.unique_items {
            ty.checks.push(Check::UniqueItems);
        }
        Ok(Built::Ty(ty))
    }

    /// `type: [a, b, ...]` → an untagged enum with one variant per type.
    fn build_multi_type(
        &mut self,
        id: SchemaId,
        s: &Schema,
        e: EntryId,
        types: &[InstanceType],
    ) -> Result<Built> {
        let name = self.entries[e].name.clone();
        let mut types = types.to_vec();
        // Untagged variants are tried in order: the narrower type first.
        types.sort_by_key(|t| type_rank(*t));
        let location = self.node(id).location.clone();
        let mut variants = Vec::new();
        for t in types {
            let member = Schema {
                types: vec![t],
                title: None,
                description: None,
                ..s.clone()
            };
            let mid = self.synthesize(SchemaNode {
                location: location.clone(),
                name: None,
                schema: member,
            });
            let vname = type_label(t).to_string();
            let ty = self.ty_for(mid, &format!("{name}{vname}"))?;
            variants.push(UntaggedVariant {
                ident: vname,
                ty,
                doc: Doc::default(),
            });
        }
        Ok(Built::Entry(EntryKind::Untagged(variants)))
    }

    fn build_all_of(&mut self, id: SchemaId, s: &Schema, e: EntryId) -> Result<Built> {
        // `allOf: [{$ref: X}]` (often used to add a description to a reference) is X.
        if let [only] = s.all_of.as_slice() {
            let bare = Schema {
                all_of: Vec::new(),
                title: None,
                description: None,
                deprecated: false,
                examples: Vec::new(),
                extensions: Default::default(),
                ..s.clone()
            };
            if bare == Schema::default() && self.node(*only).name.is_some() {
                let name = self.entries[e].name.clone();
                return Ok(Built::Ty(self.ty_for(*only, &name)?));
            }
        }
        let merged = self.merge_all_of(id, s)?;
        let (merged, _) = without_null(&merged);
        self.build(id, &merged, e)
    }

    fn build_union(&mut self, id: SchemaId, s: &Schema, e: EntryId) -> Result<Built> {
        let name = self.entries[e].name.clone();
        let members = if !s.one_of.is_empty() {
            if !s.any_of.is_empty() {
                self.diag(
                    id,
                    Severity::Warning,
                    "`anyOf` next to `oneOf` is not checked",
                );
            }
            s.one_of.clone()
        } else {
            s.any_of.clone()
        };
        let location = self.node(id).location.clone();

        let mut nullable = false;
        let mut rest = Vec::new();
        for m in members {
            if is_null_schema(&self.node(m).schema) {
                nullable = true;
            } else {
                rest.push(m);
            }
        }
        // Properties next to `oneOf` are common to every variant.
        let has_base = !s.properties.is_empty() || !s.required.is_empty();
        if has_base {
            let base = Schema {
                one_of: Vec::new(),
                any_of: Vec::new(),
                title: None,
                description: None,
                discriminator: None,
                enum_values: None,
                const_value: None,
                default: None,
                examples: Vec::new(),
                ..s.clone()
            };
            let base = self.synthesize(SchemaNode {
                location: location.clone(),
                name: None,
                schema: base,
            });
            rest = rest
                .into_iter()
                .map(|m| {
                    let node = self.node(m).clone();
                    self.synthesize(SchemaNode {
                        location: node.location,
                        name: node.name,
                        schema: Schema {
                            all_of: vec![base, m],
                            ..Schema::default()
                        },
                    })
                })
                .collect();
        }

        if let [only] = rest.as_slice() {
            let only = *only;
            let node = self.node(only).clone();
            if node.name.is_none() {
                // The single member is this type.
                let (member, member_nullable) = without_null(&node.schema);
                let built = self.build(only, &member, e)?;
                return Ok(match built {
                    Built::Entry(kind) | Built::NullableEntry(kind)
                        if nullable || member_nullable =>
                    {
                        Built::NullableEntry(kind)
                    }
                    Built::Ty(ty) if nullable || member_nullable => Built::Ty(Ty::option(ty)),
                    other => other,
                });
            }
            let ty = self.ty_for(only, &name)?;
            return Ok(Built::Ty(if nullable { Ty::option(ty) } else { ty }));
        }

        let kind = match self.find_tag(id, s, &rest)? {
            Some((tag, tagged)) => {
                let mut idents = Names::default();
                let mut variants = Vec::new();
                let deny_unknown_fields = tagged.iter().all(|(_, _, flat)| {
                    flat.additional_properties == Some(AdditionalProperties::Allowed(false))
                });
                for (value, m, flat) in tagged {
                    let ident = idents.claim(&variant_name(&value));
                    let fields = self.build_fields(&flat, &format!("{name}{ident}"), Some(&tag))?;
                    if matches!(
                        flat.additional_properties,
                        Some(AdditionalProperties::Schema(_))
                    ) {
                        self.diag(
                            m,
                            Severity::Warning,
                            "`additionalProperties` of a tagged variant are not kept",
                        );
                    }
                    variants.push(TaggedVariant {
                        ident,
                        tag_value: value,
                        fields,
                        doc: doc_of(&self.node(m).schema),
                    });
                }
                EntryKind::Tagged {
                    tag,
                    variants,
                    deny_unknown_fields,
                }
            }
            None => {
                let mut idents = Names::default();
                let mut variants = Vec::new();
                for m in rest {
                    let node = self.node(m).clone();
                    let wanted = match &node.name {
                        // `SubscriptionStatus::Error(SubscriptionStatusError)`.
                        Some(n) => {
                            let full = type_name(n);
                            match full.strip_prefix(name.as_str()) {
                                Some(rest)
                                    if rest.starts_with(|c: char| c.is_ascii_uppercase()) =>
                                {
                                    rest.to_string()
                                }
                                _ => full,
                            }
                        }
                        None => {
                            let types = inferred_types(&without_null(&node.schema).0);
                            match types.as_slice() {
                                [t] => type_label(*t).to_string(),
                                [] => "Value".to_string(),
                                _ => "Variant".to_string(),
                            }
                        }
                    };
                    let ident = idents.claim(&wanted);
                    let ty = self.ty_for(m, &format!("{name}{ident}"))?;
                    variants.push(UntaggedVariant {
                        ident,
                        ty,
                        doc: doc_of(&node.schema),
                    });
                }
                self.order_untagged(&mut variants);
                EntryKind::Untagged(variants)
            }
        };
        Ok(if nullable {
            Built::NullableEntry(kind)
        } else {
            Built::Entry(kind)
        })
    }

    /// The property that tells the variants apart, with each variant's value and its
    /// flattened object schema: the `discriminator`, else a property with a distinct
    /// string `const` (or one-value `enum`) in every variant.
    #[allow(clippy::type_complexity)]
    fn find_tag(
        &mut self,
        id: SchemaId,
        s: &Schema,
        members: &[SchemaId],
    ) -> Result<Option<(String, Vec<(String, SchemaId, Schema)>)>> {
        let mut flat = Vec::new();
        for &m in members {
            let f = flatten(self, m)?;
            let is_object = inferred_types(&f) == [InstanceType::Object];
            if !is_object {
                if s.discriminator.is_some() {
                    self.diag(
                        id,
                        Severity::Warning,
                        "the discriminator is not used: a variant is not an object; the enum is untagged",
                    );
                }
                return Ok(None);
            }
            flat.push((m, f));
        }
        let candidates: Vec<String> = match &s.discriminator {
            Some(d) => vec![d.clone()],
            None => flat[0].1.properties.keys().cloned().collect(),
        };
        'candidates: for tag in candidates {
            let mut values = Vec::new();
            for (m, f) in &flat {
                let from_schema = f
                    .properties
                    .get(&tag)
                    .and_then(|p| single_string(&self.node(*p).schema));
                let value = match from_schema {
                    Some(v) => v,
                    // OpenAPI's rule: without a value, the schema's name is the value.
                    None if s.discriminator.is_some() => match &self.node(*m).name {
                        Some(n) => n.clone(),
                        None => continue 'candidates,
                    },
                    None => continue 'candidates,
                };
                if values.iter().any(|(v, _, _)| v == &value) {
                    continue 'candidates;
                }
                values.push((value, *m, f.clone()));
            }
            return Ok(Some((tag, values)));
        }
        if s.discriminator.is_some() {
            self.diag(
                id,
                Severity::Warning,
                "the discriminator has no distinct value in every variant; the enum is untagged",
            );
        }
        Ok(None)
    }

    /// Serde tries untagged variants in order and takes the first that decodes; a struct
    /// ignores properties it does not know, so one with fewer required properties would
    /// also take the inputs meant for a stricter one. Structs are therefore tried by
    /// descending number of required properties, and any-value variants last; the
    /// order is otherwise the document's.
    fn order_untagged(&self, variants: &mut [UntaggedVariant]) {
        let rank = |v: &UntaggedVariant| -> i64 {
            match &v.ty.kind {
                TyKind::Named(e) => match &self.entries[*e].kind {
                    EntryKind::Struct(def) => {
                        -(def
                            .fields
                            .iter()
                            .filter(|f| {
                                matches!(f.mode, FieldMode::Required | FieldMode::RequiredNullable)
                            })
                            .count() as i64)
                    }
                    _ => 0,
                },
                TyKind::Prim(Prim::Value) => 1,
                _ => 0,
            }
        };
        variants.sort_by_key(rank);
    }

    fn report_approximations(&mut self, id: SchemaId, s: &Schema) {
        let mut notes = Vec::new();
        if s.not.is_some() {
            notes.push("`not` is not checked");
        }
        if s.if_then_else.is_some() {
            notes.push("`if`/`then`/`else` are not checked");
        }
        if s.contains.is_some() {
            notes.push("`contains` is not checked");
        }
        if s.property_names.is_some() {
            notes.push("`propertyNames` is not checked");
        }
        for note in notes {
            self.diag(id, Severity::Warning, note);
        }
    }
}

/// Whether `build` maps `s` to a plain type without converting another schema or
/// naming anything: a scalar or any JSON value, not a union, `allOf`, `enum`, object
/// or array.
fn is_leaf(s: &Schema) -> bool {
    s.all_of.is_empty()
        && s.one_of.is_empty()
        && s.any_of.is_empty()
        && s.enum_values.is_none()
        && match inferred_types(s).as_slice() {
            [] => true,
            [t] => !matches!(t, InstanceType::Object | InstanceType::Array),
            _ => false,
        }
}

/// The entry a type is (or wraps in `Option`/`Box`), if any.
fn innermost_named(ty: &Ty) -> Option<EntryId> {
    match &ty.kind {
        TyKind::Named(e) => Some(*e),
        TyKind::Option(inner) | TyKind::Box(inner) => innermost_named(inner),
        _ => None,
    }
}

/// Whether the type carries checks that only an enclosing `validate_at` performs.
pub(crate) fn has_inline_checks(ty: &Ty) -> bool {
    if !ty.checks.is_empty() {
        return true;
    }
    match &ty.kind {
        TyKind::Prim(_) | TyKind::Named(_) => false,
        TyKind::Option(inner) | TyKind::Box(inner) | TyKind::Vec(inner) | TyKind::Map(inner) => {
            has_inline_checks(inner)
        }
        TyKind::Tuple(elems) => elems.iter().any(has_inline_checks),
    }
}

/// Tuples have no `Validate` implementation: a type holding one (outside a named
/// type) needs a newtype to be validated on its own.
pub(crate) fn contains_tuple(ty: &Ty) -> bool {
    match &ty.kind {
        TyKind::Tuple(_) => true,
        TyKind::Option(inner) | TyKind::Box(inner) | TyKind::Vec(inner) | TyKind::Map(inner) => {
            contains_tuple(inner)
        }
        TyKind::Prim(_) | TyKind::Named(_) => false,
    }
}

pub(crate) fn doc_of(s: &Schema) -> Doc {
    Doc {
        title: s.title.clone(),
        description: s.description.clone(),
        deprecated: s.deprecated,
        examples: s.examples.clone(),
    }
}

/// `type` as written, or what the other keywords imply when it is missing.
pub(crate) fn inferred_types(s: &Schema) -> Vec<InstanceType> {
    let declared: Vec<InstanceType> = s
        .types
        .iter()
        .copied()
        .filter(|t| *t != InstanceType::Null)
        .collect();
    if !declared.is_empty() {
        // `number` includes `integer`.
        if declared.contains(&InstanceType::Number) && declared.contains(&InstanceType::Integer) {
            return declared
                .into_iter()
                .filter(|t| *t != InstanceType::Integer)
                .collect();
        }
        return declared;
    }
    if !s.properties.is_empty()
        || !s.required.is_empty()
        || s.additional_properties.is_some()
        || !s.pattern_properties.is_empty()
        || s.min_properties.is_some()
        || s.max_properties.is_some()
        || s.discriminator.is_some()
    {
        return vec![InstanceType::Object];
    }
    if s.items.is_some()
        || !s.prefix_items.is_empty()
        || s.min_items.is_some()
        || s.max_items.is_some()
    {
        return vec![InstanceType::Array];
    }
    let from_values: Vec<&Value> = match (&s.const_value, &s.enum_values) {
        (Some(c), _) => vec![c],
        (None, Some(values)) => values.iter().collect(),
        _ => Vec::new(),
    };
    if !from_values.is_empty() {
        let mut types = Vec::new();
        for v in from_values {
            let t = match v {
                Value::Null => continue,
                Value::Bool(_) => InstanceType::Boolean,
                Value::Number(n) if n.is_i64() || n.is_u64() => InstanceType::Integer,
                Value::Number(_) => InstanceType::Number,
                Value::String(_) => InstanceType::String,
                Value::Array(_) => InstanceType::Array,
                Value::Object(_) => InstanceType::Object,
            };
            if !types.contains(&t) {
                types.push(t);
            }
        }
        if types.contains(&InstanceType::Number) {
            types.retain(|t| *t != InstanceType::Integer);
        }
        // Mixed values, or object/array values: a JSON value checked against them.
        if types.len() == 1 && !matches!(types[0], InstanceType::Array | InstanceType::Object) {
            return types;
        }
        return Vec::new();
    }
    if s.min_length.is_some() || s.max_length.is_some() || s.pattern.is_some() {
        return vec![InstanceType::String];
    }
    if s.minimum.is_some()
        || s.maximum.is_some()
        || s.exclusive_minimum.is_some()
        || s.exclusive_maximum.is_some()
        || s.multiple_of.is_some()
    {
        return vec![InstanceType::Number];
    }
    Vec::new()
}

/// A JSON value, checked against the schema's `enum`/`const` when it has them.
fn value_ty(s: &Schema) -> Ty {
    let mut ty = Ty::prim(Prim::Value);
    ty.checks = value_checks(s);
    ty
}

fn value_checks(s: &Schema) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(values) = &s.enum_values {
        checks.push(Check::Enum(values.clone()));
    }
    if let Some(c) = &s.const_value {
        checks.push(Check::Const(c.clone()));
    }
    checks
}

fn is_null_schema(s: &Schema) -> bool {
    s.types == [InstanceType::Null]
        || s.const_value == Some(Value::Null)
        || s.enum_values.as_deref() == Some(&[Value::Null])
}

/// After taking `null` out, nothing is left: the schema allows only `null`.
fn is_only_null(stripped: &Schema, original: &Schema) -> bool {
    let only_null_type = original.types == [InstanceType::Null];
    let only_null_values = original
        .enum_values
        .as_ref()
        .is_some_and(|v| v.iter().all(Value::is_null))
        || original.const_value == Some(Value::Null);
    (only_null_type || only_null_values) && stripped.one_of.is_empty() && stripped.any_of.is_empty()
}

/// A property's single string value (`const`, or an `enum` of one string).
fn single_string(s: &Schema) -> Option<String> {
    if let Some(Value::String(v)) = &s.const_value {
        return Some(v.clone());
    }
    match s.enum_values.as_deref() {
        Some([Value::String(v)]) => Some(v.clone()),
        _ => None,
    }
}

fn type_rank(t: InstanceType) -> u8 {
    match t {
        InstanceType::Null => 0,
        InstanceType::Boolean => 1,
        InstanceType::Integer => 2,
        InstanceType::Number => 3,
        InstanceType::String => 4,
        InstanceType::Array => 5,
        InstanceType::Object => 6,
    }
}

fn type_label(t: InstanceType) -> &'static str {
    match t {
        InstanceType::Null => "Null",
        InstanceType::Boolean => "Boolean",
        InstanceType::Integer => "Integer",
        InstanceType::Number => "Number",
        InstanceType::String => "String",
        InstanceType::Array => "Array",
        InstanceType::Object => "Object",
    }
}

pub(crate) fn int_fits(p: Prim, v: i128) -> bool {
    let (min, max): (i128, i128) = match p {
        Prim::I8 => (i8::MIN.into(), i8::MAX.into()),
        Prim::I16 => (i16::MIN.into(), i16::MAX.into()),
        Prim::I32 => (i32::MIN.into(), i32::MAX.into()),
        Prim::I64 => (i64::MIN.into(), i64::MAX.into()),
        Prim::U8 => (0, u8::MAX.into()),
        Prim::U16 => (0, u16::MAX.into()),
        Prim::U32 => (0, u32::MAX.into()),
        Prim::U64 => (0, u64::MAX.into()),
        _ => return false,
    };
    (min..=max).contains(&v)
}

/// Why `pattern` is not a regex the engine accepts, or `None` when it is.
///
/// Large documents repeat the same few patterns in many schemas, and compiling a regex
/// costs far more than mapping the rest of a schema: the answer (which depends on the
/// pattern alone) is remembered per thread, for a bounded number of patterns.
fn pattern_error(pattern: &str) -> Option<String> {
    thread_local! {
        static SEEN: std::cell::RefCell<FxHashMap<String, Option<String>>> =
            std::cell::RefCell::new(FxHashMap::default());
    }
    /// Past this many distinct patterns the memory is dropped and refilled.
    const CAPACITY: usize = 4096;
    SEEN.with(|seen| {
        if let Some(answer) = seen.borrow().get(pattern) {
            return answer.clone();
        }
        let answer = regex::Regex::new(pattern).err().map(|e| e.to_string());
        let mut seen = seen.borrow_mut();
        if seen.len() >= CAPACITY {
            seen.clear();
        }
        seen.insert(pattern.to_string(), answer.clone());
        answer
    })
}

/// The gist of a multi-line error message (regex errors draw the pattern first).
fn last_line(message: &str) -> &str {
    message
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(message)
        .trim()
}
