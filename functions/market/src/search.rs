//! Title search through the kernel's posting index (`shared::search`): a listing files one
//! posting per bigram of its title, written in the listing's own transaction (titles are short);
//! a search reads the postings of the query's first bigram newest first and keeps the listings
//! whose title holds the whole query. No Scan.

use std::collections::HashMap;
use std::sync::Arc;

use shared::handler::{Okay, Params, Viewer};
use shared::routes::{Access, Function, Method, int_param, param, respond};
use shared::search::SearchQuery;
use shared::table::{Key, Page};

use crate::titles::{TITLE, TITLES};
use shared::{ApiResult, AppContext, handler};

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

pub async fn search(ctx: Arc<AppContext>, viewer: Viewer, params: Params) -> ApiResult<Okay<Page<ListingView>>> {
    let query = SearchQuery::parse(params.get("q"))?;
    let limit = params.limit(20, 50)?;
    let found = TITLES.find(&ctx, TITLE, &query, limit, params.get("cursor").map(str::to_string)).await?;
    let keys: Vec<Key> = found.items.iter().map(|id| keys::listing_key(id)).collect();
    let hidden = viewer.hidden.clone();
    let listings: Vec<Listing> = ctx
        .table
        .batch_get::<Listing>(&keys)
        .await?
        .into_iter()
        .flatten()
        .filter(|l| !l.deleted && !hidden.contains(&l.seller_id) && query.found_in(&l.title))
        .collect();
    let items = hydrate(&ctx, viewer.id(), listings, &HashMap::new()).await?;
    Ok(Okay(Page { items, next_cursor: found.next_cursor }))
}
