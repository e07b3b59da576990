//! A client that edits offline catches up through sync step 1 / step 2 when it reconnects,
//! exchanging only protocol frames with the room, and everyone converges.

mod common;

use chatspace_crdt::codec::client::{
    answer_server_step1, client_step1, decode_server_frame, ServerMessage,
};
use chatspace_crdt::codec::update_frame;
use chatspace_crdt::{decode_client_frame, ClientMessage, Limits, RoomDoc};
use common::*;
use yrs::{Doc, Text, TextRef};

/// What a stock y-websocket client does with a server frame; returns its reply, if any.
fn client_receives(doc: &Doc, frame: &[u8]) -> Option<Vec<u8>> {
    match decode_server_frame(frame, &Limits::default()).expect("server frame decodes") {
        ServerMessage::SyncStep1(sv) => Some(answer_server_step1(doc, &sv)),
        ServerMessage::SyncStep2(update) | ServerMessage::Update(update) => {
            apply(doc, &update);
            None
        }
        _ => None,
    }
}

/// What the server does with a client frame: the reply to the sender and the relay to others.
fn room_receives(room: &mut RoomDoc, frame: &[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    match decode_client_frame(frame, &Limits::default()).expect("client frame decodes") {
        ClientMessage::SyncStep1(sv) => (Some(room.answer_step1(&sv).expect("encodes")), None),
        ClientMessage::SyncStep2(update) | ClientMessage::Update(update) => {
            // A client with nothing at all sends an empty update: nothing to store or relay.
            if update.is_empty() {
                return (None, None);
            }
            let applied = room.apply_update(update).expect("applies");
            (None, Some(update_frame(&applied.raw)))
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// A full connect handshake: the greeting, the client's step 1 and the answers both ways.
/// Returns the relays the room produced for the other connections.
fn connect(room: &mut RoomDoc, doc: &Doc) -> Vec<Vec<u8>> {
    let mut relays = Vec::new();
    for frame in room.greeting() {
        if let Some(reply) = client_receives(doc, &frame) {
            let (answer, relay) = room_receives(room, &reply);
            assert!(answer.is_none());
            relays.extend(relay);
        }
    }
    let (answer, relay) = room_receives(room, &client_step1(doc));
    assert!(relay.is_none());
    let answer = answer.expect("a step 1 is answered");
    assert!(client_receives(doc, &answer).is_none());
    relays
}

fn type_and_send(room: &mut RoomDoc, doc: &Doc, text: &TextRef, at: u32, s: &str) -> Vec<u8> {
    let update = edit(doc, |txn| text.insert(txn, at, s));
    let (_, relay) = room_receives(room, &update_frame(&update));
    relay.expect("a change is relayed")
}

#[test]
fn a_client_that_edited_offline_syncs_back_and_everyone_converges() {
    let mut room = RoomDoc::new();
    let (alice, alice_text) = client(1);
    let (bob, bob_text) = client(2);
    connect(&mut room, &alice);
    connect(&mut room, &bob);
    let relay = type_and_send(&mut room, &alice, &alice_text, 0, "shared start. ");
    client_receives(&bob, &relay);
    assert_eq!(text_of(&bob, &bob_text), "shared start. ");

    // Bob goes offline and keeps typing; Alice keeps typing online.
    let bob_offline = [
        edit(&bob, |txn| bob_text.push(txn, "bob offline 1. ")),
        edit(&bob, |txn| bob_text.insert(txn, 0, "[B]")),
        edit(&bob, |txn| bob_text.remove_range(txn, 3, 6)),
    ];
    assert_eq!(bob_offline.len(), 3);
    type_and_send(&mut room, &alice, &alice_text, 0, "alice online. ");
    type_and_send(&mut room, &alice, &alice_text, 5, "++");

    // Bob reconnects: the room's step 1 pulls his edits up, his step 1 pulls Alice's down.
    let relays = connect(&mut room, &bob);
    assert_eq!(relays.len(), 1, "bob's offline edits are relayed once");
    for relay in &relays {
        client_receives(&alice, relay);
    }
    let room_text = room.text();
    assert_eq!(text_of(&alice, &alice_text), room_text);
    assert_eq!(text_of(&bob, &bob_text), room_text);
    assert!(room_text.contains("alice++ online."), "{room_text}");
    assert!(room_text.contains("bob offline 1."));
    assert_eq!(state_vector(&alice), room.state_vector());
    assert_eq!(state_vector(&bob), room.state_vector());

    // A reconnect with nothing new still answers with the delete set (yrs and Yjs always
    // include it); relaying that changes nothing for the others.
    for relay in connect(&mut room, &alice) {
        client_receives(&bob, &relay);
    }
    assert_eq!(text_of(&bob, &bob_text), room_text);
}

#[test]
fn a_new_client_receives_the_whole_document_through_step_2() {
    let mut room = RoomDoc::new();
    let (alice, alice_text) = client(1);
    connect(&mut room, &alice);
    type_and_send(&mut room, &alice, &alice_text, 0, "history ");
    type_and_send(&mut room, &alice, &alice_text, 8, "matters");
    let (carol, carol_text) = client(3);
    assert!(connect(&mut room, &carol).is_empty());
    assert_eq!(text_of(&carol, &carol_text), "history matters");
}
