//! The `$skiptoken` of server-driven paging: the sort values of the last row sent and how many
//! rows were sent so far, signed so that a token altered by a client, or minted for another
//! query or tenant, is refused.
//!
//! Format: `base64url(json) "." base64url(first 16 bytes of HMAC-SHA256(key, scope "\n" json))`,
//! where the scope names the tenant, the entity set and every option that shapes the result.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The secret skiptokens are signed with; every instance serving a database shares it.
#[derive(Clone)]
pub struct SigningKey([u8; 32]);

impl SigningKey {
    pub fn new(bytes: [u8; 32]) -> SigningKey {
        SigningKey(bytes)
    }

    fn mac(&self, scope: &str, payload: &[u8]) -> [u8; 16] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(scope.as_bytes());
        mac.update(b"\n");
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Rows sent by the previous pages (after any `$skip`).
    #[serde(rename = "n")]
    pub delivered: u64,
    /// The sort values of the last row sent, as PostgreSQL text (`None` for null).
    #[serde(rename = "k")]
    pub values: Vec<Option<String>>,
}

/// Why a skiptoken was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the $skiptoken is not valid for this request; follow @odata.nextLink exactly as it was sent")]
pub struct InvalidToken;

/// Encodes and signs a cursor for one query scope.
pub fn encode(cursor: &Cursor, scope: &str, key: &SigningKey) -> String {
    let json = serde_json::to_vec(cursor).expect("a cursor serializes");
    let mac = key.mac(scope, &json);
    format!("{}.{}", URL_SAFE_NO_PAD.encode(&json), URL_SAFE_NO_PAD.encode(mac))
}

/// Verifies and decodes a token minted by `encode` for the same scope and key.
pub fn decode(token: &str, scope: &str, key: &SigningKey) -> Result<Cursor, InvalidToken> {
    let (payload, mac) = token.split_once('.').ok_or(InvalidToken)?;
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| InvalidToken)?;
    let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| InvalidToken)?;
    let mut verifier = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes any key length");
    verifier.update(scope.as_bytes());
    verifier.update(b"\n");
    verifier.update(&json);
    verifier.verify_truncated_left(&mac).map_err(|_| InvalidToken)?;
    if mac.len() != 16 {
        return Err(InvalidToken);
    }
    serde_json::from_slice(&json).map_err(|_| InvalidToken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SigningKey {
        SigningKey::new([b; 32])
    }

    fn cursor() -> Cursor {
        Cursor { delivered: 5000, values: vec![Some("conv-1".into()), None] }
    }

    #[test]
    fn a_token_round_trips_for_the_same_scope_and_key() {
        let token = encode(&cursor(), "t|Calls", &key(1));
        assert_eq!(decode(&token, "t|Calls", &key(1)), Ok(cursor()));
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
    }

    #[test]
    fn a_token_for_another_scope_or_key_is_refused() {
        let token = encode(&cursor(), "t|Calls", &key(1));
        assert_eq!(decode(&token, "u|Calls", &key(1)), Err(InvalidToken));
        assert_eq!(decode(&token, "t|Chats", &key(1)), Err(InvalidToken));
        assert_eq!(decode(&token, "t|Calls", &key(2)), Err(InvalidToken));
    }

    #[test]
    fn an_altered_token_is_refused() {
        let token = encode(&cursor(), "s", &key(1));
        let (payload, mac) = token.split_once('.').unwrap();
        let mut json = URL_SAFE_NO_PAD.decode(payload).unwrap();
        json[5] ^= 1;
        let forged = format!("{}.{mac}", URL_SAFE_NO_PAD.encode(&json));
        assert_eq!(decode(&forged, "s", &key(1)), Err(InvalidToken));
        for bad in ["", ".", "abc", "abc.def", &token[..token.len() - 2], &format!("{token}x")] {
            assert_eq!(decode(bad, "s", &key(1)), Err(InvalidToken), "{bad}");
        }
    }
}
