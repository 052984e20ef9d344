//! The console's clients: the list, registering one (its secret shown on the answer, once),
//! editing one with the version the form was rendered with, rotating the secret and
//! deleting, each of the last two after a confirm page.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::console::{DoneQuery, Plain, SignedInAdmin, done, fixable};
use super::error::PageError;
use super::extract::{CsrfForm, CsrfProtected};
use super::views::console::{
    ClientFormPage, ClientPage, ClientValues, ClientsPage, ConfirmPage, SecretPage,
};
use super::views::{self};
use crate::admin::AdminError;
use crate::admin::clients::{DEFAULT_SCOPES, NewClient};
use crate::clients::{Client, GrantType};
use crate::paths::{self, fill};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(paths::CONSOLE_CLIENTS, web::get().to(list))
        .route(paths::CONSOLE_CLIENT_NEW, web::get().to(new_form))
        .route(paths::CONSOLE_CLIENT_NEW, web::post().to(create))
        .route(paths::CONSOLE_CLIENT, web::get().to(show))
        .route(paths::CONSOLE_CLIENT_EDIT, web::get().to(edit_form))
        .route(paths::CONSOLE_CLIENT_EDIT, web::post().to(update))
        .route(paths::CONSOLE_CLIENT_SECRET, web::get().to(rotate_confirm))
        .route(paths::CONSOLE_CLIENT_SECRET, web::post().to(rotate))
        .route(paths::CONSOLE_CLIENT_DELETE, web::get().to(delete_confirm))
        .route(paths::CONSOLE_CLIENT_DELETE, web::post().to(delete));
}

/// The client form as posted: checkboxes are present only when ticked.
#[derive(Deserialize)]
struct ClientForm {
    csrf: String,
    version: Option<String>,
    name: String,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    code: Option<String>,
    refresh: Option<String>,
    client_credentials: Option<String>,
    #[serde(default)]
    scope: String,
    kind: Option<String>,
    first_party: Option<String>,
}

impl CsrfProtected for ClientForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl ClientForm {
    fn values(&self) -> ClientValues {
        ClientValues {
            name: self.name.clone(),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            code: self.code.is_some(),
            refresh: self.refresh.is_some(),
            client_credentials: self.client_credentials.is_some(),
            scope: self.scope.clone(),
            public: self.kind.as_deref() == Some("public"),
            first_party: self.first_party.is_some(),
        }
    }

