//! One contract for every ephemeral store: Redis (one server, and a 3-master Redis Cluster),
//! the in-place SQLite store and the SQL table.

use std::sync::Arc;
use std::time::Duration;

use gatehouse::clock::{SharedClock, TestClock};
use gatehouse::settings::{RedisMode, Settings};
use gatehouse::store::{EphemeralStore, RedisStore, SqlStore, SqliteStore, Write};
use secrecy::SecretString;

use crate::helpers::{Backend, Isolation, redis_store, redis_url};
use crate::topology::RedisCluster;

/// How a test moves a store's time forward: the SQL stores keep time by their clock; Redis
/// by its own, so there every TTL under the test's prefix is shortened instead, as the
/// passing of time would (and what reaches zero is gone).
enum Time {
    Clock(Arc<TestClock>),
    Redis(String),
    /// The cluster stays up while a test holds it.
    Cluster(String, Arc<RedisCluster>),
}

impl Time {
    async fn advance(&self, by: Duration) {
        match self {
            Time::Clock(clock) => clock.advance(by),
            Time::Redis(prefix) => shorten_redis_ttls(prefix, by).await,
            Time::Cluster(prefix, cluster) => {
                for node in &cluster.nodes {
                    shorten_node_ttls(&mut node.connection().await, prefix, by).await;
                }
            }
        }
    }
}

/// As [`shorten_redis_ttls`], key by key: a cluster node runs no script over keys it was
/// not given, and each node holds its own slots' keys.
async fn shorten_node_ttls(
    conn: &mut deadpool_redis::redis::aio::MultiplexedConnection,
    prefix: &str,
    by: Duration,
) {
    use deadpool_redis::redis::{self, AsyncCommands};
    let by = by.as_millis() as i64;
    let keys: Vec<String> = conn.keys(format!("{prefix}*")).await.unwrap();
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(conn)
            .await
            .unwrap();
        if ttl > 0 && ttl <= by {
            let _: () = conn.del(&key).await.unwrap();
        } else if ttl > 0 {
            let _: () = conn.pexpire(&key, ttl - by).await.unwrap();
        }
    }
}

/// A store on the shared test cluster, under its own prefix.
fn cluster_store(cluster: &RedisCluster, prefix: &str) -> RedisStore {
    let mut settings = Settings::built_in().unwrap().redis;
    settings.mode = RedisMode::Cluster;
    settings.url = Some(SecretString::from(cluster.urls()));
    settings.key_prefix = prefix.to_owned();
    RedisStore::connect(&settings).unwrap()
}

async fn shorten_redis_ttls(prefix: &str, by: Duration) {
    use deadpool_redis::redis;
    const SCRIPT: &str = r"
        for _, key in ipairs(redis.call('KEYS', ARGV[1])) do
          local ttl = redis.call('PTTL', key)
          if ttl > 0 then
            if ttl <= tonumber(ARGV[2]) then redis.call('DEL', key)
            else redis.call('PEXPIRE', key, ttl - tonumber(ARGV[2])) end
          end
        end
        return 0";
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = redis::cmd("EVAL")
        .arg(SCRIPT)
        .arg(0)
        .arg(format!("{prefix}*"))
        .arg(by.as_millis() as u64)
        .query_async(&mut conn)
        .await
        .unwrap();
}

type Case = (String, Arc<Isolation>, Arc<dyn EphemeralStore>, Time);

/// (backend, store, time): Redis for Postgres+Redis, the in-place SQLite store for SQLite;
/// plus the SQL table through the pool on Postgres (the production database without Redis)
/// and on SQLite (an in-memory database's store).
async fn stores() -> Vec<Case> {
    let sqlite = Arc::new(Isolation::new(Backend::Sqlite).await);
    let postgres = Arc::new(Isolation::new(Backend::Postgres).await);
    // Its own database: both SQLite stores use the same tables.
    let sqlite_too = Arc::new(Isolation::new(Backend::Sqlite).await);
    let clocks: Vec<Arc<TestClock>> = (0..3).map(|_| TestClock::new()).collect();
    let clock = |i: usize| -> SharedClock { clocks[i].clone() };
    let in_place = sqlite_store(&sqlite, clock(0)).await;
    let sql_on_sqlite = Arc::new(SqlStore::new(sqlite_too.connect().await, clock(1)));
    let sql_on_pg = Arc::new(SqlStore::new(postgres.connect().await, clock(2)));
    let redis = Arc::new(redis_store(&postgres.redis_prefix).unwrap());
    let redis_time = Time::Redis(postgres.redis_prefix.clone());
    let cluster = tokio::task::spawn_blocking(RedisCluster::shared)
        .await
        .unwrap();
    let on_cluster = Arc::new(cluster_store(&cluster, &postgres.redis_prefix));
    let cluster_time = Time::Cluster(postgres.redis_prefix.clone(), cluster);
    vec![
        (
            "redis-cluster".into(),
            postgres.clone(),
            on_cluster,
            cluster_time,
        ),
        (
            "sqlite".into(),
            sqlite,
            in_place,
            Time::Clock(clocks[0].clone()),
        ),
        (
            "sql/sqlite".into(),
            sqlite_too,
            sql_on_sqlite,
            Time::Clock(clocks[1].clone()),
        ),
        ("redis".into(), postgres.clone(), redis, redis_time),
        (
            "sql/postgres".into(),
            postgres,
            sql_on_pg,
            Time::Clock(clocks[2].clone()),
        ),
    ]
}

