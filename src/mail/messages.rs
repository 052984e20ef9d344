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
