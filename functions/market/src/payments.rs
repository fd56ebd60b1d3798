//! Paying for a listing through Toss Payments, exactly once.
//!
//! The flow of Toss's payment widget: the server fixes the amount (an order), the buyer pays in
//! the widget, the server confirms. Confirming:
//!
//! 1. the amount must be the order's (a tampered client cannot pay less);
//! 2. the listing goes SALE → RESERVED for this order, and the order READY → CONFIRMING, in one
//!    conditional transaction: a second buyer is refused here, before any money moves;
//! 3. only then Toss is asked to confirm — outside any database transaction, with the order id
//!    as its `Idempotency-Key`;
//! 4. on success one transaction records the sale: listing SOLD, the transaction, the seller's
//!    points, the order DONE, and the seller's notification (through the outbox);
//! 5. then, from the sale's event and off the request's path, every chat room about the listing
//!    hears its new status and other buyers' open orders fail ([`crate::sales`]).
//!
//! A refusal releases the listing and answers 402 with Toss's code. No answer leaves the order
//! CONFIRMING; the same confirm sent again, or the settling job, asks Toss what happened
//! (`GET /v1/payments/{paymentKey}`) and finishes accordingly — never by guessing. If the sale
//! cannot be recorded after Toss took the money, the payment is cancelled. A confirm that is
//! already being handled waits for that outcome and answers the same.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::handler::{Caller, Created, Json, Okay, Params, Path};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, param, said};
use shared::table::{Entity, Gsi, Page, Query, Write, s, time};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::MarketError;
use crate::keys;
use crate::listings::visible;
use crate::model::{Listing, Status};
use crate::toss::{self, Failure};

const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
/// A sale status is pushed to the rooms about the listing as ids only: no media to sign.
pub(crate) const SETTLE: &[Permission] =
    &[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections];

/// The listing named in the path and the caller's approval to pay for it, read with the session.
fn listing_and_approval(path: &std::collections::HashMap<String, String>, caller: &str) -> Vec<shared::table::Key> {
    let Some(id) = shared::routes::id_param(path, "id") else { return Vec::new() };
    vec![keys::listing_key(id), keys::approval_key(id, caller)]
}

pub static ORDER: Function = Function::http(
    Method::Post,
    "/market/posts/{id}/orders",
    "market-orders-create",
    PKG,
    Access::User,
    handler!(create_order),
)
.permissions(WRITE)
.doc("market", "Start paying for a listing the seller approved you for: the server fixes the amount")
.responses(&[said(201, "The order to pay in Toss's payment widget (orderId, amount, orderName, customerKey).")])
.errors(&[403, 404, 409])
.reads_with_session(listing_and_approval);

pub static ORDER_GET: Function =
    Function::http(Method::Get, "/market/orders/{id}", "market-orders-get", PKG, Access::User, handler!(get_order))
        .permissions(&[Permission::TableRead])
        .doc("market", "One of my orders and how its payment stands")
        .errors(&[404]);

pub static CONFIRM: Function =
    Function::http(Method::Post, "/payments/confirm", "market-payments-confirm", PKG, Access::User, handler!(confirm))
        .permissions(SETTLE)
        .settings(toss::SETTINGS)
        .timeout(30)
        .doc("market", "Confirm a payment made in Toss's widget: the sale is recorded exactly once")
        .example(r#"{"paymentKey":"tgen_20241122abcdef","orderId":"01JD3K4Q5R6S7T8V9W0XYZABCD","amount":5000}"#)
        .responses(&[said(
            200,
            "Paid: the order and the sale's transaction (the same answer however often it is sent).",
        )])
        .errors(&[402, 404, 409, 503]);

pub static PURCHASES: Function = Function::http(
    Method::Get,
    "/users/me/market/purchases",
    "market-purchases",
    PKG,
    Access::User,
    handler!(purchases),
)
.permissions(&[Permission::TableRead, Permission::MediaRead])
.doc("market", "What I bought, newest first, with each transaction")
.query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 5", 1, 20)]);

pub static SALES: Function =
    Function::http(Method::Get, "/users/me/market/sales", "market-sales", PKG, Access::User, handler!(sales))
        .permissions(&[Permission::TableRead, Permission::MediaRead])
        .doc("market", "What I sold, newest first, with each transaction")
        .query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 5", 1, 20)]);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Waiting for the buyer to pay in the widget.
    Ready,
    /// Toss is being asked to confirm.
    Confirming,
    /// Paid by a virtual account Toss issued, waiting for the buyer's deposit: the listing stays
    /// reserved until the account's due date.
    WaitingForDeposit,
    /// Paid; the sale is recorded.
    Done,
    /// Refused, cancelled or overtaken; nothing was charged (or the charge was cancelled).
    Failed,
}

/// Why an order failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderFailure {
    /// Our code: `PAYMENT_REFUSED` (with Toss's code), `ITEM_NOT_AVAILABLE`, `PAYMENT_CANCELED`.
    pub code: String,
    /// Toss's own code, when Toss refused.
    pub provider_code: Option<String>,
    pub message: String,
}

