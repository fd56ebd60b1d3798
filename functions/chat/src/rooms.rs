//! Rooms: a direct room per pair of users (asking again returns it), group rooms with a name,
//! my rooms by latest activity with exact unread counts, and members joining and leaving.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use shared::handler::{Caller, Created, Either, NoContent, Okay, Params, Path};
use shared::routes::{Access, Function, Method, Permission, int_param, param, said};
use shared::table::{Item, Key, Page, Query, Write, s};
use shared::validate::{Validate, Validator};
use shared::{ApiResult, AppContext, handler};
use utoipa::ToSchema;

use crate::PKG;
use crate::delivery::{RoomChange, RoomFrame, advance_room, announce, member_keys, members_from};
use crate::error::ChatError;
use crate::keys;
use crate::model::{
    MAX_ADDED_AT_ONCE, MAX_MEMBERS, Member, Message, MessageKind, Room, RoomView, Subject, my_room_item,
};
use crate::views::{people_and_listings, room_view_for, room_view_with};
use identity_contract::Person;

const READ: &[Permission] = &[Permission::TableRead, Permission::MediaRead];
/// A write that answers no body presigns no media URL.
const REMOVE: &[Permission] = &[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections];
const WRITE: &[Permission] =
    &[Permission::TableRead, Permission::TableWrite, Permission::MediaRead, Permission::ManageConnections];

/// The room named in the path and the caller's membership of it, read with the session (what
/// [`member_of`] reads).
pub fn room_and_membership(path: &std::collections::HashMap<String, String>, caller: &str) -> Vec<Key> {
    let Some(room) = shared::routes::id_param(path, "id") else { return Vec::new() };
    vec![keys::room_key(room), keys::member_key(room, caller)]
}

