//! Pushing to clients over the WebSocket API: the live connections of each user, and frames
//! posted to them through `@connections` (`aws-sdk-apigatewaymanagement`). Any feature pushes
//! with [`to_user`] / [`to_users`]: chat messages, notifications, sale status, bans.
//!
//! A user may hold many connections (devices, tabs); every push goes to all of them. They are
//! kept on one item in the user's partition, an attribute per connection holding when it
//! expires, so one user's connections are one GetItem and a room's members' one BatchGetItem
//! per hundred people, not a query per member. A connection lives at most two hours (API
//! Gateway's limit); one that is gone without a `$disconnect` is forgotten on the first push that
//! gets `410 Gone`.

use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
pub use crate::keys::user_connections_key;
use crate::keys::{CONNECTION_PREFIX, connection_key};
use crate::table::{ENTITY_TYPE, Item, TTL_ATTRIBUTE, Write, n, s};

/// API Gateway closes every connection after two hours.
pub const CONNECTION_SECS: i64 = 2 * 3600;

/// Raised by the removal of a connection from a user who has no connections item: nothing to do.
const NO_CONNECTIONS: &str = "NO_CONNECTIONS";

/// A connection ended (`$disconnect`, or a push found it gone) that carried labels: what a
/// feature attached to it ([`label`]) and must undo now, such as a room it had open.
pub static CONNECTION_CLOSED: crate::events::Topic = crate::events::Topic {
    name: "realtime.connection-closed",
    summary: "A connection that carried labels ended (the rooms it had open, …)",
};

/// What [`CONNECTION_CLOSED`] carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionClosed {
    pub connection_id: String,
    pub user_id: String,
    pub labels: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionItem {
    user_id: String,
    connection_id: String,
    #[serde(default)]
    labels: Vec<String>,
}

const LABELS: &str = "labels";

/// The write that attaches `label` to a live connection, for [`CONNECTION_CLOSED`] to hand back
/// when it ends (fails with `on_fail` if the connection is gone already).
pub fn label(connection_id: &str, label: &str, on_fail: impl Into<ApiError>) -> Write {
    Write::update(connection_key(connection_id), "ADD #l :l")
        .name("#l", LABELS)
        .value(":l", AttributeValue::Ss(vec![label.to_string()]))
        .if_present(on_fail)
}

/// The write that takes `label` off a connection (nothing if it is gone).
pub fn unlabel(connection_id: &str, label: &str) -> Write {
    Write::update(connection_key(connection_id), "DELETE #l :l")
        .name("#l", LABELS)
        .value(":l", AttributeValue::Ss(vec![label.to_string()]))
        .if_present(ApiError::conflict(NO_CONNECTIONS, "the connection is gone"))
}

/// Whether a failed [`unlabel`] only found the connection gone.
pub fn is_gone(e: &ApiError) -> bool {
    e.code() == NO_CONNECTIONS
}

/// The attribute of the user's connections item that holds `connection_id`.
fn attribute_of(connection_id: &str) -> String {
    format!("{CONNECTION_PREFIX}{connection_id}")
}

/// The writes that record `connection_id` as `user_id`'s (at `$connect`): the connection's own
/// item (each frame finds its user there), and its attribute on the user's connections item.
/// The item expires with its newest connection, which is this one.
pub fn register(ctx: &AppContext, connection_id: &str, user_id: &str) -> Vec<Write> {
    let expires = ctx.now().timestamp() + CONNECTION_SECS;
    let mut own = connection_key(connection_id).to_item();
    own.insert(ENTITY_TYPE.into(), s("Connection"));
    own.insert("userId".into(), s(user_id));
    own.insert("connectionId".into(), s(connection_id));
    own.insert("connectedAt".into(), s(ctx.now().to_rfc3339()));
    own.insert(TTL_ATTRIBUTE.into(), n(expires));
    let listed = Write::update(user_connections_key(user_id), "SET #c = :expires, #ttl = :expires, #type = :type")
        .name("#c", &attribute_of(connection_id))
        .name("#ttl", TTL_ATTRIBUTE)
        .name("#type", ENTITY_TYPE)
        .value(":expires", n(expires))
        .value(":type", s("Connections"));
    vec![Write::put_item(own), listed]
}

/// The user of a live connection.
pub async fn user_of(ctx: &AppContext, connection_id: &str) -> ApiResult<Option<String>> {
    let item: Option<ConnectionItem> =
        ctx.table.get_item(&connection_key(connection_id)).await?.map(serde_dynamo::from_item).transpose()?;
    Ok(item.filter(|c| c.connection_id == connection_id).map(|c| c.user_id))
}

/// Forgets a connection (at `$disconnect`, or when a push finds it gone). A connection with
/// labels is deleted together with the [`CONNECTION_CLOSED`] event that hands them back, so
/// what they stand for is undone exactly when the connection is gone.
pub async fn forget(ctx: &AppContext, connection_id: &str) -> ApiResult<()> {
    let item: Option<ConnectionItem> =
        ctx.table.get_item(&connection_key(connection_id)).await?.map(serde_dynamo::from_item).transpose()?;
    let Some(item) = item.filter(|c| c.connection_id == connection_id) else {
        return ctx.table.write(Write::delete(connection_key(connection_id))).await;
    };
    unlist(ctx, &item.user_id, connection_id).await?;
    if item.labels.is_empty() {
        return ctx.table.write(Write::delete(connection_key(connection_id))).await;
    }
    let closed =
        ConnectionClosed { connection_id: connection_id.to_string(), user_id: item.user_id, labels: item.labels };
    // Only once: a second `forget` of the same connection finds it deleted.
    let mut writes = vec![
        Write::delete(connection_key(connection_id))
            .if_present(ApiError::conflict(NO_CONNECTIONS, "forgotten already")),
    ];
    writes.extend(crate::outbox::publish(ctx, &CONNECTION_CLOSED, &closed)?);
    match ctx.table.transact(writes).await {
        Err(e) if is_gone(&e) => Ok(()),
        other => other,
    }
}

