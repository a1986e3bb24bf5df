//! Dead letters: jobs whose deliveries are exhausted.
//!
//! The server publishes a `MAX_DELIVERIES` advisory (carrying the job's stream sequence)
//! when a job used up `max_deliver`; the dead-letter stream keeps these advisories. This
//! component reads them through a durable consumer and, for each:
//! 1. fetches the original job message, still in the work-queue stream;
//! 2. stores it in the dead-letter stream at `jetwire.dlq.<stream>.<request_id>` with
//!    headers naming the original subject, request id and attempts;
//! 3. writes a `dead_lettered` record (a waiting client stops with
//!    [`JobError::DeadLettered`](crate::JobError::DeadLettered));
//! 4. removes the job from the work stream.
//!
//! Every step is idempotent, so an advisory processed twice does no harm.
//! [`DeadLetters::replay`] puts a dead letter back to work under the same request id.

use std::time::Duration;

use async_nats::jetstream::{self, stream::LastRawMessageErrorKind, AckKind};
use async_nats::HeaderMap;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
/// The stop signal of [`DeadLetters::run`] (re-exported so callers need no direct dependency).
pub use tokio_util::sync::CancellationToken;

use crate::client::REQUEST_ID_HEADER;
use crate::provision::{dead_letter_consumer_name, dead_letter_subject_prefix};
use crate::record::{FailureKind, JobFailure, JobStatus, ResponseRecord};
use crate::records::{is_valid_request_id, RecordStore};
use crate::spec::ServiceSpec;
use crate::subject::route;

/// Header: the subject the job was published on.
pub const ORIGINAL_SUBJECT_HEADER: &str = "Jetwire-Original-Subject";
/// Header: the delivery attempts the job used.
pub const ATTEMPTS_HEADER: &str = "Jetwire-Attempts";
/// Header: the consumer that gave up on the job.
pub const CONSUMER_HEADER: &str = "Jetwire-Consumer";
/// Header: when the job was dead-lettered (RFC 3339).
pub const DEAD_LETTERED_AT_HEADER: &str = "Jetwire-Dead-Lettered-At";

/// Failure of a dead-letter operation.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("no dead letter for request {0}")]
    NotFound(String),
    #[error("dead letters: {0}")]
    Nats(String),
}

fn nats(e: impl std::fmt::Display) -> DeadLetterError {
    DeadLetterError::Nats(e.to_string())
}

/// One dead-lettered job.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    pub request_id: String,
    /// The subject the job was published on.
    pub subject: String,
    pub attempts: u64,
    pub consumer: String,
    pub dead_lettered_at: Option<DateTime<Utc>>,
    /// The job's own headers (without the dead-letter bookkeeping headers).
    pub headers: Vec<(String, String)>,
    pub payload: Bytes,
    /// Sequence in the dead-letter stream.
    pub sequence: u64,
}

/// The `MAX_DELIVERIES` advisory the server publishes.
#[derive(Debug, serde::Deserialize)]
struct MaxDeliveriesAdvisory {
    stream: String,
    consumer: String,
    stream_seq: u64,
    deliveries: u64,
}

/// The dead-letter component of one service.
#[derive(Clone, Debug)]
pub struct DeadLetters {
    js: jetstream::Context,
    service: &'static ServiceSpec,
    records: RecordStore,
}

impl DeadLetters {
    pub async fn new(
        client: async_nats::Client,
        service: &'static ServiceSpec,
    ) -> Result<DeadLetters, DeadLetterError> {
        let js = jetstream::new(client);
        let records = RecordStore::open(&js, service.responses.bucket)
            .await
            .map_err(nats)?;
        Ok(DeadLetters {
            js,
            service,
            records,
        })
    }

    fn dlq_subject(&self, request_id: &str) -> String {
        format!("{}.{request_id}", dead_letter_subject_prefix(self.service))
    }

