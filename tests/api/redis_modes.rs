//! Gatehouse on Redis beyond one node: a full code + refresh flow on a 3-master Redis
//! Cluster (every multi-key step in one hash slot), a Sentinel failover in the middle of a
//! flow, followed without a restart; and refresh tokens from before hash tags on one server.

use std::time::Duration;

use gatehouse::settings::RedisMode;
use secrecy::SecretString;

use crate::flow::*;
use crate::helpers::{Backend, TestApp};
use crate::topology::{MASTER_NAME, NODE_PASSWORD, RedisCluster, RedisSentinels};

async fn tokens(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn token(body: &serde_json::Value, name: &str) -> String {
    body[name].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_and_refresh_flow_runs_on_a_redis_cluster() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::shared)
        .await
        .unwrap();
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.redis.mode = RedisMode::Cluster;
        s.redis.url = Some(SecretString::from(cluster.urls()));
    })
    .await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    let (code, verifier) = obtain_code(&app, WEB, "openid offline_access").await;
    let first = tokens(exchange_code(&app, WEB, &code, &verifier).await).await;
    let replayed = exchange_code(&app, WEB, &code, &verifier).await;
    assert_eq!(json_error(replayed).await, (400, "invalid_grant".into()));

    let (code, verifier) = obtain_code(&app, WEB, "openid offline_access").await;
    let issued = tokens(exchange_code(&app, WEB, &code, &verifier).await).await;
    let rt1 = token(&issued, "refresh_token");
    let second = tokens(refresh(&app, WEB, &rt1).await).await;
    let rt2 = token(&second, "refresh_token");
    let third = tokens(refresh(&app, WEB, &rt2).await).await;
    assert_eq!(
        userinfo_status(&app, &token(&third, "access_token")).await,
        200
    );

    // Reuse after the retry window revokes the family, and the access token minted in it.
    app.advance_clock(Duration::from_secs(11));
    let reused = refresh(&app, WEB, &rt1).await;
    assert_eq!(json_error(reused).await, (400, "invalid_grant".into()));
    let rt3 = token(&third, "refresh_token");
    assert_eq!(
        json_error(refresh(&app, WEB, &rt3).await).await,
        (400, "invalid_grant".into())
    );
    assert_eq!(
        userinfo_status(&app, &token(&third, "access_token")).await,
        401
    );
    // The replayed first code revoked what it issued.
    let first_access = token(&first, "access_token");
    assert_eq!(userinfo_status(&app, &first_access).await, 401);
    let made_up = refresh(&app, WEB, "made-up-token").await;
    assert_eq!(json_error(made_up).await, (400, "invalid_grant".into()));
}

/// The tests' clean-up on a cluster: KEYS runs on every master, DEL is split by slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_a_prefix_empties_it_on_every_node_of_a_cluster() {
    use gatehouse::store::{EphemeralStore, RedisStore};
    let cluster = tokio::task::spawn_blocking(RedisCluster::shared)
        .await
        .unwrap();
    let prefix = format!("gatehouse-test:{}:", uuid::Uuid::new_v4().simple());
    let mut settings = gatehouse::settings::Settings::built_in().unwrap().redis;
    settings.mode = RedisMode::Cluster;
    settings.url = Some(SecretString::from(cluster.urls()));
    settings.key_prefix = prefix.clone();
    let store = RedisStore::connect(&settings).unwrap();
    for i in 0..50 {
        let ttl = Duration::from_secs(60);
        store.put(&format!("k{i}"), b"v", ttl).await.unwrap();
    }
    let on = |keys: &[Vec<String>]| keys.iter().filter(|k| !k.is_empty()).count();
    let before = keys_per_node(&cluster, &prefix).await;
    assert_eq!(on(&before), 3, "the keys spread over every master");

    store.clear_prefix().await.unwrap();

    assert_eq!(on(&keys_per_node(&cluster, &prefix).await), 0);
}

