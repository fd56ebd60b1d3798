//! Community search, served from postings kept on write — no Scan. Like the diary's: a post's
//! title and the opening of its content are indexed as Korean bigrams (`산책` finds
//! `산책했어요`); a search reads the postings of the query's first token, newest first, and
//! keeps the posts that hold the whole query. Every post write commits an [`IndexCommunityPost`]
//! message with it (through the outbox); the worker brings the post's postings in line with the
//! post as it is now (a deleted post has none), whatever order the messages come in.

use std::collections::BTreeSet;
use std::sync::Arc;

use community_contract::keys;
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Okay, Params, Viewer};
use shared::routes::{Access, Function, Method, Permission, Worker, enum_param, int_param, param};
use shared::table::{AttrValue, Entity, Key, Page, Query, Write, n, s};
use shared::text::tokens;
use shared::worker::MessageError;
use shared::{ApiError, ApiResult, AppContext};

use crate::PKG;
use crate::error::CommunityError;
use crate::posts::{CommunityPost, CommunityPostView, READ, views};

/// Community posts to (re)index for search, committed with each post write.
pub const COMMUNITY_INDEX: shared::queues::Queue =
    shared::queues::Queue { name: "community-index", visibility_timeout_secs: 60, max_receive_count: 5 };

/// Tokens indexed per text: a post's writes stay bounded however long its text.
const MAX_TOKENS_PER_TEXT: usize = 200;

pub static SEARCH: Function =
    Function::http(Method::Get, "/search/community", "community-search", PKG, Access::Public, handler!(search))
        .permissions(READ)
        .doc(
            "community",
            "Find community posts by words of their title or content (Korean works: 산책 finds 산책했어요)",
        )
        .query(&[
            param("q", true, "what to find"),
            enum_param("type", false, "only this kind", &["INFORMATION", "QUESTION"]),
            param("cursor", false, "from nextCursor"),
            int_param("limit", false, "page size, default 20", 1, 50),
        ]);

pub static INDEX_WORKER: Function = Function::worker(
    "community-index-worker",
    PKG,
    Worker {
        name: "community-index",
        queue: &COMMUNITY_INDEX,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Keeps community posts' search postings in step with their writes",
        example: r#"{"postId":"01JD3K4Q5R6S7T8V9W0XYZABCD"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite]);

/// The message every community post write commits: index this post as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexCommunityPost {
    pub post_id: String,
}

pub fn index_later(ctx: &AppContext, post_id: &str) -> ApiResult<Write> {
    shared::outbox::message(ctx, &COMMUNITY_INDEX, &IndexCommunityPost { post_id: post_id.to_string() })
}

/// Every posting of a post: the tokens of its title and of its content's opening, in one
/// partition per token (so a search follows one cursor).
fn postings(title: &str, content: &str) -> BTreeSet<(char, String)> {
    let mut out: BTreeSet<String> = tokens(title).into_iter().take(MAX_TOKENS_PER_TEXT).collect();
    let mut from_content = 0;
    'words: for word in content.split(|c: char| !c.is_alphanumeric()) {
        for t in tokens(word) {
            if from_content == MAX_TOKENS_PER_TEXT {
                break 'words;
            }
            if out.insert(t) {
                from_content += 1;
            }
        }
    }
    out.into_iter().map(|t| ('A', t)).collect()
}

/// What the index holds for one post.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommunityIndexState {
    post_id: String,
    /// `F#token`.
    postings: Vec<String>,
    version: u64,
}

impl Entity for CommunityIndexState {
    const TYPE: &'static str = "CommunityIndexState";
    fn pk(&self) -> String {
        keys::index_state_key(&self.post_id).pk
    }
    fn sk(&self) -> String {
        keys::index_state_key(&self.post_id).sk
    }
}

fn decode(postings: &[String]) -> BTreeSet<(char, String)> {
    postings
        .iter()
        .filter_map(|p| {
            let (f, t) = p.split_once('#')?;
            Some((f.chars().next()?, t.to_string()))
        })
        .collect()
}

