//! Instagram tokens at rest: AES-256-GCM (the RustCrypto `aes-gcm` crate), a random 96-bit nonce
//! per sealing, and the pet and connection as associated data — so a sealed token copied onto
//! another link does not open. Stored as `v1:<base64(nonce ‖ ciphertext ‖ tag)>`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use shared::config::{ConfigError, ProviderSettings, Setting, SettingSource, Settings};

/// The key Instagram tokens are sealed with; without it no token is stored or read.
pub const TOKEN_KEY: Setting = Setting {
    env_var: "INSTAGRAM_TOKEN_KEY",
    parameter: "InstagramTokenKey",
    description: "Encrypts stored Instagram access tokens (AES-256-GCM, key = SHA-256 of this value)",
    source: SettingSource::Generated { name: "instagram-token-key" },
};

/// The key Instagram tokens are encrypted with at rest (AES-256-GCM): SHA-256 of the configured
/// secret, so that any long random string (a generated Secrets Manager value) serves.
#[derive(Clone)]
pub struct TokenKey(pub [u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(<hidden>)")
    }
}

impl ProviderSettings for TokenKey {
    fn read(settings: &Settings) -> Result<Option<Self>, ConfigError> {
        match settings.get(TOKEN_KEY.env_var) {
            None => Ok(None),
            Some(v) if v.len() < 32 => {
                Err(ConfigError::Invalid { name: "INSTAGRAM_TOKEN_KEY", reason: "must be at least 32 bytes".into() })
            }
            Some(v) => {
                use sha2::Digest;
                Ok(Some(TokenKey(sha2::Sha256::digest(v.as_bytes()).into())))
            }
        }
    }
}

const VERSION: &str = "v1:";

fn aad(pet: &str, connection: &str) -> String {
    format!("instagram-token|{pet}|{connection}")
}

/// Seals `token` for the link of `pet` made as `connection`.
pub fn seal(key: &TokenKey, pet: &str, connection: &str, token: &str) -> Result<String, String> {
    let cipher = Aes256Gcm::new_from_slice(&key.0).map_err(|_| "bad key length".to_string())?;
    let nonce: [u8; 12] = rand::random();
    let aad = aad(pet, connection);
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: token.as_bytes(), aad: aad.as_bytes() })
        .map_err(|_| "sealing failed".to_string())?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(format!("{VERSION}{}", base64::engine::general_purpose::STANDARD.encode(out)))
}

/// Opens what [`seal`] made for the same pet and connection; anything else is refused.
pub fn open(key: &TokenKey, pet: &str, connection: &str, sealed: &str) -> Result<String, String> {
    let raw = sealed
        .strip_prefix(VERSION)
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .filter(|b| b.len() > 12 + 16)
        .ok_or_else(|| "not a sealed token".to_string())?;
    let cipher = Aes256Gcm::new_from_slice(&key.0).map_err(|_| "bad key length".to_string())?;
    let aad = aad(pet, connection);
    let plain = cipher
        .decrypt(Nonce::from_slice(&raw[..12]), Payload { msg: &raw[12..], aad: aad.as_bytes() })
        .map_err(|_| "the token does not open with this key".to_string())?;
    String::from_utf8(plain).map_err(|_| "not a token".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_for_the_same_link_and_key() {
        let key = TokenKey([7; 32]);
        let sealed = seal(&key, "pet1", "conn1", "IGQVJ-secret-token").unwrap();
        assert!(!sealed.contains("IGQVJ"));
        assert_eq!(open(&key, "pet1", "conn1", &sealed).unwrap(), "IGQVJ-secret-token");
        assert!(open(&key, "pet2", "conn1", &sealed).is_err(), "another pet");
        assert!(open(&key, "pet1", "conn2", &sealed).is_err(), "another connection");
        assert!(open(&TokenKey([8; 32]), "pet1", "conn1", &sealed).is_err(), "another key");
        assert_ne!(sealed, seal(&key, "pet1", "conn1", "IGQVJ-secret-token").unwrap(), "a fresh nonce each time");
    }
}
