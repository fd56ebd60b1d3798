//! Amazon Bedrock, the product's language model: text through the Converse API (one model id,
//! any model Converse serves) and vectors through `InvokeModel` with Titan Text Embeddings V2.
//! Both model ids are configuration; the IAM policy of a function that uses one names exactly
//! that model ([`crate::routes::Permission::InvokeModel`]). The client is built once per cold
//! start, and only by the functions that call it.
//!
//! A busy or slow model is the caller's 503 with `Retry-After` ([`ModelFailure`]), never a 500:
//! nothing the request wanted to charge is charged.

use std::time::Duration;

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseOutput, InferenceConfiguration, Message, SystemContentBlock,
};
use serde::Deserialize;

use crate::config::Setting;
use crate::context::AppContext;
use crate::error::ApiError;

/// The model that writes text (pet tips, weekly summaries).
pub const TEXT_MODEL: Setting = Setting::public(
    "BEDROCK_TEXT_MODEL_ID",
    "BedrockTextModelId",
    "Bedrock model (or inference profile) id for text through Converse",
    "anthropic.claude-3-haiku-20240307-v1:0",
);

/// The model that turns text into vectors (PetStar matching).
pub const EMBEDDING_MODEL: Setting = Setting::public(
    "BEDROCK_EMBEDDING_MODEL_ID",
    "BedrockEmbeddingModelId",
    "Bedrock Titan Text Embeddings V2 model id",
    "amazon.titan-embed-text-v2:0",
);

/// Titan V2's dimensions asked for: 256 of its 256/512/1024, enough for short profiles and
/// small enough to keep with an item (1 KB as f32).
pub const EMBEDDING_DIMENSIONS: usize = 256;

/// How long one model call may take before the request gives up (API Gateway's limit is 29 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Why the model gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelFailure {
    /// Throttled (after the SDK's retries): try again shortly.
    Busy,
    /// The model took too long.
    TimedOut,
    /// Anything else (a refused model id, a malformed answer): logged, not shown.
    Failed(String),
}

impl From<ModelFailure> for ApiError {
    fn from(f: ModelFailure) -> Self {
        match f {
            ModelFailure::Busy => ApiError::Unavailable {
                code: "MODEL_BUSY",
                detail: "The AI model is busy. Try again in a moment.".into(),
            },
            ModelFailure::TimedOut => ApiError::Unavailable {
                code: "MODEL_TIMEOUT",
                detail: "The AI model took too long to answer. Try again in a moment.".into(),
            },
            ModelFailure::Failed(why) => {
                tracing::error!(%why, "the model gave no answer");
                ApiError::Unavailable { code: "MODEL_UNAVAILABLE", detail: "The AI model is not available now.".into() }
            }
        }
    }
}

/// What the text model said.
#[derive(Debug, Clone)]
pub struct Reply {
    pub text: String,
    pub model_id: String,
    pub input_tokens: i32,
    pub output_tokens: i32,
}

fn client(ctx: &AppContext) -> aws_sdk_bedrockruntime::Client {
    ctx.client(|ctx| {
        let timeouts = aws_config::timeout::TimeoutConfig::builder().operation_timeout(CALL_TIMEOUT).build();
        let mut conf = aws_sdk_bedrockruntime::config::Builder::from(&ctx.sdk).timeout_config(timeouts);
        if let Some(url) = &ctx.config.endpoints.bedrock {
            conf = conf.endpoint_url(url);
        }
        aws_sdk_bedrockruntime::Client::from_conf(conf.build())
    })
}

/// The model id `setting` names (its default when unset).
pub fn model_id(ctx: &AppContext, setting: &Setting) -> String {
    let default = match setting.source {
        crate::config::SettingSource::Public { default } => default,
        _ => "",
    };
    ctx.config.settings.get(setting.env_var).unwrap_or_else(|| default.to_string())
}

/// The failure an SDK error stands for.
fn failure<E, R>(e: aws_sdk_bedrockruntime::error::SdkError<E, R>) -> ModelFailure
where
    E: aws_sdk_bedrockruntime::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_bedrockruntime::error::SdkError;
    match &e {
        SdkError::TimeoutError(_) => return ModelFailure::TimedOut,
        SdkError::ServiceError(s) => match s.err().code() {
            Some("ThrottlingException" | "ServiceUnavailableException" | "ModelNotReadyException") => {
                return ModelFailure::Busy;
            }
            Some("ModelTimeoutException") => return ModelFailure::TimedOut,
            _ => {}
        },
        _ => {}
    }
    ModelFailure::Failed(aws_sdk_bedrockruntime::error::DisplayErrorContext(&e).to_string())
}

/// One turn with the text model: `system` sets its part, `prompt` is the user's turn.
pub async fn converse(ctx: &AppContext, system: &str, prompt: &str, max_tokens: i32) -> Result<Reply, ModelFailure> {
    let model = model_id(ctx, &TEXT_MODEL);
    let message = Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(prompt.to_string()))
        .build()
        .map_err(|e| ModelFailure::Failed(e.to_string()))?;
    let answer = client(ctx)
        .converse()
        .model_id(&model)
        .system(SystemContentBlock::Text(system.to_string()))
        .messages(message)
        .inference_config(InferenceConfiguration::builder().max_tokens(max_tokens).temperature(0.3).build())
        .send()
        .await
        .map_err(failure)?;
    let text = match answer.output() {
        Some(ConverseOutput::Message(m)) => m
            .content()
            .iter()
            .filter_map(|c| if let ContentBlock::Text(t) = c { Some(t.as_str()) } else { None })
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    };
    if text.trim().is_empty() {
        return Err(ModelFailure::Failed("the model answered with no text".into()));
    }
    let usage = answer.usage();
    Ok(Reply {
        text: text.trim().to_string(),
        model_id: model,
        input_tokens: usage.map(|u| u.input_tokens()).unwrap_or_default(),
        output_tokens: usage.map(|u| u.output_tokens()).unwrap_or_default(),
    })
}

#[derive(Deserialize)]
struct Embedding {
    embedding: Vec<f32>,
}

/// Titan V2 takes up to 8,192 tokens; profiles are cut well before that (by characters).
const MAX_EMBEDDED_CHARS: usize = 20_000;

/// The unit vector of `text` ([`EMBEDDING_DIMENSIONS`] numbers).
pub async fn embed(ctx: &AppContext, text: &str) -> Result<Vec<f32>, ModelFailure> {
    let text: String = text.chars().take(MAX_EMBEDDED_CHARS).collect();
    let body = serde_json::json!({"inputText": text, "dimensions": EMBEDDING_DIMENSIONS, "normalize": true});
    let answer = client(ctx)
        .invoke_model()
        .model_id(model_id(ctx, &EMBEDDING_MODEL))
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .map_err(failure)?;
    let parsed: Embedding =
        serde_json::from_slice(answer.body().as_ref()).map_err(|e| ModelFailure::Failed(e.to_string()))?;
    if parsed.embedding.len() != EMBEDDING_DIMENSIONS {
        return Err(ModelFailure::Failed(format!("{} dimensions, not {EMBEDDING_DIMENSIONS}", parsed.embedding.len())));
    }
    Ok(parsed.embedding)
}

/// The cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (*x as f64, *y as f64);
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 { 0.0 } else { dot / (na.sqrt() * nb.sqrt()) }
}

#[cfg(test)]
mod tests {
    use super::cosine;

    #[test]
    fn cosine_of_parallel_orthogonal_and_zero_vectors() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-9);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-9);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }
}
