//! The end of a run: did every client get every edit, and do the full documents agree?

use std::collections::BTreeMap;

use crate::peer::PeerReport;

/// Checks each room: every client got every edit, every full document has the same text (and
/// it is `expected` when given).
pub fn convergence(peers: &[PeerReport], expected: Option<&str>) -> (bool, Vec<String>) {
    let mut rooms: BTreeMap<usize, Vec<&PeerReport>> = BTreeMap::new();
    for p in peers {
        rooms.entry(p.room).or_default().push(p);
    }
    let mut problems = Vec::new();
    for (room, members) in rooms {
        let incomplete: Vec<String> = members
            .iter()
            .filter(|p| !p.complete)
            .map(|p| p.id.to_string())
            .collect();
        if !incomplete.is_empty() {
            problems.push(format!(
                "room {room}: {} client(s) did not receive every edit: {}",
                incomplete.len(),
                incomplete.join(", ")
            ));
        }
        let docs: Vec<(&PeerReport, &String)> = members
            .iter()
            .filter_map(|p| p.doc.as_ref().map(|(text, _)| (*p, text)))
            .collect();
        let Some(&(first, reference)) = docs.first() else {
            continue;
        };
        for &(p, text) in &docs[1..] {
            if text != reference {
                problems.push(format!(
                    "room {room}: client {} and client {} differ ({} vs {} chars, from char {})",
                    first.id,
                    p.id,
                    reference.chars().count(),
                    text.chars().count(),
                    first_difference(reference, text)
                ));
            }
        }
        if let Some(expected) = expected {
            if reference != expected {
                problems.push(format!(
                    "room {room}: the text is not the trace's endContent ({} vs {} chars, from char {})",
                    reference.chars().count(),
                    expected.chars().count(),
                    first_difference(reference, expected)
                ));
            }
        }
    }
    (problems.is_empty(), problems)
}

fn first_difference(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}
