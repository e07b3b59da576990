//! The state every handler can reach: a cheap-to-clone bundle of handles.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::hashing::Hashing;
use crate::auth::signup_limit::SignupLimit;
use crate::auth::throttle::LoginThrottle;
use crate::bus::Bus;
use crate::config::Config;
use crate::realtime::Rooms;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    /// The bus to the other nodes, when `--redis-url` is set.
    pub bus: Option<Bus>,
    pub throttle: LoginThrottle,
    pub signups: SignupLimit,
    /// The gate every password hash of a request passes.
    pub hashing: Hashing,
    /// The live rooms, each one task; sockets reach them through here.
    pub rooms: Rooms,
    /// Cancelled when the server shuts down: sockets close and rooms flush and stop.
    pub shutdown: CancellationToken,
    /// Every background task (rooms, connections, session and throttle-count cleanup), awaited
    /// at shutdown.
    pub tasks: TaskTracker,
}
