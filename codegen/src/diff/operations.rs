//! Operation-, channel- and document-level rules: which operations, subjects, messages,
//! replies and job policies changed. Payloads are handed to [`super::schema`].

use std::collections::HashSet;

use super::schema::{Flow, SchemaDiff};
use super::{Change, ChangeLocation, Impact};
use crate::ir::{Action, Channel, MessageId, Operation, Parameter, Spec};

pub(super) fn diff_document(old: &Spec, new: &Spec, out: &mut Vec<Change>) {
    jetstream(old, new, out);
    operations(old, new, out);
    channels(old, new, out);
}

fn push(
    out: &mut Vec<Change>,
    location: ChangeLocation,
    kind: &str,
    impact: Impact,
    reason: String,
) {
    out.push(Change {
        location,
        kind: kind.to_string(),
        impact,
        reason,
    });
}

fn at_operation(id: &str) -> ChangeLocation {
    ChangeLocation {
        operation: Some(id.to_string()),
        ..ChangeLocation::default()
    }
}

fn at_extension(path: &str) -> ChangeLocation {
    ChangeLocation {
        path: Some(path.to_string()),
        ..ChangeLocation::default()
    }
}

/// The document's JetStream names and the worker's consumers.
fn jetstream(old: &Spec, new: &Spec, out: &mut Vec<Change>) {
    let (a, b) = (&old.jetstream, &new.jetstream);
    let names = [
        (
            "stream_changed",
            "x-jetwire.stream.name",
            &a.stream.name,
            &b.stream.name,
        ),
        (
            "responses_bucket_changed",
            "x-jetwire.responses.bucket",
            &a.responses.bucket,
            &b.responses.bucket,
        ),
        (
            "dead_letter_changed",
            "x-jetwire.dead-letter.stream",
            &a.dead_letter.stream,
            &b.dead_letter.stream,
        ),
    ];
    for (kind, path, o, n) in names {
        if o != n {
            let why =
                format!("`{o}` → `{n}`: clients and workers must agree on the JetStream names");
            push(out, at_extension(path), kind, Impact::BreaksBoth, why);
        }
    }
    // Clients read the registry (`_all`, a worker id's liveness); workers write it.
    if a.registry.bucket != b.registry.bucket {
        let why = format!(
            "`{}` → `{}`: clients look up workers where workers announce themselves",
            a.registry.bucket, b.registry.bucket
        );
        let here = at_extension("x-jetwire.registry.bucket");
        push(
            out,
            here,
            "registry_bucket_changed",
            Impact::BreaksBoth,
            why,
        );
    }
    let target = |t: &Option<crate::ir::TargetsConfig>| t.as_ref().map(|t| t.parameter.clone());
    if target(&a.targets) != target(&b.targets) {
        let why = format!(
            "target parameter {:?} → {:?}: which jobs are routed by target, and how workers \
             create their own durables, changes",
            target(&a.targets),
            target(&b.targets)
        );
        let here = at_extension("x-jetwire.targets.parameter");
        push(out, here, "targets_changed", Impact::BreaksBoth, why);
    }
    let leases = |l: &Option<crate::ir::LeasesConfig>| l.as_ref().map(|l| l.bucket.clone());
    if let (Some(o), Some(n)) = (leases(&a.leases), leases(&b.leases)) {
        if o != n {
            let why = format!(
                "`{o}` → `{n}`: workers of both versions would hold the same partitions at once"
            );
            let here = at_extension("x-jetwire.leases.bucket");
            push(
                out,
                here,
                "leases_bucket_changed",
                Impact::BreaksConsumers,
                why,
            );
        }
    }
    for c in &b.consumers {
        let here = || at_extension(&format!("x-jetwire.consumers.{}", c.durable));
        let Some(o) = a.consumers.iter().find(|o| o.durable == c.durable) else {
            let why = format!(
                "durable consumer `{}` added: workers must provision it",
                c.durable
            );
            push(out, here(), "consumer_added", Impact::BreaksConsumers, why);
            continue;
        };
        if o.filter_subject != c.filter_subject {
            let why = format!(
                "filter `{}` → `{}`: workers pull other subjects",
                o.filter_subject, c.filter_subject
            );
            push(
                out,
                here(),
                "consumer_filter_changed",
                Impact::BreaksConsumers,
                why,
            );
        }
        if o.partitions != c.partitions {
            let why = format!(
                "partitions {:?} → {:?}: the partition durables and the keys they hold change",
                o.partitions, c.partitions
            );
            push(
                out,
                here(),
                "consumer_partitions_changed",
                Impact::BreaksConsumers,
                why,
            );
        }
        if o.max_deliver != c.max_deliver {
            let why = format!(
                "max_deliver {} → {}: delivery tuning only",
                o.max_deliver, c.max_deliver
            );
            push(out, here(), "max_deliver_changed", Impact::Compatible, why);
        }
        if o.backoff != c.backoff {
            let why = format!(
                "backoff {:?} → {:?}: delivery tuning only",
                o.backoff, c.backoff
            );
            push(out, here(), "backoff_changed", Impact::Compatible, why);
        }
        if o.ack_wait != c.ack_wait {
            let why = format!(
                "ack_wait {:?} → {:?}: delivery tuning only",
                o.ack_wait, c.ack_wait
            );
            push(out, here(), "ack_wait_changed", Impact::Compatible, why);
        }
    }
    for o in a
        .consumers
        .iter()
        .filter(|o| !b.consumers.iter().any(|c| c.durable == o.durable))
    {
        let why = format!(
            "durable consumer `{}` removed: its jobs are no longer pulled",
            o.durable
        );
        let here = at_extension(&format!("x-jetwire.consumers.{}", o.durable));
        push(out, here, "consumer_removed", Impact::BreaksConsumers, why);
    }
}

