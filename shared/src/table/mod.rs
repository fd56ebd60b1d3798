//! The single-table access layer over `aws-sdk-dynamodb`.
//!
//! - [`Entity`]: each entity knows its own keys and becomes an item through `serde_dynamo`.
//! - [`Write`]: a put, update, delete or condition check with the domain error its condition
//!   failing means; used alone ([`Table::write`]) or in a transaction ([`Table::transact`]), where
//!   a cancelled transaction becomes the error of the write whose condition failed.
//! - [`Query`] + [`Page`]: key-ordered pages with opaque, tamper-evident cursors.
//!
//! Nothing here scans: every call names its partition.

pub mod charge;
pub mod cursor;
pub mod definition;
pub mod prefetch;
pub mod tally;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, KeysAndAttributes, Put, ReturnValue, TransactWriteItem, Update,
};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{ApiError, ApiResult};
pub use aws_sdk_dynamodb::types::AttributeValue as AttrValue;
pub use cursor::CursorCodec;
pub use definition::{ENTITY_TYPE, Gsi, PK, SK, TTL_ATTRIBUTE};

pub type Item = HashMap<String, AttributeValue>;

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }
    pub fn to_item(&self) -> Item {
        HashMap::from([(PK.to_string(), s(&self.pk)), (SK.to_string(), s(&self.sk))])
    }
}

/// A string attribute value.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
/// A time as `serde` writes it into items (RFC 3339, UTC, `Z`), for conditions that compare.
pub fn time(t: chrono::DateTime<chrono::Utc>) -> AttributeValue {
    AttributeValue::S(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}
/// A boolean attribute value.
pub fn b(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}
/// A number attribute value.
pub fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A thing stored in the table. Implementors say where they live; the rest is derived.
pub trait Entity: Serialize + DeserializeOwned + Send + Sync {
    /// Written to the `entityType` attribute of every item of this kind.
    const TYPE: &'static str;

    fn pk(&self) -> String;
    fn sk(&self) -> String;

    /// Index keys this item is reachable by: `(index, partition, sort)`.
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        Vec::new()
    }

    /// Epoch seconds after which the item is gone (TTL).
    fn expires_at(&self) -> Option<i64> {
        None
    }

    fn key(&self) -> Key {
        Key::new(self.pk(), self.sk())
    }

    fn to_item(&self) -> ApiResult<Item> {
        let mut item: Item = serde_dynamo::to_item(self)?;
        item.insert(PK.into(), s(self.pk()));
        item.insert(SK.into(), s(self.sk()));
        item.insert(ENTITY_TYPE.into(), s(Self::TYPE));
        for (g, pk, sk) in self.index_keys() {
            item.insert(g.pk().into(), s(pk));
            item.insert(g.sk().into(), s(sk));
        }
        if let Some(at) = self.expires_at() {
            item.insert(TTL_ATTRIBUTE.into(), n(at));
        }
        Ok(item)
    }

    fn from_item(item: Item) -> ApiResult<Self> {
        Ok(serde_dynamo::from_item(item)?)
    }
}

/// Whether an item's TTL has passed (DynamoDB may take days to delete it).
pub fn is_expired(item: &Item, now_epoch: i64) -> bool {
    matches!(item.get(TTL_ATTRIBUTE), Some(AttributeValue::N(v)) if v.parse::<i64>().is_ok_and(|t| t <= now_epoch))
}

/// A condition and the error its failure means.
#[derive(Debug)]
pub struct Condition {
    pub expression: String,
    pub on_fail: ApiError,
}

#[derive(Debug)]
enum WriteKind {
    Put(Item),
    Update { key: Key, expression: String },
    Delete(Key),
    Check(Key),
}

/// One write, alone or as part of a transaction.
#[derive(Debug)]
pub struct Write {
    kind: WriteKind,
    condition: Option<Condition>,
    names: HashMap<String, String>,
    values: Item,
    /// In a transaction, a failed condition hands back the item as it is (see [`Write::seeing`]).
    seeing: bool,
}

