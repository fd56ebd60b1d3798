//! The notification inbox: list, unread count, read, delete, and settings.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::error::Tolerate;
use shared::handler;
use shared::handler::{Caller, Json, NoContent, Okay, Params, Path};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, param, said};
use shared::table::Page;
use shared::table::TableError;
use shared::table::{Query, Write, b, n};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::NotificationError;
use crate::model::{Notification, Settings, counter_key, notification_key, settings_key};

const READ: &[Permission] = &[Permission::TableRead];
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];

pub static LIST: Function =
    Function::http(Method::Get, "/notifications", "notifications-list", PKG, Access::User, handler!(list))
        .permissions(READ)
        .doc("notifications", "My notifications, newest first")
        .query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 20", 1, 50)])
        .responses(&[said(200, "A page of notifications.")]);

pub static UNREAD: Function = Function::http(
    Method::Get,
    "/notifications/unread-count",
    "notifications-unread-count",
    PKG,
    Access::User,
    handler!(unread),
)
.permissions(READ)
.doc("notifications", "How many notifications I have not read")
.responses(&[said(200, "The count.")]);

pub static MARK_READ: Function = Function::http(
    Method::Patch,
    "/notifications/{id}/read",
    "notifications-mark-read",
    PKG,
    Access::User,
    handler!(mark_read),
)
.permissions(WRITE)
.doc("notifications", "Mark one notification read (idempotent)")
.responses(&[said(200, "The notification.")])
.errors(&[404]);

pub static READ_ALL: Function = Function::http(
    Method::Post,
    "/notifications/read-all",
    "notifications-read-all",
    PKG,
    Access::User,
    handler!(read_all),
)
.permissions(WRITE)
.doc("notifications", "Mark every notification read")
.responses(&[said(200, "How many changed.")]);

pub static DELETE: Function =
    Function::http(Method::Delete, "/notifications/{id}", "notifications-delete", PKG, Access::User, handler!(delete))
        .permissions(WRITE)
        .doc("notifications", "Delete one notification")
        .responses(&[said(204, "Deleted.")])
        .errors(&[404]);

pub static DELETE_ALL: Function = Function::http(
    Method::Delete,
    "/notifications",
    "notifications-delete-all",
    PKG,
    Access::User,
    handler!(delete_all),
)
.permissions(WRITE)
.doc("notifications", "Delete every notification")
.responses(&[said(200, "How many were deleted.")]);

pub static GET_SETTINGS: Function = Function::http(
    Method::Get,
    "/notifications/settings",
    "notifications-get-settings",
    PKG,
    Access::User,
    handler!(get_settings),
)
.permissions(READ)
.doc("notifications", "Which notifications I get: in the app, by email and by Web Push")
.responses(&[said(200, "My settings.")]);

pub static PUT_SETTINGS: Function = Function::http(
    Method::Put,
    "/notifications/settings",
    "notifications-put-settings",
    PKG,
    Access::User,
    handler!(put_settings),
)
.permissions(WRITE)
.doc("notifications", "Choose which notifications I get")
.example(r#"{"like":true,"comment":true,"follow":true,"chat":true,"trade":true,"campaign":true,"health":true,"notice":true,"email":{"like":false,"comment":true,"follow":false,"chat":false,"trade":true,"campaign":false,"health":true,"notice":true},"push":{"like":false,"comment":false,"follow":false,"chat":true,"trade":true,"campaign":true,"health":true,"notice":false}}"#,
)

.responses(&[said(200, "My settings.")]);

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
    NotificationError::NotificationNotFound.into()
}

