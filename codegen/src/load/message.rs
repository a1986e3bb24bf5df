//! Message objects (3.x and 2.x share their shape) → [`Message`], one per resolved
//! location; payload and header schemas go through the schema interner.

use serde_json::{json, Value};

use super::lower::{place, Lowering};
use super::pointer;
use super::traits::{apply_traits, Merged};
use crate::error::{Error, Result};
use crate::ir::{CorrelationId, Location, Message, MessageExample, MessageId, SchemaId, Severity};

/// Message Object fields of 3.x plus the 2.x-only ones (`messageId`, `schemaFormat`).
const MESSAGE_KEYWORDS: &[&str] = &[
    "headers",
    "payload",
    "correlationId",
    "contentType",
    "name",
    "title",
    "summary",
    "description",
    "tags",
    "externalDocs",
    "bindings",
    "examples",
    "traits",
    "messageId",
    "schemaFormat",
    "deprecated",
];

/// Whether a `schemaFormat` names JSON Schema (AsyncAPI's Schema Object or plain JSON
/// Schema), the only format the generator understands.
pub fn is_json_schema_format(format: &str) -> bool {
    let format = format.trim().to_ascii_lowercase();
    format.starts_with("application/vnd.aai.asyncapi")
        || format.starts_with("application/schema+json")
        || format.starts_with("application/schema+yaml")
        || format.starts_with("application/schema;")
        || format == "application/schema"
}

impl Lowering {
    /// Lowers the message `value` found at `at` (a `$ref` is followed first). `key_hint`
    /// names it when it is not a `components/messages` entry.
    pub fn message(
        &mut self,
        at: Location,
        value: &Value,
        key_hint: Option<String>,
    ) -> Result<MessageId> {
        let (at, value) = self.deref_borrowed(at, value)?;
        if let Some(&id) = self.message_ids.get(&place(&at)) {
            return Ok(id);
        }
        let object = value
            .as_object()
            .ok_or_else(|| Error::invalid(at.clone(), "a message must be an object"))?;

        let traits = self.resolved_list(&at, object, "traits", "a message trait")?;
        let Merged {
            value: merged,
            origins,
        } = apply_traits(&at, object, &traits);
        let origin = |key: &str| origins.get(key).cloned().unwrap_or_else(|| at.clone());
        let field_at = |this: &Self, key: &str| this.locate(&origin(key), key);

        let Some(merged_map) = merged.as_object() else {
            return Err(Error::invalid(at, "a message must be an object"));
        };
        self.check_keywords(&at, object, MESSAGE_KEYWORDS, "a message");
        for (trait_at, trait_value) in &traits {
            if let Some(map) = trait_value.as_object() {
                self.check_keywords(trait_at, map, MESSAGE_KEYWORDS, "a message trait");
            }
        }
        self.note_bindings(&origin("bindings"), merged_map, "a message");

        let f = self.fields(&at, &merged, "a message")?;
        // Field errors should point where the field was written (maybe in a trait).
        let text = |key: &str| -> Result<Option<String>> {
            f.string(key).map_err(|e| relocate(e, field_at(self, key)))
        };
        let name = text("name")?;
        let title = text("title")?;
        let summary = text("summary")?;
        let description = text("description")?;
        let content_type = text("contentType")?.or_else(|| self.default_content_type.clone());
        let message_id = text("messageId")?;
        let schema_format = text("schemaFormat")?;
        let is_error = f
            .boolean("x-jetwire-error")
            .map_err(|e| relocate(e, field_at(self, "x-jetwire-error")))?
            .unwrap_or(false);
        let deprecated = f
            .boolean("deprecated")
            .map_err(|e| relocate(e, field_at(self, "deprecated")))?
            .unwrap_or(false);

        let key = message_key(&at.pointer)
            .or(message_id)
            .or(key_hint)
            .or_else(|| name.clone())
            .or_else(|| pointer::last_token(&at.pointer))
            .unwrap_or_else(|| "message".into());

        // Reserve the id before reading schemas: they cannot refer back to a message,
        // but the order of `messages` should be the order messages were met.
        let id = MessageId(self.messages.len());
        self.message_ids.insert(place(&at), id);
        self.messages.push(Message {
            key,
            name,
            title,
            summary,
            description,
            content_type,
            payload: None,
            headers: None,
            correlation_id: None,
            examples: Vec::new(),
            is_error,
            deprecated,
            location: at.clone(),
        });

        let payload = match merged_map.get("payload") {
            None | Some(Value::Null) => None,
            Some(payload) => Some(self.schema_with_format(
                field_at(self, "payload"),
                payload,
                schema_format.as_deref(),
                "payload",
                None,
            )?),
        };
        let headers = match merged_map.get("headers") {
            None | Some(Value::Null) => None,
            Some(headers) => Some(self.schema_with_format(
                field_at(self, "headers"),
                headers,
                // 2.x `schemaFormat` is about the payload; headers are always JSON Schema.
                None,
                "headers",
                None,
            )?),
        };
        let correlation_id = match merged_map.get("correlationId") {
            None | Some(Value::Null) => None,
            Some(value) => {
                Some(self.correlation_id(field_at(self, "correlationId"), value.clone())?)
            }
        };
        let examples = match merged_map.get("examples") {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => self.examples(field_at(self, "examples"), value)?,
        };

        let message = &mut self.messages[id.0];
        message.payload = payload;
        message.headers = headers;
        message.correlation_id = correlation_id;
        message.examples = examples;
        Ok(id)
    }

