//! Entries → Rust items (tokens): derives, serde attributes, docs, `Display`/`FromStr`
//! for string enums, conversions for newtypes.

use std::collections::{HashMap, HashSet};

use heck::ToSnakeCase;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

use super::model::{Doc, Entry, EntryKind, Field, FieldMode, Prim, StructDef, Ty, TyKind};
use super::naming::unraw;
use super::{entry_tys, ty_is_eq, TypeSpace};

/// A function in the generated `defaults` module. Its type and value are kept as token
/// text, so that it can be sent to the thread that emits the module.
pub struct DefaultFn {
    /// The struct (or enum variant, as `enum_variant`) and field it is for.
    owner: String,
    field: String,
    /// Unique within the module: see [`DefaultNames`].
    name: String,
    /// The default as written in the schema.
    json: String,
    ty: String,
    value: String,
}

/// The name of every `defaults` function, by owner and field: `owner_field`, numbered
/// from `_2` when another owner and field spell the same (assigned in emission order).
#[derive(Default)]
pub(crate) struct DefaultNames {
    by_field: HashMap<(String, String), String>,
    taken: HashSet<String>,
}

impl DefaultNames {
    fn assign(&mut self, owner: &str, f: &Field) {
        if !matches!(f.mode, FieldMode::Defaulted(_)) {
            return;
        }
        let base = format!("{owner}_{}", unraw(&f.ident));
        let mut name = base.clone();
        let mut n = 2;
        while self.taken.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
        self.by_field
            .insert((owner.to_string(), f.ident.clone()), name);
    }

    fn get(&self, owner: &str, field: &str) -> &str {
        // Every defaulted field was assigned when the plan was made.
        self.by_field
            .get(&(owner.to_string(), field.to_string()))
            .map_or("", String::as_str)
    }
}

/// What [`TypeSpace::definitions_plan`] fixed: emits the `types` module's items by
/// ranges of entries, then the `defaults` module.
pub struct Definitions<'s> {
    space: &'s TypeSpace<'s>,
    eq: Vec<bool>,
    /// Live entries, sorted by name.
    order: Vec<usize>,
    default_names: DefaultNames,
}

