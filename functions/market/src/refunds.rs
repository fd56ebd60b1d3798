//! Refunds of a completed sale, whole (partial refunds are not offered).
//!
//! The buyer asks within 7 days of the payment, with a reason. The seller accepts or refuses;
//! a refused request (or one left unanswered for 3 days) can be sent to an administrator, whose
//! decision is final. Accepting:
//!
//! 1. the request goes to REFUNDING, with a lease, in a conditional write: of many acceptances
//!    at once one goes on, the others wait for its outcome and answer it;
//! 2. Toss is asked to cancel the payment (`Idempotency-Key` per order: one cancel, however
//!    often asked);
//! 3. on Toss's cancel one transaction records the refund: the request REFUNDED, the sale's
//!    transaction CANCELED, the seller's points taken back with a REFUND entry (the balance may
//!    go below zero: payouts are then held), the listing for sale again unless the seller keeps
//!    it sold, both sides told, and the sale status pushed to the rooms.
//!
//! No answer from Toss answers 503 and leaves the request REFUNDING; asking again, or the
//! settling job, asks Toss what became of the payment and finishes, never cancelling twice.
//! Keys: [`crate::keys`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::handler::{Caller, Created, Json, Okay, Params, Path, RequestId};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, enum_param, int_param, param, said};
use shared::table::{Entity, Gsi, Page, Query, Write, s, time};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::MarketError;
use crate::keys;
use crate::payments::{OrderStatus, Sale, Trade, TradeStatus, order_of, undo_sale};
use crate::toss::{self, Failure};

/// How long after the payment a buyer may ask for a refund.
pub const WINDOW_DAYS: i64 = 7;
/// How long a seller may leave a request unanswered before the buyer can send it on.
const SELLER_DAYS: i64 = 3;

const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
/// Accepting cancels at Toss and pushes the sale status to the rooms.
const REFUND: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections];

/// Where a refund request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    /// Waiting for the seller.
    Requested,
    /// The seller refused; the buyer may send it to an administrator.
    Refused,
    /// Waiting for an administrator.
    Escalated,
    /// Accepted; Toss is being asked to cancel the payment.
    Refunding,
    /// Refunded: the payment cancelled, the sale's transaction CANCELED.
    Refunded,
    /// An administrator refused it: final.
    Rejected,
}

impl RefundStatus {
    pub const NAMES: &'static [&'static str] =
        &["REQUESTED", "REFUSED", "ESCALATED", "REFUNDING", "REFUNDED", "REJECTED"];
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Requested => "REQUESTED",
            RefundStatus::Refused => "REFUSED",
            RefundStatus::Escalated => "ESCALATED",
            RefundStatus::Refunding => "REFUNDING",
            RefundStatus::Refunded => "REFUNDED",
            RefundStatus::Rejected => "REJECTED",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Self::NAMES.iter().position(|n| *n == s).map(|i| {
            [
                RefundStatus::Requested,
                RefundStatus::Refused,
                RefundStatus::Escalated,
                RefundStatus::Refunding,
                RefundStatus::Refunded,
                RefundStatus::Rejected,
            ][i]
        })
    }
}

/// A buyer's request to refund a sale.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub id: String,
    pub order_id: String,
    pub market_post_id: String,
    pub buyer_id: String,
    pub seller_id: String,
    /// The listing's title when it was sold.
    pub title: String,
    pub amount: i64,
    pub payment_key: String,
    pub reason: String,
    pub status: RefundStatus,
    /// Why the seller refused.
    #[serde(default)]
    pub seller_reason: Option<String>,
    /// What the buyer added when sending it to an administrator.
    #[serde(default)]
    pub escalation_note: Option<String>,
    /// Why an administrator refused.
    #[serde(default)]
    pub admin_reason: Option<String>,
    /// Who accepted or finally refused it.
    #[serde(default)]
    pub decided_by: Option<String>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    /// Whether the listing goes back on sale once refunded (the seller may keep it sold).
    #[serde(default = "yes")]
    pub relist: bool,
    /// While REFUNDING: the status it was accepted from (it goes back there if Toss refuses).
    #[serde(default)]
    pub accepted_from: Option<RefundStatus>,
    /// While REFUNDING: until when the accepting request holds it (others wait, then ask Toss).
    #[serde(default)]
    pub lease_until: Option<DateTime<Utc>>,
    /// Why the last cancel did not go through, if Toss refused it.
    #[serde(default)]
    pub provider_code: Option<String>,
    #[serde(default)]
    pub refunded_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn yes() -> bool {
    true
}

