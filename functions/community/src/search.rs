//! Community search through the kernel's posting index (`shared::search`), kept on write — no
//! Scan. A post's title and the opening of its content are indexed as Korean bigrams (`산책` finds
//! `산책했어요`); a search reads the postings of the query's first token, newest first, and
//! keeps the posts that hold the whole query. Every post write commits an [`IndexCommunityPost`]
//! message with it (through the outbox); the worker brings the post's postings in line with the
//! post as it is now (a deleted post has none), whatever order the messages come in.

use std::sync::Arc;

use community_contract::keys;
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Okay, Params, Viewer};
use shared::routes::{Access, Function, Method, Permission, Worker, enum_param, int_param, param};
use shared::search::{PostingIndex, Postings, SearchQuery};
use shared::table::{Entity, Key, Page, Write, n};
use shared::worker::MessageError;
use shared::{ApiError, ApiResult, AppContext};

use crate::PKG;
use crate::error::CommunityError;
use crate::index::{COMMUNITY_INDEX, IndexCommunityPost};
use crate::posts::{CommunityPost, CommunityPostView, READ, views};

/// Community posts: the title and the opening of the content, filed together in one field (so a
/// search follows one cursor).
pub const POSTS: PostingIndex =
    PostingIndex { partition: keys::posting_partition, entity_type: "CommunityPosting", max_tokens_per_text: 200 };

/// The index's one field: title and content.
const ANY: char = 'A';

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

/// Every posting of a post: the tokens of its title and of its content's opening.
fn postings(title: &str, content: &str) -> Postings {
    let mut out = POSTS.text(ANY, title);
    out.extend(POSTS.text(ANY, content));
    out
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

/// Brings one post's postings in line with the post as it is now. Postings are keyed writes (a
/// repeat is harmless); the state moves conditionally on the version read.
pub async fn sync(ctx: &AppContext, post_id: &str) -> ApiResult<()> {
    let post = ctx.table.get::<CommunityPost>(&keys::post_key(post_id)).await?.filter(|p| !p.deleted);
    let state = ctx.table.get::<CommunityIndexState>(&keys::index_state_key(post_id)).await?;
    let old = state.as_ref().map(|s| PostingIndex::decode(&s.postings)).unwrap_or_default();
    let new = post.as_ref().map(|p| postings(&p.title, &p.content)).unwrap_or_default();
    if old.is_empty() && new.is_empty() {
        return Ok(());
    }
    ctx.table.batch_write(POSTS.refile(post_id, &old, &new, &[])).await?;
    let version = state.as_ref().map(|s| s.version);
    let changed = || -> ApiError { CommunityError::IndexChanged.into() };
    let next = CommunityIndexState {
        post_id: post_id.to_string(),
        postings: PostingIndex::encode(&new),
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
    let query = SearchQuery::parse(params.get("q"))?;
    let kind = match params.raw("type") {
        None => None,
        Some(t @ ("INFORMATION" | "QUESTION")) => Some(t.to_string()),
        Some(_) => return Err(ApiError::validation("type", "INVALID", "INFORMATION or QUESTION")),
    };
    let limit = params.limit(20, 50)?;
    let found = POSTS.find(&ctx, ANY, &query, limit, params.get("cursor").map(str::to_string)).await?;
    let ids = found.items;
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
                && (query.found_in(&p.title) || query.found_in(&p.content))
        })
        .collect();
    posts.sort_by(|a, b| b.id.cmp(&a.id));
    Ok(Okay(Page { items: views(&ctx, viewer.id(), posts).await?, next_cursor: found.next_cursor }))
}
