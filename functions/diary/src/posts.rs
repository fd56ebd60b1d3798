//! Posts: create, read, edit, delete, and the lists (everyone's, a user's, my feed).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::http::PageRequest;
use shared::media::Purpose as MediaPurpose;
use shared::people::{Person, hidden_for, people};
use shared::routes::{Access, Function, Method, ParamDoc, Permission, int_param, page, param, respond, schema};
use shared::table::{AttrValue, Entity, Gsi, Key, Page, Query, Write, n, s};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiRequest, ApiResponse, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;
use crate::index::index_later;
use crate::model::{Post, hashtags, like_key, post_key};

pub const WRITE: &[Permission] =
    &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead, Permission::SendTo(&shared::queues::FEED)];
pub const READ: &[Permission] = &[Permission::TableRead, Permission::MediaRead];
pub const PAGE: &[ParamDoc] =
    &[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 9", 1, 50)];
const DEFAULT_PAGE: usize = 9;
/// Posts one user may write per hour.
const POSTS_PER_USER: shared::ratelimit::Limit =
    shared::ratelimit::Limit { action: "posts", max: 30, window_secs: 3600 };
const MAX_PAGE: usize = 50;

pub static CREATE: Function =
    Function::http(Method::Post, "/posts", "posts-create", PKG, Access::User, |c, r| Box::pin(create(c, r)))
        .permissions(WRITE)
        .doc("diary", "Write a diary post; #hashtags come from the content")
        .request(
            schema::<PostInput>,
            r#"{"title":"한강 산책","content":"오늘은 한강에서 산책했어요 #산책 #한강","petId":null}"#,
        )
        .responses(&[respond(201, "Posted.", Some(schema::<PostView>))])
        .errors(&[429]);

pub static GET: Function =
    Function::http(Method::Get, "/posts/{id}", "posts-get", PKG, Access::Public, |c, r| Box::pin(get(c, r)))
        .permissions(READ)
        .doc("diary", "A post")
        .responses(&[respond(200, "The post.", Some(schema::<PostView>))])
        .errors(&[404]);

pub static UPDATE: Function =
    Function::http(Method::Patch, "/posts/{id}", "posts-update", PKG, Access::User, |c, r| Box::pin(update(c, r)))
        .permissions(WRITE)
        .doc("diary", "Edit my post")
        .request(schema::<PostPatch>, r#"{"content":"오늘은 두 번 산책했어요 #산책"}"#)
        .responses(&[respond(200, "The post.", Some(schema::<PostView>))])
        .errors(&[404]);

pub static DELETE: Function =
    Function::http(Method::Delete, "/posts/{id}", "posts-delete", PKG, Access::User, |c, r| Box::pin(delete(c, r)))
        .permissions(WRITE)
        .doc("diary", "Delete my post: it leaves every list, search and count")
        .responses(&[respond(204, "Deleted.", None)])
        .errors(&[404]);

pub static LIST: Function =
    Function::http(Method::Get, "/posts", "posts-list", PKG, Access::Public, |c, r| Box::pin(list(c, r)))
        .permissions(READ)
        .doc("diary", "Everyone's posts, newest first")
        .query(PAGE)
        .responses(&[respond(200, "A page of posts.", Some(page::<PostView>))]);

pub static OF_USER: Function =
    Function::http(Method::Get, "/users/{id}/posts", "posts-of-user", PKG, Access::Public, |c, r| {
        Box::pin(of_user(c, r))
    })
    .permissions(READ)
    .doc("diary", "A user's posts, newest first")
    .query(PAGE)
    .responses(&[respond(200, "A page of posts.", Some(page::<PostView>))]);

pub static FEED: Function =
    Function::http(Method::Get, "/feed", "posts-feed", PKG, Access::User, |c, r| Box::pin(feed(c, r)))
        .permissions(READ)
        .doc("diary", "My posts and those of the people I follow, newest first")
        .query(PAGE)
        .responses(&[respond(200, "A page of posts.", Some(page::<PostView>))]);

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
#[serde(rename_all = "camelCase")]
pub struct PetSummary {
    pub id: String,
    pub name: String,
    pub photo_url: Option<String>,
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

/// Turns a page of posts into views with a fixed number of reads, however many posts, authors
/// or pets: one batch read each for authors, pets and the viewer's likes.
pub async fn hydrate(ctx: &AppContext, viewer: Option<&str>, posts: Vec<Post>) -> ApiResult<Vec<PostView>> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    let authors: Vec<String> = posts.iter().map(|p| p.author_id.clone()).collect();
    let persons = people(ctx, &authors).await?;
    let pet_ids: Vec<String> =
        posts.iter().filter_map(|p| p.pet_id.clone()).collect::<HashSet<_>>().into_iter().collect();
    let pet_keys: Vec<Key> = pet_ids.iter().map(|id| Key::new(format!("PET#{id}"), "PET")).collect();
    let mut pets: HashMap<String, PetSummary> = HashMap::new();
    if !pet_keys.is_empty() {
        for item in ctx.table.batch_get_items(&pet_keys).await?.into_iter().flatten() {
            if let (Some(AttrValue::S(id)), Some(AttrValue::S(name))) = (item.get("id"), item.get("name")) {
                let photo_url = match item.get("photoKey") {
                    Some(AttrValue::S(k)) => Some(shared::media::url(ctx, k).await?),
                    _ => None,
                };
                pets.insert(id.clone(), PetSummary { id: id.clone(), name: name.clone(), photo_url });
            }
        }
    }
    let liked: HashSet<String> = match viewer {
        Some(v) => {
            let keys: Vec<Key> = posts.iter().map(|p| like_key(&p.id, v)).collect();
            ctx.table
                .batch_get_items(&keys)
                .await?
                .into_iter()
                .zip(&posts)
                .filter_map(|(found, p)| found.map(|_| p.id.clone()))
                .collect()
        }
        None => HashSet::new(),
    };
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
    ApiError::not_found("POST_NOT_FOUND", "No such post.")
}

/// A post the viewer may see (not hidden by a block between them).
pub async fn visible_post(ctx: &AppContext, viewer: Option<&str>, id: &str) -> ApiResult<Post> {
    if !shared::ids::is_valid_id(id) {
        return Err(not_found());
    }
    let post = ctx.table.get::<Post>(&post_key(id)).await?.ok_or_else(not_found)?;
    if let Some(v) = viewer
        && shared::people::blocked_between(ctx, v, &post.author_id).await?
    {
        return Err(not_found());
    }
    Ok(post)
}

async fn own_post(ctx: &AppContext, req: &ApiRequest) -> ApiResult<Post> {
    let me = &req.caller()?.user_id;
    let post = visible_post(ctx, Some(me), req.path_param("id")?).await?;
    if &post.author_id != me {
        return Err(ApiError::forbidden("NOT_YOUR_POST", "Only the author may do this."));
    }
    Ok(post)
}

/// The posts whose ids are the sort keys of `items` (feed entries, search postings), in that
/// order, with one batch read; posts deleted meanwhile are left out.
pub async fn posts_named_by(ctx: &AppContext, items: &[shared::table::Item]) -> ApiResult<Vec<Post>> {
    let keys: Vec<Key> = items
        .iter()
        .filter_map(|i| match i.get(shared::table::SK) {
            Some(AttrValue::S(id)) => Some(post_key(id)),
            _ => None,
        })
        .collect();
    Ok(ctx.table.batch_get::<Post>(&keys).await?.into_iter().flatten().collect())
}

async fn check_media(ctx: &AppContext, owner: &str, keys: &[String]) -> ApiResult<()> {
    for k in keys {
        shared::media::verify(ctx, owner, k, &[MediaPurpose::Post]).await?;
    }
    Ok(())
}

pub async fn create(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let body: PostInput = req.json()?;
    let me = req.caller()?.user_id.clone();
    shared::ratelimit::hit(&ctx, POSTS_PER_USER, &me).await?;
    check_media(&ctx, &me, &body.media_keys).await?;
    if let Some(pet) = &body.pet_id {
        let owner =
            ctx.table.get_item(&Key::new(format!("PET#{pet}"), "PET")).await?.and_then(|i| i.get("ownerId").cloned());
        if owner != Some(AttrValue::S(me.clone())) {
            return Err(ApiError::validation("petId", "NOT_YOUR_PET", "tag one of your own pets"));
        }
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
        Write::put(&post)?.if_absent(ApiError::internal("post id collision")),
        Write::update(shared::account::user_key(&me), "ADD postCount :one").value(":one", n(1)),
    ];
    writes.extend(shared::feed::posted(&ctx, &me, &post.id)?);
    writes.push(index_later(&ctx, &post.id)?);
    ctx.table.transact(writes).await?;
    let view = hydrate(&ctx, Some(&me), vec![post]).await?.remove(0);
    ApiResponse::created(&view)
}

pub async fn get(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let viewer = req.identity.as_ref().map(|i| i.user_id.clone());
    let post = visible_post(&ctx, viewer.as_deref(), req.path_param("id")?).await?;
    ApiResponse::ok(&hydrate(&ctx, viewer.as_deref(), vec![post]).await?.remove(0))
}

pub async fn update(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let body: PostPatch = req.json()?;
    let mut post = own_post(&ctx, &req).await?;
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
        .when("updatedAt = :seen", ApiError::conflict("CONCURRENT_UPDATE", "The post changed meanwhile. Try again."));
    ctx.table.transact(vec![w, index_later(&ctx, &post.id)?]).await?;
    // Read back: the counters are as concurrent likes and comments left them.
    let post = ctx.table.get::<Post>(&post.key()).await?.ok_or_else(not_found)?;
    let me = post.author_id.clone();
    ApiResponse::ok(&hydrate(&ctx, Some(&me), vec![post]).await?.remove(0))
}

pub async fn delete(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let post = own_post(&ctx, &req).await?;
    let mut writes = vec![
        Write::delete(post.key()).if_present(not_found()),
        Write::update(shared::account::user_key(&post.author_id), "ADD postCount :m").value(":m", n(-1)),
    ];
    writes.extend(shared::feed::deleted(&ctx, &post.author_id, &post.id)?);
    writes.push(index_later(&ctx, &post.id)?);
    ctx.table.transact(writes).await?;
    ApiResponse::no_content()
}

/// A page of posts from an index query, without those hidden from the viewer.
async fn page_of(ctx: &AppContext, req: &ApiRequest, query: Query) -> ApiResult<ApiResponse> {
    let viewer = req.identity.as_ref().map(|i| i.user_id.clone());
    let query = query.paged(req, DEFAULT_PAGE, MAX_PAGE)?;
    let page = ctx.table.query::<Post>(&query).await?;
    let hidden = hidden_for(ctx, viewer.as_deref()).await?;
    let posts = page.items.into_iter().filter(|p| !hidden.contains(&p.author_id)).collect();
    ApiResponse::ok(&Page { items: hydrate(ctx, viewer.as_deref(), posts).await?, next_cursor: page.next_cursor })
}

pub async fn list(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    page_of(&ctx, &req, Query::partition("POSTS").index(Gsi::Gsi1).newest_first()).await
}

pub async fn of_user(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let user = req.path_param("id")?.to_string();
    page_of(&ctx, &req, Query::partition(shared::feed::author_partition(&user)).index(Gsi::Gsi2).newest_first()).await
}

pub async fn feed(ctx: Arc<AppContext>, req: ApiRequest) -> ApiResult<ApiResponse> {
    let me = req.caller()?.user_id.clone();
    let query = Query::partition(format!("FEED#{me}")).newest_first().paged(&req, DEFAULT_PAGE, MAX_PAGE)?;
    let page = ctx.table.query_items(&query).await?;
    let hidden = hidden_for(&ctx, Some(&me)).await?;
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
    keys.extend(authors.iter().map(|a| shared::people::following_key(&me, a)));
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
    ApiResponse::ok(&Page { items: hydrate(&ctx, Some(&me), posts).await?, next_cursor: page.next_cursor })
}
