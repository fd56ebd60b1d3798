//! The test harness: a whole local stack per test, in this process, on ephemeral ports, with
//! in-memory DynamoDB and a temporary folder; and a small HTTP client for driving it.

use std::time::{Duration, Instant};

use local_stack::{LocalStack, StackOptions};
use serde_json::{Value, json};

pub struct TestStack {
    pub stack: LocalStack,
    pub http: reqwest::Client,
    /// Leaves the calls ledger behind when the stack goes (see `LedgerDump`).
    pub ledger: LedgerDump,
    /// Leaves what the functions' policies refused and used when the stack goes (see `IamDump`).
    pub iam: IamDump,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestStack {
    pub async fn start() -> Self {
        Self::start_with(StackOptions::ephemeral()).await
    }

    /// A stack on a clock the test moves (`clock.advance(…)`), and the clock.
    pub async fn start_with_clock() -> (Self, std::sync::Arc<shared::clock::OffsetClock>) {
        let clock = shared::clock::OffsetClock::new();
        let mut opts = StackOptions::ephemeral();
        opts.clock = clock.clone();
        (Self::start_with(opts).await, clock)
    }

    pub async fn start_with(opts: StackOptions) -> Self {
        let stack = LocalStack::start(opts).await.expect("the local stack starts");
        let ledger = LedgerDump(stack.ctx.call_ledger.clone());
        let iam = IamDump(stack.iam.clone());
        Self {
            iam,
            stack,
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client"),
            ledger,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.stack.http_url, path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("the request reaches the stack");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("a body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        self.presigned_urls_open(&body).await;
        Reply { status, headers, body }
    }

    /// Every presigned media URL an answer holds must open for its reader: S3 checks it against
    /// the policy of the function that signed it, and one without `s3:GetObject` signs URLs that
    /// answer 403 (a missing object is fine: 404).
    async fn presigned_urls_open(&self, body: &Value) {
        let mut urls = presigned_urls(body);
        urls.sort_unstable();
        urls.dedup();
        for url in urls.into_iter().filter(|u| u.starts_with(&self.stack.media_url)).take(3) {
            let Ok(res) = self.http.get(url).header("range", "bytes=0-0").send().await else { continue };
            assert_ne!(
                res.status().as_u16(),
                403,
                "a presigned URL in the answer is refused (its signer's policy?): {url}"
            );
        }
    }

    /// A client whose requests come from another loopback address (another "source IP").
    pub fn client_from(&self, ip: &str) -> reqwest::Client {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().expect("an IP address"))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    /// A JSON POST from another source address.
    pub async fn post_from(&self, ip: &str, path: &str, body: Value) -> Reply {
        self.send(self.client_from(ip).post(self.url(path)).json(&body)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path))).await
    }

    /// Mail the local SES delivered to `to`, newest first, read over HTTP.
    pub async fn mail_to(&self, to: &str) -> Vec<Value> {
        let r = self.get(&format!("/_local/mail?to={to}")).await;
        assert_eq!(r.status, 200);
        r.body.as_array().cloned().unwrap_or_default()
    }

    /// Polls `check` until it returns `Some`, or panics after `timeout`.
    pub async fn eventually<T, F, Fut>(&self, timeout: Duration, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = check().await {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the indexes show every write made so far (they lag when the stack's
    /// `IndexLag` is on): for reading a list that is allowed to lag right after a write.
    pub async fn indexed(&self) {
        self.stack.faults.index_view.caught_up().await;
    }

    /// Waits until the background work earlier requests caused is done (the outbox relayed, every
    /// queue drained) and the indexes show it: workers share the table-call counter with
    /// requests, so counting tests settle first.
    pub async fn settle(&self) {
        assert!(self.stack.settle(Duration::from_secs(10)).await, "the workers did not go idle within 10 s");
    }

    pub async fn stop(self) {
        self.stack.stop().await;
    }
}

/// With `CALLS_LEDGER_DIR` set, every stack leaves there what its routes and workers cost in
/// DynamoDB calls; `cargo run -p local-stack --bin calls-table <dir>` makes the README's table.
pub struct LedgerDump(Option<std::sync::Arc<shared::context::CallLedger>>);

impl Drop for LedgerDump {
    fn drop(&mut self) {
        let (Some(dir), Some(ledger)) = (std::env::var_os("CALLS_LEDGER_DIR"), &self.0) else {
            return;
        };
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::path::Path::new(&dir).join(format!("{}-{n}.json", std::process::id()));
        if let Ok(json) = serde_json::to_vec(&ledger.snapshot()) {
            let _ = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(path, json));
        }
    }
}

/// Every presigned URL (a string carrying a SigV4 query signature) anywhere in an answer.
pub fn presigned_urls(v: &Value) -> Vec<&str> {
    fn collect<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) if s.contains("X-Amz-Signature=") => out.push(s),
            Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            Value::Object(o) => o.values().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    collect(v, &mut out);
    out
}

/// With `IAM_REPORT_DIR` set, every stack leaves there the calls its functions' policies refused
/// and the statements that allowed a call; `cargo run -p local-stack --bin iam-report <dir>`
/// lists the statements no test used and every refusal.
pub struct IamDump(pub std::sync::Arc<local_stack::iam::Iam>);

impl Drop for IamDump {
    fn drop(&mut self) {
        let Some(dir) = std::env::var_os("IAM_REPORT_DIR") else { return };
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::path::Path::new(&dir).join(format!("{}-{n}.json", std::process::id()));
        if let Ok(json) = serde_json::to_vec(&self.0.report()) {
            let _ = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(path, json));
        }
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

impl TestStack {
    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.call(reqwest::Method::POST, path, Some(body), token).await
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>, token: Option<&str>) -> Reply {
        let mut req = self.http.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// The six-digit code of the newest mail to `to` whose text contains `marker`.
    pub async fn code_from_mail(&self, to: &str, marker: &str) -> String {
        self.eventually(Duration::from_secs(10), "a code by mail", || async {
            let mails = self.mail_to(to).await;
            let text = mails.iter().find(|m| m["text"].as_str().is_some_and(|t| t.contains(marker)))?["text"]
                .as_str()?
                .to_string();
            let line = text.lines().find(|l| l.contains(marker))?;
            let code: String = line.chars().filter(|c| c.is_ascii_digit()).collect();
            (code.len() == 6).then_some(code)
        })
        .await
    }

    /// Signs up (as a user) and answers the new account's id.
    pub async fn sign_up(&self, email: &str, nickname: &str, password: &str) -> String {
        let body = serde_json::json!({"email": email, "password": password, "name": "테스트", "nickname": nickname});
        let r = self.post("/auth/signup", body, None).await;
        assert_eq!(r.status, 201, "sign-up of {email}: {:?}", r.body);
        r.body["userId"].as_str().unwrap().to_string()
    }

    pub async fn verify(&self, email: &str) {
        let code = self.code_from_mail(email, "인증 코드").await;
        let r = self.post("/auth/email/verify", serde_json::json!({"email": email, "code": code}), None).await;
        assert_eq!(r.status, 200, "verification of {email}: {:?}", r.body);
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/auth/login", serde_json::json!({"email": email, "password": password}), None).await
    }

    /// Starts the link, "signs in" to the sandbox as `account`, and posts the code back.
    pub async fn link_instagram(&self, owner: &Session, pet: &str, account: &str) -> Reply {
        let start = self.post(&format!("/pets/{pet}/instagram/connect"), json!({}), Some(&owner.access)).await;
        assert_eq!(start.status, 200, "connect: {:?}", start.body);
        let url = start.body["authorizeUrl"].as_str().unwrap().to_string();
        let state = start.body["state"].as_str().unwrap().to_string();
        assert!(
            url.contains(
                "scope=instagram_business_basic%2Cinstagram_business_manage_comments%2Cinstagram_business_manage_insights"
            ),
            "{url}"
        );
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let res = browser.get(format!("{url}&sandbox_user={account}")).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 302);
        let location = res.headers()["location"].to_str().unwrap().to_string();
        let query = location.split('?').nth(1).unwrap().trim_end_matches("#_");
        let param =
            |k: &str| query.split('&').find_map(|p| p.strip_prefix(&format!("{k}="))).map(str::to_string).unwrap();
        assert_eq!(param("state"), state, "Instagram hands the state back");
        self.post("/instagram/callback", json!({"code": param("code"), "state": state}), Some(&owner.access)).await
    }

    /// A verified, signed-in user.
    /// A verified account promoted to administrator, signed in again so its token has the role.
    pub async fn admin(&self, email: &str, nickname: &str, password: &str) -> Session {
        let who = self.user(email, nickname, password).await;
        identity::admin::promote_to_admin(&self.stack.ctx, email).await.expect("promoted");
        let r = self.login(email, password).await;
        Session { access: r.body["accessToken"].as_str().expect("a token").to_string(), ..who }
    }

    pub async fn user(&self, email: &str, nickname: &str, password: &str) -> Session {
        let user_id = self.sign_up(email, nickname, password).await;
        self.verify(email).await;
        let r = self.login(email, password).await;
        assert_eq!(r.status, 200, "login of {email}: {:?}", r.body);
        Session {
            user_id,
            email: email.to_string(),
            access: r.body["accessToken"].as_str().unwrap().to_string(),
            refresh: r.body["refreshToken"].as_str().unwrap().to_string(),
        }
    }

    /// A small PNG uploaded by `who` for `purpose` (`chat`, `market`, …): its media key.
    pub async fn png(&self, who: &Session, purpose: &str) -> String {
        let png: Vec<u8> = b"\x89PNG\r\n\x1a\n".iter().copied().chain(std::iter::repeat_n(7u8, 64)).collect();
        self.upload_png(who, purpose, png).await
    }

    /// The PNG `png` uploaded by `who` for `purpose`: its media key.
    pub async fn upload_png(&self, who: &Session, purpose: &str, png: Vec<u8>) -> String {
        let body = json!({"purpose": purpose, "contentType": "image/png", "contentLength": png.len()});
        let up = self.post("/uploads", body, Some(&who.access)).await;
        assert_eq!(up.status, 201, "{:?}", up.body);
        let url = up.body["uploadUrl"].as_str().expect("an upload URL");
        let put = self.http.put(url).header("content-type", "image/png").body(png).send().await.expect("S3 answers");
        assert!(put.status().is_success());
        up.body["key"].as_str().expect("a key").to_string()
    }

    /// An authorization code from a provider sandbox for a test identity (`google` or `kakao`).
    pub async fn provider_code(&self, provider: &str, email: &str, name: &str, redirect_uri: &str) -> String {
        let (path, client, name_param) = match provider {
            "google" => ("/google/authorize", local_stack::oauth_sandbox::GOOGLE_CLIENT_ID, "name"),
            _ => ("/kakao/oauth/authorize", local_stack::oauth_sandbox::KAKAO_CLIENT_ID, "nickname"),
        };
        let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let query = [
            ("client_id", client),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("state", "s1"),
            ("login_hint", email),
            (name_param, name),
        ];
        let res = no_redirect.get(format!("{}{path}", self.stack.sandbox_url)).query(&query).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 303, "the sandbox redirects");
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with(redirect_uri) && location.ends_with("&state=s1"), "{location}");
        location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_string()
    }
}

