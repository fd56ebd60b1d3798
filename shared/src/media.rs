//! Media in S3: what may be uploaded for which purpose, presigned uploads under the caller's own
//! prefix, the check that a key a request references is the caller's and really is such a file,
//! and the URLs clients read media from.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

const MB: i64 = 1024 * 1024;
const IMAGES: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
    ("image/gif", "gif"),
    ("image/heic", "heic"),
];
const PDF: &[(&str, &str)] = &[("application/pdf", "pdf")];
const CHAT_EXTRA: &[(&str, &str)] =
    &[("video/mp4", "mp4"), ("video/quicktime", "mov"), ("text/plain", "txt"), ("application/zip", "zip")];

/// Why a file is uploaded; decides the allowed types, the size limit and the key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Profile,
    Pet,
    Post,
    Market,
    Chat,
    Prescription,
    Document,
}

impl Purpose {
    pub const ALL: [Purpose; 7] = [
        Purpose::Profile,
        Purpose::Pet,
        Purpose::Post,
        Purpose::Market,
        Purpose::Chat,
        Purpose::Prescription,
        Purpose::Document,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Profile => "profile",
            Purpose::Pet => "pet",
            Purpose::Post => "post",
            Purpose::Market => "market",
            Purpose::Chat => "chat",
            Purpose::Prescription => "prescription",
            Purpose::Document => "document",
        }
    }

    /// `(content type, extension)` pairs this purpose accepts.
    pub fn types(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Purpose::Document => IMAGES.iter().chain(PDF).copied().collect(),
            Purpose::Chat => IMAGES.iter().chain(PDF).chain(CHAT_EXTRA).copied().collect(),
            // What CLOVA OCR reads well.
            Purpose::Prescription => IMAGES.iter().filter(|(t, _)| *t != "image/webp").copied().collect(),
            _ => IMAGES.to_vec(),
        }
    }

    pub fn max_bytes(self) -> i64 {
        match self {
            Purpose::Chat => 50 * MB,
            _ => 10 * MB,
        }
    }

    fn extension(self, content_type: &str) -> Option<&'static str> {
        self.types().into_iter().find(|(t, _)| t.eq_ignore_ascii_case(content_type)).map(|(_, e)| e)
    }
}

/// A presigned upload.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    /// Reference the file by this key in later requests.
    pub key: String,
    pub upload_url: String,
    /// Always `PUT`.
    pub method: &'static str,
    /// Headers the upload must carry exactly.
    #[schema(value_type = Object)]
    pub headers: serde_json::Map<String, serde_json::Value>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

const UPLOAD_TTL: Duration = Duration::from_secs(15 * 60);
const READ_TTL: Duration = Duration::from_secs(60 * 60);

/// Presigns a PUT of `content_length` bytes of `content_type` under `users/<owner>/<purpose>/`.
pub async fn presign_upload(
    ctx: &AppContext,
    owner: &str,
    purpose: Purpose,
    content_type: &str,
    content_length: i64,
) -> ApiResult<Upload> {
    let Some(ext) = purpose.extension(content_type) else {
        let allowed: Vec<&str> = purpose.types().iter().map(|(t, _)| *t).collect();
        return Err(ApiError::validation(
            "contentType",
            "UNSUPPORTED_TYPE",
            format!("{} uploads may be {}", purpose.as_str(), allowed.join(", ")),
        ));
    };
    if content_length <= 0 || content_length > purpose.max_bytes() {
        return Err(ApiError::validation(
            "contentLength",
            "OUT_OF_RANGE",
            format!("{} uploads may be 1 to {} bytes", purpose.as_str(), purpose.max_bytes()),
        ));
    }
    let key = format!("users/{owner}/{}/{}.{ext}", purpose.as_str(), crate::ids::new_id(ctx.now()));
    let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(UPLOAD_TTL).map_err(ApiError::internal)?;
    let req = ctx
        .s3
        .put_object()
        .bucket(&ctx.config.media_bucket)
        .key(&key)
        .content_type(content_type)
        .content_length(content_length)
        .presigned(presigning)
        .await
        .map_err(|e| ApiError::internal(format!("presign: {e}")))?;
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".into(), content_type.into());
    Ok(Upload {
        key,
        upload_url: req.uri().to_string(),
        method: "PUT",
        headers,
        expires_at: ctx.now() + chrono::Duration::from_std(UPLOAD_TTL).unwrap_or_default(),
    })
}

/// Whether `file` has the shape of a name [`presign`] issues: a 26-character id, a dot and a
/// short lowercase extension.
fn is_issued_file_name(file: &str) -> bool {
    match file.split_once('.') {
        Some((id, ext)) => {
            crate::ids::is_valid_id(id)
                && (1..=5).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        }
        None => false,
    }
}

fn invalid(detail: &str) -> ApiError {
    ApiError::bad_request("INVALID_MEDIA", detail.to_string())
}

