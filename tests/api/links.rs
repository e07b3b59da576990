//! Share links: created by owners, opened by users (signed in, or after logging in or signing
//! up), refused once revoked, expired or used up; only a hash of the token is stored.

use reqwest::StatusCode;
use sha2::{Digest, Sha256};

use crate::access_helpers::{owner_and_outsider, role_in, shown_link, user, RoomSettings};
use crate::helpers::{location, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn a_share_link_makes_whoever_opens_it_a_member_with_its_role() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "hideout", "private").await;
    let created = alice.create_link("hideout", "viewer", "", "").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let html = created.text().await.unwrap();
    let link = shown_link(&html).expect("the link is shown once");
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{}/join/", app.port)),
        "{link}"
    );
    assert!(
        html.contains("data-copy=\"new-link\""),
        "with a copy button"
    );
    let token = link.rsplit('/').next().unwrap().to_owned();
    assert!(token.len() >= 22 && token.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(
        !alice
            .get_text("/rooms/hideout/settings")
            .await
            .contains(&token),
        "shown only once"
    );

    // The database holds the token's SHA-256, never the token.
    let stored: Vec<(Vec<u8>,)> = app.rows("SELECT token_hash FROM room_links").await;
    assert_eq!(stored, vec![(Sha256::digest(token.as_bytes()).to_vec(),)]);

    let joined = bob.get(&format!("/join/{token}")).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&joined), "/rooms/hideout");
    assert_eq!(role_in(&bob, "hideout").await.as_deref(), Some("viewer"));
    assert_eq!(app.count("SELECT uses FROM room_links").await, 1);
    let settings = alice.get_text("/rooms/hideout/settings").await;
    assert!(settings.contains("data-member=\"bob\""));
}

#[tokio::test]
async fn a_link_never_lowers_a_role_and_then_does_not_count_a_use() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "hideout", "private").await;
    alice.set_member("hideout", "bob", "editor").await;
    let viewer_link = alice.new_link("hideout", "viewer", "1").await;
    for (who, role) in [(&bob, "editor"), (&alice, "owner")] {
        let joined = who.get(&viewer_link).await;
        assert_eq!(location(&joined), "/rooms/hideout");
        assert_eq!(role_in(who, "hideout").await.as_deref(), Some(role));
    }
    assert_eq!(app.count("SELECT uses FROM room_links").await, 0);
    // A viewer is raised by an editor link.
    let carol = user(&app, "carol").await;
    carol.get(&viewer_link).await;
    let editor_link = alice.new_link("hideout", "editor", "").await;
    carol.get(&editor_link).await;
    assert_eq!(role_in(&carol, "hideout").await.as_deref(), Some("editor"));
}

