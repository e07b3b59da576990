//! The layout every page shares: head, site header (with the user and a logout button), main.

use maud::{html, Markup, DOCTYPE};

use crate::auth::CurrentUser;

/// What every page needs to know about the request.
#[derive(Debug, Clone, Default)]
pub struct PageContext {
    pub user: Option<CurrentUser>,
    /// The session's CSRF token, for the forms on the page (the logout button is one).
    pub csrf_token: String,
    /// Where a signed-out visitor was going (the login and register pages): the header's
    /// "Log in" and "Sign up" carry it along. Empty (or `/`) for nowhere in particular.
    pub next: String,
}

impl PageContext {
    /// This context on a page that sends the visitor on to `next` once signed in or up.
    pub fn leading_to(&self, next: &str) -> Self {
        Self {
            next: next.to_owned(),
            ..self.clone()
        }
    }
}

/// `page`, carrying `next` along when there is somewhere to go after signing in or up: a
/// visitor who opened a share link can switch between the two forms and still land in the room.
pub fn with_next(page: &str, next: &str) -> String {
    if next.is_empty() || next == "/" {
        return page.to_owned();
    }
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    format!("{page}?{query}")
}

/// The hidden input every form carries.
pub fn csrf_input(ctx: &PageContext) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(ctx.csrf_token); }
}

/// A whole page. `scripts` are module scripts under `/static/`.
pub fn page(
    ctx: &PageContext,
    title: &str,
    body_class: &str,
    scripts: &[&str],
    content: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ChatSpace" }
                link rel="stylesheet" href="/static/style.css";
                link rel="icon" href="/static/favicon.svg" type="image/svg+xml";
                @if body_class == "room-page" {
                    link rel="stylesheet" href="/static/room.css";
                }
            }
            body class=(body_class) {
                a class="skip-link" href="#content" { "Skip to content" }
                header class="site-header" {
                    a class="brand" href="/" { span class="brand-mark" aria-hidden="true" { "◆" } " ChatSpace" }
                    nav class="site-nav" aria-label="Account" {
                        @if let Some(user) = &ctx.user {
                            span class="whoami" { span class="whoami-label" { "Signed in as " } strong { (user.username) } }
                            a class="button button-quiet" href="/accounts/password" { "Account" }
                            form method="post" action="/accounts/logout" class="inline-form" {
                                (csrf_input(ctx))
                                button type="submit" class="button button-quiet" { "Log out" }
                            }
                        } @else {
                            a class="button button-quiet" href=(with_next("/accounts/login", &ctx.next)) { "Log in" }
                            a class="button" href=(with_next("/accounts/register", &ctx.next)) { "Sign up" }
                        }
                    }
                }
                div id="content" class="content" { (content) }
                @for src in scripts {
                    script type="module" src=(src) {}
                }
            }
        }
    }
}

/// A list of form errors, announced to screen readers.
pub fn error_list(errors: &[String]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="form-errors" role="alert" {
                ul { @for e in errors { li { (e) } } }
            }
        }
    }
}
