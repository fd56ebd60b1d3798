//! SQS-driven workers: a batch is processed message by message, and only the messages that
//! failed are reported back (`batchItemFailures`), so only they are delivered again. A failure is
//! either worth retrying (a dependency failed: back to the queue) or permanent (the message can
//! never succeed: straight to the dead-letter queue, with the reason).

use serde::de::DeserializeOwned;

/// What the runtime calls for each message.
pub type MessageHandler =
    fn(std::sync::Arc<crate::context::AppContext>, Message) -> crate::handler::BoxFuture<Result<(), MessageError>>;

/// One message as a worker sees it.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub body: String,
    /// How many times this message has been delivered, this time included.
    pub receive_count: u32,
}

impl Message {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, MessageError> {
        serde_json::from_str(&self.body).map_err(|e| MessageError::Permanent(format!("malformed message body: {e}")))
    }
}

/// Why a message was not processed.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// Not now (a dependency failed, a race was lost): delivered again, and after the queue's
    /// maximum receive count moved to the dead-letter queue.
    #[error("{0}")]
    Retry(String),
    /// Not now, and not before `after_secs` (a provider asked us to wait, or backing off): the
    /// message stays invisible that long, then comes again.
    #[error("{reason}")]
    RetryAfter { after_secs: u32, reason: String },
    /// Never (malformed, refers to nothing that can exist): moved to the dead-letter queue at
    /// once, with this reason.
    #[error("{0}")]
    Permanent(String),
}

impl From<crate::error::ApiError> for MessageError {
    fn from(e: crate::error::ApiError) -> Self {
        MessageError::Retry(e.to_string())
    }
}

/// A worker's handler, typed by the message it reads: `async fn(Arc<AppContext>, T) -> Result<(),
/// MessageError>`, where `T` is the message contract (declared by the domain that owns the
/// queue). A body that is not a `T` goes to the dead-letter queue at once, with serde's reason.
pub trait Consume<T>: Copy + Send + Sync + 'static {
    fn call(
        self,
        ctx: std::sync::Arc<crate::context::AppContext>,
        msg: Message,
    ) -> crate::handler::BoxFuture<Result<(), MessageError>>;
}

impl<F, Fut, T> Consume<T> for F
where
    F: Fn(std::sync::Arc<crate::context::AppContext>, T) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), MessageError>> + Send + 'static,
    T: DeserializeOwned + Send + 'static,
{
    fn call(
        self,
        ctx: std::sync::Arc<crate::context::AppContext>,
        msg: Message,
    ) -> crate::handler::BoxFuture<Result<(), MessageError>> {
        let body = msg.json::<T>();
        Box::pin(async move { self(ctx, body?).await })
    }
}

/// Whether `body` is a message `handler` reads (the examples in `events/` are checked with it).
pub fn reads<H: Consume<T>, T: DeserializeOwned>(_: &H, body: &str) -> Result<(), String> {
    serde_json::from_str::<T>(body).map(|_| ()).map_err(|e| e.to_string())
}

/// A typed message handler made callable by the runtime; built by [`consumer!`](crate::consumer!).
#[derive(Debug, Clone, Copy)]
pub struct Consumer {
    pub call: MessageHandler,
    /// Whether a body is a message of the handler's type.
    pub reads: fn(&str) -> Result<(), String>,
}

/// Wraps `async fn(Arc<AppContext>, T) -> Result<(), MessageError>` into a [`Consumer`].
#[macro_export]
macro_rules! consumer {
    ($f:expr) => {
        $crate::worker::Consumer {
            call: |ctx, msg| $crate::worker::Consume::call($f, ctx, msg),
            reads: |body| $crate::worker::reads(&$f, body),
        }
    };
}
