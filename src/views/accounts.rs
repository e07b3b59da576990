//! The register and login pages, and the page shown instead of the register form when
//! registration is closed.

use maud::{html, Markup};

use super::layout::{csrf_input, error_list, page};
use super::PageContext;
use crate::accounts::rules;

/// What the register form shows again after a failed attempt (never the password).
#[derive(Debug, Default)]
pub struct RegisterView<'a> {
    pub username: &'a str,
    /// Where to go once signed up (`/` when nowhere in particular).
    pub next: &'a str,
    pub errors: Vec<String>,
}

/// `page`, carrying `next` along when there is somewhere to go after signing in or up: a
/// visitor who opened a share link can switch between the two forms and still land in the room.
fn with_next(page: &str, next: &str) -> String {
    if next.is_empty() || next == "/" {
        return page.to_owned();
    }
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    format!("{page}?{query}")
}

pub fn register(ctx: &PageContext, view: &RegisterView) -> Markup {
    page(
        ctx,
        "Sign up",
        "form-page",
        &[],
        html! {
            section class="card narrow" {
                h1 { "Create your account" }
                (error_list(&view.errors))
                form method="post" action="/accounts/register" class="stacked-form" novalidate {
                    (csrf_input(ctx))
                    input type="hidden" name="next" value=(view.next);
                    label for="username" { "Username" }
                    input id="username" name="username" type="text" value=(view.username)
                        autocomplete="username" required minlength=(rules::USERNAME_MIN) maxlength=(rules::USERNAME_MAX)
                        aria-describedby="username-help" autofocus;
                    p id="username-help" class="help" { (rules::USERNAME_RULE) }
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="new-password" required
                        minlength=(rules::PASSWORD_MIN) aria-describedby="password-help";
                    p id="password-help" class="help" { (rules::PASSWORD_RULE) }
                    label for="password_confirm" { "Repeat the password" }
                    input id="password_confirm" name="password_confirm" type="password" autocomplete="new-password" required;
                    button type="submit" class="button button-primary" { "Sign up" }
                }
                p class="aside" { "Already have an account? " a href=(with_next("/accounts/login", view.next)) { "Log in" } }
            }
        },
    )
}

/// What the login form shows again after a failed attempt (never the password).
#[derive(Debug, Default)]
pub struct LoginView<'a> {
    pub username: &'a str,
    pub next: &'a str,
    pub error: Option<String>,
}

pub fn login(ctx: &PageContext, view: &LoginView) -> Markup {
    let errors: Vec<String> = view.error.iter().cloned().collect();
    page(
        ctx,
        "Log in",
        "form-page",
        &[],
        html! {
            section class="card narrow" {
                h1 { "Log in" }
                (error_list(&errors))
                form method="post" action="/accounts/login" class="stacked-form" novalidate {
                    (csrf_input(ctx))
                    input type="hidden" name="next" value=(view.next);
                    label for="username" { "Username" }
                    input id="username" name="username" type="text" value=(view.username)
                        autocomplete="username" required autofocus;
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                    button type="submit" class="button button-primary" { "Log in" }
                }
                p class="aside" { "New here? " a href=(with_next("/accounts/register", view.next)) { "Create an account" } }
            }
        },
    )
}

/// What a visitor who wants an account sees when only operators add them.
pub fn registration_closed(ctx: &PageContext, next: &str) -> Markup {
    page(
        ctx,
        "Sign up",
        "form-page",
        &[],
        html! {
            section class="card narrow" {
                h1 { "Registration is closed" }
                p { "On this server, accounts are created by its operators. Ask one of them for an account." }
                p class="aside" { "Already have an account? " a href=(with_next("/accounts/login", next)) { "Log in" } }
            }
        },
    )
}
