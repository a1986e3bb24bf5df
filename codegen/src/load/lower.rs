//! The state shared by the 3.x and 2.x front ends while a document is lowered: the
//! files, the schema interner, the channels/messages/operations built so far (each
//! deduplicated by the location it was resolved to) and the diagnostics.

use std::borrow::Cow;
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::documents::{ref_of, Documents};
use super::extension::RootExtension;
use super::fields::Fields;
use super::pointer;
use super::schema::{RefResolver, SchemaInterner};
use super::yaml::FastMap;
use crate::error::{Error, Result};
use crate::ir::{
    Channel, ChannelId, Diagnostic, Location, Message, MessageId, Operation, Server, Severity,
};

/// Server Object fields of 3.x and 2.x.
const SERVER_KEYWORDS: &[&str] = &[
    "host",
    "url",
    "protocol",
    "protocolVersion",
    "pathname",
    "description",
    "title",
    "summary",
    "variables",
    "security",
    "tags",
    "externalDocs",
    "bindings",
];

/// Info Object fields of 3.x and 2.x.
const INFO_KEYWORDS: &[&str] = &[
    "title",
    "version",
    "description",
    "termsOfService",
    "contact",
    "license",
    "tags",
    "externalDocs",
];

/// Where a resolved object lives: the identity used to deduplicate.
pub type PlaceKey = (PathBuf, String);

pub fn place(at: &Location) -> PlaceKey {
    (at.file.clone(), at.pointer.clone())
}

pub struct Lowering {
    pub docs: Documents,
    pub interner: SchemaInterner,
    pub diagnostics: Vec<Diagnostic>,
    pub extension: RootExtension,
    pub default_content_type: Option<String>,
    pub servers: Vec<Server>,
    pub channels: Vec<Channel>,
    pub channel_ids: FastMap<PlaceKey, ChannelId>,
    /// Why a channel's address is not a NATS subject, per channel.
    pub subject_problems: FastMap<ChannelId, String>,
    pub messages: Vec<Message>,
    pub message_ids: FastMap<PlaceKey, MessageId>,
    pub operations: Vec<Operation>,
    /// Operation id → where it was declared.
    pub operation_ids: FastMap<String, Location>,
}

impl Lowering {
    pub fn new(docs: Documents, extension: RootExtension) -> Self {
        Lowering {
            docs,
            interner: SchemaInterner::new(),
            diagnostics: Vec::new(),
            extension,
            default_content_type: None,
            servers: Vec::new(),
            channels: Vec::new(),
            channel_ids: FastMap::default(),
            subject_problems: FastMap::default(),
            messages: Vec::new(),
            message_ids: FastMap::default(),
            operations: Vec::new(),
            operation_ids: FastMap::default(),
        }
    }

    pub fn locate(&self, at: &Location, key: &str) -> Location {
        self.docs
            .locate(&at.file, &pointer::child(&at.pointer, key))
    }

    pub fn locate_index(&self, at: &Location, index: usize) -> Location {
        self.docs
            .locate(&at.file, &format!("{}/{index}", at.pointer))
    }

