//! SQS-driven workers: a batch is processed message by message, and only the messages that
//! failed are reported back (`batchItemFailures`), so only they are delivered again. A failure is
//! either worth retrying (a dependency failed: back to the queue) or permanent (the message can
//! never succeed: straight to the dead-letter queue, with the reason).

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
