//! The account's own pages: change the password, delete the account, and the page after it
//! was deleted.

use maud::{html, Markup};

use super::fields::{Fields, Input, CURRENT_PASSWORD};
use super::layout::{csrf_input, page};
use super::PageContext;
use crate::accounts::rules::Problem;

/// What the password form shows.
#[derive(Debug, Default)]
pub struct PasswordView {
    pub errors: Vec<Problem>,
    /// The password was just changed.
    pub changed: bool,
}

pub fn password(ctx: &PageContext, view: &PasswordView) -> Markup {
    let fields = Fields::new(&view.errors, "current_password");
    page(
        ctx,
        "Change password",
        "form-page",
        &[],
        html! {
            section class="card narrow" {
                h1 { "Change your password" }
                @if view.changed {
                    p class="notice" role="status" {
                        "Your password was changed. Every other session of your account was signed out."
                    }
                }
                (fields.list())
                form method="post" action="/accounts/password" class="stacked-form" novalidate {
                    (csrf_input(ctx))
                    label for="current_password" { "Current password" }
                    (fields.input(&Input { name: "current_password", ..CURRENT_PASSWORD }))
                    (fields.new_password("New password", "Repeat the new password"))
                    p class="help" { "Your other sessions (other browsers and devices) will be signed out." }
                    button type="submit" class="button button-primary" { "Change password" }
                }
                p class="aside" { a href="/accounts/delete" { "Delete your account" } }
            }
        },
    )
}

/// What the deletion form shows.
#[derive(Debug, Default)]
pub struct DeleteView {
    /// The rooms the user is the only owner of: the account cannot go while there are any.
    pub owned_alone: Vec<String>,
    pub errors: Vec<Problem>,
}

pub fn delete(ctx: &PageContext, view: &DeleteView) -> Markup {
    let fields = Fields::new(&view.errors, "password");
    page(
        ctx,
        "Delete account",
        "form-page",
        &[],
        html! {
            section class="card narrow" {
                h1 { "Delete your account" }
                (fields.list())
                p {
                    "Your account and every session of it end at once. Your chat messages and edits stay in their rooms, shown as from a deleted user. Your username becomes free for someone else to take."
                }
                @if !view.owned_alone.is_empty() {
                    div class="notice" {
                        p { "You are the only owner of these rooms. Make another member an owner, or delete the room, first:" }
                        ul {
                            @for name in &view.owned_alone {
                                li { a href={ "/rooms/" (name) "/settings" } { (name) } }
                            }
                        }
                    }
                }
                form method="post" action="/accounts/delete" class="stacked-form" novalidate {
                    (csrf_input(ctx))
                    label for="password" { "Password" }
                    (fields.input(&CURRENT_PASSWORD))
                    label class="checkbox" {
                        input type="checkbox" name="confirm" value="yes" required
                            aria-invalid=[fields.invalid("confirm")]
                            aria-describedby=[fields.described_by("confirm", None)]
                            autofocus[fields.focus("confirm")];
                        " I understand that this cannot be undone."
                    }
                    button type="submit" class="button button-danger" { "Delete my account" }
                }
            }
        },
    )
}

pub fn deleted(ctx: &PageContext) -> Markup {
    page(
        ctx,
        "Account deleted",
        "form-page",
        &[],
        html! {
            section class="card narrow" {
                h1 { "Your account was deleted" }
                p { "You have been signed out everywhere. " a href="/" { "Back to the start page" } }
            }
        },
    )
}
