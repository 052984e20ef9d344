//! The admin API over HTTP, on both backends: who may call it (an admin user's token, a
//! client-credentials token with `gatehouse:admin`; 401 and 403 with their challenges
//! otherwise), clients from registration to deletion, refusals as problem details, and a
//! client registered at one instance signing people in at the other at once.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::flow::{
    Choice, REDIRECT, WEB, authorize_url, drive, exchange_code, pkce_pair, query, standard_params,
    token_request,
};
use crate::helpers::{Backend, TestApp};

backend_tests!(
    only_operators_may_call_it_and_others_get_their_challenge,
    a_client_goes_from_registration_to_deletion,
    refused_values_come_back_as_problem_details,
    a_client_registered_at_one_instance_signs_in_at_the_other_at_once,
    an_operator_ends_a_users_session_and_takes_back_a_consent,
);

/// The OpenAPI document lists every admin route (they are registered from it), and each
/// operation it lists is there: without a token, each answers 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_admin_route() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let document: Value = reqwest::get(app.url("/admin/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    operations.sort();
    // Every body's schema is in the document, so no `$ref` points at nothing, and the
    // Bearer scheme every operation takes is declared.
    let text = document.to_string();
    let references: Vec<&str> = text
        .split(r##""$ref":"#/components/schemas/"##)
        .skip(1)
        .map(|after| after.split('"').next().unwrap())
        .collect();
    assert!(references.contains(&"ClientMetadata"), "{references:?}");
    for name in references {
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{name}"
        );
    }
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(document["security"], json!([{ "bearer": [] }]));
    assert_eq!(
        operations,
        [
            "DELETE /admin/api/v1/clients/{id}",
            "DELETE /admin/api/v1/users/{id}",
            "DELETE /admin/api/v1/users/{id}/consents/{client_id}",
            "DELETE /admin/api/v1/users/{id}/roles/{role}",
            "DELETE /admin/api/v1/users/{id}/sessions/{sid}",
            "GET /admin/api/v1/audit-events",
            "GET /admin/api/v1/clients",
            "GET /admin/api/v1/clients/{id}",
            "GET /admin/api/v1/keys",
            "GET /admin/api/v1/roles",
            "GET /admin/api/v1/users",
            "GET /admin/api/v1/users/{id}",
            "GET /admin/api/v1/users/{id}/consents",
            "GET /admin/api/v1/users/{id}/sessions",
            "PATCH /admin/api/v1/users/{id}",
            "POST /admin/api/v1/clients",
            "POST /admin/api/v1/clients/{id}/secret",
            "POST /admin/api/v1/keys/rotate",
            "POST /admin/api/v1/keys/{kid}/revoke",
            "POST /admin/api/v1/registration-tokens",
            "POST /admin/api/v1/roles",
            "POST /admin/api/v1/users",
            "POST /admin/api/v1/users/{id}/disable",
            "POST /admin/api/v1/users/{id}/enable",
            "POST /admin/api/v1/users/{id}/roles",
            "PUT /admin/api/v1/clients/{id}",
            "PUT /admin/api/v1/users/{id}/password",
        ]
    );
    for operation in &operations {
        let (method, path) = operation.split_once(' ').unwrap();
        let path = path
            .replace("{id}", "demo-web")
            .replace("{sid}", "x")
            .replace("{client_id}", "demo-spa")
            .replace("{role}", "admin")
            .replace("{kid}", "x");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        // A body the endpoint would refuse: the token is checked first all the same.
        let body = matches!(
            method,
            reqwest::Method::POST | reqwest::Method::PUT | reqwest::Method::PATCH
        )
        .then(|| json!({ "nonsense": true }));
        let response = call(&app, method, &path, None, body).await;
        assert_eq!(response.status(), 401, "{operation}");
    }
}

const CLIENTS: &str = "/admin/api/v1/clients";

