//! Clients in the database. List fields are JSON arrays in text columns.

use crate::clock::UnixTime;
use crate::database::DbContext;
use anyhow::Context;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ApplicationType, Client, ClientType, PreviousSecret};
use crate::entities::clients;
use crate::keys::Alg;

pub async fn find(db: &DatabaseConnection, id: &str) -> anyhow::Result<Option<Client>> {
    let row = clients::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
        .db_context("looking up a client")?;
    row.map(from_row).transpose()
}

fn from_row(row: clients::Model) -> anyhow::Result<Client> {
    let Secrets {
        secret_sha256,
        previous_secret,
        registration_token_sha256,
    } = secrets_of(&row)?;
    let alg = |column: &Option<String>| -> anyhow::Result<Option<Alg>> {
        column
            .as_deref()
            .map(|name| Alg::parse(name).with_context(|| format!("client {} alg {name:?}", row.id)))
            .transpose()
    };
    let id_token_alg = alg(&row.id_token_signed_response_alg)?.unwrap_or(Alg::Rs256);
    let userinfo_alg = alg(&row.userinfo_signed_response_alg)?;
    let access_token_alg = alg(&row.access_token_signed_response_alg)?.unwrap_or(Alg::Rs256);
    Ok(Client {
        previous_secret,
        registration_token_sha256,
        id_token_alg,
        userinfo_alg,
        access_token_alg,
        client_type: if row.client_type == "public" {
            ClientType::Public
        } else {
            ClientType::Confidential
        },
        secret_sha256,
        auth_methods: list(&row.token_endpoint_auth_methods)?,
        redirect_uris: list(&row.redirect_uris)?,
        post_logout_redirect_uris: list(&row.post_logout_redirect_uris)?,
        web_origins: list(&row.web_origins)?,
        grant_types: list(&row.grant_types)?,
        scopes: list(&row.scopes)?,
        require_consent: row.require_consent,
        require_pkce: row.require_pkce,
        allow_plain_pkce: row.allow_plain_pkce,
        access_token_ttl_secs: row.access_token_ttl_secs,
        refresh_token_idle_ttl_secs: row.refresh_token_idle_ttl_secs,
        refresh_token_max_ttl_secs: row.refresh_token_max_ttl_secs,
        jwks: row.jwks,
        backchannel_logout_uri: row.backchannel_logout_uri,
        introspect_any: row.introspect_any,
        refresh_retry_grace_secs: row.refresh_retry_grace_secs,
        allowed_resources: list(&row.allowed_resources)?,
        require_verified_email: row.require_verified_email,
        require_mfa: row.require_mfa,
        application_type: ApplicationType::parse(&row.application_type)
            .ok_or_else(|| anyhow::anyhow!("client {} has an unknown application_type", row.id))?,
        id: row.id,
        name: row.name,
    })
}

/// The digests a client row keeps.
struct Secrets {
    secret_sha256: Option<[u8; 32]>,
    previous_secret: Option<PreviousSecret>,
    registration_token_sha256: Option<[u8; 32]>,
}

fn secrets_of(row: &clients::Model) -> anyhow::Result<Secrets> {
    let digest = |hex: Option<&str>, what: &str| -> anyhow::Result<Option<[u8; 32]>> {
        hex.map(|hex| decode_hex(hex).context(what.to_owned()))
            .transpose()
    };
    let previous = digest(
        row.previous_secret_sha256.as_deref(),
        "previous client secret digest",
    )?;
    Ok(Secrets {
        secret_sha256: digest(row.secret_sha256.as_deref(), "client secret digest")?,
        previous_secret: previous
            .zip(row.previous_secret_expires_at)
            .map(|(sha256, expires_at)| PreviousSecret { sha256, expires_at }),
        registration_token_sha256: digest(
            row.registration_token_sha256.as_deref(),
            "registration token digest",
        )?,
    })
}

