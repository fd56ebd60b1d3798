//! Search and trends, served from indexes kept on write: no scans.
//!
//! - Posts: the postings of the query's first token are read newest first, then the posts are
//!   checked for the whole query text, so `산책` finds `산책했어요` and nothing is listed twice.
//! - Users: nickname prefixes through GSI2 (`NICK#<first letter>` / lower-case nickname).
//! - Trending hashtags: hourly use counts, summed by a job into one list per window.

use std::collections::HashMap;
use std::sync::Arc;

use identity_contract::Person;
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Okay, Params, Viewer};
use shared::routes::{Access, Function, Job, Method, Permission, enum_param, int_param, page, param, respond, said};
use shared::table::{AttrValue, Gsi, Page, Query, Write, s};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;
use crate::index::{POSTS as INDEX, buckets};
use crate::model::Post;
use crate::posts::{PostView, READ, hydrate};
use shared::search::SearchQuery;

pub static POSTS: Function =
    Function::http(Method::Get, "/search/posts", "search-posts", PKG, Access::Public, handler!(search_posts))
        .permissions(READ)
        .doc("search", "Find posts by title, content, hashtag or author")
        .query(&[
            param("q", true, "what to find (Korean works: 산책 finds 산책했어요)"),
            enum_param("type", false, "where to look (default CONTENT)", &["TITLE", "CONTENT", "HASHTAG", "AUTHOR"]),
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 9", 1, 50),
        ])
        .responses(&[respond(
            200,
            "A page of posts (a page may hold fewer than `limit`; follow nextCursor).",
            Some(page::<PostView>),
        )]);

pub static USERS: Function =
    Function::http(Method::Get, "/search/users", "search-users", PKG, Access::Public, handler!(search_users))
        .permissions(READ)
        .doc("search", "Find users by the start of their nickname")
        .query(&[
            param("q", true, "a nickname prefix"),
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 9", 1, 50),
        ])
        .responses(&[said(200, "A page of users.")]);

pub static TRENDING: Function =
    Function::http(Method::Get, "/hashtags/trending", "hashtags-trending", PKG, Access::Public, handler!(trending))
        .permissions(&[Permission::TableRead])
        .doc("search", "Hashtags ranked by use in the last 24 hours or 7 days")
        .query(&[enum_param("window", false, "the period (default 24h)", &["24h", "7d"])])
        .responses(&[said(200, "Ranked tags.")]);

pub static TRENDING_JOB: Function = Function::job(
    "trending-hashtags",
    PKG,
    Job {
        name: "trending-hashtags",
        schedule: "rate(10 minutes)",
        handler: |ctx| Box::pin(compute_trending(ctx)),
        summary: "Ranks hashtags by use in the last 24 hours and 7 days",
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite]);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    Content,
    Hashtag,
    Author,
}

fn field(params: &Params) -> ApiResult<Field> {
    Ok(match params.raw("type").map(str::to_ascii_uppercase).as_deref() {
        None | Some("CONTENT") => Field::Content,
        Some("TITLE") => Field::Title,
        Some("HASHTAG") => Field::Hashtag,
        Some("AUTHOR") => Field::Author,
        Some(_) => return Err(ApiError::validation("type", "INVALID", "TITLE, CONTENT, HASHTAG or AUTHOR")),
    })
}

pub async fn search_posts(ctx: Arc<AppContext>, viewer: Viewer, params: Params) -> ApiResult<Okay<Page<PostView>>> {
    let hidden = viewer.hidden.clone();
    let viewer = viewer.id().map(str::to_string);
    let q = params.get("q").map(str::trim).unwrap_or_default().to_string();
    let limit = params.limit(9, 50)?;
    let cursor = params.get("cursor").map(str::to_string);
    let kind = field(&params)?;
    if kind == Field::Author {
        if q.is_empty() || q.chars().count() > 50 {
            return Err(ApiError::validation("q", "REQUIRED", "1 to 50 characters"));
        }
        let Some(author) = identity_contract::user_by_nickname(&ctx, &q).await? else {
            return Ok(Okay(Page { items: vec![], next_cursor: None }));
        };
        let query = Query::partition(crate::keys::author_partition(&author))
            .index(Gsi::Gsi2)
            .newest_first()
            .limit(limit)
            .cursor(cursor);
        let page = ctx.table.query::<Post>(&query).await?;
        let posts = page.items.into_iter().filter(|p| !hidden.contains(&p.author_id)).collect();
        return Ok(Okay(Page { items: hydrate(&ctx, viewer.as_deref(), posts).await?, next_cursor: page.next_cursor }));
    }
    let query = SearchQuery::parse(Some(q.trim_start_matches('#')))?;
    let found = match kind {
        Field::Hashtag => INDEX.find_value(&ctx, 'H', &query.text, limit, cursor).await?,
        Field::Title => INDEX.find(&ctx, 'T', &query, limit, cursor).await?,
        _ => INDEX.find(&ctx, 'C', &query, limit, cursor).await?,
    };
    let posts: Vec<Post> = crate::posts::posts_by_id(&ctx, &found.items)
        .await?
        .into_iter()
        .filter(|p| matches(kind, &query, p) && !hidden.contains(&p.author_id))
        .collect();
    Ok(Okay(Page { items: hydrate(&ctx, viewer.as_deref(), posts).await?, next_cursor: found.next_cursor }))
}