/// An access token for a demo user, through the code flow as the demo SPA.
pub async fn user_token(app: &TestApp, email: &str, password: &str) -> String {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(app, &standard_params("demo-spa", &challenge, "openid"));
    let http = crate::helpers::http_client();
    let back = drive(app, &http, &url, email, password, Choice::Allow).await;
    let code = query(&back)["code"].clone();
    let tokens: Value = exchange_code(app, "demo-spa", &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

pub async fn admin_token(app: &TestApp) -> String {
    user_token(app, "admin@example.com", "Admin@123").await
}

/// A machine client allowed the admin scope, and a client-credentials token for it.
pub async fn machine_token(app: &TestApp, scope: &str) -> reqwest::Response {
    let robot = gatehouse::clients::Client {
        id: "robot".into(),
        name: "Robot".into(),
        client_type: gatehouse::clients::ClientType::Confidential,
        secret_sha256: Some(gatehouse::clients::digest("robot-secret")),
        auth_methods: vec![gatehouse::clients::AuthMethod::ClientSecretBasic],
        grant_types: vec![gatehouse::clients::GrantType::ClientCredentials],
        scopes: vec!["gatehouse:admin".into()],
        ..gatehouse::clients::Client::public("robot", "Robot", vec![])
    };
    app.with_client(&robot).await;
    reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth("robot", Some("robot-secret"))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap()
}

pub async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new().request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

fn registration() -> Value {
    json!({
        "client_name": "Billing",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile",
    })
}

async fn only_operators_may_call_it_and_others_get_their_challenge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let get = reqwest::Method::GET;

    let none = call(&app, get.clone(), CLIENTS, None, None).await;
    assert_eq!(none.status(), 401);
    assert_eq!(
        none.headers()["www-authenticate"],
        r#"Bearer realm="gatehouse""#
    );
    let forged = call(&app, get.clone(), CLIENTS, Some("not.a.token"), None).await;
    assert_eq!(forged.status(), 401);
    let user = user_token(&app, "user@example.com", "User@123").await;
    let refused = call(&app, get.clone(), CLIENTS, Some(&user), None).await;
    assert_eq!(refused.status(), 403);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let web: Value = token_request(&app, WEB, &[("grant_type", "client_credentials")])
        .await
        .json()
        .await
        .unwrap();
    let web = web["access_token"].as_str().unwrap();
    assert_eq!(
        call(&app, get.clone(), CLIENTS, Some(web), None)
            .await
            .status(),
        403
    );

    let admin = admin_token(&app).await;
    assert_eq!(
        call(&app, get.clone(), CLIENTS, Some(&admin), None)
            .await
            .status(),
        200
    );
    let robot: Value = machine_token(&app, "gatehouse:admin")
        .await
        .json()
        .await
        .unwrap();
    let robot = robot["access_token"].as_str().unwrap();
    assert_eq!(
        call(&app, get, CLIENTS, Some(robot), None).await.status(),
        200
    );
}

/// Once with an admin user's token, once with a `gatehouse:admin` client-credentials token.
async fn a_client_goes_from_registration_to_deletion(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let user = admin_token(&app).await;
    let robot: Value = machine_token(&app, "gatehouse:admin")
        .await
        .json()
        .await
        .unwrap();
    for bearer in [user.as_str(), robot["access_token"].as_str().unwrap()] {
        registration_to_deletion(&app, bearer).await;
    }
}

async fn registration_to_deletion(app: &TestApp, bearer: &str) {
    let token = Some(bearer);
    use reqwest::Method;

    let created = call(app, Method::POST, CLIENTS, token, Some(registration())).await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = created.json().await.unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("{CLIENTS}/{id}"));
    assert!(created["client_secret"].as_str().unwrap().len() >= 43);
    let shown = call(app, Method::GET, &location, token, None).await;
    assert!(shown.headers().contains_key("etag"));
    let shown: Value = shown.json().await.unwrap();
    assert_eq!(shown["client_name"], "Billing");
    assert!(
        shown.get("client_secret").is_none(),
        "the secret is shown once"
    );
    let listed: Value = call(app, Method::GET, CLIENTS, token, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == id.as_str())
    );
    let rotated = call(
        app,
        Method::POST,
        &format!("{location}/secret"),
        token,
        None,
    )
    .await;
    let rotated: Value = rotated.json().await.unwrap();
    assert_ne!(rotated["client_secret"], created["client_secret"]);
    update_only_what_was_read(app, &location, bearer).await;

    assert_eq!(
        call(app, Method::DELETE, &location, token, None)
            .await
            .status(),
        204
    );
    let gone = call(app, Method::GET, &location, token, None).await;
    assert_eq!(gone.status(), 404);
    assert_eq!(gone.headers()["content-type"], "application/problem+json");
}

/// `If-Match` with the `ETag` read: the first update wins, the second (still holding the
/// old tag) is refused, and one without a tag is asked for it.
async fn update_only_what_was_read(app: &TestApp, location: &str, token: &str) {
    let read = call(app, reqwest::Method::GET, location, Some(token), None).await;
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let mut renamed = registration();
    renamed["client_name"] = json!("Billing (new)");
    let put = |tag: Option<String>| {
        let mut request = reqwest::Client::new()
            .put(app.url(location))
            .bearer_auth(token);
        if let Some(tag) = tag {
            request = request.header("If-Match", tag);
        }
        request.json(&renamed).send()
    };

    let first = put(Some(etag.clone())).await.unwrap();
    assert_eq!(first.status(), 200);
    assert_ne!(
        first.headers()["etag"].to_str().unwrap(),
        etag,
        "a write changes the ETag"
    );
    assert_eq!(
        put(Some(etag)).await.unwrap().status(),
        412,
        "the second writer is refused"
    );
    assert_eq!(put(None).await.unwrap().status(), 428);
    let shown: Value = call(app, reqwest::Method::GET, location, Some(token), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["client_name"], "Billing (new)");
}

