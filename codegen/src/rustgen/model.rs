//! The emission model: every operation of the spec resolved once into what the emitters
//! need (Rust names, payload/reply/error types, subject parameters), so that `service`,
//! `operations`, `client` and `worker` agree on every name without recomputing it.

use proc_macro2::{Ident, TokenStream};
use quote::quote;
use rustc_hash::FxHashMap;

use crate::ir::{
    Action, Channel, Diagnostic, Message, MessageId, Operation, Severity, Spec, SubjectTemplate,
    SubjectToken,
};
use crate::rustgen::naming::{self, Scope};
use crate::rustgen::types::Types;
use crate::Result;

/// The spec, resolved for emission.
pub struct Model<'a> {
    pub spec: &'a Spec,
    /// Receive operations with a NATS subject: the jobs.
    pub jobs: Vec<OpModel<'a>>,
    /// Send operations with a NATS subject: events the service publishes.
    pub events: Vec<OpModel<'a>>,
    /// Payload type of every message, for docs and example round trips.
    pub messages: Vec<MessageModel>,
    pub diagnostics: Vec<Diagnostic>,
}

/// One message and the Rust type of its payload.
pub struct MessageModel {
    pub id: MessageId,
    /// The type, written relative to the generated module root (`types::Foo`,
    /// `::std::string::String`, `()` when the message has no payload).
    pub payload_type: TokenStream,
    pub headers_type: Option<TokenStream>,
}

/// One operation with a NATS subject.
pub struct OpModel<'a> {
    pub op: &'a Operation,
    pub channel: &'a Channel,
    pub subject: &'a SubjectTemplate,
    /// snake_case base of the method names (`get_status`; may be a keyword such as
    /// `type`: build names with [`OpModel::method`]).
    pub method_base: String,
    /// `OPERATION_GET_STATUS`.
    pub const_ident: Ident,
    /// `GetStatusParams`.
    pub params_ident: Ident,
    pub params: Vec<ParamModel>,
    pub payload: Shape,
    /// Typed headers of the request, when every request message shares one headers schema.
    pub headers: Option<TokenStream>,
    pub reply: Shape,
    /// `GetStatusError`, or `None` when the operation has no typed errors (`Infallible`).
    pub error: Option<ErrorModel>,
    /// Every parameter of the subject template in order (the `partition` one too).
    pub subject_params: Vec<String>,
    /// The partition parameter of a partitioned job: in the subject, but not in
    /// `params` (the runtime computes it from the routing key).
    pub partition: Option<String>,
    /// The target parameter of a targeted job, and the value that broadcasts to every
    /// worker (`"_all"`, or the enum variant for it) when the job gets `_all` methods.
    pub target: Option<TargetModel>,
}

/// How a targeted job names its target.
pub struct TargetModel {
    /// The parameter's name in the subject.
    pub name: String,
    /// The argument expression that selects every worker, when the parameter admits
    /// `_all`: `"_all"` for a free parameter, `super::operations::X::All` for an enum.
    pub broadcast: Option<TokenStream>,
}

/// A subject parameter.
pub struct ParamModel {
    /// The name in the subject template.
    pub name: String,
    pub field: Ident,
    pub description: Option<String>,
    pub kind: ParamKind,
}

pub enum ParamKind {
    /// The parameter lists its values: a generated enum.
    Enum {
        ident: Ident,
        /// (variant, value) in document order.
        variants: Vec<(Ident, String)>,
    },
    /// Any valid subject token, optionally matching `pattern`.
    Free { pattern: Option<String> },
}

/// The payload (or reply) of an operation: none, one message, or one of several.
pub enum Shape {
    /// No message: `()`.
    Unit,
    Single {
        message: MessageId,
        ty: TokenStream,
    },
    /// Several messages: a generated untagged enum.
    OneOf {
        ident: Ident,
        variants: Vec<Variant>,
    },
}

pub struct Variant {
    pub ident: Ident,
    pub message: MessageId,
    /// `None` when the message has no payload.
    pub ty: Option<TokenStream>,
}

pub struct ErrorModel {
    pub ident: Ident,
    pub variants: Vec<ErrorVariant>,
}

pub struct ErrorVariant {
    pub ident: Ident,
    /// The code stored in the record: the message's `name`, else its key.
    pub code: String,
    pub message: MessageId,
    pub ty: Option<TokenStream>,
}

