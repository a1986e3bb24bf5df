//! The OpenAPI 3.1 description of the HTTP gateway, served at `GET /api/v1/openapi.json`.
//!
//! Reply, request and typed error schemas are generated from the job types of
//! `osapi-jobs` (every generated type derives [`schemars::JsonSchema`]), so the document
//! cannot drift from the contract; they land in `components/schemas` under their type
//! names. The gateway's own bodies (pending, invalid, failed, dead-lettered, job record)
//! are written out here.

use osapi_jobs::types;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

/// Where component schemas live, as a `$ref` prefix.
pub const SCHEMAS: &str = "#/components/schemas/";

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("{SCHEMAS}{name}")})
}

/// Collects the schemas of generated types into `components/schemas`.
struct Schemas {
    generator: SchemaGenerator,
}

impl Schemas {
    fn new() -> Self {
        let settings = SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        });
        Schemas {
            generator: settings.into_generator(),
        }
    }

    /// A reference to `T`'s schema (adding it and what it uses to the components).
    fn of<T: JsonSchema>(&mut self) -> Value {
        let schema = self.generator.subschema_for::<T>().to_value();
        if schema.get("$ref").is_some() {
            return schema;
        }
        // A type schemars inlines (none of the generated ones today): store it by name.
        let name = T::schema_name().to_string();
        self.generator
            .definitions_mut()
            .insert(name.clone(), schema);
        schema_ref(&name)
    }

    /// A request body schema: `T`'s schema without `request_id` among the required
    /// fields, since the gateway assigns it (a value sent is replaced). Stored as
    /// `<T>Body`.
    fn body<T: JsonSchema>(&mut self) -> Value {
        let reference = self.of::<T>();
        let name = reference["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix(SCHEMAS))
            .unwrap_or_default()
            .to_string();
        let definitions = self.generator.definitions_mut();
        let mut schema = definitions.get(&name).cloned().unwrap_or(Value::Null);
        if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|r| r != "request_id");
        }
        if let Some(id) = schema.pointer_mut("/properties/request_id") {
            *id = json!({"allOf": [id.clone()],
                "description": "Assigned by the gateway; a value sent here is replaced"});
        }
        let body = format!("{name}Body");
        definitions.insert(body.clone(), schema);
        schema_ref(&body)
    }

    fn into_definitions(mut self) -> Map<String, Value> {
        self.generator.take_definitions(true)
    }
}

/// One job route: its operation, reply type and typed errors, as schema references.
struct JobRoute {
    operation: &'static str,
    summary: &'static str,
    reply: Value,
    errors: Vec<Value>,
}

fn job_parameters() -> Value {
    json!([
        {"name": "target", "in": "query", "schema": {"type": "string", "default": "_any",
            "pattern": "^(_any|_all|[A-Za-z0-9][A-Za-z0-9_-]{0,62})$"},
         "description": "`_any` (one agent), `_all` (every live agent: the 200 answer is \
                         `AgentResults`) or the host id of one agent (404 when it is not live)"},
        {"name": "wait", "in": "query", "schema": {"type": "string", "default": "5s"},
         "description": "How long to wait for the result (`0`, `500ms`, `2s`; at most 30s)"}
    ])
}

fn content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn job_responses(route: &JobRoute) -> Value {
    let failed = json!({"type": "object", "required": ["request_id", "error"], "properties": {
        "request_id": {"type": "string"},
        "error": {"allOf": [schema_ref("JobFailure")], "properties": {
            "details": {"oneOf": route.errors}}}}});
    json!({
        "200": {"description": "The job finished: its reply; with `?target=_all`, every \
                                agent's outcome (`AgentResults`)",
                "content": content(json!({"oneOf": [route.reply, schema_ref("AgentResults")]}))},
        "202": {"description": "The job is pending; poll the `Location`",
                "headers": {"Location": {"schema": {"type": "string"}}},
                "content": content(schema_ref("Pending"))},
        "400": {"description": "Invalid input; nothing was published",
                "content": content(schema_ref("Invalid"))},
        "404": {"description": "The target names no live agent; nothing was published",
                "content": content(schema_ref("Error"))},
        "422": {"description": "The job failed with a typed error of the contract \
                                (`error.code` names it, `error.details` is its payload)",
                "content": content(failed)},
        "500": {"description": "The job failed outside the contract",
                "content": content(schema_ref("Failed"))},
        "502": {"description": "The job was dead-lettered after its delivery attempts",
                "content": content(schema_ref("DeadLettered"))},
        "503": {"description": "NATS is unreachable, or (`_all`) no agent is live",
                "content": content(schema_ref("Error"))}
    })
}

