//! Administrators and accounts. Making the first administrator. There are no admin credentials anywhere in code: an admin is
//! a verified account promoted by an operator (locally `cargo run -- promote-admin <email>`; in
//! AWS the documented one-off `aws dynamodb update-item`, see README).

use std::sync::Arc;

use identity_contract::AccountRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::auth::Role;
use shared::handler::{Caller, Json, Okay, Path, RequestId};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::IdentityError;
use crate::model::{AccountStatus, find_by_email, normalize_nickname, rename, user_key, valid_nickname};

/// Gives the active account registered with `email` the ADMIN role. Returns its id.
pub async fn promote_to_admin(ctx: &AppContext, email: &str) -> ApiResult<String> {
    let user = find_by_email(ctx, email).await?.ok_or(IdentityError::NoAccountWithEmail)?;
    if user.status != AccountStatus::Active {
        return Err(IdentityError::AccountNotActive.into());
    }
    let admin = serde_json::to_value(Role::ADMIN)?.as_str().unwrap_or("ADMIN").to_string();
    // The operator's step is in the audit trail too, as the system's.
    let (_, audit) = moderation_contract::trail::record(
        ctx,
        moderation_contract::trail::SYSTEM,
        "USER_ROLE_CHANGE",
        "USER",
        &user.id,
        serde_json::json!({"role": user.role}),
        serde_json::json!({"role": Role::ADMIN}),
        None,
    )?;
    ctx.table
        .transact(vec![
            Write::update(user_key(&user.id), "SET #role = :admin, updatedAt = :now")
                .name("#role", "role")
                .value(":admin", s(admin))
                .value(":now", s(ctx.now().to_rfc3339())),
            audit,
        ])
        .await?;
    Ok(user.id)
}

/// An administrator edits an account: `PATCH /admin/users/{id}` with any of `nickname`, `role`
/// (`USER` or `ADMIN`) and `active`. Deactivating refuses sign-in and ends every session at
/// once; reactivating gives the account back as it was. One transaction writes the account,
/// the nickname claims and one audit record of what changed, conditional on what was read.
pub static EDIT: Function =
    Function::http(Method::Patch, "/admin/users/{id}", "admin-users-edit", PKG, Access::Admin, handler!(edit))
        .permissions(&[Permission::TableRead, Permission::TableWrite])
        .doc(
            "admin",
            "Edit an account: its nickname, its role, or whether it is active (deactivated accounts cannot sign in)",
        )
        .example(r#"{"nickname":"bori_renamed","reason":"부적절한 닉네임"}"#)
        .responses(&[said(200, "The account as it is now.")])
        .errors(&[400, 404, 409])
        .reads_with_session(the_account);

/// The account the path names, read with the administrator's session.
fn the_account(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    shared::routes::id_param(path, "id").map(user_key).into_iter().collect()
}

/// The roles an administrator gives with an edit; advertisers keep theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssignableRole {
    Admin,
    User,
}