impl Write {
    fn of(kind: WriteKind) -> Self {
        Self { kind, condition: None, names: HashMap::new(), values: HashMap::new(), seeing: false }
    }
    /// Put an entity (replacing any item with its key unless a condition says otherwise).
    pub fn put<E: Entity>(entity: &E) -> ApiResult<Self> {
        Ok(Self::of(WriteKind::Put(entity.to_item()?)))
    }
    pub fn put_item(item: Item) -> Self {
        Self::of(WriteKind::Put(item))
    }
    /// Apply an update expression (`SET ... ADD ... REMOVE ...`).
    pub fn update(key: Key, expression: impl Into<String>) -> Self {
        Self::of(WriteKind::Update { key, expression: expression.into() })
    }
    pub fn delete(key: Key) -> Self {
        Self::of(WriteKind::Delete(key))
    }
    /// In a transaction, when this write's condition fails, the request's next read of its item
    /// is answered with the item the condition saw (`ReturnValuesOnConditionCheckFailure`), at no
    /// call: a writer that lost a race to another learns where it stands without reading again.
    pub fn seeing(mut self) -> Self {
        self.seeing = true;
        self
    }
    /// The item this write is about.
    fn target(&self) -> Option<Key> {
        match &self.kind {
            WriteKind::Put(item) => match (item.get(PK), item.get(SK)) {
                (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => Some(Key::new(pk, sk)),
                _ => None,
            },
            WriteKind::Update { key, .. } | WriteKind::Delete(key) | WriteKind::Check(key) => Some(key.clone()),
        }
    }
    /// The item this write changes (a check changes none).
    fn changes(&self) -> Option<Key> {
        if matches!(self.kind, WriteKind::Check(_)) { None } else { self.target() }
    }
    fn seen_on_failure(&self) -> Option<aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure> {
        self.seeing.then_some(aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld)
    }
    /// Replace the update expression of an update built up piece by piece.
    pub fn expression(mut self, expression: impl Into<String>) -> Self {
        if let WriteKind::Update { expression: e, .. } = &mut self.kind {
            *e = expression.into();
        }
        self
    }
    /// Only check a condition on another item (a transaction's guard).
    pub fn check(key: Key, expression: impl Into<String>, on_fail: impl Into<ApiError>) -> Self {
        Self::of(WriteKind::Check(key)).when(expression, on_fail)
    }

    /// Make the write conditional.
    pub fn when(mut self, expression: impl Into<String>, on_fail: impl Into<ApiError>) -> Self {
        self.condition = Some(Condition { expression: expression.into(), on_fail: on_fail.into() });
        self
    }
    /// Only if no item with this key exists (uniqueness).
    pub fn if_absent(self, on_fail: impl Into<ApiError>) -> Self {
        self.when("attribute_not_exists(PK)", on_fail)
    }
    /// Only if the item exists.
    pub fn if_present(self, on_fail: impl Into<ApiError>) -> Self {
        self.when("attribute_exists(PK)", on_fail)
    }
    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.insert(placeholder.into(), attribute.into());
        self
    }
    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.into(), value);
        self
    }

    fn names_opt(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    fn values_opt(&self) -> Option<Item> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
    fn condition_expr(&self) -> Option<String> {
        self.condition.as_ref().map(|c| c.expression.clone())
    }

    fn to_transact_item(&self, table: &str) -> ApiResult<TransactWriteItem> {
        let b = TransactWriteItem::builder();
        let built = match &self.kind {
            WriteKind::Put(item) => b.put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(item.clone()))
                    .set_condition_expression(self.condition_expr())
                    .set_expression_attribute_names(self.names_opt())
                    .set_expression_attribute_values(self.values_opt())
                    .set_return_values_on_condition_check_failure(self.seen_on_failure())
                    .build()
                    .map_err(ApiError::internal)?,
            ),
            WriteKind::Update { key, expression } => b.update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key.to_item()))
                    .update_expression(expression)
                    .set_condition_expression(self.condition_expr())
                    .set_expression_attribute_names(self.names_opt())
                    .set_expression_attribute_values(self.values_opt())
                    .set_return_values_on_condition_check_failure(self.seen_on_failure())
                    .build()
                    .map_err(ApiError::internal)?,
            ),
            WriteKind::Delete(key) => b.delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(key.to_item()))
                    .set_condition_expression(self.condition_expr())
                    .set_expression_attribute_names(self.names_opt())
                    .set_expression_attribute_values(self.values_opt())
                    .set_return_values_on_condition_check_failure(self.seen_on_failure())
                    .build()
                    .map_err(ApiError::internal)?,
            ),
            WriteKind::Check(key) => b.condition_check(
                ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key.to_item()))
                    .condition_expression(self.condition_expr().unwrap_or_default())
                    .set_expression_attribute_names(self.names_opt())
                    .set_expression_attribute_values(self.values_opt())
                    .set_return_values_on_condition_check_failure(self.seen_on_failure())
                    .build()
                    .map_err(ApiError::internal)?,
            ),
        };
        Ok(built.build())
    }

    /// The write as one request of a BatchWriteItem: a put or a delete, with no condition.
    fn into_batch_request(self) -> ApiResult<aws_sdk_dynamodb::types::WriteRequest> {
        use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
        if self.condition.is_some() {
            return Err(ApiError::internal("a batch write has no conditions"));
        }
        Ok(match self.kind {
            WriteKind::Put(item) => WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(ApiError::internal)?)
                .build(),
            WriteKind::Delete(key) => WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder().set_key(Some(key.to_item())).build().map_err(ApiError::internal)?,
                )
                .build(),
            WriteKind::Update { .. } | WriteKind::Check(_) => {
                return Err(ApiError::internal("a batch write holds only puts and deletes"));
            }
        })
    }

    fn failed(self) -> ApiError {
        self.condition.map(|c| c.on_fail).unwrap_or_else(|| TableError::Changed.into())
    }
}

