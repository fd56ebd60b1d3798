//! An Amazon Comprehend stand-in for the two sentiment calls the product makes, speaking
//! Comprehend's JSON 1.1 protocol (`X-Amz-Target: Comprehend_20171127.BatchDetectSentiment` or
//! `.DetectSentiment`, SigV4-signed with the stack's key), so that the real `aws-sdk-comprehend`
//! client runs unchanged against it.
//!
//! Korean sentiment comes from a small lexicon of stems (귀여, 사랑, 최고 … ; 별로, 못생, 최악
//! …): positive and negative stems → MIXED, one kind → that kind, none → NEUTRAL. Comprehend's
//! limits hold: 1–25 texts a batch (`BatchSizeLimitExceededException`), 5,000 bytes a text
//! (`TextSizeLimitExceededException`), a supported language. Every call is counted, so that a
//! test can see how many the product made.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const POSITIVE: &[&str] = &[
    "귀여", "귀엽", "사랑", "최고", "행복", "예뻐", "예쁘", "멋지", "멋있", "좋아", "좋네", "감사", "대박", "😍", "❤",
];
const NEGATIVE: &[&str] = &["별로", "못생", "최악", "짜증", "싫어", "싫다", "실망", "더러", "역겨", "꺼져"];
const LANGUAGES: &[&str] = &["en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja", "ko", "zh", "zh-TW"];

/// The calls made, by operation.
#[derive(Debug, Default)]
pub struct Comprehend {
    batch_calls: AtomicU64,
    single_calls: AtomicU64,
    texts: AtomicU64,
}

impl Comprehend {
    /// `BatchDetectSentiment` calls answered so far.
    pub fn batch_calls(&self) -> u64 {
        self.batch_calls.load(Ordering::Relaxed)
    }
    /// `DetectSentiment` calls answered so far.
    pub fn single_calls(&self) -> u64 {
        self.single_calls.load(Ordering::Relaxed)
    }
    /// Texts classified so far.
    pub fn texts(&self) -> u64 {
        self.texts.load(Ordering::Relaxed)
    }
}

/// The lexicon's verdict on one text, with scores that sum to 1.
pub fn sentiment(text: &str) -> (&'static str, Value) {
    let pos = POSITIVE.iter().filter(|w| text.contains(*w)).count();
    let neg = NEGATIVE.iter().filter(|w| text.contains(*w)).count();
    let (label, scores) = match (pos > 0, neg > 0) {
        (true, true) => ("MIXED", [0.2, 0.2, 0.05, 0.55]),
        (true, false) => ("POSITIVE", [0.92, 0.01, 0.06, 0.01]),
        (false, true) => ("NEGATIVE", [0.02, 0.9, 0.07, 0.01]),
        (false, false) => ("NEUTRAL", [0.05, 0.04, 0.9, 0.01]),
    };
    (label, json!({"Positive": scores[0], "Negative": scores[1], "Neutral": scores[2], "Mixed": scores[3]}))
}

fn error(kind: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/x-amz-json-1.1")],
        json!({"__type": kind, "Message": message}).to_string(),
    )
        .into_response()
}

fn answer(v: Value) -> Response {
    (StatusCode::OK, [("content-type", "application/x-amz-json-1.1")], v.to_string()).into_response()
}

pub async fn endpoint(State(state): State<Arc<Comprehend>>, headers: HeaderMap, body: Bytes) -> Response {
    // Signatures and policies are checked in front of it (`iam::guard`).
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Ok(input) = serde_json::from_slice::<Value>(&body) else {
        return error("SerializationException", "The request body is not JSON.");
    };
    let language = input["LanguageCode"].as_str().unwrap_or_default();
    if !LANGUAGES.contains(&language) {
        return error("UnsupportedLanguageException", "The language is not supported.");
    }
    match target {
        "Comprehend_20171127.BatchDetectSentiment" => {
            let texts: Vec<&str> =
                input["TextList"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            if texts.is_empty() || texts.len() > 25 {
                return error("BatchSizeLimitExceededException", "TextList holds 1 to 25 documents.");
            }
            state.batch_calls.fetch_add(1, Ordering::Relaxed);
            state.texts.fetch_add(texts.len() as u64, Ordering::Relaxed);
            let mut results = Vec::new();
            let mut errors = Vec::new();
            for (i, t) in texts.iter().enumerate() {
                if t.len() > 5000 {
                    errors.push(json!({"Index": i, "ErrorCode": "TEXT_SIZE_LIMIT_EXCEEDED", "ErrorMessage": "Document is longer than 5000 bytes."}));
                    continue;
                }
                let (label, scores) = sentiment(t);
                results.push(json!({"Index": i, "Sentiment": label, "SentimentScore": scores}));
            }
            answer(json!({"ResultList": results, "ErrorList": errors}))
        }
        "Comprehend_20171127.DetectSentiment" => {
            let text = input["Text"].as_str().unwrap_or_default();
            if text.is_empty() || text.len() > 5000 {
                return error("TextSizeLimitExceededException", "Text is 1 to 5000 bytes.");
            }
            state.single_calls.fetch_add(1, Ordering::Relaxed);
            state.texts.fetch_add(1, Ordering::Relaxed);
            let (label, scores) = sentiment(text);
            answer(json!({"Sentiment": label, "SentimentScore": scores}))
        }
        other => error("UnknownOperationException", &format!("{other} is not served locally")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lexicon_reads_korean() {
        assert_eq!(sentiment("너무 귀여워요 ❤️").0, "POSITIVE");
        assert_eq!(sentiment("사진이 별로네요").0, "NEGATIVE");
        assert_eq!(sentiment("귀여운데 사진이 별로네요").0, "MIXED");
        assert_eq!(sentiment("몇 살이에요?").0, "NEUTRAL");
    }
}
