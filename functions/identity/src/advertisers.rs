//! Advertisers: companies that sign up with a business registration number, wait for an
//! administrator's approval, and then publish ads. Until approved they may sign in, edit this
//! profile and send documents: the account carries a write hold ([`crate::company::awaiting_approval`]) on which
//! the kernel refuses every other write with `ADVERTISER_NOT_APPROVED` (see
//! [`shared::routes::Function::open_while_held`]); approval lifts it.
//! A rejected advertiser that edits its profile or sends a document asks again: it is pending.
//!
//! | item | PK | SK | index |
//! |---|---|---|---|
//! | advertiser profile | `USER#<id>` | `ADVERTISER` | GSI1 `ADVERTISERS#<status>` / `<created>#<id>` (the admin queue) |
//!
//! The account item keeps `advertiserStatus` too: the kernel's guard reads it with the session.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use shared::handler;
use shared::handler::{Caller, Created, Json, Okay, Params, Path, RequestId, Source};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, enum_param, param, said};
use shared::table::{Gsi, Page, Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext, queues};
use utoipa::ToSchema;

use crate::PKG;
use crate::accounts::{NewAccount, SignUpResponse};
use crate::company::{
    Advertiser, CompanyDocument, NewAdvertiser, awaiting_approval, business_digits, check_business_number, status_str,
};
use crate::error::IdentityError;
use crate::model::{AdvertiserStatus, user_key};
use identity_contract::keys;

const READ: &[Permission] = &[Permission::TableRead];
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];
/// Documents one advertiser may keep.
const MAX_DOCUMENTS: usize = 10;

