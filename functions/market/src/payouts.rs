//! Payouts: where a seller's points are paid out to. The seller registers one bank account
//! (a Korean bank's code, the account number, the holder's name); the number is sealed at rest
//! ([`shared::sealed`], the seller as its context) and shown masked.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | payout account | `USER#<seller>` | `PAYOUTACCOUNT` (`bankCode`, `holderName`, `sealed`, `last4`, `digits`) |

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::config::{ConfigError, ProviderSettings, Setting, SettingSource, Settings};
use shared::handler::{Caller, Json, Okay};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Key, Write, n, s};
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

/// The key of [`ACCOUNT_KEY`].
#[derive(Clone)]
pub struct AccountKey(pub [u8; 32]);

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountKey(<hidden>)")
    }
}

impl ProviderSettings for AccountKey {
    fn read(settings: &Settings) -> Result<Option<Self>, ConfigError> {
        Ok(shared::sealed::key_from(settings, &ACCOUNT_KEY)?.map(AccountKey))
    }
}

fn account_key(ctx: &AppContext) -> ApiResult<Arc<AccountKey>> {
    ctx.provider::<AccountKey>()?.ok_or_else(|| ApiError::Unavailable {
        code: "PAYOUTS_UNAVAILABLE",
        detail: "Payouts are not configured here.".into(),
    })
}

pub fn payout_account_key(user: &str) -> Key {
    Key::new(shared::keys::user_partition(user), "PAYOUTACCOUNT")
}

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
        shared::sealed::open(&key.0, &sealing_context(user), &self.sealed).map_err(ApiError::internal)
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
        sealed: shared::sealed::seal(&key.0, &sealing_context(&me), &digits).map_err(ApiError::internal)?,
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
