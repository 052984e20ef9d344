//! Signing in with an upstream provider, against a second Gatehouse as the upstream (its own
//! database, a client registered there for the downstream), on the same host: the upstream's
//! cookies have their own name, as the configuration documents.

mod impostor;
mod plain_oauth2;
mod upstream_stub;

use gatehouse::clients::{AuthMethod, Client, ClientType, GrantType};
use gatehouse::settings::{LinkPolicy, ProviderKind, ProviderSettings};
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use secrecy::SecretString;

use crate::backend_tests;
use crate::flow::{REDIRECT, WEB, WEB_SECRET, hidden_field, pkce_pair, query, standard_params};
use crate::helpers::{Backend, TestApp};

backend_tests!(
    a_new_user_signs_in_upstream_and_lands_back_at_the_relying_party,
    a_verified_email_links_an_existing_account_and_an_unverified_one_does_not,
    a_tampered_state_a_wrong_nonce_and_a_down_upstream_end_on_our_page,
    idp_hint_skips_the_chooser,
    a_user_links_and_unlinks_a_provider_on_the_account_page,
    a_second_factor_is_still_asked_unless_the_provider_is_trusted_for_one,
    an_account_made_upstream_reaches_its_page_and_keeps_its_last_way_in,
    signing_out_here_signs_out_at_the_upstream_too,
    an_upstream_with_our_own_cookie_names_does_not_break_the_round_trip,
);

pub const PROVIDER: &str = "upstream";
const RP_CLIENT: &str = "downstream";
const RP_SECRET: &str = "downstream-secret";

pub fn provider(id: &str, issuer: &str, link: LinkPolicy) -> ProviderSettings {
    ProviderSettings {
        id: id.into(),
        name: "Upstream Co".into(),
        kind: ProviderKind::Oidc,
        issuer: Some(issuer.into()),
        authorization_endpoint: None,
        token_endpoint: None,
        userinfo_endpoint: None,
        client_id: RP_CLIENT.into(),
        client_secret: Some(SecretString::from(RP_SECRET)),
        client_secret_file: None,
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        claims: Default::default(),
        link,
        trusted_mfa: false,
        upstream_logout: false,
    }
}

/// The upstream (demo-seeded, its cookies named apart) and the downstream that trusts it.
pub async fn pair(backend: Backend, link: LinkPolicy) -> (TestApp, TestApp) {
    pair_with(backend, link, false).await
}

async fn pair_with(backend: Backend, link: LinkPolicy, trusted_mfa: bool) -> (TestApp, TestApp) {
    pair_set_up(backend, |p| {
        p.link = link;
        p.trusted_mfa = trusted_mfa;
    })
    .await
}

async fn pair_set_up(
    backend: Backend,
    tweak: impl FnOnce(&mut ProviderSettings),
) -> (TestApp, TestApp) {
    let upstream = TestApp::spawn_with(backend, |s| {
        s.sessions.cookie_name = "upstream_session".into();
    })
    .await;
    let issuer = upstream.address.clone();
    let downstream = TestApp::spawn_with(backend, |s| {
        let mut upstream = provider(PROVIDER, &issuer, LinkPolicy::VerifiedEmail);
        tweak(&mut upstream);
        s.federation.providers = vec![upstream];
    })
    .await;
    register_downstream(&upstream, &downstream, PROVIDER).await;
    (upstream, downstream)
}

/// The downstream's client at the upstream, with its callback for provider `id`.
pub async fn register_downstream(upstream: &TestApp, downstream: &TestApp, id: &str) {
    let callback = downstream.url(&format!("/federation/{id}/callback"));
    let client = Client {
        client_type: ClientType::Confidential,
        secret_sha256: Some(gatehouse::clients::digest(RP_SECRET)),
        auth_methods: vec![AuthMethod::ClientSecretBasic],
        grant_types: vec![GrantType::AuthorizationCode],
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        post_logout_redirect_uris: vec![downstream.url(&format!("/federation/{id}/logged-out"))],
        ..Client::public(RP_CLIENT, "Downstream", vec![callback])
    };
    upstream.with_client(&client).await;
}

