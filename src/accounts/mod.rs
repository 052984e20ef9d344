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

/// The enabled user with this email and password; `None` otherwise. Every failure does the
/// same work — one lookup (a malformed email is looked up too, and cannot match) and one
/// Argon2 verification (against a dummy hash for an unknown email) — so the response time
/// does not tell which emails exist. Only a right password loads the user's roles.
pub async fn check_password(
    db: &DatabaseConnection,
    passwords: &Passwords,
    credentials: &Credentials,
) -> anyhow::Result<Option<User>> {
    let lookup = match Email::parse(&credentials.email) {
        Some(email) => email.0,
        None => credentials
            .email
            .trim()
            .to_lowercase()
            .chars()
            .take(320)
            .collect(),
    };
    let found = store::password_of(db, &lookup).await?;
    let stored = found.as_ref().map(|f| f.password_hash.as_str());
    let matches = passwords.verify(&credentials.password, stored).await?;
    match found {
        Some(f) if matches && !f.disabled => store::find_by_id(db, &f.user_id).await,
        _ => Ok(None),
    }
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::settings::PasswordSettings;

    #[tokio::test]
    async fn every_failed_sign_in_makes_the_same_queries() {
        let mut options = sea_orm::ConnectOptions::new("sqlite::memory:");
        options.max_connections(1);
        let mut db = sea_orm::Database::connect(options).await.unwrap();
        crate::database::migrate(&db).await.unwrap();
        let passwords = Passwords::new(&PasswordSettings {
            memory_kib: 19456,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 1,
        })
        .unwrap();
        let email = Email::parse("user@example.com").unwrap();
        let user = store::NewUser {
            email: &email,
            name: "Uma User",
            password_hash: passwords.hash(&SecretString::from("right")).await.unwrap(),
            email_verified: true,
        };
        let now = crate::clock::UnixTime::from_secs(0);
        store::insert_if_absent(&db, user, now).await.unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let counter = queries.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });

        let mut counts = Vec::new();
        for email in ["user@example.com", "nobody@example.com", "not an email"] {
            queries.store(0, Ordering::SeqCst);
            let credentials = Credentials {
                email: email.to_owned(),
                password: SecretString::from("wrong"),
            };
            assert!(
                check_password(&db, &passwords, &credentials)
                    .await
                    .unwrap()
                    .is_none()
            );
            counts.push(queries.load(Ordering::SeqCst));
        }

        assert!(counts[0] > 0, "queries were counted");
        assert_eq!(
            counts,
            vec![counts[0]; 3],
            "known, unknown and malformed alike"
        );
    }

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