/// Sort-key condition of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    All,
    BeginsWith(String),
    Between(String, String),
    After(String),
    Before(String),
}

/// A query on one partition of the table or of an index.
#[derive(Debug, Clone)]
pub struct Query {
    pub index: Option<Gsi>,
    pub partition: String,
    pub sort: SortKey,
    pub newest_first: bool,
    pub limit: usize,
    pub cursor: Option<String>,
    /// Leave out items whose TTL has passed but that DynamoDB has not deleted yet.
    pub hide_expired_at: Option<i64>,
}

impl Query {
    pub fn partition(partition: impl Into<String>) -> Self {
        Self {
            index: None,
            partition: partition.into(),
            sort: SortKey::All,
            newest_first: false,
            limit: 20,
            cursor: None,
            hide_expired_at: None,
        }
    }
    pub fn index(mut self, index: Gsi) -> Self {
        self.index = Some(index);
        self
    }
    pub fn sort(mut self, sort: SortKey) -> Self {
        self.sort = sort;
        self
    }
    pub fn begins_with(self, prefix: impl Into<String>) -> Self {
        self.sort(SortKey::BeginsWith(prefix.into()))
    }
    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit.max(1);
        self
    }
    pub fn cursor(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor.filter(|c| !c.is_empty());
        self
    }
    pub fn hide_expired(mut self, now_epoch: i64) -> Self {
        self.hide_expired_at = Some(now_epoch);
        self
    }

    /// What a cursor is bound to: the same list, whichever page.
    fn scope(&self) -> String {
        format!(
            "{}|{}|{:?}|{}",
            self.index.map(Gsi::name).unwrap_or("table"),
            self.partition,
            self.sort,
            self.newest_first
        )
    }

    fn key_names(&self) -> (&'static str, &'static str) {
        match self.index {
            None => (PK, SK),
            Some(g) => (g.pk(), g.sk()),
        }
    }
}

crate::domain_errors! {
    /// What the table answers when writes collide.
    pub enum TableError {
        /// An unconditional write of a transaction failed its (implicit) check.
        Changed => (409, "CONFLICT", "The resource was changed by another request."),
        /// A write kept colliding with transactions on the same items, through every retry:
        /// the table is busy here, so the caller comes back (503 with `Retry-After`).
        Contended => (503, "BUSY", "Many requests are changing the same data right now. Try again in a moment."),
        /// An idempotency record is held by a request still running.
        Claimed => (409, "IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is still being processed. Try again shortly."),
    }
}

/// One page of a list and the cursor of the next one.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Each page type has its own schema, named after what it lists (`PostViewPage`).
impl<T: utoipa::ToSchema> crate::schema::Documented for Page<T> {
    fn schema(out: &mut crate::schema::Schemas) -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        crate::schema::page::<T>(out)
    }
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

/// How many times a transaction that lost a race with another transaction is tried again.
const TRANSACTION_RETRIES: u32 = 10;

/// What a transaction does when it meets another in flight on one of its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnConflict {
    /// Pause and try again, [`TRANSACTION_RETRIES`] times.
    WaitItOut,
    /// Hand the conflict back to the caller.
    Return,
}

/// Error codes of a table that is busy or briefly unwell: the SDK has already retried them, so
/// the caller is told to come back (503 with `Retry-After`) rather than that we failed.
const BUSY: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
];

fn busy(op: &str, cause: impl std::fmt::Display) -> ApiError {
    tracing::warn!(op, cause = %cause, "the table is busy");
    ApiError::Unavailable { code: "BUSY", detail: "The service is busy. Try again in a moment.".into() }
}

/// A table call that failed after the SDK's retries: busy (503) or our failure (500).
fn failed<E, R>(op: &str, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> ApiError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
    let transient = matches!(e, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_))
        || e.code().is_some_and(|c| BUSY.contains(&c));
    if transient {
        busy(op, DisplayErrorContext(&e))
    } else {
        ApiError::internal(format!("{op}: {}", DisplayErrorContext(e)))
    }
}

