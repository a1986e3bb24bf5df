//! Every class of bad input is an error that names the file, the JSON pointer and the
//! line of the problem.

use std::path::{Path, PathBuf};

use jetwire_codegen::load::{load_spec, load_spec_from_str};
use jetwire_codegen::Error;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/load")
}

/// A valid 3.1 document; tests break one thing in it.
const BASE: &str = "asyncapi: 3.1.0
info:
  title: Jobs
  version: 1.0.0
channels:
  queryDns:
    address: 'jobs.query.dns.{target}'
    parameters:
      target:
        description: Which agents.
    messages:
      GetDnsRequest:
        $ref: '#/components/messages/GetDnsRequest'
  modifyDns:
    address: 'jobs.modify.dns.{target}'
    parameters:
      target:
        description: Which agents.
    messages:
      SetDnsRequest:
        $ref: '#/components/messages/SetDnsRequest'
operations:
  getDns:
    action: receive
    channel:
      $ref: '#/channels/queryDns'
    messages:
      - $ref: '#/channels/queryDns/messages/GetDnsRequest'
  setDns:
    action: receive
    channel:
      $ref: '#/channels/modifyDns'
components:
  messages:
    GetDnsRequest:
      payload:
        type: object
    SetDnsRequest:
      payload:
        type: object
";

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in the document")) as u32
        + 1
}

fn load_text(text: &str) -> Error {
    match load_spec_from_str(&fixtures().join("inline.yaml"), text) {
        Ok(_) => panic!("the document loaded:\n{text}"),
        Err(e) => e,
    }
}

/// The error names `file`, `pointer` and `line`, and says `why`.
#[track_caller]
fn assert_names(err: &Error, file: &str, pointer: &str, line: u32, why: &str) {
    let text = err.to_string();
    eprintln!("{text}");
    let location = err
        .location()
        .unwrap_or_else(|| panic!("no location: {text}"));
    assert!(
        location.file.ends_with(file),
        "file {}: {text}",
        location.file.display()
    );
    assert_eq!(location.pointer, pointer, "{text}");
    assert_eq!(location.line, Some(line), "{text}");
    assert!(text.contains(&format!("{file}:{line}:")), "{text}");
    assert!(text.contains(&format!("(at #{pointer})")), "{text}");
    assert!(text.contains(why), "`{why}` not in: {text}");
}

#[test]
fn base_document_loads() {
    let spec = load_spec_from_str(&fixtures().join("inline.yaml"), BASE).unwrap();
    assert_eq!(spec.operations.len(), 2);
}

#[test]
fn missing_ref_target() {
    let text = BASE.replace(
        "$ref: '#/components/messages/GetDnsRequest'",
        "$ref: '#/components/messages/Nope'",
    );
    let err = load_text(&text);
    assert!(matches!(err, Error::Ref { .. }), "{err}");
    assert_names(
        &err,
        "inline.yaml",
        "/channels/queryDns/messages/GetDnsRequest/$ref",
        line_of(&text, "messages/Nope"),
        "no `#/components/messages/Nope`",
    );
}

#[test]
fn missing_external_file() {
    let text = BASE.replace(
        "$ref: '#/components/messages/SetDnsRequest'",
        "$ref: './nowhere/messages.yaml#/SetDnsRequest'",
    );
    let err = load_text(&text);
    assert!(matches!(err, Error::Ref { .. }), "{err}");
    assert_names(
        &err,
        "inline.yaml",
        "/channels/modifyDns/messages/SetDnsRequest/$ref",
        line_of(&text, "nowhere"),
        "cannot read",
    );
    assert!(err.to_string().contains("nowhere/messages.yaml"), "{err}");
}

#[test]
fn errors_inside_external_files_name_that_file() {
    let err = match load_spec(&fixtures().join("errors/uses-broken-file.yaml")) {
        Ok(_) => panic!("loaded"),
        Err(e) => e,
    };
    let broken = std::fs::read_to_string(fixtures().join("errors/broken-messages.yaml")).unwrap();
    assert_names(
        &err,
        "broken-messages.yaml",
        "/Job/payload/properties/id/$ref",
        line_of(&broken, "NoSuchSchema"),
        "no `#/NoSuchSchema`",
    );
}

