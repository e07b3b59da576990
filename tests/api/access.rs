//! Who may find and open a room: private rooms are missing to non-members on every route,
//! the start page lists a user's own rooms and the public ones, and only owners reach the
//! settings.

use reqwest::StatusCode;

use crate::access_helpers::{owner_and_outsider, role_in, user, RoomSettings};
use crate::helpers::spawn_app;

/// Every route of a room, with the method and the form it is sent with.
const ROOM_ROUTES: [(&str, &str); 8] = [
    ("GET", ""),
    ("GET", "/messages"),
    ("GET", "/settings"),
    ("POST", "/settings"),
    ("POST", "/members"),
    ("POST", "/members/alice/remove"),
    ("POST", "/links"),
    ("POST", "/delete"),
];

#[tokio::test]
async fn a_private_room_answers_a_non_member_exactly_as_a_missing_room() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "hideout", "private").await;
    // Same length as "hideout", so that the bodies may be compared whole.
    let missing = "nowhere";
    for (method, route) in ROOM_ROUTES {
        let (private, absent) = if method == "GET" {
            (
                bob.get(&format!("/rooms/hideout{route}")).await,
                bob.get(&format!("/rooms/{missing}{route}")).await,
            )
        } else {
            let fields = [("role", "editor"), ("username", "bob")];
            (
                bob.submit("/", &format!("/rooms/hideout{route}"), &fields)
                    .await,
                bob.submit("/", &format!("/rooms/{missing}{route}"), &fields)
                    .await,
            )
        };
        assert_eq!(private.status(), StatusCode::NOT_FOUND, "{method} {route}");
        assert_eq!(absent.status(), StatusCode::NOT_FOUND, "{method} {route}");
        let private = private.text().await.unwrap();
        let absent = absent.text().await.unwrap().replace(missing, "hideout");
        assert_eq!(private, absent, "{method} {route}: the same answer");
    }
    let history = bob
        .get("/rooms/hideout/messages")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(history, r#"{"error":"no such room"}"#);
    assert_eq!(role_in(&bob, "hideout").await, None);
    // Nothing bob sent changed the room.
    assert_eq!(role_in(&alice, "hideout").await.as_deref(), Some("owner"));
    let members = "SELECT COUNT(*) FROM room_members";
    assert_eq!(app.count(members).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM room_links").await, 0);
}

#[tokio::test]
async fn the_start_page_lists_your_rooms_and_the_public_ones_but_no_private_room_of_others() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "hideout", "private").await;
    alice.create_room_as("lobby", "public").await;
    bob.create_room_as("bobs-den", "private").await;

    let home = alice.get_text("/").await;
    let yours = home.find("Your rooms").unwrap();
    let public = home.find("Public rooms").unwrap();
    let at = |name: &str| home.find(&format!("href=\"/rooms/{name}\""));
    assert!(at("hideout").is_some_and(|i| i > yours && i < public));
    assert!(at("lobby").is_some_and(|i| i > yours && i < public));
    assert!(
        at("bobs-den").is_none(),
        "another's private room is never listed"
    );
    assert!(home.contains("owner"), "with the role");

    let home = bob.get_text("/").await;
    let public = home.find("Public rooms").unwrap();
    let at = |name: &str| home.find(&format!("href=\"/rooms/{name}\""));
    assert!(at("lobby").is_some_and(|i| i > public), "{home}");
    assert!(at("bobs-den").is_some_and(|i| i < public));
    assert!(at("hideout").is_none());
    assert!(home.contains("id=\"public-filter\"") && home.contains("id=\"room-filter\""));
}

