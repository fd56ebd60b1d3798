//! Identity's public surface: what other domains may use of accounts. They read accounts only
//! through these typed views and change the profile's counters only through [`counter`]; the
//! item layout stays identity's business.

pub mod keys;
pub mod people;

use serde::Deserialize;
use shared::table::{Query, SortKey, Write, n};
use shared::{ApiResult, AppContext};

pub use people::{Person, page_of_people, people, people_from, person_keys};
pub use shared::account::AccountStatus;

/// A profile photo.
pub const PROFILE_PHOTO: shared::media::Purpose =
    shared::media::Purpose { name: "profile", types: &[shared::media::IMAGES], max_bytes: 10 * shared::media::MB };
/// A document proving something (an advertiser's business registration, a campaign's brief).
pub const DOCUMENT: shared::media::Purpose = shared::media::Purpose {
    name: "document",
    types: &[shared::media::IMAGES, shared::media::PDF],
    max_bytes: 10 * shared::media::MB,
};
/// A photo of a post (the diary, the community board, an ad, a portfolio).
pub const POST_PHOTO: shared::media::Purpose =
    shared::media::Purpose { name: "post", types: &[shared::media::IMAGES], max_bytes: 10 * shared::media::MB };

/// Companies that run campaigns: they sign up with a business number and wait for an
/// administrator's approval.
pub const ADVERTISER: shared::auth::Role = shared::auth::Role::named("ADVERTISER");

/// The routes of approved advertisers (administrators too).
pub const ADVERTISERS_ONLY: shared::routes::Access = shared::routes::Access::Role(&shared::routes::RoleAccess {
    role: ADVERTISER,
    code: "ADVERTISERS_ONLY",
    detail: "Only advertisers may do this.",
    callers: "approved advertiser",
});

/// What other domains may know of an account.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    pub id: String,
    pub status: AccountStatus,
    pub email: String,
    pub nickname: String,
}

impl AccountSummary {
    pub fn is_active(&self) -> bool {
        self.status == AccountStatus::Active
    }
}

/// An account can be reported (a moderator blocks it rather than removes it).
pub const REPORTABLE: &[moderation_contract::moderation::Reportable] = &[moderation_contract::moderation::Reportable {
    target_type: moderation_contract::moderation::TargetType::User,
    snapshot: |ctx, t| Box::pin(account_snapshot(ctx, t.id)),
    removals: None,
}];

/// Account `id` as it reads now (its nickname), if it is active.
async fn account_snapshot(ctx: &AppContext, id: &str) -> ApiResult<Option<moderation_contract::moderation::Snapshot>> {
    Ok(account(ctx, id).await?.filter(AccountSummary::is_active).map(|a| moderation_contract::moderation::Snapshot {
        author_id: a.id,
        text: a.nickname,
        media_keys: vec![],
        context_id: None,
    }))
}

/// The main pet as its owner's profile shows it. The pets domain keeps it on the account item
/// (with `mainPetId`, in the same writes), so that a profile is read from the account alone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MainPet {
    pub id: String,
    pub name: String,
    pub species_id: String,
    #[serde(default)]
    pub photo_key: Option<String>,
}

/// The account item's attribute holding the [`MainPet`].
pub const MAIN_PET_ATTRIBUTE: &str = "mainPet";

impl MainPet {
    /// The value the pets domain sets [`MAIN_PET_ATTRIBUTE`] to.
    pub fn value(&self) -> ApiResult<shared::table::AttrValue> {
        Ok(serde_dynamo::to_attribute_value(self)?)
    }
}

/// An administrator approved or rejected an advertiser: for whoever tells it, such as the
/// notifications.
pub static ADVERTISER_DECIDED: shared::events::Topic =
    shared::events::Topic { name: "identity.advertiser-decided", summary: "An advertiser was approved or rejected" };

/// What [`ADVERTISER_DECIDED`] carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvertiserDecided {
    pub advertiser_id: String,
    pub admin_id: String,
    pub approved: bool,
    /// What the advertiser is told.
    pub message: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The account `id`, if it exists.
