//! JSON Schema values → [`SchemaArena`] nodes.
//!
//! Every distinct schema location (file + JSON pointer) becomes exactly one node. The
//! node is reserved *before* its sub-schemas are read, so a `$ref` back to a location
//! that is still being read yields its id: recursive schemas become cycles of ids.
//!
//! Following `$ref`s across files is the job of a [`RefResolver`]; this module only
//! knows how to read one schema object once the resolver has produced it.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::pointer;
use super::yaml::FastMap;
use crate::error::{Error, Result};
use crate::ir::{
    AdditionalProperties, Diagnostic, InstanceType, Location, Schema, SchemaArena, SchemaId,
    SchemaNode, Severity,
};

/// Follows `$ref`s and locates JSON pointers in the source documents.
pub trait RefResolver {
    /// Follow `reference` (a `$ref` string as written) from the document location `from`.
    fn resolve(&mut self, from: &Location, reference: &str) -> Result<(Location, Value)>;
    /// Where [`resolve`](Self::resolve) leads, with the same errors, without a copy of
    /// the value there (a schema referred to again is already interned).
    fn resolve_location(&mut self, from: &Location, reference: &str) -> Result<Location> {
        self.resolve(from, reference).map(|(at, _)| at)
    }
    /// The location (with line/col when known) of `pointer` inside `file`.
    fn locate(&self, file: &Path, pointer: &str) -> Location;
}

/// Builds a [`SchemaArena`] from schema values, one node per distinct location.
#[derive(Debug, Default)]
pub struct SchemaInterner {
    pub arena: SchemaArena,
    pub diagnostics: Vec<Diagnostic>,
    interned: Interned,
    /// `$ref`-only locations being followed (they are not nodes, so a loop of `$ref`s
    /// must be caught here).
    following: Vec<(PathBuf, String)>,
}

/// Schema id by location: per file (a document has few), by pointer, so that a lookup
/// needs no copy of the location.
#[derive(Debug, Default)]
struct Interned {
    files: Vec<(PathBuf, FastMap<String, SchemaId>)>,
}

impl Interned {
    fn file(&self, file: &Path) -> Option<usize> {
        // Byte-equal paths first: the locations come from one `Documents`, which spells
        // each file one way.
        self.files
            .iter()
            .position(|(f, _)| f.as_os_str() == file.as_os_str())
            .or_else(|| self.files.iter().position(|(f, _)| f == file))
    }

    fn get(&self, at: &Location) -> Option<SchemaId> {
        let i = self.file(&at.file)?;
        self.files[i].1.get(at.pointer.as_str()).copied()
    }

    fn insert(&mut self, at: &Location, id: SchemaId) {
        let i = match self.file(&at.file) {
            Some(i) => i,
            None => {
                self.files.push((at.file.clone(), FastMap::default()));
                self.files.len() - 1
            }
        };
        self.files[i].1.insert(at.pointer.clone(), id);
    }
}

/// Keywords that carry no meaning for the generated types and are skipped silently.
const IGNORED_KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "id",
    "$comment",
    "definitions",
    "$defs",
    "externalDocs",
    "xml",
];

impl SchemaInterner {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes room for about `nodes` more schemas at once: the arena's nodes are large,
    /// and growing it by doubling copies them (into fresh memory) again and again.
    pub fn reserve(&mut self, nodes: usize) {
        self.arena.nodes.reserve(nodes);
    }

