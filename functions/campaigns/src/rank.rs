//! Ranking PetStars for an ad: Okapi BM25 over terms of the ad against each PetStar's document,
//! blended with the cosine similarity of their embedding vectors (Titan Text Embeddings V2
//! through Bedrock), which finds what the ad means in other words ("사료" for "간식").
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

/// An embedding vector, stored as the base64 of its little-endian `f32`s (1,368 characters for
/// 256 dimensions, against ~4 KB as a DynamoDB list of numbers, and parsed in microseconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vector(pub Vec<f32>);

impl Vector {
    /// As stored.
    pub fn encoded(&self) -> String {
        use base64::Engine;
        let bytes: Vec<u8> = self.0.iter().flat_map(|x| x.to_le_bytes()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

impl Serialize for Vector {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encoded())
    }
}

impl<'de> Deserialize<'de> for Vector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)?;
        if bytes.len() % 4 != 0 {
            return Err(serde::de::Error::custom("a whole number of f32s"));
        }
        Ok(Vector(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()))
    }
}

/// One candidate: its id, document, vector (once computed) and engagement (when Instagram
/// figures exist).
pub struct Candidate<'a> {
    pub id: &'a str,
    pub document: &'a Document,
    pub vector: Option<&'a [f32]>,
    pub engagement: Option<f64>,
}

/// How a ranking is made.
#[derive(Debug, Clone, Copy)]
pub struct Weights<'a> {
    /// The ad's vector; `None`: words alone.
    pub query_vector: Option<&'a [f32]>,
    /// The share of the similarity in the score (0 to 1); the words have the rest.
    pub semantic: f64,
    /// Whether the engagement prior lifts the score.
    pub engagement: bool,
}

impl Weights<'_> {
    /// BM25 alone (with the engagement prior when `engagement`).
    pub fn words_only(engagement: bool) -> Self {
        Weights { query_vector: None, semantic: 0.0, engagement }
    }
}

/// A candidate with no word in common is still ranked when it means this much the same.
pub const MIN_SIMILARITY: f64 = 0.35;

#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub id: String,
    pub score: f64,
    /// The words of the ad the PetStar's document has (whole words when any, else bigrams).
    pub matched_terms: Vec<String>,
    /// BM25 as the share of the ad's words the PetStar's pages cover (0 to 1).
    pub text_score: f64,
    /// The cosine similarity of the ad's and the PetStar's vectors, when both exist.
    pub similarity: Option<f64>,
}

