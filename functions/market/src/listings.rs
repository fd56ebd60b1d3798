//! Listings: sell an item with pictures and a place; newest first, by category, by seller, and
//! near a point (geohash cells, no Scan). Blocked users' listings are hidden from each other.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Deserialize;
use shared::handler::{Caller, Created, Json, NoContent, Okay, Params, Path, Viewer};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, ParamDoc, Permission, enum_param, int_param, param, said};
use shared::table::{Gsi, Key, Page, Query, Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::MarketError;
use crate::keys;
use crate::model::{Category, Listing, ListingView, Location, Placed, Status, cells_of, covering_cells, distance_m};

pub(crate) const READ: &[Permission] = &[Permission::TableRead, Permission::MediaRead];
/// A write that answers no body presigns no media URL.
const REMOVE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];
const PAGE: &[ParamDoc] =
    &[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 20", 1, 50)];

/// The listing named in the path, read with the caller's session.
pub fn the_listing(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    shared::routes::id_param(path, "id").map(keys::listing_key).into_iter().collect()
}

pub static CREATE: Function =
    Function::http(Method::Post, "/market/posts", "market-posts-create", PKG, Access::User, handler!(create))
        .permissions(WRITE)
        .doc("market", "Sell an item: title, description, price, category, 1–10 pictures and where")
        .example(r#"{"title":"강아지 장난감","description":"거의 새것이에요","price":5000,"category":"TOY","imageKeys":["users/01JD3K4Q5R6S7T8V9W0XYZABCD/market/01JD3K4Q5R6S7T8V9W0XYZABCE.png"],"location":{"lat":37.5665,"lng":126.978,"address":"서울 중구"}}"#)
        .responses(&[said(201, "Listed.")]);

pub static GET: Function =
    Function::http(Method::Get, "/market/posts/{id}", "market-posts-get", PKG, Access::Public, handler!(get))
        .permissions(READ)
        .doc("market", "A listing")
        .errors(&[404])
        .reads_with_session(the_listing);

pub static UPDATE: Function =
    Function::http(Method::Patch, "/market/posts/{id}", "market-posts-update", PKG, Access::User, handler!(update))
        .permissions(WRITE)
        .doc("market", "Change my listing while it is for sale")
        .example(r#"{"price":4000}"#)
        .errors(&[404, 409])
        .reads_with_session(the_listing);

pub static DELETE: Function =
    Function::http(Method::Delete, "/market/posts/{id}", "market-posts-delete", PKG, Access::User, handler!(delete))
        .permissions(REMOVE)
        .doc("market", "Take my listing down (not while it is reserved)")
        .errors(&[404, 409])
        .reads_with_session(the_listing);

pub static LIST: Function =
    Function::http(Method::Get, "/market/posts", "market-posts-list", PKG, Access::Public, handler!(list))
        .permissions(READ)
        .doc("market", "Listings, newest first, of one category or all")
        .query(&[
            enum_param("category", false, "one category", Category::NAMES),
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 20", 1, 50),
        ]);

pub static OF_USER: Function = Function::http(
    Method::Get,
    "/users/{id}/market/posts",
    "market-posts-of-user",
    PKG,
    Access::Public,
    handler!(of_user),
)
.permissions(READ)
.doc("market", "A seller's listings, newest first")
.query(PAGE);

pub static NEARBY: Function =
    Function::http(Method::Get, "/market/posts/nearby", "market-posts-nearby", PKG, Access::Public, handler!(nearby))
        .permissions(READ)
        .doc(
            "market",
            "Listings within a radius of a point (or of my home region), nearest first, each with its distance",
        )
        .reads_with_session(|_, caller| vec![shared::keys::user_key(caller)])
        .query(&[
            param("lat", false, "latitude, −80 to 80 (the service area); default: my home region"),
            param("lng", false, "longitude, −180 to 180; default: my home region"),
            param("radiusKm", false, "0.5 to 20 (default 3)"),
            enum_param("category", false, "one category", Category::NAMES),
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 20", 1, 50),
        ]);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewListing {
    pub title: String,
    pub description: String,
    pub price: i64,
    pub category: Category,
    pub image_keys: Vec<String>,
    pub location: Location,
}

fn check_location(v: &mut Validator, l: &Location) {
    v.number("location.lat", l.lat, -90.0, 90.0);
    v.number("location.lng", l.lng, -180.0, 180.0);
    v.line("location.address", &l.address, 1, 200);
}

fn check_price(v: &mut Validator, price: i64) {
    v.check((0..=100_000_000).contains(&price), "price", "OUT_OF_RANGE", "0 to 100,000,000 won");
}

fn check_images(v: &mut Validator, keys: &[String]) {
    v.check((1..=10).contains(&keys.len()), "imageKeys", "COUNT", "1 to 10 pictures");
}

impl Validate for NewListing {
    fn validate(&self, v: &mut Validator) {
        v.line("title", &self.title, 1, 50);
        v.text("description", &self.description, 1, 2000);
        check_price(v, self.price);
        check_images(v, &self.image_keys);
        check_location(v, &self.location);
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListingPatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub price: Option<i64>,
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
    pub image_keys: Option<Vec<String>>,
    #[serde(default)]
    pub location: Option<Location>,
}

impl Validate for ListingPatch {
    fn validate(&self, v: &mut Validator) {
        if let Some(t) = &self.title {
            v.line("title", t, 1, 50);
        }
        if let Some(d) = &self.description {
            v.text("description", d, 1, 2000);
        }
        if let Some(p) = self.price {
            check_price(v, p);
        }
        if let Some(k) = &self.image_keys {
            check_images(v, k);
        }
        if let Some(l) = &self.location {
            check_location(v, l);
        }
    }
}

async fn check_images_owned(ctx: &AppContext, owner: &str, keys: &[String]) -> ApiResult<()> {
    for k in keys {
        shared::media::verify(ctx, owner, k, &[&market_contract::LISTING_PHOTO]).await?;
    }
    Ok(())
}

/// The writes that file a listing in its cells.
fn place(l: &Listing) -> ApiResult<Vec<Write>> {
    cells_of(&l.location).iter().map(|c| Write::put(&Placed::of(c, l))).collect()
}

/// The writes that take a listing out of its cells.
fn unplace(l: &Listing) -> Vec<Write> {
    cells_of(&l.location).iter().map(|c| Write::delete(keys::cell_key(c, &l.id))).collect()
}

/// A listing the viewer may see: it exists, is not deleted, and no block stands between them.
pub async fn visible(ctx: &AppContext, viewer: &Viewer, id: &str) -> ApiResult<Listing> {
    if !shared::ids::is_valid_id(id) {
        return Err(MarketError::ListingNotFound.into());
    }
    let l = ctx.table.get::<Listing>(&keys::listing_key(id)).await?.filter(|l| !l.deleted);
    let l = l.ok_or(MarketError::ListingNotFound)?;
    if viewer.hides(&l.seller_id) {
        return Err(MarketError::ListingNotFound.into());
    }
    Ok(l)
}

async fn own(ctx: &AppContext, caller: &Caller, id: &str) -> ApiResult<Listing> {
    let l = visible(ctx, &caller.as_viewer(), id).await?;
    if l.seller_id != caller.user_id {
        return Err(MarketError::NotYourListing.into());
    }
    Ok(l)
}

/// Views of `listings` with a fixed number of reads: one batch for sellers, one for the viewer's
/// wishes.
pub async fn hydrate(
    ctx: &AppContext,
    viewer: Option<&str>,
    listings: Vec<Listing>,
    distances: &HashMap<String, i64>,
) -> ApiResult<Vec<ListingView>> {
    if listings.is_empty() {
        return Ok(Vec::new());
    }
    let sellers: Vec<String> = listings.iter().map(|l| l.seller_id.clone()).collect();
    let people = identity_contract::people(ctx, &sellers).await?;
    let wished: HashSet<String> = match viewer {
        Some(v) => {
            let keys: Vec<Key> = listings.iter().map(|l| keys::wish_key(&l.id, v)).collect();
            ctx.table
                .batch_get_items(&keys)
                .await?
                .into_iter()
                .zip(&listings)
                .filter_map(|(w, l)| w.map(|_| l.id.clone()))
                .collect()
        }
        None => HashSet::new(),
    };
    let mut out = Vec::with_capacity(listings.len());
    for l in listings {
        let mut image_urls = Vec::with_capacity(l.image_keys.len());
        for k in &l.image_keys {
            image_urls.push(shared::media::url(ctx, k).await?);
        }
        out.push(ListingView {
            seller: people.get(&l.seller_id).cloned().unwrap_or(identity_contract::Person {
                id: l.seller_id.clone(),
                nickname: String::new(),
                profile_image_url: None,
            }),
            wished: wished.contains(&l.id),
            distance_m: distances.get(&l.id).copied(),
            image_urls,
            id: l.id,
            title: l.title,
            description: l.description,
            price: l.price,
            category: l.category,
            location: l.location,
            status: l.status,
            wish_count: l.wish_count.max(0),
            chat_room_count: l.chat_room_count.max(0),
            created_at: l.created_at,
            updated_at: l.updated_at,
        });
    }
    Ok(out)
}

pub async fn create(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<NewListing>,
) -> ApiResult<Created<ListingView>> {
    let me = caller.user_id.clone();
    check_images_owned(&ctx, &me, &body.image_keys).await?;
    let now = ctx.now();
    let listing = Listing {
        id: shared::ids::new_id(now),
        seller_id: me.clone(),
        title: body.title.trim().to_string(),
        description: body.description.trim().to_string(),
        price: body.price,
        category: body.category,
        image_keys: body.image_keys,
        location: Location { address: body.location.address.trim().to_string(), ..body.location },
        status: Status::Sale,
        wish_count: 0,
        chat_room_count: 0,
        deleted: false,
        reserved_by: None,
        buyer_id: None,
        sold_at: None,
        version: 0,
        created_at: now,
        updated_at: now,
    };
    let mut writes = vec![
        Write::put(&listing)?.if_absent(ApiError::internal("listing id collision")),
        Write::put_item(keys::selling_key(&listing.seller_id, &listing.id).to_item()),
        moderation_contract::stats::count(now, &[(moderation_contract::stats::Metric::Listings, 1)]),
    ];
    writes.extend(place(&listing)?);
    writes.extend(crate::titles::refile(&listing.id, None, Some(&listing.title)));
    ctx.table.transact(writes).await?;
    Ok(Created(hydrate(&ctx, Some(&me), vec![listing], &HashMap::new()).await?.remove(0)))
}

pub async fn get(ctx: Arc<AppContext>, viewer: Viewer, Path(id): Path<String>) -> ApiResult<Okay<ListingView>> {
    let l = visible(&ctx, &viewer, &id).await?;
    Ok(Okay(hydrate(&ctx, viewer.id(), vec![l], &HashMap::new()).await?.remove(0)))
}

/// The item as it is now, written back only over the version that was read and while for sale.
/// The seller's edit as an update of the fields it changes, and of nothing else: the counters
/// that concurrent wishes and chats move are never written back as they were read. Guarded by
/// the `updatedAt` it read (two edits do not interleave) and by the listing being for sale.
fn edit(before: &Listing, l: &Listing) -> ApiResult<Write> {
    let agreed_changed = before.price != l.price || before.title != l.title || before.image_keys != l.image_keys;
    let mut expression = "SET title = :t, description = :d, price = :p, category = :c, imageKeys = :i, \
        #loc = :loc, updatedAt = :u, GSI3PK = :g3pk"
        .to_string();
    if agreed_changed {
        expression.push_str(" ADD version :one");
    }
    let location = serde_dynamo::to_attribute_value(&l.location)?;
    let w = Write::update(keys::listing_key(&l.id), expression)
        .name("#loc", "location")
        .name("#st", "status")
        .value(":t", s(&l.title))
        .value(":d", s(&l.description))
        .value(":p", shared::table::n(l.price))
        .value(":c", s(l.category.as_str()))
        .value(":i", shared::table::AttrValue::L(l.image_keys.iter().map(s).collect()))
        .value(":loc", location)
        .value(":u", shared::table::time(l.updated_at))
        .value(":g3pk", s(keys::category_partition(l.category.as_str())))
        .value(":seen", shared::table::time(before.updated_at))
        .value(":sale", s("SALE"))
        .value(":no", shared::table::b(false))
        .when("updatedAt = :seen AND #st = :sale AND deleted = :no", MarketError::ListingChanged);
    Ok(if agreed_changed { w.value(":one", shared::table::n(1)) } else { w })
}

pub async fn update(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<ListingPatch>,
) -> ApiResult<Okay<ListingView>> {
    let mut l = own(&ctx, &caller, &id).await?;
    if l.status != Status::Sale {
        return Err(MarketError::NotForSale.into());
    }
    let before = l.clone();
    if let Some(k) = body.image_keys {
        check_images_owned(&ctx, &l.seller_id, &k).await?;
        l.image_keys = k;
    }
    if let Some(t) = body.title {
        l.title = t.trim().to_string();
    }
    if let Some(d) = body.description {
        l.description = d.trim().to_string();
    }
    if let Some(p) = body.price {
        l.price = p;
    }
    if let Some(c) = body.category {
        l.category = c;
    }
    if let Some(loc) = body.location {
        l.location = Location { address: loc.address.trim().to_string(), ..loc };
    }
    l.updated_at = ctx.now();
    // The cells are filed anew (they hold the category and the place).
    let mut writes = vec![edit(&before, &l)?];
    let (old, new) = (cells_of(&before.location), cells_of(&l.location));
    writes.extend(unplace(&before).into_iter().zip(&old).filter(|(_, c)| !new.contains(c)).map(|(w, _)| w));
    writes.extend(place(&l)?);
    // A whole new title may refile ~100 postings: those that do not fit the listing's
    // transaction follow it (a search then checks the title itself anyway).
    let mut words = crate::titles::refile(&l.id, Some(&before.title), Some(&l.title));
    let later = words.split_off(words.len().min(100 - writes.len()));
    writes.extend(words);
    ctx.table.transact(writes).await?;
    if !later.is_empty() {
        ctx.table.transact(later).await?;
    }
    Ok(Okay(hydrate(&ctx, Some(&caller.user_id), vec![l], &HashMap::new()).await?.remove(0)))
}

pub async fn delete(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    let l = own(&ctx, &caller, &id).await?;
    remove(&ctx, l, Vec::new()).await?;
    Ok(NoContent)
}

/// Takes a listing down as its seller's delete does (gone from lists, the map and search), with
/// `extra` writes in the same transaction. Refused while a payment is in progress.
pub async fn remove(ctx: &AppContext, mut l: Listing, extra: Vec<Write>) -> ApiResult<()> {
    if l.status == Status::Reserved {
        return Err(MarketError::NotForSale.into());
    }
    let seen = l.updated_at;
    l.deleted = true;
    l.updated_at = ctx.now();
    // Only what a delete changes (the counters stay as concurrent writes left them); out of
    // every index.
    let gone = Write::update(
        keys::listing_key(&l.id),
        "SET deleted = :yes, updatedAt = :u REMOVE GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK",
    )
    .value(":yes", shared::table::b(true))
    .value(":u", shared::table::time(l.updated_at))
    .value(":seen", shared::table::time(seen))
    .when("updatedAt = :seen", MarketError::ListingChanged);
    let mut writes = vec![gone, Write::delete(keys::selling_key(&l.seller_id, &l.id))];
    writes.extend(unplace(&l));
    writes.extend(extra);
    let mut words = crate::titles::refile(&l.id, Some(&l.title), None);
    let later = words.split_off(words.len().min(100 - writes.len()));
    writes.extend(words);
    ctx.table.transact(writes).await?;
    if !later.is_empty() {
        ctx.table.transact(later).await?;
    }
    Ok(())
}

/// A listing by id, deleted or not (for the removal worker).
pub async fn find(ctx: &AppContext, id: &str) -> ApiResult<Option<Listing>> {
    ctx.table.get::<Listing>(&keys::listing_key(id)).await
}

async fn page_of(
    ctx: &AppContext,
    viewer: &Viewer,
    params: &Params,
    query: Query,
) -> ApiResult<Okay<Page<ListingView>>> {
    let query = query.newest_first().paged(params, 20, 50)?;
    let page = ctx.table.query::<Listing>(&query).await?;
    let hidden = viewer.hidden.clone();
    let listings = page.items.into_iter().filter(|l| !l.deleted && !hidden.contains(&l.seller_id)).collect();
    Ok(Okay(Page { items: hydrate(ctx, viewer.id(), listings, &HashMap::new()).await?, next_cursor: page.next_cursor }))
}

fn category(params: &Params) -> ApiResult<Option<Category>> {
    match params.raw("category") {
        None => Ok(None),
        Some(c) => Category::parse(c)
            .map(Some)
            .ok_or_else(|| ApiError::validation("category", "INVALID", "TOY, FEED, CLOTH or OTHER")),
    }
}

pub async fn list(ctx: Arc<AppContext>, viewer: Viewer, params: Params) -> ApiResult<Okay<Page<ListingView>>> {
    let query = match category(&params)? {
        Some(c) => Query::partition(keys::category_partition(c.as_str())).index(Gsi::Gsi3),
        None => Query::partition(keys::ALL_LISTINGS).index(Gsi::Gsi1),
    };
    page_of(&ctx, &viewer, &params, query).await
}

pub async fn of_user(
    ctx: Arc<AppContext>,
    viewer: Viewer,
    Path(user): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<ListingView>>> {
    // From the seller's own partition, then the listings by key: one listed a moment ago is
    // there (the seller index lags).
    let query = Query::partition(shared::keys::user_partition(&user))
        .begins_with(keys::SELLING_PREFIX)
        .newest_first()
        .paged(&params, 20, 50)?;
    let page = ctx.table.query_pointed::<Listing>(&query, keys::SELLING_PREFIX, keys::listing_key).await?;
    let hidden = viewer.hidden.clone();
    let listings = page.items.into_iter().filter(|l| !l.deleted && !hidden.contains(&l.seller_id)).collect();
    Ok(Okay(Page {
        items: hydrate(&ctx, viewer.id(), listings, &HashMap::new()).await?,
        next_cursor: page.next_cursor,
    }))
}

fn number(params: &Params, name: &str, min: f64, max: f64, default: Option<f64>) -> ApiResult<f64> {
    let bad = || ApiError::validation(name, "OUT_OF_RANGE", format!("{name} is a number from {min} to {max}"));
    match params.get(name) {
        None => default.ok_or_else(|| ApiError::validation(name, "REQUIRED", format!("{name} is required"))),
        Some(v) => v.parse::<f64>().ok().filter(|x| x.is_finite() && (min..=max).contains(x)).ok_or_else(bad),
    }
}

const NEARBY_SCOPE: &str = "market-nearby";

/// Nearest first: query each cell covering the circle (about a dozen at most), keep what is
/// inside by exact distance, sort, page. No Scan.
pub async fn nearby(ctx: Arc<AppContext>, viewer: Viewer, params: Params) -> ApiResult<Okay<Page<ListingView>>> {
    let max_lat = crate::model::MAX_NEARBY_LATITUDE;
    // No position sent: a signed-in user's home region is the centre (read with the session).
    let home = match (params.get("lat"), params.get("lng"), viewer.id()) {
        (None, None, Some(me)) => identity_contract::home_region(&ctx, me).await?,
        _ => None,
    };
    let (lat, lng) = match home {
        Some(h) if h.lat.abs() <= max_lat => (h.lat, h.lng),
        _ => (number(&params, "lat", -max_lat, max_lat, None)?, number(&params, "lng", -180.0, 180.0, None)?),
    };
    let radius_m = number(&params, "radiusKm", 0.5, 20.0, Some(3.0))? * 1000.0;
    let only = category(&params)?;
    let limit = params.limit(20, 50)?;
    let after: Option<(i64, String)> = match params.get("cursor") {
        Some(c) => {
            let f = ctx.table.read_cursor(NEARBY_SCOPE, c)?;
            let d = f
                .get("distanceM")
                .and_then(|d| d.parse().ok())
                .ok_or_else(|| ApiError::bad_request("INVALID_CURSOR", "The cursor is not valid."))?;
            Some((d, f.get("id").cloned().unwrap_or_default()))
        }
        None => None,
    };
    let cells = covering_cells(lat, lng, radius_m);
    let queries: Vec<Query> = cells.iter().map(|c| Query::partition(keys::cell_partition(c)).limit(1000)).collect();
    let found = futures::future::join_all(queries.iter().map(|q| ctx.table.query::<Placed>(q))).await;
    let hidden = viewer.hidden.clone();
    let mut inside: Vec<(i64, String)> = Vec::new();
    for page in found {
        for p in page?.items {
            let d = distance_m(lat, lng, p.lat, p.lng);
            if d <= radius_m && only.is_none_or(|c| c == p.category) && !hidden.contains(&p.seller_id) {
                inside.push((d.round() as i64, p.id));
            }
        }
    }
    inside.sort();
    inside.dedup();
    if let Some(a) = &after {
        inside.retain(|x| x > a);
    }
    let more = inside.len() > limit;
    inside.truncate(limit);
    let keys: Vec<Key> = inside.iter().map(|(_, id)| keys::listing_key(id)).collect();
    let listings: Vec<Listing> =
        ctx.table.batch_get::<Listing>(&keys).await?.into_iter().flatten().filter(|l| !l.deleted).collect();
    let distances: HashMap<String, i64> = inside.iter().map(|(d, id)| (id.clone(), *d)).collect();
    let mut views = hydrate(&ctx, viewer.id(), listings, &distances).await?;
    views.sort_by(|a, b| (a.distance_m, &a.id).cmp(&(b.distance_m, &b.id)));
    let next_cursor = match (more, inside.last()) {
        (true, Some((d, id))) => {
            Some(ctx.table.sign_cursor(NEARBY_SCOPE, &[("distanceM", &d.to_string()), ("id", id)])?)
        }
        _ => None,
    };
    Ok(Okay(Page { items: views, next_cursor }))
}