#[tokio::test]
async fn a_room_is_public_unless_created_private_and_shows_visibility_and_role() {
    let app = spawn_app().await;
    let alice = user(&app, "alice").await;
    alice.create_room("plain").await;
    let html = alice.get_text("/rooms/plain").await;
    assert!(html.contains("data-visibility=\"public\""), "{html}");
    assert!(html.contains("data-role=\"owner\""));
    assert!(
        html.contains("href=\"/rooms/plain/settings\""),
        "owners get the settings link"
    );

    let bob = user(&app, "bob").await;
    let html = bob.get_text("/rooms/plain").await;
    assert!(html.contains("data-role=\"editor\"") && html.contains("You are an editor"));
    assert!(!html.contains("/settings\""), "no settings link for others");

    let refused = alice.create_room_as("odd", "secret").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("public or private"));
    assert_eq!(
        alice.get("/rooms/odd").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_owner_sets_visibility_and_default_role_and_others_see_the_change() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "lobby", "public").await;
    assert_eq!(role_in(&bob, "lobby").await.as_deref(), Some("editor"));

    let fields = [("visibility", "public"), ("default_role", "viewer")];
    let saved = alice.settings_post("lobby", "settings", &fields).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(role_in(&bob, "lobby").await.as_deref(), Some("viewer"));

    let fields = [("visibility", "private"), ("default_role", "viewer")];
    alice.settings_post("lobby", "settings", &fields).await;
    assert_eq!(role_in(&bob, "lobby").await, None, "private now");
    assert!(!bob.get_text("/").await.contains("/rooms/lobby"));

    for (visibility, role, reason) in [
        ("hidden", "viewer", "public or private"),
        ("public", "owner", "editor or viewer"),
        ("public", "", "editor or viewer"),
    ] {
        let fields = [("visibility", visibility), ("default_role", role)];
        let refused = alice.settings_post("lobby", "settings", &fields).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text().await.unwrap().contains(reason), "{reason}");
    }
}

#[tokio::test]
async fn a_member_who_is_not_an_owner_is_refused_every_settings_route() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "hideout", "private").await;
    alice.set_member("hideout", "bob", "editor").await;
    let link = alice.new_link("hideout", "viewer", "").await;
    let link_id = app.count("SELECT MAX(id) FROM room_links").await;
    let revoke = format!("/links/{link_id}/revoke");
    let carol = user(&app, "carol").await;
    for (method, route) in ROOM_ROUTES
        .into_iter()
        .skip(2)
        .chain([("POST", revoke.as_str())])
    {
        let path = format!("/rooms/hideout{route}");
        let fields = [
            ("visibility", "public"),
            ("default_role", "editor"),
            ("username", "carol"),
            ("role", "owner"),
            ("confirm_name", "hideout"),
        ];
        let response = if method == "GET" {
            bob.get(&path).await
        } else {
            bob.submit("/", &path, &fields).await
        };
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {route}");
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Only the owners of “hideout” can change its settings"));
    }
    // Nothing changed: still private, alice the owner, bob an editor, carol out, the link live.
    assert_eq!(role_in(&carol, "hideout").await, None);
    assert_eq!(role_in(&alice, "hideout").await.as_deref(), Some("owner"));
    assert_eq!(role_in(&bob, "hideout").await.as_deref(), Some("editor"));
    assert_eq!(carol.get(&link).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(role_in(&carol, "hideout").await.as_deref(), Some("viewer"));
}

#[tokio::test]
async fn settings_forms_without_the_csrf_token_change_nothing() {
    let app = spawn_app().await;
    let (alice, _bob) = owner_and_outsider(&app, "hideout", "private").await;
    for (action, fields) in [
        (
            "settings",
            vec![("visibility", "public"), ("default_role", "editor")],
        ),
        ("members", vec![("username", "bob"), ("role", "editor")]),
        ("members/alice/remove", vec![]),
        ("links", vec![("role", "editor")]),
        ("delete", vec![("confirm_name", "hideout")]),
    ] {
        let path = format!("/rooms/hideout/{action}");
        let response = alice.post_form(&path, &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action}");
        let mut forged = fields.clone();
        forged.push(("csrf_token", "forged"));
        let response = alice.post_form(&path, &forged).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{action}");
    }
    let private = "SELECT COUNT(*) FROM rooms WHERE visibility = 'private'";
    assert_eq!(app.count(private).await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM room_members").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM room_links").await, 0);
}
