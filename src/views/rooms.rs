//! The room page: a document panel, a chat panel and the history panel; `static/dist/room.js`
//! brings them to life.

use maud::{html, Markup};

use super::layout::{csrf_input, page};
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
                data-role=(room.role) data-visibility=(room.visibility) data-tab="document" {
                (room_tabs())
                section id="doc-panel" class="doc-panel" aria-label="Document" data-doc-mode="edit" {
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
                        button id="comment-selection" type="button" class="button button-quiet editor-only" disabled
                            title="Comment on the selected text in the chat (Ctrl+Alt+M)" { "Comment" }
                        button id="author-colours" type="button" class="button button-quiet" aria-pressed="false"
                            title="Tint each character with the colour of the person who wrote it" { "Author colours" }
                        button id="history-toggle" type="button" class="button" aria-controls="history-panel"
                            aria-expanded="false" { "History" }
                        div id="doc-mode" class="doc-mode" role="group" aria-label="Show the document as" {
                            button type="button" class="button" data-mode="edit" aria-pressed="true" { "Edit" }
                            button type="button" class="button" data-mode="split" aria-pressed="false"
                                title="Editor and Markdown preview side by side" { "Both" }
                            button type="button" class="button" data-mode="preview" aria-pressed="false" { "Preview" }
                        }
                    }
                    div id="editor" class="editor" {}
                    div id="doc-preview" class="doc-preview markdown-body" aria-label="Markdown preview" aria-live="off" {}
                }
                (history_panel(ctx, &room.name))
                aside class="side-panel" {
                    section id="presence-panel" class="presence-panel" aria-labelledby="presence-title" {
                        h2 id="presence-title" { "In the room" }
                        ul id="presence" {}
                    }
                    section id="chat-panel" class="chat-panel" aria-labelledby="chat-title" {
                        h2 id="chat-title" { "Chat" }
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

/// The tab bar of the narrow layout (room.css shows it below 720 px only): one of document,
/// chat and people at a time, with the count of unread messages on Chat.
fn room_tabs() -> Markup {
    html! {
        div id="room-tabs" class="room-tabs" role="tablist" aria-label="Room" {
            button type="button" role="tab" data-tab="document" aria-controls="doc-panel" aria-selected="true" { "Document" }
            button type="button" role="tab" data-tab="chat" aria-controls="chat-panel" aria-selected="false" {
                "Chat" span id="chat-unread" class="unread-count" hidden {}
            }
            button type="button" role="tab" data-tab="people" aria-controls="presence-panel" aria-selected="false" { "People" }
        }
    }
}

/// The history panel, hidden until its toggle opens it. The save and restore forms are shown to
/// editors and owners only (room.css hides `.editor-only` while `#room` says viewer, so a live
/// promotion shows them); the routes refuse viewers all the same.
fn history_panel(ctx: &PageContext, name: &str) -> Markup {
    let base = format!("/rooms/{name}");
    html! {
        section id="history-panel" class="history-panel" aria-labelledby="history-title" hidden {
            div class="history-head" {
                h2 id="history-title" tabindex="-1" { "History" }
                button id="history-close" type="button" class="button button-quiet" { "Close" }
            }
            form id="version-save" class="version-save editor-only" method="post" action={ (base) "/versions" } {
                (csrf_input(ctx))
                label for="version-name" { "Name (optional)" }
                input id="version-name" name="name" type="text" maxlength="100" autocomplete="off";
                button type="submit" class="button button-primary" { "Save version" }
            }
            form id="text-import" class="text-import editor-only" method="post" action={ (base) "/import" }
                enctype="multipart/form-data" {
                (csrf_input(ctx))
                label for="import-file" { "Replace the text with a file (.txt or .md, UTF-8)" }
                input id="import-file" name="file" type="file" accept=".txt,.md,text/plain,text/markdown" required;
                button type="submit" class="button" { "Import" }
                p class="help" { "The current text is saved first as a “before import” version." }
            }
            p class="history-exports" {
                "Download the current text: "
                a href={ (base) "/export?format=txt" } download { ".txt" } " · "
                a href={ (base) "/export?format=md" } download { ".md" } " · "
                a href={ (base) "/export?format=yjs" } download { ".yjs" } " · "
                a href={ (base) "/messages/export" } download { "chat (.json)" }
            }
            p id="history-status" class="history-status" role="status" {}
            ol id="version-list" class="version-list" aria-label="Versions, newest first" {}
            section id="version-view" class="version-view" aria-labelledby="version-title" hidden {
                h3 id="version-title" {}
                p id="version-meta" class="version-meta" {}
                p class="history-exports" {
                    "Download this version: "
                    a id="version-export-txt" download { ".txt" } " · "
                    a id="version-export-md" download { ".md" } " · "
                    a id="version-export-yjs" download { ".yjs" }
                }
                div class="version-restore editor-only" {
                    button id="version-restore" type="button" class="button" { "Restore this version…" }
                    form id="version-restore-confirm" class="restore-confirm" method="post" hidden {
                        (csrf_input(ctx))
                        p { "Replace the current text with this version for everyone? The current text is saved first as a “before restore” version, so this can be undone." }
                        button type="submit" class="button button-primary" { "Restore" }
                        " "
                        button id="version-restore-cancel" type="button" class="button button-quiet" { "Cancel" }
                    }
                }
                h4 { "Changes since this version" }
                p class="help diff-legend" {
                    ins { "Underlined" } ": added since. " del { "Struck through" } ": removed since."
                }
                div id="version-diff" class="version-diff" {}
                h4 { "Text of this version" }
                pre id="version-text" class="version-text" {}
                h4 { "Time slider" }
                p class="help" { "Step through the edits from this version to the next one (or to now)." }
                input id="timeline-slider" type="range" min="0" max="0" value="0" step="1" aria-describedby="timeline-info";
                p id="timeline-info" class="timeline-info" aria-live="polite" {}
                p id="timeline-note" class="help" hidden {}
                pre id="timeline-text" class="version-text" {}
            }
        }
    }
}
