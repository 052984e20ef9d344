//! One simulated browser (or relying party): its own cookies and its own address, sent as
//! `X-Forwarded-For` to a server that trusts the loopback proxy. Every request it sends is
//! timed and counted in [`Stats`] under its traffic kind.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::RequestBuilder;

use crate::stats::{Answer, Kind, Stats};

/// What every task shares: where the server is, one connection pool, the tallies, and
/// when to stop starting new work.
pub struct Ctx {
    pub base: String,
    pub http: reqwest::Client,
    pub stats: Stats,
    pub deadline: Instant,
}

impl Ctx {
    pub fn new(base: &str, duration: Duration) -> anyhow::Result<Arc<Self>> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .build()?;
        Ok(Arc::new(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            stats: Stats::default(),
            deadline: Instant::now() + duration,
        }))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn running(&self) -> bool {
        Instant::now() < self.deadline
    }

    /// A `Location`, made absolute against the server when it is a path.
    pub fn absolute(&self, location: &str) -> String {
        if location.starts_with('/') {
            self.url(location)
        } else {
            location.to_owned()
        }
    }
}

/// A response, read to the end.
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub set_cookies: Vec<String>,
    /// Whether it carried `Retry-After` (a 429, or a 503 from a busy backend or hasher).
    pub retry_after: bool,
}

impl Reply {
    pub fn is_redirect(&self) -> bool {
        matches!(self.status, 301 | 302 | 303 | 307 | 308)
    }
}

pub struct Browser {
    pub ctx: Arc<Ctx>,
    kind: Kind,
    forwarded_for: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new(ctx: &Arc<Ctx>, kind: Kind, forwarded_for: impl Into<String>) -> Self {
        Self {
            ctx: ctx.clone(),
            kind,
            forwarded_for: forwarded_for.into(),
            cookies: Vec::new(),
        }
    }

    pub async fn get(&mut self, step: &'static str, url: &str) -> Result<Reply, String> {
        let request = self.ctx.http.get(url);
        self.send(step, request).await
    }

    pub async fn post_form(
        &mut self,
        step: &'static str,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<Reply, String> {
        let request = self.ctx.http.post(self.ctx.url(path)).form(form);
        self.send(step, request).await
    }

    /// Sends with this browser's cookies and address, keeps the cookies it is given, and
    /// counts the answer. `Err` names the step and what went wrong at the transport level.
    pub async fn send(
        &mut self,
        step: &'static str,
        mut request: RequestBuilder,
    ) -> Result<Reply, String> {
        if !self.cookies.is_empty() {
            let pairs: Vec<String> = self
                .cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            request = request.header("cookie", pairs.join("; "));
        }
        request = request.header("x-forwarded-for", &self.forwarded_for);
        let reply = counted(&self.ctx, self.kind, step, request).await?;
        for cookie in &reply.set_cookies {
            self.keep_cookie(cookie);
        }
        Ok(reply)
    }

    /// A `Set-Cookie` value: replaces a cookie of that name, or deletes it (`Max-Age=0`).
    fn keep_cookie(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
            return;
        };
        let removed = parts.any(|p| p.trim().eq_ignore_ascii_case("max-age=0"));
        self.cookies.retain(|(n, _)| n != name);
        if !removed && !value.is_empty() {
            self.cookies.push((name.to_owned(), value.to_owned()));
        }
    }
}

/// Sends a request as it is, reads the whole answer and counts it under `kind`; honest
/// kinds also keep its latency under `step`.
pub async fn counted(
    ctx: &Ctx,
    kind: Kind,
    step: &'static str,
    request: RequestBuilder,
) -> Result<Reply, String> {
    let started = Instant::now();
    let result = exchange(request).await;
    let answer = match &result {
        Ok(reply) => Answer::Status {
            code: reply.status,
            retry_after: reply.retry_after,
        },
        Err(_) => Answer::NoAnswer,
    };
    ctx.stats.record(kind, step, answer, started.elapsed());
    result.map_err(|e| format!("{step}: {e}"))
}

async fn exchange(request: RequestBuilder) -> Result<Reply, &'static str> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let headers = response.headers();
    let retry_after = headers.contains_key("retry-after");
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let set_cookies = headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let body = response.text().await.map_err(transport)?;
    Ok(Reply {
        status,
        location,
        body,
        set_cookies,
        retry_after,
    })
}

fn transport(error: reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "no answer"
    }
}

/// The value of a hidden form field (`name="csrf" value="…"`), as our templates write it.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

pub fn is_login_form(html: &str) -> bool {
    html.contains(r#"name="password""#)
}

/// The message of a login form shown again with an error (`id="login-error"`).
pub fn login_error(html: &str) -> Option<String> {
    let start = html.find(r#"id="login-error">"#)? + r#"id="login-error">"#.len();
    let end = html[start..].find('<')? + start;
    Some(html[start..end].trim().to_owned())
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