fn address(spec: &Spec, op: &Operation) -> Option<String> {
    spec.channels[op.channel.0].address.clone()
}

fn message_keys(spec: &Spec, ids: &[MessageId]) -> Vec<String> {
    let mut keys: Vec<String> = ids.iter().map(|m| spec.messages[m.0].key.clone()).collect();
    keys.sort();
    keys
}

/// Operations matched by id; an unmatched pair with the same action, subject and
/// messages is a rename.
fn operations(old: &Spec, new: &Spec, out: &mut Vec<Change>) {
    let mut matched_old = HashSet::new();
    for n in &new.operations {
        if let Some((i, o)) = old
            .operations
            .iter()
            .enumerate()
            .find(|(_, o)| o.id == n.id)
        {
            matched_old.insert(i);
            operation(old, new, o, n, out);
        }
    }
    for n in &new.operations {
        if old.operations.iter().any(|o| o.id == n.id) {
            continue;
        }
        let renamed_from = old.operations.iter().enumerate().find(|(i, o)| {
            !matched_old.contains(i)
                && !new.operations.iter().any(|x| x.id == o.id)
                && o.action == n.action
                && address(old, o) == address(new, n)
                && message_keys(old, &o.messages) == message_keys(new, &n.messages)
        });
        match renamed_from {
            Some((i, o)) => {
                matched_old.insert(i);
                let why = format!(
                    "renamed from `{}`: same subject and messages, but generated client and handler method names change",
                    o.id
                );
                push(
                    out,
                    at_operation(&n.id),
                    "operation_renamed",
                    Impact::BreaksBoth,
                    why,
                );
                operation(old, new, o, n, out);
            }
            None => {
                let why = "new operation: nothing uses it yet".to_string();
                push(
                    out,
                    at_operation(&n.id),
                    "operation_added",
                    Impact::Compatible,
                    why,
                );
            }
        }
    }
    for (i, o) in old.operations.iter().enumerate() {
        if !matched_old.contains(&i) {
            let why =
                "removed: clients submit jobs no worker serves, workers lose a handler".to_string();
            push(
                out,
                at_operation(&o.id),
                "operation_removed",
                Impact::BreaksBoth,
                why,
            );
        }
    }
}

