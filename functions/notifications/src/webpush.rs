//! Web Push, the mechanism: delivery to a browser's push service (RFC 8030), the sender's VAPID
//! authentication (RFC 8292) and the `aes128gcm` payload encryption (RFC 8291).
//!
//! - The encryption is `web-push-native`'s (RustCrypto's P-256, HKDF and AES-GCM; no OpenSSL),
//!   checked here against RFC 8291's own example. Its `vapid` feature is off: the VAPID JWT is
//!   ES256 signed with jsonwebtoken, the one JWT crate of the project, algorithm pinned.
//! - The VAPID key pair is derived from one generated secret (`WEBPUSH_VAPID_KEY`), so deploying
//!   needs no key ceremony and every function that reads it agrees on the public key.
//! - A push endpoint is a URL a client chose, and the server sends requests to it: [`check`]
//!   refuses anything but https to a public address (private, loopback, link-local and metadata
//!   networks, and names that resolve to them), at registration and again before each send, and
//!   the client's resolver drops such addresses (a name that changes its answer between the
//!   check and the connection gets nowhere). Redirects are not followed. Locally, the only
//!   other origin allowed is the local push service's, named by `WEBPUSH_LOCAL_ORIGIN`, and only
//!   in the `local` stage.

use crate::figures as names;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use reqwest::Url;
use serde::{Deserialize, Serialize};
use shared::AppContext;
use shared::config::{ConfigError, ProviderSettings, Setting, SettingSource, Settings};

/// The secret the VAPID key pair is derived from; without it nothing is pushed.
pub const VAPID_KEY: Setting = Setting {
    env_var: "WEBPUSH_VAPID_KEY",
    parameter: "WebPushVapidKey",
    description: "Web Push sender key (VAPID, RFC 8292): the P-256 key pair is derived from this value",
    source: SettingSource::Generated { name: "webpush-vapid-key" },
};

/// In the `local` stage only: the local push service's origin, the one non-https, loopback origin
/// an endpoint may have.
pub const LOCAL_ORIGIN_VAR: &str = "WEBPUSH_LOCAL_ORIGIN";

/// How long a VAPID signature is good for (RFC 8292 allows at most 24 hours).
const VAPID_VALID_SECS: i64 = 12 * 3600;

/// The longest endpoint accepted (browsers' are a few hundred characters).
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// The sender's key pair.
#[derive(Clone)]
pub struct Vapid {
    public: String,
    signing: jsonwebtoken::EncodingKey,
}

impl std::fmt::Debug for Vapid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vapid").field("public", &self.public).finish_non_exhaustive()
    }
}

impl Vapid {
    /// The key pair of `secret`: the first SHA-256 of a counter and the secret that is a valid
    /// P-256 scalar (the first, save with negligible odds).
    pub fn from_secret(secret: &str) -> Result<Vapid, String> {
        use p256::pkcs8::EncodePrivateKey;
        use sha2::Digest;
        for i in 0u8..=255 {
            let digest = sha2::Sha256::new()
                .chain_update(b"petplatform/webpush-vapid/")
                .chain_update([i])
                .chain_update(secret.as_bytes())
                .finalize();
            let Ok(key) = p256::SecretKey::from_slice(&digest) else { continue };
            let der = key.to_pkcs8_der().map_err(|e| format!("the VAPID key does not encode: {e}"))?;
            return Ok(Vapid {
                public: URL_SAFE_NO_PAD.encode(key.public_key().to_encoded_point(false).as_bytes()),
                signing: jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes()),
            });
        }
        Err("no P-256 key derives from this secret".into())
    }

    /// The public key as browsers take it (`applicationServerKey`): the uncompressed point,
    /// base64url without padding.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a push to `endpoint` (RFC 8292 §3): a JWT for the push
    /// service's origin, expiring within `VAPID_VALID_SECS`, naming who to contact.
    pub fn authorization(&self, endpoint: &Url, contact: &str, now: i64) -> Result<String, String> {
        let claims = VapidClaims {
            aud: endpoint.origin().ascii_serialization(),
            exp: now + VAPID_VALID_SECS,
            sub: contact.to_string(),
        };
        let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        let jwt = jsonwebtoken::encode(&header, &claims, &self.signing).map_err(|e| e.to_string())?;
        Ok(format!("vapid t={jwt}, k={}", self.public))
    }
}

