//! Test harness: the real server in-process on a free port with a fresh database (a SQLite file,
//! or a PostgreSQL database of its own, per the suite's `BACKEND`), and cookie-keeping HTTP
//! clients, one per simulated browser (after zero-to-production `tests/api/helpers.rs`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatspace::config::Config;
use chatspace::startup::Application;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use sqlx::{AnyPool, Connection};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Which database a suite runs on (each suite constructs one of them).
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the Postgres suite creates its databases on.
pub fn postgres_server() -> String {
    std::env::var("CHATSPACE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A test's own database, removed when the last server using it is gone.
pub struct TestDatabase {
    pub url: String,
    /// The SQLite file's folder.
    _dir: Option<TempDir>,
    /// The PostgreSQL database's name.
    postgres: Option<String>,
}

static DATABASES: AtomicU32 = AtomicU32::new(0);

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("chatspace.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let name = format!(
                    "chatspace_test_{}_{}",
                    std::process::id(),
                    DATABASES.fetch_add(1, Ordering::Relaxed)
                );
                let mut admin = admin_connection().await;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .expect("drop a leftover test database");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create the test database");
                let _ = admin.close().await;
                Self {
                    url: format!("{}/{name}", postgres_server()),
                    _dir: None,
                    postgres: Some(name),
                }
            }
        }
    }
}

async fn admin_connection() -> sqlx::PgConnection {
    let url = format!("{}/postgres", postgres_server());
    match sqlx::PgConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(error) => {
            let what = format!("PostgreSQL at {url} (CHATSPACE_TEST_POSTGRES)");
            service_missing(&what, error)
        }
    }
}

/// A server this suite needs does not answer. Under CI (`CI=true`) that fails the test. On a
/// developer's machine without it, every test of the suite is skipped (the process ends
/// successfully), and it says so on the terminal: the suites that need a service are test
/// binaries of their own (`tests/postgres`, `tests/multinode`).
pub fn service_missing(what: &str, error: impl std::fmt::Display) -> ! {
    use std::io::Write;
    let message = format!("{what} does not answer: {error}");
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("{message}");
    }
    // Straight to the terminal: the test harness would swallow a captured `eprintln!`.
    let _ = writeln!(
        std::io::stderr(),
        "\nSKIPPED: every test of this suite, because {message}. CI fails instead."
    );
    std::process::exit(0)
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let mut admin = admin_connection().await;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .map(|_| ())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("a test database was not dropped: {dropped:?}");
        }
    }
}

/// A running server and its database.
pub struct TestApp {
    pub port: u16,
    /// The `--metrics-bind` listener's port, when the test asked for one.
    pub metrics_port: Option<u16>,
    pub config: Config,
    pub backend: Backend,
    /// Kept so the database outlives restarts; removed when the test ends.
    database: Arc<TestDatabase>,
    stop: CancellationToken,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server with the test defaults, adjusted by `configure`.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let database = Arc::new(TestDatabase::create(crate::BACKEND).await);
    spawn_app_on(database, configure).await
}

/// Starts a server on an existing test database (another node of a deployment).
pub async fn spawn_app_on(
    database: Arc<TestDatabase>,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config::defaults();
    config.database_url = database.url.clone();
    config.bind = "127.0.0.1:0".parse().expect("address");
    configure(&mut config);
    let app = Application::build(config.clone())
        .await
        .expect("server builds");
    config.bind.set_port(app.port());
    TestApp::running(app, config, database)
}