pub static SIGNUP: Function = Function::http(
    Method::Post,
    "/advertisers/signup",
    "advertisers-signup",
    PKG,
    Access::Public,
    handler!(signup),
)
// Sign-up only writes: rate counters and one conditional transaction.
.permissions(&[Permission::TableWrite])
.doc("advertisers", "Sign up a company: verify the email, then wait for an administrator's approval")
.example(r#"{"email":"ads@meongfood.co.kr","password":"treats4dogs","companyName":"멍푸드","businessNumber":"220-81-62517","representative":"김대표","phone":"02-1234-5678"}"#)
.responses(&[said(201, "Created, pending verification and approval.")])
.errors(&[409, 429]);

pub static ME: Function = Function::http(
    Method::Get,
    "/advertisers/me",
    "advertisers-me",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(me),
)
.open_while_held()
.permissions(READ)
.doc("advertisers", "My company profile and where its approval stands")
.responses(&[said(200, "The profile.")])
.errors(&[404]);

pub static UPDATE: Function = Function::http(
    Method::Patch,
    "/advertisers/me",
    "advertisers-update",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(update),
)
.open_while_held()
// The profile holds no media: nothing to check or sign.
.permissions(&[Permission::TableRead, Permission::TableWrite])
.doc("advertisers", "Change my company profile (a rejected advertiser asks again)")
.example(r#"{"phone":"02-9876-5432"}"#)
.responses(&[said(200, "The profile.")])
.errors(&[404, 409]);

pub static ADD_DOCUMENT: Function = Function::http(
    Method::Post,
    "/advertisers/me/documents",
    "advertisers-documents",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(add_document),
)
.open_while_held()
.permissions(WRITE)
.doc("advertisers", "Attach a document (a PDF or image uploaded with purpose `document`)")
.example(r#"{"fileKey":"users/01JD3K4Q5R6S7T8V9W0XYZABCD/document/01JD3K4Q5R6S7T8V9W0XYZABCE.pdf"}"#)
.responses(&[said(201, "Attached.")])
.errors(&[404, 409]);

pub static ADMIN_LIST: Function = Function::http(
    Method::Get,
    "/admin/advertisers",
    "admin-advertisers-list",
    PKG,
    Access::Admin,
    handler!(admin_list),
)
.permissions(READ)
.doc("admin", "Advertisers by approval status, oldest first (the approval queue), with each account's email")
.query(&[
    enum_param("status", false, "default PENDING_APPROVAL", &["PENDING_APPROVAL", "APPROVED", "REJECTED"]),
    param("cursor", false, "from nextCursor"),
]);

pub static ADMIN_DECIDE: Function = Function::http(
    Method::Put,
    "/admin/advertisers/{id}/decision",
    "admin-advertisers-decide",
    PKG,
    Access::Admin,
    handler!(admin_decide),
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.doc("admin", "Approve or reject an advertiser (a reason is required to reject); it is told by email and in its inbox")
.example(r#"{"decision":"REJECT","reason":"사업자등록증 사본이 흐립니다"}"#)
.responses(&[said(200, "Decided.")])
.errors(&[404, 409]);

fn check_phone(v: &mut Validator, phone: &str) {
    let digits = business_digits(phone);
    let ok = phone.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ')
        && digits.starts_with('0')
        && (9..=11).contains(&digits.len());
    v.check(ok, "phone", "INVALID_PHONE", "a Korean phone number, e.g. 02-1234-5678");
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdvertiserSignUp {
    pub email: String,
    pub password: String,
    pub company_name: String,
    pub business_number: String,
    pub representative: String,
    pub phone: String,
}

impl Validate for AdvertiserSignUp {
    fn validate(&self, v: &mut Validator) {
        v.email("email", self.email.trim());
        crate::password::check_policy(v, "password", &self.password);
        v.line("companyName", &self.company_name, 1, 50);
        check_business_number(v, &self.business_number);
        v.line("representative", &self.representative, 1, 30);
        check_phone(v, &self.phone);
    }
}

pub async fn signup(
    ctx: Arc<AppContext>,
    source: Source,
    Json(body): Json<AdvertiserSignUp>,
) -> ApiResult<Created<SignUpResponse>> {
    let now = ctx.now();
    // The nickname is the company's handle until it picks another (PATCH /users/me).
    let nickname = format!("biz_{}", &shared::ids::new_id(now).to_lowercase()[16..]);
    let new =
        NewAccount { email: &body.email, password: &body.password, name: &body.company_name, nickname: &nickname };
    let advertiser = NewAdvertiser {
        company_name: body.company_name.trim().to_string(),
        business_number: business_digits(&body.business_number),
        representative: body.representative.trim().to_string(),
        phone: body.phone.trim().to_string(),
    };
    Ok(Created(crate::accounts::register(&ctx, source.as_deref(), new, Some(advertiser)).await?))
}

fn hold_value() -> ApiResult<shared::table::AttrValue> {
    serde_dynamo::to_attribute_value(awaiting_approval()).map_err(shared::ApiError::internal)
}

async fn load(ctx: &AppContext, id: &str) -> ApiResult<Advertiser> {
    if !shared::ids::is_valid_id(id) {
        return Err(IdentityError::AdvertiserNotFound.into());
    }
    ctx.table
        .get::<Advertiser>(&keys::advertiser_key(id))
        .await?
        .ok_or_else(|| IdentityError::AdvertiserNotFound.into())
}

pub async fn me(ctx: Arc<AppContext>, caller: Caller) -> ApiResult<Okay<Advertiser>> {
    Ok(Okay(load(&ctx, &caller.user_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdvertiserPatch {
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub representative: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

impl Validate for AdvertiserPatch {
    fn validate(&self, v: &mut Validator) {
        if let Some(c) = &self.company_name {
            v.line("companyName", c, 1, 50);
        }
        if let Some(r) = &self.representative {
            v.line("representative", r, 1, 30);
        }
        if let Some(p) = &self.phone {
            check_phone(v, p);
        }
    }
}

/// Writes `a` over the version read at `seen`; a rejected advertiser that changes anything is
/// pending again (its account item says so too).
fn save(a: &mut Advertiser, seen: DateTime<Utc>, now: DateTime<Utc>) -> ApiResult<Vec<Write>> {
    a.updated_at = now;
    let asks_again = a.status == AdvertiserStatus::Rejected;
    if asks_again {
        a.status = AdvertiserStatus::PendingApproval;
    }
    let mut writes = vec![
        Write::put(&*a)?
            .when("updatedAt = :seen", IdentityError::AccountChanged)
            .value(":seen", shared::table::time(seen)),
    ];
    if asks_again {
        writes.push(
            Write::update(user_key(&a.user_id), "SET advertiserStatus = :pending, #hold = :hold")
                .name("#hold", shared::account::WRITE_HOLD_ATTRIBUTE)
                .value(":pending", s("PENDING_APPROVAL"))
                .value(":hold", hold_value()?),
        );
        // The rejection freed the business number: asking again claims it again, unless
        // another advertiser took it meanwhile.
        let claim = crate::model::Unique {
            key: crate::model::business_number_key(&a.business_number),
            user_id: a.user_id.clone(),
            pending_expires: None,
        };
        writes.push(
            Write::put(&claim)?
                .when("attribute_not_exists(PK) OR userId = :u", IdentityError::BusinessNumberTaken)
                .value(":u", s(&a.user_id)),
        );
    }
    Ok(writes)
}

pub async fn update(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<AdvertiserPatch>,
) -> ApiResult<Okay<Advertiser>> {
    let mut a = load(&ctx, &caller.user_id).await?;
    let seen = a.updated_at;
    if let Some(c) = body.company_name {
        a.company_name = c.trim().to_string();
    }
    if let Some(r) = body.representative {
        a.representative = r.trim().to_string();
    }
    if let Some(p) = body.phone {
        a.phone = p.trim().to_string();
    }
    let writes = save(&mut a, seen, ctx.now())?;
    ctx.table.transact(writes).await?;
    Ok(Okay(a))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentRequest {
    pub file_key: String,
}

impl Validate for DocumentRequest {
    fn validate(&self, v: &mut Validator) {
        v.line("fileKey", &self.file_key, 1, 300);
    }
}

pub async fn add_document(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<DocumentRequest>,
) -> ApiResult<Created<Advertiser>> {
    shared::media::verify(&ctx, &caller.user_id, &body.file_key, &[&identity_contract::DOCUMENT]).await?;
    let mut a = load(&ctx, &caller.user_id).await?;
    if a.documents.iter().any(|d| d.file_key == body.file_key) {
        return Ok(Created(a));
    }
    if a.documents.len() >= MAX_DOCUMENTS {
        return Err(IdentityError::TooManyDocuments.into());
    }
    let seen = a.updated_at;
    a.documents.push(CompanyDocument { file_key: body.file_key, added_at: ctx.now() });
    let writes = save(&mut a, seen, ctx.now())?;
    ctx.table.transact(writes).await?;
    Ok(Created(a))
}

/// An advertiser in the approval queue, with the account's email to reach the company at.
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedAdvertiser {
    #[serde(flatten)]
    pub advertiser: Advertiser,
    /// The account's email (absent for an account withdrawn since).
    pub email: Option<String>,
}

pub async fn admin_list(
    ctx: Arc<AppContext>,
    _admin: Caller,
    params: Params,
) -> ApiResult<Okay<Page<QueuedAdvertiser>>> {
    let status = params.raw("status").unwrap_or("PENDING_APPROVAL");
    if !["PENDING_APPROVAL", "APPROVED", "REJECTED"].contains(&status) {
        return Err(ApiError::validation("status", "INVALID", "PENDING_APPROVAL, APPROVED or REJECTED"));
    }
    let query = shared::table::Query::partition(keys::advertisers_partition(status))
        .index(Gsi::Gsi1)
        .paged(&params, 20, 100)?;
    let page = ctx.table.query::<Advertiser>(&query).await?;
    // The accounts of the page in one batch read.
    let accounts: Vec<shared::table::Key> = page.items.iter().map(|a| user_key(&a.user_id)).collect();
    let found = ctx.table.batch_get_items(&accounts).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for (advertiser, item) in page.items.into_iter().zip(found) {
        let email = identity_contract::account_from(item)?.map(|a| a.email);
        items.push(QueuedAdvertiser { advertiser, email });
    }
    Ok(Okay(Page { items, next_cursor: page.next_cursor }))
}

use moderation_contract::moderation::{Verdict as Decision, VerdictRequest as DecisionRequest};

pub async fn admin_decide(
    ctx: Arc<AppContext>,
    admin: Caller,
    request: RequestId,
    Path(id): Path<String>,
    Json(body): Json<DecisionRequest>,
) -> ApiResult<Okay<Advertiser>> {
    let mut a = load(&ctx, &id).await?;
    if a.status != AdvertiserStatus::PendingApproval {
        return Err(IdentityError::AdvertiserDecided.into());
    }
    let account = crate::model::load_user(&ctx, &id).await?.ok_or(IdentityError::AdvertiserNotFound)?;
    let seen = a.updated_at;
    let now = ctx.now();
    a.status = if body.decision == Decision::Approve { AdvertiserStatus::Approved } else { AdvertiserStatus::Rejected };
    a.reason = body.reason.as_deref().map(|r| r.trim().to_string());
    a.decided_at = Some(now);
    a.updated_at = now;
    let (title, text) = match a.status {
        AdvertiserStatus::Approved => (
            "[펫플랫폼] 광고주 승인 완료",
            format!("{} 광고주 계정이 승인되었습니다. 이제 광고를 등록할 수 있습니다.", a.company_name),
        ),
        _ => (
            "[펫플랫폼] 광고주 승인 거절",
            format!(
                "{} 광고주 계정 승인이 거절되었습니다. 사유: {}\n프로필을 수정하거나 서류를 다시 제출하면 다시 심사합니다.",
                a.company_name,
                a.reason.as_deref().unwrap_or_default()
            ),
        ),
    };
    let mut writes = vec![
        Write::put(&a)?
            .when("updatedAt = :seen AND #st = :pending", IdentityError::AdvertiserDecided)
            .name("#st", "status")
            .value(":seen", shared::table::time(seen))
            .value(":pending", s("PENDING_APPROVAL")),
        match a.status {
            AdvertiserStatus::Approved => Write::update(user_key(&id), "SET advertiserStatus = :st REMOVE #hold"),
            _ => {
                Write::update(user_key(&id), "SET advertiserStatus = :st, #hold = :hold").value(":hold", hold_value()?)
            }
        }
        .name("#hold", shared::account::WRITE_HOLD_ATTRIBUTE)
        .value(":st", s(status_str(a.status))),
    ];
    if a.status == AdvertiserStatus::Rejected {
        // A rejected advertiser's business number is free for another (until it asks again).
        writes.push(crate::model::release_unique(&crate::model::business_number_key(&a.business_number), &id));
    }
    writes.extend([shared::outbox::message(
        &ctx,
        &queues::MAIL,
        &shared::mail::Email {
            to: account.email.clone(),
            subject: title.into(),
            text: text.clone(),
            dedup_key: format!("advertiser-decision:{id}:{}", now.timestamp_millis()),
        },
    )?]);
    let decided = identity_contract::AdvertiserDecided {
        advertiser_id: id.clone(),
        admin_id: admin.user_id.clone(),
        approved: a.status == AdvertiserStatus::Approved,
        message: text,
        at: now,
    };
    writes.extend(shared::outbox::publish(&ctx, &identity_contract::ADVERTISER_DECIDED, &decided)?);
    if a.status == AdvertiserStatus::Approved {
        writes.push(identity_contract::join_audience(identity_contract::Audience::Advertisers, &id));
    }
    let action = if a.status == AdvertiserStatus::Approved { "ADVERTISER_APPROVE" } else { "ADVERTISER_REJECT" };
    let (_, audit) = moderation_contract::trail::record(
        &ctx,
        &admin.user_id,
        action,
        "USER",
        &id,
        serde_json::json!({"status": "PENDING_APPROVAL"}),
        serde_json::json!({"status": status_str(a.status), "reason": a.reason}),
        Some(&request.0),
    )?;
    writes.push(audit);
    ctx.table.transact(writes).await?;
    Ok(Okay(a))
}
