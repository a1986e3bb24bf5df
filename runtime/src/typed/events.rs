//! Events (operations the service sends): typed core NATS publish and subscribe.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::request::{check_subject_parameter, render_template, subject_values};
use crate::error::JobError;
use crate::validate::{Validate, Violation};

/// One received event: its subject, subject parameters and payload.
#[derive(Clone, Debug)]
pub struct Event<P, T> {
    pub subject: String,
    pub params: P,
    pub payload: T,
}

/// Parses subject parameter values (name, value) into the operation's params type.
pub type ParseParams<P> = fn(&[(&str, String)]) -> Result<P, Vec<Violation>>;

/// A typed subscription: every message decoded and validated against the spec; a
/// message that does not match yields its violations instead.
pub struct EventStream<P, T> {
    subscriber: async_nats::Subscriber,
    template: &'static str,
    parse: ParseParams<P>,
    _payload: PhantomData<fn() -> T>,
}

impl<P, T> std::fmt::Debug for EventStream<P, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("template", &self.template)
            .finish()
    }
}

impl<P, T: DeserializeOwned + Validate> EventStream<P, T> {
    /// The next event; `None` when the subscription ended.
    pub async fn next(&mut self) -> Option<Result<Event<P, T>, Vec<Violation>>> {
        use futures::StreamExt;
        let message = self.subscriber.next().await?;
        Some(self.decode(&message))
    }

    /// Stops receiving (the subscription is also closed on drop).
    pub async fn unsubscribe(mut self) -> Result<(), JobError> {
        self.subscriber
            .unsubscribe()
            .await
            .map_err(|e| JobError::Nats(e.to_string()))
    }

    fn decode(&self, message: &async_nats::Message) -> Result<Event<P, T>, Vec<Violation>> {
        let subject = message.subject.to_string();
        let values = subject_values(self.template, &subject).ok_or_else(|| {
            vec![Violation {
                path: String::new(),
                message: format!("subject '{subject}' does not match '{}'", self.template),
            }]
        })?;
        let values: Vec<(&str, String)> = values
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        let params = (self.parse)(&values)?;
        let payload: T = serde_json::from_slice(&message.payload).map_err(|e| {
            vec![Violation {
                path: String::new(),
                message: format!("the payload does not decode: {e}"),
            }]
        })?;
        payload.validate()?;
        Ok(Event {
            subject,
            params,
            payload,
        })
    }
}

impl<P, T: DeserializeOwned + Validate> futures::Stream for EventStream<P, T> {
    type Item = Result<Event<P, T>, Vec<Violation>>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::pin::Pin::new(&mut self.subscriber)
            .poll_next(cx)
            .map(|message| message.map(|m| self.decode(&m)))
    }
}

/// Subscribes to every subject of `template` (parameters as wildcards).
pub async fn subscribe<P, T>(
    nats: &async_nats::Client,
    template: &'static str,
    parse: ParseParams<P>,
) -> Result<EventStream<P, T>, JobError> {
    subscribe_matching(nats, template, &[], parse).await
}

/// Subscribes to the subjects of `template` whose parameters (in template order) equal
/// the given values; `None` (or a missing value) is a wildcard. Each given value must
/// be one subject token.
pub async fn subscribe_matching<P, T>(
    nats: &async_nats::Client,
    template: &'static str,
    values: &[Option<&str>],
    parse: ParseParams<P>,
) -> Result<EventStream<P, T>, JobError> {
    let mut values = values.iter();
    let mut violations = Vec::new();
    let filter = template
        .split('.')
        .map(
            |token| match token.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(name) => match values.next().copied().flatten() {
                    Some(value) => {
                        if let Some(v) = check_subject_parameter(name, value, None) {
                            violations.push(v);
                        }
                        value
                    }
                    None => "*",
                },
                None => token,
            },
        )
        .collect::<Vec<_>>()
        .join(".");
    if !violations.is_empty() {
        return Err(JobError::InvalidRequest(violations));
    }
    let subscriber = nats
        .subscribe(filter)
        .await
        .map_err(|e| JobError::Nats(e.to_string()))?;
    Ok(EventStream {
        subscriber,
        template,
        parse,
        _payload: PhantomData,
    })
}

/// Validates an event payload and publishes it (core NATS) on the rendered subject.
pub async fn publish_event<T: Serialize + Validate>(
    nats: &async_nats::Client,
    template: &str,
    values: &[&str],
    payload: &T,
) -> Result<(), JobError> {
    payload.validate().map_err(JobError::InvalidRequest)?;
    let bytes = serde_json::to_vec(payload).map_err(|e| {
        JobError::InvalidRequest(vec![Violation {
            path: String::new(),
            message: format!("cannot be serialised as JSON: {e}"),
        }])
    })?;
    let subject = render_template(template, values);
    nats.publish(subject, bytes.into())
        .await
        .map_err(|e| JobError::Nats(e.to_string()))?;
    nats.flush()
        .await
        .map_err(|e| JobError::Nats(e.to_string()))
}
