//! Interactive documentation of the admin API at `/docs`: Swagger UI reading the OpenAPI
//! document at `/admin/api/v1/openapi.json`, its files compiled into the binary (the copy
//! vendored in utoipa-swagger-ui), so the page loads nothing from anywhere else. Like the
//! document, the page is public; calls made from it carry the Bearer token typed into its
//! Authorize dialog and are authorised as any other client's are.

use actix_web::middleware::DefaultHeaders;
use actix_web::web;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::paths;

/// The page's own policy in place of the site-wide one (`bounds::security_headers` only adds
/// a header a response lacks). Everything is from our origin: its scripts and stylesheets,
/// the document it fetches (`connect-src`), its images, some of them `data:` URIs in Swagger
/// UI's stylesheet (its icons). Nothing inline: the set-up script is a file, and the styles
/// React gives elements are set through the CSSOM, which `style-src` does not govern, so no
/// `'unsafe-inline'` (the browser test `browser::docs` finds the console clean).
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    // No validator badge (an image from swagger.io), and no top bar: it offers to load any
    // other document into this page, and the page is for ours only.
    let config = Config::new([paths::ADMIN_OPENAPI])
        .validator_url("none")
        .use_base_layout();
    let ui = SwaggerUi::new("/{_:.*}").config(config);
    let headers = DefaultHeaders::new().add(("Content-Security-Policy", DOCS_CSP));
    // `/docs` itself goes to `/docs/`, where the page's relative links resolve inside it.
    cfg.service(web::redirect(paths::DOCS, format!("{}/", paths::DOCS)))
        .service(web::scope(paths::DOCS).wrap(headers).service(ui));
}
