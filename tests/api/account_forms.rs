//! The account forms for people using a keyboard or a screen reader: the first invalid field
//! takes the focus, carries `aria-invalid` and points at its message; overlong input is refused
//! with a message, not cut; the login and sign-up pages say which room the visitor was opening,
//! and signing up leads there.

use reqwest::StatusCode;

use crate::helpers::{location, spawn_app, PASSWORD};

/// The `<input …>` tag with `id="{id}"` in `html`.
fn input_tag<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<input id=\"{id}\""))
        .unwrap_or_else(|| panic!("no input #{id} in {html}"));
    let end = html[start..]
        .find('>')
        .map_or(html.len(), |n| start + n + 1);
    &html[start..end]
}

/// The id of the error message whose text contains `text`.
fn message_id(html: &str, text: &str) -> String {
    let at = html
        .find(text)
        .unwrap_or_else(|| panic!("no {text:?} in {html}"));
    let open = html[..at]
        .rfind("<li id=\"")
        .expect("the message is a list item with an id");
    let id = &html[open + "<li id=\"".len()..];
    id[..id.find('"').expect("a quoted id")].to_owned()
}

#[tokio::test]
async fn the_first_invalid_field_has_the_focus_and_is_tied_to_its_message() {
    let app = spawn_app().await;
    let browser = app.browser();
    let fields = [
        ("username", "al"),
        ("password", PASSWORD),
        ("password_confirm", "something else"),
    ];
    let refused = browser
        .submit("/accounts/register", "/accounts/register", &fields)
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    let username = input_tag(&html, "username");
    assert!(username.contains("aria-invalid=\"true\""), "{username}");
    assert!(username.contains("autofocus"), "{username}");
    let id = message_id(&html, "The username must be 3 to 32 characters long.");
    assert!(
        username.contains(&format!("aria-describedby=\"{id} username-help\"")),
        "{username}"
    );
    let password = input_tag(&html, "password");
    assert!(
        !password.contains("aria-invalid") && !password.contains("autofocus"),
        "{password}"
    );
    let confirm = input_tag(&html, "password_confirm");
    assert!(
        confirm.contains("aria-invalid=\"true\"") && !confirm.contains("autofocus"),
        "{confirm}"
    );
    let id = message_id(&html, "The two passwords do not match.");
    assert!(
        confirm.contains(&format!("aria-describedby=\"{id}\"")),
        "{confirm}"
    );

    // A wrong password at login: the password field.
    browser.register("alice").await;
    let other = app.browser();
    let wrong = other.login("alice", "not the password").await;
    let html = wrong.text().await.unwrap();
    let password = input_tag(&html, "password");
    assert!(
        password.contains("aria-invalid=\"true\"") && password.contains("autofocus"),
        "{password}"
    );
    assert!(!input_tag(&html, "username").contains("autofocus"));
}

#[tokio::test]
async fn an_overlong_username_is_refused_with_a_message_not_cut() {
    let app = spawn_app().await;
    let browser = app.browser();
    let form = browser.get_text("/accounts/register").await;
    assert!(
        !input_tag(&form, "username").contains("maxlength"),
        "the browser does not cut it"
    );
    let long = "a".repeat(40);
    let fields = [
        ("username", long.as_str()),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ];
    let refused = browser
        .submit("/accounts/register", "/accounts/register", &fields)
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("The username must be 3 to 32 characters long."),
        "{html}"
    );
    assert!(
        html.contains(&format!("value=\"{long}\"")),
        "what was typed is kept whole"
    );
}

#[tokio::test]
async fn the_pages_say_which_room_and_signing_up_leads_there() {
    let app = spawn_app().await;
    app.browser().register_with_room("alice", "plans").await;
    let visitor = app.browser();
    let to_login = visitor.get("/rooms/plans").await;
    assert_eq!(to_login.status(), StatusCode::SEE_OTHER);
    let login_page = location(&to_login);
    let html = visitor.get_text(&login_page).await;
    assert!(
        html.contains("To open the room <strong>plans</strong>"),
        "{html}"
    );
    let register_page = "/accounts/register?next=%2Frooms%2Fplans";
    assert!(
        html.contains(register_page),
        "the sign-up link keeps next: {html}"
    );
    let html = visitor.get_text(register_page).await;
    assert!(
        html.contains("To open the room <strong>plans</strong>"),
        "{html}"
    );
    let fields = [
        ("username", "bob"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("next", "/rooms/plans"),
    ];
    let signed_up = visitor
        .submit(register_page, "/accounts/register", &fields)
        .await;
    assert_eq!(signed_up.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_up), "/rooms/plans");
    assert_eq!(visitor.get("/rooms/plans").await.status(), StatusCode::OK);
}
