//! Form errors tied to their fields: the invalid field carries `aria-invalid` and is described
//! by its message (as well as by its help text), and the first invalid field takes the focus
//! when the page loads, so that someone using a screen reader or the keyboard lands on what to
//! fix.

use maud::{html, Markup};

use crate::accounts::rules::Problem;

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
