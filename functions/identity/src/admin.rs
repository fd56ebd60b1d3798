//! Making the first administrator. There are no admin credentials anywhere in code: an admin is
//! a verified account promoted by an operator (locally `cargo run -- promote-admin <email>`; in
//! AWS the documented one-off `aws dynamodb update-item`, see README).

use shared::auth::Role;
use shared::table::{Write, s};
use shared::{ApiResult, AppContext};

use crate::error::IdentityError;
use crate::model::{AccountStatus, find_by_email, user_key};

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