/// The failure of an open order whose listing was sold to another buyer.
pub fn sold_to_another() -> OrderFailure {
    OrderFailure { code: "ITEM_NOT_AVAILABLE".into(), provider_code: None, message: "Sold to another buyer.".into() }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: String,
    pub listing_id: String,
    pub buyer_id: String,
    pub seller_id: String,
    pub amount: i64,
    pub order_name: String,
    pub customer_key: String,
    pub status: OrderStatus,
    #[serde(default)]
    pub payment_key: Option<String>,
    /// While CONFIRMING: until when the confirming request holds it (others wait, then ask Toss).
    #[serde(default)]
    pub lease_until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub failure: Option<OrderFailure>,
    /// The listing's version when ordered: the payment goes through only while it stands.
    #[serde(default)]
    pub listing_version: i64,
    /// The virtual account to pay into, while WAITING_FOR_DEPOSIT.
    #[serde(default)]
    pub virtual_account: Option<VirtualAccount>,
    /// SHA-256 of the payment's `secret` Toss gave at confirm time: a deposit callback must
    /// carry the secret itself.
    #[serde(default)]
    pub deposit_secret_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Order {
    const TYPE: &'static str = "MarketOrder";
    fn pk(&self) -> String {
        keys::order_key(&self.id).pk
    }
    fn sk(&self) -> String {
        keys::order_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        let mut out = vec![(Gsi::Gsi1, keys::orders_of_listing_partition(&self.listing_id), self.id.clone())];
        if self.status == OrderStatus::Confirming {
            out.push((Gsi::Gsi2, keys::CONFIRMING_ORDERS.into(), self.id.clone()));
        }
        if self.status == OrderStatus::WaitingForDeposit
            && let Some(va) = &self.virtual_account
        {
            out.push((
                Gsi::Gsi2,
                keys::AWAITING_DEPOSIT_ORDERS.into(),
                format!("{}#{}", va.due_date.to_rfc3339(), self.id),
            ));
        }
        out
    }
}

/// A virtual account Toss issued for an order: where to deposit, and by when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccount {
    /// Toss's bank code (e.g. `88` for 신한은행).
    pub bank_code: String,
    pub account_number: String,
    pub customer_name: String,
    pub due_date: DateTime<Utc>,
}

/// An order as its buyer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub order_id: String,
    pub market_post_id: String,
    pub amount: i64,
    pub order_name: String,
    /// Toss's customer key for this buyer (stable, not guessable).
    pub customer_key: String,
    pub status: OrderStatus,
    pub failure: Option<OrderFailure>,
    /// While WAITING_FOR_DEPOSIT: where to deposit the amount, and by when.
    pub virtual_account: Option<VirtualAccount>,
    pub created_at: DateTime<Utc>,
}

