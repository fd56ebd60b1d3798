//! Web Push subscriptions: the key browsers subscribe with, and each account's subscriptions
//! (a browser's `PushSubscription`, at most ten per account).
//!
//! An endpoint belongs to one account at a time: registering it from another account (someone
//! else signs in on the same browser) moves it, so the first account's notifications stop going
//! to a browser they left. The count that bounds an account's subscriptions moves in the same
//! transaction as the subscriptions themselves.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Caller, Created, Either, Json, NoContent, Okay, Path};
use shared::routes::{Access, Function, Method, Permission, said};
use shared::table::{AttrValue, Entity, Query, Write, n, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::NotificationError;
use crate::keys::{push_count_key, push_endpoint_key, push_subscription_id, push_subscription_key};
use crate::webpush::{self, ClientKeys, Refusal, Vapid};

/// Subscriptions one account may have.
pub const MAX_SUBSCRIPTIONS: i64 = 10;

const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];

pub static PUSH_KEY: Function = Function::http(
    Method::Get,
    "/notifications/push-key",
    "notifications-push-key",
    PKG,
    Access::Public,
    handler!(push_key),
)
.settings(&[&webpush::VAPID_KEY])
.doc("notifications", "The Web Push key to subscribe with (the browser's applicationServerKey)")
.responses(&[said(200, "The VAPID public key, base64url."), said(503, "Web Push is not configured here.")]);

pub static SUBSCRIBE: Function = Function::http(
    Method::Post,
    "/notifications/push-subscriptions",
    "notifications-push-subscribe",
    PKG,
    Access::User,
    handler!(subscribe),
)
.permissions(WRITE)
.settings(&[&webpush::VAPID_KEY])
.doc("notifications", "Register this browser for Web Push (its PushSubscription, as the browser serialises it)")
.example(r#"{"endpoint":"https://fcm.googleapis.com/fcm/send/c1KrmpTuRm0:APA91bG","expirationTime":null,"keys":{"p256dh":"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4","auth":"BTBZMqHH6r4Tts7J_aSIgg"}}"#)
.responses(&[
    said(201, "Registered."),
    said(200, "Registered before by me: the same subscription, with these keys."),
    said(503, "Web Push is not configured here."),
])
.errors(&[400, 409]);

pub static LIST_SUBSCRIPTIONS: Function = Function::http(
    Method::Get,
    "/notifications/push-subscriptions",
    "notifications-push-subscriptions",
    PKG,
    Access::User,
    handler!(list),
)
.permissions(&[Permission::TableRead])
.doc("notifications", "My push subscriptions, newest first")
.responses(&[said(200, "My subscriptions and how many.")]);

pub static UNSUBSCRIBE: Function = Function::http(
    Method::Delete,
    "/notifications/push-subscriptions/{id}",
    "notifications-push-unsubscribe",
    PKG,
    Access::User,
    handler!(unsubscribe),
)
.permissions(WRITE)
.doc("notifications", "Remove one push subscription")
.responses(&[said(204, "Removed.")])
.errors(&[404]);

pub static UNSUBSCRIBE_ALL: Function = Function::http(
    Method::Delete,
    "/notifications/push-subscriptions",
    "notifications-push-unsubscribe-all",
    PKG,
    Access::User,
    handler!(unsubscribe_all),
)
.permissions(WRITE)
.doc("notifications", "Remove every push subscription of mine")
.responses(&[said(200, "How many were removed.")]);

/// A browser's push subscription, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushSubscription {
    pub id: String,
    pub user_id: String,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    /// When the browser said the subscription ends (none: it did not say).
    #[serde(default)]
    pub expiration_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Entity for PushSubscription {
    const TYPE: &'static str = "PushSubscription";
    fn pk(&self) -> String {
        shared::keys::user_partition(&self.user_id)
    }
    fn sk(&self) -> String {
        crate::keys::push_subscription_sort(&self.id)
    }
}

impl PushSubscription {
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expiration_time.is_some_and(|at| at <= now)
    }
}

