//! Saving versions automatically: one when a room's editing pauses (`--history-quiet-secs`
//! without an edit), and one every `--history-every-secs` while it goes on without a pause; and
//! forgetting automatic versions older than `--history-retention-days`. Every node runs this;
//! the database decides which node's version of a log position is kept.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::document::current_document;
use crate::clock::now_millis;
use crate::config::Config;
use crate::store::{NewVersion, Store, Unversioned, VersionKind};

/// Rooms looked at per round; the rest wait for the next one.
const ROOMS_PER_ROUND: i64 = 100;
/// How often old automatic versions are deleted.
const EXPIRY_EVERY: Duration = Duration::from_secs(600);

/// Runs until `shutdown`.
pub async fn run(store: Store, config: Arc<Config>, shutdown: CancellationToken) {
    let quiet = Duration::from_secs(config.history_quiet_secs);
    let every = Duration::from_secs(config.history_every_secs);
    // A pause is noticed within a quarter of its length, at least every 15 s.
    let tick = (quiet.min(every) / 4).clamp(Duration::from_millis(250), Duration::from_secs(15));
    let mut timer = tokio::time::interval(tick);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut historian = Historian {
        store,
        quiet_ms: millis(quiet),
        every_ms: millis(every),
        first_seen: HashMap::new(),
    };
    let mut last_expiry: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = timer.tick() => {}
        }
        if let Err(error) = historian.round().await {
            tracing::warn!(%error, "saving automatic versions failed; retrying");
        }
        if let Some(retention) = config.history_retention() {
            if last_expiry.is_none_or(|at| at.elapsed() >= EXPIRY_EVERY) {
                last_expiry = Some(tokio::time::Instant::now());
                let before = now_millis() - millis(retention);
                match historian.store.expire_versions(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(versions = n, "old automatic versions deleted"),
                    Err(error) => tracing::warn!(%error, "deleting old versions failed"),
                }
            }
        }
    }
}

struct Historian {
    store: Store,
    quiet_ms: i64,
    every_ms: i64,
    /// When this node first saw each room with edits its last version lacks: editing that
    /// goes on without a pause is counted from then.
    first_seen: HashMap<i64, i64>,
}

impl Historian {
    async fn round(&mut self) -> anyhow::Result<()> {
        let now = now_millis();
        let rooms = self.store.unversioned_rooms(ROOMS_PER_ROUND).await?;
        self.first_seen
            .retain(|id, _| rooms.iter().any(|r| r.room_id == *id));
        for room in rooms {
            if self.due(&room, now) {
                self.save(room.room_id).await?;
                self.first_seen.remove(&room.room_id);
            }
        }
        Ok(())
    }

    /// Editing paused long enough, or has gone on long enough without a version.
    fn due(&mut self, room: &Unversioned, now: i64) -> bool {
        let since = *self.first_seen.entry(room.room_id).or_insert(now);
        now - room.last_edit_at >= self.quiet_ms || now - since >= self.every_ms
    }

    async fn save(&self, room_id: i64) -> anyhow::Result<()> {
        let doc = current_document(&self.store, room_id).await?;
        let saved = self
            .store
            .insert_version(&NewVersion {
                room_id,
                kind: VersionKind::Auto,
                name: None,
                created_by: None,
                upto_seq: doc.upto_seq,
                text: &doc.text,
                state: &doc.state,
            })
            .await?;
        if let Some(id) = saved {
            tracing::info!(
                room_id,
                version = id,
                upto_seq = doc.upto_seq,
                "version saved"
            );
        }
        Ok(())
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
