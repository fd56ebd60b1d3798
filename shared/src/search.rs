//! Word search from postings kept in the table, one mechanism for every part of the product that
//! finds its documents by words (diary posts, community posts, listing titles): no Scan.
//!
//! A document files one posting per token of each indexed field, in one partition per field and
//! token, with the document's id as the sort key (ids are time-ordered, so a partition read
//! newest first gives the newest documents). A search reads the postings of the query's first
//! token and keeps the documents whose text holds the whole query: `산책` finds `산책했어요`,
//! and nothing is listed twice. A domain configures a [`PostingIndex`] (where its postings live,
//! what their items are called, how much of a text is indexed) and keeps the postings in step
//! with its writes, through [`PostingIndex::refile`].
//!
//! One tokenizer serves them all: words NFKC-normalised (as nicknames are) and lower-cased, cut
//! into character bigrams (a one-letter word is its own token). Bigrams find Korean words inside
//! longer words without a dictionary.

use std::collections::BTreeSet;

use unicode_normalization::UnicodeNormalization;

use crate::context::AppContext;
use crate::error::{ApiError, ApiResult};
use crate::table::{AttrValue, Key, Page, Query, Write, s};

/// A text as searches compare it: NFKC-normalised and lower-cased.
pub fn normalize(text: &str) -> String {
    text.nfkc().collect::<String>().to_lowercase()
}

/// The normalised words of a text (runs of letters and digits).
pub fn words(text: &str) -> Vec<String> {
    normalize(text).split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect()
}

/// The distinct tokens of a text in reading order.
fn tokens_in_order(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for word in words(text) {
        let chars: Vec<char> = word.chars().collect();
        let tokens: Vec<String> = match chars.len() {
            1 => vec![word],
            _ => chars.windows(2).map(|w| w.iter().collect()).collect(),
        };
        for t in tokens {
            if seen.insert(t.clone()) {
                out.push(t);
            }
        }
    }
    out
}

/// The search tokens of a text.
pub fn tokens(text: &str) -> BTreeSet<String> {
    tokens_in_order(text).into_iter().collect()
}

/// A document's postings: `(field, token)`.
pub type Postings = BTreeSet<(char, String)>;

/// One domain's index: where its postings live and how much of a text it files.
#[derive(Debug)]
pub struct PostingIndex {
    /// The partition of a field's token (from the domain's `keys.rs`).
    pub partition: fn(char, &str) -> String,
    /// The `entityType` of its posting items.
    pub entity_type: &'static str,
    /// Tokens filed per text: a document's writes stay bounded however long its text (2,000
    /// characters of random Hangul hold ~2,000 distinct bigrams); the opening of a text is what
    /// searches find it by.
    pub max_tokens_per_text: usize,
}

impl PostingIndex {
    /// The postings of `text` in `field`: its first tokens in reading order.
    pub fn text(&self, field: char, text: &str) -> Postings {
        tokens_in_order(text).into_iter().take(self.max_tokens_per_text).map(|t| (field, t)).collect()
    }

