//! How a notification is told: what it says, and how it reaches the recipient's live
//! connections (the notification worker's and the chat notices').

use notifications_contract::NotificationKind;
use shared::AppContext;

use crate::model::{Notification, counter_key};

/// A notification's title and body.
pub fn text(kind: NotificationKind, nickname: &str, excerpt: Option<&str>) -> (String, String) {
    let ex = excerpt.unwrap_or_default();
    match kind {
        NotificationKind::Like => ("좋아요".into(), format!("{nickname}님이 회원님의 게시물을 좋아합니다.")),
        NotificationKind::Comment => ("새 댓글".into(), format!("{nickname}님이 댓글을 남겼습니다: {ex}")),
        NotificationKind::Reply => {
            ("새 답글".into(), format!("{nickname}님이 회원님의 댓글에 답글을 남겼습니다: {ex}"))
        }
        NotificationKind::Mention => ("언급".into(), format!("{nickname}님이 회원님을 언급했습니다: {ex}")),
        NotificationKind::Follow => ("새 팔로워".into(), format!("{nickname}님이 회원님을 팔로우하기 시작했습니다.")),
        NotificationKind::Chat => ("새 메시지".into(), format!("{nickname}: {ex}")),
        NotificationKind::Payout => ("포인트 출금".into(), ex.to_string()),
        NotificationKind::Refund => ("환불".into(), ex.to_string()),
        NotificationKind::TradeSold => ("판매 완료".into(), format!("{ex}…이 판매되었습니다!")),
        NotificationKind::HealthReminder => ("건강 알림".into(), ex.to_string()),
        NotificationKind::PrescriptionRead => ("처방전 인식".into(), ex.to_string()),
        NotificationKind::AccountUnblocked => {
            ("이용 제한 해제".into(), "이용 제한 기간이 끝나 다시 모든 기능을 이용할 수 있습니다.".into())
        }
        NotificationKind::ContentRemoved => {
            ("게시물 삭제".into(), format!("운영 정책에 따라 회원님의 게시물이 삭제되었습니다. 사유: {ex}"))
        }
        NotificationKind::ReportDecided => ("신고 처리 결과".into(), format!("회원님의 신고가 처리되었습니다: {ex}")),
        NotificationKind::Notice => ("공지사항".into(), ex.to_string()),
        NotificationKind::Campaign => ("캠페인".into(), ex.to_string()),
        NotificationKind::Community => {
            ("커뮤니티 댓글".into(), format!("{nickname}님이 커뮤니티 글에 댓글을 남겼습니다: {ex}"))
        }
    }
}

/// Pushes a stored notification to every live connection of its recipient, with their unread
/// count. The inbox has it whatever happens here, so a failed push is logged, not retried.
pub async fn push_live(ctx: &AppContext, notification: &Notification) {
    if let Err(e) = try_push_live(ctx, notification).await {
        tracing::warn!(error = %e, "a notification was stored but not pushed");
    }
}

async fn try_push_live(ctx: &AppContext, notification: &Notification) -> shared::ApiResult<()> {
    // The unread count and the live connections, in one read.
    let user = &notification.recipient_id;
    let keys = [counter_key(user), shared::push::user_connections_key(user)];
    let [counter, listed] = <[_; 2]>::try_from(ctx.table.batch_get_items(&keys).await?)
        .map_err(|_| shared::ApiError::internal("a batch read answers each key"))?;
    let unread_count = crate::inbox::unread_in(counter)?;
    let connections = shared::push::live_in(listed.as_ref(), ctx.now().timestamp());
    let frame = NotificationFrame { kind: "notification", notification, unread_count };
    shared::push::to_connections(ctx, &connections, &frame).await?;
    Ok(())
}

/// The frame a live connection gets for a new notification.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    notification: &'a Notification,
    unread_count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_says_who_did_what() {
        let (title, body) = text(NotificationKind::Comment, "산책왕", Some("귀여워요"));
        assert_eq!(title, "새 댓글");
        assert!(body.starts_with("산책왕님이") && body.ends_with("귀여워요"), "{body}");
        let (_, body) = text(NotificationKind::Follow, "산책왕", None);
        assert!(body.contains("팔로우"), "{body}");
        for kind in [NotificationKind::Like, NotificationKind::Reply, NotificationKind::Mention] {
            assert!(text(kind, "a", Some("b")).1.starts_with("a님이"));
        }
    }
}
