//! The malformed flood: garbage to every endpoint at a bounded rate, from 192.0.2.66. Each
//! request takes the next shape (bad percent-encoding, invalid UTF-8, wrong content type,
//! JSON for a form, duplicated parameters, overlong values, random paths, bad cookies, bad
//! credentials, bad forwarding headers, odd methods, garbage queries, forms missing their
//! fields; and, over a raw socket, what an HTTP client library refuses to send: see `raw`)
//! and, after a whole round of shapes, the next endpoint. Any answer but a 5xx is fine; a
//! 5xx is counted as `flood.5xx.<shape> <endpoint>: <status>` so it can be replayed.

use std::sync::Arc;

use base64::Engine;
use gatehouse::paths;
use reqwest::{Method, RequestBuilder};

use crate::browser::{Ctx, counted};
use crate::pace::paced;
use crate::raw;
use crate::stats::Kind;

pub const ADDRESS: &str = "192.0.2.66";

const ENDPOINTS: [&str; 19] = [
    paths::DISCOVERY,
    paths::OAUTH_METADATA,
    paths::JWKS,
    paths::AUTHORIZE,
    paths::TOKEN,
    paths::USERINFO,
    paths::LOGIN,
    paths::CONSENT,
    paths::HEALTHZ,
    paths::READYZ,
    "/static/style.css",
    paths::AUTHORIZE_RESUME,
    paths::REVOKE,
    paths::INTROSPECT,
    paths::LOGOUT,
    paths::LOGOUT_CONFIRM,
    paths::ACCOUNT_LOGIN,
    paths::ACCOUNT_SESSIONS,
    paths::ACCOUNT_SESSIONS_END,
];

