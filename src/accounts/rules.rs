//! What makes a username and a password acceptable, stated once for the forms and the checks.

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const USERNAME_RULE: &str =
    "3 to 32 characters: letters, digits, underscore (_), dot (.) and hyphen (-).";
pub const PASSWORD_MIN: usize = 8;
/// Long enough for any passphrase; short enough that hashing it is not a denial of service.
pub const PASSWORD_MAX: usize = 1024;
pub const PASSWORD_RULE: &str =
    "At least 8 characters, and not easy to guess (no common password, \
     name or keyboard pattern). A few unrelated words make a strong one.";
/// The characters of a password the strength estimate reads: its cost grows with the length,
/// and a longer password that is weak is weak in its first characters already.
const STRENGTH_CHARS: usize = 100;

/// What a form says is wrong, and the field it is about (by its `name`), if any: the page marks
/// that field invalid, ties it to the message and puts the focus on the first such field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: Option<&'static str>,
    pub message: String,
}

impl Problem {
    /// A problem with the field `field`.
    pub fn with(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field),
            message: message.into(),
        }
    }

    /// A problem with the form as a whole (the server is busy, the attempt was throttled).
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            field: None,
            message: message.into(),
        }
    }
}

/// Why a username is refused, or `None` when it is fine. Uniqueness is the database's job.
pub fn username_problem(username: &str) -> Option<String> {
    let len = username.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
        return Some(format!(
            "The username must be {USERNAME_MIN} to {USERNAME_MAX} characters long."
        ));
    }
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        return Some(
            "The username may only hold letters, digits, underscore, dot and hyphen.".to_owned(),
        );
    }
    None
}

/// Why a new password for `username` is refused (on the fields `password` and
/// `password_confirm`); empty when it is fine.
pub fn password_problems(password: &str, confirm: &str, username: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        problems.push(Problem::with(
            "password",
            format!("The password must be at least {PASSWORD_MIN} characters long."),
        ));
    } else if len > PASSWORD_MAX {
        problems.push(Problem::with(
            "password",
            format!("The password must be at most {PASSWORD_MAX} characters long."),
        ));
    } else if let Some(weakness) = weakness(password, username) {
        problems.push(Problem::with("password", weakness));
    }
    if password != confirm {
        problems.push(Problem::with(
            "password_confirm",
            "The two passwords do not match.",
        ));
    }
    problems
}

/// Why `password` is too easy to guess, or `None` when it is not: zxcvbn's estimate (a
/// maintained port of Dropbox's estimator, with its lists of common passwords, names and words
/// and its keyboard, sequence and date patterns) must reach score 3, about 10^10 guesses, the
/// level its authors call safe against an offline attack on a slow hash. The username counts
/// as a word an attacker would try first.
fn weakness(password: &str, username: &str) -> Option<String> {
    let head: String = password.chars().take(STRENGTH_CHARS).collect();
    let estimate = zxcvbn::zxcvbn(&head, &[username]);
    if u8::from(estimate.score()) >= 3 {
        return None;
    }
    let mut reason = "This password is too easy to guess".to_owned();
    match estimate.feedback().and_then(|f| f.warning()) {
        Some(warning) => reason.push_str(&format!(": {warning}")),
        None => reason.push('.'),
    }
    if !reason.ends_with('.') {
        reason.push('.');
    }
    if let Some(suggestion) = estimate.feedback().and_then(|f| f.suggestions().first()) {
        reason.push_str(&format!(" {suggestion}"));
    }
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_stated_rule() {
        assert_eq!(username_problem("al.ice_-9"), None);
        assert!(username_problem("ab").is_some());
        assert!(username_problem(&"a".repeat(33)).is_some());
        assert!(username_problem("al ice").is_some());
        assert!(username_problem("álice").is_some());
    }

    #[test]
    fn passwords_need_eight_characters_and_a_matching_confirmation() {
        let fine = "correct horse battery";
        assert!(password_problems(fine, fine, "alice").is_empty());
        assert_eq!(password_problems("short", "short", "alice").len(), 1);
        assert_eq!(
            password_problems(fine, "correct horse batterY", "alice").len(),
            1
        );
    }

    #[test]
    fn common_and_guessable_passwords_are_refused_with_the_reason() {
        for weak in [
            "password1",
            "qwertyuiop",
            "12345678910",
            "alice1990",
            "aaaaaaaaaaaa",
        ] {
            let problems = password_problems(weak, weak, "alice");
            assert_eq!(problems.len(), 1, "{weak}: {problems:?}");
            assert_eq!(problems[0].field, Some("password"));
            assert!(
                problems[0]
                    .message
                    .starts_with("This password is too easy to guess"),
                "{problems:?}"
            );
        }
        let named = "margaret-thatcher";
        assert!(!password_problems(named, named, "margaret-thatcher").is_empty());
        let long = "b".repeat(PASSWORD_MAX);
        assert!(!password_problems(&long, &long, "alice").is_empty());
    }
}
