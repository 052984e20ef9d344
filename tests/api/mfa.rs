//! The second-factor capability on both backends: enrolment, TOTP codes (each accepted once,
//! at any instance), recovery codes (single use, replaced on regeneration), removal.

use std::sync::Arc;
use std::time::Duration;

use gatehouse::clock::{Clock, SharedClock};
use gatehouse::keys::KeyRing;
use gatehouse::mfa::{Factors, Passed};
use gatehouse::store::{SqliteStore, Store};

use crate::backend_tests;
use crate::helpers::{Backend, Isolation, redis_store};

backend_tests!(totp_and_recovery_codes_from_enrolment_to_removal);

/// The capability as one instance has it; a second call is a second instance.
pub async fn instance(iso: &Isolation, keys: Arc<KeyRing>) -> Factors {
    let db = iso.connect().await;
    let store: Store = match iso.backend {
        Backend::Postgres => Arc::new(redis_store(&iso.redis_prefix).unwrap()),
        Backend::Sqlite => {
            let file = gatehouse::database::sqlite_file(&iso.database_url)
                .unwrap()
                .unwrap();
            let clock: SharedClock = iso.clock.clone();
            Arc::new(SqliteStore::open(&file, Duration::from_secs(3600), clock).unwrap())
        }
    };
    let settings = iso.settings(0);
    Factors {
        db,
        store,
        keys,
        passwords: gatehouse::accounts::Passwords::new(
            &settings.passwords,
            &gatehouse::metrics::Metrics::new().unwrap(),
        )
        .unwrap(),
        clock: iso.clock.clone(),
    }
}

async fn totp_and_recovery_codes_from_enrolment_to_removal(backend: Backend) {
    let iso = Isolation::new(backend).await;
    let keys = Arc::new(KeyRing::in_memory(2048).unwrap());
    let first = instance(&iso, keys.clone()).await;
    let second = instance(&iso, keys).await;
    let now = || iso.clock.now().secs() as u64;

    assert!(!first.has_totp("uma").await.unwrap());
    let secret = first.begin_totp("uma").await.unwrap().unwrap();
    let wrong = if secret.code_at(now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(first.confirm_totp("uma", wrong).await.unwrap(), None);
    let enrolment_code = secret.code_at(now());
    let codes = first
        .confirm_totp("uma", &enrolment_code)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(codes.len(), 10);
    assert!(first.has_totp("uma").await.unwrap());
    assert!(
        first.begin_totp("uma").await.unwrap().is_none(),
        "a confirmed factor stays"
    );
    assert_eq!(
        second.check("uma", &enrolment_code).await.unwrap(),
        None,
        "the enrolment's code is used, at the other instance too"
    );

    iso.clock.advance(Duration::from_secs(30));
    let code = secret.code_at(now());
    assert_eq!(first.check("uma", &code).await.unwrap(), Some(Passed::Totp));
    assert_eq!(
        first.check("uma", &code).await.unwrap(),
        None,
        "replayed here"
    );
    assert_eq!(
        second.check("uma", &code).await.unwrap(),
        None,
        "replayed there"
    );
    assert_eq!(first.check("uma", wrong).await.unwrap(), None);

    let recovery = codes[0].to_uppercase();
    assert_eq!(
        second.check("uma", &recovery).await.unwrap(),
        Some(Passed::RecoveryCode)
    );
    assert_eq!(
        first.check("uma", &codes[0]).await.unwrap(),
        None,
        "single use"
    );
    let fresh = first.regenerate_codes("uma").await.unwrap();
    assert_eq!(
        first.check("uma", &codes[1]).await.unwrap(),
        None,
        "the old set is gone"
    );
    assert_eq!(
        first.check("uma", &fresh[0]).await.unwrap(),
        Some(Passed::RecoveryCode)
    );

    first.remove("uma").await.unwrap();
    assert!(!second.has_totp("uma").await.unwrap());
    iso.clock.advance(Duration::from_secs(30));
    assert_eq!(
        first.check("uma", &secret.code_at(now())).await.unwrap(),
        None
    );
    assert_eq!(first.check("uma", &fresh[1]).await.unwrap(), None);
}

/// `keys rewrap` moves TOTP secrets to the new master key with the signing keys.
#[tokio::test]
async fn a_master_key_rotation_rewraps_the_totp_secrets() {
    use gatehouse::keys::{MasterKey, RewrapCounts};
    let iso = Isolation::new(Backend::Sqlite).await;
    let db = iso.connect().await;
    let key = || MasterKey::from_encoded(&MasterKey::generate_encoded(), "k").unwrap();
    let (old, new) = (key(), key());
    let secret = gatehouse::mfa::totp::TotpSecret::generate();
    let sealed = old.encrypt(secret.as_bytes()).unwrap();
    let now = iso.clock.now();
    assert!(
        gatehouse::mfa::store::begin_totp(&db, "uma", sealed, now)
            .await
            .unwrap()
    );

    let report = gatehouse::keys::rewrap(&db, &old, &new).await.unwrap();
    let moved = RewrapCounts {
        rewrapped: 1,
        already_current: 0,
    };
    assert_eq!(report.totp_secrets, moved);
    let row = gatehouse::mfa::store::totp_of(&db, "uma")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.decrypt(&row.secret_jwe).unwrap(), secret.as_bytes());
    let again = gatehouse::keys::rewrap(&db, &old, &new).await.unwrap();
    assert_eq!(again.totp_secrets.already_current, 1);
}
