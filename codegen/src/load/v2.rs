//! AsyncAPI 2.x (2.6, and 2.0–2.5 where the shapes agree): channel items with
//! `publish`/`subscribe` operations, lowered into the same IR as 3.x.
//!
//! In 2.x, `publish` describes what other applications publish to the channel, so the
//! described application *receives* it; `subscribe` means it *sends*.

use heck::ToUpperCamelCase;
use serde_json::Value;

use super::extension::operation_extension;
use super::lower::Lowering;
use super::policy::OperationDraft;
use super::traits::apply_traits;
use super::v3::tag_names;
use crate::error::{Error, Result};
use crate::ir::{Action, Channel, ChannelId, Location, MessageId, Parameter, Severity};

const ROOT_KEYWORDS: &[&str] = &[
    "asyncapi",
    "id",
    "info",
    "servers",
    "defaultContentType",
    "channels",
    "components",
    "tags",
    "externalDocs",
];

const CHANNEL_KEYWORDS: &[&str] = &[
    "$ref",
    "description",
    "servers",
    "subscribe",
    "publish",
    "parameters",
    "bindings",
];

const OPERATION_KEYWORDS: &[&str] = &[
    "operationId",
    "summary",
    "description",
    "security",
    "tags",
    "externalDocs",
    "bindings",
    "traits",
    "message",
    // Not in the specification, but read (operations can be deprecated).
    "deprecated",
];

const COMPONENT_KEYWORDS: &[&str] = &[
    "schemas",
    "servers",
    "serverVariables",
    "channels",
    "messages",
    "securitySchemes",
    "parameters",
    "correlationIds",
    "operationTraits",
    "messageTraits",
    "serverBindings",
    "channelBindings",
    "operationBindings",
    "messageBindings",
];

impl Lowering {
    /// Lowers a 2.x document (the root value is `root`).
    pub fn lower_v2(&mut self, root: &Value) -> Result<()> {
        let root_at = self.lower_root_and_components(root, ROOT_KEYWORDS, COMPONENT_KEYWORDS)?;
        if let Some(servers) = root.get("servers") {
            let at = self.locate(&root_at, "servers");
            self.servers(&at, servers, "url")?;
        }
        if let Some(channels) = root.get("channels") {
            let channels_at = self.locate(&root_at, "channels");
            for (path, value) in self.entries(&channels_at, channels, "channels")? {
                let at = self.locate(&channels_at, &path);
                self.channel_v2(path, at, value)?;
            }
        }
        self.check_info(root);
        if let Some(messages) = root.get("components").and_then(|c| c.get("messages")) {
            let at = self.docs.root_at("/components/messages");
            for (key, value) in self.entries(&at, messages, "components.messages")? {
                let message_at = self.locate(&at, &key);
                self.message(message_at, &value, Some(key))?;
            }
        }
        Ok(())
    }

    fn channel_v2(&mut self, path: String, at: Location, value: Value) -> Result<()> {
        let (at, value) = self.deref(at, value)?;
        let what = format!("channel `{path}`");
        let f = self.fields(&at, &value, &what)?;
        let description = f.string("description")?;
        let map = f.map.clone();
        self.check_keywords(&at, &map, CHANNEL_KEYWORDS, &what);
        self.note_bindings(&at, &map, &what);

        let id = ChannelId(self.channels.len());
        // A 2.x channel is its path: the same item under two paths is two channels.
        self.channel_ids
            .insert((at.file.clone(), format!("{}#{path}", at.pointer)), id);
        self.channels.push(Channel {
            key: path.clone(),
            address: Some(path.clone()),
            subject: None,
            parameters: Vec::new(),
            messages: Vec::new(),
            title: None,
            summary: None,
            description,
            location: at.clone(),
        });

        let mut parameters = Vec::new();
        if let Some(value) = map.get("parameters") {
            let parameters_at = self.locate(&at, "parameters");
            for (name, parameter) in self.entries(&parameters_at, value, "parameters")? {
                let parameter_at = self.locate(&parameters_at, &name);
                parameters.push(self.parameter_v2(name, parameter_at, parameter)?);
            }
        }
        // The channel's messages are needed before its operations are pushed; parse
        // both operations first, then record them.
        let mut drafts = Vec::new();
        let mut messages: Vec<MessageId> = Vec::new();
        // `publish` and `subscribe` in document order.
        let order: Vec<(&str, Action)> = map
            .keys()
            .filter_map(|k| match k.as_str() {
                "publish" => Some(("publish", Action::Receive)),
                "subscribe" => Some(("subscribe", Action::Send)),
                _ => None,
            })
            .collect();
        for (key, action) in order {
            let op_at = self.locate(&at, key);
            let draft = self.operation_v2(&path, id, key, action, op_at, map[key].clone())?;
            for m in &draft.messages {
                if !messages.contains(m) {
                    messages.push(*m);
                }
            }
            drafts.push(draft);
        }
        self.finish_channel(id, &at, Some(&path), parameters, messages);
        for draft in drafts {
            self.push_operation(draft)?;
        }
        Ok(())
    }

