//! Users and roles through the admin API, on both backends: created under the password
//! policy, found page by page, and disabled — which signs them out everywhere at once and
//! refuses their refresh tokens — and enabled again.

use serde_json::{Value, json};

use crate::accounts::STRONG;
use crate::admin_api::{admin_token, call};
use crate::backend_tests;
use crate::flow::{
    Choice, authorize_url, drive, exchange_code, hidden_field, pkce_pair, query, refresh,
    standard_params,
};
use crate::helpers::{Backend, TestApp, http_client};

backend_tests!(
    users_are_created_found_page_by_page_disabled_and_enabled,
    deleting_a_user_ends_everything_they_hold,
);

/// Signs `email` in through the demo SPA in `browser`; the tokens, or `None` when refused.
async fn sign_in(app: &TestApp, browser: &reqwest::Client, email: &str) -> Option<Value> {
    let (verifier, challenge) = pkce_pair();
    let params = standard_params("demo-spa", &challenge, "openid offline_access");
    let url = authorize_url(app, &params);
    let back = drive(app, browser, &url, email, STRONG, Choice::Allow).await;
    let code = query(&back).get("code")?.clone();
    Some(
        exchange_code(app, "demo-spa", &code, &verifier)
            .await
            .json()
            .await
            .unwrap(),
    )
}

/// Whether the sign-in page answers the password with "wrong email or password".
async fn login_refused(app: &TestApp, email: &str) -> bool {
    let (_, challenge) = pkce_pair();
    let url = authorize_url(app, &standard_params("demo-spa", &challenge, "openid"));
    let browser = http_client();
    let login = browser.get(&url).send().await.unwrap();
    let login = app.url(login.headers()["location"].to_str().unwrap());
    let page = browser
        .get(&login)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = [
        ("request", hidden_field(&page, "request").unwrap()),
        ("csrf", hidden_field(&page, "csrf").unwrap()),
        ("email", email.to_owned()),
        ("password", STRONG.to_owned()),
    ];
    let answer = browser
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    answer.status() == 200
        && answer
            .text()
            .await
            .unwrap()
            .contains("Wrong email or password")
}

async fn users_are_created_found_page_by_page_disabled_and_enabled(backend: Backend) {
    use reqwest::Method;
    let app = TestApp::spawn(backend).await;
    let bearer = admin_token(&app).await;
    let token = Some(bearer.as_str());
    let role = call(
        &app,
        Method::POST,
        "/admin/api/v1/roles",
        token,
        Some(json!({"name": "auditor"})),
    );
    assert_eq!(role.await.status(), 201);
    let ann = json!({"email": "Ann@Example.com", "roles": ["auditor"], "password": STRONG});
    let created = call(
        &app,
        Method::POST,
        "/admin/api/v1/users",
        token,
        Some(ann.clone()),
    )
    .await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["email"], "ann@example.com");
    assert_eq!(created["roles"], json!(["auditor"]));
    let again = call(&app, Method::POST, "/admin/api/v1/users", token, Some(ann)).await;
    assert_eq!(again.status(), 409);
    let weak = json!({"email": "bob@example.com", "password": "password1"});
    let weak: Value = call(&app, Method::POST, "/admin/api/v1/users", token, Some(weak))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(weak["errors"][0]["field"], "password");

    let mut seen = Vec::new();
    let mut path = "/admin/api/v1/users?q=example.com&limit=2".to_owned();
    loop {
        let page: Value = call(&app, Method::GET, &path, token, None)
            .await
            .json()
            .await
            .unwrap();
        let users = page["users"].as_array().unwrap();
        assert!(users.len() <= 2);
        seen.extend(
            users
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_owned()),
        );
        let Some(next) = page["next"].as_str() else {
            break;
        };
        path = format!("/admin/api/v1/users?q=example.com&limit=2&cursor={next}");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "each user once, by email");
    assert!(
        seen.contains(&"ann@example.com".to_owned()) && seen.len() >= 6,
        "{seen:?}"
    );

    let browser = http_client();
    let tokens = sign_in(&app, &browser, "ann@example.com")
        .await
        .expect("Ann signs in");
    let id = created["id"].as_str().unwrap();
    let disable = format!("/admin/api/v1/users/{id}/disable");
    let disabled = call(&app, Method::POST, &disable, token, None).await;
    assert_eq!(disabled.status(), 200);
    let account = browser
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(account.contains(r#"name="password""#), "signed out at once");
    let refused = refresh(&app, "demo-spa", tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refused.status(), 400);
    assert!(
        login_refused(&app, "ann@example.com").await,
        "a disabled user cannot sign in"
    );
    let enable = format!("/admin/api/v1/users/{id}/enable");
    let enabled = call(&app, Method::POST, &enable, token, None).await;
    assert_eq!(enabled.status(), 200);
    assert!(
        sign_in(&app, &http_client(), "ann@example.com")
            .await
            .is_some()
    );
    roles_and_password_change(&app, token, id).await;
}

/// Takes a role away and gives it back, then sets a new password (the old one then fails).
async fn roles_and_password_change(app: &TestApp, token: Option<&str>, id: &str) {
    use reqwest::Method;
    let roles = format!("/admin/api/v1/users/{id}/roles");
    let removed = call(
        app,
        Method::DELETE,
        &format!("{roles}/auditor"),
        token,
        None,
    )
    .await;
    let removed: Value = removed.json().await.unwrap();
    assert_eq!(removed["roles"], json!([]));
    let added = call(
        app,
        Method::POST,
        &roles,
        token,
        Some(json!({"role": "auditor"})),
    )
    .await;
    let added: Value = added.json().await.unwrap();
    assert_eq!(added["roles"], json!(["auditor"]));
    let password = format!("/admin/api/v1/users/{id}/password");
    let new = json!({"password": "velvet-harbour-comet-77"});
    assert_eq!(
        call(app, Method::PUT, &password, token, Some(new))
            .await
            .status(),
        204
    );
    assert!(
        login_refused(app, "ann@example.com").await,
        "the old password no longer works"
    );
}

async fn deleting_a_user_ends_everything_they_hold(backend: Backend) {
    use reqwest::Method;
    let app = TestApp::spawn(backend).await;
    let bearer = admin_token(&app).await;
    let token = Some(bearer.as_str());
    let cleo = json!({"email": "cleo@example.com", "password": STRONG});
    let users = "/admin/api/v1/users";
    let created: Value = call(&app, Method::POST, users, token, Some(cleo.clone()))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let browser = http_client();
    let tokens = sign_in(&app, &browser, "cleo@example.com")
        .await
        .expect("Cleo signs in");

    let user = format!("{users}/{id}");
    assert_eq!(
        call(&app, Method::DELETE, &user, token, None)
            .await
            .status(),
        204
    );
    assert_eq!(
        call(&app, Method::GET, &user, token, None).await.status(),
        404
    );
    let account = browser
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(account.contains(r#"name="password""#), "signed out");
    let refused = refresh(&app, "demo-spa", tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refused.status(), 400);
    assert!(login_refused(&app, "cleo@example.com").await);
    let again = call(&app, Method::POST, users, token, Some(cleo)).await;
    assert_eq!(again.status(), 201, "the address is free again");
}
