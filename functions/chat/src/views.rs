//! A room as one member sees it in their list: its name, participants, the listing it is about
//! and their own unread count.

use std::collections::HashMap;

use identity_contract::Person;
use market_contract::ListingSummary;
use shared::table::{Item, Key};
use shared::{ApiResult, AppContext};

use crate::model::{Room, RoomView};

/// What views of `rooms` show besides the rooms: their members as people and the listings they
/// are about, as they are now (one batch read; `also` joins it, read for the caller).
pub async fn people_and_listings(
    ctx: &AppContext,
    rooms: &[&Room],
    also: &[Key],
) -> ApiResult<(HashMap<String, Person>, HashMap<String, ListingSummary>, Vec<Option<Item>>)> {
    let everyone: Vec<String> = rooms.iter().flat_map(|r| r.member_ids.iter().cloned()).collect();
    let listings: Vec<String> = rooms.iter().filter_map(|r| r.listing().map(str::to_string)).collect();
    let [people, listings, also] = ctx
        .table
        .batch_get_groups([&identity_contract::person_keys(&everyone), &market_contract::summary_keys(&listings), also])
        .await?;
    let people = identity_contract::people_from(ctx, &everyone, people).await?;
    Ok((people, market_contract::summaries_from(ctx, listings).await?, also))
}

/// A room as `viewer` sees it in their list, `read` being their read position.
pub fn room_view_for(room: &Room, people: &HashMap<String, Person>, read: i64) -> RoomView {
    room_view_with(room, people, read, &HashMap::new())
}

/// The same, with the listings rooms are about.
pub fn room_view_with(
    room: &Room,
    people: &HashMap<String, Person>,
    read: i64,
    listings: &HashMap<String, ListingSummary>,
) -> RoomView {
    let participants: Vec<Person> = room.member_ids.iter().filter_map(|u| people.get(u).cloned()).collect();
    let name = if room.name.is_empty() {
        participants.iter().map(|p| p.nickname.as_str()).collect::<Vec<_>>().join(", ")
    } else {
        room.name.clone()
    };
    RoomView {
        id: room.id.clone(),
        name,
        group: room.group,
        participants,
        market_post: room.listing().and_then(|l| listings.get(l).cloned()),
        purchase_approved: room.purchase_approved,
        last_message: room.last_message.clone(),
        unread_count: (room.count - read).max(0),
        updated_at: room.updated_at,
    }
}
