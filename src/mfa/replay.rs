//! A TOTP code is never accepted twice, whichever instance sees it again: each accepted
//! time step is claimed in the shared store (Redis, or the built-in store) with an atomic
//! put-if-absent, and a step not later than the user's last accepted one is refused, so an
//! older code seen over someone's shoulder is no good after a newer one was used either.

use std::time::Duration;

use crate::store::{EphemeralStore, StoreResult};

/// Longer than any step can still match (the current one and one either side: 90 s).
const CLAIMED_FOR: Duration = Duration::from_secs(5 * 60);

fn step_key(user_id: &str, step: u64) -> String {
    format!("totp-step:{user_id}:{step}")
}

fn last_key(user_id: &str) -> String {
    format!("totp-last:{user_id}")
}

/// Accepts `step` for `user_id` once: `false` when it (or a later step) was accepted before.
pub async fn accept_step(
    store: &dyn EphemeralStore,
    user_id: &str,
    step: u64,
) -> StoreResult<bool> {
    let last = store.get(&last_key(user_id)).await?;
    let last = last
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| text.parse::<u64>().ok());
    if last.is_some_and(|last| step <= last) {
        return Ok(false);
    }
    let key = step_key(user_id, step);
    if !store.put_if_absent(&key, b"1", CLAIMED_FOR).await? {
        return Ok(false);
    }
    let value = step.to_string();
    store
        .put(&last_key(user_id), value.as_bytes(), CLAIMED_FOR)
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqlStore;

    async fn store() -> SqlStore {
        let mut options = crate::database::pool_options("sqlite::memory:");
        options.max_connections(1);
        let db = sea_orm::Database::connect(options).await.unwrap();
        crate::database::migrate(&db).await.unwrap();
        SqlStore::new(db, crate::clock::TestClock::new())
    }

    #[tokio::test]
    async fn a_step_is_accepted_once_and_older_steps_never_after_it() {
        let store = store().await;
        assert!(accept_step(&store, "u", 100).await.unwrap());
        assert!(
            !accept_step(&store, "u", 100).await.unwrap(),
            "the same code again"
        );
        assert!(
            !accept_step(&store, "u", 99).await.unwrap(),
            "an older code"
        );
        assert!(accept_step(&store, "u", 101).await.unwrap());
        assert!(
            accept_step(&store, "someone-else", 100).await.unwrap(),
            "per user"
        );
    }
}
