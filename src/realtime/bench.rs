//! BENCHMARKS ONLY (`--bench-open-access`): sockets without a session join as the user `bench`,
//! and rooms are created on first use, so that a load generator can open thousands of sockets
//! without logging in. Never enabled unless the operator passes the hidden flag.

use super::socket::CloseCode;
use crate::auth::{password, CurrentUser};
use crate::state::AppState;
use crate::store::is_unique_violation;

const BENCH_USER: &str = "bench";

pub async fn open_access(state: &AppState, room: &str) -> Result<(i64, CurrentUser), CloseCode> {
    let fail = |error: &dyn std::fmt::Display| {
        tracing::error!(%error, "bench open access failed");
        CloseCode::TryAgainLater
    };
    let user = match state
        .store
        .user_by_name(BENCH_USER)
        .await
        .map_err(|e| fail(&e))?
    {
        Some(user) => CurrentUser {
            id: user.id,
            username: user.username,
        },
        None => {
            let hash = password::hash_password(format!("{:x}", rand::random::<u128>()))
                .await
                .map_err(|e| fail(&e))?;
            match state.store.insert_user(BENCH_USER, &hash).await {
                Ok(id) => CurrentUser {
                    id,
                    username: BENCH_USER.to_owned(),
                },
                Err(e) if is_unique_violation(&e) => {
                    let user = state
                        .store
                        .user_by_name(BENCH_USER)
                        .await
                        .map_err(|e| fail(&e))?
                        .ok_or(CloseCode::TryAgainLater)?;
                    CurrentUser {
                        id: user.id,
                        username: user.username,
                    }
                }
                Err(e) => return Err(fail(&e)),
            }
        }
    };
    if crate::rooms::rules::name_problem(room).is_some() {
        return Err(CloseCode::UnknownRoom);
    }
    let room_id = match state.store.room_by_name(room).await.map_err(|e| fail(&e))? {
        Some(found) => found.id,
        None => match state.store.insert_room(room, user.id).await {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => {
                state
                    .store
                    .room_by_name(room)
                    .await
                    .map_err(|e| fail(&e))?
                    .ok_or(CloseCode::TryAgainLater)?
                    .id
            }
            Err(e) => return Err(fail(&e)),
        },
    };
    Ok((room_id, user))
}
