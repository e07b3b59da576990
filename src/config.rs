//! Configuration: command-line flags, each with an environment variable, and defaults that work
//! out of the box (a SQLite file in the working directory, http://127.0.0.1:8000).

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Everything an operator can set. `chatspace --help` prints this with the defaults.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "chatspace",
    version,
    about = "Self-hosted real-time chat and collaborative editor"
)]
pub struct Config {
    /// Where everything durable is kept: `sqlite://FILE` (created when missing; one node) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (shared by every node).
    #[arg(
        long,
        env = "CHATSPACE_DATABASE_URL",
        default_value = "sqlite://chatspace.db"
    )]
    pub database_url: String,

    /// Redis server that joins this node to the others sharing the database (`redis://HOST:PORT`,
    /// `rediss://` for TLS); without it the node is on its own.
    #[arg(long, env = "CHATSPACE_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key this deployment uses (several deployments can share a Redis).
    #[arg(long, env = "CHATSPACE_REDIS_PREFIX", default_value = "chatspace")]
    pub redis_prefix: String,

    /// This node's name in every log line and among the nodes sharing the database; a random
    /// one when not set.
    #[arg(long, env = "CHATSPACE_NODE_ID")]
    pub node_id: Option<String>,

    /// Address and port to listen on (port 0 picks a free port).
    #[arg(long, env = "CHATSPACE_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// Mark the session cookie `Secure`: set this when users reach the server over https.
    #[arg(long, env = "CHATSPACE_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// Public origin(s) allowed to open room sockets besides the server's own host, comma
    /// separated (for example `https://chat.example.com` behind a reverse proxy).
    #[arg(long, env = "CHATSPACE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Reverse proxies in front of the server that append to `X-Forwarded-For`: the client
    /// address for throttling is the entry this many places from the right (0: the TCP peer).
    #[arg(long, env = "CHATSPACE_TRUSTED_PROXIES", default_value_t = 0)]
    pub trusted_proxies: usize,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "CHATSPACE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Hours of inactivity after which a session expires.
    #[arg(long, env = "CHATSPACE_SESSION_IDLE_HOURS", default_value_t = 336)]
    pub session_idle_hours: u32,

    /// Seconds of inactivity after which a session expires, instead of the hours above (for
    /// tests of what happens when a session expires).
    #[arg(long, env = "CHATSPACE_SESSION_IDLE_SECS", hide = true)]
    pub session_idle_secs: Option<u64>,

    /// Failed logins for one account from one client address before that pair is locked for a
    /// while; past this many from anywhere, logins for the account are slowed down.
    #[arg(long, env = "CHATSPACE_LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: u32,

    /// Failed logins from one client address before it is locked for a while.
    #[arg(
        long,
        env = "CHATSPACE_LOGIN_MAX_FAILURES_PER_ADDRESS",
        default_value_t = 20
    )]
    pub login_max_failures_per_address: u32,

    /// Seconds a locked account or address has to wait; failures older than this are forgotten.
    #[arg(long, env = "CHATSPACE_LOGIN_LOCKOUT_SECS", default_value_t = 900)]
    pub login_lockout_secs: u64,

    /// Accounts that one client address may create per hour.
    #[arg(long, env = "CHATSPACE_REGISTER_MAX_PER_HOUR", default_value_t = 10)]
    pub register_max_per_hour: u32,

    /// Password hashes (argon2id, 19 MiB each) computed at once; 0 means one per CPU core.
    #[arg(long, env = "CHATSPACE_HASH_CONCURRENCY", default_value_t = 0)]
    pub hash_concurrency: usize,

    /// Logins and registrations that may wait for a hashing slot; beyond them the server answers
    /// 503 at once.
    #[arg(long, env = "CHATSPACE_HASH_QUEUE", default_value_t = 32)]
    pub hash_queue: usize,

    /// Seconds a connection has to send a complete request head (and an idle keep-alive
    /// connection stays open) before it is closed.
    #[arg(long, env = "CHATSPACE_HEADER_READ_TIMEOUT_SECS", default_value_t = 15)]
    pub header_read_timeout_secs: u64,

    /// Largest WebSocket frame accepted, in bytes; larger ones close the socket with 1009.
    #[arg(long, env = "CHATSPACE_MAX_FRAME_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_frame_bytes: usize,

    /// Frames queued for one slow connection before it is closed (it then resyncs).
    #[arg(long, env = "CHATSPACE_SEND_QUEUE", default_value_t = 1024)]
    pub send_queue: usize,

    /// Messages a connection may send per second (sustained); bursts of ten times this pass.
    #[arg(long, env = "CHATSPACE_RATE_LIMIT_MESSAGES", default_value_t = 200)]
    pub rate_limit_messages: u32,

    /// Room sockets one user may have open at once, across all rooms; more are closed with 4409.
    #[arg(long, env = "CHATSPACE_MAX_SOCKETS_PER_USER", default_value_t = 50)]
    pub max_sockets_per_user: usize,

    /// Milliseconds between writes of a room's pending updates to the database.
    #[arg(long, env = "CHATSPACE_FLUSH_INTERVAL_MS", default_value_t = 100)]
    pub flush_interval_ms: u64,

    /// Milliseconds a busy room holds document and awareness relays to send them merged, one
    /// frame of each per connection and tick; 0 relays everything at once.
    #[arg(long, env = "CHATSPACE_FANOUT_TICK_MS", default_value_t = 5)]
    pub fanout_tick_ms: u64,

    /// Deliveries per second (relayed messages times the connections each reaches) from which a
    /// room counts as busy and batches its relays, when they also come at one and a quarter or
    /// more per tick; a quiet room relays at once.
    #[arg(long, env = "CHATSPACE_FANOUT_THRESHOLD", default_value_t = 2_000)]
    pub fanout_threshold: u64,

    /// Frames per second a busy room aims to send at most (its connections together, per kind
    /// of relay): a room whose audience would take more at `--fanout-tick-ms` holds its relays
    /// longer, audience / this, up to five ticks; 0 keeps every room at `--fanout-tick-ms`.
    #[arg(
        long,
        env = "CHATSPACE_FANOUT_FRAMES_PER_SEC",
        default_value_t = 60_000
    )]
    pub fanout_frames_per_sec: u64,

    /// Bytes of applied updates a room may hold that the database has not stored yet (while it
    /// is slow or unreachable); beyond them the room closes the sockets that send more with
    /// 1013, and their clients keep their edits until they reconnect.
    #[arg(long, env = "CHATSPACE_MAX_UNSTORED_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_unstored_bytes: usize,

    /// Stored updates of a room after which they are compacted into a snapshot.
    #[arg(long, env = "CHATSPACE_COMPACT_AFTER_UPDATES", default_value_t = 2000)]
    pub compact_after_updates: u64,

    /// Seconds a room with no connections stays loaded before it is saved and unloaded.
    #[arg(long, env = "CHATSPACE_ROOM_IDLE_SECS", default_value_t = 30)]
    pub room_idle_secs: u64,

    /// Serve `/metrics` on this address only, instead of on the main listener (for an address
    /// that only the monitoring system reaches).
    #[arg(long, env = "CHATSPACE_METRICS_BIND")]
    pub metrics_bind: Option<std::net::SocketAddr>,

    /// Milliseconds a room's document may take to apply one batch of updates (or answer a
    /// sync step 1) before the room is declared unhealthy: its sockets close and it reloads.
    #[arg(long, env = "CHATSPACE_APPLY_DEADLINE_MS", default_value_t = 10_000)]
    pub apply_deadline_ms: u64,

    /// Most clients whose items one update may carry; more closes the socket with 4400 (yrs's
    /// cost and stack depth grow with it, see docs/protocol.md).
    #[arg(long, env = "CHATSPACE_MAX_UPDATE_CLIENTS", default_value_t = 4_000)]
    pub max_update_clients: usize,

    /// Days automatic versions of a room's text are kept (named ones stay until deleted);
    /// 0 keeps them forever.
    #[arg(long, env = "CHATSPACE_HISTORY_RETENTION_DAYS", default_value_t = 90)]
    pub history_retention_days: u32,

    /// Seconds without edits after which a room's editing counts as paused and a version of
    /// its text is saved.
    #[arg(long, env = "CHATSPACE_HISTORY_QUIET_SECS", default_value_t = 120)]
    pub history_quiet_secs: u64,

    /// Seconds of continuous editing after which a version is saved even without a pause.
    #[arg(long, env = "CHATSPACE_HISTORY_EVERY_SECS", default_value_t = 600)]
    pub history_every_secs: u64,

    /// Largest file a room imports (.txt, .md, .yjs), in bytes.
    #[arg(long, env = "CHATSPACE_IMPORT_MAX_BYTES", default_value_t = 1024 * 1024)]
    pub import_max_bytes: usize,

    /// Who creates accounts: `open`, anyone through the sign-up form; `closed`, only operators
    /// (`chatspace user add NAME`), and the form says so.
    #[arg(long, env = "CHATSPACE_REGISTRATION", value_enum, default_value_t = Registration::Open)]
    pub registration: Registration,

    /// Longest wait, in seconds, before a login for an account with many recent failures (from
    /// any address) is answered; the wait doubles with each failure up to this.
    #[arg(long, env = "CHATSPACE_LOGIN_MAX_DELAY_SECS", default_value_t = 30)]
    pub login_max_delay_secs: u64,
}

