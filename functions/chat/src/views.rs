//! A room as one member sees it in their list: its name, participants, the listing it is about
//! and their own unread count.

use std::collections::HashMap;

use identity_contract::Person;
use market_contract::ListingSummary;
use shared::{ApiResult, AppContext};

use crate::model::{Room, RoomView};

/// The listings `rooms` are about, as they are now (one batch read, none without listings).
pub async fn listings_of(ctx: &AppContext, rooms: &[&Room]) -> ApiResult<HashMap<String, ListingSummary>> {
    let ids: Vec<String> = rooms.iter().filter_map(|r| r.listing().map(str::to_string)).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    market_contract::summaries(ctx, &ids).await
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
