//! AWS Signature Version 4, checked the way AWS checks it, for the stand-ins that take signed
//! requests in headers (DynamoDB, SQS, SES, Comprehend, `@connections`). A request the real service would refuse is refused here too.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http::HeaderMap;

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

/// Checks the `Authorization: AWS4-HMAC-SHA256 …` header of a request against a key pair: the
/// request is signed again by `aws-sigv4` (the crate the SDK signs with), with the headers,
/// scope and time the header names, and the signatures must match.
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
    let parts: Vec<&str> = scope.next().ok_or(SignatureError::Missing)?.split('/').collect();
    let [_date, region, service, "aws4_request"] = parts.as_slice() else { return Err(SignatureError::Missing) };
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok()).ok_or(SignatureError::Missing)?;
    let time = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| SignatureError::Missing)?
        .and_utc();

    // Exactly the headers the signature covers; one it names that is not there cannot match.
    let mut covered = Vec::new();
    for name in signed.split(';') {
        let value = headers.get(name).and_then(|v| v.to_str().ok()).ok_or(SignatureError::Mismatch)?;
        covered.push((name, value));
    }
    let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("localhost");
    let path = if path.is_empty() { "/" } else { path };
    let uri = if query.is_empty() { format!("http://{host}{path}") } else { format!("http://{host}{path}?{query}") };
    let identity = Credentials::new(access_key, secret, None, None, "local-stack").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time.into())
        .settings(SigningSettings::default())
        .build()
        .map_err(|_| SignatureError::Missing)?
        .into();
    let request = SignableRequest::new(method, uri, covered.into_iter(), SignableBody::Bytes(body))
        .map_err(|_| SignatureError::Mismatch)?;
    let expected = sign(request, &params).map_err(|_| SignatureError::Mismatch)?.into_parts().1;
    if expected == signature { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published SigV4 test vector `get-vanilla`.
    fn vanilla(date: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", "example.amazonaws.com".parse().unwrap());
        h.insert("x-amz-date", date.parse().unwrap());
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
                .parse()
                .unwrap(),
        );
        h
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn the_published_vector_verifies_and_any_change_does_not() {
        let ok = vanilla("20150830T123600Z");
        assert_eq!(verify("GET", "/", "", &ok, b"", "AKIDEXAMPLE", SECRET), Ok(()));
        assert_eq!(access_key(&ok).as_deref(), Some("AKIDEXAMPLE"));
        assert_eq!(verify("GET", "/", "", &ok, b"", "AKIDEXAMPLE", "another"), Err(SignatureError::Mismatch));
        assert_eq!(verify("GET", "/", "", &ok, b"", "OTHER", SECRET), Err(SignatureError::UnknownKey));
        assert_eq!(verify("POST", "/", "", &ok, b"", "AKIDEXAMPLE", SECRET), Err(SignatureError::Mismatch));
        assert_eq!(verify("GET", "/x", "", &ok, b"", "AKIDEXAMPLE", SECRET), Err(SignatureError::Mismatch));
        assert_eq!(verify("GET", "/", "a=b", &ok, b"", "AKIDEXAMPLE", SECRET), Err(SignatureError::Mismatch));
        assert_eq!(verify("GET", "/", "", &ok, b"body", "AKIDEXAMPLE", SECRET), Err(SignatureError::Mismatch));
        let later = vanilla("20150830T123601Z");
        assert_eq!(verify("GET", "/", "", &later, b"", "AKIDEXAMPLE", SECRET), Err(SignatureError::Mismatch));
        let mut unsigned = ok.clone();
        unsigned.remove("authorization");
        assert_eq!(verify("GET", "/", "", &unsigned, b"", "AKIDEXAMPLE", SECRET), Err(SignatureError::Missing));
    }
}