fn flow(op: &Operation) -> Flow {
    match op.action {
        Action::Receive => Flow::Request,
        Action::Send => Flow::Response,
    }
}

fn operation(old: &Spec, new: &Spec, o: &Operation, n: &Operation, out: &mut Vec<Change>) {
    let here = || at_operation(&n.id);
    if o.action != n.action {
        let why = format!(
            "action changed from {:?} to {:?}: the message direction flips",
            o.action, n.action
        );
        push(out, here(), "action_changed", Impact::BreaksBoth, why);
    }
    let (oa, na) = (address(old, o), address(new, n));
    if oa != na {
        let show = |a: &Option<String>| a.clone().unwrap_or_else(|| "(dynamic)".to_string());
        let why = format!(
            "subject `{}` → `{}`: old clients publish where new workers do not listen",
            show(&oa),
            show(&na)
        );
        push(out, here(), "subject_changed", Impact::BreaksBoth, why);
    }
    parameters(
        &old.channels[o.channel.0],
        &new.channels[n.channel.0],
        oa != na,
        flow(n),
        &n.id,
        out,
    );
    let (op, np) = (&o.policy, &n.policy);
    if op.class != np.class {
        let why = format!(
            "`{}` → `{}`: another consumer and concurrency pool serve it",
            op.class.as_str(),
            np.class.as_str()
        );
        push(out, here(), "class_changed", Impact::BreaksBoth, why);
    }
    if op.timeout != np.timeout {
        let why = format!(
            "client wait {:?} → {:?}: payloads and subjects are unchanged",
            op.timeout, np.timeout
        );
        push(out, here(), "timeout_changed", Impact::Compatible, why);
    }
    if op.retryable != np.retryable {
        let why = format!(
            "retryable {} → {}: delivery behaviour only",
            op.retryable, np.retryable
        );
        push(out, here(), "retry_changed", Impact::Compatible, why);
    }
    if op.request_id_pointer != np.request_id_pointer {
        let why = format!(
            "request id field {:?} → {:?}: clients and workers must agree where it travels",
            op.request_id_pointer, np.request_id_pointer
        );
        push(out, here(), "request_id_changed", Impact::BreaksBoth, why);
    }
    if op.routing_key != np.routing_key {
        let why = format!(
            "routing key {:?} → {:?}: jobs land on other partitions than workers pull",
            op.routing_key, np.routing_key
        );
        push(out, here(), "routing_key_changed", Impact::BreaksBoth, why);
    }
    if op.partitions != np.partitions {
        let why = format!(
            "partitions {:?} → {:?}: jobs land on other partitions than workers pull",
            op.partitions, np.partitions
        );
        push(out, here(), "partitions_changed", Impact::BreaksBoth, why);
    }
    let f = flow(n);
    let kinds = MessageKinds {
        added: "message_added",
        removed: "message_removed",
        added_why: None,
        removed_why: None,
    };
    messages(old, new, &n.id, &o.messages, &n.messages, f, &kinds, out);
    match (&o.reply, &n.reply) {
        (None, None) => {}
        (None, Some(_)) => {
            let why = "reply added: workers must now write one".to_string();
            push(out, here(), "reply_added", Impact::BreaksConsumers, why);
        }
        (Some(_), None) => {
            let why = "reply removed: clients wait for a reply that never comes".to_string();
            push(out, here(), "reply_removed", Impact::BreaksProducers, why);
        }
        (Some(a), Some(b)) => {
            if a.address_location != b.address_location {
                let why = format!(
                    "reply address {:?} → {:?}",
                    a.address_location, b.address_location
                );
                push(out, here(), "reply_changed", Impact::BreaksBoth, why);
            }
            let reply = MessageKinds {
                added: "reply_message_added",
                removed: "reply_message_removed",
                added_why: None,
                removed_why: None,
            };
            messages(
                old,
                new,
                &n.id,
                &a.messages,
                &b.messages,
                Flow::Response,
                &reply,
                out,
            );
            let errors = MessageKinds {
                added: "error_added",
                removed: "error_removed",
                added_why: Some("clients may receive a typed error they do not know"),
                removed_why: Some("workers still return it"),
            };
            messages(
                old,
                new,
                &n.id,
                &a.errors,
                &b.errors,
                Flow::Response,
                &errors,
                out,
            );
        }
    }
}