/// Brings one post's postings in line with the post as it is now. Postings are keyed writes (a
/// repeat is harmless); the state moves conditionally on the version read.
pub async fn sync(ctx: &AppContext, post_id: &str) -> ApiResult<()> {
    let post = ctx.table.get::<CommunityPost>(&keys::post_key(post_id)).await?.filter(|p| !p.deleted);
    let state = ctx.table.get::<CommunityIndexState>(&keys::index_state_key(post_id)).await?;
    let old = state.as_ref().map(|s| decode(&s.postings)).unwrap_or_default();
    let new = post.as_ref().map(|p| postings(&p.title, &p.content)).unwrap_or_default();
    if old.is_empty() && new.is_empty() {
        return Ok(());
    }
    let mut requests = Vec::new();
    for (f, t) in new.difference(&old) {
        let mut item = Key::new(keys::posting_partition(*f, t), post_id).to_item();
        item.insert(shared::table::ENTITY_TYPE.into(), s("CommunityPosting"));
        requests.push(Write::put_item(item));
    }
    for (f, t) in old.difference(&new) {
        requests.push(Write::delete(Key::new(keys::posting_partition(*f, t), post_id)));
    }
    ctx.table.batch_write(requests).await?;
    let version = state.as_ref().map(|s| s.version);
    let changed = || -> ApiError { CommunityError::IndexChanged.into() };
    let next = CommunityIndexState {
        post_id: post_id.to_string(),
        postings: new.iter().map(|(f, t)| format!("{f}#{t}")).collect(),
        version: version.map_or(0, |v| v + 1),
    };
    let write = match version {
        Some(v) => Write::put(&next)?.when("version = :v", changed()).value(":v", n(v)),
        None => Write::put(&next)?.if_absent(changed()),
    };
    ctx.table.write(write).await
}

pub async fn handle(ctx: Arc<AppContext>, request: IndexCommunityPost) -> Result<(), MessageError> {
    for _ in 0..5 {
        match sync(&ctx, &request.post_id).await {
            Err(e) if e.is(&CommunityError::IndexChanged) => continue,
            other => return Ok(other?),
        }
    }
    Err(MessageError::Retry("the post's index kept changing; trying again later".into()))
}

pub async fn search(ctx: Arc<AppContext>, viewer: Viewer, params: Params) -> ApiResult<Okay<Page<CommunityPostView>>> {
    let q = params.get("q").map(str::trim).unwrap_or_default().to_lowercase();
    if q.is_empty() || q.chars().count() > 50 {
        return Err(ApiError::validation("q", "REQUIRED", "1 to 50 characters"));
    }
    let kind = match params.raw("type") {
        None => None,
        Some(t @ ("INFORMATION" | "QUESTION")) => Some(t.to_string()),
        Some(_) => return Err(ApiError::validation("type", "INVALID", "INFORMATION or QUESTION")),
    };
    let first = tokens(&q)
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::validation("q", "NO_WORDS", "search for letters or digits"))?;
    let limit = params.limit(20, 50)?;
    let cursor = params.get("cursor").map(str::to_string);
    let postings = ctx
        .table
        .query_items(&Query::partition(keys::posting_partition('A', &first)).newest_first().limit(limit).cursor(cursor))
        .await?;
    let ids: Vec<String> = postings
        .items
        .iter()
        .filter_map(|item| match item.get(shared::table::SK) {
            Some(AttrValue::S(id)) => Some(id.clone()),
            _ => None,
        })
        .collect();
    let keys_: Vec<Key> = ids.iter().map(|id| keys::post_key(id)).collect();
    let hidden = viewer.hidden.clone();
    let mut posts: Vec<CommunityPost> = ctx
        .table
        .batch_get::<CommunityPost>(&keys_)
        .await?
        .into_iter()
        .flatten()
        .filter(|p| {
            !p.deleted
                && !hidden.contains(&p.author_id)
                && kind.as_deref().is_none_or(|k| p.kind.as_str() == k)
                && (p.title.to_lowercase().contains(&q) || p.content.to_lowercase().contains(&q))
        })
        .collect();
    posts.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(Okay(Page { items: views(&ctx, posts).await?, next_cursor: postings.next_cursor }))
}
