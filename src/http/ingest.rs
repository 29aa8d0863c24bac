//! `POST /ingest/{EntitySet}`: one batch of rows (NDJSON or CSV, optionally gzip-compressed)
//! for the caller's tenant, written all-or-nothing. The body streams from the socket into the
//! reader thread (`ingest::pipeline`), so its size never shows in memory.
//!
//! Reads like the pipeline: caller and set → format and limits → stream the body while it is
//! read, checked and written → the counts, or every problem found.

use super::{ApiError, AppState, auth::caller};
use crate::db::write::{Merged, Target, Written};
use crate::ingest::batch::Shape;
use crate::ingest::merge::Statements;
use crate::ingest::pipeline;
use crate::ingest::records::Format;
use crate::odata::model::SetKind;
use actix_web::{HttpRequest, HttpResponse, http::header, web};
use bytes::Bytes;
use deadpool_postgres::Pool;
use futures_util::StreamExt;
use serde_json::json;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

/// How ingestion is served.
#[derive(Clone)]
pub struct IngestSettings {
    /// Connections of the ingestion role (one per request in progress).
    pub pool: Pool,
    /// The largest body accepted, in bytes, counted on the wire and again after gzip
    /// decompression.
    pub max_body_bytes: u64,
}

/// The default for `IngestSettings::max_body_bytes`: 1 GiB.
pub const MAX_BODY_BYTES: u64 = 1 << 30;

/// A request's body is one batch, all-or-nothing.
const ONE_BATCH: pipeline::Batching = pipeline::Batching { rows: u64::MAX, connections: 1 };

/// Body chunks in flight between the socket and the reader thread.
const BODY_CHUNKS_IN_FLIGHT: usize = 16;

/// `POST /ingest/{EntitySet}[?snapshot=true]`.
pub async fn ingest(
    req: HttpRequest,
    path: web::Path<String>,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller(&req)?;
    let settings = state.ingest.as_ref().ok_or_else(|| ApiError::NotFound(req.path().to_owned()))?;
    let set = state.model.entity_set(&path).ok_or_else(|| ApiError::NotFound(req.path().to_owned()))?;
    let format = format_of(&req)?;
    let gzip = gzip_encoded(&req)?;
    let snapshot = snapshot_option(&req, set.kind)?;
    if let Some(length) = content_length(&req)
        && length > settings.max_body_bytes
    {
        return Err(ApiError::PayloadTooLarge { limit: settings.max_body_bytes });
    }

    let shape = Arc::new(Shape::new(set));
    let statements = Statements::new(set, &shape);
    let target = Target { model: &state.model, set, columns: shape.columns(), statements: &statements, snapshot };
    let too_large = Arc::new(AtomicBool::new(false));
    let (body_sender, body) = mpsc::channel(BODY_CHUNKS_IN_FLIGHT);
    let input = body_reader(body, gzip, settings.max_body_bytes, too_large.clone());

    let limit = settings.max_body_bytes;
    let feed = forward_body(&mut payload, body_sender, limit, &too_large);
    let mut batches = |_: &Merged| {};
    let write =
        pipeline::run(&settings.pool, &caller.tenant, &target, shape.clone(), (format, input), ONE_BATCH, &mut batches);
    let ((), outcome) = futures_util::future::join(feed, write).await;
    let answer = answer(outcome, too_large.load(Ordering::SeqCst), limit);
    let code = match &answer {
        Ok(_) => "written",
        Err(error) => error.code(),
    };
    super::metrics::ingested(&caller.tenant, &set.name, code, answer.as_ref().ok());
    let merged = answer?;
    tracing::info!(
        tenant = caller.tenant,
        set = set.name,
        rows = merged.rows,
        inserted = merged.inserted,
        updated = merged.updated,
        unchanged = merged.unchanged,
        duplicates = merged.duplicates,
        removed = merged.removed,
        "batch ingested"
    );
    Ok(HttpResponse::Ok().json(summary(&set.name, set.kind, &merged)))
}

/// Hands the body from the socket to the reader thread, and fails its input (so that nothing
/// is written) when the connection breaks or the body passes `limit` bytes. Once the reader
/// has stopped (problems found, or the writer failed), the rest of the body is read and
/// dropped, so that the client receives the answer.
async fn forward_body(
    payload: &mut web::Payload,
    body: mpsc::Sender<std::io::Result<Bytes>>,
    limit: u64,
    too_large: &AtomicBool,
) {
    let mut received = 0u64;
    let mut forwarding = true;
    while let Some(chunk) = payload.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                let _ = body.send(Err(std::io::Error::other(format!("the body was cut off: {error}")))).await;
                return;
            }
        };
        received += chunk.len() as u64;
        if received > limit {
            too_large.store(true, Ordering::SeqCst);
            let _ = body.send(Err(std::io::Error::other("the body is larger than allowed"))).await;
            return;
        }
        if forwarding && body.send(Ok(chunk)).await.is_err() {
            forwarding = false;
        }
    }
}