impl AssignableRole {
    fn role(self) -> Role {
        match self {
            AssignableRole::Admin => Role::ADMIN,
            AssignableRole::User => Role::USER,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountEdit {
    pub nickname: Option<String>,
    pub role: Option<AssignableRole>,
    /// `false` deactivates the account, `true` reactivates it.
    pub active: Option<bool>,
    /// Why, for the audit trail (up to 500 characters).
    pub reason: Option<String>,
}

impl Validate for AccountEdit {
    fn validate(&self, v: &mut Validator) {
        if let Some(nick) = &self.nickname {
            v.check(valid_nickname(nick.trim()), "nickname", "INVALID_FORMAT", "2–20 letters, digits, _ or .");
        }
        if let Some(reason) = &self.reason {
            v.check(reason.chars().count() <= 500, "reason", "TOO_LONG", "at most 500 characters");
        }
    }
}

pub async fn edit(
    ctx: Arc<AppContext>,
    admin: Caller,
    request: RequestId,
    Path(id): Path<String>,
    Json(body): Json<AccountEdit>,
) -> ApiResult<Okay<AccountRecord>> {
    if body.nickname.is_none() && body.role.is_none() && body.active.is_none() {
        return Err(IdentityError::NothingToEdit.into());
    }
    if !shared::ids::is_valid_id(&id) {
        return Err(IdentityError::UserNotFound.into());
    }
    // Read once (with the session), as the edit's own record and as the answer when nothing changes.
    let item = ctx.table.get_item(&user_key(&id)).await?.ok_or(IdentityError::UserNotFound)?;
    let user: crate::model::User = serde_dynamo::from_item(item.clone())?;
    if user.status == AccountStatus::Withdrawn {
        return Err(IdentityError::WithdrawnUnchangeable.into());
    }
    if id == admin.user_id && (body.role.is_some() || body.active.is_some()) {
        return Err(IdentityError::CannotEditOwnStanding.into());
    }
    let now = ctx.now();
    let mut sets = vec!["updatedAt = :now".to_string()];
    let mut removes = Vec::new();
    let mut writes = Vec::new();
    let (mut before, mut after) = (serde_json::Map::new(), serde_json::Map::new());
    let mut update = Write::update(user_key(&id), "");
    if let Some(nick) = body.nickname.as_deref() {
        update = rename(update, &mut sets, &mut writes, &user, nick, now)?;
        if normalize_nickname(nick) != user.nickname {
            before.insert("nickname".into(), json!(user.nickname));
            after.insert("nickname".into(), json!(normalize_nickname(nick)));
        }
    }
    if let Some(to) = body.role.map(AssignableRole::role).filter(|r| *r != user.role) {
        if user.role == identity_contract::ADVERTISER {
            return Err(IdentityError::AdvertiserRole.into());
        }
        sets.push("#role = :to".into());
        update = update.value(":to", s(json!(to).as_str().unwrap_or_default()));
        before.insert("role".into(), json!(user.role));
        after.insert("role".into(), json!(to));
    }
    let deactivating = body.active == Some(false) && user.status != AccountStatus::Deactivated;
    match body.active {
        Some(false) if deactivating => {
            if user.status != AccountStatus::Active {
                return Err(IdentityError::NotDeactivatable.into());
            }
            sets.push("#st = :st, deactivatedAt = :now".into());
            update = update.value(":st", s("DEACTIVATED"));
        }
        Some(true) if user.status != AccountStatus::Active => {
            if user.status != AccountStatus::Deactivated {
                return Err(IdentityError::NotReactivatable.into());
            }
            sets.push("#st = :st".into());
            removes.push("deactivatedAt");
            update = update.value(":st", s("ACTIVE"));
        }
        _ => {}
    }
    if sets.iter().any(|s| s.starts_with("#st")) {
        before.insert("status".into(), json!(user.status));
        after.insert("status".into(), json!(if deactivating { "DEACTIVATED" } else { "ACTIVE" }));
    }
    if after.is_empty() {
        return Ok(Okay(serde_dynamo::from_item(item)?));
    }
    if let Some(reason) = body.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        after.insert("reason".into(), json!(reason));
    }
    let mut expr = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    // Every change is made against the account as it was read.
    let update = update
        .expression(expr)
        .name("#st", "status")
        .name("#role", "role")
        .value(":now", s(now.to_rfc3339()))
        .value(":old", s(&user.nickname))
        .value(":seenst", s(json!(user.status).as_str().unwrap_or_default()))
        .value(":seenrole", s(json!(user.role).as_str().unwrap_or_default()))
        .when("nickname = :old AND #st = :seenst AND #role = :seenrole", IdentityError::AccountChanged);
    let (_, audit) = moderation_contract::trail::record(
        &ctx,
        &admin.user_id,
        "USER_EDIT",
        "USER",
        &id,
        serde_json::Value::Object(before),
        serde_json::Value::Object(after),
        Some(&request.0),
    )?;
    writes.extend([update, audit]);
    ctx.table.transact(writes).await?;
    if deactivating {
        crate::sessions::revoke_all(&ctx, &id, None).await?;
    }
    let record = identity_contract::account_records(&ctx, std::slice::from_ref(&id)).await?.into_iter().next();
    Ok(Okay(record.ok_or(IdentityError::UserNotFound)?))
}