pub async fn account(ctx: &AppContext, id: &str) -> ApiResult<Option<AccountSummary>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    account_from(ctx.table.get_item(&keys::user_key(id)).await?)
}

/// The account in the item read at [`keys::user_key`], for a caller that reads it in its own
/// batch (`Table::batch_get_groups`).
pub fn account_from(item: Option<shared::table::Item>) -> ApiResult<Option<AccountSummary>> {
    Ok(item.map(serde_dynamo::from_item).transpose()?)
}

/// Whether `id` is an active account (verified, not withdrawn).
pub async fn is_active(ctx: &AppContext, id: &str) -> ApiResult<bool> {
    Ok(account(ctx, id).await?.is_some_and(|a| a.is_active()))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claim {
    user_id: String,
    #[serde(default)]
    pending_expires: Option<i64>,
}

/// The user whose nickname is `nickname` (as nicknames compare), if any.
pub async fn user_by_nickname(ctx: &AppContext, nickname: &str) -> ApiResult<Option<String>> {
    let now = ctx.now().timestamp();
    let claim: Option<Claim> =
        ctx.table.get_item(&keys::nickname_claim(nickname)).await?.map(serde_dynamo::from_item).transpose()?;
    Ok(claim.filter(|c| c.pending_expires.is_none_or(|t| t > now)).map(|c| c.user_id))
}

#[derive(Debug, Deserialize)]
struct Listed {
    id: String,
    status: AccountStatus,
}

/// A page of active users whose nickname starts with `prefix` (lower case), in nickname order:
/// one query of the nickname index.
pub async fn nicknames_starting(
    ctx: &AppContext,
    prefix: &str,
    limit: usize,
    cursor: Option<String>,
) -> ApiResult<shared::table::Page<String>> {
    let query = Query::partition(keys::nickname_partition(prefix))
        .index(shared::table::Gsi::Gsi2)
        .sort(SortKey::BeginsWith(prefix.to_string()))
        .limit(limit)
        .cursor(cursor);
    let page = ctx.table.query_items(&query).await?;
    let mut ids = Vec::new();
    for item in page.items {
        let listed: Listed = serde_dynamo::from_item(item)?;
        if listed.status == AccountStatus::Active {
            ids.push(listed.id);
        }
    }
    Ok(shared::table::Page { items: ids, next_cursor: page.next_cursor })
}

/// A profile counter other domains keep up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Diary posts written.
    Posts,
    /// Users following this one.
    Followers,
    /// Users this one follows.
    Following,
}

impl Counter {
    fn attribute(self) -> &'static str {
        match self {
            Counter::Posts => "postCount",
            Counter::Followers => "followerCount",
            Counter::Following => "followingCount",
        }
    }
}

/// The write that moves `user`'s `counter` by `delta`, for the transaction that changes what it
/// counts.
pub fn counter(user: &str, counter: Counter, delta: i64) -> Write {
    counters(user, &[(counter, delta)])
}

/// One write moving several of `user`'s counters (a transaction may touch an item only once).
pub fn counters(user: &str, changes: &[(Counter, i64)]) -> Write {
    let adds: Vec<String> = (0..changes.len()).map(|i| format!("#c{i} :d{i}")).collect();
    let mut w = Write::update(keys::user_key(user), format!("ADD {}", adds.join(", ")));
    for (i, (c, d)) in changes.iter().enumerate() {
        w = w.name(&format!("#c{i}"), c.attribute()).value(&format!(":d{i}"), n(*d));
    }
    w
}

impl AccountRecord {
    /// A profile counter as stored.
    pub fn counter(&self, c: Counter) -> i64 {
        match c {
            Counter::Posts => self.post_count,
            Counter::Followers => self.follower_count,
            Counter::Following => self.following_count,
        }
    }
}