pub static CREATE: Function =
    Function::http(Method::Post, "/chat/rooms", "chat-rooms-create", PKG, Access::User, handler!(create))
        .permissions(WRITE)
        .doc("chat", "Start a room: with one other user a direct room (asking again returns it), with more a group")
        .example(r#"{"participantIds":["01JD3K4Q5R6S7T8V9W0XYZABCD"]}"#)
        .responses(&[said(200, "The direct room you already have with this user."), said(201, "A new room.")])
        .errors(&[404, 409]);

pub static LIST: Function =
    Function::http(Method::Get, "/chat/rooms", "chat-rooms-list", PKG, Access::User, handler!(list))
        .permissions(READ)
        .doc("chat", "My rooms, latest activity first, each with its last message and my unread count")
        .query(&[param("cursor", false, "from nextCursor"), int_param("limit", false, "page size, default 20", 1, 50)]);

pub static GET: Function =
    Function::http(Method::Get, "/chat/rooms/{id}", "chat-rooms-get", PKG, Access::User, handler!(get))
        .permissions(READ)
        .doc("chat", "One of my rooms")
        .errors(&[404])
        .reads_with_session(room_and_membership);

pub static PARTICIPANTS: Function = Function::http(
    Method::Get,
    "/chat/rooms/{id}/participants",
    "chat-participants-list",
    PKG,
    Access::User,
    handler!(participants),
)
.permissions(READ)
.doc("chat", "A room's members: whether each is online and how far each has read")
.errors(&[404])
.reads_with_session(room_and_membership);

pub static INVITE: Function = Function::http(
    Method::Post,
    "/chat/rooms/{id}/participants",
    "chat-participants-invite",
    PKG,
    Access::User,
    handler!(invite),
)
.permissions(WRITE)
.doc("chat", "Invite users into a group room (members only); into a direct room, a new group room of everyone")
.example(r#"{"userIds":["01JD3K4Q5R6S7T8V9W0XYZABCE"]}"#)
.responses(&[said(
    201,
    "Invited (the room says so in a system message), or the new group room when the room was direct.",
)])
.errors(&[404, 409])
.reads_with_session(room_and_membership);

pub static LEAVE: Function = Function::http(
    Method::Delete,
    "/chat/rooms/{id}/participants/me",
    "chat-participants-leave",
    PKG,
    Access::User,
    handler!(leave),
)
.permissions(REMOVE)
.doc("chat", "Leave a room; the others keep its history")
.errors(&[404])
.reads_with_session(room_and_membership);

/// A room with other users (`participantIds`), or a buyer's room with the seller about a
/// listing (`marketPostId`).
pub static APPROVAL: Function = Function::http(
    Method::Put,
    "/chat/rooms/{id}/purchase-approval",
    "chat-purchase-approval",
    PKG,
    Access::User,
    handler!(approve),
)
.permissions(WRITE)
.doc("chat", "The seller lets this room's buyer pay for the listing (or withdraws it); both get market.approval")
.example(r#"{"approved":true}"#)
.errors(&[404, 409])
.reads_with_session(room_and_membership);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Approval {
    pub approved: bool,
}

impl Validate for Approval {
    fn validate(&self, _: &mut Validator) {}
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ApprovalFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    room_id: &'a str,
    approved: bool,
}

pub async fn approve(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    shared::handler::Json(body): shared::handler::Json<Approval>,
) -> ApiResult<Okay<RoomView>> {
    let me = caller.user_id.clone();
    let (mut room, member) = member_of(&ctx, &id, &me).await?;
    let listing = room.listing().ok_or(ChatError::NotAboutAListing)?.to_string();
    // The listing, the members as people and their connections (to tell them), in one batch.
    let (people, listings, listed) =
        people_and_listings(&ctx, &[&room], &shared::push::connections_keys(&room.member_ids)).await?;
    let summary = listings.get(&listing).ok_or(ChatError::ListingNotFound)?;
    if summary.seller_id != me {
        return Err(ChatError::NotTheSeller.into());
    }
    // The room shows it; the market holds the payment to it (its own item, in this transaction).
    let buyer = room.member_ids.iter().find(|u| **u != me).cloned().ok_or(ChatError::NotAboutAListing)?;
    ctx.table
        .transact(vec![
            Write::update(keys::room_key(&room.id), "SET purchaseApproved = :a")
                .value(":a", shared::table::b(body.approved))
                .if_present(ChatError::RoomNotFound),
            market_contract::purchase_approval(&listing, &buyer, body.approved),
        ])
        .await?;
    room.purchase_approved = body.approved;
    let frame = ApprovalFrame { kind: "market.approval", room_id: &room.id, approved: body.approved };
    let connections = shared::push::connections_from(&ctx, &room.member_ids, &listed);
    if let Err(e) = shared::push::to_listed(&ctx, &connections, &frame).await {
        tracing::warn!(error = %e, "an approval was stored but not pushed");
    }
    Ok(Okay(room_view_with(&room, &people, member.read_count, &listings)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRoom {
    #[serde(default)]
    pub participant_ids: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub market_post_id: Option<String>,
}

impl Validate for NewRoom {
    fn validate(&self, v: &mut Validator) {
        match &self.market_post_id {
            Some(id) => {
                v.check(shared::ids::is_valid_id(id), "marketPostId", "INVALID_FORMAT", "a listing id");
                v.check(
                    self.participant_ids.is_empty(),
                    "participantIds",
                    "NOT_WITH_LISTING",
                    "a room about a listing is between its buyer and its seller",
                );
            }
            None => v.check(
                !self.participant_ids.is_empty() && self.participant_ids.len() <= MAX_ADDED_AT_ONCE,
                "participantIds",
                "COUNT",
                "1 to 48 other users (invite more later)",
            ),
        }
        for id in &self.participant_ids {
            v.check(shared::ids::is_valid_id(id), "participantIds", "INVALID_FORMAT", "user ids");
        }
        if let Some(n) = &self.name {
            v.line("name", n, 1, 50);
        }
    }
}

/// The room, if it exists.
pub async fn load_room(ctx: &AppContext, id: &str) -> ApiResult<Room> {
    if !shared::ids::is_valid_id(id) {
        return Err(ChatError::RoomNotFound.into());
    }
    ctx.table.get::<Room>(&keys::room_key(id)).await?.ok_or_else(|| ChatError::RoomNotFound.into())
}

/// The room and `user`'s membership of it (one batch read); 404 / 403 otherwise.
pub async fn member_of(ctx: &AppContext, room: &str, user: &str) -> ApiResult<(Room, Member)> {
    if !shared::ids::is_valid_id(room) {
        return Err(ChatError::RoomNotFound.into());
    }
    let found = ctx.table.batch_get_items(&[keys::room_key(room), keys::member_key(room, user)]).await?;
    let room: Room = found[0].clone().map(serde_dynamo::from_item).transpose()?.ok_or(ChatError::RoomNotFound)?;
    let member: Member = found[1].clone().map(serde_dynamo::from_item).transpose()?.ok_or(ChatError::NotAMember)?;
    Ok((room, member))
}

fn member_item(
    room: &str,
    user: &str,
    joined_after: &str,
    read_count: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Member {
    Member {
        room_id: room.to_string(),
        user_id: user.to_string(),
        joined_at: now,
        joined_after: joined_after.to_string(),
        read_count,
        last_read_message_id: None,
        open: Vec::new(),
    }
}

/// Every one of `users` is an active account with no block between them and the caller, from
/// their account items (read at `identity_contract::person_keys`, the same items as their people).
fn reachable(caller: &Caller, users: &[String], accounts: &[Option<Item>]) -> ApiResult<()> {
    for item in accounts {
        if !identity_contract::account_from(item.clone())?.is_some_and(|a| a.is_active()) {
            return Err(ChatError::UserNotFound.into());
        }
    }
    if users.iter().any(|u| caller.hides(u)) {
        return Err(social_contract::RelationError::Blocked.into());
    }
    Ok(())
}

pub async fn create(
    ctx: Arc<AppContext>,
    caller: Caller,
    shared::handler::Json(body): shared::handler::Json<NewRoom>,
) -> ApiResult<Either<Okay<RoomView>, Created<RoomView>>> {
    let me = caller.user_id.clone();
    if let Some(listing) = &body.market_post_id {
        return about_listing(&ctx, &caller, listing).await;
    }
    let mut others: Vec<String> = body.participant_ids.iter().filter(|u| **u != me).cloned().collect();
    others.sort();
    others.dedup();
    if others.is_empty() {
        return Err(ChatError::NotWithYourself.into());
    }
    let group = others.len() > 1;
    let mut members = vec![me.clone()];
    members.extend(others.iter().cloned());
    // The members' accounts (can each be reached; their people) and a direct room's pair claim,
    // in one batch.
    let pair: Vec<Key> = if group { Vec::new() } else { vec![keys::pair_key(&me, &others[0])] };
    let [accounts, claim] = ctx.table.batch_get_groups([&identity_contract::person_keys(&members), &pair]).await?;
    reachable(&caller, &others, &accounts[1..])?;
    let people = identity_contract::people_from(&ctx, &members, accounts).await?;
    let no_listings = HashMap::new();
    if let Some(view) = existing(&ctx, claim.into_iter().next().flatten(), &members, &people, &no_listings).await? {
        return Ok(Either::First(Okay(view)));
    }
    let name = body.name.map(|n| n.trim().to_string()).unwrap_or_default();
    let pair_claim = (!group).then(|| pair[0].clone());
    match make_room(&ctx, &me, members.clone(), name, group, pair_claim, &people).await {
        Ok(view) => Ok(Either::Second(Created(view))),
        // Two first messages raced: the other request made the room.
        Err(e) if e.is(&ChatError::PairTaken) => {
            let claim = ctx.table.get_item(&pair[0]).await?;
            let view = existing(&ctx, claim, &members, &people, &no_listings).await?.ok_or(ChatError::RoomMoved)?;
            Ok(Either::First(Okay(view)))
        }
        Err(e) => Err(e),
    }
}

/// A new room of `members` (`me` first) made by `me`, with the direct pair's claim if it is one;
/// its members are told at once (`chat.room`).
async fn make_room(
    ctx: &AppContext,
    me: &str,
    members: Vec<String>,
    name: String,
    group: bool,
    pair_claim: Option<Key>,
    people: &HashMap<String, Person>,
) -> ApiResult<RoomView> {
    let now = ctx.now();
    let room = Room {
        id: shared::ids::new_id(now),
        name,
        group,
        member_ids: members,
        subject: None,
        created_by: me.to_string(),
        created_at: now,
        updated_at: now,
        count: 0,
        last_message: None,
        purchase_approved: false,
    };
    let mut writes = vec![Write::put(&room)?.if_absent(ChatError::RoomMoved)];
    if let Some(pair) = pair_claim {
        let mut pair = pair.to_item();
        pair.insert("roomId".into(), s(&room.id));
        writes.push(Write::put_item(pair).if_absent(ChatError::PairTaken));
    }
    for u in &room.member_ids {
        writes.push(Write::put(&member_item(&room.id, u, "", 0, now))?);
        writes.push(Write::put_item(my_room_item(u, &room.id)));
    }
    ctx.table.transact(writes).await?;
    let view = room_view_for(&room, people, 0);
    tell(ctx, &room.member_ids, &view).await;
    Ok(view)
}

/// Tells `users` (on every connection) of a room they are now in, as their room list shows it.
async fn tell(ctx: &AppContext, users: &[String], view: &RoomView) {
    if let Err(e) = shared::push::to_users(ctx, users, &RoomFrame { kind: "chat.room", room: view }).await {
        tracing::warn!(error = %e, room = %view.id, "a room was made but not pushed to its members");
    }
}

/// The room a claim item (`CHATPAIR#…`, `CHATSUBJECT#…`) points to, as `me` (the first of
/// `pair`) sees it: the room and my membership in one batch read (its members' `people` and its
/// `listings` are known). If either of the pair left it, they are back in it (see [`rejoin`]).
async fn existing(
    ctx: &AppContext,
    claim: Option<Item>,
    pair: &[String],
    people: &HashMap<String, Person>,
    listings: &HashMap<String, market_contract::ListingSummary>,
) -> ApiResult<Option<RoomView>> {
    let me = pair[0].as_str();
    let Some(shared::table::AttrValue::S(id)) = claim.as_ref().and_then(|c| c.get("roomId")) else { return Ok(None) };
    let found = ctx.table.batch_get_items(&[keys::room_key(id), keys::member_key(id, me)]).await?;
    let mut found = found.into_iter();
    let Some(room) = found.next().flatten().map(serde_dynamo::from_item::<_, Room>).transpose()? else {
        return Ok(None);
    };
    let read = found.next().flatten().map(serde_dynamo::from_item::<_, Member>).transpose()?;
    match read {
        Some(member) if pair.iter().all(|u| room.is_member(u)) => {
            Ok(Some(room_view_with(&room, people, member.read_count, listings)))
        }
        _ => rejoin(ctx, room, pair, people, listings).await.map(Some),
    }
}

/// Puts back into a direct room (or a room about a listing) whichever of `pair` left it: asking
/// for the room again gives a room both can write in. Each sees the messages from their return
/// on; a system message says so, and the returning are told of the room at once.
async fn rejoin(
    ctx: &AppContext,
    room: Room,
    pair: &[String],
    people: &HashMap<String, Person>,
    listings: &HashMap<String, market_contract::ListingSummary>,
) -> ApiResult<RoomView> {
    let me = pair[0].clone();
    let text = format!("{}님이 대화방에 다시 들어왔습니다.", nickname(people, &me));
    let returning = std::sync::Mutex::new(Vec::new());
    let room_id = room.id.clone();
    let done = with_system_message(ctx, room, |room| {
        let missing: Vec<String> = pair.iter().filter(|u| !room.is_member(u)).cloned().collect();
        if missing.is_empty() {
            return Err(ChatError::AlreadyMember.into());
        }
        let now = ctx.now();
        let after = room.last_message.as_ref().map(|l| l.id.clone()).unwrap_or_default();
        let mut change = RoomChange { members: room.member_ids.clone(), withdraw_approval: false };
        let mut writes = Vec::new();
        for u in &missing {
            change.members.push(u.clone());
            // The one asking has read the message that says they are back.
            let read = if *u == me { room.count + 1 } else { room.count };
            writes.push(Write::put(&member_item(&room.id, u, &after, read, now))?);
            writes.push(Write::put_item(my_room_item(u, &room.id)));
        }
        *returning.lock().unwrap_or_else(|e| e.into_inner()) = missing;
        Ok((text.clone(), writes, change))
    })
    .await;
    let (mut room, message) = match done {
        Ok(done) => done,
        // Another request put them back meanwhile.
        Err(e) if e.is(&ChatError::AlreadyMember) => {
            let (room, member) = member_of(ctx, &room_id, &me).await?;
            return Ok(room_view_with(&room, people, member.read_count, listings));
        }
        Err(e) => return Err(e),
    };
    let returning = returning.into_inner().unwrap_or_else(|e| e.into_inner());
    room.member_ids.extend(returning.iter().cloned());
    room.count = message.seq;
    room.last_message = Some(message.last());
    room.updated_at = message.sent_at;
    announce(ctx, &room, &message).await;
    for u in &returning {
        let read = if *u == me { message.seq } else { message.seq - 1 };
        tell(ctx, std::slice::from_ref(u), &room_view_with(&room, people, read, listings)).await;
    }
    Ok(room_view_with(&room, people, message.seq, listings))
}

/// The buyer's room with the seller about a listing: one per buyer and listing.
async fn about_listing(
    ctx: &AppContext,
    caller: &Caller,
    listing: &str,
) -> ApiResult<Either<Okay<RoomView>, Created<RoomView>>> {
    let me = caller.user_id.as_str();
    let claim = keys::listing_room_key(listing, me);
    let [found, claimed] = ctx
        .table
        .batch_get_groups([&market_contract::summary_keys(&[listing.to_string()]), std::slice::from_ref(&claim)])
        .await?;
    let listings = market_contract::summaries_from(ctx, found).await?;
    let summary = listings.get(listing).cloned().ok_or(ChatError::ListingNotFound)?;
    if summary.seller_id == me {
        return Err(ChatError::OwnListing.into());
    }
    let seller = summary.seller_id.clone();
    let members = [me.to_string(), seller.clone()];
    let accounts = ctx.table.batch_get_items(&identity_contract::person_keys(&members)).await?;
    let people = identity_contract::people_from(ctx, &members, accounts.clone()).await?;
    reachable(caller, std::slice::from_ref(&seller), &accounts[1..])?;
    if let Some(view) = existing(ctx, claimed.into_iter().next().flatten(), &members, &people, &listings).await? {
        return Ok(Either::First(Okay(view)));
    }
    let now = ctx.now();
    let room = Room {
        id: shared::ids::new_id(now),
        name: summary.title.clone(),
        group: false,
        member_ids: vec![me.to_string(), seller.clone()],
        subject: Some(Subject { kind: crate::model::MARKET_POST.into(), id: listing.to_string() }),
        created_by: me.to_string(),
        created_at: now,
        updated_at: now,
        count: 0,
        last_message: None,
        purchase_approved: false,
    };
    let mut claim_item = claim.to_item();
    claim_item.insert("roomId".into(), s(&room.id));
    let mut writes = vec![
        Write::put(&room)?.if_absent(ChatError::RoomMoved),
        Write::put_item(claim_item).if_absent(ChatError::PairTaken),
        market_contract::room_opened(listing, ChatError::ListingNotFound),
    ];
    for u in &room.member_ids {
        writes.push(Write::put(&member_item(&room.id, u, "", 0, now))?);
        writes.push(Write::put_item(my_room_item(u, &room.id)));
    }
    match ctx.table.transact(writes).await {
        Ok(()) => {
            let view = room_view_with(&room, &people, 0, &listings);
            tell(ctx, &room.member_ids, &view).await;
            Ok(Either::Second(Created(view)))
        }
        Err(e) if e.is(&ChatError::PairTaken) => {
            let claimed = ctx.table.get_item(&claim).await?;
            let view = existing(ctx, claimed, &members, &people, &listings).await?.ok_or(ChatError::RoomMoved)?;
            Ok(Either::First(Okay(view)))
        }
        Err(e) => Err(e),
    }
}

pub async fn get(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<Okay<RoomView>> {
    let (room, member) = member_of(&ctx, &id, &caller.user_id).await?;
    let (people, listings, _) = people_and_listings(&ctx, &[&room], &[]).await?;
    Ok(Okay(room_view_with(&room, &people, member.read_count, &listings)))
}

const LIST_SCOPE: &str = "chat-rooms";

/// My rooms, latest activity first: every one of my room pointers (a query, page after page),
/// the rooms they point at (a batch read per 100; the order needs each room's last activity),
/// then for the page only my member items, the people and the listings. Up to 50 rooms the
/// rooms and member items come in one batch read: four calls for one room or fifty.
pub async fn list(ctx: Arc<AppContext>, caller: Caller, params: Params) -> ApiResult<Okay<Page<RoomView>>> {
    let me = caller.user_id.clone();
    let limit = params.limit(20, 50)?;
    let after = match params.get("cursor") {
        Some(c) => {
            let fields = ctx.table.read_cursor(LIST_SCOPE, c)?;
            Some((fields.get("updatedAt").cloned().unwrap_or_default(), fields.get("id").cloned().unwrap_or_default()))
        }
        None => None,
    };
    let pointers = Query::partition(shared::keys::user_partition(&me)).begins_with(keys::MY_ROOMS).limit(1000);
    let ids: Vec<String> = ctx
        .table
        .query_items_all(&pointers, None)
        .await?
        .iter()
        .filter_map(|i| match i.get("roomId") {
            Some(shared::table::AttrValue::S(id)) => Some(id.clone()),
            _ => None,
        })
        .collect();
    let together = ids.len() <= 50;
    let mut keys_to_read: Vec<Key> = ids.iter().map(|id| keys::room_key(id)).collect();
    if together {
        keys_to_read.extend(ids.iter().map(|id| keys::member_key(id, &me)));
    }
    let found = ctx.table.batch_get_items(&keys_to_read).await?;
    let (rooms, members) = found.split_at(ids.len());
    let mut rows: Vec<(Room, Option<&shared::table::Item>)> = Vec::new();
    for (i, room) in rooms.iter().enumerate() {
        let Some(room) = room else { continue };
        let member = if together {
            match &members[i] {
                Some(m) => Some(m),
                None => continue,
            }
        } else {
            None
        };
        rows.push((serde_dynamo::from_item(room.clone())?, member));
    }
    // Latest activity first; ties by id, so that the order (and the cursor) is stable.
    rows.sort_by(|a, b| (b.0.updated_at, &b.0.id).cmp(&(a.0.updated_at, &a.0.id)));
    if let Some((at, id)) = &after {
        rows.retain(|(r, _)| {
            let key = (r.updated_at.to_rfc3339(), r.id.clone());
            key.0.as_str() < at.as_str() || (key.0 == *at && r.id.as_str() < id.as_str())
        });
    }
    let more = rows.len() > limit;
    rows.truncate(limit);
    // Past 50 rooms, my member items are read for this page's rooms only.
    let page_members: Vec<Option<shared::table::Item>> = if together {
        rows.iter().map(|(_, m)| m.cloned()).collect()
    } else {
        let keys: Vec<Key> = rows.iter().map(|(r, _)| keys::member_key(&r.id, &me)).collect();
        ctx.table.batch_get_items(&keys).await?
    };
    let mut page: Vec<(Room, i64)> = Vec::new();
    for ((room, _), member) in rows.into_iter().zip(page_members) {
        let Some(member) = member else { continue };
        let member: Member = serde_dynamo::from_item(member)?;
        page.push((room, member.read_count));
    }
    let (people, listings, _) =
        people_and_listings(&ctx, &page.iter().map(|(r, _)| r).collect::<Vec<_>>(), &[]).await?;
    let next_cursor = match (more, page.last()) {
        (true, Some((r, _))) => {
            Some(ctx.table.sign_cursor(LIST_SCOPE, &[("updatedAt", &r.updated_at.to_rfc3339()), ("id", &r.id)])?)
        }
        _ => None,
    };
    let items = page.iter().map(|(r, read)| room_view_with(r, &people, *read, &listings)).collect();
    Ok(Okay(Page { items, next_cursor }))
}

/// A member as the participants list shows them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub user: Person,
    /// Has a live connection now.
    pub online: bool,
    pub last_read_message_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Participants {
    pub items: Vec<Participant>,
}

pub async fn participants(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Okay<Participants>> {
    let (room, _) = member_of(&ctx, &id, &caller.user_id).await?;
    // The members' read positions, people and connections (who is online), in one batch.
    let ids = &room.member_ids;
    let [members, people, listed] = ctx
        .table
        .batch_get_groups([
            &member_keys(&room),
            &identity_contract::person_keys(ids),
            &shared::push::connections_keys(ids),
        ])
        .await?;
    let members = members_from(members)?;
    let people = identity_contract::people_from(&ctx, ids, people).await?;
    let connections = shared::push::connections_from(&ctx, ids, &listed);
    let mut items = Vec::new();
    for (u, live) in &connections {
        let online = !live.is_empty();
        items.push(Participant {
            user: people.get(u).cloned().unwrap_or(Person {
                id: u.clone(),
                nickname: String::new(),
                profile_image_url: None,
            }),
            online,
            last_read_message_id: members.get(u).and_then(|m| m.last_read_message_id.clone()),
        });
    }
    Ok(Okay(Participants { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Invitation {
    pub user_ids: Vec<String>,
}

impl Validate for Invitation {
    fn validate(&self, v: &mut Validator) {
        v.check(
            !self.user_ids.is_empty() && self.user_ids.len() <= MAX_ADDED_AT_ONCE,
            "userIds",
            "COUNT",
            "1 to 48 users at a time",
        );
        for id in &self.user_ids {
            v.check(shared::ids::is_valid_id(id), "userIds", "INVALID_FORMAT", "user ids");
        }
    }
}

/// A system message in `room` (joins, leaves), with the room's next sequence number, in the same
/// transaction as `writes`; retried when another message came first.
/// `first` is the room as the caller read it already, for the first attempt.
async fn with_system_message(
    ctx: &AppContext,
    first: Room,
    text: impl Fn(&Room) -> ApiResult<(String, Vec<Write>, RoomChange)>,
) -> ApiResult<(Room, Message)> {
    let room_id = first.id.clone();
    let mut first = Some(first);
    for attempt in 0..crate::model::SEQUENCE_TRIES {
        let room = match first.take() {
            Some(room) => room,
            None => load_room(ctx, &room_id).await?,
        };
        let (content, mut writes, change) = text(&room)?;
        let now = ctx.now();
        let message = Message {
            id: crate::model::next_message_id(room.last_message.as_ref().map(|l| l.id.as_str()), now),
            room_id: room.id.clone(),
            sender_id: String::new(),
            content,
            media_key: None,
            kind: MessageKind::System,
            seq: room.count + 1,
            sent_at: now,
            deleted: false,
        };
        writes.push(Write::put(&message)?.if_absent(ChatError::RoomMoved));
        writes.push(advance_room(&room, &message, Some(&change))?);
        match ctx.table.transact_racing(writes).await {
            Ok(()) => return Ok((room, message)),
            Err(e) => {
                // Another transaction in flight on the room: the room as read may still be current.
                if e.is(&shared::table::TableError::Contended) {
                    first = Some(room);
                }
                crate::delivery::try_again(e, attempt).await?;
            }
        }
    }
    Err(ChatError::RoomMoved.into())
}

fn nickname(people: &HashMap<String, Person>, id: &str) -> String {
    people.get(id).map(|p| p.nickname.clone()).unwrap_or_default()
}

pub async fn invite(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    shared::handler::Json(body): shared::handler::Json<Invitation>,
) -> ApiResult<Created<RoomView>> {
    let me = caller.user_id.clone();
    let (room, member) = member_of(&ctx, &id, &me).await?;
    let mut new: Vec<String> = body.user_ids.iter().filter(|u| !room.is_member(u)).cloned().collect();
    new.sort();
    new.dedup();
    if new.is_empty() {
        return Err(ChatError::AlreadyMember.into());
    }
    let mut everyone = room.member_ids.clone();
    everyone.extend(new.iter().cloned());
    // Everyone's accounts in one batch: whether the invited can be reached, and the people.
    let accounts = ctx.table.batch_get_items(&identity_contract::person_keys(&everyone)).await?;
    reachable(&caller, &new, &accounts[room.member_ids.len()..])?;
    let people = identity_contract::people_from(&ctx, &everyone, accounts).await?;
    if !room.group {
        // As messengers do: a direct room (or one about a listing) stays as it is, and the
        // people in it with the invited get a new group room (one transaction: 49 at most).
        if everyone.len() > MAX_ADDED_AT_ONCE + 1 {
            return Err(ChatError::TooManyMembers.into());
        }
        return Ok(Created(make_room(&ctx, &me, everyone, String::new(), true, None, &people).await?));
    }
    let names = new.iter().map(|u| nickname(&people, u)).collect::<Vec<_>>().join(", ");
    let text = format!("{}님이 {}님을 초대했습니다.", nickname(&people, &me), names);
    let (room, message) = with_system_message(&ctx, room, |room| {
        if !room.is_member(&me) {
            return Err(ChatError::NotAMember.into());
        }
        if room.member_ids.len() + new.len() > MAX_MEMBERS {
            return Err(ChatError::TooManyMembers.into());
        }
        let now = ctx.now();
        let after = room.last_message.as_ref().map(|l| l.id.clone()).unwrap_or_default();
        let mut members = room.member_ids.clone();
        let mut writes = Vec::new();
        for u in &new {
            if room.is_member(u) {
                return Err(ChatError::AlreadyMember.into());
            }
            members.push(u.clone());
            // They read from here on: the invitation is their first unread message.
            writes.push(Write::put(&member_item(&room.id, u, &after, room.count, now))?);
            writes.push(Write::put_item(my_room_item(u, &room.id)));
        }
        Ok((text.clone(), writes, RoomChange { members, withdraw_approval: false }))
    })
    .await?;
    let mut room = room;
    room.member_ids = everyone;
    room.count = message.seq;
    room.last_message = Some(message.last());
    room.updated_at = message.sent_at;
    announce(&ctx, &room, &message).await;
    Ok(Created(room_view_for(&room, &people, member.read_count)))
}

pub async fn leave(ctx: Arc<AppContext>, caller: Caller, Path(id): Path<String>) -> ApiResult<NoContent> {
    let me = caller.user_id.clone();
    let (room, _) = member_of(&ctx, &id, &me).await?;
    let people = identity_contract::people(&ctx, std::slice::from_ref(&me)).await?;
    let text = format!("{}님이 나갔습니다.", nickname(&people, &me));
    let (room, message) = with_system_message(&ctx, room, |room| {
        if !room.is_member(&me) {
            return Err(ChatError::NotAMember.into());
        }
        let members: Vec<String> = room.member_ids.iter().filter(|u| **u != me).cloned().collect();
        let mut writes =
            vec![Write::delete(keys::member_key(&room.id, &me)), Write::delete(keys::my_room_key(&me, &room.id))];
        // Either side leaving the room about a listing ends the seller's approval (the buyer
        // made the room); back in it, the buyer asks again.
        if let Some(listing) = room.listing() {
            writes.push(market_contract::purchase_approval(listing, &room.created_by, false));
        }
        Ok((text.clone(), writes, RoomChange { members, withdraw_approval: room.listing().is_some() }))
    })
    .await?;
    let mut room = room;
    room.member_ids.retain(|u| *u != me);
    room.count = message.seq;
    room.last_message = Some(message.last());
    room.updated_at = message.sent_at;
    if !room.member_ids.is_empty() {
        announce(&ctx, &room, &message).await;
    }
    Ok(NoContent)
}
