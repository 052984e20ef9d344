//! Rotating and revoking signing keys as an operator (the CLI, the admin API): the
//! rotation capability of `keys::rotation` on the database, each change audited. Every
//! running instance takes a change up within `keys::POLL`.

use std::sync::Arc;

use super::{Admin, AdminError};
use crate::audit::{Event, Kind};
use crate::keys::rotation::{self, KeyStatus, Revoked};
use crate::keys::{Alg, MasterKeys, Schedule};
use crate::settings::Settings;

/// What rotating and revoking keys needs beside the database.
pub struct KeyAdmin {
    pub master: MasterKeys,
    pub schedule: Schedule,
}

impl KeyAdmin {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            master: MasterKeys::load(settings)?,
            schedule: Schedule::new(&settings.keys, &settings.tokens),
        }))
    }
}

/// A key rotated in.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RotatedIn {
    pub kid: String,
    pub alg: String,
    pub activates_at: chrono::DateTime<chrono::Utc>,
}

impl Admin {
    /// Every stored key and its state now, newest first.
    pub async fn keys(&self) -> Result<Vec<KeyStatus>, AdminError> {
        let keys = self.key_admin()?;
        Ok(rotation::list(&self.db, &keys.schedule, self.clock.now()).await?)
    }

    /// A new key for `alg` (every enabled algorithm when `None`), signing after the
    /// publish delay.
    pub async fn rotate_keys(&self, alg: Option<Alg>) -> Result<Vec<RotatedIn>, AdminError> {
        let keys = self.key_admin()?;
        let algs = match alg {
            Some(alg) if !self.algorithms.contains(&alg) => {
                return Err(AdminError::invalid(
                    "alg",
                    format!("{alg} is not among keys.algorithms"),
                ));
            }
            Some(alg) => vec![alg],
            None => self.algorithms.clone(),
        };
        let mut rotated = Vec::with_capacity(algs.len());
        for alg in algs {
            let context = (alg, &keys.schedule);
            let row = rotation::rotate(&self.db, &keys.master, context, self.clock.now()).await?;
            let event = Event::new(Kind::KeyRotated)
                .with("kid", row.kid.as_str())
                .with("alg", alg.as_str());
            self.audited(event).await?;
            rotated.push(RotatedIn {
                kid: row.kid,
                alg: row.algorithm,
                activates_at: row.activates_at.unwrap_or(row.created_at),
            });
        }
        Ok(rotated)
    }

    /// Takes `kid` out of the JWKS at once (see [`rotation::revoke`]).
    pub async fn revoke_key(&self, kid: &str) -> Result<Revoked, AdminError> {
        let keys = self.key_admin()?;
        let context = (kid, &keys.schedule);
        let revoked = rotation::revoke(&self.db, &keys.master, context, self.clock.now())
            .await?
            .ok_or_else(|| AdminError::NotFound {
                what: "signing key",
                id: kid.to_owned(),
            })?;
        let mut event = Event::new(Kind::KeyRevoked).with("kid", kid);
        if let Some(replacement) = &revoked.replacement {
            event = event.with("replacement", replacement.as_str());
        }
        self.audited(event).await?;
        Ok(revoked)
    }

    fn key_admin(&self) -> Result<&KeyAdmin, AdminError> {
        self.keys
            .as_deref()
            .ok_or_else(|| AdminError::Unexpected(anyhow::anyhow!("no signing-key access here")))
    }
}
