//! Prometheus metrics: what each request records (by tenant, identity-provider tenant and
//! user; refusals by code), and the `/metrics` endpoint, served on a listener of its own so
//! that the feed's public address never exposes one tenant's activity to another.

use actix_web::{App, HttpResponse, HttpServer, dev::Server, web};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

/// Requests answered, by `tenant`, `tid`, `oid` and `status`.
pub const REQUESTS: &str = "odata_feed_requests_total";
/// Seconds until a request's response started (its headers), by `tenant`.
pub const FIRST_BYTE: &str = "odata_feed_request_first_byte_seconds";
/// Requests refused at sign-in, by `code` (`AUTH4xx`).
pub const REFUSED: &str = "odata_feed_requests_refused_total";

/// Ingested records, by `tenant`, `set` and `change` (inserted, updated, unchanged,
/// duplicate, removed).
pub const INGESTED_ROWS: &str = "odata_feed_ingested_rows_total";
/// Ingestion batches answered, by `tenant`, `set` and `outcome` (written, or the error code).
pub const INGEST_BATCHES: &str = "odata_feed_ingest_batches_total";

/// The process-wide recorder, installed on first use.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (tests); this one then only renders.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Records one answered request.
pub fn answered(tenant: &str, tid: &str, oid: &str, status: u16, first_byte: Duration) {
    let labels = [
        ("tenant", tenant.to_owned()),
        ("tid", tid.to_owned()),
        ("oid", oid.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(FIRST_BYTE, "tenant" => tenant.to_owned()).record(first_byte.as_secs_f64());
}

/// Records one request refused at sign-in.
pub fn refused(code: &'static str) {
    metrics::counter!(REFUSED, "code" => code).increment(1);
}

/// Records one ingestion batch: its outcome, and what the rows did when it was written.
pub fn ingested(tenant: &str, set: &str, outcome: &'static str, merged: Option<&crate::db::write::Merged>) {
    let (tenant, set) = (tenant.to_owned(), set.to_owned());
    metrics::counter!(INGEST_BATCHES, "tenant" => tenant.clone(), "set" => set.clone(), "outcome" => outcome)
        .increment(1);
    let Some(merged) = merged else { return };
    let changes = [
        ("inserted", merged.inserted),
        ("updated", merged.updated),
        ("unchanged", merged.unchanged),
        ("duplicate", merged.duplicates),
        ("removed", merged.removed),
    ];
    for (change, rows) in changes {
        metrics::counter!(INGESTED_ROWS, "tenant" => tenant.clone(), "set" => set.clone(), "change" => change)
            .increment(rows);
    }
}

/// Serves `GET /metrics` (Prometheus text format) on its own listener.
pub fn server(listener: TcpListener) -> std::io::Result<Server> {
    let handle = handle();
    let server = HttpServer::new(move || {
        App::new().app_data(web::Data::new(handle.clone())).route("/metrics", web::get().to(render))
    })
    .workers(1)
    .listen(listener)?
    .shutdown_timeout(5)
    .run();
    Ok(server)
}

async fn render(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(handle.render())
}
