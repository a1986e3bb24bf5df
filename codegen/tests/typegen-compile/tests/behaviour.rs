//! What the generated types do beyond round-tripping their examples: which fields are
//! optional and skipped, what is rejected, how enums parse and print, which variant a
//! union decodes to, and every violation `validate()` reports, with its path.

use std::collections::BTreeMap;

use jetwire::{Validate, Violation};
use serde_json::json;
use typegen_compile::*;

fn decode<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn violations<T: Validate>(value: &T) -> Vec<(String, String)> {
    let mut out: Vec<Violation> = Vec::new();
    value.validate_at("", &mut out);
    out.into_iter().map(|v| (v.path, v.message)).collect()
}

fn v(path: &str, message: &str) -> (String, String) {
    (path.to_string(), message.to_string())
}

#[test]
fn optional_fields_are_options_and_skipped_when_none() {
    let server = objects::Server {
        host_name: "h".into(),
        port: 1,
        r#type: None,
        self_: None,
        _2fa: Some(true),
        tags: None,
        labels: None,
    };
    assert_eq!(
        serde_json::to_value(&server).unwrap(),
        json!({"hostName": "h", "port": 1, "2fa": true})
    );
    let err = decode::<objects::Server>(json!({"hostName": "h"})).unwrap_err();
    assert!(err.contains("missing field `port`"), "{err}");
}

#[test]
fn closed_objects_reject_unknown_fields() {
    let err = decode::<objects::Strict>(json!({"id": "1", "extra": 1})).unwrap_err();
    assert!(err.contains("unknown field `extra`"), "{err}");
    let err = decode::<objects::Closed>(json!({"a": 1})).unwrap_err();
    assert!(err.contains("unknown field `a`"), "{err}");
    // Open objects ignore them.
    assert!(decode::<objects::Server>(json!({"hostName": "h", "port": 1, "x": 1})).is_ok());
}

#[test]
fn maps_and_flattened_extra_properties() {
    let counters: objects::Counters = decode(json!({"a": 1})).unwrap();
    assert_eq!(counters, BTreeMap::from([("a".to_string(), 1u64)]));
    let extra: objects::WithExtra = decode(json!({"name": "n", "x": 1.5})).unwrap();
    assert_eq!(extra.name, "n");
    assert_eq!(
        extra.additional_properties,
        BTreeMap::from([("x".to_string(), 1.5)])
    );
    let err = decode::<objects::WithExtra>(json!({"name": "n", "x": "text"})).unwrap_err();
    assert!(err.contains("expected f64"), "{err}");
}

#[test]
fn defaults_fill_absent_optional_fields_but_not_required_ones() {
    let d: objects::Defaults = decode(json!({"required_with_default": 1})).unwrap();
    assert_eq!(d.retries, 3);
    assert!(!d.verbose);
    assert_eq!(d.greeting, "hello");
    assert_eq!(d.ratio, 0.5);
    assert_eq!(d.mode, objects::DefaultsMode::Safe);
    assert_eq!(d.limits, None);
    let err = decode::<objects::Defaults>(json!({})).unwrap_err();
    assert!(
        err.contains("missing field `required_with_default`"),
        "{err}"
    );
}

#[test]
fn structs_without_required_properties_have_defaults() {
    let settings = objects::Settings::default();
    assert_eq!(settings, decode::<objects::Settings>(json!({})).unwrap());
    assert_eq!((settings.level, settings.name), (2u8, None));
    assert_eq!(objects::FooBar::default().baz, 1);
    assert_eq!(objects::Foo::default().bar_baz, 2);
    assert_eq!(
        objects::InlineChildrenItem::default(),
        objects::InlineChildrenItem { y: None }
    );
}

#[test]
fn required_nullable_fields_must_be_present_and_round_trip_null() {
    let n: objects::Nullables =
        decode(json!({"must": "a", "mustNullable": null, "mustOpenApi": null})).unwrap();
    assert_eq!(n.must_nullable, None);
    assert_eq!(
        serde_json::to_value(&n).unwrap(),
        json!({"must": "a", "mustNullable": null, "mustOpenApi": null})
    );
    let err = decode::<objects::Nullables>(json!({"must": "a", "mustOpenApi": 1})).unwrap_err();
    assert!(err.contains("missing field `mustNullable`"), "{err}");
}