async fn keys_per_node(cluster: &RedisCluster, prefix: &str) -> Vec<Vec<String>> {
    use deadpool_redis::redis::AsyncCommands;
    let mut all = Vec::new();
    for node in &cluster.nodes {
        let keys: Vec<String> = node
            .connection()
            .await
            .keys(format!("{prefix}*"))
            .await
            .unwrap();
        all.push(keys);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_mid_flow_is_followed_without_a_restart() {
    let mut redis = tokio::task::spawn_blocking(RedisSentinels::start)
        .await
        .unwrap();
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.redis.mode = RedisMode::Sentinel;
        s.redis.url = Some(SecretString::from(redis.urls()));
        s.redis.sentinel_master = MASTER_NAME.into();
        s.redis.sentinel_node_password = Some(SecretString::from(NODE_PASSWORD));
    })
    .await;
    let (code, verifier) = obtain_code(&app, WEB, "openid offline_access").await;
    let issued = tokens(exchange_code(&app, WEB, &code, &verifier).await).await;
    let (pending_code, pending_verifier) = obtain_code(&app, WEB, "openid").await;

    redis.kill_master_after_replication().await;
    redis.wait_for_failover().await;
    let mut ready = false;
    for _ in 0..100 {
        if app.get("/readyz").await.status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again on the new master");

    let exchanged = exchange_code(&app, WEB, &pending_code, &pending_verifier).await;
    assert!(tokens(exchanged).await["id_token"].is_string());
    let refreshed = tokens(refresh(&app, WEB, &token(&issued, "refresh_token")).await).await;
    assert_eq!(
        userinfo_status(&app, &token(&refreshed, "access_token")).await,
        200
    );
    // The browser session made before the failover still signs in without a password.
    let (verifier, challenge) = pkce_pair();
    let mut params = standard_params(WEB, &challenge, "openid");
    params.push(("prompt", "none"));
    let (status, location, _) = navigate(&app, &authorize_url(&app, &params)).await;
    assert_eq!(status, 302);
    let code = query(&location.unwrap())["code"].clone();
    assert_eq!(
        exchange_code(&app, WEB, &code, &verifier).await.status(),
        200
    );
}

/// A refresh token minted before hash tags (no `TAG.` prefix, stored at `rt:DIGEST`) still
/// rotates on one Redis server after an upgrade; its successor carries a tag, and a reuse of
/// it is still caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_from_before_hash_tags_still_rotates() {
    use gatehouse::random::{digest, token as random_token};
    use gatehouse::store::EphemeralStore;
    let app = TestApp::spawn(Backend::Postgres).await;
    let store = crate::helpers::redis_store(&app.isolation.redis_prefix).unwrap();
    let (code, verifier) = obtain_code(&app, WEB, "openid offline_access").await;
    let issued = tokens(exchange_code(&app, WEB, &code, &verifier).await).await;
    let tagged = token(&issued, "refresh_token");
    let (tag, _) = tagged.split_once('.').unwrap();
    let grant = store
        .take(&format!("rt:{{{tag}}}:{}", digest(&tagged)))
        .await
        .unwrap()
        .expect("the tagged token's key");
    // The same grant under an old-style token and key, as an earlier version stored it.
    let legacy = random_token();
    let ttl = Duration::from_secs(3600);
    store
        .put(&format!("rt:{}", digest(&legacy)), &grant, ttl)
        .await
        .unwrap();

    let rotated = tokens(refresh(&app, WEB, &legacy).await).await;
    let next = token(&rotated, "refresh_token");
    let (next_tag, secret) = next.split_once('.').expect("the successor has a tag");
    assert!(next_tag.len() == 8 && !secret.is_empty(), "{next}");
    let again = tokens(refresh(&app, WEB, &next).await).await;
    app.advance_clock(Duration::from_secs(11));
    let reused = refresh(&app, WEB, &legacy).await;
    assert_eq!(json_error(reused).await, (400, "invalid_grant".into()));
    let latest = refresh(&app, WEB, &token(&again, "refresh_token")).await;
    assert_eq!(
        json_error(latest).await,
        (400, "invalid_grant".into()),
        "the reuse revoked the family"
    );
}