impl From<&Order> for OrderView {
    fn from(o: &Order) -> Self {
        OrderView {
            order_id: o.id.clone(),
            market_post_id: o.listing_id.clone(),
            amount: o.amount,
            order_name: o.order_name.clone(),
            customer_key: o.customer_key.clone(),
            status: o.status,
            failure: o.failure.clone(),
            virtual_account: if o.status == OrderStatus::WaitingForDeposit { o.virtual_account.clone() } else { None },
            created_at: o.created_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeStatus {
    Completed,
    /// Refunded: the payment was cancelled at Toss and the seller's points taken back.
    Canceled,
}

/// The transaction of a sale: one per listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Trade {
    pub id: String,
    pub market_post_id: String,
    pub order_id: String,
    pub buyer_id: String,
    pub seller_id: String,
    /// The listing's title when it was sold.
    pub title: String,
    pub amount: i64,
    pub payment_key: String,
    /// As Toss names it (`카드`, `간편결제`, …).
    pub method: String,
    pub status: TradeStatus,
    pub approved_at: DateTime<Utc>,
    /// The buyer's refund request, once made (one per sale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canceled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Entity for Trade {
    const TYPE: &'static str = "MarketTrade";
    fn pk(&self) -> String {
        keys::trade_key(&self.market_post_id, &self.order_id).pk
    }
    fn sk(&self) -> String {
        keys::trade_key(&self.market_post_id, &self.order_id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![
            (Gsi::Gsi1, keys::purchases_partition(&self.buyer_id), self.id.clone()),
            (Gsi::Gsi2, keys::sales_partition(&self.seller_id), self.id.clone()),
        ]
    }
}

/// A stable, unguessable Toss customer key for a user (Toss asks for one that is not the user's
/// id or email).
fn customer_key(ctx: &AppContext, user: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"toss-customer-key\0");
    h.update(&ctx.config.cursor_secret);
    h.update(user.as_bytes());
    format!("ck_{}", &hex::encode(h.finalize())[..40])
}

pub(crate) async fn order_of(ctx: &AppContext, me: &str, id: &str) -> ApiResult<Order> {
    if !shared::ids::is_valid_id(id) {
        return Err(MarketError::OrderNotFound.into());
    }
    ctx.table
        .get::<Order>(&keys::order_key(id))
        .await?
        .filter(|o| o.buyer_id == me)
        .ok_or(MarketError::OrderNotFound.into())
}

pub async fn create_order(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Created<OrderView>> {
    let me = caller.user_id.clone();
    let listing = visible(&ctx, &caller.as_viewer(), &id).await?;
    if listing.seller_id == me {
        return Err(MarketError::OwnListing.into());
    }
    if ctx.table.get_item(&keys::approval_key(&listing.id, &me)).await?.is_none() {
        return Err(MarketError::NotApproved.into());
    }
    if listing.status != Status::Sale {
        return Err(MarketError::NotForSale.into());
    }
    let now = ctx.now();
    let order = Order {
        id: shared::ids::new_id(now),
        listing_id: listing.id.clone(),
        buyer_id: me.clone(),
        seller_id: listing.seller_id.clone(),
        amount: listing.price,
        order_name: listing.title.clone(),
        customer_key: customer_key(&ctx, &me),
        status: OrderStatus::Ready,
        payment_key: None,
        lease_until: None,
        failure: None,
        listing_version: listing.version,
        virtual_account: None,
        deposit_secret_hash: None,
        created_at: now,
        updated_at: now,
    };
    ctx.table.write(Write::put(&order)?.if_absent(ApiError::internal("order id collision"))).await?;
    Ok(Created(OrderView::from(&order)))
}

pub async fn get_order(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<Okay<OrderView>> {
    let mut order = order_of(&ctx, &caller.user_id, &id).await?;
    // An open order of a listing sold to someone else has failed, whether or not the sale's
    // worker ([`crate::sales`]) has written that down yet.
    if order.status == OrderStatus::Ready
        && crate::listings::find(&ctx, &order.listing_id).await?.is_some_and(|l| l.status == Status::Sold)
    {
        order.status = OrderStatus::Failed;
        order.failure = Some(sold_to_another());
    }
    Ok(Okay(OrderView::from(&order)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmRequest {
    /// From Toss's widget.
    pub payment_key: String,
    pub order_id: String,
    /// What the widget charged; must be the order's amount.
    pub amount: i64,
}

impl Validate for ConfirmRequest {
    fn validate(&self, v: &mut Validator) {
        v.check(
            (1..=200).contains(&self.payment_key.len())
                && self.payment_key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "paymentKey",
            "INVALID_FORMAT",
            "the payment key Toss gave",
        );
        v.check(shared::ids::is_valid_id(&self.order_id), "orderId", "INVALID_FORMAT", "an order id");
        v.check((0..=100_000_000).contains(&self.amount), "amount", "OUT_OF_RANGE", "0 to 100,000,000 won");
    }
}

/// A paid order and its sale; or, paid by a virtual account, the order waiting for the deposit
/// (no transaction yet).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Confirmed {
    pub order: OrderView,
    pub transaction: Option<Trade>,
}

/// How long a confirming request holds an order: longer than Toss may take to answer.
fn lease(ctx: &AppContext) -> chrono::Duration {
    chrono::Duration::milliseconds(toss::timeout(ctx).as_millis() as i64 + 5_000)
}

fn pending() -> ApiError {
    ApiError::Unavailable {
        code: "PAYMENT_PENDING",
        detail: "The payment provider has not said yet whether the payment went through. Send the same confirm again shortly; you are charged at most once.".into(),
    }
}

/// The answer a finished order gives, the same every time.
async fn outcome(ctx: &AppContext, order: &Order) -> ApiResult<Confirmed> {
    match order.status {
        OrderStatus::Done => {
            let trade = ctx
                .table
                .get::<Trade>(&keys::trade_key(&order.listing_id, &order.id))
                .await?
                .ok_or_else(|| ApiError::internal("a paid order without its transaction"))?;
            Ok(Confirmed { order: OrderView::from(order), transaction: Some(trade) })
        }
        OrderStatus::WaitingForDeposit => Ok(Confirmed { order: OrderView::from(order), transaction: None }),
        OrderStatus::Failed => Err(failure_error(order.failure.as_ref())),
        _ => Err(pending()),
    }
}

/// Toss's documented refusal codes the API passes on as its own `code`.
/// The refused payment's codes: Toss's own where it is one of these, else `PAYMENT_REFUSED`.
pub const PAYMENT_CODES: &[(u16, &str)] = &[
    (402, "PAYMENT_CANCELED"),
    (402, "PAYMENT_REFUSED"),
    (402, "REJECT_CARD_PAYMENT"),
    (402, "REJECT_CARD_COMPANY"),
    (402, "EXCEED_MAX_DAILY_PAYMENT_COUNT"),
    (402, "EXCEED_MAX_PAYMENT_AMOUNT"),
    (402, "INVALID_CARD_EXPIRATION"),
    (402, "INVALID_STOPPED_CARD"),
    (402, "INVALID_REJECT_CARD"),
    (402, "NOT_FOUND_PAYMENT_SESSION"),
    (402, "NOT_FOUND_PAYMENT"),
    (402, "FORBIDDEN_REQUEST"),
    (402, "INVALID_REQUEST"),
    (402, "ALREADY_CANCELED_PAYMENT"),
];

const PROVIDER_CODES: &[&str] = &[
    "REJECT_CARD_PAYMENT",
    "REJECT_CARD_COMPANY",
    "EXCEED_MAX_DAILY_PAYMENT_COUNT",
    "EXCEED_MAX_PAYMENT_AMOUNT",
    "INVALID_CARD_EXPIRATION",
    "INVALID_STOPPED_CARD",
    "INVALID_REJECT_CARD",
    "NOT_FOUND_PAYMENT_SESSION",
    "NOT_FOUND_PAYMENT",
    "FORBIDDEN_REQUEST",
    "INVALID_REQUEST",
    "ALREADY_CANCELED_PAYMENT",
];

fn failure_error(f: Option<&OrderFailure>) -> ApiError {
    let Some(f) = f else { return ApiError::internal("a failed order without its reason") };
    match f.code.as_str() {
        "ITEM_NOT_AVAILABLE" => MarketError::NotForSale.into(),
        "PAYMENT_CANCELED" => ApiError::PaymentRequired {
            code: "PAYMENT_CANCELED",
            detail: "The sale could not be recorded, so the payment was cancelled: nothing was charged. Start a new order to try again.".into(),
            extra: Default::default(),
        },
        _ => {
            let provider = f.provider_code.clone().unwrap_or_default();
            let code = PROVIDER_CODES.iter().find(|c| **c == provider).copied().unwrap_or("PAYMENT_REFUSED");
            let mut extra = serde_json::Map::new();
            extra.insert("providerCode".into(), provider.into());
            extra.insert("providerMessage".into(), f.message.clone().into());
            ApiError::PaymentRequired {
                code,
                detail: "The payment was refused; nothing was charged. Start a new order to try again.".into(),
                extra,
            }
        }
    }
}

pub async fn confirm(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<ConfirmRequest>,
) -> ApiResult<Okay<Confirmed>> {
    toss::config(&ctx)?;
    let mut order = order_of(&ctx, &caller.user_id, &body.order_id).await?;
    if body.amount != order.amount {
        return Err(MarketError::AmountMismatch.into());
    }
    let started = std::time::Instant::now();
    let patience = toss::timeout(&ctx) + Duration::from_millis(6_000);
    loop {
        match order.status {
            OrderStatus::Done | OrderStatus::Failed | OrderStatus::WaitingForDeposit => {
                if order.payment_key.as_deref() != Some(&body.payment_key) && order.status == OrderStatus::Done {
                    return Err(MarketError::AlreadyPaid.into());
                }
                return outcome(&ctx, &order).await.map(Okay);
            }
            OrderStatus::Ready => match reserve(&ctx, &order, &body.payment_key).await {
                Ok(reserved) => return finish(&ctx, reserved, Asked::Confirm).await.map(Okay),
                Err(e) if e.is(&MarketError::OrderChanged) => {}
                // The listing is held: by another buyer, or by this very order from a
                // concurrent copy of this request (then its outcome is the answer).
                Err(e) if e.is(&MarketError::NotForSale) => {
                    let now = order_of(&ctx, &caller.user_id, &body.order_id).await?;
                    if now.status == OrderStatus::Ready {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            },
            OrderStatus::Confirming => {
                if order.payment_key.as_deref() != Some(&body.payment_key) {
                    return Err(MarketError::PaymentInProgress.into());
                }
                let now = ctx.now();
                if order.lease_until.is_none_or(|l| l <= now) {
                    // Nobody is waiting for Toss on this order: ask it what happened.
                    match take_over(&ctx, &order).await {
                        Ok(held) => return finish(&ctx, held, Asked::Lookup).await.map(Okay),
                        Err(e) if e.is(&MarketError::OrderChanged) => {}
                        Err(e) => return Err(e),
                    }
                } else if started.elapsed() > patience {
                    return Err(pending());
                } else {
                    // Another request is asking Toss: wait for its outcome.
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            }
        }
        order = order_of(&ctx, &caller.user_id, &body.order_id).await?;
    }
}

/// SALE → RESERVED for this order and READY → CONFIRMING, in one transaction, which also
/// holds the payment to what made the order possible as it is now: the seller's approval
/// (withdrawn when the seller takes it back or the buyer leaves the room), no block either way
/// between the two, and the listing as ordered (its version: no price, title or photo edit
/// since).
async fn reserve(ctx: &AppContext, order: &Order, payment_key: &str) -> ApiResult<Order> {
    let approval = Write::check(
        keys::approval_key(&order.listing_id, &order.buyer_id),
        "attribute_exists(PK)",
        MarketError::NotApproved,
    );
    let now = ctx.now();
    let mut held = order.clone();
    held.status = OrderStatus::Confirming;
    held.payment_key = Some(payment_key.to_string());
    held.lease_until = Some(now + lease(ctx));
    held.updated_at = now;
    let result = ctx
        .table
        .transact(
            vec![
                Write::update(
                    keys::listing_key(&order.listing_id),
                    "SET #st = :reserved, reservedBy = :order, updatedAt = :now",
                )
                .name("#st", "status")
                .value(":reserved", s("RESERVED"))
                .value(":sale", s("SALE"))
                .value(":order", s(&order.id))
                .value(":now", time(now))
                .value(":no", shared::table::b(false))
                .name("#ver", "version")
                .value(":ver", shared::table::n(order.listing_version))
                .when(
                    if order.listing_version == 0 {
                        "#st = :sale AND deleted = :no AND (attribute_not_exists(#ver) OR #ver = :ver)"
                    } else {
                        "#st = :sale AND deleted = :no AND #ver = :ver"
                    },
                    MarketError::NotForSale,
                ),
                Write::put(&held)?
                    .value(":ready", s("READY"))
                    .name("#st", "status")
                    .when("#st = :ready", MarketError::OrderChanged),
            ]
            .into_iter()
            .chain([approval])
            .chain(social_contract::not_blocked_checks(&order.buyer_id, &order.seller_id, MarketError::Blocked))
            .chain(sale_status(ctx, &order.listing_id, Status::Reserved)?)
            .collect(),
        )
        .await;
    match result {
        Ok(()) => Ok(held),
        // Still for sale, but not as ordered: the seller edited it since.
        Err(e) if e.is(&MarketError::NotForSale) => {
            let now = ctx.table.get::<Listing>(&keys::listing_key(&order.listing_id)).await?;
            match now {
                Some(l) if l.status == Status::Sale && !l.deleted && l.version != order.listing_version => {
                    Err(MarketError::ListingEdited.into())
                }
                _ => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Takes over a CONFIRMING order whose holder is gone (its lease ran out).
async fn take_over(ctx: &AppContext, order: &Order) -> ApiResult<Order> {
    let now = ctx.now();
    let mut held = order.clone();
    held.lease_until = Some(now + lease(ctx));
    held.updated_at = now;
    let seen = order.updated_at;
    ctx.table
        .write(
            Write::put(&held)?
                .name("#st", "status")
                .value(":confirming", s("CONFIRMING"))
                .value(":seen", time(seen))
                .when("#st = :confirming AND updatedAt = :seen", MarketError::OrderChanged),
        )
        .await?;
    Ok(held)
}

/// Gives up the lease without an outcome (Toss did not answer), so that the next ask can begin
/// at once.
async fn let_go(ctx: &AppContext, order: &Order) {
    let mut free = order.clone();
    free.lease_until = Some(ctx.now());
    free.updated_at = ctx.now();
    let write = Write::put(&free).map(|w| {
        w.name("#st", "status")
            .value(":confirming", s("CONFIRMING"))
            .value(":seen", time(order.updated_at))
            .when("#st = :confirming AND updatedAt = :seen", MarketError::OrderChanged)
    });
    if let Ok(w) = write
        && let Err(e) = ctx.table.write(w).await
    {
        tracing::warn!(order = %order.id, error = %e, "could not release an order's lease; it runs out by itself");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    /// First time: ask Toss to confirm.
    Confirm,
    /// An earlier confirm got no answer: ask Toss what became of the payment.
    Lookup,
}

/// Asks Toss and records what it says. The caller holds the order (CONFIRMING, lease live).
async fn finish(ctx: &AppContext, order: Order, asked: Asked) -> ApiResult<Confirmed> {
    let key = order.payment_key.clone().unwrap_or_default();
    let answer = match asked {
        Asked::Confirm => toss::confirm(ctx, &key, &order.id, order.amount).await,
        Asked::Lookup => match toss::lookup(ctx, &key).await {
            // Confirmed after all (a virtual account: issued, waiting for the deposit).
            Ok(Some(p)) if p.status == "DONE" || p.status == "WAITING_FOR_DEPOSIT" => Ok(p),
            // Never confirmed (the confirm never arrived): confirm now; the idempotency key
            // makes this safe even if the first one is still on its way.
            Ok(Some(p)) if p.status == "READY" || p.status == "IN_PROGRESS" => {
                toss::confirm(ctx, &key, &order.id, order.amount).await
            }
            Ok(Some(p)) => Err(Failure::Refused {
                status: 400,
                code: format!("PAYMENT_{}", p.status),
                message: format!("The payment is {}.", p.status.to_lowercase()),
            }),
            Ok(None) => toss::confirm(ctx, &key, &order.id, order.amount).await,
            Err(e) => Err(e),
        },
    };
    match answer {
        Ok(payment)
            if payment.order_id == order.id && payment.total_amount == order.amount && payment.status == "DONE" =>
        {
            record_sale(ctx, order, payment).await
        }
        Ok(payment)
            if payment.order_id == order.id
                && payment.total_amount == order.amount
                && payment.status == "WAITING_FOR_DEPOSIT" =>
        {
            await_deposit(ctx, order, payment).await
        }
        Ok(payment) => {
            // Toss approved something else than this order: refuse and undo it.
            tracing::error!(order = %order.id, status = %payment.status, "Toss answered a payment that does not match the order");
            let _ = toss::cancel(ctx, &key, &order.id, "주문 정보 불일치").await;
            fail(
                ctx,
                &order,
                "PAYMENT_REFUSED",
                Some("INVALID_REQUEST".into()),
                "The payment does not match the order.",
            )
            .await
        }
        Err(Failure::Refused { code, .. }) if code == "ALREADY_PROCESSED_PAYMENT" => {
            // A confirm of ours went through earlier: find out what it did.
            let again = Box::pin(finish(ctx, order.clone(), Asked::Lookup));
            if asked == Asked::Confirm { again.await } else { Err(pending()) }
        }
        Err(Failure::Refused { code, message, .. }) => fail(ctx, &order, "PAYMENT_REFUSED", Some(code), &message).await,
        Err(Failure::NoAnswer(why)) => {
            tracing::warn!(order = %order.id, why = %why, "Toss did not answer; the order stays CONFIRMING until asked again");
            let_go(ctx, &order).await;
            Err(pending())
        }
    }
}

/// The order fails and the listing is for sale again, in one transaction; the caller gets the
/// failure.
async fn fail(
    ctx: &AppContext,
    order: &Order,
    code: &str,
    provider_code: Option<String>,
    message: &str,
) -> ApiResult<Confirmed> {
    let now = ctx.now();
    let mut failed = order.clone();
    failed.status = OrderStatus::Failed;
    failed.lease_until = None;
    failed.failure = Some(OrderFailure { code: code.into(), provider_code, message: message.into() });
    failed.updated_at = now;
    let result = ctx
        .table
        .transact(
            vec![
                Write::put(&failed)?
                    .name("#st", "status")
                    .value(":was", status_value(order.status)?)
                    .when("#st = :was", MarketError::OrderChanged),
                Write::update(
                    keys::listing_key(&order.listing_id),
                    "SET #st = :sale, updatedAt = :now REMOVE reservedBy",
                )
                .name("#st", "status")
                .value(":sale", s("SALE"))
                .value(":reserved", s("RESERVED"))
                .value(":order", s(&order.id))
                .value(":now", time(now))
                .when("#st = :reserved AND reservedBy = :order", MarketError::ListingChanged),
            ]
            .into_iter()
            .chain(sale_status(ctx, &order.listing_id, Status::Sale)?)
            .collect(),
        )
        .await;
    match result {
        Ok(()) => Err(failure_error(failed.failure.as_ref())),
        Err(e) if e.is(&MarketError::OrderChanged) => {
            // Finished meanwhile by someone else: their outcome is the answer.
            let now = ctx.table.get::<Order>(&keys::order_key(&order.id)).await?.ok_or(MarketError::OrderNotFound)?;
            outcome(ctx, &now).await
        }
        Err(e) => Err(e),
    }
}

/// An order status as stored.
fn status_value(status: OrderStatus) -> ApiResult<shared::table::AttrValue> {
    Ok(serde_dynamo::to_attribute_value(status)?)
}

/// Toss issued a virtual account: the order waits for the deposit (the listing stays reserved
/// for it until the due date), with the payment's secret kept as a hash for the deposit
/// callback.
async fn await_deposit(ctx: &AppContext, order: Order, payment: toss::Payment) -> ApiResult<Confirmed> {
    let Some(va) = payment.virtual_account.as_ref() else {
        return Err(ApiError::internal("a virtual-account payment without its account"));
    };
    let due_date = DateTime::parse_from_rfc3339(&va.due_date)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| ApiError::internal("a virtual account's due date Toss gave is unreadable"))?;
    let mut waiting = order.clone();
    waiting.status = OrderStatus::WaitingForDeposit;
    waiting.lease_until = None;
    waiting.virtual_account = Some(VirtualAccount {
        bank_code: va.bank_code.clone(),
        account_number: va.account_number.clone(),
        customer_name: va.customer_name.clone(),
        due_date,
    });
    waiting.deposit_secret_hash = payment.secret.as_deref().map(secret_hash);
    waiting.updated_at = ctx.now();
    let write = Write::put(&waiting)?
        .name("#st", "status")
        .value(":confirming", s("CONFIRMING"))
        .when("#st = :confirming", MarketError::OrderChanged);
    match ctx.table.write(write).await {
        Ok(()) => Ok(Confirmed { order: OrderView::from(&waiting), transaction: None }),
        Err(e) if e.is(&MarketError::OrderChanged) => {
            let now = ctx.table.get::<Order>(&keys::order_key(&order.id)).await?.ok_or(MarketError::OrderNotFound)?;
            outcome(ctx, &now).await
        }
        Err(e) => Err(e),
    }
}

/// The hash a payment's secret is kept as.
pub(crate) fn secret_hash(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"toss-deposit-secret\0");
    h.update(secret.as_bytes());
    hex::encode(h.finalize())
}

/// What Toss says of an order's payment, acted on: called for each webhook (whose body is
/// never trusted: `payment` is what Toss answered when asked) and for each overdue deposit.
/// Every move is conditional on the order as read, so redelivered and out-of-order events
/// change nothing twice.
pub async fn reconcile(ctx: &AppContext, order: Order, payment: toss::Payment) -> ApiResult<()> {
    if payment.order_id != order.id || order.payment_key.as_deref() != Some(payment.payment_key.as_str()) {
        return Ok(());
    }
    let result = match (order.status, payment.status.as_str()) {
        (OrderStatus::WaitingForDeposit, "DONE") if payment.total_amount == order.amount => {
            record_sale(ctx, order, payment).await.map(|_| ())
        }
        (OrderStatus::WaitingForDeposit, "CANCELED" | "PARTIAL_CANCELED" | "EXPIRED" | "ABORTED") => fail(
            ctx,
            &order,
            "DEPOSIT_EXPIRED",
            Some(format!("PAYMENT_{}", payment.status)),
            "The virtual account was not paid into in time.",
        )
        .await
        .map(|_| ()),
        (OrderStatus::Done, "CANCELED") => cancelled_at_toss(ctx, &order).await,
        (OrderStatus::Confirming, _) if order.lease_until.is_none_or(|l| l <= ctx.now()) => {
            match take_over(ctx, &order).await {
                Ok(held) => finish(ctx, held, Asked::Lookup).await.map(|_| ()),
                Err(e) if e.is(&MarketError::OrderChanged) => Ok(()),
                Err(e) => Err(e),
            }
        }
        _ => Ok(()),
    };
    match result {
        // A refusal or a failure is an outcome, recorded: nothing to try again.
        Err(e) if e.status().as_u16() != 503 && !e.status().is_server_error() => Ok(()),
        other => other,
    }
}

/// A completed sale, as far as undoing it goes.
pub(crate) struct Sale<'a> {
    pub listing: &'a str,
    pub order: &'a str,
    pub buyer: &'a str,
    pub seller: &'a str,
    pub amount: i64,
    pub title: &'a str,
}

/// The writes that undo a completed sale whose payment was cancelled: its transaction CANCELED
/// (only while COMPLETED and, with `unclaimed`, while no refund request claims it; `on_changed`
/// otherwise), the seller's points taken back with a REFUND entry whatever the balance (`why`
/// names it in the ledger), and, with `relist`, the listing for sale again while it is as this
/// sale left it (a listing deleted since makes the transaction fail with
/// [`MarketError::ListingChanged`]: undo again without it), its status pushed to the rooms.
pub(crate) fn undo_sale(
    ctx: &AppContext,
    sale: &Sale,
    relist: bool,
    unclaimed: bool,
    why: &str,
    on_changed: MarketError,
) -> ApiResult<Vec<Write>> {
    let now = ctx.now();
    let condition =
        if unclaimed { "#st = :completed AND attribute_not_exists(refundRequestId)" } else { "#st = :completed" };
    let mut writes = vec![
        Write::update(keys::trade_key(sale.listing, sale.order), "SET #st = :canceled, canceledAt = :now")
            .name("#st", "status")
            .value(":canceled", s("CANCELED"))
            .value(":completed", s("COMPLETED"))
            .value(":now", time(now))
            .when(condition, on_changed),
    ];
    writes.extend(crate::points::refund(ctx, sale.seller, sale.amount, &format!("{why}: {}", sale.title))?);
    if relist {
        writes.push(
            Write::update(keys::listing_key(sale.listing), "SET #st = :sale, updatedAt = :now REMOVE buyerId, soldAt")
                .name("#st", "status")
                .value(":sale", s("SALE"))
                .value(":sold", s("SOLD"))
                .value(":buyer", s(sale.buyer))
                .value(":no", shared::table::b(false))
                .value(":now", time(now))
                .when("#st = :sold AND buyerId = :buyer AND deleted = :no", MarketError::ListingChanged),
        );
        writes.extend(sale_status(ctx, sale.listing, Status::Sale)?);
    }
    Ok(writes)
}

/// Toss says a completed sale's payment was cancelled, and no refund request of the product's
/// did it (one cancelled from Toss's own console, say): the sale is undone as a refund would,
/// the listing put back on sale, and both sides told. A sale a refund request claims is the
/// refund's to record.
async fn cancelled_at_toss(ctx: &AppContext, order: &Order) -> ApiResult<()> {
    let Some(trade) = ctx.table.get::<Trade>(&keys::trade_key(&order.listing_id, &order.id)).await? else {
        return Ok(());
    };
    if trade.status != TradeStatus::Completed || trade.refund_request_id.is_some() {
        return Ok(());
    }
    let sale = Sale {
        listing: &trade.market_post_id,
        order: &trade.order_id,
        buyer: &trade.buyer_id,
        seller: &trade.seller_id,
        amount: trade.amount,
        title: &trade.title,
    };
    let tell = |to: &str, message: String| {
        notifications_contract::outbox(
            ctx,
            vec![notifications_contract::NotificationEvent {
                event_id: format!("payment-canceled-{}-{to}", order.id),
                kind: notifications_contract::NotificationKind::Refund,
                actor_id: notifications_contract::SYSTEM_ACTOR.into(),
                recipient_id: to.to_string(),
                target_type: "MARKET_POST".into(),
                target_id: trade.market_post_id.clone(),
                excerpt: Some(message),
            }],
        )
    };
    let told = |mut writes: Vec<Write>| -> ApiResult<Vec<Write>> {
        writes.extend(tell(
            &trade.buyer_id,
            format!("‘{}’ 결제가 취소되어 {}원이 환불되었습니다.", trade.title, trade.amount),
        )?);
        writes.extend(tell(
            &trade.seller_id,
            format!("‘{}’ 결제가 취소되어 {} 포인트가 차감되었습니다.", trade.title, trade.amount),
        )?);
        Ok(writes)
    };
    let first = told(undo_sale(ctx, &sale, true, true, "결제 취소", MarketError::OrderChanged)?)?;
    match ctx.table.transact(first).await {
        Err(e) if e.is(&MarketError::ListingChanged) => {
            let again = told(undo_sale(ctx, &sale, false, true, "결제 취소", MarketError::OrderChanged)?)?;
            match ctx.table.transact(again).await {
                Err(e) if e.is(&MarketError::OrderChanged) => Ok(()),
                other => other,
            }
        }
        // Undone already, or claimed by a refund request meanwhile.
        Err(e) if e.is(&MarketError::OrderChanged) => Ok(()),
        other => other,
    }
}

/// Virtual accounts past their due date: Toss is asked, and an unpaid one is closed (the
/// listing is for sale again); one paid after all (its callback lost) is recorded as a sale.
pub async fn expire_deposits(ctx: &AppContext) -> ApiResult<serde_json::Value> {
    let query = Query::partition(keys::AWAITING_DEPOSIT_ORDERS)
        .index(Gsi::Gsi2)
        .sort(shared::table::SortKey::Before(format!("{}~", ctx.now().to_rfc3339())));
    let ids = ctx.table.query_ids(&query, Some(1_000)).await?;
    let (mut expired, mut completed, mut waiting) = (0, 0, 0);
    for id in ids {
        let Some(order) = ctx.table.get::<Order>(&keys::order_key(&id)).await? else { continue };
        let overdue = order.virtual_account.as_ref().is_some_and(|va| va.due_date <= ctx.now());
        if order.status != OrderStatus::WaitingForDeposit || !overdue {
            continue;
        }
        let key = order.payment_key.clone().unwrap_or_default();
        let payment = match toss::lookup(ctx, &key).await {
            Ok(Some(p)) if p.status == "WAITING_FOR_DEPOSIT" => {
                match toss::cancel(ctx, &key, &order.id, "입금 기한 만료").await {
                    Ok(p) => p,
                    Err(why) => {
                        tracing::warn!(order = %order.id, why = ?why, "an overdue virtual account could not be closed yet");
                        waiting += 1;
                        continue;
                    }
                }
            }
            Ok(Some(p)) => p,
            Ok(None) | Err(_) => {
                waiting += 1;
                continue;
            }
        };
        if payment.status == "DONE" {
            completed += 1;
        } else {
            expired += 1;
        }
        reconcile(ctx, order, payment).await?;
    }
    Ok(serde_json::json!({"expired": expired, "completed": completed, "stillWaiting": waiting}))
}

/// Toss took the money: record the sale in one transaction. If that cannot be done, the payment
/// is cancelled (money is never kept without a sale).
async fn record_sale(ctx: &AppContext, order: Order, payment: toss::Payment) -> ApiResult<Confirmed> {
    let now = ctx.now();
    // What the buyer paid for: the listing's title when the order was made (it cannot change
    // while the listing is reserved).
    let title = order.order_name.clone();
    let approved_at = payment
        .approved_at
        .as_deref()
        .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
        .map(|a| a.with_timezone(&Utc))
        .unwrap_or(now);
    let trade = Trade {
        id: shared::ids::new_id(now),
        market_post_id: order.listing_id.clone(),
        order_id: order.id.clone(),
        buyer_id: order.buyer_id.clone(),
        seller_id: order.seller_id.clone(),
        title: title.clone(),
        amount: order.amount,
        payment_key: payment.payment_key.clone(),
        method: payment.method.clone().unwrap_or_else(|| "카드".into()),
        status: TradeStatus::Completed,
        approved_at,
        refund_request_id: None,
        canceled_at: None,
        created_at: now,
    };
    let mut done = order.clone();
    done.status = OrderStatus::Done;
    done.lease_until = None;
    done.updated_at = now;
    let excerpt: String = title.chars().take(5).collect();
    let mut writes = vec![
        Write::update(
            keys::listing_key(&order.listing_id),
            "SET #st = :sold, buyerId = :buyer, soldAt = :now, updatedAt = :now REMOVE reservedBy",
        )
        .name("#st", "status")
        .value(":sold", s("SOLD"))
        .value(":buyer", s(&order.buyer_id))
        .value(":reserved", s("RESERVED"))
        .value(":order", s(&order.id))
        .value(":now", time(now))
        .when("#st = :reserved AND reservedBy = :order", MarketError::ListingChanged),
        Write::put(&trade)?.if_absent(MarketError::ListingChanged),
        Write::put(&done)?
            .name("#st", "status")
            .value(":was", status_value(order.status)?)
            .when("#st = :was", MarketError::OrderChanged),
    ];
    writes.push(moderation_contract::stats::count(
        now,
        &[(moderation_contract::stats::Metric::Sales, 1), (moderation_contract::stats::Metric::SalesKrw, order.amount)],
    ));
    writes.extend(crate::points::earn(ctx, &order.seller_id, order.amount, &format!("판매: {title}"))?);
    writes.extend(notifications_contract::outbox(
        ctx,
        vec![notifications_contract::NotificationEvent {
            event_id: format!("trade-sold-{}", order.id),
            kind: notifications_contract::NotificationKind::TradeSold,
            actor_id: order.buyer_id.clone(),
            recipient_id: order.seller_id.clone(),
            target_type: "MARKET_POST".into(),
            target_id: order.listing_id.clone(),
            excerpt: Some(excerpt),
        }],
    )?);
    writes.extend(sale_status(ctx, &order.listing_id, Status::Sold)?);
    match ctx.table.transact(writes).await {
        Ok(()) => {
            ctx.metrics.count(crate::figures::SALES, 1.0);
            ctx.metrics.amount(crate::figures::SALES_AMOUNT, order.amount as f64);
            Ok(Confirmed { order: OrderView::from(&done), transaction: Some(trade) })
        }
        Err(e) if e.is(&MarketError::OrderChanged) => {
            // Recorded meanwhile by another request (or the settling job).
            let now = ctx.table.get::<Order>(&keys::order_key(&order.id)).await?.ok_or(MarketError::OrderNotFound)?;
            outcome(ctx, &now).await
        }
        Err(e) => {
            tracing::error!(order = %order.id, error = %e, "the sale could not be recorded; cancelling the payment");
            match toss::cancel(ctx, &payment.payment_key, &order.id, "판매 기록 실패로 인한 자동 취소").await
            {
                Ok(_) => {
                    fail(
                        ctx,
                        &order,
                        "PAYMENT_CANCELED",
                        None,
                        "The sale could not be recorded; the payment was cancelled.",
                    )
                    .await
                }
                Err(why) => {
                    // Neither recorded nor cancelled yet: the settling job tries again.
                    tracing::error!(order = %order.id, why = ?why, "the payment could not be cancelled yet");
                    let_go(ctx, &order).await;
                    Err(pending())
                }
            }
        }
    }
}

/// The writes that publish a listing's new sale status in the transaction that sets it (chat
/// tells the rooms about the listing).
pub(crate) fn sale_status(ctx: &AppContext, listing: &str, status: Status) -> ApiResult<Vec<Write>> {
    let status = match status {
        Status::Sale => "SALE",
        Status::Reserved => "RESERVED",
        Status::Sold => "SOLD",
    };
    let event = market_contract::SaleStatusChanged { market_post_id: listing.to_string(), status: status.into() };
    shared::outbox::publish(ctx, &market_contract::SALE_STATUS, &event)
}

/// Finishes every order whose confirmation got no answer and whose holder is gone: asks Toss
/// what happened and records it (a sale, a refusal, or a cancellation).
pub async fn settle_stuck(ctx: &AppContext) -> ApiResult<serde_json::Value> {
    let query = Query::partition(keys::CONFIRMING_ORDERS).index(Gsi::Gsi2);
    let ids = ctx.table.query_ids(&query, Some(1_000)).await?;
    let (mut settled, mut waiting) = (0, 0);
    for id in ids {
        let Some(order) = ctx.table.get::<Order>(&keys::order_key(&id)).await? else { continue };
        if order.status != OrderStatus::Confirming || order.lease_until.is_some_and(|l| l > ctx.now()) {
            waiting += 1;
            continue;
        }
        let Ok(held) = take_over(ctx, &order).await else { continue };
        match finish(ctx, held, Asked::Lookup).await {
            Ok(_) => settled += 1,
            Err(e) if e.status().as_u16() == 503 => waiting += 1,
            // A refusal is an outcome too.
            Err(_) => settled += 1,
        }
    }
    Ok(serde_json::json!({"settled": settled, "stillWaiting": waiting}))
}

/// A purchase or a sale: its transaction and the listing (while it is still listed).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TradeView {
    pub transaction: Trade,
    pub market_post: Option<market_contract::ListingSummary>,
    /// The other party: the seller of a purchase, the buyer of a sale.
    pub counterpart: identity_contract::Person,
}

async fn trades(ctx: &AppContext, params: &Params, query: Query, buying: bool) -> ApiResult<Okay<Page<TradeView>>> {
    let query = query.newest_first().paged(params, 5, 20)?;
    let page = ctx.table.query::<Trade>(&query).await?;
    let listing_ids: Vec<String> = page.items.iter().map(|t| t.market_post_id.clone()).collect();
    let others: Vec<String> =
        page.items.iter().map(|t| if buying { t.seller_id.clone() } else { t.buyer_id.clone() }).collect();
    // The listings and the other parties in one batch read.
    let [listing_items, person_items] = ctx
        .table
        .batch_get_groups([&market_contract::summary_keys(&listing_ids), &identity_contract::person_keys(&others)])
        .await?;
    let listings = market_contract::summaries_from(ctx, listing_items).await?;
    let people = identity_contract::people_from(ctx, &others, person_items).await?;
    let items = page
        .items
        .into_iter()
        .map(|t| {
            let other = if buying { &t.seller_id } else { &t.buyer_id };
            TradeView {
                market_post: listings.get(&t.market_post_id).cloned(),
                counterpart: people.get(other).cloned().unwrap_or(identity_contract::Person {
                    id: other.clone(),
                    nickname: String::new(),
                    profile_image_url: None,
                }),
                transaction: t,
            }
        })
        .collect();
    Ok(Okay(Page { items, next_cursor: page.next_cursor }))
}

pub async fn purchases(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Page<TradeView>>> {
    trades(&ctx, &params, Query::partition(keys::purchases_partition(&caller.user_id)).index(Gsi::Gsi1), true).await
}

pub async fn sales(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Page<TradeView>>> {
    trades(&ctx, &params, Query::partition(keys::sales_partition(&caller.user_id)).index(Gsi::Gsi2), false).await
}