fn query(route: &JobRoute, extra: Value) -> Value {
    let mut params = job_parameters();
    if let (Some(p), Value::Array(extra)) = (params.as_array_mut(), extra) {
        p.extend(extra);
    }
    json!({"get": {"operationId": route.operation, "summary": route.summary,
                   "parameters": params, "responses": job_responses(route)}})
}

fn modify(route: &JobRoute, body: Value) -> Value {
    let operation = json!({"operationId": route.operation, "summary": route.summary,
        "parameters": job_parameters(),
        "requestBody": {"required": true, "content": content(body)},
        "responses": job_responses(route)});
    json!({"put": operation, "post": operation})
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}

/// The gateway's own bodies.
fn gateway_schemas() -> Value {
    json!({
        "Pending": {"type": "object", "required": ["request_id", "status", "location"], "properties": {
            "request_id": {"type": "string"}, "status": {"const": "pending"},
            "location": {"type": "string"}}},
        "Invalid": {"type": "object", "required": ["error", "violations"], "properties": {
            "error": {"type": "string"},
            "violations": {"type": "array", "items": {"type": "object",
                "required": ["path", "message"], "properties": {
                "path": {"type": "string", "description": "JSON pointer of the field"},
                "message": {"type": "string"}}}}}},
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "JobFailure": {"type": "object", "required": ["kind", "code", "message"], "properties": {
            "kind": {"enum": ["handler", "invalid_request", "unknown_operation", "dead_lettered", "internal"]},
            "code": {"type": "string"}, "message": {"type": "string"},
            "retryable": {"type": "boolean"},
            "details": {"description": "The typed error's payload (handler errors)"},
            "violations": {"type": "array", "items": {"type": "object"}}}},
        "Failed": {"type": "object", "required": ["request_id", "error"], "properties": {
            "request_id": {"type": "string"},
            "error": {"oneOf": [schema_ref("JobFailure"), {"type": "string"}]}}},
        "DeadLettered": {"type": "object", "required": ["request_id", "error", "failure"], "properties": {
            "request_id": {"type": "string"},
            "error": {"type": "string", "description": "What happened and how to replay it"},
            "failure": schema_ref("JobFailure")}},
        "JobRecord": {"type": "object", "required": ["request_id", "status"], "properties": {
            "request_id": {"type": "string"}, "operation": {"type": "string"},
            "subject": {"type": "string"},
            "status": {"enum": ["accepted", "running", "succeeded", "failed", "dead_lettered"]},
            "attempt": {"type": "integer"}, "worker_id": {"type": "string"},
            "result": {"description": "The reply, on success"},
            "error": schema_ref("JobFailure"),
            "accepted_at": {"type": "string", "format": "date-time"},
            "started_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": "string", "format": "date-time"}}},
        "Health": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
        "AgentResults": {"type": "object", "required": ["request_id", "agents", "missing"],
            "description": "The outcome of an `_all` job on every live agent; agent `a` ran the copy `<request_id>.<a>`",
            "properties": {
                "request_id": {"type": "string"},
                "agents": {"type": "object", "description": "By host id",
                    "additionalProperties": {"type": "object", "required": ["status"], "properties": {
                        "status": {"enum": ["succeeded", "failed", "dead_lettered", "error"]},
                        "result": {"description": "The reply (status succeeded)"},
                        "error": {"oneOf": [schema_ref("JobFailure"), {"type": "string"}]}}}},
                "missing": {"type": "array", "items": {"type": "string"},
                    "description": "Agents sent a copy that did not answer within the wait"}}},
        "Agent": {"type": "object",
            "required": ["worker_id", "hostname", "pid", "version", "state", "started_at", "heartbeat_at"],
            "properties": {
                "worker_id": {"type": "string", "description": "The host id: the agent's target"},
                "hostname": {"type": "string"}, "pid": {"type": "integer"},
                "version": {"type": "string", "description": "The contract version it serves"},
                "state": {"enum": ["active", "draining"]},
                "started_at": {"type": "string", "format": "date-time"},
                "heartbeat_at": {"type": "string", "format": "date-time"},
                "partitions": {"type": "array", "items": {"type": "string"}}}},
        "Agents": {"type": "array", "items": schema_ref("Agent")}
    })
}

