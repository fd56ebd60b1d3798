//! Chat's keys.
//!
//! | item | PK | SK | notes |
//! |---|---|---|---|
//! | room | `ROOM#<id>` | `ROOM` | members, message count, last message; about a listing: GSI1 `ROOMSABOUT#<listing>` / `<id>` |
//! | member (room side) | `ROOM#<id>` | `MEMBER#<user>` | read position, open connections |
//! | message | `ROOM#<id>` | `MSG#<message id>` | ids are time-sortable and increase within the room |
//! | a sender's client message id | `ROOM#<id>` | `CLIENTMSG#<user>#<client message id>` | → message id (a resend stores nothing new) |
//! | my room (user side) | `USER#<user>` | `CHATROOM#<room>` | one query lists my rooms |
//! | the direct room of two users | `CHATPAIR#<a>#<b>` (ids sorted) | `ROOM` | → room id |
//! | a buyer's room about a listing | `CHATSUBJECT#<listing>#<buyer>` | `ROOM` | → room id |

use shared::keys::user_partition;
use shared::table::Key;

pub const MY_ROOMS: &str = "CHATROOM#";

/// When a member last told the room they were typing (throttles the fan-out; TTL).
pub fn typing_key(room: &str, user: &str) -> Key {
    Key::new(room_partition(room), format!("TYPING#{user}"))
}

// The keys the market reads too live in the contract.
pub use chat_contract::keys::{
    MESSAGES, listing_room_key, member_key, member_sort, message_key, message_sort, room_key, room_partition,
    rooms_about_partition,
};

/// The sort-key range of a room's messages after `after` (exclusive; all when empty).
pub fn messages_after(after: &str) -> (String, String) {
    let start = if after.is_empty() { MESSAGES.to_string() } else { format!("{MESSAGES}{after}!") };
    (start, format!("{MESSAGES}~"))
}

pub fn client_message_key(room: &str, sender: &str, client_message_id: &str) -> Key {
    Key::new(room_partition(room), format!("CLIENTMSG#{sender}#{client_message_id}"))
}

pub fn my_room_key(user: &str, room: &str) -> Key {
    Key::new(user_partition(user), format!("{MY_ROOMS}{room}"))
}

pub fn pair_key(a: &str, b: &str) -> Key {
    let (x, y) = if a < b { (a, b) } else { (b, a) };
    Key::new(format!("CHATPAIR#{x}#{y}"), "ROOM")
}