#[test]
fn string_enums_display_parse_and_order() {
    use enums::Color;
    assert_eq!(Color::Green.to_string(), "green");
    assert_eq!("blue".parse::<Color>(), Ok(Color::Blue));
    let err = "mauve".parse::<Color>().unwrap_err();
    assert_eq!(err.to_string(), "`mauve` is not a valid Color");
    assert_eq!(Color::ALL, &[Color::Red, Color::Green, Color::Blue]);
    assert!(Color::Red < Color::Blue);
    let err = decode::<Color>(json!("mauve")).unwrap_err();
    assert!(err.contains("unknown variant `mauve`"), "{err}");

    use enums::OddValues as O;
    let all = [
        O::InProgress,
        O::InProgress2,
        O::Empty,
        O::V2xx,
        O::Self_,
        O::AB,
    ];
    let values: Vec<String> = all.iter().map(ToString::to_string).collect();
    assert_eq!(
        values,
        ["in-progress", "IN_PROGRESS", "", "2xx", "self", "a b"]
    );
    assert_eq!("+".parse::<enums::Named>(), Ok(enums::Named::Plus));

    let maybe: Option<enums::MaybeColor> = decode(json!(null)).unwrap();
    assert_eq!(maybe, None);
}

#[test]
fn non_string_enums_and_consts_are_checked() {
    assert_eq!(violations(&enums::Level(2)), []);
    assert_eq!(
        violations(&enums::Level(4)),
        [v("", "must be one of 1, 2, 3")]
    );
    assert_eq!(violations(&enums::Mixed(json!(0))), []);
    assert_eq!(
        violations(&enums::Mixed(json!("x"))),
        [v("", "must be one of \"auto\", 0, true")]
    );
    let wrong: enums::Versioned =
        decode(json!({"version": 3, "kind": "other", "level": 7})).unwrap();
    assert_eq!(
        violations(&wrong),
        [
            v("/version", "must be 2"),
            v("/kind", "must be \"report\""),
            v("/level", "must be one of 1, 2, 3"),
        ]
    );
}

#[test]
fn tagged_unions_decode_by_tag() {
    let pet: unions::Pet = decode(json!({"petType": "dog", "name": "Rex"})).unwrap();
    assert_eq!(
        pet,
        unions::Pet::Dog {
            name: "Rex".into(),
            good_boy: None
        }
    );
    let err = decode::<unions::Pet>(json!({"petType": "fish", "name": "Nemo"})).unwrap_err();
    assert!(err.contains("unknown variant `fish`"), "{err}");

    let shape = unions::Shape::Square { side: 2.0 };
    assert_eq!(
        serde_json::to_value(&shape).unwrap(),
        json!({"kind": "square", "side": 2.0})
    );
    assert_eq!(
        decode::<unions::Shape>(json!({"kind": "point"})).unwrap(),
        unions::Shape::Point
    );
    let by_name: unions::ByName = decode(json!({"type": "Beta", "b": "x"})).unwrap();
    assert_eq!(
        by_name,
        unions::ByName::Beta {
            b: Some("x".into())
        }
    );
    let event: unions::Event = decode(json!({"id": "7", "event": "deleted"})).unwrap();
    assert_eq!(event, unions::Event::Deleted { id: "7".into() });
}

#[test]
fn closed_tagged_variants_reject_unknown_properties() {
    let err = decode::<unions::Command>(json!({"cmd": "stop", "force": true})).unwrap_err();
    assert!(err.contains("unknown field `force`"), "{err}");
    let read: unions::Command = decode(json!({"cmd": "read", "path": "", "out": "long"})).unwrap();
    let mut out = Vec::new();
    read.validate_at("/commands/3", &mut out);
    let got: Vec<(String, String)> = out.into_iter().map(|v| (v.path, v.message)).collect();
    assert_eq!(
        got,
        [
            v(
                "/commands/3/path",
                "must be at least 1 character long (is 0)"
            ),
            v(
                "/commands/3/out",
                "must be at most 3 characters long (is 4)"
            ),
        ]
    );
}

