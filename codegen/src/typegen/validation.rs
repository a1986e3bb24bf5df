//! The generated `Validate` implementations: one check per constraint, each pushing a
//! `Violation` with the JSON pointer of the offending value, and recursion into fields,
//! items, map values and variants.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

use super::emit::field_ident;
use super::model::{Check, Entry, EntryKind, Field, FieldMode, Prim, Ty, TyKind};
use super::TypeSpace;

impl TypeSpace<'_> {
    /// `impl Validate for <entry>` (nothing for aliases: they are checked where used).
    pub(crate) fn validate_impl(&self, entry: &Entry) -> TokenStream {
        let rt = self.runtime();
        let name = format_ident!("{}", entry.name);
        let body = match &entry.kind {
            EntryKind::Pending | EntryKind::Removed | EntryKind::Alias(_) => return quote!(),
            EntryKind::StringEnum(_) => quote!(),
            EntryKind::Newtype(ty) => {
                let inner = self.checks_for(ty, quote!(__f), quote!(path), 1);
                if inner.is_empty() {
                    inner
                } else {
                    quote!(let __f = &self.0; #inner)
                }
            }
            EntryKind::Struct(def) => {
                let mut body = TokenStream::new();
                if !def.checks.is_empty() {
                    let count = self.property_count(&def.fields, def.extra.as_ref());
                    let checks = def.checks.iter().map(|c| self.count_check(c, quote!(path)));
                    body.extend(quote!({ let __len = #count; #(#checks)* }));
                }
                for f in def.fields.iter().chain(def.extra.iter()) {
                    let ident = field_ident(&f.ident);
                    body.extend(self.field_checks(f, quote!(&self.#ident)));
                }
                body
            }
            EntryKind::Tagged { variants, .. } => {
                let mut arms = Vec::new();
                let mut any = false;
                for v in variants {
                    let ident = format_ident!("{}", v.ident);
                    let mut code = TokenStream::new();
                    let mut bound = Vec::new();
                    for (i, f) in v.fields.iter().enumerate() {
                        // Bound under another name: a property may be called `path` or
                        // `out`, like the parameters.
                        let fident = field_ident(&f.ident);
                        let binding = format_ident!("__b{i}");
                        let checks = self.field_checks(f, quote!(#binding));
                        if !checks.is_empty() {
                            bound.push(quote!(#fident: #binding));
                            code.extend(checks);
                        }
                    }
                    any |= !code.is_empty();
                    arms.push(if v.fields.is_empty() {
                        quote!(Self::#ident { .. } => {})
                    } else {
                        quote!(Self::#ident { #(#bound,)* .. } => { #code })
                    });
                }
                if any {
                    quote!(match self { #(#arms)* })
                } else {
                    quote!()
                }
            }
            EntryKind::Untagged(variants) => {
                let mut arms = Vec::new();
                let mut any = false;
                for v in variants {
                    let ident = format_ident!("{}", v.ident);
                    let code = self.checks_for(&v.ty, quote!(__v), quote!(path), 1);
                    any |= !code.is_empty();
                    arms.push(if code.is_empty() {
                        quote!(Self::#ident(_) => {})
                    } else {
                        quote!(Self::#ident(__v) => { #code })
                    });
                }
                if any {
                    quote!(match self { #(#arms)* })
                } else {
                    quote!()
                }
            }
        };
        let (path, out) = if body.is_empty() {
            (quote!(_path), quote!(_out))
        } else {
            (quote!(path), quote!(out))
        };
        quote! {
            impl #rt::Validate for #name {
                fn validate_at(&self, #path: &str, #out: &mut ::std::vec::Vec<#rt::Violation>) {
                    #body
                }
            }
        }
    }

    /// The checks of one field whose value is `value` (a reference expression: `&self.x`
    /// or a binding from a variant pattern).
    fn field_checks(&self, f: &Field, value: TokenStream) -> TokenStream {
        let rt = self.runtime();
        if f.mode == FieldMode::Flatten {
            // The flattened properties sit directly in this object.
            let inner = self.checks_for(&f.ty, quote!(__f), quote!(path), 1);
            if inner.is_empty() {
                return inner;
            }
            return quote!({ let __f = #value; #inner });
        }
        let inner = self.checks_for(&f.ty, quote!(__f), quote!(&__p), 1);
        if inner.is_empty() {
            return inner;
        }
        let json = &f.json_name;
        quote! {
            {
                let __p = #rt::validate::child_path(path, #json);
                let __f = #value;
                #inner
            }
        }
    }

    /// How many properties the object has, as an expression.
    fn property_count(&self, fields: &[Field], extra: Option<&Field>) -> TokenStream {
        let mut fixed = 0usize;
        let mut parts = Vec::new();
        for f in fields {
            let ident = field_ident(&f.ident);
            match f.mode {
                FieldMode::Optional => {
                    parts.push(quote!(usize::from(self.#ident.is_some())));
                }
                _ => fixed += 1,
            }
        }
        if let Some(f) = extra {
            let ident = field_ident(&f.ident);
            parts.push(quote!(self.#ident.len()));
        }
        let fixed = Literal::usize_unsuffixed(fixed);
        quote!(#fixed #(+ #parts)*)
    }

    /// Checks for a value of type `ty` given by the expression `v` (a reference), at the
    /// JSON pointer `path` (a `&str` or `&String` expression).
    pub(crate) fn checks_for(
        &self,
        ty: &Ty,
        v: TokenStream,
        path: TokenStream,
        depth: usize,
    ) -> TokenStream {
        let rt = self.runtime();
        let mut code = TokenStream::new();
        match &ty.kind {
            TyKind::Prim(p) => code.extend(self.prim_checks(*p, &ty.checks, &v, &path)),
            TyKind::Named(e) => {
                if let EntryKind::Alias(inner) = &self.entries[*e].kind {
                    code.extend(self.checks_for(inner, v.clone(), path.clone(), depth));
                } else if self.validating_entries()[*e] {
                    code.extend(quote!(#rt::Validate::validate_at(#v, #path, out);));
                }
                for check in &ty.checks {
                    code.extend(self.generic_check(check, &v, &path));
                }
            }
            TyKind::Option(inner) => {
                let x = format_ident!("__v{depth}");
                let inner = self.checks_for(inner, quote!(#x), path, depth + 1);
                if !inner.is_empty() {
                    code.extend(quote!(if let ::std::option::Option::Some(#x) = #v { #inner }));
                }
            }
            TyKind::Box(inner) => {
                // `Box<T>` validates as `T` does.
                if super::ty_validates(inner, &self.validating_entries()) {
                    code.extend(quote!(#rt::Validate::validate_at(#v, #path, out);));
                }
            }
            TyKind::Vec(item) => {
                let counts: Vec<TokenStream> = ty
                    .checks
                    .iter()
                    .map(|c| self.count_check(c, path.clone()))
                    .filter(|c| !c.is_empty())
                    .collect();
                if !counts.is_empty() {
                    code.extend(quote!({ let __len = #v.len(); #(#counts)* }));
                }
                if ty.checks.contains(&Check::UniqueItems) {
                    code.extend(self.unique_check(&v, &path, depth));
                }
                let (i, x, p) = (
                    format_ident!("__i{depth}"),
                    format_ident!("__v{depth}"),
                    format_ident!("__p{depth}"),
                );
                let inner = self.checks_for(item, quote!(#x), quote!(&#p), depth + 1);
                if !inner.is_empty() {
                    code.extend(quote! {
                        for (#i, #x) in #v.iter().enumerate() {
                            let #p = #rt::validate::child_path(#path, #i);
                            #inner
                        }
                    });
                }
            }
            TyKind::Map(value) => {
                let counts: Vec<TokenStream> = ty
                    .checks
                    .iter()
                    .map(|c| self.count_check(c, path.clone()))
                    .filter(|c| !c.is_empty())
                    .collect();
                if !counts.is_empty() {
                    code.extend(quote!({ let __len = #v.len(); #(#counts)* }));
                }
                for check in &ty.checks {
                    if let Check::KeyPattern(pattern) = check {
                        code.extend(self.key_pattern_check(pattern, &v, &path));
                    }
                }
                let (k, x, p) = (
                    format_ident!("__k{depth}"),
                    format_ident!("__v{depth}"),
                    format_ident!("__p{depth}"),
                );
                let inner = self.checks_for(value, quote!(#x), quote!(&#p), depth + 1);
                if !inner.is_empty() {
                    code.extend(quote! {
                        for (#k, #x) in #v {
                            let #p = #rt::validate::child_path(#path, #k);
                            #inner
                        }
                    });
                }
            }
            TyKind::Tuple(elems) => {
                for (i, elem) in elems.iter().enumerate() {
                    let index = syn::Index::from(i);
                    let (p, x) = (format_ident!("__p{depth}"), format_ident!("__v{depth}"));
                    let inner = self.checks_for(elem, quote!(#x), quote!(&#p), depth + 1);
                    if !inner.is_empty() {
                        code.extend(quote! {
                            {
                                let #p = #rt::validate::child_path(#path, #i);
                                let #x = &#v.#index;
                                #inner
                            }
                        });
                    }
                }
            }
        }
        code
    }

    fn violation(&self, path: &TokenStream, message: TokenStream) -> TokenStream {
        let rt = self.runtime();
        quote! {
            out.push(#rt::Violation {
                path: ::std::string::String::from(#path),
                message: #message,
            });
        }
    }

    /// A fixed message.
    fn fixed(&self, path: &TokenStream, message: &str) -> TokenStream {
        self.violation(path, quote!(::std::string::String::from(#message)))
    }

    /// A message formatted at run time (`template` may name local variables).
    fn formatted(&self, path: &TokenStream, template: &str) -> TokenStream {
        self.violation(path, quote!(::std::format!(#template)))
    }

    /// The checks of a primitive value, sharing one binding of the value.
    fn prim_checks(
        &self,
        p: Prim,
        checks: &[Check],
        v: &TokenStream,
        path: &TokenStream,
    ) -> TokenStream {
        let (binding, bodies): (TokenStream, Vec<TokenStream>) = match p {
            Prim::String => (
                quote!(let __s: &str = #v;),
                checks
                    .iter()
                    .map(|c| self.string_check(c, v, path))
                    .collect(),
            ),
            p if p.is_integer() || p.is_float() => (
                quote!(let __x = *#v;),
                checks
                    .iter()
                    .map(|c| self.number_check(c, v, path, p))
                    .collect(),
            ),
            Prim::Value => (
                quote!(),
                checks
                    .iter()
                    .map(|c| self.value_check(c, v, path))
                    .collect(),
            ),
            _ => (
                quote!(),
                checks
                    .iter()
                    .map(|c| self.generic_check(c, v, path))
                    .collect(),
            ),
        };
        if bodies.iter().all(TokenStream::is_empty) {
            return quote!();
        }
        if binding.is_empty() {
            return quote!(#(#bodies)*);
        }
        quote!({ #binding #(#bodies)* })
    }

    /// A check on a string bound to `__s` (`v` is the value's expression).
    fn string_check(&self, check: &Check, v: &TokenStream, path: &TokenStream) -> TokenStream {
        let rt = self.runtime();
        let body = match check {
            Check::MinLength(n) => {
                let lit = Literal::u64_unsuffixed(*n);
                let push = self.formatted(
                    path,
                    &format!(
                        "must be at least {n} {} long (is {{__n}})",
                        plural(*n, "character")
                    ),
                );
                quote!(let __n = __s.chars().count(); if __n < #lit { #push })
            }
            Check::MaxLength(n) => {
                let lit = Literal::u64_unsuffixed(*n);
                let push = self.formatted(
                    path,
                    &format!(
                        "must be at most {n} {} long (is {{__n}})",
                        plural(*n, "character")
                    ),
                );
                quote!(let __n = __s.chars().count(); if __n > #lit { #push })
            }
            Check::Pattern(pattern) => {
                let push = self.fixed(path, &format!("must match the pattern `{pattern}`"));
                with_regex(&rt, pattern, quote!(if !__re.is_match(__s) { #push }))
            }
            Check::Format(f) => {
                let checker = format_ident!("{}", f.checker());
                let push = self.fixed(path, &format!("must be {}", f.what()));
                quote!(if !#rt::schema::#checker(__s) { #push })
            }
            Check::Enum(values) if values.iter().all(Value::is_string) => {
                let strs = values.iter().filter_map(Value::as_str);
                let push = self.fixed(path, &one_of_message(values));
                quote!(if ![#(#strs),*].contains(&__s) { #push })
            }
            Check::Const(Value::String(c)) => {
                let push = self.fixed(path, &format!("must be {}", Value::String(c.clone())));
                quote!(if __s != #c { #push })
            }
            Check::Enum(_) | Check::Const(_) => self.generic_check(check, v, path),
            _ => quote!(),
        };
        quote!(#body)
    }

    /// A check on a number bound to `__x` (`v` is the value's expression, a reference).
    fn number_check(
        &self,
        check: &Check,
        v: &TokenStream,
        path: &TokenStream,
        prim: Prim,
    ) -> TokenStream {
        let integer = prim.is_integer();
        // Integers compare exactly as i128 (which holds every i64 and u64) when the
        // bound is whole, floats as f64.
        let exact = |b: f64| integer && b.fract() == 0.0 && b.abs() < 1e36;
        let as_exact = quote!(i128::from(__x));
        let as_float = match prim {
            Prim::F64 => quote!(__x),
            Prim::F32 => quote!(f64::from(__x)),
            _ => quote!((__x as f64)),
        };
        let bound = |b: f64| -> (TokenStream, TokenStream) {
            if exact(b) {
                let lit = Literal::i128_unsuffixed(b as i128);
                (as_exact.clone(), quote!(#lit))
            } else {
                let lit = Literal::f64_suffixed(b);
                (as_float.clone(), quote!(#lit))
            }
        };
        match check {
            Check::Minimum {
                bound: b,
                exclusive,
            } => {
                let (value, lit) = bound(*b);
                let (cmp, words) = if *exclusive {
                    (quote!(<=), "greater than")
                } else {
                    (quote!(<), "at least")
                };
                let push =
                    self.formatted(path, &format!("must be {words} {} (is {{__x}})", num(*b)));
                quote!(if #value #cmp #lit { #push })
            }
            Check::Maximum {
                bound: b,
                exclusive,
            } => {
                let (value, lit) = bound(*b);
                let (cmp, words) = if *exclusive {
                    (quote!(>=), "less than")
                } else {
                    (quote!(>), "at most")
                };
                let push =
                    self.formatted(path, &format!("must be {words} {} (is {{__x}})", num(*b)));
                quote!(if #value #cmp #lit { #push })
            }
            Check::MultipleOf(m) => {
                let push = self.formatted(
                    path,
                    &format!("must be a multiple of {} (is {{__x}})", num(*m)),
                );
                if exact(*m) {
                    let lit = Literal::i128_unsuffixed(*m as i128);
                    quote!(if #as_exact % #lit != 0 { #push })
                } else {
                    let lit = Literal::f64_suffixed(*m);
                    quote! {
                        let __q = #as_float / #lit;
                        if (__q - __q.round()).abs() > 1e-9 { #push }
                    }
                }
            }
            Check::Enum(values) if integer && values.iter().all(is_whole) => {
                let lits = values
                    .iter()
                    .filter_map(whole)
                    .map(Literal::i128_unsuffixed);
                let push = self.fixed(path, &one_of_message(values));
                quote!(if ![#(#lits),*].contains(&#as_exact) { #push })
            }
            Check::Const(c) if integer && is_whole(c) => {
                let lit = Literal::i128_unsuffixed(whole(c).unwrap_or_default());
                let push = self.fixed(path, &format!("must be {c}"));
                quote!(if #as_exact != #lit { #push })
            }
            Check::Enum(_) | Check::Const(_) => self.generic_check(check, v, path),
            _ => quote!(),
        }
    }

    /// Checks on a `serde_json::Value`: each applies when the value has the right type.
    fn value_check(&self, check: &Check, v: &TokenStream, path: &TokenStream) -> TokenStream {
        match check {
            Check::MinLength(_) | Check::MaxLength(_) | Check::Pattern(_) | Check::Format(_) => {
                let inner = self.string_check(check, v, path);
                quote!(if let ::std::option::Option::Some(__s) = #v.as_str() { #inner })
            }
            Check::Minimum { .. } | Check::Maximum { .. } | Check::MultipleOf(_) => {
                let inner = self.number_check(check, v, path, Prim::F64);
                quote!(if let ::std::option::Option::Some(__x) = #v.as_f64() { #inner })
            }
            Check::MinItems(_) | Check::MaxItems(_) => {
                let inner = self.count_check(check, path.clone());
                quote!(if let ::std::option::Option::Some(__arr) = #v.as_array() { let __len = __arr.len(); #inner })
            }
            Check::MinProperties(_) | Check::MaxProperties(_) => {
                let inner = self.count_check(check, path.clone());
                quote!(if let ::std::option::Option::Some(__obj) = #v.as_object() { let __len = __obj.len(); #inner })
            }
            Check::Enum(values) => {
                let allowed = values.iter().map(|x| self.json_tokens(x));
                let push = self.fixed(path, &one_of_message(values));
                quote!(if ![#(#allowed),*].contains(#v) { #push })
            }
            Check::Const(c) => {
                let expected = self.json_tokens(c);
                let push = self.fixed(path, &format!("must be {c}"));
                quote!(if *#v != #expected { #push })
            }
            _ => quote!(),
        }
    }

    /// `enum`/`const` for any serializable value: compared as JSON.
    fn generic_check(&self, check: &Check, v: &TokenStream, path: &TokenStream) -> TokenStream {
        let rt = self.runtime();
        let (test, message) = match check {
            Check::Enum(values) => {
                let allowed = values.iter().map(|x| self.json_tokens(x));
                (
                    quote!(![#(#allowed),*].contains(&__j)),
                    one_of_message(values),
                )
            }
            Check::Const(c) => {
                let expected = self.json_tokens(c);
                (quote!(__j != #expected), format!("must be {c}"))
            }
            _ => return quote!(),
        };
        let push = self.fixed(path, &message);
        quote! {
            {
                let __j = #rt::__private::serde_json::to_value(#v).unwrap_or_default();
                if #test { #push }
            }
        }
    }

    /// A check on a count (items of an array, properties of an object) bound to `__len`.
    fn count_check(&self, check: &Check, path: TokenStream) -> TokenStream {
        let (n, cmp, template) = match check {
            Check::MinItems(n) => (
                *n,
                quote!(<),
                format!(
                    "must have at least {n} {} (has {{__len}})",
                    plural(*n, "item")
                ),
            ),
            Check::MaxItems(n) => (
                *n,
                quote!(>),
                format!(
                    "must have at most {n} {} (has {{__len}})",
                    plural(*n, "item")
                ),
            ),
            Check::MinProperties(n) => (
                *n,
                quote!(<),
                format!(
                    "must have at least {n} {} (has {{__len}})",
                    if *n == 1 { "property" } else { "properties" }
                ),
            ),
            Check::MaxProperties(n) => (
                *n,
                quote!(>),
                format!(
                    "must have at most {n} {} (has {{__len}})",
                    if *n == 1 { "property" } else { "properties" }
                ),
            ),
            _ => return quote!(),
        };
        let lit = Literal::u64_unsuffixed(n);
        let push = self.formatted(&path, &template);
        quote!(if __len #cmp #lit { #push })
    }

    fn unique_check(&self, v: &TokenStream, path: &TokenStream, depth: usize) -> TokenStream {
        let rt = self.runtime();
        let (i, x) = (format_ident!("__i{depth}"), format_ident!("__v{depth}"));
        let p = format_ident!("__p{depth}");
        let push = self.fixed(&quote!(&#p), "must not repeat an earlier item");
        quote! {
            for (#i, #x) in #v.iter().enumerate() {
                if #v[..#i].contains(#x) {
                    let #p = #rt::validate::child_path(#path, #i);
                    #push
                }
            }
        }
    }

    fn key_pattern_check(&self, pattern: &str, v: &TokenStream, path: &TokenStream) -> TokenStream {
        let rt = self.runtime();
        let push = self.fixed(
            &quote!(&__pk),
            &format!("property name must match the pattern `{pattern}`"),
        );
        let body = quote! {
            for __key in #v.keys() {
                if !__re.is_match(__key) {
                    let __pk = #rt::validate::child_path(#path, __key);
                    #push
                }
            }
        };
        with_regex(&rt, pattern, body)
    }

    /// A `serde_json::json!` expression for `value`.
    fn json_tokens(&self, value: &Value) -> TokenStream {
        let rt = self.runtime();
        let inner = json_macro_input(value);
        quote!(#rt::__private::serde_json::json!(#inner))
    }
}

/// `body` run with the compiled `pattern` as `__re` (compiled once; a pattern the regex
/// engine rejects was reported at generation time and is never emitted).
fn with_regex(rt: &TokenStream, pattern: &str, body: TokenStream) -> TokenStream {
    // The regex lives in a nested function so that it is compiled once even when this
    // check sits in a loop over items.
    quote! {
        {
            fn __regex() -> ::std::option::Option<&'static #rt::__private::regex::Regex> {
                static RE: ::std::sync::OnceLock<::std::option::Option<#rt::__private::regex::Regex>> =
                    ::std::sync::OnceLock::new();
                RE.get_or_init(|| #rt::__private::regex::Regex::new(#pattern).ok()).as_ref()
            }
            if let ::std::option::Option::Some(__re) = __regex() {
                #body
            }
        }
    }
}

fn json_macro_input(value: &Value) -> TokenStream {
    match value {
        Value::Null => quote!(null),
        Value::Bool(b) => quote!(#b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let lit = Literal::i64_unsuffixed(i);
                quote!(#lit)
            } else if let Some(u) = n.as_u64() {
                let lit = Literal::u64_unsuffixed(u);
                quote!(#lit)
            } else {
                let lit = Literal::f64_unsuffixed(n.as_f64().unwrap_or_default());
                quote!(#lit)
            }
        }
        Value::String(s) => quote!(#s),
        Value::Array(items) => {
            let items = items.iter().map(json_macro_input);
            quote!([#(#items),*])
        }
        Value::Object(map) => {
            let entries = map.iter().map(|(k, v)| {
                let v = json_macro_input(v);
                quote!(#k: #v)
            });
            quote!({ #(#entries),* })
        }
    }
}

fn one_of_message(values: &[Value]) -> String {
    let list: Vec<String> = values.iter().map(Value::to_string).collect();
    format!("must be one of {}", list.join(", "))
}

fn is_whole(v: &Value) -> bool {
    whole(v).is_some()
}

fn whole(v: &Value) -> Option<i128> {
    v.as_i64()
        .map(i128::from)
        .or_else(|| v.as_u64().map(i128::from))
}

/// A bound as people write it: `5`, not `5.0`.
fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}
