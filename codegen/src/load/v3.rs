//! AsyncAPI 3.0/3.1: channels, operations (with replies) and components.

use serde_json::{Map, Value};

use super::extension::operation_extension;
use super::lower::{place, Lowering};
use super::pointer;
use super::policy::OperationDraft;
use super::traits::apply_traits;
use crate::error::{Error, Result};
use crate::ir::{Action, Channel, ChannelId, Location, MessageId, Parameter, Reply, Severity};

const ROOT_KEYWORDS: &[&str] = &[
    "asyncapi",
    "id",
    "info",
    "servers",
    "defaultContentType",
    "channels",
    "operations",
    "components",
];

const CHANNEL_KEYWORDS: &[&str] = &[
    "address",
    "messages",
    "title",
    "summary",
    "description",
    "servers",
    "parameters",
    "tags",
    "externalDocs",
    "bindings",
];

const OPERATION_KEYWORDS: &[&str] = &[
    "action",
    "channel",
    "title",
    "summary",
    "description",
    "security",
    "tags",
    "externalDocs",
    "bindings",
    "traits",
    "messages",
    "reply",
    // Not in the specification, but read (operations can be deprecated).
    "deprecated",
];

const COMPONENT_KEYWORDS: &[&str] = &[
    "schemas",
    "servers",
    "channels",
    "operations",
    "messages",
    "securitySchemes",
    "serverVariables",
    "parameters",
    "correlationIds",
    "replies",
    "replyAddresses",
    "externalDocs",
    "tags",
    "operationTraits",
    "messageTraits",
    "serverBindings",
    "channelBindings",
    "operationBindings",
    "messageBindings",
];

impl Lowering {
    /// Lowers a 3.x document (the root value is `root`).
    pub fn lower_v3(&mut self, root: &Value) -> Result<()> {
        let root_at = self.lower_root_and_components(root, ROOT_KEYWORDS, COMPONENT_KEYWORDS)?;
        if let Some(servers) = root.get("servers") {
            let at = self.locate(&root_at, "servers");
            self.servers(&at, servers, "host")?;
        }
        if let Some(channels) = root.get("channels") {
            let channels_at = self.locate(&root_at, "channels");
            // Read in place: `root` is not borrowed from `self`.
            for (key, value) in self.object(&channels_at, channels, "channels")? {
                let at = self.locate(&channels_at, key);
                self.channel_v3(key.clone(), at, value)?;
            }
        }
        if let Some(operations) = root.get("operations") {
            let operations_at = self.locate(&root_at, "operations");
            for (id, value) in self.object(&operations_at, operations, "operations")? {
                let at = self.locate(&operations_at, id);
                self.operation_v3(id.clone(), at, value)?;
            }
        }
        self.check_info(root);
        self.note_unused_components(root, "channels", |this, at| {
            this.channel_ids.contains_key(&place(at))
        });
        self.note_unused_components(root, "operations", |this, at| {
            this.operations
                .iter()
                .any(|op| op.location.file == at.file && op.location.pointer == at.pointer)
        });
        // Messages only defined as components are still part of the contract.
        if let Some(messages) = root.get("components").and_then(|c| c.get("messages")) {
            let at = self.docs.root_at("/components/messages");
            for (key, value) in self.object(&at, messages, "components.messages")? {
                let message_at = self.locate(&at, key);
                self.message(message_at, value, Some(key.clone()))?;
            }
        }
        Ok(())
    }

