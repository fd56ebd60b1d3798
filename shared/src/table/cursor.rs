//! Opaque, tamper-evident page cursors.
//!
//! A cursor is the query's `LastEvaluatedKey` (string attributes only: every key of the table is
//! a string) encoded as base64url JSON, followed by an HMAC-SHA256 over that payload and the
//! query's *scope* (index and partition). A cursor that was altered, forged, or taken from another
//! list fails verification and becomes a 400 `INVALID_CURSOR`.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;

type HmacSha256 = Hmac<Sha256>;

/// Longest cursor we even try to decode; a real one is a few hundred bytes.
const MAX_CURSOR_LEN: usize = 2048;

#[derive(Clone)]
pub struct CursorCodec {
    key: Vec<u8>,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec(..)")
    }
}

fn invalid() -> ApiError {
    ApiError::bad_request("INVALID_CURSOR", "The cursor is not valid for this list.")
}

impl CursorCodec {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, scope: &str, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(scope.as_bytes());
        mac.update(&[0]);
        mac.update(payload.as_bytes());
        mac
    }

    pub fn encode(&self, scope: &str, key: &HashMap<String, AttributeValue>) -> Result<String, ApiError> {
        let mut plain = BTreeMap::new();
        for (k, v) in key {
            let AttributeValue::S(s) = v else {
                return Err(ApiError::internal(format!("non-string key attribute {k} in a page key")));
            };
            plain.insert(k.as_str(), s.as_str());
        }
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain)?);
        let tag = URL_SAFE_NO_PAD.encode(self.mac(scope, &payload).finalize().into_bytes());
        Ok(format!("{payload}.{tag}"))
    }

    pub fn decode(&self, scope: &str, cursor: &str) -> Result<HashMap<String, AttributeValue>, ApiError> {
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let (payload, tag) = cursor.split_once('.').ok_or_else(invalid)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        // Constant-time comparison.
        self.mac(scope, payload).verify_slice(&tag).map_err(|_| invalid())?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let plain: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        Ok(plain.into_iter().map(|(k, v)| (k, AttributeValue::S(v))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("PK".to_string(), AttributeValue::S("USER#1".into())),
            ("SK".to_string(), AttributeValue::S("POST#9".into())),
        ])
    }

    #[test]
    fn round_trips() {
        let c = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        let s = c.encode("scope", &key()).unwrap();
        assert_eq!(c.decode("scope", &s).unwrap(), key());
    }

    #[test]
    fn refuses_tampering_forgery_and_other_scopes() {
        let c = CursorCodec::new(b"0123456789abcdef0123456789abcdef");
        let s = c.encode("scope", &key()).unwrap();
        let (payload, tag) = s.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"PK":"USER#2","SK":"POST#9"}"#);
        for bad in [
            format!("{forged_payload}.{tag}"),
            format!("{payload}.{}", URL_SAFE_NO_PAD.encode([0u8; 32])),
            "garbage".to_string(),
            format!("{payload}."),
        ] {
            let err = c.decode("scope", &bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_CURSOR", "{bad}");
        }
        assert_eq!(c.decode("another list", &s).unwrap_err().code(), "INVALID_CURSOR");
        let other_key = CursorCodec::new(b"another key of thirty-two bytes!");
        assert!(other_key.decode("scope", &s).is_err());
    }
}