/// Inserts the client unless one with its id exists (seeding is idempotent).
pub async fn insert_if_absent(
    db: &DatabaseConnection,
    client: &Client,
    now: UnixTime,
) -> anyhow::Result<()> {
    let now = now.to_datetime();
    let row = clients::ActiveModel {
        id: Set(client.id.clone()),
        name: Set(client.name.clone()),
        client_type: Set(client.client_type.as_str().to_owned()),
        secret_sha256: Set(client.secret_sha256.map(|d| encode_hex(&d))),
        token_endpoint_auth_methods: Set(json(&client.auth_methods)?),
        redirect_uris: Set(json(&client.redirect_uris)?),
        post_logout_redirect_uris: Set(json(&client.post_logout_redirect_uris)?),
        web_origins: Set(json(&client.web_origins)?),
        grant_types: Set(json(&client.grant_types)?),
        scopes: Set(json(&client.scopes)?),
        require_consent: Set(client.require_consent),
        require_pkce: Set(client.require_pkce),
        allow_plain_pkce: Set(client.allow_plain_pkce),
        access_token_ttl_secs: Set(client.access_token_ttl_secs),
        refresh_token_idle_ttl_secs: Set(client.refresh_token_idle_ttl_secs),
        refresh_token_max_ttl_secs: Set(client.refresh_token_max_ttl_secs),
        jwks: Set(client.jwks.clone()),
        backchannel_logout_uri: Set(client.backchannel_logout_uri.clone()),
        introspect_any: Set(client.introspect_any),
        refresh_retry_grace_secs: Set(client.refresh_retry_grace_secs),
        allowed_resources: Set(json(&client.allowed_resources)?),
        require_verified_email: Set(client.require_verified_email),
        require_mfa: Set(client.require_mfa),
        application_type: Set(client.application_type.as_str().to_owned()),
        version: Set(0),
        previous_secret_sha256: Set(client.previous_secret.map(|p| encode_hex(&p.sha256))),
        previous_secret_expires_at: Set(client.previous_secret.map(|p| p.expires_at)),
        registration_token_sha256: Set(client.registration_token_sha256.map(|d| encode_hex(&d))),
        id_token_signed_response_alg: Set(stored_alg(client.id_token_alg)),
        userinfo_signed_response_alg: Set(client.userinfo_alg.map(|a| a.as_str().to_owned())),
        access_token_signed_response_alg: Set(stored_alg(client.access_token_alg)),
        created_at: Set(now),
        updated_at: Set(now),
    };
    clients::Entity::insert(row)
        .on_conflict(
            OnConflict::column(clients::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .db_context("inserting a client")?;
    Ok(())
}

/// RS256, the default, is stored as NULL.
fn stored_alg(alg: Alg) -> Option<String> {
    (alg != Alg::Rs256).then(|| alg.as_str().to_owned())
}

fn list<T: DeserializeOwned>(raw: &str) -> anyhow::Result<Vec<T>> {
    serde_json::from_str(raw).with_context(|| format!("malformed client list column {raw:?}"))
}

fn json<T: Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string(value)?)
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(hex: &str) -> anyhow::Result<[u8; 32]> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()?;
    <[u8; 32]>::try_from(bytes).map_err(|_| anyhow::anyhow!("digest must be 32 bytes"))
}

/// Every origin (scheme://host[:port]) of registered redirect URIs and web origins, for CORS.
pub async fn origins(db: &DatabaseConnection) -> anyhow::Result<std::collections::HashSet<String>> {
    let rows = clients::Entity::find()
        .all(db)
        .await
        .db_context("listing clients")?;
    let mut origins = std::collections::HashSet::new();
    for row in rows {
        let client = from_row(row)?;
        for uri in client.redirect_uris.iter().chain(client.web_origins.iter()) {
            if let Ok(url) = url::Url::parse(uri) {
                let origin = url.origin();
                if origin.is_tuple() {
                    origins.insert(origin.ascii_serialization());
                }
            }
        }
    }
    Ok(origins)
}

/// Every client, by name.
pub async fn all(db: &DatabaseConnection) -> anyhow::Result<Vec<Client>> {
    use sea_orm::QueryOrder;
    let rows = clients::Entity::find()
        .order_by_asc(clients::Column::Name)
        .order_by_asc(clients::Column::Id)
        .all(db)
        .await
        .db_context("listing clients")?;
    rows.into_iter().map(from_row).collect()
}

/// Deletes the client and the consents given to it; `false` when there was none.
pub async fn delete(db: &DatabaseConnection, id: &str) -> anyhow::Result<bool> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let txn = crate::database::begin_write(db)
        .await
        .db_context("starting a client deletion")?;
    crate::entities::consents::Entity::delete_many()
        .filter(crate::entities::consents::Column::ClientId.eq(id))
        .exec(&txn)
        .await
        .db_context("deleting a client's consents")?;
    let gone = clients::Entity::delete_by_id(id.to_owned())
        .exec(&txn)
        .await
        .db_context("deleting a client")?;
    txn.commit()
        .await
        .db_context("committing a client deletion")?;
    Ok(gone.rows_affected == 1)
}

