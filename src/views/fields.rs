//! Form errors tied to their fields: the invalid field carries `aria-invalid` and is described
//! by its message (as well as by its help text), and the first invalid field takes the focus
//! when the page loads, so that someone using a screen reader or the keyboard lands on what to
//! fix.

use maud::{html, Markup};

use crate::accounts::rules::{self, Problem};

/// A required input of an account form (its id is its name).
#[derive(Debug, Clone, Copy, Default)]
pub struct Input<'a> {
    pub name: &'static str,
    /// `text` or `password`.
    pub kind: &'static str,
    pub autocomplete: &'static str,
    /// What was typed, shown again (never a password).
    pub value: Option<&'a str>,
    pub minlength: Option<usize>,
    /// The id of the field's help text.
    pub help: Option<&'static str>,
}

/// The current password, to log in or delete the account.
pub const CURRENT_PASSWORD: Input<'static> = Input {
    name: "password",
    kind: "password",
    autocomplete: "current-password",
    value: None,
    minlength: None,
    help: None,
};

/// The problems of a form as its fields see them.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    problems: &'a [Problem],
    /// The field that has the focus when nothing is invalid.
    first: &'static str,
}

impl<'a> Fields<'a> {
    pub fn new(problems: &'a [Problem], first: &'static str) -> Self {
        Self { problems, first }
    }

    /// Whether `field` has a problem.
    pub fn invalid(&self, field: &str) -> Option<&'static str> {
        self.problems
            .iter()
            .any(|p| p.field == Some(field))
            .then_some("true")
    }

    /// The ids that describe `field`: its messages, then its help text (`help`).
    pub fn described_by(&self, field: &str, help: Option<&str>) -> Option<String> {
        let ids: Vec<String> = self
            .problems
            .iter()
            .enumerate()
            .filter(|(_, p)| p.field == Some(field))
            .map(|(n, _)| error_id(n))
            .chain(help.map(str::to_owned))
            .collect();
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    /// Whether `field` takes the focus: the first invalid one, or the form's first field when
    /// no field is invalid.
    pub fn focus(&self, field: &str) -> bool {
        match self.problems.iter().find_map(|p| p.field) {
            Some(first_invalid) => first_invalid == field,
            None => self.first == field,
        }
    }

    /// `input`, marked invalid, described and focused as its problems say.
    pub fn input(&self, input: &Input) -> Markup {
        let name = input.name;
        html! {
            input id=(name) name=(name) type=(input.kind) value=[input.value]
                autocomplete=(input.autocomplete) required minlength=[input.minlength]
                aria-invalid=[self.invalid(name)]
                aria-describedby=[self.described_by(name, input.help)]
                autofocus[self.focus(name)];
        }
    }

    /// The new password, its rule and its repetition (sign-up, password change).
    pub fn new_password(&self, label: &str, repeat_label: &str) -> Markup {
        let password = Input {
            name: "password",
            kind: "password",
            autocomplete: "new-password",
            minlength: Some(rules::PASSWORD_MIN),
            help: Some("password-help"),
            ..Input::default()
        };
        let confirm = Input {
            name: "password_confirm",
            kind: "password",
            autocomplete: "new-password",
            ..Input::default()
        };
        html! {
            label for="password" { (label) }
            (self.input(&password))
            p id="password-help" class="help" { (rules::PASSWORD_RULE) }
            label for="password_confirm" { (repeat_label) }
            (self.input(&confirm))
        }
    }

    /// The messages, announced to screen readers, each with the id its field points to.
    pub fn list(&self) -> Markup {
        html! {
            @if !self.problems.is_empty() {
                div class="form-errors" role="alert" {
                    ul {
                        @for (n, problem) in self.problems.iter().enumerate() {
                            li id=(error_id(n)) { (problem.message) }
                        }
                    }
                }
            }
        }
    }
}

fn error_id(n: usize) -> String {
    format!("form-error-{n}")
}
