//! Ranking PetStars for an ad: Okapi BM25 over terms of the ad against each PetStar's document.
//!
//! Korean has no spaces between a word and its particles ("간식을", "간식이"), so a text gives
//! its whole words (`w:간식을`) and, for Hangul, the character bigrams of each word
//! (`b:간식`, `b:식을`): a particle-bearing word still meets its stem through the bigrams, and
//! a whole-word match counts on top. Latin words are lower-cased whole words.
//!
//! A PetStar's document (its term frequencies and length) is computed when its portfolio,
//! histories or standing change and is stored on its PetStar item, so a request only reads the
//! active PetStars' documents and scores them; nothing is tokenised per request but the ad.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// BM25's term-frequency saturation.
const K1: f64 = 1.2;
/// BM25's length normalisation.
const B: f64 = 0.75;
/// How much a PetStar's engagement can lift its score (a factor of at most 1 + this).
const ENGAGEMENT_WEIGHT: f64 = 0.25;

fn is_hangul(c: char) -> bool {
    ('\u{AC00}'..='\u{D7A3}').contains(&c) || ('\u{3131}'..='\u{318E}').contains(&c)
}

/// The terms of `text`, with repeats (a term's count is its frequency).
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // The words as every search of the product reads them (NFKC, lower case): `shared::search`.
    for word in shared::search::words(text) {
        let chars: Vec<char> = word.chars().collect();
        // Single Latin letters and digits say nothing; a single Hangul syllable can ("개").
        if chars.len() == 1 && !is_hangul(chars[0]) {
            continue;
        }
        out.push(format!("w:{word}"));
        if chars.iter().any(|c| is_hangul(*c)) && chars.len() > 2 {
            for pair in chars.windows(2) {
                out.push(format!("b:{}{}", pair[0], pair[1]));
            }
        } else if chars.len() == 2 && chars.iter().all(|c| is_hangul(*c)) {
            // A two-syllable word is its own only bigram: it meets "간식을"'s "간식".
            out.push(format!("b:{word}"));
        }
    }
    out
}

/// A PetStar's document: term frequencies and length. Stored as one string
/// (`<length> <term>=<count> …`; terms hold no spaces or `=`): a thousand documents read as
/// strings parse several times faster than as DynamoDB maps of numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub tf: BTreeMap<String, u32>,
    pub length: u32,
}

impl Serialize for Document {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = self.length.to_string();
        for (term, count) in &self.tf {
            out.push(' ');
            out.push_str(term);
            out.push('=');
            out.push_str(&count.to_string());
        }
        s.serialize_str(&out)
    }
}

impl<'de> Deserialize<'de> for Document {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let mut parts = text.split(' ');
        let length = parts.next().unwrap_or("0").parse().map_err(serde::de::Error::custom)?;
        let mut tf = BTreeMap::new();
        for part in parts {
            let (term, count) = part.rsplit_once('=').ok_or_else(|| serde::de::Error::custom("a term=count pair"))?;
            tf.insert(term.to_string(), count.parse().map_err(serde::de::Error::custom)?);
        }
        Ok(Document { tf, length })
    }
}

impl Document {
    pub fn of(texts: &[&str]) -> Self {
        let mut tf = BTreeMap::new();
        let mut length = 0;
        for t in texts {
            for term in terms(t) {
                *tf.entry(term).or_insert(0) += 1;
                length += 1;
            }
        }
        Document { tf, length }
    }
}

/// One candidate: its id, document and engagement (when Instagram figures exist).
pub struct Candidate<'a> {
    pub id: &'a str,
    pub document: &'a Document,
    pub engagement: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub id: String,
    pub score: f64,
    /// The words of the ad the PetStar's document has (whole words when any, else bigrams).
    pub matched_terms: Vec<String>,
}