/// Every account with its counters: the `USERS` index read to the end (audits only).
pub async fn every_account(ctx: &AppContext) -> ApiResult<Vec<AccountRecord>> {
    // Read again from the table (the index lags): the counters as stored now.
    let query = shared::table::Query::partition(keys::ALL_USERS).index(shared::table::Gsi::Gsi1);
    let items = shared::audit::all(ctx, query).await?;
    items.into_iter().map(|i| Ok(serde_dynamo::from_item(i)?)).collect()
}

/// Checks (and may repair) `user`'s `counter` against `actual`.
pub async fn audit_counter(
    audit: &mut shared::audit::Audit<'_>,
    user: &AccountRecord,
    counter: Counter,
    actual: i64,
) -> ApiResult<()> {
    let what = format!("{} of a user", counter.attribute());
    audit.check(&what, keys::user_key(&user.id), counter.attribute(), user.counter(counter), actual).await
}

/// How an administrator blocks an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    Until(chrono::DateTime<chrono::Utc>),
    Permanent,
}

/// The account `id` as moderation sees it: role, status and block.
pub async fn block_state(ctx: &AppContext, id: &str) -> ApiResult<Option<AccountRecord>> {
    Ok(account_records(ctx, &[id.to_string()]).await?.into_iter().next())
}

/// The write that blocks `user`, never an administrator (`on_admin`). A temporary block is
/// listed by its end, for the auto-unblock job; the write guard reads `blockedUntil` anyway, so
/// a late job never keeps anyone blocked.
pub fn block(user: &str, block: Block, reason: &str, on_admin: impl Into<shared::ApiError>) -> Write {
    use shared::table::{Gsi, b, s, time};
    let w = match block {
        Block::Until(until) => Write::update(
            keys::user_key(user),
            format!(
                "SET blockedUntil = :u, blockedPermanently = :no, blockReason = :r, {} = :p, {} = :s",
                Gsi::Gsi3.pk(),
                Gsi::Gsi3.sk()
            ),
        )
        .value(":u", time(until))
        .value(":no", b(false))
        .value(":p", s(keys::EXPIRING_BLOCKS))
        .value(":s", s(keys::expiring_block_sort(until, user))),
        Block::Permanent => Write::update(
            keys::user_key(user),
            format!(
                "SET blockedPermanently = :yes, blockReason = :r REMOVE blockedUntil, {}, {}",
                Gsi::Gsi3.pk(),
                Gsi::Gsi3.sk()
            ),
        )
        .value(":yes", b(true)),
    };
    w.value(":r", s(reason))
        .name("#role", "role")
        .value(":admin", s("ADMIN"))
        .when("attribute_exists(PK) AND #role <> :admin", on_admin)
}

/// The write that lifts `user`'s block; with `seen`, only if the block still ends then (the
/// auto-unblock job must not lift a block an administrator has just extended).
pub fn unblock(
    user: &str,
    seen: Option<chrono::DateTime<chrono::Utc>>,
    on_changed: impl Into<shared::ApiError>,
) -> Write {
    use shared::table::{Gsi, b, time};
    let w = Write::update(
        keys::user_key(user),
        format!(
            "SET blockedPermanently = :no REMOVE blockedUntil, blockReason, {}, {}",
            Gsi::Gsi3.pk(),
            Gsi::Gsi3.sk()
        ),
    )
    .value(":no", b(false));
    match seen {
        Some(until) => {
            w.value(":seen", time(until)).when("blockedUntil = :seen AND blockedPermanently = :no", on_changed)
        }
        None => w.when("attribute_exists(PK)", on_changed),
    }
}

