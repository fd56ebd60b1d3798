//! The notification inbox: list, unread count, read, delete, and settings.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, page, param, respond, schema};
use shared::table::{Query, Write, b, n};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiRequest, ApiResponse, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;
use crate::model::{Notification, Settings, counter_key, notification_key, settings_key};

const READ: &[Permission] = &[Permission::TableRead];
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];

pub static LIST: Function =
    Function::http(Method::Get, "/notifications", "notifications-list", PKG, Access::User, |c, r| Box::pin(list(c, r)))
        .permissions(READ)
        .doc("notifications", "My notifications, newest first")
        .query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 20", 1, 50)])
        .responses(&[respond(200, "A page of notifications.", Some(page::<Notification>))]);

pub static UNREAD: Function = Function::http(
    Method::Get,
    "/notifications/unread-count",
    "notifications-unread-count",
    PKG,
    Access::User,
    |c, r| Box::pin(unread(c, r)),
)
.permissions(READ)
.doc("notifications", "How many notifications I have not read")
.responses(&[respond(200, "The count.", Some(schema::<UnreadCount>))]);

pub static MARK_READ: Function =
    Function::http(Method::Patch, "/notifications/{id}/read", "notifications-mark-read", PKG, Access::User, |c, r| {
        Box::pin(mark_read(c, r))
    })
    .permissions(WRITE)
    .doc("notifications", "Mark one notification read (idempotent)")
    .responses(&[respond(200, "The notification.", Some(schema::<Notification>))])
    .errors(&[404]);

pub static READ_ALL: Function =
    Function::http(Method::Post, "/notifications/read-all", "notifications-read-all", PKG, Access::User, |c, r| {
        Box::pin(read_all(c, r))
    })
    .permissions(WRITE)
    .doc("notifications", "Mark every notification read")
    .responses(&[respond(200, "How many changed.", Some(schema::<Changed>))]);

pub static DELETE: Function =
    Function::http(Method::Delete, "/notifications/{id}", "notifications-delete", PKG, Access::User, |c, r| {
        Box::pin(delete(c, r))
    })
    .permissions(WRITE)
    .doc("notifications", "Delete one notification")
    .responses(&[respond(204, "Deleted.", None)])
    .errors(&[404]);

pub static DELETE_ALL: Function =
    Function::http(Method::Delete, "/notifications", "notifications-delete-all", PKG, Access::User, |c, r| {
        Box::pin(delete_all(c, r))
    })
    .permissions(WRITE)
    .doc("notifications", "Delete every notification")
    .responses(&[respond(200, "How many were deleted.", Some(schema::<Changed>))]);

pub static GET_SETTINGS: Function =
    Function::http(Method::Get, "/notifications/settings", "notifications-get-settings", PKG, Access::User, |c, r| {
        Box::pin(get_settings(c, r))
    })
    .permissions(READ)
    .doc("notifications", "Which notifications I get, in the app and by email")
    .responses(&[respond(200, "My settings.", Some(schema::<Settings>))]);

pub static PUT_SETTINGS: Function = Function::http(
    Method::Put,
    "/notifications/settings",
    "notifications-put-settings",
    PKG,
    Access::User,
    |c, r| Box::pin(put_settings(c, r)),
)
.permissions(WRITE)
.doc("notifications", "Choose which notifications I get")
.request(
    schema::<Settings>,
    r#"{"like":true,"comment":true,"follow":true,"chat":true,"trade":true,"campaign":true,"health":true,"notice":true,"email":{"like":false,"comment":true,"follow":false,"chat":false,"trade":true,"campaign":false,"health":true,"notice":true}}"#,
)
.responses(&[respond(200, "My settings.", Some(schema::<Settings>))]);

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Changed {
    pub changed: usize,
}

impl Validate for Settings {
    fn validate(&self, _: &mut Validator) {}
}

#[derive(Debug, Deserialize)]
struct Counter {
    #[serde(default)]
    unread: i64,
}

fn not_found() -> ApiError {
    ApiError::not_found("NOTIFICATION_NOT_FOUND", "No such notification.")
}

pub async fn list(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let me = req.caller()?.user_id.clone();
    let query = Query::partition(format!("USER#{me}")).begins_with("NOTIF#").newest_first().paged(&req, 20, 50)?;
    let page = ctx.table.query::<Notification>(&query).await?;
    ApiResponse::ok(&page)
}

pub async fn unread(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let me = req.caller()?.user_id.clone();
    let count = match ctx.table.get_item(&counter_key(&me)).await? {
        Some(item) => serde_dynamo::from_item::<_, Counter>(item)?.unread.max(0),
        None => 0,
    };
    ApiResponse::ok(&UnreadCount { count })
}

/// The writes that mark `n` read and count it down, only if it is still unread.
fn mark(me: &str, id: &str) -> Write {
    Write::update(notification_key(me, id), "SET #r = :yes")
        .name("#r", "read")
        .value(":yes", b(true))
        .value(":no", b(false))
        .when("#r = :no", ApiError::conflict("ALREADY_READ", "already read"))
}

