//! Linking a pet's Instagram account: OAuth with a single-use state, the code exchanged for a
//! long-lived token that is stored sealed, one account to one pet (a claim item), disconnecting
//! (the link, token and claim go at once; the synced data is purged by the worker), the owner's
//! view and settings, and asking for a sync now.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Accepted, Caller, Created, Json, NoContent, Okay, Path};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{Entity, Write, s, time};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::error::InstagramError;
use crate::graph::{self, GraphError};
use crate::link::{InstagramLink, SNS_SYNC, SealedToken, SyncOrder};
use crate::{PKG, crypto, keys};

/// How long a started connection waits for its callback.
const STATE_TTL_SECS: i64 = 600;
/// How often an owner may ask for a sync.
pub const SYNC_INTERVAL_SECS: i64 = 600;

pub const OWNER_READ: &[Permission] = &[Permission::TableRead];
const OWNER_WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];

/// The pet named in the path (its owner decides) and its Instagram link, read with the caller's
/// session.
pub fn pet_and_link(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    let Some(pet) = shared::routes::id_param(path, "id") else { return Vec::new() };
    vec![pets_contract::keys::pet_key(pet), keys::link_key(pet)]
}

pub static CONNECT: Function = Function::http(
    Method::Post,
    "/pets/{id}/instagram/connect",
    "instagram-connect",
    PKG,
    Access::User,
    handler!(connect),
)
.permissions(OWNER_WRITE)
.doc("instagram", "Start linking the pet's Instagram account: where to send the owner to sign in")
.responses(&[said(200, "The authorization URL and its state.")])
.errors(&[403, 404, 409, 503])
.reads_with_session(pet_and_link);

pub static CALLBACK: Function =
    Function::http(Method::Post, "/instagram/callback", "instagram-callback", PKG, Access::User, handler!(callback))
        .permissions(OWNER_WRITE)
        .settings(crate::graph::SETTINGS)
        .timeout(30)
        .doc("instagram", "Finish linking: exchange Instagram's code for a long-lived token and link the account")
        .example(r#"{"code":"AQBx-sandbox-code","state":"3f1c0e5a9b7d4e2f8a6c1b0d9e8f7a6b"}"#)
        .responses(&[said(201, "Linked; the first sync is on its way.")])
        .errors(&[400, 403, 404, 409, 503]);

pub static DISCONNECT: Function = Function::http(
    Method::Delete,
    "/pets/{id}/instagram",
    "instagram-disconnect",
    PKG,
    Access::User,
    handler!(disconnect),
)
.permissions(OWNER_WRITE)
.doc("instagram", "Unlink the pet's Instagram account: the token and the synced data are deleted")
.responses(&[said(204, "Unlinked.")])
.errors(&[403, 404])
.reads_with_session(pet_and_link);

pub static GET: Function =
    Function::http(Method::Get, "/pets/{id}/instagram", "instagram-get", PKG, Access::User, handler!(get))
        .permissions(OWNER_READ)
        .doc("instagram", "The pet's linked account: profile, settings and last sync")
        .responses(&[said(200, "The account.")])
        .errors(&[403, 404])
        .reads_with_session(pet_and_link);

pub static SETTINGS: Function = Function::http(
    Method::Put,
    "/pets/{id}/instagram/settings",
    "instagram-settings",
    PKG,
    Access::User,
    handler!(settings),
)
.permissions(OWNER_WRITE)
.doc("instagram", "Turn automatic deletion of negative and banned-word comments on or off")
.example(r#"{"autoDelete":true}"#)
.responses(&[said(200, "The account.")])
.errors(&[403, 404])
.reads_with_session(pet_and_link);

pub static SYNC_NOW: Function = Function::http(
    Method::Post,
    "/pets/{id}/instagram/sync",
    "instagram-sync-request",
    PKG,
    Access::User,
    handler!(sync_now),
)
.permissions(OWNER_WRITE)
.doc("instagram", "Sync the account now (at most once every 10 minutes)")
.responses(&[said(202, "Queued.")])
.errors(&[403, 404, 429])
.reads_with_session(pet_and_link);

/// One Instagram account is linked to one pet.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountClaim {
    instagram_user_id: String,
    pet_id: String,
    connection_id: String,
}

impl Entity for AccountClaim {
    const TYPE: &'static str = "InstagramClaim";
    fn pk(&self) -> String {
        keys::claim_key(&self.instagram_user_id).pk
    }
    fn sk(&self) -> String {
        keys::claim_key(&self.instagram_user_id).sk
    }
}

/// A started connection, waiting for its callback (single use).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OAuthState {
    state: String,
    pet_id: String,
    owner_id: String,
    expires: i64,
}

