//! Initial access tokens (RFC 7591 §3.1): what a relying party presents to register itself
//! when `registration.mode = "initial_token"`. An operator makes one (CLI or admin API) for
//! one registration or several, until it expires; only its SHA-256 is stored, and taking a
//! use is one conditional update, so two registrations racing for the last use cannot both
//! win.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, QueryFilter};

use super::{Admin, AdminError};
use crate::audit::{Event, Kind};
use crate::clock::UnixTime;
use crate::database::DbContext;
use crate::entities::initial_access_tokens::{self, Column, Entity as Tokens};

/// The longest an initial access token may live: a year.
const MAX_LIFETIME: Duration = Duration::from_secs(365 * 86_400);

/// A new initial access token, shown once.
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub uses: Option<u32>,
}

impl Admin {
    /// Makes an initial access token good for `uses` registrations (any number when
    /// `None`) until `lifetime` has passed.
    pub async fn create_initial_token(
        &self,
        uses: Option<u32>,
        lifetime: Duration,
    ) -> Result<Issued, AdminError> {
        if uses == Some(0) || uses.is_some_and(|n| n > 10_000) {
            return Err(AdminError::invalid(
                "uses",
                "1 to 10000, or none for no limit",
            ));
        }
        if lifetime.is_zero() || lifetime > MAX_LIFETIME {
            return Err(AdminError::invalid(
                "expires_in_secs",
                format!("1 to {} (a year)", MAX_LIFETIME.as_secs()),
            ));
        }
        let now = self.clock.now();
        let token = crate::random::token();
        let expires_at = now.secs().saturating_add(lifetime.as_secs() as i64);
        let row = initial_access_tokens::ActiveModel {
            token_sha256: Set(digest_hex(&token)),
            expires_at: Set(expires_at),
            uses_left: Set(uses.map(|n| n as i32)),
            created_at: Set(now.to_datetime()),
        };
        Tokens::insert(row)
            .exec_without_returning(&self.db)
            .await
            .db_context("storing an initial access token")?;
        let mut event = Event::new(Kind::InitialTokenCreated).with("expires_at", expires_at);
        if let Some(n) = uses {
            event = event.with("uses", n);
        }
        self.audited(event).await?;
        Ok(Issued {
            token,
            expires_at,
            uses,
        })
    }

    /// Whether `token` is a live initial access token with a use left (nothing is spent).
    pub async fn initial_token_usable(&self, token: &str) -> Result<bool, AdminError> {
        let found = Tokens::find_by_id(digest_hex(token))
            .one(&self.db)
            .await
            .db_context("looking up an initial access token")?;
        let now = self.clock.now().secs();
        Ok(found.is_some_and(|t| t.expires_at > now && t.uses_left.is_none_or(|n| n > 0)))
    }

    /// Spends one use of `token`; `false` when it has none left or is not live.
    pub async fn take_initial_token(&self, token: &str, now: UnixTime) -> Result<bool, AdminError> {
        let done = Tokens::update_many()
            .col_expr(Column::UsesLeft, Expr::col(Column::UsesLeft).sub(1))
            .filter(Column::TokenSha256.eq(digest_hex(token)))
            .filter(Column::ExpiresAt.gt(now.secs()))
            .filter(Column::UsesLeft.is_null().or(Column::UsesLeft.gt(0)))
            .exec(&self.db)
            .await
            .db_context("spending an initial access token")?;
        Ok(done.rows_affected == 1)
    }
}

fn digest_hex(token: &str) -> String {
    crate::clients::digest(token)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
