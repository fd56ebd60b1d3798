//! A pet's banned words: a comment containing one is deleted when auto-delete is on. Kept with
//! the pet (not the connection), so they outlive a reconnect.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::handler;
use shared::handler::{Caller, Created, Json, NoContent, Okay, Params, Path};
use shared::routes::{Access, Function, Method, Permission, param, said};
use shared::table::{Entity, Query};
use shared::validate::{Validate, Validator};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::account::ensure_owner;
use crate::error::InstagramError;
use crate::{PKG, keys};

/// Words one pet may ban.
pub const MAX_WORDS: usize = 100;

pub static LIST: Function = Function::http(
    Method::Get,
    "/pets/{id}/instagram/banned-words",
    "instagram-banned-words-list",
    PKG,
    Access::User,
    handler!(list),
)
.permissions(&[Permission::TableRead])
.doc("instagram", "The pet's banned words")
.errors(&[403, 404])
.reads_with_session(crate::account::pet_and_link);

pub static ADD: Function = Function::http(
    Method::Post,
    "/pets/{id}/instagram/banned-words",
    "instagram-banned-words-add",
    PKG,
    Access::User,
    handler!(add),
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.doc("instagram", "Ban a word from the pet's Instagram comments")
.example(r#"{"word":"광고"}"#)
.responses(&[said(201, "Banned.")])
.errors(&[403, 404, 409])
.reads_with_session(crate::account::pet_and_link);

pub static REMOVE: Function = Function::http(
    Method::Delete,
    "/pets/{id}/instagram/banned-words",
    "instagram-banned-words-remove",
    PKG,
    Access::User,
    handler!(remove),
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.doc("instagram", "Lift a ban (`?word=`)")
.query(&[param("word", true, "the banned word")])
.responses(&[said(204, "Lifted.")])
.errors(&[403, 404])
.reads_with_session(crate::account::pet_and_link);

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BannedWord {
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub pet_id: String,
    pub word: String,
    pub created_at: DateTime<Utc>,
}

impl Entity for BannedWord {
    const TYPE: &'static str = "InstagramBannedWord";
    fn pk(&self) -> String {
        keys::banned_key(&self.pet_id, &self.word).pk
    }
    fn sk(&self) -> String {
        keys::banned_sort(&self.word)
    }
}

/// A word as stored and matched: trimmed, lower case, inner spacing kept.
fn normal(word: &str) -> String {
    word.trim().to_lowercase()
}

/// Every banned word of pet `pet` (one Query).
pub async fn words(ctx: &AppContext, pet: &str) -> ApiResult<Vec<String>> {
    let page = ctx
        .table
        .query::<BannedWord>(
            &Query::partition(keys::pet_partition(pet)).begins_with(keys::BANNED_PREFIX).limit(MAX_WORDS + 1),
        )
        .await?;
    Ok(page.items.into_iter().map(|w| w.word).collect())
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BannedWords {
    pub words: Vec<String>,
}

pub async fn list(ctx: Arc<AppContext>, caller: Caller, Path(pet): Path<String>) -> ApiResult<Okay<BannedWords>> {
    ensure_owner(&ctx, &caller.user_id, &pet).await?;
    Ok(Okay(BannedWords { words: words(&ctx, &pet).await? }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BannedWordInput {
    pub word: String,
}

impl Validate for BannedWordInput {
    fn validate(&self, v: &mut Validator) {
        v.line("word", &self.word, 1, 30);
        v.check(!self.word.contains('#'), "word", "INVALID", "a word without #");
    }
}

pub async fn add(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    Json(body): Json<BannedWordInput>,
) -> ApiResult<Created<BannedWords>> {
    ensure_owner(&ctx, &caller.user_id, &pet).await?;
    let mut all = words(&ctx, &pet).await?;
    let word = normal(&body.word);
    if all.contains(&word) {
        return Err(InstagramError::WordExists.into());
    }
    if all.len() >= MAX_WORDS {
        return Err(InstagramError::TooManyWords.into());
    }
    let entry = BannedWord { pet_id: pet.clone(), word: word.clone(), created_at: ctx.now() };
    let mut writes = vec![shared::table::Write::put(&entry)?.if_absent(InstagramError::WordExists)];
    // A linked account's stored comments are judged again under the new word.
    if let Some(link) = ctx.table.get::<crate::link::InstagramLink>(&keys::link_key(&pet)).await? {
        let order = crate::link::SyncOrder::Rejudge { pet_id: pet.clone(), connection_id: link.connection_id };
        writes.push(shared::outbox::message(&ctx, &crate::link::SNS_SYNC, &order)?);
    }
    ctx.table.transact(writes).await?;
    all.push(word);
    all.sort();
    Ok(Created(BannedWords { words: all }))
}

pub async fn remove(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(pet): Path<String>,
    params: Params,
) -> ApiResult<NoContent> {
    ensure_owner(&ctx, &caller.user_id, &pet).await?;
    let word = params
        .get("word")
        .map(normal)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| ApiError::validation("word", "REQUIRED", "the word to lift"))?;
    ctx.table
        .write(shared::table::Write::delete(keys::banned_key(&pet, &word)).if_present(InstagramError::WordNotFound))
        .await?;
    Ok(NoContent)
}
