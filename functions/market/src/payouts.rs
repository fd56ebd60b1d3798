//! Payouts: where a seller's points are paid out to. The seller registers one bank account
//! (a Korean bank's code, the account number, the holder's name); the number is sealed at rest
//! ([`shared::sealed`], the seller as its context) and shown masked.
//! Keys: [`crate::keys`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::config::{Setting, SettingSource};
use shared::handler::{Caller, Json, Okay, Path};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Write, n, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::MarketError;

/// The key payout accounts are sealed with; without it no account is stored or read.
pub const ACCOUNT_KEY: Setting = Setting {
    env_var: "PAYOUT_ACCOUNT_KEY",
    parameter: "PayoutAccountKey",
    description: "Encrypts stored payout bank account numbers (AES-256-GCM, key = SHA-256 of this value)",
    source: SettingSource::Generated { name: "payout-account-key" },
};

/// Korean banks by their KFTC code (금융결제원 은행 코드).
pub const BANKS: &[(&str, &str)] = &[
    ("002", "KDB산업은행"),
    ("003", "IBK기업은행"),
    ("004", "KB국민은행"),
    ("007", "수협은행"),
    ("011", "NH농협은행"),
    ("020", "우리은행"),
    ("023", "SC제일은행"),
    ("027", "한국씨티은행"),
    ("031", "iM뱅크"),
    ("032", "부산은행"),
    ("034", "광주은행"),
    ("035", "제주은행"),
    ("037", "전북은행"),
    ("039", "경남은행"),
    ("045", "새마을금고"),
    ("048", "신협"),
    ("050", "저축은행"),
    ("071", "우체국"),
    ("081", "하나은행"),
    ("088", "신한은행"),
    ("089", "케이뱅크"),
    ("090", "카카오뱅크"),
    ("092", "토스뱅크"),
];

pub fn bank_name(code: &str) -> Option<&'static str> {
    BANKS.iter().find(|(c, _)| *c == code).map(|(_, name)| *name)
}

/// Payout bank accounts, as a kind of sealed secret.
pub struct PayoutAccounts;

impl shared::sealed::KeySetting for PayoutAccounts {
    const SETTING: &'static Setting = &ACCOUNT_KEY;
}

/// The key of [`ACCOUNT_KEY`].
pub type AccountKey = shared::sealed::SealingKey<PayoutAccounts>;

fn account_key(ctx: &AppContext) -> ApiResult<Arc<AccountKey>> {
    ctx.provider::<AccountKey>()?.ok_or_else(|| ApiError::Unavailable {
        code: "PAYOUTS_UNAVAILABLE",
        detail: "Payouts are not configured here.".into(),
    })
}

pub use crate::keys::{payout_account_key, payout_key};

fn sealing_context(user: &str) -> String {
    format!("payout-account|{user}")
}

pub static BANK_LIST: Function =
    Function::http(Method::Get, "/market/banks", "market-banks", PKG, Access::Public, handler!(banks))
        .doc("market", "The banks a payout account may be at (KFTC codes)")
        .responses(&[said(200, "The banks.")]);

