//! The start page: a landing page for visitors, the room directory and the create-room form for
//! users.

use maud::{html, Markup};

use super::layout::{csrf_input, error_list, page};
use super::PageContext;
use crate::rooms::rules;
use crate::store::{MemberRoom, RoomSummary};

pub fn landing(ctx: &PageContext) -> Markup {
    page(
        ctx,
        "Welcome",
        "landing-page",
        &[],
        html! {
            section class="hero" {
                h1 { "Chat and write together, on your own server." }
                p class="lead" {
                    "ChatSpace gives every room a live chat and a shared document. Edits merge as you type, "
                    "even when someone was offline for a while."
                }
                p class="actions" {
                    a class="button button-primary" href="/accounts/register" { "Create an account" }
                    a class="button" href="/accounts/login" { "Log in" }
                }
            }
        },
    )
}

/// What the create-room form shows again after a refused attempt.
#[derive(Debug, Default)]
pub struct CreateRoomView<'a> {
    pub name: &'a str,
    /// Whether private was picked.
    pub private: bool,
    pub error: Option<String>,
}

/// The start page of a signed-in user: the create-room form, the rooms they are a member of
/// (`mine`) and the public rooms they are not.
pub fn directory(
    ctx: &PageContext,
    mine: &[MemberRoom],
    public: &[RoomSummary],
    form: &CreateRoomView,
    now_ms: i64,
) -> Markup {
    let errors: Vec<String> = form.error.iter().cloned().collect();
    page(
        ctx,
        "Rooms",
        "home-page",
        &["/static/dist/home.js"],
        html! {
            div class="home-grid" {
                section class="card create-room" aria-labelledby="create-title" {
                    h2 id="create-title" { "Create a room" }
                    (error_list(&errors))
                    form method="post" action="/rooms" class="stacked-form" novalidate {
                        (csrf_input(ctx))
                        label for="room-name" { "Room name" }
                        input id="room-name" name="name" type="text" value=(form.name) required
                            maxlength=(rules::NAME_MAX) pattern="[A-Za-z0-9_-]+" aria-describedby="room-name-help"
                            aria-invalid=[form.error.as_ref().map(|_| "true")];
                        p id="room-name-help" class="help" { (rules::NAME_RULE) }
                        fieldset class="visibility-choice" {
                            legend { "Who can find it" }
                            label { input type="radio" name="visibility" value="public" checked[!form.private];
                                " Public: everyone signed in" }
                            label { input type="radio" name="visibility" value="private" checked[form.private];
                                " Private: only members you add" }
                        }
                        button type="submit" class="button button-primary" { "Create room" }
                    }
                    details class="import-room" {
                        summary { "Or make a room from a Yjs file" }
                        form method="post" action="/rooms/import" enctype="multipart/form-data" class="stacked-form" {
                            (csrf_input(ctx))
                            label for="import-name" { "Room name" }
                            input id="import-name" name="name" type="text" required
                                maxlength=(rules::NAME_MAX) pattern="[A-Za-z0-9_-]+";
                            label for="import-file" { "A .yjs file (a room's yjs export, or any Yjs document with a text named colabspace)" }
                            input id="import-file" name="file" type="file" accept=".yjs" required;
                            fieldset class="visibility-choice" {
                                legend { "Who can find it" }
                                label { input type="radio" name="visibility" value="public" checked; " Public" }
                                label { input type="radio" name="visibility" value="private"; " Private" }
                            }
                            button type="submit" class="button" { "Import as a new room" }
                        }
                    }
                }
                div class="room-lists" {
                    (room_list(&RoomList {
                        title: "Your rooms",
                        id: "room",
                        empty: "You are not a member of any room yet. Create one, or open a public room.",
                        rooms: mine.iter().map(|m| (&m.room, Some(m))).collect(),
                    }, now_ms))
                    (room_list(&RoomList {
                        title: "Public rooms",
                        id: "public",
                        empty: "No other public rooms.",
                        rooms: public.iter().map(|room| (room, None)).collect(),
                    }, now_ms))
                }
            }
        },
    )
}

/// One filterable list of rooms on the start page. Element ids start with `id`
/// (`{id}-filter`, `{id}-directory`, `{id}-filter-empty`), which `static/src/home.js` pairs up.
struct RoomList<'a> {
    title: &'a str,
    id: &'a str,
    empty: &'a str,
    /// Each room, with the user's membership when it is one of theirs.
    rooms: Vec<(&'a RoomSummary, Option<&'a MemberRoom>)>,
}

fn room_list(list: &RoomList, now_ms: i64) -> Markup {
    let id = list.id;
    html! {
        section class="card rooms" aria-labelledby={ (id) "-title" } {
            div class="rooms-head" {
                h2 id={ (id) "-title" } { (list.title) }
                label class="visually-hidden" for={ (id) "-filter" } { "Filter " (list.title.to_lowercase()) }
                input id={ (id) "-filter" } class="room-filter" type="search" placeholder="Filter rooms"
                    autocomplete="off" data-filters={ (id) "-directory" } data-empty={ (id) "-filter-empty" };
            }
            @if list.rooms.is_empty() {
                p class="empty" { (list.empty) }
            } @else {
                ul id={ (id) "-directory" } class="room-list" {
                    @for (room, membership) in &list.rooms {
                        li data-name=(room.name.to_lowercase()) {
                            a class="room-link" href={ "/rooms/" (room.name) } { (room.name) }
                            span class="room-meta" {
                                @if let Some(member) = membership {
                                    span class="badge" { (member.role) }
                                    " " (member.visibility) " · "
                                }
                                "by " (room.creator) " · "
                                time datetime=(crate::clock::rfc3339(room.created_at)) {
                                    (age(now_ms - room.created_at))
                                }
                            }
                        }
                    }
                }
                p id={ (id) "-filter-empty" } class="empty" hidden { "No rooms match." }
            }
        }
    }
}

/// "just now", "5 minutes ago", "3 days ago".
pub fn age(elapsed_ms: i64) -> String {
    let secs = elapsed_ms.max(0) / 1000;
    let (n, unit) = match secs {
        0..=59 => return "just now".to_owned(),
        60..=3_599 => (secs / 60, "minute"),
        3_600..=86_399 => (secs / 3_600, "hour"),
        86_400..=2_591_999 => (secs / 86_400, "day"),
        2_592_000..=31_535_999 => (secs / 2_592_000, "month"),
        _ => (secs / 31_536_000, "year"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::age;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(-5), "just now");
        assert_eq!(age(59_000), "just now");
        assert_eq!(age(60_000), "1 minute ago");
        assert_eq!(age(7_200_000), "2 hours ago");
        assert_eq!(age(86_400_000 * 3), "3 days ago");
    }
}
