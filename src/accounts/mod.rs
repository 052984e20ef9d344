//! People who sign in: users, roles and their passwords.

pub mod password;
pub mod status;
pub mod store;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use secrecy::SecretString;

pub use password::Passwords;
pub use status::UserStatus;

/// What a sign-in attempt presents.
pub struct Credentials {
    pub email: String,
    pub password: SecretString,
}

/// The enabled user with this email and password; `None` otherwise, in the same time either
/// way (an unknown email is checked against a dummy hash).
pub async fn check_password(
    db: &DatabaseConnection,
    passwords: &Passwords,
    credentials: &Credentials,
) -> anyhow::Result<Option<User>> {
    let found = match Email::parse(&credentials.email) {
        Some(email) => store::find_by_email(db, &email).await?,
        None => None,
    };
    let stored = found.as_ref().map(|c| c.password_hash.as_str());
    let matches = passwords.verify(&credentials.password, stored).await?;
    Ok(found
        .filter(|c| matches && !c.user.disabled)
        .map(|c| c.user))
}

/// An email address as we store it: trimmed and lower-cased, so uniqueness is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Option<Self> {
        let email = raw.trim().to_lowercase();
        let (local, domain) = email.split_once('@')?;
        let plausible = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && email.len() <= 320
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        plausible.then_some(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub email_verified: bool,
    pub disabled: bool,
    pub roles: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Admin@Example.COM ").unwrap().as_str(),
            "admin@example.com"
        );
        assert!(Email::parse("nobody").is_none());
        assert!(Email::parse("a@b").is_none());
        assert!(Email::parse("a b@c.d").is_none());
    }
}