    /// Interns the schema `value` found at `at`. `name` is the name the document gives
    /// it (a component key); without one, a key under `components/schemas`,
    /// `definitions` or `$defs` in `at.pointer` is used, else the schema's `title`.
    pub fn intern(
        &mut self,
        resolver: &mut dyn RefResolver,
        at: Location,
        value: &Value,
        name: Option<String>,
    ) -> Result<SchemaId> {
        if let Some(id) = self.interned.get(&at) {
            let node = &mut self.arena.nodes[id.0];
            if node.name.is_none() {
                node.name = name;
            }
            return Ok(id);
        }

        if let Some(reference) = value.as_object().and_then(|o| o.get("$ref")) {
            let reference = reference.as_str().ok_or_else(|| {
                Error::invalid(at.clone(), "`$ref` must be a string (a URI reference)")
            })?;
            self.warn_ref_siblings(&at, value);
            let target_at = resolver.resolve_location(&at, reference)?;
            if target_at.file == at.file && target_at.pointer == at.pointer {
                return Err(Error::Ref {
                    location: at,
                    reference: reference.to_string(),
                    reason: "the reference points at itself".into(),
                });
            }
            if self
                .following
                .iter()
                .any(|(file, pointer)| *file == at.file && *pointer == at.pointer)
            {
                return Err(Error::Ref {
                    location: at,
                    reference: reference.to_string(),
                    reason: "the chain of `$ref`s loops without reaching a schema".into(),
                });
            }
            // Already interned (what the recursion below would find first): its value
            // is not needed.
            if let Some(id) = self.interned.get(&target_at) {
                let node = &mut self.arena.nodes[id.0];
                if node.name.is_none() {
                    node.name = name;
                }
                self.interned.insert(&at, id);
                return Ok(id);
            }
            let (target_at, target) = resolver.resolve(&at, reference)?;
            self.following.push((at.file.clone(), at.pointer.clone()));
            let id = self.intern(resolver, target_at, &target, name);
            self.following.pop();
            let id = id?;
            self.interned.insert(&at, id);
            return Ok(id);
        }

        let id = SchemaId(self.arena.nodes.len());
        let derived_name = name.or_else(|| name_from_pointer(&at.pointer));
        self.arena.nodes.push(SchemaNode {
            location: at.clone(),
            name: derived_name,
            schema: Schema::default(),
        });
        self.interned.insert(&at, id);

        let schema = self.read_schema(resolver, &at, value)?;
        let node = &mut self.arena.nodes[id.0];
        if node.name.is_none() {
            node.name = schema.title.clone();
        }
        node.schema = schema;
        Ok(id)
    }

    fn read_schema(
        &mut self,
        resolver: &mut dyn RefResolver,
        at: &Location,
        value: &Value,
    ) -> Result<Schema> {
        let object = match value {
            Value::Bool(b) => {
                return Ok(Schema {
                    boolean: Some(*b),
                    ..Schema::default()
                })
            }
            Value::Object(o) => o,
            other => {
                return Err(Error::invalid(
                    at.clone(),
                    format!(
                        "a schema must be an object or a boolean, found {}",
                        json_type(other)
                    ),
                ))
            }
        };

        let mut reader = Reader {
            interner: self,
            resolver,
            at,
            object,
        };
        reader.read()
    }

    fn warn_ref_siblings(&mut self, at: &Location, value: &Value) {
        let Some(object) = value.as_object() else {
            return;
        };
        let ignored: Vec<&str> = object
            .keys()
            .map(String::as_str)
            .filter(|k| {
                !matches!(
                    *k,
                    "$ref" | "description" | "summary" | "title" | "$comment"
                )
            })
            .collect();
        if !ignored.is_empty() {
            self.diagnostics.push(Diagnostic {
                severity: Severity::Warning,
                location: at.clone(),
                message: format!(
                    "keywords next to `$ref` are ignored (JSON Schema draft 7): {}",
                    ignored.join(", ")
                ),
            });
        }
    }
}

/// Reads the keywords of one schema object.
struct Reader<'a> {
    interner: &'a mut SchemaInterner,
    resolver: &'a mut dyn RefResolver,
    at: &'a Location,
    object: &'a Map<String, Value>,
}

