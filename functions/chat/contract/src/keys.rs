//! The chat keys other domains read through this contract (the whole layout: the chat package's
//! `keys`).

use shared::table::Key;

pub fn room_partition(id: &str) -> String {
    format!("ROOM#{id}")
}

pub fn room_key(id: &str) -> Key {
    Key::new(room_partition(id), "ROOM")
}

pub fn member_sort(user: &str) -> String {
    format!("MEMBER#{user}")
}

/// A member's item in a room (the market's payment checks it is still there).
pub fn member_key(room: &str, user: &str) -> Key {
    Key::new(room_partition(room), member_sort(user))
}

/// The room of `buyer` about `listing` (a claim item holding the room's id).
pub fn listing_room_key(listing: &str, buyer: &str) -> Key {
    Key::new(format!("CHATSUBJECT#{listing}#{buyer}"), "ROOM")
}

/// GSI1 partition of the rooms about a listing.
pub fn rooms_about_partition(listing: &str) -> String {
    format!("ROOMSABOUT#{listing}")
}

pub const MESSAGES: &str = "MSG#";

pub fn message_sort(id: &str) -> String {
    format!("{MESSAGES}{id}")
}

pub fn message_key(room: &str, id: &str) -> Key {
    Key::new(room_partition(room), message_sort(id))
}
