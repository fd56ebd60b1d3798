//! `GET /ads/{id}/recommended-petstars`: the active PetStars ranked by BM25 relevance to the
//! ad blended with the similarity of their embedding vectors (see [`crate::rank`]; the share of
//! the similarity is `RECOMMEND_SEMANTIC_WEIGHT`, `?semantic=false` ranks by words alone), with
//! an engagement prior from Instagram figures where a PetStar has them (`?engagement=false`
//! switches it off).
//!
//! A request reads the ad and its vector with the session, the active PetStars' precomputed
//! documents and vectors (one Query of the active partition, page after page) and one batch
//! read of the pets it returns. Past ~10,000
//! PetStars the documents outgrow a request's reads; the README's "Recommendation at scale"
//! describes the inverted index that replaces the partition read then.

use std::sync::Arc;

use serde::Serialize;
use shared::config::Setting;
use shared::handler;
use shared::handler::{Caller, Okay, Params, Path};
use shared::routes::{Function, Method, Permission, enum_param, int_param};
use shared::{ApiError, ApiResult, AppContext};
use utoipa::ToSchema;

use crate::error::CampaignError;
use crate::rank::{Candidate, Weights, rank};
use crate::{PKG, petstars};

/// PetStars read for one ranking at most.
const MAX_CANDIDATES: usize = 20_000;

/// How much of a recommendation's score is the similarity of meanings (the words have the rest).
pub const SEMANTIC_WEIGHT: Setting = Setting::public(
    "RECOMMEND_SEMANTIC_WEIGHT",
    "RecommendSemanticWeight",
    "Share of embedding similarity in PetStar recommendations, 0 to 1 (the rest is BM25)",
    "0.5",
);

fn semantic_weight(ctx: &AppContext) -> f64 {
    ctx.config
        .settings
        .get(SEMANTIC_WEIGHT.env_var)
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|w| (0.0..=1.0).contains(w))
        .unwrap_or(0.5)
}

/// The ad and its vector, read with the session.
fn the_ad_and_vector(path: &std::collections::HashMap<String, String>, caller: &str) -> Vec<shared::table::Key> {
    let mut keys = crate::ads::the_ad(path, caller);
    keys.extend(shared::routes::id_param(path, "id").map(crate::keys::ad_vector_key));
    keys
}

pub static RECOMMENDED: Function = Function::http(
    Method::Get,
    "/ads/{id}/recommended-petstars",
    "ads-recommended-petstars",
    PKG,
    identity_contract::ADVERTISERS_ONLY,
    handler!(recommended),
)
.permissions(&[Permission::TableRead, Permission::MediaRead])
.settings(&[&SEMANTIC_WEIGHT])
.memory(512)
.doc("ads", "The PetStars that fit my ad best, each with its score and the ad's words it matched")
.query(&[
    int_param("limit", false, "how many, default 10", 1, 50),
    enum_param("engagement", false, "weigh Instagram engagement in (default true)", &["true", "false"]),
    enum_param("semantic", false, "blend in the similarity of meanings (default true)", &["true", "false"]),
])
.errors(&[403, 404])
.reads_with_session(the_ad_and_vector);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub pet: pets_contract::PetProfile,
    pub score: f64,
    /// The ad's words the PetStar's pages have.
    pub matched_terms: Vec<String>,
    /// How well the words match, against the best match (0 to 1).
    pub text_score: f64,
    /// How close the meanings are (cosine similarity of the embeddings, 0 to 1); null when
    /// either vector is not made yet or `semantic=false`.
    pub similarity: Option<f64>,
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
    let switch = |name: &str| match params.raw(name) {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(ApiError::validation(name, "INVALID", "true or false")),
    };
    let (engagement, semantic) = (switch("engagement")?, switch("semantic")?);
    let ad_vector = if semantic {
        let stored = ctx.table.get::<crate::vectors::AdVector>(&crate::keys::ad_vector_key(&ad.id)).await?;
        crate::vectors::usable(&ad.text(), stored)
    } else {
        None
    };
    let stars = petstars::active(&ctx, MAX_CANDIDATES).await?;
    let candidates: Vec<Candidate> = stars
        .iter()
        .map(|p| Candidate { id: &p.pet_id, document: &p.document, vector: p.vector(), engagement: p.engagement })
        .collect();
    let weights = Weights {
        query_vector: ad_vector.as_ref().map(|v| v.0.as_slice()),
        semantic: semantic_weight(&ctx),
        engagement,
    };
    let ranked = rank(&ad.text(), &candidates, limit, weights);
    let ids: Vec<String> = ranked.iter().map(|r| r.id.clone()).collect();
    let mut pets = pets_contract::profiles(&ctx, &ids).await?;
    let items = ranked
        .into_iter()
        .filter_map(|r| {
            pets.remove(&r.id).map(|pet| Recommendation {
                pet,
                score: r.score,
                matched_terms: r.matched_terms,
                text_score: r.text_score,
                similarity: r.similarity,
            })
        })
        .collect();
    Ok(Okay(Recommendations { items }))
}
