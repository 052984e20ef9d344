//! One user as an operator sees them at once: the profile and roles, the roles there are to
//! give, the second factors, the live sessions and the consents; and the reset of their
//! second factors for someone who lost the device (they sign in with the password again and
//! can enrol anew).

use super::sessions::Oversight;
use super::{Admin, AdminError};
use crate::accounts::User;
use crate::accounts::store::{self, RoleHolders};
use crate::audit::{Event, Kind};
use crate::database::DbContext;
use crate::entities::consents;
use crate::mfa;
use crate::sessions::Session;

/// Everything the console's user page shows.
pub struct UserOverview {
    pub user: User,
    /// Every role, for the form that gives one.
    pub roles: Vec<RoleHolders>,
    /// The kinds of confirmed second factor the user has (`totp`, `email`).
    pub factors: Vec<String>,
    pub sessions: Vec<Session>,
    pub consents: Vec<consents::Model>,
}

impl Oversight {
    /// The user (by id) with their sessions, consents and factors.
    pub async fn overview(&self, admin: &Admin, user_id: &str) -> Result<UserOverview, AdminError> {
        let user = admin.user(user_id).await?;
        let factors = mfa::store::factors_of(&admin.db, &user.id).await?;
        Ok(UserOverview {
            roles: store::all_with_holders(&admin.db).await?,
            factors: factors
                .into_iter()
                .filter(|f| f.confirmed_at.is_some())
                .map(|f| f.kind)
                .collect(),
            sessions: self.sessions(&user.id).await?,
            consents: self.consents(&user.id).await?,
            user,
        })
    }
}

impl Admin {
    /// Removes every second factor of the user and their recovery codes, in one
    /// transaction. Their sessions stay: one signed in with a factor was still them.
    pub async fn reset_factors(&self, email_or_id: &str) -> Result<User, AdminError> {
        let user = self.user(email_or_id).await?;
        let txn = crate::database::begin_write(&self.db)
            .await
            .db_context("starting a factor reset")?;
        let removed = mfa::store::remove_all(&txn, &user.id).await?;
        txn.commit().await.db_context("committing a factor reset")?;
        let event = Event::new(Kind::MfaResetByOperator)
            .user(user.id.as_str())
            .with("factors", removed);
        self.audited(event).await?;
        Ok(user)
    }
}