/// Takes `connection_id` off `user`'s connections item, if the item is there (an update alone
/// would create it).
async fn unlist(ctx: &AppContext, user: &str, connection_id: &str) -> ApiResult<()> {
    let w = Write::update(user_connections_key(user), "REMOVE #c")
        .name("#c", &attribute_of(connection_id))
        .when("attribute_exists(PK)", ApiError::conflict(NO_CONNECTIONS, "no connections are listed"));
    match ctx.table.write(w).await {
        Err(e) if e.code() == NO_CONNECTIONS => Ok(()),
        other => other,
    }
}

/// The connections listed on a connections item (read at [`user_connections_key`] in a caller's
/// own batch) whose two hours have not passed at `now` (epoch seconds).
pub fn live_in(item: Option<&Item>, now: i64) -> Vec<String> {
    let Some(item) = item else { return Vec::new() };
    let mut live: Vec<String> = item
        .iter()
        .filter_map(|(name, v)| {
            let id = name.strip_prefix(CONNECTION_PREFIX)?;
            let AttributeValue::N(expires) = v else { return None };
            (expires.parse::<i64>().ok()? > now).then(|| id.to_string())
        })
        .collect();
    live.sort();
    live
}

/// `user`'s live connections (one GetItem).
pub async fn connections_of(ctx: &AppContext, user: &str) -> ApiResult<Vec<String>> {
    let item = ctx.table.get_item(&user_connections_key(user)).await?;
    Ok(live_in(item.as_ref(), ctx.now().timestamp()))
}

/// What became of one post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// The connection is gone (and now forgotten).
    Gone,
}

/// Posts `frame` (JSON) to one connection. A connection that is gone is forgotten.
pub async fn to_connection<T: Serialize + ?Sized>(
    ctx: &AppContext,
    connection_id: &str,
    frame: &T,
) -> ApiResult<Delivery> {
    let Some(client) = &ctx.connections else {
        return Err(ApiError::internal("this function has no WebSocket endpoint to push to"));
    };
    let data = serde_json::to_vec(frame)?;
    match client.post_to_connection().connection_id(connection_id).data(Blob::new(data)).send().await {
        Ok(_) => Ok(Delivery::Delivered),
        Err(SdkError::ServiceError(e)) if e.err().is_gone_exception() => {
            forget(ctx, connection_id).await?;
            Ok(Delivery::Gone)
        }
        Err(e) => Err(ApiError::internal(format!(
            "PostToConnection: {}",
            aws_sdk_apigatewaymanagement::error::DisplayErrorContext(e)
        ))),
    }
}

/// Posts `frame` to every live connection of `user`; how many received it.
pub async fn to_user<T: Serialize + ?Sized>(ctx: &AppContext, user: &str, frame: &T) -> ApiResult<usize> {
    to_connections(ctx, &connections_of(ctx, user).await?, frame).await
}

/// Posts `frame` to every live connection of each of `users`.
pub async fn to_users<T: Serialize + ?Sized>(ctx: &AppContext, users: &[String], frame: &T) -> ApiResult<usize> {
    to_listed(ctx, &connections_of_users(ctx, users).await?, frame).await
}

/// Posts `frame` to every connection of the users listed (as [`connections_from`] lists them).
pub async fn to_listed<T: Serialize + ?Sized>(
    ctx: &AppContext,
    listed: &[(String, Vec<String>)],
    frame: &T,
) -> ApiResult<usize> {
    let everyone: Vec<String> = listed.iter().flat_map(|(_, c)| c.iter().cloned()).collect();
    to_connections(ctx, &everyone, frame).await
}

/// The live connections of each of `users`, in their order (one BatchGetItem per hundred), for
/// a feature that sends several frames to the same people.
pub async fn connections_of_users(ctx: &AppContext, users: &[String]) -> ApiResult<Vec<(String, Vec<String>)>> {
    let items = ctx.table.batch_get_items(&connections_keys(users)).await?;
    Ok(connections_from(ctx, users, &items))
}

/// The keys [`connections_from`] reads, for a caller that reads them in its own batch
/// (`Table::batch_get_groups`).
pub fn connections_keys(users: &[String]) -> Vec<crate::table::Key> {
    users.iter().map(|u| user_connections_key(u)).collect()
}

/// The live connections of each of `users`, in their order, from the items read at
/// [`connections_keys`]`(users)`.
pub fn connections_from(ctx: &AppContext, users: &[String], items: &[Option<Item>]) -> Vec<(String, Vec<String>)> {
    let now = ctx.now().timestamp();
    users.iter().cloned().zip(items).map(|(u, i)| (u, live_in(i.as_ref(), now))).collect()
}

/// Posts `frame` to each of `connections` concurrently; how many received it.
pub async fn to_connections<T: Serialize + ?Sized>(
    ctx: &AppContext,
    connections: &[String],
    frame: &T,
) -> ApiResult<usize> {
    let results = join_all(connections.iter().map(|c| to_connection(ctx, c, frame))).await;
    results.into_iter().try_fold(0, |sum, r| Ok(sum + usize::from(r? == Delivery::Delivered)))
}
