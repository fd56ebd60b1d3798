//! A write the request as a whole owes — the caller's write-rate counter — carried by the first
//! write the handler makes instead of costing a call of its own.
//!
//! [`with_charge`] lends the pending write to the handler's task. The first transaction the
//! handler makes takes it in as one more item (put first, so a full window is the error
//! reported): the request's write and its count commit together, or neither does, and a request
//! refused for another reason is not counted. A single-item write or a batch cannot take it in
//! (a single write returns the item; a transaction costs twice the units), so it is written on
//! its own just before them, as it always was. What is left after the handler — a request that
//! wrote nothing through the table — is settled by the caller.

use std::sync::Mutex;

use super::Write;

tokio::task_local! {
    static PENDING: Mutex<Option<Write>>;
}

/// Runs `work` with `charge` pending; returns its output and the charge if nothing took it.
pub async fn with_charge<F: std::future::Future>(charge: Option<Write>, work: F) -> (F::Output, Option<Write>) {
    PENDING
        .scope(Mutex::new(charge), async move {
            let out = work.await;
            (out, take())
        })
        .await
}

/// The pending charge, if this task has one; nobody else will write it.
pub(super) fn take() -> Option<Write> {
    PENDING.try_with(|p| p.lock().unwrap_or_else(|e| e.into_inner()).take()).ok().flatten()
}

/// Gives back a charge whose transaction failed: the next write carries it.
pub(super) fn give_back(charge: Write) {
    let _ = PENDING.try_with(|p| *p.lock().unwrap_or_else(|e| e.into_inner()) = Some(charge));
}
