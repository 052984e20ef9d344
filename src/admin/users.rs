//! Creating and managing users as an operator. An operator vouches for the address they
//! type, so a user made here starts with a verified email; every password set here meets
//! the same policy as one chosen on the registration page, and is stored only as its
//! Argon2id hash (never audited, never printed).

use sea_orm::TransactionTrait;
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
        let txn = self.db.begin().await.db_context("starting a user")?;
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
    /// API, which holds it, is to end them there; this service (and so the CLI) does not
    /// reach it, and a session left behind can no longer get the user a token.
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
