//! Password hashing with argon2id (ASVS V11.4.2, Appendix C).
//!
//! Hashing is CPU- and memory-hard by design, so it runs on the blocking
//! pool and behind a semaphore: a flood of sign-in attempts queues instead
//! of exhausting CPU and memory (ASVS-B2).

use super::secrets::Secret;
use anyhow::Context as _;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// OWASP / ASVS Appendix C row "t=2 → m ≥ 19 MiB, p=1".
pub const MEMORY_KIB: u32 = 19_456;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 256;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A real hash of a random password, verified against when the username is
/// unknown so that both failures take the same time (ASVS V6.3.8).
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(generate_password().as_bytes(), &salt).expect("hashing a generated password").to_string()
    })
}

impl PasswordHasher {
    pub fn new(max_concurrent: usize) -> Self {
        PasswordHasher { permits: Arc::new(Semaphore::new(max_concurrent.max(1))) }
    }

    pub async fn hash(&self, password: &Secret) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
        })
        .await
        .context("hashing task panicked")?
    }

    /// Verifies `password` against `stored`, or against a dummy hash when
    /// there is no stored hash, so the time taken does not reveal which.
    pub async fn verify(&self, stored: Option<String>, password: &Secret) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await.context("hasher closed")?;
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            let known = stored.is_some();
            let stored = stored.unwrap_or_else(|| dummy_hash().to_string());
            let parsed = PasswordHash::new(&stored).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
            let ok = Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok();
            Ok(known && ok)
        })
        .await
        .context("verification task panicked")?
    }

    /// Warms the dummy hash so the first unknown-user attempt is not faster.
    pub fn warm_up(&self) {
        let _ = dummy_hash();
    }
}

/// Checks a new password against the policy (ASVS V6.2.1, V6.2.9): a length
/// window, no composition rules, no truncation.
pub fn check_policy(password: &str, username: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(format!("Use at least {MIN_PASSWORD_CHARS} characters."));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!("Use at most {MAX_PASSWORD_CHARS} characters."));
    }
    if password.to_lowercase().contains(&username.to_lowercase()) && !username.is_empty() {
        return Err("The password must not contain the username.".into());
    }
    Ok(())
}

/// A random password for bootstrap and resets: 24 characters from the
/// alphanumerics, from the OS generator (≈142 bits).
pub fn generate_password() -> String {
    use rand::{distributions::Alphanumeric, rngs::OsRng, Rng};
    OsRng.sample_iter(&Alphanumeric).take(24).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_v19_with_owasp_parameters() {
        // ASVS-P1, ASVS-P2
        let hasher = PasswordHasher::new(1);
        let hash = hasher.hash(&Secret::new("a long enough password")).await.unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        assert_eq!(parsed.version, Some(19));
        let params = Params::try_from(&parsed).unwrap();
        assert!(params.t_cost() >= 2 && params.m_cost() >= 19_456 && params.p_cost() == 1);
    }

    #[tokio::test]
    async fn verification_accepts_only_the_exact_password() {
        // ASVS-P3: a 128-character password round-trips; no truncation, no case folding
        let hasher = PasswordHasher::new(1);
        let long: String = "Ab1-".repeat(32);
        let hash = hasher.hash(&Secret::new(long.clone())).await.unwrap();
        assert!(hasher.verify(Some(hash.clone()), &Secret::new(long.clone())).await.unwrap());
        assert!(!hasher.verify(Some(hash.clone()), &Secret::new(long[..127].to_string())).await.unwrap());
        assert!(!hasher.verify(Some(hash), &Secret::new(long.to_lowercase())).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let hasher = PasswordHasher::new(1);
        assert!(!hasher.verify(None, &Secret::new("anything at all")).await.unwrap());
    }

    #[test]
    fn the_policy_is_a_length_window_without_composition_rules() {
        assert!(check_policy("short", "bob").is_err());
        assert!(check_policy("all lowercase words here", "bob").is_ok());
        assert!(check_policy(&"x".repeat(257), "bob").is_err());
        assert!(check_policy("my-name-is-alice!", "Alice").is_err());
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let a = generate_password();
        assert_eq!(a.len(), 24);
        assert_ne!(a, generate_password());
    }
}
