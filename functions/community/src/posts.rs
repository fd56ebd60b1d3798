//! Community posts: INFORMATION or QUESTION, newest first, with exact comment counts and a view
//! count. A delete is soft: the post keeps its id (its comments' notifications still point
//! somewhere) but leaves every list and the search index.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use community_contract::keys;
use identity_contract::Person;
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Caller, Created, Json, NoContent, Okay, Params, Path, Viewer};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, Permission, enum_param, int_param, param, said};
use shared::table::{Entity, Gsi, Page, Query, Write, b, n};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::CommunityError;

pub const READ: &[Permission] = &[Permission::TableRead, Permission::MediaRead];
/// Indexing reaches the community-index queue through the outbox (the relay sends it).
/// A write that answers no body presigns no media URL.
const REMOVE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];
const LIST_QUERY: &[shared::routes::ParamDoc] = &[
    enum_param("type", false, "only this kind", &["INFORMATION", "QUESTION"]),
    param("cursor", false, "from nextCursor"),
    int_param("limit", false, "page size, default 20", 1, 50),
];

/// The post named in the path, read with the caller's session.
pub fn the_post(path: &std::collections::HashMap<String, String>, _caller: &str) -> Vec<shared::table::Key> {
    shared::routes::id_param(path, "id").map(keys::post_key).into_iter().collect()
}

pub static CREATE: Function = Function::http(
    Method::Post,
    "/community/posts",
    "community-posts-create",
    PKG,
    Access::User,
    handler!(create),
)
.permissions(WRITE)
.doc("community", "Write a community post: information to share or a question")
.example(
    r#"{"type":"QUESTION","title":"강아지 산책 몇 번 하세요?","content":"하루 두 번이 적당할까요?","imageKeys":[]}"#,
)
.responses(&[said(201, "Posted.")]);

pub static LIST: Function =
    Function::http(Method::Get, "/community/posts", "community-posts-list", PKG, Access::Public, handler!(list))
        .permissions(READ)
        .doc("community", "Community posts, newest first")
        .query(LIST_QUERY);

pub static MINE: Function =
    Function::http(Method::Get, "/users/me/community/posts", "community-posts-mine", PKG, Access::User, handler!(mine))
        .permissions(READ)
        .doc("community", "My community posts, newest first")
        .query(LIST_QUERY);

pub static GET: Function =
    Function::http(Method::Get, "/community/posts/{id}", "community-posts-get", PKG, Access::Public, handler!(get))
        .permissions(&[Permission::TableRead, Permission::TableWrite, Permission::MediaRead])
        .doc("community", "A community post (counts a view)")
        .responses(&[said(200, "The post.")])
        .errors(&[404])
        .reads_with_session(the_post);