    pub fn fields<'a>(
        &'a self,
        at: &Location,
        value: &'a Value,
        what: &'a str,
    ) -> Result<Fields<'a>> {
        Fields::new(&self.docs, at.clone(), value, what)
    }

    pub fn diagnostic(
        &mut self,
        severity: Severity,
        location: Location,
        message: impl Into<String>,
    ) {
        self.diagnostics.push(Diagnostic {
            severity,
            location,
            message: message.into(),
        });
    }

    /// Follows a chain of `$ref`s from `value` (at `at`).
    pub fn deref(&mut self, at: Location, value: Value) -> Result<(Location, Value)> {
        self.docs.deref(at, value)
    }

    /// [`Self::deref`] for a borrowed value: `value` itself when it is not a `$ref`, so
    /// that reading the document in place copies nothing.
    pub fn deref_borrowed<'v>(
        &mut self,
        at: Location,
        value: &'v Value,
    ) -> Result<(Location, Cow<'v, Value>)> {
        if ref_of(value).is_none() {
            return Ok((at, Cow::Borrowed(value)));
        }
        let (at, value) = self.docs.deref(at, value.clone())?;
        Ok((at, Cow::Owned(value)))
    }

    /// `value` as an object, or the error [`Self::fields`] gives (the map is borrowed
    /// from `value`, not from `self`).
    pub fn object<'v>(
        &self,
        at: &Location,
        value: &'v Value,
        what: &str,
    ) -> Result<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Ok(map),
            _ => Err(match self.fields(at, value, what) {
                Err(error) => error,
                Ok(_) => Error::invalid(at.clone(), format!("{what} must be an object")),
            }),
        }
    }

    /// The `$ref` inside a field that must be a reference object (`channel: {$ref}`).
    pub fn reference_in(
        &mut self,
        at: &Location,
        value: &Value,
        what: &str,
    ) -> Result<(Location, Value)> {
        let Some(Value::String(reference)) = value.as_object().and_then(|o| o.get("$ref")) else {
            return Err(Error::invalid(
                at.clone(),
                format!("{what} must be a reference object (`$ref: '#/...'`)"),
            ));
        };
        let reference = reference.clone();
        let (target_at, target) = self.docs.resolve(at, &reference)?;
        self.deref(target_at, target)
    }

    /// Warns about keys that are neither `known` nor extensions (`x-...`).
    pub fn check_keywords(
        &mut self,
        at: &Location,
        map: &Map<String, Value>,
        known: &[&str],
        what: &str,
    ) {
        for key in map.keys() {
            if !key.starts_with("x-") && !known.contains(&key.as_str()) {
                let location = self.locate(at, key);
                self.diagnostic(
                    Severity::Warning,
                    location,
                    format!("unknown keyword `{key}` in {what} is ignored"),
                );
            }
        }
    }

    /// Notes bindings: jetwire takes everything NATS-specific from the address and
    /// `x-jetwire`, so bindings only document.
    pub fn note_bindings(&mut self, at: &Location, map: &Map<String, Value>, what: &str) {
        let Some(bindings) = map.get("bindings") else {
            return;
        };
        let at = self.locate(at, "bindings");
        let Some(bindings) = bindings.as_object() else {
            self.diagnostic(
                Severity::Warning,
                at,
                format!("`bindings` of {what} is not an object; ignored"),
            );
            return;
        };
        for protocol in bindings.keys() {
            let location = self.locate(&at, protocol);
            let message = if protocol == "nats" {
                format!(
                    "NATS bindings of {what} are not used: subjects come from the address, queues and \
                     consumers from `x-jetwire`"
                )
            } else if protocol.starts_with("x-") || protocol == "$ref" {
                continue;
            } else {
                format!(
                    "`{protocol}` bindings of {what} are not used by jetwire (kept for docs only)"
                )
            };
            self.diagnostic(Severity::Note, location, message);
        }
    }

    /// Warns that security requirements are not enforced by the generated code.
    pub fn note_security(&mut self, at: &Location, map: &Map<String, Value>, what: &str) {
        if let Some(security) = map.get("security") {
            if security.as_array().is_some_and(|s| s.is_empty()) {
                return;
            }
            let location = self.locate(at, "security");
            self.diagnostic(
                Severity::Warning,
                location,
                format!(
                    "security requirements of {what} are not applied by the generated code \
                     (NATS credentials are configured on the connection)"
                ),
            );
        }
    }

    /// Registers an operation id, refusing duplicates.
    pub fn claim_operation_id(&mut self, id: &str, at: &Location) -> Result<()> {
        if let Some(first) = self.operation_ids.get(id) {
            return Err(Error::invalid(
                at.clone(),
                format!("duplicate operation id `{id}`: it is also used at {first}"),
            ));
        }
        self.operation_ids.insert(id.to_string(), at.clone());
        Ok(())
    }

    /// Reads `servers` (a map, 3.x and 2.x alike), noting non-NATS protocols.
    pub fn servers(&mut self, at: &Location, servers: &Value, host_key: &str) -> Result<()> {
        let fields = self.fields(at, servers, "servers")?;
        let entries: Vec<(String, Value)> = fields
            .map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, value) in entries {
            let server_at = self.locate(at, &name);
            let (server_at, value) = self.deref(server_at, value)?;
            let what = format!("server `{name}`");
            let server = self.fields(&server_at, &value, &what)?;
            let host = server.string(host_key)?.unwrap_or_default();
            let protocol = server.string("protocol")?.unwrap_or_default();
            let description = server.string("description")?;
            let protocol_at = server.at("protocol");
            let map = server.map.clone();
            self.check_keywords(&server_at, &map, SERVER_KEYWORDS, &what);
            if protocol != "nats" {
                self.diagnostic(
                    Severity::Warning,
                    protocol_at,
                    format!(
                        "server `{name}` uses protocol `{protocol}`; the generated code only talks NATS \
                         (the server is listed in the docs)"
                    ),
                );
            }
            self.note_bindings(&server_at, &map, &what);
            self.note_security(&server_at, &map, &what);
            self.servers.push(crate::ir::Server {
                name,
                host,
                protocol,
                description,
            });
        }
        Ok(())
    }

    /// Interns every `components/schemas` entry in document order, named by its key, so
    /// that component names are stable whatever refers to them first.
    pub fn intern_component_schemas(
        &mut self,
        components_at: &Location,
        components: &Value,
    ) -> Result<()> {
        let Some(schemas) = components.get("schemas") else {
            return Ok(());
        };
        let schemas_at = self.locate(components_at, "schemas");
        // Not an object: the error `fields` gives. The entries are read from the
        // caller's value (not through `fields`, which borrows `self`), uncopied.
        self.fields(&schemas_at, schemas, "components.schemas")?;
        let Value::Object(entries) = schemas else {
            return Ok(());
        };
        // Every schema is an object (the objects holding `properties` and the like
        // make this an overestimate, not by much).
        self.interner.reserve(count_objects(schemas));
        for (key, value) in entries {
            let at = self.locate(&schemas_at, key);
            // A Multi Format Schema Object in another format becomes an "any" schema.
            self.schema_with_format(at, value, None, "component", Some(key.clone()))?;
        }
        Ok(())
    }

    /// Warns about unknown fields of `info` (its values are read by the caller).
    pub fn check_info(&mut self, root: &Value) {
        if let Some(info) = root.get("info").and_then(Value::as_object) {
            let at = self.docs.root_at("/info");
            self.check_keywords(&at, info, INFO_KEYWORDS, "info");
        }
    }

    /// Notes `components/<kind>` entries nothing refers to: they are not part of what
    /// the application does, so nothing is generated for them.
    pub fn note_unused_components(
        &mut self,
        root: &Value,
        kind: &str,
        used: impl Fn(&Self, &Location) -> bool,
    ) {
        let Some(entries) = root
            .get("components")
            .and_then(|c| c.get(kind))
            .and_then(Value::as_object)
        else {
            return;
        };
        let keys: Vec<String> = entries.keys().cloned().collect();
        let at = self.docs.root_at(&format!("/components/{kind}"));
        for key in keys {
            let entry_at = self.locate(&at, &key);
            if !used(self, &entry_at) {
                self.diagnostic(
                    Severity::Note,
                    entry_at,
                    format!("`components/{kind}/{key}` is not used by the document; nothing is generated for it"),
                );
            }
        }
    }
}

/// How many objects `value` holds, itself included.
fn count_objects(value: &Value) -> usize {
    // Iterative: documents may nest deeply.
    let mut count = 0;
    let mut todo = vec![value];
    while let Some(v) = todo.pop() {
        match v {
            Value::Object(map) => {
                count += 1;
                todo.extend(map.values());
            }
            Value::Array(items) => todo.extend(items),
            _ => {}
        }
    }
    count
}