/// What a failed single write means: its condition failed, it met a transaction, or else.
fn write_failure<E, R>(op: &str, e: aws_sdk_dynamodb::error::SdkError<E, R>) -> WriteFailure
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    match e.code() {
        Some("ConditionalCheckFailedException") => WriteFailure::Condition,
        Some("TransactionConflictException") => WriteFailure::Conflict,
        _ => WriteFailure::Error(failed(op, e)),
    }
}

/// The same for an error already taken out of its `SdkError`.
fn failed_service(op: &str, e: impl aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error) -> ApiError {
    use aws_sdk_dynamodb::error::DisplayErrorContext;
    if e.code().is_some_and(|c| BUSY.contains(&c)) {
        busy(op, DisplayErrorContext(&e))
    } else {
        ApiError::internal(format!("{op}: {}", DisplayErrorContext(e)))
    }
}

/// Why a transaction did not commit: the condition of the write at this position failed, or
/// something else did.
enum TransactFailure {
    Condition(usize),
    Error(ApiError),
}

impl From<ApiError> for TransactFailure {
    fn from(e: ApiError) -> Self {
        Self::Error(e)
    }
}

impl TransactFailure {
    /// The error to answer with; `writes` are the transaction's items from position `skipped`.
    fn into_error(self, mut writes: impl Iterator<Item = Write>, skipped: usize) -> ApiError {
        match self {
            Self::Condition(i) => i
                .checked_sub(skipped)
                .and_then(|i| writes.nth(i))
                .map(Write::failed)
                .unwrap_or_else(|| TableError::Changed.into()),
            Self::Error(e) => e,
        }
    }
}

/// Why a single write did not happen.
enum WriteFailure {
    /// Its condition failed.
    Condition,
    /// A transaction in flight holds the item.
    Conflict,
    Error(ApiError),
}

