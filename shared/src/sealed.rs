//! Secrets at rest (provider tokens, bank accounts): AES-256-GCM (RustCrypto's `aes-gcm`), a
//! random 96-bit nonce per sealing, and a context (what the secret belongs to) as associated
//! data, so a sealed value copied onto another item does not open. Stored as
//! `v1:<base64(nonce ‖ ciphertext ‖ tag)>`. The key is SHA-256 of a configured secret, so any
//! long random string (a generated Secrets Manager value) serves.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;

use crate::config::{ConfigError, Setting, Settings};

const VERSION: &str = "v1:";

/// What a sealing key is for: the setting it is read from. A domain names one unit type per
/// kind of secret it seals, so each kind has its own key (and a leaked one opens nothing else).
pub trait KeySetting: Send + Sync + 'static {
    const SETTING: &'static Setting;
}

/// The key secrets of kind `K` are sealed with (SHA-256 of `K::SETTING`'s value), read once per
/// cold start as a provider (`ctx.provider::<SealingKey<K>>()`; `None` while it is not set).
pub struct SealingKey<K: KeySetting> {
    pub key: [u8; 32],
    kind: std::marker::PhantomData<K>,
}

impl<K: KeySetting> SealingKey<K> {
    /// A key of these raw bytes (tests; the product reads it from its setting).
    pub fn new(key: [u8; 32]) -> Self {
        Self { key, kind: std::marker::PhantomData }
    }
    pub fn seal(&self, context: &str, plain: &str) -> Result<String, String> {
        seal(&self.key, context, plain)
    }
    pub fn open(&self, context: &str, sealed: &str) -> Result<String, String> {
        open(&self.key, context, sealed)
    }
}

impl<K: KeySetting> Clone for SealingKey<K> {
    fn clone(&self) -> Self {
        Self { key: self.key, kind: std::marker::PhantomData }
    }
}

impl<K: KeySetting> std::fmt::Debug for SealingKey<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealingKey({}: <hidden>)", K::SETTING.env_var)
    }
}

impl<K: KeySetting> crate::config::ProviderSettings for SealingKey<K> {
    fn read(settings: &Settings) -> Result<Option<Self>, ConfigError> {
        Ok(key_from(settings, K::SETTING)?.map(|key| Self { key, kind: std::marker::PhantomData }))
    }
}

/// The key of [`Setting`] `setting`, read from `settings`: `None` while it is not set.
pub fn key_from(settings: &Settings, setting: &Setting) -> Result<Option<[u8; 32]>, ConfigError> {
    match settings.get(setting.env_var) {
        None => Ok(None),
        Some(v) if v.len() < 32 => {
            Err(ConfigError::Invalid { name: setting.env_var, reason: "must be at least 32 bytes".into() })
        }
        Some(v) => {
            use sha2::Digest;
            Ok(Some(sha2::Sha256::digest(v.as_bytes()).into()))
        }
    }
}

/// Seals `plain` under `key` for `context`.
pub fn seal(key: &[u8; 32], context: &str, plain: &str) -> Result<String, String> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| "bad key length".to_string())?;
    let nonce: [u8; 12] = rand::random();
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: context.as_bytes() })
        .map_err(|_| "sealing failed".to_string())?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(format!("{VERSION}{}", base64::engine::general_purpose::STANDARD.encode(out)))
}

/// Opens what [`seal`] made with the same key and context; anything else is refused.
pub fn open(key: &[u8; 32], context: &str, sealed: &str) -> Result<String, String> {
    let raw = sealed
        .strip_prefix(VERSION)
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .filter(|b| b.len() > 12 + 16)
        .ok_or_else(|| "not a sealed value".to_string())?;
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| "bad key length".to_string())?;
    let plain = cipher
        .decrypt(Nonce::from_slice(&raw[..12]), Payload { msg: &raw[12..], aad: context.as_bytes() })
        .map_err(|_| "the value does not open with this key".to_string())?;
    String::from_utf8(plain).map_err(|_| "not text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_the_same_key_and_context() {
        let key = [7; 32];
        let sealed = seal(&key, "a|1", "secret-value").unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(open(&key, "a|1", &sealed).unwrap(), "secret-value");
        assert!(open(&key, "a|2", &sealed).is_err(), "another context");
        assert!(open(&[8; 32], "a|1", &sealed).is_err(), "another key");
        assert_ne!(sealed, seal(&key, "a|1", "secret-value").unwrap(), "a fresh nonce each time");
    }
}
