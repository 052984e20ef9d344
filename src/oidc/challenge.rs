//! A sign-in waiting for its second factor: the password was right (or, for a step-up, the
//! session's was), and the session starts only once a code passes. Kept in the shared store
//! under the digest of its id, bound to the browser that began it like a pending request,
//! so any instance can continue it and nobody else can.

use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::session::PasswordPassed;
use crate::clock::UnixTime;
use crate::random;
use crate::store::EphemeralStore;

/// How long the code page waits: as long as a pending authorization request.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(10 * 60);

/// Where the browser goes once the factor passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Then {
    /// Back to the pending authorization request `request`.
    Authorize { request: String },
    /// To a page of ours (the account page's sign-in).
    Go { path: String },
}

/// A code mailed for this sign-in: its digest and when it stops working.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MailedCode {
    pub digest: String,
    pub expires_at: i64,
    /// Where it went, masked (see [`masked`]), for the page to say.
    pub to: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Challenge {
    pub passed: PasswordPassed,
    /// Digest of the browser's binding cookie.
    pub browser: String,
    pub then: Then,
    /// The session is already signed in with the password: it is raised, not started.
    pub step_up: bool,
    /// Wrong codes so far.
    pub failures: u32,
    pub mailed: Option<MailedCode>,
    pub expires_at: i64,
}

impl Challenge {
    pub fn new(passed: PasswordPassed, binding: &str, then: Then, now: UnixTime) -> Self {
        Self {
            passed,
            browser: random::digest(binding),
            then,
            step_up: false,
            failures: 0,
            mailed: None,
            expires_at: now.plus(CHALLENGE_TTL).secs(),
        }
    }

    /// Whether `typed` is the mailed code, still valid at `now`.
    pub fn mailed_code_matches(&self, typed: &str, now: UnixTime) -> bool {
        let Some(mailed) = &self.mailed else {
            return false;
        };
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        let digest = random::digest(&typed);
        mailed.expires_at > now.secs()
            && bool::from(digest.as_bytes().ct_eq(mailed.digest.as_bytes()))
    }

    fn remaining(&self, now: UnixTime) -> Duration {
        Duration::from_secs((self.expires_at - now.secs()).max(1) as u64)
    }
}

/// A new code to mail to `email`: six digits, uniformly drawn.
pub fn new_mailed_code(email: &str, ttl: Duration, now: UnixTime) -> (String, MailedCode) {
    use rand::Rng;
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let mailed = MailedCode {
        digest: random::digest(&code),
        expires_at: now.plus(ttl).secs(),
        to: masked(email),
    };
    (code, mailed)
}

fn key(id: &str) -> String {
    format!("factor-challenge:{}", random::digest(id))
}

/// Stores a new challenge; returns its id.
pub async fn open(store: &dyn EphemeralStore, challenge: &Challenge) -> anyhow::Result<String> {
    let id = random::token();
    let value = serde_json::to_vec(challenge)?;
    store.put(&key(&id), &value, CHALLENGE_TTL).await?;
    Ok(id)
}

/// The challenge `id` if it is live and belongs to this browser.
pub async fn load(
    store: &dyn EphemeralStore,
    id: &str,
    binding: &str,
    now: UnixTime,
) -> anyhow::Result<Option<Challenge>> {
    let Some(raw) = store.get(&key(id)).await? else {
        return Ok(None);
    };
    let challenge: Challenge = serde_json::from_slice(&raw).context("stored challenge")?;
    let mine = challenge.browser == random::digest(binding) && challenge.expires_at > now.secs();
    Ok(mine.then_some(challenge))
}

/// Stores what changed (a failure counted, a code mailed), if it is still there.
pub async fn update(
    store: &dyn EphemeralStore,
    id: &str,
    challenge: &Challenge,
    now: UnixTime,
) -> anyhow::Result<()> {
    let value = serde_json::to_vec(challenge)?;
    store
        .put_if_present(&key(id), &value, challenge.remaining(now))
        .await?;
    Ok(())
}

/// Ends the challenge; `true` for the one caller that ended it (so a form sent twice
/// signs in once).
pub async fn finish(store: &dyn EphemeralStore, id: &str) -> anyhow::Result<bool> {
    Ok(store.take(&key(id)).await?.is_some())
}

/// "a•••@example.com": enough for the person to recognise the address, not to learn it.
pub fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "your email address".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailed_code_matches_until_it_expires() {
        let now = UnixTime::from_secs(1_700_000_000);
        let (code, mailed) = new_mailed_code("a@example.com", Duration::from_secs(600), now);
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        let passed: PasswordPassed = serde_json::from_value(serde_json::json!({
            "user_id": "u", "account": "a", "lockout_subject": "s"
        }))
        .unwrap();
        let mut challenge = Challenge::new(passed, "b", Then::Go { path: "/".into() }, now);
        assert!(
            !challenge.mailed_code_matches(&code, now),
            "nothing mailed yet"
        );
        challenge.mailed = Some(mailed);
        assert!(challenge.mailed_code_matches(&code, now));
        assert!(challenge.mailed_code_matches(&format!(" {} {} ", &code[..3], &code[3..]), now));
        assert!(!challenge.mailed_code_matches("000000x", now));
        assert!(!challenge.mailed_code_matches(&code, now.plus(Duration::from_secs(600))));
    }

    #[test]
    fn an_address_is_masked_but_recognisable() {
        assert_eq!(masked("ada@example.com"), "a•••@example.com");
        assert_eq!(masked("nonsense"), "your email address");
    }
}
