//! What makes a username and a password acceptable, stated once for the forms and the checks.

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const USERNAME_RULE: &str =
    "3 to 32 characters: letters, digits, underscore (_), dot (.) and hyphen (-).";
pub const PASSWORD_MIN: usize = 8;
/// Long enough for any passphrase; short enough that hashing it is not a denial of service.
pub const PASSWORD_MAX: usize = 1024;
pub const PASSWORD_RULE: &str = "At least 8 characters. A few unrelated words make a strong one.";

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

/// Why a new password is refused, or `None` when it is fine.
pub fn password_problems(password: &str, confirm: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        problems.push(format!(
            "The password must be at least {PASSWORD_MIN} characters long."
        ));
    } else if len > PASSWORD_MAX {
        problems.push(format!(
            "The password must be at most {PASSWORD_MAX} characters long."
        ));
    }
    if password != confirm {
        problems.push("The two passwords do not match.".to_owned());
    }
    problems
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
        assert!(password_problems("long enough", "long enough").is_empty());
        assert_eq!(password_problems("short", "short").len(), 1);
        assert_eq!(password_problems("long enough", "long enougH").len(), 1);
    }
}