#[tokio::test]
async fn used_up_expired_revoked_and_unknown_links_let_nobody_in() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "hideout", "private").await;
    let carol = user(&app, "carol").await;
    let refused = |response: reqwest::Response, status: StatusCode, reason: &'static str| async move {
        assert_eq!(response.status(), status, "{reason}");
        let html = response.text().await.unwrap();
        assert!(html.contains(reason), "{reason}: {html}");
    };

    let once = alice.new_link("hideout", "editor", "1").await;
    assert_eq!(location(&bob.get(&once).await), "/rooms/hideout");
    refused(
        carol.get(&once).await,
        StatusCode::GONE,
        "used as many times as it allows",
    )
    .await;

    // An hour-long link whose hour has passed (the clock is moved on in the database).
    let created = alice.create_link("hideout", "viewer", "1", "").await;
    let expiring = shown_link(&created.text().await.unwrap()).unwrap();
    let expiring = &expiring[expiring.find("/join/").unwrap()..];
    let pool = app.db().await;
    sqlx::query(
        "UPDATE room_links SET expires_at = expires_at - 3600001 WHERE expires_at IS NOT NULL",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    refused(carol.get(expiring).await, StatusCode::GONE, "has expired").await;

    // Bob's link is revoked after he used it: he stays a member, nobody else gets in by it.
    let shared = alice.new_link("hideout", "viewer", "").await;
    let dave = user(&app, "dave").await;
    assert_eq!(location(&dave.get(&shared).await), "/rooms/hideout");
    let id = app.count("SELECT MAX(id) FROM room_links").await;
    let revoked = alice
        .settings_post("hideout", &format!("links/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    refused(carol.get(&shared).await, StatusCode::GONE, "was revoked").await;
    assert_eq!(role_in(&dave, "hideout").await.as_deref(), Some("viewer"));
    assert_eq!(role_in(&carol, "hideout").await, None);
    let again = alice
        .settings_post("hideout", &format!("links/{id}/revoke"), &[])
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert!(alice
        .get_text("/rooms/hideout/settings")
        .await
        .contains("revoked"));

    let unknown = format!("/join/{}", "x".repeat(32));
    refused(
        carol.get(&unknown).await,
        StatusCode::NOT_FOUND,
        "does not exist",
    )
    .await;
    refused(
        carol.get("/join/short").await,
        StatusCode::NOT_FOUND,
        "does not exist",
    )
    .await;
    assert_eq!(role_in(&carol, "hideout").await, None);
}

#[tokio::test]
async fn bad_link_settings_are_refused_with_the_reason() {
    let app = spawn_app().await;
    let (alice, _bob) = owner_and_outsider(&app, "hideout", "private").await;
    for (role, hours, uses, reason) in [
        ("owner", "", "", "editor or the viewer role"),
        ("", "", "", "editor or the viewer role"),
        ("viewer", "0", "", "whole number of hours"),
        ("viewer", "-3", "", "whole number of hours"),
        ("viewer", "1.5", "", "whole number of hours"),
        ("viewer", "soon", "", "whole number of hours"),
        ("viewer", "", "0", "number of uses"),
        ("viewer", "", "many", "number of uses"),
    ] {
        let response = alice.create_link("hideout", role, hours, uses).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{reason}"
        );
        assert!(response.text().await.unwrap().contains(reason), "{reason}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM room_links").await, 0);
}

#[tokio::test]
async fn a_link_with_a_few_uses_admits_no_more_when_opened_all_at_once() {
    // Twelve accounts from one address in a minute.
    let app = spawn_app_with(|config| config.register_max_per_hour = 100).await;
    let (alice, _bob) = owner_and_outsider(&app, "hideout", "private").await;
    let link = alice.new_link("hideout", "editor", "3").await;
    let mut users = Vec::new();
    for i in 0..10 {
        users.push(user(&app, &format!("user{i}")).await);
    }
    let responses =
        futures_util::future::join_all(users.iter().map(|browser| browser.get(&link))).await;
    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    let admitted = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(admitted, 3, "{statuses:?}");
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::GONE));
    assert_eq!(app.count("SELECT uses FROM room_links").await, 3);
    assert_eq!(app.count("SELECT COUNT(*) FROM room_members").await, 1 + 3);
}

#[tokio::test]
async fn a_signed_out_visitor_logs_in_or_signs_up_first_and_lands_in_the_room() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "hideout", "private").await;
    let link = alice.new_link("hideout", "editor", "").await;
    assert_eq!(bob.logout().await.status(), StatusCode::SEE_OTHER);

    // Bob has an account: the link sends him to log in and back to the link.
    let sent = bob.get(&link).await;
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let login = location(&sent);
    let next = serde_urlencoded::to_string([("next", link.as_str())]).unwrap();
    assert_eq!(login, format!("/accounts/login?{next}"));
    let token = bob.csrf_token(&login).await;
    let fields = [
        ("username", "bob"),
        ("password", PASSWORD),
        ("next", link.as_str()),
        ("csrf_token", token.as_str()),
    ];
    let logged_in = bob.post_form("/accounts/login", &fields).await;
    assert_eq!(location(&logged_in), link);
    assert_eq!(location(&bob.get(&link).await), "/rooms/hideout");
    assert_eq!(role_in(&bob, "hideout").await.as_deref(), Some("editor"));

    // Erin is new: from the login page she goes to sign up, which keeps where she was going.
    let erin = app.browser();
    let login_page = erin.get_text(&location(&erin.get(&link).await)).await;
    let register = format!("/accounts/register?{next}");
    assert!(
        login_page.contains(&format!("href=\"{}\"", register.replace('&', "&amp;"))),
        "{login_page}"
    );
    let token = erin.csrf_token(&register).await;
    let fields = [
        ("username", "erin"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("next", link.as_str()),
        ("csrf_token", token.as_str()),
    ];
    let registered = erin.post_form("/accounts/register", &fields).await;
    assert_eq!(registered.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&registered), link);
    assert_eq!(location(&erin.get(&link).await), "/rooms/hideout");
    assert_eq!(role_in(&erin, "hideout").await.as_deref(), Some("editor"));
}
