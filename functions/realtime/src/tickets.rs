//! `POST /realtime/tickets`: a single-use ticket, valid for a minute, to open a WebSocket
//! connection as the caller. Only its digest is stored.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::handler::{Caller, Created};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Entity, Write};
use shared::{ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::keys;

/// How long a ticket may wait for its connection.
pub const TICKET_SECS: i64 = 60;

pub static CREATE: Function =
    Function::http(Method::Post, "/realtime/tickets", "realtime-tickets-create", PKG, Access::User, handler!(create))
        .permissions(&[Permission::TableRead, Permission::TableWrite])
        .doc("realtime", "A one-time ticket to open a WebSocket connection (ws://…?ticket=…)")
        .responses(&[said(201, "Connect within a minute; the ticket works once.")]);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
}

/// A stored ticket (by digest).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketItem {
    pub digest: String,
    pub user_id: String,
    pub used: bool,
    pub expires: i64,
}

impl Entity for TicketItem {
    const TYPE: &'static str = "ConnectionTicket";
    fn pk(&self) -> String {
        keys::ticket_partition(&self.digest)
    }
    fn sk(&self) -> String {
        keys::ticket_key(&self.digest).sk
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires)
    }
}

pub fn digest(ticket: &str) -> String {
    hex::encode(Sha256::digest(ticket.as_bytes()))
}

pub async fn create(ctx: Arc<AppContext>, caller: Caller) -> ApiResult<Created<Ticket>> {
    let ticket = hex::encode(rand::random::<[u8; 32]>());
    let now = ctx.now();
    let item = TicketItem {
        digest: digest(&ticket),
        user_id: caller.user_id.clone(),
        used: false,
        expires: now.timestamp() + TICKET_SECS,
    };
    ctx.table.write(Write::put(&item)?).await?;
    Ok(Created(Ticket { ticket, expires_at: now + chrono::Duration::seconds(TICKET_SECS) }))
}