/// Replaces the client's secret digest, keeping `previous` (the old one, until its overlap
/// ends) or forgetting the old one at once; `false` when there is no such client.
pub async fn set_secret(
    db: &DatabaseConnection,
    id: &str,
    secret_sha256: &[u8; 32],
    previous: Option<PreviousSecret>,
    now: UnixTime,
) -> anyhow::Result<bool> {
    use clients::Column;
    use sea_orm::{ColumnTrait, ExprTrait, QueryFilter, sea_query::Expr};
    let done = clients::Entity::update_many()
        .col_expr(Column::SecretSha256, Expr::value(encode_hex(secret_sha256)))
        .col_expr(
            Column::PreviousSecretSha256,
            Expr::value(previous.map(|p| encode_hex(&p.sha256))),
        )
        .col_expr(
            Column::PreviousSecretExpiresAt,
            Expr::value(previous.map(|p| p.expires_at)),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now.to_datetime()))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(Column::Id.eq(id))
        .exec(db)
        .await
        .db_context("storing a client secret")?;
    Ok(done.rows_affected == 1)
}

/// Replaces a self-registered client's registration access token digest if it is still
/// `was` (RFC 7592: each use answers with a new one); whether it was.
pub async fn replace_registration_token(
    db: &DatabaseConnection,
    id: &str,
    was: &[u8; 32],
    next: &[u8; 32],
) -> anyhow::Result<bool> {
    use clients::Column;
    use sea_orm::{ColumnTrait, QueryFilter, sea_query::Expr};
    let done = clients::Entity::update_many()
        .col_expr(
            Column::RegistrationTokenSha256,
            Expr::value(encode_hex(next)),
        )
        .filter(Column::Id.eq(id))
        .filter(Column::RegistrationTokenSha256.eq(encode_hex(was)))
        .exec(db)
        .await
        .db_context("replacing a registration access token")?;
    Ok(done.rows_affected == 1)
}

/// The client and its version (see migration 15).
pub async fn find_versioned(
    db: &DatabaseConnection,
    id: &str,
) -> anyhow::Result<Option<(Client, i64)>> {
    let row = clients::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
        .db_context("looking up a client")?;
    let Some(row) = row else {
        return Ok(None);
    };
    let version = row.version;
    Ok(Some((from_row(row)?, version)))
}

/// Stores the registration's editable fields if the client is still at `version`; `false`
/// when it is gone or another write came first.
pub async fn update(
    db: &DatabaseConnection,
    client: &Client,
    version: i64,
    now: UnixTime,
) -> anyhow::Result<bool> {
    use clients::Column;
    use sea_orm::{ColumnTrait, ExprTrait, QueryFilter, sea_query::Expr};
    let done = clients::Entity::update_many()
        .col_expr(Column::Name, Expr::value(client.name.clone()))
        .col_expr(
            Column::RedirectUris,
            Expr::value(json(&client.redirect_uris)?),
        )
        .col_expr(
            Column::PostLogoutRedirectUris,
            Expr::value(json(&client.post_logout_redirect_uris)?),
        )
        .col_expr(Column::GrantTypes, Expr::value(json(&client.grant_types)?))
        .col_expr(Column::Scopes, Expr::value(json(&client.scopes)?))
        .col_expr(Column::RequireConsent, Expr::value(client.require_consent))
        .col_expr(Column::Jwks, Expr::value(client.jwks.clone()))
        .col_expr(
            Column::IdTokenSignedResponseAlg,
            Expr::value(stored_alg(client.id_token_alg)),
        )
        .col_expr(
            Column::UserinfoSignedResponseAlg,
            Expr::value(client.userinfo_alg.map(|a| a.as_str().to_owned())),
        )
        .col_expr(
            Column::AccessTokenSignedResponseAlg,
            Expr::value(stored_alg(client.access_token_alg)),
        )
        .col_expr(
            Column::ApplicationType,
            Expr::value(client.application_type.as_str()),
        )
        .col_expr(Column::UpdatedAt, Expr::value(now.to_datetime()))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .filter(Column::Id.eq(client.id.as_str()))
        .filter(Column::Version.eq(version))
        .exec(db)
        .await
        .db_context("updating a client")?;
    Ok(done.rows_affected == 1)
}
