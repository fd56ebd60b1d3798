//! A sandbox of NAVER CLOVA OCR's General API (V2), so that the product's OCR client runs
//! unchanged on a laptop: `POST /clova/general` with the `X-OCR-SECRET` header and the V2 request
//! (`{version: "V2", requestId, timestamp, images: [{format, name, data}]}`, the image as base64).
//!
//! It recognises the prescription photos shipped in `fixtures/prescriptions/` (a pharmacy
//! envelope, a hospital prescription table, one to six drugs, several ways of saying how often,
//! a blurred photo) and answers each with a General OCR result built from the fixture's text:
//! one field per word, in reading order, with `lineBreak` at the end of each line, bounding
//! polygons and confidences, as CLOVA does. An image it does not know reads as no text at all.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The secret the sandbox accepts.
pub const SECRET: &str = "local-clova-ocr-secret";

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../fixtures/prescriptions/", $name, ".png")).as_slice(),
            include_str!(concat!("../fixtures/prescriptions/", $name, ".txt")),
        )
    };
}

/// The shipped prescription photos: name, image, and the text on it (one line per line).
pub const FIXTURES: &[(&str, &[u8], &str)] = &[
    fixture!("envelope-two-drugs"),
    fixture!("hospital-table"),
    fixture!("single-twice-a-day"),
    fixture!("once-and-morning-evening"),
    fixture!("six-drugs"),
    fixture!("blurred"),
];

/// A shipped photo by name (tests upload it).
pub fn fixture_image(name: &str) -> &'static [u8] {
    FIXTURES.iter().find(|(n, _, _)| *n == name).map(|(_, img, _)| *img).unwrap_or_else(|| panic!("no fixture {name}"))
}

static BY_DIGEST: LazyLock<HashMap<[u8; 32], &'static str>> =
    LazyLock::new(|| FIXTURES.iter().map(|(_, img, text)| (Sha256::digest(img).into(), *text)).collect());

pub fn router() -> Router {
    Router::new().route("/clova/general", post(general))
}

/// The General OCR fields of `text`: a word a field, lines top to bottom.
pub fn fields(text: &str, blurred: bool) -> Vec<Value> {
    let mut out = Vec::new();
    for (row, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut x = 40.0;
        let y = 60.0 + row as f64 * 48.0;
        for (i, w) in words.iter().enumerate() {
            let width = 18.0 * w.chars().count() as f64;
            out.push(json!({
                "valueType": "ALL",
                "boundingPoly": {"vertices": [
                    {"x": x, "y": y}, {"x": x + width, "y": y}, {"x": x + width, "y": y + 30.0}, {"x": x, "y": y + 30.0}
                ]},
                "inferText": w,
                "inferConfidence": if blurred { 0.41 } else { 0.9921 - 0.003 * (i % 5) as f64 },
                "type": "NORMAL",
                "lineBreak": i + 1 == words.len(),
            }));
            x += width + 12.0;
        }
    }
    out
}