    /// What 3.x and 2.x documents begin with alike: unknown root keywords are noted, then
    /// `components` is checked, its schemas interned (before anything refers to them) and
    /// security schemes noted as documentation only. Returns the root's location.
    pub(super) fn lower_root_and_components(
        &mut self,
        root: &Value,
        root_keywords: &[&str],
        component_keywords: &[&str],
    ) -> Result<Location> {
        let root_at = self.docs.root_at("");
        // Borrowed, not cloned: the root holds the whole document. A non-object has no
        // keywords to check (its type is reported where it is read).
        if let Some(root_map) = root.as_object() {
            self.check_keywords(&root_at, root_map, root_keywords, "the document");
        }
        let Some(components) = root.get("components") else {
            return Ok(root_at);
        };
        let components_at = self.locate(&root_at, "components");
        self.fields(&components_at, components, "components")?;
        self.intern_component_schemas(&components_at, components)?;
        let Some(map) = components.as_object() else {
            return Ok(root_at);
        };
        self.check_keywords(&components_at, map, component_keywords, "components");
        if map
            .get("securitySchemes")
            .is_some_and(|s| s.as_object().is_some_and(|o| !o.is_empty()))
        {
            let at = self.locate(&components_at, "securitySchemes");
            self.diagnostic(
                Severity::Warning,
                at,
                "security schemes are not applied by the generated code (NATS credentials are \
                 configured on the connection); they are listed in the docs",
            );
        }
        Ok(root_at)
    }

    /// The entries of a map-valued field, cloned, in document order.
    pub fn entries(
        &self,
        at: &Location,
        value: &Value,
        what: &str,
    ) -> Result<Vec<(String, Value)>> {
        Ok(self
            .fields(at, value, what)?
            .map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    /// Lowers the channel `value` at `at` (following `$ref`s), once per location.
    fn channel_v3(&mut self, key: String, at: Location, value: &Value) -> Result<ChannelId> {
        let (at, value) = self.deref_borrowed(at, value)?;
        if let Some(&id) = self.channel_ids.get(&place(&at)) {
            return Ok(id);
        }
        let what = format!("channel `{key}`");
        let f = self.fields(&at, &value, &what)?;
        let address = match f.get("address") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(Error::invalid(
                    f.at("address"),
                    format!("`address` of {what} must be a string or null"),
                ))
            }
        };
        let title = f.string("title")?;
        let summary = f.string("summary")?;
        let description = f.string("description")?;
        // An object (`fields` said so); borrowed from `value`, not from `self`.
        let empty = Map::new();
        let map = value.as_object().unwrap_or(&empty);
        self.check_keywords(&at, map, CHANNEL_KEYWORDS, &what);
        self.note_bindings(&at, map, &what);

        let id = ChannelId(self.channels.len());
        self.channel_ids.insert(place(&at), id);
        self.channels.push(Channel {
            key,
            address: address.clone(),
            subject: None,
            parameters: Vec::new(),
            messages: Vec::new(),
            title,
            summary,
            description,
            location: at.clone(),
        });

        let mut messages = Vec::new();
        if let Some(value) = map.get("messages") {
            let messages_at = self.locate(&at, "messages");
            for (message_key, message) in self.object(&messages_at, value, "messages")? {
                let message_at = self.locate(&messages_at, message_key);
                let mid = self.message(message_at, message, Some(message_key.clone()))?;
                if !messages.contains(&mid) {
                    messages.push(mid);
                }
            }
        }
        let mut parameters = Vec::new();
        if let Some(value) = map.get("parameters") {
            let parameters_at = self.locate(&at, "parameters");
            for (name, parameter) in self.entries(&parameters_at, value, "parameters")? {
                let parameter_at = self.locate(&parameters_at, &name);
                parameters.push(self.parameter_v3(name, parameter_at, parameter)?);
            }
        }
        self.finish_channel(id, &at, address.as_deref(), parameters, messages);
        Ok(id)
    }

