//! The generated `Validate` implementations: one call of a runtime check function
//! (`<runtime>::validate::min_length`, ...) per constraint, and recursion into fields,
//! items, map values and variants. Locations are `<runtime>::validate::Loc` values
//! (`__at` for the value itself, `__p` for a field, `__p1`, `__p2`, ... for items and
//! entries below it), so a JSON pointer is only built when a violation is recorded or a
//! nested type's `validate_at` needs one; the messages are the runtime's. A regex is a
//! `<runtime>::pattern!("...")`, compiled once; a type without checks gets an empty
//! impl (the trait's default `validate_at` checks nothing).

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
                let inner = self.checks_for(ty, quote!(__f), quote!(__at), 1);
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
                    let checks: Vec<TokenStream> = def
                        .checks
                        .iter()
                        .map(|c| self.count_check(c, &quote!(__at), &quote!(__len)))
                        .collect();
                    body.extend(if checks.len() == 1 {
                        self.count_check(&def.checks[0], &quote!(__at), &count)
                    } else {
                        quote!(let __len = #count; #(#checks)*)
                    });
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
                    let code = self.checks_for(&v.ty, quote!(__v), quote!(__at), 1);
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
        if body.is_empty() {
            // The trait's default checks nothing.
            return quote!(impl #rt::Validate for #name {});
        }
        quote! {
            impl #rt::Validate for #name {
                fn validate_at(&self, path: &str, out: &mut ::std::vec::Vec<#rt::Violation>) {
                    let __at = #rt::validate::Loc::root(path);
                    #body
                }
            }
        }
    }

    /// The checks of one field whose value is `value` (a reference expression: `&self.x`
    /// or a binding from a variant pattern).
    fn field_checks(&self, f: &Field, value: TokenStream) -> TokenStream {
        if f.mode == FieldMode::Flatten {
            // The flattened properties sit directly in this object.
            let inner = self.checks_for(&f.ty, quote!(__f), quote!(__at), 1);
            if inner.is_empty() {
                return inner;
            }
            return quote!(let __f = #value; #inner);
        }
        // An optional field binds its value in the `if let` itself.
        let (ty, optional) = match &f.ty.kind {
            TyKind::Option(inner) => (&**inner, true),
            _ => (&f.ty, false),
        };
        let inner = self.checks_for(ty, quote!(__f), quote!(__p), 1);
        if inner.is_empty() {
            return inner;
        }
        let json = &f.json_name;
        // No block of its own: the next field's bindings shadow these.
        let checks = if optional {
            quote!(if let ::std::option::Option::Some(__f) = #value { #inner })
        } else {
            quote!(let __f = #value; #inner)
        };
        quote! {
            let __p = __at.key(#json);
            #checks
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
    /// location `at` (an identifier bound to a `Loc`).
    pub(crate) fn checks_for(
        &self,
        ty: &Ty,
        v: TokenStream,
        at: TokenStream,
        depth: usize,
    ) -> TokenStream {
        let rt = self.runtime();
        let mut code = TokenStream::new();
        match &ty.kind {
            TyKind::Prim(p) => code.extend(self.prim_checks(*p, &ty.checks, &v, &at)),
            TyKind::Named(e) => {
                if let EntryKind::Alias(inner) = &self.entries[*e].kind {
                    code.extend(self.checks_for(inner, v.clone(), at.clone(), depth));
                } else if self.validating_entries()[*e] {
                    code.extend(quote!(#rt::Validate::validate_at(#v, &#at.path(), out);));
                }
                for check in &ty.checks {
                    code.extend(self.generic_check(check, &v, &at));
                }
            }
            TyKind::Option(inner) => {
                let x = format_ident!("__v{depth}");
                let inner = self.checks_for(inner, quote!(#x), at, depth + 1);
                if !inner.is_empty() {
                    code.extend(quote!(if let ::std::option::Option::Some(#x) = #v { #inner }));
                }
            }
            TyKind::Box(inner) => {
                // `Box<T>` validates as `T` does.
                if super::ty_validates(inner, self.validating_entries()) {
                    code.extend(quote!(#rt::Validate::validate_at(#v, &#at.path(), out);));
                }
            }
            TyKind::Vec(item) => {
                let len = quote!(#v.len());
                for check in &ty.checks {
                    code.extend(self.count_check(check, &at, &len));
                }
                if ty.checks.contains(&Check::UniqueItems) {
                    code.extend(quote!(#rt::validate::unique_items(#at, #v, out);));
                }
                let (i, x, p) = (
                    format_ident!("__i{depth}"),
                    format_ident!("__v{depth}"),
                    format_ident!("__p{depth}"),
                );
                let inner = self.checks_for(item, quote!(#x), quote!(#p), depth + 1);
                if !inner.is_empty() {
                    code.extend(quote! {
                        for (#i, #x) in #v.iter().enumerate() {
                            let #p = #at.index(#i);
                            #inner
                        }
                    });
                }
            }
            TyKind::Map(value) => {
                let len = quote!(#v.len());
                for check in &ty.checks {
                    code.extend(self.count_check(check, &at, &len));
                }
                for check in &ty.checks {
                    if let Check::KeyPattern(pattern) = check {
                        code.extend(quote! {
                            #rt::validate::key_pattern(#at, #v.keys(), #rt::pattern!(#pattern), out);
                        });
                    }
                }
                let (k, x, p) = (
                    format_ident!("__k{depth}"),
                    format_ident!("__v{depth}"),
                    format_ident!("__p{depth}"),
                );
                let inner = self.checks_for(value, quote!(#x), quote!(#p), depth + 1);
                if !inner.is_empty() {
                    code.extend(quote! {
                        for (#k, #x) in #v {
                            let #p = #at.key(#k);
                            #inner
                        }
                    });
                }
            }
            TyKind::Tuple(elems) => {
                for (i, elem) in elems.iter().enumerate() {
                    let index = syn::Index::from(i);
                    let (p, x) = (format_ident!("__p{depth}"), format_ident!("__v{depth}"));
                    let inner = self.checks_for(elem, quote!(#x), quote!(#p), depth + 1);
                    if !inner.is_empty() {
                        code.extend(quote! {
                            {
                                let #p = #at.index(#i);
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

    /// The checks of a primitive value.
    fn prim_checks(
        &self,
        p: Prim,
        checks: &[Check],
        v: &TokenStream,
        at: &TokenStream,
    ) -> TokenStream {
        let x = quote!(*#v);
        checks
            .iter()
            .map(|c| match p {
                Prim::String => self.string_check(c, v, at),
                p if p.is_integer() || p.is_float() => self.number_check(c, &x, v, at, p),
                Prim::Value => self.value_check(c, v, at),
                _ => self.generic_check(c, v, at),
            })
            .collect()
    }

    /// A check on a string: `s` is a `&str` (or `&String`) expression.
    fn string_check(&self, check: &Check, s: &TokenStream, at: &TokenStream) -> TokenStream {
        let rt = self.runtime();
        match check {
            Check::MinLength(n) => {
                let lit = Literal::u64_unsuffixed(*n);
                quote!(#rt::validate::min_length(#at, #s, #lit, out);)
            }
            Check::MaxLength(n) => {
                let lit = Literal::u64_unsuffixed(*n);
                quote!(#rt::validate::max_length(#at, #s, #lit, out);)
            }
            Check::Pattern(pattern) => {
                quote!(#rt::validate::pattern(#at, #s, #rt::pattern!(#pattern), out);)
            }
            Check::Format(f) => {
                let checker = format_ident!("{}", f.checker());
                let what = f.what();
                quote!(#rt::validate::format(#at, #s, #rt::schema::#checker, #what, out);)
            }
            Check::Enum(values) if values.iter().all(Value::is_string) => {
                let strs = values.iter().filter_map(Value::as_str);
                quote!(#rt::validate::one_of_str(#at, #s, &[#(#strs),*], out);)
            }
            Check::Const(Value::String(c)) => {
                quote!(#rt::validate::const_str(#at, #s, #c, out);)
            }
            Check::Enum(_) | Check::Const(_) => self.generic_check(check, s, at),
            _ => quote!(),
        }
    }

    /// A check on a number: `x` is the value's expression (by value), `v` a reference to
    /// it (for the checks that compare JSON).
    fn number_check(
        &self,
        check: &Check,
        x: &TokenStream,
        v: &TokenStream,
        at: &TokenStream,
        prim: Prim,
    ) -> TokenStream {
        let rt = self.runtime();
        let integer = prim.is_integer();
        // Integers compare exactly as i128 (which holds every i64 and u64) when the
        // bound is whole, floats as f64.
        let exact = |b: f64| integer && b.fract() == 0.0 && b.abs() < 1e36;
        // The function (`int_*` or `float_*`) and the bound's literal.
        let bound = |name: &str, b: f64| -> (proc_macro2::Ident, TokenStream) {
            if exact(b) {
                let lit = Literal::i128_unsuffixed(b as i128);
                (format_ident!("int_{name}"), quote!(#lit))
            } else {
                let lit = Literal::f64_suffixed(b);
                (format_ident!("float_{name}"), quote!(#lit))
            }
        };
        match check {
            Check::Minimum {
                bound: b,
                exclusive,
            } => {
                let (f, lit) = bound("minimum", *b);
                quote!(#rt::validate::#f(#at, #x, #lit, #exclusive, out);)
            }
            Check::Maximum {
                bound: b,
                exclusive,
            } => {
                let (f, lit) = bound("maximum", *b);
                quote!(#rt::validate::#f(#at, #x, #lit, #exclusive, out);)
            }
            Check::MultipleOf(m) => {
                let (f, lit) = bound("multiple_of", *m);
                quote!(#rt::validate::#f(#at, #x, #lit, out);)
            }
            Check::Enum(values) if integer && values.iter().all(is_whole) => {
                let lits = values
                    .iter()
                    .filter_map(whole)
                    .map(Literal::i128_unsuffixed);
                quote!(#rt::validate::one_of_int(#at, #x, &[#(#lits),*], out);)
            }
            Check::Const(c) if integer && is_whole(c) => {
                let lit = Literal::i128_unsuffixed(whole(c).unwrap_or_default());
                quote!(#rt::validate::const_int(#at, #x, #lit, out);)
            }
            Check::Enum(_) | Check::Const(_) => self.generic_check(check, v, at),
            _ => quote!(),
        }
    }

    /// Checks on a `serde_json::Value`: each applies when the value has the right type.
    fn value_check(&self, check: &Check, v: &TokenStream, at: &TokenStream) -> TokenStream {
        match check {
            Check::MinLength(_) | Check::MaxLength(_) | Check::Pattern(_) | Check::Format(_) => {
                let inner = self.string_check(check, &quote!(__s), at);
                quote!(if let ::std::option::Option::Some(__s) = #v.as_str() { #inner })
            }
            Check::Minimum { .. } | Check::Maximum { .. } | Check::MultipleOf(_) => {
                let inner = self.number_check(check, &quote!(__x), v, at, Prim::F64);
                quote!(if let ::std::option::Option::Some(__x) = #v.as_f64() { #inner })
            }
            Check::MinItems(_) | Check::MaxItems(_) => {
                let inner = self.count_check(check, at, &quote!(__arr.len()));
                quote!(if let ::std::option::Option::Some(__arr) = #v.as_array() { #inner })
            }
            Check::MinProperties(_) | Check::MaxProperties(_) => {
                let inner = self.count_check(check, at, &quote!(__obj.len()));
                quote!(if let ::std::option::Option::Some(__obj) = #v.as_object() { #inner })
            }
            Check::Enum(_) | Check::Const(_) => self.generic_check(check, v, at),
            _ => quote!(),
        }
    }

    /// `enum`/`const` for any serializable value (`v`, a reference): compared as JSON.
    fn generic_check(&self, check: &Check, v: &TokenStream, at: &TokenStream) -> TokenStream {
        let rt = self.runtime();
        match check {
            Check::Enum(values) => {
                let allowed = values.iter().map(|x| self.json_tokens(x));
                let message = one_of_message(values);
                quote!(#rt::validate::one_of_json(#at, #v, &[#(#allowed),*], #message, out);)
            }
            Check::Const(c) => {
                let expected = self.json_tokens(c);
                let message = format!("must be {c}");
                quote!(#rt::validate::const_json(#at, #v, &#expected, #message, out);)
            }
            _ => quote!(),
        }
    }

    /// A check on a count (items of an array, properties of an object) given by the
    /// `usize` expression `len`; nothing for other checks.
    fn count_check(&self, check: &Check, at: &TokenStream, len: &TokenStream) -> TokenStream {
        let rt = self.runtime();
        let (f, n) = match check {
            Check::MinItems(n) => (quote!(min_items), n),
            Check::MaxItems(n) => (quote!(max_items), n),
            Check::MinProperties(n) => (quote!(min_properties), n),
            Check::MaxProperties(n) => (quote!(max_properties), n),
            _ => return quote!(),
        };
        let lit = Literal::u64_unsuffixed(*n);
        quote!(#rt::validate::#f(#at, #len, #lit, out);)
    }

    /// A `serde_json::json!` expression for `value`.
    fn json_tokens(&self, value: &Value) -> TokenStream {
        let rt = self.runtime();
        let inner = json_macro_input(value);
        quote!(#rt::__private::serde_json::json!(#inner))
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
