//! The register and login pages, and the page shown instead of the register form when
//! registration is closed.

use maud::{html, Markup};

use super::fields::{Fields, Input, CURRENT_PASSWORD};
use super::layout::{csrf_input, page, with_next};
use super::PageContext;
use crate::accounts::rules::{self, Problem};

/// What the register form shows again after a failed attempt (never the password).
#[derive(Debug, Default)]
pub struct RegisterView<'a> {
    pub username: &'a str,
    /// Where to go once signed up (`/` when nowhere in particular).
    pub next: &'a str,
    pub errors: Vec<Problem>,
}

/// What the visitor was trying to open, said above the form: a room (by its name in `next`), or
/// a share link.
fn destination(next: &str) -> Markup {
    let room = next
        .strip_prefix("/rooms/")
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .filter(|name| !name.is_empty());
    html! {
        @if let Some(room) = room {
            p class="aside destination" { "To open the room " strong { (room) } ", sign in first." }
        } @else if next.starts_with("/join/") {
            p class="aside destination" { "To join the room you were invited to, sign in first." }
        }
    }
}

pub fn register(ctx: &PageContext, view: &RegisterView) -> Markup {
    let fields = Fields::new(&view.errors, "username");
    page(
        &ctx.leading_to(view.next),
        "Sign up",
        "form-page",
        &[],
        html! {
            section class="card narrow" {
                h1 { "Create your account" }
                (destination(view.next))
                (fields.list())
                form method="post" action="/accounts/register" class="stacked-form" novalidate {
                    (csrf_input(ctx))
                    input type="hidden" name="next" value=(view.next);
                    label for="username" { "Username" }
                    // No maxlength: a longer name is refused with a message, not silently cut.
                    (fields.input(&Input {
                        name: "username",
                        kind: "text",
                        autocomplete: "username",
                        value: Some(view.username),
                        minlength: Some(rules::USERNAME_MIN),
                        help: Some("username-help"),
                    }))
                    p id="username-help" class="help" { (rules::USERNAME_RULE) }
                    (fields.new_password("Password", "Repeat the password"))
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
    pub error: Option<Problem>,
}

pub fn login(ctx: &PageContext, view: &LoginView) -> Markup {
    let errors: Vec<Problem> = view.error.iter().cloned().collect();
    let fields = Fields::new(&errors, "username");
    page(
        &ctx.leading_to(view.next),
        "Log in",
        "form-page",
        &[],
        html! {
            section class="card narrow" {
                h1 { "Log in" }
                (destination(view.next))
                (fields.list())
                form method="post" action="/accounts/login" class="stacked-form" novalidate {
                    (csrf_input(ctx))
                    input type="hidden" name="next" value=(view.next);
                    label for="username" { "Username" }
                    (fields.input(&Input {
                        name: "username",
                        kind: "text",
                        autocomplete: "username",
                        value: Some(view.username),
                        ..Input::default()
                    }))
                    label for="password" { "Password" }
                    (fields.input(&CURRENT_PASSWORD))
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
        &ctx.leading_to(next),
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