impl ProviderSettings for Vapid {
    fn read(settings: &Settings) -> Result<Option<Self>, ConfigError> {
        match settings.get(VAPID_KEY.env_var) {
            None => Ok(None),
            Some(v) if v.len() < 32 => {
                Err(ConfigError::Invalid { name: VAPID_KEY.env_var, reason: "must be at least 32 bytes".into() })
            }
            Some(v) => Vapid::from_secret(&v)
                .map(Some)
                .map_err(|reason| ConfigError::Invalid { name: VAPID_KEY.env_var, reason }),
        }
    }
}

/// What a VAPID JWT claims (RFC 8292 §2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VapidClaims {
    pub aud: String,
    pub exp: i64,
    pub sub: String,
}

/// A subscription's keys, as the browser gave them: its ECDH public key and auth secret.
#[derive(Debug, Clone)]
pub struct ClientKeys {
    pub p256dh: p256::PublicKey,
    pub auth: [u8; 16],
}

impl ClientKeys {
    /// The keys of a `PushSubscription` (base64url, padded or not): `None` unless `p256dh` is a
    /// P-256 point and `auth` 16 bytes.
    pub fn parse(p256dh: &str, auth: &str) -> Option<ClientKeys> {
        let decode = |s: &str| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok();
        let point = decode(p256dh).filter(|b| b.len() == 65)?;
        let p256dh = p256::PublicKey::from_sec1_bytes(&point).ok()?;
        let auth: [u8; 16] = decode(auth)?.try_into().ok()?;
        Some(ClientKeys { p256dh, auth })
    }
}

/// Why an endpoint is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    NotHttps,
    /// On a private, loopback, link-local or metadata network, or a name resolving to one.
    PrivateAddress,
    /// The name does not resolve.
    Unresolvable,
}

/// Where pushes may go in this stage: the local push service's origin, locally.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    local_origin: Option<String>,
}

impl Policy {
    pub fn of(ctx: &AppContext) -> Policy {
        let local_origin = (ctx.config.stage == "local")
            .then(|| ctx.config.settings.get(LOCAL_ORIGIN_VAR))
            .flatten()
            .and_then(|o| Url::parse(&o).ok())
            .map(|u| u.origin().ascii_serialization());
        Policy { local_origin }
    }

    fn is_local_service(&self, url: &Url) -> bool {
        self.local_origin.as_deref() == Some(url.origin().ascii_serialization().as_str())
    }
}

/// `raw` as an endpoint pushes may go to, or why not. Names are resolved: one address that is
/// not public is enough to refuse.
pub async fn check(raw: &str, policy: &Policy) -> Result<Url, Refusal> {
    let url = check_form(raw, policy)?;
    if policy.is_local_service(&url) {
        return Ok(url);
    }
    if let Some(url::Host::Domain(name)) = url.host() {
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> =
            tokio::net::lookup_host((name, port)).await.map_err(|_| Refusal::Unresolvable)?.collect();
        if addrs.is_empty() {
            return Err(Refusal::Unresolvable);
        }
        if addrs.iter().any(|a| !is_public(a.ip())) {
            return Err(Refusal::PrivateAddress);
        }
    }
    Ok(url)
}

/// The checks that need no lookup: the form, the scheme, an address written in the URL.
fn check_form(raw: &str, policy: &Policy) -> Result<Url, Refusal> {
    if raw.len() > MAX_ENDPOINT_LEN {
        return Err(Refusal::Malformed);
    }
    let url = Url::parse(raw).map_err(|_| Refusal::Malformed)?;
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(Refusal::Malformed);
    }
    if policy.is_local_service(&url) {
        return Ok(url);
    }
    if url.scheme() != "https" {
        return Err(Refusal::NotHttps);
    }
    match url.host() {
        None => Err(Refusal::Malformed),
        Some(url::Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => Err(Refusal::PrivateAddress),
        Some(url::Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => Err(Refusal::PrivateAddress),
        Some(_) => Ok(url),
    }
}

/// Whether `ip` is on the public internet: not private, loopback, link-local (the cloud
/// metadata services live there), shared, multicast, documentation or reserved space, nor an
/// IPv6 form of such an IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return is_public_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local, fd00:ec2::254 (metadata) among them
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || s[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: the metadata services
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a >= 240 // reserved
        || (a == 100 && (b & 0xc0) == 64) // shared address space (100.64/10)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18)) // benchmarking (198.18/15)
}

/// A resolver that answers only public addresses: the connection cannot reach a private one,
/// whatever the name resolves to by the time it is made.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.filter(|a| is_public(a.ip())).collect();
            if addrs.is_empty() {
                return Err("no public address".into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client pushes go through: public addresses only, no redirects, a bounded wait.
#[derive(Clone)]
struct PushClient(reqwest::Client);

fn client(ctx: &AppContext) -> reqwest::Client {
    ctx.client(|_| {
        PushClient(
            reqwest::Client::builder()
                .dns_resolver(Arc::new(PublicOnly))
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .expect("an HTTP client with a resolver and a timeout builds"),
        )
    })
    .0
}

/// How soon a push must reach the device (RFC 8030 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Low,
    Normal,
    High,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::High => "high",
        }
    }
}

