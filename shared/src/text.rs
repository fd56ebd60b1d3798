//! Text search tokens, shared by every domain that keeps a search index (diary posts, market
//! titles), so that one query finds words the same way everywhere.

use std::collections::BTreeSet;

/// Search tokens of a text: the character bigrams of every word (a one-letter word is its own
/// token), lower-cased. Bigrams find Korean words inside longer words (`산책` in `산책했어요`)
/// without a dictionary.
pub fn tokens(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = word.to_lowercase().chars().collect();
        match chars.len() {
            0 => {}
            1 => {
                out.insert(chars[0].to_string());
            }
            _ => {
                for w in chars.windows(2) {
                    out.insert(w.iter().collect());
                }
            }
        }
    }
    out
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
}
