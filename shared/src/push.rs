//! Pushing to clients over the WebSocket API: the live connections of each user, and frames
//! posted to them through `@connections` (`aws-sdk-apigatewaymanagement`). Any feature pushes
//! with [`to_user`] / [`to_users`]: chat messages, notifications, sale status, bans.
//!
//! A user may hold many connections (devices, tabs); every push goes to all of them. A
//! connection lives at most two hours (API Gateway's limit, and the items' TTL); one that is gone
//! without a `$disconnect` is forgotten on the first push that gets `410 Gone`.

use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use futures::future::join_all;
use serde::{Deserialize, Serialize};

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::keys::{CONNECTION_PREFIX, connection_key, user_connection_key, user_partition};
use crate::table::{Query, Write, n, s};

/// API Gateway closes every connection after two hours.
pub const CONNECTION_SECS: i64 = 2 * 3600;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionItem {
    user_id: String,
    connection_id: String,
}

/// The writes that record `connection_id` as `user_id`'s (at `$connect`).
pub fn register(ctx: &AppContext, connection_id: &str, user_id: &str) -> Vec<Write> {
    let expires = ctx.now().timestamp() + CONNECTION_SECS;
    let item = |key: crate::table::Key| {
        let mut i = key.to_item();
        i.insert(crate::table::ENTITY_TYPE.into(), s("Connection"));
        i.insert("userId".into(), s(user_id));
        i.insert("connectionId".into(), s(connection_id));
        i.insert("connectedAt".into(), s(ctx.now().to_rfc3339()));
        i.insert(crate::table::TTL_ATTRIBUTE.into(), n(expires));
        i
    };
    vec![
        Write::put_item(item(connection_key(connection_id))),
        Write::put_item(item(user_connection_key(user_id, connection_id))),
    ]
}

/// The user of a live connection.
pub async fn user_of(ctx: &AppContext, connection_id: &str) -> ApiResult<Option<String>> {
    let item: Option<ConnectionItem> =
        ctx.table.get_item(&connection_key(connection_id)).await?.map(serde_dynamo::from_item).transpose()?;
    Ok(item.filter(|c| c.connection_id == connection_id).map(|c| c.user_id))
}

/// Forgets a connection (at `$disconnect`, or when a push finds it gone).
pub async fn forget(ctx: &AppContext, connection_id: &str) -> ApiResult<()> {
    if let Some(user) = user_of(ctx, connection_id).await? {
        ctx.table
            .transact(vec![
                Write::delete(connection_key(connection_id)),
                Write::delete(user_connection_key(&user, connection_id)),
            ])
            .await?;
    } else {
        ctx.table.write(Write::delete(connection_key(connection_id))).await?;
    }
    Ok(())
}

/// `user`'s live connections: one query of their partition, page after page (a user with many
/// devices and tabs has more than one page), leaving out those whose TTL has passed.
pub async fn connections_of(ctx: &AppContext, user: &str) -> ApiResult<Vec<String>> {
    let q = Query::partition(user_partition(user))
        .begins_with(CONNECTION_PREFIX)
        .limit(100)
        .hide_expired(ctx.now().timestamp());
    Ok(ctx
        .table
        .query_items_all(&q, None)
        .await?
        .into_iter()
        .filter_map(|i| serde_dynamo::from_item::<_, ConnectionItem>(i).ok().map(|c| c.connection_id))
        .collect())
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
    let results = join_all(users.iter().map(|u| to_user(ctx, u, frame))).await;
    results.into_iter().try_fold(0, |sum, r| Ok(sum + r?))
}

/// The live connections of each of `users` (one query per user, concurrently), for a feature
/// that sends several frames to the same people.
pub async fn connections_of_users(ctx: &AppContext, users: &[String]) -> ApiResult<Vec<(String, Vec<String>)>> {
    let found = join_all(users.iter().map(|u| connections_of(ctx, u))).await;
    users.iter().cloned().zip(found).map(|(u, c)| Ok((u, c?))).collect()
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
