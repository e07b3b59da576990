//! Pages for errors a user can meet: not found, a stale form, a form too large, our fault.

use maud::{html, Markup};

use super::layout::page;
use super::PageContext;

fn message_page(ctx: &PageContext, title: &str, content: Markup) -> Markup {
    page(
        ctx,
        title,
        "message-page",
        &[],
        html! {
            section class="card narrow" {
                h1 { (title) }
                (content)
                p { a href="/" { "Back to the start page" } }
            }
        },
    )
}

/// The 404 page: unknown rooms and every path no route knows.
pub fn not_found(ctx: &PageContext, what: &str) -> Markup {
    message_page(
        ctx,
        "Not found",
        html! {
            p class="error-code" aria-hidden="true" { "404" }
            p { (what) }
        },
    )
}

pub fn csrf_failed(ctx: &PageContext) -> Markup {
    message_page(
        ctx,
        "This form has expired",
        html! {
            p { "The form was sent without a valid security token, so nothing was changed. "
                "This happens when a page was open for a long time or the form came from another site. "
                "Go back, reload the page and try again." }
        },
    )
}

pub fn bad_request(ctx: &PageContext, reason: &str) -> Markup {
    message_page(
        ctx,
        "That request could not be read",
        html! { p { (reason) } },
    )
}

pub fn too_large(ctx: &PageContext) -> Markup {
    message_page(
        ctx,
        "That form was too large",
        html! {
            p { "The form held more than the server accepts, so nothing was changed. "
                "Go back, shorten what you entered and try again." }
        },
    )
}

pub fn internal(ctx: &PageContext) -> Markup {
    message_page(
        ctx,
        "Something went wrong on our side",
        html! {
            p { "The problem has been logged. Please try again in a moment." }
        },
    )
}

/// An import turned away, with why.
pub fn import_refused(ctx: &PageContext, reason: &str) -> Markup {
    message_page(
        ctx,
        "The file was not imported",
        html! {
            p { (reason) }
            p { "Nothing was changed." }
        },
    )
}

/// A room the user may see but not do this in (its settings, for a non-owner).
pub fn forbidden(ctx: &PageContext, what: &str) -> Markup {
    message_page(ctx, "Not allowed", html! { p { (what) } })
}

/// A share link that lets nobody in: unknown, revoked, expired or used up.
pub fn link_refused(ctx: &PageContext, what: &str) -> Markup {
    message_page(
        ctx,
        "This link does not open a room",
        html! {
            p { (what) }
            p { "Ask the room's owner for a new link." }
        },
    )
}
