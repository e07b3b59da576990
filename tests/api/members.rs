//! Owners add members, change their roles and remove them; a room always keeps an owner.

use reqwest::StatusCode;

use crate::access_helpers::{owner_and_outsider, role_in, RoomSettings};
use crate::helpers::{location, spawn_app};

#[tokio::test]
async fn an_owner_adds_a_member_changes_their_role_and_removes_them() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "hideout", "private").await;
    assert_eq!(role_in(&bob, "hideout").await, None);

    let added = alice.set_member("hideout", "bob", "viewer").await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&added), "/rooms/hideout/settings");
    assert_eq!(role_in(&bob, "hideout").await.as_deref(), Some("viewer"));
    let home = bob.get_text("/").await;
    assert!(home.contains("href=\"/rooms/hideout\"") && home.contains("viewer"));
    let settings = alice.get_text("/rooms/hideout/settings").await;
    assert!(
        settings.contains("data-member=\"bob\""),
        "listed to the owner"
    );

    // The same form with the same username changes the role.
    alice.set_member("hideout", "BOB", "editor").await;
    assert_eq!(role_in(&bob, "hideout").await.as_deref(), Some("editor"));
    assert_eq!(app.count("SELECT COUNT(*) FROM room_members").await, 2);

    let removed = alice.remove_member("hideout", "bob").await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(role_in(&bob, "hideout").await, None, "missing to him again");
    assert!(!bob.get_text("/").await.contains("/rooms/hideout"));
}

#[tokio::test]
async fn unknown_users_roles_and_members_are_refused_with_the_reason() {
    let app = spawn_app().await;
    let (alice, _bob) = owner_and_outsider(&app, "hideout", "private").await;
    for (username, role, status, reason) in [
        (
            "nobody",
            "editor",
            StatusCode::UNPROCESSABLE_ENTITY,
            "There is no user called “nobody”",
        ),
        (
            "",
            "editor",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Type the username",
        ),
        (
            "bob",
            "admin",
            StatusCode::UNPROCESSABLE_ENTITY,
            "Pick a role: owner, editor or viewer",
        ),
        ("bob", "", StatusCode::UNPROCESSABLE_ENTITY, "Pick a role"),
    ] {
        let response = alice.set_member("hideout", username, role).await;
        assert_eq!(response.status(), status, "{username:?} {role:?}");
        let html = response.text().await.unwrap();
        assert!(html.contains(reason), "{reason}: {html}");
        assert!(
            html.contains("Settings of hideout"),
            "the settings page again"
        );
    }
    let response = alice.remove_member("hideout", "bob").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("bob is not a member"));
    let response = alice.remove_member("hideout", "nobody").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT COUNT(*) FROM room_members").await, 1);
}

#[tokio::test]
async fn the_last_owner_can_be_neither_demoted_nor_removed() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "hideout", "private").await;
    for response in [
        alice.set_member("hideout", "alice", "editor").await,
        alice.remove_member("hideout", "alice").await,
    ] {
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("alice is the room&#39;s last owner")
                || html.contains("alice is the room's last owner"),
            "{html}"
        );
    }
    assert_eq!(role_in(&alice, "hideout").await.as_deref(), Some("owner"));

    // With a second owner, alice may step down; then bob is the last one.
    alice.set_member("hideout", "bob", "owner").await;
    let stepped_down = alice.set_member("hideout", "alice", "viewer").await;
    assert_eq!(stepped_down.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&stepped_down), "/rooms/hideout");
    assert_eq!(role_in(&alice, "hideout").await.as_deref(), Some("viewer"));
    let refused = bob.remove_member("hideout", "bob").await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let app = spawn_app().await;
    let (alice, bob) = owner_and_outsider(&app, "hideout", "private").await;
    let owners = "SELECT COUNT(*) FROM room_members WHERE role = 'owner'";
    alice.set_member("hideout", "bob", "owner").await;
    // Each round both owners take the other's ownership away at the same moment. Whichever
    // comes second is refused: as the last owner's (409), or because it is no longer an owner
    // (403) or no longer a member (404) when it arrives after the first was committed.
    for round in 0..6 {
        assert_eq!(app.count(owners).await, 2, "round {round}");
        let (first, second) = tokio::join!(
            alice.set_member("hideout", "bob", "editor"),
            bob.remove_member("hideout", "alice"),
        );
        let statuses = [first.status(), second.status()];
        let done = statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count();
        assert_eq!(done, 1, "round {round}: {statuses:?}");
        assert!(statuses.iter().all(|s| [
            StatusCode::SEE_OTHER,
            StatusCode::CONFLICT,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND
        ]
        .contains(s)));
        assert_eq!(app.count(owners).await, 1, "round {round}");
        // The owner left makes the other an owner again.
        if statuses[0] == StatusCode::SEE_OTHER {
            alice.set_member("hideout", "bob", "owner").await;
        } else {
            bob.set_member("hideout", "alice", "owner").await;
        }
    }
}
