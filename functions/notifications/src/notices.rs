//! The notices worker: delivers an administrators' notice to its audience, one page of one
//! audience shard per message (the plan: [`notifications_contract::notices`]).
//!
//! Each member is one transaction: a guard keyed by the notice and the member (so a page handled
//! twice tells nobody twice), the `targeted` (and `delivered`) counters of the member's lane (a
//! page is told in [`LANES`] side by side, each lane with counters of its own), and — unless the
//! member left or turned notices off — the NOTICE notification, the unread count, the email
//! (for those who asked for notice emails) and the Web Push (for those who asked for it). The counters are therefore exact, whatever SQS
//! redelivers. After the page, one transaction moves the shard's cursor past it and queues the
//! next page; an old copy of a page finds the cursor moved and does nothing.

use std::collections::HashMap;
use std::sync::Arc;

use identity_contract::AccountRecord;
use notifications_contract::NotificationKind;
use notifications_contract::keys::{notice_key, notice_lane_key, notice_shard_key};
use notifications_contract::notices::{Notice, NoticePage};
use shared::error::Tolerate;
use shared::mail::Email;
use shared::routes::{Function, Permission, Worker};
use shared::table::{AttrValue, Write, b, n, s};
use shared::worker::MessageError;
use shared::{ApiResult, AppContext, queues};

use crate::error::NotificationError;
use crate::model::{Actor, Notification, Settings, counter_key, settings_key};