/// Accounts whose temporary block has ended by `now`: `(user, end)`, oldest first.
pub async fn ended_blocks(
    ctx: &AppContext,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
    let before = format!("{}~", now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let query = Query::partition(keys::EXPIRING_BLOCKS)
        .index(shared::table::Gsi::Gsi3)
        .sort(SortKey::Before(before))
        .limit(1000);
    let items = ctx.table.query_items_all(&query, Some(10_000)).await?;
    let mut out = Vec::new();
    for item in items {
        let state: AccountRecord = serde_dynamo::from_item(item)?;
        if let Some(until) = state.blocked_until.filter(|u| *u <= now) {
            out.push((state.id, until));
        }
    }
    Ok(out)
}

/// An account as administrators see it.
#[derive(Debug, Clone, serde::Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    pub id: String,
    pub email: String,
    pub nickname: String,
    pub role: shared::auth::Role,
    pub status: AccountStatus,
    #[serde(default)]
    pub blocked_until: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub blocked_permanently: bool,
    #[serde(default)]
    pub block_reason: Option<String>,
    #[serde(default)]
    pub post_count: i64,
    #[serde(default)]
    pub follower_count: i64,
    #[serde(default)]
    pub following_count: i64,
    /// The private profile fields (the owner's and administrators' to see).
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub birth_date: Option<chrono::NaiveDate>,
    #[serde(default)]
    pub home_region: Option<HomeRegion>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Where a user lives, as they gave it: the market's nearby search starts there when no
/// position is sent. Private to its owner and administrators.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HomeRegion {
    /// As the user names it (`서울 마포구 망원동`).
    pub address: String,
    pub lat: f64,
    pub lng: f64,
}

/// The user item as far as the home region goes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WithRegion {
    #[serde(default)]
    home_region: Option<HomeRegion>,
}

/// User `id`'s home region, if they gave one.
pub async fn home_region(ctx: &AppContext, id: &str) -> ApiResult<Option<HomeRegion>> {
    if !shared::ids::is_valid_id(id) {
        return Ok(None);
    }
    match ctx.table.get_item(&keys::user_key(id)).await? {
        Some(item) => Ok(serde_dynamo::from_item::<_, WithRegion>(item)?.home_region),
        None => Ok(None),
    }
}

/// The accounts `ids` as administrators see them, in that order (one batch read).
pub async fn account_records(ctx: &AppContext, ids: &[String]) -> ApiResult<Vec<AccountRecord>> {
    let keys: Vec<_> = ids.iter().filter(|id| shared::ids::is_valid_id(id)).map(|id| keys::user_key(id)).collect();
    let mut out = Vec::new();
    for item in ctx.table.batch_get_items(&keys).await?.into_iter().flatten() {
        out.push(serde_dynamo::from_item(item)?);
    }
    Ok(out)
}

/// The user with email `email`, if any (its claim item).
pub async fn user_by_email(ctx: &AppContext, email: &str) -> ApiResult<Option<String>> {
    let key = shared::table::Key::new(keys::email_claim_partition(email), keys::UNIQUE);
    let claim: Option<Claim> = ctx.table.get_item(&key).await?.map(serde_dynamo::from_item).transpose()?;
    Ok(claim.map(|c| c.user_id))
}

/// A page of accounts, any status: whose nickname starts with `prefix` (nickname order), or all
/// of them newest first.
pub async fn account_ids(
    ctx: &AppContext,
    prefix: Option<&str>,
    limit: usize,
    cursor: Option<String>,
) -> ApiResult<shared::table::Page<String>> {
    let query = match prefix {
        Some(p) => Query::partition(keys::nickname_partition(p))
            .index(shared::table::Gsi::Gsi2)
            .sort(SortKey::BeginsWith(p.to_string())),
        None => Query::partition(keys::ALL_USERS).index(shared::table::Gsi::Gsi1).newest_first(),
    };
    let page = ctx.table.query_items(&query.limit(limit).cursor(cursor)).await?;
    let mut ids = Vec::new();
    for item in page.items {
        let listed: Listed = serde_dynamo::from_item(item)?;
        ids.push(listed.id);
    }
    Ok(shared::table::Page { items: ids, next_cursor: page.next_cursor })
}

