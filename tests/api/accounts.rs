//! Register, log in, log out; the registration limit per address.

use reqwest::StatusCode;

use crate::helpers::{location, retry_after_secs, spawn_app, spawn_app_with, PASSWORD};

#[tokio::test]
async fn registering_logs_the_new_user_in() {
    let app = spawn_app().await;
    let alice = app.browser();
    let response = alice.register("alice").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let home = alice.get_text("/").await;
    assert!(home.contains("Signed in as"), "home shows the user: {home}");
    assert!(home.contains("alice"));
    assert!(home.contains("Create a room"));
}

#[tokio::test]
async fn logging_out_and_in_again_works() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register("alice").await;
    let out = alice.logout().await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(
        !alice.get_text("/").await.contains("Signed in as"),
        "logged out"
    );
    let login = alice.login("alice", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert!(alice.get_text("/").await.contains("Signed in as"));
}

#[tokio::test]
async fn login_returns_to_next_but_never_to_another_site() {
    let app = spawn_app().await;
    app.browser().register("alice").await;
    let bob = app.browser();
    let page = "/accounts/login?next=%2Frooms%2Fgeneral";
    let token = bob.csrf_token(page).await;
    let fields = [
        ("username", "alice"),
        ("password", PASSWORD),
        ("next", "/rooms/general"),
        ("csrf_token", &token),
    ];
    assert_eq!(
        location(&bob.post_form("/accounts/login", &fields).await),
        "/rooms/general"
    );
    let carol = app.browser();
    let token = carol.csrf_token("/accounts/login").await;
    let fields = [
        ("username", "alice"),
        ("password", PASSWORD),
        ("next", "//evil.example/"),
        ("csrf_token", &token),
    ];
    assert_eq!(
        location(&carol.post_form("/accounts/login", &fields).await),
        "/"
    );
}

#[tokio::test]
async fn the_headers_log_in_and_sign_up_keep_where_the_visitor_was_going() {
    let app = spawn_app().await;
    let visitor = app.browser();
    let next = "next=%2Frooms%2Fgeneral";
    // The header's "Sign up" and the link under the form both lead on to the room.
    let login = visitor.get_text(&format!("/accounts/login?{next}")).await;
    let to_register = format!("href=\"/accounts/register?{next}\"");
    assert_eq!(login.matches(&to_register).count(), 2, "{login}");
    let register = visitor
        .get_text(&format!("/accounts/register?{next}"))
        .await;
    let to_login = format!("href=\"/accounts/login?{next}\"");
    assert_eq!(register.matches(&to_login).count(), 2, "{register}");
    // Elsewhere they go nowhere in particular.
    let home = visitor.get_text("/").await;
    assert!(home.contains("href=\"/accounts/register\""), "{home}");
}

#[tokio::test]
async fn a_wrong_password_rerenders_the_form_with_the_username_but_not_the_password() {
    let app = spawn_app().await;
    app.browser().register("alice").await;
    let mallory = app.browser();
    let response = mallory.login("alice", "not the password").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.unwrap();
    assert!(html.contains("Wrong username or password."));
    assert!(html.contains("value=\"alice\""), "the username is kept");
    assert!(
        !html.contains("not the password"),
        "the password is never echoed"
    );
    assert!(!mallory.get_text("/").await.contains("Signed in as"));
}

#[tokio::test]
async fn an_unknown_user_gets_the_same_answer_as_a_wrong_password() {
    use rand::Rng;
    let app = spawn_app().await;
    // Also a name far longer than any account's, of random letters that the database cannot
    // compress below its index's size limit, for the login throttle counts every name.
    let overlong: String = rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(20_000)
        .map(char::from)
        .collect();
    for name in ["nobody", &overlong] {
        let response = app.browser().login(name, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response
            .text()
            .await
            .unwrap()
            .contains("Wrong username or password."));
    }
}

#[tokio::test]
async fn a_username_taken_in_another_case_is_refused() {
    let app = spawn_app().await;
    app.browser().register("Alice").await;
    let response = app.browser().register("aLICE").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(html.contains("That username is taken"), "{html}");
    assert!(html.contains("value=\"aLICE\""), "what was typed is kept");
}

#[tokio::test]
async fn invalid_registrations_are_refused_with_the_reasons() {
    let app = spawn_app().await;
    let browser = app.browser();
    let cases: [(&str, &str, &str, &str); 4] = [
        ("al", PASSWORD, PASSWORD, "3 to 32 characters"),
        ("bad name!", PASSWORD, PASSWORD, "may only hold"),
        ("shortpw", "short", "short", "at least 8 characters"),
        ("mismatch", PASSWORD, "something else", "do not match"),
    ];
    for (username, password, confirm, reason) in cases {
        let fields = [
            ("username", username),
            ("password", password),
            ("password_confirm", confirm),
        ];
        let response = browser
            .submit("/accounts/register", "/accounts/register", &fields)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{username}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(reason), "{username}: expected {reason:?}");
        assert!(
            !html.contains(&format!("value=\"{password}\"")),
            "the password is never echoed"
        );
    }
    let pool = app.db().await;
    let users: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users.0, 0);
}

#[tokio::test]
async fn the_stored_password_is_an_argon2id_phc_string_at_the_owasp_minimum() {
    let app = spawn_app().await;
    app.browser().register("alice").await;
    let pool = app.db().await;
    let (hash,): (String,) =
        sqlx::query_as("SELECT password_hash FROM users WHERE username = 'alice'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn an_address_creates_no_more_accounts_an_hour_than_its_limit() {
    let app = spawn_app_with(|c| c.register_max_per_hour = 2).await;
    assert_eq!(
        app.browser().register("alice").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.browser().register("ALICE").await.status(),
        StatusCode::CONFLICT,
        "a taken name costs nothing of the limit"
    );
    assert_eq!(
        app.browser().register("bob").await.status(),
        StatusCode::SEE_OTHER
    );
    let carol = app.browser();
    let response = carol.register("carol").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry = retry_after_secs(&response);
    assert!((3500..=3600).contains(&retry), "Retry-After: {retry}");
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Too many accounts were created from your network. Try again in 60 minutes."),
        "{html}"
    );
    assert!(html.contains("value=\"carol\""), "what was typed is kept");
    assert!(!carol.get_text("/").await.contains("Signed in as"));
    let pool = app.db().await;
    let users: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users.0, 2);
}
