//! HTTP: the actix-web application, its routes, the headers every OData response carries, and
//! the one mapping from errors to responses (`error`).

mod auth;
mod context;
mod error;
mod health;
pub mod ingest;
mod metadata;
pub mod metrics;
mod negotiate;
mod page;
mod read;
mod service_document;
mod single;
mod version;

pub use error::ApiError;

use crate::auth::{Authenticator, dev::DevIssuer};
use crate::odata::plan::{Limits, SigningKey};
use crate::odata::{capabilities, csdl, model::Model};
use actix_web::{App, HttpRequest, HttpServer, dev::Server, middleware, web};
use deadpool_postgres::Pool;
use std::{net::TcpListener, sync::Arc};
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder, TracingLogger};

/// The path under which the OData service lives.
pub const SERVICE_PATH: &str = "/odata";
/// The path under which batches are ingested (`POST /ingest/{EntitySet}`).
pub const INGEST_PATH: &str = "/ingest";
/// The content type of OData JSON responses, as Power Query expects it.
pub const ODATA_JSON: &str = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false";

/// What every handler can reach.
pub struct AppState {
    pub model: Arc<Model>,
    /// The pool shared by every worker, unless `worker_pools` gives each worker its own.
    pub pool: Pool,
    /// Builds one pool per HTTP worker thread, so each worker's database connections are
    /// driven by the thread that reads their rows (no cross-thread hand-off per batch of rows).
    pub worker_pools: Option<Arc<dyn Fn() -> Pool + Send + Sync>>,
    /// The externally visible `scheme://host[:port]`, when configured; otherwise taken from
    /// each request.
    pub public_url: Option<String>,
    /// `$metadata` as XML and as JSON CSDL, rendered (and gzip-compressed) once.
    pub metadata: metadata::Documents,
    pub read: ReadSettings,
    /// Checks every request's bearer token.
    pub auth: Arc<Authenticator>,
    /// The development issuer whose documents are served, when it is enabled.
    pub dev_issuer: Option<Arc<DevIssuer>>,
    /// How `POST /ingest/{EntitySet}` writes; without it the route does not exist.
    pub ingest: Option<ingest::IngestSettings>,
}

/// How entity sets are read.
#[derive(Debug, Clone)]
pub struct ReadSettings {
    pub limits: Limits,
    /// Signs `$skiptoken`s; shared by all instances through the database.
    pub signing_key: SigningKey,
    /// The longest request URL accepted (at least 8 KB).
    pub max_url_length: usize,
    /// How deep `$expand` may nest.
    pub max_expand_depth: usize,
    /// Whether statements name the caller's tenant for every table (always, in the server;
    /// tests turn it off to show that row-level security alone isolates tenants).
    pub tenant_predicate: bool,
}

/// The default for `ReadSettings::max_url_length`.
pub const MAX_URL_LENGTH: usize = 16 * 1024;

impl ReadSettings {
    /// Default limits.
    pub fn new(signing_key: SigningKey) -> ReadSettings {
        ReadSettings {
            limits: Limits::default(),
            signing_key,
            max_url_length: MAX_URL_LENGTH,
            max_expand_depth: crate::odata::bind::DEFAULT_EXPAND_DEPTH,
            tenant_predicate: true,
        }
    }
}

impl AppState {
    /// Prepares everything requests share; renders `$metadata` once.
    pub fn new(
        model: Arc<Model>,
        pool: Pool,
        public_url: Option<String>,
        read: ReadSettings,
        auth: Arc<Authenticator>,
    ) -> AppState {
        let metadata = metadata::Documents::new(csdl::render(&model, &capabilities::IMPLEMENTED));
        AppState { model, pool, worker_pools: None, public_url, metadata, read, auth, dev_issuer: None, ingest: None }
    }

    /// The pool a worker thread uses.
    fn worker_pool(&self) -> Pool {
        match &self.worker_pools {
            Some(build) => build(),
            None => self.pool.clone(),
        }
    }

    /// The absolute service root for a request, e.g. `http://127.0.0.1:8080/odata`.
    pub fn service_root(&self, req: &HttpRequest) -> String {
        format!("{}{SERVICE_PATH}", self.public_root(req))
    }

    /// The server's own absolute root, e.g. `http://127.0.0.1:8080`.
    pub fn public_root(&self, req: &HttpRequest) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let info = req.connection_info();
                format!("{}://{}", info.scheme(), info.host())
            }
        }
    }
}

/// A route for GET and HEAD; other methods fall through to `read::resource`, which answers 405.
fn read_only() -> actix_web::Route {
    web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
}

/// Builds the server on an already bound listener (port 0 in tests) without starting it.
pub fn server(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let ingesting = state.ingest.is_some();
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        let ingest = web::scope(INGEST_PATH)
            .wrap(middleware::from_fn(auth::require_ingest_token))
            .route("/{set}", web::post().to(ingest::ingest))
            .route("/{set}", web::route().to(ingest::post_only))
            .default_service(web::to(error::not_found));
        App::new()
            .app_data(state.clone())
            .app_data(web::Data::new(state.worker_pool()))
            .wrap(TracingLogger::<RequestSpan>::new())
            .wrap(middleware::Compress::default())
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .configure(auth::dev_routes)
            .service(
                web::scope(SERVICE_PATH)
                    .wrap(middleware::from_fn(version::require_v4))
                    .wrap(middleware::DefaultHeaders::new().add(("OData-Version", "4.0")))
                    .wrap(middleware::from_fn(auth::require_token))
                    .route("", read_only().to(service_document::service_document))
                    .route("/$metadata", read_only().to(metadata::metadata))
                    .route("/", read_only().to(service_document::service_document))
                    .default_service(web::to(read::resource)),
            )
            .configure(|config| {
                if ingesting {
                    config.service(ingest);
                }
            })
            .default_service(web::to(error::not_found))
    })
    // Headers and 32 KB body chunks must not wait for the client's delayed acknowledgement.
    .tcp_nodelay(true)
    .listen(listener)?
    .shutdown_timeout(10)
    .run();
    Ok(server)
}

/// Each request's span, with room for the caller's tenant and user once signed in.
struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        use tracing::field::Empty;
        tracing_actix_web::root_span!(request, tenant = Empty, tid = Empty, oid = Empty)
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
