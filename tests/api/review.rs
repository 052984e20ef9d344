//! The security review's findings, one test (or more) per item, named after it.

use crate::backend_tests;
use crate::flow::*;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    item_01_a_refused_refresh_leaves_the_token_usable,
    item_02_a_code_from_an_ended_session_is_refused,
    item_03_authorization_requests_are_bounded,
    item_04_overlong_client_ids_are_refused_before_any_lookup,
    item_05_client_assertions_are_bounded,
    item_06_bearer_errors_follow_rfc_6750,
    item_07_id_token_hint_names_the_user_at_authorize,
    item_08_request_objects_are_request_not_supported,
    item_09_revoking_a_refresh_token_revokes_its_access_tokens,
    item_10_introspection_shows_a_client_only_its_own_tokens,
    item_11_resource_indicators_set_the_audience,
    item_12_public_clients_get_no_refresh_grace,
    item_13_https_cookies_are_host_prefixed,
    item_13_csrf_values_are_keyed,
    item_13_logout_refuses_repeated_parameters,
    item_14_forwarded_addresses_count_only_from_trusted_proxies,
);

async fn item_05_client_assertions_are_bounded(backend: Backend) {
    use crate::private_key_jwt::{grant, key_pair, register, signed};
    let app = TestApp::spawn(backend).await;
    let key = key_pair();
    register(&app, "jwt-client", &key).await;
    let token_endpoint = app.url("/token");
    let now = chrono::Utc::now().timestamp();
    let claims = |aud: serde_json::Value, iat: i64, exp: i64, jti: &str| {
        serde_json::json!({
            "iss": "jwt-client", "sub": "jwt-client", "aud": aud, "jti": jti, "iat": iat, "exp": exp,
        })
    };
    let refused = |response: reqwest::Response| async { json_error(response).await.1 };

    let far = signed(
        &key,
        &claims(token_endpoint.clone().into(), now, now + 86_400 * 10, "a"),
    );
    assert_eq!(
        refused(grant(&app, &far).await).await,
        "invalid_client",
        "exp 10 days out"
    );
    let huge = signed(
        &key,
        &claims(token_endpoint.clone().into(), now, i64::MAX, "b"),
    );
    assert_eq!(
        refused(grant(&app, &huge).await).await,
        "invalid_client",
        "exp near i64::MAX"
    );
    let future = signed(
        &key,
        &claims(token_endpoint.clone().into(), now + 3600, now + 60, "c"),
    );
    assert_eq!(
        refused(grant(&app, &future).await).await,
        "invalid_client",
        "iat in the future"
    );
    let many = serde_json::json!([token_endpoint, "https://rp.example/token"]);
    let injected = signed(&key, &claims(many, now, now + 60, "d"));
    assert_eq!(
        refused(grant(&app, &injected).await).await,
        "invalid_client",
        "aud array"
    );

    let revoke_aud = signed(&key, &claims(app.url("/revoke").into(), now, now + 60, "e"));
    let form = [
        ("token", "anything"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", revoke_aud.as_str()),
    ];
    let at_revoke = reqwest::Client::new()
        .post(app.url("/revoke"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        at_revoke.status(),
        401,
        "only the issuer or the token endpoint as aud"
    );

    let good = signed(&key, &claims(token_endpoint.into(), now, now + 60, "f"));
    assert_eq!(
        grant(&app, &good).await.status(),
        200,
        "a bounded assertion still works"
    );
}

async fn item_08_request_objects_are_request_not_supported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, challenge) = pkce_pair();
    let mut params = standard_params(SPA, &challenge, "openid");
    params.push(("request", "eyJhbGciOiJub25lIn0.e30."));

    let (status, location, _) = navigate(&app, &authorize_url(&app, &params)).await;

    assert_eq!(status, 302);
    let answer = query(&location.unwrap());
    assert_eq!(answer["error"], "request_not_supported");
    assert_eq!(answer["state"], "st-1");
    assert_eq!(answer["iss"], app.address);

    let mut params = standard_params(SPA, &challenge, "openid");
    params.push(("request_uri", "https://rp.example/request.jwt"));
    params.push(("response_mode", "form_post"));
    let (status, _, body) = navigate(&app, &authorize_url(&app, &params)).await;
    assert_eq!(status, 200);
    assert_eq!(
        hidden_field(&body, "error").as_deref(),
        Some("request_uri_not_supported")
    );
    assert_eq!(hidden_field(&body, "state").as_deref(), Some("st-1"));
    assert_eq!(
        hidden_field(&body, "iss").as_deref(),
        Some(app.address.as_str())
    );
}

