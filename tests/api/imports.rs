//! Importing files: a `.yjs` document becomes a new room.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use yrs::{Doc, GetString, ReadTxn, Text, Transact};

use crate::helpers::{location, spawn_app, spawn_app_with, Browser};

/// A Yjs document holding `text`, as one update (what a `.yjs` file holds).
fn yjs_file(text: &str) -> Vec<u8> {
    let doc = Doc::with_client_id(7);
    let shared = doc.get_or_insert_text(chatspace_crdt::TEXT_NAME);
    shared.push(&mut doc.transact_mut(), text);
    let txn = doc.transact();
    txn.encode_state_as_update_v1(&yrs::StateVector::default())
}

async fn import(
    browser: &Browser,
    name: &str,
    file_name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let token = browser.csrf_token("/").await;
    let form = Form::new()
        .text("csrf_token", token)
        .text("name", name.to_owned())
        .part("file", Part::bytes(bytes).file_name(file_name.to_owned()));
    browser.post_multipart("/rooms/import", form).await
}

#[tokio::test]
async fn a_yjs_file_becomes_a_new_room_with_its_text() {
    let app = spawn_app().await;
    let alice = app.browser();
    alice.register("alice").await;
    let start = alice.get_text("/").await;
    assert!(
        start.contains(r#"action="/rooms/import" enctype="multipart/form-data""#),
        "the start page offers the import"
    );
    let text = "imported 🦊 text\nsecond line";
    let response = import(&alice, "from-file", "notes.yjs", yjs_file(text)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/rooms/from-file");
    assert_eq!(alice.get("/rooms/from-file").await.status(), StatusCode::OK);
    assert_eq!(
        alice.get_text("/rooms/from-file/export?format=txt").await,
        text
    );
    // What the yjs export gives back imports again as another room.
    let exported = alice
        .get("/rooms/from-file/export?format=yjs")
        .await
        .bytes()
        .await
        .expect("body")
        .to_vec();
    let again = import(&alice, "round-trip", "from-file.yjs", exported).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let state = alice
        .get("/rooms/round-trip/export?format=yjs")
        .await
        .bytes()
        .await
        .expect("body");
    let doc = Doc::new();
    let update =
        <yrs::Update as yrs::updates::decoder::Decode>::decode_v1(&state).expect("decodes");
    doc.transact_mut().apply_update(update).expect("applies");
    let shared = doc.get_or_insert_text(chatspace_crdt::TEXT_NAME);
    assert_eq!(shared.get_string(&doc.transact()), text);
}

#[tokio::test]
async fn imports_that_cannot_become_a_room_say_why_and_change_nothing() {
    let app = spawn_app_with(|c| c.import_max_bytes = 1024).await;
    let alice = app.browser();
    alice.register_with_room("alice", "taken").await;
    let cases: [(&str, &str, Vec<u8>, StatusCode, &str); 5] = [
        (
            "big",
            "big.yjs",
            vec![0; 1025],
            StatusCode::PAYLOAD_TOO_LARGE,
            "import limit of 1024 bytes",
        ),
        (
            "junk",
            "junk.yjs",
            b"not yjs at all".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a Yjs document",
        ),
        (
            "text",
            "notes.txt",
            yjs_file("x"),
            StatusCode::UNPROCESSABLE_ENTITY,
            ".yjs file",
        ),
        (
            "taken",
            "t.yjs",
            yjs_file("x"),
            StatusCode::CONFLICT,
            "taken",
        ),
        (
            "bad name!",
            "n.yjs",
            yjs_file("x"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "letters, digits",
        ),
    ];
    for (name, file, bytes, status, says) in cases {
        let response = import(&alice, name, file, bytes).await;
        assert_eq!(response.status(), status, "{name}");
        let page = response.text().await.expect("body");
        assert!(page.contains(says), "{name}: {page}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM rooms").await,
        1,
        "no room was made"
    );
    // Without the form's token nothing is read.
    let form = Form::new()
        .text("name", "sneaky")
        .part("file", Part::bytes(yjs_file("x")).file_name("s.yjs"));
    let forged = alice.post_multipart("/rooms/import", form).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        alice.get("/rooms/sneaky").await.status(),
        StatusCode::NOT_FOUND
    );
}
