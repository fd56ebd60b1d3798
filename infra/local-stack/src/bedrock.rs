//! An Amazon Bedrock runtime stand-in for the two calls the product makes, speaking Bedrock's
//! REST-JSON protocol (SigV4-signed with the stack's key, checked by [`crate::iam::guard`]) so
//! that the real `aws-sdk-bedrockruntime` client runs unchanged against it:
//!
//! - `POST /model/{modelId}/converse`: a text model's answer. The stand-in is no language
//!   model: its answer is made from the prompt, deterministically (the same prompt, the same
//!   answer), in Korean, and names the facts it was given, so that a test can see them used.
//! - `POST /model/{modelId}/invoke` with Titan Text Embeddings V2's body
//!   (`{inputText, dimensions, normalize}`): a unit vector. The first dimensions are concepts
//!   of a small fixed vocabulary of Korean pet terms ([`CONCEPTS`]): synonyms ("간식", "사료",
//!   "츄르") share one, so texts that say the same thing in other words lie near each other,
//!   as a real embedding model places them. Any other word is hashed onto the remaining
//!   dimensions. This is a stand-in for the shipped matching set, not a model of Korean.
//!
//! The fault switch reaches it as service `bedrock`, operations `Converse` and `InvokeModel`:
//! `ThrottlingException` (429, which the SDK retries), `ModelTimeoutException` (408) and
//! `ServiceUnavailableException` (503). `GET /_local/bedrock/requests` lists what it was asked.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::faults::Faults;

/// Groups of words that mean the same for matching: each group is one dimension.
pub const CONCEPTS: &[&[&str]] = &[
    &["간식", "사료", "먹이", "츄르", "트릿", "밥", "먹거리", "음식", "pet food", "treat"],
    &["산책", "외출", "나들이", "야외", "하이킹", "러닝", "walk"],
    &["미용", "목욕", "샴푸", "그루밍", "브러시", "털관리"],
    &["장난감", "놀이", "공놀이", "노즈워크", "터그"],
    &["건강", "병원", "영양제", "관절", "검진", "유산균"],
    &["고양이", "냥이", "캣", "묘", "cat"],
    &["강아지", "댕댕이", "멍멍이", "반려견", "애견", "dog"],
    &["옷", "패션", "하네스", "목줄", "리드줄", "의류"],
    &["여행", "캠핑", "펜션", "호텔", "드라이브"],
    &["사진", "촬영", "화보", "스튜디오"],
    &["훈련", "교육", "매너", "배변"],
    &["침대", "방석", "쿠션", "하우스", "켄넬"],
];

/// What it was asked.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Asked {
    pub operation: &'static str,
    pub model_id: String,
    /// Converse: the system prompt and the user's turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// InvokeModel: the text embedded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_text: Option<String>,
}

pub struct Bedrock {
    faults: Arc<Faults>,
    asked: Mutex<Vec<Asked>>,
}

impl Bedrock {
    pub fn new(faults: Arc<Faults>) -> Arc<Self> {
        Arc::new(Bedrock { faults, asked: Mutex::default() })
    }
    /// Everything asked so far, oldest first.
    pub fn asked(&self) -> Vec<Asked> {
        self.asked.lock().expect("asked").clone()
    }
    fn note(&self, a: Asked) {
        self.asked.lock().expect("asked").push(a);
    }
}

/// The model id a runtime path names (`/model/<id>/<operation>`, the id percent-encoded).
pub fn model_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/model/")?;
    let (id, _) = rest.rsplit_once('/')?;
    form_urlencoded::parse(format!("m={}", id.replace('+', "%2B")).as_bytes()).next().map(|(_, v)| v.into_owned())
}

/// An error in Bedrock's REST-JSON shape (the SDK reads the type from the header).
pub fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json"), ("x-amzn-errortype", kind)],
        json!({"message": message}).to_string(),
    )
        .into_response()
}

