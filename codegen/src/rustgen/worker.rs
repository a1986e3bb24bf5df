//! The `worker` module (the consumer side): the `Handler` trait the service implements,
//! with one method per job operation; the `Dispatcher` that turns a runtime job into a
//! typed call (decode, validate, call, map the result to an outcome); and `Events`, the
//! typed publisher of the operations the service sends.

use proc_macro2::TokenStream;
use quote::quote;

use crate::rustgen::model::{doc_attrs, doc_text, Model, OpModel};

pub fn emit(model: &Model) -> TokenStream {
    let methods = model.jobs.iter().map(|j| handler_method(model, j));
    let arms = model.jobs.iter().map(|j| {
        let id = &j.op.id;
        let f = j.method("dispatch_{}");
        quote!(#id => self.#f(job).await,)
    });
    let dispatch_fns = model.jobs.iter().map(|j| dispatch_fn(model, j));
    let events = events(model);
    let body = if model.jobs.is_empty() {
        quote! {
            ::std::boxed::Box::pin(async move { ::jetwire::typed::unknown_operation(&job) })
        }
    } else {
        quote! {
            ::std::boxed::Box::pin(async move {
                match job.operation.id {
                    #(#arms)*
                    _ => ::jetwire::typed::unknown_operation(&job),
                }
            })
        }
    };
    // One inherent block per operation, so that each is a small top-level item for
    // the formatter.
    let handler_impl = dispatch_fns.map(|f| quote!(impl<H: Handler> Dispatcher<H> { #f }));
    quote! {
        /// The service's job handlers: one method per job operation. A method gets the
        /// job's context, its subject parameters and its decoded, validated payload;
        /// it returns the reply, or a [`HandlerError`](::jetwire::HandlerError): a
        /// typed error from the spec (final), a retry (with backoff, when the
        /// operation is retryable) or an internal failure (final).
        pub trait Handler: ::std::marker::Send + ::std::marker::Sync + 'static {
            #(#methods)*
        }

        /// Routes runtime jobs to a [`Handler`]: hand it to the jetwire worker.
        pub struct Dispatcher<H>(pub H);

        impl<H: Handler> Dispatcher<H> {
            pub fn new(handler: H) -> Self {
                Dispatcher(handler)
            }

            /// The handler inside.
            pub fn handler(&self) -> &H {
                &self.0
            }
        }

        impl<H: Handler> ::jetwire::Dispatch for Dispatcher<H> {
            fn dispatch(&self, job: ::jetwire::Job) -> ::jetwire::dispatch::BoxFuture<'_, ::jetwire::Outcome> {
                #body
            }
        }

        #(#handler_impl)*

        #events
    }
}

fn handler_method(model: &Model, op: &OpModel) -> TokenStream {
    let method = op.method("{}");
    let params = op.params_ty();
    let payload = op.payload.ty();
    let reply = op.reply.ty();
    let error = op.error_ty();
    let o = op.op;
    let mut text = doc_text(
        o.title.as_deref(),
        o.summary.as_deref(),
        o.description.as_deref(),
    )
    .unwrap_or_else(|| format!("Runs the job `{}`.", o.id));
    text.push_str(&format!(
        "\n\nServes `{}` ({}, {}).",
        op.subject.template(),
        o.policy.class.as_str(),
        if o.policy.retryable {
            "retryable"
        } else {
            "not retried"
        }
    ));
    if let Some(e) = &op.error {
        let codes = e
            .variants
            .iter()
            .map(|v| format!("`{}`", v.code))
            .collect::<Vec<_>>()
            .join(", ");
        text.push_str(&format!("\n\nTyped errors: {codes}."));
    }
    let pointers = reply_correlation_pointers(model, op);
    if !pointers.is_empty() {
        let list = pointers
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        text.push_str(&format!(
            "\n\nThe correlation id of the reply or typed error ({list}) is set to the \
             job's request id by the dispatcher, whatever the handler put there."
        ));
    }
    let doc = doc_attrs(&text);
    quote! {
        #doc
        fn #method(
            &self,
            ctx: &::jetwire::JobContext,
            params: #params,
            payload: #payload,
        ) -> impl ::std::future::Future<
            Output = ::std::result::Result<#reply, ::jetwire::HandlerError<#error>>,
        > + ::std::marker::Send;
    }
}

/// JSON pointers of the correlation id in the operation's reply and error payloads
/// (`correlationId: $message.payload#/...`), de-duplicated, in document order.
fn reply_correlation_pointers(model: &Model, op: &OpModel) -> Vec<String> {
    let mut pointers: Vec<String> = Vec::new();
    if let Some(reply) = &op.op.reply {
        for id in reply.messages.iter().chain(&reply.errors) {
            let message = &model.spec.messages[id.0];
            if let Some(ptr) = message
                .correlation_id
                .as_ref()
                .and_then(|c| c.payload_pointer())
                .filter(|p| p.starts_with('/'))
            {
                if !pointers.iter().any(|p| p == ptr) {
                    pointers.push(ptr.to_string());
                }
            }
        }
    }
    pointers
}

fn dispatch_fn(model: &Model, op: &OpModel) -> TokenStream {
    let pointers = reply_correlation_pointers(model, op);
    let outcome = if pointers.is_empty() {
        quote!(::jetwire::typed::handler_outcome(result, job.operation))
    } else {
        quote! {
            let mut outcome = ::jetwire::typed::handler_outcome(result, job.operation);
            ::jetwire::typed::set_correlation_id(&mut outcome, &[#(#pointers),*], &job.request_id);
            outcome
        }
    };
    let f = op.method("dispatch_{}");
    let method = op.method("{}");
    let params = op.params_ty();
    let payload_ty = op.payload.ty();
    let decode = if op.payload.is_unit() {
        // No request message: whatever was published is ignored.
        quote!(let payload: () = ();)
    } else {
        quote! {
            let payload: #payload_ty = match ::jetwire::typed::decode_payload(&job.payload) {
                ::std::result::Result::Ok(p) => p,
                ::std::result::Result::Err(outcome) => return outcome,
            };
        }
    };
    quote! {
        async fn #f(&self, job: ::jetwire::Job) -> ::jetwire::Outcome {
            let params = match ::jetwire::typed::decode_params(&job, #params::from_subject_values) {
                ::std::result::Result::Ok(p) => p,
                ::std::result::Result::Err(outcome) => return outcome,
            };
            #decode
            let result = self.0.#method(&job.context, params, payload).await;
            #outcome
        }
    }
}

fn events(model: &Model) -> TokenStream {
    if model.events.is_empty() {
        return TokenStream::new();
    }
    let methods = model.events.iter().map(|op| {
        let method = op.method("publish_{}");
        let payload = op.payload.ty();
        let params = op.params_ty();
        let template = op.subject.template();
        let o = op.op;
        let mut text = doc_text(
            o.title.as_deref(),
            o.summary.as_deref(),
            o.description.as_deref(),
        )
        .unwrap_or_else(|| format!("The event `{}`.", o.id));
        text.push_str(&format!(
            "\n\nValidates the payload and publishes it (core NATS) to `{template}`."
        ));
        let doc = doc_attrs(&text);
        let payload_arg = (!op.payload.is_unit()).then(|| quote!(payload: &#payload,));
        let payload_value = if op.payload.is_unit() {
            quote!(&())
        } else {
            quote!(payload)
        };
        quote! {
            #doc
            pub async fn #method(
                &self,
                params: &#params,
                #payload_arg
            ) -> ::std::result::Result<(), ::jetwire::JobError> {
                let violations = params.violations();
                if !violations.is_empty() {
                    return ::std::result::Result::Err(::jetwire::JobError::InvalidRequest(violations));
                }
                ::jetwire::typed::publish_event(
                    &self.nats,
                    #template,
                    &params.subject_values(),
                    #payload_value,
                )
                .await
            }
        }
    });
    quote! {
        /// Typed publisher of the events the service sends.
        #[derive(::std::clone::Clone, ::std::fmt::Debug)]
        pub struct Events {
            nats: ::jetwire::async_nats::Client,
        }

        impl Events {
            pub fn new(nats: ::jetwire::async_nats::Client) -> Self {
                Events { nats }
            }
        }

        #(impl Events { #methods })*
    }
}
