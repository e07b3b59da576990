//! The owner's forms of a room (members, rules, deletion), submitted as a browser does, for
//! tests that need a role or a rule set up.

use reqwest::StatusCode;

use crate::helpers::Browser;

impl Browser {
    /// Creates a private room (the creator is its owner).
    pub async fn create_private_room(&self, room: &str) {
        let fields = [("name", room), ("visibility", "private")];
        let response = self.submit("/", "/rooms", &fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "room created");
    }

    /// Adds `username` to `room` with `role`, or gives the member that role.
    pub async fn set_member(&self, room: &str, username: &str, role: &str) {
        let settings = format!("/rooms/{room}/settings");
        let fields = [("username", username), ("role", role)];
        let action = format!("/rooms/{room}/members");
        let response = self.submit(&settings, &action, &fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "role set");
    }

    /// Removes `username` from `room`.
    pub async fn remove_member(&self, room: &str, username: &str) {
        let settings = format!("/rooms/{room}/settings");
        let action = format!("/rooms/{room}/members/{username}/remove");
        let response = self.submit(&settings, &action, &[]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "member removed");
    }

    /// Sets the room's visibility (`public`, `private`) and default role.
    pub async fn set_rules(&self, room: &str, visibility: &str, default_role: &str) {
        let settings = format!("/rooms/{room}/settings");
        let fields = [("visibility", visibility), ("default_role", default_role)];
        let response = self.submit(&settings, &settings, &fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "rules set");
    }

    /// Deletes the room, confirming with its name.
    pub async fn delete_room(&self, room: &str) {
        let settings = format!("/rooms/{room}/settings");
        let action = format!("/rooms/{room}/delete");
        let response = self
            .submit(&settings, &action, &[("confirm_name", room)])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "room deleted");
    }
}