fn parameters(
    o: &Channel,
    n: &Channel,
    subject_changed: bool,
    flow: Flow,
    op: &str,
    out: &mut Vec<Change>,
) {
    let at = |p: &str| ChangeLocation {
        operation: Some(op.to_string()),
        path: Some(format!("parameters/{p}")),
        ..ChangeLocation::default()
    };
    let find = |list: &'_ [Parameter], name: &str| list.iter().position(|p| p.name == name);
    for p in &n.parameters {
        let Some(i) = find(&o.parameters, &p.name) else {
            if !subject_changed {
                push(
                    out,
                    at(&p.name),
                    "parameter_added",
                    Impact::BreaksBoth,
                    format!("subject parameter `{}` added", p.name),
                );
            }
            continue;
        };
        let q = &o.parameters[i];
        let (ov, nv) = (&q.enum_values, &p.enum_values);
        if ov.is_empty() != nv.is_empty() {
            let (impact, why) = if nv.is_empty() {
                (flow.widens(), format!("`{}` accepts any value now", p.name))
            } else {
                (
                    flow.narrows(),
                    format!("`{}` restricted to {}", p.name, nv.join(", ")),
                )
            };
            push(out, at(&p.name), "parameter_enum_changed", impact, why);
        } else {
            for v in nv.iter().filter(|v| !ov.contains(v)) {
                let why = format!("`{}` may now be `{v}`: the subscribing side may see an address it does not handle", p.name);
                push(
                    out,
                    at(&p.name),
                    "parameter_enum_value_added",
                    flow.widens(),
                    why,
                );
            }
            for v in ov.iter().filter(|v| !nv.contains(v)) {
                let why = format!(
                    "`{}` may no longer be `{v}`: the publishing side may still use it",
                    p.name
                );
                push(
                    out,
                    at(&p.name),
                    "parameter_enum_value_removed",
                    flow.narrows(),
                    why,
                );
            }
        }
        if q.pattern != p.pattern {
            let why = format!("`{}` pattern {:?} → {:?}", p.name, q.pattern, p.pattern);
            push(
                out,
                at(&p.name),
                "parameter_pattern_changed",
                Impact::BreaksBoth,
                why,
            );
        }
    }
    if subject_changed {
        return;
    }
    for q in o
        .parameters
        .iter()
        .filter(|q| find(&n.parameters, &q.name).is_none())
    {
        push(
            out,
            at(&q.name),
            "parameter_removed",
            Impact::BreaksBoth,
            format!("subject parameter `{}` removed", q.name),
        );
    }
}

struct MessageKinds {
    added: &'static str,
    removed: &'static str,
    /// Why an addition or a removal breaks, when the flow's default reason is too vague.
    added_why: Option<&'static str>,
    removed_why: Option<&'static str>,
}

/// Messages matched by key, then by `name`, then the single leftover on each side.
#[allow(clippy::too_many_arguments)]
fn messages(
    old: &Spec,
    new: &Spec,
    op: &str,
    a: &[MessageId],
    b: &[MessageId],
    flow: Flow,
    kinds: &MessageKinds,
    out: &mut Vec<Change>,
) {
    let mut old_left: Vec<MessageId> = a.to_vec();
    let mut pairs = Vec::new();
    let mut new_left = Vec::new();
    for &n in b {
        let nm = &new.messages[n.0];
        let found = old_left
            .iter()
            .position(|o| old.messages[o.0].key == nm.key)
            .or_else(|| {
                nm.name.as_ref().and_then(|name| {
                    old_left
                        .iter()
                        .position(|o| old.messages[o.0].name.as_ref() == Some(name))
                })
            });
        match found {
            Some(k) => pairs.push((old_left.remove(k), n)),
            None => new_left.push(n),
        }
    }
    if old_left.len() == 1 && new_left.len() == 1 {
        pairs.push((old_left.remove(0), new_left.remove(0)));
    }
    let at = |key: &str| ChangeLocation {
        operation: Some(op.to_string()),
        message: Some(key.to_string()),
        ..ChangeLocation::default()
    };
    for (o, n) in pairs {
        message(old, new, o, n, at(&new.messages[n.0].key), flow, out);
    }
    for n in new_left {
        let key = &new.messages[n.0].key;
        let why = kinds.added_why.unwrap_or(match flow {
            Flow::Request => "workers may receive a message they cannot decode",
            Flow::Response => "clients may read a message they cannot decode",
        });
        push(
            out,
            at(key),
            kinds.added,
            flow.widens(),
            format!("`{key}` added: {why}"),
        );
    }
    for o in old_left {
        let key = &old.messages[o.0].key;
        let why = kinds.removed_why.unwrap_or(match flow {
            Flow::Request => "clients still send it",
            Flow::Response => "workers still write it",
        });
        push(
            out,
            at(key),
            kinds.removed,
            flow.narrows(),
            format!("`{key}` removed: {why}"),
        );
    }
}

