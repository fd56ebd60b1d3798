//! Instagram tokens at rest, sealed by the kernel ([`shared::sealed`]) with the pet and the
//! connection as the context, so a sealed token copied onto another link does not open.

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
        Ok(shared::sealed::key_from(settings, &TOKEN_KEY)?.map(TokenKey))
    }
}

fn aad(pet: &str, connection: &str) -> String {
    format!("instagram-token|{pet}|{connection}")
}

/// Seals `token` for the link of `pet` made as `connection`.
pub fn seal(key: &TokenKey, pet: &str, connection: &str, token: &str) -> Result<String, String> {
    shared::sealed::seal(&key.0, &aad(pet, connection), token)
}

/// Opens what [`seal`] made for the same pet and connection; anything else is refused.
pub fn open(key: &TokenKey, pet: &str, connection: &str, sealed: &str) -> Result<String, String> {
    shared::sealed::open(&key.0, &aad(pet, connection), sealed)
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