async fn general(headers: HeaderMap, body: Option<Json<Value>>) -> Response {
    if headers.get("x-ocr-secret").and_then(|v| v.to_str().ok()) != Some(SECRET) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"code": "0002", "message": "Authentication failed"})))
            .into_response();
    }
    let Some(Json(req)) = body else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"code": "0001", "message": "URL is invalid"})))
            .into_response();
    };
    let (Some(request_id), Some(images)) = (req["requestId"].as_str(), req["images"].as_array()) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"code": "0011", "message": "Request invalid"})))
            .into_response();
    };
    if req["version"] != "V2" || images.is_empty() {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"code": "0011", "message": "Request invalid"})))
            .into_response();
    }
    let mut results = Vec::new();
    for image in images {
        let name = image["name"].as_str().unwrap_or("image");
        let Some(bytes) = image["data"].as_str().and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
        else {
            results.push(json!({"uid": hex::encode(rand::random::<[u8; 16]>()), "name": name, "inferResult": "ERROR",
                                "message": "Image data is invalid", "validationResult": {"result": "NO_REQUESTED"}}));
            continue;
        };
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        let text = BY_DIGEST.get(&digest).copied().unwrap_or("");
        let blurred = text.lines().count() <= 2;
        results.push(json!({
            "uid": hex::encode(rand::random::<[u8; 16]>()),
            "name": name,
            "inferResult": "SUCCESS",
            "message": "SUCCESS",
            "validationResult": {"result": "NO_REQUESTED"},
            "convertedImageInfo": {"width": 1240, "height": 1754, "pageIndex": 0, "longImage": false},
            "fields": fields(text, blurred),
        }));
    }
    axum::Json(json!({
        "version": "V2",
        "requestId": request_id,
        "timestamp": chrono::Utc::now().timestamp_millis(),
        "images": results,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use health::ocr::{Drug, lines, parse};

    use super::*;

    /// What the product reads from a fixture, through the sandbox's words.
    fn drugs_of(name: &str) -> Vec<Drug> {
        let text = FIXTURES.iter().find(|(n, _, _)| *n == name).unwrap().2;
        let fields = fields(text, false);
        let words: Vec<(String, bool)> = fields
            .iter()
            .map(|f| (f["inferText"].as_str().unwrap().to_string(), f["lineBreak"].as_bool().unwrap()))
            .collect();
        parse(&lines(words.iter().map(|(w, b)| (w.as_str(), *b))))
    }

    fn drug(name: &str, dosage: &str, route: &str, days: u32, times_per_day: u32) -> Drug {
        Drug { name: name.into(), dosage: dosage.into(), route: route.into(), days, times_per_day }
    }

    #[test]
    fn words_come_in_reading_order_with_line_breaks() {
        let f = fields("하루 2회\n5일분", false);
        let got: Vec<(&str, bool)> =
            f.iter().map(|x| (x["inferText"].as_str().unwrap(), x["lineBreak"].as_bool().unwrap())).collect();
        assert_eq!(got, vec![("하루", false), ("2회", true), ("5일분", true)]);
        assert_eq!(lines(got.into_iter()), vec!["하루 2회", "5일분"]);
    }

    #[test]
    fn a_pharmacy_envelope() {
        assert_eq!(
            drugs_of("envelope-two-drugs"),
            vec![
                drug("아목시실린캡슐500mg", "1캡슐", "경구투여", 5, 2),
                drug("메트로니다졸정250mg", "1/2정", "경구투여", 3, 3)
            ]
        );
    }

    #[test]
    fn a_hospital_prescription_table() {
        assert_eq!(
            drugs_of("hospital-table"),
            vec![
                drug("세파클러캡슐250mg", "1캡슐", "경구투여", 7, 2),
                drug("프레드니솔론정5mg", "0.5정", "경구투여", 5, 1)
            ]
        );
    }

    #[test]
    fn twice_a_day_said_in_words() {
        assert_eq!(drugs_of("single-twice-a-day"), vec![drug("가바펜틴캡슐100mg", "1캡슐", "", 14, 2)]);
    }

    #[test]
    fn once_a_day_and_morning_and_evening() {
        assert_eq!(
            drugs_of("once-and-morning-evening"),
            vec![drug("피모벤단정1.25mg", "1정", "", 30, 1), drug("푸로세미드정10mg", "1정", "경구투여", 30, 2)]
        );
    }

    #[test]
    fn at_most_five_drugs() {
        assert_eq!(
            drugs_of("six-drugs"),
            vec![
                drug("오메프라졸캡슐10mg", "1캡슐", "", 7, 1),
                drug("수크랄페이트현탁액", "2ml", "", 7, 3),
                drug("메토클로프라미드정5mg", "1정", "", 5, 2),
                drug("엔로플록사신정50mg", "1정", "", 7, 1),
                drug("실리마린캡슐", "1캡슐", "", 14, 2),
            ]
        );
    }

    #[test]
    fn a_blurred_photo_yields_nothing() {
        assert!(drugs_of("blurred").is_empty());
    }
}
