//! The mails of self-service, in words. Each has at most one link, its action.

use std::time::Duration;

use crate::mail::{Action, Notice};

/// "24 hours", "30 minutes": how long a link works, in words.
pub fn lifetime(ttl: Duration) -> String {
    let minutes = ttl.as_secs().div_ceil(60);
    match minutes {
        m if m % 60 == 0 && m >= 120 => format!("{} hours", m / 60),
        60 => "1 hour".to_owned(),
        1 => "1 minute".to_owned(),
        m => format!("{m} minutes"),
    }
}

/// The link that proves the address belongs to the person who registered.
pub fn verify_email<'a>(name: &str, url: &'a str, ttl: Duration) -> Notice<'a> {
    Notice {
        subject: "Confirm your email address",
        heading: "Confirm your email address",
        lines: vec![
            format!("Hello {name},"),
            "Confirm that this is your email address to finish setting up your account."
                .to_owned(),
        ],
        action: Some(Action {
            label: "Confirm my email address",
            url,
        }),
        footer: vec![
            format!("The link works once, for {}.", lifetime(ttl)),
            "If you did not create an account, ignore this message: nothing happens without the link."
                .to_owned(),
        ],
    }
}

/// To the owner of an address someone tried to register again: nothing changed.
pub fn registration_attempt(forgot_url: &str) -> Notice<'_> {
    Notice {
        subject: "Someone tried to register with your email address",
        heading: "Someone tried to register with your email address",
        lines: vec![
            "Someone tried to create a new account with this email address, which already has one. Nothing was changed."
                .to_owned(),
            "If it was you, sign in instead; if you forgot your password, you can reset it here:"
                .to_owned(),
        ],
        action: Some(Action {
            label: "Reset my password",
            url: forgot_url,
        }),
        footer: vec!["If it was not you, you can ignore this message.".to_owned()],
    }
}

/// The link that lets the owner of the address choose a new password.
pub fn reset_password(url: &str, ttl: Duration) -> Notice<'_> {
    Notice {
        subject: "Reset your password",
        heading: "Reset your password",
        lines: vec!["Someone asked to reset the password of the account with this email address. Choose a new one here:".to_owned()],
        action: Some(Action {
            label: "Choose a new password",
            url,
        }),
        footer: vec![
            format!("The link works once, for {}.", lifetime(ttl)),
            "If you did not ask for this, ignore this message: your password stays as it is."
                .to_owned(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_as_words() {
        assert_eq!(lifetime(Duration::from_secs(86_400)), "24 hours");
        assert_eq!(lifetime(Duration::from_secs(1_800)), "30 minutes");
        assert_eq!(lifetime(Duration::from_secs(3_600)), "1 hour");
        assert_eq!(lifetime(Duration::from_secs(61)), "2 minutes");
    }
}
