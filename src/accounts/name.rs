//! The name a person goes by, as they type it on their profile: shown on our pages and
//! handed to clients as the `name` claim.

/// A display name: trimmed, 1 to [`MAX_CHARS`] characters, no control characters (a line
/// break in a claim or a page is never wanted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

pub const MAX_CHARS: usize = 100;

/// Why a name was refused, in words shown next to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadName {
    Empty,
    TooLong,
    ControlCharacters,
}

impl BadName {
    pub fn message(self) -> &'static str {
        match self {
            Self::Empty => "Enter your name.",
            Self::TooLong => "Use at most 100 characters.",
            Self::ControlCharacters => "Use letters, digits, spaces and punctuation only.",
        }
    }
}

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, BadName> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(BadName::Empty);
        }
        if name.chars().count() > MAX_CHARS {
            return Err(BadName::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(BadName::ControlCharacters);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded_in_characters() {
        assert_eq!(
            DisplayName::parse("  Uma User ").unwrap().as_str(),
            "Uma User"
        );
        assert_eq!(DisplayName::parse(" \t "), Err(BadName::Empty));
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(DisplayName::parse(&"é".repeat(101)), Err(BadName::TooLong));
        assert_eq!(
            DisplayName::parse("Uma\nUser"),
            Err(BadName::ControlCharacters)
        );
    }
}
