//! What one unit of work (a request, a message) spent on the table: its calls by operation and
//! where their time went. A request's table handle carries a [`Tally`]; each operation it sends
//! carries a [`TallyCalls`] interceptor holding it (`customize().interceptor(…)`), so the count
//! is keyed by the request, whatever else runs at the same time, and nothing is rebuilt per
//! request (a client built per request cost half a millisecond in a debug build).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// The DynamoDB calls one unit of work (a request, a message) made, by operation, and where
/// its time went (the benchmarks' breakdown; not kept in the ledger files).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallTally {
    pub total: u64,
    pub by_operation: std::collections::BTreeMap<String, u64>,
    /// Writes tried again because a transaction in flight held their items.
    #[serde(default)]
    pub conflicts_retried: u64,
    /// The whole unit of work, DynamoDB calls included.
    #[serde(skip)]
    pub elapsed: Duration,
    /// Inside the SDK's operations: building, signing and parsing the calls, and waiting for
    /// the table (summed over the calls, so concurrent calls count each).
    #[serde(skip)]
    pub in_sdk: Duration,
    /// Of that, the HTTP round trips to the table: what the table (or its stand-in) took.
    #[serde(skip)]
    pub on_the_wire: Duration,
}

/// One unit of work's tally, shared by its table handle and its dispatcher.
#[derive(Debug, Clone, Default)]
pub struct Tally(Arc<Mutex<CallTally>>);

impl Tally {
    /// The figures so far.
    pub fn snapshot(&self) -> CallTally {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// One write tried again after a transaction conflict.
    pub(crate) fn conflict_retried(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).conflicts_retried += 1;
    }
    /// The interceptor that adds one operation's call to this tally.
    pub(crate) fn interceptor(&self) -> TallyCalls {
        TallyCalls(self.clone())
    }
}

/// Adds each call of one unit of work to that unit's tally.
#[derive(Debug, Clone)]
pub(crate) struct TallyCalls(Tally);

impl TallyCalls {
    fn add(&self, add: impl FnOnce(&mut CallTally)) {
        add(&mut self.0.0.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// When the call (or the attempt's transmission) began, kept in the operation's own config bag
/// so that concurrent calls in one task are timed apart.
#[derive(Debug, Clone, Copy)]
struct CallStarted(Instant);
impl Storable for CallStarted {
    type Storer = StoreReplace<Self>;
}
#[derive(Debug, Clone, Copy)]
struct TransmitStarted(Instant);
impl Storable for TransmitStarted {
    type Storer = StoreReplace<Self>;
}

impl aws_sdk_dynamodb::config::Intercept for TallyCalls {
    fn name(&self) -> &'static str {
        "TallyCalls"
    }
    fn read_before_execution(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.add(|t| {
            t.total += 1;
            *t.by_operation.entry(operation_name(context.input()).to_string()).or_default() += 1;
        });
        cfg.interceptor_state().store_put(CallStarted(Instant::now()));
        Ok(())
    }
    fn read_before_transmit(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        cfg.interceptor_state().store_put(TransmitStarted(Instant::now()));
        Ok(())
    }
    fn read_after_transmit(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if let Some(TransmitStarted(at)) = cfg.load::<TransmitStarted>() {
            let took = at.elapsed();
            self.add(|t| t.on_the_wire += took);
        }
        Ok(())
    }
    fn read_after_execution(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if let Some(CallStarted(at)) = cfg.load::<CallStarted>() {
            let took = at.elapsed();
            self.add(|t| t.in_sdk += took);
        }
        Ok(())
    }
}

/// The DynamoDB operation a call's input belongs to.
fn operation_name(input: &aws_smithy_runtime_api::client::interceptors::context::Input) -> &'static str {
    use aws_sdk_dynamodb::operation as op;
    macro_rules! name_of {
        ($($module:ident :: $input:ident => $name:literal),* $(,)?) => {
            $(if input.downcast_ref::<op::$module::$input>().is_some() { return $name; })*
        };
    }
    name_of!(
        get_item::GetItemInput => "GetItem",
        batch_get_item::BatchGetItemInput => "BatchGetItem",
        query::QueryInput => "Query",
        put_item::PutItemInput => "PutItem",
        update_item::UpdateItemInput => "UpdateItem",
        delete_item::DeleteItemInput => "DeleteItem",
        transact_write_items::TransactWriteItemsInput => "TransactWriteItems",
        transact_get_items::TransactGetItemsInput => "TransactGetItems",
        batch_write_item::BatchWriteItemInput => "BatchWriteItem",
        scan::ScanInput => "Scan",
    );
    "other"
}