    /// One posting per whole value (hashtags): found by the value itself, not by its bigrams.
    pub fn values<'a>(&self, field: char, values: impl IntoIterator<Item = &'a String>) -> Postings {
        values.into_iter().map(|v| (field, normalize(v))).collect()
    }

    /// The writes that bring `document`'s postings from `old` to `new`: the new ones put (with
    /// `attributes` on each), the lost ones deleted. Keyed writes: repeating them is harmless.
    pub fn refile(&self, document: &str, old: &Postings, new: &Postings, attributes: &[(&str, &str)]) -> Vec<Write> {
        let mut writes: Vec<Write> =
            old.difference(new).map(|(f, t)| Write::delete(Key::new((self.partition)(*f, t), document))).collect();
        for (f, t) in new.difference(old) {
            let mut item = Key::new((self.partition)(*f, t), document).to_item();
            item.insert(crate::table::ENTITY_TYPE.into(), s(self.entity_type));
            for (name, value) in attributes {
                item.insert(name.to_string(), s(*value));
            }
            writes.push(Write::put_item(item));
        }
        writes
    }

    /// Postings as a list of strings (`F#token`), for a state item that remembers them.
    pub fn encode(postings: &Postings) -> Vec<String> {
        postings.iter().map(|(f, t)| format!("{f}#{t}")).collect()
    }

    pub fn decode(postings: &[String]) -> Postings {
        postings
            .iter()
            .filter_map(|p| {
                let (f, t) = p.split_once('#')?;
                Some((f.chars().next()?, t.to_string()))
            })
            .collect()
    }

    /// A page of the ids of documents whose `field` holds the query's first token, newest first
    /// (one query). The caller keeps those that hold the whole query ([`SearchQuery::found_in`]).
    pub async fn find(
        &self,
        ctx: &AppContext,
        field: char,
        query: &SearchQuery,
        limit: usize,
        cursor: Option<String>,
    ) -> ApiResult<Page<String>> {
        self.read(ctx, (self.partition)(field, &query.first), limit, cursor).await
    }

    /// A page of the ids of documents filed under a whole value (see [`PostingIndex::values`]).
    pub async fn find_value(
        &self,
        ctx: &AppContext,
        field: char,
        value: &str,
        limit: usize,
        cursor: Option<String>,
    ) -> ApiResult<Page<String>> {
        self.read(ctx, (self.partition)(field, &normalize(value)), limit, cursor).await
    }

    async fn read(
        &self,
        ctx: &AppContext,
        partition: String,
        limit: usize,
        cursor: Option<String>,
    ) -> ApiResult<Page<String>> {
        let page =
            ctx.table.query_items(&Query::partition(partition).newest_first().limit(limit).cursor(cursor)).await?;
        let ids = page
            .items
            .iter()
            .filter_map(|item| match item.get(crate::table::SK) {
                Some(AttrValue::S(id)) => Some(id.clone()),
                _ => None,
            })
            .collect();
        Ok(Page { items: ids, next_cursor: page.next_cursor })
    }
}

/// A search as someone typed it: 1 to 50 characters with at least one letter or digit, kept
/// normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The whole query, normalised: what a found document's text must contain.
    pub text: String,
    first: String,
}

impl SearchQuery {
    /// The `q` parameter as a search (400 `REQUIRED` or `NO_WORDS` otherwise).
    pub fn parse(q: Option<&str>) -> ApiResult<Self> {
        let text = normalize(q.unwrap_or_default().trim());
        if text.is_empty() || text.chars().count() > 50 {
            return Err(ApiError::validation("q", "REQUIRED", "1 to 50 characters"));
        }
        let first = tokens(&text)
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::validation("q", "NO_WORDS", "search for letters or digits"))?;
        Ok(SearchQuery { text, first })
    }

    /// Whether `text` holds the whole query.
    pub fn found_in(&self, text: &str) -> bool {
        normalize(text).contains(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigrams_find_korean_inside_words() {
        let t = tokens("오늘은 한강에서 산책했어요");
        assert!(t.contains("산책") && t.contains("한강"));
        assert!(tokens("Walk").contains("wa"));
        assert!(tokens("a b").contains("a"));
    }

    #[test]
    fn text_matches_however_its_letters_were_composed() {
        // Decomposed Hangul (NFD) and fullwidth Latin letters are the same words.
        let nfd: String = "산책".nfd().collect();
        assert_eq!(tokens(&nfd), tokens("산책"));
        assert_eq!(tokens("ＷＡＬＫ"), tokens("walk"));
        let q = SearchQuery::parse(Some(&nfd)).unwrap();
        assert!(q.found_in("한강 산책했어요"));
        assert!(SearchQuery::parse(Some(" ")).is_err());
        assert!(SearchQuery::parse(Some("!!")).is_err());
    }

    #[test]
    fn a_text_files_its_opening_tokens_once() {
        fn partition(f: char, t: &str) -> String {
            format!("P#{f}#{t}")
        }
        let index = PostingIndex { partition, entity_type: "Posting", max_tokens_per_text: 3 };
        let p = index.text('C', "가나다라마 가나");
        assert_eq!(p.len(), 3);
        assert!(p.contains(&('C', "가나".into())) && p.contains(&('C', "다라".into())));
        let old = index.text('C', "가나");
        let writes = index.refile("doc", &old, &p, &[]);
        assert_eq!(writes.len(), 2, "two new postings, none lost");
        assert_eq!(PostingIndex::decode(&PostingIndex::encode(&p)), p);
    }
}