/// Where the browser stopped: back at the relying party, or on a page of either server.
#[derive(Debug)]
pub enum Stop {
    AtClient(String),
    Page {
        status: u16,
        url: String,
        html: String,
    },
}

impl Stop {
    pub fn client_url(self) -> String {
        match self {
            Self::AtClient(url) => url,
            Self::Page { status, url, html } => panic!("stopped at {url} ({status}): {html}"),
        }
    }

    pub fn page(self) -> (u16, String) {
        match self {
            Self::Page { status, html, .. } => (status, html),
            Self::AtClient(url) => panic!("went back to the client: {url}"),
        }
    }
}

/// The href of the link with this id on a page.
pub fn link_href(html: &str, id: &str) -> Option<String> {
    let marker = format!(r#"" id="{id}""#);
    let end = html.find(&marker)?;
    let start = html[..end].rfind(r#"href=""#)? + r#"href=""#.len();
    Some(html[start..end].replace("&amp;", "&"))
}

/// A browser through both servers: on the downstream's sign-in page it takes the provider's
/// link (`idp-ID`), on the upstream's it signs in with `credentials`, it allows consent;
/// `tamper` may change each URL before it is visited.
pub async fn browse(
    (downstream, upstream): (&TestApp, &str),
    http: &reqwest::Client,
    start: &str,
    credentials: (&str, &str),
    tamper: &dyn Fn(String) -> String,
) -> Stop {
    let mut url = start.to_owned();
    for _ in 0..20 {
        url = tamper(url);
        let base = if url.starts_with(&downstream.address) {
            downstream.address.clone()
        } else if url.starts_with(upstream) {
            upstream.to_owned()
        } else {
            return Stop::AtClient(url);
        };
        let response = http.get(&url).send().await.unwrap();
        let status = response.status().as_u16();
        if let Some(next) = redirect(&base, &response) {
            url = next;
            continue;
        }
        let html = response.text().await.unwrap();
        if status != 200 {
            return Stop::Page { status, url, html };
        }
        if base == downstream.address {
            if let Some(href) = link_href(&html, &format!("idp-{PROVIDER}")) {
                url = format!("{base}{href}");
                continue;
            }
        }
        match submit(&base, http, &html, credentials).await {
            Some(response) => match redirect(&base, &response) {
                Some(next) => url = next,
                None => {
                    let status = response.status().as_u16();
                    let html = response.text().await.unwrap();
                    return Stop::Page { status, url, html };
                }
            },
            None => return Stop::Page { status, url, html },
        }
    }
    panic!("the browser went round in circles");
}

fn redirect(base: &str, response: &reqwest::Response) -> Option<String> {
    if !matches!(response.status().as_u16(), 302 | 303) {
        return None;
    }
    let raw = response.headers()["location"].to_str().unwrap();
    Some(match raw.starts_with('/') {
        true => format!("{base}{raw}"),
        false => raw.to_owned(),
    })
}

/// Fills in the sign-in or consent form of a page, if it has one.
async fn submit(
    base: &str,
    http: &reqwest::Client,
    html: &str,
    (email, password): (&str, &str),
) -> Option<reqwest::Response> {
    let request = hidden_field(html, "request")?;
    let csrf = hidden_field(html, "csrf")?;
    let (path, form) = if html.contains(r#"name="password""#) {
        let form = vec![
            ("request", request),
            ("csrf", csrf),
            ("email", email.to_owned()),
            ("password", password.to_owned()),
        ];
        ("/login", form)
    } else {
        let form = vec![
            ("request", request),
            ("csrf", csrf),
            ("decision", "allow".into()),
        ];
        ("/consent", form)
    };
    Some(
        http.post(format!("{base}{path}"))
            .form(&form)
            .send()
            .await
            .unwrap(),
    )
}

/// A new sign-in of the demo web client at the downstream, browsed through with `http` as
/// [`browse`] does; where it stopped, and the request's PKCE verifier.
pub async fn sign_in_through(
    apps: (&TestApp, &str),
    http: &reqwest::Client,
    credentials: (&str, &str),
    tamper: &dyn Fn(String) -> String,
) -> (Stop, String) {
    let (start, verifier) = authorize(apps.0, &[]);
    (
        browse(apps, http, &start, credentials, tamper).await,
        verifier,
    )
}

/// An authorization request of the demo web client at `app`, and its PKCE verifier.
pub fn authorize(app: &TestApp, extra: &[(&str, &str)]) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let mut params = standard_params(WEB, &challenge, "openid email profile");
    params.extend_from_slice(extra);
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    (url.to_string(), verifier)
}

/// The code's tokens at `app` (as demo-web), and the ID token's claims.
pub async fn tokens_for(
    app: &TestApp,
    back: &str,
    verifier: &str,
) -> (serde_json::Value, serde_json::Value) {
    let code = query(back)
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code: {back}"));
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(WEB, Some(WEB_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let id_token = body["id_token"].as_str().unwrap();
    let jwks = app.get("/jwks").await.text().await.unwrap();
    let payload = gatehouse::keys::verify_with_jwks(&jwks, id_token).unwrap();
    (body, serde_json::from_slice(&payload).unwrap())
}

async fn userinfo(app: &TestApp, access_token: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

/// How many round trips to the provider ended with `outcome`, as `/metrics` says.
pub async fn counted(app: &TestApp, outcome: &str) -> f64 {
    let text = crate::observe::scrape_text(app).await;
    let scrape = crate::observe::exposition::parse(&text).unwrap();
    let labels = [("provider", PROVIDER), ("outcome", outcome)];
    scrape.value("gatehouse_upstream_sign_ins_total", &labels)
}

pub async fn identities(app: &TestApp) -> u64 {
    let db = app.isolation.connect().await;
    let count = gatehouse::entities::federated_identities::Entity::find()
        .count(&db)
        .await
        .unwrap();
    db.close().await.ok();
    count
}

async fn users(app: &TestApp) -> u64 {
    let db = app.isolation.connect().await;
    let count = gatehouse::entities::users::Entity::find()
        .count(&db)
        .await
        .unwrap();
    db.close().await.ok();
    count
}

/// Runs SQL on a server's own database: an upstream user given another email (one the
/// downstream has no account for) or an unverified one, a user deleted.
async fn run_sql(app: &TestApp, sql: &str) {
    let db = app.isolation.connect().await;
    db.execute_unprepared(sql).await.unwrap();
    db.close().await.ok();
}

async fn a_new_user_signs_in_upstream_and_lands_back_at_the_relying_party(backend: Backend) {
    let (upstream, downstream) = pair(backend, LinkPolicy::Create).await;
    run_sql(
        &upstream,
        "UPDATE users SET email = 'newcomer@example.org' WHERE email = 'pm@example.com'",
    )
    .await;
    let before = users(&downstream).await;

    let (start, verifier) = authorize(&downstream, &[]);
    let credentials = ("newcomer@example.org", "PM@123");
    let back = browse(
        (&downstream, &upstream.address),
        &downstream.http,
        &start,
        credentials,
        &|u| u,
    )
    .await
    .client_url();

    // Back at the relying party that started it, with its state and our iss.
    let answer = query(&back);
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(answer["state"], "st-1");
    assert_eq!(answer["iss"], downstream.address);
    let (tokens, claims) = tokens_for(&downstream, &back, &verifier).await;
    assert_eq!(claims["idp"], PROVIDER);
    let amr: Vec<&str> = claims["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(amr[0], "fed", "{amr:?}");
    assert!(
        amr.contains(&"pwd"),
        "the upstream's own methods follow: {amr:?}"
    );
    assert_eq!(claims["nonce"], "n-1");
    let profile = userinfo(&downstream, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(profile["email"], "newcomer@example.org");
    assert_eq!(profile["email_verified"], true);
    assert_eq!(profile["name"], "Pat Manager");
    assert_eq!(users(&downstream).await, before + 1, "one account made");
    assert_eq!(identities(&downstream).await, 1);
    assert_eq!(counted(&downstream, "success").await, 1.0);
    assert_eq!(
        counted(&downstream, "rejected").await,
        0.0,
        "every outcome from the start"
    );

    // Signed in here now: a second request needs neither the upstream nor a password.
    let (again, verifier) = authorize(&downstream, &[("prompt", "none")]);
    let back = browse(
        (&downstream, &upstream.address),
        &downstream.http,
        &again,
        ("-", "-"),
        &|u| u,
    )
    .await
    .client_url();
    let (_, claims) = tokens_for(&downstream, &back, &verifier).await;
    assert_eq!(claims["idp"], PROVIDER);

    // Deleting the user deletes the link (the foreign key cascades, on both databases).
    run_sql(
        &downstream,
        "DELETE FROM users WHERE email = 'newcomer@example.org'",
    )
    .await;
    assert_eq!(identities(&downstream).await, 0);
}

async fn a_verified_email_links_an_existing_account_and_an_unverified_one_does_not(
    backend: Backend,
) {
    let (upstream, downstream) = pair(backend, LinkPolicy::VerifiedEmail).await;
    let before = users(&downstream).await;
    let (stop, verifier) = sign_in_through(
        (&downstream, &upstream.address),
        &downstream.http,
        ("user@example.com", "User@123"),
        &|u| u,
    )
    .await;
    let back = stop.client_url();
    let (tokens, _) = tokens_for(&downstream, &back, &verifier).await;
    let profile = userinfo(&downstream, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(
        profile["email"], "user@example.com",
        "the downstream's own account"
    );
    assert_eq!(identities(&downstream).await, 1);

    // The same address, unverified upstream, in another browser: no link, no account.
    run_sql(
        &upstream,
        "UPDATE users SET email_verified = false WHERE email = 'sales@example.com'",
    )
    .await;
    let (start, _) = authorize(&downstream, &[]);
    let browser = crate::helpers::http_client();
    let (status, html) = browse(
        (&downstream, &upstream.address),
        &browser,
        &start,
        ("sales@example.com", "Sales@123"),
        &|u| u,
    )
    .await
    .page();
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("No account here is linked"), "{html}");
    assert!(
        html.contains(r#"id="back""#),
        "a way back to the sign-in page"
    );
    assert_eq!(identities(&downstream).await, 1, "nothing linked");
    assert_eq!(users(&downstream).await, before, "nothing created");
}

async fn a_tampered_state_a_wrong_nonce_and_a_down_upstream_end_on_our_page(backend: Backend) {
    let (upstream, downstream) = pair(backend, LinkPolicy::Create).await;
    let before = users(&downstream).await;
    run_sql(
        &upstream,
        "UPDATE users SET email = 'newcomer@example.org' WHERE email = 'pm@example.com'",
    )
    .await;
    let credentials = ("newcomer@example.org", "PM@123");
    let callback = format!("{}/federation/{PROVIDER}/callback", downstream.address);

    // The state the upstream echoes is changed on its way back.
    let tamper_state = |url: String| match url.starts_with(&callback) {
        true => url.replace("state=", "state=x"),
        false => url,
    };
    let browser = crate::helpers::http_client();
    let (stop, _) = sign_in_through(
        (&downstream, &upstream.address),
        &browser,
        credentials,
        &tamper_state,
    )
    .await;
    let (status, html) = stop.page();
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("This sign-in has expired"), "{html}");
    // A repeated or missing parameter is a clear 400 too, never a 500.
    for query in ["?state=a&state=b&code=c", "", "?error=access_denied"] {
        let response = browser
            .get(format!("{callback}{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
    }

    // The nonce sent upstream is not the one we keep: the ID token it signs is refused.
    let authorize_at_upstream = format!("{}/authorize", upstream.address);
    let tamper_nonce = |url: String| match url.starts_with(&authorize_at_upstream) {
        true => url.replace("nonce=", "nonce=forged"),
        false => url,
    };
    let browser = crate::helpers::http_client();
    let (stop, _) = sign_in_through(
        (&downstream, &upstream.address),
        &browser,
        credentials,
        &tamper_nonce,
    )
    .await;
    let (status, html) = stop.page();
    assert_eq!(status, 502, "{html}");
    assert!(html.contains("could not be verified"), "{html}");
    assert!(html.contains("choose=1"), "back to the chooser: {html}");
    assert_eq!(counted(&downstream, "rejected").await, 1.0);
    assert!(counted(&downstream, "expired").await >= 1.0);
    assert_eq!(counted(&downstream, "success").await, 0.0);

    // An upstream that is down: we start anyway, and its button fails on our page.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_issuer = format!("http://127.0.0.1:{}", dead.local_addr().unwrap().port());
    drop(dead);
    let lonely = TestApp::spawn_with(backend, |s| {
        s.federation.providers = vec![provider(PROVIDER, &dead_issuer, LinkPolicy::Create)];
    })
    .await;
    let (stop, _) =
        sign_in_through((&lonely, &dead_issuer), &lonely.http, credentials, &|u| u).await;
    match stop {
        Stop::Page { status, url, html } => {
            assert!(url.starts_with(&lonely.address), "{url}");
            assert_eq!(status, 502, "{html}");
            assert!(
                html.contains("Upstream Co cannot be reached right now"),
                "{html}"
            );
            assert!(html.contains("choose=1"), "{html}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(identities(&downstream).await, 0, "nothing linked");
    assert_eq!(users(&downstream).await, before, "nothing created");
}

async fn idp_hint_skips_the_chooser(backend: Backend) {
    let (upstream, downstream) = pair(backend, LinkPolicy::VerifiedEmail).await;
    let discovery: serde_json::Value = downstream
        .get("/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert!(
        discovery["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&"idp".into())
    );
    let (start, _) = authorize(&downstream, &[("idp_hint", PROVIDER)]);
    let first = downstream.http.get(&start).send().await.unwrap();
    let login = first.headers()["location"].to_str().unwrap().to_owned();
    let second = downstream
        .http
        .get(downstream.url(&login))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 303, "no chooser page");
    let to = second.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.starts_with(&format!("/federation/{PROVIDER}/start")),
        "{to}"
    );
    let third = downstream
        .http
        .get(downstream.url(&to))
        .send()
        .await
        .unwrap();
    let to = third.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.starts_with(&format!("{}/authorize?", upstream.address)),
        "{to}"
    );
    let sent = query(&to);
    assert_eq!(sent["code_challenge_method"], "S256");
    assert!(sent.contains_key("nonce") && sent.contains_key("state"));
    assert_eq!(
        sent["redirect_uri"],
        format!("{}/federation/{PROVIDER}/callback", downstream.address)
    );

    // An unknown provider is no hint: the chooser, with our provider's button.
    let (start, _) = authorize(&downstream, &[("idp_hint", "nobody")]);
    let browser = crate::helpers::http_client();
    let first = browser.get(&start).send().await.unwrap();
    let login = first.headers()["location"].to_str().unwrap().to_owned();
    let page = browser.get(downstream.url(&login)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in with Upstream Co"), "{html}");
    let form_end = html.find("</form>").unwrap();
    assert!(
        html.find(r#"id="idp-upstream""#).unwrap() > form_end,
        "after the password form"
    );
}

async fn a_user_links_and_unlinks_a_provider_on_the_account_page(backend: Backend) {
    let (upstream, downstream) = pair(backend, LinkPolicy::ExistingOnly).await;
    // Signed in at the downstream with a password, on the account page.
    let (start, _) = authorize(&downstream, &[]);
    let http = &downstream.http;
    crate::flow::drive(
        &downstream,
        http,
        &start,
        "user@example.com",
        "User@123",
        crate::flow::Choice::Allow,
    )
    .await;
    let page = http
        .get(downstream.url("/account/providers"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let csrf = hidden_field(&html, "csrf").unwrap();
    assert!(html.contains(r#"id="link-upstream""#), "{html}");

    // Link: off to the upstream, sign in there as someone else, back on the providers page.
    let sent = http
        .post(downstream.url("/account/providers/link"))
        .form(&[("csrf", csrf.as_str()), ("provider", PROVIDER)])
        .send()
        .await
        .unwrap();
    let to = sent.headers()["location"].to_str().unwrap().to_owned();
    let stop = browse(
        (&downstream, &upstream.address),
        http,
        &to,
        ("legal@example.com", "Legal@123"),
        &|u| u,
    );
    let (status, html) = stop.await.page();
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Linked."), "{html}");
    assert!(html.contains("as legal@example.com"), "{html}");
    assert_eq!(identities(&downstream).await, 1);

    // Unlinking works (the user has a password); the link is gone.
    let csrf = hidden_field(&html, "csrf").unwrap();
    let done = http
        .post(downstream.url("/account/providers/unlink"))
        .form(&[("csrf", csrf.as_str()), ("provider", PROVIDER)])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(identities(&downstream).await, 0);
}

/// Email codes on for the downstream's demo user.
async fn with_email_codes(app: &TestApp) {
    let db = app.isolation.connect().await;
    let email = gatehouse::accounts::Email::parse("user@example.com").unwrap();
    let user = gatehouse::accounts::store::find_by_email(&db, &email)
        .await
        .unwrap()
        .unwrap();
    let now = gatehouse::clock::Clock::now(app.isolation.clock.as_ref());
    gatehouse::mfa::store::set_email_codes(&db, &user.id, true, now)
        .await
        .unwrap();
    db.close().await.ok();
}

async fn a_second_factor_is_still_asked_unless_the_provider_is_trusted_for_one(backend: Backend) {
    let credentials = ("user@example.com", "User@123");
    let (upstream, downstream) = pair(backend, LinkPolicy::VerifiedEmail).await;
    with_email_codes(&downstream).await;
    let (stop, _) = sign_in_through(
        (&downstream, &upstream.address),
        &downstream.http,
        credentials,
        &|u| u,
    )
    .await;
    match stop {
        Stop::Page { status, url, html } => {
            assert_eq!(status, 200, "{html}");
            assert!(url.starts_with(&downstream.url("/login/code")), "{url}");
        }
        other => panic!("no second factor asked: {other:?}"),
    }

    // A provider trusted for it: no code here, and the sign-in counts as multi-factor.
    let (upstream, downstream) = pair_with(backend, LinkPolicy::VerifiedEmail, true).await;
    with_email_codes(&downstream).await;
    let (stop, verifier) = sign_in_through(
        (&downstream, &upstream.address),
        &downstream.http,
        credentials,
        &|u| u,
    )
    .await;
    let back = stop.client_url();
    let (_, claims) = tokens_for(&downstream, &back, &verifier).await;
    let amr = claims["amr"].as_array().unwrap();
    assert!(
        amr.contains(&serde_json::json!("fed")) && amr.contains(&serde_json::json!("mfa")),
        "{amr:?}"
    );
}

async fn an_account_made_upstream_reaches_its_page_and_keeps_its_last_way_in(backend: Backend) {
    let (upstream, downstream) = pair(backend, LinkPolicy::Create).await;
    run_sql(
        &upstream,
        "UPDATE users SET email = 'newcomer@example.org' WHERE email = 'pm@example.com'",
    )
    .await;
    // The account page's own sign-in offers the provider; the account is made on the way.
    let start = downstream.url("/account");
    let credentials = ("newcomer@example.org", "PM@123");
    let stop = browse(
        (&downstream, &upstream.address),
        &downstream.http,
        &start,
        credentials,
        &|u| u,
    );
    let (status, html) = stop.await.page();
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Signed in as newcomer@example.org"), "{html}");

    // It has no password: unlinking its only provider is refused, the link stays.
    let page = downstream
        .http
        .get(downstream.url("/account/providers"))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("as newcomer@example.org"), "{html}");
    let csrf = hidden_field(&html, "csrf").unwrap();
    let refused = downstream
        .http
        .post(downstream.url("/account/providers/unlink"))
        .form(&[("csrf", csrf.as_str()), ("provider", PROVIDER)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("only way to sign in")
    );
    assert_eq!(identities(&downstream).await, 1);

    // Nor does a password open it: it has none, and the form says only the usual.
    let stranger = crate::helpers::http_client();
    let login = downstream.url("/account/login");
    let page = stranger
        .get(&login)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"id="idp-upstream""#), "{page}");
    let csrf = hidden_field(&page, "csrf").unwrap();
    let form = [
        ("csrf", csrf.as_str()),
        ("email", "newcomer@example.org"),
        ("password", ""),
        ("next", "/account"),
    ];
    let refused = stranger.post(&login).form(&form).send().await.unwrap();
    assert_eq!(refused.status(), 200);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Wrong email or password.")
    );
}

async fn signing_out_here_signs_out_at_the_upstream_too(backend: Backend) {
    let (upstream, downstream) = pair_set_up(backend, |p| p.upstream_logout = true).await;
    let (start, verifier) = authorize(&downstream, &[]);
    let credentials = ("user@example.com", "User@123");
    let http = &downstream.http;
    let back = browse(
        (&downstream, &upstream.address),
        http,
        &start,
        credentials,
        &|u| u,
    )
    .await
    .client_url();
    let (tokens, _) = tokens_for(&downstream, &back, &verifier).await;

    // RP-initiated logout here: our session ends, then the upstream's end-session endpoint.
    let mut logout = url::Url::parse(&downstream.url("/logout")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", tokens["id_token"].as_str().unwrap())
        .append_pair(
            "post_logout_redirect_uri",
            gatehouse::demo::POST_LOGOUT_REDIRECT_URI,
        )
        .append_pair("state", "bye");
    let ended = http.get(logout.as_str()).send().await.unwrap();
    assert_eq!(ended.status(), 302);
    let to = ended.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.starts_with(&format!("{}/logout?", upstream.address)),
        "{to}"
    );
    let sent = query(&to);
    assert_eq!(sent["client_id"], RP_CLIENT);
    assert_eq!(
        sent["post_logout_redirect_uri"],
        downstream.url("/federation/upstream/logged-out")
    );

    // The upstream asks (no id_token_hint of its own), the user confirms there.
    let page = http.get(&to).send().await.unwrap().text().await.unwrap();
    let form: Vec<(&str, String)> = ["csrf", "client_id", "post_logout_redirect_uri", "state"]
        .into_iter()
        .map(|name| {
            (
                name,
                hidden_field(&page, name).unwrap_or_else(|| panic!("{name}: {page}")),
            )
        })
        .collect();
    let confirmed = http
        .post(upstream.url("/logout/confirm"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 302);
    let to = confirmed.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.starts_with(&downstream.url("/federation/upstream/logged-out")),
        "{to}"
    );

    // Back here, then on to the relying party with its state; signed out at both.
    let returned = http.get(&to).send().await.unwrap();
    assert_eq!(returned.status(), 302);
    let to = returned.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        to,
        format!("{}?state=bye", gatehouse::demo::POST_LOGOUT_REDIRECT_URI)
    );
    for app in [&upstream, &downstream] {
        let account = http
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !account.contains("Signed in as"),
            "still signed in at {}",
            app.address
        );
    }
    // The way back is used once.
    let again = http
        .get(downstream.url("/federation/upstream/logged-out?state=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        200,
        "an unknown state goes nowhere but our page"
    );
}

/// Both on the default `sessions.cookie_name`, on one host: each overwrites the other's
/// session cookie, but the round trip still ends at the relying party signed in here.
async fn an_upstream_with_our_own_cookie_names_does_not_break_the_round_trip(backend: Backend) {
    let upstream = TestApp::spawn(backend).await;
    let issuer = upstream.address.clone();
    let downstream = TestApp::spawn_with(backend, |s| {
        s.federation.providers = vec![provider(PROVIDER, &issuer, LinkPolicy::VerifiedEmail)];
    })
    .await;
    assert_eq!(
        upstream.settings.sessions.cookie_name,
        downstream.settings.sessions.cookie_name
    );
    register_downstream(&upstream, &downstream, PROVIDER).await;
    let (start, verifier) = authorize(&downstream, &[]);
    let credentials = ("user@example.com", "User@123");
    let back = browse(
        (&downstream, &upstream.address),
        &downstream.http,
        &start,
        credentials,
        &|u| u,
    )
    .await
    .client_url();
    let (_, claims) = tokens_for(&downstream, &back, &verifier).await;
    assert_eq!(claims["idp"], PROVIDER);
}
