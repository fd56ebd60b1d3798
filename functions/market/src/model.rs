//! Listings, where they are, and what clients see of them. Keys and layout: [`crate::keys`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::table::{Entity, Gsi};
use utoipa::ToSchema;

use crate::keys;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    Toy,
    Feed,
    Cloth,
    Other,
}

impl Category {
    pub const NAMES: &'static [&'static str] = &["TOY", "FEED", "CLOTH", "OTHER"];
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Toy => "TOY",
            Category::Feed => "FEED",
            Category::Cloth => "CLOTH",
            Category::Other => "OTHER",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "TOY" => Some(Category::Toy),
            "FEED" => Some(Category::Feed),
            "CLOTH" => Some(Category::Cloth),
            "OTHER" => Some(Category::Other),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Sale,
    Reserved,
    Sold,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub lat: f64,
    pub lng: f64,
    pub address: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    pub id: String,
    pub seller_id: String,
    pub title: String,
    pub description: String,
    pub price: i64,
    pub category: Category,
    pub image_keys: Vec<String>,
    pub location: Location,
    pub status: Status,
    #[serde(default)]
    pub wish_count: i64,
    #[serde(default)]
    pub chat_room_count: i64,
    #[serde(default)]
    pub deleted: bool,
    /// The order whose payment holds the item while RESERVED.
    #[serde(default)]
    pub reserved_by: Option<String>,
    /// Who bought it, once SOLD.
    #[serde(default)]
    pub buyer_id: Option<String>,
    #[serde(default)]
    pub sold_at: Option<DateTime<Utc>>,
    /// Moves on with every change of what a buyer agrees to (price, title, photos): an order
    /// records it, and its payment goes through only while it stands.
    #[serde(default)]
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Entity for Listing {
    const TYPE: &'static str = "MarketListing";
    fn pk(&self) -> String {
        keys::listing_partition(&self.id)
    }
    fn sk(&self) -> String {
        keys::listing_key(&self.id).sk
    }
    /// A deleted listing leaves every list (sparse indexes).
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        if self.deleted {
            return Vec::new();
        }
        vec![
            (Gsi::Gsi1, keys::ALL_LISTINGS.into(), self.id.clone()),
            (Gsi::Gsi2, keys::seller_partition(&self.seller_id), self.id.clone()),
            (Gsi::Gsi3, keys::category_partition(self.category.as_str()), self.id.clone()),
        ]
    }
}

/// The geohash cells a listing is filed under: one of 5 characters (about 4.9 × 4.9 km) for
/// small circles, one of 4 (about 39 × 19.5 km) for large ones.
pub fn cells_of(location: &Location) -> Vec<String> {
    let c = geohash::Coord { x: location.lng, y: location.lat };
    [5, 4].iter().filter_map(|p| geohash::encode(c, *p).ok()).collect()
}

/// Where a listing is, filed in one cell (what nearby search reads).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placed {
    pub cell: String,
    pub id: String,
    pub lat: f64,
    pub lng: f64,
    pub category: Category,
    pub seller_id: String,
}

impl Entity for Placed {
    const TYPE: &'static str = "MarketPlace";
    fn pk(&self) -> String {
        keys::cell_partition(&self.cell)
    }
    fn sk(&self) -> String {
        self.id.clone()
    }
}

impl Placed {
    pub fn of(cell: &str, l: &Listing) -> Self {
        Placed {
            cell: cell.to_string(),
            id: l.id.clone(),
            lat: l.location.lat,
            lng: l.location.lng,
            category: l.category,
            seller_id: l.seller_id.clone(),
        }
    }
}

/// Great-circle distance in metres (haversine).
pub fn distance_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    const R: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * a.sqrt().asin()
}

/// The cells that together cover the circle of `radius_m` around a point: a grid over the
/// circle's bounding box at the cells' own size. At most a dozen or so: one query each.
pub fn covering_cells(lat: f64, lng: f64, radius_m: f64) -> Vec<String> {
    // Fine cells for small circles, unless far from the equator the circle spans many of
    // them (a cell narrows as the latitude grows): a query per cell, so the count is bounded.
    let fine = cells_at(5, lat, lng, radius_m);
    if radius_m <= 2_400.0 && fine.len() <= MAX_FINE_CELLS { fine } else { cells_at(4, lat, lng, radius_m) }
}

/// At most this many 5-character cells are queried for one circle; past it, 4-character ones.
const MAX_FINE_CELLS: usize = 12;

/// The furthest latitude (north or south) nearby search serves: beyond it a circle would
/// span too many cells to query (the service is for where people live).
pub const MAX_NEARBY_LATITUDE: f64 = 80.0;

fn cells_at(precision: usize, lat: f64, lng: f64, radius_m: f64) -> Vec<String> {
    // Cell height and width in degrees at this precision.
    let (cell_lat, cell_lng) =
        if precision == 5 { (180.0 / 4096.0, 360.0 / 8192.0) } else { (180.0 / 512.0, 360.0 / 512.0) };
    let dlat = radius_m / 111_320.0;
    let dlng = radius_m / (111_320.0 * lat.to_radians().cos().max(0.01));
    let mut cells = std::collections::BTreeSet::new();
    let mut y = (lat - dlat).max(-90.0);
    loop {
        let mut x = lng - dlng;
        loop {
            let wrapped = ((x + 540.0) % 360.0) - 180.0;
            if let Ok(h) = geohash::encode(geohash::Coord { x: wrapped, y: y.clamp(-90.0, 90.0) }, precision) {
                cells.insert(h);
            }
            if x >= lng + dlng {
                break;
            }
            x = (x + cell_lng / 2.0).min(lng + dlng);
        }
        if y >= (lat + dlat).min(90.0) {
            break;
        }
        y = (y + cell_lat / 2.0).min((lat + dlat).min(90.0));
    }
    cells.into_iter().collect()
}

/// A listing as clients see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListingView {
    pub id: String,
    pub seller: identity_contract::Person,
    pub title: String,
    pub description: String,
    pub price: i64,
    pub category: Category,
    pub location: Location,
    pub image_urls: Vec<String>,
    pub status: Status,
    pub wish_count: i64,
    /// Whether the caller has it on their wishlist.
    pub wished: bool,
    pub chat_room_count: i64,
    /// From the searched point, in nearby search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_great_circle_metres() {
        // Seoul City Hall to Gangnam station: about 8.9 km.
        let d = distance_m(37.5663, 126.9779, 37.4979, 127.0276);
        assert!((8_700.0..9_100.0).contains(&d), "{d}");
        assert!(distance_m(37.0, 127.0, 37.0, 127.0) < 0.001);
    }

    #[test]
    fn the_covering_cells_hold_every_point_of_the_circle() {
        for (lat, lng, r) in [(37.5665, 126.978, 1_000.0), (37.5665, 126.978, 20_000.0), (-33.86, 151.2, 2_400.0)] {
            let cells = covering_cells(lat, lng, r);
            assert!(cells.len() <= 16, "{} cells", cells.len());
            let precision = cells[0].len();
            for step in 0..72 {
                let bearing = (step as f64 * 5.0).to_radians();
                let (dlat, dlng) = (
                    r * 0.999 * bearing.cos() / 111_320.0,
                    r * 0.999 * bearing.sin() / (111_320.0 * lat.to_radians().cos()),
                );
                let h = geohash::encode(geohash::Coord { x: lng + dlng, y: lat + dlat }, precision).unwrap();
                assert!(cells.contains(&h), "{h} at {step} not among {cells:?}");
            }
        }
    }
}