async fn item_06_bearer_errors_follow_rfc_6750(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let anonymous = app.get("/userinfo").await;

    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        r#"Bearer realm="gatehouse""#
    );
    assert!(
        anonymous.text().await.unwrap().is_empty(),
        "no error code for a request without credentials"
    );

    let tokens: serde_json::Value = token_request(
        &app,
        WEB,
        &[("grant_type", "client_credentials"), ("scope", "profile")],
    )
    .await
    .json()
    .await
    .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let without_openid = app
        .http
        .get(app.url("/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(without_openid.status(), 403);
    let challenge = without_openid.headers()["www-authenticate"]
        .to_str()
        .unwrap();
    assert!(challenge.starts_with(r#"Bearer realm="gatehouse", error="insufficient_scope""#));
    assert!(challenge.contains(r#"scope="openid""#));
}

async fn item_04_overlong_client_ids_are_refused_before_any_lookup(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let long = "c".repeat(256);
    let (_, challenge) = pkce_pair();
    let params = standard_params(&long, &challenge, "openid");

    let (status, _, page) = navigate(&app, &authorize_url(&app, &params)).await;

    assert_eq!(status, 400);
    assert!(page.contains("client_id is malformed"), "{page}");
    let at_token = token_request(&app, &long, &[("grant_type", "client_credentials")]).await;
    assert_eq!(json_error(at_token).await, (401, "invalid_client".into()));
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .collect()
}

async fn item_13_https_cookies_are_host_prefixed(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.server.issuer = s.server.issuer.replace("http://", "https://");
    })
    .await;

    let page = app.get("/account/login").await;

    let cookies = set_cookies(&page);
    let binding = cookies
        .iter()
        .find(|c| c.starts_with("__Host-gatehouse_session_csrf="))
        .unwrap_or_else(|| panic!("a __Host- binding cookie: {cookies:?}"));
    assert!(
        binding.contains("Secure") && binding.contains("Path=/"),
        "{binding}"
    );
    assert!(!binding.contains("Domain"), "host-only: {binding}");
}

async fn item_13_csrf_values_are_keyed(backend: Backend) {
    use base64::Engine;
    use sha2::Digest;
    let app = TestApp::spawn(backend).await;
    let browser = crate::helpers::http_client();
    let page = browser.get(app.url("/account/login")).send().await.unwrap();
    let binding = set_cookies(&page)
        .iter()
        .find_map(|c| c.strip_prefix("gatehouse_session_csrf="))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
        .unwrap();
    // What an attacker who planted or read the binding cookie could compute without our key.
    let digest = sha2::Sha256::digest(format!("csrf-form:{binding}").as_bytes());
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);

    let form = [
        ("csrf", forged.as_str()),
        ("email", USER_EMAIL),
        ("password", PASSWORD_OF_USER),
    ];
    let answer = browser
        .post(app.url("/account/login"))
        .form(&form)
        .send()
        .await
        .unwrap();

    assert_eq!(
        answer.status(),
        403,
        "a CSRF value computed without the server's key"
    );
}

async fn item_13_logout_refuses_repeated_parameters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    obtain_code(&app, SPA, "openid").await;

    let url = app.url("/logout?client_id=demo-spa&client_id=demo-web");
    let (status, _, page) = navigate(&app, &url).await;

    assert_eq!(status, 400);
    assert!(page.contains("Sign-out request rejected"), "{page}");
    let (_, challenge) = pkce_pair();
    let mut params = standard_params(SPA, &challenge, "openid");
    params.push(("prompt", "none"));
    let (_, location, _) = navigate(&app, &authorize_url(&app, &params)).await;
    assert!(
        query(&location.unwrap()).contains_key("code"),
        "the session is untouched"
    );
}

/// Signs in on the account page, sending `X-Forwarded-For: forwarded`; returns the
/// sessions page.
async fn account_page_after_sign_in(app: &TestApp, forwarded: &str) -> String {
    let browser = crate::helpers::http_client();
    let page = browser.get(app.url("/account/login")).send().await.unwrap();
    let csrf = hidden_field(&page.text().await.unwrap(), "csrf").unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("email", USER_EMAIL),
        ("password", PASSWORD_OF_USER),
    ];
    let signed_in = browser
        .post(app.url("/account/login"))
        .header("x-forwarded-for", forwarded)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let sessions = browser
        .get(app.url("/account/sessions"))
        .send()
        .await
        .unwrap();
    sessions.text().await.unwrap()
}

