//! The `client` module (the producer side): a typed `Client` with, per job operation, a
//! waiting call, a call with options, and a non-waiting submit returning a typed handle;
//! per event operation a typed subscription.

use proc_macro2::TokenStream;
use quote::quote;

use crate::rustgen::model::{doc_attrs, doc_text, Model, OpModel, ParamKind, ParamModel};
use crate::rustgen::operations::pattern_tokens;

pub fn emit(model: &Model) -> TokenStream {
    // One `impl Client` block per operation (and per JSON method): the same methods as
    // one block, but each block is a top-level item the formatter handles on its own.
    let jobs = model.jobs.iter().map(|op| {
        let methods = job_methods(op);
        quote!(impl Client { #methods })
    });
    let json = (!model.jobs.is_empty()).then(|| json_methods(model));
    let events = model.events.iter().map(|op| {
        let method = subscribe_method(op);
        quote!(impl Client { #method })
    });
    quote! {
        /// The typed job client: validates every request against the spec before
        /// publishing (a violation is `JobError::InvalidRequest` with every violation,
        /// and nothing is published), submits it through the jetwire protocol and
        /// decodes the reply and the typed errors.
        #[derive(::std::clone::Clone, ::std::fmt::Debug)]
        pub struct Client {
            inner: ::jetwire::client::Client,
            nats: ::jetwire::async_nats::Client,
        }

        impl Client {
                /// A client over an open NATS connection, for this crate's service. The
                /// service's resources must be provisioned (`jetwire::provision`).
                pub async fn new(
                    nats: ::jetwire::async_nats::Client,
                ) -> ::std::result::Result<Self, ::jetwire::JobError> {
                    let inner = ::jetwire::client::Client::new(nats.clone(), &super::service::SERVICE).await?;
                    ::std::result::Result::Ok(Client::from_runtime(inner, nats))
                }

                /// Wraps an untyped runtime client built for
                /// [`SERVICE`](super::service::SERVICE) and its NATS connection.
                pub fn from_runtime(
                    inner: ::jetwire::client::Client,
                    nats: ::jetwire::async_nats::Client,
                ) -> Self {
                    Client { inner, nats }
                }

                /// The untyped runtime client underneath.
                pub fn runtime(&self) -> &::jetwire::client::Client {
                    &self.inner
                }

                /// The NATS connection (event subscriptions use it).
                pub fn nats(&self) -> &::jetwire::async_nats::Client {
                    &self.nats
                }

                /// A handle for a job submitted earlier (by any client), by its request id.
                pub fn job<T, E>(&self, request_id: impl ::std::convert::Into<::std::string::String>) -> ::jetwire::typed::JobHandle<T, E>
                where
                    T: ::jetwire::__private::serde::de::DeserializeOwned,
                    E: ::jetwire::TypedError,
                {
                    ::jetwire::typed::JobHandle::from_request_id(self.inner.clone(), request_id)
                }

        }

        #(#jobs)*
        #json
        #(#events)*
    }
}

/// `call_json` / `submit_json` / `broadcast_json` (an `impl Client` block each): every
/// job operation by id, with JSON in and out, for callers that treat operations alike
/// (an HTTP gateway). They go through the typed methods, so validation is the same.
fn json_methods(model: &Model) -> TokenStream {
    let call_arms = model.jobs.iter().map(|op| json_arm(op, JsonMode::Call));
    let submit_arms = model.jobs.iter().map(|op| json_arm(op, JsonMode::Submit));
    let unknown = quote! {
        other => ::std::result::Result::Err(::jetwire::JobError::InvalidRequest(::std::vec![
            ::jetwire::Violation {
                path: ::std::string::String::new(),
                message: ::std::format!("no job operation '{}' in this service", other),
            },
        ])),
    };
    let broadcast = broadcast_json(model, &unknown);
    quote! {
        impl Client {
            /// Runs the job operation `operation` (its id in the spec) from JSON and waits
            /// for the reply, as JSON: subject parameter values by name, the request
            /// payload, typed headers from `options.headers`. Validated like the typed
            /// methods; typed errors come back as their stored failure.
            pub async fn call_json(
                &self,
                operation: &str,
                params: &[(&str, ::std::string::String)],
                payload: ::jetwire::__private::serde_json::Value,
                options: ::jetwire::typed::CallOptions,
            ) -> ::std::result::Result<::jetwire::__private::serde_json::Value, ::jetwire::JobError> {
                match operation {
                    #(#call_arms)*
                    #unknown
                }
            }
        }

        impl Client {
            /// Like [`call_json`](Self::call_json) without waiting: returns the request id
            /// (its record is then read with `runtime().get(..)` or a typed handle).
            pub async fn submit_json(
                &self,
                operation: &str,
                params: &[(&str, ::std::string::String)],
                payload: ::jetwire::__private::serde_json::Value,
                options: ::jetwire::typed::CallOptions,
            ) -> ::std::result::Result<::std::string::String, ::jetwire::JobError> {
                match operation {
                    #(#submit_arms)*
                    #unknown
                }
            }
        }

        #broadcast
    }
}

/// `broadcast_json`, when some job can be broadcast: [`json_methods`] for the `_all` form.
fn broadcast_json(model: &Model, unknown: &TokenStream) -> Option<TokenStream> {
    let can = |op: &&OpModel| op.target.as_ref().is_some_and(|t| t.broadcast.is_some());
    let arms: Vec<TokenStream> = model
        .jobs
        .iter()
        .filter(can)
        .map(|op| json_arm(op, JsonMode::Broadcast))
        .collect();
    if arms.is_empty() {
        return None;
    }
    let single: Vec<&str> = model
        .jobs
        .iter()
        .filter(|op| !can(op))
        .map(|op| op.op.id.as_str())
        .collect();
    let single = (!single.is_empty()).then(|| {
        quote! {
            #(#single)|* => ::std::result::Result::Err(::jetwire::JobError::InvalidRequest(::std::vec![
                ::jetwire::Violation {
                    path: ::std::string::String::new(),
                    message: ::std::format!(
                        "job operation '{}' cannot be broadcast: it has no target that admits '_all'",
                        operation
                    ),
                },
            ])),
        }
    });
    Some(quote! {
        impl Client {
            /// Like [`call_json`](Self::call_json) with the target `_all`: runs the job on
            /// every live worker and returns each worker's reply (as JSON) or error, waiting
            /// at most `options.timeout` (by default the operation's). `params` need not
            /// name the target; if they do, it must be `_all`. An operation without a target
            /// that admits `_all` is `JobError::InvalidRequest`.
            pub async fn broadcast_json(
                &self,
                operation: &str,
                params: &[(&str, ::std::string::String)],
                payload: ::jetwire::__private::serde_json::Value,
                options: ::jetwire::typed::CallOptions,
            ) -> ::std::result::Result<
                ::jetwire::typed::Broadcast<::jetwire::__private::serde_json::Value, ::jetwire::JobFailure>,
                ::jetwire::JobError,
            > {
                match operation {
                    #(#arms)*
                    #single
                    #unknown
                }
            }
        }
    })
}

#[derive(Clone, Copy, PartialEq)]
enum JsonMode {
    Call,
    Submit,
    Broadcast,
}

/// One operation's arm of a JSON method: the JSON decoded into the typed arguments (with
/// validation), the typed method called, its result turned back into JSON.
fn json_arm(op: &OpModel, mode: JsonMode) -> TokenStream {
    let id = &op.op.id;
    let params_ty = op.params_ty();
    let target = op.target.as_ref().map(|t| t.name.as_str());
    let skip = |p: &ParamModel| mode == JsonMode::Broadcast && Some(p.name.as_str()) == target;
    let mut args = TokenStream::new();
    let mut used = false;
    for p in op.params.iter().filter(|p| !skip(p)) {
        let field = &p.field;
        used = true;
        match &p.kind {
            ParamKind::Enum { .. } => args.extend(quote!(params.#field,)),
            ParamKind::Free { .. } => args.extend(quote!(&params.#field,)),
        }
    }
    let const_ident = &op.const_ident;
    let payload = if op.payload.is_unit() {
        quote!(let _ = payload;)
    } else {
        let ty = op.payload.ty();
        args.extend(quote!(&payload,));
        quote! {
            let payload: #ty = ::jetwire::typed::json_payload(
                &super::service::#const_ident,
                payload,
                &mut options,
            )?;
        }
    };
    let headers = op.headers.as_ref().map(|h| {
        args.extend(quote!(&headers,));
        quote!(let headers: #h = ::jetwire::typed::decode_headers(&options.headers)?;)
    });
    let bind = if used {
        quote!(let params)
    } else {
        quote!(let _)
    };
    let values = match (mode, target) {
        (JsonMode::Broadcast, Some(t)) => quote!(&::jetwire::typed::broadcast_params(params, #t)?),
        _ => quote!(params),
    };
    let call = match mode {
        JsonMode::Call => {
            let method = op.method("{}_with");
            quote!(::jetwire::typed::untyped_reply(self.#method(#args options).await))
        }
        JsonMode::Submit => {
            let method = op.method("submit_{}_with");
            quote!(::jetwire::typed::untyped_submitted(self.#method(#args options).await))
        }
        JsonMode::Broadcast => {
            let method = op.method("{}_all_with");
            quote!(::jetwire::typed::untyped_broadcast(self.#method(#args options).await))
        }
    };
    let mutable = (!op.payload.is_unit()).then(|| quote!(let mut options = options;));
    quote! {
        #id => {
            #bind = #params_ty::from_subject_values(#values)
                .map_err(::jetwire::JobError::InvalidRequest)?;
            #mutable
            #payload
            #headers
            #call
        }
    }
}

/// The typed arguments every method of `op` takes before its options: subject
/// parameters, then the payload, then typed headers.
struct Args {
    decl: TokenStream,
    pass: TokenStream,
}

fn args(op: &OpModel) -> Args {
    let params: Vec<&ParamModel> = op.params.iter().collect();
    args_of(op, &params)
}

/// [`args`] with only the subject parameters `params`.
fn args_of(op: &OpModel, params: &[&ParamModel]) -> Args {
    let mut decl = TokenStream::new();
    let mut pass = TokenStream::new();
    for p in params {
        let field = &p.field;
        match &p.kind {
            ParamKind::Enum { ident, .. } => {
                decl.extend(quote!(#field: super::operations::#ident,));
            }
            ParamKind::Free { .. } => decl.extend(quote!(#field: &str,)),
        }
        pass.extend(quote!(#field,));
    }
    if !op.payload.is_unit() {
        let ty = op.payload.ty();
        decl.extend(quote!(payload: &#ty,));
        pass.extend(quote!(payload,));
    }
    if let Some(h) = &op.headers {
        decl.extend(quote!(headers: &#h,));
        pass.extend(quote!(headers,));
    }
    Args { decl, pass }
}

fn job_methods(op: &OpModel) -> TokenStream {
    let method = op.method("{}");
    let with = op.method("{}_with");
    let submit = op.method("submit_{}");
    let submit_with = op.method("submit_{}_with");
    let request = op.method("{}_request");
    let job = op.method("{}_job");
    let job_doc = doc_attrs(&format!(
        "A handle for the `{}` job with this request id, submitted earlier by any client.",
        op.op.id
    ));
    let const_ident = &op.const_ident;
    let reply = op.reply.ty();
    let error = op.error_ty();
    let Args { decl, pass } = args(op);
    let many_args = op.params.len() + usize::from(!op.payload.is_unit()) + 2 > 7;
    let allow = many_args.then(|| quote!(#[allow(clippy::too_many_arguments)]));

    // The request builder's steps: subject parameters in template order (the partition
    // token stays for the runtime to fill), then the payload, then typed headers.
    let steps: Vec<TokenStream> = op
        .subject_params
        .iter()
        .map(|name| match op.params.iter().find(|p| &p.name == name) {
            Some(p) => {
                let field = &p.field;
                match &p.kind {
                    ParamKind::Enum { .. } => quote!(.listed(#field.as_str())),
                    ParamKind::Free { pattern } => {
                        let pattern = pattern_tokens(pattern);
                        quote!(.param(#name, #field, #pattern))
                    }
                }
            }
            None => quote!(.keyed()),
        })
        .chain((!op.payload.is_unit()).then(|| quote!(.payload(payload))))
        .chain(op.headers.as_ref().map(|_| quote!(.headers(headers))))
        .collect();

    let docs = method_docs(op);
    let with_doc = doc_attrs(&format!(
        "[`{method}`](Self::{method}) with [`CallOptions`](jetwire::typed::CallOptions) \
         (timeout, request id, extra headers)."
    ));
    let submit_doc = doc_attrs(&format!(
        "Submits `{}` without waiting; the handle's `wait` and `get` return the result.",
        op.op.id
    ));
    let submit_with_doc = doc_attrs(&format!(
        "[`{submit}`](Self::{submit}) with options (request id, headers; the timeout \
         applies to the handle's waits only)."
    ));

    let broadcast = broadcast_methods(op);

    quote! {
        #docs
        #allow
        pub async fn #method(&self, #decl) -> ::std::result::Result<#reply, ::jetwire::JobError<#error>> {
            self.#with(#pass ::jetwire::typed::CallOptions::default()).await
        }

        #with_doc
        #allow
        pub async fn #with(
            &self,
            #decl
            options: ::jetwire::typed::CallOptions,
        ) -> ::std::result::Result<#reply, ::jetwire::JobError<#error>> {
            let timeout = options.timeout.unwrap_or(super::service::#const_ident.timeout);
            let request = self.#request(#pass options)?;
            ::jetwire::typed::call(&self.inner, request, timeout).await
        }

        #submit_doc
        #allow
        pub async fn #submit(
            &self,
            #decl
        ) -> ::std::result::Result<::jetwire::typed::JobHandle<#reply, #error>, ::jetwire::JobError<#error>> {
            self.#submit_with(#pass ::jetwire::typed::CallOptions::default()).await
        }

        #submit_with_doc
        #allow
        pub async fn #submit_with(
            &self,
            #decl
            options: ::jetwire::typed::CallOptions,
        ) -> ::std::result::Result<::jetwire::typed::JobHandle<#reply, #error>, ::jetwire::JobError<#error>> {
            let request = self.#request(#pass options)?;
            ::jetwire::typed::submit(&self.inner, request).await
        }

        #job_doc
        pub fn #job(
            &self,
            request_id: impl ::std::convert::Into<::std::string::String>,
        ) -> ::jetwire::typed::JobHandle<#reply, #error> {
            ::jetwire::typed::JobHandle::from_request_id(self.inner.clone(), request_id)
        }

        #allow
        #[allow(clippy::result_large_err)]
        fn #request(
            &self,
            #decl
            options: ::jetwire::typed::CallOptions,
        ) -> ::std::result::Result<::jetwire::client::Request, ::jetwire::JobError<#error>> {
            ::jetwire::typed::RequestBuilder::new(&super::service::#const_ident, options)
                #(#steps)*
                .build()
        }

        #broadcast
    }
}

/// `<op>_all` / `<op>_all_with` for a targeted job whose target admits `_all`: one copy
/// per live worker, every worker's result.
fn broadcast_methods(op: &OpModel) -> Option<TokenStream> {
    let target = op.target.as_ref()?;
    let all_value = target.broadcast.as_ref()?;
    let method = op.method("{}");
    let all = op.method("{}_all");
    let all_with = op.method("{}_all_with");
    let request = op.method("{}_request");
    let const_ident = &op.const_ident;
    let reply = op.reply.ty();
    let error = op.error_ty();
    // The arguments of the targeted form without the target.
    let others = op.params_without(&target.name);
    let Args { decl, pass: _ } = args_of(op, &others);
    let pass_with_target: Vec<TokenStream> = op
        .params
        .iter()
        .map(|p| {
            if p.name == target.name {
                all_value.clone()
            } else {
                let field = &p.field;
                quote!(#field)
            }
        })
        .collect();
    let rest = rest_pass(op);
    let pass_others: Vec<TokenStream> = others
        .iter()
        .map(|p| {
            let field = &p.field;
            quote!(#field)
        })
        .collect();
    let many_args = others.len() + usize::from(!op.payload.is_unit()) + 2 > 7;
    let allow = many_args.then(|| quote!(#[allow(clippy::too_many_arguments)]));
    let doc = doc_attrs(&format!(
        "Runs `{}` on every live worker ([`{method}`](Self::{method}) with the target \
         `_all`) and returns each worker's result, waiting at most {:?} by default: see \
         [`Broadcast`](jetwire::typed::Broadcast).",
        op.op.id, op.op.policy.timeout
    ));
    let with_doc = doc_attrs(&format!(
        "[`{all}`](Self::{all}) with [`CallOptions`](jetwire::typed::CallOptions) (the \
         timeout is the whole broadcast's; each copy runs as `<request_id>.<worker_id>`)."
    ));
    Some(quote! {
        #doc
        #allow
        pub async fn #all(
            &self,
            #decl
        ) -> ::std::result::Result<::jetwire::typed::Broadcast<#reply, #error>, ::jetwire::JobError<#error>> {
            self.#all_with(#(#pass_others,)* #rest ::jetwire::typed::CallOptions::default()).await
        }

        #with_doc
        #allow
        pub async fn #all_with(
            &self,
            #decl
            options: ::jetwire::typed::CallOptions,
        ) -> ::std::result::Result<::jetwire::typed::Broadcast<#reply, #error>, ::jetwire::JobError<#error>> {
            let timeout = options.timeout.unwrap_or(super::service::#const_ident.timeout);
            let request = self.#request(#(#pass_with_target,)* #rest options)?;
            ::jetwire::typed::broadcast(&self.inner, request, timeout).await
        }
    })
}

/// The payload and headers arguments, passed on.
fn rest_pass(op: &OpModel) -> TokenStream {
    let mut pass = TokenStream::new();
    if !op.payload.is_unit() {
        pass.extend(quote!(payload,));
    }
    if op.headers.is_some() {
        pass.extend(quote!(headers,));
    }
    pass
}

fn method_docs(op: &OpModel) -> TokenStream {
    let o = op.op;
    let mut text = doc_text(
        o.title.as_deref(),
        o.summary.as_deref(),
        o.description.as_deref(),
    )
    .unwrap_or_else(|| format!("Runs the job `{}`.", o.id));
    text.push_str(&format!(
        "\n\nPublishes to `{}` ({}) and waits for the result, at most {:?} by default \
         (`JobError::TimedOut` leaves the job running; wait again with its request id).",
        op.subject.template(),
        o.policy.class.as_str(),
        o.policy.timeout
    ));
    if let Some(target) = &op.target {
        let name = &target.name;
        text.push_str(&format!(
            "\n\n`{name}` picks the worker: `_any` (exactly one worker, whichever takes \
             the job first), a worker id (only that worker; `JobError::NoSuchAgent` when it \
             is not live in the registry, and nothing is published) or `_all`"
        ));
        if target.broadcast.is_some() {
            let all = op.method("{}_all");
            text.push_str(&format!(
                " — for `_all` use [`{all}`](Self::{all}), which returns every worker's result \
                 (here `_all` is `JobError::BroadcastOnly` and nothing is published)."
            ));
        } else {
            text.push_str(" (here `JobError::BroadcastOnly`: this form runs one job).");
        }
    }
    if let Some(p) = &o.policy.partitioning {
        let key = match &p.key {
            crate::ir::RoutingKey::Payload(pointer) => format!("the payload field `{pointer}`"),
            crate::ir::RoutingKey::Parameter(name) => format!("the parameter `{name}`"),
        };
        text.push_str(&format!(
            "\n\nKeyed: the `{{{}}}` subject token is not an argument; the runtime computes \
             it from {key} (FNV-1a 32-bit of the key, mod {}), so jobs with the same key run \
             one at a time, in the order they were submitted.",
            p.parameter, p.count
        ));
    }
    text.push_str("\n\nInvalid arguments are `JobError::InvalidRequest`; nothing is published.");
    if let Some(ptr) = &o.policy.request_id_pointer {
        text.push_str(&format!(
            "\n\nThe payload's request id field (`{ptr}`) is overwritten with the \
             request id the runtime assigns."
        ));
    }
    if let Some(e) = &op.error {
        let codes = e
            .variants
            .iter()
            .map(|v| format!("`{}`", v.code))
            .collect::<Vec<_>>()
            .join(", ");
        text.push_str(&format!("\n\nTyped errors (`JobError::Failed`): {codes}."));
    }
    if o.deprecated {
        text.push_str("\n\n**Deprecated** in the spec.");
    }
    let doc = doc_attrs(&text);
    let deprecated = o.deprecated.then(|| quote!(#[deprecated]));
    quote!(#doc #deprecated)
}

fn subscribe_method(op: &OpModel) -> TokenStream {
    let method = op.method("subscribe_{}");
    let payload = op.payload.ty();
    let params = op.params_ty();
    let o = op.op;
    let mut text = doc_text(
        o.title.as_deref(),
        o.summary.as_deref(),
        o.description.as_deref(),
    )
    .unwrap_or_else(|| format!("The event `{}`.", o.id));
    text.push_str(&format!(
        "\n\nSubscribes (core NATS) to `{}`, every parameter a wildcard. Each item is \
         one received message: its subject parameters and its decoded, validated \
         payload, or the violations when it does not match the spec.",
        op.subject.template()
    ));
    let doc = doc_attrs(&text);
    let template = op.subject.template();
    let all = quote! {
        #doc
        pub async fn #method(
            &self,
        ) -> ::std::result::Result<
            ::jetwire::typed::EventStream<#params, #payload>,
            ::jetwire::JobError,
        > {
            ::jetwire::typed::subscribe(&self.nats, #template, #params::from_subject_values)
                .await
        }
    };
    if op.params.is_empty() {
        return all;
    }
    // The same, narrowed to some parameter values.
    let matching = op.method("subscribe_{}_matching");
    let mut decl = TokenStream::new();
    let mut values = Vec::new();
    for p in &op.params {
        let field = &p.field;
        match &p.kind {
            ParamKind::Enum { ident, .. } => {
                decl.extend(quote!(#field: ::std::option::Option<super::operations::#ident>,));
                values.push(quote!(#field.map(|v| v.as_str())));
            }
            ParamKind::Free { .. } => {
                decl.extend(quote!(#field: ::std::option::Option<&str>,));
                values.push(quote!(#field));
            }
        }
    }
    let matching_doc = doc_attrs(&format!(
        "[`{method}`](Self::{method}) narrowed to the given parameter values (`None`: any \
         value). A value that is not one subject token is `JobError::InvalidRequest`."
    ));
    quote! {
        #all

        #matching_doc
        pub async fn #matching(
            &self,
            #decl
        ) -> ::std::result::Result<
            ::jetwire::typed::EventStream<#params, #payload>,
            ::jetwire::JobError,
        > {
            ::jetwire::typed::subscribe_matching(
                &self.nats,
                #template,
                &[#(#values),*],
                #params::from_subject_values,
            )
            .await
        }
    }
}