/// The document.
pub fn document() -> Value {
    let mut s = Schemas::new();
    let io = s.of::<types::IoFailureError>();
    let denied = s.of::<types::PermissionDeniedError>();
    let unsupported = s.of::<types::NotSupportedError>();
    let bad_address = s.of::<types::InvalidAddressError>();
    let bad_name = s.of::<types::InvalidHostnameError>();
    let system = JobRoute {
        operation: "getSystemStatus",
        summary: "System status",
        reply: s.of::<types::SystemStatus>(),
        errors: vec![unsupported.clone(), io.clone()],
    };
    let disk = JobRoute {
        operation: "getDisk",
        summary: "Disk usage",
        reply: s.of::<types::DiskUsage>(),
        errors: vec![
            s.of::<types::MountNotFoundError>(),
            denied.clone(),
            unsupported.clone(),
            io.clone(),
        ],
    };
    let get_dns = JobRoute {
        operation: "getDns",
        summary: "DNS configuration",
        reply: s.of::<types::DnsConfig>(),
        errors: vec![denied.clone(), io.clone()],
    };
    let get_hostname = JobRoute {
        operation: "getHostname",
        summary: "Host name",
        reply: s.of::<types::HostnameInfo>(),
        errors: vec![denied.clone(), io.clone()],
    };
    let ping = JobRoute {
        operation: "ping",
        summary: "Ping a host",
        reply: s.of::<types::PingResult>(),
        errors: vec![
            bad_address.clone(),
            s.of::<types::UnknownHostError>(),
            s.of::<types::PingFailedError>(),
            denied.clone(),
        ],
    };
    let set_dns = JobRoute {
        operation: "setDns",
        summary: "Replace name servers and search domains",
        reply: s.of::<types::DnsConfig>(),
        errors: vec![
            bad_address,
            bad_name.clone(),
            denied.clone(),
            unsupported,
            io.clone(),
        ],
    };
    let set_hostname = JobRoute {
        operation: "setHostname",
        summary: "Set the host name",
        reply: s.of::<types::HostnameChange>(),
        errors: vec![bad_name, denied, io],
    };
    let dns_body = s.body::<types::DnsUpdate>();
    let hostname_body = s.body::<types::HostnameUpdate>();

    let mut dns = query(&get_dns, json!([]));
    merge(&mut dns, modify(&set_dns, dns_body));
    let mut hostname = query(&get_hostname, json!([]));
    merge(&mut hostname, modify(&set_hostname, hostname_body));
    let id_param =
        json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
    let not_found =
        json!({"description": "Unknown request id", "content": content(schema_ref("Error"))});

    let mut schemas = s.into_definitions();
    if let Value::Object(own) = gateway_schemas() {
        schemas.extend(own);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "OSAPI HTTP gateway", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Each job route publishes one job of asyncapi.yaml and answers with its reply (200) or where to find it (202)."},
        "paths": {
            "/api/v1/system": query(&system, json!([])),
            "/api/v1/disk": query(&disk, json!([
                {"name": "mount", "in": "query", "schema": {"type": "string"},
                 "description": "Only the file system mounted here"}])),
            "/api/v1/dns": dns,
            "/api/v1/hostname": hostname,
            "/api/v1/ping": query(&ping, json!([
                {"name": "address", "in": "query", "required": true, "schema": {"type": "string"}},
                {"name": "count", "in": "query", "schema": {"type": "integer"}},
                {"name": "timeout_seconds", "in": "query", "schema": {"type": "integer"}},
                {"name": "method", "in": "query", "schema": {"enum": ["auto", "icmp", "tcp"]}},
                {"name": "tcp_port", "in": "query", "schema": {"type": "integer"}}])),
            "/api/v1/jobs/{id}": {"get": {"operationId": "getJob", "summary": "The stored record of a job",
                "parameters": id_param,
                "responses": {"200": {"description": "The record", "content": content(schema_ref("JobRecord"))},
                              "404": not_found}}},
            "/api/v1/jobs/{id}/events": {"get": {"operationId": "jobEvents",
                "summary": "Server-sent `status` events with the record, until it is terminal",
                "parameters": id_param,
                "responses": {"200": {"description": "Each event's data is the record",
                                      "content": {"text/event-stream": {"schema": schema_ref("JobRecord")}}},
                              "404": not_found}}},
            "/api/v1/agents": {"get": {"operationId": "listAgents",
                "summary": "The live agents of the registry (`state` tells a draining one)",
                "responses": {"200": {"description": "The agents, by host id", "content": content(schema_ref("Agents"))},
                              "503": {"description": "NATS is unreachable", "content": content(schema_ref("Error"))}}}},
            "/healthz": {"get": {"operationId": "healthz", "summary": "The process is up",
                "responses": {"200": {"description": "Up", "content": content(schema_ref("Health"))}}}},
            "/readyz": {"get": {"operationId": "readyz", "summary": "NATS connected and the service provisioned",
                "responses": {"200": {"description": "Ready", "content": content(schema_ref("Health"))},
                              "503": {"description": "Not ready", "content": content(schema_ref("Error"))}}}}
        },
        "components": {"schemas": schemas}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` anywhere in `value`.
    fn references<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => references(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| references(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_200_response_references_an_existing_schema() {
        let doc = document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let ok = &operation["responses"]["200"];
                let (_, media) = ok["content"]
                    .as_object()
                    .and_then(|c| c.iter().next())
                    .unwrap_or_else(|| panic!("{method} {path}: no 200 content"));
                // A job route answers its reply, or with `_all` every agent's outcome.
                let choices = match media["schema"]["oneOf"].as_array() {
                    Some(choices) => choices.clone(),
                    None => vec![media["schema"].clone()],
                };
                for choice in choices {
                    let reference = choice["$ref"].as_str().unwrap_or_else(|| {
                        panic!("{method} {path}: the 200 schema is no $ref: {choice}")
                    });
                    let name = reference.strip_prefix(SCHEMAS).unwrap();
                    assert!(
                        schemas.contains_key(name),
                        "{method} {path}: {reference} is not in components/schemas"
                    );
                }
                checked += 1;
            }
        }
        assert!(checked >= 13, "only {checked} operations checked");
        assert_eq!(
            doc["paths"]["/api/v1/dns"]["get"]["responses"]["200"]["content"]["application/json"]
                ["schema"]["oneOf"],
            json!([{"$ref": "#/components/schemas/DnsConfig"},
                   {"$ref": "#/components/schemas/AgentResults"}])
        );
    }

    #[test]
    fn every_reference_resolves_and_errors_come_from_the_contract() {
        let doc = document();
        let mut refs = Vec::new();
        references(&doc, &mut refs);
        assert!(refs.len() > 50, "{}", refs.len());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("local reference");
            assert!(doc.pointer(pointer).is_some(), "dangling {r}");
        }
        let schemas = &doc["components"]["schemas"];
        // The typed errors are the generated ones: the contract's error message payload.
        let denied = &schemas["PermissionDeniedError"];
        assert_eq!(
            denied["required"],
            json!(["request_id", "code", "message", "details"]),
            "{denied}"
        );
        assert_eq!(
            denied["properties"]["details"]["$ref"],
            "#/components/schemas/PermissionDeniedDetails"
        );
        let details = &doc["paths"]["/api/v1/disk"]["get"]["responses"]["422"]["content"]
            ["application/json"]["schema"]["properties"]["error"]["properties"]["details"]["oneOf"];
        assert!(
            details
                .as_array()
                .unwrap()
                .contains(&json!({"$ref": "#/components/schemas/MountNotFoundError"})),
            "{details}"
        );
        // The request body leaves the request id to the gateway.
        let body = &schemas["DnsUpdateBody"];
        let required: Vec<&str> = body["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(required, ["nameservers"], "{body}");
    }
}
