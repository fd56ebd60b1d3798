//! Reading prescriptions: NAVER CLOVA OCR's General API (V2) through a real HTTP client, and the
//! parser that turns its words into at most [`MAX_DRUGS`] drugs.
//!
//! The request is `POST {invokeUrl}/general` with `X-OCR-SECRET` and `{version: "V2", requestId,
//! timestamp, images: [{format, name, data}]}`; the answer's `images[].fields[]` are words in
//! reading order, `lineBreak` ending each line.
//!
//! The parser reads line by line. A drug starts at a word that names a medicine form — 정, 캡슐,
//! 현탁액, 시럽, 산, 연고, 점안액, 액 — optionally with its strength (`아목시실린캡슐500mg`); what
//! follows it up to the next drug describes it:
//! - the dose: `1캡슐`, `1/2정`, `2ml`, `1포` (a trailing 씩 dropped);
//! - how often a day: `하루 2회`, `1일 3회`, `하루에 두번`, `하루 한번`, `아침 저녁` (2), `아침 점심
//!   저녁` (3);
//! - for how long: `5일분`, `14일간`;
//! - the route: `경구투` and `경구투여` are 경구투여; `외용`, `점안`;
//! - or, in a hospital prescription's table, the numbers after the name: dose, times a day, days.

use base64::Engine;
use serde::{Deserialize, Serialize};
use shared::AppContext;
use shared::config::{ConfigError, ProviderSettings, Setting, Settings};
use utoipa::ToSchema;

/// Drugs read from one prescription at most.
pub const MAX_DRUGS: usize = 5;

/// One drug as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Drug {
    pub name: String,
    pub dosage: String,
    /// 경구투여, 외용, 점안, or empty when not said.
    pub route: String,
    pub days: u32,
    pub times_per_day: u32,
}

/// Why reading failed.
#[derive(Debug, Clone)]
pub enum OcrFailure {
    /// Worth trying again (no answer, a server error).
    Transient(String),
    /// CLOVA refused the request as it is.
    Refused(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Field {
    infer_text: String,
    #[serde(default)]
    line_break: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageResult {
    infer_result: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    fields: Vec<Field>,
}

#[derive(Deserialize)]
struct OcrResponse {
    images: Vec<ImageResult>,
}

pub const INVOKE_URL: Setting = Setting::public(
    "CLOVA_OCR_INVOKE_URL",
    "ClovaOcrInvokeUrl",
    "CLOVA OCR General API invoke URL (empty: prescription reading off)",
    "",
);
pub const SECRET: Setting = Setting::secret("CLOVA_OCR_SECRET", "ClovaOcrSecret", "CLOVA OCR secret (X-OCR-SECRET)");

/// What the OCR worker reads.
pub const SETTINGS: &[&Setting] = &[&INVOKE_URL, &SECRET];

/// CLOVA OCR's General API: its invoke URL (the API gateway of one OCR domain) and secret.
#[derive(Clone)]
pub struct ClovaOcr {
    pub invoke_url: String,
    pub secret: String,
}

impl std::fmt::Debug for ClovaOcr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClovaOcr").field("invoke_url", &self.invoke_url).field("secret", &"<hidden>").finish()
    }
}

impl ProviderSettings for ClovaOcr {
    fn read(settings: &Settings) -> Result<Option<Self>, ConfigError> {
        Ok(match (settings.get(INVOKE_URL.env_var), settings.get(SECRET.env_var)) {
            (Some(url), Some(secret)) => Some(ClovaOcr { invoke_url: url.trim_end_matches('/').to_string(), secret }),
            _ => None,
        })
    }
}

/// Reads the text of an image: its lines, top to bottom.
pub async fn read(ctx: &AppContext, image: &[u8], format: &str) -> Result<Vec<String>, OcrFailure> {
    let clova = ctx
        .provider::<ClovaOcr>()
        .map_err(|e| OcrFailure::Refused(e.to_string()))?
        .ok_or_else(|| OcrFailure::Refused("OCR is not configured".into()))?;
    let now = ctx.now();
    let body = serde_json::json!({
        "version": "V2",
        "requestId": shared::ids::new_id(now),
        "timestamp": now.timestamp_millis(),
        "lang": "ko",
        "images": [{"format": format, "name": "prescription", "data": base64::engine::general_purpose::STANDARD.encode(image)}],
    });
    let res = ctx
        .http
        .post(format!("{}/general", clova.invoke_url))
        .header("X-OCR-SECRET", &clova.secret)
        .timeout(std::time::Duration::from_secs(30))
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            OcrFailure::Transient(if e.is_timeout() { "CLOVA OCR timed out".into() } else { e.to_string() })
        })?;
    let status = res.status();
    let bytes = res.bytes().await.map_err(|e| OcrFailure::Transient(e.to_string()))?;
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(OcrFailure::Transient(format!("CLOVA OCR answered {status}")));
    }
    if !status.is_success() {
        return Err(OcrFailure::Refused(format!("CLOVA OCR refused the request ({status})")));
    }
    let parsed: OcrResponse =
        serde_json::from_slice(&bytes).map_err(|e| OcrFailure::Transient(format!("unreadable OCR answer: {e}")))?;
    let image = parsed.images.into_iter().next().ok_or_else(|| OcrFailure::Refused("no image in the answer".into()))?;
    if image.infer_result != "SUCCESS" {
        return Err(OcrFailure::Refused(format!("the image could not be read: {}", image.message)));
    }
    Ok(lines(image.fields.iter().map(|f| (f.infer_text.as_str(), f.line_break))))
}

