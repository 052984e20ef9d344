//! Users and roles made with the real binary beside a running server: a user created with
//! `gatehouse user create … --password-stdin` signs in at once and carries their roles in
//! tokens; disabling them refuses their refresh token, enabling lets them back in; refused
//! changes name the argument and exit with their own codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::backend_tests;
use crate::cli::{gatehouse, json_of};
use crate::flow::*;
use crate::helpers::{Backend, TestApp, http_client};

backend_tests!(
    a_user_created_on_the_command_line_signs_in_with_their_roles,
    roles_given_and_taken_show_in_the_listings,
    a_disabled_user_is_refused_refresh_and_signs_in_again_once_enabled,
    refused_changes_name_the_argument_and_exit_with_their_own_codes,
);

const EMAIL: &str = "quinn.operator@example.com";
const PASSWORD: &str = "Tr4vel-Gl1der-Oc3an";

/// Runs `gatehouse <args>` on `app`'s database with `stdin` piped in.
fn gatehouse_with_stdin(app: &TestApp, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env("GATEHOUSE__DATABASE__URL", &app.isolation.database_url)
        .env("GATEHOUSE__LOG__FILTER", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command refused before it reads stdin has closed the pipe: that is its answer.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Signs in as `email` in a browser of its own and exchanges the code at the SPA.
async fn sign_in(app: &TestApp, email: &str, password: &str, scope: &str) -> reqwest::Response {
    sign_in_as(app, &http_client(), (email, password), scope).await
}

/// [`sign_in`] with [`PASSWORD`] in `browser`, which keeps the session.
async fn sign_in_with(
    app: &TestApp,
    browser: &reqwest::Client,
    email: &str,
    scope: &str,
) -> reqwest::Response {
    sign_in_as(app, browser, (email, PASSWORD), scope).await
}

async fn sign_in_as(
    app: &TestApp,
    browser: &reqwest::Client,
    (email, password): (&str, &str),
    scope: &str,
) -> reqwest::Response {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(app, &standard_params(SPA, &challenge, scope));
    let back = drive(app, browser, &url, email, password, Choice::Allow).await;
    let code = query(&back)
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code in {back}"));
    exchange_code(app, SPA, &code, &verifier).await
}

async fn a_user_created_on_the_command_line_signs_in_with_their_roles(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert!(
        gatehouse(&app, &["role", "create", "auditor"])
            .status
            .success()
    );

    // A CRLF line ending, as a Windows-made secrets file has, is not part of the password.
    let created = json_of(&gatehouse_with_stdin(
        &app,
        &[
            "user",
            "create",
            "--email",
            " Quinn.Operator@Example.com",
            "--name",
            "Quinn Operator",
            "--role",
            "auditor",
            "--password-stdin",
            "--output",
            "json",
        ],
        &format!("{PASSWORD}\r\nignored second line\n"),
    ));
    assert_eq!(created["email"], EMAIL, "normalised");
    assert_eq!(created["email_verified"], true);
    assert_eq!(created["roles"], serde_json::json!(["auditor"]));

    let response = sign_in(&app, EMAIL, PASSWORD, "openid roles").await;
    assert_eq!(response.status(), 200);
    let tokens: Value = response.json().await.unwrap();
    let userinfo: Value = reqwest::Client::new()
        .get(app.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(userinfo["roles"], serde_json::json!(["auditor"]));
}

fn listed<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|item| item[key] == value)
        .unwrap_or_else(|| panic!("no {value} in {list}"))
}

async fn roles_given_and_taken_show_in_the_listings(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let create = ["user", "create", "--email", EMAIL, "--password-stdin"];
    assert!(
        gatehouse_with_stdin(&app, &create, PASSWORD)
            .status
            .success()
    );
    assert!(
        gatehouse(&app, &["role", "create", "reviewers"])
            .status
            .success()
    );

    let given = gatehouse(&app, &["user", "add-role", EMAIL, "reviewers"]);
    assert!(given.status.success(), "{}", stderr(&given));
    let users = json_of(&gatehouse(&app, &["user", "list", "--output", "json"]));
    let user = listed(&users, "email", EMAIL);
    assert_eq!(user["roles"], serde_json::json!(["reviewers"]));
    assert_eq!(user["name"], "quinn.operator", "the email's local part");
    let roles = json_of(&gatehouse(&app, &["role", "list", "--output", "json"]));
    assert_eq!(listed(&roles, "name", "reviewers")["users"], 1);

    assert!(
        gatehouse(&app, &["user", "remove-role", EMAIL, "reviewers"])
            .status
            .success()
    );
    let users = json_of(&gatehouse(&app, &["user", "list", "--output", "json"]));
    assert_eq!(
        listed(&users, "email", EMAIL)["roles"],
        serde_json::json!([])
    );
    let table = String::from_utf8_lossy(&gatehouse(&app, &["role", "list"]).stdout).into_owned();
    assert!(
        table.starts_with("name") && table.contains("reviewers"),
        "{table}"
    );
}

async fn a_disabled_user_is_refused_refresh_and_signs_in_again_once_enabled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let create = ["user", "create", "--email", EMAIL, "--password-stdin"];
    assert!(
        gatehouse_with_stdin(&app, &create, PASSWORD)
            .status
            .success()
    );
    let browser = http_client();
    let tokens: Value = sign_in_with(&app, &browser, EMAIL, "openid offline_access")
        .await
        .json()
        .await
        .unwrap();
    let refreshed: Value = refresh(&app, SPA, tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let refresh_token = refreshed["refresh_token"]
        .as_str()
        .expect("a working refresh token");

    let disabled = json_of(&gatehouse(
        &app,
        &["user", "disable", EMAIL, "--output", "json"],
    ));
    assert_eq!(disabled["disabled"], true);
    let refused = refresh(&app, SPA, refresh_token).await;
    assert_eq!(json_error(refused).await, (400, "invalid_grant".to_owned()));
    let (_, challenge) = pkce_pair();
    let again = authorize_url(&app, &standard_params(SPA, &challenge, "openid"));
    let answer = browser.get(&again).send().await.unwrap();
    let location = answer.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("/login"),
        "the session left behind signs no one in: {location}"
    );
    let account = browser.get(app.url("/account")).send().await.unwrap();
    let page = account.text().await.unwrap();
    assert!(
        !page.contains(EMAIL),
        "the account page is not theirs any more"
    );

    assert!(gatehouse(&app, &["user", "enable", EMAIL]).status.success());
    let again = sign_in(&app, EMAIL, PASSWORD, "openid").await;
    assert_eq!(again.status(), 200, "signed in once enabled");
}

