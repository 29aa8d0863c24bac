//! The checks one bearer token goes through: the header's form, the algorithm, the issuer
//! (and, for Entra ID, the tenant it names against `tid`), the signature with the issuer's key,
//! `exp`/`nbf` with the clock skew, the audience, the client application, the scopes or app
//! roles (which grant reading, ingesting, or both), and the mapping of the caller's
//! organization to a feed tenant.

use super::{Access, AuthError, Caller, Issuer, IssuerKind, TenantMap, config::is_guid};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

type Claims = Map<String, Value>;

/// The token of an `Authorization: Bearer <token>` header. A missing header, another scheme
/// or an empty token all mean "no credentials" (Power Query's probe sends `Bearer` alone).
pub fn bearer(header: Option<&[u8]>) -> Result<&str, AuthError> {
    let Some(value) = header else { return Err(AuthError::Missing) };
    let value = value.trim_ascii();
    let (scheme, rest) = match value.iter().position(|b| *b == b' ') {
        Some(space) => (&value[..space], &value[space..]),
        None => (value, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(AuthError::Missing);
    }
    match std::str::from_utf8(rest).map_err(|_| AuthError::Malformed)?.trim() {
        "" => Err(AuthError::Missing),
        token => Ok(token),
    }
}

/// Every check, in an order that reveals nothing to a forger: the signature is verified before
/// any claim is trusted (the unverified `iss` only picks the issuer whose key must verify it).
/// Returns the caller with what its token grants, and the issuer that checked it. A token that
/// grants neither reading nor ingestion is refused here; whether what it grants is what the
/// request needs is for the caller of this function to decide (`Issuer::permit`).
pub async fn validate<'i>(token: &str, issuers: &'i [Issuer], skew: u64) -> Result<(Caller, &'i Issuer), AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(AuthError::Malformed);
    };
    let header = decode_part(header)?;
    let algorithm = match header.get("alg").and_then(Value::as_str) {
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        Some(other) => return Err(AuthError::Algorithm(shorten(other))),
        None => return Err(AuthError::Malformed),
    };
    let kid = header.get("kid").and_then(Value::as_str).ok_or(AuthError::NoKeyId)?;
    let unverified = decode_part(payload)?;
    let iss = unverified.get("iss").and_then(Value::as_str).ok_or_else(|| AuthError::MissingClaim("iss".into()))?;
    let (issuer, iss_tenant) = issuers
        .iter()
        .find_map(|issuer| tenant_in_issuer(issuer, iss).map(|tenant| (issuer, tenant)))
        .ok_or_else(|| AuthError::UnknownIssuer(shorten(iss)))?;

    let key = issuer.keys.key(kid).await?;
    if key.algorithm != algorithm {
        return Err(AuthError::Signature);
    }
    let mut validation = Validation::new(algorithm);
    validation.leeway = skew;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.set_audience(&issuer.audiences);
    validation.set_issuer(&[iss]);
    let claims =
        jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation).map_err(|e| rejection(e.kind()))?.claims;

    let tid = text_claim(&claims, &issuer.tenant_claim)?;
    if let Some(expected) = iss_tenant
        && (!is_guid(tid) || !tid.eq_ignore_ascii_case(expected))
    {
        return Err(AuthError::TenantMismatch(shorten(tid)));
    }
    let client = ["appid", "azp"].iter().find_map(|c| claims.get(*c).and_then(Value::as_str)).map(str::to_owned);
    if !issuer.clients.is_empty() && !client.as_ref().is_some_and(|c| issuer.clients.contains(c)) {
        return Err(AuthError::ClientNotAllowed(shorten(client.as_deref().unwrap_or("(none)"))));
    }
    // Entra and Keycloak give scopes as one space-separated string, Okta as an array.
    let scopes: Vec<&str> = ["scp", "scope"]
        .iter()
        .filter_map(|c| claims.get(*c))
        .flat_map(|value| match value {
            Value::String(text) => text.split_whitespace().collect(),
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        })
        .collect();
    let roles: Vec<&str> =
        claims.get("roles").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let holds = |wanted_scopes: &[String], wanted_roles: &[String]| {
        wanted_scopes.iter().any(|s| scopes.contains(&s.as_str()))
            || wanted_roles.iter().any(|r| roles.contains(&r.as_str()))
    };
    // Reading is open when the issuer requires nothing; ingesting never is (empty lists hold
    // nothing).
    let access = Access {
        read: (issuer.scopes.is_empty() && issuer.roles.is_empty()) || holds(&issuer.scopes, &issuer.roles),
        ingest: holds(&issuer.ingest_scopes, &issuer.ingest_roles),
    };
    if !access.read && !access.ingest {
        return Err(AuthError::InsufficientScope {
            scopes: issuer.scopes.join(", "),
            roles: issuer.roles.join(", "),
            ingest_scopes: issuer.ingest_scopes.join(", "),
            ingest_roles: issuer.ingest_roles.join(", "),
        });
    }
    let tenant = match &issuer.tenants {
        TenantMap::Listed(map) => {
            let found = map.iter().find(|(from, _)| match iss_tenant {
                Some(_) => from.eq_ignore_ascii_case(tid),
                None => from.as_str() == tid,
            });
            found.map(|(_, to)| to.clone()).ok_or_else(|| AuthError::UnknownTenant(shorten(tid)))?
        }
        TenantMap::SameName => tid.to_owned(),
    };
    let oid = claims
        .get("oid")
        .or_else(|| claims.get("sub"))
        .and_then(Value::as_str)
        .ok_or_else(|| AuthError::MissingClaim("oid".into()))?;
    let app_only = scopes.is_empty() && !roles.is_empty();
    Ok((Caller { tenant, tid: tid.to_owned(), oid: oid.to_owned(), client, app_only, access }, issuer))
}

/// Whether `issuer` issued a token with this `iss`: `Some(Some(tenant))` for an Entra issuer
/// (whose `iss` names the tenant), `Some(None)` for an OIDC issuer's exact URL.
fn tenant_in_issuer<'t>(issuer: &Issuer, iss: &'t str) -> Option<Option<&'t str>> {
    match issuer.kind {
        IssuerKind::Oidc => (issuer.issuer.as_deref() == Some(iss)).then_some(None),
        IssuerKind::Entra => {
            let v1 = iss.strip_prefix("https://sts.windows.net/").and_then(|rest| rest.strip_suffix('/'));
            let v2 = iss.strip_prefix("https://login.microsoftonline.com/").and_then(|rest| rest.strip_suffix("/v2.0"));
            v1.or(v2).filter(|tenant| !tenant.contains('/')).map(Some)
        }
    }
}

/// A base64url JSON object (a JWT header or payload), unverified.
fn decode_part(part: &str) -> Result<Claims, AuthError> {
    let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).map_err(|_| AuthError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)
}

fn text_claim<'c>(claims: &'c Claims, name: &str) -> Result<&'c str, AuthError> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| AuthError::MissingClaim(name.into()))
}

fn rejection(kind: &ErrorKind) -> AuthError {
    match kind {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidAudience => AuthError::Audience,
        ErrorKind::InvalidIssuer => AuthError::UnknownIssuer("(mismatch)".into()),
        ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => {
            AuthError::MissingClaim(claim.clone())
        }
        ErrorKind::InvalidAlgorithm => AuthError::Signature,
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            AuthError::Malformed
        }
        _ => AuthError::Signature,
    }
}

/// Text from a token, bounded for messages and logs.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(100) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