/// One push message.
#[derive(Debug, Clone)]
pub struct Push<'a> {
    pub payload: &'a [u8],
    /// How long the push service keeps it for a device that is offline.
    pub ttl_secs: u32,
    pub urgency: Urgency,
    /// A newer push with the same topic replaces an undelivered older one (RFC 8030 §5.4).
    pub topic: Option<&'a str>,
}

/// What came of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Accepted,
    /// The subscription is gone (404, 410), or its endpoint now points where pushes may not go.
    Gone,
    /// Throttled or failing (429, 5xx, no answer): try again, not before `Retry-After` if given.
    Later(Option<u32>),
    /// Refused for good (400, 401, 403, 413, …): logged, not retried.
    Refused(u16),
}

/// Encrypts `push` for `keys` and sends it to `endpoint`, signed with `vapid`.
pub async fn send(
    ctx: &AppContext,
    vapid: &Vapid,
    endpoint: &str,
    keys: &ClientKeys,
    push: &Push<'_>,
) -> Result<Delivery, String> {
    let url = match check(endpoint, &Policy::of(ctx)).await {
        Ok(url) => url,
        Err(Refusal::Unresolvable) => return Ok(Delivery::Later(None)),
        Err(_) => return Ok(Delivery::Gone),
    };
    let authorization =
        vapid.authorization(&url, &format!("mailto:{}", ctx.config.ops_email), ctx.now().timestamp())?;
    let auth = web_push_native::Auth::clone_from_slice(&keys.auth);
    let body =
        web_push_native::encrypt(push.payload.to_vec(), &keys.p256dh, &auth).map_err(|e| format!("encrypting: {e}"))?;
    let mut req = client(ctx)
        .post(url.clone())
        .header("TTL", push.ttl_secs.to_string())
        .header("Urgency", push.urgency.as_str())
        .header("Content-Encoding", "aes128gcm")
        .header("Content-Type", "application/octet-stream")
        .header("Authorization", authorization)
        .body(body);
    if let Some(topic) = push.topic {
        req = req.header("Topic", topic);
    }
    let origin = url.origin().ascii_serialization();
    let res = match req.send().await {
        Ok(res) => res,
        Err(e) => {
            ctx.metrics.count(names::PUSH_FAILURES, 1.0);
            // The URL carries the subscription's capability: only its origin is logged.
            tracing::info!(push_service = %origin, error = %e.without_url(), "a push got no answer");
            return Ok(Delivery::Later(None));
        }
    };
    let status = res.status().as_u16();
    let name = if res.status().is_success() { names::PUSH_DELIVERIES } else { names::PUSH_FAILURES };
    ctx.metrics.count(name, 1.0);
    Ok(match status {
        200..=299 => Delivery::Accepted,
        404 | 410 => Delivery::Gone,
        429 | 500..=599 => Delivery::Later(retry_after(res.headers(), ctx.now())),
        _ => {
            tracing::warn!(push_service = %origin, status, "a push service refused a push");
            Delivery::Refused(status)
        }
    })
}