type Build = fn(&Ctx, &'static str, &mut Rng) -> RequestBuilder;

const SHAPES: [(&str, Build); 13] = [
    ("bad percent-encoding", bad_percent_encoding),
    ("invalid UTF-8 form", invalid_utf8_form),
    ("wrong content type", wrong_content_type),
    ("JSON for a form", json_for_form),
    ("duplicated params", duplicated_params),
    ("overlong value", overlong_value),
    ("random path", random_path),
    ("bad cookies", bad_cookies),
    ("bad authorization", bad_authorization),
    ("bad forwarding headers", bad_forwarding),
    ("odd method", odd_method),
    ("garbage query", garbage_query),
    ("form without its fields", missing_fields),
];

/// Malformed requests at `rate` per second until the deadline.
pub async fn run(ctx: Arc<Ctx>, rate: u32) {
    let shared = ctx.clone();
    paced(&ctx, "flood", rate, 64, move |n| {
        let ctx = shared.clone();
        async move { one(&ctx, n).await }
    })
    .await;
}

async fn one(ctx: &Ctx, n: u64) {
    let mut rng = Rng::new(n);
    let rounds = (SHAPES.len() + raw::SHAPES.len()) as u64;
    let endpoint = ENDPOINTS[(n / rounds) as usize % ENDPOINTS.len()];
    let i = (n % rounds) as usize;
    let (name, status) = match SHAPES.get(i) {
        Some((name, build)) => {
            let request = build(ctx, endpoint, &mut rng);
            let reply = counted(ctx, Kind::Flood, "flood", request).await;
            (*name, reply.map(|r| r.status).ok())
        }
        None => {
            let (name, build) = raw::SHAPES[i - SHAPES.len()];
            (name, raw::send(ctx, name, &build(endpoint, &mut rng)).await)
        }
    };
    let answer = status.map_or("no answer".to_owned(), |s| s.to_string());
    ctx.stats.event(format!("flood.shape.{name}: {answer}"));
    if let Some(status @ 500..) = status {
        ctx.stats
            .event(format!("flood.5xx.{name} {endpoint}: {status}"));
    }
}

/// xorshift64*: reproducible garbage, the same for the same request number.
pub struct Rng(u64);

impl Rng {
    fn new(n: u64) -> Self {
        Self(n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn pick<T: Clone>(&mut self, options: &[T]) -> T {
        options[self.next() as usize % options.len()].clone()
    }

    /// `len` characters from `alphabet`.
    pub fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| char::from(self.pick(alphabet))).collect()
    }
}

fn request(ctx: &Ctx, method: Method, path_and_query: &str) -> RequestBuilder {
    ctx.http
        .request(method, ctx.url(path_and_query))
        .header("x-forwarded-for", ADDRESS)
}

fn form_post(ctx: &Ctx, path: &str, body: impl Into<reqwest::Body>) -> RequestBuilder {
    request(ctx, Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

fn bad_percent_encoding(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let body = rng.pick(&[
        "grant_type=%zz&code=%",
        "request=%E0%A4%A&csrf=%",
        "%%%=%%%&&&==",
        "email=a%40b&password=%FF%FE%FD",
        "token=%u0041&token_type_hint=%",
        "grant_type=client_credentials%",
    ]);
    form_post(ctx, path, body)
}

fn invalid_utf8_form(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let body: &'static [u8] = rng.pick(&[
        b"grant_type=\xff\xfe&code=\xc3\x28".as_slice(),
        b"request=\xed\xa0\x80&csrf=\xf0\x28\x8c\x28&email=\xc0\xaf&password=\xfe",
        b"\xff\xff\xff\xff",
        b"token=\xe2\x82&client_id=demo-web\x80",
    ]);
    form_post(ctx, path, body)
}

fn wrong_content_type(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let content_type = rng.pick(&[
        "text/plain",
        "multipart/form-data",
        "application/x-www-form-urlencoded; charset=utf-16",
        "application/xml",
        "application/octet-stream",
        "form/urlencoded;;;=",
    ]);
    request(ctx, Method::POST, path)
        .header("content-type", content_type)
        .body("grant_type=client_credentials&scope=profile&request=x&csrf=y")
}

fn json_for_form(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let body = rng.pick(&[
        r#"{"grant_type":"client_credentials","scope":"profile"}"#,
        r#"{"request":"x","csrf":"y","email":"admin@example.com","password":["a","b"]}"#,
        r#"{"token":{"nested":true},"decision":null}"#,
        r#"[1,2,3"#,
    ]);
    request(ctx, Method::POST, path)
        .header("content-type", "application/json")
        .body(body)
}

fn duplicated_params(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let query = "client_id=demo-spa&client_id=demo-web&response_type=code&response_type=token\
        &redirect_uri=http%3A%2F%2F127.0.0.1%3A8081%2Fcallback&redirect_uri=http%3A%2F%2Fevil.example%2F\
        &scope=openid&scope=profile&state=a&state=b&code_challenge=abc&code_challenge=def\
        &code_challenge_method=S256&code_challenge_method=plain&request=a&request=b";
    if rng.next() % 2 == 0 {
        return request(ctx, Method::GET, &format!("{path}?{query}"));
    }
    let body = "grant_type=authorization_code&grant_type=client_credentials&code=a&code=b\
        &client_id=demo-spa&client_id=demo-web&csrf=a&csrf=b&request=a&request=b\
        &email=a%40b&email=c%40d&password=x&password=y&token=a&token=b&decision=allow&decision=deny";
    form_post(ctx, path, body)
}

fn overlong_value(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let long = |n: usize| "A".repeat(n);
    match rng.next() % 4 {
        0 => request(
            ctx,
            Method::GET,
            &format!("{path}?client_id={}&state=x", long(8192)),
        ),
        1 => form_post(
            ctx,
            path,
            format!("grant_type=password&code={}", long(40_000)),
        ),
        2 => {
            let many: Vec<String> = (0..4000).map(|i| format!("p{i}=v")).collect();
            form_post(ctx, path, many.join("&"))
        }
        _ => request(ctx, Method::GET, path).header("user-agent", long(6000)),
    }
}

fn random_path(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let junk = rng.string(
        b"abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@%",
        24,
    );
    let target = match rng.next() % 8 {
        0 => format!("/{junk}"),
        1 => format!("{path}/{junk}"),
        2 => "/%2e%2e/%2e%2e/etc/passwd".to_owned(),
        3 => "/static/..%2f..%2fCargo.toml".to_owned(),
        4 => format!("/{path}/"),
        5 => format!("{path};jsessionid={junk}"),
        6 => "/%ff%fe%00".to_owned(),
        _ => format!("/.well-known/{junk}"),
    };
    let method = rng.pick(&[Method::GET, Method::POST]);
    request(ctx, method, &target)
}

fn bad_cookies(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let long = format!("gatehouse_session={}", "A".repeat(5000));
    let cookie = match rng.next() % 5 {
        0 => r#"gatehouse_session=%%%; gatehouse_session_csrf=""""#.to_owned(),
        1 => "gatehouse_session=a; gatehouse_session=b; gatehouse_session_csrf=c; gatehouse_session_csrf=d"
            .to_owned(),
        2 => "=;=;;; ;gatehouse_session".to_owned(),
        3 => long,
        _ => "gatehouse_session_csrf=eyJhbGciOiJub25lIn0..; gatehouse_session=../../etc".to_owned(),
    };
    form_post(ctx, path, "request=x&csrf=y&decision=allow&session=z").header("cookie", cookie)
}

fn bad_authorization(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let value = match rng.next() % 8 {
        0 => "Basic !!!".to_owned(),
        1 => format!("Basic {}", b64(b"\xff\xfe:\xfd")),
        2 => format!("Basic {}", b64(b"no-colon")),
        3 => format!("Basic {}", b64(b"demo-web:")),
        4 => format!("Basic {}", b64(b"%ZZ:%")),
        5 => "Bearer ".to_owned(),
        6 => "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.".to_owned(),
        _ => "Digest username=x".to_owned(),
    };
    let body = "grant_type=client_credentials&token=abc&client_id=demo-web&client_secret=x";
    form_post(ctx, path, body)
        .header("authorization", value)
        .header("authorization", "Basic ZGVtby13ZWI6ZGVtby13ZWItc2VjcmV0")
}

fn bad_forwarding(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let hops: Vec<String> = (0..100)
        .map(|i| format!("10.0.{}.{}", i / 250, i % 250))
        .collect();
    let (name, value) = match rng.next() % 6 {
        0 => ("x-forwarded-for", "not-an-ip".to_owned()),
        1 => ("x-forwarded-for", "999.1.1.1, 127.0.0.1".to_owned()),
        2 => ("x-forwarded-for", "::ffff:1.2.3.4, , ,".to_owned()),
        3 => ("x-forwarded-for", hops.join(", ")),
        4 => ("forwarded", r#"for="[::1"; by=;;, for=unknown"#.to_owned()),
        _ => ("forwarded", "for=;;;,,,proto=gopher".to_owned()),
    };
    // Not `request()`: the header under test replaces the flood's own address.
    ctx.http.get(ctx.url(path)).header(name, value)
}

fn odd_method(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let method = rng.pick(&[
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::TRACE,
    ]);
    request(ctx, method, path)
        .header("origin", rng.pick(&["null", "http://evil.example"]))
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization, x-evil")
}

fn garbage_query(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let query = rng.pick(&[
        "response_type=code&client_id=demo-spa&redirect_uri=http%3A%2F%2F127.0.0.1%3A8081%2Fcallback\
         &scope=openid&max_age=-1&prompt=none%20login&code_challenge_method=plain&code_challenge=x",
        "request=",
        "id_token_hint=a.b.c&post_logout_redirect_uri=javascript:alert(1)&state=%00",
        "request=eyJhbGciOiJub25lIn0.e30.&request_uri=urn:x&client_id=demo-web",
        "%=%&&=&a[]=1&a[b]=2&;;",
        "response_type=code&client_id=nobody&redirect_uri=%ZZ&scope=%FF",
    ]);
    request(ctx, Method::GET, &format!("{path}?{query}"))
}

fn missing_fields(ctx: &Ctx, path: &'static str, rng: &mut Rng) -> RequestBuilder {
    let body = rng.pick(&["", "request=x", "csrf=x", "grant_type=", "=", "&&&"]);
    form_post(ctx, path, body)
}