    /// A list of objects that may each be a `$ref` (traits), resolved.
    pub fn resolved_list(
        &mut self,
        at: &Location,
        object: &serde_json::Map<String, Value>,
        key: &str,
        what: &str,
    ) -> Result<Vec<(Location, Value)>> {
        let Some(list) = object.get(key) else {
            return Ok(Vec::new());
        };
        let list_at = self.locate(at, key);
        let items = list
            .as_array()
            .ok_or_else(|| Error::invalid(list_at.clone(), format!("`{key}` must be a list")))?
            .clone();
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let item_at = self.locate_index(&list_at, i);
            let (item_at, item) = self.deref(item_at, item)?;
            if !item.is_object() {
                return Err(Error::invalid(item_at, format!("{what} must be an object")));
            }
            out.push((item_at, item));
        }
        Ok(out)
    }

    /// Interns a payload/headers schema. 3.x may wrap it in a Multi Format Schema Object
    /// (`{schemaFormat, schema}`); 2.x puts `schemaFormat` on the message. A format
    /// other than JSON Schema becomes an "any" schema, with a warning.
    pub fn schema_with_format(
        &mut self,
        at: Location,
        value: &Value,
        message_format: Option<&str>,
        what: &str,
        name: Option<String>,
    ) -> Result<SchemaId> {
        let wrapped = value
            .as_object()
            .filter(|o| o.contains_key("schemaFormat") && o.contains_key("schema"));
        let (at, value, format) = match wrapped {
            Some(o) => {
                let format = o
                    .get("schemaFormat")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Error::invalid(
                            self.locate(&at, "schemaFormat"),
                            "`schemaFormat` must be a string",
                        )
                    })?;
                (
                    self.locate(&at, "schema"),
                    &o["schema"],
                    Some(format.to_string()),
                )
            }
            None => (at, value, message_format.map(str::to_string)),
        };
        match format {
            Some(format) if !is_json_schema_format(&format) => {
                self.diagnostic(
                    Severity::Warning,
                    at.clone(),
                    format!(
                        "the {what} schema is in format `{format}`, which jetwire does not read; \
                         it is treated as any JSON value"
                    ),
                );
                self.interner.intern(&mut self.docs, at, &json!({}), name)
            }
            _ => self.interner.intern(&mut self.docs, at, value, name),
        }
    }

    fn correlation_id(&mut self, at: Location, value: Value) -> Result<CorrelationId> {
        let (at, value) = self.deref(at, value)?;
        let f = self.fields(&at, &value, "a correlation id")?;
        let location = f.required_string("location")?;
        let description = f.string("description")?;
        let location_at = f.at("location");
        if !location.starts_with("$message.payload#") && !location.starts_with("$message.header#") {
            return Err(Error::invalid(
                location_at,
                format!(
                    "correlation id location `{location}` must be a runtime expression starting with \
                     `$message.payload#` or `$message.header#`"
                ),
            ));
        }
        Ok(CorrelationId {
            description,
            location,
        })
    }

    fn examples(&mut self, at: Location, value: &Value) -> Result<Vec<MessageExample>> {
        let items = value.as_array().ok_or_else(|| {
            Error::invalid(at.clone(), "`examples` must be a list of example objects")
        })?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_at = self.locate_index(&at, i);
            let f = self.fields(&item_at, item, "a message example")?;
            out.push(MessageExample {
                name: f.string("name")?,
                summary: f.string("summary")?,
                payload: f.get("payload").cloned(),
                headers: f.get("headers").cloned(),
            });
            let map = f.map.clone();
            self.check_keywords(
                &item_at,
                &map,
                &["name", "summary", "payload", "headers"],
                "a message example",
            );
        }
        Ok(out)
    }
}

/// The component key when the message is `components/messages/<key>`.
fn message_key(pointer: &str) -> Option<String> {
    let tokens = pointer::tokens(pointer);
    match tokens.as_slice() {
        [.., components, messages, key] if components == "components" && messages == "messages" => {
            Some(key.clone())
        }
        _ => None,
    }
}

/// Moves an `Invalid` error to `location` (a field that came from a trait).
fn relocate(error: Error, location: Location) -> Error {
    match error {
        Error::Invalid { message, .. } => Error::Invalid { location, message },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(is_json_schema_format(
            "application/vnd.aai.asyncapi+json;version=3.1.0"
        ));
        assert!(is_json_schema_format(
            "application/schema+yaml;version=draft-07"
        ));
        assert!(!is_json_schema_format(
            "application/vnd.apache.avro;version=1.9.0"
        ));
        assert!(!is_json_schema_format("application/raml+yaml;version=1.0"));
    }

    #[test]
    fn component_keys() {
        assert_eq!(
            message_key("/components/messages/a~1b").as_deref(),
            Some("a/b")
        );
        assert_eq!(message_key("/channels/x/messages/y"), None);
    }
}
