//! Protocol version negotiation: the feed speaks OData 4.0, so a request whose
//! `OData-MaxVersion` is below 4.0 is refused with a clear error instead of an answer the
//! client cannot read. (Power Query also sends `MaxDataServiceVersion: 3.0`, a v3 header that
//! is ignored here; its `OData-MaxVersion` is 4.0.)

use super::ApiError;
use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
};

/// Middleware for the OData scope.
pub async fn require_v4(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(value) = req.headers().get("OData-MaxVersion") {
        let text = value.to_str().unwrap_or("");
        if !allows_v4(text) {
            return Err(ApiError::UnsupportedVersion(text.to_string()).into());
        }
    }
    next.call(req).await
}

/// True when a `major.minor` version is at least 4.0.
fn allows_v4(version: &str) -> bool {
    let mut parts = version.trim().splitn(2, '.');
    let major = parts.next().and_then(|p| p.parse::<u32>().ok());
    let minor_ok = parts.next().is_none_or(|p| p.parse::<u32>().is_ok());
    matches!(major, Some(m) if m >= 4) && minor_ok
}

#[cfg(test)]
mod tests {
    use super::allows_v4;

    #[test]
    fn versions_below_four_or_unreadable_are_refused() {
        assert!(allows_v4("4.0"));
        assert!(allows_v4("4.01"));
        assert!(allows_v4("4"));
        assert!(!allows_v4("3.0"));
        assert!(!allows_v4("2.0"));
        assert!(!allows_v4("four"));
        assert!(!allows_v4(""));
    }
}
