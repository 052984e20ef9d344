//! Small upstreams written for the tests, on loopback port 0: an OIDC impostor and a
//! GitHub-shaped OAuth 2.0 provider. Each sends the browser straight back with a code.

use std::collections::HashMap;
use std::net::TcpListener;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};

/// Runs `configure`'s routes on a free port; returns the base URL and the server.
pub fn serve<F>(configure: F) -> (String, ServerHandle)
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let server = HttpServer::new(move || App::new().configure(configure.clone()))
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
    let handle = server.handle();
    tokio::spawn(server);
    (base, handle)
}

/// The authorization endpoint of a consenting upstream: back to `redirect_uri` at once.
pub fn approve(query: &HashMap<String, String>, code: &str) -> actix_web::HttpResponse {
    let mut back = url::Url::parse(&query["redirect_uri"]).unwrap();
    back.query_pairs_mut()
        .append_pair("code", code)
        .append_pair("state", &query["state"]);
    actix_web::HttpResponse::Found()
        .insert_header(("location", back.to_string()))
        .finish()
}
