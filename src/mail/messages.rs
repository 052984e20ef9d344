//! The messages we send, as askama templates with a text and an HTML part in the pages'
//! look. One shape serves every notice: a heading, a few lines, at most one action link
//! (the first absolute URL in the message, so a person and a test find it alike).

use anyhow::Context;
use askama::Template;

use super::Outgoing;

/// The one button of a message.
pub struct Action<'a> {
    pub label: &'a str,
    pub url: &'a str,
}

/// A notice: what happened or what to do, and the link that does it.
pub struct Notice<'a> {
    pub subject: &'a str,
    pub heading: &'a str,
    /// Plain sentences; they must not contain URLs (the action's must come first).
    pub lines: Vec<String>,
    pub action: Option<Action<'a>>,
    /// After the action: e.g. how long the link lasts, or "ignore this if it wasn't you".
    pub footer: Vec<String>,
}

#[derive(Template)]
#[template(path = "mail/notice.txt")]
struct NoticeText<'a> {
    n: &'a Notice<'a>,
}

#[derive(Template)]
#[template(path = "mail/notice.html")]
struct NoticeHtml<'a> {
    n: &'a Notice<'a>,
}

impl Notice<'_> {
    /// The message for `to`, both parts rendered.
    pub fn to(&self, to: &str) -> anyhow::Result<Outgoing> {
        Ok(Outgoing {
            to: to.to_owned(),
            subject: self.subject.to_owned(),
            text: NoticeText { n: self }
                .render()
                .context("rendering a mail's text")?,
            html: NoticeHtml { n: self }
                .render()
                .context("rendering a mail's HTML")?,
        })
    }
}

/// How and where a password was changed, for its notice.
pub struct Changed<'a> {
    /// "changed" or "reset".
    pub how: &'a str,
    pub ip: &'a str,
    pub now: crate::clock::UnixTime,
}

/// The notice after a password was changed or reset, so an owner who did not do it learns of
/// it; its link goes to the password reset.
pub fn password_changed<'a>(email: &str, changed: Changed<'_>, reset_url: &'a str) -> Notice<'a> {
    let when = changed.now.to_datetime().format("%Y-%m-%d %H:%M UTC");
    Notice {
        subject: "Your password was changed",
        heading: "Your password was changed",
        lines: vec![
            format!(
                "The password of your account {email} was {} on {when} from the address {}.",
                changed.how, changed.ip
            ),
            "Your other browsers were signed out, and the applications you use will ask you \
             to sign in again."
                .to_owned(),
            "If this wasn't you, reset your password now:".to_owned(),
        ],
        action: Some(Action {
            label: "Reset your password",
            url: reset_url,
        }),
        footer: vec!["If you did it yourself, there is nothing more to do.".to_owned()],
    }
}

/// The code for a sign-in that waits for it. The code stands alone on its line, so a
/// person (and a test) finds it: the only run of six digits in the message.
pub fn sign_in_code(code: &str, ttl: std::time::Duration) -> Notice<'static> {
    let minutes = ttl.as_secs().div_ceil(60).max(1);
    Notice {
        subject: "Your sign-in code",
        heading: "Your sign-in code",
        lines: vec![
            "Enter this code to finish signing in:".to_owned(),
            code.to_owned(),
        ],
        action: None,
        footer: vec![
            format!("It works once, for {minutes} minutes."),
            "If you did not just sign in, someone has your password: change it now.".to_owned(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_link_is_the_first_url_and_html_is_escaped() {
        let notice = Notice {
            subject: "Verify your email",
            heading: "Welcome <friend>",
            lines: vec!["Confirm it is you.".into()],
            action: Some(Action {
                label: "Verify",
                url: "https://id.example.com/verify?token=a&b=c",
            }),
            footer: vec!["Ignore this if it wasn't you.".into()],
        };
        let mail = notice.to("a@example.com").unwrap();
        let first = mail
            .text
            .split_whitespace()
            .find(|w| w.starts_with("https://"));
        assert_eq!(first, Some("https://id.example.com/verify?token=a&b=c"));
        assert!(
            mail.html.contains("Welcome &#60;friend&#62;"),
            "{}",
            mail.html
        );
        assert!(
            mail.html
                .contains("href=\"https://id.example.com/verify?token=a&#38;b=c\"")
        );
    }
}