impl Reader<'_> {
    fn read(&mut self) -> Result<Schema> {
        let mut s = Schema::default();
        let object = self.object;
        // Draft 4 boolean `exclusiveMinimum`/`exclusiveMaximum` turn `minimum`/`maximum`
        // exclusive; they are applied once every keyword is read.
        let mut exclusive_min_flag = false;
        let mut exclusive_max_flag = false;

        for (keyword, value) in object {
            match keyword.as_str() {
                "title" => s.title = Some(self.string(keyword, value)?),
                "description" => s.description = Some(self.string(keyword, value)?),
                "type" => s.types = self.types(value)?,
                "nullable" | "x-nullable" => {
                    s.nullable = self.boolean(keyword, value)?;
                    if keyword.starts_with("x-") {
                        s.extensions.insert(keyword.clone(), value.clone());
                    }
                }
                "format" => s.format = Some(self.string(keyword, value)?),
                "enum" => {
                    let values = value.as_array().ok_or_else(|| {
                        self.invalid(keyword, "`enum` must be an array of values")
                    })?;
                    s.enum_values = Some(values.clone());
                }
                "const" => s.const_value = Some(value.clone()),
                "default" => s.default = Some(value.clone()),
                "examples" => match value {
                    Value::Array(values) => s.examples.extend(values.iter().cloned()),
                    other => s.examples.push(other.clone()),
                },
                // OpenAPI's singular form.
                "example" => s.examples.push(value.clone()),
                "deprecated" => s.deprecated = self.boolean(keyword, value)?,
                "readOnly" => s.read_only = self.boolean(keyword, value)?,
                "writeOnly" => s.write_only = self.boolean(keyword, value)?,

                "properties" => {
                    let props = value.as_object().ok_or_else(|| {
                        self.invalid(keyword, "`properties` must be an object of schemas")
                    })?;
                    s.properties = self.schema_map(keyword, props)?;
                }
                "required" => {
                    let names = value.as_array().ok_or_else(|| {
                        self.invalid(keyword, "`required` must be an array of property names")
                    })?;
                    for name in names {
                        let name = name.as_str().ok_or_else(|| {
                            self.invalid(keyword, "`required` must contain only strings")
                        })?;
                        if !s.required.iter().any(|r| r == name) {
                            s.required.push(name.to_string());
                        }
                    }
                }
                "additionalProperties" => {
                    s.additional_properties = Some(match value {
                        Value::Bool(b) => AdditionalProperties::Allowed(*b),
                        _ => AdditionalProperties::Schema(self.sub(keyword, value)?),
                    })
                }
                "patternProperties" => {
                    let props = value.as_object().ok_or_else(|| {
                        self.invalid(keyword, "`patternProperties` must be an object of schemas")
                    })?;
                    s.pattern_properties = self.schema_map(keyword, props)?;
                }
                "propertyNames" => s.property_names = Some(self.sub(keyword, value)?),
                "minProperties" => s.min_properties = Some(self.count(keyword, value)?),
                "maxProperties" => s.max_properties = Some(self.count(keyword, value)?),
                "discriminator" => {
                    s.discriminator = Some(match value {
                        Value::String(name) => name.clone(),
                        // OpenAPI form: `{propertyName: ..., mapping: ...}`.
                        Value::Object(o) => o
                            .get("propertyName")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .ok_or_else(|| {
                                self.invalid(keyword, "`discriminator.propertyName` is missing")
                            })?,
                        _ => {
                            return Err(
                                self.invalid(keyword, "`discriminator` must be a property name")
                            )
                        }
                    })
                }

                "items" => match value {
                    Value::Array(list) => {
                        s.prefix_items = self.schema_list(keyword, list)?;
                    }
                    _ => s.items = Some(self.sub(keyword, value)?),
                },
                "prefixItems" => {
                    let list = value.as_array().ok_or_else(|| {
                        self.invalid(keyword, "`prefixItems` must be an array of schemas")
                    })?;
                    s.prefix_items = self.schema_list(keyword, list)?;
                }
                "additionalItems" => {}
                "minItems" => s.min_items = Some(self.count(keyword, value)?),
                "maxItems" => s.max_items = Some(self.count(keyword, value)?),
                "uniqueItems" => s.unique_items = self.boolean(keyword, value)?,
                "contains" => s.contains = Some(self.sub(keyword, value)?),

                "minLength" => s.min_length = Some(self.count(keyword, value)?),
                "maxLength" => s.max_length = Some(self.count(keyword, value)?),
                "pattern" => s.pattern = Some(self.string(keyword, value)?),
                "contentEncoding" => s.content_encoding = Some(self.string(keyword, value)?),
                "contentMediaType" => s.content_media_type = Some(self.string(keyword, value)?),

                "minimum" => s.minimum = Some(self.number(keyword, value)?),
                "maximum" => s.maximum = Some(self.number(keyword, value)?),
                "exclusiveMinimum" => match value {
                    Value::Bool(b) => exclusive_min_flag = *b,
                    _ => s.exclusive_minimum = Some(self.number(keyword, value)?),
                },
                "exclusiveMaximum" => match value {
                    Value::Bool(b) => exclusive_max_flag = *b,
                    _ => s.exclusive_maximum = Some(self.number(keyword, value)?),
                },
                "multipleOf" => {
                    let m = self.number(keyword, value)?;
                    if m <= 0.0 {
                        return Err(self.invalid(keyword, "`multipleOf` must be greater than 0"));
                    }
                    s.multiple_of = Some(m);
                }

                "allOf" => s.all_of = self.schema_array(keyword, value)?,
                "anyOf" => s.any_of = self.schema_array(keyword, value)?,
                "oneOf" => s.one_of = self.schema_array(keyword, value)?,
                "not" => s.not = Some(self.sub(keyword, value)?),
                "if" | "then" | "else" => {}

                k if k.starts_with("x-") => {
                    s.extensions.insert(k.to_string(), value.clone());
                }
                k if IGNORED_KEYWORDS.contains(&k) => {}
                k => {
                    s.unsupported.push(k.to_string());
                    self.interner.diagnostics.push(Diagnostic {
                        severity: Severity::Warning,
                        location: self.location_of(k),
                        message: format!("unsupported schema keyword `{k}` is ignored"),
                    });
                }
            }
        }

        if exclusive_min_flag {
            s.exclusive_minimum = s.minimum.take();
        }
        if exclusive_max_flag {
            s.exclusive_maximum = s.maximum.take();
        }
        self.read_tuple_rest(&mut s)?;
        if let Some(cond) = object.get("if") {
            let cond = self.sub("if", cond)?;
            let then = object
                .get("then")
                .map(|v| self.sub("then", v))
                .transpose()?;
            let otherwise = object
                .get("else")
                .map(|v| self.sub("else", v))
                .transpose()?;
            s.if_then_else = Some((cond, then, otherwise));
        }
        Ok(s)
    }

    /// Draft 7 tuples: `items: [..]` with `additionalItems` for the rest.
    fn read_tuple_rest(&mut self, s: &mut Schema) -> Result<()> {
        let Some(rest) = self.object.get("additionalItems") else {
            return Ok(());
        };
        if s.prefix_items.is_empty() {
            // Without a tuple `items`, `additionalItems` has no effect.
            return Ok(());
        }
        match rest {
            Value::Bool(false) => {
                let len = s.prefix_items.len() as u64;
                s.max_items = Some(s.max_items.map_or(len, |m| m.min(len)));
            }
            Value::Bool(true) => {}
            other => s.items = Some(self.sub("additionalItems", other)?),
        }
        Ok(())
    }

    fn location_of(&self, keyword: &str) -> Location {
        let pointer = pointer::child(&self.at.pointer, keyword);
        self.resolver.locate(&self.at.file, &pointer)
    }

    fn invalid(&self, keyword: &str, message: &str) -> Error {
        Error::invalid(self.location_of(keyword), message)
    }

    fn sub_at(&mut self, pointer: String, value: &Value) -> Result<SchemaId> {
        let at = self.resolver.locate(&self.at.file, &pointer);
        self.interner.intern(self.resolver, at, value, None)
    }

    fn sub(&mut self, keyword: &str, value: &Value) -> Result<SchemaId> {
        let pointer = pointer::child(&self.at.pointer, keyword);
        self.sub_at(pointer, value)
    }

    fn schema_map(
        &mut self,
        keyword: &str,
        map: &Map<String, Value>,
    ) -> Result<IndexMap<String, SchemaId>> {
        let mut out = IndexMap::new();
        let base = pointer::child(&self.at.pointer, keyword);
        for (key, value) in map {
            let pointer = pointer::child(&base, key);
            out.insert(key.clone(), self.sub_at(pointer, value)?);
        }
        Ok(out)
    }

    fn schema_list(&mut self, keyword: &str, list: &[Value]) -> Result<Vec<SchemaId>> {
        let mut out = Vec::with_capacity(list.len());
        let base = pointer::child(&self.at.pointer, keyword);
        for (i, value) in list.iter().enumerate() {
            let pointer = format!("{base}/{i}");
            out.push(self.sub_at(pointer, value)?);
        }
        Ok(out)
    }

    fn schema_array(&mut self, keyword: &str, value: &Value) -> Result<Vec<SchemaId>> {
        let list = value.as_array().ok_or_else(|| {
            self.invalid(keyword, &format!("`{keyword}` must be an array of schemas"))
        })?;
        if list.is_empty() {
            return Err(self.invalid(keyword, &format!("`{keyword}` must not be empty")));
        }
        self.schema_list(keyword, list)
    }

    fn string(&self, keyword: &str, value: &Value) -> Result<String> {
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| self.invalid(keyword, &format!("`{keyword}` must be a string")))
    }

    fn boolean(&self, keyword: &str, value: &Value) -> Result<bool> {
        value
            .as_bool()
            .ok_or_else(|| self.invalid(keyword, &format!("`{keyword}` must be true or false")))
    }

    fn count(&self, keyword: &str, value: &Value) -> Result<u64> {
        // `5.0` is an integer in JSON Schema's data model.
        value
            .as_u64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f <= u64::MAX as f64)
                    .map(|f| f as u64)
            })
            .ok_or_else(|| {
                self.invalid(
                    keyword,
                    &format!("`{keyword}` must be a non-negative integer"),
                )
            })
    }

    fn number(&self, keyword: &str, value: &Value) -> Result<f64> {
        value
            .as_f64()
            .ok_or_else(|| self.invalid(keyword, &format!("`{keyword}` must be a number")))
    }

    fn types(&self, value: &Value) -> Result<Vec<InstanceType>> {
        let names: Vec<&Value> = match value {
            Value::Array(list) => list.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::new();
        for name in names {
            let t = match name.as_str() {
                Some("null") => InstanceType::Null,
                Some("boolean") => InstanceType::Boolean,
                Some("object") => InstanceType::Object,
                Some("array") => InstanceType::Array,
                Some("number") => InstanceType::Number,
                Some("string") => InstanceType::String,
                Some("integer") => InstanceType::Integer,
                Some(other) => {
                    return Err(self.invalid(
                        "type",
                        &format!(
                            "unknown type `{other}` (expected null, boolean, object, array, number, string or integer)"
                        ),
                    ))
                }
                None => {
                    return Err(self.invalid("type", "`type` must be a type name or a list of them"))
                }
            };
            if !out.contains(&t) {
                out.push(t);
            }
        }
        Ok(out)
    }
}