/// `Retry-After` in seconds: a number, or an HTTP date from `now`.
fn retry_after(headers: &reqwest::header::HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<u32> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u32>() {
        return Some(secs);
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some((at.timestamp() - now.timestamp()).clamp(0, i64::from(u32::MAX)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8291, Appendix A: the user agent's keys and the message as the push service got it.
    #[test]
    fn the_rfc_8291_example_decrypts_with_the_crate() {
        let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap();
        let body = decode(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
        );
        let ua_private = p256::SecretKey::from_slice(&decode("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94")).unwrap();
        let auth = web_push_native::Auth::clone_from_slice(&decode("BTBZMqHH6r4Tts7J_aSIgg"));
        let plain = web_push_native::decrypt(body, &ua_private, &auth).unwrap();
        assert_eq!(plain, b"When I grow up, I want to be a watermelon");
        // The user agent's public key of the example, as a subscription carries it.
        let keys = ClientKeys::parse(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
            "BTBZMqHH6r4Tts7J_aSIgg",
        )
        .unwrap();
        assert_eq!(keys.p256dh, ua_private.public_key());
    }

    #[test]
    fn what_is_sent_decrypts_for_the_subscriber_only() {
        let ua = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()).unwrap();
        let auth = [7u8; 16];
        let body =
            web_push_native::encrypt(b"hello".to_vec(), &ua.public_key(), &web_push_native::Auth::from(auth)).unwrap();
        assert_eq!(web_push_native::decrypt(body.clone(), &ua, &web_push_native::Auth::from(auth)).unwrap(), b"hello");
        assert!(web_push_native::decrypt(body, &ua, &web_push_native::Auth::from([8u8; 16])).is_err());
    }

    #[test]
    fn the_vapid_jwt_verifies_with_the_public_key_and_names_the_push_service() {
        let vapid = Vapid::from_secret("a secret of at least thirty-two bytes, for tests").unwrap();
        assert_eq!(
            vapid.public_key(),
            Vapid::from_secret("a secret of at least thirty-two bytes, for tests").unwrap().public_key()
        );
        let url = Url::parse("https://push.example.net:8443/send/abc?x=1").unwrap();
        let header = vapid.authorization(&url, "mailto:ops@example.com", 1_700_000_000).unwrap();
        let (t, k) = header.strip_prefix("vapid t=").unwrap().split_once(", k=").unwrap();
        assert_eq!(k, vapid.public_key());
        let point = URL_SAFE_NO_PAD.decode(k).unwrap();
        let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..]));
        let key = jsonwebtoken::DecodingKey::from_ec_components(&x, &y).unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.validate_exp = false;
        v.set_audience(&["https://push.example.net:8443"]);
        let claims = jsonwebtoken::decode::<VapidClaims>(t, &key, &v).unwrap().claims;
        assert_eq!((claims.exp, claims.sub.as_str()), (1_700_000_000 + VAPID_VALID_SECS, "mailto:ops@example.com"));
        let other = Vapid::from_secret("another secret of at least thirty-two bytes!").unwrap();
        assert_ne!(other.public_key(), vapid.public_key());
    }

    #[test]
    fn only_public_addresses_are_public() {
        for ip in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "127.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "ff02::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "142.250.196.110", "172.32.0.1", "2607:f8b0:4004:c07::5f", "::ffff:8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn endpoints_are_https_to_public_addresses_but_for_the_local_service() {
        let none = Policy::default();
        for (raw, why) in [
            ("http://push.example.net/x", Refusal::NotHttps),
            ("https://10.0.0.8/x", Refusal::PrivateAddress),
            ("https://[::1]:8443/x", Refusal::PrivateAddress),
            ("https://169.254.169.254/latest/meta-data", Refusal::PrivateAddress),
            ("https://[::ffff:192.168.0.1]/x", Refusal::PrivateAddress),
            ("https://localhost/x", Refusal::PrivateAddress),
            ("https://user:pw@push.example.net/x", Refusal::Malformed),
            ("not a url", Refusal::Malformed),
            ("http://127.0.0.1:9400/push/send/abc", Refusal::NotHttps),
        ] {
            assert_eq!(check(raw, &none).await.err(), Some(why), "{raw}");
        }
        let local = Policy { local_origin: Some("http://127.0.0.1:9400".into()) };
        assert!(check("http://127.0.0.1:9400/push/send/abc", &local).await.is_ok());
        assert_eq!(check("http://127.0.0.1:9401/push/send/abc", &local).await.err(), Some(Refusal::NotHttps));
        assert_eq!(check("https://127.0.0.1:9401/x", &local).await.err(), Some(Refusal::PrivateAddress));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = reqwest::header::HeaderMap::new();
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().to_utc();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(7));
        h.insert("retry-after", "Mon, 07 Dec 2026 10:01:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(60));
    }
}
