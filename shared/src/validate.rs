//! Field validation: a request type says what is wrong with it, all fields at once.

use crate::error::{ApiError, FieldProblem};

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

    /// Text whose length in characters (after trimming) lies in `min..=max`.
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) {
        let n = value.trim().chars().count();
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