/// Whether a post holds the whole query (a posting only says it holds its first token).
fn matches(kind: Field, query: &SearchQuery, p: &Post) -> bool {
    match kind {
        Field::Hashtag => p.hashtags.iter().any(|t| shared::search::normalize(t) == query.text),
        Field::Title => query.found_in(&p.title),
        _ => query.found_in(&p.content),
    }
}

pub async fn search_users(ctx: Arc<AppContext>, viewer: Viewer, params: Params) -> ApiResult<Okay<Page<Person>>> {
    let q = params.get("q").map(|q| q.trim().to_lowercase()).unwrap_or_default();
    if q.is_empty() {
        return Err(ApiError::validation("q", "REQUIRED", "the start of a nickname"));
    }
    let page =
        identity_contract::nicknames_starting(&ctx, &q, params.limit(9, 50)?, params.get("cursor").map(str::to_string))
            .await?;
    let ids: Vec<String> = page.items.into_iter().filter(|id| !viewer.hides(id)).collect();
    Ok(Okay(identity_contract::page_of_people(&ctx, &ids, page.next_cursor).await?))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Trending {
    pub window: String,
    pub tags: Vec<TagCount>,
    /// When the ranking was computed (it is refreshed every few minutes); absent before the first run.
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
}

use crate::keys::trending_key;

pub async fn trending(ctx: Arc<AppContext>, params: Params) -> ApiResult<Okay<Trending>> {
    let window = match params.raw("window").unwrap_or("24h") {
        w @ ("24h" | "7d") => w.to_string(),
        _ => return Err(ApiError::validation("window", "INVALID", "24h or 7d")),
    };
    let stored = ctx.table.get_item(&trending_key(&window)).await?;
    let body = match stored {
        Some(item) => serde_dynamo::from_item::<_, Trending>(item)?,
        None => Trending { window, tags: vec![], computed_at: None },
    };
    Ok(Okay(body))
}

/// Sums the hourly counts of each window and stores the top 20 of each.
pub async fn compute_trending(ctx: Arc<AppContext>) -> ApiResult<serde_json::Value> {
    let now = ctx.now();
    let mut summary = serde_json::Map::new();
    for (window, hours) in [("24h", 24), ("7d", 24 * 7)] {
        let mut totals: HashMap<String, i64> = HashMap::new();
        for bucket in buckets(now, hours) {
            let mut cursor = None;
            loop {
                let page = ctx.table.query_items(&Query::partition(bucket.clone()).limit(500).cursor(cursor)).await?;
                for item in &page.items {
                    if let (Some(AttrValue::S(tag)), Some(AttrValue::N(c))) = (item.get("tag"), item.get("count")) {
                        *totals.entry(tag.clone()).or_default() += c.parse::<i64>().unwrap_or(0);
                    }
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
        }
        let mut tags: Vec<TagCount> =
            totals.into_iter().filter(|(_, c)| *c > 0).map(|(tag, count)| TagCount { tag, count }).collect();
        tags.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.tag.cmp(&b.tag)));
        tags.truncate(20);
        summary.insert(window.into(), tags.len().into());
        let result = Trending { window: window.into(), tags, computed_at: Some(now) };
        let mut item: shared::table::Item = serde_dynamo::to_item(&result)?;
        item.extend(trending_key(window).to_item());
        item.insert(shared::table::ENTITY_TYPE.into(), s("Trending"));
        ctx.table.write(Write::put_item(item)).await?;
    }
    Ok(serde_json::Value::Object(summary))
}
