//! Title search, the way diary search finds words: a listing files one posting per bigram of its
//! title (written in the listing's own transaction: titles are short), a search reads the
//! postings of the query's first bigram newest first and keeps the listings whose title holds
//! the whole query. No Scan.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use shared::handler::{Okay, Params, Viewer};
use shared::routes::{Access, Function, Method, int_param, param, respond};
use shared::table::{Key, Page, Query, Write};
use shared::{ApiError, ApiResult, AppContext, handler};

use crate::PKG;
use crate::keys;
use crate::listings::{READ, hydrate};
use crate::model::{Listing, ListingView};

pub static SEARCH: Function =
    Function::http(Method::Get, "/search/market", "search-market", PKG, Access::Public, handler!(search))
        .permissions(READ)
        .doc("search", "Find listings by title (Korean works: 장난 finds 장난감)")
        .query(&[
            param("q", true, "what to find in titles"),
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 20", 1, 50),
        ])
        .responses(&[respond(
            200,
            "A page of listings (a page may hold fewer than `limit`; follow nextCursor).",
            Some(shared::routes::page::<ListingView>),
        )]);

/// The postings a title files.
pub fn words(title: &str) -> BTreeSet<String> {
    shared::text::tokens(title)
}

/// The writes that bring a listing's postings from `old` title to `new` (either may be absent).
pub fn refile(listing: &str, old: Option<&str>, new: Option<&str>) -> Vec<Write> {
    let (before, after) = (old.map(words).unwrap_or_default(), new.map(words).unwrap_or_default());
    let mut writes: Vec<Write> =
        before.difference(&after).map(|t| Write::delete(keys::title_word_key(t, listing))).collect();
    for t in after.difference(&before) {
        let mut item = keys::title_word_key(t, listing).to_item();
        item.insert(shared::table::ENTITY_TYPE.into(), shared::table::s("MarketTitleWord"));
        writes.push(Write::put_item(item));
    }
    writes
}

pub async fn search(ctx: Arc<AppContext>, viewer: Viewer, params: Params) -> ApiResult<Okay<Page<ListingView>>> {
    let q = params.get("q").map(str::trim).unwrap_or_default().to_lowercase();
    if q.is_empty() || q.chars().count() > 50 {
        return Err(ApiError::validation("q", "REQUIRED", "1 to 50 characters"));
    }
    let first = shared::text::tokens(&q)
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::validation("q", "NO_WORDS", "search for letters or digits"))?;
    let limit = params.limit(20, 50)?;
    let query = Query::partition(keys::title_word_partition(&first))
        .newest_first()
        .limit(limit)
        .cursor(params.get("cursor").map(str::to_string));
    let postings = ctx.table.query_items(&query).await?;
    let ids: Vec<String> = postings
        .items
        .iter()
        .filter_map(|i| match i.get(shared::table::SK) {
            Some(shared::table::AttrValue::S(id)) => Some(id.clone()),
            _ => None,
        })
        .collect();
    let keys: Vec<Key> = ids.iter().map(|id| keys::listing_key(id)).collect();
    let hidden = viewer.hidden.clone();
    let listings: Vec<Listing> = ctx
        .table
        .batch_get::<Listing>(&keys)
        .await?
        .into_iter()
        .flatten()
        .filter(|l| !l.deleted && !hidden.contains(&l.seller_id) && l.title.to_lowercase().contains(&q))
        .collect();
    let items = hydrate(&ctx, viewer.id(), listings, &HashMap::new()).await?;
    Ok(Okay(Page { items, next_cursor: postings.next_cursor }))
}