fn injected(kind: &str) -> Response {
    let status = match kind {
        "ThrottlingException" => StatusCode::TOO_MANY_REQUESTS,
        "ModelTimeoutException" => StatusCode::REQUEST_TIMEOUT,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(status, kind, "injected by the local fault switch")
}

/// The stand-in's routes (on their own port, behind the IAM guard).
pub fn router(bedrock: Arc<Bedrock>) -> Router {
    Router::new()
        .route("/model/{model}/converse", post(converse))
        .route("/model/{model}/invoke", post(invoke))
        .with_state(bedrock)
}

/// `GET /_local/bedrock/requests`, served by the local HTTP API.
pub fn console(bedrock: Arc<Bedrock>) -> Router {
    Router::new().route("/_local/bedrock/requests", get(requests)).with_state(bedrock)
}

async fn requests(State(b): State<Arc<Bedrock>>) -> Response {
    axum::Json(b.asked()).into_response()
}

fn texts(blocks: &Value) -> String {
    blocks.as_array().into_iter().flatten().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n")
}

async fn converse(State(b): State<Arc<Bedrock>>, Path(model): Path<String>, body: Bytes) -> Response {
    if let Some(kind) = b.faults.fire("bedrock", "Converse", &body) {
        return injected(&kind);
    }
    let Ok(input) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "The request body is not JSON.");
    };
    if model.contains("embed") {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "This model does not support Converse.");
    }
    let Some(last) = input["messages"].as_array().and_then(|m| m.last()) else {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "messages must not be empty.");
    };
    if last["role"] != "user" {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "The last message must be the user's.");
    }
    let system = texts(&input["system"]);
    let prompt = texts(&last["content"]);
    let max_tokens = input["inferenceConfig"]["maxTokens"].as_u64().unwrap_or(512) as usize;
    b.note(Asked {
        operation: "Converse",
        model_id: model.clone(),
        system: Some(system.clone()),
        prompt: Some(prompt.clone()),
        input_text: None,
    });
    let text = answer_to(&prompt, max_tokens);
    let (input_tokens, output_tokens) = (tokens(&system) + tokens(&prompt), tokens(&text));
    axum::Json(json!({
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens, "totalTokens": input_tokens + output_tokens},
        "metrics": {"latencyMs": 1}
    }))
    .into_response()
}

/// A rough token count (Korean runs about one token a syllable or two).
fn tokens(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count().div_ceil(2)
}

/// The stand-in's answer: the facts the prompt listed (its `- ` lines), and the question (its
/// last line), in a fixed Korean frame, cut to about `max_tokens`.
fn answer_to(prompt: &str, max_tokens: usize) -> String {
    let facts: Vec<&str> =
        prompt.lines().filter_map(|l| l.trim().strip_prefix("- ")).map(str::trim).filter(|l| !l.is_empty()).collect();
    let question = prompt.lines().rev().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("- ")).unwrap_or("");
    let digest = hex::encode(&Sha256::digest(prompt.as_bytes())[..4]);
    let mut text = format!("[로컬 모델 {digest}] {question}\n");
    if !facts.is_empty() {
        text.push_str(&format!("참고한 정보: {}.\n", facts.join(", ")));
    }
    text.push_str("규칙적인 산책과 알맞은 양의 식사를 유지하고, 평소와 다른 모습이 보이면 기록해 두세요.");
    text.chars().take(max_tokens.max(16) * 2).collect()
}

async fn invoke(State(b): State<Arc<Bedrock>>, Path(model): Path<String>, body: Bytes) -> Response {
    if let Some(kind) = b.faults.fire("bedrock", "InvokeModel", &body) {
        return injected(&kind);
    }
    if !model.starts_with("amazon.titan-embed-text-v2") {
        return error(
            StatusCode::BAD_REQUEST,
            "ValidationException",
            "The local stand-in serves amazon.titan-embed-text-v2 only.",
        );
    }
    let Ok(input) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "Malformed input request.");
    };
    let text = input["inputText"].as_str().unwrap_or_default();
    if text.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "inputText must not be blank.");
    }
    let dimensions = input["dimensions"].as_u64().unwrap_or(1024) as usize;
    if ![256, 512, 1024].contains(&dimensions) {
        return error(StatusCode::BAD_REQUEST, "ValidationException", "dimensions is 256, 512 or 1024.");
    }
    b.note(Asked {
        operation: "InvokeModel",
        model_id: model,
        system: None,
        prompt: None,
        input_text: Some(text.to_string()),
    });
    axum::Json(json!({"embedding": embedding(text, dimensions), "inputTextTokenCount": tokens(text)})).into_response()
}

/// The stand-in's vector of `text`: concept dimensions first, hashed words after, unit length.
pub fn embedding(text: &str, dimensions: usize) -> Vec<f32> {
    let mut v = vec![0f32; dimensions];
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() >= 2).collect();
    for word in &words {
        match CONCEPTS.iter().position(|group| group.iter().any(|term| word.contains(term))) {
            // A concept weighs more than a word: it carries the meaning.
            Some(i) => v[i] += 3.0,
            None => {
                let h = Sha256::digest(word.as_bytes());
                let slot = CONCEPTS.len()
                    + (u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize) % (dimensions - CONCEPTS.len());
                v[slot] += 1.0;
            }
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn synonyms_lie_nearer_than_other_topics() {
        let treats = embedding("강아지 간식 리뷰", 256);
        let food = embedding("반려견 사료 추천", 256);
        let grooming = embedding("고양이 미용 후기", 256);
        assert!(cos(&treats, &food) > 0.9, "{}", cos(&treats, &food));
        assert!(cos(&treats, &grooming) < 0.2, "{}", cos(&treats, &grooming));
        assert!((cos(&treats, &treats) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn model_ids_come_out_of_their_percent_encoded_paths() {
        assert_eq!(
            model_of("/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse").as_deref(),
            Some("anthropic.claude-3-haiku-20240307-v1:0")
        );
        assert_eq!(model_of("/health"), None);
    }
}