#[test]
fn untagged_unions_decode_to_the_first_matching_variant() {
    use unions::Address;
    assert_eq!(
        decode::<Address>(json!("10.0.0.1")).unwrap(),
        Address::Ipv4(unions::Ipv4("10.0.0.1".into()))
    );
    assert!(matches!(
        decode::<Address>(json!({"host": "h"})).unwrap(),
        Address::Structured(unions::Structured { host, port: None }) if host == "h"
    ));
    assert_eq!(decode::<Address>(json!(7)).unwrap(), Address::Integer(7));
    assert!(decode::<Address>(json!(true)).is_err());
    assert_eq!(
        violations(&Address::Ipv4(unions::Ipv4("nope".into()))),
        [v("", "must be an IPv4 address")]
    );
    assert_eq!(
        decode::<unions::StringOrNumber>(json!(1.5)).unwrap(),
        unions::StringOrNumber::Number(1.5)
    );
    assert_eq!(
        decode::<unions::AnyOfRefs>(json!(5)).unwrap(),
        unions::AnyOfRefs::Counter(5)
    );
}

#[test]
fn untagged_structs_with_more_required_properties_are_tried_first() {
    let done: unions::Reply =
        decode(json!({"result": "ok", "at": "2026-11-23T10:00:00Z"})).unwrap();
    assert!(matches!(done, unions::Reply::Done(_)), "{done:?}");
    let progress: unions::Reply = decode(json!({"percent": 5})).unwrap();
    assert!(
        matches!(progress, unions::Reply::Progress(_)),
        "{progress:?}"
    );
    let other: unions::Reply = decode(json!("anything")).unwrap();
    assert!(matches!(other, unions::Reply::Value(_)), "{other:?}");
}

#[test]
fn null_members_make_options() {
    let maybe: unions::MaybeCat = decode(json!(null)).unwrap();
    assert_eq!(maybe, None);
    let holder: unions::Holder = decode(json!({"cat": null})).unwrap();
    assert_eq!(holder.cat, None);
    let err = decode::<unions::Holder>(json!({})).unwrap_err();
    assert!(err.contains("missing field `cat`"), "{err}");
}

#[test]
fn all_of_merges_and_keeps_every_constraint() {
    let id = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    let e: allof::Extended = decode(json!({"id": id, "name": "abcdefghijkl", "size": 0})).unwrap();
    assert_eq!(
        violations(&e),
        [
            v("/name", "must be at most 10 characters long (is 12)"),
            v("/size", "must be at least 1 (is 0)"),
        ]
    );
    let err = decode::<allof::Extended>(json!({"id": id, "size": 1})).unwrap_err();
    assert!(err.contains("missing field `name`"), "{err}");
    let alias: allof::Alias = allof::Base {
        id: id.parse().unwrap(),
        name: None,
    };
    assert_eq!(violations(&alias), []);
    assert_eq!(violations(&allof::Bounded(50)), []);
    assert_eq!(
        violations(&allof::Bounded(7)),
        [
            v("", "must be at least 10 (is 7)"),
            v("", "must be a multiple of 5 (is 7)"),
        ]
    );
    let w: allof::Wrapper = decode(json!({"maybeBase": null})).unwrap();
    assert_eq!(w.maybe_base, None);
}

#[test]
fn recursion_is_boxed_only_where_needed() {
    let list = recursion::LinkedList {
        value: 1,
        next: Some(Box::new(recursion::LinkedList {
            value: 2,
            next: None,
        })),
    };
    assert_eq!(
        serde_json::to_value(&list).unwrap(),
        json!({"value": 1, "next": {"value": 2}})
    );
    let tree = recursion::Tree {
        name: "root".into(),
        children: vec![recursion::Tree {
            name: "leaf".into(),
            children: Vec::new(),
            by_name: None,
        }],
        by_name: Some(BTreeMap::new()),
    };
    assert_eq!(tree.children.len(), 1);
    let ping = recursion::Ping {
        pong: recursion::Pong {
            ping: Some(Box::new(recursion::Ping {
                pong: recursion::Pong { ping: None },
            })),
        },
    };
    assert!(ping.pong.ping.is_some());
    let expr = recursion::Expr::Neg {
        arg: Box::new(recursion::Expr::Lit { value: 1 }),
    };
    assert_eq!(
        serde_json::to_value(&expr).unwrap(),
        json!({"op": "neg", "arg": {"op": "lit", "value": 1}})
    );
}

