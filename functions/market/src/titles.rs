//! The title postings of listings (the kernel's posting index, `shared::search`), kept in each
//! listing write's own transaction; [`crate::search`] reads them.

use shared::search::PostingIndex;
use shared::table::Write;

use crate::keys;

/// Listing titles: short, so every bigram is filed, in the listing's own transaction.
pub const TITLES: PostingIndex =
    PostingIndex { partition: keys::title_posting_partition, entity_type: "MarketTitleWord", max_tokens_per_text: 200 };

/// The only field of the index.
pub const TITLE: char = 'T';

/// The writes that bring a listing's postings from `old` title to `new` (either may be absent).
pub fn refile(listing: &str, old: Option<&str>, new: Option<&str>) -> Vec<Write> {
    let postings = |title: Option<&str>| title.map(|t| TITLES.text(TITLE, t)).unwrap_or_default();
    TITLES.refile(listing, &postings(old), &postings(new), &[])
}
