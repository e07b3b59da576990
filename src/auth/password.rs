//! Password hashing: argon2id at the OWASP minimum (m = 19 MiB, t = 2, p = 1), always off the
//! async runtime. Adapted from LukeMathWalker/zero-to-production
//! `src/authentication/password.rs`, including the dummy hash for unknown users. argon2 works in
//! [`Memory`] that the caller passes in, so that requests can reuse it (see
//! [`super::hashing`]).

use std::sync::OnceLock;

use anyhow::Context;
use argon2::password_hash::{
    rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// argon2's working memory: 19 MiB at our parameters, grown to what a stored hash asks for.
pub type Memory = Vec<Block>;

fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Runs `argon` over `password` and `salt` in `memory`, giving `len` bytes of output.
fn compute(
    argon: &Argon2,
    password: &str,
    salt: Salt,
    len: usize,
    memory: &mut Memory,
) -> anyhow::Result<Output> {
    let needed = argon.params().block_count();
    if memory.len() < needed {
        memory.resize(needed, Block::default());
    }
    let mut salt_bytes = [0u8; Salt::MAX_LENGTH];
    let salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("password salt: {e}"))?;
    Output::init_with(len, |out| {
        argon
            .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..])
            .map_err(Into::into)
    })
    .map_err(|e| anyhow::anyhow!("failed to hash a password: {e}"))
}

/// Hashes `password` with a new salt into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_blocking(password: &str, memory: &mut Memory) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let argon = hasher()?;
    let output = compute(
        &argon,
        password,
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
        memory,
    )?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params())
            .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Checks `password` against `stored` (a PHC string), or against the dummy hash when there is no
/// such user. Returns whether it matched; always false without a stored hash. The outputs are
/// compared in constant time (`Output`'s equality).
pub fn verify_blocking(
    password: &str,
    stored: Option<String>,
    memory: &mut Memory,
) -> anyhow::Result<bool> {
    let known = stored.is_some();
    let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
    let invalid = |e: &dyn std::fmt::Display| anyhow::anyhow!("stored password hash: {e}");
    let parsed = PasswordHash::new(&phc).map_err(|e| invalid(&e))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(invalid(&"no salt or no hash"));
    };
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| invalid(&e))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| invalid(&e))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| invalid(&e))?;
    let argon = Argon2::new(algorithm, version, params);
    let computed = compute(&argon, password, salt, expected.len(), memory)?;
    Ok(known && computed == expected)
}

/// Hashes `password` without passing the request gate ([`super::hashing::Hashing`]): for work
/// at start-up, not for requests.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password, &mut Memory::new()))
        .await
        .context("the password hashing task failed")?
}

/// A hash of a random password with the same parameters, checked when the username is unknown so
/// that a login for a missing account costs as much as one with a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = SaltString::generate(&mut OsRng);
        hash_blocking(random.as_str(), &mut Memory::new()).unwrap_or_default()
    })
}

/// Computes the dummy hash now, so the first login for an unknown user is not faster than later
/// ones would be... nor slower.
pub fn warm_up() {
    dummy_hash();
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    #[test]
    fn hashes_verify_with_reused_memory_and_agree_with_the_argon2_crate() {
        let mut memory = Memory::new();
        let phc = hash_blocking("correct horse", &mut memory).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(hasher()
            .unwrap()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        let stored = Some(phc);
        assert!(verify_blocking("correct horse", stored.clone(), &mut memory).unwrap());
        assert!(!verify_blocking("correct horsE", stored, &mut memory).unwrap());
        assert!(!verify_blocking("correct horse", None, &mut memory).unwrap());
    }

    #[test]
    fn a_hash_made_by_the_argon2_crate_verifies() {
        let salt = SaltString::generate(&mut OsRng);
        let phc = argon2::PasswordHasher::hash_password(&hasher().unwrap(), b"pass phrase", &salt)
            .unwrap()
            .to_string();
        let mut memory = Memory::new();
        assert!(verify_blocking("pass phrase", Some(phc), &mut memory).unwrap());
    }
}
