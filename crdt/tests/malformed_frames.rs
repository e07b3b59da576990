//! Malformed frames are errors, never panics: truncations, huge length prefixes, unknown
//! types, trailing bytes, bad chat JSON, bad client ids and oversized awareness states.

mod common;

use chatspace_crdt::codec::client::{
    auth_frame, chat_send_frame, chat_since_frame, client_step1, query_awareness_frame,
};
use chatspace_crdt::codec::{
    awareness_frame, chat_frame, sync_step2_frame, update_frame, validate_text, AwarenessEntry,
    AwarenessUpdate, ChatEvent, ChatRejection,
};
use chatspace_crdt::{decode_client_frame, ClientID, DecodeError, Limits};
use common::*;
use yrs::{Text, Transact};

fn var(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

fn decode(frame: &[u8]) -> Result<chatspace_crdt::ClientMessage, DecodeError> {
    decode_client_frame(frame, &Limits::default())
}

fn chat(json: &str) -> Vec<u8> {
    let mut frame = vec![100];
    frame.extend(var(json.len() as u64));
    frame.extend_from_slice(json.as_bytes());
    frame
}

fn awareness_with(state: &str) -> Vec<u8> {
    awareness_frame(&AwarenessUpdate {
        entries: vec![AwarenessEntry {
            client_id: ClientID::new(1),
            clock: 1,
            state: Some(state.to_owned()),
        }],
    })
}

fn valid_frames() -> Vec<Vec<u8>> {
    let (doc, text) = client(1);
    text.push(&mut doc.transact_mut(), "hello world");
    vec![
        client_step1(&doc),
        sync_step2_frame(&full(&doc)),
        update_frame(&full(&doc)),
        awareness_with(r#"{"user":{"name":"bob"}}"#),
        auth_frame(Some("why")),
        auth_frame(None),
        query_awareness_frame(),
        chat_send_frame("id-1", "hello"),
        chat_since_frame(12),
    ]
}

#[test]
fn every_strict_prefix_of_every_valid_frame_is_an_error() {
    for frame in valid_frames() {
        assert!(decode(&frame).is_ok(), "the whole frame decodes: {frame:?}");
        for cut in 0..frame.len() {
            assert!(decode(&frame[..cut]).is_err(), "prefix {cut} of {frame:?}");
        }
    }
}

#[test]
fn a_byte_after_the_message_is_an_error() {
    for mut frame in valid_frames() {
        frame.push(0);
        assert!(
            matches!(decode(&frame), Err(DecodeError::TrailingBytes(1))),
            "{frame:?}"
        );
    }
}

#[test]
fn a_length_prefix_of_two_to_the_forty_is_refused_before_allocating() {
    let huge = var(1 << 40);
    for header in [vec![0, 0], vec![0, 1], vec![0, 2], vec![1], vec![100]] {
        let mut frame = header.clone();
        frame.extend(&huge);
        frame.extend([1, 2, 3]);
        assert!(
            matches!(
                decode(&frame),
                Err(DecodeError::LengthOutOfBounds { declared, remaining: 3 }) if declared == 1 << 40
            ),
            "{header:?}"
        );
    }
}

#[test]
fn huge_counts_inside_payloads_are_refused_before_allocating() {
    let mut update = var(1 << 27); // clients
    update.extend([0, 0]);
    let mut sv = var(1 << 30);
    sv.extend([1, 1]);
    let mut aw = var(1 << 33);
    aw.extend([1, 1, 0]);
    let mut sv_frame = vec![0, 0];
    sv_frame.extend(var(sv.len() as u64));
    sv_frame.extend(&sv);
    let mut aw_frame = vec![1];
    aw_frame.extend(var(aw.len() as u64));
    aw_frame.extend(&aw);
    assert!(matches!(
        decode(&update_frame(&update)),
        Err(DecodeError::LengthOutOfBounds { .. })
    ));
    assert!(matches!(
        decode(&sv_frame),
        Err(DecodeError::MalformedStateVector(_))
    ));
    assert!(matches!(
        decode(&aw_frame),
        Err(DecodeError::LengthOutOfBounds { .. })
    ));
}

#[test]
fn unknown_message_sync_and_auth_types_are_errors() {
    for (frame, want) in [
        (vec![4], DecodeError::UnknownMessageType(4)),
        (vec![99], DecodeError::UnknownMessageType(99)),
        (vec![101, 0], DecodeError::UnknownMessageType(101)),
        (vec![0, 3, 0], DecodeError::UnknownSyncType(3)),
        (vec![2, 2], DecodeError::UnknownAuthType(2)),
    ] {
        assert_eq!(decode(&frame).err(), Some(want));
    }
    assert_eq!(decode(&[]).err(), Some(DecodeError::Truncated));
    assert_eq!(
        decode(&[0xff; 11]).err(),
        Some(DecodeError::InvalidVarInt),
        "an overlong varuint"
    );
}

#[test]
fn a_frame_over_the_limit_is_refused() {
    let limits = Limits {
        max_frame_bytes: 16,
        ..Limits::default()
    };
    let frame = update_frame(&[0; 20]);
    assert_eq!(
        decode_client_frame(&frame, &limits).err(),
        Some(DecodeError::FrameTooLarge { len: 23, max: 16 })
    );
}

#[test]
fn invalid_chat_json_is_an_error() {
    for json in [
        "{",
        "[]",
        r#"{"type":"shout","text":"x"}"#,
        r#"{"type":"send","text":"a"}"#,
        r#"{"type":"send","client_id":"a b","text":"\ud800"}"#,
        r#"{"type":"send","client_id":5,"text":"a"}"#,
        r#"{"type":"since","after":"x"}"#,
        r#"{"type":"since"}"#,
        r#"{"client_id":"a","text":"b"}"#,
    ] {
        assert!(
            matches!(decode(&chat(json)), Err(DecodeError::MalformedChat(_))),
            "{json}"
        );
    }
    // Not UTF-8 at all.
    assert_eq!(
        decode(&[100, 2, 0xff, 0xfe]).err(),
        Some(DecodeError::InvalidUtf8)
    );
}

#[test]
fn a_send_whose_anchor_is_not_three_strings_is_refused_for_its_anchor() {
    for json in [
        r#"{"type":"send","client_id":"m-1","text":"x","anchor":5}"#,
        r#"{"type":"send","client_id":"m-1","text":"x","anchor":{"start":"AA=="}}"#,
        r#"{"type":"send","client_id":"m-1","text":"x","anchor":{"start":"a","end":"b","quote":"\ud800"}}"#,
    ] {
        match decode(&chat(json)) {
            Ok(chatspace_crdt::ClientMessage::ChatRefused { reason, .. }) => {
                assert_eq!(reason, ChatRejection::InvalidAnchor, "{json}");
            }
            other => panic!("{json}: {other:?}"),
        }
    }
    // A broken text with it is refused for the text.
    let both = r#"{"type":"send","client_id":"m-1","text":7,"anchor":5}"#;
    assert!(matches!(
        decode(&chat(both)),
        Ok(chatspace_crdt::ClientMessage::ChatRefused {
            reason: ChatRejection::InvalidText,
            ..
        })
    ));
}

#[test]
fn a_send_with_a_valid_client_id_but_an_unusable_text_is_refused_not_an_error() {
    // `JSON.stringify` writes a lone surrogate of a broken JavaScript string as `\ud800`.
    for json in [
        r#"{"type":"send","client_id":"m-1","text":"\ud800"}"#,
        r#"{"type":"send","client_id":"m-1","text":"ok \udc00 then"}"#,
        r#"{"type":"send","client_id":"m-1","text":5}"#,
        r#"{"type":"send","client_id":"m-1","text":null}"#,
        r#"{"type":"send","client_id":"m-1"}"#,
        // serde reads every field of a tagged message, unknown ones too.
        r#"{"type":"send","client_id":"m-1","text":"x","extra":"\ud800"}"#,
    ] {
        match decode(&chat(json)) {
            Ok(chatspace_crdt::ClientMessage::ChatRefused { client_id, reason }) => {
                assert_eq!(client_id, "m-1", "{json}");
                assert_eq!(reason, ChatRejection::InvalidText, "{json}");
            }
            other => panic!("{json}: {other:?}"),
        }
    }
    // A pair is one character.
    let pair = r#"{"type":"send","client_id":"m-1","text":"\ud83d\ude00"}"#;
    assert!(matches!(
        decode(&chat(pair)),
        Ok(chatspace_crdt::ClientMessage::Chat(_))
    ));
    let rejected = chat_frame(&ChatEvent::Rejected {
        client_id: "m-1".into(),
        id: None,
        reason: ChatRejection::InvalidText,
    });
    assert!(String::from_utf8_lossy(&rejected).contains(r#""reason":"invalid_text""#));
}

#[test]
fn an_edit_naming_its_message_but_with_an_unusable_text_is_refused_not_an_error() {
    for json in [
        r#"{"type":"edit","id":7,"text":"\ud800"}"#,
        r#"{"type":"edit","id":7,"text":5}"#,
        r#"{"type":"edit","id":7}"#,
    ] {
        match decode(&chat(json)) {
            Ok(chatspace_crdt::ClientMessage::ChatChangeRefused { id, reason }) => {
                assert_eq!(id, 7, "{json}");
                assert_eq!(reason, ChatRejection::InvalidText, "{json}");
            }
            other => panic!("{json}: {other:?}"),
        }
    }
    // Without a numeric id nothing names the message: malformed, as a `delete` without one.
    for json in [
        r#"{"type":"edit","text":"x"}"#,
        r#"{"type":"edit","id":"7","text":"x"}"#,
        r#"{"type":"delete"}"#,
        r#"{"type":"delete","id":1.5}"#,
    ] {
        assert!(
            matches!(decode(&chat(json)), Err(DecodeError::MalformedChat(_))),
            "{json}"
        );
    }
}

#[test]
fn a_bad_chat_client_id_is_an_error() {
    let too_long = "a".repeat(65);
    for id in [
        "",
        too_long.as_str(),
        "a b",
        "caf\u{e9}",
        "../x",
        "a/b",
        "a.b",
    ] {
        assert_eq!(
            decode(&chat_send_frame(id, "hello")).err(),
            Some(DecodeError::BadClientId),
            "{id:?}"
        );
    }
    assert!(decode(&chat_send_frame(&"a".repeat(64), "hello")).is_ok());
}

#[test]
fn empty_or_too_long_chat_text_is_not_a_decode_error_but_a_rejection() {
    let limits = Limits::default();
    for text in ["", "   ", "\n\t \u{3000}", "\u{feff} "] {
        assert!(decode(&chat_send_frame("c", text)).is_ok());
        assert_eq!(validate_text(text, &limits), Err(ChatRejection::Empty));
    }
    let long = "x".repeat(4001);
    assert!(decode(&chat_send_frame("c", &long)).is_ok());
    assert_eq!(validate_text(&long, &limits), Err(ChatRejection::TooLong));
    assert_eq!(validate_text(&"x".repeat(4000), &limits), Ok(()));
    // 4,000 emoji are 4,000 characters although they are 16,000 bytes and 8,000 UTF-16 units.
    assert_eq!(validate_text(&"\u{1F600}".repeat(4000), &limits), Ok(()));
    assert_eq!(
        validate_text(&"\u{1F600}".repeat(4001), &limits),
        Err(ChatRejection::TooLong)
    );
    let rejected = chat_frame(&ChatEvent::Rejected {
        client_id: "c".into(),
        id: None,
        reason: ChatRejection::Empty,
    });
    assert!(String::from_utf8_lossy(&rejected).contains(r#""reason":"empty""#));
}

#[test]
fn an_awareness_state_over_64_kib_is_an_error() {
    let limit = Limits::default().max_awareness_state_bytes;
    assert_eq!(limit, 64 * 1024);
    let at_limit = format!("\"{}\"", "a".repeat(limit - 2));
    assert!(decode(&awareness_with(&at_limit)).is_ok());
    let over = format!("\"{}\"", "a".repeat(limit - 1));
    assert!(matches!(
        decode(&awareness_with(&over)),
        Err(DecodeError::AwarenessStateTooLarge { len, max, .. }) if len == limit + 1 && max == limit
    ));
}

#[test]
fn an_awareness_state_that_is_not_json_is_an_error() {
    for state in ["{", "undefined", "{'a':1}", ""] {
        assert!(
            matches!(
                decode(&awareness_with(state)),
                Err(DecodeError::MalformedAwareness(_))
            ),
            "{state:?}"
        );
    }
}

#[test]
fn an_awareness_client_id_beyond_javascript_integers_is_an_error() {
    let mut payload = vec![1];
    payload.extend(var(1 << 53));
    payload.extend([1, 2, b'{', b'}']);
    let mut frame = vec![1];
    frame.extend(var(payload.len() as u64));
    frame.extend(payload);
    assert_eq!(decode(&frame).err(), Some(DecodeError::InvalidVarInt));
}