impl Shape {
    /// The Rust type, from a sibling module of `types` (`super::types::..`) or, for the
    /// generated enums, from a sibling of `operations`.
    pub fn ty(&self) -> TokenStream {
        match self {
            Shape::Unit => quote!(()),
            Shape::Single { ty, .. } => ty.clone(),
            Shape::OneOf { ident, .. } => quote!(super::operations::#ident),
        }
    }

    pub fn is_unit(&self) -> bool {
        matches!(self, Shape::Unit)
    }

    pub fn messages(&self) -> Vec<MessageId> {
        match self {
            Shape::Unit => vec![],
            Shape::Single { message, .. } => vec![*message],
            Shape::OneOf { variants, .. } => variants.iter().map(|v| v.message).collect(),
        }
    }
}

impl OpModel<'_> {
    /// A method name of this operation: `pattern` with `{}` replaced by the base,
    /// keyword-escaped (`"submit_{}"` → `submit_get_status`).
    pub fn method(&self, pattern: &str) -> Ident {
        naming::method(pattern, &self.method_base)
    }

    pub fn error_ty(&self) -> TokenStream {
        match &self.error {
            Some(e) => {
                let ident = &e.ident;
                quote!(super::operations::#ident)
            }
            None => quote!(::std::convert::Infallible),
        }
    }

    /// The subject parameters (arguments) other than `name`.
    pub fn params_without(&self, name: &str) -> Vec<&ParamModel> {
        self.params.iter().filter(|p| p.name != name).collect()
    }

    pub fn params_ty(&self) -> TokenStream {
        let ident = &self.params_ident;
        quote!(super::operations::#ident)
    }
}

/// The code/name a message goes by in the spec.
pub fn message_name(m: &Message) -> &str {
    m.name.as_deref().unwrap_or(&m.key)
}

/// Rustdoc text for something with an optional title, summary and description.
pub fn doc_text(
    title: Option<&str>,
    summary: Option<&str>,
    description: Option<&str>,
) -> Option<String> {
    let parts: Vec<&str> = [title, summary, description]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut deduped: Vec<&str> = Vec::new();
    for p in parts {
        if !deduped.contains(&p) {
            deduped.push(p);
        }
    }
    (!deduped.is_empty()).then(|| deduped.join("\n\n"))
}

/// `#[doc = ...]` attributes, one per line, so rustdoc renders the text as written.
pub fn doc_attrs(text: &str) -> TokenStream {
    let lines = text.lines().map(|l| {
        let l = if l.is_empty() {
            String::new()
        } else {
            format!(" {l}")
        };
        quote!(#[doc = #l])
    });
    quote!(#(#lines)*)
}

/// Names in the generated `operations` module that must not be reused.
const OPERATIONS_RESERVED: &[&str] = &["Option", "Result", "String", "Vec", "Box"];
/// Locals and arguments of the generated methods that take subject parameters.
const PARAM_RESERVED: &[&str] = &[
    "ctx",
    "handle",
    "headers",
    "job",
    "n",
    "operation",
    "options",
    "out",
    "params",
    "payload",
    "request",
    "result",
    "timeout",
    "v",
    "value",
    "values",
    "violations",
];
/// Names generated on the client and the handler trait besides operation methods.
const METHODS_RESERVED: &[&str] = &[
    "new",
    "from_runtime",
    "runtime",
    "nats",
    "job",
    "handler",
    "call_json",
    "submit_json",
];

pub fn build<'a>(spec: &'a Spec, types: &mut Types<'a>) -> Result<Model<'a>> {
    let mut diagnostics = Vec::new();

    // Every message gets its payload and header types, whether or not an operation
    // ends up with client/worker code: the types and docs cover the whole document.
    let mut messages = Vec::new();
    for (i, m) in spec.messages.iter().enumerate() {
        let hint = naming::pascal(message_name(m));
        let payload_type = match m.payload {
            Some(id) => types.add(id, &hint)?,
            None => quote!(()),
        };
        let headers_type = match m.headers {
            Some(id) => Some(types.add(id, &format!("{hint}Headers"))?),
            None => None,
        };
        messages.push(MessageModel {
            id: MessageId(i),
            payload_type,
            headers_type,
        });
    }

    let mut type_names = Scope::with_reserved(OPERATIONS_RESERVED);
    let mut method_names = Scope::with_reserved(METHODS_RESERVED);
    let mut const_names = Scope::default();
    let mut jobs = Vec::new();
    let mut events = Vec::new();
    let mut patterns = Patterns::default();

    for op in &spec.operations {
        let channel = &spec.channels[op.channel.0];
        // The loader reports these operations (with the reason the address is not a
        // subject); they get types and docs only.
        let Some(subject) = channel.subject.as_ref() else {
            continue;
        };

        let partition = op
            .policy
            .partitioning
            .as_ref()
            .filter(|_| op.action == Action::Receive)
            .map(|p| p.parameter.clone());
        let target_name = spec
            .jetstream
            .targets
            .as_ref()
            .map(|t| t.parameter.as_str())
            .filter(|t| {
                op.action == Action::Receive
                    && subject
                        .tokens
                        .iter()
                        .any(|tok| matches!(tok, SubjectToken::Parameter(p) if p == t))
            });
        let subject_params: Vec<String> = subject
            .tokens
            .iter()
            .filter_map(|t| match t {
                SubjectToken::Parameter(p) => Some(p.clone()),
                SubjectToken::Literal(_) => None,
            })
            .collect();

        let base_snake = naming::snake_base(&op.id);
        let broadcast_names: &[&str] = &["{}_all", "{}_all_with"];
        let derived: &[&str] = match op.action {
            Action::Receive => &[
                "{}",
                "{}_with",
                "submit_{}",
                "submit_{}_with",
                "{}_request",
                "{}_job",
            ],
            Action::Send => &["{}", "subscribe_{}", "subscribe_{}_matching", "publish_{}"],
        };
        let derived: Vec<&str> = derived
            .iter()
            .chain(target_name.map_or(&[][..], |_| broadcast_names))
            .copied()
            .collect();
        let method = method_names.claim_family(&base_snake, &derived);
        let pascal = type_names.claim(naming::pascal(&op.id));
        let const_ident = const_names.claim(format!("OPERATION_{}", naming::shouty(&op.id)));
        let params_ident = type_names.claim(format!("{pascal}Params"));

        // Parameter names become fields, method arguments and locals next to the
        // generated ones: those names are taken.
        let mut field_names = Scope::with_reserved(PARAM_RESERVED);
        let params: Vec<ParamModel> = subject_params
            .iter()
            .map(String::as_str)
            .filter(|name| Some(*name) != partition.as_deref())
            .map(|name| {
                let field = field_names.claim(naming::snake(name));
                param_model(
                    channel,
                    name,
                    field,
                    &pascal,
                    &mut type_names,
                    &mut patterns,
                    &mut diagnostics,
                )
            })
            .collect();

        let payload = shape(
            spec,
            &messages,
            &op.messages,
            &format!("{pascal}Payload"),
            &mut type_names,
        );
        let headers = common_headers(spec, &messages, &op.messages);
        let (reply, error) = match &op.reply {
            Some(reply) => {
                let shape = shape(
                    spec,
                    &messages,
                    &reply.messages,
                    &format!("{pascal}Reply"),
                    &mut type_names,
                );
                let error = (!reply.errors.is_empty())
                    .then(|| error_model(spec, &messages, &reply.errors, &pascal, &mut type_names));
                (shape, error)
            }
            None => (Shape::Unit, None),
        };

        let target = target_name.map(|name| {
            let broadcast = params
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| match &p.kind {
                    // A pattern that refuses `_all` would fail every broadcast.
                    ParamKind::Free { pattern } => pattern
                        .as_deref()
                        .is_none_or(|p| {
                            patterns.get(p).as_ref().is_ok_and(|re| re.is_match("_all"))
                        })
                        .then(|| quote!("_all")),
                    ParamKind::Enum { ident, variants } => variants
                        .iter()
                        .find(|(_, value)| value == "_all")
                        .map(|(variant, _)| quote!(super::operations::#ident::#variant)),
                });
            if broadcast.is_none() {
                diagnostics.push(Diagnostic {
                    severity: Severity::Warning,
                    location: channel.location.clone(),
                    message: format!(
                        "operation '{}': the target parameter '{name}' does not admit `_all` \
                         (its enum or pattern), so the client gets no broadcast (`_all`) methods",
                        op.id
                    ),
                });
            }
            TargetModel {
                name: name.to_string(),
                broadcast,
            }
        });

        let model = OpModel {
            op,
            channel,
            subject,
            method_base: method,
            const_ident: naming::ident(&const_ident),
            params_ident: naming::ident(&params_ident),
            params,
            payload,
            headers,
            reply,
            error,
            subject_params,
            partition,
            target,
        };
        match op.action {
            Action::Receive => jobs.push(model),
            Action::Send => events.push(model),
        }
    }

    diagnostics.extend(types.diagnostics());
    Ok(Model {
        spec,
        jobs,
        events,
        messages,
        diagnostics,
    })
}

fn param_model(
    channel: &Channel,
    name: &str,
    field: String,
    op_pascal: &str,
    names: &mut Scope,
    patterns: &mut Patterns,
    diagnostics: &mut Vec<Diagnostic>,
) -> ParamModel {
    let declared = channel.parameters.iter().find(|p| p.name == name);
    let mut warn = |message: String| {
        diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            location: channel.location.clone(),
            message,
        })
    };
    if let Some(p) = declared {
        for value in &p.enum_values {
            if !is_subject_token(value) {
                warn(format!(
                    "parameter '{name}': enum value '{value}' is not a NATS subject token \
                     (empty, or contains '.', '*', '>' or whitespace); requests with it \
                     are rejected"
                ));
            }
        }
        if let Some(pattern) = &p.pattern {
            if let Err(e) = patterns.get(pattern) {
                warn(format!(
                    "parameter '{name}': pattern '{pattern}' is not a valid regular \
                     expression ({e}); every value is rejected"
                ));
            }
        }
    }
    let kind = match declared {
        Some(p) if !p.enum_values.is_empty() => {
            let ident = names.claim(format!("{op_pascal}{}", naming::pascal(name)));
            let mut variant_names = Scope::default();
            let mut seen = Vec::new();
            let variants = p
                .enum_values
                .iter()
                .filter(|v| {
                    // Duplicate values would give unreachable match arms.
                    let fresh = !seen.contains(v);
                    seen.push(*v);
                    fresh
                })
                .map(|v| {
                    let variant = variant_names.claim(naming::pascal(v));
                    (naming::ident(&variant), v.clone())
                })
                .collect();
            ParamKind::Enum {
                ident: naming::ident(&ident),
                variants,
            }
        }
        Some(p) => ParamKind::Free {
            pattern: p.pattern.clone(),
        },
        None => ParamKind::Free { pattern: None },
    };
    ParamModel {
        name: name.to_string(),
        field: naming::ident(&field),
        description: declared.and_then(|p| p.description.clone()),
        kind,
    }
}

/// Parameter patterns, compiled once each: documents share a parameter (and its
/// pattern) between many channels, and compiling a regex costs more than the rest of
/// an operation's model.
#[derive(Default)]
struct Patterns(FxHashMap<String, std::result::Result<regex::Regex, regex::Error>>);

impl Patterns {
    fn get(&mut self, pattern: &str) -> &std::result::Result<regex::Regex, regex::Error> {
        if !self.0.contains_key(pattern) {
            self.0
                .insert(pattern.to_string(), regex::Regex::new(pattern));
        }
        &self.0[pattern]
    }
}

/// One NATS subject token: not empty, no `.`, `*`, `>`, whitespace or control characters.
fn is_subject_token(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| matches!(c, '.' | '*' | '>') || c.is_whitespace() || c.is_control())
}

fn qualified(messages: &[MessageModel], id: MessageId) -> TokenStream {
    crate::rustgen::types::from_sibling(&messages[id.0].payload_type)
}

fn shape(
    spec: &Spec,
    messages: &[MessageModel],
    ids: &[MessageId],
    enum_name: &str,
    names: &mut Scope,
) -> Shape {
    match ids {
        [] => Shape::Unit,
        // A message without a payload carries nothing to type.
        [one] if spec.messages[one.0].payload.is_none() => Shape::Unit,
        [one] => Shape::Single {
            message: *one,
            ty: qualified(messages, *one),
        },
        many => {
            let ident = names.claim(enum_name.to_string());
            let mut variant_names = Scope::default();
            let variants = many
                .iter()
                .map(|id| {
                    let m = &spec.messages[id.0];
                    Variant {
                        ident: naming::ident(&variant_names.claim(naming::pascal(message_name(m)))),
                        message: *id,
                        ty: m.payload.map(|_| qualified(messages, *id)),
                    }
                })
                .collect();
            Shape::OneOf {
                ident: naming::ident(&ident),
                variants,
            }
        }
    }
}

fn common_headers(
    spec: &Spec,
    messages: &[MessageModel],
    ids: &[MessageId],
) -> Option<TokenStream> {
    let first = ids.first()?;
    let schema = spec.messages[first.0].headers?;
    ids.iter()
        .all(|id| spec.messages[id.0].headers == Some(schema))
        .then(|| {
            crate::rustgen::types::from_sibling(
                messages[first.0]
                    .headers_type
                    .as_ref()
                    .expect("headers type exists when the schema does"),
            )
        })
}

fn error_model(
    spec: &Spec,
    messages: &[MessageModel],
    ids: &[MessageId],
    op_pascal: &str,
    names: &mut Scope,
) -> ErrorModel {
    let ident = names.claim(format!("{op_pascal}Error"));
    let mut variant_names = Scope::default();
    let variants = ids
        .iter()
        .map(|id| {
            let m = &spec.messages[id.0];
            ErrorVariant {
                ident: naming::ident(&variant_names.claim(naming::pascal(message_name(m)))),
                code: message_name(m).to_string(),
                message: *id,
                ty: m.payload.map(|_| qualified(messages, *id)),
            }
        })
        .collect();
    ErrorModel {
        ident: naming::ident(&ident),
        variants,
    }
}