/// A subscription as its owner sees it (the keys stay in the table).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    pub id: String,
    pub endpoint: String,
    pub expiration_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&PushSubscription> for SubscriptionView {
    fn from(s: &PushSubscription) -> Self {
        SubscriptionView {
            id: s.id.clone(),
            endpoint: s.endpoint.clone(),
            expiration_time: s.expiration_time,
            created_at: s.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushKey {
    /// The VAPID public key: an uncompressed P-256 point, base64url without padding.
    pub public_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Subscriptions {
    pub items: Vec<SubscriptionView>,
    pub count: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Removed {
    pub removed: usize,
}

/// `PushSubscription.toJSON()` of a browser.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSubscription {
    pub endpoint: String,
    /// Milliseconds since the epoch, or null.
    #[serde(default)]
    pub expiration_time: Option<f64>,
    pub keys: SubscriptionKeys,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionKeys {
    pub p256dh: String,
    pub auth: String,
}

impl Validate for NewSubscription {
    fn validate(&self, v: &mut Validator) {
        v.line("endpoint", &self.endpoint, 1, webpush::MAX_ENDPOINT_LEN);
        v.line("keys.p256dh", &self.keys.p256dh, 1, 100);
        v.line("keys.auth", &self.keys.auth, 1, 30);
    }
}

fn vapid(ctx: &AppContext) -> ApiResult<Arc<Vapid>> {
    ctx.provider::<Vapid>()?.ok_or_else(|| ApiError::Unavailable {
        code: "PUSH_UNAVAILABLE",
        detail: "Web Push is not configured here.".into(),
    })
}

pub async fn push_key(ctx: Arc<AppContext>) -> ApiResult<Okay<PushKey>> {
    Ok(Okay(PushKey { public_key: vapid(&ctx)?.public_key().to_string() }))
}

fn refused(r: Refusal) -> NotificationError {
    match r {
        Refusal::Malformed => NotificationError::EndpointInvalid,
        Refusal::NotHttps => NotificationError::EndpointNotHttps,
        Refusal::PrivateAddress => NotificationError::EndpointNotPublic,
        Refusal::Unresolvable => NotificationError::EndpointUnresolvable,
    }
}

/// The account an endpoint belongs to now, if any.
async fn owner_of(ctx: &AppContext, id: &str) -> ApiResult<Option<String>> {
    Ok(ctx.table.get_item(&push_endpoint_key(id)).await?.and_then(|item| match item.get("userId") {
        Some(AttrValue::S(u)) => Some(u.clone()),
        _ => None,
    }))
}

fn claim(id: &str, user: &str) -> Write {
    let mut item = push_endpoint_key(id).to_item();
    item.insert("userId".into(), s(user));
    Write::put_item(item)
}

/// One more subscription for `user`, within the limit.
fn count_up(user: &str) -> Write {
    Write::update(push_count_key(user), "ADD #c :one")
        .name("#c", "count")
        .value(":one", n(1))
        .value(":max", n(MAX_SUBSCRIPTIONS))
        .when("attribute_not_exists(#c) OR #c < :max", NotificationError::TooManySubscriptions)
}

fn count_down(user: &str, by: i64) -> Write {
    Write::update(push_count_key(user), "ADD #c :less").name("#c", "count").value(":less", n(-by))
}

pub async fn subscribe(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<NewSubscription>,
) -> ApiResult<Either<Okay<SubscriptionView>, Created<SubscriptionView>>> {
    vapid(&ctx)?;
    let me = caller.user_id.clone();
    ClientKeys::parse(&body.keys.p256dh, &body.keys.auth).ok_or(NotificationError::KeysInvalid)?;
    let now = ctx.now();
    let expiration_time = match body.expiration_time {
        None => None,
        Some(ms) => Some(
            DateTime::<Utc>::from_timestamp_millis(ms as i64)
                .filter(|at| *at > now)
                .ok_or(NotificationError::SubscriptionExpired)?,
        ),
    };
    let url = webpush::check(&body.endpoint, &webpush::Policy::of(&ctx)).await.map_err(refused)?;
    let endpoint = url.to_string();
    let id = push_subscription_id(&endpoint);
    let sub = PushSubscription {
        id: id.clone(),
        user_id: me.clone(),
        endpoint,
        p256dh: body.keys.p256dh.trim_end_matches('=').to_string(),
        auth: body.keys.auth.trim_end_matches('=').to_string(),
        expiration_time,
        created_at: now,
    };
    let moved = || NotificationError::SubscriptionMoved;
    for _ in 0..3 {
        let owner = owner_of(&ctx, &id).await?;
        let writes = match owner.as_deref() {
            // Mine already: the browser's keys may have changed.
            Some(o) if o == me => vec![
                Write::check(push_endpoint_key(&id), "userId = :me", moved()).value(":me", s(&me)),
                Write::put(&sub)?.if_present(moved()),
            ],
            None => vec![claim(&id, &me).if_absent(moved()), Write::put(&sub)?.if_absent(moved()), count_up(&me)],
            // Another account's: it moves to this one.
            Some(other) => vec![
                claim(&id, &me).value(":other", s(other)).when("userId = :other", moved()),
                Write::delete(push_subscription_key(other, &id)),
                count_down(other, 1),
                Write::put(&sub)?.if_absent(moved()),
                count_up(&me),
            ],
        };
        match ctx.table.transact(writes).await {
            Ok(()) if owner.as_deref() == Some(me.as_str()) => return Ok(Either::First(Okay((&sub).into()))),
            Ok(()) => return Ok(Either::Second(Created((&sub).into()))),
            Err(e) if e.is(&NotificationError::SubscriptionMoved) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(moved().into())
}

/// `user`'s subscriptions (at most [`MAX_SUBSCRIPTIONS`]: one query).
pub async fn of_user(ctx: &AppContext, user: &str) -> ApiResult<Vec<PushSubscription>> {
    let q = Query::partition(shared::keys::user_partition(user))
        .begins_with(crate::keys::PUSH_SUBSCRIPTIONS)
        .limit(MAX_SUBSCRIPTIONS as usize + 5);
    Ok(ctx.table.query::<PushSubscription>(&q).await?.items)
}

pub async fn list(ctx: Arc<AppContext>, caller: Caller) -> ApiResult<Okay<Subscriptions>> {
    let mut subs = of_user(&ctx, &caller.user_id).await?;
    subs.sort_by_key(|s| std::cmp::Reverse(s.created_at));
    let items: Vec<SubscriptionView> = subs.iter().map(Into::into).collect();
    Ok(Okay(Subscriptions { count: items.len(), items }))
}

/// The writes that remove `user`'s subscription `id`, only while it is theirs.
pub fn removal(user: &str, id: &str) -> Vec<Write> {
    vec![
        Write::delete(push_subscription_key(user, id)).if_present(NotificationError::SubscriptionNotFound),
        Write::delete(push_endpoint_key(id))
            .value(":me", s(user))
            .when("userId = :me", NotificationError::SubscriptionNotFound),
        count_down(user, 1),
    ]
}

pub async fn unsubscribe(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NotificationError::SubscriptionNotFound.into());
    }
    ctx.table.transact(removal(&caller.user_id, &id)).await?;
    Ok(NoContent)
}

pub async fn unsubscribe_all(ctx: Arc<AppContext>, caller: Caller) -> ApiResult<Okay<Removed>> {
    let me = caller.user_id.clone();
    let mut removed = 0;
    // Each removal is its own transaction: one removed meanwhile (or moved to another
    // account) does not stop the others.
    for sub in of_user(&ctx, &me).await? {
        match ctx.table.transact(removal(&me, &sub.id)).await {
            Ok(()) => removed += 1,
            Err(e) if e.is(&NotificationError::SubscriptionNotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Okay(Removed { removed }))
}
