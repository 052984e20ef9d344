//! Creating and managing users as an operator. An operator vouches for the address they
//! type, so a user made here starts with a verified email; every password set here meets
//! the same policy as one chosen on the registration page, and is stored only as its
//! Argon2id hash (never audited, never printed).

use secrecy::{ExposeSecret, SecretString};

use super::{Admin, AdminError};
use crate::accounts::{DisplayName, Email, User, store};
use crate::audit::{Event, Kind};
use crate::database::DbContext;

/// A user as an operator asks for one.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    /// Shown on our pages and given to clients as `name`; the email's local part if none.
    pub name: Option<String>,
    /// Roles the user holds from the start; each must exist.
    pub roles: Vec<String>,
    pub password: SecretString,
}

impl Admin {
    /// Creates an enabled user with a verified email and the given roles, all at once.
    pub async fn create_user(&self, new: NewUser) -> Result<User, AdminError> {
        let email = parse_email(&new.email)?;
        let name = display_name(new.name.as_deref(), &email)?;
        self.check_password(&new.password, &[email.as_str(), name.as_str()])?;
        let role_ids = self.role_ids(&new.roles).await?;
        if store::email_exists(&self.db, &email).await? {
            return Err(taken(&email));
        }
        let password_hash = self.passwords.hash(&new.password).await?;
        let txn = crate::database::begin_write(&self.db)
            .await
            .db_context("starting a user")?;
        let row = store::NewUser {
            email: &email,
            name: name.as_str(),
            password_hash,
            email_verified: true,
        };
        // The email may have been taken since the check: the insert decides.
        let Some(user_id) = store::insert_new(&txn, row, self.clock.now()).await? else {
            return Err(taken(&email));
        };
        for role_id in &role_ids {
            store::link(&txn, &user_id, role_id).await?;
        }
        txn.commit().await.db_context("committing a user")?;
        let event = Event::new(Kind::UserCreated)
            .user(user_id.as_str())
            .with("roles", new.roles.join(" "));
        self.audited(event).await?;
        self.user(&user_id).await
    }

    /// Every user, by email.
    pub async fn users(&self) -> Result<Vec<User>, AdminError> {
        Ok(store::all(&self.db).await?)
    }

