//! The owner's forms of a room (members, rules, deletion), submitted as a browser does, for
//! tests that need a role or a rule set up: each asserts that the form went through.

use reqwest::StatusCode;

use crate::access_helpers::RoomSettings;
use crate::helpers::Browser;

impl Browser {
    /// Creates a private room (the creator is its owner).
    pub async fn create_private_room(&self, room: &str) {
        let response = self.create_room_as(room, "private").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "room created");
    }

    /// Adds `username` to `room` with `role`, or gives the member that role.
    pub async fn assign_role(&self, room: &str, username: &str, role: &str) {
        let response = self.set_member(room, username, role).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "role set");
    }

    /// Removes `username` from `room`.
    pub async fn remove_from_room(&self, room: &str, username: &str) {
        let response = self.remove_member(room, username).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "member removed");
    }

    /// Sets the room's visibility (`public`, `private`) and default role.
    pub async fn set_rules(&self, room: &str, visibility: &str, default_role: &str) {
        let fields = [("visibility", visibility), ("default_role", default_role)];
        let response = self.settings_post(room, "settings", &fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "rules set");
    }

    /// Deletes the room, confirming with its name.
    pub async fn delete_room(&self, room: &str) {
        let response = self
            .settings_post(room, "delete", &[("confirm_name", room)])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "room deleted");
    }
}