pub static NOTICE_WORKER: Function = Function::worker(
    "notices-worker",
    crate::PKG,
    Worker {
        name: "notices",
        queue: &notifications_contract::NOTICES,
        batch_size: 1,
        handler: shared::consumer!(handle),
        summary: "Delivers administrators' notices to their audience, a page of one audience shard at a time",
        example: r#"{"noticeId":"01JD3K4Q5R6S7T8V9W0XYZABCD","shard":3,"after":"01JD3K4Q5R6S7T8V9W0XYZABCE"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.timeout(120);

/// Members per page (one message).
const PAGE: usize = 100;
/// Members of a page told side by side.
const LANES: usize = 8;
/// How long a member's delivery guard is kept: longer than any redelivery.
const GUARD_SECS: i64 = 30 * 24 * 3600;

pub async fn handle(ctx: Arc<AppContext>, page: NoticePage) -> Result<(), MessageError> {
    let Some(notice) = ctx.table.get::<Notice>(&notice_key(&page.notice_id)).await? else {
        return Err(MessageError::Permanent("no such notice".into()));
    };
    if page.shard >= identity_contract::AUDIENCE_SHARDS {
        return Err(MessageError::Permanent("no such audience shard".into()));
    }
    let shard_key = notice_shard_key(&notice.id, page.shard);
    let state = ctx.table.get_item(&shard_key).await?.unwrap_or_default();
    let cursor = match state.get("after") {
        Some(AttrValue::S(a)) => Some(a.clone()),
        _ => None,
    };
    if matches!(state.get("done"), Some(AttrValue::Bool(true))) || cursor != page.after {
        // An old copy: the shard moved past this page already.
        return Ok(());
    }
    let (members, more) =
        identity_contract::audience_page(&ctx, notice.audience, page.shard, page.after.as_deref(), PAGE).await?;
    let accounts: HashMap<String, AccountRecord> =
        identity_contract::account_records(&ctx, &members).await?.into_iter().map(|a| (a.id.clone(), a)).collect();
    let (settings, pushable) = settings_of(&ctx, &members).await?;
    // Lanes side by side; each lane's members one after another, each lane with counters of its
    // own, so that no two transactions in flight touch the same item.
    let lanes = (0..LANES).map(|lane| {
        let (ctx, notice, accounts, settings, members, pushable) =
            (&ctx, &notice, &accounts, &settings, &members, &pushable);
        async move {
            for member in members.iter().skip(lane).step_by(LANES) {
                let account = accounts.get(member).filter(|a| a.status == identity_contract::AccountStatus::Active);
                let settings = settings.get(member).copied().unwrap_or_default();
                let to = Recipient { id: member, account, settings, has_subscriptions: pushable.contains(member) };
                deliver(ctx, notice, page.shard, lane as u32, to).await?;
            }
            ApiResult::Ok(())
        }
    });
    futures::future::try_join_all(lanes).await?;

    // Past this page: the cursor moves and the next page is queued, together, once.
    let mut advance = Write::update(shard_key, "SET #after = :last, done = :done")
        .name("#after", "after")
        .value(":done", b(!more))
        .value(":last", members.last().map(s).unwrap_or_else(|| AttrValue::Null(true)));
    advance = match &page.after {
        None => advance.when("attribute_not_exists(#after)", NotificationError::DuplicateEvent),
        Some(prev) => advance.value(":prev", s(prev)).when("#after = :prev", NotificationError::DuplicateEvent),
    };
    let mut writes = vec![advance];
    if more && let Some(last) = members.last() {
        let next = NoticePage { notice_id: notice.id.clone(), shard: page.shard, after: Some(last.clone()) };
        writes.push(shared::outbox::message(&ctx, &notifications_contract::NOTICES, &next)?);
    }
    ctx.table.transact(writes).await.tolerate(&NotificationError::DuplicateEvent)?;
    Ok(())
}

/// The notification settings of `users` (defaults for those who never changed them), and which
/// of them have push subscriptions: one batch.
async fn settings_of(
    ctx: &AppContext,
    users: &[String],
) -> ApiResult<(HashMap<String, Settings>, std::collections::HashSet<String>)> {
    let keys: Vec<_> = users.iter().map(|u| settings_key(u)).collect();
    let counts: Vec<_> = users.iter().map(|u| crate::keys::push_count_key(u)).collect();
    let [found, counted] = ctx.table.batch_get_groups([&keys, &counts]).await?;
    let mut out = HashMap::new();
    for (user, item) in users.iter().zip(found) {
        if let Some(item) = item {
            out.insert(user.clone(), crate::model::settings_of_item(item)?);
        }
    }
    let pushable = users
        .iter()
        .zip(&counted)
        .filter(|(_, c)| crate::push_worker::has_subscriptions(Some(c)))
        .map(|(u, _)| u.clone())
        .collect();
    Ok((out, pushable))
}

/// One member of a page, with what their delivery depends on.
struct Recipient<'a> {
    id: &'a str,
    /// None: gone or not active.
    account: Option<&'a AccountRecord>,
    settings: Settings,
    has_subscriptions: bool,
}

async fn deliver(ctx: &AppContext, notice: &Notice, shard: u32, lane: u32, to: Recipient<'_>) -> ApiResult<()> {
    let Recipient { id: member, account, settings, has_subscriptions } = to;
    let now = ctx.now();
    let mut guard = crate::keys::event_seen_key(&format!("notice-{}-{member}", notice.id)).to_item();
    guard.insert(shared::table::TTL_ATTRIBUTE.into(), n(now.timestamp() + GUARD_SECS));
    let mut writes = vec![Write::put_item(guard).if_absent(NotificationError::DuplicateEvent)];
    let tell = account.filter(|_| settings.app().allows(NotificationKind::Notice));
    let counters = if tell.is_some() { "ADD targeted :one, delivered :one" } else { "ADD targeted :one" };
    writes.push(Write::update(notice_lane_key(&notice.id, shard, lane), counters).value(":one", n(1)));
    if let Some(account) = tell {
        let notification = Notification {
            id: shared::ids::new_id(now),
            recipient_id: member.to_string(),
            kind: NotificationKind::Notice,
            title: notice.title.clone(),
            body: notice.body.clone(),
            target_type: "NOTICE".into(),
            target_id: notice.id.clone(),
            actor: Actor { id: notifications_contract::SYSTEM_ACTOR.into(), nickname: "운영팀".into() },
            read: false,
            created_at: now,
            count: None,
        };
        if has_subscriptions && settings.push.allows(NotificationKind::Notice) {
            let job = crate::push_worker::PushJob {
                notification_id: notification.id.clone(),
                recipient_id: member.to_string(),
                kind: NotificationKind::Notice,
                title: notification.title.clone(),
                body: notification.body.clone(),
                target_type: notification.target_type.clone(),
                target_id: notification.target_id.clone(),
                topic: None,
            };
            writes.push(shared::outbox::message(ctx, &crate::push_worker::WEB_PUSH, &job)?);
        }
        writes.push(Write::put(&notification)?);
        writes.push(Write::update(counter_key(member), "ADD unread :one").value(":one", n(1)));
        if settings.email.allows(NotificationKind::Notice) {
            let email = Email {
                to: account.email.clone(),
                subject: format!("[펫플랫폼] {}", notice.title),
                text: notice.body.clone(),
                dedup_key: format!("notice:{}:{member}", notice.id),
            };
            writes.push(shared::outbox::message(ctx, &queues::MAIL, &email)?);
        }
    }
    // Told before (a page handled twice): nothing more.
    ctx.table.transact(writes).await.tolerate(&NotificationError::DuplicateEvent)?;
    Ok(())
}
