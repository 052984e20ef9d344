//! Accounts people run themselves: registration, email verification, password reset. Mail
//! is read as a person would: the `.eml` files of the file transport, parsed as MIME.

mod registration;
mod reset;

use std::path::Path;
use std::time::Duration;

use crate::flow::hidden_field;
use crate::helpers::TestApp;

/// A mail as its recipient reads it.
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// The action link: the first absolute URL of the message.
    pub fn link(&self) -> String {
        let start = self.text.find("http").expect("a link in the mail");
        let rest = &self.text[start..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest[..end].to_owned()
    }
}

fn read_mail(path: &Path) -> Option<(String, Mail)> {
    let raw = std::fs::read(path).ok()?;
    let message = mail_parser::MessageParser::default().parse(&raw)?;
    let to = message.to()?.first()?.address()?.to_owned();
    let mail = Mail {
        subject: message.subject()?.to_owned(),
        text: message.body_text(0)?.into_owned(),
        html: message.body_html(0)?.into_owned(),
    };
    Some((to, mail))
}

/// Every mail delivered to `to` so far, oldest first.
pub fn mails_to(app: &TestApp, to: &str) -> Vec<Mail> {
    let dir = &app.settings.mail.file_dir;
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    paths.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    paths
        .iter()
        .filter_map(|p| read_mail(p))
        .filter(|(recipient, _)| recipient == to)
        .map(|(_, mail)| mail)
        .collect()
}

/// Waits (a few seconds at most) for the `n`th mail to `to` whose subject has `about`.
pub async fn wait_for_mail(app: &TestApp, to: &str, about: &str, n: usize) -> Mail {
    for _ in 0..100 {
        let mut found: Vec<Mail> = mails_to(app, to)
            .into_iter()
            .filter(|m| m.subject.contains(about))
            .collect();
        if found.len() >= n {
            return found.swap_remove(n - 1);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no mail {n} to {to} about {about:?}");
}

/// Fills in and sends a form of a page, with its hidden fields.
pub async fn submit(
    app: &TestApp,
    http: &reqwest::Client,
    html: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(String, String)> = ["csrf", "request", "token"]
        .iter()
        .filter_map(|name| hidden_field(html, name).map(|v| (name.to_string(), v)))
        .collect();
    form.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    http.post(app.url(action)).form(&form).send().await.unwrap()
}

/// Registers through the page (outside any authorization request).
pub async fn register(
    app: &TestApp,
    http: &reqwest::Client,
    email: &str,
    name: &str,
    password: &str,
) -> (u16, String) {
    let page = http.get(app.url("/register")).send().await.unwrap();
    let html = page.text().await.unwrap();
    let fields = [("email", email), ("name", name), ("password", password)];
    let response = submit(app, http, &html, "/register", &fields).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Opens a mailed verification link and presses its button; returns the response.
pub async fn confirm_email(app: &TestApp, http: &reqwest::Client, link: &str) -> reqwest::Response {
    let page = http.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200, "the link opens a page");
    let html = page.text().await.unwrap();
    assert!(html.contains("Confirm my email address"));
    submit(app, http, &html, "/email/verify", &[]).await
}

pub const STRONG: &str = "amber-kettle-orbit-42";
