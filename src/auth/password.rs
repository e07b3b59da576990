//! Password hashing: argon2id at the OWASP minimum (m = 19 MiB, t = 2, p = 1), always off the
//! async runtime. Adapted from LukeMathWalker/zero-to-production
//! `src/authentication/password.rs`, including the dummy hash for unknown users.

use std::sync::OnceLock;

use anyhow::Context;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .context("the password hashing task failed")?
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("failed to hash a password: {e}"))?;
    Ok(hash.to_string())
}

/// A hash of a random password with the same parameters, checked when the username is unknown so
/// that a login for a missing account costs as much as one with a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .ok()
            .and_then(|h| h.hash_password(salt.as_str().as_bytes(), &salt).ok())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Computes the dummy hash now, so the first login for an unknown user is not faster than later
/// ones would be... nor slower.
pub fn warm_up() {
    dummy_hash();
}

/// Checks `password` against `stored` (a PHC string), or against the dummy hash when there is no
/// such user. Returns whether it matched; always false without a stored hash.
pub async fn verify_password(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let parsed = PasswordHash::new(&phc)
            .map_err(|e| anyhow::anyhow!("stored password hash is invalid: {e}"))?;
        let matched = hasher()?
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matched)
    })
    .await
    .context("the password verification task failed")?
}