    /// The registration it asks for; the admin service checks it.
    fn registration(&self) -> NewClient {
        let values = self.values();
        let lines = |text: &str| -> Vec<String> {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let grants = [
            (values.code, GrantType::AuthorizationCode),
            (values.refresh, GrantType::RefreshToken),
            (values.client_credentials, GrantType::ClientCredentials),
        ];
        NewClient {
            redirect_uris: lines(&values.redirect_uris),
            post_logout_redirect_uris: lines(&values.post_logout_redirect_uris),
            grant_types: grants.into_iter().filter(|g| g.0).map(|g| g.1).collect(),
            scopes: values.scope.split_whitespace().map(str::to_owned).collect(),
            public: values.public,
            first_party: values.first_party,
            ..NewClient::named(&values.name)
        }
    }

    /// The change of `current` it asks for: what the form does not show (the client's
    /// type and keys, its application type) stays as it is.
    fn change_of(&self, current: &Client) -> NewClient {
        NewClient {
            public: current.is_public(),
            jwks: current.jwks.clone(),
            application_type: current.application_type,
            ..self.registration()
        }
    }
}

fn client_href(id: &str) -> String {
    fill(paths::CONSOLE_CLIENT, &[id])
}

async fn list(op: SignedInAdmin, query: web::Query<DoneQuery>) -> Result<HttpResponse, PageError> {
    let clients = op.admin.clients().await?;
    let page = ClientsPage::new(&clients, query.done.as_deref());
    Ok(views::render(StatusCode::OK, &page))
}

/// The form for a new client, or a refused one again with what was typed and why.
fn new_client_form(csrf: &str, values: ClientValues, error: Option<&str>) -> HttpResponse {
    let page = ClientFormPage {
        title: "Register a client",
        action: paths::CONSOLE_CLIENT_NEW.to_owned(),
        csrf,
        values,
        error,
        version: None,
        cancel: paths::CONSOLE_CLIENTS.to_owned(),
    };
    let status = match error {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    views::render(status, &page)
}

async fn new_form(op: SignedInAdmin) -> HttpResponse {
    let values = ClientValues {
        code: true,
        refresh: true,
        scope: DEFAULT_SCOPES.join(" "),
        ..ClientValues::default()
    };
    new_client_form(&op.csrf, values, None)
}

/// Registers the client; a confidential one's secret is on this answer and nowhere else.
#[tracing::instrument(skip_all)]
async fn create(
    op: SignedInAdmin,
    CsrfForm { form, .. }: CsrfForm<ClientForm>,
) -> Result<HttpResponse, PageError> {
    let created = match op.admin.create_client(form.registration()).await {
        Ok(created) => created,
        Err(refused) => {
            let error = fixable(refused)?;
            return Ok(new_client_form(&op.csrf, form.values(), Some(&error)));
        }
    };
    let id = &created.client.id;
    let Some(secret) = created.secret else {
        return Ok(done(&client_href(id), "created"));
    };
    let page = SecretPage {
        title: "Client registered",
        label: "client_secret",
        secret: &secret,
        details: vec![("client_id", id.clone())],
        next: client_href(id),
        next_label: "Go to the client",
    };
    Ok(views::render(StatusCode::CREATED, &page))
}

async fn show(
    op: SignedInAdmin,
    id: web::Path<String>,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let client = op.admin.client(&id).await?;
    let page = ClientPage::new(&client, query.done.as_deref());
    Ok(views::render(StatusCode::OK, &page))
}

/// The edit form, carrying the version it shows (`version`), so that saving it cannot
/// overwrite a change made meanwhile.
fn edit_page(
    (csrf, id): (&str, &str),
    values: ClientValues,
    version: &str,
    (status, error): (StatusCode, Option<&str>),
) -> HttpResponse {
    let page = ClientFormPage {
        title: "Edit the client",
        action: fill(paths::CONSOLE_CLIENT_EDIT, &[id]),
        csrf,
        values,
        error,
        version: Some(version),
        cancel: client_href(id),
    };
    views::render(status, &page)
}

async fn edit_form(op: SignedInAdmin, id: web::Path<String>) -> Result<HttpResponse, PageError> {
    let (client, version) = op.admin.client_versioned(&id).await?;
    let values = ClientValues::of(&client);
    Ok(edit_page(
        (&op.csrf, &id),
        values,
        &version,
        (StatusCode::OK, None),
    ))
}

/// Saves the edit if the client is still the version the form showed. If it changed
/// meanwhile, nothing is saved and the form shows the current version to edit again.
#[tracing::instrument(skip_all)]
async fn update(
    op: SignedInAdmin,
    id: web::Path<String>,
    CsrfForm { form, .. }: CsrfForm<ClientForm>,
) -> Result<HttpResponse, PageError> {
    let current = op.admin.client(&id).await?;
    let version = form.version.as_deref();
    let refused = match op
        .admin
        .update_client(&id, form.change_of(&current), version)
        .await
    {
        Ok(_) => return Ok(done(&client_href(&id), "saved")),
        Err(refused) => refused,
    };
    if let AdminError::VersionChanged = refused {
        let (client, version) = op.admin.client_versioned(&id).await?;
        let error = "Someone changed this client while you were editing it, so your changes were \
                     not saved. The form now shows the current version: make your changes again.";
        let shown = (StatusCode::CONFLICT, Some(error));
        return Ok(edit_page(
            (&op.csrf, &id),
            ClientValues::of(&client),
            &version,
            shown,
        ));
    }
    let error = fixable(refused)?;
    let shown = (StatusCode::BAD_REQUEST, Some(error.as_str()));
    let values = form.values();
    Ok(edit_page(
        (&op.csrf, &id),
        values,
        version.unwrap_or_default(),
        shown,
    ))
}

async fn rotate_confirm(
    op: SignedInAdmin,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let client = op.admin.client(&id).await?;
    let overlap = views::console::duration_words(op.admin.secret_overlap.as_secs());
    let page = ConfirmPage {
        title: "Rotate the secret?",
        message: format!(
            "{} gets a new client secret, shown once. The current one keeps working for \
             {overlap}, so its deployments can move to the new one.",
            client.name
        ),
        action: fill(paths::CONSOLE_CLIENT_SECRET, &[&id]),
        csrf: &op.csrf,
        button: "Rotate the secret",
        cancel: client_href(&id),
    };
    Ok(views::render(StatusCode::OK, &page))
}

/// A new secret, on this answer only; the old one works for the configured overlap.
#[tracing::instrument(skip_all)]
async fn rotate(
    op: SignedInAdmin,
    id: web::Path<String>,
    _form: CsrfForm<Plain>,
) -> Result<HttpResponse, PageError> {
    let rotated = op.admin.rotate_client_secret(&id, None).await?;
    let until = rotated.previous_expires_at.map_or_else(
        || "now (it no longer works)".to_owned(),
        views::console::format_time,
    );
    let page = SecretPage {
        title: "New client secret",
        label: "client_secret",
        secret: &rotated.secret,
        details: vec![
            ("client_id", id.clone()),
            ("The old secret works until", until),
        ],
        next: client_href(&id),
        next_label: "Back to the client",
    };
    Ok(views::render(StatusCode::OK, &page))
}

async fn delete_confirm(
    op: SignedInAdmin,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let client = op.admin.client(&id).await?;
    let page = ConfirmPage {
        title: "Delete the client?",
        message: format!(
            "{} ({}) and the consents given to it are deleted, and its tokens stop working. \
             This cannot be undone.",
            client.name, client.id
        ),
        action: fill(paths::CONSOLE_CLIENT_DELETE, &[&id]),
        csrf: &op.csrf,
        button: "Delete the client",
        cancel: client_href(&id),
    };
    Ok(views::render(StatusCode::OK, &page))
}

#[tracing::instrument(skip_all)]
async fn delete(
    op: SignedInAdmin,
    id: web::Path<String>,
    _form: CsrfForm<Plain>,
) -> Result<HttpResponse, PageError> {
    op.admin.delete_client(&id).await?;
    Ok(done(paths::CONSOLE_CLIENTS, "deleted"))
}
