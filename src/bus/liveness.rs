//! Which nodes are alive: each node refreshes a key of its own with a short expiry, and watches
//! the keys of the nodes whose clients' presence its rooms show. When a node dies (or loses
//! Redis), its key expires, and every room here drops the awareness states of that node's
//! clients, so their cursors and names disappear within [`EXPIRY`] + [`REFRESH`] instead of
//! lingering until each browser's own timeout.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Bus, Remote};

/// How often a node refreshes its key and checks the others'.
const REFRESH: Duration = Duration::from_secs(3);
/// How long a node's key outlives its last refresh.
const EXPIRY: Duration = Duration::from_secs(10);

pub(super) async fn run(bus: Bus, shutdown: CancellationToken) {
    let own = bus.node_key(bus.node());
    let mut tick = tokio::time::interval(REFRESH);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => break,
        }
        let watched: Vec<String> = bus.watched().iter().cloned().collect();
        let checked = async {
            let mut conn = bus.command_connection().await?;
            let mut pipe = redis::pipe();
            pipe.cmd("SET")
                .arg(&own)
                .arg(1)
                .arg("PX")
                .arg(EXPIRY.as_millis() as u64)
                .ignore();
            for node in &watched {
                pipe.cmd("EXISTS").arg(bus.node_key(node));
            }
            pipe.query_async::<Vec<i64>>(&mut conn).await
        };
        let alive = match checked.await {
            Ok(alive) => alive,
            Err(error) => {
                // The reader notices a lost Redis too; nodes are judged once it is back.
                tracing::debug!(%error, "checking which nodes are alive failed");
                bus.drop_command_connection();
                continue;
            }
        };
        for (node, alive) in watched.into_iter().zip(alive) {
            if alive == 0 {
                tracing::info!(
                    peer = node,
                    "another node is gone; its clients' presence is removed"
                );
                bus.watched().remove(&node);
                bus.deliver_to_all(Remote::NodeGone(node));
            }
        }
    }
    // A node that stops on purpose says so at once.
    if let Ok(mut conn) = bus.command_connection().await {
        let _ = redis::cmd("DEL")
            .arg(&own)
            .query_async::<i64>(&mut conn)
            .await;
    }
}

impl Bus {
    fn node_key(&self, node: &str) -> String {
        format!("{}:node:{node}", self.inner.prefix)
    }

    fn watched(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.inner.watched.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Watches `node`'s liveness from now on.
    pub(super) fn watch(&self, node: &str) {
        let mut watched = self.watched();
        if !watched.contains(node) {
            watched.insert(node.to_owned());
        }
    }
}
