//! The `service` module: the static `jetwire::ServiceSpec` the runtime
//! provisions and routes with, and one `OPERATION_<ID>` constant per job operation.

use std::time::Duration;

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::{JobClass, RoutingKey, StorageKind};
use crate::rustgen::model::{doc_attrs, Model, OpModel};

pub fn emit(model: &Model) -> TokenStream {
    let spec = model.spec;
    let js = &spec.jetstream;
    let title = &spec.info.title;
    let version = &spec.info.version;
    let sha = &spec.source.sha256;

    let stream_name = &js.stream.name;
    let stream_subjects = &js.stream.subjects;
    let storage = match js.stream.storage {
        StorageKind::File => quote!(::jetwire::spec::StorageSpec::File),
        StorageKind::Memory => quote!(::jetwire::spec::StorageSpec::Memory),
    };
    let max_bytes = int(js.stream.max_bytes);
    let max_msgs = int(js.stream.max_msgs);
    let max_msg_size = int(i64::from(js.stream.max_msg_size));
    let duplicate_window = duration(js.stream.duplicate_window);
    let stream_replicas = int(js.stream.replicas as i64);

    let bucket = &js.responses.bucket;
    let ttl = duration(js.responses.ttl);
    let history = int(js.responses.history);
    let responses_replicas = int(js.responses.replicas as i64);

    let dlq = &js.dead_letter.stream;
    let dlq_replicas = int(js.dead_letter.replicas as i64);

    let consumers = js.consumers.iter().map(|c| {
        let durable = &c.durable;
        let class = class(c.class);
        let filter = &c.filter_subject;
        let ack_wait = duration(c.ack_wait);
        let max_deliver = int(c.max_deliver);
        let backoff = c.backoff.iter().map(|d| duration(*d));
        let max_ack_pending = int(c.max_ack_pending);
        let concurrency = int(c.concurrency as i64);
        let partitions = match c.partitions {
            Some(n) => {
                let n = proc_macro2::Literal::u32_unsuffixed(n);
                quote!(::std::option::Option::Some(#n))
            }
            None => quote!(::std::option::Option::None),
        };
        quote! {
            ::jetwire::spec::ConsumerSpec {
                durable: #durable,
                class: #class,
                filter_subject: #filter,
                ack_wait: #ack_wait,
                max_deliver: #max_deliver,
                backoff: &[#(#backoff),*],
                max_ack_pending: #max_ack_pending,
                concurrency: #concurrency,
                partitions: #partitions,
            }
        }
    });
    let registry = &js.registry;
    let registry_bucket = &registry.bucket;
    let heartbeat = duration(registry.heartbeat);
    let registry_ttl = duration(registry.ttl);
    let registry_replicas = int(registry.replicas as i64);
    let targets = match &js.targets {
        Some(t) => {
            let parameter = &t.parameter;
            quote!(::std::option::Option::Some(::jetwire::spec::TargetsSpec { parameter: #parameter }))
        }
        None => quote!(::std::option::Option::None),
    };
    let leases = match &js.leases {
        Some(l) => {
            let bucket = &l.bucket;
            let ttl = duration(l.ttl);
            let replicas = int(l.replicas as i64);
            quote!(::std::option::Option::Some(::jetwire::spec::LeasesSpec {
                bucket: #bucket,
                ttl: #ttl,
                replicas: #replicas,
            }))
        }
        None => quote!(::std::option::Option::None),
    };

    let consts = model.jobs.iter().map(operation_const);
    let refs = model.jobs.iter().map(|j| {
        let c = &j.const_ident;
        quote!(#c)
    });
    let service_doc = doc_attrs(&format!(
        "The job service described by '{title}' {version}: stream, consumers, response \
         bucket, dead-letter stream and the {} job operation(s).",
        model.jobs.len()
    ));

    quote! {
        #service_doc
        pub static SERVICE: ::jetwire::spec::ServiceSpec = ::jetwire::spec::ServiceSpec {
            title: #title,
            version: #version,
            spec_sha256: #sha,
            stream: ::jetwire::spec::StreamSpec {
                name: #stream_name,
                subjects: &[#(#stream_subjects),*],
                storage: #storage,
                max_bytes: #max_bytes,
                max_msgs: #max_msgs,
                max_msg_size: #max_msg_size,
                duplicate_window: #duplicate_window,
                replicas: #stream_replicas,
            },
            responses: ::jetwire::spec::ResponsesSpec {
                bucket: #bucket,
                ttl: #ttl,
                history: #history,
                replicas: #responses_replicas,
            },
            dead_letter: ::jetwire::spec::DeadLetterSpec {
                stream: #dlq,
                replicas: #dlq_replicas,
            },
            consumers: &[#(#consumers),*],
            operations: &[#(#refs),*],
            registry: ::jetwire::spec::RegistrySpec {
                bucket: #registry_bucket,
                heartbeat: #heartbeat,
                ttl: #registry_ttl,
                replicas: #registry_replicas,
            },
            targets: #targets,
            leases: #leases,
        };

        #(#consts)*
    }
}

fn operation_const(job: &OpModel) -> TokenStream {
    let ident = &job.const_ident;
    let id = &job.op.id;
    let subject = job.subject.template();
    let params = &job.subject_params;
    let class = class(job.op.policy.class);
    let request_id = match &job.op.policy.request_id_pointer {
        Some(p) => quote!(::std::option::Option::Some(#p)),
        None => quote!(::std::option::Option::None),
    };
    let timeout = duration(job.op.policy.timeout);
    let retryable = job.op.policy.retryable;
    let has_reply = !job.reply.is_unit();
    let partitioning = match &job.op.policy.partitioning {
        Some(p) => {
            let key = match &p.key {
                RoutingKey::Payload(pointer) => {
                    quote!(::jetwire::spec::RoutingKey::Payload(#pointer))
                }
                RoutingKey::Parameter(name) => {
                    quote!(::jetwire::spec::RoutingKey::Parameter(#name))
                }
            };
            let count = proc_macro2::Literal::u32_unsuffixed(p.count);
            let parameter = &p.parameter;
            quote!(::std::option::Option::Some(::jetwire::spec::PartitionSpec {
                key: #key,
                count: #count,
                parameter: #parameter,
            }))
        }
        None => quote!(::std::option::Option::None),
    };
    let doc = doc_attrs(&format!("The job operation `{id}` on `{subject}`."));
    quote! {
        #doc
        pub const #ident: ::jetwire::spec::OperationSpec = ::jetwire::spec::OperationSpec {
            id: #id,
            subject: #subject,
            parameters: &[#(#params),*],
            class: #class,
            request_id_pointer: #request_id,
            timeout: #timeout,
            retryable: #retryable,
            has_reply: #has_reply,
            partitioning: #partitioning,
        };
    }
}

fn class(c: JobClass) -> TokenStream {
    match c {
        JobClass::Query => quote!(::jetwire::spec::JobClass::Query),
        JobClass::Modify => quote!(::jetwire::spec::JobClass::Modify),
    }
}

/// An unsuffixed integer literal (`-1`, `16`): the field types give the type.
fn int(n: i64) -> TokenStream {
    let abs = proc_macro2::Literal::u64_unsuffixed(n.unsigned_abs());
    if n < 0 {
        quote!(-#abs)
    } else {
        quote!(#abs)
    }
}

/// A `const` expression for `d`, in the coarsest exact unit.
pub fn duration(d: Duration) -> TokenStream {
    let millis = d.as_millis() as u64;
    if d.subsec_nanos() == 0 {
        let secs = proc_macro2::Literal::u64_unsuffixed(d.as_secs());
        quote!(::std::time::Duration::from_secs(#secs))
    } else if d.as_nanos() == u128::from(millis) * 1_000_000 {
        let millis = proc_macro2::Literal::u64_unsuffixed(millis);
        quote!(::std::time::Duration::from_millis(#millis))
    } else {
        let nanos = proc_macro2::Literal::u64_unsuffixed(d.as_nanos() as u64);
        quote!(::std::time::Duration::from_nanos(#nanos))
    }
}