/// Words (with their line breaks) joined into lines.
pub fn lines<'a>(words: impl Iterator<Item = (&'a str, bool)>) -> Vec<String> {
    let mut out = Vec::new();
    let mut line: Vec<&str> = Vec::new();
    for (w, brk) in words {
        if !w.trim().is_empty() {
            line.push(w.trim());
        }
        if brk && !line.is_empty() {
            out.push(line.join(" "));
            line.clear();
        }
    }
    if !line.is_empty() {
        out.push(line.join(" "));
    }
    out
}

const FORMS: &[&str] = &["점안액", "현탁액", "캡슐", "시럽", "연고", "정", "산", "액"];
const UNITS: &[&str] = &["mg", "mcg", "g", "ml", "mL", "µg"];

/// The medicine form a word names (`정` in `타이레놀정500mg`), if it is a drug name.
fn drug_form(word: &str) -> Option<&'static str> {
    let core = word.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    // Strip a strength: digits then a unit at the end.
    let base = UNITS
        .iter()
        .find_map(|u| word.strip_suffix(u))
        .map(|w| w.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.'))
        .unwrap_or(core);
    let form = FORMS.iter().find(|f| base.ends_with(**f))?;
    let name = base.strip_suffix(form)?;
    // A name is at least two letters, all of them Hangul or Latin.
    let letters = name.chars().count();
    (letters >= 2 && name.chars().all(|c| c.is_alphabetic())).then_some(form)
}

fn korean_count(w: &str) -> Option<u32> {
    match w {
        "한" => Some(1),
        "두" => Some(2),
        "세" => Some(3),
        "네" => Some(4),
        _ => None,
    }
}

/// "2회" → 2, "두번" → 2, "한번" → 1.
fn count_of(w: &str) -> Option<u32> {
    if let Some(n) = w.strip_suffix('회') {
        return n.parse().ok();
    }
    if let Some(k) = w.strip_suffix("번") {
        return korean_count(k).or_else(|| k.parse().ok());
    }
    None
}

fn dosage_of(w: &str) -> Option<String> {
    let w = w.strip_suffix('씩').unwrap_or(w);
    for unit in ["캡슐", "정", "포", "ml", "mL", "방울", "cc"] {
        if let Some(n) = w.strip_suffix(unit)
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '/')
        {
            return Some(w.to_string());
        }
    }
    None
}

fn days_of(w: &str) -> Option<u32> {
    w.strip_suffix("일분").or_else(|| w.strip_suffix("일간")).and_then(|n| n.parse().ok())
}

fn route_of(w: &str) -> Option<&'static str> {
    if w.starts_with("경구투") {
        Some("경구투여")
    } else if w.starts_with("외용") {
        Some("외용")
    } else if w.starts_with("점안") {
        Some("점안")
    } else {
        None
    }
}

