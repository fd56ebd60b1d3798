//! `POST /uploads`: a presigned S3 upload under the caller's own prefix.

use std::sync::Arc;

use serde::Deserialize;
use shared::handler;
use shared::handler::{Caller, Created, Json};
use shared::media::{self, Upload};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::validate::{Validate, Validator};
use shared::{ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;

pub static CREATE_UPLOAD: Function =
    Function::http(Method::Post, "/uploads", "uploads-create", PKG, Access::User, handler!(create))
        .open_while_held()
        .permissions(&[Permission::TableRead, Permission::MediaWrite])
        .doc("media", "Get a presigned URL to upload one file")
        .example(r#"{"purpose":"profile","contentType":"image/png","contentLength":48213}"#)
        .responses(&[said(201, "PUT the file to uploadUrl with the given headers.")]);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadRequest {
    /// What the file is for (`profile`, `pet`, `post`, `document`, `market`, `chat`,
    /// `prescription`): decides the allowed types and size.
    pub purpose: String,
    pub content_type: String,
    pub content_length: i64,
}

impl Validate for UploadRequest {
    fn validate(&self, v: &mut Validator) {
        v.text("purpose", &self.purpose, 1, 40);
        v.text("contentType", &self.content_type, 3, 100);
    }
}

pub async fn create(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<UploadRequest>,
) -> ApiResult<Created<Upload>> {
    let upload =
        media::presign_upload(&ctx, &caller.user_id, &body.purpose, body.content_type.trim(), body.content_length)
            .await?;
    Ok(Created(upload))
}
