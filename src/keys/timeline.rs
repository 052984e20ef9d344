//! Where each key is in its life at a given moment, computed from its row alone and the
//! rows of its algorithm, so every instance (and the CLI) reaches the same answer at the
//! same time without telling each other anything:
//!
//! - **next** until `activates_at`: published, not signing — a rotated-in key is in the
//!   JWKS for `keys.publish_delay_secs` before it signs, longer than relying parties cache
//!   the JWKS;
//! - **active** from then until its successor activates (or an operator stopped it);
//! - **retiring** after that, still published, until every token it signed has expired
//!   (`retire_after` = when it stopped + the longest token lifetime);
//! - **retired** from then on, out of the JWKS; **revoked** at once by an operator.
//!
//! Two rotations racing (two instances, or the CLI beside a server) at worst make one key
//! that signs for a moment: each key's successor is simply the next one to activate.

use chrono::{DateTime, Duration, Utc};

use super::published::KeyState;
use crate::entities::signing_keys;

/// One key's place in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stage {
    pub state: KeyState,
    pub activates_at: DateTime<Utc>,
    /// When it stops (or stopped) signing: its successor's activation.
    pub stops_at: Option<DateTime<Utc>>,
    /// When it leaves the JWKS.
    pub retire_after: Option<DateTime<Utc>>,
}

impl Stage {
    /// A key that signs from `since` on, with no successor.
    pub fn active_since(since: DateTime<Utc>) -> Self {
        Self {
            state: KeyState::Active,
            activates_at: since,
            stops_at: None,
            retire_after: None,
        }
    }
}

pub fn activates_at(row: &signing_keys::Model) -> DateTime<Utc> {
    row.activates_at.unwrap_or(row.created_at)
}

/// Each row's stage at `now` (in the rows' order), given the longest a signed token lives.
pub fn stages(rows: &[signing_keys::Model], now: DateTime<Utc>, longest: Duration) -> Vec<Stage> {
    rows.iter()
        .map(|row| stage_of(row, rows, now, longest))
        .collect()
}

fn stage_of(
    row: &signing_keys::Model,
    rows: &[signing_keys::Model],
    now: DateTime<Utc>,
    longest: Duration,
) -> Stage {
    let starts = activates_at(row);
    let order = |r: &signing_keys::Model| (activates_at(r), r.kid.clone());
    let successor = rows
        .iter()
        .filter(|r| r.algorithm == row.algorithm && r.revoked_at.is_none())
        .filter(|r| order(r) > order(row))
        .map(activates_at)
        .min();
    let stops_at = match (successor, row.retired_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let retire_after = stops_at.map(|stop| stop + longest);
    let state = if row.revoked_at.is_some() {
        KeyState::Revoked
    } else if now < starts {
        KeyState::Next
    } else if stops_at.is_none_or(|stop| now < stop) {
        KeyState::Active
    } else if retire_after.is_some_and(|retire| now < retire) {
        KeyState::Retiring
    } else {
        KeyState::Retired
    };
    Stage {
        state,
        activates_at: starts,
        stops_at,
        retire_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, alg: &str, activates: i64) -> signing_keys::Model {
        let at = DateTime::from_timestamp(activates, 0).unwrap();
        signing_keys::Model {
            kid: kid.into(),
            algorithm: alg.into(),
            private_key_jwe: String::new(),
            public_jwk: String::new(),
            created_at: at,
            retired_at: None,
            activates_at: Some(at),
            revoked_at: None,
        }
    }

    fn states_at(rows: &[signing_keys::Model], now: i64) -> Vec<KeyState> {
        let now = DateTime::from_timestamp(now, 0).unwrap();
        stages(rows, now, Duration::seconds(600))
            .iter()
            .map(|s| s.state)
            .collect()
    }

    #[test]
    fn a_rotated_key_is_published_before_it_signs_and_its_predecessor_after() {
        use KeyState::*;
        let rows = [
            key("old", "RS256", 0),
            key("new", "RS256", 3_600),
            key("ec", "ES256", 0),
        ];
        assert_eq!(states_at(&rows, 100), [Active, Next, Active]);
        assert_eq!(states_at(&rows, 3_600), [Retiring, Active, Active]);
        assert_eq!(states_at(&rows, 4_199), [Retiring, Active, Active]);
        assert_eq!(states_at(&rows, 4_200), [Retired, Active, Active]);
    }

    #[test]
    fn a_revoked_key_is_gone_and_no_successor() {
        use KeyState::*;
        let mut rows = [key("old", "RS256", 0), key("new", "RS256", 3_600)];
        rows[1].revoked_at = Some(DateTime::from_timestamp(10, 0).unwrap());
        assert_eq!(states_at(&rows, 5_000), [Active, Revoked]);
    }
}