    /// Processes advisories until `stop` is cancelled; resumes by itself after connection
    /// loss or a server restart.
    pub async fn run(&self, stop: CancellationToken) {
        let mut failures: u32 = 0;
        let mut consumer = None;
        loop {
            if stop.is_cancelled() {
                return;
            }
            let result = match &consumer {
                Some(c) => self.process_batch(c, &stop, Duration::from_secs(1)).await,
                // (Re)starting: first repair what an interruption may have left.
                None => match self.consumer().await {
                    Ok(c) => match self.reconcile().await {
                        Ok(_) => {
                            consumer = Some(c);
                            continue;
                        }
                        Err(e) => Err(e),
                    },
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(_) => failures = 0,
                Err(e) => {
                    failures += 1;
                    consumer = None;
                    tracing::debug!(error = %e, "dead-letter loop interrupted; retrying");
                    let delay = Duration::from_millis((50u64 << failures.min(5)).min(1_000));
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// The durable consumer of the advisories.
    pub async fn consumer(&self) -> Result<jetstream::consumer::PullConsumer, DeadLetterError> {
        self.js
            .get_consumer_from_stream(
                dead_letter_consumer_name(self.service),
                self.service.dead_letter.stream,
            )
            .await
            .map_err(nats)
    }

    /// Handles the advisories that arrive within `wait` (one pull); returns how many.
    pub async fn process_batch(
        &self,
        consumer: &jetstream::consumer::PullConsumer,
        stop: &CancellationToken,
        wait: Duration,
    ) -> Result<usize, DeadLetterError> {
        let mut batch = consumer
            .batch()
            .max_messages(16)
            .expires(wait)
            .messages()
            .await
            .map_err(nats)?;
        let mut handled = 0;
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => return Ok(handled),
                m = tokio::time::timeout(wait * 3, batch.next()) => m,
            };
            let msg = match next {
                Ok(Some(Ok(msg))) => msg,
                Ok(Some(Err(e))) => return Err(nats(e)),
                Ok(None) | Err(_) => return Ok(handled),
            };
            match serde_json::from_slice::<MaxDeliveriesAdvisory>(&msg.payload) {
                Ok(adv) => match self.handle(&adv).await {
                    Ok(record) => {
                        // Done with the advisory: the stream keeps only advisories still to
                        // handle (and the dead letters themselves).
                        if let Ok(info) = msg.info() {
                            let seq = info.stream_sequence;
                            if let Ok(dl) =
                                self.js.get_stream(self.service.dead_letter.stream).await
                            {
                                let _ = dl.delete_message(seq).await;
                            }
                        }
                        let _ = msg.double_ack().await;
                        // The record comes last: when a client sees it, the hand-over is
                        // complete. If writing fails, `reconcile` writes it.
                        match record {
                            Some(record) => {
                                self.records
                                    .write_unless_terminal(&record)
                                    .await
                                    .map_err(nats)?;
                            }
                            // A repeated advisory, or one whose hand-over was interrupted.
                            None => {
                                self.reconcile().await?;
                            }
                        }
                        handled += 1;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, seq = adv.stream_seq, "cannot dead-letter the job yet");
                        let _ = msg
                            .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                            .await;
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "ignoring an advisory that does not decode");
                    let _ = msg.ack_with(AckKind::Term).await;
                }
            }
        }
    }

    /// Moves the job of one advisory into the dead letters and returns the record to
    /// write (`None` when there is nothing left to move).
    async fn handle(
        &self,
        adv: &MaxDeliveriesAdvisory,
    ) -> Result<Option<ResponseRecord>, DeadLetterError> {
        if adv.stream != self.service.stream.name {
            return Ok(None);
        }
        let jobs = self
            .js
            .get_stream(self.service.stream.name)
            .await
            .map_err(nats)?;
        let original = match jobs.get_raw_message(adv.stream_seq).await {
            Ok(m) => m,
            // Already moved (a repeated advisory) or acknowledged meanwhile.
            Err(e) if no_message(&e.kind()) => return Ok(None),
            Err(e) => return Err(nats(e)),
        };
        let subject = original.subject.to_string();
        let op = route(self.service, &subject).map(|(op, _)| op);
        let header = |name: &str| {
            original
                .headers
                .get(name)
                .map(|v| v.as_str().to_string())
                .filter(|v| !v.is_empty())
        };
        let request_id = header(REQUEST_ID_HEADER)
            .or_else(|| header("Nats-Msg-Id"))
            .or_else(|| {
                let pointer = op?.request_id_pointer?;
                let v: serde_json::Value = serde_json::from_slice(&original.payload).ok()?;
                v.pointer(pointer)?.as_str().map(str::to_string)
            })
            .filter(|id| is_valid_request_id(id))
            .unwrap_or_else(|| format!("seq-{}", adv.stream_seq));
        let now = Utc::now();

        let mut headers = HeaderMap::new();
        for (name, values) in original.headers.iter() {
            let name: &str = name.as_ref();
            if name.eq_ignore_ascii_case("Nats-Msg-Id") {
                continue;
            }
            for v in values {
                headers.append(name, v.as_str());
            }
        }
        headers.insert(REQUEST_ID_HEADER, request_id.as_str());
        headers.insert(ORIGINAL_SUBJECT_HEADER, subject.as_str());
        headers.insert(ATTEMPTS_HEADER, adv.deliveries.to_string().as_str());
        headers.insert(CONSUMER_HEADER, adv.consumer.as_str());
        headers.insert(DEAD_LETTERED_AT_HEADER, now.to_rfc3339().as_str());
        // Deduplicates a repeated advisory for the same stored job.
        let msg_id = format!("dlq.{}.{}", adv.stream, adv.stream_seq);
        headers.insert("Nats-Msg-Id", msg_id.as_str());
        self.js
            .publish_with_headers(
                self.dlq_subject(&request_id),
                headers,
                original.payload.clone(),
            )
            .await
            .map_err(nats)?
            .await
            .map_err(nats)?;

        jobs.delete_message(adv.stream_seq).await.map_err(nats)?;
        tracing::warn!(request_id = %request_id, subject = %subject, attempts = adv.deliveries, "job dead-lettered");
        Ok(Some(dead_lettered_record(
            &request_id,
            op.map(|o| o.id).unwrap_or_default(),
            &subject,
            adv.deliveries,
            now,
        )))
    }

    /// Gives every dead letter its terminal record, repairing a hand-over that was
    /// interrupted between moving the job and writing the record. A record reset by a
    /// replay (accepted after the job was dead-lettered) is left alone.
    pub async fn reconcile(&self) -> Result<usize, DeadLetterError> {
        let mut repaired = 0;
        for letter in self.list().await? {
            let current = self.records.get(&letter.request_id).await.map_err(nats)?;
            let missing = match &current {
                None => true,
                Some(r) if r.status.is_terminal() => false,
                Some(r) => match (r.accepted_at, letter.dead_lettered_at) {
                    (Some(accepted), Some(dead)) => accepted <= dead,
                    _ => true,
                },
            };
            if missing {
                let op = route(self.service, &letter.subject).map(|(op, _)| op.id);
                let record = dead_lettered_record(
                    &letter.request_id,
                    op.unwrap_or_default(),
                    &letter.subject,
                    letter.attempts,
                    letter.dead_lettered_at.unwrap_or_else(Utc::now),
                );
                self.records
                    .write_unless_terminal(&record)
                    .await
                    .map_err(nats)?;
                repaired += 1;
            }
        }
        Ok(repaired)
    }

    fn decode(&self, msg: jetstream::message::StreamMessage) -> DeadLetter {
        let get = |name: &str| msg.headers.get(name).map(|v| v.as_str().to_string());
        let bookkeeping = [
            REQUEST_ID_HEADER,
            ORIGINAL_SUBJECT_HEADER,
            ATTEMPTS_HEADER,
            CONSUMER_HEADER,
            DEAD_LETTERED_AT_HEADER,
            "Nats-Msg-Id",
        ];
        let mut headers = Vec::new();
        for (name, values) in msg.headers.iter() {
            let name: &str = name.as_ref();
            if bookkeeping.iter().any(|b| b.eq_ignore_ascii_case(name)) {
                continue;
            }
            for v in values {
                headers.push((name.to_string(), v.as_str().to_string()));
            }
        }
        DeadLetter {
            request_id: get(REQUEST_ID_HEADER).unwrap_or_default(),
            subject: get(ORIGINAL_SUBJECT_HEADER).unwrap_or_default(),
            attempts: get(ATTEMPTS_HEADER)
                .and_then(|a| a.parse().ok())
                .unwrap_or(0),
            consumer: get(CONSUMER_HEADER).unwrap_or_default(),
            dead_lettered_at: get(DEAD_LETTERED_AT_HEADER)
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)),
            headers,
            payload: msg.payload,
            sequence: msg.sequence,
        }
    }

