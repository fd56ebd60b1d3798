//! AWS Signature Version 4, checked the way AWS checks it, for the stand-ins that take signed
//! requests in headers (DynamoDB, SQS, SES, Comprehend, `@connections`). A request the real service would refuse is refused here too.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Why a request's signature is not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No `Authorization` header, or not a SigV4 one.
    Missing,
    /// Signed with another access key.
    UnknownKey,
    /// The signature does not match the request.
    Mismatch,
}

/// The access key a request's `Authorization` header names.
pub fn access_key(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let credential = auth.split(',').map(str::trim).find_map(|f| f.strip_prefix("Credential="))?;
    credential.split('/').next().map(str::to_string)
}

/// Checks the `Authorization: AWS4-HMAC-SHA256 …` header of a request against a key pair.
pub fn verify(
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    access_key: &str,
    secret: &str,
) -> Result<(), SignatureError> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or(SignatureError::Missing)?;
    let fields = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or(SignatureError::Missing)?;
    let field = |name: &str| {
        fields.split(',').map(str::trim).find_map(|f| f.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
    };
    let (credential, signed, signature) = (field("Credential"), field("SignedHeaders"), field("Signature"));
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(SignatureError::Missing);
    };
    let mut scope = credential.splitn(2, '/');
    if scope.next() != Some(access_key) {
        return Err(SignatureError::UnknownKey);
    }
    let scope = scope.next().ok_or(SignatureError::Missing)?;
    let parts: Vec<&str> = scope.split('/').collect();
    let [date, region, service, "aws4_request"] = parts.as_slice() else { return Err(SignatureError::Missing) };
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok()).ok_or(SignatureError::Missing)?;

    let mut canonical_headers = String::new();
    for name in signed.split(';') {
        let value = headers.get(name).and_then(|v| v.to_str().ok()).ok_or(SignatureError::Mismatch)?;
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (encode(&k), encode(&v))).collect();
    pairs.sort();
    let canonical_query = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let payload = hex::encode(Sha256::digest(body));
    // Services other than S3 sign the path encoded once more (`@` → `%40`, `%3D` → `%253D`).
    let canonical_path =
        if path.is_empty() { "/".to_string() } else { path.split('/').map(encode).collect::<Vec<_>>().join("/") };
    let canonical = format!("{method}\n{canonical_path}\n{canonical_query}\n{canonical_headers}\n{signed}\n{payload}");
    let to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let key = ["aws4_request"]
        .iter()
        .fold(hmac(&hmac(&hmac(format!("AWS4{secret}").as_bytes(), date), region), service), |k, s| hmac(&k, s));
    if hex::encode(hmac(&key, &to_sign)) == signature { Ok(()) } else { Err(SignatureError::Mismatch) }
}

/// URI-encodes as SigV4 wants: unreserved characters as they are, everything else `%XX`.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
