//! Awareness states follow the y-protocols clock rules, report which client ids changed,
//! and produce the frames the other connections need.

use chatspace_crdt::codec::client::{decode_server_frame, ServerMessage};
use chatspace_crdt::codec::{AwarenessEntry, AwarenessUpdate};
use chatspace_crdt::{AwarenessChange, AwarenessError, ClientID, Limits, RoomDoc};

fn id(n: u64) -> ClientID {
    ClientID::new(n)
}

fn update(entries: &[(u64, u64, Option<&str>)]) -> AwarenessUpdate {
    AwarenessUpdate {
        entries: entries
            .iter()
            .map(|&(client, clock, state)| AwarenessEntry {
                client_id: id(client),
                clock,
                state: state.map(str::to_owned),
            })
            .collect(),
    }
}

/// The entries a frame carries, decoded as a client would.
fn entries(frame: &[u8]) -> Vec<(u64, u64, Option<String>)> {
    match decode_server_frame(frame, &Limits::default()) {
        Ok(ServerMessage::Awareness(update)) => update
            .entries
            .into_iter()
            .map(|e| (e.client_id.get(), e.clock, e.state))
            .collect(),
        other => panic!("expected an awareness frame, got {other:?}"),
    }
}

fn apply(room: &mut RoomDoc, entries: &[(u64, u64, Option<&str>)]) -> AwarenessChange {
    room.apply_awareness(update(entries)).expect("applies")
}