/// The in-place store on this isolation's (migrated) SQLite file.
async fn sqlite_store(iso: &Isolation, clock: SharedClock) -> Arc<SqliteStore> {
    iso.connect().await;
    let file = gatehouse::database::sqlite_file(&iso.database_url)
        .unwrap()
        .expect("test databases are files");
    Arc::new(SqliteStore::open(&file, Duration::from_secs(3600), clock).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_delete_round_trip() {
    for (name, _iso, store, _time) in stores().await {
        store
            .put("k", b"v1", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            store.get("k").await.unwrap().as_deref(),
            Some(&b"v1"[..]),
            "{name}"
        );
        store
            .put("k", b"v2", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            store.get("k").await.unwrap().as_deref(),
            Some(&b"v2"[..]),
            "{name}"
        );
        store.delete("k").await.unwrap();
        assert_eq!(store.get("k").await.unwrap(), None, "{name}");
        store.ping().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_expire_after_their_ttl() {
    for (name, _iso, store, time) in stores().await {
        store
            .put("short", b"x", Duration::from_secs(30))
            .await
            .unwrap();
        assert!(store.get("short").await.unwrap().is_some(), "{name}");
        time.advance(Duration::from_secs(31)).await;
        assert_eq!(
            store.get("short").await.unwrap(),
            None,
            "{name}: expired value is gone"
        );
        assert_eq!(
            store.take("short").await.unwrap(),
            None,
            "{name}: and cannot be taken"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_is_once_even_under_concurrency() {
    for (name, _iso, store, _time) in stores().await {
        for round in 0..5 {
            let key = format!("code-{round}");
            store
                .put(&key, b"grant", Duration::from_secs(60))
                .await
                .unwrap();
            let takers: Vec<_> = (0..8)
                .map(|_| {
                    let (store, key) = (store.clone(), key.clone());
                    tokio::spawn(async move { store.take(&key).await.unwrap() })
                })
                .collect();
            let mut winners = 0;
            for taker in takers {
                if taker.await.unwrap().is_some() {
                    winners += 1;
                }
            }
            assert_eq!(winners, 1, "{name}: exactly one concurrent take wins");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_if_absent_respects_live_values_only() {
    for (name, _iso, store, time) in stores().await {
        assert!(
            store
                .put_if_absent("jti", b"1", Duration::from_secs(30))
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !store
                .put_if_absent("jti", b"2", Duration::from_secs(60))
                .await
                .unwrap(),
            "{name}"
        );
        assert_eq!(
            store.get("jti").await.unwrap().as_deref(),
            Some(&b"1"[..]),
            "{name}"
        );
        time.advance(Duration::from_secs(31)).await;
        assert!(
            store
                .put_if_absent("jti", b"3", Duration::from_secs(60))
                .await
                .unwrap(),
            "{name}: after expiry"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_count_and_restart_after_expiry() {
    for (name, _iso, store, time) in stores().await {
        let ttl = Duration::from_secs(30);
        assert_eq!(store.incr("hits", ttl).await.unwrap(), 1, "{name}");
        assert_eq!(store.incr("hits", ttl).await.unwrap(), 2, "{name}");
        assert_eq!(store.incr("hits", ttl).await.unwrap(), 3, "{name}");
        time.advance(Duration::from_secs(31)).await;
        assert_eq!(
            store.incr("hits", ttl).await.unwrap(),
            1,
            "{name}: window restarted"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_count_the_current_and_read_the_previous() {
    for (name, _iso, store, time) in stores().await {
        let ttl = Duration::from_secs(30);
        let (cur, prev) = ("w:{ip}:2", "w:{ip}:1");
        assert_eq!(store.window(cur, prev, ttl, false).await.unwrap(), (0, 0));
        assert_eq!(store.incr(prev, ttl).await.unwrap(), 1, "{name}");
        assert_eq!(store.window(cur, prev, ttl, true).await.unwrap(), (1, 1));
        assert_eq!(store.window(cur, prev, ttl, true).await.unwrap(), (2, 1));
        assert_eq!(store.window(cur, prev, ttl, false).await.unwrap(), (2, 1));
        assert_eq!(store.counter(cur).await.unwrap(), 2, "{name}");
        time.advance(Duration::from_secs(31)).await;
        assert_eq!(
            store.window(cur, prev, ttl, false).await.unwrap(),
            (0, 0),
            "{name}: both expired"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_add_remove_list_and_expire() {
    for (name, _iso, store, time) in stores().await {
        let ttl = Duration::from_secs(30);
        store.set_add("s", "b", ttl).await.unwrap();
        store.set_add("s", "a", ttl).await.unwrap();
        store.set_add("s", "a", ttl).await.unwrap();
        let mut members = store.set_members("s").await.unwrap();
        members.sort();
        assert_eq!(members, vec!["a", "b"], "{name}");
        store.set_remove("s", "a").await.unwrap();
        assert_eq!(store.set_members("s").await.unwrap(), vec!["b"], "{name}");
        time.advance(Duration::from_secs(31)).await;
        assert!(
            store.set_members("s").await.unwrap().is_empty(),
            "{name}: the set expired"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_applies_every_write() {
    use gatehouse::store::Write;
    for (name, _iso, store, _time) in stores().await {
        let ttl = Duration::from_secs(60);
        store.put("gone", b"x", ttl).await.unwrap();
        store.put("kept", b"old", ttl).await.unwrap();
        let writes = vec![
            Write::Put {
                key: "new".into(),
                value: b"v".to_vec(),
                ttl,
            },
            Write::PutIfAbsent {
                key: "kept".into(),
                value: b"ignored".to_vec(),
                ttl,
            },
            Write::PutIfAbsent {
                key: "fresh".into(),
                value: b"f".to_vec(),
                ttl,
            },
            Write::Delete { key: "gone".into() },
            Write::SetAdd {
                key: "members".into(),
                member: "m1".into(),
                ttl,
            },
        ];

        store.batch(&writes).await.unwrap();

        assert_eq!(
            store.get("new").await.unwrap().as_deref(),
            Some(&b"v"[..]),
            "{name}"
        );
        assert_eq!(
            store.get("kept").await.unwrap().as_deref(),
            Some(&b"old"[..]),
            "{name}: live value kept"
        );
        assert_eq!(
            store.get("fresh").await.unwrap().as_deref(),
            Some(&b"f"[..]),
            "{name}"
        );
        assert_eq!(store.get("gone").await.unwrap(), None, "{name}");
        assert_eq!(
            store.set_members("members").await.unwrap(),
            vec!["m1"],
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_marking_reads_and_exactly_one_caller_marks() {
    for (name, _iso, store, _time) in stores().await {
        let ttl = Duration::from_secs(60);
        store.put("{t}token", b"grant", ttl).await.unwrap();

        let markers: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
        let claims = futures_util::future::join_all(
            markers
                .iter()
                .map(|m| store.get_marking("{t}token", "{t}claimed", m.as_bytes(), ttl)),
        )
        .await;

        let claims: Vec<_> = claims.into_iter().map(Result::unwrap).collect();
        assert!(
            claims
                .iter()
                .all(|c| c.as_ref().map(|(v, _)| &v[..]) == Some(&b"grant"[..])),
            "{name}: every caller reads the value"
        );
        let winners: Vec<_> = (0..8).filter(|&i| claims[i].as_ref().unwrap().1).collect();
        assert_eq!(winners.len(), 1, "{name}: exactly one caller marks");
        assert_eq!(
            store.get("{t}claimed").await.unwrap(),
            Some(format!("m{}", winners[0]).into_bytes()),
            "{name}: the winner's marker is kept"
        );
        assert_eq!(
            store.get("{t}token").await.unwrap().as_deref(),
            Some(&b"grant"[..]),
            "{name}: the value stays"
        );
        assert_eq!(
            store
                .get_marking("{n}none", "{n}m", b"x", ttl)
                .await
                .unwrap(),
            None,
            "{name}"
        );
        assert_eq!(
            store.get("{n}m").await.unwrap(),
            None,
            "{name}: no marker without a value"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn take_leaving_marks_only_a_successful_take() {
    for (name, _iso, store, _time) in stores().await {
        let ttl = Duration::from_secs(60);
        store.put("{c}code", b"grant", ttl).await.unwrap();

        let first = store
            .take_leaving("{c}code", "{c}used", b"issued", ttl)
            .await
            .unwrap();
        let second = store
            .take_leaving("{c}code", "{c}used", b"other", ttl)
            .await
            .unwrap();

        assert_eq!(first.as_deref(), Some(&b"grant"[..]), "{name}");
        assert_eq!(second, None, "{name}");
        assert_eq!(
            store.get("{c}used").await.unwrap().as_deref(),
            Some(&b"issued"[..]),
            "{name}: first marker kept"
        );
        assert_eq!(
            store
                .take_leaving("{n}none", "{n}m", b"x", ttl)
                .await
                .unwrap(),
            None,
            "{name}"
        );
        assert_eq!(
            store.get("{n}m").await.unwrap(),
            None,
            "{name}: no marker without a value"
        );
    }
}

/// The in-place SQLite store's purge removes expired entries and members, in chunks, and
/// leaves live ones; a purge runs beside requests without losing their writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_purge_removes_only_expired_rows() {
    let iso = Isolation::new(Backend::Sqlite).await;
    iso.connect().await;
    let file = gatehouse::database::sqlite_file(&iso.database_url)
        .unwrap()
        .unwrap();
    let clock = TestClock::new();
    let store = SqliteStore::open(&file, Duration::from_secs(3600), clock.clone()).unwrap();
    let (short, long) = (Duration::from_secs(30), Duration::from_secs(600));
    // More than one purge chunk (500 rows) of expired entries.
    let expired: Vec<Write> = (0..1200)
        .map(|i| Write::Put {
            key: format!("old:{i}"),
            value: b"x".to_vec(),
            ttl: short,
        })
        .collect();
    store.batch(&expired).await.unwrap();
    store.set_add("set", "old", short).await.unwrap();
    clock.advance(Duration::from_secs(31));
    store.put("live", b"v", long).await.unwrap();
    store.set_add("set", "live", long).await.unwrap();

    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                store.put(&format!("new:{i}"), b"n", long).await.unwrap();
            }
        })
    };
    let purged = store.purge_expired().unwrap();
    writer.await.unwrap();

    assert_eq!(purged, 1201, "1200 entries and one set member");
    assert_eq!(store.get("live").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(
        store.get("new:199").await.unwrap().as_deref(),
        Some(&b"n"[..])
    );
    assert_eq!(
        store.set_members("set").await.unwrap(),
        vec!["live".to_owned()]
    );
    assert_eq!(store.purge_expired().unwrap(), 0, "nothing left to purge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_if_present_never_brings_back_a_deleted_value() {
    for (name, _iso, store, time) in stores().await {
        let ttl = Duration::from_secs(30);
        assert!(
            !store.put_if_present("s", b"v", ttl).await.unwrap(),
            "{name}: absent"
        );
        assert_eq!(
            store.get("s").await.unwrap(),
            None,
            "{name}: nothing stored"
        );
        store.put("s", b"v1", ttl).await.unwrap();
        assert!(
            store.put_if_present("s", b"v2", ttl).await.unwrap(),
            "{name}: live"
        );
        assert_eq!(
            store.get("s").await.unwrap().as_deref(),
            Some(&b"v2"[..]),
            "{name}"
        );
        store.delete("s").await.unwrap();
        assert!(
            !store.put_if_present("s", b"v3", ttl).await.unwrap(),
            "{name}: deleted"
        );
        assert_eq!(store.get("s").await.unwrap(), None, "{name}: stays deleted");
        store.put("e", b"v1", ttl).await.unwrap();
        time.advance(Duration::from_secs(31)).await;
        assert!(
            !store.put_if_present("e", b"v2", ttl).await.unwrap(),
            "{name}: expired"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_if_deletes_only_the_expected_value() {
    for (name, _iso, store, _time) in stores().await {
        let ttl = Duration::from_secs(30);
        store.put("claim", b"mine", ttl).await.unwrap();
        assert!(!store.delete_if("claim", b"yours").await.unwrap(), "{name}");
        assert_eq!(
            store.get("claim").await.unwrap().as_deref(),
            Some(&b"mine"[..]),
            "{name}"
        );
        assert!(store.delete_if("claim", b"mine").await.unwrap(), "{name}");
        assert_eq!(store.get("claim").await.unwrap(), None, "{name}");
        assert!(
            !store.delete_if("claim", b"mine").await.unwrap(),
            "{name}: already gone"
        );
    }
}

/// A TOTP code presented at once to several instances (several tasks on one store) is
/// accepted by exactly one of them, on every backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_totp_step_is_accepted_exactly_once_under_concurrency() {
    use gatehouse::mfa::replay::accept_step;
    for (name, _iso, store, _time) in stores().await {
        let tries: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { accept_step(store.as_ref(), "uma", 56_666_667).await })
            })
            .collect();
        let mut accepted = 0;
        for attempt in tries {
            if attempt.await.unwrap().unwrap() {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 1, "{name}: one acceptance");
        let older = accept_step(store.as_ref(), "uma", 56_666_666)
            .await
            .unwrap();
        assert!(!older, "{name}: an older step after it");
    }
}
