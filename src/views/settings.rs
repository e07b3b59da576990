//! A room's settings page, for its owners: visibility and default role, members, share links,
//! deleting the room. `static/dist/settings.js` adds the copy button of a new link.

use maud::{html, Markup};

use super::home::age;
use super::layout::{csrf_input, error_list, page};
use super::PageContext;
use crate::clock::rfc3339;
use crate::rooms::access::{Role, RoomAccess, Visibility};
use crate::store::{LinkRow, Member};

/// What the last form sent from the page did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Why it was refused.
    pub error: Option<String>,
    /// The whole address of a link just created: shown this once, never stored.
    pub new_link: Option<String>,
}

pub fn settings(
    ctx: &PageContext,
    room: &RoomAccess,
    members: &[Member],
    links: &[LinkRow],
    outcome: &Outcome,
    now_ms: i64,
) -> Markup {
    let base = format!("/rooms/{}", room.name);
    let errors: Vec<String> = outcome.error.iter().cloned().collect();
    page(
        ctx,
        &format!("Settings of {}", room.name),
        "settings-page",
        &["/static/dist/settings.js"],
        html! {
            div class="settings" {
                p { a href=(base) { "← Back to " (room.name) } }
                h1 { "Settings of " (room.name) }
                (error_list(&errors))
                @if let Some(link) = &outcome.new_link {
                    section class="card new-link" aria-labelledby="new-link-title" {
                        h2 id="new-link-title" { "Your new share link" }
                        p { "Copy it now: it is shown only this once." }
                        div class="copy-row" {
                            input id="new-link" type="text" readonly value=(link) aria-label="Share link";
                            button type="button" class="button" data-copy="new-link" { "Copy" }
                        }
                    }
                }
                (rules_form(ctx, room, &base))
                (members_section(ctx, members, &base, now_ms))
                (links_section(ctx, links, &base, now_ms))
                (delete_section(ctx, room, &base))
            }
        },
    )
}

fn rules_form(ctx: &PageContext, room: &RoomAccess, base: &str) -> Markup {
    html! {
        section class="card" aria-labelledby="rules-title" {
            h2 id="rules-title" { "Who can find the room" }
            form method="post" action={ (base) "/settings" } class="stacked-form" {
                (csrf_input(ctx))
                fieldset {
                    legend { "Visibility" }
                    label { input type="radio" name="visibility" value="public" checked[room.visibility == Visibility::Public];
                        " Public: listed to everyone signed in, who can open it" }
                    label { input type="radio" name="visibility" value="private" checked[room.visibility == Visibility::Private];
                        " Private: only members can find and open it" }
                }
                label for="default-role" { "What non-members can do in a public room" }
                select id="default-role" name="default_role" {
                    option value="editor" selected[room.default_role == Role::Editor] { "Edit and chat (editor)" }
                    option value="viewer" selected[room.default_role == Role::Viewer] { "Only read (viewer)" }
                }
                button type="submit" class="button button-primary" { "Save" }
            }
        }
    }
}

fn role_options(selected: Role, roles: &[Role]) -> Markup {
    html! {
        @for role in roles {
            option value=(role) selected[*role == selected] { (role) }
        }
    }
}

