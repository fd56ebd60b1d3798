//! `GET /ads/{id}/recommended-petstars`: the active PetStars ranked by BM25 relevance to the
//! ad (see [`crate::rank`]), with an engagement prior from Instagram figures where a PetStar
//! has them (`?engagement=false` switches it off).
//!
//! A request reads the ad and the active PetStars' precomputed documents (one Query of the
//! active partition, page after page) and one batch read of the pets it returns. Past ~10,000
//! PetStars the documents outgrow a request's reads; the README's "Recommendation at scale"
//! describes the inverted index that replaces the partition read then.

use std::sync::Arc;

use serde::Serialize;
use shared::handler;
use shared::handler::{Caller, Okay, Params, Path};
use shared::routes::{Function, Method, Permission, enum_param, int_param};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::error::CampaignError;
use crate::rank::{Candidate, rank};
use crate::{PKG, petstars};

/// PetStars read for one ranking at most.
const MAX_CANDIDATES: usize = 20_000;

pub static RECOMMENDED: Function = Function::http(
    Method::Get,
    "/ads/{id}/recommended-petstars",
    "ads-recommended-petstars",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(recommended),
)
.permissions(&[Permission::TableRead, Permission::MediaRead])
.memory(512)
.doc("ads", "The PetStars that fit my ad best, each with its score and the ad's words it matched")
.query(&[
    int_param("limit", false, "how many, default 10", 1, 50),
    enum_param("engagement", false, "weigh Instagram engagement in (default true)", &["true", "false"]),
])
.errors(&[403, 404])
.reads_with_session(crate::ads::the_ad);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub pet: pets_contract::PetProfile,
    pub score: f64,
    pub matched_terms: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Recommendations {
    pub items: Vec<Recommendation>,
}

pub async fn recommended(
    ctx: Arc<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Okay<Recommendations>> {
    let ad = crate::ads::load(&ctx, &id).await?;
    if ad.advertiser_id != caller.user_id && !caller.is_admin() {
        return Err(CampaignError::NotAllowed.into());
    }
    let limit = params.limit(10, 50)?;
    let engagement = match params.raw("engagement") {
        None | Some("true") => true,
        Some("false") => false,
        Some(_) => return Err(ApiError::validation("engagement", "INVALID", "true or false")),
    };
    let stars = petstars::active(&ctx, MAX_CANDIDATES).await?;
    let candidates: Vec<Candidate> =
        stars.iter().map(|p| Candidate { id: &p.pet_id, document: &p.document, engagement: p.engagement }).collect();
    let ranked = rank(&ad.text(), &candidates, limit, engagement);
    let ids: Vec<String> = ranked.iter().map(|r| r.id.clone()).collect();
    let mut pets = pets_contract::profiles(&ctx, &ids).await?;
    let items = ranked
        .into_iter()
        .filter_map(|r| {
            pets.remove(&r.id).map(|pet| Recommendation { pet, score: r.score, matched_terms: r.matched_terms })
        })
        .collect();
    Ok(Okay(Recommendations { items }))
}
