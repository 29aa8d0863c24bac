//! The one place where errors become HTTP responses: an OData JSON error body
//! (`{"error":{"code","message"}}`), the right status, and nothing internal leaked.

use actix_web::{HttpRequest, HttpResponse, ResponseError, http::StatusCode};
use serde_json::json;

/// Everything a request can fail with, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The URL names nothing this service has.
    #[error("no resource at `{0}`")]
    NotFound(String),
    /// An OData feature this server does not offer.
    #[error("{0}")]
    NotImplemented(String),
    /// The URL does not follow OData's syntax (the message gives the position).
    #[error("{0}")]
    Syntax(#[from] crate::odata::uri::SyntaxError),
    /// The client cannot accept OData 4.0 (its `OData-MaxVersion` is lower).
    #[error("this service speaks OData 4.0, but the request's OData-MaxVersion is `{0}`")]
    UnsupportedVersion(String),
    /// A `$format` this resource cannot be represented in.
    #[error("the format `{0}` is not supported here; use json or xml")]
    UnsupportedFormat(String),
    /// A failure the client cannot fix; the detail is logged, never sent.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A stable, machine-readable code for the `error.code` member.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "NotFound",
            ApiError::Syntax(error) => error.code(),
            ApiError::NotImplemented(_) => "NotImplemented",
            ApiError::UnsupportedVersion(_) => "UnsupportedVersion",
            ApiError::UnsupportedFormat(_) => "UnsupportedFormat",
            ApiError::Internal(_) => "InternalError",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Syntax(_) => StatusCode::BAD_REQUEST,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::UnsupportedVersion(_) | ApiError::UnsupportedFormat(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Internal(detail) => {
                tracing::error!(error = format!("{detail:#}"), "request failed");
                "The server could not complete the request.".to_string()
            }
            other => other.to_string(),
        };
        HttpResponse::build(self.status_code())
            .insert_header(("OData-Version", "4.0"))
            .content_type("application/json")
            .body(json!({ "error": { "code": self.code(), "message": message } }).to_string())
    }
}

/// Answers any path outside the OData service and the health checks.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(req.path().to_string()))
}
