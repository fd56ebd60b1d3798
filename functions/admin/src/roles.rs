//! Administrators make other administrators (and take the role back): `PUT
//! /admin/users/{id}/role`. The first administrator is the operator's (`cargo run --
//! promote-admin`, recorded as `SYSTEM`); every change after it is an administrator's, in the
//! audit trail. Advertisers keep their role, and nobody changes their own.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::auth::Role;
use shared::handler::{Caller, Json, Okay, Path, RequestId};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::validate::{Validate, Validator};
use shared::{ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::audit::record;
use crate::error::AdminError;

pub static SET_ROLE: Function =
    Function::http(Method::Put, "/admin/users/{id}/role", "admin-users-role", PKG, Access::Admin, handler!(set_role))
        .permissions(&[Permission::TableRead, Permission::TableWrite])
        .doc("admin", "Make a user an administrator, or an administrator a user again (from their next request)")
        .example(r#"{"role":"ADMIN"}"#)
        .responses(&[said(200, "Changed.")])
        .errors(&[403, 404, 409]);

/// The roles an administrator hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GrantedRole {
    Admin,
    User,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleRequest {
    pub role: GrantedRole,
}

impl Validate for RoleRequest {
    fn validate(&self, _: &mut Validator) {}
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleChanged {
    pub user_id: String,
    pub role: GrantedRole,
}

pub async fn set_role(
    ctx: Arc<AppContext>,
    admin: Caller,
    request: RequestId,
    Path(id): Path<String>,
    Json(body): Json<RoleRequest>,
) -> ApiResult<Okay<RoleChanged>> {
    if id == admin.user_id {
        return Err(AdminError::CannotChangeOwnRole.into());
    }
    let account = identity_contract::block_state(&ctx, &id).await?.ok_or(AdminError::UserNotFound)?;
    let to = match body.role {
        GrantedRole::Admin => Role::ADMIN,
        GrantedRole::User => Role::USER,
    };
    if account.role == identity_contract::ADVERTISER {
        return Err(AdminError::AdvertiserRole.into());
    }
    if account.role == to {
        return Ok(Okay(RoleChanged { user_id: id, role: body.role }));
    }
    let (_, audit) = record(
        &ctx,
        &admin.user_id,
        "USER_ROLE_CHANGE",
        "USER",
        &id,
        json!({"role": account.role}),
        json!({"role": to}),
        Some(&request.0),
    )?;
    ctx.table
        .transact(vec![identity_contract::set_role(&id, account.role, to, AdminError::RoleChanged)?, audit])
        .await?;
    Ok(Okay(RoleChanged { user_id: id, role: body.role }))
}