pub static UPDATE: Function = Function::http(
    Method::Patch,
    "/community/posts/{id}",
    "community-posts-update",
    PKG,
    Access::User,
    handler!(update),
)
.permissions(WRITE)
.doc("community", "Change my community post")
.example(r#"{"title":"강아지 산책, 하루 몇 번?"}"#)
.responses(&[said(200, "The post.")])
.errors(&[403, 404])
.reads_with_session(the_post);

pub static DELETE: Function = Function::http(
    Method::Delete,
    "/community/posts/{id}",
    "community-posts-delete",
    PKG,
    Access::User,
    handler!(delete),
)
.permissions(REMOVE)
.doc("community", "Delete my community post (gone from lists and search)")
.responses(&[said(204, "Deleted.")])
.errors(&[403, 404])
.reads_with_session(the_post);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CommunityPostType {
    Information,
    Question,
}

impl CommunityPostType {
    pub fn as_str(self) -> &'static str {
        match self {
            CommunityPostType::Information => "INFORMATION",
            CommunityPostType::Question => "QUESTION",
        }
    }
    fn parse(params: &Params) -> ApiResult<Option<CommunityPostType>> {
        match params.raw("type") {
            None => Ok(None),
            Some("INFORMATION") => Ok(Some(CommunityPostType::Information)),
            Some("QUESTION") => Ok(Some(CommunityPostType::Question)),
            Some(_) => Err(ApiError::validation("type", "INVALID", "INFORMATION or QUESTION")),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommunityPost {
    pub id: String,
    pub author_id: String,
    #[serde(rename = "type")]
    pub kind: CommunityPostType,
    pub title: String,
    pub content: String,
    #[serde(default)]
    pub image_keys: Vec<String>,
    #[serde(default)]
    pub comment_count: i64,
    #[serde(default)]
    pub view_count: i64,
    /// Moved from the stream ([`community_contract::LIKES_COUNTED`]), never by a request.
    #[serde(default)]
    pub like_count: i64,
    #[serde(default)]
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for CommunityPost {
    const TYPE: &'static str = "CommunityPost";
    fn pk(&self) -> String {
        keys::post_partition(&self.id)
    }
    fn sk(&self) -> String {
        keys::post_key(&self.id).sk
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        if self.deleted {
            return Vec::new();
        }
        vec![
            (Gsi::Gsi1, keys::ALL_POSTS.into(), self.id.clone()),
            (Gsi::Gsi2, keys::type_partition(self.kind.as_str()), self.id.clone()),
            (Gsi::Gsi3, keys::author_partition(&self.author_id), self.id.clone()),
        ]
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommunityPostView {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: CommunityPostType,
    pub title: String,
    pub content: String,
    pub image_urls: Vec<String>,
    pub author: Option<Person>,
    pub comment_count: i64,
    pub view_count: i64,
    pub like_count: i64,
    /// Whether the caller likes it (false when signed out).
    pub liked_by_me: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Views of `posts` as `viewer` (a user id, if signed in) sees them: one batch read of their
/// authors and of the viewer's likes.
pub async fn views(
    ctx: &AppContext,
    viewer: Option<&str>,
    posts: Vec<CommunityPost>,
) -> ApiResult<Vec<CommunityPostView>> {
    let ids: Vec<String> = posts.iter().map(|p| p.author_id.clone()).collect();
    let like_keys: Vec<shared::table::Key> = match viewer {
        Some(me) => posts.iter().map(|p| keys::like_key(&p.id, me)).collect(),
        None => Vec::new(),
    };
    let [person_items, like_items] =
        ctx.table.batch_get_groups([&identity_contract::person_keys(&ids), &like_keys]).await?;
    let persons = identity_contract::people_from(ctx, &ids, person_items).await?;
    let liked: std::collections::HashSet<String> =
        like_items.into_iter().zip(&posts).filter_map(|(found, p)| found.map(|_| p.id.clone())).collect();
    let mut out = Vec::with_capacity(posts.len());
    for p in posts {
        let mut image_urls = Vec::with_capacity(p.image_keys.len());
        for k in &p.image_keys {
            image_urls.push(shared::media::url(ctx, k).await?);
        }
        let liked_by_me = liked.contains(&p.id);
        out.push(CommunityPostView {
            author: persons.get(&p.author_id).cloned(),
            id: p.id,
            kind: p.kind,
            title: p.title,
            content: p.content,
            image_urls,
            comment_count: p.comment_count,
            view_count: p.view_count,
            like_count: p.like_count,
            liked_by_me,
            created_at: p.created_at,
            updated_at: p.updated_at,
        });
    }
    Ok(out)
}

pub fn not_found() -> ApiError {
    CommunityError::PostNotFound.into()
}

/// The post (not deleted), whoever asks: for writes that check blocks in their own
/// transaction (`social_contract::not_blocked_checks`).
pub async fn existing_post(ctx: &AppContext, id: &str) -> ApiResult<CommunityPost> {
    if !shared::ids::is_valid_id(id) {
        return Err(not_found());
    }
    ctx.table.get::<CommunityPost>(&keys::post_key(id)).await?.filter(|p| !p.deleted).ok_or_else(not_found)
}

/// The post, if it exists, is not deleted and its author is not hidden from `viewer` by a block.
pub async fn visible_post(ctx: &AppContext, viewer: &Viewer, id: &str) -> ApiResult<CommunityPost> {
    let post = existing_post(ctx, id).await?;
    if viewer.hides(&post.author_id) {
        return Err(not_found());
    }
    Ok(post)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommunityPostInput {
    #[serde(rename = "type")]
    pub kind: CommunityPostType,
    pub title: String,
    pub content: String,
    #[serde(default)]
    pub image_keys: Vec<String>,
}

impl Validate for CommunityPostInput {
    fn validate(&self, v: &mut Validator) {
        v.line("title", &self.title, 1, 100);
        v.text("content", &self.content, 1, 5000);
        v.check(self.image_keys.len() <= 10, "imageKeys", "TOO_MANY", "at most 10");
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommunityPostPatch {
    #[serde(default, rename = "type")]
    pub kind: Option<CommunityPostType>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub image_keys: Option<Vec<String>>,
}

impl Validate for CommunityPostPatch {
    fn validate(&self, v: &mut Validator) {
        if let Some(t) = &self.title {
            v.line("title", t, 1, 100);
        }
        if let Some(c) = &self.content {
            v.text("content", c, 1, 5000);
        }
        if let Some(k) = &self.image_keys {
            v.check(k.len() <= 10, "imageKeys", "TOO_MANY", "at most 10");
        }
    }
}

async fn verify_images(ctx: &AppContext, owner: &str, keys: &[String]) -> ApiResult<()> {
    for k in keys {
        shared::media::verify(ctx, owner, k, &[&identity_contract::POST_PHOTO]).await?;
    }
    Ok(())
}

pub async fn create(
    ctx: Arc<AppContext>,
    caller: Caller,
    Json(body): Json<CommunityPostInput>,
) -> ApiResult<Created<CommunityPostView>> {
    verify_images(&ctx, &caller.user_id, &body.image_keys).await?;
    let now = ctx.now();
    let post = CommunityPost {
        id: shared::ids::new_id(now),
        author_id: caller.user_id.clone(),
        kind: body.kind,
        title: body.title.trim().to_string(),
        content: body.content.trim().to_string(),
        image_keys: body.image_keys,
        comment_count: 0,
        view_count: 0,
        like_count: 0,
        deleted: false,
        created_at: now,
        updated_at: now,
    };
    ctx.table
        .transact(vec![
            Write::put(&post)?.if_absent(ApiError::internal("post id collision")),
            Write::put_item(keys::posted_key(&post.author_id, &post.id).to_item()),
            crate::index::index_later(&ctx, &post.id)?,
        ])
        .await?;
    Ok(Created(views(&ctx, Some(&caller.user_id), vec![post]).await?.remove(0)))
}

async fn page_of(ctx: &AppContext, viewer: &Viewer, query: Query) -> ApiResult<Page<CommunityPostView>> {
    let page = ctx.table.query::<CommunityPost>(&query).await?;
    let posts = page.items.into_iter().filter(|p| !viewer.hides(&p.author_id)).collect();
    Ok(Page { items: views(ctx, viewer.id(), posts).await?, next_cursor: page.next_cursor })
}

pub async fn list(ctx: Arc<AppContext>, viewer: Viewer, params: Params) -> ApiResult<Okay<Page<CommunityPostView>>> {
    let query = match CommunityPostType::parse(&params)? {
        None => Query::partition(keys::ALL_POSTS).index(Gsi::Gsi1),
        Some(t) => Query::partition(keys::type_partition(t.as_str())).index(Gsi::Gsi2),
    };
    Ok(Okay(page_of(&ctx, &viewer, query.newest_first().paged(&params, 20, 50)?).await?))
}

pub async fn mine(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Page<CommunityPostView>>> {
    let kind = CommunityPostType::parse(&params)?;
    // From my own partition, then the posts by key: a post written a moment ago is listed
    // (the author index lags).
    let query = Query::partition(shared::keys::user_partition(&caller.user_id))
        .begins_with(keys::POSTED_PREFIX)
        .newest_first()
        .paged(&params, 20, 50)?;
    let page = ctx.table.query_pointed::<CommunityPost>(&query, keys::POSTED_PREFIX, keys::post_key).await?;
    let posts = page.items.into_iter().filter(|p| !p.deleted && kind.is_none_or(|k| p.kind == k)).collect();
    Ok(Okay(Page { items: views(&ctx, Some(&caller.user_id), posts).await?, next_cursor: page.next_cursor }))
}

pub async fn get(ctx: Arc<AppContext>, viewer: Viewer, Path(id): Path<String>) -> ApiResult<Okay<CommunityPostView>> {
    let post = visible_post(&ctx, &viewer, &id).await?;
    // One view per read, counted on the post itself; the answer shows the count with it.
    let counted = ctx
        .table
        .write_returning(
            Write::update(post.key(), "ADD viewCount :one")
                .value(":one", n(1))
                .value(":no", b(false))
                .when("attribute_exists(PK) AND deleted = :no", not_found()),
        )
        .await?
        .map(CommunityPost::from_item)
        .transpose()?
        .unwrap_or(post);
    Ok(Okay(views(&ctx, viewer.id(), vec![counted]).await?.remove(0)))
}

async fn load_own(ctx: &AppContext, caller: &Caller, id: &str) -> ApiResult<CommunityPost> {
    let post = visible_post(ctx, &caller.as_viewer(), id).await?;
    if post.author_id != caller.user_id {
        return Err(CommunityError::NotYourPost.into());
    }
    Ok(post)
}

pub async fn update(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<CommunityPostPatch>,
) -> ApiResult<Okay<CommunityPostView>> {
    let mut post = load_own(&ctx, &caller, &id).await?;
    if let Some(k) = &body.image_keys {
        verify_images(&ctx, &caller.user_id, k).await?;
    }
    if let Some(k) = body.kind {
        post.kind = k;
    }
    if let Some(t) = body.title {
        post.title = t.trim().to_string();
    }
    if let Some(c) = body.content {
        post.content = c.trim().to_string();
    }
    if let Some(k) = body.image_keys {
        post.image_keys = k;
    }
    let seen = post.updated_at;
    post.updated_at = ctx.now();
    // Counts move by ADD meanwhile: only the fields written here are set.
    let gsi2 = shared::table::Gsi::Gsi2;
    ctx.table
        .transact(vec![
            Write::update(
                post.key(),
                "SET #type = :k, title = :t, content = :c, imageKeys = :i, updatedAt = :now, #g2pk = :g2pk",
            )
            .name("#type", "type")
            .name("#g2pk", gsi2.pk())
            .value(":k", shared::table::s(post.kind.as_str()))
            .value(":t", shared::table::s(&post.title))
            .value(":c", shared::table::s(&post.content))
            .value(":i", shared::table::AttrValue::L(post.image_keys.iter().map(shared::table::s).collect()))
            .value(":now", shared::table::time(post.updated_at))
            .value(":g2pk", shared::table::s(keys::type_partition(post.kind.as_str())))
            .value(":seen", shared::table::time(seen))
            .value(":no", b(false))
            .when("updatedAt = :seen AND deleted = :no", CommunityError::Changed),
            crate::index::index_later(&ctx, &post.id)?,
        ])
        .await?;
    Ok(Okay(views(&ctx, Some(&caller.user_id), vec![post]).await?.remove(0)))
}

pub async fn delete(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    let post = load_own(&ctx, &caller, &id).await?;
    remove(&ctx, &post, Vec::new()).await?;
    Ok(NoContent)
}

/// Deletes a post as its author's delete does (out of every list and, through its index
/// message, out of search), with `extra` writes in the same transaction.
pub async fn remove(ctx: &AppContext, post: &CommunityPost, extra: Vec<Write>) -> ApiResult<()> {
    let mut gone = post.clone();
    gone.deleted = true;
    gone.updated_at = ctx.now();
    let mut writes = vec![
        Write::update(
            post.key(),
            "SET deleted = :yes, updatedAt = :now REMOVE GSI1PK, GSI1SK, GSI2PK, GSI2SK, GSI3PK, GSI3SK",
        )
        .value(":yes", b(true))
        .value(":now", shared::table::time(gone.updated_at))
        .value(":no", b(false))
        .when("attribute_exists(PK) AND deleted = :no", not_found()),
        Write::delete(keys::posted_key(&post.author_id, &post.id)),
        crate::index::index_later(ctx, &post.id)?,
    ];
    writes.extend(extra);
    ctx.table.transact(writes).await
}
