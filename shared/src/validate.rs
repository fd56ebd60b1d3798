//! Field validation: a request type says what is wrong with it, all fields at once.

use crate::error::{ApiError, FieldProblem};

/// Characters that show nothing: a text of only these is empty.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Implemented by request bodies; called after JSON parsing succeeds.
pub trait Validate {
    fn validate(&self, v: &mut Validator);
}

/// Collects field problems; `finish` turns them into one 400.
#[derive(Debug, Default)]
pub struct Validator {
    problems: Vec<FieldProblem>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn problem(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.problems.push(FieldProblem::new(field, code, message));
    }

    /// Text a person wrote: no control characters but line breaks and tabs, and a length in
    /// characters (after trimming) within `min..=max`, where a text made only of invisible
    /// characters (zero-width spaces, joiners, BOM, soft hyphens) counts as empty.
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) {
        if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            self.problem(field, "INVALID_CHARACTERS", format!("{field} may not contain control characters"));
            return;
        }
        let visible = value.chars().any(|c| !c.is_whitespace() && !is_invisible(c));
        let n = if visible { value.trim().chars().count() } else { 0 };
        if n < min {
            if n == 0 {
                self.problem(field, "REQUIRED", format!("{field} is required"));
            } else {
                self.problem(field, "TOO_SHORT", format!("{field} must be at least {min} characters"));
            }
        } else if n > max {
            self.problem(field, "TOO_LONG", format!("{field} must be at most {max} characters"));
        }
    }

    /// One line of plain text (names, titles): as [`Validator::text`], without line breaks or tabs.
    pub fn line(&mut self, field: &str, value: &str, min: usize, max: usize) {
        if value.contains(['\n', '\r', '\t']) {
            self.problem(field, "INVALID_CHARACTERS", format!("{field} must be one line"));
            return;
        }
        self.text(field, value, min, max);
    }

    pub fn email(&mut self, field: &str, value: &str) {
        if value.chars().count() > 254 || !looks_like_email(value) {
            self.problem(field, "INVALID_FORMAT", format!("{field} must be an email address"));
        }
    }

    /// A number a client sent: finite and within `min..=max` (so it also fits DynamoDB, which
    /// stores no magnitude below 1e-130 or above 1e125).
    pub fn number(&mut self, field: &str, value: f64, min: f64, max: f64) {
        self.check(value.is_finite() && (min..=max).contains(&value), field, "OUT_OF_RANGE", format!("{min} to {max}"));
    }

    pub fn check(&mut self, ok: bool, field: &str, code: &str, message: impl Into<String>) {
        if !ok {
            self.problem(field, code, message);
        }
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() { Ok(()) } else { Err(ApiError::Validation(self.problems)) }
    }
}

/// A deliberately simple shape check: one `@`, a non-empty local part, a dotted domain, no spaces.
/// Real proof of an address is the verification code sent to it.
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(looks_like_email("a@b.co"));
        assert!(!looks_like_email("a@b"));
        assert!(!looks_like_email("a b@c.d"));
        assert!(!looks_like_email("@c.d"));
        assert!(!looks_like_email("a@@c.d"));
    }

    #[test]
    fn collects_every_problem() {
        let mut v = Validator::new();
        v.text("name", "", 1, 10);
        v.text("bio", &"x".repeat(11), 0, 10);
        v.email("email", "nope");
        let Err(ApiError::Validation(list)) = v.finish() else { panic!("expected a validation error") };
        let codes: Vec<_> = list.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(codes, ["REQUIRED", "TOO_LONG", "INVALID_FORMAT"]);
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;

    fn problems(f: impl FnOnce(&mut Validator)) -> Vec<String> {
        let mut v = Validator::new();
        f(&mut v);
        v.problems.into_iter().map(|p| p.code).collect()
    }

    #[test]
    fn invisible_and_control_characters_are_not_text() {
        assert_eq!(problems(|v| v.text("content", "\u{200B}\u{200B}\u{FEFF}", 1, 10)), ["REQUIRED"]);
        assert_eq!(problems(|v| v.text("content", "t\u{0}ag", 1, 10)), ["INVALID_CHARACTERS"]);
        assert!(problems(|v| v.text("content", "두 줄\n산책", 1, 10)).is_empty());
        assert_eq!(problems(|v| v.line("name", "김민아\nhttp://evil", 1, 50)), ["INVALID_CHARACTERS"]);
        assert!(problems(|v| v.line("name", "김민아", 1, 50)).is_empty());
    }
}
