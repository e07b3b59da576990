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
