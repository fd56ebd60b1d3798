//! Passwords: Argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane — the crate's
//! defaults), hashed off the async threads; the password policy; temporary passwords.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::seq::SliceRandom;
use rand::{Rng, rng};
use shared::validate::Validator;
use shared::{ApiError, ApiResult};

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

pub async fn hash(password: &str) -> ApiResult<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        // 16 bytes from the thread CSPRNG (seeded by the OS).
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(ApiError::internal)?;
        argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)?
}

/// A well-formed Argon2id hash with the real parameters, so that checking it costs the same.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3D2Q9YpTmxRKyY6y8QoYb5d0GMJhDUBiZ8JbfAbdpLM";

/// Whether `password` matches `hash`. With no hash, a dummy hash is checked so that an unknown
/// account takes as long as a known one.
pub async fn verify(password: &str, hash: Option<&str>) -> bool {
    let known = hash.is_some();
    let password = password.to_string();
    let hash = hash.unwrap_or(DUMMY).to_string();
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
    })
    .await
    .unwrap_or(false)
        && known
}

/// At least 8 characters (at most 128), with letters and digits.
pub fn check_policy(v: &mut Validator, field: &str, password: &str) {
    let n = password.chars().count();
    if n < 8 {
        v.problem(field, "TOO_SHORT", "The password must be at least 8 characters.");
    } else if n > 128 {
        v.problem(field, "TOO_LONG", "The password must be at most 128 characters.");
    } else if !password.chars().any(|c| c.is_alphabetic()) || !password.chars().any(|c| c.is_ascii_digit()) {
        v.problem(field, "TOO_WEAK", "The password must contain letters and digits.");
    }
}

/// A 10-character temporary password with at least one upper-case letter, lower-case letter,
/// digit and one of `!@#$%^&*`, from a CSPRNG, shuffled.
pub fn temporary() -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const SPECIAL: &[u8] = b"!@#$%^&*";
    let mut r = rng();
    let mut pick = |set: &[u8]| set[r.random_range(0..set.len())] as char;
    let mut chars = vec![pick(UPPER), pick(LOWER), pick(DIGIT), pick(SPECIAL)];
    let all: Vec<u8> = [UPPER, LOWER, DIGIT, SPECIAL].concat();
    while chars.len() < 10 {
        chars.push(pick(&all));
    }
    chars.shuffle(&mut rng());
    chars.into_iter().collect()
}

/// A 6-digit code from a CSPRNG.
pub fn six_digit_code() -> String {
    format!("{:06}", rng().random_range(0..1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies() {
        let h = hash("correct horse 1").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse 1", Some(&h)).await);
        assert!(!verify("wrong horse 1", Some(&h)).await);
        assert!(!verify("correct horse 1", None).await);
    }

    #[test]
    fn the_dummy_hash_is_checked_with_the_real_parameters() {
        // A malformed dummy would answer unknown emails instantly and reveal which exist.
        let h = PasswordHash::new(DUMMY).expect("the dummy hash parses");
        assert_eq!(h.algorithm.as_str(), "argon2id");
        let (got, want) = (Params::try_from(&h).unwrap(), Params::default());
        assert_eq!((got.m_cost(), got.t_cost(), got.p_cost()), (want.m_cost(), want.t_cost(), want.p_cost()));
    }

    #[test]
    fn temporary_passwords_have_every_class() {
        for _ in 0..200 {
            let p = temporary();
            assert_eq!(p.chars().count(), 10);
            assert!(p.chars().any(|c| c.is_ascii_uppercase()));
            assert!(p.chars().any(|c| c.is_ascii_lowercase()));
            assert!(p.chars().any(|c| c.is_ascii_digit()));
            assert!(p.chars().any(|c| "!@#$%^&*".contains(c)));
        }
    }

    #[test]
    fn policy() {
        let check = |p: &str| {
            let mut v = Validator::new();
            check_policy(&mut v, "password", p);
            v.finish().is_ok()
        };
        assert!(check("abcdefg1"));
        assert!(!check("abcdefgh"));
        assert!(!check("12345678"));
        assert!(!check("abc1"));
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = six_digit_code();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|d| d.is_ascii_digit()));
        }
    }
}