/// Checks that `key` was uploaded by `owner` for one of `purposes`, exists, and has an allowed
/// type and size.
pub async fn verify(ctx: &AppContext, owner: &str, key: &str, purposes: &[Purpose]) -> ApiResult<()> {
    let mut parts = key.splitn(4, '/');
    let (Some("users"), Some(uid), Some(purpose), Some(file)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("The media key is not one of ours."));
    };
    if uid != owner {
        return Err(invalid("The media belongs to someone else."));
    }
    let Some(purpose) = purposes.iter().copied().find(|p| p.as_str() == purpose) else {
        return Err(invalid("The media was uploaded for another purpose."));
    };
    // The file part is what `presign` issued: an id and an extension, nothing a client may bend
    // (`..`, a slash, a name S3 refuses as too long).
    if !is_issued_file_name(file) {
        return Err(invalid("The media key is not one of ours."));
    }
    // The first bytes, with the stored type and the whole size (one ranged GET): the content
    // must be what its type says (an HTML page uploaded as `image/png` is refused).
    let first = ctx
        .s3
        .get_object()
        .bucket(&ctx.config.media_bucket)
        .key(key)
        .range(format!("bytes=0-{}", SNIFF_BYTES - 1))
        .send()
        .await
        .map_err(|e| {
            use aws_sdk_s3::error::SdkError;
            match &e {
                SdkError::ServiceError(s) if s.err().is_no_such_key() => invalid("The media was not uploaded."),
                // S3 refused the key itself (a 4xx of the client's making): not a media of ours.
                SdkError::ServiceError(s) if s.raw().status().is_client_error() => {
                    invalid("The media key is not one of ours.")
                }
                SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
                    ApiError::Unavailable { code: "BUSY", detail: "The service is busy. Try again in a moment.".into() }
                }
                _ => ApiError::internal(format!("GetObject: {}", aws_sdk_s3::error::DisplayErrorContext(e))),
            }
        })?;
    let content_type = first.content_type().map(str::to_string);
    let size = first
        .content_range()
        .and_then(|r| r.rsplit('/').next())
        .and_then(|total| total.parse::<i64>().ok())
        .or(first.content_length())
        .unwrap_or(0);
    let head = first.body.collect().await.map_err(ApiError::internal)?.into_bytes();
    let ok_type = content_type.as_deref().is_some_and(|t| purpose.extension(t).is_some() && looks_like(t, &head));
    if !ok_type || size <= 0 || size > purpose.max_bytes() {
        return Err(invalid("The media's type or size is not allowed."));
    }
    Ok(())
}

/// Bytes read to recognise a file's type.
const SNIFF_BYTES: usize = 16;

/// Whether the file's first bytes are those of `content_type` (its magic number).
fn looks_like(content_type: &str, head: &[u8]) -> bool {
    match content_type.to_ascii_lowercase().as_str() {
        "image/png" => head.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => head.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/gif" => head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a"),
        "image/webp" => head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP",
        "image/heic" | "video/mp4" | "video/quicktime" => head.len() >= 8 && &head[4..8] == b"ftyp",
        "application/pdf" => head.starts_with(b"%PDF-"),
        "application/zip" => head.starts_with(b"PK\x03\x04"),
        // Plain text: no NUL and no markup a browser could take for a page.
        "text/plain" => !head.contains(&0) && !head.trim_ascii_start().starts_with(b"<"),
        _ => false,
    }
}

/// The content type a key's extension stands for.
fn type_of_key(key: &str) -> Option<&'static str> {
    let ext = key.rsplit_once('.')?.1;
    IMAGES.iter().chain(PDF).chain(CHAT_EXTRA).find(|(_, e)| e.eq_ignore_ascii_case(ext)).map(|(t, _)| *t)
}

/// A URL a client can GET the media from (valid for an hour). The response's type is pinned to
/// the type that was checked at upload, whatever the object claims. With a media CDN configured
/// the URL points at it: the CDN forwards path and query to the bucket under the bucket's own
/// host, so the signature still holds, and answers with `X-Content-Type-Options: nosniff`.
pub async fn url(ctx: &AppContext, key: &str) -> ApiResult<String> {
    let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(READ_TTL).map_err(ApiError::internal)?;
    let req = ctx
        .s3
        .get_object()
        .bucket(&ctx.config.media_bucket)
        .key(key)
        .set_response_content_type(type_of_key(key).map(str::to_string))
        .presigned(presigning)
        .await
        .map_err(|e| ApiError::internal(format!("presign: {e}")))?;
    Ok(through_cdn(req.uri(), ctx.config.media_base_url.as_deref()))
}

/// `uri` with its scheme and host replaced by `base`'s.
fn through_cdn(uri: &str, base: Option<&str>) -> String {
    let Some(base) = base else { return uri.to_string() };
    let rest = uri.split_once("://").map(|(_, r)| r).unwrap_or(uri);
    match rest.find('/') {
        Some(i) => format!("{base}{}", &rest[i..]),
        None => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdn_urls_keep_the_path_and_the_signature() {
        let signed = "https://media.s3.us-east-1.amazonaws.com/u/1/a.png?X-Amz-Signature=ab&x=1";
        assert_eq!(through_cdn(signed, None), signed);
        assert_eq!(
            through_cdn(signed, Some("https://d1.cloudfront.net")),
            "https://d1.cloudfront.net/u/1/a.png?X-Amz-Signature=ab&x=1"
        );
    }

    #[test]
    fn files_are_what_their_type_says() {
        assert!(looks_like("image/png", b"\x89PNG\r\n\x1a\n0000"));
        assert!(!looks_like("image/png", b"<html><script>"));
        assert!(looks_like("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(looks_like("application/pdf", b"%PDF-1.7"));
        assert!(!looks_like("text/plain", b"  <html>"));
        assert_eq!(type_of_key("users/u/post/01J.png"), Some("image/png"));
    }
}
