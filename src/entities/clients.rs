use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub client_type: String,
    pub secret_sha256: Option<String>,
    pub token_endpoint_auth_methods: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub web_origins: String,
    pub grant_types: String,
    pub scopes: String,
    pub require_consent: bool,
    pub require_pkce: bool,
    pub allow_plain_pkce: bool,
    pub access_token_ttl_secs: Option<i64>,
    pub refresh_token_idle_ttl_secs: Option<i64>,
    pub refresh_token_max_ttl_secs: Option<i64>,
    pub jwks: Option<String>,
    pub backchannel_logout_uri: Option<String>,
    pub introspect_any: bool,
    pub refresh_retry_grace_secs: Option<i64>,
    pub allowed_resources: String,
    pub require_verified_email: bool,
    pub require_mfa: bool,
    pub application_type: String,
    /// Raised by every write (the admin API's ETag).
    pub version: i64,
    /// The secret before the latest rotation, working until `previous_secret_expires_at`
    /// (Unix seconds).
    pub previous_secret_sha256: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    /// Set for a self-registered client (RFC 7591): its registration access token's digest.
    pub registration_token_sha256: Option<String>,
    /// `RS256`, `ES256` or `EdDSA`; NULL is RS256.
    pub id_token_signed_response_alg: Option<String>,
    /// Set: userinfo answers are JWTs signed with it; NULL: plain JSON.
    pub userinfo_signed_response_alg: Option<String>,
    /// NULL is RS256.
    pub access_token_signed_response_alg: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