    /// One page of users by email (see [`store::page`]): at most `limit` (1 to 200).
    pub async fn users_page(
        &self,
        search: Option<&str>,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<User>, AdminError> {
        if !(1..=200).contains(&limit) {
            return Err(AdminError::invalid("limit", "1 to 200"));
        }
        Ok(store::page(&self.db, search, after, limit).await?)
    }

    /// The user with this email (any case) or id.
    pub async fn user(&self, email_or_id: &str) -> Result<User, AdminError> {
        let found = match Email::parse(email_or_id) {
            Some(email) => store::find_by_email(&self.db, &email).await?,
            None => store::find_by_id(&self.db, email_or_id.trim()).await?,
        };
        found.ok_or_else(|| AdminError::NotFound {
            what: "user",
            id: email_or_id.to_owned(),
        })
    }

    /// The user and their `ETag`: a digest of everything the API shows of them, so it
    /// changes with every write, whoever makes it (the user's own profile page included).
    pub async fn user_versioned(&self, email_or_id: &str) -> Result<(User, String), AdminError> {
        let user = self.user(email_or_id).await?;
        let tag = etag(&user);
        Ok((user, tag))
    }

    /// Changes the user's name, email or whether it is verified, if `if_match` is the
    /// `ETag` they have now. An operator vouches for an address they type, so a new email
    /// is verified unless they say otherwise. Returns the user with the new `ETag`.
    pub async fn update_user(
        &self,
        email_or_id: &str,
        change: UserChange,
        if_match: Option<&str>,
    ) -> Result<(User, String), AdminError> {
        let (before, tag) = self.user_versioned(email_or_id).await?;
        match if_match {
            None => return Err(AdminError::VersionRequired),
            Some(given) if given != tag && given != "*" => return Err(AdminError::VersionChanged),
            Some(_) => {}
        }
        let email = match change.email.as_deref() {
            Some(raw) => parse_email(raw)?,
            None => parse_email(&before.email)?,
        };
        let new_email = email.as_str() != before.email;
        let name = match change.name.as_deref() {
            Some(raw) => display_name(Some(raw), &email)?,
            None => display_name(Some(&before.name), &email)?,
        };
        let verified = change
            .email_verified
            .unwrap_or(new_email || before.email_verified);
        let fields = (name.as_str(), &email, verified);
        match store::update_profile(&self.db, &before, fields, self.clock.now()).await? {
            store::ProfileUpdate::Done => {}
            store::ProfileUpdate::Changed => return Err(AdminError::VersionChanged),
            store::ProfileUpdate::EmailTaken => return Err(taken(&email)),
        }
        let event = Event::new(Kind::ProfileUpdated)
            .user(before.id.as_str())
            .with("email_changed", new_email);
        self.audited(event).await?;
        self.user_versioned(&before.id).await
    }

    /// Replaces the user's password. Their sessions and tokens stay valid: to lock someone
    /// out, disable them.
    pub async fn set_password(
        &self,
        email_or_id: &str,
        password: &SecretString,
    ) -> Result<User, AdminError> {
        let user = self.user(email_or_id).await?;
        self.check_password(password, &[&user.email, &user.name])?;
        let hash = self.passwords.hash(password).await?;
        if !store::set_password(&self.db, &user.id, hash, self.clock.now()).await? {
            return Err(AdminError::NotFound {
                what: "user",
                id: email_or_id.to_owned(),
            });
        }
        self.audited(Event::new(Kind::PasswordSetByOperator).user(user.id.as_str()))
            .await?;
        Ok(user)
    }

    /// Gives the user an existing role; holding it already changes nothing.
    pub async fn add_role(&self, email_or_id: &str, role: &str) -> Result<User, AdminError> {
        let user = self.user(email_or_id).await?;
        let role_id = self.role_id(role).await?;
        if store::link(&self.db, &user.id, &role_id).await? {
            let event = Event::new(Kind::RoleGranted).user(user.id.as_str());
            self.audited(event.with("role", role)).await?;
        }
        self.user(&user.id).await
    }

    /// Takes a role from the user; not holding it changes nothing.
    pub async fn remove_role(&self, email_or_id: &str, role: &str) -> Result<User, AdminError> {
        let user = self.user(email_or_id).await?;
        let role_id = self.role_id(role).await?;
        if store::unlink(&self.db, &user.id, &role_id).await? {
            let event = Event::new(Kind::RoleRevoked).user(user.id.as_str());
            self.audited(event.with("role", role)).await?;
        }
        self.user(&user.id).await
    }

    /// Disables the user: no more sign-ins, and their refresh tokens are refused at once
    /// (the token path asks [`crate::accounts::UserStatus`], which reads this flag). Their
    /// browser sessions live in the ephemeral store, which only the servers open: the admin
    /// API, which holds it, ends them there; this service (and so the CLI) does not reach
    /// it, but a session left behind signs no one in (authorize and the account pages ask
    /// the same flag) and ends with its lifetime.
    pub async fn disable(&self, email_or_id: &str) -> Result<User, AdminError> {
        self.set_disabled(email_or_id, true).await
    }

    /// Enables a disabled user again: they can sign in with their password.
    pub async fn enable(&self, email_or_id: &str) -> Result<User, AdminError> {
        self.set_disabled(email_or_id, false).await
    }

    async fn set_disabled(&self, email_or_id: &str, disabled: bool) -> Result<User, AdminError> {
        let user = self.user(email_or_id).await?;
        if user.disabled == disabled {
            return Ok(user);
        }
        if !store::set_disabled(&self.db, &user.id, disabled, self.clock.now()).await? {
            return Err(AdminError::NotFound {
                what: "user",
                id: email_or_id.to_owned(),
            });
        }
        let kind = match disabled {
            true => Kind::UserDisabled,
            false => Kind::UserEnabled,
        };
        self.audited(Event::new(kind).user(user.id.as_str()))
            .await?;
        self.user(&user.id).await
    }

    /// The password policy's verdict, naming why a password is refused.
    fn check_password(&self, password: &SecretString, context: &[&str]) -> Result<(), AdminError> {
        self.policy
            .check(password.expose_secret(), context)
            .map_err(|weak| AdminError::invalid("password", weak.0))
    }

    /// The ids of the named roles, in order; the first that does not exist is the error.
    async fn role_ids(&self, names: &[String]) -> Result<Vec<String>, AdminError> {
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            ids.push(self.role_id(name).await?);
        }
        Ok(ids)
    }

    async fn role_id(&self, name: &str) -> Result<String, AdminError> {
        store::role_id(&self.db, name)
            .await?
            .ok_or_else(|| super::roles::no_such_role(name))
    }
}

/// A change of a user's profile; what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
}

/// An `ETag` (RFC 9110 §8.8.3) for what the admin API shows of a user.
fn etag(user: &User) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in [&user.id, &user.email, &user.name] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.update([u8::from(user.email_verified), u8::from(user.disabled)]);
    for role in &user.roles {
        hash.update(role.as_bytes());
        hash.update([0]);
    }
    hash.update(user.updated_at.timestamp_micros().to_be_bytes());
    let digest = hash.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn parse_email(raw: &str) -> Result<Email, AdminError> {
    Email::parse(raw)
        .ok_or_else(|| AdminError::invalid("email", format!("{raw:?} is not an email address")))
}

fn display_name(raw: Option<&str>, email: &Email) -> Result<DisplayName, AdminError> {
    let local = email.as_str().split('@').next().unwrap_or_default();
    DisplayName::parse(raw.unwrap_or(local))
        .map_err(|bad| AdminError::invalid("name", bad.message()))
}

fn taken(email: &Email) -> AdminError {
    AdminError::Conflict(format!("a user with email {} exists", email.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_name_is_the_emails_local_part() {
        let email = Email::parse("Ada.Lovelace@Example.com").unwrap();
        assert_eq!(display_name(None, &email).unwrap().as_str(), "ada.lovelace");
        assert_eq!(display_name(Some(" Ada "), &email).unwrap().as_str(), "Ada");
        assert!(matches!(
            display_name(Some(" "), &email),
            Err(AdminError::Invalid { field: "name", .. })
        ));
        assert!(matches!(
            parse_email("nobody"),
            Err(AdminError::Invalid { field: "email", .. })
        ));
    }
}