    fn parameter_v2(&mut self, name: String, at: Location, value: Value) -> Result<Parameter> {
        let (at, value) = self.deref(at, value)?;
        let what = format!("parameter `{name}`");
        let f = self.fields(&at, &value, &what)?;
        let description = f.string("description")?;
        let location_expr = f.string("location")?;
        let map = f.map.clone();
        self.check_keywords(&at, &map, &["description", "schema", "location"], &what);
        let mut parameter = Parameter {
            name,
            description,
            enum_values: Vec::new(),
            default: None,
            examples: Vec::new(),
            pattern: None,
            location_expr,
        };
        if let Some(schema) = map.get("schema") {
            let schema_at = self.locate(&at, "schema");
            let (schema_at, schema) = self.deref(schema_at, schema.clone())?;
            let s = self.fields(&schema_at, &schema, "a parameter schema")?;
            let scalars = |key: &str| -> Vec<String> {
                s.get(key)
                    .and_then(Value::as_array)
                    .map(|items| items.iter().map(scalar_text).collect())
                    .unwrap_or_default()
            };
            parameter.enum_values = scalars("enum");
            parameter.examples = scalars("examples");
            if let Some(example) = s.get("example") {
                parameter.examples.push(scalar_text(example));
            }
            parameter.default = s.get("default").map(scalar_text);
            parameter.pattern = s.string("pattern")?;
            if parameter.description.is_none() {
                parameter.description = s.string("description")?;
            }
        }
        Ok(parameter)
    }

    fn operation_v2(
        &mut self,
        path: &str,
        channel: ChannelId,
        key: &str,
        action: Action,
        at: Location,
        value: Value,
    ) -> Result<OperationDraft> {
        let what = format!("the `{key}` operation of channel `{path}`");
        let object = self.fields(&at, &value, &what)?.map.clone();
        let traits = self.resolved_list(&at, &object, "traits", "an operation trait")?;
        let merged = apply_traits(&at, &object, &traits);
        let origin = |k: &str| merged.origins.get(k).cloned().unwrap_or_else(|| at.clone());
        self.check_keywords(&at, &object, OPERATION_KEYWORDS, &what);
        let map = merged.value.as_object().cloned().unwrap_or_default();
        self.note_bindings(&origin("bindings"), &map, &what);
        self.note_security(&origin("security"), &map, &what);

        let f = self.fields(&at, &merged.value, &what)?;
        let summary = f.string("summary")?;
        let description = f.string("description")?;
        let deprecated = f.boolean("deprecated")?.unwrap_or(false);
        let tags = tag_names(f.get("tags"));
        let id = match f.string("operationId")? {
            Some(id) => id,
            None => {
                // Distinct paths may sanitise to the same words (`/a` and `a`).
                let base = synthesised_id(key, path);
                let mut id = base.clone();
                let mut n = 2;
                while self.operation_ids.contains_key(&id) {
                    id = format!("{base}{n}");
                    n += 1;
                }
                self.diagnostic(
                    Severity::Warning,
                    at.clone(),
                    format!("{what} has no `operationId`; it is called `{id}`"),
                );
                id
            }
        };
        self.claim_operation_id(&id, &at)?;

        let messages = match map.get("message") {
            None | Some(Value::Null) => Vec::new(),
            Some(message) => {
                let message_at = self.locate(&origin("message"), "message");
                self.operation_messages(&id, message_at, message.clone())?
            }
        };
        let extension = match map.get("x-jetwire") {
            None => None,
            Some(x) => Some(operation_extension(
                &self.docs,
                self.locate(&origin("x-jetwire"), "x-jetwire"),
                x,
            )?),
        };
        Ok(OperationDraft {
            id,
            action,
            channel,
            messages,
            reply: None,
            title: None,
            summary,
            description,
            tags,
            deprecated,
            extension: extension.unwrap_or_default(),
            location: at,
        })
    }

    /// `message`: one message, or `oneOf` a list of them.
    fn operation_messages(
        &mut self,
        operation_id: &str,
        at: Location,
        value: Value,
    ) -> Result<Vec<MessageId>> {
        let written_at = at.clone();
        let (at, value) = self.deref(at, value)?;
        let Some(one_of) = value.get("oneOf") else {
            let hint = message_hint(&written_at, &at, format!("{operation_id}Message"));
            return Ok(vec![self.message(at, &value, Some(hint))?]);
        };
        let list_at = self.locate(&at, "oneOf");
        let items = one_of
            .as_array()
            .ok_or_else(|| Error::invalid(list_at.clone(), "`oneOf` must be a list of messages"))?
            .clone();
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let item_at = self.locate_index(&list_at, i);
            let (message_at, message) = self.deref(item_at.clone(), item)?;
            let hint = message_hint(
                &item_at,
                &message_at,
                format!("{operation_id}Message{}", i + 1),
            );
            let id = self.message(message_at, &message, Some(hint))?;
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }
}

/// The key of a message: the name it is defined under when it was reached through a
/// `$ref`, else (an inline message) one made from the operation id.
fn message_hint(written_at: &Location, resolved_at: &Location, inline: String) -> String {
    let referenced =
        written_at.file != resolved_at.file || written_at.pointer != resolved_at.pointer;
    if referenced {
        if let Some(key) = super::pointer::last_token(&resolved_at.pointer) {
            return key;
        }
    }
    inline
}

/// `publish` on `user/{id}/signedup` → `publishUserIdSignedup`.
fn synthesised_id(key: &str, path: &str) -> String {
    let words: String = path
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    format!("{key}{}", words.to_upper_camel_case())
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_synthesised_from_the_path() {
        assert_eq!(
            synthesised_id("publish", "user/{id}/signedup"),
            "publishUserIdSignedup"
        );
    }
}
