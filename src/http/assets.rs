//! Static assets, compiled into the binary so it runs from any directory.

use actix_web::{HttpResponse, web};

use crate::paths;

const STYLE_CSS: &str = include_str!("../../static/style.css");
const FORM_POST_JS: &str = include_str!("../../static/form_post.js");
/// Declared by every page, so browsers do not ask for `/favicon.ico` (a 404 on each page).
const FAVICON_SVG: &str = include_str!("../../static/favicon.svg");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        &format!("{}/style.css", paths::STATIC),
        web::get().to(style),
    )
    .route(
        &format!("{}/form_post.js", paths::STATIC),
        web::get().to(form_post),
    )
    .route(
        &format!("{}/favicon.svg", paths::STATIC),
        web::get().to(favicon),
    );
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

async fn form_post() -> HttpResponse {
    asset("application/javascript; charset=utf-8", FORM_POST_JS)
}

async fn favicon() -> HttpResponse {
    asset("image/svg+xml", FAVICON_SVG)
}

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(body)
}