/// Who a notice goes to. Each audience is an index of its members, spread over
/// [`AUDIENCE_SHARDS`] partitions so that a million members are not one hot partition and a
/// fan-out can page through the shards side by side. Identity keeps `ALL` (active accounts);
/// the marketing work adds advertisers and PetStars' owners as they are approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Audience {
    All,
    Advertisers,
    Petstars,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::All => "ALL",
            Audience::Advertisers => "ADVERTISERS",
            Audience::Petstars => "PETSTARS",
        }
    }
}

/// Partitions each audience is spread over.
pub const AUDIENCE_SHARDS: u32 = 16;

/// The shard a user's membership lives in (FNV-1a of the id: stable, and even over ULIDs).
pub fn audience_shard(user: &str) -> u32 {
    let hash = user.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    (hash % AUDIENCE_SHARDS as u64) as u32
}

fn audience_key(audience: Audience, user: &str) -> shared::table::Key {
    shared::table::Key::new(keys::audience_partition(audience.as_str(), audience_shard(user)), user)
}

/// The write that adds `user` to `audience`.
pub fn join_audience(audience: Audience, user: &str) -> Write {
    let mut item = audience_key(audience, user).to_item();
    item.insert(shared::table::ENTITY_TYPE.into(), shared::table::s("AudienceMember"));
    Write::put_item(item)
}

/// The write that takes `user` out of `audience`.
pub fn leave_audience(audience: Audience, user: &str) -> Write {
    Write::delete(audience_key(audience, user))
}

/// Up to `limit` members of one shard of `audience` after member `after` (from the start when
/// none), in id order, and whether more follow. One query.
pub async fn audience_page(
    ctx: &AppContext,
    audience: Audience,
    shard: u32,
    after: Option<&str>,
    limit: usize,
) -> ApiResult<(Vec<String>, bool)> {
    let mut query = Query::partition(keys::audience_partition(audience.as_str(), shard)).limit(limit);
    if let Some(after) = after {
        query = query.sort(shared::table::SortKey::After(after.to_string()));
    }
    let page = ctx.table.query_items(&query).await?;
    let ids = page
        .items
        .iter()
        .filter_map(|i| match i.get(shared::table::SK) {
            Some(shared::table::AttrValue::S(id)) => Some(id.clone()),
            _ => None,
        })
        .collect();
    Ok((ids, page.next_cursor.is_some()))
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompanyItem {
    user_id: String,
    company_name: String,
}

/// The company names of the advertisers `ids` (one batch read).
pub async fn company_names(ctx: &AppContext, ids: &[String]) -> ApiResult<std::collections::HashMap<String, String>> {
    let mut unique: Vec<&String> = ids.iter().filter(|id| shared::ids::is_valid_id(id)).collect();
    unique.sort();
    unique.dedup();
    let keys: Vec<_> = unique.iter().map(|id| keys::advertiser_key(id)).collect();
    let mut out = std::collections::HashMap::new();
    for item in ctx.table.batch_get_items(&keys).await?.into_iter().flatten() {
        let c: CompanyItem = serde_dynamo::from_item(item)?;
        out.insert(c.user_id, c.company_name);
    }
    Ok(out)
}

/// The write that moves `user`'s role from `from` to `to`, only while the account is active and
/// still holds `from` (`on_changed` otherwise). The new role is in tokens issued from the next
/// sign-in on; the kernel's guard reads the stored role, so a demoted administrator's older
/// tokens stop working on admin routes at once.
pub fn set_role(
    user: &str,
    from: shared::auth::Role,
    to: shared::auth::Role,
    on_changed: impl Into<shared::ApiError>,
) -> ApiResult<Write> {
    use shared::table::s;
    let role = |r: shared::auth::Role| -> ApiResult<String> {
        Ok(serde_json::to_value(r)?.as_str().unwrap_or_default().to_string())
    };
    Ok(Write::update(keys::user_key(user), "SET #role = :to")
        .name("#role", "role")
        .name("#st", "status")
        .value(":to", s(role(to)?))
        .value(":from", s(role(from)?))
        .value(":active", s("ACTIVE"))
        .when("#role = :from AND #st = :active", on_changed))
}
