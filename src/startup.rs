//! Building and running the server: `Application::build(config)`, `port()`,
//! `run_until_stopped()` (after zero-to-production `src/startup.rs`), so that `main`, the tests
//! and the benchmarks all boot the same server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::SessionStore;

use crate::auth::hashing::Hashing;
use crate::auth::password;
use crate::auth::signup_limit::SignupLimit;
use crate::auth::throttle::LoginThrottle;
use crate::bus::Bus;
use crate::clock::now_millis;
use crate::config::Config;
use crate::realtime::Rooms;
use crate::state::AppState;
use crate::store::{SessionStorage, Store};

mod heartbeat;
mod serve;

pub use heartbeat::NODES_OFF_BUS;

/// How often expired sessions are deleted from the database.
const SESSION_SWEEP: Duration = Duration::from_secs(3600);
/// How often expired login-failure and sign-up counts are deleted from the database: often,
/// since a guesser trying many names adds a row for each.
const COUNT_SWEEP: Duration = Duration::from_secs(60);

/// A bound, ready-to-run server.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    /// `--metrics-bind`: a listener that serves only `/metrics`.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    sessions: SessionStorage,
}

impl Application {
    /// Opens the database (applying migrations) and binds the listener.
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        // Chosen once, here when not configured: every part of the node uses the same id.
        config.node_id();
        let store = Store::connect(&config.database_url).await?;
        tracing::info!(backend = store.backend(), "database ready");
        let sessions = SessionStorage::open(&store).await?;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("failed to listen on {}", config.bind))?;
        let addr = listener
            .local_addr()
            .context("failed to read the bound address")?;
        let metrics_listener = match config.metrics_bind {
            Some(bind) => Some(
                TcpListener::bind(bind)
                    .await
                    .with_context(|| format!("failed to listen for metrics on {bind}"))?,
            ),
            None => None,
        };
        crate::metrics::install();
        tokio::task::spawn_blocking(password::warm_up)
            .await
            .context("failed to prepare password hashing")?;
        let config = Arc::new(config);
        let throttle = LoginThrottle::new(store.clone(), config.throttle_limits());
        let signups = SignupLimit::new(store.clone(), config.register_max_per_hour);
        let hashing = Hashing::new(config.hash_slots(), config.hash_queue);
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let bus = match &config.redis_url {
            Some(url) => {
                let node = config.node_id.as_deref().unwrap_or_default();
                let bus = Bus::connect(url, &config.redis_prefix, node, &tasks, shutdown.clone());
                Some(bus.await?)
            }
            None => None,
        };
        let rooms = Rooms::new(
            store.clone(),
            sessions.clone(),
            bus.clone(),
            Arc::clone(&config),
            shutdown.clone(),
            tasks.clone(),
        );
        let state = AppState {
            config,
            store,
            bus,
            throttle,
            signups,
            hashing,
            rooms,
            shutdown,
            tasks,
        };
        Ok(Self {
            listener,
            addr,
            metrics_listener,
            state,
            sessions,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The port of the `--metrics-bind` listener, when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        let addr = self.metrics_listener.as_ref()?.local_addr().ok()?;
        Some(addr.port())
    }

    /// Serves until Ctrl-C or SIGTERM, then shuts down gracefully.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes. Then: sockets are closed, every live room writes what it
    /// has not stored yet, background tasks finish, and the database is closed.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            addr,
            metrics_listener,
            state,
            sessions,
        } = self;
        let shutdown = state.shutdown.clone();
        let tasks = state.tasks.clone();
        let gauges = state.rooms.gauges().clone();
        let store = state.store.clone();
        let bus = match (&state.bus, &state.config.redis_url) {
            (Some(_), Some(url)) => format!(
                "{}#{}",
                crate::store::redacted(url),
                state.config.redis_prefix
            ),
            _ => String::new(),
        };
        let node = state.config.node_id.clone().unwrap_or_default();
        tasks.spawn(heartbeat::run(store.clone(), node, bus, shutdown.clone()));
        tasks.spawn(crate::history::run_historian(
            store.clone(),
            state.config.clone(),
            shutdown.clone(),
        ));
        let header_read_timeout = state.config.header_read_timeout();
        sweep_expired_counts(&state);
        let app = match sessions {
            SessionStorage::Sqlite(sessions) => with_sessions(state, sessions),
            SessionStorage::Postgres(sessions) => with_sessions(state, sessions),
        };
        tracing::info!("listening on http://{addr}");
        if let Some(listener) = metrics_listener {
            let stopped = shutdown.clone().cancelled_owned();
            tasks.spawn(async move {
                let metrics = axum::serve(listener, crate::metrics::router(gauges))
                    .with_graceful_shutdown(stopped)
                    .await;
                if let Err(error) = metrics {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            });
        }
        let signal = shutdown.clone();
        tasks.spawn(async move {
            tokio::select! {
                () = stop => {}
                () = signal.cancelled() => {}
            }
            tracing::info!("shutting down: closing sockets and saving rooms");
            signal.cancel();
        });
        serve::serve(listener, app, header_read_timeout, shutdown.clone()).await;
        shutdown.cancel();
        tasks.close();
        tasks.wait().await;
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The application on this session store, whose expired sessions a background task deletes.
fn with_sessions<S>(state: AppState, sessions: S) -> axum::Router
where
    S: SessionStore + ExpiredDeletion + Clone,
{
    let sweeper = sessions.clone();
    let stop = state.shutdown.clone();
    state.tasks.spawn(async move {
        tokio::select! {
            result = sweeper.continuously_delete_expired(SESSION_SWEEP) => {
                if let Err(error) = result { tracing::error!(%error, "expired-session cleanup stopped"); }
            }
            () = stop.cancelled() => {}
        }
    });
    crate::http::router(state, sessions)
}

/// Deletes expired throttle counts every [`COUNT_SWEEP`] until shutdown. Every node sweeps;
/// sweeps that overlap delete each row once.
fn sweep_expired_counts(state: &AppState) {
    let store = state.store.clone();
    let stop = state.shutdown.clone();
    state.tasks.spawn(async move {
        let mut every = tokio::time::interval(COUNT_SWEEP);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                () = stop.cancelled() => return,
            }
            if let Err(error) = store.delete_expired_counts(now_millis()).await {
                tracing::warn!(%error, "expired throttle counts could not be deleted");
            }
        }
    });
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