/// Reads the drugs in the lines of a prescription (at most [`MAX_DRUGS`]).
pub fn parse(lines: &[String]) -> Vec<Drug> {
    // Each drug with the words describing it.
    let mut found: Vec<(String, &'static str, Vec<String>)> = Vec::new();
    for line in lines {
        let words: Vec<String> = line
            .split_whitespace()
            // List numbering ("1.", "2)") is not part of a name.
            .filter(|w| {
                !(w.len() <= 3
                    && w.trim_end_matches(['.', ')']).chars().all(|c| c.is_ascii_digit())
                    && w.ends_with(['.', ')']))
            })
            .map(str::to_string)
            .collect();
        for w in words {
            match drug_form(&w) {
                Some(form) => found.push((w, form, Vec::new())),
                None => {
                    if let Some((_, _, rest)) = found.last_mut() {
                        rest.push(w);
                    }
                }
            }
        }
    }
    found.into_iter().take(MAX_DRUGS).map(|(name, form, rest)| describe(name, form, &rest)).collect()
}

fn describe(name: String, form: &str, rest: &[String]) -> Drug {
    let mut drug = Drug { name, dosage: String::new(), route: String::new(), days: 0, times_per_day: 0 };
    // A hospital table row: the three numbers right after the name.
    let numbers: Vec<&str> = rest.iter().take_while(|w| w.parse::<f64>().is_ok()).map(String::as_str).collect();
    if numbers.len() >= 3 {
        let unit = if form == "캡슐" || form == "정" { form } else { "" };
        drug.dosage = format!("{}{unit}", numbers[0]);
        drug.times_per_day = numbers[1].parse::<f64>().map(|n| n as u32).unwrap_or(0);
        drug.days = numbers[2].parse::<f64>().map(|n| n as u32).unwrap_or(0);
    }
    let has = |w: &str| rest.iter().any(|x| x == w);
    for (i, w) in rest.iter().enumerate() {
        if drug.dosage.is_empty()
            && let Some(d) = dosage_of(w)
        {
            drug.dosage = d;
        }
        if drug.days == 0
            && let Some(d) = days_of(w)
        {
            drug.days = d;
        }
        if drug.route.is_empty()
            && let Some(r) = route_of(w)
        {
            drug.route = r.to_string();
        }
        // "하루 2회", "1일 3회", "하루에 두번", "하루 한번".
        if drug.times_per_day == 0
            && matches!(w.as_str(), "하루" | "하루에" | "1일" | "일일")
            && let Some(n) = rest.get(i + 1).and_then(|next| count_of(next))
        {
            drug.times_per_day = n;
        }
        // Written together: "하루2회", "1일3회".
        if drug.times_per_day == 0 {
            for prefix in ["하루에", "하루", "1일"] {
                if let Some(n) = w.strip_prefix(prefix).and_then(count_of) {
                    drug.times_per_day = n;
                }
            }
        }
    }
    if drug.times_per_day == 0 && has("아침") && has("저녁") {
        drug.times_per_day = if has("점심") { 3 } else { 2 };
    }
    drug.times_per_day = drug.times_per_day.clamp(1, 3);
    drug.days = drug.days.clamp(1, 365);
    drug
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn drug_names_are_told_from_other_words() {
        for w in [
            "아목시실린캡슐500mg",
            "메트로니다졸정250mg",
            "수크랄페이트현탁액",
            "프로바이오틱스산",
            "피모벤단정1.25mg",
            "타이레놀정",
        ] {
            assert!(drug_form(w).is_some(), "{w}");
        }
        for w in ["처방전", "행복약국", "복약안내", "1캡슐씩", "정", "경구투여", "튼튼동물병원", "14일간", "처방내역"]
        {
            assert!(drug_form(w).is_none(), "{w}");
        }
    }

    #[test]
    fn frequencies_in_every_phrasing() {
        let read = |s: &str| parse(&lines_of(&format!("가바펜틴캡슐100mg {s}")))[0].times_per_day;
        assert_eq!(read("하루 2회"), 2);
        assert_eq!(read("1일 3회"), 3);
        assert_eq!(read("하루에 두번"), 2);
        assert_eq!(read("하루 한번"), 1);
        assert_eq!(read("아침 저녁"), 2);
        assert_eq!(read("아침 점심 저녁"), 3);
        assert_eq!(read("1일3회"), 3);
    }
}
