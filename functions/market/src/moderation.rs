//! The market's removal worker: listings a moderator removed (see [`moderation_contract::moderation`]) are
//! taken down exactly as their seller's delete does, and the seller is told why in the same
//! transaction. A listing with a payment in progress waits for the payment to settle.

use std::sync::Arc;

use moderation_contract::moderation::{Removal, TargetType};
use shared::AppContext;
use shared::routes::{Function, Permission, Worker};
use shared::worker::MessageError;

use crate::error::MarketError;

pub static REMOVAL_WORKER: Function = Function::worker(
    "market-removals-worker",
    crate::PKG,
    Worker {
        name: "market-removals",
        queue: &market_contract::MARKET_REMOVALS,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Takes down the listings moderators removed, as their sellers would, and tells the sellers why",
        example: r#"{"id":"01JD3K4Q5R6S7T8V9W0XYZABCE","targetType":"MARKET_POST","targetId":"01JD3K4Q5R6S7T8V9W0XYZABCD","reason":"판매 금지 품목","adminId":"01JD3K4Q5R6S7T8V9W0XYZABCF"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite]);

/// How long a removal waits for a payment in progress.
const PAYMENT_WAIT_SECS: u32 = 60;

pub async fn handle(ctx: Arc<AppContext>, removal: Removal) -> Result<(), MessageError> {
    if removal.target_type != TargetType::MarketPost {
        return Err(MessageError::Permanent(format!("the market holds no {}", removal.target_type.as_str())));
    }
    let Some(listing) = crate::listings::find(&ctx, &removal.target_id).await? else { return Ok(()) };
    if listing.deleted {
        return Ok(());
    }
    let told = notifications_contract::content_removed(&ctx, &removal, &listing.seller_id)?;
    match crate::listings::remove(&ctx, listing, told).await {
        Err(e) if e.is(&MarketError::NotForSale) => Err(MessageError::RetryAfter {
            after_secs: PAYMENT_WAIT_SECS,
            reason: "a payment for the listing is in progress".into(),
        }),
        // Changed meanwhile (a sale, an edit): read it again on the next delivery.
        Err(e) if e.status().as_u16() == 409 => Err(MessageError::Retry(e.to_string())),
        Err(e) if e.is(&MarketError::ListingNotFound) => Ok(()),
        other => Ok(other?),
    }
}
