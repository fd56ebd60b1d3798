//! SQS-driven workers: a batch is processed message by message, and only the messages that
//! failed are reported back (`batchItemFailures`), so only they are delivered again.

use serde::de::DeserializeOwned;

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
        serde_json::from_str(&self.body).map_err(|e| MessageError(format!("malformed message body: {e}")))
    }
}

/// A message that could not be processed now; it will be delivered again, and after the queue's
/// maximum receive count it moves to the dead-letter queue.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MessageError(pub String);

impl From<crate::error::ApiError> for MessageError {
    fn from(e: crate::error::ApiError) -> Self {
        MessageError(e.to_string())
    }
}
