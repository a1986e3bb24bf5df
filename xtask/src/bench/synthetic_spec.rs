//! A synthetic AsyncAPI 3.1 document of a given size, for the codegen benchmark: one
//! channel, request message and reply channel per operation (queries and modifications
//! alternating), and schemas that are objects with mixed properties — strings with
//! constraints, integers, numbers, booleans, enums, arrays — referring to other schemas.
//! References only point to schemas of lower index (chains about log2(n) deep), so the
//! document has no cycles.

use std::fmt::Write;

/// `operations` operations and `schemas` schemas (at least two per operation: its
/// request and reply payloads; the rest are only referenced by other schemas).
pub fn document(operations: usize, schemas: usize) -> String {
    let operations = operations.max(1);
    let schemas = schemas.max(2 * operations);
    let mut y = String::with_capacity(operations * 1_200 + schemas * 900);
    y.push_str(
        "asyncapi: 3.1.0\n\
         info:\n  title: Bench Jobs\n  version: 1.0.0\n  \
         description: A synthetic document for the codegen benchmark.\n\
         defaultContentType: application/json\n\
         servers:\n  local:\n    host: 'localhost:4222'\n    protocol: nats\n\
         x-jetwire:\n  stream:\n    name: BENCH_JOBS\n  responses:\n    bucket: BENCH_RESPONSES\n  \
         dead-letter:\n    stream: BENCH_DLQ\n\
         channels:\n",
    );
    for i in 0..operations {
        let class = class(i);
        let _ = write!(
            y,
            "  ch{i}:\n    address: 'jobs.{class}.d{i}.{{target}}'\n    parameters:\n      \
             target:\n        $ref: '#/components/parameters/target'\n    messages:\n      \
             Req{i}:\n        $ref: '#/components/messages/Req{i}'\n  \
             ch{i}Reply:\n    address: null\n    messages:\n      \
             Rep{i}:\n        $ref: '#/components/messages/Rep{i}'\n"
        );
    }
    y.push_str("operations:\n");
    for i in 0..operations {
        let _ = write!(
            y,
            "  op{i}:\n    action: receive\n    summary: Synthetic operation {i}.\n    \
             channel:\n      $ref: '#/channels/ch{i}'\n    messages:\n      \
             - $ref: '#/channels/ch{i}/messages/Req{i}'\n    reply:\n      channel:\n        \
             $ref: '#/channels/ch{i}Reply'\n      messages:\n        \
             - $ref: '#/channels/ch{i}Reply/messages/Rep{i}'\n"
        );
    }
    y.push_str(
        "components:\n  parameters:\n    target:\n      description: Which agents run the job.\n      \
         x-pattern: '^(_any|_all|[A-Za-z0-9][A-Za-z0-9_-]{0,62})$'\n  messages:\n",
    );
    for i in 0..operations {
        let _ = write!(
            y,
            "    Req{i}:\n      name: Req{i}\n      correlationId:\n        \
             location: '$message.payload#/request_id'\n      payload:\n        \
             $ref: '#/components/schemas/S{req}'\n    \
             Rep{i}:\n      name: Rep{i}\n      payload:\n        \
             $ref: '#/components/schemas/S{rep}'\n",
            req = 2 * i,
            rep = 2 * i + 1,
        );
    }
    y.push_str("  schemas:\n");
    for j in 0..schemas {
        schema(&mut y, j, j < 2 * operations && j % 2 == 0);
    }
    y
}

fn class(i: usize) -> &'static str {
    if i % 2 == 0 {
        "query"
    } else {
        "modify"
    }
}

/// Schema `S{j}`; request payloads also carry the request id.
fn schema(y: &mut String, j: usize, request: bool) {
    let _ = write!(
        y,
        "    S{j}:\n      type: object\n      description: Synthetic schema {j}.\n      \
         additionalProperties: false\n      required: [name, mode{request_required}]\n      properties:\n"
    , request_required = if request { ", request_id" } else { "" });
    if request {
        y.push_str("        request_id:\n          type: string\n          format: uuid\n");
    }
    let _ = write!(
        y,
        "        name:\n          type: string\n          minLength: 1\n          maxLength: 64\n          \
         pattern: '^[a-z][a-z0-9_-]*$'\n        \
         count:\n          type: integer\n          format: int64\n          minimum: 0\n          maximum: {max}\n        \
         ratio:\n          type: number\n          exclusiveMinimum: 0\n          maximum: 1\n        \
         enabled:\n          type: boolean\n          default: true\n        \
         mode:\n          type: string\n          enum: [fast, safe, mode{j}]\n        \
         tags:\n          type: array\n          maxItems: 16\n          uniqueItems: true\n          \
         items:\n            type: string\n            maxLength: 32\n",
        max = 1000 + j,
    );
    // One reference per schema (a property or an array of them): real documents refer to
    // shared types, they do not fan out into a tree at every level.
    if j >= 1 && j % 2 == 1 {
        let _ = write!(
            y,
            "        parent:\n          $ref: '#/components/schemas/S{}'\n",
            j / 2
        );
    } else if j >= 1 {
        let _ = write!(
            y,
            "        children:\n          type: array\n          maxItems: 8\n          \
             items:\n            $ref: '#/components/schemas/S{}'\n",
            j / 2
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_yaml_with_the_asked_for_counts() {
        let doc: serde_yaml::Value = serde_yaml::from_str(&super::document(3, 10)).unwrap();
        assert_eq!(doc["operations"].as_mapping().unwrap().len(), 3);
        assert_eq!(doc["components"]["schemas"].as_mapping().unwrap().len(), 10);
        assert_eq!(doc["channels"].as_mapping().unwrap().len(), 6);
    }
}
