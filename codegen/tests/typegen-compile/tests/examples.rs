//! Every example instance in the typegen fixtures decodes into its generated type,
//! passes `validate()`, re-encodes to the same JSON, and is accepted by the JSON Schema
//! that `schemars` derives for the type.

use std::collections::BTreeSet;
use std::path::Path;

use jetwire::Validate;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use typegen_compile::*;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/typegen")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// JSON equality where numbers compare by value (`1` and `1.0` are the same number).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.fract() != 0.0 || y.fract() != 0.0 => x == y,
            _ => x.as_i128() == y.as_i128() || x.as_f64() == y.as_f64() && x.as_i128().is_none(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn check<T>(fixture_name: &str, key: &str, failures: &mut Vec<String>)
where
    T: DeserializeOwned + Serialize + JsonSchema + Validate + std::fmt::Debug,
{
    let doc = fixture(fixture_name);
    let examples = doc["examples"][key]
        .as_array()
        .unwrap_or_else(|| panic!("{fixture_name}: no examples for {key}"));
    assert!(!examples.is_empty());
    let schema =
        serde_json::to_value(schemars::SchemaGenerator::default().into_root_schema_for::<T>())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for example in examples {
        let at = format!("{fixture_name}/{key}: {example}");
        let value: T = match serde_json::from_value(example.clone()) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{at} does not decode: {e}"));
                continue;
            }
        };
        if let Err(violations) = value.validate() {
            failures.push(format!("{at} has violations: {violations:?}"));
        }
        let back = serde_json::to_value(&value).unwrap();
        if !same_json(&back, example) {
            failures.push(format!("{at} re-encodes as {back}"));
        }
        let errors: Vec<String> = validator
            .iter_errors(example)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        if !errors.is_empty() {
            failures.push(format!(
                "{at} is rejected by the derived schema: {errors:?}\nschema: {schema}"
            ));
        }
    }
}

/// `(fixture, example key, type)` for every example; `every_example_is_checked`
/// makes sure none is left out.
macro_rules! examples {
    ($($fixture:ident / $key:literal => $ty:ty),* $(,)?) => {
        const CHECKED: &[(&str, &str)] = &[$((stringify!($fixture), $key)),*];

        #[test]
        fn examples_decode_validate_and_round_trip() {
            let mut failures = Vec::new();
            $(check::<$ty>(stringify!($fixture), $key, &mut failures);)*
            assert!(failures.is_empty(), "{}", failures.join("\n\n"));
        }
    };
}

examples! {
    objects / "Server" => objects::Server,
    objects / "Strict" => objects::Strict,
    objects / "Closed" => objects::Closed,
    objects / "Counters" => objects::Counters,
    objects / "FreeForm" => objects::FreeForm,
    objects / "WithExtra" => objects::WithExtra,
    objects / "Defaults" => objects::Defaults,
    objects / "Nullables" => objects::Nullables,
    objects / "Inline" => objects::Inline,
    objects / "Undescribed" => objects::Undescribed,
    objects / "Untyped" => objects::Untyped,
    objects / "Settings" => objects::Settings,
    objects / "FooBar" => objects::FooBar,
    objects / "Foo" => objects::Foo,
    enums / "Color" => enums::Color,
    enums / "OddValues" => enums::OddValues,
    enums / "Named" => enums::Named,
    enums / "MaybeColor" => Option<enums::MaybeColor>,
    enums / "Level" => enums::Level,
    enums / "Mixed" => enums::Mixed,
    enums / "Versioned" => enums::Versioned,
    unions / "Pet" => unions::Pet,
    unions / "Shape" => unions::Shape,
    unions / "ByName" => unions::ByName,
    unions / "Address" => unions::Address,
    unions / "MaybeCat" => unions::MaybeCat,
    unions / "Holder" => unions::Holder,
    unions / "StringOrNumber" => unions::StringOrNumber,
    unions / "AnyOfRefs" => unions::AnyOfRefs,
    unions / "Event" => unions::Event,
    unions / "Command" => unions::Command,
    unions / "Reply" => unions::Reply,
    allof / "Extended" => allof::Extended,
    allof / "Alias" => allof::Alias,
    allof / "Wrapper" => allof::Wrapper,
    allof / "Bounded" => allof::Bounded,
    allof / "Nested" => allof::Nested,
    scalars / "Numbers" => scalars::Numbers,
    scalars / "Strings" => scalars::Strings,
    scalars / "Anything" => scalars::Anything,
    scalars / "Lists" => scalars::Lists,
    scalars / "Point" => scalars::Point,
    scalars / "Identifier" => scalars::Identifier,
    scalars / "Names" => scalars::Names,
    recursion / "LinkedList" => recursion::LinkedList,
    recursion / "Tree" => recursion::Tree,
    recursion / "Ping" => recursion::Ping,
    recursion / "Nested" => recursion::Nested,
    recursion / "Expr" => recursion::Expr,
    validation / "Constrained" => validation::Constrained,
    validation / "Endpoint" => validation::Endpoint,
    validation / "ShortName" => validation::ShortName,
    validation / "Ports" => validation::Ports,
    unsupported / "NotString" => unsupported::NotString,
    unsupported / "Conditional" => unsupported::Conditional,
    unsupported / "Contains" => unsupported::Contains,
    unsupported / "Patterned" => unsupported::Patterned,
    unsupported / "KeyNames" => unsupported::KeyNames,
    unsupported / "Unknown" => unsupported::Unknown,
    names / "Result" => names::Result,
    names / "Box" => names::Box,
    names / "JobRequest" => names::JobRequest,
    names / "JobRequest2" => names::JobRequest2,
    names / "Titled" => names::Titled,
    names / "Self_" => names::Self_,
    names / "Uses" => names::Uses,
}

#[test]
fn every_example_is_checked() {
    let mut listed = BTreeSet::new();
    for name in [
        "objects",
        "enums",
        "unions",
        "allof",
        "scalars",
        "recursion",
        "validation",
        "unsupported",
        "names",
    ] {
        for key in fixture(name)["examples"].as_object().unwrap().keys() {
            listed.insert((name.to_string(), key.clone()));
        }
    }
    let checked: BTreeSet<(String, String)> = CHECKED
        .iter()
        .map(|(f, k)| (f.to_string(), k.to_string()))
        .collect();
    assert_eq!(listed, checked);
}

/// Official examples that contradict their own schema: the generated types must reject
/// them. (Kraken's `subscriptionStatus` examples give `pair` as a string where the schema
/// says array, and one gives `depth: 42`, which is not among the allowed depths.)
const INVALID_EXAMPLES: &[(&str, &str)] = &[
    (
        "v3_1_kraken_websocket_request_reply_message_filter_in_reply_asyncapi",
        "subscriptionStatus",
    ),
    (
        "v3_1_kraken_websocket_request_reply_multiple_channels_asyncapi",
        "subscriptionStatus",
    ),
];

/// The message examples of the official AsyncAPI documents decode into the generated
/// payload types and pass their validation (and the few invalid ones are rejected).
#[test]
fn asyncapi_message_examples_decode_and_validate() {
    let all = asyncapi_examples::all_payload_examples();
    assert!(all.len() >= 5, "only {} examples", all.len());
    let mut failures = Vec::new();
    for (module, (message, json, check)) in &all {
        let expect_invalid = INVALID_EXAMPLES.contains(&(*module, *message));
        match (check(json), expect_invalid) {
            (Ok(()), false) | (Err(_), true) => {}
            (Ok(()), true) => failures.push(format!("{module} / {message}: {json} was accepted")),
            (Err(e), false) => failures.push(format!("{module} / {message}: {json} {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
