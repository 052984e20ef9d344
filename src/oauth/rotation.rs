//! Claiming the rotation of a refresh token (RFC 9700 §4.14.2). Of concurrent presenters
//! exactly one wins: the token is read and a claim marker stored (put-if-absent) in one
//! atomic store call. The claim is a lease: its owner replaces it with the full rotation
//! record, or releases it when the rotation fails; a claim nobody completed or released
//! (its request died with the store) expires after the lease and may be taken over. Only a
//! token that was really rotated counts as reused.

use std::time::Duration;

use anyhow::Context;

use super::refresh::{
    RefreshGrant, Rotated, family_usable, find, is_tagged, rotated_key, token_key,
};
use crate::clock::{SharedClock, UnixTime};
use crate::store::EphemeralStore;
use crate::{keys, random};

/// How often a presenter that found a claim in progress looks again.
const POLL: Duration = Duration::from_millis(50);

pub enum Presented {
    /// This request holds the rotation of a live token.
    Live {
        grant: Box<RefreshGrant>,
        claim: Claim,
    },
    /// A retry within the grace window: the response the first request got.
    Retry(Vec<u8>),
    /// A rotated token came back outside the grace window (or from another client).
    Reused {
        family: String,
    },
    Unknown,
}

/// This request's claim: what to release if its rotation fails.
pub struct Claim {
    marker: Vec<u8>,
}

/// One presentation of a refresh token.
pub struct Presentation<'a> {
    pub store: &'a dyn EphemeralStore,
    pub token: &'a str,
    pub client_id: &'a str,
    /// How long a retry gets the same answer (zero: never).
    pub grace: Duration,
    /// How long an unfinished claim holds before another presenter may take it over.
    pub lease: Duration,
    pub clock: &'a SharedClock,
}

enum Seen {
    Decided(Presented),
    /// A claim is in progress: look again shortly.
    Wait,
    /// There is nothing in the way of a claim (any more).
    Claimable,
}

impl Presentation<'_> {
    /// Decides what the presented token is, claiming its rotation when it is live.
    pub async fn claim(&self) -> anyhow::Result<Presented> {
        let polls = self.lease.as_millis() / POLL.as_millis() + 20;
        for _ in 0..polls {
            let marker = self.marker()?;
            let claimed = match self.may_claim().await? {
                true => {
                    let keys = (&token_key(self.token), &rotated_key(self.token));
                    self.store
                        .get_marking(keys.0, keys.1, &marker, self.lease)
                        .await?
                }
                false => None,
            };
            if let Some((raw, true)) = claimed {
                let grant = serde_json::from_slice(&raw).context("stored refresh token")?;
                return Ok(Presented::Live {
                    grant: Box::new(grant),
                    claim: Claim { marker },
                });
            }
            match self.examine().await? {
                Seen::Decided(presented) => return Ok(presented),
                Seen::Wait => tokio::time::sleep(POLL).await,
                Seen::Claimable => {}
            }
        }
        Ok(Presented::Unknown)
    }

    /// A tagged token's keys share a hash slot: claim at once. One without a tag predates
    /// the tags (or is made up): its keys may lie in two cluster slots, so it is claimed only
    /// when it is live, which it can be only where it was issued, off a cluster.
    async fn may_claim(&self) -> anyhow::Result<bool> {
        Ok(is_tagged(self.token) || find(self.store, self.token).await?.is_some())
    }

    fn marker(&self) -> anyhow::Result<Vec<u8>> {
        Ok(serde_json::to_vec(&Rotated {
            family: None,
            client_id: self.client_id.to_owned(),
            rotated_at_ms: self.clock.now().millis(),
            cached: None,
            claim: Some(random::token()),
        })?)
    }

    /// What the rotation marker says, when the claim was not ours.
    async fn examine(&self) -> anyhow::Result<Seen> {
        let Some(raw) = self.store.get(&rotated_key(self.token)).await? else {
            // No marker: an expired claim was just cleared, or the token is unknown.
            let live = find(self.store, self.token).await?.is_some();
            return Ok(if live {
                Seen::Claimable
            } else {
                Seen::Decided(Presented::Unknown)
            });
        };
        let marker: Rotated = serde_json::from_slice(&raw).context("rotation marker")?;
        let now = self.clock.now();
        let age = now.since(UnixTime::from_millis(marker.rotated_at_ms));
        let Some(family) = marker.family else {
            // Claimed, not finished. Past its lease the claim's request is gone: take over.
            if age > self.lease {
                self.store.delete_if(&rotated_key(self.token), &raw).await?;
                return Ok(Seen::Claimable);
            }
            return Ok(Seen::Wait);
        };
        let within = marker.client_id == self.client_id && age <= self.grace;
        if self.grace.is_zero() || !within || !family_usable(self.store, &family).await? {
            return Ok(Seen::Decided(Presented::Reused { family }));
        }
        match marker.cached {
            Some(sealed) => {
                let key = random::derive_key("refresh-retry", self.token);
                Ok(Seen::Decided(Presented::Retry(keys::open(&key, &sealed)?)))
            }
            None => Ok(Seen::Wait),
        }
    }

    /// Gives the claim back after a failed rotation, so a retry proceeds at once. If the
    /// store cannot be reached, the claim's lease runs out instead.
    pub async fn release(&self, claim: &Claim) {
        let released = self
            .store
            .delete_if(&rotated_key(self.token), &claim.marker)
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "could not release a refresh claim; it expires");
        }
    }
}
