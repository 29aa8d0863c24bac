//! The one place where errors become HTTP responses: an OData JSON error body
//! (`{"error":{"code","message"}}`), the right status, and nothing internal leaked.

use crate::auth::{AuthError, Rejection};
use crate::db::read::ReadError;
use crate::db::write::WriteError;
use crate::ingest::validate::Problem;
use crate::odata::{bind::BindError, plan::PlanError};
use actix_web::{HttpRequest, HttpResponse, ResponseError, http::StatusCode};
use serde_json::json;

/// Everything a request can fail with, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The URL names nothing this service has.
    #[error("no resource at `{0}`")]
    NotFound(String),
    /// The addressed entity does not exist (for this tenant).
    #[error("`{0}` does not exist")]
    NoSuchEntity(String),
    /// An OData feature this server does not offer.
    #[error("{0}")]
    NotImplemented(String),
    /// The URL does not follow OData's syntax (the message gives the position).
    #[error("{0}")]
    Syntax(#[from] crate::odata::uri::SyntaxError),
    /// The URL names something the model does not have, or types do not fit.
    #[error("{0}")]
    Bind(#[from] BindError),
    /// A limit was exceeded or the skiptoken is not valid.
    #[error("{0}")]
    Plan(#[from] PlanError),
    /// Reading from the database failed.
    #[error("{0}")]
    Read(#[from] ReadError),
    /// The request URL is longer than the service accepts.
    #[error("the request URL is {length} bytes long; this service accepts up to {limit}")]
    UriTooLong { length: usize, limit: usize },
    /// A method the resource does not take (GET or HEAD for the feed, POST for ingestion).
    #[error("this resource takes {allow}, not {method}")]
    MethodNotAllowed { method: String, allow: &'static str },
    /// The client cannot accept OData 4.0 (its `OData-MaxVersion` is lower).
    #[error("this service speaks OData 4.0, but the request's OData-MaxVersion is `{0}`")]
    UnsupportedVersion(String),
    /// A `$format` this resource cannot be represented in.
    #[error("the format `{0}` is not supported here; use json (or xml for $metadata)")]
    UnsupportedFormat(String),
    /// An Accept header that excludes JSON for a data resource.
    #[error("data is served as application/json, which the Accept header `{0}` does not allow")]
    NotAcceptable(String),
    /// The tenant the request is scoped to is not known to the database.
    #[error("the tenant `{0}` is not known to this feed")]
    UnknownTenant(String),
    /// No valid token, or a token without access to the feed.
    #[error("{error}")]
    Auth { error: AuthError, challenge: String },
    /// An ingestion body in a format this service does not read.
    #[error(
        "the body's Content-Type `{0}` is not one this service reads: send text/csv or application/x-ndjson (UTF-8)"
    )]
    UnsupportedMediaType(String),
    /// An ingestion body compressed in a way this service does not read.
    #[error("the body's Content-Encoding `{0}` is not supported: send it uncompressed or as gzip")]
    UnsupportedEncoding(String),
    /// An ingestion body over the configured limit.
    #[error(
        "the body is larger than the {limit} bytes this service accepts in one request; split it into smaller batches"
    )]
    PayloadTooLarge { limit: u64 },
    /// An ingestion option that is unknown or does not apply.
    #[error("{0}")]
    InvalidOption(String),
    /// Records that do not fit the model; nothing was written.
    #[error(
        "{count}{more} found in the batch ({valid} read); nothing was written",
        count = plural(problems.len(), "problem"),
        valid = plural(*rows_read as usize, "valid row"),
        more = if *truncated { " (the first ones listed; there are more)" } else { "" }
    )]
    InvalidRows { problems: Vec<Problem>, truncated: bool, rows_read: u64 },
    /// The database did not take an ingestion batch.
    #[error("{0}")]
    Write(#[from] WriteError),
    /// A failure the client cannot fix; the detail is logged, never sent.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A stable, machine-readable code for the `error.code` member.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "NotFound",
            ApiError::NoSuchEntity(_) => "EntityNotFound",
            ApiError::Syntax(error) => error.code(),
            ApiError::Bind(error) => error.code(),
            ApiError::Plan(error) => error.code(),
            ApiError::Read(ReadError::Timeout) => "QueryTimeout",
            ApiError::Read(ReadError::Evaluation(_)) => "EvaluationError",
            ApiError::Read(ReadError::Unavailable(_)) => "DatabaseUnavailable",
            ApiError::Read(ReadError::Internal(_)) | ApiError::Internal(_) => "InternalError",
            ApiError::UriTooLong { .. } => "UriTooLong",
            ApiError::MethodNotAllowed { .. } => "MethodNotAllowed",
            ApiError::NotImplemented(_) => "NotImplemented",
            ApiError::UnsupportedVersion(_) => "UnsupportedVersion",
            ApiError::UnsupportedFormat(_) => "UnsupportedFormat",
            ApiError::NotAcceptable(_) => "NotAcceptable",
            ApiError::UnknownTenant(_) => "UnknownTenant",
            ApiError::Auth { error, .. } => error.code(),
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::UnsupportedEncoding(_) => "UnsupportedEncoding",
            ApiError::PayloadTooLarge { .. } => "PayloadTooLarge",
            ApiError::InvalidOption(_) => "InvalidOption",
            ApiError::InvalidRows { .. } => "InvalidRows",
            ApiError::Write(WriteError::UnknownTenant(_)) => "UnknownTenant",
            ApiError::Write(WriteError::Rejected { .. }) => "RejectedRows",
            ApiError::Write(WriteError::Contention) => "WriteConflict",
            ApiError::Write(WriteError::Unavailable(_)) => "DatabaseUnavailable",
            ApiError::Write(WriteError::Internal(_)) => "InternalError",
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::Internal(detail) => {
                tracing::error!(error = format!("{detail:#}"), "request failed");
                "The server could not complete the request.".to_string()
            }
            ApiError::Write(WriteError::Internal(detail)) => {
                tracing::error!(error = format!("{detail:#}"), "ingestion failed");
                "The server could not complete the request.".to_string()
            }
            ApiError::Write(WriteError::Unavailable(detail)) => {
                tracing::warn!(error = %detail, "no database connection");
                "The database is not available right now; nothing was written. Send the batch again shortly.".to_string()
            }
            ApiError::Write(WriteError::Rejected { problems, truncated }) => format!(
                "the stored data refuses {}{}; nothing was written",
                plural(problems.len(), "row"),
                if *truncated { " (the first ones listed; there are more)" } else { "" }
            ),
            ApiError::Read(ReadError::Internal(detail)) => {
                tracing::error!(error = format!("{detail:#}"), "read failed");
                "The server could not complete the request.".to_string()
            }
            ApiError::Read(ReadError::Unavailable(detail)) => {
                tracing::warn!(error = %detail, "no database connection");
                "The database is not available right now; try again shortly.".to_string()
            }
            ApiError::Read(ReadError::Timeout) => {
                "The query ran longer than this service allows. Narrow it with $filter or $top, or select fewer rows per page."
                    .to_string()
            }
            ApiError::Read(ReadError::Evaluation(detail)) => {
                format!("The expression could not be evaluated for every row: {detail}.")
            }
            other => other.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) | ApiError::NoSuchEntity(_) => StatusCode::NOT_FOUND,
            ApiError::Bind(BindError::UnknownEntitySet(_) | BindError::UnknownPathProperty { .. }) => {
                StatusCode::NOT_FOUND
            }
            ApiError::Bind(BindError::NotImplemented(_)) | ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Syntax(_) | ApiError::Bind(_) | ApiError::Plan(_) => StatusCode::BAD_REQUEST,
            ApiError::Read(ReadError::Evaluation(_)) => StatusCode::BAD_REQUEST,
            ApiError::Read(ReadError::Timeout | ReadError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnsupportedVersion(_) | ApiError::UnsupportedFormat(_) | ApiError::NotAcceptable(_) => {
                StatusCode::NOT_ACCEPTABLE
            }
            ApiError::UnknownTenant(_) | ApiError::Write(WriteError::UnknownTenant(_)) => StatusCode::FORBIDDEN,
            ApiError::UnsupportedMediaType(_) | ApiError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::InvalidOption(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidRows { .. } | ApiError::Write(WriteError::Rejected { .. }) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Write(WriteError::Contention) => StatusCode::CONFLICT,
            ApiError::Write(WriteError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Write(WriteError::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Auth { error, .. } => match error.rejection() {
                Rejection::SignIn => StatusCode::UNAUTHORIZED,
                Rejection::Forbidden => StatusCode::FORBIDDEN,
                Rejection::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            },
            ApiError::Read(ReadError::Internal(_)) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header(("OData-Version", "4.0")).content_type("application/json");
        match self {
            ApiError::MethodNotAllowed { allow, .. } => {
                response.insert_header(("Allow", *allow));
            }
            ApiError::Auth { error, challenge } => match error.rejection() {
                // Power Query reads `authorization_uri` from this header to sign the user in.
                Rejection::SignIn => {
                    response.insert_header(("WWW-Authenticate", challenge.as_str()));
                }
                Rejection::Unavailable => {
                    response.insert_header(("Retry-After", "10"));
                }
                Rejection::Forbidden => {}
            },
            _ => {}
        }
        let mut error = json!({ "code": self.code(), "message": self.message() });
        let listed = match self {
            ApiError::InvalidRows { problems, truncated, .. }
            | ApiError::Write(WriteError::Rejected { problems, truncated }) => Some((problems, *truncated)),
            _ => None,
        };
        if let (Some((problems, truncated)), Some(object)) = (listed, error.as_object_mut()) {
            object.insert("problems".into(), json!(problems));
            object.insert("problemsTruncated".into(), json!(truncated));
        }
        response.body(json!({ "error": error }).to_string())
    }
}

/// `n` and a noun, in the plural unless n is 1.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// Answers any path outside the OData service and the health checks.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(req.path().to_string()))
}
