//! BENCHMARKS ONLY (`--bench-open-access`): sockets without a session join as the user `bench`,
//! and rooms are created on first use, so that a load generator can open thousands of sockets
//! without logging in. Never enabled unless the operator passes the hidden flag.

use anyhow::Context;

use super::handle::CloseCode;
use crate::auth::{password, CurrentUser};
use crate::state::AppState;
use crate::store::Store;

const BENCH_USER: &str = "bench";

/// Creates the `bench` user at start-up, once: hashing its password per socket would put an
/// argon2 run (19 MiB) in front of every connection of a load test.
pub async fn prepare(store: &Store) -> anyhow::Result<()> {
    if store.user_by_name(BENCH_USER).await?.is_none() {
        // Nobody logs in as `bench`: its password is random and never shown.
        let secret = format!("{:x}", rand::random::<u128>());
        let hash = password::hash_password(secret).await?;
        store
            .ensure_user(BENCH_USER, &hash)
            .await
            .context("failed to create the bench user")?;
    }
    Ok(())
}

pub async fn open_access(state: &AppState, room: &str) -> Result<(i64, CurrentUser), CloseCode> {
    if crate::rooms::rules::name_problem(room).is_some() {
        return Err(CloseCode::UnknownRoom);
    }
    let fail = |error: &dyn std::fmt::Display| {
        tracing::error!(%error, "bench open access failed");
        CloseCode::TryAgainLater
    };
    let user = state
        .store
        .user_by_name(BENCH_USER)
        .await
        .map_err(|e| fail(&e))?;
    let user = user.ok_or_else(|| fail(&"the bench user is missing"))?;
    // Reads first: only the first socket of a room needs the write (and SQLite's write lock).
    let found = state.store.room_by_name(room).await.map_err(|e| fail(&e))?;
    let room = match found {
        Some(room) => room,
        None => state
            .store
            .ensure_room(room, user.id)
            .await
            .map_err(|e| fail(&e))?,
    };
    Ok((
        room.id,
        CurrentUser {
            id: user.id,
            username: user.username,
        },
    ))
}
