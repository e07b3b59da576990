//! The node's heartbeat in the database, and a loud warning when another node serves from the
//! same database without being on the same bus: clients of one room on the two nodes would not
//! see each other's edits until they reload. Nothing stored is at risk (each node rebuilds its
//! snapshots from the database once it sees another node append to a room's log), so a node
//! warns rather than refuses to start: a refusal would also hit a node restarted by its
//! supervisor within seconds of its own crash, whose old row still looks alive.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::now_millis;
use crate::store::Store;

/// How often a node refreshes its row.
const BEAT: Duration = Duration::from_secs(10);
/// A node whose row is older than this is gone.
const ALIVE_MS: i64 = 30_000;

/// Other nodes this node found alive on its database but not on its bus (each one once).
pub const NODES_OFF_BUS: &str = "chatspace_nodes_off_bus_total";

/// Beats until shutdown, then removes the node's row. `bus` names the Redis server and key
/// prefix (empty without a bus); nodes on the same bus have the same.
pub(super) async fn run(store: Store, node: String, bus: String, shutdown: CancellationToken) {
    metrics::describe_counter!(
        NODES_OFF_BUS,
        "Other nodes found alive on this database but not on this node's bus"
    );
    metrics::counter!(NODES_OFF_BUS).increment(0);
    let started_at = now_millis();
    let mut warned = BTreeSet::new();
    let mut beat = tokio::time::interval(BEAT);
    loop {
        tokio::select! {
            _ = beat.tick() => {}
            () = shutdown.cancelled() => break,
        }
        if let Err(error) = store.node_heartbeat(&node, &bus, started_at).await {
            tracing::warn!(%error, "the node's heartbeat could not be written");
            continue;
        }
        let peers = match store.live_peers(&node, ALIVE_MS).await {
            Ok(peers) => peers,
            Err(error) => {
                tracing::warn!(%error, "the other nodes' heartbeats could not be read");
                continue;
            }
        };
        let off_bus = peers
            .into_iter()
            .filter(|peer| bus.is_empty() || peer.bus != bus);
        for peer in off_bus {
            if warned.insert(peer.id.clone()) {
                metrics::counter!(NODES_OFF_BUS).increment(1);
                tracing::error!(
                    peer = peer.id,
                    peer_bus = peer.bus,
                    "ANOTHER NODE SERVES FROM THIS DATABASE WITHOUT BEING ON THIS NODE'S BUS: clients of one room on the two nodes do not see each other's edits until they reload; give every node the same --redis-url and --redis-prefix"
                );
            }
        }
    }
    if let Err(error) = store.node_gone(&node).await {
        tracing::warn!(%error, "the node's heartbeat row could not be removed");
    }
}