/// The key of a named definition when `pointer` is one: `components/schemas/<key>`,
/// `definitions/<key>` or `$defs/<key>`.
fn name_from_pointer(pointer: &str) -> Option<String> {
    let tokens: Vec<&str> = pointer.split('/').collect();
    let n = tokens.len();
    if n >= 3 && tokens[n - 3] == "components" && tokens[n - 2] == "schemas" {
        return Some(unescape_token(tokens[n - 1]));
    }
    if n >= 2 && matches!(tokens[n - 2], "definitions" | "$defs") {
        return Some(unescape_token(tokens[n - 1]));
    }
    None
}

/// Escapes one JSON pointer token (RFC 6901).
pub use super::pointer::escape_token;

fn unescape_token(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A resolver for schemas that live in one JSON value and refer to each other only by
/// local `#/...` references.
#[derive(Debug, Clone)]
pub struct SingleDocResolver {
    pub file: PathBuf,
    pub root: Value,
}

impl SingleDocResolver {
    pub fn new(file: impl Into<PathBuf>, root: Value) -> Self {
        SingleDocResolver {
            file: file.into(),
            root,
        }
    }
}

impl RefResolver for SingleDocResolver {
    fn resolve(&mut self, from: &Location, reference: &str) -> Result<(Location, Value)> {
        let fail = |reason: &str| Error::Ref {
            location: from.clone(),
            reference: reference.to_string(),
            reason: reason.to_string(),
        };
        let fragment = reference
            .strip_prefix('#')
            .ok_or_else(|| fail("only local references (`#/...`) are supported here"))?;
        let pointer = percent_decode(fragment).ok_or_else(|| fail("invalid %-escape"))?;
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(fail("the fragment must be a JSON pointer"));
        }
        let value = self
            .root
            .pointer(&pointer)
            .ok_or_else(|| fail("no such location in the document"))?
            .clone();
        Ok((self.locate(&self.file, &pointer), value))
    }

    fn locate(&self, file: &Path, pointer: &str) -> Location {
        Location {
            file: file.to_path_buf(),
            pointer: pointer.to_string(),
            line: None,
            column: None,
        }
    }
}