async fn refused_values_come_back_as_problem_details(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = admin_token(&app).await;
    let post = |body: Value| {
        call(
            &app,
            reqwest::Method::POST,
            CLIENTS,
            Some(&token),
            Some(body),
        )
    };

    let mut plain_http = registration();
    plain_http["redirect_uris"] = json!(["http://app.example/cb"]);
    let refused = post(plain_http).await;
    assert_eq!(refused.status(), 400);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["status"], 400);
    assert_eq!(problem["errors"][0]["field"], "redirect_uris");
    let mut unknown = registration();
    unknown["redirect_uri"] = json!(REDIRECT);
    let refused = post(unknown).await;
    assert_eq!(refused.status(), 400);
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("redirect_uri"),
        "{problem}"
    );
    let mut grant = registration();
    grant["grant_types"] = json!(["password"]);
    let problem: Value = post(grant).await.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "grant_types");
}

async fn a_client_registered_at_one_instance_signs_in_at_the_other_at_once(backend: Backend) {
    let first = TestApp::spawn(backend).await;
    let second = TestApp::spawn_on(first.isolation.clone(), |_| {}).await;
    let token = admin_token(&first).await;
    let mut public = registration();
    public["token_endpoint_auth_method"] = json!("none");
    let created = call(
        &first,
        reqwest::Method::POST,
        CLIENTS,
        Some(&token),
        Some(public),
    )
    .await;
    let created: Value = created.json().await.unwrap();
    let id = created["client_id"].as_str().unwrap();

    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&second, &standard_params(id, &challenge, "openid"));
    let back = drive(
        &second,
        &second.http,
        &url,
        crate::flow::USER_EMAIL,
        crate::flow::PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;
    let code = query(&back)["code"].clone();
    let exchanged = exchange_code(&second, id, &code, &verifier).await;
    assert_eq!(exchanged.status(), 200);
}

async fn an_operator_ends_a_users_session_and_takes_back_a_consent(backend: Backend) {
    use reqwest::Method;
    let app = TestApp::spawn(backend).await;
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(
        &app,
        &standard_params("demo-spa", &challenge, "openid offline_access"),
    );
    let browser = crate::helpers::http_client();
    let email = crate::flow::USER_EMAIL;
    let back = drive(
        &app,
        &browser,
        &url,
        email,
        crate::flow::PASSWORD_OF_USER,
        Choice::Allow,
    )
    .await;
    let code = query(&back)["code"].clone();
    let tokens: Value = exchange_code(&app, "demo-spa", &code, &verifier)
        .await
        .json()
        .await
        .unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let db = app.isolation.connect().await;
    let user = gatehouse::accounts::Email::parse(email).unwrap();
    let user = gatehouse::accounts::store::find_by_email(&db, &user)
        .await
        .unwrap()
        .unwrap()
        .id;
    let bearer = admin_token(&app).await;
    let token = Some(bearer.as_str());
    let sessions = format!("/admin/api/v1/users/{user}/sessions");

    let listed: Value = call(&app, Method::GET, &sessions, token, None)
        .await
        .json()
        .await
        .unwrap();
    let sid = listed[0]["sid"].as_str().unwrap();
    let ended = call(
        &app,
        Method::DELETE,
        &format!("{sessions}/{sid}"),
        token,
        None,
    )
    .await;
    assert_eq!(ended.status(), 204);
    let account = browser
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        account.contains(r#"name="password""#),
        "the browser is signed out"
    );
    let refreshed = crate::flow::refresh(&app, "demo-spa", refresh).await;
    assert_eq!(
        refreshed.status(),
        400,
        "the session's refresh tokens are revoked"
    );

    let consents = format!("/admin/api/v1/users/{user}/consents");
    let listed: Value = call(&app, Method::GET, &consents, token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["client_id"], "demo-spa");
    let revoked = call(
        &app,
        Method::DELETE,
        &format!("{consents}/demo-spa"),
        token,
        None,
    )
    .await;
    assert_eq!(revoked.status(), 204);
    let listed: Value = call(&app, Method::GET, &consents, token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]));
    let nobody = call(
        &app,
        Method::GET,
        "/admin/api/v1/users/nobody/sessions",
        token,
        None,
    )
    .await;
    assert_eq!(nobody.status(), 404);
}