#[test]
fn scalar_formats_map_to_types() {
    let strings: scalars::Strings = decode(json!({
        "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "at": "2026-11-23T09:30:00Z",
        "day": "2026-11-23"
    }))
    .unwrap();
    assert_eq!(strings.id.get_version_num(), 4);
    assert_eq!(strings.at.timestamp(), 1_795_426_200);
    assert_eq!(strings.day.to_string(), "2026-11-23");
    assert!(decode::<scalars::Strings>(
        json!({"id": "x", "at": "2026-11-23T09:30:00Z", "day": "2026-11-23"})
    )
    .is_err());
    let err = decode::<scalars::Numbers>(json!({
        "i8": 128, "i16": 0, "i32": 0, "i64": 0, "u8": 0, "u16": 0, "u32": 0, "u64": 0,
        "plain": 0, "nonNegative": -1, "f32": 0, "f64": 0
    }))
    .unwrap_err();
    assert!(err.contains("128"), "{err}");
    let n: scalars::Numbers = decode(json!({
        "i8": 0, "i16": 0, "i32": 0, "i64": 0, "u8": 0, "u16": 0, "u32": 0, "u64": 0,
        "plain": 0, "nonNegative": -1, "f32": 0.5, "f64": 0
    }))
    .unwrap();
    // `minimum: 0` keeps `i64` and is a check, not an unsigned type.
    let non_negative: i64 = n.non_negative;
    assert_eq!(
        violations(&n),
        [v(
            "/nonNegative",
            &format!("must be at least 0 (is {non_negative})")
        )]
    );
    let pair: scalars::Lists =
        decode(json!({"names": [], "matrix": [], "pair": ["a", 1]})).unwrap();
    assert_eq!(pair.pair, ("a".to_string(), 1));
    assert_eq!(scalars::Point((1.0, 2.0)).0 .1, 2.0);
    let id: scalars::Identifier = "7c9e6679-7425-40de-944b-e07fc1f90ae7".parse().unwrap();
    assert!(!id.is_nil());
}

#[test]
fn formats_are_validated() {
    let bad: scalars::Strings = decode(json!({
        "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "at": "2026-11-23T09:30:00Z",
        "day": "2026-11-23",
        "email": "not an email",
        "host": "-bad-",
        "v4": "1.2.3",
        "v6": "1.2.3.4",
        "link": "relative/path"
    }))
    .unwrap();
    assert_eq!(
        violations(&bad),
        [
            v("/email", "must be an email address"),
            v("/host", "must be a hostname"),
            v("/v4", "must be an IPv4 address"),
            v("/v6", "must be an IPv6 address"),
            v("/link", "must be an absolute URI"),
        ]
    );
}