impl Definitions<'_> {
    /// How many entries there are to emit.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The items of the entries at `range` of the emission order, and the `defaults`
    /// functions they refer to.
    pub fn emit(&self, range: std::ops::Range<usize>) -> (TokenStream, Vec<DefaultFn>) {
        let mut defaults = Vec::new();
        let items: Vec<TokenStream> = self.order[range]
            .iter()
            .map(|&i| {
                let entry = &self.space.entries[i];
                self.space
                    .emit_entry(entry, self.eq[i], &self.default_names, &mut defaults)
            })
            .collect();
        (quote!(#(#items)*), defaults)
    }

    /// The `defaults` module with the functions every range referred to (nothing when
    /// there are none).
    pub fn defaults_module(mut defaults: Vec<DefaultFn>) -> TokenStream {
        if defaults.is_empty() {
            return quote!();
        }
        defaults.sort_by(|a, b| a.name.cmp(&b.name));
        let fns = defaults.iter().map(|d| {
            let name = format_ident!("{}", d.name);
            // Token text made by this module from valid tokens parses back.
            let ty: TokenStream = d.ty.parse().unwrap_or_default();
            let value: TokenStream = d.value.parse().unwrap_or_default();
            let doc = format!(" `{}`", d.json);
            quote! {
                #[doc = #doc]
                pub fn #name() -> #ty { #value }
            }
        });
        quote! {
            /// Values of the schemas' `default`s, filled in for absent properties.
            pub mod defaults {
                #[allow(unused_imports)]
                use super::*;
                #(#fns)*
            }
        }
    }

    /// Every item: all entries, then the `defaults` module.
    pub fn all(&self) -> TokenStream {
        let (mut items, defaults) = self.emit(0..self.len());
        items.extend(Self::defaults_module(defaults));
        items
    }
}

impl TypeSpace<'_> {
    pub(crate) fn runtime(&self) -> TokenStream {
        self.settings
            .runtime_crate
            .parse()
            .unwrap_or_else(|_| quote!(::jetwire))
    }

    /// The type as written in a signature inside the `types` module.
    pub(crate) fn ty_tokens(&self, ty: &Ty) -> TokenStream {
        let rt = self.runtime();
        match &ty.kind {
            TyKind::Prim(p) => match p {
                Prim::Unit => quote!(()),
                Prim::Bool => quote!(bool),
                Prim::I8 => quote!(i8),
                Prim::I16 => quote!(i16),
                Prim::I32 => quote!(i32),
                Prim::I64 => quote!(i64),
                Prim::U8 => quote!(u8),
                Prim::U16 => quote!(u16),
                Prim::U32 => quote!(u32),
                Prim::U64 => quote!(u64),
                Prim::F32 => quote!(f32),
                Prim::F64 => quote!(f64),
                Prim::String => quote!(::std::string::String),
                Prim::Uuid => quote!(#rt::__private::uuid::Uuid),
                Prim::DateTime => {
                    quote!(#rt::__private::chrono::DateTime<#rt::__private::chrono::Utc>)
                }
                Prim::Date => quote!(#rt::__private::chrono::NaiveDate),
                Prim::Value => quote!(#rt::__private::serde_json::Value),
            },
            TyKind::Named(e) => {
                let ident = format_ident!("{}", self.entries[*e].name);
                quote!(#ident)
            }
            TyKind::Option(inner) => {
                let inner = self.ty_tokens(inner);
                quote!(::std::option::Option<#inner>)
            }
            TyKind::Box(inner) => {
                let inner = self.ty_tokens(inner);
                quote!(::std::boxed::Box<#inner>)
            }
            TyKind::Vec(inner) => {
                let inner = self.ty_tokens(inner);
                quote!(::std::vec::Vec<#inner>)
            }
            TyKind::Map(inner) => {
                let inner = self.ty_tokens(inner);
                quote!(::std::collections::BTreeMap<::std::string::String, #inner>)
            }
            TyKind::Tuple(elems) => {
                let elems = elems.iter().map(|t| self.ty_tokens(t));
                quote!((#(#elems,)*))
            }
        }
    }

    /// The plan for emitting every live entry: the order (by name), which entries are
    /// `Eq`, and the name of every `defaults` function, all fixed up front so that any
    /// range of entries can be emitted on its own (on any thread) with the same tokens.
    pub(crate) fn definitions_plan(&self) -> Definitions<'_> {
        let mut order: Vec<usize> = self.live_entries().map(|(i, _)| i).collect();
        order.sort_by(|a, b| self.entries[*a].name.cmp(&self.entries[*b].name));
        // Named in the order the entries were made, which is how the numbering is defined.
        let mut default_names = DefaultNames::default();
        for (_, entry) in self.live_entries() {
            let owner = entry.name.to_snake_case();
            match &entry.kind {
                EntryKind::Struct(def) => {
                    for f in def.fields.iter().chain(def.extra.iter()) {
                        default_names.assign(&owner, f);
                    }
                }
                EntryKind::Tagged { variants, .. } => {
                    for v in variants {
                        let owner = format!("{owner}_{}", v.ident.to_snake_case());
                        for f in &v.fields {
                            default_names.assign(&owner, f);
                        }
                    }
                }
                _ => {}
            }
        }
        Definitions {
            space: self,
            eq: self.eq_entries(),
            order,
            default_names,
        }
    }

    /// Which entries can derive `Eq` and `Hash` (all but those holding floats).
    fn eq_entries(&self) -> Vec<bool> {
        let mut eq = vec![true; self.entries.len()];
        loop {
            let mut changed = false;
            for (i, entry) in self.entries.iter().enumerate() {
                if eq[i] && !entry_tys(&entry.kind).iter().all(|t| ty_is_eq(t, &eq)) {
                    eq[i] = false;
                    changed = true;
                }
            }
            if !changed {
                return eq;
            }
        }
    }

    fn emit_entry(
        &self,
        entry: &Entry,
        eq: bool,
        names: &DefaultNames,
        defaults: &mut Vec<DefaultFn>,
    ) -> TokenStream {
        let rt = self.runtime();
        let name = format_ident!("{}", entry.name);
        let doc = doc_attrs(&entry.doc, Some(&self.node(entry.schema).location.pointer));
        let serde_crate = format!("{}::__private::serde", self.settings.runtime_crate);
        let eq_derives = if eq {
            quote!(::std::cmp::Eq, ::std::hash::Hash,)
        } else {
            quote!()
        };
        let derives = quote! {
            #[derive(
                #rt::__private::serde::Serialize,
                #rt::__private::serde::Deserialize,
                ::schemars::JsonSchema,
                ::std::fmt::Debug,
                ::std::clone::Clone,
                ::std::cmp::PartialEq,
                #eq_derives
            )]
            #[serde(crate = #serde_crate)]
            #[schemars(crate = "::schemars")]
        };
        let validate = self.validate_impl(entry);
        let owner = entry.name.to_snake_case();

        match &entry.kind {
            EntryKind::Pending | EntryKind::Removed => quote!(),
            EntryKind::Alias(ty) => {
                let ty = self.ty_tokens(ty);
                quote! {
                    #doc
                    pub type #name = #ty;
                }
            }
            EntryKind::Newtype(ty) => {
                let inner = self.ty_tokens(ty);
                let display = match &ty.kind {
                    TyKind::Prim(p) if *p == Prim::String || p.is_integer() || p.is_float() => {
                        quote! {
                            impl ::std::fmt::Display for #name {
                                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                                    ::std::fmt::Display::fmt(&self.0, f)
                                }
                            }
                        }
                    }
                    _ => quote!(),
                };
                quote! {
                    #doc
                    #derives
                    #[serde(transparent)]
                    pub struct #name(pub #inner);

                    impl ::std::ops::Deref for #name {
                        type Target = #inner;
                        fn deref(&self) -> &#inner {
                            &self.0
                        }
                    }

                    impl ::std::convert::From<#inner> for #name {
                        fn from(value: #inner) -> Self {
                            Self(value)
                        }
                    }

                    impl ::std::convert::From<#name> for #inner {
                        fn from(value: #name) -> Self {
                            value.0
                        }
                    }

                    #display

                    #validate
                }
            }
            EntryKind::Struct(def) => {
                let fields = self.struct_fields(def, &owner, true, names, defaults);
                let deny = if def.deny_unknown_fields {
                    quote!(#[serde(deny_unknown_fields)])
                } else {
                    quote!()
                };
                let all_fields = || def.fields.iter().chain(def.extra.iter());
                let derive_default = all_fields()
                    .all(|f| matches!(f.mode, FieldMode::Optional | FieldMode::Flatten));
                let (default_derive, default_impl) = if derive_default {
                    (quote!(#[derive(::std::default::Default)]), quote!())
                } else {
                    (quote!(), struct_default(&name, def, &owner, defaults))
                };
                quote! {
                    #doc
                    #derives
                    #default_derive
                    #deny
                    pub struct #name {
                        #(#fields)*
                    }

                    #default_impl

                    #validate
                }
            }
            EntryKind::StringEnum(variants) => {
                let idents: Vec<Ident> = variants
                    .iter()
                    .map(|v| format_ident!("{}", v.ident))
                    .collect();
                let values: Vec<&str> = variants.iter().map(|v| v.value.as_str()).collect();
                let docs = variants.iter().map(|v| {
                    let fallback = format!("`{}`", v.value);
                    doc_attrs(&v.doc, None).or_else(|| line_doc(&fallback))
                });
                // `ALL`, `as_str`, `Display`, `FromStr` and the empty `Validate` come
                // from one runtime macro instead of ~30 lines per enum.
                quote! {
                    #doc
                    #[derive(
                        #rt::__private::serde::Serialize,
                        #rt::__private::serde::Deserialize,
                        ::schemars::JsonSchema,
                        ::std::fmt::Debug,
                        ::std::clone::Clone,
                        ::std::marker::Copy,
                        ::std::cmp::PartialEq,
                        ::std::cmp::Eq,
                        ::std::hash::Hash,
                        ::std::cmp::PartialOrd,
                        ::std::cmp::Ord,
                    )]
                    #[serde(crate = #serde_crate)]
                    #[schemars(crate = "::schemars")]
                    pub enum #name {
                        #(
                            #docs
                            #[serde(rename = #values)]
                            #idents,
                        )*
                    }

                    #rt::string_enum_impls!(#name { #(#idents => #values),* });
                }
            }
            EntryKind::Tagged {
                tag,
                variants,
                deny_unknown_fields,
            } => {
                let deny = if *deny_unknown_fields {
                    quote!(#[serde(deny_unknown_fields)])
                } else {
                    quote!()
                };
                let variants = variants.iter().map(|v| {
                    let ident = format_ident!("{}", v.ident);
                    let value = &v.tag_value;
                    let fallback = format!("`{tag}: {value}`");
                    let doc = doc_attrs(&v.doc, None).or_else(|| line_doc(&fallback));
                    let fields = v.fields.iter().map(|f| {
                        let owner = format!("{owner}_{}", v.ident.to_snake_case());
                        self.field(f, &owner, false, names, defaults)
                    });
                    // A unit variant would ignore other properties; an empty struct
                    // variant lets `deny_unknown_fields` see them.
                    let body = if v.fields.is_empty() && !*deny_unknown_fields {
                        quote!()
                    } else {
                        let fields: Vec<TokenStream> = fields.collect();
                        quote!({ #(#fields)* })
                    };
                    quote! {
                        #doc
                        #[serde(rename = #value)]
                        #ident #body,
                    }
                });
                quote! {
                    #doc
                    #derives
                    #[serde(tag = #tag)]
                    #deny
                    pub enum #name {
                        #(#variants)*
                    }

                    #validate
                }
            }
            EntryKind::Untagged(variants) => {
                let variants = variants.iter().map(|v| {
                    let ident = format_ident!("{}", v.ident);
                    let ty = self.ty_tokens(&v.ty);
                    let label = match &v.ty.kind {
                        TyKind::Named(e) => self.entries[*e].name.as_str(),
                        _ => v.ident.as_str(),
                    };
                    let fallback = format!("A value of type `{label}`.");
                    let doc = doc_attrs(&v.doc, None).or_else(|| line_doc(&fallback));
                    quote! {
                        #doc
                        #ident(#ty),
                    }
                });
                quote! {
                    #doc
                    #derives
                    #[serde(untagged)]
                    pub enum #name {
                        #(#variants)*
                    }

                    #validate
                }
            }
        }
    }

    fn struct_fields(
        &self,
        def: &StructDef,
        owner: &str,
        public: bool,
        names: &DefaultNames,
        defaults: &mut Vec<DefaultFn>,
    ) -> Vec<TokenStream> {
        def.fields
            .iter()
            .chain(def.extra.iter())
            .map(|f| self.field(f, owner, public, names, defaults))
            .collect()
    }

    fn field(
        &self,
        f: &Field,
        owner: &str,
        public: bool,
        names: &DefaultNames,
        defaults: &mut Vec<DefaultFn>,
    ) -> TokenStream {
        let ident = field_ident(&f.ident);
        let ty = self.ty_tokens(&f.ty);
        let fallback = format!("`{}`", f.json_name);
        let mut doc = if f.mode == FieldMode::Flatten {
            doc_attrs(&f.doc, None)
        } else {
            doc_attrs(&f.doc, None).or_else(|| line_doc(&fallback))
        };
        if let FieldMode::Defaulted(value) = &f.mode {
            let note = format!(" Defaults to `{value}` when absent.");
            doc.extend(quote!(#[doc = ""] #[doc = #note]));
        }
        let mut args = Vec::new();
        if f.mode != FieldMode::Flatten && unraw(&f.ident) != f.json_name {
            let json = &f.json_name;
            args.push(quote!(rename = #json));
        }
        match &f.mode {
            FieldMode::Required => {}
            FieldMode::RequiredNullable => {
                // A missing `Option` field would silently become `None`; deserializing
                // through a function makes serde require its presence.
                let de = format!(
                    "{}::__private::serde::Deserialize::deserialize",
                    self.settings.runtime_crate
                );
                args.push(quote!(deserialize_with = #de));
            }
            FieldMode::Optional => args.push(quote!(
                default,
                skip_serializing_if = "::std::option::Option::is_none"
            )),
            FieldMode::Defaulted(value) => {
                let name = names.get(owner, &f.ident);
                let path = format!("defaults::{name}");
                args.push(quote!(default = #path));
                defaults.push(DefaultFn {
                    owner: owner.to_string(),
                    field: f.ident.clone(),
                    name: name.to_string(),
                    json: value.to_string(),
                    ty: ty.to_string(),
                    value: self.default_value(&f.ty, value).to_string(),
                });
            }
            FieldMode::Flatten => args.push(quote!(flatten)),
        }
        let serde_attr = if args.is_empty() {
            quote!()
        } else {
            quote!(#[serde(#(#args),*)])
        };
        let vis = if public { quote!(pub) } else { quote!() };
        quote! {
            #doc
            #serde_attr
            #vis #ident: #ty,
        }
    }

    /// A literal of `ty` for a `default` (checked by `default_is_literal`).
    fn default_value(&self, ty: &Ty, value: &Value) -> TokenStream {
        match (&ty.kind, value) {
            (TyKind::Prim(Prim::Bool), Value::Bool(b)) => quote!(#b),
            (TyKind::Prim(Prim::String), Value::String(s)) => {
                quote!(::std::string::String::from(#s))
            }
            (TyKind::Prim(p), Value::Number(n)) if p.is_float() => {
                let lit = Literal::f64_unsuffixed(n.as_f64().unwrap_or_default());
                quote!(#lit)
            }
            (TyKind::Prim(_), Value::Number(n)) => {
                let lit: TokenStream = n.to_string().parse().unwrap_or_else(|_| quote!(0));
                quote!(#lit)
            }
            (TyKind::Named(e), Value::String(s)) => {
                let name = format_ident!("{}", self.entries[*e].name);
                match &self.entries[*e].kind {
                    EntryKind::StringEnum(variants) => {
                        let v = variants
                            .iter()
                            .find(|v| &v.value == s)
                            .map(|v| format_ident!("{}", v.ident));
                        quote!(#name::#v)
                    }
                    EntryKind::Newtype(inner) => {
                        let inner = self.default_value(inner, value);
                        quote!(#name(#inner))
                    }
                    EntryKind::Alias(inner) => self.default_value(inner, value),
                    _ => quote!(::std::default::Default::default()),
                }
            }
            (TyKind::Named(e), _) => match &self.entries[*e].kind {
                EntryKind::Newtype(inner) => {
                    let name = format_ident!("{}", self.entries[*e].name);
                    let inner = self.default_value(inner, value);
                    quote!(#name(#inner))
                }
                EntryKind::Alias(inner) => self.default_value(inner, value),
                _ => quote!(::std::default::Default::default()),
            },
            _ => quote!(::std::default::Default::default()),
        }
    }
}

/// `Default` for a struct whose every property may be absent (some with a schema
/// default): what decoding `{}` gives.
fn struct_default(
    name: &Ident,
    def: &StructDef,
    owner: &str,
    defaults: &[DefaultFn],
) -> TokenStream {
    let mut inits = Vec::new();
    for f in def.fields.iter().chain(def.extra.iter()) {
        let ident = field_ident(&f.ident);
        let value = match &f.mode {
            FieldMode::Optional => quote!(::std::option::Option::None),
            FieldMode::Flatten => quote!(::std::default::Default::default()),
            FieldMode::Defaulted(_) => {
                let Some(d) = defaults
                    .iter()
                    .find(|d| d.owner == owner && d.field == f.ident)
                else {
                    return quote!();
                };
                let path = format_ident!("{}", d.name);
                quote!(defaults::#path())
            }
            FieldMode::Required | FieldMode::RequiredNullable => return quote!(),
        };
        inits.push(quote!(#ident: #value));
    }
    quote! {
        impl ::std::default::Default for #name {
            fn default() -> Self {
                Self { #(#inits,)* }
            }
        }
    }
}

pub(crate) fn field_ident(ident: &str) -> Ident {
    match ident.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(ident, Span::call_site()),
    }
}

trait OrElse {
    fn or_else(self, f: impl FnOnce() -> TokenStream) -> TokenStream;
}

impl OrElse for TokenStream {
    fn or_else(self, f: impl FnOnce() -> TokenStream) -> TokenStream {
        if self.is_empty() {
            f()
        } else {
            self
        }
    }
}

/// `Example: `"a"`` for short examples, a JSON block otherwise.
fn examples_paragraph(examples: &[Value]) -> String {
    let label = if examples.len() == 1 {
        "Example"
    } else {
        "Examples"
    };
    let compact: Vec<String> = examples.iter().map(Value::to_string).collect();
    if compact.iter().all(|e| e.len() <= 60 && !e.contains('`')) {
        let list: Vec<String> = compact.iter().map(|e| format!("`{e}`")).collect();
        return format!("{label}: {}.", list.join(", "));
    }
    let blocks: Vec<String> = examples
        .iter()
        .map(|e| serde_json::to_string_pretty(e).unwrap_or_else(|_| e.to_string()))
        .collect();
    format!(
        "{label}:\n```json\n{}\n```",
        blocks.join("\n```\n```json\n")
    )
}

fn line_doc(text: &str) -> TokenStream {
    let text = format!(" {text}");
    quote!(#[doc = #text])
}

/// `#[doc]` attributes from a schema's title and description (and, for entries, where
/// the schema is written, so every item says where it comes from).
fn doc_attrs(doc: &Doc, pointer: Option<&str>) -> TokenStream {
    let mut paragraphs: Vec<String> = Vec::new();
    if let Some(title) = doc
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        paragraphs.push(super::rustdoc::rustdoc_safe(title));
    }
    if let Some(d) = doc
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        if doc.title.as_deref().map(str::trim) != Some(d) {
            paragraphs.push(super::rustdoc::rustdoc_safe(d));
        }
    }
    if doc.deprecated {
        paragraphs.push("**Deprecated.**".to_string());
    }
    if !doc.examples.is_empty() {
        paragraphs.push(examples_paragraph(&doc.examples));
    }
    if let Some(pointer) = pointer {
        let pointer = if pointer.is_empty() { "/" } else { pointer };
        paragraphs.push(format!("Schema: `#{pointer}`."));
    }
    let lines: Vec<String> = paragraphs
        .join("\n\n")
        .lines()
        .map(|l| {
            if l.trim().is_empty() {
                String::new()
            } else {
                format!(" {}", l.trim_end())
            }
        })
        .collect();
    quote!(#(#[doc = #lines])*)
}