pub static PUT_ACCOUNT: Function = Function::http(
    Method::Put,
    "/users/me/payout-account",
    "market-payout-account-put",
    PKG,
    Access::User,
    handler!(put_account),
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.settings(&[&ACCOUNT_KEY])
.doc("market", "Register (or replace) the bank account my points are paid out to")
.example(r#"{"bankCode":"088","accountNumber":"110-123-456789","holderName":"김철수"}"#)
.responses(&[said(200, "The account, masked.")])
.errors(&[400]);

pub static GET_ACCOUNT: Function = Function::http(
    Method::Get,
    "/users/me/payout-account",
    "market-payout-account-get",
    PKG,
    Access::User,
    handler!(get_account),
)
.permissions(&[Permission::TableRead])
.doc("market", "The bank account my points are paid out to, masked")
.responses(&[said(200, "The account, masked.")])
.errors(&[404]);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Bank {
    pub code: &'static str,
    pub name: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Banks {
    pub items: Vec<Bank>,
}

pub async fn banks(_ctx: Arc<AppContext>) -> ApiResult<Okay<Banks>> {
    Ok(Okay(Banks { items: BANKS.iter().map(|(code, name)| Bank { code, name }).collect() }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAccount {
    /// A code of `GET /market/banks`.
    pub bank_code: String,
    /// 10 to 16 digits; hyphens and spaces are ignored.
    pub account_number: String,
    pub holder_name: String,
}

fn digits_of(number: &str) -> Option<String> {
    let digits: String = number.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    (digits.len() >= 10 && digits.len() <= 16 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

impl Validate for NewAccount {
    fn validate(&self, v: &mut Validator) {
        v.check(bank_name(&self.bank_code).is_some(), "bankCode", "UNKNOWN_BANK", "a code of GET /market/banks");
        v.check(
            self.account_number.len() <= 30 && digits_of(&self.account_number).is_some(),
            "accountNumber",
            "INVALID_FORMAT",
            "10 to 16 digits (hyphens allowed)",
        );
        v.line("holderName", &self.holder_name, 1, 30);
    }
}

/// A payout account as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub bank_code: String,
    pub bank_name: String,
    /// Every digit but the last four masked.
    pub account_number: String,
    pub holder_name: String,
    pub updated_at: DateTime<Utc>,
}

/// A payout account as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredAccount {
    pub bank_code: String,
    pub holder_name: String,
    /// The account number, sealed.
    pub sealed: String,
    pub last4: String,
    pub digits: i64,
    pub updated_at: DateTime<Utc>,
}

impl StoredAccount {
    pub fn view(&self) -> AccountView {
        AccountView {
            bank_code: self.bank_code.clone(),
            bank_name: bank_name(&self.bank_code).unwrap_or_default().to_string(),
            account_number: format!("{}{}", "*".repeat((self.digits as usize).saturating_sub(4)), self.last4),
            holder_name: self.holder_name.clone(),
            updated_at: self.updated_at,
        }
    }

    /// The account number, for the transfer (administrators' payout queue).
    pub fn number(&self, ctx: &AppContext, user: &str) -> ApiResult<String> {
        let key = account_key(ctx)?;
        key.open(&sealing_context(user), &self.sealed).map_err(ApiError::internal)
    }
}

/// `user`'s payout account, if registered.
pub async fn account_of(ctx: &AppContext, user: &str) -> ApiResult<Option<StoredAccount>> {
    Ok(ctx.table.get_item(&payout_account_key(user)).await?.map(serde_dynamo::from_item).transpose()?)
}

pub async fn put_account(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<NewAccount>,
) -> ApiResult<Okay<AccountView>> {
    let key = account_key(&ctx)?;
    let me = caller.user_id.clone();
    let digits = digits_of(&body.account_number).ok_or_else(|| ApiError::internal("validated account number"))?;
    let stored = StoredAccount {
        bank_code: body.bank_code.clone(),
        holder_name: body.holder_name.trim().to_string(),
        sealed: key.seal(&sealing_context(&me), &digits).map_err(ApiError::internal)?,
        last4: digits[digits.len() - 4..].to_string(),
        digits: digits.len() as i64,
        updated_at: ctx.now(),
    };
    let mut item: shared::table::Item = serde_dynamo::to_item(&stored)?;
    item.extend(payout_account_key(&me).to_item());
    item.insert(shared::table::ENTITY_TYPE.into(), s("PayoutAccount"));
    item.insert("digits".into(), n(stored.digits));
    ctx.table.write(Write::put_item(item)).await?;
    Ok(Okay(stored.view()))
}

pub async fn get_account(ctx: Arc<AppContext>, caller: Caller) -> ApiResult<Okay<AccountView>> {
    let account = account_of(&ctx, &caller.user_id).await?.ok_or(MarketError::NoPayoutAccount)?;
    Ok(Okay(account.view()))
}

// ---- Payout requests ----
//
// A request takes its amount off the balance at once, with a HOLD entry, in one transaction
// conditional on the balance: racing requests never overdraw. An administrator pays it (the
// bank transfer's reference) or rejects it (a reason; a RELEASE entry gives the amount back),
// once: the decision is conditional on the request still waiting.

/// Where a payout request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PayoutStatus {
    Requested,
    Paid,
    Rejected,
}

impl PayoutStatus {
    fn as_str(self) -> &'static str {
        match self {
            PayoutStatus::Requested => "REQUESTED",
            PayoutStatus::Paid => "PAID",
            PayoutStatus::Rejected => "REJECTED",
        }
    }
}

fn queue_partition(status: PayoutStatus) -> String {
    crate::keys::payouts_in_partition(status.as_str())
}

fn mine_partition(user: &str) -> String {
    crate::keys::payouts_of_partition(user)
}

/// A payout request, with the account it is paid to as it was when requested.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payout {
    pub id: String,
    pub user_id: String,
    pub amount: i64,
    pub status: PayoutStatus,
    pub account: StoredAccount,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub decided_by: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
}

impl shared::table::Entity for Payout {
    const TYPE: &'static str = "Payout";
    fn pk(&self) -> String {
        payout_key(&self.id).pk
    }
    fn sk(&self) -> String {
        payout_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(shared::table::Gsi, String, String)> {
        vec![
            (shared::table::Gsi::Gsi1, queue_partition(self.status), self.id.clone()),
            (shared::table::Gsi::Gsi2, mine_partition(&self.user_id), self.id.clone()),
        ]
    }
}

/// A payout as its seller sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutView {
    pub id: String,
    pub amount: i64,
    pub status: PayoutStatus,
    pub account: AccountView,
    pub reference: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

impl From<&Payout> for PayoutView {
    fn from(p: &Payout) -> Self {
        PayoutView {
            id: p.id.clone(),
            amount: p.amount,
            status: p.status,
            account: p.account.view(),
            reference: p.reference.clone(),
            reason: p.reason.clone(),
            created_at: p.created_at,
            decided_at: p.decided_at,
        }
    }
}

/// A payout as the administrators' queue shows it: whose, and the whole account to transfer to.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedPayout {
    pub user_id: String,
    #[serde(flatten)]
    pub payout: PayoutView,
    pub bank_name: String,
    pub account_number: String,
    pub holder_name: String,
    /// The seller's balance now: below zero after a refund, when the payout is held.
    pub seller_balance: i64,
    /// Whether paying it is held (the seller owes points after a refund).
    pub held: bool,
}

pub static REQUEST: Function =
    Function::http(Method::Post, "/users/me/payouts", "market-payouts-request", PKG, Access::User, handler!(request))
        .permissions(&[Permission::TableRead, Permission::TableWrite])
        .doc("market", "Ask for points to be paid out to my payout account: the amount is held at once")
        .example(r#"{"amount":5000}"#)
        .responses(&[said(201, "Requested; the amount is held.")])
        .errors(&[404, 409])
        .reads_with_session(my_account);

/// The caller's payout account, read with the session.
fn my_account(_: &std::collections::HashMap<String, String>, caller: &str) -> Vec<shared::table::Key> {
    vec![payout_account_key(caller)]
}

pub static MINE: Function =
    Function::http(Method::Get, "/users/me/payouts", "market-payouts-mine", PKG, Access::User, handler!(mine))
        .permissions(&[Permission::TableRead])
        .doc("market", "My payout requests, newest first")
        .query(&[
            shared::routes::param("cursor", false, "from nextCursor"),
            shared::routes::int_param("limit", false, "page size, default 20", 1, 50),
        ]);

pub static QUEUE: Function =
    Function::http(Method::Get, "/admin/payouts", "market-admin-payouts", PKG, Access::Admin, handler!(queue))
        .permissions(&[Permission::TableRead])
        .settings(&[&ACCOUNT_KEY])
        .doc(
            "admin",
            "Payout requests by status (waiting ones first by default), oldest first, with the accounts to pay",
        )
        .query(&[
            shared::routes::enum_param(
                "status",
                false,
                "REQUESTED (default), PAID or REJECTED",
                &["REQUESTED", "PAID", "REJECTED"],
            ),
            shared::routes::param("cursor", false, "from nextCursor"),
            shared::routes::int_param("limit", false, "page size, default 20", 1, 50),
        ]);

pub static DECIDE: Function = Function::http(
    Method::Put,
    "/admin/payouts/{id}/decision",
    "market-admin-payouts-decide",
    PKG,
    Access::Admin,
    handler!(decide),
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.doc(
    "admin",
    "Pay a payout request (with the bank transfer's reference) or reject it (with a reason: the points go back)",
)
.example(r#"{"decision":"PAID","reference":"신한 20261207-000123"}"#)
.responses(&[said(200, "Decided.")])
.errors(&[400, 404, 409]);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPayout {
    pub amount: i64,
}

impl Validate for NewPayout {
    fn validate(&self, v: &mut Validator) {
        v.check((1..=100_000_000).contains(&self.amount), "amount", "OUT_OF_RANGE", "1 to 100,000,000 points");
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Requested {
    pub payout: PayoutView,
    pub balance: i64,
}

fn entry(
    ctx: &AppContext,
    user: &str,
    kind: crate::points::EntryKind,
    amount: i64,
    reason: &str,
) -> crate::points::Entry {
    let now = ctx.now();
    crate::points::Entry {
        id: shared::ids::new_id(now),
        user_id: user.to_string(),
        kind,
        amount,
        reason: reason.to_string(),
        created_at: now,
    }
}

pub async fn request(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<NewPayout>,
) -> ApiResult<shared::handler::Created<Requested>> {
    let me = caller.user_id.clone();
    let account = account_of(&ctx, &me).await?.ok_or(MarketError::NoPayoutAccount)?;
    let now = ctx.now();
    let payout = Payout {
        id: shared::ids::new_id(now),
        user_id: me.clone(),
        amount: body.amount,
        status: PayoutStatus::Requested,
        account,
        reference: None,
        reason: None,
        decided_by: None,
        created_at: now,
        decided_at: None,
    };
    let hold = entry(&ctx, &me, crate::points::EntryKind::Hold, body.amount, "출금 신청");
    let result = ctx
        .table
        .transact(vec![
            Write::update(crate::keys::balance_key(&me), "ADD balance :minus")
                .value(":minus", n(-body.amount))
                .value(":amount", n(body.amount))
                .when("balance >= :amount", MarketError::InsufficientPoints),
            Write::put(&payout)?.if_absent(MarketError::ListingChanged),
            Write::put(&hold)?.if_absent(MarketError::ListingChanged),
        ])
        .await;
    match result {
        // A refund took the balance below zero: say so, rather than "not that many".
        Err(e) if e.is(&MarketError::InsufficientPoints) && crate::points::balance_of(&ctx, &me).await? < 0 => {
            return Err(MarketError::PayoutsHeld.into());
        }
        other => other?,
    }
    let balance = crate::points::balance_of(&ctx, &me).await?;
    Ok(shared::handler::Created(Requested { payout: (&payout).into(), balance }))
}

pub async fn mine(
    ctx: Arc<AppContext>,
    caller: Caller,
    params: shared::handler::Params,
) -> ApiResult<Okay<shared::table::Page<PayoutView>>> {
    use shared::http::PageRequest;
    let q = shared::table::Query::partition(mine_partition(&caller.user_id))
        .index(shared::table::Gsi::Gsi2)
        .newest_first()
        .paged(&params, 20, 50)?;
    let page = ctx.table.query::<Payout>(&q).await?;
    Ok(Okay(shared::table::Page { items: page.items.iter().map(Into::into).collect(), next_cursor: page.next_cursor }))
}

pub async fn queue(
    ctx: Arc<AppContext>,
    params: shared::handler::Params,
) -> ApiResult<Okay<shared::table::Page<QueuedPayout>>> {
    use shared::http::PageRequest;
    let status = match params.get("status") {
        None | Some("REQUESTED") => PayoutStatus::Requested,
        Some("PAID") => PayoutStatus::Paid,
        Some("REJECTED") => PayoutStatus::Rejected,
        Some(_) => return Err(ApiError::validation("status", "ONE_OF", "REQUESTED, PAID or REJECTED")),
    };
    let q = shared::table::Query::partition(queue_partition(status))
        .index(shared::table::Gsi::Gsi1)
        .paged(&params, 20, 50)?;
    let page = ctx.table.query::<Payout>(&q).await?;
    let sellers: Vec<shared::table::Key> = page.items.iter().map(|p| crate::keys::balance_key(&p.user_id)).collect();
    let balances = ctx.table.batch_get_items(&sellers).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for (p, b) in page.items.iter().zip(balances) {
        let seller_balance = b.as_ref().map(crate::points::stored_balance).unwrap_or(0);
        items.push(QueuedPayout {
            seller_balance,
            held: seller_balance < 0,
            user_id: p.user_id.clone(),
            bank_name: bank_name(&p.account.bank_code).unwrap_or_default().to_string(),
            account_number: p.account.number(&ctx, &p.user_id)?,
            holder_name: p.account.holder_name.clone(),
            payout: p.into(),
        });
    }
    Ok(Okay(shared::table::Page { items, next_cursor: page.next_cursor }))
}

/// An administrator's decision on a payout request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PayoutDecision {
    /// `PAID` or `REJECTED`.
    pub decision: String,
    /// PAID: the bank transfer's reference.
    #[serde(default)]
    pub reference: Option<String>,
    /// REJECTED: why (the seller is told).
    #[serde(default)]
    pub reason: Option<String>,
}

impl Validate for PayoutDecision {
    fn validate(&self, v: &mut Validator) {
        match self.decision.as_str() {
            "PAID" => match &self.reference {
                Some(r) => v.line("reference", r, 1, 100),
                None => v.check(false, "reference", "REQUIRED", "the bank transfer's reference"),
            },
            "REJECTED" => match &self.reason {
                Some(r) => v.text("reason", r, 1, 300),
                None => v.check(false, "reason", "REQUIRED", "why it is rejected"),
            },
            _ => v.check(false, "decision", "ONE_OF", "PAID or REJECTED"),
        }
    }
}

pub async fn decide(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    request: shared::handler::RequestId,
    Json(body): Json<PayoutDecision>,
) -> ApiResult<Okay<PayoutView>> {
    if !shared::ids::is_valid_id(&id) {
        return Err(MarketError::PayoutNotFound.into());
    }
    let mut payout = ctx.table.get::<Payout>(&payout_key(&id)).await?.ok_or(MarketError::PayoutNotFound)?;
    if payout.status != PayoutStatus::Requested {
        return Err(MarketError::PayoutDecided.into());
    }
    let paid = body.decision == "PAID";
    // A seller who owes points after a refund is not paid until the balance is back above
    // zero (rejecting, which gives the held points back, is always possible).
    if paid && crate::points::balance_of(&ctx, &payout.user_id).await? < 0 {
        return Err(MarketError::PayoutsHeld.into());
    }
    let now = ctx.now();
    let status = if paid { PayoutStatus::Paid } else { PayoutStatus::Rejected };
    let detail = if paid { body.reference.clone() } else { body.reason.clone() };
    // The request leaves the waiting queue for its decision's (the index key moves with it).
    let update =
        Write::update(payout_key(&id), "SET #s = :s, #q = :queue, decidedAt = :at, decidedBy = :by, #d = :detail")
            .name("#s", "status")
            .name("#q", shared::table::Gsi::Gsi1.pk())
            .name("#d", if paid { "reference" } else { "reason" })
            .value(":s", s(status.as_str()))
            .value(":queue", s(queue_partition(status)))
            .value(":at", s(now.to_rfc3339()))
            .value(":by", s(&caller.user_id))
            .value(":detail", s(detail.as_deref().unwrap_or_default()))
            .value(":waiting", s(PayoutStatus::Requested.as_str()))
            .when("#s = :waiting", MarketError::PayoutDecided);
    let before = serde_json::json!({"status": "REQUESTED", "amount": payout.amount});
    let after = serde_json::json!({"status": status.as_str(), "reference": body.reference, "reason": body.reason});
    let (_, audit) = moderation_contract::trail::record(
        &ctx,
        &caller.user_id,
        if paid { "PAYOUT_PAID" } else { "PAYOUT_REJECTED" },
        "PAYOUT",
        &id,
        before,
        after,
        Some(&request.0),
    )?;
    let bank = bank_name(&payout.account.bank_code).unwrap_or_default();
    let message = if paid {
        format!("{}원이 {bank} 계좌(끝자리 {})로 입금되었습니다.", payout.amount, payout.account.last4)
    } else {
        format!(
            "{}원 출금 신청이 반려되어 포인트로 돌아왔습니다. 사유: {}",
            payout.amount,
            body.reason.as_deref().unwrap_or_default()
        )
    };
    let mut writes = vec![update, audit];
    if !paid {
        let release = entry(&ctx, &payout.user_id, crate::points::EntryKind::Release, payout.amount, "출금 반려");
        writes.push(Write::put(&release)?.if_absent(MarketError::ListingChanged));
        writes.push(
            Write::update(crate::keys::balance_key(&payout.user_id), "ADD balance :a").value(":a", n(payout.amount)),
        );
    }
    writes.extend(notifications_contract::outbox(
        &ctx,
        vec![notifications_contract::NotificationEvent {
            event_id: format!("payout-{id}-{}", status.as_str()),
            kind: notifications_contract::NotificationKind::Payout,
            actor_id: notifications_contract::SYSTEM_ACTOR.into(),
            recipient_id: payout.user_id.clone(),
            target_type: "PAYOUT".into(),
            target_id: id.clone(),
            excerpt: Some(message),
        }],
    )?);
    ctx.table.transact(writes).await?;
    payout.status = status;
    payout.decided_at = Some(now);
    payout.decided_by = Some(caller.user_id.clone());
    if paid {
        payout.reference = body.reference;
    } else {
        payout.reason = body.reason;
    }
    Ok(Okay((&payout).into()))
}
