//! Wishlists: a buyer keeps listings to come back to. `wishCount` is exact under concurrency (the
//! wish and the count change in one transaction; wishing twice is wishing once).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::error::Tolerate;
use shared::handler::{Caller, Okay, Params, Path};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, int_param, param};
use shared::table::{Entity, Gsi, Key, Page, Query, Write};
use shared::{ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::MarketError;
use crate::keys;
use crate::listings::{READ, hydrate, visible};
use crate::model::{Listing, ListingView};

const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];

pub static WISH: Function =
    Function::http(Method::Put, "/market/posts/{id}/wish", "market-wish", PKG, Access::User, handler!(wish))
        .permissions(WRITE)
        .doc("market", "Put a listing on my wishlist (idempotent; not my own)")
        .errors(&[404])
        .reads_with_session(crate::listings::the_listing);

pub static UNWISH: Function =
    Function::http(Method::Delete, "/market/posts/{id}/wish", "market-unwish", PKG, Access::User, handler!(unwish))
        .permissions(WRITE)
        .doc("market", "Take a listing off my wishlist (idempotent)")
        .errors(&[404])
        .reads_with_session(crate::listings::the_listing);

pub static WISHLIST: Function =
    Function::http(Method::Get, "/users/me/wishlist", "market-wishlist", PKG, Access::User, handler!(wishlist))
        .permissions(READ)
        .doc("market", "My wishlist, newest first")
        .query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 20", 1, 50)]);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wish {
    pub listing_id: String,
    pub user_id: String,
    pub wish_id: String,
}

impl Entity for Wish {
    const TYPE: &'static str = "MarketWish";
    fn pk(&self) -> String {
        keys::listing_partition(&self.listing_id)
    }
    fn sk(&self) -> String {
        keys::wish_sort(&self.user_id)
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![(Gsi::Gsi1, keys::wishlist_partition(&self.user_id), self.wish_id.clone())]
    }
}

/// A wish as the wisher's own partition lists it (written and deleted with the wish).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WishPointer {
    pub user_id: String,
    pub wish_id: String,
    pub listing_id: String,
}

impl Entity for WishPointer {
    const TYPE: &'static str = "MarketWishPointer";
    fn pk(&self) -> String {
        keys::wished_key(&self.user_id, &self.wish_id).pk
    }
    fn sk(&self) -> String {
        keys::wished_key(&self.user_id, &self.wish_id).sk
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WishState {
    pub wished: bool,
    pub wish_count: i64,
}

async fn count(ctx: &AppContext, id: &str) -> ApiResult<i64> {
    Ok(ctx.table.get::<Listing>(&keys::listing_key(id)).await?.map(|l| l.wish_count.max(0)).unwrap_or(0))
}

pub async fn wish(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<Okay<WishState>> {
    let me = caller.user_id.clone();
    let l = visible(&ctx, &caller.as_viewer(), &id).await?;
    if l.seller_id == me {
        return Err(MarketError::OwnListing.into());
    }
    let w = Wish { listing_id: l.id.clone(), user_id: me.clone(), wish_id: shared::ids::new_id(ctx.now()) };
    let pointer = WishPointer { user_id: me.clone(), wish_id: w.wish_id.clone(), listing_id: l.id.clone() };
    // The wish and its pointer alone: the listing's count follows from the stream (`counts`),
    // so wishes on a popular listing do not write the listing. The count shown is the one read
    // plus this wish.
    let writes = vec![Write::put(&w)?.if_absent(MarketError::AlreadyWished), Write::put(&pointer)?];
    let added = ctx.table.transact(writes).await.tolerate(&MarketError::AlreadyWished)?.is_some();
    Ok(Okay(WishState { wished: true, wish_count: l.wish_count.max(0) + i64::from(added) }))
}

pub async fn unwish(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<Okay<WishState>> {
    let me = caller.user_id.clone();
    if !shared::ids::is_valid_id(&id) {
        return Err(MarketError::ListingNotFound.into());
    }
    // The wish names its pointer in my partition; both go together, or neither (a wish made
    // again meanwhile has another id, and the condition sees it).
    let key = keys::wish_key(&id, &me);
    let (wish, shown) = tokio::try_join!(ctx.table.get::<Wish>(&key), count(&ctx, &id))?;
    let mut removed = false;
    if let Some(w) = wish {
        let writes = vec![
            Write::delete(keys::wish_key(&id, &me))
                .when("wishId = :w", MarketError::NotWished)
                .value(":w", shared::table::s(&w.wish_id)),
            Write::delete(keys::wished_key(&me, &w.wish_id)),
        ];
        removed = ctx.table.transact(writes).await.tolerate(&MarketError::NotWished)?.is_some();
    }
    Ok(Okay(WishState { wished: false, wish_count: (shown - i64::from(removed)).max(0) }))
}

pub async fn wishlist(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Page<ListingView>>> {
    let me = caller.user_id.clone();
    // From my own partition (a wish made a moment ago is there; the wishlist index lags).
    let query = Query::partition(shared::keys::user_partition(&me))
        .begins_with(keys::WISHED_PREFIX)
        .newest_first()
        .paged(&params, 20, 50)?;
    let page = ctx.table.query::<WishPointer>(&query).await?;
    let keys: Vec<Key> = page.items.iter().map(|w| keys::listing_key(&w.listing_id)).collect();
    let listings: Vec<Listing> =
        ctx.table.batch_get::<Listing>(&keys).await?.into_iter().flatten().filter(|l| !l.deleted).collect();
    let hidden = caller.hidden.clone();
    let listings = listings.into_iter().filter(|l| !hidden.contains(&l.seller_id)).collect();
    Ok(Okay(Page { items: hydrate(&ctx, Some(&me), listings, &HashMap::new()).await?, next_cursor: page.next_cursor }))
}
