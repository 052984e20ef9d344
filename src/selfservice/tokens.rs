//! One-time links: ≥ 256 random bits, stored only as their SHA-256 digest, single use and
//! expiring. A link is redeemed by one conditional update, so two clicks racing (or two
//! instances) cannot both succeed.

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::clock::UnixTime;
use crate::database::DbContext;
use crate::entities::account_tokens;
use crate::random;

/// What a link is for; a verification link cannot reset a password and vice versa.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

/// Whom a live link is for.
#[derive(Debug, Clone)]
pub struct Holder {
    pub user_id: String,
    pub email: String,
    pub return_request: Option<String>,
}

/// The longest token we look up; ours are 43 characters.
const MAX_TOKEN: usize = 128;

fn id_of(token: &str) -> Option<String> {
    (!token.is_empty() && token.len() <= MAX_TOKEN).then(|| random::digest(token))
}

/// Stores a new link for `holder` on `conn` (the transaction that also queues its mail) and
/// returns the token, which exists nowhere else.
pub async fn issue<C: ConnectionTrait>(
    conn: &C,
    purpose: Purpose,
    holder: &Holder,
    now: UnixTime,
    ttl: Duration,
) -> anyhow::Result<String> {
    let token = random::token();
    let row = account_tokens::ActiveModel {
        id: Set(random::digest(&token)),
        purpose: Set(purpose.as_str().to_owned()),
        user_id: Set(holder.user_id.clone()),
        email: Set(holder.email.clone()),
        return_request: Set(holder.return_request.clone()),
        created_at: Set(now.millis()),
        expires_at: Set(now.plus(ttl).millis()),
        used_at: Set(None),
    };
    account_tokens::Entity::insert(row)
        .exec_without_returning(conn)
        .await
        .db_context("storing a one-time link")?;
    Ok(token)
}

/// The holder of a live (unused, unexpired) link, without using it.
pub async fn peek<C: ConnectionTrait>(
    conn: &C,
    purpose: Purpose,
    token: &str,
    now: UnixTime,
) -> anyhow::Result<Option<Holder>> {
    let Some(id) = id_of(token) else {
        return Ok(None);
    };
    let row = account_tokens::Entity::find_by_id(id)
        .filter(account_tokens::Column::Purpose.eq(purpose.as_str()))
        .filter(account_tokens::Column::UsedAt.is_null())
        .filter(account_tokens::Column::ExpiresAt.gt(now.millis()))
        .one(conn)
        .await
        .db_context("looking up a one-time link")?;
    Ok(row.map(|r| Holder {
        user_id: r.user_id,
        email: r.email,
        return_request: r.return_request,
    }))
}

/// Uses the link: its holder if it was live, and from now on it is not.
pub async fn redeem<C: ConnectionTrait>(
    conn: &C,
    purpose: Purpose,
    token: &str,
    now: UnixTime,
) -> anyhow::Result<Option<Holder>> {
    let Some(holder) = peek(conn, purpose, token, now).await? else {
        return Ok(None);
    };
    let Some(id) = id_of(token) else {
        return Ok(None);
    };
    let used = account_tokens::Entity::update_many()
        .col_expr(account_tokens::Column::UsedAt, Expr::value(now.millis()))
        .filter(account_tokens::Column::Id.eq(id))
        .filter(account_tokens::Column::UsedAt.is_null())
        .exec(conn)
        .await
        .db_context("using a one-time link")?;
    Ok((used.rows_affected == 1).then_some(holder))
}

/// Retires every live link of the user for `purpose`: after a reset, older reset links die.
pub async fn retire_all<C: ConnectionTrait>(
    conn: &C,
    purpose: Purpose,
    user_id: &str,
    now: UnixTime,
) -> anyhow::Result<()> {
    account_tokens::Entity::update_many()
        .col_expr(account_tokens::Column::UsedAt, Expr::value(now.millis()))
        .filter(account_tokens::Column::UserId.eq(user_id))
        .filter(account_tokens::Column::Purpose.eq(purpose.as_str()))
        .filter(account_tokens::Column::UsedAt.is_null())
        .exec(conn)
        .await
        .db_context("retiring one-time links")?;
    Ok(())
}

/// Forgets links that expired a day ago or more: they can only ever be refused.
pub async fn purge<C: ConnectionTrait>(conn: &C, now: UnixTime) -> anyhow::Result<u64> {
    let cutoff = now.millis() - 86_400_000;
    let done = account_tokens::Entity::delete_many()
        .filter(account_tokens::Column::ExpiresAt.lt(cutoff))
        .exec(conn)
        .await
        .db_context("purging expired one-time links")?;
    Ok(done.rows_affected)
}

/// Purges long-expired links now and then every hour, on the current runtime.
pub fn spawn_purger(db: sea_orm::DatabaseConnection, clock: crate::clock::SharedClock) {
    const EVERY: Duration = Duration::from_secs(3600);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            match purge(&db, clock.now()).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired one-time links purged"),
                Err(e) => tracing::warn!(error = format!("{e:#}"), "purging one-time links failed"),
            }
        }
    });
}
