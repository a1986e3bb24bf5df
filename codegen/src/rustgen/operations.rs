//! The `operations` module: the per-operation contract types shared by the client and
//! the worker — subject parameters (a struct per operation, an enum per enumerated
//! parameter), payload/reply enums for operations with several messages, and the typed
//! error enum of every operation with error replies.

use proc_macro2::TokenStream;
use quote::quote;

use crate::rustgen::model::{
    doc_attrs, doc_text, ErrorModel, Model, OpModel, ParamKind, ParamModel, Shape,
};

pub fn emit(model: &Model) -> TokenStream {
    let items = model.jobs.iter().chain(&model.events).map(|op| {
        let params = params(op);
        let payload = one_of(model, &op.payload, &op.op.id, "request");
        let reply = one_of(model, &op.reply, &op.op.id, "reply");
        let error = op.error.as_ref().map(|e| error_enum(model, op, e));
        quote! { #params #payload #reply #error }
    });
    quote! { #(#items)* }
}

fn params(op: &OpModel) -> TokenStream {
    let ident = &op.params_ident;
    let mut text = format!(
        "Subject parameters of `{}` (subject `{}`).",
        op.op.id,
        op.subject.template()
    );
    if let Some(partition) = &op.partition {
        text.push_str(&format!(
            " `{{{partition}}}` is not among them: the runtime computes it from the routing key."
        ));
    }
    let doc = doc_attrs(&text);
    let fields = op.params.iter().map(|p| {
        let field = &p.field;
        let ty = param_type(p);
        let doc = doc_attrs(&param_doc(p));
        quote! { #doc pub #field: #ty, }
    });
    let enums = op.params.iter().filter_map(param_enum);
    // The reading and checking rules are the runtime's (`typed::SubjectValues`,
    // `typed::subject_violations`); each body names the parameters.
    let assemble = if op.params.is_empty() {
        quote! {
            let _ = values;
            ::std::result::Result::Ok(#ident {})
        }
    } else {
        let read = op.params.iter().map(|p| {
            let field = &p.field;
            let name = &p.name;
            match &p.kind {
                ParamKind::Enum { ident, .. } => quote!(let #field = read.listed::<#ident>(#name);),
                ParamKind::Free { pattern } => {
                    let pattern = pattern_tokens(pattern);
                    quote!(let #field = read.free(#name, #pattern);)
                }
            }
        });
        let tuple = op.params.iter().map(|p| &p.field);
        let some = op.params.iter().map(|p| &p.field);
        let fields = op.params.iter().map(|p| &p.field);
        quote! {
            let mut read = ::jetwire::typed::SubjectValues::new(values);
            #(#read)*
            match (#(#tuple,)*) {
                (#(::std::option::Option::Some(#some),)*) => {
                    ::std::result::Result::Ok(#ident { #(#fields),* })
                }
                _ => ::std::result::Result::Err(read.into_violations()),
            }
        }
    };
    let free_checks: Vec<TokenStream> = op
        .params
        .iter()
        .filter_map(|p| match &p.kind {
            ParamKind::Free { pattern } => {
                let field = &p.field;
                let name = &p.name;
                let pattern = pattern_tokens(pattern);
                Some(quote!((#name, self.#field.as_str(), #pattern)))
            }
            ParamKind::Enum { .. } => None,
        })
        .collect();
    let violations_body = if free_checks.is_empty() {
        quote!(::std::vec::Vec::new())
    } else {
        quote!(::jetwire::typed::subject_violations(&[#(#free_checks),*]))
    };
    let values = op.params.iter().map(|p| {
        let field = &p.field;
        quote!(self.#field.as_str())
    });
    quote! {
        #doc
        #[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::cmp::PartialEq, ::std::cmp::Eq, ::std::hash::Hash)]
        pub struct #ident {
            #(#fields)*
        }

        impl #ident {
            /// Reads the parameters from a job's subject values (name, value), checking
            /// each against its enum or pattern and the subject token rules.
            pub fn from_subject_values(
                values: &[(&str, ::std::string::String)],
            ) -> ::std::result::Result<Self, ::std::vec::Vec<::jetwire::Violation>> {
                #assemble
            }

            /// Every way the values break the subject rules: not one NATS subject
            /// token, or not matching the parameter's pattern (enumerated parameters
            /// are valid by construction).
            pub fn violations(&self) -> ::std::vec::Vec<::jetwire::Violation> {
                #violations_body
            }

            /// The parameter values in subject template order.
            pub fn subject_values(&self) -> ::std::vec::Vec<&str> {
                ::std::vec![#(#values),*]
            }
        }

        #(#enums)*
    }
}

pub fn pattern_tokens(pattern: &Option<String>) -> TokenStream {
    match pattern {
        Some(p) => quote!(::std::option::Option::Some(#p)),
        None => quote!(::std::option::Option::None),
    }
}

/// The Rust type of a parameter as stored in the params struct.
pub fn param_type(p: &ParamModel) -> TokenStream {
    match &p.kind {
        ParamKind::Enum { ident, .. } => quote!(#ident),
        ParamKind::Free { .. } => quote!(::std::string::String),
    }
}

pub fn param_doc(p: &ParamModel) -> String {
    let mut doc = format!("`{{{}}}`", p.name);
    if let Some(d) = &p.description {
        doc.push_str(": ");
        doc.push_str(d.trim());
    }
    if let ParamKind::Free {
        pattern: Some(pattern),
    } = &p.kind
    {
        doc.push_str(&format!("\n\nMust match `{pattern}`."));
    }
    doc
}

fn param_enum(p: &ParamModel) -> Option<TokenStream> {
    let ParamKind::Enum { ident, variants } = &p.kind else {
        return None;
    };
    let name = &p.name;
    let doc = doc_attrs(&format!(
        "The values of the subject parameter `{{{name}}}`.{}",
        p.description
            .as_deref()
            .map(|d| format!("\n\n{}", d.trim()))
            .unwrap_or_default()
    ));
    let decl = variants.iter().map(|(v, value)| {
        let doc = doc_attrs(&format!("`{value}`"));
        quote!(#doc #v,)
    });
    let as_str = variants
        .iter()
        .map(|(v, value)| quote!(#ident::#v => #value,));
    let parse = variants
        .iter()
        .map(|(v, value)| quote!(#value => ::std::result::Result::Ok(#ident::#v),));
    let all = variants.iter().map(|(v, _)| quote!(#ident::#v));
    let expected = variants
        .iter()
        .map(|(_, value)| format!("'{value}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let err = format!("subject parameter '{name}' must be one of {expected} (is '{{}}')");
    let path = format!("{{{name}}}");
    Some(quote! {
        #doc
        #[derive(::std::fmt::Debug, ::std::clone::Clone, ::std::marker::Copy, ::std::cmp::PartialEq, ::std::cmp::Eq, ::std::hash::Hash, ::std::cmp::PartialOrd, ::std::cmp::Ord)]
        pub enum #ident {
            #(#decl)*
        }

        impl #ident {
            /// Every value, in document order.
            pub const ALL: &'static [#ident] = &[#(#all),*];

            /// The value as it appears in the subject.
            pub fn as_str(&self) -> &'static str {
                match self {
                    #(#as_str)*
                }
            }
        }

        impl ::std::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for #ident {
            type Err = ::jetwire::Violation;

            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    #(#parse)*
                    other => ::std::result::Result::Err(::jetwire::Violation {
                        path: #path.into(),
                        message: ::std::format!(#err, other),
                    }),
                }
            }
        }
    })
}

/// The untagged enum of an operation with several request (or reply) messages.
fn one_of(model: &Model, shape: &Shape, op_id: &str, role: &str) -> Option<TokenStream> {
    let Shape::OneOf { ident, variants } = shape else {
        return None;
    };
    let doc = doc_attrs(&format!(
        "One of the {role} messages of `{op_id}`: {}. Told apart by shape (the first \
         variant the JSON decodes into wins).",
        variants
            .iter()
            .map(|v| format!(
                "`{}`",
                crate::rustgen::model::message_name(&model.spec.messages[v.message.0])
            ))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let decl = variants.iter().map(|v| {
        let m = &model.spec.messages[v.message.0];
        let doc = doc_text(
            m.title.as_deref(),
            m.summary.as_deref(),
            m.description.as_deref(),
        )
        .map(|d| doc_attrs(&d));
        let vi = &v.ident;
        match &v.ty {
            Some(ty) => quote!(#doc #vi(#ty),),
            None => quote!(#doc #vi,),
        }
    });
    let validate = variants.iter().map(|v| {
        let vi = &v.ident;
        match &v.ty {
            Some(_) => quote!(#ident::#vi(v) => ::jetwire::Validate::validate_at(v, path, out),),
            None => quote!(#ident::#vi => {}),
        }
    });
    Some(quote! {
        #doc
        #[derive(::std::fmt::Debug, ::std::clone::Clone, ::jetwire::__private::serde::Serialize, ::jetwire::__private::serde::Deserialize)]
        #[serde(crate = "::jetwire::__private::serde", untagged)]
        pub enum #ident {
            #(#decl)*
        }

        impl ::jetwire::Validate for #ident {
            fn validate_at(&self, path: &str, out: &mut ::std::vec::Vec<::jetwire::Violation>) {
                match self {
                    #(#validate)*
                }
            }
        }
    })
}

fn error_enum(model: &Model, op: &OpModel, e: &ErrorModel) -> TokenStream {
    let ident = &e.ident;
    let doc = doc_attrs(&format!(
        "The typed errors of `{}`: the handler returns one with \
         `HandlerError::Failed`, the client gets it back in `JobError::Failed`.",
        op.op.id
    ));
    let decl = e.variants.iter().map(|v| {
        let m = &model.spec.messages[v.message.0];
        let text = doc_text(
            m.title.as_deref(),
            m.summary.as_deref(),
            m.description.as_deref(),
        )
        .unwrap_or_else(|| format!("The error message `{}`.", v.code));
        let doc = doc_attrs(&text);
        let vi = &v.ident;
        match &v.ty {
            Some(ty) => quote!(#doc #vi(#ty),),
            None => quote!(#doc #vi,),
        }
    });
    let code = e.variants.iter().map(|v| {
        let vi = &v.ident;
        let code = &v.code;
        match &v.ty {
            Some(_) => quote!(#ident::#vi(_) => #code,),
            None => quote!(#ident::#vi => #code,),
        }
    });
    let message = e.variants.iter().map(|v| {
        let m = &model.spec.messages[v.message.0];
        let vi = &v.ident;
        let text = m
            .summary
            .as_deref()
            .or(m.title.as_deref())
            .map(str::trim)
            .unwrap_or(&v.code)
            .to_string();
        match &v.ty {
            Some(_) => quote!(#ident::#vi(_) => #text,),
            None => quote!(#ident::#vi => #text,),
        }
    });
    let details = e.variants.iter().map(|v| {
        let vi = &v.ident;
        match &v.ty {
            Some(_) => quote! {
                #ident::#vi(v) => ::jetwire::__private::serde_json::to_value(v)
                    .unwrap_or(::jetwire::__private::serde_json::Value::Null),
            },
            None => quote!(#ident::#vi => ::jetwire::__private::serde_json::Value::Null,),
        }
    });
    let from_failure = e.variants.iter().map(|v| {
        let vi = &v.ident;
        let code = &v.code;
        match &v.ty {
            Some(_) => quote! {
                #code => ::jetwire::__private::serde_json::from_value(details.clone())
                    .ok()
                    .map(#ident::#vi),
            },
            None => quote!(#code => ::std::option::Option::Some(#ident::#vi),),
        }
    });
    quote! {
        #doc
        #[derive(::std::fmt::Debug, ::std::clone::Clone)]
        pub enum #ident {
            #(#decl)*
        }

        impl #ident {
            fn summary(&self) -> &'static str {
                match self {
                    #(#message)*
                }
            }
        }

        impl ::jetwire::TypedError for #ident {
            fn code(&self) -> &'static str {
                match self {
                    #(#code)*
                }
            }

            fn message(&self) -> ::std::string::String {
                ::std::string::ToString::to_string(self.summary())
            }

            fn details(&self) -> ::jetwire::__private::serde_json::Value {
                match self {
                    #(#details)*
                }
            }

            fn from_failure(
                code: &str,
                details: &::jetwire::__private::serde_json::Value,
            ) -> ::std::option::Option<Self> {
                match code {
                    #(#from_failure)*
                    _ => ::std::option::Option::None,
                }
            }
        }

        impl ::std::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let code = ::jetwire::TypedError::code(self);
                let summary = self.summary();
                if code == summary {
                    f.write_str(code)
                } else {
                    ::std::write!(f, "{}: {}", code, summary)
                }
            }
        }

        impl ::std::error::Error for #ident {}
    }
}
