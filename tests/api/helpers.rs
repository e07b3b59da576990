//! Test harness: the real server in-process on a free port with a fresh SQLite file, and
//! cookie-keeping HTTP clients, one per simulated browser (after zero-to-production
//! `tests/api/helpers.rs`).

use std::sync::Arc;
use std::time::Duration;

use chatspace::config::Config;
use chatspace::startup::Application;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running server and the directory holding its database.
pub struct TestApp {
    pub port: u16,
    /// The `--metrics-bind` listener's port, when the test asked for one.
    pub metrics_port: Option<u16>,
    pub config: Config,
    /// Kept so the database outlives restarts; deleted when the test ends.
    dir: Arc<TempDir>,
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
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut config = Config::defaults();
    config.database_url = format!("sqlite://{}", dir.path().join("chatspace.db").display());
    config.bind = "127.0.0.1:0".parse().expect("address");
    configure(&mut config);
    start(config, dir).await
}

async fn start(config: Config, dir: Arc<TempDir>) -> TestApp {
    let app = Application::build(config.clone())
        .await
        .expect("server builds");
    let port = app.port();
    let metrics_port = app.metrics_port();
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let server = tokio::spawn(app.run_until(async move { stopped.cancelled().await }));
    let mut config = config;
    config.bind.set_port(port);
    TestApp {
        port,
        metrics_port,
        config,
        dir,
        stop,
        server: Some(server),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
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

    /// Stops the server and starts it again on the same database file and port.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        let mut last_error = None;
        for _ in 0..50 {
            match Application::build(self.config.clone()).await {
                Ok(app) => {
                    let metrics_port = app.metrics_port();
                    let stop = CancellationToken::new();
                    let stopped = stop.clone();
                    let server =
                        tokio::spawn(app.run_until(async move { stopped.cancelled().await }));
                    return TestApp {
                        port: self.port,
                        metrics_port,
                        config: self.config.clone(),
                        dir: Arc::clone(&self.dir),
                        stop,
                        server: Some(server),
                    };
                }
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not restart: {last_error:?}");
    }

    /// Opens the database file directly, as an operator would.
    pub async fn db(&self) -> sqlx::SqlitePool {
        sqlx::SqlitePool::connect(&self.config.database_url)
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
        T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
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