    /// The dead letter of one request.
    pub async fn get(&self, request_id: &str) -> Result<Option<DeadLetter>, DeadLetterError> {
        let stream = self
            .js
            .get_stream(self.service.dead_letter.stream)
            .await
            .map_err(nats)?;
        match stream
            .get_last_raw_message_by_subject(&self.dlq_subject(request_id))
            .await
        {
            Ok(msg) => Ok(Some(self.decode(msg))),
            Err(e) if no_message(&e.kind()) => Ok(None),
            Err(e) => Err(nats(e)),
        }
    }

    /// Every dead letter, oldest first.
    pub async fn list(&self) -> Result<Vec<DeadLetter>, DeadLetterError> {
        let stream = self
            .js
            .get_stream(self.service.dead_letter.stream)
            .await
            .map_err(nats)?;
        let filter = format!("{}.>", dead_letter_subject_prefix(self.service));
        let mut subjects = stream.info_with_subjects(&filter).await.map_err(nats)?;
        let mut out = Vec::new();
        while let Some(entry) = subjects.next().await {
            let (subject, _) = entry.map_err(nats)?;
            match stream.get_last_raw_message_by_subject(&subject).await {
                Ok(msg) => out.push(self.decode(msg)),
                Err(e) if no_message(&e.kind()) => {}
                Err(e) => return Err(nats(e)),
            }
        }
        out.sort_by_key(|d| d.sequence);
        Ok(out)
    }

