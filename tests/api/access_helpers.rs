//! What the access tests do as users: private rooms, the settings forms, share links.

use std::future::Future;
use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};

use crate::helpers::{Browser, TestApp};

/// The settings forms of a room, sent as its page sends them (the CSRF token is the session's,
/// the same on every page, so it is taken from the start page: a non-owner has no settings page).
pub trait RoomSettings {
    fn create_room_as(&self, name: &str, visibility: &str) -> impl Future<Output = Response>;
    fn settings_post(
        &self,
        room: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> impl Future<Output = Response>;
    fn set_member(&self, room: &str, username: &str, role: &str) -> impl Future<Output = Response>;
    fn remove_member(&self, room: &str, username: &str) -> impl Future<Output = Response>;
    fn create_link(
        &self,
        room: &str,
        role: &str,
        expires_in_hours: &str,
        max_uses: &str,
    ) -> impl Future<Output = Response>;
    /// Creates a link and returns its path, `/join/{token}`, from the page that shows it.
    fn new_link(&self, room: &str, role: &str, max_uses: &str) -> impl Future<Output = String>;
}

impl RoomSettings for Browser {
    async fn create_room_as(&self, name: &str, visibility: &str) -> Response {
        let fields = [("name", name), ("visibility", visibility)];
        self.submit("/", "/rooms", &fields).await
    }

    async fn settings_post(&self, room: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        self.submit("/", &format!("/rooms/{room}/{action}"), fields)
            .await
    }

    async fn set_member(&self, room: &str, username: &str, role: &str) -> Response {
        let fields = [("username", username), ("role", role)];
        self.settings_post(room, "members", &fields).await
    }

    async fn remove_member(&self, room: &str, username: &str) -> Response {
        self.settings_post(room, &format!("members/{username}/remove"), &[])
            .await
    }

    async fn create_link(
        &self,
        room: &str,
        role: &str,
        expires_in_hours: &str,
        max_uses: &str,
    ) -> Response {
        let fields = [
            ("role", role),
            ("expires_in_hours", expires_in_hours),
            ("max_uses", max_uses),
        ];
        self.settings_post(room, "links", &fields).await
    }

    async fn new_link(&self, room: &str, role: &str, max_uses: &str) -> String {
        let response = self.create_link(room, role, "", max_uses).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let html = response.text().await.expect("a body");
        let link = shown_link(&html).expect("the new link is shown");
        let at = link.find("/join/").expect("a join link");
        link[at..].to_owned()
    }
}

/// The share link the settings page shows once after creating it.
pub fn shown_link(html: &str) -> Option<String> {
    let at = html.find("id=\"new-link\"")?;
    attribute(&html[at..], "value")
}

/// A user registered (and signed in) in a browser of their own.
pub async fn user(app: &TestApp, username: &str) -> Browser {
    let browser = app.browser();
    assert_eq!(
        browser.register(username).await.status(),
        StatusCode::SEE_OTHER
    );
    browser
}

/// `alice` with a room of the given visibility, and `bob`, signed in, who is not a member.
pub async fn owner_and_outsider(app: &TestApp, room: &str, visibility: &str) -> (Browser, Browser) {
    let alice = user(app, "alice").await;
    let created = alice.create_room_as(room, visibility).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    (alice, user(app, "bob").await)
}

/// The role the room page gives its user (`data-role`), or `None` when the page is a 404.
pub async fn role_in(browser: &Browser, room: &str) -> Option<String> {
    let response = browser.get(&format!("/rooms/{room}")).await;
    if response.status() == StatusCode::NOT_FOUND {
        return None;
    }
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("a body");
    attribute(&html, "data-role")
}

/// The value of the first `name="…"` attribute in `html`.
pub fn attribute(html: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let at = html.find(&key)? + key.len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].to_owned())
}

/// Polls `sql` (one number) until it is `want`, for up to ten seconds.
pub async fn count_becomes(app: &TestApp, sql: &str, want: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = app.count(sql).await;
        if n == want {
            return;
        }
        assert!(Instant::now() < deadline, "{sql} stayed {n}, not {want}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
