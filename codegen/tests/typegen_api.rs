//! The `TypeSpace` API as the code generator uses it: type references returned by
//! `add`, names from hints, memoisation, diagnostics with locations, and errors.

use std::path::Path;

use jetwire_codegen::ir::{SchemaArena, SchemaId, Severity};
use jetwire_codegen::load::schema::{RefResolver, SchemaInterner, SingleDocResolver};
use jetwire_codegen::typegen::{TypeSettings, TypeSpace};
use serde_json::{json, Value};

/// Interns `doc[pointer]` for each pointer.
fn intern(doc: Value, pointers: &[&str]) -> (SchemaArena, Vec<SchemaId>) {
    let mut resolver = SingleDocResolver::new("api.json", doc.clone());
    let mut interner = SchemaInterner::new();
    let ids = pointers
        .iter()
        .map(|p| {
            let at = resolver.locate(Path::new("api.json"), p);
            interner
                .intern(&mut resolver, at, doc.pointer(p).unwrap(), None)
                .unwrap()
        })
        .collect();
    (interner.arena, ids)
}

fn tokens(ts: proc_macro2::TokenStream) -> String {
    ts.to_string().replace(' ', "")
}

#[test]
fn add_returns_type_references() {
    let doc = json!({
        "definitions": {"Foo": {"type": "object", "properties": {"a": {"type": "integer"}}}},
        "int": {"type": "integer"},
        "list": {"type": "array", "items": {"$ref": "#/definitions/Foo"}},
        "nullable": {"type": ["string", "null"]},
        "uuid": {"type": "string", "format": "uuid"},
        "any": {}
    });
    let (arena, ids) = intern(
        doc,
        &[
            "/definitions/Foo",
            "/int",
            "/list",
            "/nullable",
            "/uuid",
            "/any",
        ],
    );
    let mut space = TypeSpace::new(&arena, TypeSettings::default());
    let got: Vec<String> = ids
        .iter()
        .map(|id| tokens(space.add(*id, "Hint").unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            "Foo",
            "i64",
            "::std::vec::Vec<Foo>",
            "::std::option::Option<::std::string::String>",
            "::jetwire::__private::uuid::Uuid",
            "::jetwire::__private::serde_json::Value",
        ]
    );
    // Adding again gives the same type and defines nothing new.
    let before = space.definitions().to_string();
    assert_eq!(tokens(space.add(ids[0], "Other").unwrap()), "Foo");
    assert_eq!(space.definitions().to_string(), before);
}

#[test]
fn inline_schemas_are_named_by_the_hint() {
    let doc = json!({
        "payload": {"type": "object", "properties": {"status": {"type": "string", "enum": ["up", "down"]}}},
        "checked": {"type": "string", "maxLength": 3}
    });
    let (arena, ids) = intern(doc, &["/payload", "/checked"]);
    let mut space = TypeSpace::new(&arena, TypeSettings::default());
    assert_eq!(
        tokens(space.add(ids[0], "getSystemStatusRequest").unwrap()),
        "GetSystemStatusRequest"
    );
    // A constrained value used on its own becomes a newtype that validates itself.
    assert_eq!(tokens(space.add(ids[1], "ShortCode").unwrap()), "ShortCode");
    let code = space.definitions().to_string();
    assert!(
        code.contains("pub enum GetSystemStatusRequestStatus"),
        "{code}"
    );
    assert!(code.contains("pub struct ShortCode"), "{code}");
    assert!(
        code.contains("impl :: jetwire :: Validate for ShortCode"),
        "{code}"
    );
}

#[test]
fn the_runtime_path_is_configurable() {
    let (arena, ids) = intern(json!({"s": {"type": "string", "format": "date"}}), &["/s"]);
    let mut space = TypeSpace::new(
        &arena,
        TypeSettings {
            runtime_crate: "crate::rt".into(),
        },
    );
    assert_eq!(
        tokens(space.add(ids[0], "Day").unwrap()),
        "crate::rt::__private::chrono::NaiveDate"
    );
}

#[test]
fn diagnostics_name_the_location() {
    let doc = json!({"s": {"type": "object", "properties": {"x": {"not": {"type": "string"}}}}});
    let (arena, ids) = intern(doc, &["/s"]);
    let mut space = TypeSpace::new(&arena, TypeSettings::default());
    space.add(ids[0], "S").unwrap();
    let d = &space.diagnostics()[0];
    assert_eq!(d.severity, Severity::Warning);
    assert_eq!(d.location.pointer, "/s/properties/x");
    assert!(d.message.contains("`not`"), "{}", d.message);
}

#[test]
fn an_unknown_schema_id_is_an_error() {
    let arena = SchemaArena::default();
    let mut space = TypeSpace::new(&arena, TypeSettings::default());
    assert!(space.add(SchemaId(3), "X").is_err());
}