impl Entity for Refund {
    const TYPE: &'static str = "MarketRefund";
    fn pk(&self) -> String {
        keys::refund_key(&self.id).pk
    }
    fn sk(&self) -> String {
        keys::refund_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![
            (Gsi::Gsi1, keys::refunds_in_partition(self.status.as_str()), self.id.clone()),
            (Gsi::Gsi2, keys::refunds_to_partition(&self.seller_id), self.id.clone()),
            (Gsi::Gsi3, keys::refunds_from_partition(&self.buyer_id), self.id.clone()),
        ]
    }
}

/// A refund request as its buyer, its seller and administrators see it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundView {
    pub id: String,
    pub order_id: String,
    pub market_post_id: String,
    pub buyer_id: String,
    pub seller_id: String,
    pub title: String,
    pub amount: i64,
    pub reason: String,
    pub status: RefundStatus,
    pub seller_reason: Option<String>,
    pub escalation_note: Option<String>,
    pub admin_reason: Option<String>,
    pub relist: bool,
    /// Toss's code, when it refused the last cancel.
    pub provider_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
}

impl From<&Refund> for RefundView {
    fn from(r: &Refund) -> Self {
        RefundView {
            id: r.id.clone(),
            order_id: r.order_id.clone(),
            market_post_id: r.market_post_id.clone(),
            buyer_id: r.buyer_id.clone(),
            seller_id: r.seller_id.clone(),
            title: r.title.clone(),
            amount: r.amount,
            reason: r.reason.clone(),
            status: r.status,
            seller_reason: r.seller_reason.clone(),
            escalation_note: r.escalation_note.clone(),
            admin_reason: r.admin_reason.clone(),
            relist: r.relist,
            provider_code: r.provider_code.clone(),
            created_at: r.created_at,
            decided_at: r.decided_at,
            refunded_at: r.refunded_at,
        }
    }
}

/// A refund request in the administrators' queue, with what the seller's balance is now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedRefund {
    #[serde(flatten)]
    pub refund: RefundView,
    /// Below zero once refunded after a payout: the seller's payouts are held.
    pub seller_balance: i64,
}

fn refund_path(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    match shared::routes::id_param(path, "id") {
        Some(id) => vec![keys::refund_key(id)],
        None => Vec::new(),
    }
}