impl TestApp {
    fn running(app: Application, config: Config, database: Arc<TestDatabase>) -> Self {
        let port = app.port();
        let metrics_port = app.metrics_port();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let server = tokio::spawn(app.run_until(async move { stopped.cancelled().await }));
        TestApp {
            port,
            metrics_port,
            config,
            backend: crate::BACKEND,
            database,
            stop,
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// The value of a label-less series on the server's `/metrics` (0 when absent).
    pub async fn metric(&self, series: &str) -> f64 {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .expect("scrapes")
            .text()
            .await
            .expect("a body");
        text.lines()
            .filter_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .next()
            .unwrap_or(0.0)
    }

    /// The server's database, to start another node on.
    #[allow(dead_code)] // Used by the multi-node suite.
    pub fn database(&self) -> Arc<TestDatabase> {
        Arc::clone(&self.database)
    }

    pub fn ws_url(&self, room: &str) -> String {
        format!("ws://127.0.0.1:{}/ws/{}", self.port, room)
    }

    /// A new simulated browser with an empty cookie jar.
    pub fn browser(&self) -> Browser {
        Browser::new(self.port)
    }

    /// Stops the server the way SIGTERM does: sockets close, rooms are saved.
    pub async fn stop(&mut self) {
        self.stop.cancel();
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }

    /// Starts another node: a second server on this test's database, with this one's
    /// configuration but a port and node id of its own. The database stays until the last of
    /// them is gone.
    pub async fn another_node(&self) -> TestApp {
        let mut config = self.config.clone();
        config.bind.set_port(0);
        config.node_id = None;
        let app = Application::build(config.clone())
            .await
            .expect("another node builds");
        config.bind.set_port(app.port());
        TestApp::running(app, config, Arc::clone(&self.database))
    }

    /// Stops the server and starts it again on the same database and port.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let mut last_error = None;
        for _ in 0..50 {
            match Application::build(self.config.clone()).await {
                Ok(app) => {
                    return TestApp::running(app, self.config.clone(), Arc::clone(&self.database))
                }
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not restart: {last_error:?}");
    }

    /// Opens the database directly, as an operator would.
    pub async fn db(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        AnyPool::connect(&self.config.database_url)
            .await
            .expect("open the database")
    }

    /// The one number `sql` selects, read as an operator would.
    pub async fn count(&self, sql: &str) -> i64 {
        let pool = self.db().await;
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.expect("a count");
        pool.close().await;
        n
    }

    /// Every row `sql` selects, read as an operator would.
    pub async fn rows<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let pool = self.db().await;
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.expect("rows");
        pool.close().await;
        rows
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A cookie-keeping HTTP client that does not follow redirects, so tests see the 303s.
pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    port: u16,
}

impl Browser {
    pub fn new(port: u16) -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(Policy::none())
            .build()
            .expect("http client");
        Self { client, jar, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// The same browser (its cookies) talking to another node of the deployment.
    #[allow(dead_code)] // Used by the multi-node suite.
    pub fn clone_on(&self, app: &TestApp) -> Browser {
        Browser {
            client: self.client.clone(),
            jar: Arc::clone(&self.jar),
            port: app.port,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("body")
    }

    /// The `csrf_token` of the first form on the page at `path`.
    pub async fn csrf_token(&self, path: &str) -> String {
        let html = self.get_text(path).await;
        extract_csrf(&html).unwrap_or_else(|| panic!("no csrf_token on {path}"))
    }

    /// POSTs a form as is (no token added).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    /// POSTs a `multipart/form-data` form (a file upload) as is.
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Response {
        self.client
            .post(self.url(path))
            .multipart(form)
            .send()
            .await
            .expect("POST")
    }

    /// POSTs a form with the token from the page at `form_page`, as a browser would.
    pub async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_token(form_page).await;
        let mut all = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_form(action, &all).await
    }

    pub async fn register(&self, username: &str) -> Response {
        let fields = [
            ("username", username),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ];
        self.submit("/accounts/register", "/accounts/register", &fields)
            .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.submit(
            "/accounts/login",
            "/accounts/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    pub async fn logout(&self) -> Response {
        self.submit("/", "/accounts/logout", &[]).await
    }

    pub async fn create_room(&self, name: &str) -> Response {
        self.submit("/", "/rooms", &[("name", name)]).await
    }

    /// Registers `username` (logged in afterwards) and creates `room`.
    pub async fn register_with_room(&self, username: &str, room: &str) {
        assert_eq!(
            self.register(username).await.status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(self.create_room(room).await.status(), StatusCode::SEE_OTHER);
    }

    /// The `Cookie` header this browser sends to the server.
    pub fn cookie_header(&self) -> Option<String> {
        let url = self.url("/").parse().expect("url");
        self.jar
            .cookies(&url)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
    }

    /// The session cookie's value.
    pub fn session_id(&self) -> Option<String> {
        let header = self.cookie_header()?;
        header
            .split("; ")
            .find_map(|pair| pair.strip_prefix("chatspace_session="))
            .map(str::to_owned)
    }
}

/// The value of the first hidden `csrf_token` input in `html`.
pub fn extract_csrf(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf_token\"")?;
    let rest = &html[at..];
    let value = rest.find("value=\"")? + "value=\"".len();
    let end = rest[value..].find('"')?;
    Some(rest[value..value + end].to_owned())
}

/// Where a 303 points.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `Retry-After` header of a refusal, in seconds.
pub fn retry_after_secs(response: &Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds")
}