/// Decodes `%XX` escapes (URI fragments may carry them).
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn intern_doc(doc: Value, pointer: &str) -> (SchemaInterner, SchemaId) {
        let mut resolver = SingleDocResolver::new("doc.json", doc.clone());
        let mut interner = SchemaInterner::new();
        let at = resolver.locate(Path::new("doc.json"), pointer);
        let value = doc.pointer(pointer).unwrap().clone();
        let id = interner.intern(&mut resolver, at, &value, None).unwrap();
        (interner, id)
    }

    #[test]
    fn recursion_becomes_a_cycle_of_ids() {
        let doc = json!({"definitions": {"Node": {
            "type": "object",
            "properties": {"next": {"$ref": "#/definitions/Node"}}
        }}});
        let (interner, id) = intern_doc(doc, "/definitions/Node");
        let node = interner.arena.get(id);
        assert_eq!(node.name.as_deref(), Some("Node"));
        assert_eq!(node.schema.properties["next"], id);
        assert_eq!(interner.arena.nodes.len(), 1);
    }

    #[test]
    fn keywords_are_normalised() {
        let doc = json!({"s": {
            "type": ["integer", "null"],
            "minimum": 1, "exclusiveMinimum": true,
            "maximum": 9,
            "x-nullable": true,
            "x-custom": {"a": 1},
            "items": [{"type": "string"}, true],
            "additionalItems": false,
            "discriminator": {"propertyName": "kind"},
            "example": 3,
            "frobnicate": 1
        }});
        let (interner, id) = intern_doc(doc, "/s");
        let s = &interner.arena.get(id).schema;
        assert_eq!(s.types, vec![InstanceType::Integer, InstanceType::Null]);
        assert_eq!(s.minimum, None);
        assert_eq!(s.exclusive_minimum, Some(1.0));
        assert_eq!(s.maximum, Some(9.0));
        assert!(s.nullable);
        assert_eq!(s.extensions["x-custom"], json!({"a": 1}));
        assert_eq!(s.prefix_items.len(), 2);
        assert_eq!(s.max_items, Some(2));
        assert_eq!(s.discriminator.as_deref(), Some("kind"));
        assert_eq!(s.examples, vec![json!(3)]);
        assert_eq!(s.unsupported, vec!["frobnicate".to_string()]);
        let d = &interner.diagnostics[0];
        assert_eq!(d.severity, Severity::Warning);
        assert_eq!(d.location.pointer, "/s/frobnicate");
        assert!(interner.arena.get(s.prefix_items[1]).schema.boolean == Some(true));
    }

    #[test]
    fn bad_keyword_values_name_the_location() {
        let doc = json!({"s": {"type": "object", "properties": {"a": {"minLength": "x"}}}});
        let mut resolver = SingleDocResolver::new("doc.json", doc.clone());
        let mut interner = SchemaInterner::new();
        let at = resolver.locate(Path::new("doc.json"), "/s");
        let err = interner
            .intern(&mut resolver, at, &doc["s"], None)
            .unwrap_err();
        assert_eq!(err.location().unwrap().pointer, "/s/properties/a/minLength");
        assert!(err.to_string().contains("non-negative integer"), "{err}");
    }

    #[test]
    fn dangling_and_looping_refs_are_errors() {
        let doc = json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/a"}, "c": {"$ref": "#/nope"}});
        let mut resolver = SingleDocResolver::new("doc.json", doc.clone());
        let mut interner = SchemaInterner::new();
        let at = resolver.locate(Path::new("doc.json"), "/a");
        let err = interner
            .intern(&mut resolver, at, &doc["a"], None)
            .unwrap_err();
        assert!(err.to_string().contains("loops"), "{err}");
        let at = resolver.locate(Path::new("doc.json"), "/c");
        let err = interner
            .intern(&mut resolver, at, &doc["c"], None)
            .unwrap_err();
        assert!(err.to_string().contains("no such location"), "{err}");
    }

    #[test]
    fn refs_to_the_same_location_share_an_id() {
        let doc = json!({
            "definitions": {"Id": {"type": "string", "format": "uuid"}},
            "s": {"properties": {"a": {"$ref": "#/definitions/Id"}, "b": {"$ref": "#/definitions/Id"}}}
        });
        let (interner, id) = intern_doc(doc, "/s");
        let s = &interner.arena.get(id).schema;
        assert_eq!(s.properties["a"], s.properties["b"]);
        assert_eq!(
            interner.arena.get(s.properties["a"]).name.as_deref(),
            Some("Id")
        );
    }
}
