//! Instagram tokens at rest, sealed by the kernel ([`shared::sealed`]) with the pet and the
//! connection as the context, so a sealed token copied onto another link does not open.

use shared::config::{Setting, SettingSource};

/// The key Instagram tokens are sealed with; without it no token is stored or read.
pub const TOKEN_KEY: Setting = Setting {
    env_var: "INSTAGRAM_TOKEN_KEY",
    parameter: "InstagramTokenKey",
    description: "Encrypts stored Instagram access tokens (AES-256-GCM, key = SHA-256 of this value)",
    source: SettingSource::Generated { name: "instagram-token-key" },
};

/// Instagram tokens, as a kind of sealed secret.
pub struct InstagramTokens;

impl shared::sealed::KeySetting for InstagramTokens {
    const SETTING: &'static Setting = &TOKEN_KEY;
}

/// The key Instagram tokens are sealed with at rest.
pub type TokenKey = shared::sealed::SealingKey<InstagramTokens>;

fn aad(pet: &str, connection: &str) -> String {
    format!("instagram-token|{pet}|{connection}")
}

/// Seals `token` for the link of `pet` made as `connection`.
pub fn seal(key: &TokenKey, pet: &str, connection: &str, token: &str) -> Result<String, String> {
    key.seal(&aad(pet, connection), token)
}

/// Opens what [`seal`] made for the same pet and connection; anything else is refused.
pub fn open(key: &TokenKey, pet: &str, connection: &str, sealed: &str) -> Result<String, String> {
    key.open(&aad(pet, connection), sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_for_the_same_link_and_key() {
        let key = TokenKey::new([7; 32]);
        let sealed = seal(&key, "pet1", "conn1", "IGQVJ-secret-token").unwrap();
        assert!(!sealed.contains("IGQVJ"));
        assert_eq!(open(&key, "pet1", "conn1", &sealed).unwrap(), "IGQVJ-secret-token");
        assert!(open(&key, "pet2", "conn1", &sealed).is_err(), "another pet");
        assert!(open(&key, "pet1", "conn2", &sealed).is_err(), "another connection");
        assert!(open(&TokenKey::new([8; 32]), "pet1", "conn1", &sealed).is_err(), "another key");
        assert_ne!(sealed, seal(&key, "pet1", "conn1", "IGQVJ-secret-token").unwrap(), "a fresh nonce each time");
    }
}
