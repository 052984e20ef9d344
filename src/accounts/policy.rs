//! The password policy for new passwords (registration, reset, change): 8 to 128
//! characters, and a strength estimate (zxcvbn) of at least `passwords.min_strength` out of 4,
//! judged against the person's own email and name too. NIST SP 800-63B §5.1.1.2: length and
//! a check against guessable values, no composition rules.

use std::fmt;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

/// Why a new password was refused, in words shown next to the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weak(pub String);

impl fmt::Display for Weak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    /// zxcvbn's score, 0 (guessable in a few tries) to 4 (very unguessable).
    pub min_strength: u8,
}

impl From<&crate::settings::PasswordSettings> for PasswordPolicy {
    fn from(settings: &crate::settings::PasswordSettings) -> Self {
        Self {
            min_strength: settings.min_strength,
        }
    }
}

impl PasswordPolicy {
    /// Accepts `password` or says why not. `context` holds what an attacker knows of the
    /// person (their email, its local part, their name), so a password made of it is weak.
    pub fn check(&self, password: &str, context: &[&str]) -> Result<(), Weak> {
        let length = password.chars().count();
        if length < MIN_LENGTH {
            return Err(Weak(format!("Use at least {MIN_LENGTH} characters.")));
        }
        if length > MAX_LENGTH {
            return Err(Weak(format!("Use at most {MAX_LENGTH} characters.")));
        }
        let inputs = context_words(context);
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(password, &inputs);
        if u8::from(estimate.score()) >= self.min_strength {
            return Ok(());
        }
        Err(Weak(explain(estimate.feedback())))
    }
}

/// The context and its parts: the email's local part and domain, the name's words.
fn context_words(context: &[&str]) -> Vec<String> {
    let mut words = Vec::new();
    for item in context {
        let item = item.trim().to_lowercase();
        words.extend(
            item.split(|c: char| c == '@' || c == '.' || c.is_whitespace())
                .filter(|w| w.len() >= 3)
                .map(str::to_owned),
        );
        words.push(item);
    }
    words
}

fn explain(feedback: Option<&zxcvbn::feedback::Feedback>) -> String {
    let mut reason = String::from("This password is too easy to guess.");
    if let Some(feedback) = feedback {
        if let Some(warning) = feedback.warning() {
            reason = format!("This password is too easy to guess: {warning}");
        }
        if let Some(suggestion) = feedback.suggestions().first() {
            reason = format!("{reason} {suggestion}");
        }
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: PasswordPolicy = PasswordPolicy { min_strength: 3 };

    #[test]
    fn length_is_bounded_in_characters() {
        assert!(
            POLICY
                .check("Ab1!x", &[])
                .unwrap_err()
                .0
                .contains("at least 8")
        );
        let long: String = "correct horse battery staple ".repeat(5);
        assert!(
            POLICY
                .check(&long, &[])
                .unwrap_err()
                .0
                .contains("at most 128")
        );
        // Eight characters, not eight bytes.
        assert!(
            POLICY
                .check("ääääääää", &[])
                .unwrap_err()
                .0
                .contains("guess")
        );
    }

    #[test]
    fn guessable_passwords_are_refused_with_a_reason() {
        let weak = POLICY.check("password1", &[]).unwrap_err();
        assert!(
            weak.0.starts_with("This password is too easy to guess"),
            "{weak}"
        );
        assert!(POLICY.check("qwertyuiop", &[]).is_err());
    }

    #[test]
    fn the_persons_own_details_make_a_password_weak() {
        let context = ["quillon.vexmarrow@example.com", "Quillon Vexmarrow"];
        assert!(POLICY.check("quillonvexmarrow", &context).is_err());
        assert!(POLICY.check("quillonvexmarrow", &[]).is_ok());
    }

    #[test]
    fn strong_passwords_pass() {
        assert!(POLICY.check("correct horse battery staple", &[]).is_ok());
        assert!(POLICY.check("Tr4vel-Gl1der-Oc3an", &[]).is_ok());
    }
}
