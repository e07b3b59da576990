//! The room page: a document panel and a chat panel; `static/dist/room.js` brings them to life.

use maud::{html, Markup};

use super::layout::page;
use super::PageContext;
use crate::rooms::access::{Role, RoomAccess};

/// `data-role` and `data-visibility` on `#room` tell the room script what the user may do
/// there; the server enforces it on the socket all the same.
pub fn room(ctx: &PageContext, room: &RoomAccess) -> Markup {
    let username = ctx.user.as_ref().map_or("", |u| u.username.as_str());
    page(
        ctx,
        &room.name,
        "room-page",
        &["/static/dist/room.js"],
        html! {
            main id="room" class="room" data-room=(room.name) data-username=(username)
                data-role=(room.role) data-visibility=(room.visibility) {
                section class="doc-panel" aria-label="Document" {
                    div class="doc-toolbar" {
                        h1 { (room.name) }
                        span id="room-access" class="room-access" {
                            span class="badge" { (room.visibility) }
                            " You are " (room.role.with_article()) "."
                        }
                        @if room.role == Role::Owner {
                            a class="button button-quiet" href={ "/rooms/" (room.name) "/settings" } { "Settings" }
                        }
                        span id="connection-status" class="status" role="status" { "Connecting…" }
                        span id="sync-status" class="sync-status" {}
                    }
                    div id="editor" class="editor" {}
                }
                aside class="side-panel" {
                    section class="presence-panel" aria-labelledby="presence-title" {
                        h2 id="presence-title" { "In the room" }
                        ul id="presence" {}
                    }
                    section class="chat-panel" aria-labelledby="chat-title" {
                        h2 id="chat-title" { "Chat" }
                        button id="chat-load-older" type="button" hidden { "Load older messages" }
                        ol id="chat-log" aria-live="polite" {}
                        form id="chat-form" {
                            label for="chat-input" { "Message" }
                            textarea id="chat-input" name="text" rows="2" maxlength="4000" required {}
                            button type="submit" class="button button-primary" { "Send" }
                        }
                    }
                }
            }
        },
    )
}
