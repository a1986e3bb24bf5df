//! The bridge between the providers and the job types generated from `asyncapi.yaml`.
//!
//! The providers' structs carry the contract's field names and types, so the generated
//! types are reached through their shared JSON form instead of field-by-field copies:
//!
//! - a request payload becomes the provider's input with [`request`] (the transport's
//!   `request_id` is dropped);
//! - a provider's result becomes the operation's reply with [`reply`] (the request id is
//!   added);
//! - a [`ProviderError`] becomes the operation's typed error with [`typed_error`], through
//!   the generated error enum's [`TypedError::from_failure`]. An error the operation does
//!   not declare is a final internal failure, never a silent success.
//!
//! [`respond`] does the last two for a provider call, [`run_blocking`] keeps the
//! (blocking) providers off the async worker threads. A handler method is then, e.g.:
//!
//! ```ignore
//! async fn set_dns(&self, ctx: &JobContext, _: SetDnsParams, payload: DnsUpdate)
//!     -> Result<DnsConfig, HandlerError<SetDnsError>>
//! {
//!     let update: providers::dns::DnsUpdate = bridge::request(&payload)?;
//!     let root = self.root.clone();
//!     let result = bridge::run_blocking(move || providers::dns::set_dns(&root, &update)).await?;
//!     bridge::respond(&ctx.request_id, result)
//! }
//! ```

use jetwire::{HandlerError, TypedError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::providers::ProviderError;

/// The provider input `P` from a generated request payload.
pub fn request<P: DeserializeOwned, E>(payload: &impl Serialize) -> Result<P, HandlerError<E>> {
    let value = serde_json::to_value(payload).map_err(|e| HandlerError::internal(e))?;
    serde_json::from_value(value).map_err(|e| {
        HandlerError::internal(format!(
            "the request does not fit the provider's input: {e}"
        ))
    })
}

/// The generated reply `R` from a provider result, with `request_id` added.
pub fn reply<R: DeserializeOwned, E>(
    request_id: &str,
    result: &impl Serialize,
) -> Result<R, HandlerError<E>> {
    let mut value = serde_json::to_value(result).map_err(|e| HandlerError::internal(e))?;
    match &mut value {
        Value::Object(fields) => {
            fields.insert("request_id".into(), Value::String(request_id.into()));
        }
        other => {
            return Err(HandlerError::internal(format!(
                "a provider result must be an object, not {other}"
            )))
        }
    }
    serde_json::from_value(value).map_err(|e| {
        HandlerError::internal(format!(
            "the provider result does not fit the reply type: {e}"
        ))
    })
}

/// The typed error message payload of `err` (`request_id`, `code`, `message`, `details`).
pub fn error_payload(request_id: &str, err: &ProviderError) -> Value {
    json!({
        "request_id": request_id,
        "code": err.code(),
        "message": err.to_string(),
        "details": err,
    })
}

/// The operation's typed error `E` for `err`, or an internal failure (naming the error)
/// when the operation does not declare it.
pub fn typed_error<E: TypedError>(request_id: &str, err: &ProviderError) -> HandlerError<E> {
    match E::from_failure(err.code(), &error_payload(request_id, err)) {
        Some(typed) => HandlerError::Failed(typed),
        None => HandlerError::internal(format!(
            "{err} ({} is not a declared error of this operation)",
            err.code()
        )),
    }
}

/// A provider call's outcome as the handler's result.
pub fn respond<R: DeserializeOwned, E: TypedError>(
    request_id: &str,
    result: Result<impl Serialize, ProviderError>,
) -> Result<R, HandlerError<E>> {
    match result {
        Ok(value) => reply(request_id, &value),
        Err(err) => Err(typed_error(request_id, &err)),
    }
}

/// Runs a blocking provider call on tokio's blocking pool. A panic in the call is a final
/// internal failure.
pub async fn run_blocking<T, E, F>(call: F) -> Result<T, HandlerError<E>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| HandlerError::internal(format!("the provider call failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{dns, ping};

    const REQUEST_ID: &str = "0193a4f2-6c1e-7b3a-9d2f-5e8c1a7b4d60";

    /// A typed error enum as the generator emits them: one variant per declared error,
    /// rebuilt from the stored code and payload.
    #[derive(Debug, PartialEq)]
    enum SetDnsError {
        InvalidAddress(Value),
    }

    impl TypedError for SetDnsError {
        fn code(&self) -> &'static str {
            "InvalidAddress"
        }
        fn message(&self) -> String {
            "invalid address".into()
        }
        fn details(&self) -> Value {
            let SetDnsError::InvalidAddress(v) = self;
            v.clone()
        }
        fn from_failure(code: &str, details: &Value) -> Option<Self> {
            (code == "InvalidAddress").then(|| SetDnsError::InvalidAddress(details.clone()))
        }
    }

    #[test]
    fn requests_drop_the_request_id_and_take_defaults() {
        let payload = json!({"request_id": REQUEST_ID, "address": "127.0.0.1", "count": 2});
        let query: ping::PingQuery = request::<_, SetDnsError>(&payload).unwrap();
        assert_eq!(
            query,
            ping::PingQuery {
                count: 2,
                ..ping::PingQuery::new("127.0.0.1")
            }
        );
        let bad = json!({"request_id": REQUEST_ID});
        let err = request::<ping::PingQuery, SetDnsError>(&bad).unwrap_err();
        assert!(matches!(err, HandlerError::Internal(m) if m.contains("address")));
    }

    #[test]
    fn replies_carry_the_request_id() {
        let root = tempfile::tempdir().unwrap();
        let update = dns::DnsUpdate {
            nameservers: vec!["192.0.2.1".into()],
            search_domains: vec![],
        };
        let reply: Value =
            respond::<_, SetDnsError>(REQUEST_ID, dns::set_dns(root.path(), &update)).unwrap();
        assert_eq!(reply["request_id"], REQUEST_ID);
        assert_eq!(reply["nameservers"], json!(["192.0.2.1"]));
    }

    #[test]
    fn declared_errors_become_typed_and_others_internal() {
        let root = tempfile::tempdir().unwrap();
        let bad = dns::DnsUpdate {
            nameservers: vec!["999.1.1.1".into()],
            search_domains: vec![],
        };
        let err =
            respond::<Value, SetDnsError>(REQUEST_ID, dns::set_dns(root.path(), &bad)).unwrap_err();
        let HandlerError::Failed(SetDnsError::InvalidAddress(payload)) = err else {
            panic!("not typed: {err:?}");
        };
        assert_eq!(payload["code"], "InvalidAddress");
        assert_eq!(payload["request_id"], REQUEST_ID);
        assert_eq!(payload["details"]["field"], "nameservers[0]");

        let undeclared = ProviderError::MountNotFound {
            mount_point: "/x".into(),
        };
        match typed_error::<SetDnsError>(REQUEST_ID, &undeclared) {
            HandlerError::Internal(m) => assert!(m.contains("MountNotFound"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn blocking_calls_run_off_the_async_threads() {
        let answer: Result<u32, HandlerError<SetDnsError>> = run_blocking(|| 42).await;
        assert_eq!(answer.unwrap(), 42);
        let panicked: Result<(), HandlerError<SetDnsError>> =
            run_blocking(|| panic!("provider bug")).await;
        assert!(matches!(panicked, Err(HandlerError::Internal(_))));
    }
}