impl Entity for OAuthState {
    const TYPE: &'static str = "InstagramState";
    fn pk(&self) -> String {
        keys::state_key(&self.state).pk
    }
    fn sk(&self) -> String {
        keys::state_key(&self.state).sk
    }
    fn expires_at(&self) -> Option<i64> {
        Some(self.expires)
    }
}

/// Passes when `me` owns pet `pet`; 404 when there is no such pet, 403 when it is someone else's.
pub async fn ensure_owner(ctx: &AppContext, me: &str, pet: &str) -> ApiResult<()> {
    if !shared::ids::is_valid_id(pet) {
        return Err(InstagramError::PetNotFound.into());
    }
    match pets_contract::owner_of(ctx, pet).await? {
        None => Err(InstagramError::PetNotFound.into()),
        Some(owner) if owner == me => Ok(()),
        Some(_) => Err(InstagramError::NotYourPet.into()),
    }
}

/// The pet's link, for its owner: 404/403 as [`ensure_owner`], 404 `INSTAGRAM_NOT_CONNECTED`.
pub async fn owned_link(ctx: &AppContext, me: &str, pet: &str) -> ApiResult<InstagramLink> {
    ensure_owner(ctx, me, pet).await?;
    ctx.table.get::<InstagramLink>(&keys::link_key(pet)).await?.ok_or_else(|| InstagramError::NotConnected.into())
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectStart {
    /// Send the owner here; Instagram returns to the app's redirect URI with `code` and `state`.
    pub authorize_url: String,
    /// Echoed by Instagram; post it back with the code.
    pub state: String,
}

pub async fn connect(ctx: Arc<AppContext>, caller: Caller, Path(pet): Path<String>) -> ApiResult<Okay<ConnectStart>> {
    ensure_owner(&ctx, &caller.user_id, &pet).await?;
    let app = crate::graph::configured(&ctx).ok_or(InstagramError::NotConfigured)?;
    if ctx.table.get_item(&keys::link_key(&pet)).await?.is_some() {
        return Err(InstagramError::AlreadyConnected.into());
    }
    let state = hex::encode(rand::random::<[u8; 16]>());
    let record = OAuthState {
        state: state.clone(),
        pet_id: pet,
        owner_id: caller.user_id.clone(),
        expires: ctx.now().timestamp() + STATE_TTL_SECS,
    };
    ctx.table.write(Write::put(&record)?.if_absent(ApiError::internal("state collision"))).await?;
    Ok(Okay(ConnectStart { authorize_url: graph::authorize_url(&app, &state), state }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallbackInput {
    pub code: String,
    pub state: String,
}

impl Validate for CallbackInput {
    fn validate(&self, v: &mut Validator) {
        v.line("code", &self.code, 1, 2048);
        v.check(
            self.state.len() == 32 && self.state.bytes().all(|b| b.is_ascii_hexdigit()),
            "state",
            "INVALID",
            "the state from /connect",
        );
    }
}

/// What the owner sees of the linked account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstagramAccountView {
    pub pet_id: String,
    pub instagram_user_id: String,
    pub username: String,
    pub account_type: Option<String>,
    pub followers_count: i64,
    pub media_count: i64,
    pub engagement_rate: Option<f64>,
    pub auto_delete: bool,
    pub connected_at: DateTime<Utc>,
    pub last_synced_at: Option<DateTime<Utc>>,
}

impl From<InstagramLink> for InstagramAccountView {
    fn from(l: InstagramLink) -> Self {
        Self {
            pet_id: l.pet_id,
            instagram_user_id: l.instagram_user_id,
            username: l.username,
            account_type: l.account_type,
            followers_count: l.followers_count,
            media_count: l.media_count,
            engagement_rate: l.engagement_rate,
            auto_delete: l.auto_delete,
            connected_at: l.connected_at,
            last_synced_at: l.last_synced_at,
        }
    }
}

fn provider_error(e: GraphError) -> ApiError {
    match e {
        GraphError::Refused(_) | GraphError::TokenInvalid(_) => InstagramError::CodeRejected.into(),
        other => {
            tracing::warn!(error = %other, "Instagram did not complete the connection");
            InstagramError::Unavailable.into()
        }
    }
}

pub async fn callback(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<CallbackInput>,
) -> ApiResult<Created<InstagramAccountView>> {
    let key = ctx.provider::<crate::crypto::TokenKey>()?.ok_or(InstagramError::NotConfigured)?;
    crate::graph::configured(&ctx).ok_or(InstagramError::NotConfigured)?;
    let now = ctx.now();
    // Read and used up in one conditional delete, whatever happens next (a code is good once,
    // and so is its state): of two callbacks racing with one state, one goes on. Someone else's
    // or an expired state is left as it is.
    let spend = Write::delete(keys::state_key(&body.state))
        .when("ownerId = :me AND expires > :now", InstagramError::InvalidState)
        .value(":me", s(&caller.user_id))
        .value(":now", shared::table::n(now.timestamp()));
    let state = OAuthState::from_item(ctx.table.write_returning(spend).await?.ok_or(InstagramError::InvalidState)?)?;
    let pet = state.pet_id;

    let short = graph::exchange_code(&ctx, &body.code).await.map_err(provider_error)?;
    let long = graph::long_lived(&ctx, &short.access_token).await.map_err(provider_error)?;
    let account = graph::me(&ctx, &long.access_token).await.map_err(provider_error)?;

    let connection_id = shared::ids::new_id(now);
    let link = InstagramLink {
        pet_id: pet.clone(),
        owner_id: caller.user_id.clone(),
        connection_id: connection_id.clone(),
        instagram_user_id: account.user_id.clone(),
        username: account.username.clone(),
        account_type: account.account_type.clone(),
        followers_count: account.followers_count,
        media_count: account.media_count,
        engagement_rate: None,
        auto_delete: false,
        connected_at: now,
        last_synced_at: None,
        sync_requested_at: Some(now),
    };
    let sealed = crypto::seal(&key, &pet, &connection_id, &long.access_token).map_err(ApiError::internal)?;
    let token = SealedToken {
        pet_id: pet.clone(),
        connection_id: connection_id.clone(),
        sealed,
        expires_at: now + Duration::seconds(long.expires_in.clamp(0, 90 * 86_400)),
        refreshed_at: now,
    };
    let claim =
        AccountClaim { instagram_user_id: account.user_id, pet_id: pet.clone(), connection_id: connection_id.clone() };
    ctx.table
        .transact(vec![
            Write::put(&claim)?.if_absent(InstagramError::LinkedElsewhere),
            // The state was made for the pet's owner; the pet must still be there.
            pets_contract::owned_by(&pet, &caller.user_id, InstagramError::PetNotFound),
            Write::put(&link)?.if_absent(InstagramError::AlreadyConnected),
            Write::put(&token)?,
            shared::outbox::message(&ctx, &SNS_SYNC, &SyncOrder::Sync { pet_id: pet, connection_id, deferrals: 0 })?,
        ])
        .await?;
    Ok(Created(link.into()))
}

/// Ends a link: the link, its token and its claim go in one transaction (conditional on the
/// link still being this connection), and the purge of its synced data is queued with them.
pub async fn unlink(ctx: &AppContext, link: &InstagramLink) -> ApiResult<()> {
    ctx.table
        .transact(
            vec![
                Write::delete(keys::link_key(&link.pet_id))
                    .when("#c = :c", InstagramError::Changed)
                    .name("#c", "connectionId")
                    .value(":c", s(&link.connection_id)),
                Write::delete(keys::token_key(&link.pet_id)),
                Write::delete(keys::claim_key(&link.instagram_user_id)),
                shared::outbox::message(
                    ctx,
                    &SNS_SYNC,
                    &SyncOrder::Purge { connection_id: link.connection_id.clone() },
                )?,
            ]
            .into_iter()
            .chain(instagram_contract::engagement_measured(ctx, &link.pet_id, None, ctx.now())?)
            .collect(),
        )
        .await
}

pub async fn disconnect(ctx: Arc<AppContext>, caller: Caller, Path(pet): Path<String>) -> ApiResult<NoContent> {
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    unlink(&ctx, &link).await?;
    Ok(NoContent)
}

pub async fn get(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
) -> ApiResult<Okay<InstagramAccountView>> {
    Ok(Okay(owned_link(&ctx, &caller.user_id, &pet).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstagramSettings {
    /// Delete comments that read NEGATIVE or contain a banned word, as they are synced.
    pub auto_delete: bool,
}

impl Validate for InstagramSettings {
    fn validate(&self, _: &mut Validator) {}
}

pub async fn settings(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    Json(body): Json<InstagramSettings>,
) -> ApiResult<Okay<InstagramAccountView>> {
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    let update = Write::update(keys::link_key(&pet), "SET #a = :a")
        .when("#c = :c", InstagramError::NotConnected)
        .name("#a", "autoDelete")
        .name("#c", "connectionId")
        .value(":a", shared::table::b(body.auto_delete))
        .value(":c", s(&link.connection_id));
    if body.auto_delete && !link.auto_delete {
        // Turned on: the stored comments are judged again, in the worker.
        let order = SyncOrder::Rejudge { pet_id: pet.clone(), connection_id: link.connection_id.clone() };
        ctx.table.transact(vec![update, shared::outbox::message(&ctx, &SNS_SYNC, &order)?]).await?;
    } else {
        ctx.table.write(update).await?;
    }
    let mut now = link;
    now.auto_delete = body.auto_delete;
    Ok(Okay(now.into()))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncQueued {
    pub queued_at: DateTime<Utc>,
}

pub async fn sync_now(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
) -> ApiResult<Accepted<SyncQueued>> {
    let link = owned_link(&ctx, &caller.user_id, &pet).await?;
    let now = ctx.now();
    let too_soon = |last: DateTime<Utc>| {
        let wait = (last + Duration::seconds(SYNC_INTERVAL_SECS) - now).num_seconds();
        ApiError::TooManyRequests { code: "SYNC_TOO_SOON", retry_after_secs: wait.max(1) as u64 }
    };
    if let Some(last) = link.sync_requested_at.filter(|t| *t + Duration::seconds(SYNC_INTERVAL_SECS) > now) {
        return Err(too_soon(last));
    }
    // Two requests at once: the condition lets one through.
    let cutoff = now - Duration::seconds(SYNC_INTERVAL_SECS);
    let result = ctx
        .table
        .transact(vec![
            Write::update(keys::link_key(&pet), "SET #r = :now")
                .when("#c = :c AND (attribute_not_exists(#r) OR #r <= :cutoff)", InstagramError::Changed)
                .name("#r", "syncRequestedAt")
                .name("#c", "connectionId")
                .value(":now", time(now))
                .value(":cutoff", time(cutoff))
                .value(":c", s(&link.connection_id)),
            shared::outbox::message(
                &ctx,
                &SNS_SYNC,
                &SyncOrder::Sync { pet_id: pet, connection_id: link.connection_id, deferrals: 0 },
            )?,
        ])
        .await;
    match result {
        Ok(()) => Ok(Accepted(SyncQueued { queued_at: now })),
        Err(e) if e.is(&InstagramError::Changed) => Err(too_soon(now)),
        Err(e) => Err(e),
    }
}
