//! The OpenAPI 3.1 description of the HTTP gateway, served at `GET /api/v1/openapi.json`.

use serde_json::{json, Value};

fn job_parameters() -> Value {
    json!([
        {"name": "target", "in": "query", "schema": {"type": "string", "default": "_any"},
         "description": "`_any`, `_all` or the host id of one agent"},
        {"name": "wait", "in": "query", "schema": {"type": "string", "default": "5s"},
         "description": "How long to wait for the result (`0`, `500ms`, `2s`; at most 30s)"}
    ])
}

fn job_responses(reply: &str) -> Value {
    json!({
        "200": {"description": "The job finished: its reply",
                "content": {"application/json": {"schema": {"description": reply}}}},
        "202": {"description": "The job is pending; poll the `Location`",
                "headers": {"Location": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pending"}}}},
        "400": {"description": "Invalid input; nothing was published",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Invalid"}}}},
        "422": {"description": "The job failed with a typed error of the contract"},
        "500": {"description": "The job failed outside the contract"},
        "502": {"description": "The job was dead-lettered"},
        "503": {"description": "NATS is unreachable"}
    })
}

fn query(op: &str, summary: &str, reply: &str, extra: Value) -> Value {
    let mut params = job_parameters();
    if let (Some(p), Value::Array(extra)) = (params.as_array_mut(), extra) {
        p.extend(extra);
    }
    json!({"get": {"operationId": op, "summary": summary, "parameters": params,
                   "responses": job_responses(reply)}})
}

fn modify(op: &str, summary: &str, body: Value, reply: &str) -> Value {
    let operation = json!({"operationId": op, "summary": summary, "parameters": job_parameters(),
        "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
        "responses": job_responses(reply)});
    json!({"put": operation, "post": operation})
}

/// The document.
pub fn document() -> Value {
    let mut dns = query("getDns", "DNS configuration", "DnsConfig", json!([]));
    let mut hostname = query("getHostname", "Host name", "HostnameInfo", json!([]));
    let set_dns = modify(
        "setDns",
        "Replace name servers and search domains",
        json!({"type": "object", "required": ["nameservers"], "properties": {
            "nameservers": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
            "search_domains": {"type": "array", "items": {"type": "string"}, "maxItems": 6}}}),
        "DnsConfig",
    );
    let set_hostname = modify(
        "setHostname",
        "Set the host name",
        json!({"type": "object", "required": ["hostname"],
               "properties": {"hostname": {"type": "string"}}}),
        "HostnameChange",
    );
    for (target, extra) in [(&mut dns, set_dns), (&mut hostname, set_hostname)] {
        if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
            t.extend(e);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "OSAPI HTTP gateway", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Each job route publishes one job of asyncapi.yaml and answers with its reply (200) or where to find it (202)."},
        "paths": {
            "/api/v1/system": query("getSystemStatus", "System status", "SystemStatus", json!([])),
            "/api/v1/disk": query("getDisk", "Disk usage", "DiskUsage", json!([
                {"name": "mount", "in": "query", "schema": {"type": "string"},
                 "description": "Only the file system mounted here"}])),
            "/api/v1/dns": dns,
            "/api/v1/hostname": hostname,
            "/api/v1/ping": query("ping", "Ping a host", "PingResult", json!([
                {"name": "address", "in": "query", "required": true, "schema": {"type": "string"}},
                {"name": "count", "in": "query", "schema": {"type": "integer"}},
                {"name": "timeout_seconds", "in": "query", "schema": {"type": "integer"}}])),
            "/api/v1/jobs/{id}": {"get": {"operationId": "getJob", "summary": "The stored record of a job",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "The record"}, "404": {"description": "Unknown request id"}}}},
            "/api/v1/jobs/{id}/events": {"get": {"operationId": "jobEvents",
                "summary": "Server-sent `status` events with the record, until it is terminal",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "text/event-stream"}, "404": {"description": "Unknown request id"}}}},
            "/healthz": {"get": {"operationId": "healthz", "summary": "The process is up",
                "responses": {"200": {"description": "Up"}}}},
            "/readyz": {"get": {"operationId": "readyz", "summary": "NATS connected and the service provisioned",
                "responses": {"200": {"description": "Ready"}, "503": {"description": "Not ready"}}}}
        },
        "components": {"schemas": {
            "Pending": {"type": "object", "properties": {
                "request_id": {"type": "string"}, "status": {"type": "string"}, "location": {"type": "string"}}},
            "Invalid": {"type": "object", "properties": {
                "error": {"type": "string"},
                "violations": {"type": "array", "items": {"type": "object", "properties": {
                    "path": {"type": "string", "description": "JSON pointer of the field"},
                    "message": {"type": "string"}}}}}}
        }}
    })
}