/// BM25 of each candidate as a share of the ad's words it covers (0 when nothing matched, 1
/// for a page of average length holding each of the ad's terms once, at most 1), with the ad's
/// words each one has. A share, not a score against the best candidate: one rare word in
/// common is a weak match however alone it is.
fn bm25(query: &str, candidates: &[Candidate]) -> Vec<(f64, Vec<String>)> {
    let mut query_tf: HashMap<String, u32> = HashMap::new();
    for t in terms(query) {
        *query_tf.entry(t).or_insert(0) += 1;
    }
    let n = candidates.len() as f64;
    if n == 0.0 || query_tf.is_empty() {
        return candidates.iter().map(|_| (0.0, Vec::new())).collect();
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
    // BM25+'s non-negative idf: a term every PetStar has still counts a little.
    let idf = |t: &str| {
        let df = df.get(t).copied().unwrap_or(0.0);
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    };
    // Each term once in a page of average length scores qtf × idf.
    let ideal: f64 = query_tf.iter().map(|(t, qtf)| *qtf as f64 * idf(t)).sum();
    candidates
        .iter()
        .map(|c| {
            let dl = c.document.length as f64;
            let mut score = 0.0;
            let mut words = Vec::new();
            let mut bigrams = Vec::new();
            for (t, qtf) in &query_tf {
                let Some(&f) = c.document.tf.get(t) else { continue };
                let f = f as f64;
                score += *qtf as f64 * idf(t) * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * dl / avgdl));
                match t.split_once(':') {
                    Some(("w", w)) => words.push(w.to_string()),
                    Some((_, b)) => bigrams.push(b.to_string()),
                    None => {}
                }
            }
            let mut matched_terms = if words.is_empty() { bigrams } else { words };
            matched_terms.sort();
            ((score / ideal).min(1.0), matched_terms)
        })
        .collect()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Ranks `candidates` for `query` (the ad's text), best first, at most `limit`. A candidate's
/// score is `(1 − semantic) × its BM25 share of the ad's words + semantic × the similarity of
/// the vectors` (the words alone where either vector is missing), times the engagement prior.
/// Candidates that share no word and mean little the same ([`MIN_SIMILARITY`]) are left out.
pub fn rank(query: &str, candidates: &[Candidate], limit: usize, weights: Weights) -> Vec<Ranked> {
    let texts = bm25(query, candidates);
    let max_engagement = candidates.iter().filter_map(|c| c.engagement).fold(0.0f64, f64::max);
    let semantic = weights.semantic.clamp(0.0, 1.0);
    let mut out: Vec<Ranked> = candidates
        .iter()
        .zip(texts)
        .filter_map(|(c, (text_score, matched_terms))| {
            let similarity = match (weights.query_vector, c.vector) {
                (Some(q), Some(v)) if semantic > 0.0 => Some(shared::bedrock::cosine(q, v).max(0.0)),
                _ => None,
            };
            if text_score <= 0.0 && similarity.is_none_or(|s| s < MIN_SIMILARITY) {
                return None;
            }
            let mut score = match similarity {
                Some(sim) => (1.0 - semantic) * text_score + semantic * sim,
                None => text_score,
            };
            if weights.engagement && max_engagement > 0.0 {
                let e = c.engagement.unwrap_or(0.0).max(0.0);
                score *= 1.0 + ENGAGEMENT_WEIGHT * (1.0 + e).ln() / (1.0 + max_engagement).ln();
            }
            Some(Ranked {
                id: c.id.to_string(),
                score: round3(score),
                matched_terms,
                text_score: round3(text_score),
                similarity: similarity.map(round3),
            })
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
            Candidate { id: "treats", document: &treats, vector: None, engagement: None },
            Candidate { id: "walks", document: &walks, vector: None, engagement: None },
            Candidate { id: "cat", document: &cat, vector: None, engagement: None },
            Candidate { id: "none", document: &none, vector: None, engagement: None },
        ];
        let ranked = rank("강아지 간식 리뷰", &cands, 10, Weights::words_only(true));
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
            Candidate { id: "a", document: &a, vector: None, engagement: Some(0.0) },
            Candidate { id: "b", document: &b, vector: None, engagement: Some(500.0) },
        ];
        assert_eq!(rank("간식", &cands, 10, Weights::words_only(true))[0].id, "b");
        let off = rank("간식", &cands, 10, Weights::words_only(false));
        assert_eq!(off[0].score, off[1].score);
    }

    #[test]
    fn the_blend_finds_what_the_words_miss_and_says_how_much_each_gave() {
        let food = Document::of(&["강아지 사료 먹방"]);
        let walks = Document::of(&["강아지 산책 일상"]);
        // Vectors where food and treats share a direction, walks another.
        let (food_v, walks_v, ad_v) = (vec![1.0f32, 0.0], vec![0.0f32, 1.0], vec![0.96f32, 0.28]);
        let cands = [
            Candidate { id: "food", document: &food, vector: Some(&food_v), engagement: None },
            Candidate { id: "walks", document: &walks, vector: Some(&walks_v), engagement: None },
        ];
        // The ad says "간식", which neither document says; both say "강아지".
        let words = rank("강아지 간식", &cands, 10, Weights::words_only(false));
        assert_eq!(words[0].score, words[1].score, "words alone cannot tell them apart");
        let blend = Weights { query_vector: Some(&ad_v), semantic: 0.5, engagement: false };
        let ranked = rank("강아지 간식", &cands, 10, blend);
        assert_eq!(ranked[0].id, "food");
        // "강아지" is a third of the ad's words but common to both: a small share.
        assert_eq!((ranked[0].text_score, ranked[0].similarity), (0.132, Some(0.96)));
        assert_eq!(ranked[0].score, 0.546, "(0.132 + 0.96) / 2");
        // Nothing in common and little meaning shared: left out.
        let none = Document::of(&["여행"]);
        let far = [Candidate { id: "none", document: &none, vector: Some(&walks_v), engagement: None }];
        assert!(
            rank("간식", &far, 10, Weights { query_vector: Some(&[1.0, 0.0]), semantic: 0.5, engagement: false })
                .is_empty()
        );
    }

    #[test]
    fn a_vector_is_stored_as_base64_and_read_back_whole() {
        let v = Vector(vec![0.5, -1.25, 3.0]);
        let stored = serde_json::to_value(&v).unwrap();
        assert!(stored.is_string());
        assert_eq!(serde_json::from_value::<Vector>(stored).unwrap(), v);
        assert!(serde_json::from_value::<Vector>(serde_json::json!("AAA=")).is_err());
    }
}
