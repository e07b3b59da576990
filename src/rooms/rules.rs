//! What makes a room name acceptable.

pub const NAME_MAX: usize = 50;
pub const NAME_RULE: &str = "1 to 50 characters: letters, digits, underscore (_) and hyphen (-).";

/// Why a room name is refused, or `None` when it is fine. Uniqueness is the database's job.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("Give the room a name.".to_owned());
    }
    if name.chars().count() > NAME_MAX {
        return Some(format!(
            "The name is too long: at most {NAME_MAX} characters."
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    {
        return Some("The name may only hold letters, digits, underscore and hyphen.".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::name_problem;

    #[test]
    fn room_names_follow_the_stated_rule() {
        assert_eq!(name_problem("general_chat-2"), None);
        assert_eq!(name_problem(&"x".repeat(50)), None);
        assert!(name_problem("").is_some());
        assert!(name_problem(&"x".repeat(51)).is_some());
        assert!(name_problem("two words").is_some());
        assert!(name_problem("dot.name").is_some());
        assert!(name_problem("<script>").is_some());
    }
}
