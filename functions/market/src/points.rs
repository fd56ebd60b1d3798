//! Points: what sellers earn, and have paid out ([`crate::payouts`]). A payout never takes the
//! balance below zero, even under concurrent requests: a request is one transaction of a
//! conditional decrement and its ledger entry. A refund ([`crate::refunds`]) takes its points
//! back whatever the balance: a seller who was paid out already owes them, and their payouts
//! are held until the balance is back above zero.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::handler::{Caller, Okay, Params};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, param};
use shared::table::{Entity, Query, Write, n};
use shared::{ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::MarketError;
use crate::keys;

pub static BALANCE: Function =
    Function::http(Method::Get, "/users/me/points", "market-points", PKG, Access::User, handler!(balance))
        .permissions(&[Permission::TableRead])
        .doc("market", "My points: the balance and its entries, newest first")
        .query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 20", 1, 50)]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryKind {
    Earn,
    /// Points taken off the balance for a payout request.
    Hold,
    /// A rejected payout's points given back.
    Release,
    /// A refunded sale's points taken back (the balance may go below zero).
    Refund,
}

impl EntryKind {
    /// What an entry of this kind does to the balance.
    pub fn signed(self, amount: i64) -> i64 {
        match self {
            EntryKind::Earn | EntryKind::Release => amount,
            EntryKind::Hold | EntryKind::Refund => -amount,
        }
    }
}

/// One change of a balance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub id: String,
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub user_id: String,
    pub kind: EntryKind,
    pub amount: i64,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

impl Entity for Entry {
    const TYPE: &'static str = "PointEntry";
    fn pk(&self) -> String {
        keys::ledger_partition(&self.user_id)
    }
    fn sk(&self) -> String {
        self.id.clone()
    }
}

/// The writes that credit `amount` points to `user` with an EARN entry (for a sale's transaction).
pub fn earn(ctx: &AppContext, user: &str, amount: i64, reason: &str) -> ApiResult<Vec<Write>> {
    moved(ctx, user, EntryKind::Earn, amount, reason)
}

/// The writes that take a refunded sale's `amount` back from `user` with a REFUND entry,
/// whatever the balance.
pub fn refund(ctx: &AppContext, user: &str, amount: i64, reason: &str) -> ApiResult<Vec<Write>> {
    moved(ctx, user, EntryKind::Refund, amount, reason)
}

fn moved(ctx: &AppContext, user: &str, kind: EntryKind, amount: i64, reason: &str) -> ApiResult<Vec<Write>> {
    let now = ctx.now();
    let entry = Entry {
        id: shared::ids::new_id(now),
        user_id: user.to_string(),
        kind,
        amount,
        reason: reason.to_string(),
        created_at: now,
    };
    Ok(vec![
        Write::put(&entry)?.if_absent(MarketError::ListingChanged),
        Write::update(keys::balance_key(user), "ADD balance :a").value(":a", n(kind.signed(amount))),
    ])
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Points {
    /// Below zero after a refund of points already paid out.
    pub balance: i64,
    /// Whether payouts are held (the balance is below zero).
    pub payouts_held: bool,
    pub entries: Vec<Entry>,
    /// Pass as `cursor` for older entries.
    pub next_cursor: Option<String>,
}

pub async fn balance_of(ctx: &AppContext, user: &str) -> ApiResult<i64> {
    Ok(ctx.table.get_item(&keys::balance_key(user)).await?.as_ref().map(stored_balance).unwrap_or(0))
}

/// The balance a stored balance item holds.
pub fn stored_balance(item: &shared::table::Item) -> i64 {
    match item.get("balance") {
        Some(shared::table::AttrValue::N(n)) => n.parse().unwrap_or(0),
        _ => 0,
    }
}

pub async fn balance(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Points>> {
    let me = caller.user_id.clone();
    let query = Query::partition(keys::ledger_partition(&me)).newest_first().paged(&params, 20, 50)?;
    let page = ctx.table.query::<Entry>(&query).await?;
    let balance = balance_of(&ctx, &me).await?;
    Ok(Okay(Points { balance, payouts_held: balance < 0, entries: page.items, next_cursor: page.next_cursor }))
}