async fn item_14_forwarded_addresses_count_only_from_trusted_proxies(backend: Backend) {
    let direct = TestApp::spawn(backend).await;
    let page = account_page_after_sign_in(&direct, "203.0.113.7").await;
    assert!(
        page.contains("IP 127.0.0.1") && !page.contains("203.0.113.7"),
        "{page}"
    );

    let proxied = TestApp::spawn_with(backend, |s| {
        s.server.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let page = account_page_after_sign_in(&proxied, "198.51.100.1, 203.0.113.7").await;
    assert!(
        page.contains("IP 203.0.113.7"),
        "the rightmost untrusted hop: {page}"
    );
}

/// The id_token of `email` signed in through `client` in a browser of its own.
async fn id_token_of(app: &TestApp, client: &str, email: &str, password: &str) -> String {
    let browser = crate::helpers::http_client();
    let (verifier, challenge) = pkce_pair();
    let start = authorize_url(app, &standard_params(client, &challenge, "openid"));
    let back = drive(app, &browser, &start, email, password, Choice::Allow).await;
    let code = query(&back)["code"].clone();
    let tokens: serde_json::Value = exchange_code(app, client, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    tokens["id_token"].as_str().unwrap().to_owned()
}

async fn item_07_id_token_hint_names_the_user_at_authorize(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin_hint = id_token_of(&app, SPA, "admin@example.com", "Admin@123").await;
    obtain_code(&app, SPA, "openid").await; // app.http is signed in as the demo user
    let (_, challenge) = pkce_pair();
    let with = |hint: &str, prompt: Option<&'static str>| {
        let mut params = standard_params(SPA, &challenge, "openid");
        params.push(("id_token_hint", hint));
        if let Some(prompt) = prompt {
            params.push(("prompt", prompt));
        }
        authorize_url(&app, &params)
    };

    let (_, location, _) = navigate(&app, &with(&admin_hint, Some("none"))).await;
    assert_eq!(query(&location.unwrap())["error"], "login_required");

    let (status, location, _) = navigate(&app, &with(&admin_hint, None)).await;
    assert_eq!(status, 303);
    let login = location.unwrap();
    assert!(login.starts_with("/login?"), "{login}");
    let (_, _, page) = navigate(&app, &app.url(&login)).await;
    assert!(
        page.contains("admin@example.com"),
        "the hinted user is suggested"
    );

    let other_client = id_token_of(&app, WEB, "admin@example.com", "Admin@123").await;
    let (_, location, _) = navigate(&app, &with(&other_client, None)).await;
    assert_eq!(
        query(&location.unwrap())["error"],
        "invalid_request",
        "another client's token"
    );
    let (_, location, _) = navigate(&app, &with("not.a.token", None)).await;
    assert_eq!(query(&location.unwrap())["error"], "invalid_request");
}

async fn item_09_revoking_a_refresh_token_revokes_its_access_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = spa_tokens(&app).await;
    let rt = first["refresh_token"].as_str().unwrap();
    let second: serde_json::Value = refresh(&app, SPA, rt).await.json().await.unwrap();
    let (at1, at2) = (
        first["access_token"].as_str().unwrap(),
        second["access_token"].as_str().unwrap(),
    );
    assert_eq!(userinfo_status(&app, at2).await, 200);

    let form = [
        ("token", second["refresh_token"].as_str().unwrap()),
        ("client_id", SPA),
    ];
    let revoked = reqwest::Client::new()
        .post(app.url("/revoke"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);

    assert_eq!(
        userinfo_status(&app, at1).await,
        401,
        "the first access token"
    );
    assert_eq!(
        userinfo_status(&app, at2).await,
        401,
        "the latest access token"
    );
    if backend == Backend::Postgres {
        let issuer = app.address.clone();
        let other = TestApp::spawn_on(app.isolation.clone(), |s| s.server.issuer = issuer).await;
        assert_eq!(
            userinfo_status(&other, at2).await,
            401,
            "at another instance too"
        );
    }
}

async fn introspect_as(app: &TestApp, id: &str, secret: &str, token: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(app.url("/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn item_10_introspection_shows_a_client_only_its_own_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let spa = spa_tokens(&app).await;
    let resource_server = gatehouse::clients::Client {
        id: "resource-server".into(),
        secret_sha256: Some(gatehouse::clients::digest("rs-secret")),
        introspect_any: true,
        ..gatehouse::demo::web_client()
    };
    app.with_client(&resource_server).await;

    for token in [&spa["access_token"], &spa["refresh_token"]] {
        let token = token.as_str().unwrap();
        let by_web = introspect_as(&app, WEB, WEB_SECRET, token).await;
        assert_eq!(
            by_web,
            serde_json::json!({"active": false}),
            "another client's token"
        );
        let by_rs = introspect_as(&app, "resource-server", "rs-secret", token).await;
        assert_eq!(
            by_rs["active"], true,
            "a client allowed to introspect any token"
        );
    }
}

async fn item_12_public_clients_get_no_refresh_grace(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = spa_tokens(&app).await;
    let rt = first["refresh_token"].as_str().unwrap();
    let rotated: serde_json::Value = refresh(&app, SPA, rt).await.json().await.unwrap();

    let replayed = refresh(&app, SPA, rt).await;

    assert_eq!(
        json_error(replayed).await,
        (400, "invalid_grant".into()),
        "a replay within the default grace window is reuse for a public client"
    );
    let next = rotated["refresh_token"].as_str().unwrap();
    assert_eq!(
        json_error(refresh(&app, SPA, next).await).await,
        (400, "invalid_grant".into()),
        "and the family is revoked"
    );
}

/// Ends `app.http`'s session through the logout confirmation page.
async fn sign_out(app: &TestApp) {
    let (status, _, page) = navigate(app, &app.url("/logout")).await;
    assert_eq!(status, 200, "a confirmation page");
    let form = [("csrf", hidden_field(&page, "csrf").unwrap())];
    let confirmed = app
        .http
        .post(app.url("/logout/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 200, "signed out");
}

async fn item_02_a_code_from_an_ended_session_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (code, verifier) = obtain_code(&app, SPA, "openid offline_access").await;

    sign_out(&app).await;

    assert_eq!(
        json_error(exchange_code(&app, SPA, &code, &verifier).await).await,
        (400, "invalid_grant".into()),
        "no tokens, and no refresh family, for a session that has ended"
    );
}

async fn spa_tokens(app: &TestApp) -> serde_json::Value {
    let (code, verifier) = obtain_code(app, SPA, "openid profile offline_access").await;
    exchange_code(app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap()
}

async fn item_01_a_refused_refresh_leaves_the_token_usable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = spa_tokens(&app).await;
    let rt = tokens["refresh_token"].as_str().unwrap();

    let wider = token_request(
        &app,
        SPA,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("scope", "openid email"),
        ],
    )
    .await;

    assert_eq!(json_error(wider).await, (400, "invalid_scope".into()));
    app.advance_clock(std::time::Duration::from_secs(60));
    assert_eq!(
        refresh(&app, SPA, rt).await.status(),
        200,
        "the same token, as asked"
    );
}

/// Redis stops taking writes while a refresh claims its token: the client gets a 503, the
/// claim lands once Redis resumes, and the same token works again after the claim's lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_01_a_store_fault_during_a_refresh_does_not_burn_the_token() {
    use deadpool_redis::redis;
    let (redis_server, app) = crate::faults::app_on_private_redis().await;
    let tokens = spa_tokens(&app).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let client = redis::Client::open(redis_server.url()).unwrap();
    let mut control = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(10_000)
        .arg("WRITE")
        .query_async(&mut control)
        .await
        .unwrap();

    let during = refresh(&app, SPA, rt).await;

    assert_eq!(
        json_error(during).await,
        (503, "temporarily_unavailable".into())
    );
    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query_async(&mut control)
        .await
        .unwrap();
    app.advance_clock(std::time::Duration::from_secs(5)); // past the stranded claim's lease
    let after = refresh(&app, SPA, rt).await;
    assert_eq!(
        after.status(),
        200,
        "not reuse: the token was never rotated"
    );
    let rotated: serde_json::Value = after.json().await.unwrap();
    let next = rotated["refresh_token"].as_str().unwrap();
    assert_eq!(
        refresh(&app, SPA, next).await.status(),
        200,
        "the family lives on"
    );
}

async fn item_03_authorization_requests_are_bounded(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.limits.authorize_per_ip.limit = 100).await;
    let (_, challenge) = pkce_pair();
    let long_state = "s".repeat(2049);
    let mut params = standard_params(SPA, &challenge, "openid");
    params[4] = ("state", long_state.as_str());

    let (status, location, _) = navigate(&app, &authorize_url(&app, &params)).await;

    assert_eq!(status, 302);
    let answer = query(&location.unwrap());
    assert_eq!(answer["error"], "invalid_request");
    assert!(
        !answer.contains_key("state"),
        "an overlong state is not echoed"
    );

    let browser = crate::helpers::http_client();
    let start = authorize_url(&app, &standard_params(SPA, &challenge, "openid"));
    for _ in 0..100 {
        let opened = browser.get(&start).send().await.unwrap();
        assert_eq!(opened.status(), 303, "a login page for each request");
    }
    let refused = browser.get(&start).send().await.unwrap();
    assert_eq!(refused.status(), 429, "one address cannot fill the store");
    assert!(refused.headers().contains_key("retry-after"));
}

fn claims_of(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

/// A code (and its verifier) for the demo SPA, asked for `resource`.
async fn code_for_resource(app: &TestApp, resource: &str) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let mut params = standard_params(SPA, &challenge, "openid offline_access");
    params.push(("resource", resource));
    let url = authorize_url(app, &params);
    let back = drive(
        app,
        &app.http,
        &url,
        USER_EMAIL,
        PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;
    (query(&back)["code"].clone(), verifier)
}

async fn item_11_resource_indicators_set_the_audience(backend: Backend) {
    const API: &str = "https://api.example.com";
    let app = TestApp::spawn(backend).await;
    let (code, verifier) = code_for_resource(&app, API).await;

    let narrower = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
        ("resource", "https://other.example.com"),
    ];
    let refused = token_request(&app, SPA, &narrower).await;
    assert_eq!(
        json_error(refused).await,
        (400, "invalid_target".into()),
        "not granted"
    );

    let (code, verifier) = code_for_resource(&app, API).await;
    let tokens: serde_json::Value = exchange_code(&app, SPA, &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        claims_of(access)["aud"],
        serde_json::json!([API, app.address])
    );
    assert_eq!(
        userinfo_status(&app, access).await,
        200,
        "the issuer is an audience too"
    );
    let refreshed: serde_json::Value =
        refresh(&app, SPA, tokens["refresh_token"].as_str().unwrap())
            .await
            .json()
            .await
            .unwrap();
    let again = claims_of(refreshed["access_token"].as_str().unwrap());
    assert_eq!(
        again["aud"],
        serde_json::json!([API, app.address]),
        "kept by the refresh"
    );

    let machine = [
        ("grant_type", "client_credentials"),
        ("scope", "profile"),
        ("resource", API),
    ];
    let body: serde_json::Value = token_request(&app, WEB, &machine)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["aud"],
        API
    );
    let unknown = [
        ("grant_type", "client_credentials"),
        ("resource", "https://evil.example"),
    ];
    let refused = token_request(&app, WEB, &unknown).await;
    assert_eq!(json_error(refused).await, (400, "invalid_target".into()));

    let (_, challenge) = pkce_pair();
    let mut params = standard_params(SPA, &challenge, "openid");
    params.push(("resource", "https://evil.example"));
    let (_, location, _) = navigate(&app, &authorize_url(&app, &params)).await;
    assert_eq!(query(&location.unwrap())["error"], "invalid_target");
}
