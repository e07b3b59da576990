//! A deployment of several nodes for a test: one PostgreSQL database, one Redis key prefix.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chatspace::config::Config;

use crate::helpers::{service_missing, spawn_app_on, Backend, TestApp, TestDatabase};

/// The Redis server the tests use.
pub fn redis_url() -> String {
    std::env::var("CHATSPACE_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The Redis server's address, for a proxy in front of it.
pub fn redis_address() -> std::net::SocketAddr {
    redis_url()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .parse()
        .expect("CHATSPACE_TEST_REDIS as redis://IP:PORT")
}

/// A connection to the tests' Redis.
async fn connection() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis_url()).expect("a Redis URL");
    client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers")
}

/// A key prefix of the test's own; its keys are deleted when it is dropped.
pub struct RedisPrefix {
    pub prefix: String,
}

static PREFIXES: AtomicU32 = AtomicU32::new(0);

impl RedisPrefix {
    pub async fn new() -> Self {
        let prefix = format!(
            "chatspace_test_{}_{}",
            std::process::id(),
            PREFIXES.fetch_add(1, Ordering::Relaxed)
        );
        let client = redis::Client::open(redis_url()).expect("a Redis URL");
        let answered = async {
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        if let Err(error) = answered.await {
            let what = format!("Redis at {} (CHATSPACE_TEST_REDIS)", redis_url());
            service_missing(&what, error);
        }
        Self { prefix }
    }

    /// Every key under the prefix.
    pub async fn keys(&self) -> Vec<String> {
        redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query_async(&mut connection().await)
            .await
            .expect("KEYS")
    }

    /// Deletes every key under the prefix, as a Redis restarted without persistence loses them.
    pub async fn wipe(&self) {
        let keys = self.keys().await;
        if keys.is_empty() {
            return;
        }
        redis::cmd("DEL")
            .arg(&keys)
            .query_async::<i64>(&mut connection().await)
            .await
            .expect("DEL");
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        let pattern = format!("{}:*", self.prefix);
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own.
        let cleaned = std::thread::spawn(move || {
            let client = redis::Client::open(redis_url())?;
            let mut conn = client.get_connection()?;
            let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut conn)?;
            if !keys.is_empty() {
                redis::cmd("DEL").arg(&keys).query::<()>(&mut conn)?;
            }
            Ok::<_, redis::RedisError>(())
        })
        .join();
        if !matches!(cleaned, Ok(Ok(()))) {
            eprintln!("test keys were left in Redis: {cleaned:?}");
        }
    }
}

/// Nodes sharing one database and one Redis prefix.
pub struct Cluster {
    pub nodes: Vec<TestApp>,
    pub redis: RedisPrefix,
    database: Arc<TestDatabase>,
}

impl Cluster {
    /// `count` nodes, each configured by `configure` after the cluster's settings.
    pub async fn start(count: usize, configure: impl Fn(&mut Config)) -> Self {
        // Redis first: a suite skipped for want of it leaves no database behind.
        let redis = RedisPrefix::new().await;
        let database = Arc::new(TestDatabase::create(Backend::Postgres).await);
        let mut cluster = Cluster {
            nodes: Vec::new(),
            redis,
            database,
        };
        for _ in 0..count {
            let node = cluster.node(&redis_url(), &configure).await;
            cluster.nodes.push(node);
        }
        cluster
    }

    /// One more node on the cluster's database that is not on the bus (a misconfiguration).
    pub async fn node_without_bus(&self) -> TestApp {
        spawn_app_on(Arc::clone(&self.database), |_| {}).await
    }

    /// One more node on the cluster's database, reaching Redis at `redis_url`.
    pub async fn node(&self, redis_url: &str, configure: &impl Fn(&mut Config)) -> TestApp {
        let prefix = self.redis.prefix.clone();
        let url = redis_url.to_owned();
        spawn_app_on(Arc::clone(&self.database), |config| {
            config.redis_url = Some(url);
            config.redis_prefix = prefix;
            configure(config);
        })
        .await
    }
}
