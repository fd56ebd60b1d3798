//! The breed catalogue shipped with the product (`GET /species`): no table reads.

use std::sync::Arc;

use serde::Serialize;
use shared::handler;
use shared::handler::{Okay, Params};
use shared::routes::{Access, Function, Method, enum_param, param, said};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::PKG;

pub use pets_contract::species::{CATALOGUE, Kind, Species, by_id};

pub static LIST: Function =
    Function::http(Method::Get, "/species", "species-list", PKG, Access::Public, handler!(list))
        .doc("pets", "The breed catalogue, filtered by kind and by a Korean or English substring")
        .query(&[
            enum_param("kind", false, "dogs or cats", &["DOG", "CAT"]),
            param("q", false, "part of a Korean or English name"),
        ])
        .responses(&[said(200, "Matching breeds.")]);

#[derive(Debug, Serialize, ToSchema)]
pub struct SpeciesList {
    pub items: Vec<Species>,
}

pub async fn list(_ctx: Arc<AppContext>, params: Params) -> ApiResult<Okay<SpeciesList>> {
    let kind = match params.raw("kind") {
        None => None,
        Some(k) if k.eq_ignore_ascii_case("DOG") => Some(Kind::Dog),
        Some(k) if k.eq_ignore_ascii_case("CAT") => Some(Kind::Cat),
        Some(_) => return Err(ApiError::validation("kind", "INVALID", "DOG or CAT")),
    };
    let q = params.get("q").map(|q| q.trim().to_lowercase());
    let items = CATALOGUE
        .iter()
        .filter(|s| kind.is_none_or(|k| s.kind == k))
        .filter(|s| q.as_deref().is_none_or(|q| s.name_ko.contains(q) || s.name_en.to_lowercase().contains(q)))
        .copied()
        .collect();
    Ok(Okay(SpeciesList { items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_big_enough_and_ids_are_unique() {
        assert!(CATALOGUE.iter().filter(|s| s.kind == Kind::Dog).count() >= 50);
        assert!(CATALOGUE.iter().filter(|s| s.kind == Kind::Cat).count() >= 30);
        let mut ids: Vec<_> = CATALOGUE.iter().map(|s| s.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
    }
}