fn members_section(ctx: &PageContext, members: &[Member], base: &str, now_ms: i64) -> Markup {
    html! {
        section class="card" aria-labelledby="members-title" {
            h2 id="members-title" { "Members" }
            p class="help" { "Owners manage the room; editors edit and chat; viewers only read." }
            table class="settings-table" {
                thead { tr { th { "Member" } th { "Role" } th { "Added" } th { span class="visually-hidden" { "Remove" } } } }
                tbody {
                    @for member in members {
                        tr data-member=(member.username) {
                            td { (member.username) }
                            td {
                                form method="post" action={ (base) "/members" } class="inline-form" {
                                    (csrf_input(ctx))
                                    input type="hidden" name="username" value=(member.username);
                                    label class="visually-hidden" for={ "role-" (member.user_id) } { "Role of " (member.username) }
                                    select id={ "role-" (member.user_id) } name="role" { (role_options(member.role, &Role::ALL)) }
                                    " "
                                    button type="submit" class="button button-quiet" { "Change" }
                                }
                            }
                            td { time datetime=(rfc3339(member.added_at)) { (age(now_ms - member.added_at)) } }
                            td {
                                form method="post" action={ (base) "/members/" (member.username) "/remove" } class="inline-form" {
                                    (csrf_input(ctx))
                                    button type="submit" class="button button-quiet" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "Add a member" }
            form method="post" action={ (base) "/members" } class="stacked-form" {
                (csrf_input(ctx))
                label for="member-username" { "Username" }
                input id="member-username" name="username" type="text" required autocomplete="off";
                label for="member-role" { "Role" }
                select id="member-role" name="role" { (role_options(Role::Editor, &Role::ALL)) }
                button type="submit" class="button button-primary" { "Add member" }
            }
        }
    }
}

/// "active", "revoked", "expired" or "used up".
fn link_state(link: &LinkRow, now_ms: i64) -> &'static str {
    if link.revoked_at.is_some() {
        "revoked"
    } else if link.expires_at.is_some_and(|at| at <= now_ms) {
        "expired"
    } else if link.max_uses.is_some_and(|max| link.uses >= max) {
        "used up"
    } else {
        "active"
    }
}

fn links_section(ctx: &PageContext, links: &[LinkRow], base: &str, now_ms: i64) -> Markup {
    html! {
        section class="card" aria-labelledby="links-title" {
            h2 id="links-title" { "Share links" }
            p class="help" { "Whoever opens a link while signed in becomes a member with its role." }
            @if links.is_empty() {
                p class="empty" { "No links yet." }
            } @else {
                table class="settings-table" {
                    thead { tr { th { "Role" } th { "Created" } th { "Expires" } th { "Uses" } th { "State" } th { span class="visually-hidden" { "Revoke" } } } }
                    tbody {
                        @for link in links {
                            @let state = link_state(link, now_ms);
                            tr data-link=(link.id) {
                                td { (link.role) }
                                td { "by " (link.created_by) ", " (age(now_ms - link.created_at)) }
                                td { @match link.expires_at { Some(at) => time datetime=(rfc3339(at)) { (rfc3339(at)) }, None => "never" } }
                                td { (link.uses) @if let Some(max) = link.max_uses { " of " (max) } }
                                td { (state) }
                                td {
                                    @if link.revoked_at.is_none() {
                                        form method="post" action={ (base) "/links/" (link.id) "/revoke" } class="inline-form" {
                                            (csrf_input(ctx))
                                            button type="submit" class="button button-quiet" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "Create a link" }
            form method="post" action={ (base) "/links" } class="stacked-form" {
                (csrf_input(ctx))
                label for="link-role" { "Role" }
                select id="link-role" name="role" { (role_options(Role::Viewer, &[Role::Editor, Role::Viewer])) }
                label for="link-expiry" { "Expires after (hours)" }
                input id="link-expiry" name="expires_in_hours" type="number" min="1" step="1" aria-describedby="link-expiry-help";
                p id="link-expiry-help" class="help" { "Empty: the link does not expire." }
                label for="link-uses" { "Number of uses" }
                input id="link-uses" name="max_uses" type="number" min="1" step="1" aria-describedby="link-uses-help";
                p id="link-uses-help" class="help" { "Empty: no limit." }
                button type="submit" class="button button-primary" { "Create link" }
            }
        }
    }
}

fn delete_section(ctx: &PageContext, room: &RoomAccess, base: &str) -> Markup {
    html! {
        section class="card danger-zone" aria-labelledby="delete-title" {
            h2 id="delete-title" { "Delete the room" }
            p { "Deleting removes the document, the chat, the members and the links for good, "
                "disconnects everyone in the room and frees its name." }
            form method="post" action={ (base) "/delete" } class="stacked-form" {
                (csrf_input(ctx))
                label for="confirm-name" { "Type the room's name, " strong { (room.name) } ", to confirm" }
                input id="confirm-name" name="confirm_name" type="text" required autocomplete="off";
                button type="submit" class="button button-danger" { "Delete this room" }
            }
        }
    }
}
