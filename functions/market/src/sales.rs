//! What follows a sale, off the confirm's path: the other buyers' open orders of a sold listing
//! fail, so that each of them hears "sold to another buyer" rather than a widget left waiting.
//! Nothing depends on it for correctness: a confirm of any of those orders is refused by the
//! listing's own condition (SOLD), and an order read shows an open order of a sold listing as
//! failed, whether written down yet or not (the orders are found through an index, which can be
//! a moment behind the newest order). This writes it down.

use std::sync::Arc;

use market_contract::SaleStatusChanged;
use shared::routes::{Function, Permission, Worker};
use shared::table::{Gsi, Query, Write, s, time};
use shared::worker::MessageError;
use shared::{ApiError, AppContext};

use crate::error::MarketError;
use crate::keys;
use crate::payments::{Order, OrderStatus, sold_to_another};

/// Sale statuses, for the market's own worker (which acts on `SOLD`).
pub const SALES: shared::queues::Queue =
    shared::queues::Queue { name: "market-sales", visibility_timeout_secs: 60, max_receive_count: 5 };

pub static SALES_WORKER: Function = Function::worker(
    "market-sales-worker",
    crate::PKG,
    Worker {
        name: "market-sales",
        queue: &SALES,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Fails the other buyers' open orders of a listing that was sold",
        example: r#"{"marketPostId":"01JD3K4Q5R6S7T8V9W0XYZABCD","status":"SOLD"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite])
.subscribes(&[&market_contract::SALE_STATUS]);

pub async fn handle(ctx: Arc<AppContext>, event: SaleStatusChanged) -> Result<(), MessageError> {
    if event.status != "SOLD" {
        return Ok(());
    }
    fail_open_orders(&ctx, &event.market_post_id).await
}

/// Every order of `listing` still waiting for its buyer to pay fails. The orders are found
/// through an index, whose copies may be behind: each one is failed only if the stored order is
/// still READY, and only its status and reason are written.
async fn fail_open_orders(ctx: &AppContext, listing: &str) -> Result<(), MessageError> {
    let query = Query::partition(keys::orders_of_listing_partition(listing)).index(Gsi::Gsi1);
    let failure: shared::table::AttrValue =
        serde_dynamo::to_attribute_value(sold_to_another()).map_err(ApiError::from)?;
    for item in ctx.table.query_items_all(&query, Some(1_000)).await? {
        let Ok(o) = serde_dynamo::from_item::<_, Order>(item) else { continue };
        if o.status != OrderStatus::Ready {
            continue;
        }
        let w = Write::update(keys::order_key(&o.id), "SET #st = :failed, failure = :why, updatedAt = :now")
            .name("#st", "status")
            .value(":failed", s("FAILED"))
            .value(":ready", s("READY"))
            .value(":why", failure.clone())
            .value(":now", time(ctx.now()))
            .when("#st = :ready", MarketError::OrderChanged);
        match ctx.table.write(w).await {
            Err(e) if e.is(&MarketError::OrderChanged) => {} // paid, refused or failed meanwhile
            other => other?,
        }
    }
    Ok(())
}