/// What the batch came to: what was written, or why nothing was.
fn answer(outcome: pipeline::Outcome, too_large: bool, limit: u64) -> Result<Merged, ApiError> {
    if too_large {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    if !outcome.report.problems.is_empty() {
        return Err(ApiError::InvalidRows {
            problems: outcome.report.problems,
            truncated: outcome.report.truncated,
            rows_read: outcome.report.rows,
        });
    }
    match outcome.written? {
        Written::Complete(merged) => Ok(merged),
        Written::Stopped(_) => {
            Err(ApiError::Internal(anyhow::anyhow!("the ingestion input stopped without a problem")))
        }
    }
}

/// Any method but POST on an ingestion path.
pub async fn post_only(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed { method: req.method().to_string(), allow: "POST" })
}

/// The answer to a written batch.
fn summary(set: &str, kind: SetKind, merged: &Merged) -> serde_json::Value {
    let mut body = json!({ "entitySet": set });
    if let (Some(body), serde_json::Value::Object(counts)) = (body.as_object_mut(), json!(merged)) {
        body.extend(counts);
        if kind == SetKind::Lookup {
            body.insert(
                "publishedBy".into(),
                json!("the nightly lookup refresh (00:00 UTC), for tenants whose lookup source is local"),
            );
        }
    }
    body
}

/// The format named by `Content-Type`.
fn format_of(req: &HttpRequest) -> Result<Format, ApiError> {
    let given = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut parts = given.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    let charset_ok = parts.all(|p| match p.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    });
    let format = match essence.as_str() {
        "text/csv" => Format::Csv,
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" | "application/x-jsonlines" => {
            Format::NdJson
        }
        _ => return Err(ApiError::UnsupportedMediaType(given.to_owned())),
    };
    if !charset_ok {
        return Err(ApiError::UnsupportedMediaType(given.to_owned()));
    }
    Ok(format)
}

/// Whether the body is gzip-compressed (`Content-Encoding: gzip`); other encodings are refused.
fn gzip_encoded(req: &HttpRequest) -> Result<bool, ApiError> {
    match req.headers().get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(encoding) if encoding == "gzip" || encoding == "x-gzip" => Ok(true),
        Some(encoding) if encoding == "identity" => Ok(false),
        Some(encoding) => Err(ApiError::UnsupportedEncoding(encoding)),
    }
}

/// `snapshot=true|false`: only for lookup sets; no other query option is known.
fn snapshot_option(req: &HttpRequest, kind: SetKind) -> Result<bool, ApiError> {
    let mut snapshot = false;
    for (name, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
        match (name.as_ref(), value.as_ref()) {
            ("snapshot", "true") if kind == SetKind::Lookup => snapshot = true,
            ("snapshot", "false") => snapshot = false,
            ("snapshot", "true") => {
                return Err(ApiError::InvalidOption(
                    "snapshot=true replaces a lookup set's objects; it does not apply to statistical sets".into(),
                ));
            }
            ("snapshot", other) => {
                return Err(ApiError::InvalidOption(format!("snapshot must be true or false, not `{other}`")));
            }
            (other, _) => {
                return Err(ApiError::InvalidOption(format!("unknown option `{other}`; the only option is snapshot")));
            }
        }
    }
    Ok(snapshot)
}

fn content_length(req: &HttpRequest) -> Option<u64> {
    req.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// The body as the reader thread reads it: chunks from the socket, gzip-decoded when asked,
/// and failing (with `too_large` set) past `limit` bytes.
fn body_reader(
    body: mpsc::Receiver<std::io::Result<Bytes>>,
    gzip: bool,
    limit: u64,
    too_large: Arc<AtomicBool>,
) -> Box<dyn BufRead + Send> {
    let raw = BufReader::new(ChannelReader { body, current: Bytes::new() });
    let decoded: Box<dyn Read + Send> = match gzip {
        // The decoder reads the gzip header when it is made: on the reader thread, not here.
        true => Box::new(Gunzip::Waiting(Some(raw))),
        false => Box::new(raw),
    };
    Box::new(BufReader::with_capacity(64 * 1024, Limited { inner: decoded, left: limit, too_large }))
}

/// Reads body chunks handed over by the async side (blocking the reader thread meanwhile).
struct ChannelReader {
    body: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.body.blocking_recv() {
                None => return Ok(0),
                Some(chunk) => self.current = chunk?,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// A gzip decoder made at the first read.
enum Gunzip<R: BufRead> {
    Waiting(Option<R>),
    Decoding(flate2::bufread::MultiGzDecoder<R>),
}

impl<R: BufRead> Read for Gunzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Gunzip::Waiting(raw) = self
            && let Some(raw) = raw.take()
        {
            *self = Gunzip::Decoding(flate2::bufread::MultiGzDecoder::new(raw));
        }
        match self {
            Gunzip::Decoding(decoder) => decoder.read(buf),
            Gunzip::Waiting(_) => Ok(0),
        }
    }
}

/// Fails once more than `left` bytes were read.
struct Limited<R> {
    inner: R,
    left: u64,
    too_large: Arc<AtomicBool>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            self.too_large.store(true, Ordering::SeqCst);
            return Err(std::io::Error::other("the body is larger than allowed"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
