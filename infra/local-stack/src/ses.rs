//! SES, locally: the SES (v1, query protocol) calls the code makes — `SendEmail` and
//! `SendRawEmail` — are accepted from verified senders, and every email lands in a mailbox that
//! people and tests read at `GET /_local/mail?to=<address>`, and as `.eml` files in the data folder.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MailRecord {
    pub id: String,
    pub to: Vec<String>,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub sent_at: String,
}

/// Every email the stack has "sent".
#[derive(Debug)]
pub struct Mailbox {
    verified_senders: Vec<String>,
    dir: Option<PathBuf>,
    mails: Mutex<Vec<MailRecord>>,
}

impl Mailbox {
    /// A mailbox that keeps its mail under `dir` (if given) and reloads it on start.
    pub fn open(dir: Option<PathBuf>, verified_senders: Vec<String>) -> std::io::Result<Arc<Self>> {
        let mut mails = Vec::new();
        if let Some(d) = &dir {
            std::fs::create_dir_all(d)?;
            if let Ok(text) = std::fs::read_to_string(d.join("mailbox.jsonl")) {
                mails = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
            }
        }
        Ok(Arc::new(Self { verified_senders, dir, mails: Mutex::new(mails) }))
    }

    fn store(&self, mail: MailRecord) -> std::io::Result<()> {
        if let Some(d) = &self.dir {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(d.join("mailbox.jsonl"))?;
            writeln!(f, "{}", serde_json::to_string(&mail)?)?;
            let eml = format!(
                "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@local>\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{}",
                mail.from,
                mail.to.join(", "),
                mail.subject,
                mail.sent_at,
                mail.id,
                mail.text
            );
            std::fs::write(d.join(format!("{}.eml", mail.id)), eml)?;
        }
        self.mails.lock().unwrap().push(mail);
        Ok(())
    }

    /// Mail sent to `to` (case-insensitive), newest first; everything when `to` is `None`.
    pub fn to(&self, to: Option<&str>) -> Vec<MailRecord> {
        let mails = self.mails.lock().unwrap();
        let mut out: Vec<MailRecord> = mails
            .iter()
            .filter(|m| to.is_none_or(|t| m.to.iter().any(|a| a.eq_ignore_ascii_case(t))))
            .cloned()
            .collect();
        out.reverse();
        out
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn error(code: &str, message: &str) -> Response {
    let body = format!(
        r#"<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>"#,
        xml_escape(code),
        xml_escape(message),
        ulid::Ulid::new()
    );
    (StatusCode::BAD_REQUEST, [("content-type", "text/xml")], body).into_response()
}

fn ok(action: &str, message_id: &str) -> Response {
    let body = format!(
        r#"<{action}Response xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><{action}Result><MessageId>{message_id}</MessageId></{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>"#,
        ulid::Ulid::new()
    );
    ([("content-type", "text/xml")], body).into_response()
}

/// The parts of a raw MIME message we show: headers `From`, `To`, `Subject` and the text body.
fn parse_raw(raw: &str) -> (String, Vec<String>, String, String) {
    let (head, body) = raw.split_once("\r\n\r\n").or_else(|| raw.split_once("\n\n")).unwrap_or((raw, ""));
    let mut from = String::new();
    let mut to = Vec::new();
    let mut subject = String::new();
    for line in head.lines() {
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "from" => from = v.trim().to_string(),
                "to" => to = v.split(',').map(|a| a.trim().to_string()).collect(),
                "subject" => subject = v.trim().to_string(),
                _ => {}
            }
        }
    }
    (from, to, subject, body.to_string())
}

/// The SES endpoint (axum handler).
pub async fn endpoint(State(mailbox): State<Arc<Mailbox>>, body: Bytes) -> Response {
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let list = |prefix: &str| -> Vec<String> {
        let mut v: Vec<(usize, String)> = params
            .iter()
            .filter_map(|(n, val)| n.strip_prefix(prefix).and_then(|i| i.parse().ok()).map(|i: usize| (i, val.clone())))
            .collect();
        v.sort();
        v.into_iter().map(|(_, val)| val).collect()
    };
    let action = get("Action").unwrap_or_default();
    let (from, to, subject, text) = match action.as_str() {
        "SendEmail" => (
            get("Source").unwrap_or_default(),
            list("Destination.ToAddresses.member."),
            get("Message.Subject.Data").unwrap_or_default(),
            get("Message.Body.Text.Data").or_else(|| get("Message.Body.Html.Data")).unwrap_or_default(),
        ),
        "SendRawEmail" => {
            let Some(raw) =
                get("RawMessage.Data").and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
            else {
                return error("InvalidParameterValue", "RawMessage.Data must be base64.");
            };
            let (f, t, s, b) = parse_raw(&String::from_utf8_lossy(&raw));
            let dest = list("Destinations.member.");
            (get("Source").unwrap_or(f), if dest.is_empty() { t } else { dest }, s, b)
        }
        other => return error("InvalidAction", &format!("{other} is not supported locally")),
    };
    if to.is_empty() {
        return error("InvalidParameterValue", "Missing final '@domain'");
    }
    let bare_from = from.rsplit('<').next().unwrap_or(&from).trim_end_matches('>').trim().to_string();
    if !mailbox.verified_senders.iter().any(|s| s.eq_ignore_ascii_case(&bare_from)) {
        return error(
            "MessageRejected",
            &format!("Email address is not verified. The following identities failed the check: {from}"),
        );
    }
    let id = ulid::Ulid::new().to_string().to_lowercase();
    let record = MailRecord { id: id.clone(), to, from, subject, text, sent_at: chrono::Utc::now().to_rfc3339() };
    if let Err(e) = mailbox.store(record) {
        tracing::error!(error = %e, "mailbox write failed");
        return (StatusCode::INTERNAL_SERVER_ERROR, "mailbox write failed").into_response();
    }
    ok(&action, &id)
}
