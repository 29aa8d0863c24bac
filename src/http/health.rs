//! `/healthz` (the process answers) and `/readyz` (the database answers too). Both stay open
//! to load balancers and orchestrators.

use actix_web::{HttpResponse, web};
use serde_json::json;
use std::time::Duration;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "up" }))
}

/// The database answers within two seconds.
pub async fn readyz(pool: web::Data<deadpool_postgres::Pool>) -> HttpResponse {
    match tokio::time::timeout(Duration::from_secs(2), crate::db::pool::ping(&pool)).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Ok(Err(error)) => {
            tracing::warn!(error = format!("{error:#}"), "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "reason": "database unreachable" }))
        }
        Err(_) => {
            HttpResponse::ServiceUnavailable().json(json!({ "status": "unavailable", "reason": "database timed out" }))
        }
    }
}
