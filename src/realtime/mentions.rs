//! `@username` mentions in chat text. A mention is `@` at the start of the text or after a
//! character that cannot be part of a username (so `bob@example.org` mentions no one), followed
//! by a username's characters (letters, digits, `_`, `.`, `-`). A trailing `.` or `-` ends a
//! sentence more often than a name: both spellings are tried. Which of them name room members
//! is the database's answer (`Store::mentionable`).

use crate::accounts::rules::{USERNAME_MAX, USERNAME_MIN};

/// Most distinct names looked up per message; a text naming more mentions the first ones.
pub const MAX_CANDIDATES: usize = 20;

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// The lowercase names the text may mention, each once, in order of appearance.
pub fn candidates(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut previous: Option<char> = None;
    for (at, c) in text.char_indices() {
        let starts = c == '@' && !previous.is_some_and(|p| name_char(p) || p == '@');
        previous = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[at + 1..];
        let end = rest.find(|c: char| !name_char(c)).unwrap_or(rest.len());
        let name = &rest[..end];
        for spelling in [name, name.trim_end_matches(['.', '-'])] {
            let len = spelling.len();
            let spelling = spelling.to_ascii_lowercase();
            if (USERNAME_MIN..=USERNAME_MAX).contains(&len) && !found.contains(&spelling) {
                found.push(spelling);
            }
        }
        if found.len() >= MAX_CANDIDATES {
            found.truncate(MAX_CANDIDATES);
            break;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::candidates;

    #[test]
    fn names_after_an_at_sign_are_found_once_in_lowercase() {
        assert_eq!(
            candidates("@Alice and @bob_2, see @alice; @carol."),
            ["alice", "bob_2", "carol.", "carol"]
        );
    }

    #[test]
    fn addresses_short_names_and_bare_at_signs_mention_no_one() {
        assert!(candidates("mail bob@example.org or @@x @ab @").is_empty());
        let long = format!("@{}", "a".repeat(33));
        assert!(candidates(&long).is_empty());
    }

    #[test]
    fn a_text_naming_many_people_is_cut_at_the_limit() {
        let text: String = (0..50).map(|i| format!("@user{i} ")).collect();
        assert_eq!(candidates(&text).len(), super::MAX_CANDIDATES);
    }

    #[test]
    fn multibyte_text_around_mentions_is_read_safely() {
        assert_eq!(candidates("héllo 🙂@dave…"), ["dave"]);
    }
}