pub static REQUEST: Function = Function::http(
    Method::Post,
    "/market/orders/{id}/refund-requests",
    "market-refunds-request",
    PKG,
    Access::User,
    handler!(request),
)
.permissions(WRITE)
.doc("market", "Ask the seller to refund a purchase, within 7 days of the payment, with a reason")
.example(r#"{"reason":"설명과 달리 파손된 상태로 도착했어요."}"#)
.responses(&[said(201, "Asked; the seller is told.")])
.errors(&[404, 409]);

pub static GET: Function =
    Function::http(Method::Get, "/market/refund-requests/{id}", "market-refunds-get", PKG, Access::User, handler!(get))
        .permissions(&[Permission::TableRead])
        .doc("market", "A refund request of mine, as its buyer or its seller")
        .errors(&[404])
        .reads_with_session(refund_path);

pub static MINE: Function = Function::http(
    Method::Get,
    "/users/me/market/refund-requests",
    "market-refunds-mine",
    PKG,
    Access::User,
    handler!(mine),
)
.permissions(&[Permission::TableRead])
.doc("market", "The refund requests I sent (as=buyer, default) or was sent (as=seller), newest first")
.query(&[
    enum_param("as", false, "buyer (default) or seller", &["buyer", "seller"]),
    param("cursor", false, "from nextCursor"),
    int_param("limit", false, "page size, default 20", 1, 50),
]);

pub static DECIDE: Function = Function::http(
    Method::Put,
    "/market/refund-requests/{id}/decision",
    "market-refunds-decide",
    PKG,
    Access::User,
    handler!(decide),
)
.permissions(REFUND)
.settings(toss::SETTINGS)
.timeout(30)
.doc("market", "As the seller, accept a refund request (the payment is cancelled at once) or refuse it with a reason")
.example(r#"{"decision":"ACCEPT","relist":true}"#)
.responses(&[said(200, "Decided: REFUNDED, or REFUSED (the same answer however often it is sent).")])
.errors(&[400, 403, 404, 409, 503])
.reads_with_session(refund_path);

pub static ESCALATE: Function = Function::http(
    Method::Post,
    "/market/refund-requests/{id}/escalation",
    "market-refunds-escalate",
    PKG,
    Access::User,
    handler!(escalate),
)
.permissions(WRITE)
.doc("market", "As the buyer, send a refused refund request (or one unanswered for 3 days) to an administrator")
.example(r#"{"note":"사진을 첨부했는데도 거절당했어요."}"#)
.responses(&[said(200, "Sent: an administrator decides.")])
.errors(&[403, 404, 409])
.reads_with_session(refund_path);

pub static QUEUE: Function =
    Function::http(Method::Get, "/admin/refund-requests", "market-admin-refunds", PKG, Access::Admin, handler!(queue))
        .permissions(&[Permission::TableRead])
        .doc("admin", "Refund requests by status (ESCALATED by default), oldest first, with each seller's balance")
        .query(&[
            enum_param("status", false, "ESCALATED (default), or any other status", RefundStatus::NAMES),
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 20", 1, 50),
        ]);

pub static ADMIN_DECIDE: Function = Function::http(
    Method::Put,
    "/admin/refund-requests/{id}/decision",
    "market-admin-refunds-decide",
    PKG,
    Access::Admin,
    handler!(admin_decide),
)
.permissions(REFUND)
.settings(toss::SETTINGS)
.timeout(30)
.doc("admin", "Grant a refund request sent to administrators (the payment is cancelled) or refuse it, finally")
.reads_with_session(refund_path)
.example(r#"{"decision":"ACCEPT","reason":"파손 사진 확인"}"#)
.responses(&[said(200, "Decided: REFUNDED or REJECTED.")])
.errors(&[400, 404, 409, 503]);

// ---- Asking ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRefund {
    pub reason: String,
}

impl Validate for NewRefund {
    fn validate(&self, v: &mut Validator) {
        v.text("reason", &self.reason, 1, 500);
    }
}

fn told(ctx: &AppContext, r: &Refund, what: &str, to: &str, from: &str, message: String) -> ApiResult<Vec<Write>> {
    notifications_contract::outbox(
        ctx,
        vec![notifications_contract::NotificationEvent {
            event_id: format!("refund-{}-{what}-{to}", r.id),
            kind: notifications_contract::NotificationKind::Refund,
            actor_id: from.to_string(),
            recipient_id: to.to_string(),
            target_type: "REFUND_REQUEST".into(),
            target_id: r.id.clone(),
            excerpt: Some(message),
        }],
    )
}

pub async fn request(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(order_id): Path<String>,
    Json(body): Json<NewRefund>,
) -> ApiResult<Created<RefundView>> {
    let order = order_of(&ctx, &caller.user_id, &order_id).await?;
    if order.status != OrderStatus::Done {
        return Err(MarketError::NotRefundable.into());
    }
    let trade = ctx
        .table
        .get::<Trade>(&keys::trade_key(&order.listing_id, &order.id))
        .await?
        .ok_or(MarketError::NotRefundable)?;
    if trade.refund_request_id.is_some() {
        return Err(MarketError::RefundRequested.into());
    }
    if trade.status != TradeStatus::Completed {
        return Err(MarketError::NotRefundable.into());
    }
    let now = ctx.now();
    if now - trade.approved_at > chrono::Duration::days(WINDOW_DAYS) {
        return Err(MarketError::RefundWindowClosed.into());
    }
    let refund = Refund {
        id: shared::ids::new_id(now),
        order_id: order.id.clone(),
        market_post_id: order.listing_id.clone(),
        buyer_id: order.buyer_id.clone(),
        seller_id: order.seller_id.clone(),
        title: trade.title.clone(),
        amount: trade.amount,
        payment_key: trade.payment_key.clone(),
        reason: body.reason.trim().to_string(),
        status: RefundStatus::Requested,
        seller_reason: None,
        escalation_note: None,
        admin_reason: None,
        decided_by: None,
        decided_at: None,
        relist: true,
        accepted_from: None,
        lease_until: None,
        provider_code: None,
        refunded_at: None,
        created_at: now,
        updated_at: now,
    };
    // One request per sale: the sale's transaction records it, conditionally.
    let mut writes = vec![
        Write::put(&refund)?.if_absent(ApiError::internal("refund id collision")),
        Write::update(keys::trade_key(&order.listing_id, &order.id), "SET refundRequestId = :id")
            .name("#st", "status")
            .value(":id", s(&refund.id))
            .value(":completed", s("COMPLETED"))
            .when("#st = :completed AND attribute_not_exists(refundRequestId)", MarketError::RefundRequested),
    ];
    let message = format!("‘{}’ 구매자가 환불을 요청했습니다. 사유: {}", refund.title, refund.reason);
    writes.extend(told(&ctx, &refund, "requested", &refund.seller_id, &refund.buyer_id, message)?);
    ctx.table.transact(writes).await?;
    Ok(Created(RefundView::from(&refund)))
}

async fn find(ctx: &AppContext, id: &str) -> ApiResult<Refund> {
    if !shared::ids::is_valid_id(id) {
        return Err(MarketError::RefundNotFound.into());
    }
    ctx.table.get::<Refund>(&keys::refund_key(id)).await?.ok_or(MarketError::RefundNotFound.into())
}

/// The request, if the caller is its buyer or seller: nobody else learns that it exists
/// (administrators read it in their queue).
async fn of_party(ctx: &AppContext, caller: &Caller, id: &str) -> ApiResult<Refund> {
    let r = find(ctx, id).await?;
    if r.buyer_id == caller.user_id || r.seller_id == caller.user_id {
        Ok(r)
    } else {
        Err(MarketError::RefundNotFound.into())
    }
}

pub async fn get(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<Okay<RefundView>> {
    Ok(Okay(RefundView::from(&of_party(&ctx, &caller, &id).await?)))
}

pub async fn mine(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Page<RefundView>>> {
    let query = match params.get("as") {
        None | Some("buyer") => Query::partition(keys::refunds_from_partition(&caller.user_id)).index(Gsi::Gsi3),
        Some("seller") => Query::partition(keys::refunds_to_partition(&caller.user_id)).index(Gsi::Gsi2),
        Some(_) => return Err(ApiError::validation("as", "ONE_OF", "buyer or seller")),
    };
    let page = ctx.table.query::<Refund>(&query.newest_first().paged(&params, 20, 50)?).await?;
    Ok(Okay(page.map(|r| RefundView::from(&r))))
}

/// Moves a request on from the state it was read in (its status and `updatedAt`): a racing
/// change makes this fail with [`MarketError::RefundChanged`].
async fn advance(ctx: &AppContext, seen: &Refund, mut next: Refund, extra: Vec<Write>) -> ApiResult<Refund> {
    next.updated_at = ctx.now().max(seen.updated_at + chrono::Duration::milliseconds(1));
    let mut writes = vec![
        Write::put(&next)?
            .name("#st", "status")
            .value(":seen_status", s(seen.status.as_str()))
            .value(":seen", time(seen.updated_at))
            .when("#st = :seen_status AND updatedAt = :seen", MarketError::RefundChanged),
    ];
    writes.extend(extra);
    // A transaction even for one item: the request's write charge rides in it (no call of its own).
    ctx.table.transact(writes).await?;
    Ok(next)
}

// ---- Deciding ----

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefundDecision {
    /// `ACCEPT` (the payment is cancelled) or `REFUSE`.
    pub decision: String,
    /// Why (required to refuse; the buyer is told).
    #[serde(default)]
    pub reason: Option<String>,
    /// On acceptance: whether the listing goes back on sale (default) or stays sold.
    #[serde(default)]
    pub relist: Option<bool>,
}

impl Validate for RefundDecision {
    fn validate(&self, v: &mut Validator) {
        match (self.decision.as_str(), &self.reason) {
            ("ACCEPT", Some(r)) => v.text("reason", r, 1, 300),
            ("ACCEPT", None) => {}
            ("REFUSE", Some(r)) => v.text("reason", r, 1, 300),
            ("REFUSE", None) => v.check(false, "reason", "REQUIRED", "why it is refused"),
            _ => v.check(false, "decision", "ONE_OF", "ACCEPT or REFUSE"),
        }
    }
}

pub async fn decide(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<RefundDecision>,
) -> ApiResult<Okay<RefundView>> {
    let r = of_party(&ctx, &caller, &id).await?;
    if r.seller_id != caller.user_id {
        return Err(MarketError::NotYourSale.into());
    }
    if body.decision == "ACCEPT" {
        let relist = body.relist.unwrap_or(true);
        return accept(&ctx, r, &[RefundStatus::Requested], &caller.user_id, relist, |_| Ok(Vec::new()))
            .await
            .map(|r| Okay(RefundView::from(&r)));
    }
    let reason = body.reason.unwrap_or_default();
    let done = move_on(&ctx, r, |r| {
        match r.status {
            RefundStatus::Refused => return Ok(Step::Already),
            RefundStatus::Requested => {}
            _ => return Err(MarketError::RefundDecided.into()),
        }
        let mut next = r.clone();
        next.status = RefundStatus::Refused;
        next.seller_reason = Some(reason.clone());
        next.decided_at = Some(ctx.now());
        let message = format!(
            "판매자가 ‘{}’ 환불 요청을 거절했습니다. 사유: {reason} — 관리자에게 다시 요청할 수 있습니다.",
            r.title
        );
        Ok(Step::Next(Box::new(next), told(&ctx, r, "refused", &r.buyer_id, &r.seller_id, message)?))
    })
    .await?;
    Ok(Okay(RefundView::from(&done)))
}

/// What a decision makes of a request as it stands now.
enum Step {
    /// It is there already: the same decision again answers it as it is.
    Already,
    /// It moves on to this, with these writes in the same transaction.
    Next(Box<Refund>, Vec<Write>),
}

/// Moves `r` on as `step` says, again from a fresh read whenever a racing change wins.
async fn move_on(ctx: &AppContext, mut r: Refund, step: impl Fn(&Refund) -> ApiResult<Step>) -> ApiResult<Refund> {
    loop {
        match step(&r)? {
            Step::Already => return Ok(r),
            Step::Next(next, extra) => match advance(ctx, &r, *next, extra).await {
                Ok(done) => return Ok(done),
                Err(e) if e.is(&MarketError::RefundChanged) => r = find(ctx, &r.id).await?,
                Err(e) => return Err(e),
            },
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Escalation {
    /// What the administrator should know.
    #[serde(default)]
    pub note: Option<String>,
}

impl Validate for Escalation {
    fn validate(&self, v: &mut Validator) {
        if let Some(n) = &self.note {
            v.text("note", n, 1, 500);
        }
    }
}

pub async fn escalate(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Escalation>,
) -> ApiResult<Okay<RefundView>> {
    let r = of_party(&ctx, &caller, &id).await?;
    if r.buyer_id != caller.user_id {
        return Err(MarketError::NotYourPurchase.into());
    }
    let done = move_on(&ctx, r, |r| {
        let unanswered =
            r.status == RefundStatus::Requested && ctx.now() - r.created_at >= chrono::Duration::days(SELLER_DAYS);
        match r.status {
            RefundStatus::Escalated => return Ok(Step::Already),
            RefundStatus::Refused => {}
            _ if unanswered => {}
            _ => return Err(MarketError::NotEscalatable.into()),
        }
        let mut next = r.clone();
        next.status = RefundStatus::Escalated;
        next.escalation_note = body.note.clone();
        let message = format!("구매자가 ‘{}’ 환불 요청을 관리자에게 보냈습니다.", r.title);
        Ok(Step::Next(Box::new(next), told(&ctx, r, "escalated", &r.seller_id, &r.buyer_id, message)?))
    })
    .await?;
    Ok(Okay(RefundView::from(&done)))
}

pub async fn queue(ctx: Arc<AppContext>, params: Params) -> ApiResult<Okay<Page<QueuedRefund>>> {
    let status = match params.get("status") {
        None => RefundStatus::Escalated,
        Some(s) => RefundStatus::parse(s)
            .ok_or_else(|| ApiError::validation("status", "ONE_OF", RefundStatus::NAMES.join(", ")))?,
    };
    let query =
        Query::partition(keys::refunds_in_partition(status.as_str())).index(Gsi::Gsi1).paged(&params, 20, 50)?;
    let page = ctx.table.query::<Refund>(&query).await?;
    // Every seller's balance in one batch.
    let sellers: Vec<shared::table::Key> = page.items.iter().map(|r| keys::balance_key(&r.seller_id)).collect();
    let balances = ctx.table.batch_get_items(&sellers).await?;
    let items = page
        .items
        .iter()
        .zip(balances)
        .map(|(r, b)| {
            let seller_balance = b.as_ref().map(crate::points::stored_balance).unwrap_or(0);
            QueuedRefund { refund: RefundView::from(r), seller_balance }
        })
        .collect();
    Ok(Okay(Page { items, next_cursor: page.next_cursor }))
}

pub async fn admin_decide(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    request_id: RequestId,
    Json(body): Json<RefundDecision>,
) -> ApiResult<Okay<RefundView>> {
    let r = find(&ctx, &id).await?;
    let accept_it = body.decision == "ACCEPT";
    let reason = body.reason.clone();
    let trail = |r: &Refund| -> ApiResult<Vec<Write>> {
        let (_, audit) = moderation_contract::trail::record(
            &ctx,
            &caller.user_id,
            if accept_it { "REFUND_GRANTED" } else { "REFUND_REJECTED" },
            "REFUND_REQUEST",
            &r.id,
            serde_json::json!({"status": r.status.as_str(), "amount": r.amount}),
            serde_json::json!({"decision": body.decision, "reason": reason}),
            Some(&request_id.0),
        )?;
        Ok(vec![audit])
    };
    if accept_it {
        let relist = body.relist.unwrap_or(true);
        return accept(&ctx, r, &[RefundStatus::Escalated], &caller.user_id, relist, trail)
            .await
            .map(|r| Okay(RefundView::from(&r)));
    }
    let why = body.reason.clone().unwrap_or_default();
    let done = move_on(&ctx, r, |r| {
        match r.status {
            RefundStatus::Rejected => return Ok(Step::Already),
            RefundStatus::Escalated => {}
            _ => return Err(MarketError::RefundDecided.into()),
        }
        let mut next = r.clone();
        next.status = RefundStatus::Rejected;
        next.admin_reason = Some(why.clone());
        next.decided_by = Some(caller.user_id.clone());
        next.decided_at = Some(ctx.now());
        let message = format!("관리자가 ‘{}’ 환불 요청을 거절했습니다. 사유: {why}", r.title);
        let mut extra = trail(r)?;
        let system = notifications_contract::SYSTEM_ACTOR;
        extra.extend(told(&ctx, r, "rejected", &r.buyer_id, system, message.clone())?);
        extra.extend(told(&ctx, r, "rejected", &r.seller_id, system, message)?);
        Ok(Step::Next(Box::new(next), extra))
    })
    .await?;
    Ok(Okay(RefundView::from(&done)))
}

// ---- Refunding ----

/// How long an accepting request holds a refund: longer than Toss may take to answer.
fn lease(ctx: &AppContext) -> chrono::Duration {
    chrono::Duration::milliseconds(toss::timeout(ctx).as_millis() as i64 + 5_000)
}

/// How long a copy of an acceptance waits before reading the request again: about what the
/// acceptance under way takes to hear Toss and record the refund.
const WAIT: Duration = Duration::from_millis(250);

fn pending() -> ApiError {
    ApiError::Unavailable {
        code: "REFUND_PENDING",
        detail: "The payment provider has not said yet whether the payment was cancelled. Send the same decision again shortly; the payment is cancelled at most once.".into(),
    }
}

/// Accepts `r` if it waits in one of `from`, and refunds it; or answers the outcome of an
/// acceptance already under way. `extra` adds writes (an audit record) to the acceptance.
async fn accept(
    ctx: &AppContext,
    mut r: Refund,
    from: &[RefundStatus],
    by: &str,
    relist: bool,
    extra: impl Fn(&Refund) -> ApiResult<Vec<Write>>,
) -> ApiResult<Refund> {
    toss::config(ctx)?;
    let started = std::time::Instant::now();
    let patience = toss::timeout(ctx) + Duration::from_millis(6_000);
    loop {
        match r.status {
            RefundStatus::Refunded => return Ok(r),
            RefundStatus::Refunding => {
                if r.lease_until.is_none_or(|l| l <= ctx.now()) {
                    // Nobody is asking Toss: take it over and ask.
                    match take_over(ctx, &r).await {
                        Ok(held) => return cancel_and_record(ctx, held).await,
                        Err(e) if e.is(&MarketError::RefundChanged) => {}
                        Err(e) => return Err(e),
                    }
                } else if started.elapsed() > patience {
                    return Err(pending());
                } else {
                    // Another acceptance is asking Toss: wait for its outcome.
                    tokio::time::sleep(WAIT).await;
                }
            }
            s if from.contains(&s) => {
                let now = ctx.now();
                let mut held = r.clone();
                held.status = RefundStatus::Refunding;
                held.accepted_from = Some(s);
                held.decided_by = Some(by.to_string());
                held.decided_at = Some(now);
                held.relist = relist;
                held.provider_code = None;
                held.lease_until = Some(now + lease(ctx));
                match advance(ctx, &r, held, extra(&r)?).await {
                    Ok(held) => return cancel_and_record(ctx, held).await,
                    Err(e) if e.is(&MarketError::RefundChanged) => {
                        // Another acceptance won the race: its outcome comes shortly, read
                        // once after a pause rather than polled.
                        tokio::time::sleep(WAIT).await;
                    }
                    Err(e) => return Err(e),
                }
            }
            _ => return Err(MarketError::RefundDecided.into()),
        }
        r = find(ctx, &r.id).await?;
    }
}

/// Takes over a REFUNDING request whose holder is gone (its lease ran out).
async fn take_over(ctx: &AppContext, r: &Refund) -> ApiResult<Refund> {
    let mut held = r.clone();
    held.lease_until = Some(ctx.now() + lease(ctx));
    advance(ctx, r, held, Vec::new()).await
}

/// Asks Toss to cancel the payment and records what it says. The caller holds the request
/// (REFUNDING, lease live).
async fn cancel_and_record(ctx: &AppContext, r: Refund) -> ApiResult<Refund> {
    let reason: String = format!("구매자 환불: {}", r.reason).chars().take(200).collect();
    let answer = match toss::cancel(ctx, &r.payment_key, &r.order_id, &reason).await {
        // Cancelled before (an earlier ask whose answer was lost): what Toss holds now decides.
        Err(Failure::Refused { code, .. }) if code == "ALREADY_CANCELED_PAYMENT" => {
            match toss::lookup(ctx, &r.payment_key).await {
                Ok(Some(p)) => Ok(p),
                Ok(None) => Err(Failure::NoAnswer("the payment is unknown to Toss".into())),
                Err(e) => Err(e),
            }
        }
        other => other,
    };
    match answer {
        Ok(p) if p.status == "CANCELED" => record(ctx, r).await,
        Ok(p) => {
            tracing::error!(refund = %r.id, status = %p.status, "Toss answered a cancel with a payment that is not cancelled");
            let_go(ctx, &r).await;
            Err(pending())
        }
        Err(Failure::Refused { code, message, .. }) => {
            // Toss will not cancel it: the request waits again where it was, with Toss's code.
            tracing::warn!(refund = %r.id, code = %code, "Toss refused to cancel a payment");
            let mut back = r.clone();
            back.status = r.accepted_from.unwrap_or(RefundStatus::Requested);
            back.lease_until = None;
            back.provider_code = Some(code.clone());
            match advance(ctx, &r, back, Vec::new()).await {
                Ok(_) => {}
                Err(e) if e.is(&MarketError::RefundChanged) => return outcome(ctx, &r.id).await,
                Err(e) => return Err(e),
            }
            Err(ApiError::Conflict {
                code: "REFUND_NOT_POSSIBLE",
                detail: format!(
                    "The payment provider refused to cancel this payment ({code}: {message}); the request waits for a new decision."
                ),
            })
        }
        Err(Failure::NoAnswer(why)) => {
            tracing::warn!(refund = %r.id, why = %why, "Toss did not answer a cancel; the refund stays REFUNDING until asked again");
            let_go(ctx, &r).await;
            Err(pending())
        }
    }
}

/// The answer of a request someone else finished meanwhile.
async fn outcome(ctx: &AppContext, id: &str) -> ApiResult<Refund> {
    let now = find(ctx, id).await?;
    match now.status {
        RefundStatus::Refunded => Ok(now),
        RefundStatus::Refunding => Err(pending()),
        _ => Err(MarketError::RefundDecided.into()),
    }
}

/// Gives up the lease without an outcome, so that the next ask can begin at once.
async fn let_go(ctx: &AppContext, r: &Refund) {
    let mut free = r.clone();
    free.lease_until = Some(ctx.now());
    if let Err(e) = advance(ctx, r, free, Vec::new()).await {
        tracing::warn!(refund = %r.id, error = %e, "could not release a refund's lease; it runs out by itself");
    }
}

/// Toss cancelled the payment: the refund is recorded in one transaction. The listing goes back
/// on sale in it if it is still as this sale left it; if the seller deleted it since (the
/// transaction's condition on it fails), the refund is recorded without it.
async fn record(ctx: &AppContext, r: Refund) -> ApiResult<Refund> {
    let result = match record_with(ctx, &r, r.relist).await {
        Err(e) if r.relist && e.is(&MarketError::ListingChanged) => record_with(ctx, &r, false).await,
        other => other,
    };
    match result {
        Ok(done) => {
            ctx.metrics.count(crate::figures::REFUNDS, 1.0);
            ctx.metrics.amount(crate::figures::REFUNDS_AMOUNT, r.amount as f64);
            Ok(done)
        }
        Err(e) if e.is(&MarketError::RefundChanged) => outcome(ctx, &r.id).await,
        Err(e) => {
            // Not recorded yet (the table refused it): the next ask, or the job, records it.
            tracing::warn!(refund = %r.id, error = %e, "the refund could not be recorded yet");
            let_go(ctx, &r).await;
            Err(pending())
        }
    }
}

async fn record_with(ctx: &AppContext, r: &Refund, relist: bool) -> ApiResult<Refund> {
    let r = r.clone();
    let now = ctx.now();
    let mut done = r.clone();
    done.status = RefundStatus::Refunded;
    done.lease_until = None;
    done.refunded_at = Some(now);
    let sale = Sale {
        listing: &r.market_post_id,
        order: &r.order_id,
        buyer: &r.buyer_id,
        seller: &r.seller_id,
        amount: r.amount,
        title: &r.title,
    };
    let mut writes = undo_sale(ctx, &sale, relist, false, "환불", MarketError::RefundChanged)?;
    writes.extend(told(
        ctx,
        &r,
        "refunded",
        &r.buyer_id,
        notifications_contract::SYSTEM_ACTOR,
        format!("‘{}’ {}원이 환불되었습니다.", r.title, r.amount),
    )?);
    writes.extend(told(
        ctx,
        &r,
        "refunded",
        &r.seller_id,
        notifications_contract::SYSTEM_ACTOR,
        format!("‘{}’ 판매가 환불로 취소되어 {} 포인트가 차감되었습니다.", r.title, r.amount),
    )?);
    advance(ctx, &r, done, writes).await
}

/// Finishes every refund whose cancel got no answer and whose holder is gone: asks Toss
/// (idempotently) and records what it says.
pub async fn settle_stuck(ctx: &AppContext) -> ApiResult<serde_json::Value> {
    let query = Query::partition(keys::refunds_in_partition(RefundStatus::Refunding.as_str())).index(Gsi::Gsi1);
    let ids = ctx.table.query_ids(&query, Some(1_000)).await?;
    let (mut settled, mut waiting) = (0, 0);
    for id in ids {
        let Ok(r) = find(ctx, &id).await else { continue };
        if r.status != RefundStatus::Refunding || r.lease_until.is_some_and(|l| l > ctx.now()) {
            waiting += 1;
            continue;
        }
        let Ok(held) = take_over(ctx, &r).await else { continue };
        match cancel_and_record(ctx, held).await {
            Ok(_) => settled += 1,
            Err(e) if e.status().as_u16() == 503 => waiting += 1,
            Err(_) => settled += 1,
        }
    }
    Ok(serde_json::json!({"settled": settled, "stillWaiting": waiting}))
}
