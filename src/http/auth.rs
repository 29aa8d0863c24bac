//! Sign-in at the HTTP edge: every request under the service root passes `require_token`
//! (and every ingestion request `require_ingest_token`),
//! which authenticates the bearer token, hands the `Caller` to the handlers (request
//! extensions), and logs and counts each request with the tenant and user (never the token).
//! Also serves the development issuer's discovery document and keys when it is enabled.

use super::{ApiError, AppState};
use crate::auth::{Caller, Need, dev::DEV_PATH};
use actix_web::{
    HttpMessage, HttpRequest, HttpResponse,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header,
    middleware::Next,
    web,
};
use std::time::Instant;
use tracing_actix_web::RootSpan;

/// Middleware for the OData scope: no token that may read, no answer but 401 (or 403).
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    signed_in(req, next, Need::Read).await
}

/// Middleware for the ingestion scope: only tokens with the ingest grant get through.
pub async fn require_ingest_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    signed_in(req, next, Need::Ingest).await
}

async fn signed_in(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
    need: Need,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().expect("the application state is registered").clone();
    let authorization = req.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes());
    let caller = match state.auth.authenticate_for(authorization, need).await {
        Ok(caller) => caller,
        Err(error) => {
            tracing::info!(
                method = %req.method(),
                path = req.path(),
                code = error.code(),
                reason = %error,
                "request refused"
            );
            super::metrics::refused(error.code());
            return Err(ApiError::Auth { error, challenge: state.auth.challenge().into() }.into());
        }
    };
    if let Some(span) = req.extensions().get::<RootSpan>() {
        span.record("tenant", caller.tenant.as_str());
        span.record("tid", caller.tid.as_str());
        span.record("oid", caller.oid.as_str());
    }
    let (method, path) = (req.method().clone(), req.path().to_owned());
    let (tenant, tid, oid) = (caller.tenant.clone(), caller.tid.clone(), caller.oid.clone());
    req.extensions_mut().insert(caller);
    let response = next.call(req).await;
    let status = match &response {
        Ok(response) => response.status().as_u16(),
        Err(error) => error.as_response_error().status_code().as_u16(),
    };
    let first_byte = started.elapsed();
    super::metrics::answered(&tenant, &tid, &oid, status, first_byte);
    tracing::info!(
        %method,
        path,
        status,
        tenant,
        tid,
        oid,
        first_byte_ms = first_byte.as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// The caller that `require_token` authenticated.
pub fn caller(req: &HttpRequest) -> Result<Caller, ApiError> {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a request reached a handler without sign-in")))
}

/// `GET /dev-issuer/.well-known/openid-configuration` (only when the development issuer is on).
pub async fn dev_discovery(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let issuer = state.dev_issuer.as_ref().ok_or_else(|| ApiError::NotFound(req.path().to_owned()))?;
    let root = state.public_root(&req);
    Ok(HttpResponse::Ok().json(issuer.discovery(&root)))
}

/// `GET /dev-issuer/keys` (only when the development issuer is on).
pub async fn dev_keys(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let issuer = state.dev_issuer.as_ref().ok_or_else(|| ApiError::NotFound(req.path().to_owned()))?;
    Ok(HttpResponse::Ok().json(issuer.jwks()))
}

/// The routes of the development issuer, relative to the server root.
pub fn dev_routes(config: &mut web::ServiceConfig) {
    config
        .route(&format!("{DEV_PATH}/.well-known/openid-configuration"), web::get().to(dev_discovery))
        .route(&format!("{DEV_PATH}/keys"), web::get().to(dev_keys));
}
