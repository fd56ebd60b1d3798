//! Comment sentiment from Amazon Comprehend (`BatchDetectSentiment`, Korean), up to 25 comments
//! a call — the service's batch limit — never one call per comment. The client is built once
//! per cold start, and only by the function that uses it.

use aws_sdk_comprehend::types::{LanguageCode, SentimentType};
use shared::AppContext;

use crate::synced::Sentiment;

/// Comprehend's batch limit.
pub const BATCH: usize = 25;
/// Comprehend takes at most 5,000 bytes of UTF-8 a text.
const MAX_BYTES: usize = 4_900;

fn client(ctx: &AppContext) -> aws_sdk_comprehend::Client {
    ctx.client(|ctx| {
        let mut conf = aws_sdk_comprehend::config::Builder::from(&ctx.sdk);
        if let Some(url) = &ctx.config.endpoints.comprehend {
            conf = conf.endpoint_url(url);
        }
        aws_sdk_comprehend::Client::from_conf(conf.build())
    })
}

fn clip(text: &str) -> String {
    if text.len() <= MAX_BYTES {
        return text.to_string();
    }
    let mut end = MAX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// The sentiment of each text, in order. Blank texts are NEUTRAL without asking; a text
/// Comprehend could not read (its `ErrorList`) is NEUTRAL too.
pub async fn classify(ctx: &AppContext, texts: &[&str]) -> Result<Vec<Sentiment>, String> {
    let mut out = vec![Sentiment::Neutral; texts.len()];
    let asked: Vec<usize> = (0..texts.len()).filter(|i| !texts[*i].trim().is_empty()).collect();
    for chunk in asked.chunks(BATCH) {
        let answer = client(ctx)
            .batch_detect_sentiment()
            .language_code(LanguageCode::Ko)
            .set_text_list(Some(chunk.iter().map(|i| clip(texts[*i])).collect()))
            .send()
            .await
            .map_err(|e| format!("Comprehend: {}", aws_sdk_comprehend::Error::from(e)))?;
        for r in answer.result_list() {
            let Some(i) = r.index().and_then(|i| chunk.get(i as usize)) else { continue };
            out[*i] = match r.sentiment() {
                Some(SentimentType::Positive) => Sentiment::Positive,
                Some(SentimentType::Negative) => Sentiment::Negative,
                Some(SentimentType::Mixed) => Sentiment::Mixed,
                _ => Sentiment::Neutral,
            };
        }
        for e in answer.error_list() {
            tracing::warn!(
                index = e.index().unwrap_or_default(),
                code = e.error_code().unwrap_or_default(),
                "Comprehend could not read a comment"
            );
        }
    }
    Ok(out)
}

/// The first banned word `text` contains (case and spacing as typed are ignored).
pub fn banned_word<'a>(text: &str, banned: &'a [String]) -> Option<&'a str> {
    let folded: String = text.to_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
    banned.iter().map(String::as_str).find(|w| {
        let w: String = w.chars().filter(|c| !c.is_whitespace()).collect();
        !w.is_empty() && folded.contains(&w)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banned_words_match_across_case_and_spacing() {
        let banned = vec!["광고".to_string(), "spam".to_string()];
        assert_eq!(banned_word("팔로우 광 고 환영", &banned), Some("광고"));
        assert_eq!(banned_word("Free SPAM here", &banned), Some("spam"));
        assert_eq!(banned_word("너무 귀여워요", &banned), None);
    }

    #[test]
    fn long_texts_are_clipped_on_a_character() {
        let t = "가".repeat(3000);
        let c = clip(&t);
        assert!(c.len() <= MAX_BYTES && t.starts_with(&c));
    }
}
