//! Notices to an audience (everyone, advertisers, PetStars' owners): `POST /admin/notices`
//! answers 202 at once; the notices worker delivers them a page of one audience shard at a time
//! (see [`notifications_contract::notices`]), and `GET /admin/notices/{id}` shows how far it got.

use std::sync::Arc;

use identity_contract::Audience;
use notifications_contract::notices::{Notice, NoticeProgress};
use serde::Deserialize;
use serde_json::json;
use shared::handler::{Accepted, Caller, Json, Okay, Params, Path, RequestId};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, param, said};
use shared::table::Page;
use shared::validate::{Validate, Validator};
use shared::{ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::audit::record;
use crate::error::AdminError;

pub static CREATE: Function =
    Function::http(Method::Post, "/admin/notices", "admin-notices-create", PKG, Access::Admin, handler!(create))
        .permissions(&[Permission::TableRead, Permission::TableWrite])
        .doc("admin", "Send a notice to everyone, to advertisers or to PetStars' owners: delivered in the background")
        .example(r#"{"title":"서비스 점검 안내","body":"12월 1일 02:00–04:00에 점검이 있습니다.","audience":"ALL"}"#)
        .responses(&[said(202, "The notice is on its way.")]);

pub static GET: Function =
    Function::http(Method::Get, "/admin/notices/{id}", "admin-notices-get", PKG, Access::Admin, handler!(get))
        .permissions(&[Permission::TableRead])
        .doc("admin", "A notice and how far its delivery went (targeted, delivered, shards done)")
        .errors(&[404]);

pub static LIST: Function =
    Function::http(Method::Get, "/admin/notices", "admin-notices-list", PKG, Access::Admin, handler!(list))
        .permissions(&[Permission::TableRead])
        .doc("admin", "The notices sent, newest first")
        .query(&[
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 20", 1, 100),
        ]);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NoticeRequest {
    pub title: String,
    pub body: String,
    pub audience: Audience,
}

impl Validate for NoticeRequest {
    fn validate(&self, v: &mut Validator) {
        v.line("title", &self.title, 1, 100);
        v.text("body", &self.body, 1, 2000);
    }
}

#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NoticeAccepted {
    pub id: String,
}

pub async fn create(
    ctx: Arc<AppContext>,
    caller: Caller,
    request: RequestId,
    Json(body): Json<NoticeRequest>,
) -> ApiResult<Accepted<NoticeAccepted>> {
    let now = ctx.now();
    let notice = Notice {
        id: shared::ids::new_id(now),
        title: body.title.trim().to_string(),
        body: body.body.trim().to_string(),
        audience: body.audience,
        created_by: caller.user_id.clone(),
        created_at: now,
    };
    let (_, audit) = record(
        &ctx,
        &caller.user_id,
        "NOTICE_SEND",
        "NOTICE",
        &notice.id,
        json!(null),
        json!({"title": notice.title, "audience": notice.audience}),
        Some(&request.0),
    )?;
    let mut writes = notifications_contract::notices::announce(&ctx, &notice)?;
    writes.push(audit);
    ctx.table.transact(writes).await?;
    Ok(Accepted(NoticeAccepted { id: notice.id }))
}

pub async fn get(ctx: Arc<AppContext>, _admin: Caller, Path(id): Path<String>) -> ApiResult<Okay<NoticeProgress>> {
    let found = notifications_contract::notices::progress(&ctx, &id).await?;
    Ok(Okay(found.ok_or(AdminError::NoticeNotFound)?))
}

pub async fn list(ctx: Arc<AppContext>, _admin: Caller, params: Params) -> ApiResult<Okay<Page<Notice>>> {
    let query = notifications_contract::notices::all().paged(&params, 20, 100)?;
    Ok(Okay(ctx.table.query::<Notice>(&query).await?))
}
