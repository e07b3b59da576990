//! The generator against two real ChatSpace nodes of one deployment (one PostgreSQL database,
//! one Redis key prefix, both created for the test and removed after it): with `--reader-url`
//! the writers of every room are on the first node and its readers on the second, and every
//! edit crosses between them.

mod support;

use chatspace::config::Config;

use support::{mixed_load, Server};

/// The PostgreSQL server and Redis the test uses (the main suite's variables and defaults).
fn postgres_server() -> String {
    std::env::var("CHATSPACE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

fn redis_url() -> String {
    std::env::var("CHATSPACE_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A database and a Redis key prefix of the test's own; both are removed when it is dropped.
struct Deployment {
    name: String,
}

impl Deployment {
    async fn create() -> Self {
        use sqlx::Connection;
        let name = format!("chatspace_load_test_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&format!("{}/postgres", postgres_server()))
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "this test needs PostgreSQL at {}: {error}",
                    postgres_server()
                )
            });
        for statement in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::query(&statement)
                .execute(&mut admin)
                .await
                .expect("create the test database");
        }
        let _ = admin.close().await;
        Deployment { name }
    }

    /// A node of the deployment; its sockets per user are capped at `max_sockets`.
    async fn node(&self, max_sockets: usize) -> Server {
        let mut config = Config::defaults();
        config.database_url = format!("{}/{}", postgres_server(), self.name);
        config.redis_url = Some(redis_url());
        config.redis_prefix = self.name.clone();
        config.max_sockets_per_user = max_sockets;
        Server::start(config).await
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own.
        let removed = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                use sqlx::Connection;
                let admin_url = format!("{}/postgres", postgres_server());
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                let mut redis = redis::Client::open(redis_url())?.get_connection()?;
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{name}:*"))
                    .query(&mut redis)?;
                if !keys.is_empty() {
                    redis::cmd("DEL").arg(&keys).query::<()>(&mut redis)?;
                }
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(removed, Ok(Ok(()))) {
            eprintln!("the test's database or Redis keys were left behind: {removed:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_reader_url_every_edit_and_message_crosses_from_the_writers_node_to_the_readers() {
    let deployment = Deployment::create().await;
    // Each node counts a user's sockets on its own: with 4 allowed per node, the run's 8 sockets
    // only get in if the writers (4) and the readers (4) go to different nodes.
    let (writers_node, readers_node) = (deployment.node(4).await, deployment.node(4).await);
    let reader_url = format!("--reader-url={}", readers_node.ws_base());
    // Every chat message also reached the three other clients of its room, two of them on
    // the other node (checked by `mixed_load`).
    let report = mixed_load(&writers_node.ws_base(), &[&reader_url]).await;
    assert_eq!(report["reader_url"], readers_node.ws_base(), "{report}");
}
