//! Chat's counters against their facts: each room's message count (the sequence unread counts are
//! reckoned from) against its messages, and no member's read position past the room's end (an
//! unread count is never negative). Rooms are found through their members' room lists.

use std::collections::BTreeSet;

use shared::audit::{Audit, Report, all};
use shared::routes::Function;
use shared::table::{AttrValue, Entity, Query};
use shared::{ApiResult, AppContext};

use crate::PKG;
use crate::keys;
use crate::model::{Member, Room};

pub static AUDIT_JOB: Function = shared::audit::daily_job(
    "chat-audit-counters",
    PKG,
    "Recounts every room's messages and checks read positions, and reports drift",
    |ctx| Box::pin(async move { shared::audit::logged("chat", run(&ctx, false).await?) }),
);

pub async fn run(ctx: &AppContext, repair: bool) -> ApiResult<Report> {
    let mut audit = Audit::new(ctx, repair);
    let mut rooms = BTreeSet::new();
    for user in identity_contract::every_account(ctx).await? {
        let mine = Query::partition(shared::keys::user_partition(&user.id)).begins_with(keys::MY_ROOMS);
        for item in all(ctx, mine).await? {
            if let Some(AttrValue::S(id)) = item.get("roomId") {
                rooms.insert(id.clone());
            }
        }
    }
    for id in rooms {
        let Some(room) = ctx.table.get::<Room>(&keys::room_key(&id)).await? else { continue };
        let partition = keys::room_partition(&id);
        let messages = all(ctx, Query::partition(&partition).begins_with(keys::MESSAGES)).await?.len() as i64;
        audit.check("message count of a room", keys::room_key(&id), "count", room.count, messages).await?;
        let members: Vec<Member> = all(ctx, Query::partition(&partition).begins_with(keys::member_sort("")))
            .await?
            .into_iter()
            .map(Member::from_item)
            .collect::<ApiResult<_>>()?;
        for m in members {
            let key = keys::member_key(&id, &m.user_id);
            audit
                .check("read position of a member", key, "readCount", m.read_count, m.read_count.min(messages))
                .await?;
        }
    }
    Ok(audit.finish())
}
