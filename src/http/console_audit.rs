//! The console's audit log (the latest events, filtered by user, client and kind, a page at
//! a time) and its registration tokens (an initial access token, shown once).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::console::{SignedInAdmin, fixable};
use super::error::PageError;
use super::extract::{CsrfForm, CsrfProtected};
use super::views::console::{SecretPage, format_time};
use super::views::console_users::{AuditFilters, AuditPage, TokensPage};
use super::views::{self};
use crate::admin::AdminError;
use crate::admin::audit_log::AuditQuery;
use crate::paths;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::CONSOLE_AUDIT, web::get().to(audit))
        .route(paths::CONSOLE_TOKENS, web::get().to(tokens))
        .route(paths::CONSOLE_TOKENS, web::post().to(create_token));
}

#[derive(Deserialize)]
struct AuditParams {
    #[serde(default)]
    user: String,
    #[serde(default)]
    client: String,
    #[serde(default)]
    kind: String,
    cursor: Option<String>,
}

/// An empty field of the filter form is no filter.
fn given(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The events the filters ask for; a value the search does not take is shown above an
/// empty list, naming the field.
async fn audit(
    op: SignedInAdmin,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, PageError> {
    let filters = AuditFilters {
        user: params.user.trim().to_owned(),
        client: params.client.trim().to_owned(),
        kind: params.kind.trim().to_owned(),
    };
    let query = AuditQuery {
        user: given(&filters.user),
        client: given(&filters.client),
        kind: given(&filters.kind),
        cursor: params.cursor.as_deref().and_then(given),
        ..AuditQuery::default()
    };
    match op.admin.audit_events(query).await {
        Ok(found) => {
            let page = AuditPage::new(&filters, found.events, found.next_cursor.as_deref());
            Ok(views::render(StatusCode::OK, &page))
        }
        Err(refused @ AdminError::Invalid { .. }) => {
            let error = refused.to_string();
            let page = AuditPage {
                error: Some(&error),
                ..AuditPage::new(&filters, vec![], None)
            };
            Ok(views::render(StatusCode::BAD_REQUEST, &page))
        }
        Err(other) => Err(other.into()),
    }
}

fn tokens_page(op: &SignedInAdmin, error: Option<&str>) -> HttpResponse {
    let page = TokensPage {
        csrf: &op.csrf,
        action: paths::CONSOLE_TOKENS,
        error,
    };
    let status = match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    views::render(status, &page)
}

async fn tokens(op: SignedInAdmin) -> HttpResponse {
    tokens_page(&op, None)
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: String,
    #[serde(default)]
    uses: String,
    #[serde(default)]
    days: String,
}

impl CsrfProtected for TokenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Makes an initial access token; it is on this answer and nowhere else.
#[tracing::instrument(skip_all)]
async fn create_token(
    op: SignedInAdmin,
    CsrfForm { form, .. }: CsrfForm<TokenForm>,
) -> Result<HttpResponse, PageError> {
    let (Ok(uses), Ok(days)) = (whole(&form.uses), whole(&form.days)) else {
        return Ok(tokens_page(
            &op,
            Some("Give whole numbers (or leave the uses empty)."),
        ));
    };
    let lifetime = Duration::from_secs(u64::from(days.unwrap_or(1)).saturating_mul(86_400));
    let issued = match op.admin.create_initial_token(uses, lifetime).await {
        Ok(issued) => issued,
        Err(refused) => return Ok(tokens_page(&op, Some(&fixable(refused)?))),
    };
    let uses = issued
        .uses
        .map_or_else(|| "no limit".to_owned(), |n| n.to_string());
    let page = SecretPage {
        title: "Initial access token",
        label: "initial_access_token",
        secret: &issued.token,
        details: vec![
            ("Works until", format_time(issued.expires_at)),
            ("Registrations", uses),
        ],
        next: paths::CONSOLE_TOKENS.to_owned(),
        next_label: "Make another",
    };
    Ok(views::render(StatusCode::CREATED, &page))
}

/// An optional whole number as typed.
fn whole(typed: &str) -> Result<Option<u32>, std::num::ParseIntError> {
    let typed = typed.trim();
    match typed.is_empty() {
        true => Ok(None),
        false => typed.parse().map(Some),
    }
}
