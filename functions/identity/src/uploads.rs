//! `POST /uploads`: a presigned S3 upload under the caller's own prefix.

use std::sync::Arc;

use serde::Deserialize;
use shared::media::{self, Purpose, Upload};
use shared::routes::{Access, Function, Method, Permission, respond, schema};
use shared::validate::{Validate, Validator};
use shared::{ApiRequest, ApiResponse, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;

pub static CREATE_UPLOAD: Function =
    Function::http(Method::Post, "/uploads", "uploads-create", PKG, Access::User, |c, r| Box::pin(create(c, r)))
        .permissions(&[Permission::TableRead, Permission::MediaWrite])
        .doc("media", "Get a presigned URL to upload one file")
        .request(schema::<UploadRequest>, r#"{"purpose":"profile","contentType":"image/png","contentLength":48213}"#)
        .responses(&[respond(201, "PUT the file to uploadUrl with the given headers.", Some(schema::<Upload>))]);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UploadRequest {
    pub purpose: Purpose,
    pub content_type: String,
    pub content_length: i64,
}

impl Validate for UploadRequest {
    fn validate(&self, v: &mut Validator) {
        v.text("contentType", &self.content_type, 3, 100);
    }
}

pub async fn create(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let body: UploadRequest = req.json()?;
    let caller = req.caller()?;
    let upload =
        media::presign_upload(&ctx, &caller.user_id, body.purpose, body.content_type.trim(), body.content_length)
            .await?;
    ApiResponse::created(&upload)
}