pub async fn mark_read(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let me = req.caller()?.user_id.clone();
    let id = req.path_param("id")?.to_string();
    let existing = ctx.table.get::<Notification>(&notification_key(&me, &id)).await?.ok_or_else(not_found)?;
    if !existing.read {
        match ctx
            .table
            .transact(vec![mark(&me, &id), Write::update(counter_key(&me), "ADD unread :m").value(":m", n(-1))])
            .await
        {
            Ok(()) | Err(ApiError::Conflict { code: "ALREADY_READ", .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let fresh = ctx.table.get::<Notification>(&notification_key(&me, &id)).await?.ok_or_else(not_found)?;
    ApiResponse::ok(&fresh)
}

/// Every notification of `me`, page by page.
async fn all_of(ctx: &AppContext, me: &str) -> ApiResult<Vec<Notification>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = ctx
            .table
            .query::<Notification>(
                &Query::partition(format!("USER#{me}")).begins_with("NOTIF#").limit(200).cursor(cursor),
            )
            .await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

pub async fn read_all(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let me = req.caller()?.user_id.clone();
    let unread: Vec<String> = all_of(&ctx, &me).await?.into_iter().filter(|x| !x.read).map(|x| x.id).collect();
    let mut changed = 0;
    for chunk in unread.chunks(99) {
        let mut writes: Vec<Write> = chunk.iter().map(|id| mark(&me, id)).collect();
        writes.push(Write::update(counter_key(&me), "ADD unread :m").value(":m", n(-(chunk.len() as i64))));
        match ctx.table.transact(writes).await {
            Ok(()) => changed += chunk.len(),
            // One was read meanwhile: mark the rest one by one.
            Err(ApiError::Conflict { code: "ALREADY_READ", .. }) => {
                for id in chunk {
                    if ctx
                        .table
                        .transact(vec![
                            mark(&me, id),
                            Write::update(counter_key(&me), "ADD unread :m").value(":m", n(-1)),
                        ])
                        .await
                        .is_ok()
                    {
                        changed += 1;
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    ApiResponse::ok(&Changed { changed })
}

pub async fn delete(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let me = req.caller()?.user_id.clone();
    let id = req.path_param("id")?.to_string();
    let existing = ctx.table.get::<Notification>(&notification_key(&me, &id)).await?.ok_or_else(not_found)?;
    let mut writes =
        vec![Write::delete(notification_key(&me, &id)).name("#r", "read").value(":r", b(existing.read)).when(
            "#r = :r",
            ApiError::conflict("CONCURRENT_UPDATE", "The notification changed meanwhile. Try again."),
        )];
    if !existing.read {
        writes.push(Write::update(counter_key(&me), "ADD unread :m").value(":m", n(-1)));
    }
    ctx.table.transact(writes).await?;
    ApiResponse::no_content()
}

pub async fn delete_all(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let me = req.caller()?.user_id.clone();
    let changed_meanwhile = || ApiError::conflict("CONCURRENT_UPDATE", "Notifications changed meanwhile. Try again.");
    let mut changed = 0;
    // Each delete is conditional on the item as read, so the counter goes down only for items
    // this request really deleted unread; a chunk that raced with another delete or a read is
    // read again and retried.
    for _ in 0..5 {
        let all = all_of(&ctx, &me).await?;
        let mut raced = false;
        for chunk in all.chunks(99) {
            let unread = chunk.iter().filter(|x| !x.read).count() as i64;
            let mut writes: Vec<Write> = chunk
                .iter()
                .map(|x| {
                    Write::delete(notification_key(&me, &x.id))
                        .name("#r", "read")
                        .value(":r", b(x.read))
                        .when("attribute_exists(PK) AND #r = :r", changed_meanwhile())
                })
                .collect();
            if unread > 0 {
                writes.push(Write::update(counter_key(&me), "ADD unread :m").value(":m", n(-unread)));
            }
            match ctx.table.transact(writes).await {
                Ok(()) => changed += chunk.len(),
                Err(ApiError::Conflict { code: "CONCURRENT_UPDATE", .. }) => {
                    raced = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if !raced {
            return ApiResponse::ok(&Changed { changed });
        }
    }
    Err(changed_meanwhile())
}

pub async fn get_settings(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let me = req.caller()?.user_id.clone();
    ApiResponse::ok(&crate::worker::load_settings(&ctx, &me).await?)
}

pub async fn put_settings(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let body: Settings = req.json()?;
    let me = req.caller()?.user_id.clone();
    let mut item: shared::table::Item = serde_dynamo::to_item(body)?;
    item.extend(settings_key(&me).to_item());
    item.insert(shared::table::ENTITY_TYPE.into(), shared::table::s("NotificationSettings"));
    ctx.table.write(Write::put_item(item)).await?;
    ApiResponse::ok(&body)
}