pub async fn list(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Page<Notification>>> {
    let me = caller.user_id.clone();
    let query = Query::partition(shared::keys::user_partition(&me))
        .begins_with(crate::keys::NOTIFICATIONS)
        .newest_first()
        .paged(&params, 20, 50)?;
    let page = ctx.table.query::<Notification>(&query).await?;
    Ok(Okay(page))
}

/// How many of `user`'s notifications are unread.
pub async fn unread_of(ctx: &AppContext, user: &str) -> ApiResult<i64> {
    unread_in(ctx.table.get_item(&counter_key(user)).await?)
}

/// The unread count on the counter item read at [`counter_key`].
pub fn unread_in(counter: Option<shared::table::Item>) -> ApiResult<i64> {
    Ok(match counter {
        Some(item) => serde_dynamo::from_item::<_, Counter>(item)?.unread.max(0),
        None => 0,
    })
}

pub async fn unread(ctx: Arc<AppContext>, caller: Caller) -> ApiResult<Okay<UnreadCount>> {
    Ok(Okay(UnreadCount { count: unread_of(&ctx, &caller.user_id).await? }))
}

/// The writes that mark `n` read and count it down, only if it is still unread.
fn mark(me: &str, id: &str) -> Write {
    Write::update(notification_key(me, id), "SET #r = :yes")
        .name("#r", "read")
        .value(":yes", b(true))
        .value(":no", b(false))
        .when("#r = :no", NotificationError::AlreadyRead)
}

pub async fn mark_read(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<Okay<Notification>> {
    let me = caller.user_id.clone();
    let existing = ctx.table.get::<Notification>(&notification_key(&me, &id)).await?.ok_or_else(not_found)?;
    if !existing.read {
        // Read meanwhile by another request: the same outcome.
        ctx.table
            .transact(vec![mark(&me, &id), Write::update(counter_key(&me), "ADD unread :m").value(":m", n(-1))])
            .await
            .tolerate(&NotificationError::AlreadyRead)?;
    }
    let fresh = ctx.table.get::<Notification>(&notification_key(&me, &id)).await?.ok_or_else(not_found)?;
    Ok(Okay(fresh))
}

/// Every notification of `me`, page by page.
async fn all_of(ctx: &AppContext, me: &str) -> ApiResult<Vec<Notification>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = ctx
            .table
            .query::<Notification>(
                &Query::partition(shared::keys::user_partition(me))
                    .begins_with(crate::keys::NOTIFICATIONS)
                    .limit(200)
                    .cursor(cursor),
            )
            .await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

pub async fn read_all(ctx: Arc<AppContext>, caller: Caller) -> ApiResult<Okay<Changed>> {
    let me = caller.user_id.clone();
    let unread: Vec<String> = all_of(&ctx, &me).await?.into_iter().filter(|x| !x.read).map(|x| x.id).collect();
    let mut changed = 0;
    for chunk in unread.chunks(99) {
        let mut writes: Vec<Write> = chunk.iter().map(|id| mark(&me, id)).collect();
        writes.push(Write::update(counter_key(&me), "ADD unread :m").value(":m", n(-(chunk.len() as i64))));
        match ctx.table.transact(writes).await {
            Ok(()) => changed += chunk.len(),
            // One was read meanwhile: mark the rest one by one.
            Err(e) if e.is(&NotificationError::AlreadyRead) => {
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
    Ok(Okay(Changed { changed }))
}

pub async fn delete(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    let me = caller.user_id.clone();
    let existing = ctx.table.get::<Notification>(&notification_key(&me, &id)).await?.ok_or_else(not_found)?;
    let mut writes = vec![
        Write::delete(notification_key(&me, &id))
            .name("#r", "read")
            .value(":r", b(existing.read))
            .when("#r = :r", NotificationError::NotificationChanged),
    ];
    if !existing.read {
        writes.push(Write::update(counter_key(&me), "ADD unread :m").value(":m", n(-1)));
    }
    ctx.table.transact(writes).await?;
    Ok(NoContent)
}

pub async fn delete_all(ctx: Arc<AppContext>, caller: Caller) -> ApiResult<Okay<Changed>> {
    let me = caller.user_id.clone();
    let changed_meanwhile = || -> ApiError { NotificationError::NotificationsChanged.into() };
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
                Err(e) if e.is(&NotificationError::NotificationsChanged) || e.is(&TableError::Contended) => {
                    raced = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        if !raced {
            return Ok(Okay(Changed { changed }));
        }
    }
    Err(changed_meanwhile())
}

pub async fn get_settings(ctx: Arc<AppContext>, caller: Caller) -> ApiResult<Okay<Settings>> {
    let me = caller.user_id.clone();
    Ok(Okay(crate::model::load_settings(&ctx, &me).await?))
}

pub async fn put_settings(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<Settings>,
) -> ApiResult<Okay<Settings>> {
    let me = caller.user_id.clone();
    let mut item: shared::table::Item = serde_dynamo::to_item(body)?;
    item.extend(settings_key(&me).to_item());
    item.insert(shared::table::ENTITY_TYPE.into(), shared::table::s("NotificationSettings"));
    ctx.table.write(Write::put_item(item)).await?;
    Ok(Okay(body))
}