/// Ranks `candidates` for `query` (the ad's text), best first, at most `limit`, leaving out
/// those that match nothing. `engagement` switches the engagement prior on.
pub fn rank(query: &str, candidates: &[Candidate], limit: usize, engagement: bool) -> Vec<Ranked> {
    let mut query_tf: HashMap<String, u32> = HashMap::new();
    for t in terms(query) {
        *query_tf.entry(t).or_insert(0) += 1;
    }
    let n = candidates.len() as f64;
    if n == 0.0 || query_tf.is_empty() {
        return Vec::new();
    }
    let avgdl = (candidates.iter().map(|c| c.document.length as f64).sum::<f64>() / n).max(1.0);
    // Document frequency of each query term over the candidates.
    let mut df: HashMap<&str, f64> = HashMap::new();
    for c in candidates {
        for t in query_tf.keys() {
            if c.document.tf.contains_key(t) {
                *df.entry(t.as_str()).or_insert(0.0) += 1.0;
            }
        }
    }
    let max_engagement = candidates.iter().filter_map(|c| c.engagement).fold(0.0f64, f64::max);
    let mut out: Vec<Ranked> = candidates
        .iter()
        .filter_map(|c| {
            let dl = c.document.length as f64;
            let mut score = 0.0;
            let mut words = Vec::new();
            let mut bigrams = Vec::new();
            for (t, qtf) in &query_tf {
                let Some(&f) = c.document.tf.get(t) else { continue };
                let df = df.get(t.as_str()).copied().unwrap_or(0.0);
                // BM25+'s non-negative idf: a term every PetStar has still counts a little.
                let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                let f = f as f64;
                score += *qtf as f64 * idf * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * dl / avgdl));
                match t.split_once(':') {
                    Some(("w", w)) => words.push(w.to_string()),
                    Some((_, b)) => bigrams.push(b.to_string()),
                    None => {}
                }
            }
            if score <= 0.0 {
                return None;
            }
            if engagement && max_engagement > 0.0 {
                let e = c.engagement.unwrap_or(0.0).max(0.0);
                score *= 1.0 + ENGAGEMENT_WEIGHT * (1.0 + e).ln() / (1.0 + max_engagement).ln();
            }
            let mut matched_terms = if words.is_empty() { bigrams } else { words };
            matched_terms.sort();
            Some(Ranked { id: c.id.to_string(), score: (score * 1000.0).round() / 1000.0, matched_terms })
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn korean_words_meet_their_stems_through_bigrams() {
        let t = terms("수제 간식을 좋아해요! Dog treats");
        assert!(t.contains(&"w:간식을".to_string()));
        assert!(t.contains(&"b:간식".to_string()));
        assert!(t.contains(&"w:treats".to_string()));
        assert!(terms("간식").contains(&"b:간식".to_string()), "a two-syllable word is its bigram");
        assert!(terms("a 1").is_empty());
        assert_eq!(terms("개"), vec!["w:개".to_string()]);
    }

    #[test]
    fn the_closer_document_ranks_first_and_unrelated_ones_not_at_all() {
        let treats = Document::of(&["강아지 수제 간식 리뷰를 해요", "간식 먹방"]);
        let walks = Document::of(&["강아지 산책 일상"]);
        let cat = Document::of(&["고양이 장난감 리뷰"]);
        let none = Document::of(&["여행 사진"]);
        let cands = [
            Candidate { id: "treats", document: &treats, engagement: None },
            Candidate { id: "walks", document: &walks, engagement: None },
            Candidate { id: "cat", document: &cat, engagement: None },
            Candidate { id: "none", document: &none, engagement: None },
        ];
        let ranked = rank("강아지 간식 리뷰", &cands, 10, true);
        let ids: Vec<&str> = ranked.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids[0], "treats");
        assert!(!ids.contains(&"none"));
        assert!(ranked[0].matched_terms.contains(&"간식".to_string()));
    }

    #[test]
    fn a_document_is_stored_as_one_string_and_read_back_whole() {
        let d = Document::of(&["수제 간식을 좋아해요 간식 dog"]);
        let stored = serde_json::to_value(&d).unwrap();
        assert!(stored.is_string());
        assert_eq!(serde_json::from_value::<Document>(stored).unwrap(), d);
        assert_eq!(serde_json::from_value::<Document>(serde_json::json!("0")).unwrap(), Document::default());
    }

    #[test]
    fn engagement_lifts_but_can_be_switched_off() {
        let a = Document::of(&["간식 리뷰"]);
        let b = Document::of(&["간식 리뷰"]);
        let cands = [
            Candidate { id: "a", document: &a, engagement: Some(0.0) },
            Candidate { id: "b", document: &b, engagement: Some(500.0) },
        ];
        assert_eq!(rank("간식", &cands, 10, true)[0].id, "b");
        let off = rank("간식", &cands, 10, false);
        assert_eq!(off[0].score, off[1].score);
    }
}
