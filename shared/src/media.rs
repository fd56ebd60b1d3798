//! Media in S3: what may be uploaded for which purpose, presigned uploads under the caller's own
//! prefix, the check that a key a request references is the caller's and really is such a file,
//! and the URLs clients read media from.

use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};

pub const MB: i64 = 1024 * 1024;

/// Every file format the product can check (its magic number, [`looks_like`]): content type and
/// the extension its keys get.
const FORMATS: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
    ("image/gif", "gif"),
    ("image/heic", "heic"),
    ("application/pdf", "pdf"),
    ("video/mp4", "mp4"),
    ("video/quicktime", "mov"),
    ("text/plain", "txt"),
    ("application/zip", "zip"),
];

/// The photo formats.
pub const IMAGES: &[&str] = &["image/jpeg", "image/png", "image/webp", "image/gif", "image/heic"];
/// PDF documents.
pub const PDF: &[&str] = &["application/pdf"];

/// Why a file is uploaded: the allowed types, the size limit and the key prefix
/// (`users/<owner>/<name>/`). The part of the product that takes such files declares it and
/// lists it on its domain (`crate::routes::Domain::uploads`); the upload endpoint reads them all
/// from [`PURPOSES_ENV`], which the infrastructure generator writes from those lists.
#[derive(Debug, PartialEq, Eq)]
pub struct Purpose {
    pub name: &'static str,
    /// Sets of content types (each one of [`FORMATS`]).
    pub types: &'static [&'static [&'static str]],
    pub max_bytes: i64,
}

/// The environment variable naming every upload purpose:
/// `<name>:<max bytes>:<type>,<type>;…`.
pub const PURPOSES_ENV: &str = "UPLOAD_PURPOSES";

/// A purpose as the upload endpoint reads it from [`PURPOSES_ENV`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPurpose {
    pub name: String,
    pub types: Vec<String>,
    pub max_bytes: i64,
}

impl Purpose {
    fn accepts(&self, content_type: &str) -> bool {
        self.types.iter().flat_map(|set| set.iter()).any(|t| t.eq_ignore_ascii_case(content_type))
    }

    pub fn as_upload(&self) -> UploadPurpose {
        UploadPurpose {
            name: self.name.to_string(),
            types: self.types.iter().flat_map(|set| set.iter()).map(|t| t.to_string()).collect(),
            max_bytes: self.max_bytes,
        }
    }
}

impl UploadPurpose {
    fn extension(&self, content_type: &str) -> Option<&'static str> {
        self.types.iter().find(|t| t.eq_ignore_ascii_case(content_type)).and_then(|t| extension_of(t))
    }
}

fn extension_of(content_type: &str) -> Option<&'static str> {
    FORMATS.iter().find(|(t, _)| t.eq_ignore_ascii_case(content_type)).map(|(_, e)| *e)
}

/// The purposes as [`PURPOSES_ENV`] carries them.
pub fn encode_purposes(purposes: &[&Purpose]) -> String {
    purposes
        .iter()
        .map(|p| format!("{}:{}:{}", p.name, p.max_bytes, p.as_upload().types.join(",")))
        .collect::<Vec<_>>()
        .join(";")
}

/// Reads [`PURPOSES_ENV`]; what is wrong with it, if anything.
pub fn decode_purposes(value: &str) -> Result<Vec<UploadPurpose>, String> {
    value
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| {
            let mut parts = entry.splitn(3, ':');
            let (Some(name), Some(max), Some(types)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("`{entry}` is not <name>:<max bytes>:<types>"));
            };
            let max_bytes = max.parse().map_err(|_| format!("`{max}` is not a size"))?;
            let types: Vec<String> = types.split(',').map(str::trim).map(str::to_string).collect();
            if let Some(t) = types.iter().find(|t| extension_of(t).is_none()) {
                return Err(format!("{t} is not a format the product checks"));
            }
            Ok(UploadPurpose { name: name.to_string(), types, max_bytes })
        })
        .collect()
}

/// The purposes this function was given (none: nothing may be uploaded).
fn purposes(ctx: &AppContext) -> Vec<UploadPurpose> {
    ctx.config.settings.get(PURPOSES_ENV).and_then(|v| decode_purposes(&v).ok()).unwrap_or_default()
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

/// Presigns a PUT of `content_length` bytes of `content_type` under `users/<owner>/<purpose>/`,
/// for one of the purposes the product declares (see [`Purpose`]).
pub async fn presign_upload(
    ctx: &AppContext,
    owner: &str,
    purpose: &str,
    content_type: &str,
    content_length: i64,
) -> ApiResult<Upload> {
    let known = purposes(ctx);
    let Some(purpose) = known.iter().find(|p| p.name == purpose) else {
        let names: Vec<&str> = known.iter().map(|p| p.name.as_str()).collect();
        return Err(ApiError::validation(
            "purpose",
            "UNKNOWN_PURPOSE",
            format!("the purpose is one of {}", names.join(", ")),
        ));
    };
    let Some(ext) = purpose.extension(content_type) else {
        return Err(ApiError::validation(
            "contentType",
            "UNSUPPORTED_TYPE",
            format!("{} uploads may be {}", purpose.name, purpose.types.join(", ")),
        ));
    };
    if content_length <= 0 || content_length > purpose.max_bytes {
        return Err(ApiError::validation(
            "contentLength",
            "OUT_OF_RANGE",
            format!("{} uploads may be 1 to {} bytes", purpose.name, purpose.max_bytes),
        ));
    }
    let key = format!("users/{owner}/{}/{}.{ext}", purpose.name, crate::ids::new_id(ctx.now()));
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
pub async fn verify(ctx: &AppContext, owner: &str, key: &str, purposes: &[&Purpose]) -> ApiResult<()> {
    let mut parts = key.splitn(4, '/');
    let (Some("users"), Some(uid), Some(purpose), Some(file)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("The media key is not one of ours."));
    };
    if uid != owner {
        return Err(invalid("The media belongs to someone else."));
    }
    let Some(purpose) = purposes.iter().copied().find(|p| p.name == purpose) else {
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
    let ok_type = content_type.as_deref().is_some_and(|t| purpose.accepts(t) && looks_like(t, &head));
    if !ok_type || size <= 0 || size > purpose.max_bytes {
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
    FORMATS.iter().find(|(_, e)| e.eq_ignore_ascii_case(ext)).map(|(t, _)| *t)
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
    fn purposes_travel_in_plain_characters() {
        const DOCS: Purpose = Purpose { name: "doc", types: &[IMAGES, PDF], max_bytes: 10 * MB };
        let text = encode_purposes(&[&DOCS]);
        assert!(text.starts_with("doc:10485760:image/jpeg,"), "{text}");
        assert_eq!(decode_purposes(&text).unwrap(), vec![DOCS.as_upload()]);
        assert!(decode_purposes("doc:10:image/x-exe").is_err());
        assert_eq!(DOCS.as_upload().extension("application/pdf"), Some("pdf"));
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
