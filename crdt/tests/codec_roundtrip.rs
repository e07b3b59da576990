//! Every frame type encodes and decodes back to itself, on the client and the server side,
//! with the exact bytes and JSON field names `docs/protocol.md` specifies.

mod common;

use chatspace_crdt::codec::client::{
    answer_server_step1, auth_frame, chat_send_frame, chat_since_frame, client_step1,
    decode_server_frame, query_awareness_frame, ServerMessage,
};
use chatspace_crdt::codec::{
    awareness_frame, chat_frame, sync_step1_frame, sync_step2_frame, update_frame, AwarenessEntry,
    AwarenessUpdate, ChatEvent, ChatMessage, ChatRejection, ChatRequest,
};
use chatspace_crdt::{
    decode_client_bytes, decode_client_frame, ClientID, ClientMessage, Limits, RoomDoc,
};
use common::*;
use serde_json::json;
use yrs::{ReadTxn, Text, Transact};

fn limits() -> Limits {
    Limits::default()
}

fn message(id: i64) -> ChatMessage {
    ChatMessage {
        id,
        client_id: "7b0d-4f2e".into(),
        author: "alice".into(),
        text: "hi <b>there</b> \u{1F600}".into(),
        sent_at: "2026-11-28T19:05:03.120Z".into(),
        anchor: None,
        edited_at: None,
        deleted: false,
        change: id,
        mentions: vec!["bob".into()],
    }
}

fn awareness(entries: &[(u64, u64, Option<&str>)]) -> AwarenessUpdate {
    AwarenessUpdate {
        entries: entries
            .iter()
            .map(|&(id, clock, state)| AwarenessEntry {
                client_id: ClientID::new(id),
                clock,
                state: state.map(str::to_owned),
            })
            .collect(),
    }
}

#[test]
fn a_client_step1_frame_decodes_to_the_clients_state_vector() {
    let (doc, text) = client(3);
    text.push(&mut doc.transact_mut(), "abc");
    match decode_client_frame(&client_step1(&doc), &limits()) {
        Ok(ClientMessage::SyncStep1(sv)) => assert_eq!(sv, state_vector(&doc)),
        other => panic!("{other:?}"),
    }
}

/// Decodes `frame` (an update or step 2) and applies it to a fresh room; returns the frame the
/// room relays to the other clients.
fn relayed(frame: &[u8]) -> bytes::Bytes {
    let frame = bytes::Bytes::copy_from_slice(frame);
    let update = match decode_client_bytes(frame.clone(), &limits()) {
        Ok(ClientMessage::Update(u) | ClientMessage::SyncStep2(u)) => u,
        other => panic!("{other:?}"),
    };
    let mut outcome = RoomDoc::new().apply_updates([((), update)]);
    assert_eq!(outcome.failure, None);
    let applied = outcome.applied.pop().expect("applied");
    if frame.first() == Some(&0) && frame.get(1) == Some(&2) && applied.frame == frame {
        assert_eq!(
            applied.frame.as_ptr(),
            frame.as_ptr(),
            "a canonical update frame is relayed without a copy"
        );
    }
    applied.frame
}

#[test]
fn every_applied_update_is_relayed_as_a_canonical_update_frame() {
    let (doc, text) = client(8);
    text.push(&mut doc.transact_mut(), "relay me");
    let update = full(&doc);
    let canonical = update_frame(&update);
    assert_eq!(relayed(&canonical), canonical, "an update frame as it came");
    assert_eq!(
        relayed(&sync_step2_frame(&update)),
        canonical,
        "a step 2 as an update"
    );
    // The same message with an over-long message type (0x80 0x00 is a valid varUint 0).
    let mut overlong = vec![0x80, 0x00];
    overlong.extend_from_slice(&canonical[1..]);
    assert_eq!(
        relayed(&overlong),
        canonical,
        "an over-long header re-encoded"
    );
}

