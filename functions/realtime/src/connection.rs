//! The WebSocket API's own routes: `$connect` spends a ticket and records the connection,
//! `$disconnect` forgets it, `ping` keeps it alive, `$default` refuses unknown actions.

use std::sync::Arc;

use serde::Serialize;
use shared::routes::{Function, Permission};
use shared::socket::{Connect, Disconnect, Empty, Sender};
use shared::table::{Write, b, n};
use shared::{ApiResult, AppContext, ws_handler};

use crate::PKG;
use crate::error::RealtimeError;
use crate::tickets::{TicketItem, digest};

/// Pushing forgets connections API Gateway says are gone (`shared::push`): a table write.
const PUSH: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections];

pub static CONNECT: Function = Function::websocket(
    "$connect",
    "ws-connect",
    PKG,
    "Opens a connection with a one-time ticket (?ticket=); anything else refuses the handshake with 401",
    ws_handler!(connect),
)
.permissions(&[Permission::TableRead, Permission::TableWrite]);

pub static DISCONNECT: Function =
    Function::websocket("$disconnect", "ws-disconnect", PKG, "Forgets the connection", ws_handler!(disconnect))
        .permissions(&[Permission::TableRead, Permission::TableWrite]);

pub static DEFAULT: Function = Function::websocket(
    "$default",
    "ws-default",
    PKG,
    "Answers a frame with no known action with an UNKNOWN_ACTION error frame",
    ws_handler!(unknown),
)
.permissions(PUSH)
.frame(r#"{"action":"dance"}"#);

pub static PING: Function =
    Function::websocket("ping", "ws-ping", PKG, "Keep-alive: answers {\"type\":\"pong\"}", ws_handler!(ping))
        .permissions(PUSH)
        .frame(r#"{"action":"ping"}"#);

pub async fn connect(ctx: Arc<AppContext>, c: Connect) -> ApiResult<()> {
    let ticket = c.query.get("ticket").filter(|t| !t.is_empty()).ok_or(RealtimeError::TicketRequired)?;
    if ticket.len() > 200 {
        return Err(RealtimeError::InvalidTicket.into());
    }
    let now = ctx.now().timestamp();
    // Spending the ticket is one conditional write: of concurrent handshakes with one ticket,
    // exactly one gets through.
    let spend = Write::update(crate::keys::ticket_key(&digest(ticket)), "SET used = :yes")
        .value(":yes", b(true))
        .value(":no", b(false))
        .value(":now", n(now))
        .when("attribute_exists(PK) AND used = :no AND expires > :now", RealtimeError::InvalidTicket);
    let spent = ctx.table.write_returning(spend).await?.ok_or(RealtimeError::InvalidTicket)?;
    let ticket: TicketItem = serde_dynamo::from_item(spent).map_err(shared::ApiError::from)?;
    if !identity_contract::is_active(&ctx, &ticket.user_id).await? {
        return Err(RealtimeError::InvalidTicket.into());
    }
    ctx.table.transact(shared::push::register(&ctx, &c.connection_id, &ticket.user_id)).await
}

pub async fn disconnect(ctx: Arc<AppContext>, d: Disconnect) -> ApiResult<()> {
    shared::push::forget(&ctx, &d.connection_id).await
}

pub async fn unknown(_ctx: Arc<AppContext>, _from: Sender, _frame: serde_json::Value) -> ApiResult<()> {
    Err(RealtimeError::UnknownAction.into())
}

#[derive(Debug, Serialize)]
struct Pong {
    #[serde(rename = "type")]
    kind: &'static str,
}

pub async fn ping(ctx: Arc<AppContext>, from: Sender, _frame: Empty) -> ApiResult<()> {
    shared::push::to_connection(&ctx, &from.connection_id, &Pong { kind: "pong" }).await?;
    Ok(())
}