#[test]
fn reference_cycle_between_messages() {
    let text = BASE
        .replace(
            "    GetDnsRequest:\n      payload:\n        type: object\n",
            "    GetDnsRequest:\n      $ref: '#/components/messages/Alias'\n    Alias:\n      $ref: '#/components/messages/GetDnsRequest'\n",
        );
    let err = load_text(&text);
    assert!(matches!(err, Error::Ref { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("reference cycle"), "{message}");
    assert!(
        message.contains("#/components/messages/Alias → ")
            && message.contains("#/components/messages/GetDnsRequest"),
        "the cycle is named: {message}"
    );
    assert_eq!(err.location().unwrap().file, fixtures().join("inline.yaml"));
    assert!(err.location().unwrap().line.is_some());
}

#[test]
fn bad_yaml_syntax() {
    let text = BASE.replace(
        "    action: receive\n    channel:\n      $ref: '#/channels/modifyDns'",
        "    action: [receive\n    channel: x",
    );
    let err = load_text(&text);
    assert!(matches!(err, Error::Syntax { .. }), "{err}");
    let location = err.location().unwrap();
    assert!(location.file.ends_with("inline.yaml"));
    let line = location.line.expect("a line");
    assert!(line >= line_of(&text, "[receive"), "{err}");
    assert!(location.column.is_some());
    assert!(err.to_string().contains("inline.yaml:"), "{err}");
}

#[test]
fn duplicate_keys_are_syntax_errors() {
    let text = BASE.replace("  title: Jobs\n", "  title: Jobs\n  title: Again\n");
    let err = load_text(&text);
    assert!(matches!(err, Error::Syntax { .. }), "{err}");
    assert_names(
        &err,
        "inline.yaml",
        "/info",
        line_of(&text, "Again"),
        "duplicate key `title`",
    );
}

#[test]
fn wrong_or_missing_version() {
    for version in ["4.0.0", "3.2.0", "2.7.0", "1.2.0", "3.1", "latest"] {
        let text = BASE.replace("asyncapi: 3.1.0", &format!("asyncapi: '{version}'"));
        let err = load_text(&text);
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
        assert_names(
            &err,
            "inline.yaml",
            "/asyncapi",
            1,
            &format!("unsupported AsyncAPI version `{version}`"),
        );
    }
    let text = BASE.replace("asyncapi: 3.1.0\n", "");
    let err = load_text(&text);
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("(at #/asyncapi)"), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
    let err = load_text("- just\n- a list\n");
    assert!(err.to_string().contains("(at #/asyncapi)"), "{err}");
}

#[test]
fn duplicate_operation_ids_in_2_6() {
    let text = "asyncapi: 2.6.0
info: {title: T, version: '1'}
channels:
  jobs.query.a:
    publish:
      operationId: getThing
      message: {payload: {type: string}}
  jobs.query.b:
    publish:
      operationId: getThing
      message: {payload: {type: string}}
";
    let err = load_text(text);
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    // The second `publish:` is where the duplicate is declared.
    let second = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("operationId"))
        .nth(1)
        .map(|(i, _)| i as u32 + 1)
        .unwrap();
    assert_names(
        &err,
        "inline.yaml",
        "/channels/jobs.query.b/publish",
        second,
        "duplicate operation id `getThing`",
    );
    // ... and the first place it is used.
    assert!(
        err.to_string()
            .contains("(at #/channels/jobs.query.a/publish)"),
        "{err}"
    );
}

#[test]
fn operation_with_a_missing_channel() {
    let text = BASE.replace(
        "$ref: '#/channels/modifyDns'",
        "$ref: '#/channels/modifyDnz'",
    );
    let err = load_text(&text);
    assert!(matches!(err, Error::Ref { .. }), "{err}");
    assert_names(
        &err,
        "inline.yaml",
        "/operations/setDns/channel/$ref",
        line_of(&text, "modifyDnz"),
        "no `#/channels/modifyDnz`",
    );
}

#[test]
fn unknown_x_jetwire_keys() {
    let text = BASE.replace(
        "channels:\n",
        "x-jetwire:\n  stream:\n    nmae: JOBS\nchannels:\n",
    );
    let err = load_text(&text);
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert_names(
        &err,
        "inline.yaml",
        "/x-jetwire/stream/nmae",
        line_of(&text, "nmae"),
        "unknown key `nmae` in x-jetwire.stream",
    );

    let text = BASE.replace(
        "    action: receive\n    channel:\n      $ref: '#/channels/modifyDns'",
        "    action: receive\n    channel:\n      $ref: '#/channels/modifyDns'\n    x-jetwire:\n      retriable: true",
    );
    let err = load_text(&text);
    assert_names(
        &err,
        "inline.yaml",
        "/operations/setDns/x-jetwire/retriable",
        line_of(&text, "retriable"),
        "unknown key `retriable`",
    );
}

#[test]
fn bad_duration() {
    for (value, why) in [
        ("30 seconds", "`30 seconds`"),
        ("0s", "greater than zero"),
        ("-5", "milliseconds"),
    ] {
        let text = BASE.replace(
            "channels:\n",
            &format!("x-jetwire:\n  defaults:\n    timeout: {value}\nchannels:\n"),
        );
        let err = load_text(&text);
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
        assert_names(
            &err,
            "inline.yaml",
            "/x-jetwire/defaults/timeout",
            line_of(&text, "timeout:"),
            why,
        );
    }
}

#[test]
fn message_not_of_its_channel() {
    let text = BASE.replace(
        "      - $ref: '#/channels/queryDns/messages/GetDnsRequest'",
        "      - $ref: '#/components/messages/SetDnsRequest'",
    );
    let err = load_text(&text);
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert_names(
        &err,
        "inline.yaml",
        "/operations/getDns/messages/0",
        line_of(&text, "- $ref: '#/components/messages/SetDnsRequest'"),
        "is not one of the messages of channel `queryDns`",
    );
}

#[test]
fn remote_refs_are_refused_without_fetching() {
    let text = BASE.replace(
        "$ref: '#/components/messages/SetDnsRequest'",
        "$ref: 'https://example.com/messages.yaml#/SetDnsRequest'",
    );
    let err = load_text(&text);
    assert!(matches!(err, Error::Ref { .. }), "{err}");
    assert_names(
        &err,
        "inline.yaml",
        "/channels/modifyDns/messages/SetDnsRequest/$ref",
        line_of(&text, "https://"),
        "remote references are not supported",
    );
}

#[test]
fn wrong_types_are_named() {
    let text = BASE.replace(
        "    action: receive\n    channel:\n      $ref: '#/channels/modifyDns'",
        "    action: listen\n    channel:\n      $ref: '#/channels/modifyDns'",
    );
    let err = load_text(&text);
    assert_names(
        &err,
        "inline.yaml",
        "/operations/setDns/action",
        line_of(&text, "listen"),
        "must be `send` or `receive`",
    );

    let text = BASE.replace("  title: Jobs\n", "  title: [Jobs]\n");
    let err = load_text(&text);
    assert_names(
        &err,
        "inline.yaml",
        "/info/title",
        line_of(&text, "[Jobs]"),
        "must be a string",
    );
}

#[test]
fn routing_keys_must_name_a_payload_field_or_a_parameter() {
    let with = |extension: &str| {
        BASE.replace(
            "    action: receive\n    channel:\n      $ref: '#/channels/modifyDns'",
            &format!("    action: receive\n    channel:\n      $ref: '#/channels/modifyDns'\n    x-jetwire:\n{extension}"),
        )
    };
    let text = with("      routing-key: host\n      partitions: 4");
    let err = load_text(&text);
    assert_names(
        &err,
        "inline.yaml",
        "/operations/setDns/x-jetwire/routing-key",
        line_of(&text, "routing-key"),
        "must be a payload field",
    );
    let text = with("      partitions: 4");
    let err = load_text(&text);
    assert_names(
        &err,
        "inline.yaml",
        "/operations/setDns/x-jetwire/partitions",
        line_of(&text, "partitions"),
        "needs a `routing-key`",
    );
    // Partitioned with a known key, but the address has no `{partition}` token.
    let text = with("      routing-key: '{target}'\n      partitions: 4");
    let err = load_text(&text);
    assert_names(
        &err,
        "inline.yaml",
        "/operations/setDns/x-jetwire/partitions",
        line_of(&text, "partitions"),
        "must hold a `{partition}` parameter token",
    );
}

#[test]
fn explicit_consumers_are_checked() {
    let text = BASE.replace(
        "channels:\n",
        "x-jetwire:\n  consumers:\n    - {durable: jobs.query, class: query, filter-subject: 'jobs.query.>'}\nchannels:\n",
    );
    let err = load_text(&text);
    assert_names(
        &err,
        "inline.yaml",
        "/x-jetwire/consumers/0/durable",
        line_of(&text, "durable"),
        "not a valid NATS name",
    );
    let text = BASE.replace(
        "channels:\n",
        "x-jetwire:\n  consumers:\n    - {durable: q, class: query, filter-subject: 'jobs.>.x'}\nchannels:\n",
    );
    let err = load_text(&text);
    assert_names(
        &err,
        "inline.yaml",
        "/x-jetwire/consumers/0/filter-subject",
        line_of(&text, "durable"),
        "`>` may only be the last token",
    );
    let text = BASE.replace(
        "channels:\n",
        "x-jetwire:\n  defaults:\n    max-deliver: 2\n    backoff: [1s, 2s]\nchannels:\n",
    );
    let err = load_text(&text);
    assert_names(
        &err,
        "inline.yaml",
        "/x-jetwire/defaults/backoff",
        line_of(&text, "backoff"),
        "more deliveries than backoff steps",
    );
}

#[test]
fn syntax_errors_in_referenced_files_name_that_file() {
    let text = BASE.replace(
        "$ref: '#/components/messages/SetDnsRequest'",
        "$ref: './errors/bad-syntax.yaml#/Job'",
    );
    let err = load_text(&text);
    assert!(matches!(err, Error::Syntax { .. }), "{err}");
    let location = err.location().unwrap();
    assert!(location.file.ends_with("errors/bad-syntax.yaml"), "{err}");
    assert!(location.line.is_some_and(|l| l >= 4), "{err}");
}

#[test]
fn references_to_non_files_are_refused() {
    for target in ["./errors", "/dev/zero"] {
        let text = BASE.replace(
            "$ref: '#/components/messages/SetDnsRequest'",
            &format!("$ref: '{target}#/Job'"),
        );
        let err = load_text(&text);
        assert!(matches!(err, Error::Ref { .. }), "{err}");
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
