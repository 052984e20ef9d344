//! The admin console over HTTP, as a browser without JavaScript uses it: who gets in, a
//! client's life (its secret shown once, a stale edit refused), a user disabled and enabled
//! again, forms without their CSRF value refused, and nothing cached.

use crate::backend_tests;
use crate::flow::{PASSWORD_OF_USER, USER_EMAIL, WEB, hidden_field, obtain_code};
use crate::helpers::{Backend, TestApp, http_client};

backend_tests!(
    only_a_signed_in_admin_gets_in,
    a_client_is_registered_edited_and_deleted,
    a_disabled_user_is_signed_out_until_enabled,
    forms_without_their_csrf_value_are_refused,
    every_page_is_no_store,
    a_users_factors_consents_and_sessions_end_from_their_page,
);

pub(crate) const ADMIN_EMAIL: &str = "admin@example.com";
pub(crate) const ADMIN_PASSWORD: &str = "Admin@123";
const NEW_PASSWORD: &str = "violet-Harbor-7-quill";

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// A value as the browser reads it from the page's HTML.
fn unescaped(value: &str) -> String {
    value
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The `href` of the link with this id.
fn link(html: &str, id: &str) -> String {
    let end = html.find(&format!(r#"" id="{id}""#)).expect(id);
    let start = html[..end].rfind("href=\"").unwrap() + "href=\"".len();
    unescaped(&html[start..end])
}

/// Signs `email` in at the account sign-in form, asking to come back to `next`; where the
/// form sends the browser.
async fn sign_in(
    app: &TestApp,
    http: &reqwest::Client,
    (email, password): (&str, &str),
    next: &str,
) -> String {
    let form = http.get(app.url("/account/login")).send().await.unwrap();
    let csrf = hidden_field(&form.text().await.unwrap(), "csrf").unwrap();
    let fields = [
        ("csrf", csrf.as_str()),
        ("email", email),
        ("password", password),
        ("next", next),
    ];
    let response = http
        .post(app.url("/account/login"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "signing {email} in");
    location(&response)
}

/// A browser with the demo admin signed in.
async fn admin_browser(app: &TestApp) -> reqwest::Client {
    let http = http_client();
    sign_in(app, &http, (ADMIN_EMAIL, ADMIN_PASSWORD), "/admin").await;
    http
}

/// A console page (200 expected), checked to be no-store.
async fn page(app: &TestApp, http: &reqwest::Client, path: &str) -> String {
    let response = http.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "GET {path}"
    );
    response.text().await.unwrap()
}

/// Posts a console form with the CSRF value of the page it is on.
async fn submit(
    app: &TestApp,
    http: &reqwest::Client,
    (on, action): (&str, &str),
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let csrf = hidden_field(&page(app, http, on).await, "csrf").unwrap();
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    http.post(app.url(action)).form(&form).send().await.unwrap()
}

async fn only_a_signed_in_admin_gets_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let http = http_client();
    let response = http.get(app.url("/admin/clients")).send().await.unwrap();
    assert_eq!(response.status(), 303);
    let to = location(&response);
    assert_eq!(to, "/account/login?next=%2Fadmin%2Fclients");
    let form = page(&app, &http, &to).await;
    assert_eq!(
        hidden_field(&form, "next").as_deref(),
        Some("/admin/clients")
    );

    let user = http_client();
    sign_in(&app, &user, (USER_EMAIL, PASSWORD_OF_USER), "/account").await;
    let refused = user.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.headers()["cache-control"], "no-store");
    assert!(refused.text().await.unwrap().contains("Admins only"));
    assert!(
        !page(&app, &user, "/account")
            .await
            .contains("Admin console")
    );

    let back = sign_in(&app, &http, (ADMIN_EMAIL, ADMIN_PASSWORD), "/admin/clients").await;
    assert_eq!(back, "/admin/clients");
    assert!(page(&app, &http, &back).await.contains("demo-web"));
    let account = page(&app, &http, "/account").await;
    assert_eq!(link(&account, "admin-console"), "/admin");
}

/// Registers a confidential client in the console; its page's path and its secret.
async fn register(app: &TestApp, http: &reqwest::Client, name: &str) -> (String, String) {
    let fields = [
        ("name", name),
        (
            "redirect_uris",
            "https://app.example/callback\r\nhttps://app.example/other",
        ),
        ("post_logout_redirect_uris", ""),
        ("code", "on"),
        ("refresh", "on"),
        ("scope", "openid profile"),
        ("kind", "confidential"),
    ];
    let new = "/admin/clients/new";
    let response = submit(app, http, (new, new), &fields).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    let secret = html
        .split(r#"id="secret">"#)
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    (link(&html, "continue"), secret.to_owned())
}

async fn a_client_is_registered_edited_and_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = admin_browser(&app).await;

    let (client_page, secret) = register(&app, &http, "Console App").await;
    assert!(secret.len() >= 32, "{secret}");
    let shown = page(&app, &http, &client_page).await;
    assert!(shown.contains("Console App") && shown.contains("https://app.example/other"));
    assert!(!shown.contains(&secret), "the secret is shown once");
    assert!(
        page(&app, &http, "/admin/clients")
            .await
            .contains("Console App")
    );

    let edit = format!("{client_page}/edit");
    let form = page(&app, &http, &edit).await;
    let version = unescaped(&hidden_field(&form, "version").unwrap());
    let fields = |name: &'static str| {
        vec![
            ("name", name),
            ("redirect_uris", "https://app.example/callback"),
            ("code", "on"),
            ("scope", "openid"),
            ("first_party", "on"),
        ]
    };
    let mut first = fields("Renamed App");
    first.push(("version", &version));
    let saved = submit(&app, &http, (&edit, &edit), &first).await;
    assert_eq!(saved.status(), 303);
    assert_eq!(location(&saved), format!("{client_page}?done=saved"));
    let shown = page(&app, &http, &location(&saved)).await;
    assert!(shown.contains("Renamed App") && shown.contains("not asked (first-party)"));

    let mut stale = fields("Stale App");
    stale.push(("version", &version));
    let refused = submit(&app, &http, (&edit, &edit), &stale).await;
    assert_eq!(refused.status(), 409);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Someone changed this client"), "{html}");
    assert!(
        html.contains("Renamed App"),
        "the form shows the current version"
    );
    assert!(!page(&app, &http, &client_page).await.contains("Stale App"));

    let delete = format!("{client_page}/delete");
    let confirm = page(&app, &http, &delete).await;
    assert!(confirm.contains("Delete the client?") && confirm.contains(r#"id="cancel""#));
    let deleted = submit(&app, &http, (&delete, &delete), &[]).await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(location(&deleted), "/admin/clients?done=deleted");
    let gone = http.get(app.url(&client_page)).send().await.unwrap();
    assert_eq!(gone.status(), 404);
}

async fn a_disabled_user_is_signed_out_until_enabled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = admin_browser(&app).await;
    let new = "/admin/users/new";
    let fields = [
        ("email", "new.person@example.com"),
        ("name", "New Person"),
        ("roles", ""),
        ("password", NEW_PASSWORD),
    ];
    let created = submit(&app, &http, (new, new), &fields).await;
    assert_eq!(created.status(), 303);
    let user_page = location(&created).split('?').next().unwrap().to_owned();
    assert!(
        page(&app, &http, &user_page)
            .await
            .contains("new.person@example.com")
    );

    let person = http_client();
    sign_in(
        &app,
        &person,
        ("new.person@example.com", NEW_PASSWORD),
        "/account",
    )
    .await;
    page(&app, &person, "/account/sessions").await;
    assert!(
        page(&app, &http, &user_page)
            .await
            .contains("End this session")
    );

    let disable = format!("{user_page}/disable");
    assert!(
        page(&app, &http, &disable)
            .await
            .contains("Disable the user?")
    );
    let disabled = submit(&app, &http, (&disable, &disable), &[]).await;
    assert_eq!(disabled.status(), 303);
    let shown = page(&app, &http, &location(&disabled)).await;
    assert!(shown.contains("disabled") && shown.contains("No live sessions."));
    let signed_out = person
        .get(app.url("/account/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 303, "the session ended");

    let enable = format!("{user_page}/enable");
    let enabled = submit(&app, &http, (&user_page, &enable), &[]).await;
    assert_eq!(enabled.status(), 303);
    assert!(
        page(&app, &http, &location(&enabled))
            .await
            .contains("User enabled")
    );
    sign_in(
        &app,
        &person,
        ("new.person@example.com", NEW_PASSWORD),
        "/account",
    )
    .await;
    page(&app, &person, "/account/sessions").await;
}

async fn forms_without_their_csrf_value_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = admin_browser(&app).await;
    page(&app, &http, "/admin/clients/new").await;
    let fields = [("name", "Forged"), ("code", "on"), ("kind", "public")];
    let without = http
        .post(app.url("/admin/clients/new"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert!(without.status().is_client_error(), "{}", without.status());
    let mut wrong = vec![("csrf", "not-the-value")];
    wrong.extend_from_slice(&fields);
    let wrong = http
        .post(app.url("/admin/clients/new"))
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    assert!(wrong.text().await.unwrap().contains("Form expired"));
    let role = [("csrf", "not-the-value"), ("name", "forged")];
    let refused = http
        .post(app.url("/admin/roles"))
        .form(&role)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(!page(&app, &http, "/admin/clients").await.contains("Forged"));
    assert!(!page(&app, &http, "/admin/roles").await.contains("forged"));
}

async fn every_page_is_no_store(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = admin_browser(&app).await;
    let users = page(&app, &http, "/admin/users?q=user%40").await;
    assert!(users.contains(USER_EMAIL));
    let user_page = link_of_class(&users, "user");
    for action in ["", "/disable", "/factors/reset", "/delete"] {
        page(&app, &http, &format!("{user_page}{action}")).await;
    }
    for path in [
        "/admin",
        "/admin/clients",
        "/admin/clients/new",
        "/admin/clients/demo-web",
        "/admin/clients/demo-web/edit",
        "/admin/clients/demo-web/secret",
        "/admin/clients/demo-web/delete",
        "/admin/users",
        "/admin/users/new",
        "/admin/roles",
        "/admin/audit",
        "/admin/audit?kind=login_succeeded",
        "/admin/keys",
        "/admin/registration-tokens",
    ] {
        page(&app, &http, path).await;
    }
    let audit = page(&app, &http, "/admin/audit?kind=login_succeeded").await;
    assert!(audit.contains("login_succeeded"));
    let bad = http
        .get(app.url("/admin/audit?kind=nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let rotate = "/admin/clients/demo-web/secret";
    let rotated = submit(&app, &http, (rotate, rotate), &[]).await;
    assert_eq!(rotated.status(), 200);
    assert_eq!(rotated.headers()["cache-control"], "no-store");
    assert!(rotated.text().await.unwrap().contains(r#"id="secret""#));
    let tokens = "/admin/registration-tokens";
    let issued = submit(
        &app,
        &http,
        (tokens, tokens),
        &[("uses", "2"), ("days", "1")],
    )
    .await;
    assert_eq!(issued.status(), 201);
    assert_eq!(issued.headers()["cache-control"], "no-store");
}

/// The href of the first link with this class.
fn link_of_class(html: &str, class: &str) -> String {
    let end = html.find(&format!(r#"" class="{class}""#)).expect(class);
    let start = html[..end].rfind("href=\"").unwrap() + "href=\"".len();
    unescaped(&html[start..end])
}

/// Confirms the change on the confirm page at `path`; the page it leads back to.
async fn confirmed(app: &TestApp, http: &reqwest::Client, path: &str) -> String {
    let done = submit(app, http, (path, path), &[]).await;
    assert_eq!(done.status(), 303, "POST {path}");
    page(app, http, &location(&done)).await
}

async fn a_users_factors_consents_and_sessions_end_from_their_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let http = admin_browser(&app).await;
    obtain_code(&app, WEB, "openid").await;
    let users = page(&app, &http, "/admin/users?q=user%40example").await;
    let user_page = link_of_class(&users, "user");
    let user_id = user_page.rsplit('/').next().unwrap().to_owned();
    let db = app.isolation.connect().await;
    let now = gatehouse::clock::Clock::now(app.isolation.clock.as_ref());
    gatehouse::mfa::store::set_email_codes(&db, &user_id, true, now)
        .await
        .unwrap();

    let shown = page(&app, &http, &user_page).await;
    assert!(
        shown.contains(r#"<span class="badge ok">email</span>"#),
        "{shown}"
    );
    assert!(shown.contains(WEB));
    let shown = confirmed(&app, &http, &link(&shown, "reset-factors")).await;
    assert!(shown.contains("Second factors removed.") && shown.contains("None."));
    let shown = confirmed(&app, &http, &link_of_class(&shown, "revoke-consent")).await;
    assert!(shown.contains("Consent revoked") && shown.contains("No consents."));
    let shown = confirmed(&app, &http, &link_of_class(&shown, "end-session")).await;
    assert!(shown.contains("Session ended.") && shown.contains("No live sessions."));

    let audit = page(&app, &http, "/admin/audit?kind=mfa_reset_by_operator").await;
    assert!(audit.contains(&user_id), "{audit}");
    assert!(
        audit.contains("&#34;by&#34;:&#34;user:") || audit.contains("&quot;by&quot;:&quot;user:"),
        "{audit}"
    );
}
