//! Posts: create, read, edit, delete, and the lists (everyone's, a user's, my feed).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use identity_contract::Counter;
use identity_contract::Person;
use pets_contract::PetSummary;
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Caller, Created, Json, NoContent, Okay, Params, Path, Viewer};
use shared::http::PageRequest;
use shared::routes::{Access, Function, Method, ParamDoc, Permission, int_param, param, said};
use shared::table::{AttrValue, Entity, Gsi, Key, Page, Query, Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;
use crate::error::DiaryError;
use crate::index::index_later;
use crate::model::{Post, hashtags, like_key, post_key};

/// A write that answers no body presigns no media URL.
const REMOVE: &[Permission] = &[Permission::TableRead, Permission::TableWrite];
pub const WRITE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead];
pub const READ: &[Permission] = &[Permission::TableRead, Permission::MediaRead];
pub const PAGE: &[ParamDoc] =
    &[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 9", 1, 50)];
const DEFAULT_PAGE: usize = 9;
/// Posts one user may write per hour.
const POSTS_PER_USER: shared::ratelimit::Limit =
    shared::ratelimit::Limit { action: "posts", max: 30, window_secs: 3600 };
const MAX_PAGE: usize = 50;

/// The post named in the path, read with the caller's session.
pub fn the_post(path: &HashMap<String, String>, _caller: &str) -> Vec<Key> {
    shared::routes::id_param(path, "id").map(post_key).into_iter().collect()
}

pub static CREATE: Function =
    Function::http(Method::Post, "/posts", "posts-create", PKG, Access::User, handler!(create))
        .permissions(WRITE)
        .doc("diary", "Write a diary post; #hashtags come from the content")
        .example(r#"{"title":"한강 산책","content":"오늘은 한강에서 산책했어요 #산책 #한강","petId":null}"#)
        .responses(&[said(201, "Posted.")])
        .errors(&[429]);

pub static GET: Function = Function::http(Method::Get, "/posts/{id}", "posts-get", PKG, Access::Public, handler!(get))
    .permissions(READ)
    .doc("diary", "A post")
    .responses(&[said(200, "The post.")])
    .errors(&[404])
    .reads_with_session(the_post);

pub static UPDATE: Function =
    Function::http(Method::Patch, "/posts/{id}", "posts-update", PKG, Access::User, handler!(update))
        .permissions(WRITE)
        .doc("diary", "Edit my post")
        .example(r#"{"content":"오늘은 두 번 산책했어요 #산책"}"#)
        .responses(&[said(200, "The post.")])
        .errors(&[404])
        .reads_with_session(the_post);

pub static DELETE: Function =
    Function::http(Method::Delete, "/posts/{id}", "posts-delete", PKG, Access::User, handler!(delete))
        .permissions(REMOVE)
        .doc("diary", "Delete my post: it leaves every list, search and count")
        .responses(&[said(204, "Deleted.")])
        .errors(&[404])
        .reads_with_session(the_post);

pub static LIST: Function = Function::http(Method::Get, "/posts", "posts-list", PKG, Access::Public, handler!(list))
    .permissions(READ)
    .doc("diary", "Everyone's posts, newest first")
    .query(PAGE)
    .responses(&[said(200, "A page of posts.")]);

pub static OF_USER: Function =
    Function::http(Method::Get, "/users/{id}/posts", "posts-of-user", PKG, Access::Public, handler!(of_user))
        .permissions(READ)
        .doc("diary", "A user's posts, newest first")
        .query(PAGE)
        .responses(&[said(200, "A page of posts.")]);

pub static FEED: Function = Function::http(Method::Get, "/feed", "posts-feed", PKG, Access::User, handler!(feed))
    .permissions(READ)
    .doc("diary", "My posts and those of the people I follow, newest first")
    .query(PAGE)
    .responses(&[said(200, "A page of posts.")]);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostInput {
    #[serde(default)]
    pub title: Option<String>,
    pub content: String,
    #[serde(default)]
    pub media_keys: Vec<String>,
    #[serde(default)]
    pub pet_id: Option<String>,
}

fn check_text(v: &mut Validator, title: Option<&str>, content: Option<&str>, media: Option<&[String]>) {
    if let Some(t) = title {
        v.line("title", t, 0, 100);
    }
    if let Some(c) = content {
        v.text("content", c, 1, 2000);
    }
    if let Some(m) = media {
        v.check(m.len() <= 10, "mediaKeys", "TOO_MANY", "at most 10 files");
    }
}

impl Validate for PostInput {
    fn validate(&self, v: &mut Validator) {
        check_text(v, self.title.as_deref(), Some(&self.content), Some(&self.media_keys));
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostPatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub media_keys: Option<Vec<String>>,
}

impl Validate for PostPatch {
    fn validate(&self, v: &mut Validator) {
        check_text(v, self.title.as_deref(), self.content.as_deref(), self.media_keys.as_deref());
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MediaView {
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostView {
    pub id: String,
    pub author: Person,
    pub pet: Option<PetSummary>,
    pub title: String,
    pub content: String,
    pub media: Vec<MediaView>,
    pub hashtags: Vec<String>,
    pub like_count: i64,
    pub comment_count: i64,
    pub liked_by_me: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Turns a page of posts into views with one batch read, however many posts, authors or pets:
/// the authors, the pets and the viewer's likes together.
pub async fn hydrate(ctx: &AppContext, viewer: Option<&str>, posts: Vec<Post>) -> ApiResult<Vec<PostView>> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    let authors: Vec<String> = posts.iter().map(|p| p.author_id.clone()).collect::<HashSet<_>>().into_iter().collect();
    let pet_ids: Vec<String> =
        posts.iter().filter_map(|p| p.pet_id.clone()).collect::<HashSet<_>>().into_iter().collect();
    let like_keys: Vec<Key> = match viewer {
        Some(v) => posts.iter().map(|p| like_key(&p.id, v)).collect(),
        None => Vec::new(),
    };
    let [author_items, pet_items, like_items] = ctx
        .table
        .batch_get_groups([
            &identity_contract::person_keys(&authors),
            &pets_contract::summary_keys(&pet_ids),
            &like_keys,
        ])
        .await?;
    let persons = identity_contract::people_from(ctx, &authors, author_items).await?;
    let pets: HashMap<String, PetSummary> = pets_contract::summaries_from(ctx, pet_items).await?;
    let liked: HashSet<String> =
        like_items.into_iter().zip(&posts).filter_map(|(found, p)| found.map(|_| p.id.clone())).collect();
    let mut out = Vec::with_capacity(posts.len());
    for p in posts {
        let mut media = Vec::new();
        for k in &p.media_keys {
            media.push(MediaView { url: shared::media::url(ctx, k).await? });
        }
        out.push(PostView {
            author: persons.get(&p.author_id).cloned().unwrap_or(Person {
                id: p.author_id.clone(),
                nickname: String::new(),
                profile_image_url: None,
            }),
            pet: p.pet_id.as_ref().and_then(|id| pets.get(id).cloned()),
            liked_by_me: liked.contains(&p.id),
            id: p.id,
            title: p.title,
            content: p.content,
            media,
            hashtags: p.hashtags,
            like_count: p.like_count,
            comment_count: p.comment_count,
            created_at: p.created_at,
            updated_at: p.updated_at,
        });
    }
    Ok(out)
}

pub fn not_found() -> ApiError {
    DiaryError::PostNotFound.into()
}

/// The post, whoever asks: for writes that check blocks in their own transaction
/// (`social_contract::not_blocked_checks`).
pub async fn existing_post(ctx: &AppContext, id: &str) -> ApiResult<Post> {
    if !shared::ids::is_valid_id(id) {
        return Err(not_found());
    }
    ctx.table.get::<Post>(&post_key(id)).await?.ok_or_else(not_found)
}

/// A post the viewer may see (not hidden by a block between them).
pub async fn visible_post(ctx: &AppContext, viewer: &Viewer, id: &str) -> ApiResult<Post> {
    let post = existing_post(ctx, id).await?;
    if viewer.hides(&post.author_id) {
        return Err(not_found());
    }
    Ok(post)
}

async fn own_post(ctx: &AppContext, caller: &Caller, id: &str) -> ApiResult<Post> {
    let post = visible_post(ctx, &caller.as_viewer(), id).await?;
    if post.author_id != caller.user_id {
        return Err(DiaryError::NotYourPost.into());
    }
    Ok(post)
}

/// The posts whose ids are the sort keys of `items` (feed entries, search postings), in that
/// order, with one batch read; posts deleted meanwhile are left out.
pub async fn posts_by_id(ctx: &AppContext, ids: &[String]) -> ApiResult<Vec<Post>> {
    let keys: Vec<Key> = ids.iter().map(|id| post_key(id)).collect();
    Ok(ctx.table.batch_get::<Post>(&keys).await?.into_iter().flatten().collect())
}

async fn check_media(ctx: &AppContext, owner: &str, keys: &[String]) -> ApiResult<()> {
    for k in keys {
        shared::media::verify(ctx, owner, k, &[&identity_contract::POST_PHOTO]).await?;
    }
    Ok(())
}

pub async fn create(ctx: Arc<AppContext>, caller: Caller, Json(body): Json<PostInput>) -> ApiResult<Created<PostView>> {
    let me = caller.user_id.clone();
    check_media(&ctx, &me, &body.media_keys).await?;
    if let Some(pet) = &body.pet_id
        && pets_contract::owner_of(&ctx, pet).await?.as_deref() != Some(me.as_str())
    {
        return Err(ApiError::validation("petId", "NOT_YOUR_PET", "tag one of your own pets"));
    }
    let now = ctx.now();
    let content = body.content.trim().to_string();
    let post = Post {
        id: shared::ids::new_id(now),
        author_id: me.clone(),
        pet_id: body.pet_id,
        title: body.title.unwrap_or_default().trim().to_string(),
        hashtags: hashtags(&content),
        content,
        media_keys: body.media_keys,
        like_count: 0,
        comment_count: 0,
        created_at: now,
        updated_at: now,
    };
    let mut writes = vec![
        // The hourly posting limit counts in the post's own transaction: only posts made count.
        shared::ratelimit::counter(&ctx, POSTS_PER_USER, &me),
        Write::put(&post)?.if_absent(ApiError::internal("post id collision")),
        Write::put_item(crate::keys::posted_key(&me, &post.id).to_item()),
        identity_contract::counter(&me, Counter::Posts, 1),
        moderation_contract::stats::count(now, &[(moderation_contract::stats::Metric::Posts, 1)]),
    ];
    writes.extend(diary_contract::posted(&ctx, &me, &post.id)?);
    writes.push(index_later(&ctx, &post.id)?);
    ctx.table.transact(writes).await?;
    ctx.metrics.count(crate::figures::POSTS, 1.0);
    let view = hydrate(&ctx, Some(&me), vec![post]).await?.remove(0);
    Ok(Created(view))
}

pub async fn get(ctx: Arc<AppContext>, viewer: Viewer, Path(id): Path<String>) -> ApiResult<Okay<PostView>> {
    let post = visible_post(&ctx, &viewer, id.as_str()).await?;
    Ok(Okay(hydrate(&ctx, viewer.id(), vec![post]).await?.remove(0)))
}

pub async fn update(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<PostPatch>,
) -> ApiResult<Okay<PostView>> {
    let mut post = own_post(&ctx, &caller, &id).await?;
    let seen = post.updated_at;
    if let Some(keys) = &body.media_keys {
        check_media(&ctx, &post.author_id, keys).await?;
        post.media_keys = keys.clone();
    }
    if let Some(t) = body.title {
        post.title = t.trim().to_string();
    }
    if let Some(c) = body.content {
        post.content = c.trim().to_string();
        post.hashtags = hashtags(&post.content);
    }
    post.updated_at = ctx.now();
    // Only the edited fields change; the counters stay as concurrent likes and comments left them.
    let w = Write::update(post.key(), "SET title = :t, content = :c, hashtags = :h, mediaKeys = :m, updatedAt = :u")
        .value(":t", s(&post.title))
        .value(":c", s(&post.content))
        .value(":h", AttrValue::L(post.hashtags.iter().map(s).collect()))
        .value(":m", AttrValue::L(post.media_keys.iter().map(s).collect()))
        .value(":u", shared::table::time(post.updated_at))
        .value(":seen", shared::table::time(seen))
        .when("updatedAt = :seen", DiaryError::PostChanged);
    ctx.table.transact(vec![w, index_later(&ctx, &post.id)?]).await?;
    // Read back: the counters are as concurrent likes and comments left them.
    let post = ctx.table.get::<Post>(&post.key()).await?.ok_or_else(not_found)?;
    let me = post.author_id.clone();
    Ok(Okay(hydrate(&ctx, Some(&me), vec![post]).await?.remove(0)))
}

pub async fn delete(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    let post = own_post(&ctx, &caller, &id).await?;
    remove(&ctx, &post, Vec::new()).await?;
    Ok(NoContent)
}

/// Removes a post as its author's delete does (its count, feeds and search postings follow),
/// with `extra` writes in the same transaction.
pub async fn remove(ctx: &AppContext, post: &Post, extra: Vec<Write>) -> ApiResult<()> {
    let mut writes = vec![
        Write::delete(post.key()).if_present(not_found()),
        Write::delete(crate::keys::posted_key(&post.author_id, &post.id)),
        identity_contract::counter(&post.author_id, Counter::Posts, -1),
    ];
    writes.extend(diary_contract::deleted(ctx, &post.author_id, &post.id)?);
    writes.push(index_later(ctx, &post.id)?);
    writes.extend(extra);
    ctx.table.transact(writes).await
}

/// A page of posts from an index query, without those hidden from the viewer.
async fn page_of(ctx: &AppContext, viewer: &Viewer, params: &Params, query: Query) -> ApiResult<Okay<Page<PostView>>> {
    let query = query.paged(params, DEFAULT_PAGE, MAX_PAGE)?;
    let page = ctx.table.query::<Post>(&query).await?;
    let posts = page.items.into_iter().filter(|p| !viewer.hides(&p.author_id)).collect();
    Ok(Okay(Page { items: hydrate(ctx, viewer.id(), posts).await?, next_cursor: page.next_cursor }))
}

pub async fn list(ctx: Arc<AppContext>, viewer: Viewer, params: Params) -> ApiResult<Okay<Page<PostView>>> {
    page_of(&ctx, &viewer, &params, Query::partition(crate::keys::ALL_POSTS).index(Gsi::Gsi1).newest_first()).await
}

pub async fn of_user(
    ctx: Arc<AppContext>,
    viewer: Viewer,
    Path(user): Path<String>,
    params: Params,
) -> ApiResult<Okay<Page<PostView>>> {
    // From the author's own partition, then the posts by key: a post made a moment ago is
    // listed (the author index lags).
    let query = Query::partition(shared::keys::user_partition(&user))
        .begins_with(crate::keys::POSTED_PREFIX)
        .newest_first()
        .paged(&params, DEFAULT_PAGE, MAX_PAGE)?;
    if viewer.hides(&user) {
        return Ok(Okay(Page { items: Vec::new(), next_cursor: None }));
    }
    let page = ctx.table.query_pointed::<Post>(&query, crate::keys::POSTED_PREFIX, post_key).await?;
    Ok(Okay(Page { items: hydrate(&ctx, viewer.id(), page.items).await?, next_cursor: page.next_cursor }))
}

/// The post id an author's `POSTED#` item names.
pub fn posted_id(item: &shared::table::Item) -> Option<String> {
    match item.get(shared::table::SK) {
        Some(AttrValue::S(sk)) => sk.strip_prefix(crate::keys::POSTED_PREFIX).map(str::to_string),
        _ => None,
    }
}

pub async fn feed(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Page<PostView>>> {
    let me = caller.user_id.clone();
    let query =
        Query::partition(crate::keys::feed_partition(&me)).newest_first().paged(&params, DEFAULT_PAGE, MAX_PAGE)?;
    let page = ctx.table.query_items(&query).await?;
    let hidden = caller.hidden.clone();
    // An entry shows only while its author is me or someone I follow now: an unfollow hides the
    // author's posts at once, before the feed worker removes them. One batch read serves the
    // posts and those follows together.
    let post_keys: Vec<Key> = page
        .items
        .iter()
        .filter_map(|i| match i.get(shared::table::SK) {
            Some(AttrValue::S(id)) => Some(post_key(id)),
            _ => None,
        })
        .collect();
    let authors: Vec<String> = page
        .items
        .iter()
        .filter_map(|i| match i.get("authorId") {
            Some(AttrValue::S(a)) if *a != me => Some(a.clone()),
            _ => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut keys = post_keys.clone();
    keys.extend(authors.iter().map(|a| social_contract::following_key(&me, a)));
    let found = ctx.table.batch_get_items(&keys).await?;
    let (found_posts, found_follows) = found.split_at(post_keys.len());
    let followed: HashSet<&String> =
        authors.iter().zip(found_follows).filter(|(_, f)| f.is_some()).map(|(a, _)| a).collect();
    let posts: Vec<Post> = found_posts
        .iter()
        .flatten()
        .map(|i| Post::from_item(i.clone()))
        .collect::<ApiResult<Vec<_>>>()?
        .into_iter()
        .filter(|p| !hidden.contains(&p.author_id) && (p.author_id == me || followed.contains(&p.author_id)))
        .collect();
    Ok(Okay(Page { items: hydrate(&ctx, Some(&me), posts).await?, next_cursor: page.next_cursor }))
}
