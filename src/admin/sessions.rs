//! A user's browser sessions and consents, as an operator sees and ends them: the same
//! capabilities the user's own account page uses, so ending a session revokes its refresh
//! tokens and tells its clients (back-channel logout), and revoking a consent revokes that
//! client's refresh tokens for the user.

use crate::accounts;
use crate::audit::{Event, Kind, Origin};
use crate::database::DbContext;
use crate::entities::consents;
use crate::oauth::consent;
use crate::oidc::account::Account;
use crate::oidc::session::{EndReason, SignOn};
use crate::sessions::Session;

use super::AdminError;

#[derive(Clone)]
pub struct Oversight {
    pub sign_on: SignOn,
    pub account: Account,
}

impl Oversight {
    /// The user's live sessions, newest first.
    pub async fn sessions(&self, user_id: &str) -> Result<Vec<Session>, AdminError> {
        self.known(user_id).await?;
        let listed = self.sign_on.list(user_id).await?;
        Ok(listed.into_iter().map(|(_, session)| session).collect())
    }

    /// Ends the user's session `sid` everywhere.
    pub async fn end_session(
        &self,
        user_id: &str,
        sid: &str,
        origin: &Origin,
    ) -> Result<(), AdminError> {
        let listed = self.sign_on.list(user_id).await?;
        let Some((id, _)) = listed.into_iter().find(|(_, s)| s.sid == sid) else {
            return Err(AdminError::NotFound {
                what: "session",
                id: sid.to_owned(),
            });
        };
        self.sign_on.end(&id, origin, EndReason::ByOperator).await?;
        Ok(())
    }

    /// Ends every session of the user (a disabled user is signed out everywhere at once).
    pub async fn end_all_sessions(&self, user_id: &str, origin: &Origin) -> Result<(), AdminError> {
        let reason = EndReason::ByOperator;
        self.sign_on
            .end_user_sessions(user_id, None, origin, reason)
            .await?;
        Ok(())
    }

    /// Deletes the user: every session ended and every refresh token revoked first (so
    /// nothing they hold works a moment longer), then their rows, in one transaction.
    pub async fn delete_user(&self, user_id: &str, origin: &Origin) -> Result<(), AdminError> {
        self.known(user_id).await?;
        self.end_all_sessions(user_id, origin).await?;
        self.sign_on.revoke_user_families(user_id, None).await?;
        let db = &self.sign_on.db;
        let txn = crate::database::begin_write(db)
            .await
            .db_context("starting a user deletion")?;
        let gone = accounts::store::delete_user(&txn, user_id).await?;
        txn.commit()
            .await
            .db_context("committing a user deletion")?;
        if !gone {
            return Err(AdminError::NotFound {
                what: "user",
                id: user_id.to_owned(),
            });
        }
        let event = Event::new(Kind::UserDeleted).user(user_id);
        self.sign_on.audit.record(origin, event);
        Ok(())
    }

    /// What the user has allowed, newest first.
    pub async fn consents(&self, user_id: &str) -> Result<Vec<consents::Model>, AdminError> {
        self.known(user_id).await?;
        Ok(consent::list_for_user(&self.sign_on.db, user_id).await?)
    }

    /// Takes back the user's consent to `client_id`, with that client's refresh tokens.
    pub async fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        origin: &Origin,
    ) -> Result<(), AdminError> {
        if !self.account.revoke_app(user_id, client_id, origin).await? {
            return Err(AdminError::NotFound {
                what: "consent to",
                id: client_id.to_owned(),
            });
        }
        Ok(())
    }

    async fn known(&self, user_id: &str) -> Result<(), AdminError> {
        match accounts::store::find_by_id(&self.sign_on.db, user_id).await? {
            Some(_) => Ok(()),
            None => Err(AdminError::NotFound {
                what: "user",
                id: user_id.to_owned(),
            }),
        }
    }
}