fn message(
    old: &Spec,
    new: &Spec,
    o: MessageId,
    n: MessageId,
    at: ChangeLocation,
    flow: Flow,
    out: &mut Vec<Change>,
) {
    let (a, b) = (&old.messages[o.0], &new.messages[n.0]);
    if a.content_type != b.content_type {
        let why = format!("content type {:?} → {:?}", a.content_type, b.content_type);
        push(
            out,
            at.clone(),
            "content_type_changed",
            Impact::BreaksBoth,
            why,
        );
    }
    for (part, x, y) in [
        ("payload", a.payload, b.payload),
        ("headers", a.headers, b.headers),
    ] {
        match (x, y) {
            (Some(x), Some(y)) => {
                SchemaDiff::new(&old.schemas, &new.schemas, flow, at.clone(), out).compare(
                    x,
                    y,
                    &format!("{part}#"),
                );
            }
            (None, None) => {}
            (None, Some(_)) => {
                let mut here = at.clone();
                here.path = Some(format!("{part}#"));
                let impact = flow.narrows();
                push(
                    out,
                    here,
                    &format!("{part}_added"),
                    impact,
                    format!("the message now has a {part} schema"),
                );
            }
            (Some(_), None) => {
                let mut here = at.clone();
                here.path = Some(format!("{part}#"));
                let impact = flow.widens();
                push(
                    out,
                    here,
                    &format!("{part}_removed"),
                    impact,
                    format!("the message no longer has a {part} schema"),
                );
            }
        }
    }
}

/// Channels no operation uses (e.g. documented but not yet served): matched by key,
/// else by address. Channels of operations are judged through their operations.
fn channels(old: &Spec, new: &Spec, out: &mut Vec<Change>) {
    let unused = |spec: &Spec| -> Vec<usize> {
        let used: HashSet<usize> = spec
            .operations
            .iter()
            .flat_map(|op| {
                std::iter::once(op.channel.0)
                    .chain(op.reply.as_ref().and_then(|r| r.channel).map(|c| c.0))
            })
            .collect();
        (0..spec.channels.len())
            .filter(|i| !used.contains(i))
            .collect()
    };
    let same = |a: &Channel, b: &Channel| {
        a.key == b.key || (a.address.is_some() && a.address == b.address)
    };
    let at = |key: &str| ChangeLocation {
        channel: Some(key.to_string()),
        ..ChangeLocation::default()
    };
    for i in unused(new) {
        let c = &new.channels[i];
        if !old.channels.iter().any(|o| same(o, c)) {
            push(
                out,
                at(&c.key),
                "channel_added",
                Impact::Compatible,
                "new channel: nothing uses it yet".to_string(),
            );
        }
    }
    for i in unused(old) {
        let c = &old.channels[i];
        if !new.channels.iter().any(|n| same(c, n)) {
            let why = "channel removed: its subject is no longer part of the contract".to_string();
            push(out, at(&c.key), "channel_removed", Impact::BreaksBoth, why);
        }
    }
}