    fn parameter_v3(&mut self, name: String, at: Location, value: Value) -> Result<Parameter> {
        let (at, value) = self.deref(at, value)?;
        let what = format!("parameter `{name}`");
        let f = self.fields(&at, &value, &what)?;
        let parameter = Parameter {
            description: f.string("description")?,
            enum_values: f.strings("enum")?.unwrap_or_default(),
            default: f.string("default")?,
            examples: f.strings("examples")?.unwrap_or_default(),
            pattern: f.string("x-pattern")?,
            location_expr: f.string("location")?,
            name,
        };
        let empty = Map::new();
        let map = value.as_object().unwrap_or(&empty);
        self.check_keywords(
            &at,
            map,
            &["enum", "default", "description", "examples", "location"],
            &what,
        );
        Ok(parameter)
    }

    fn operation_v3(&mut self, id: String, at: Location, value: &Value) -> Result<()> {
        let (at, value) = self.deref_borrowed(at, value)?;
        self.claim_operation_id(&id, &at)?;
        let what = format!("operation `{id}`");
        self.fields(&at, &value, &what)?;
        // An object (`fields` said so); borrowed from `value`, not from `self`.
        let empty = Map::new();
        let object = value.as_object().unwrap_or(&empty);
        let traits = self.resolved_list(&at, object, "traits", "an operation trait")?;
        let merged = apply_traits(&at, object, &traits);
        let origin = |key: &str| {
            merged
                .origins
                .get(key)
                .cloned()
                .unwrap_or_else(|| at.clone())
        };
        self.check_keywords(&at, object, OPERATION_KEYWORDS, &what);
        for (trait_at, trait_value) in &traits {
            if let Some(map) = trait_value.as_object() {
                self.check_keywords(trait_at, map, OPERATION_KEYWORDS, "an operation trait");
            }
        }
        let map = merged.value.as_object().unwrap_or(&empty);
        self.note_bindings(&origin("bindings"), map, &what);
        self.note_security(&origin("security"), map, &what);

        let f = self.fields(&at, &merged.value, &what)?;
        let action = match f.required_string("action")?.as_str() {
            "send" => Action::Send,
            "receive" => Action::Receive,
            other => {
                return Err(Error::invalid(
                    f.at("action"),
                    format!("`action` of {what} must be `send` or `receive`, found `{other}`"),
                ))
            }
        };
        let title = f.string("title")?;
        let summary = f.string("summary")?;
        let description = f.string("description")?;
        let deprecated = f.boolean("deprecated")?.unwrap_or(false);
        let tags = tag_names(f.get("tags"));

        let channel_value = map.get("channel").cloned().ok_or_else(|| {
            Error::invalid(
                at.clone(),
                format!("{what} needs a `channel` (`$ref: '#/channels/...'`)"),
            )
        })?;
        let channel_field_at = self.locate(&origin("channel"), "channel");
        let channel = self.channel_ref(&channel_field_at, &channel_value, &what)?;

        let messages = match map.get("messages") {
            None | Some(Value::Null) => self.channels[channel.0].messages.clone(),
            Some(list) => {
                let list_at = self.locate(&origin("messages"), "messages");
                self.message_refs(&list_at, list, channel, &what)?
            }
        };

        let reply = match map.get("reply") {
            None | Some(Value::Null) => None,
            Some(reply) => {
                let reply_at = self.locate(&origin("reply"), "reply");
                Some(self.reply_v3(reply_at, reply.clone(), &what)?)
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

        self.push_operation(OperationDraft {
            id,
            action,
            channel,
            messages,
            reply,
            title,
            summary,
            description,
            tags,
            deprecated,
            extension: extension.unwrap_or_default(),
            location: at,
        })
    }

    /// A `channel: {$ref}` field → the channel, lowered if not seen yet.
    fn channel_ref(&mut self, at: &Location, value: &Value, what: &str) -> Result<ChannelId> {
        let (target_at, target) = self.reference_in(at, value, &format!("`channel` of {what}"))?;
        if let Some(&id) = self.channel_ids.get(&place(&target_at)) {
            return Ok(id);
        }
        let key = channel_key(&target_at.pointer);
        self.channel_v3(key, target_at, &target)
    }

    /// A list of `$ref`s to messages of `channel`.
    fn message_refs(
        &mut self,
        at: &Location,
        list: &Value,
        channel: ChannelId,
        what: &str,
    ) -> Result<Vec<MessageId>> {
        let items = list.as_array().ok_or_else(|| {
            Error::invalid(
                at.clone(),
                format!("`messages` of {what} must be a list of `$ref`s"),
            )
        })?;
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_at = self.locate_index(at, i);
            let (message_at, message) =
                self.reference_in(&item_at, item, "an operation message")?;
            let id = self.message(message_at.clone(), &message, None)?;
            let of_channel = &self.channels[channel.0];
            if !of_channel.messages.contains(&id) {
                return Err(Error::invalid(
                    item_at,
                    format!(
                        "message `{}` ({}) is not one of the messages of channel `{}` ({}); \
                         an operation may only use its channel's messages",
                        self.messages[id.0].key,
                        display_place(&message_at),
                        of_channel.key,
                        display_place(&of_channel.location),
                    ),
                ));
            }
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn reply_v3(&mut self, at: Location, value: Value, what: &str) -> Result<Reply> {
        let (at, value) = self.deref(at, value)?;
        let reply_what = format!("the reply of {what}");
        self.fields(&at, &value, &reply_what)?;
        let empty = Map::new();
        let map = value.as_object().unwrap_or(&empty);
        self.check_keywords(&at, map, &["address", "channel", "messages"], &reply_what);

        let address_location = match map.get("address") {
            None | Some(Value::Null) => None,
            Some(address) => {
                let address_at = self.locate(&at, "address");
                let (address_at, address) = self.deref(address_at, address.clone())?;
                let f = self.fields(&address_at, &address, "a reply address")?;
                let location = f.required_string("location")?;
                let location_at = f.at("location");
                let address_map = f.map.clone();
                if !location.starts_with("$message.") {
                    return Err(Error::invalid(
                        location_at,
                        format!("reply address location `{location}` must be a runtime expression (`$message.header#/...`)"),
                    ));
                }
                self.check_keywords(
                    &address_at,
                    &address_map,
                    &["location", "description"],
                    "a reply address",
                );
                Some(location)
            }
        };
        let channel = match map.get("channel") {
            None | Some(Value::Null) => None,
            Some(channel) => {
                let channel_at = self.locate(&at, "channel");
                Some(self.channel_ref(&channel_at, channel, &reply_what)?)
            }
        };
        let all = match (map.get("messages"), channel) {
            (Some(list), Some(channel)) => {
                let list_at = self.locate(&at, "messages");
                self.message_refs(&list_at, list, channel, &reply_what)?
            }
            (Some(list), None) => {
                let list_at = self.locate(&at, "messages");
                let items = list.as_array().ok_or_else(|| {
                    Error::invalid(list_at.clone(), "`messages` must be a list of `$ref`s")
                })?;
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let item_at = self.locate_index(&list_at, i);
                    let (message_at, message) =
                        self.reference_in(&item_at, item, "a reply message")?;
                    out.push(self.message(message_at, &message, None)?);
                }
                out
            }
            (None, Some(channel)) => self.channels[channel.0].messages.clone(),
            (None, None) => Vec::new(),
        };
        let (errors, messages): (Vec<MessageId>, Vec<MessageId>) =
            all.into_iter().partition(|id| self.messages[id.0].is_error);
        Ok(Reply {
            channel,
            address_location,
            messages,
            errors,
        })
    }
}

/// The key a channel is known by: `channels/<key>` or `components/channels/<key>`.
fn channel_key(pointer: &str) -> String {
    pointer::last_token(pointer).unwrap_or_else(|| "channel".into())
}

fn display_place(at: &Location) -> String {
    format!("{}#{}", at.file.display(), at.pointer)
}

/// Tag names from a `tags` list (`[{name: ...}]`).
pub fn tag_names(tags: Option<&Value>) -> Vec<String> {
    tags.and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
