//! A write the request as a whole owes — the caller's write-rate counter — carried by the first
//! write the handler makes instead of costing a call of its own.
//!
//! The dispatcher gives each request its own table handle ([`Table::for_request`]) holding the
//! pending write in a [`Slot`]. The first transaction the handler makes takes it in as one more
//! item (put first, so a full window is the error reported): the request's write and its count
//! commit together, or neither does, and a request refused for another reason is not counted.
//! A single-item write or a batch cannot take it in (a single write returns the item; a
//! transaction costs twice the units), so it is written on its own just before them. What is
//! left after the handler — a request that wrote nothing through the table — is settled by the
//! dispatcher from the slot it kept.
//!
//! [`Table::for_request`]: super::Table::for_request

use std::sync::{Arc, Mutex};

use super::Write;

/// The pending charge of one request, shared by its table handle and the dispatcher.
#[derive(Debug, Clone)]
pub struct Slot(Arc<Mutex<Option<Write>>>);

impl Slot {
    pub(super) fn new(charge: Option<Write>) -> Self {
        Self(Arc::new(Mutex::new(charge)))
    }

    /// The pending charge, if nothing took it yet; nobody else will write it.
    pub fn take(&self) -> Option<Write> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Makes `charge` pending (the dispatcher, once the guard knows the caller; or a charge
    /// whose transaction failed, given back: the next write carries it).
    pub fn put(&self, charge: Write) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(charge);
    }
}
