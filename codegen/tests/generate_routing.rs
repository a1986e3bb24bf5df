//! Generated code for routing: partitioned jobs leave `{partition}` to the runtime, and
//! targeted jobs get broadcast (`_all`) methods when their target admits `_all`.

use std::path::{Path, PathBuf};

use jetwire_codegen::ir::Severity;
use jetwire_codegen::{Generated, Generator};

fn generate(path: &Path) -> Generated {
    Generator::new(path)
        .crate_name("routing-test")
        .runtime_path("../runtime")
        .generate()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn file<'a>(generated: &'a Generated, path: &str) -> &'a str {
    generated
        .files
        .get(Path::new(path))
        .unwrap_or_else(|| panic!("no {path}"))
}

/// Whitespace-free, so formatting does not matter.
fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

#[test]
fn a_partitioned_job_takes_no_partition_argument() {
    let generated = generate(&repo("examples/coordinate/asyncapi.yaml"));
    let client = squash(file(&generated, "src/client.rs"));
    assert!(
        client.contains("pubasyncfnmove_point(&self,payload:&super::types::MovePoint,)"),
        "move_point takes only the payload"
    );
    assert!(
        client.contains(
            "RequestBuilder::new(&super::service::OPERATION_MOVE_POINT,options,).keyed().payload(payload).build()"
        ) || client.contains(
            "RequestBuilder::new(&super::service::OPERATION_MOVE_POINT,options).keyed().payload(payload).build()"
        ),
        "the partition token is left for the runtime"
    );
    let service = squash(file(&generated, "src/service.rs"));
    assert!(service.contains("parameters:&[\"partition\"]"));
    assert!(service.contains(
        "partitioning:::std::option::Option::Some(::jetwire::spec::PartitionSpec{key:::jetwire::spec::RoutingKey::Payload(\"/system_id\"),count:8,parameter:\"partition\",})"
    ));
    assert!(service.contains("partitions:::std::option::Option::Some(8)"));
    assert!(service.contains("bucket:\"COORD_LEASES\""));
    let operations = squash(file(&generated, "src/operations.rs"));
    assert!(
        operations.contains("pubstructMovePointParams{}"),
        "no partition field"
    );
}

#[test]
fn targeted_jobs_get_broadcast_methods() {
    let generated = generate(&repo("asyncapi.yaml"));
    let client = squash(file(&generated, "src/client.rs"));
    for method in [
        "get_dns_all",
        "get_dns_all_with",
        "set_hostname_all",
        "ping_all_with",
    ] {
        assert!(client.contains(&format!("pubasyncfn{method}(")), "{method}");
    }
    assert!(client.contains("self.get_dns_request(\"_all\","));
    // The JSON form dispatches every broadcastable operation to its typed `_all` method.
    assert!(client.contains("pubasyncfnbroadcast_json("));
    assert!(client.contains(
        "\"getDns\"=>{let_=super::operations::GetDnsParams::from_subject_values(&::jetwire::typed::broadcast_params(params,\"target\")?,)"
    ));
    assert!(client.contains("::jetwire::typed::untyped_broadcast(self.ping_all_with("));
    assert!(client.contains("::jetwire::typed::broadcast(&self.inner,request,timeout)"));
    assert!(client.contains(
        "Result<::jetwire::typed::Broadcast<super::types::DnsConfig,super::operations::GetDnsError>"
    ) || client.contains("::jetwire::typed::Broadcast<"));
    let service = squash(file(&generated, "src/service.rs"));
    assert!(service.contains(
        "targets:::std::option::Option::Some(::jetwire::spec::TargetsSpec{parameter:\"target\",})"
    ));
    assert!(service.contains("bucket:\"OSAPI_AGENTS\""));
}

#[test]
fn a_target_that_refuses_all_gets_no_broadcast() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(
        &path,
        "asyncapi: 3.1.0
info: {title: T, version: '1'}
x-jetwire:
  targets: {parameter: target}
channels:
  dns:
    address: 'jobs.query.dns.{target}'
    parameters:
      target: {enum: [_any, web-01]}
    messages:
      Req: {payload: {type: object}}
operations:
  getDns:
    action: receive
    channel: {$ref: '#/channels/dns'}
",
    )
    .unwrap();
    let generated = generate(&path);
    let client = squash(file(&generated, "src/client.rs"));
    assert!(client.contains("pubasyncfnget_dns("));
    assert!(!client.contains("get_dns_all"));
    assert!(
        !client.contains("broadcast_json"),
        "nothing to broadcast, no broadcast_json"
    );
    assert!(generated
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Warning && d.message.contains("does not admit `_all`")));
}

#[test]
fn broadcast_json_names_the_operations_that_cannot_be_broadcast() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(
        &path,
        "asyncapi: 3.1.0
info: {title: T, version: '1'}
x-jetwire:
  targets: {parameter: target}
channels:
  dns:
    address: 'jobs.query.dns.{target}'
    parameters:
      target: {x-pattern: '^(_any|_all|[a-z0-9-]+)$'}
    messages:
      Req: {payload: {type: object}}
  time:
    address: 'jobs.query.time'
    messages:
      Req: {payload: {type: object}}
operations:
  getDns:
    action: receive
    channel: {$ref: '#/channels/dns'}
  getTime:
    action: receive
    channel: {$ref: '#/channels/time'}
",
    )
    .unwrap();
    let generated = generate(&path);
    let client = squash(file(&generated, "src/client.rs"));
    let start = client
        .find("pubasyncfnbroadcast_json(")
        .expect("getDns can be broadcast");
    let broadcast = &client[start..];
    assert!(broadcast.contains("\"getDns\"=>{"));
    assert!(
        broadcast.contains("\"getTime\"=>{::std::result::Result::Err(")
            && broadcast.contains("cannotbebroadcast"),
        "getTime has no target: its arm says it cannot be broadcast"
    );
    assert!(broadcast.contains("nojoboperation'{}'inthisservice"));
}