async fn refused_changes_name_the_argument_and_exit_with_their_own_codes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let create = |email: &'static str| ["user", "create", "--email", email, "--password-stdin"];

    let weak = gatehouse_with_stdin(&app, &create(EMAIL), "password1\n");
    assert_eq!(weak.status.code(), Some(3));
    assert!(stderr(&weak).contains("password"), "{}", stderr(&weak));
    let empty = gatehouse_with_stdin(&app, &create(EMAIL), "\n");
    assert_eq!(empty.status.code(), Some(3));
    assert!(
        stderr(&empty).contains("--password-stdin"),
        "{}",
        stderr(&empty)
    );
    let taken = gatehouse_with_stdin(&app, &create(USER_EMAIL), PASSWORD);
    assert_eq!(taken.status.code(), Some(5), "{}", stderr(&taken));
    let bad_email = gatehouse_with_stdin(&app, &create("nobody"), PASSWORD);
    assert_eq!(bad_email.status.code(), Some(3));
    assert!(stderr(&bad_email).contains("email"));
    let mut unknown_role = create(EMAIL).to_vec();
    unknown_role.extend(["--role", "wizard"]);
    let unknown_role = gatehouse_with_stdin(&app, &unknown_role, PASSWORD);
    assert_eq!(unknown_role.status.code(), Some(4));
    assert!(stderr(&unknown_role).contains("wizard"));
    let no_flag = gatehouse(&app, &["user", "create", "--email", EMAIL]);
    assert_eq!(
        no_flag.status.code(),
        Some(2),
        "the password comes only on stdin"
    );

    for args in [
        &["user", "disable", "nobody@example.com"][..],
        &["user", "add-role", "nobody@example.com", "admin"],
        &["user", "add-role", USER_EMAIL, "wizard"],
        &["user", "show", "no-such-id"],
    ] {
        assert_eq!(gatehouse(&app, args).status.code(), Some(4), "{args:?}");
    }
    let bad_role = gatehouse(&app, &["role", "create", "Two Words"]);
    assert_eq!(bad_role.status.code(), Some(3));
    assert!(stderr(&bad_role).contains("name"));
    assert_eq!(
        gatehouse(&app, &["role", "create", "admin"]).status.code(),
        Some(5),
        "the demo's role exists"
    );
}