/// WebSocket clients of the stack's WebSocket API.
pub mod ws {
    use std::time::Duration;

    use futures::{SinkExt, StreamExt};
    use serde_json::{Value, json};
    use tokio_tungstenite::tungstenite::Message;

    use crate::{Session, TestStack};

    pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

    pub async fn ticket(t: &TestStack, who: &Session) -> String {
        let r = t.post("/realtime/tickets", json!({}), Some(&who.access)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["ticket"].as_str().unwrap().to_string()
    }

    /// Connects with `ticket`: the socket, or the HTTP status that refused the handshake.
    pub async fn connect_with(t: &TestStack, ticket: &str) -> Result<Socket, u16> {
        let url = format!("{}/?ticket={ticket}", t.stack.websocket_url);
        match tokio_tungstenite::connect_async(url).await {
            Ok((socket, _)) => Ok(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("handshake failed: {e}"),
        }
    }

    pub async fn connect(t: &TestStack, who: &Session) -> Socket {
        let ticket = ticket(t, who).await;
        connect_with(t, &ticket).await.expect("the ticket opens a connection")
    }

    /// The next JSON frame (within a few seconds).
    pub async fn next_frame(s: &mut Socket) -> Value {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(5), s.next())
                .await
                .expect("a frame within 5 s")
                .expect("the socket is open")
                .expect("a readable frame");
            if let Message::Text(t) = m {
                return serde_json::from_str(&t).expect("frames are JSON");
            }
        }
    }

    /// The next frame of `kind`, skipping others.
    pub async fn frame_of(s: &mut Socket, kind: &str) -> Value {
        loop {
            let f = next_frame(s).await;
            if f["type"] == kind {
                return f;
            }
        }
    }

    pub async fn send(s: &mut Socket, frame: Value) {
        s.send(Message::Text(frame.to_string().into())).await.unwrap();
    }
}

/// Waits, if need be, until at least `secs` seconds remain of the current minute (by the system
/// clock): a test of a per-minute limit then makes all its writes in one window, never across
/// a minute's turn.
pub async fn in_one_minute_window(secs: u64) {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let second = since_epoch.as_secs() % 60;
    if second + secs >= 60 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
}
