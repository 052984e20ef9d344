//! People who sign in: users, roles and their passwords.

pub mod name;
pub mod password;
pub mod policy;
pub mod status;
pub mod store;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use secrecy::SecretString;

pub use name::DisplayName;
pub use password::Passwords;
pub use policy::PasswordPolicy;
pub use status::UserStatus;

/// The stored hash of an account without a password (one made for an upstream sign-in): no
/// password matches it, and checking one costs the same as a wrong password.
pub const NO_PASSWORD: &str = "";

/// What a sign-in attempt presents.
pub struct Credentials {
    pub email: String,
    pub password: SecretString,
}

impl Credentials {
    /// The email as it is looked up: normalised when it parses, else trimmed, lower-cased
    /// and cut to 320 characters (and then it matches nobody).
    pub fn lookup(&self) -> String {
        match Email::parse(&self.email) {
            Some(email) => email.0,
            None => self.email.trim().to_lowercase().chars().take(320).collect(),
        }
    }
}

/// How a password is checked: against the user's hash, or (`Refuse`, for a locked account)
/// against the dummy hash, so the answer is "wrong" in the same time and the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Verify,
    Refuse,
}

/// Why a password sign-in was refused: for the audit log only — the person sees one answer
/// ("wrong email or password") whatever it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    UnknownUser,
    WrongPassword {
        user_id: String,
    },
    Disabled {
        user_id: String,
    },
    Locked {
        user_id: Option<String>,
    },
    /// The password was right and the second-factor code (`reason` says how) was not.
    SecondFactor {
        user_id: String,
        reason: &'static str,
    },
}

impl Rejected {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::WrongPassword { .. } => "wrong_password",
            Self::Disabled { .. } => "disabled",
            Self::Locked { .. } => "locked",
            Self::SecondFactor { reason, .. } => reason,
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::UnknownUser => None,
            Self::WrongPassword { user_id }
            | Self::Disabled { user_id }
            | Self::SecondFactor { user_id, .. } => Some(user_id),
            Self::Locked { user_id } => user_id.as_deref(),
        }
    }
}

/// The enabled user with this email and password, or why not. Every refusal does the same
/// work — one lookup (a malformed email is looked up too, and cannot match) and one Argon2
/// verification (against a dummy hash for an unknown email or a locked account) — so the
/// response time does not tell which emails exist. Only a right password loads the roles.
pub async fn check_password(
    db: &DatabaseConnection,
    passwords: &Passwords,
    credentials: &Credentials,
    check: Check,
) -> anyhow::Result<Result<User, Rejected>> {
    let found = store::password_of(db, &credentials.lookup()).await?;
    let stored = found.as_ref().map(|f| f.password_hash.as_str());
    let stored = stored.filter(|hash| check == Check::Verify && *hash != NO_PASSWORD);
    let matches = passwords.verify(&credentials.password, stored).await?;
    let Some(found) = found else {
        return Ok(Err(match check {
            Check::Refuse => Rejected::Locked { user_id: None },
            Check::Verify => Rejected::UnknownUser,
        }));
    };
    let user_id = found.user_id;
    Ok(match (check, matches, found.disabled) {
        (Check::Refuse, ..) => Err(Rejected::Locked {
            user_id: Some(user_id),
        }),
        (_, false, _) => Err(Rejected::WrongPassword { user_id }),
        (_, true, true) => Err(Rejected::Disabled { user_id }),
        (_, true, false) => match store::find_by_id(db, &user_id).await? {
            Some(user) => Ok(user),
            None => Err(Rejected::UnknownUser),
        },
    })
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
        let mut options = crate::database::pool_options("sqlite::memory:");
        options.max_connections(1);
        let mut db = sea_orm::Database::connect(options).await.unwrap();
        crate::database::migrate(&db).await.unwrap();
        let passwords = Passwords::new(
            &PasswordSettings {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1,
                max_concurrent: 1,
                max_queued: 0,
                min_strength: 3,
            },
            &crate::metrics::Metrics::new().unwrap(),
        )
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
                check_password(&db, &passwords, &credentials, Check::Verify)
                    .await
                    .unwrap()
                    .is_err()
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