#[test]
fn a_new_state_is_added_relayed_and_part_of_the_greeting() {
    let mut room = RoomDoc::new();
    let change = apply(&mut room, &[(7, 1, Some(r#"{"user":"ann"}"#))]);
    assert_eq!(change.added, vec![id(7)]);
    assert!(change.updated.is_empty() && change.removed.is_empty());
    let frame = change.frame.expect("relayed");
    assert_eq!(
        entries(&frame),
        vec![(7, 1, Some(r#"{"user":"ann"}"#.into()))]
    );
    let greeting = room.greeting();
    assert_eq!(greeting.len(), 2);
    assert_eq!(entries(&greeting[1]), entries(&frame));
    assert_eq!(room.awareness_state(id(7)), Some(r#"{"user":"ann"}"#));
}

#[test]
fn a_higher_clock_updates_even_with_identical_content_so_heartbeats_are_relayed() {
    let mut room = RoomDoc::new();
    apply(&mut room, &[(7, 1, Some("{}"))]);
    let change = apply(&mut room, &[(7, 2, Some("{}"))]);
    assert_eq!(change.updated, vec![id(7)]);
    assert_eq!(
        entries(&change.frame.expect("relayed")),
        vec![(7, 2, Some("{}".into()))]
    );
}

#[test]
fn a_stale_or_repeated_clock_changes_nothing_and_relays_nothing() {
    let mut room = RoomDoc::new();
    apply(&mut room, &[(7, 5, Some(r#"{"v":5}"#))]);
    for clock in [4, 5] {
        let change = apply(&mut room, &[(7, clock, Some(r#"{"v":"old"}"#))]);
        assert_eq!(change, AwarenessChange::default(), "clock {clock}");
    }
    assert_eq!(room.awareness_state(id(7)), Some(r#"{"v":5}"#));
}

#[test]
fn a_null_state_with_the_same_clock_removes_the_client() {
    let mut room = RoomDoc::new();
    apply(&mut room, &[(7, 3, Some("{}"))]);
    let change = apply(&mut room, &[(7, 3, None)]);
    assert_eq!(change.removed, vec![id(7)]);
    assert_eq!(entries(&change.frame.expect("relayed")), vec![(7, 3, None)]);
    assert_eq!(room.awareness_state(id(7)), None);
    assert_eq!(room.greeting().len(), 1, "nobody left to show");
}

#[test]
fn a_null_for_a_client_never_seen_is_ignored() {
    let mut room = RoomDoc::new();
    assert_eq!(
        apply(&mut room, &[(9, 4, None)]),
        AwarenessChange::default()
    );
    // And it left nothing behind: a later state with a low clock is accepted.
    assert_eq!(apply(&mut room, &[(9, 1, Some("{}"))]).added, vec![id(9)]);
}

#[test]
fn removing_a_closed_connections_clients_keeps_their_clocks_like_y_protocols() {
    let mut room = RoomDoc::new();
    apply(
        &mut room,
        &[(1, 4, Some("{}")), (2, 8, Some("{}")), (3, 1, Some("{}"))],
    );
    let frame = room
        .remove_awareness(&[id(1), id(2), id(99)])
        .expect("two were present");
    assert_eq!(entries(&frame), vec![(1, 4, None), (2, 8, None)]);
    assert_eq!(room.remove_awareness(&[id(1)]), None, "already gone");
    // A peer that knew client 1 at clock 4 drops it on this frame (same clock + null).
    let mut peer = RoomDoc::new();
    apply(&mut peer, &[(1, 4, Some("{}"))]);
    let decoded = match decode_server_frame(&frame, &Limits::default()) {
        Ok(ServerMessage::Awareness(update)) => update,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        peer.apply_awareness(decoded).expect("applies").removed,
        vec![id(1)]
    );
    // The remembered clock keeps a late copy of the old state out; a newer one comes back.
    assert_eq!(
        apply(&mut room, &[(1, 4, Some("{}"))]),
        AwarenessChange::default()
    );
    assert_eq!(apply(&mut room, &[(1, 5, Some("{}"))]).added, vec![id(1)]);
    assert_eq!(entries(&room.awareness_states_frame()).len(), 2);
}

#[test]
fn one_update_can_add_update_and_remove_different_clients() {
    let mut room = RoomDoc::new();
    apply(&mut room, &[(1, 1, Some("{}")), (2, 1, Some("{}"))]);
    let change = apply(
        &mut room,
        &[(1, 2, Some(r#"{"x":1}"#)), (2, 1, None), (3, 1, Some("{}"))],
    );
    assert_eq!(change.added, vec![id(3)]);
    assert_eq!(change.updated, vec![id(1)]);
    assert_eq!(change.removed, vec![id(2)]);
    assert_eq!(entries(&change.frame.expect("relayed")).len(), 3);
}

#[test]
fn an_oversized_state_rejects_the_whole_update() {
    let mut room = RoomDoc::new().with_limits(&Limits {
        max_awareness_state_bytes: 10,
        ..Limits::default()
    });
    let big = format!("\"{}\"", "x".repeat(20));
    let err = room
        .apply_awareness(update(&[(1, 1, Some("{}")), (2, 1, Some(&big))]))
        .expect_err("too large");
    assert_eq!(
        err,
        AwarenessError::StateTooLarge {
            client_id: id(2),
            len: 22,
            max: 10
        }
    );
    assert_eq!(room.awareness_state(id(1)), None, "nothing was applied");
}

#[test]
fn a_query_with_nobody_present_is_answered_with_an_empty_update() {
    let room = RoomDoc::new();
    assert_eq!(room.awareness_states_frame(), vec![1, 1, 0]);
    assert!(entries(&room.awareness_states_frame()).is_empty());
}

#[test]
fn a_reloaded_room_inherits_the_awareness_states_of_the_one_it_replaces() {
    let mut old = RoomDoc::new();
    apply(&mut old, &[(1, 2, Some("{}")), (2, 5, Some("{}"))]);
    old.remove_awareness(&[id(2)]);
    let mut fresh = RoomDoc::new();
    fresh.inherit_awareness(old);
    assert_eq!(fresh.awareness_state(id(1)), Some("{}"));
    assert_eq!(
        apply(&mut fresh, &[(2, 5, Some("{}"))]),
        AwarenessChange::default(),
        "the clock of the removed client came along"
    );
}

// ---- what one connection may say (chatspace_crdt::presence) --------------------------------

use chatspace_crdt::presence::{
    show_as, ConnectionAwareness, Ignored, MAX_CLIENT_IDS_PER_CONNECTION, MAX_REMEMBERED_REMOVALS,
};

fn apply_as(
    conn: &mut ConnectionAwareness,
    room: &mut RoomDoc,
    entries: &[(u64, u64, Option<&str>)],
) -> (AwarenessChange, Ignored) {
    conn.apply(room, update(entries), "mallory")
        .expect("applies")
}

#[test]
fn a_connection_cannot_change_or_remove_a_state_another_connection_holds() {
    let mut room = RoomDoc::new();
    let (mut alice, mut bob) = (
        ConnectionAwareness::default(),
        ConnectionAwareness::default(),
    );
    apply_as(&mut alice, &mut room, &[(1, 3, Some(r#"{"x":"alice"}"#))]);
    // What a stock client sends: a newer copy of a peer's state, and the removal its own 30 s
    // timeout decided (same clock, null).
    for entries in [&[(1, 9, Some(r#"{"x":"bob"}"#))][..], &[(1, 3, None)][..]] {
        let (change, ignored) = apply_as(&mut bob, &mut room, entries);
        assert_eq!(change, AwarenessChange::default(), "{entries:?}");
        assert_eq!(ignored.foreign, 1);
    }
    assert_eq!(room.awareness_state(id(1)), Some(r#"{"x":"alice"}"#));
    assert!(bob.live_ids().is_empty());
    // Bob leaving removes nothing of alice's; alice leaving removes her state.
    assert_eq!(bob.leave(&mut room), None);
    let frame = alice.leave(&mut room).expect("alice had a state");
    assert_eq!(entries(&frame), vec![(1, 3, None)]);
    assert_eq!(room.awareness_state(id(1)), None);
}

#[test]
fn a_connection_announces_at_most_the_cap_of_client_ids() {
    let mut room = RoomDoc::new();
    let mut mallory = ConnectionAwareness::default();
    let flood: Vec<(u64, u64, Option<&str>)> = (100..1100).map(|n| (n, 1, Some("{}"))).collect();
    let (change, ignored) = apply_as(&mut mallory, &mut room, &flood);
    let allowed: Vec<ClientID> = (100..100 + MAX_CLIENT_IDS_PER_CONNECTION as u64)
        .map(id)
        .collect();
    assert_eq!(change.added, allowed);
    assert_eq!(
        entries(&change.frame.expect("relayed")).len(),
        allowed.len()
    );
    assert_eq!(ignored.over_cap, 1000 - MAX_CLIENT_IDS_PER_CONNECTION);
    assert_eq!(
        entries(&room.awareness_states_frame()).len(),
        MAX_CLIENT_IDS_PER_CONNECTION
    );
    // Its own ids still update; a new one is still refused, also after removing one of its own.
    let (change, _) = apply_as(
        &mut mallory,
        &mut room,
        &[(100, 2, None), (5000, 1, Some("{}"))],
    );
    assert_eq!(change.removed, vec![id(100)]);
    assert!(change.added.is_empty());
    // But an id it announced before may come back.
    let (change, _) = apply_as(&mut mallory, &mut room, &[(100, 3, Some("{}"))]);
    assert_eq!(change.added, vec![id(100)]);
    // Another connection is not affected by mallory's cap.
    let (change, _) = apply_as(
        &mut ConnectionAwareness::default(),
        &mut room,
        &[(7, 1, Some("{}"))],
    );
    assert_eq!(change.added, vec![id(7)]);
}

#[test]
fn a_client_id_freed_by_its_connection_can_be_taken_by_the_next_one() {
    // A tab that reconnects keeps its document's clientID on the new socket.
    let mut room = RoomDoc::new();
    let mut old = ConnectionAwareness::default();
    apply_as(&mut old, &mut room, &[(1, 4, Some("{}"))]);
    old.leave(&mut room);
    let mut new = ConnectionAwareness::default();
    // The same clock is a late copy of the removed state (y-protocols rule); the next heartbeat
    // brings it back, now held by the new connection.
    assert_eq!(
        apply_as(&mut new, &mut room, &[(1, 4, Some("{}"))]).0,
        AwarenessChange::default()
    );
    assert_eq!(
        apply_as(&mut new, &mut room, &[(1, 5, Some("{}"))]).0.added,
        vec![id(1)]
    );
    assert_eq!(new.live_ids(), [id(1)]);
}

#[test]
fn only_the_most_recently_removed_clients_are_remembered() {
    let mut room = RoomDoc::new();
    apply(&mut room, &[(1, 5, Some("{}"))]);
    room.remove_awareness(&[id(1)]);
    let others: Vec<(u64, u64, Option<&str>)> = (10..10 + MAX_REMEMBERED_REMOVALS as u64)
        .map(|n| (n, 1, Some("{}")))
        .collect();
    apply(&mut room, &others);
    let other_ids: Vec<ClientID> = others.iter().map(|&(n, _, _)| id(n)).collect();
    room.remove_awareness(&other_ids[..other_ids.len() - 1]);
    // Client 1 is still among the remembered removals: its old clock keeps a late copy out.
    assert_eq!(
        apply(&mut room, &[(1, 5, Some("{}"))]),
        AwarenessChange::default()
    );
    // One more removal pushes it out: nothing of it is kept, so the same copy is new again.
    room.remove_awareness(&other_ids[other_ids.len() - 1..]);
    assert_eq!(apply(&mut room, &[(1, 5, Some("{}"))]).added, vec![id(1)]);
    // The recent ones are still remembered.
    assert_eq!(
        apply(
            &mut room,
            &[(10 + MAX_REMEMBERED_REMOVALS as u64 - 1, 1, Some("{}"))]
        ),
        AwarenessChange::default()
    );
}

#[test]
fn the_states_a_connection_makes_are_shown_under_its_name() {
    let mut room = RoomDoc::new();
    let mut mallory = ConnectionAwareness::default();
    let update = update(&[
        (1, 1, Some(r#"{"user":{"name":"alice"}}"#)),
        (2, 1, Some(r#"{"user":{"name":"\ud800"}}"#)),
    ]);
    let (change, ignored) = mallory
        .apply(&mut room, update, "mallory")
        .expect("applies");
    assert_eq!(change.added, vec![id(1)]);
    assert_eq!(ignored.unreadable, 1);
    assert_eq!(
        room.awareness_state(id(1)),
        Some(r#"{"user":{"name":"mallory"}}"#)
    );
    assert_eq!(
        entries(&change.frame.expect("relayed"))[0].2.as_deref(),
        Some(r#"{"user":{"name":"mallory"}}"#)
    );
}

fn shown(state: &str, name: &str) -> Option<String> {
    let mut update = update(&[(1, 1, Some(state))]);
    show_as(&mut update, name);
    update.entries.first().map(|e| e.json().to_owned())
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("JSON")
}

#[test]
fn a_state_shows_the_connections_username_whatever_name_it_claims() {
    let claimed = r##"{"user":{"name":"alice","color":"#30bced"},"cursor":{"anchor":3}}"##;
    assert_eq!(
        json(&shown(claimed, "mallory").expect("kept")),
        json(r##"{"user":{"name":"mallory","color":"#30bced"},"cursor":{"anchor":3}}"##)
    );
    // The last of duplicate keys counts, as in JSON.parse.
    let twice = r#"{"user":{"name":"mallory","name":"alice"}}"#;
    assert_eq!(
        json(&shown(twice, "mallory").expect("kept")),
        json(r#"{"user":{"name":"mallory"}}"#)
    );
    let not_an_object = r#"{"user":"alice"}"#;
    assert_eq!(
        json(&shown(not_an_object, "mallory").expect("kept")),
        json(r#"{"user":{"name":"mallory"}}"#)
    );
    // Nothing to change: the client's own text is kept byte for byte.
    for state in [
        r##"{"user":{"name":"mallory", "color":"#fff"}}"##,
        "{}",
        "[1]",
        "7",
    ] {
        assert_eq!(shown(state, "mallory").as_deref(), Some(state));
    }
}

#[test]
fn a_state_the_server_cannot_read_is_dropped_and_removals_are_kept() {
    let mut update = update(&[
        (1, 1, Some(r#"{"user":{"name":"\ud800alice"}}"#)),
        (2, 1, Some(r#"{"n":1e400}"#)),
        (3, 1, None),
        (4, 1, Some("{}")),
    ]);
    assert_eq!(show_as(&mut update, "mallory"), 2);
    let kept: Vec<u64> = update.entries.iter().map(|e| e.client_id.get()).collect();
    assert_eq!(kept, [3, 4]);
}