#[test]
fn validate_reports_every_violation_with_its_path() {
    let bad: validation::Constrained = decode(json!({
        "name": "ABCDEFG",
        "count": 11,
        "ratio": 1.0,
        "legacy": 0.3,
        "tags": ["a", "a", "long"],
        "servers": [
            {"address": "10.0.0.1"},
            {"address": "10.0.0.256", "v6": "x", "host": "a..b", "url": "x y", "port": 0}
        ],
        "contact": "x@",
        "mode": "a",
        "level": 3,
        "fixed": "v2",
        "limits": {"a": 10, "b": 1},
        "headers": {"x-ok": "1", "bad": "2"},
        "pair": ["", -1],
        "grid": [[0, 1], [2]]
    }))
    .unwrap();
    let expected = [
        v("", "must have at most 9 properties (has 14)"),
        v("/name", "must be at most 5 characters long (is 7)"),
        v("/name", "must match the pattern `^[a-z]+$`"),
        v("/count", "must be at most 10 (is 11)"),
        v("/count", "must be a multiple of 2 (is 11)"),
        v("/ratio", "must be less than 1 (is 1)"),
        v("/legacy", "must be a multiple of 0.25 (is 0.3)"),
        v("/tags/1", "must not repeat an earlier item"),
        v("/tags/2", "must be at most 3 characters long (is 4)"),
        v("/servers/1/address", "must be an IPv4 address"),
        v("/servers/1/v6", "must be an IPv6 address"),
        v("/servers/1/host", "must be a hostname"),
        v("/servers/1/url", "must be an absolute URI"),
        v("/servers/1/port", "must be at least 1 (is 0)"),
        v("/contact", "must be an email address"),
        v("/level", "must be one of 1, 5"),
        v("/fixed", "must be \"v1\""),
        v("/limits", "must have at most 1 property (has 2)"),
        v("/limits/a", "must be at most 9 (is 10)"),
        v("/headers/bad", "property name must match the pattern `^x-`"),
        v("/pair/0", "must be at least 1 character long (is 0)"),
        v("/pair/1", "must be at least 0 (is -1)"),
        v("/grid/1/0", "must be at most 1 (is 2)"),
    ];
    assert_eq!(violations(&bad), expected);
    assert_eq!(
        bad.validate().unwrap_err().len(),
        expected.len(),
        "validate() returns them all"
    );

    let too_few: validation::Constrained = decode(json!({
        "name": "ab", "count": 2, "ratio": 0.5, "tags": [], "servers": []
    }))
    .unwrap();
    assert_eq!(
        violations(&too_few),
        [v("/tags", "must have at least 1 item (has 0)")]
    );
}

#[test]
fn named_constrained_types_validate_themselves() {
    assert_eq!(violations(&validation::ShortName("ok".into())), []);
    assert_eq!(
        violations(&validation::ShortName(String::new())),
        [v("", "must be at least 1 character long (is 0)")]
    );
    assert_eq!(
        violations(&validation::Ports(vec![0, 80, 70000])),
        [
            v("", "must have at most 2 items (has 3)"),
            v("/0", "must be at least 1 (is 0)"),
            v("/2", "must be at most 65535 (is 70000)"),
        ]
    );
    let short: validation::ShortName = String::from("abc").into();
    assert_eq!(short.len(), 3, "derefs to the inner value");
}

#[test]
fn names_avoid_collisions_and_keywords() {
    let r = names::Result {
        ok: names::Option { value: None },
        s: Some(names::String { text: None }),
    };
    assert_eq!(
        serde_json::to_value(&r).unwrap(),
        json!({"ok": {}, "s": {}})
    );
    let b = names::Box {
        items: Some(vec![names::Vec::X]),
    };
    assert_eq!(serde_json::to_value(&b).unwrap(), json!({"items": ["x"]}));
    let _first = names::JobRequest { request_id: None };
    let _second = names::JobRequest2 { id: Some(1) };
    let t: names::Titled = decode(
        json!({"inner": {"z": "z"}, "sameName": "a", "same_name": "b", "fn": "f", "crate": "c"}),
    )
    .unwrap();
    assert_eq!(
        t.inner,
        Some(names::JobRequest3 {
            z: Some("z".into())
        })
    );
    assert_eq!(
        (t.same_name.as_deref(), t.same_name_2.as_deref()),
        (Some("a"), Some("b"))
    );
    assert_eq!(
        (t.r#fn.as_deref(), t.crate_.as_deref()),
        (Some("f"), Some("c"))
    );
    let s = names::Self_ { super_: Some(true) };
    assert_eq!(serde_json::to_value(&s).unwrap(), json!({"super": true}));
}

#[test]
fn pattern_properties_are_kept() {
    let p: unsupported::Patterned = decode(json!({"id": "1", "x-a": "b"})).unwrap();
    assert_eq!(p.additional_properties["x-a"], "b");
    let bad: unsupported::Patterned = decode(json!({"id": "1", "y": "b"})).unwrap();
    assert_eq!(
        violations(&bad),
        [v("/y", "property name must match the pattern `^x-`")]
    );
}