/// Who may create accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Registration {
    /// Anyone, through the sign-up form.
    Open,
    /// Only operators, with `chatspace user add`.
    Closed,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Config {
    /// The defaults, as `chatspace` with no flags and no environment would use them.
    pub fn defaults() -> Self {
        Self::parse_from(["chatspace"])
    }

    /// This node's id: the configured one, else a random one chosen now and kept.
    pub fn node_id(&mut self) -> &str {
        self.node_id.get_or_insert_with(|| {
            use rand::Rng;
            let n: u32 = rand::thread_rng().gen();
            format!("node-{n:08x}")
        })
    }

    pub fn session_idle(&self) -> Duration {
        let hours = u64::from(self.session_idle_hours) * 3600;
        Duration::from_secs(self.session_idle_secs.unwrap_or(hours))
    }

    pub fn login_lockout(&self) -> Duration {
        Duration::from_secs(self.login_lockout_secs)
    }

    /// The login throttle's limits, as the server and the operator commands use them.
    pub fn throttle_limits(&self) -> crate::auth::throttle::ThrottleLimits {
        crate::auth::throttle::ThrottleLimits {
            per_account: self.login_max_failures,
            per_address: self.login_max_failures_per_address,
            window: self.login_lockout(),
            max_delay: Duration::from_secs(self.login_max_delay_secs),
        }
    }

    /// How many password hashes run at once: the configured number, or one per core.
    pub fn hash_slots(&self) -> usize {
        match self.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            n => n,
        }
    }

    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs.max(1))
    }

    pub fn flush_interval(&self) -> Duration {
        Duration::from_millis(self.flush_interval_ms.max(1))
    }

    /// How rooms pace their relays (see `realtime::fanout`).
    pub(crate) fn pacing(&self) -> crate::realtime::Pacing {
        crate::realtime::Pacing {
            tick: Duration::from_millis(self.fanout_tick_ms),
            threshold: self.fanout_threshold,
            frames_per_sec: self.fanout_frames_per_sec,
        }
    }

    pub fn room_idle(&self) -> Duration {
        Duration::from_secs(self.room_idle_secs)
    }

    /// How long automatic versions are kept; `None` for ever.
    pub fn history_retention(&self) -> Option<Duration> {
        (self.history_retention_days > 0)
            .then(|| Duration::from_secs(u64::from(self.history_retention_days) * 86_400))
    }

    pub fn apply_deadline(&self) -> Duration {
        Duration::from_millis(self.apply_deadline_ms.max(1))
    }
}