    /// Puts a dead letter back to work: resets its record to `accepted`, republishes the
    /// original payload to its original subject (same request id, fresh `Nats-Msg-Id`),
    /// and removes it from the dead letters. Returns the job's new stream sequence.
    pub async fn replay(&self, request_id: &str) -> Result<u64, DeadLetterError> {
        let letter = self
            .get(request_id)
            .await?
            .ok_or_else(|| DeadLetterError::NotFound(request_id.into()))?;
        let record = ResponseRecord {
            request_id: request_id.into(),
            operation: route(self.service, &letter.subject)
                .map(|(op, _)| op.id.to_string())
                .unwrap_or_default(),
            subject: letter.subject.clone(),
            status: JobStatus::Accepted,
            attempt: 0,
            worker_id: None,
            result: None,
            error: None,
            accepted_at: Some(Utc::now()),
            started_at: None,
            finished_at: None,
        };
        // First the record, so a fast worker's result cannot be overwritten by the reset.
        self.records.put(&record).await.map_err(nats)?;
        let mut headers = HeaderMap::new();
        for (k, v) in &letter.headers {
            headers.append(k.as_str(), v.as_str());
        }
        headers.insert(REQUEST_ID_HEADER, request_id);
        let msg_id = format!("{request_id}.replay.{}", uuid::Uuid::now_v7().simple());
        headers.insert("Nats-Msg-Id", msg_id.as_str());
        let ack = self
            .js
            .publish_with_headers(letter.subject.clone(), headers, letter.payload.clone())
            .await
            .map_err(nats)?
            .await
            .map_err(nats)?;
        let stream = self
            .js
            .get_stream(self.service.dead_letter.stream)
            .await
            .map_err(nats)?;
        stream.delete_message(letter.sequence).await.map_err(nats)?;
        tracing::info!(request_id, sequence = ack.sequence, "dead letter replayed");
        Ok(ack.sequence)
    }
}

/// Whether a message lookup failed because there is no such message.
fn no_message(kind: &LastRawMessageErrorKind) -> bool {
    match kind {
        LastRawMessageErrorKind::NoMessageFound => true,
        LastRawMessageErrorKind::JetStream(e) => {
            e.error_code() == jetstream::ErrorCode::NO_MESSAGE_FOUND
        }
        _ => false,
    }
}

fn dead_lettered_record(
    request_id: &str,
    operation: &str,
    subject: &str,
    attempts: u64,
    at: DateTime<Utc>,
) -> ResponseRecord {
    ResponseRecord {
        request_id: request_id.into(),
        operation: operation.into(),
        subject: subject.into(),
        status: JobStatus::DeadLettered,
        attempt: attempts,
        worker_id: None,
        result: None,
        error: Some(JobFailure {
            kind: FailureKind::DeadLettered,
            code: "dead_lettered".into(),
            message: format!(
                "all {attempts} delivery attempts failed; the job is kept as a dead letter and can be replayed"
            ),
            retryable: true,
            details: None,
            violations: vec![],
        }),
        accepted_at: None,
        started_at: None,
        finished_at: Some(at),
    }
}