#[test]
fn client_step2_and_update_frames_decode_to_the_bytes_that_were_sent() {
    let (doc, text) = client(4);
    text.push(&mut doc.transact_mut(), "hello");
    let update = full(&doc);
    match decode_client_frame(&sync_step2_frame(&update), &limits()) {
        Ok(ClientMessage::SyncStep2(u)) => assert_eq!(u.raw(), &update[..]),
        other => panic!("{other:?}"),
    }
    match decode_client_frame(&update_frame(&update), &limits()) {
        Ok(ClientMessage::Update(u)) => {
            assert_eq!(u.raw(), &update[..]);
            assert!(!u.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let empty = yrs::Update::new();
    let empty = yrs::updates::encoder::Encode::encode_v1(&empty);
    match decode_client_frame(&update_frame(&empty), &limits()) {
        Ok(ClientMessage::Update(u)) => assert!(u.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn awareness_frames_round_trip_in_both_directions() {
    let update = awareness(&[
        (
            1,
            3,
            Some(r##"{"user":{"name":"alice","color":"#30bced"}}"##),
        ),
        (2, 9, None),
    ]);
    let frame = awareness_frame(&update);
    match decode_client_frame(&frame, &limits()) {
        Ok(ClientMessage::Awareness(decoded)) => assert_eq!(decoded, update),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        decode_server_frame(&frame, &limits()),
        Ok(ServerMessage::Awareness(update))
    );
}

#[test]
fn query_awareness_and_auth_frames_decode() {
    assert_eq!(query_awareness_frame(), vec![3]);
    assert!(matches!(
        decode_client_frame(&query_awareness_frame(), &limits()),
        Ok(ClientMessage::QueryAwareness)
    ));
    assert_eq!(auth_frame(None), vec![2, 1]);
    for frame in [auth_frame(None), auth_frame(Some("nope"))] {
        assert!(matches!(
            decode_client_frame(&frame, &limits()),
            Ok(ClientMessage::Auth)
        ));
    }
    assert_eq!(
        decode_server_frame(&auth_frame(Some("nope")), &limits()),
        Ok(ServerMessage::Auth(Some("nope".into())))
    );
}

#[test]
fn chat_request_frames_round_trip() {
    let send = chat_send_frame("abc_DEF-123", "  hello \u{1F600} ");
    assert_eq!(send[0], 100, "chat is message type 100");
    match decode_client_frame(&send, &limits()) {
        Ok(ClientMessage::Chat(ChatRequest::Send {
            client_id, text, ..
        })) => {
            assert_eq!(client_id, "abc_DEF-123");
            assert_eq!(text, "  hello \u{1F600} ");
        }
        other => panic!("{other:?}"),
    }
    match decode_client_frame(&chat_since_frame(42), &limits()) {
        Ok(ClientMessage::Chat(ChatRequest::Since {
            after: 42,
            changes_after: None,
        })) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn chat_requests_parse_from_the_json_in_the_protocol_document() {
    let frames = [
        (
            r#"{"type":"send","client_id":"7b0d","text":"hi"}"#,
            ChatRequest::Send {
                client_id: "7b0d".into(),
                text: "hi".into(),
                anchor: None,
            },
        ),
        (
            r#"{"type":"since","after":0}"#,
            ChatRequest::Since {
                after: 0,
                changes_after: None,
            },
        ),
        (
            r#"{"type":"since","after":9,"changes_after":12}"#,
            ChatRequest::Since {
                after: 9,
                changes_after: Some(12),
            },
        ),
        (
            r#"{"type":"edit","id":42,"text":"hi again"}"#,
            ChatRequest::Edit {
                id: 42,
                text: "hi again".into(),
            },
        ),
        (
            r#"{"type":"delete","id":42}"#,
            ChatRequest::Delete { id: 42 },
        ),
    ];
    for (json, want) in frames {
        let mut frame = vec![100, json.len() as u8];
        frame.extend_from_slice(json.as_bytes());
        match decode_client_frame(&frame, &limits()) {
            Ok(ClientMessage::Chat(request)) => assert_eq!(request, want),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn every_chat_event_round_trips_through_a_server_frame() {
    let events = [
        ChatEvent::Ack {
            message: message(1),
        },
        ChatEvent::Message {
            message: message(2),
        },
        ChatEvent::Rejected {
            client_id: "c1".into(),
            id: None,
            reason: ChatRejection::Empty,
        },
        ChatEvent::Rejected {
            client_id: "c2".into(),
            id: None,
            reason: ChatRejection::TooLong,
        },
        ChatEvent::Rejected {
            client_id: String::new(),
            id: Some(7),
            reason: ChatRejection::NotYours,
        },
        ChatEvent::UpdateAck {
            message: message(5),
        },
        ChatEvent::Updated {
            message: ChatMessage {
                text: String::new(),
                edited_at: Some("2026-11-28T19:06:00.000Z".into()),
                deleted: true,
                ..message(6)
            },
        },
        ChatEvent::History {
            messages: vec![message(3), message(4)],
            more: true,
        },
    ];
    for event in events {
        let frame = chat_frame(&event);
        assert_eq!(
            decode_server_frame(&frame, &limits()),
            Ok(ServerMessage::Chat(Box::new(event)))
        );
    }
}

#[test]
fn chat_events_use_the_field_names_of_the_protocol_document() {
    let ack = serde_json::to_value(ChatEvent::Ack {
        message: message(42),
    })
    .expect("serialises");
    assert_eq!(
        ack,
        json!({"type": "ack", "message": {"id": 42, "client_id": "7b0d-4f2e", "author": "alice",
            "text": "hi <b>there</b> \u{1F600}", "sent_at": "2026-11-28T19:05:03.120Z",
            "edited_at": null, "deleted": false, "change": 42, "mentions": ["bob"]}})
    );
    let rejected = serde_json::to_value(ChatEvent::Rejected {
        client_id: "x".into(),
        id: None,
        reason: ChatRejection::TooLong,
    })
    .expect("serialises");
    assert_eq!(
        rejected,
        json!({"type": "rejected", "client_id": "x", "reason": "too_long"})
    );
    let refused_edit = serde_json::to_value(ChatEvent::Rejected {
        client_id: String::new(),
        id: Some(42),
        reason: ChatRejection::NotFound,
    })
    .expect("serialises");
    assert_eq!(
        refused_edit,
        json!({"type": "rejected", "id": 42, "reason": "not_found"})
    );
    // An older server's message object, without the fields of edits, still reads.
    let old: ChatMessage = serde_json::from_value(json!({"id": 1, "client_id": "c",
        "author": "a", "text": "t", "sent_at": "2026-11-28T19:05:03.120Z"}))
    .expect("parses");
    assert!(!old.deleted && old.edited_at.is_none() && old.mentions.is_empty());
    let history = serde_json::to_value(ChatEvent::History {
        messages: vec![],
        more: false,
    })
    .expect("serialises");
    assert_eq!(
        history,
        json!({"type": "history", "messages": [], "more": false})
    );
    let relayed = serde_json::to_value(ChatEvent::Message {
        message: message(1),
    })
    .expect("serialises");
    assert_eq!(relayed["type"], "message");
}

#[test]
fn server_frames_decode_on_the_client_side() {
    let mut room = RoomDoc::new();
    let (doc, text) = client(8);
    text.push(&mut doc.transact_mut(), "shared");
    room.apply_update(incoming(&full(&doc))).expect("applies");
    let greeting = room.greeting();
    assert_eq!(
        greeting.len(),
        1,
        "no awareness frame while nobody is present"
    );
    match decode_server_frame(&greeting[0], &limits()) {
        Ok(ServerMessage::SyncStep1(sv)) => assert_eq!(sv, room.state_vector()),
        other => panic!("{other:?}"),
    }
    let (fresh, fresh_text) = client(9);
    let answer = room.answer_step1(&state_vector(&fresh)).expect("encodes");
    match decode_server_frame(&answer, &limits()) {
        Ok(ServerMessage::SyncStep2(update)) => apply(&fresh, &update),
        other => panic!("{other:?}"),
    }
    assert_eq!(text_of(&fresh, &fresh_text), "shared");
    let relay = update_frame(&full(&doc));
    assert_eq!(
        decode_server_frame(&relay, &limits()),
        Ok(ServerMessage::Update(full(&doc)))
    );
    assert_eq!(
        decode_server_frame(
            &answer_server_step1(&fresh, &room.state_vector()),
            &limits()
        ),
        Ok(ServerMessage::SyncStep2(
            fresh
                .transact()
                .encode_state_as_update_v1(&room.state_vector())
        ))
    );
}

#[test]
fn frames_use_lib0_varuint_framing() {
    assert_eq!(update_frame(&[7, 8, 9]), vec![0, 2, 3, 7, 8, 9]);
    assert_eq!(sync_step2_frame(&[]), vec![0, 1, 0]);
    let big = vec![0xAB; 300];
    let frame = update_frame(&big);
    // 300 = 0b10_0101100 -> [0xAC, 0x02]
    assert_eq!(&frame[..4], &[0, 2, 0xAC, 0x02]);
    assert_eq!(frame.len(), 4 + 300);
    match decode_server_frame(&frame, &limits()) {
        Ok(ServerMessage::Update(bytes)) => assert_eq!(bytes, big),
        other => panic!("{other:?}"),
    }
    let sv_frame = sync_step1_frame(&Default::default());
    assert_eq!(sv_frame, vec![0, 0, 1, 0]);
}

#[test]
fn decoded_messages_and_room_documents_can_move_between_tasks() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<ClientMessage>();
    assert_send::<chatspace_crdt::IncomingUpdate>();
    assert_send::<RoomDoc>();
    assert_send::<ServerMessage>();
}