/// The table and the client that reaches it.
#[derive(Debug, Clone)]
pub struct Table {
    client: Client,
    name: String,
    cursors: CursorCodec,
    /// The write the request as a whole owes, when this handle is a request's (see [`charge`]).
    charge: Option<charge::Slot>,
    /// Where its calls are counted (a request's own, see [`tally`]).
    tally: tally::Tally,
    /// What the request read with its session, answered once each (see [`prefetch`]).
    prefetched: Option<prefetch::Slot>,
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>, cursor_secret: &[u8]) -> Self {
        Self {
            client,
            name: name.into(),
            cursors: CursorCodec::new(cursor_secret),
            charge: None,
            tally: tally::Tally::default(),
            prefetched: None,
        }
    }

    /// This table as one request sees it: its calls count in `tally`, and its first
    /// transaction carries `charge`, which the returned slot hands back if nothing took it.
    pub fn for_request(&self, tally: tally::Tally, charge: Option<Write>) -> (Table, charge::Slot) {
        let slot = charge::Slot::new(charge);
        let table = Table {
            client: self.client.clone(),
            name: self.name.clone(),
            cursors: self.cursors.clone(),
            charge: Some(slot.clone()),
            tally,
            prefetched: Some(prefetch::Slot::default()),
        };
        (table, slot)
    }

    /// Keeps `items`, read at `keys` with the request's session, for the handler's first read of
    /// each (a handle that is not a request's keeps nothing).
    pub fn prefetched(&self, keys: &[Key], items: Vec<Option<Item>>) {
        if let Some(slot) = &self.prefetched {
            for (k, i) in keys.iter().zip(items) {
                slot.put(k.clone(), i);
            }
        }
    }

    fn take_prefetched(&self, key: &Key) -> Option<Option<Item>> {
        self.prefetched.as_ref().and_then(|p| p.take(key))
    }

    /// A write makes what was read with the session stale: its items are read again.
    fn forget_prefetched<'a>(&self, writes: impl IntoIterator<Item = &'a Write>) {
        if let Some(slot) = &self.prefetched {
            for key in writes.into_iter().filter_map(Write::changes) {
                slot.take(&key);
            }
        }
    }
    pub fn client(&self) -> &Client {
        &self.client
    }
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Read one item (strongly consistent: right after a write the caller sees it).
    pub async fn get_item(&self, key: &Key) -> ApiResult<Option<Item>> {
        if let Some(read) = self.take_prefetched(key) {
            return Ok(read);
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key.to_item()))
            .consistent_read(true)
            .customize()
            .interceptor(self.tally.interceptor())
            .send()
            .await
            .map_err(|e| failed("GetItem", e))?;
        Ok(out.item)
    }

    pub async fn get<E: Entity>(&self, key: &Key) -> ApiResult<Option<E>> {
        self.get_item(key).await?.map(E::from_item).transpose()
    }

    /// One write; a failed condition becomes the write's error.
    pub async fn write(&self, w: Write) -> ApiResult<()> {
        self.write_returning(w).await.map(|_| ())
    }

    /// One write returning the item as it is after the write (updates), as it was before
    /// (deletes), or nothing (puts).
    pub async fn write_returning(&self, w: Write) -> ApiResult<Option<Item>> {
        if matches!(w.kind, WriteKind::Check(_)) {
            return self.transact(vec![w]).await.map(|_| None);
        }
        self.settle_charge().await?;
        self.forget_prefetched([&w]);
        self.write_one(w).await
    }

    /// The request's pending charge, if this handle is a request's and nothing took it yet.
    fn take_charge(&self) -> Option<Write> {
        self.charge.as_ref().and_then(charge::Slot::take)
    }

    /// Writes the request's pending charge (see [`charge`]) on its own, before a write that
    /// cannot carry it.
    async fn settle_charge(&self) -> ApiResult<()> {
        match self.take_charge() {
            Some(c) => self.write_one(c).await.map(|_| ()),
            None => Ok(()),
        }
    }

    /// One write, tried again while it conflicts with a transaction in flight on its item
    /// (`TransactionConflictException`, which the SDK does not retry), then 503 `BUSY`.
    async fn write_one(&self, w: Write) -> ApiResult<Option<Item>> {
        let mut attempt = 0;
        loop {
            match self.write_once(&w).await {
                Ok(item) => return Ok(item),
                Err(WriteFailure::Condition) => return Err(w.failed()),
                Err(WriteFailure::Error(e)) => return Err(e),
                Err(WriteFailure::Conflict) => {
                    attempt += 1;
                    if attempt >= TRANSACTION_RETRIES {
                        return Err(TableError::Contended.into());
                    }
                    self.tally.conflict_retried();
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
    }

    async fn write_once(&self, w: &Write) -> Result<Option<Item>, WriteFailure> {
        let names = w.names_opt();
        let values = w.values_opt();
        let cond = w.condition_expr();
        match &w.kind {
            WriteKind::Put(item) => self
                .client
                .put_item()
                .table_name(&self.name)
                .set_item(Some(item.clone()))
                .set_condition_expression(cond)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .customize()
                .interceptor(self.tally.interceptor())
                .send()
                .await
                .map(|_| None)
                .map_err(|e| write_failure("PutItem", e)),
            WriteKind::Update { key, expression } => self
                .client
                .update_item()
                .table_name(&self.name)
                .set_key(Some(key.to_item()))
                .update_expression(expression)
                .set_condition_expression(cond)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .return_values(ReturnValue::AllNew)
                .customize()
                .interceptor(self.tally.interceptor())
                .send()
                .await
                .map(|o| o.attributes)
                .map_err(|e| write_failure("UpdateItem", e)),
            WriteKind::Delete(key) => self
                .client
                .delete_item()
                .table_name(&self.name)
                .set_key(Some(key.to_item()))
                .set_condition_expression(cond)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .return_values(ReturnValue::AllOld)
                .customize()
                .interceptor(self.tally.interceptor())
                .send()
                .await
                .map(|o| o.attributes)
                .map_err(|e| write_failure("DeleteItem", e)),
            WriteKind::Check(_) => {
                Err(WriteFailure::Error(ApiError::internal("a condition check is written in a transaction")))
            }
        }
    }

    /// All writes or none. A failed condition becomes the error of the write it belongs to; a
    /// lost race with another transaction is retried, then answered with a 409. The request's
    /// pending charge, if any, rides along as the first item (see [`charge`]).
    pub async fn transact(&self, writes: Vec<Write>) -> ApiResult<()> {
        self.transact_with(writes, OnConflict::WaitItOut).await
    }

    /// [`Table::transact`] for a race the caller settles itself (senders taking a room's next
    /// number): a transaction that meets another in flight on one of its items fails with
    /// [`TableError::Contended`] at once, instead of after pauses of 20 ms and more,
    /// so that the caller can try again as soon as the other has committed.
    pub async fn transact_racing(&self, writes: Vec<Write>) -> ApiResult<()> {
        self.transact_with(writes, OnConflict::Return).await
    }

    async fn transact_with(&self, mut writes: Vec<Write>, on_conflict: OnConflict) -> ApiResult<()> {
        if writes.is_empty() {
            return Ok(());
        }
        self.forget_prefetched(&writes);
        let Some(c) = self.take_charge() else { return self.transact_now(writes, on_conflict).await };
        if writes.len() >= 100 {
            self.write_one(c).await?;
            return self.transact_now(writes, on_conflict).await;
        }
        writes.insert(0, c);
        match self.transact_items(&writes, on_conflict).await {
            Ok(()) => Ok(()),
            Err(TransactFailure::Condition(0)) => Err(writes.swap_remove(0).failed()),
            Err(failure) => {
                let mut writes = writes.into_iter();
                // Not taken: the next write carries it.
                if let (Some(c), Some(slot)) = (writes.next(), &self.charge) {
                    slot.put(c);
                }
                Err(failure.into_error(writes, 1))
            }
        }
    }

    /// [`Table::transact`] without the request's charge.
    async fn transact_now(&self, writes: Vec<Write>, on_conflict: OnConflict) -> ApiResult<()> {
        if writes.is_empty() {
            return Ok(());
        }
        self.transact_items(&writes, on_conflict).await.map_err(|f| f.into_error(writes.into_iter(), 0))
    }

    async fn transact_items(&self, writes: &[Write], on_conflict: OnConflict) -> Result<(), TransactFailure> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        if writes.len() > 100 {
            return Err(ApiError::internal("a transaction holds at most 100 writes").into());
        }
        let items = writes.iter().map(|w| w.to_transact_item(&self.name)).collect::<ApiResult<Vec<_>>>()?;
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .customize()
                .interceptor(self.tally.interceptor())
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(
                    e @ (aws_sdk_dynamodb::error::SdkError::TimeoutError(_)
                    | aws_sdk_dynamodb::error::SdkError::DispatchFailure(_)),
                ) => return Err(failed("TransactWriteItems", e).into()),
                Err(e) => e.into_service_error(),
            };
            match err {
                TransactWriteItemsError::TransactionCanceledException(cancel) => {
                    let reasons: Vec<Option<String>> =
                        cancel.cancellation_reasons().iter().map(|r| r.code().map(str::to_string)).collect();
                    if let Some(i) = reasons.iter().position(|c| c.as_deref() == Some("ConditionalCheckFailed")) {
                        if let (Some(slot), Some(key)) = (&self.prefetched, writes[i].target())
                            && writes[i].seeing
                        {
                            slot.put(key, cancel.cancellation_reasons()[i].item().cloned());
                        }
                        return Err(TransactFailure::Condition(i));
                    }
                    let raced = reasons.iter().any(|c| c.as_deref() == Some("TransactionConflict"));
                    if !raced {
                        return Err(ApiError::internal(format!("transaction cancelled: {reasons:?}")).into());
                    }
                }
                TransactWriteItemsError::TransactionInProgressException(_) => {}
                other => return Err(failed_service("TransactWriteItems", other).into()),
            }
            attempt += 1;
            if attempt >= TRANSACTION_RETRIES {
                return Err(ApiError::from(TableError::Contended).into());
            }
            // Tried again, here or by the caller that settles the race.
            self.tally.conflict_retried();
            if on_conflict == OnConflict::Return {
                return Err(ApiError::from(TableError::Contended).into());
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
    }

    /// Unconditional puts and deletes in BatchWriteItem chunks of 25, retrying unprocessed
    /// items; fails (never `Ok` with items unwritten) when some stay unprocessed. A batch takes
    /// only [`Write::put`]s and [`Write::delete`]s without conditions (BatchWriteItem has none).
    pub async fn batch_write(&self, writes: Vec<Write>) -> ApiResult<()> {
        self.forget_prefetched(&writes);
        let requests = writes.into_iter().map(Write::into_batch_request).collect::<ApiResult<Vec<_>>>()?;
        self.settle_charge().await?;
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            loop {
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(self.name(), pending)
                    .customize()
                    .interceptor(self.tally.interceptor())
                    .send()
                    .await
                    .map_err(|e| failed("BatchWriteItem", e))?;
                match out.unprocessed_items.and_then(|mut m| m.remove(self.name())) {
                    Some(rest) if !rest.is_empty() => {
                        attempt += 1;
                        if attempt >= 8 {
                            // Never report success with items unwritten: busy, so the request
                            // or message is tried again.
                            let left = rest.len();
                            return Err(busy(
                                "BatchWriteItem",
                                format!("{left} items unprocessed after {attempt} tries"),
                            ));
                        }
                        pending = rest;
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                    _ => break,
                }
            }
        }
        Ok(())
    }

    /// A signed cursor for a list the table does not page itself (sorted in memory): `fields`
    /// say where the next page starts; `scope` names the list, so a cursor fits only its list.
    pub fn sign_cursor(&self, scope: &str, fields: &[(&str, &str)]) -> ApiResult<String> {
        let key = fields.iter().map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string()))).collect();
        self.cursors.encode(scope, &key)
    }

    /// The fields of a cursor from [`Table::sign_cursor`]; 400 `INVALID_CURSOR` if altered.
    pub fn read_cursor(&self, scope: &str, cursor: &str) -> ApiResult<HashMap<String, String>> {
        Ok(self
            .cursors
            .decode(scope, cursor)?
            .into_iter()
            .filter_map(|(k, v)| match v {
                AttributeValue::S(s) => Some((k, s)),
                _ => None,
            })
            .collect())
    }

    /// Read many items by key, in the order asked (missing ones are `None`). One call per 100 keys.
    pub async fn batch_get_items(&self, keys: &[Key]) -> ApiResult<Vec<Option<Item>>> {
        let mut found: HashMap<Key, Item> = HashMap::new();
        let mut unique: Vec<&Key> = Vec::new();
        let mut seen: std::collections::HashSet<&Key> = std::collections::HashSet::new();
        for k in keys {
            if !seen.insert(k) {
                continue;
            }
            match self.take_prefetched(k) {
                Some(read) => found.extend(read.map(|i| (k.clone(), i))),
                None => unique.push(k),
            }
        }
        // The hundreds are read at once: a room of 300 is one round trip, not three.
        let chunks = futures::future::try_join_all(unique.chunks(100).map(|c| self.batch_get_chunk(c))).await?;
        for item in chunks.into_iter().flatten() {
            if let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) = (item.get(PK), item.get(SK)) {
                found.insert(Key::new(pk.clone(), sk.clone()), item);
            }
        }
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    /// Up to 100 keys in one BatchGetItem, asking again for the keys it left unprocessed.
    async fn batch_get_chunk(&self, chunk: &[&Key]) -> ApiResult<Vec<Item>> {
        let mut pending = KeysAndAttributes::builder()
            .set_keys(Some(chunk.iter().map(|k| k.to_item()).collect()))
            .consistent_read(true)
            .build()
            .map_err(ApiError::internal)?;
        let mut items = Vec::new();
        let mut attempt = 0;
        loop {
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.name, pending)
                .customize()
                .interceptor(self.tally.interceptor())
                .send()
                .await
                .map_err(|e| failed("BatchGetItem", e))?;
            items.extend(out.responses.unwrap_or_default().remove(&self.name).unwrap_or_default());
            match out.unprocessed_keys.unwrap_or_default().remove(&self.name) {
                Some(rest) if !rest.keys().is_empty() => {
                    attempt += 1;
                    if attempt >= 8 {
                        let left = rest.keys().len();
                        return Err(busy("BatchGetItem", format!("{left} keys unprocessed after {attempt} tries")));
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    pending = rest;
                }
                _ => return Ok(items),
            }
        }
    }

    /// Several groups of keys (another domain's, the handler's own) read together in one
    /// BatchGetItem per 100 distinct keys; each group's items come back in its keys' order.
    pub async fn batch_get_groups<const N: usize>(&self, groups: [&[Key]; N]) -> ApiResult<[Vec<Option<Item>>; N]> {
        let all: Vec<Key> = groups.iter().flat_map(|g| g.iter().cloned()).collect();
        let mut found = self.batch_get_items(&all).await?.into_iter();
        Ok(groups.map(|g| found.by_ref().take(g.len()).collect()))
    }

    pub async fn batch_get<E: Entity>(&self, keys: &[Key]) -> ApiResult<Vec<Option<E>>> {
        self.batch_get_items(keys).await?.into_iter().map(|o| o.map(E::from_item).transpose()).collect()
    }

    /// One page of a query, as raw items.
    pub async fn query_items(&self, q: &Query) -> ApiResult<Page<Item>> {
        let scope = q.scope();
        let start = match &q.cursor {
            Some(c) => Some(self.cursors.decode(&scope, c)?),
            None => None,
        };
        let (pk_name, sk_name) = q.key_names();
        let mut names = HashMap::from([("#pk".to_string(), pk_name.to_string())]);
        let mut values: Item = HashMap::from([(":pk".to_string(), s(&q.partition))]);
        let mut key_expr = "#pk = :pk".to_string();
        match &q.sort {
            SortKey::All => {}
            SortKey::BeginsWith(p) => {
                key_expr.push_str(" AND begins_with(#sk, :a)");
                values.insert(":a".into(), s(p));
            }
            SortKey::Between(a, b) => {
                key_expr.push_str(" AND #sk BETWEEN :a AND :b");
                values.insert(":a".into(), s(a));
                values.insert(":b".into(), s(b));
            }
            SortKey::After(a) => {
                key_expr.push_str(" AND #sk > :a");
                values.insert(":a".into(), s(a));
            }
            SortKey::Before(b) => {
                key_expr.push_str(" AND #sk < :b");
                values.insert(":b".into(), s(b));
            }
        }
        if q.sort != SortKey::All {
            names.insert("#sk".into(), sk_name.into());
        }
        let filter = q.hide_expired_at.map(|now| {
            names.insert("#ttl".into(), TTL_ATTRIBUTE.into());
            values.insert(":now".into(), n(now));
            "attribute_not_exists(#ttl) OR #ttl > :now".to_string()
        });
        // Ask for one more than a page: if it comes, there is a next page and the cursor is the
        // last item we keep; a page that ends exactly at the end of the list has no cursor.
        let out = self
            .client
            .query()
            .table_name(&self.name)
            .set_index_name(q.index.map(|g| g.name().to_string()))
            .key_condition_expression(key_expr)
            .set_filter_expression(filter)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!q.newest_first)
            .limit((q.limit + 1) as i32)
            .set_exclusive_start_key(start)
            .set_consistent_read(q.index.is_none().then_some(true))
            .customize()
            .interceptor(self.tally.interceptor())
            .send()
            .await
            .map_err(|e| failed("Query", e))?;
        let mut items = out.items.unwrap_or_default();
        let next_key = if items.len() > q.limit {
            items.truncate(q.limit);
            items.last().map(|last| page_key(last, q.index))
        } else {
            out.last_evaluated_key
        };
        let next_cursor = match next_key {
            Some(k) if !k.is_empty() => Some(self.cursors.encode(&scope, &k)?),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    /// Every item a query finds, page after page, at most `max`: for workers and lists with a
    /// known bound (a user's blocks, an author's followers).
    pub async fn query_items_all(&self, q: &Query, max: Option<usize>) -> ApiResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut q = q.clone();
        loop {
            let page = self.query_items(&q).await?;
            out.extend(page.items);
            if let Some(m) = max.filter(|m| out.len() >= *m) {
                out.truncate(m);
                return Ok(out);
            }
            match page.next_cursor {
                Some(c) => q = q.cursor(Some(c)),
                None => return Ok(out),
            }
        }
    }

    /// The `id` of every item a query finds, at most `max`: for jobs that find their work
    /// through an index (whose copies may be behind) and then read each item itself.
    pub async fn query_ids(&self, q: &Query, max: Option<usize>) -> ApiResult<Vec<String>> {
        Ok(self
            .query_items_all(q, max)
            .await?
            .into_iter()
            .filter_map(|i| match i.get("id") {
                Some(AttributeValue::S(id)) => Some(id.clone()),
                _ => None,
            })
            .collect())
    }

    /// A page of the entities a list kept in one partition points at: each item of the list
    /// names its entity in its sort key, after `prefix`, and `key_of` makes the entity's key of
    /// the rest. One query and one batch read (both consistent): a list in its owner's own
    /// partition shows what the owner just did, where an index would lag. Entities gone since
    /// are left out.
    pub async fn query_pointed<E: Entity>(
        &self,
        q: &Query,
        prefix: &str,
        key_of: impl Fn(&str) -> Key,
    ) -> ApiResult<Page<E>> {
        let page = self.query_items(q).await?;
        let keys: Vec<Key> = page
            .items
            .iter()
            .filter_map(|i| match i.get(SK) {
                Some(AttributeValue::S(sk)) => sk.strip_prefix(prefix).map(&key_of),
                _ => None,
            })
            .collect();
        let items = self.batch_get::<E>(&keys).await?.into_iter().flatten().collect();
        Ok(Page { items, next_cursor: page.next_cursor })
    }

    pub async fn query<E: Entity>(&self, q: &Query) -> ApiResult<Page<E>> {
        let page = self.query_items(q).await?;
        Ok(Page {
            items: page.items.into_iter().map(E::from_item).collect::<ApiResult<_>>()?,
            next_cursor: page.next_cursor,
        })
    }
}

/// The `ExclusiveStartKey` that continues a query after `item`.
fn page_key(item: &Item, index: Option<Gsi>) -> Item {
    let mut names = vec![PK, SK];
    if let Some(g) = index {
        names.extend([g.pk(), g.sk()]);
    }
    names.into_iter().filter_map(|n| item.get(n).map(|v| (n.to_string(), v.clone()))).collect()
}

fn backoff(attempt: u32) -> Duration {
    let base = 10u64 << attempt.min(6);
    Duration::from_millis(base + rand::random::<u64>() % base)
}
