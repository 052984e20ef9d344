//! Demo data for the embedded default: fixed users and clients that docs, browser tests and
//! outside tools rely on. Idempotent; never enabled by the production profile.

use sea_orm::DatabaseConnection;
use secrecy::SecretString;

use crate::accounts::{self, Email, Passwords};
use crate::clients::{self, ApplicationType, AuthMethod, Client, ClientType, GrantType};
use crate::clock::UnixTime;
use crate::keys::Alg;

/// (email, password, display name, role) from the seed documents.
pub const USERS: [(&str, &str, &str, &str); 5] = [
    ("admin@example.com", "Admin@123", "Ada Admin", "admin"),
    ("legal@example.com", "Legal@123", "Lee Legal", "legal"),
    ("pm@example.com", "PM@123", "Pat Manager", "pm"),
    ("sales@example.com", "Sales@123", "Sam Sales", "sales"),
    ("user@example.com", "User@123", "Uma User", "user"),
];

pub const SPA_CLIENT_ID: &str = "demo-spa";
pub const WEB_CLIENT_ID: &str = "demo-web";
pub const WEB_CLIENT_SECRET: &str = "demo-web-secret";
pub const REDIRECT_URIS: [&str; 2] = [
    "http://127.0.0.1:8081/callback",
    "http://localhost:8081/callback",
];
pub const NATIVE_CLIENT_ID: &str = "demo-native";
/// Confidential clients whose id_tokens and access tokens are ES256 and EdDSA.
pub const ES256_CLIENT: (&str, &str) = ("demo-es256", "demo-es256-secret");
pub const EDDSA_CLIENT: (&str, &str) = ("demo-eddsa", "demo-eddsa-secret");
/// A loopback IP URI without a port (any port matches, RFC 8252 §7.3) and a private-use
/// scheme (§7.1).
pub const NATIVE_REDIRECT_URIS: [&str; 2] = [
    "http://127.0.0.1/callback",
    "com.example.gatehouse:/callback",
];
pub const POST_LOGOUT_REDIRECT_URI: &str = "http://127.0.0.1:8081/";
pub const SCOPES: [&str; 5] = ["openid", "profile", "email", "roles", "offline_access"];
/// The API the demo clients may ask tokens for (RFC 8707).
pub const RESOURCE: &str = "https://api.example.com";

/// Seeds the demo users and clients; the ES256 and EdDSA clients only when `algorithms`
/// (`keys.algorithms`) has keys for them.
pub async fn seed(
    db: &DatabaseConnection,
    passwords: &Passwords,
    algorithms: &[Alg],
    now: UnixTime,
) -> anyhow::Result<()> {
    tracing::warn!(
        "DEMO DATA IS ENABLED: seeding demo users (admin@example.com / Admin@123, …) and clients \
         (demo-spa, demo-web, demo-native, demo-es256, demo-eddsa); set demo.seed = false in \
         production"
    );
    for (email, password, name, role) in USERS {
        let email = Email::parse(email).ok_or_else(|| anyhow::anyhow!("bad demo email"))?;
        if accounts::store::email_exists(db, &email).await? {
            // Seeded before (with its role): leave it as it is, so restarts stay fast.
            continue;
        }
        let password_hash = passwords.hash(&SecretString::from(password)).await?;
        let new = accounts::store::NewUser {
            email: &email,
            name,
            password_hash,
            email_verified: true,
        };
        let user_id = accounts::store::insert_if_absent(db, new, now).await?;
        accounts::store::grant_role(db, &user_id, role).await?;
    }
    let curves = [
        curve_client(ES256_CLIENT, "Demo ES256 App", Alg::Es256),
        curve_client(EDDSA_CLIENT, "Demo EdDSA App", Alg::EdDsa),
    ];
    let curves = curves
        .into_iter()
        .filter(|c| algorithms.contains(&c.id_token_alg));
    for client in [spa_client(), web_client(), native_client()]
        .into_iter()
        .chain(curves)
    {
        // A read first: on a restart nothing is written, so start-up stays fast.
        if clients::store::find(db, &client.id).await?.is_none() {
            clients::store::insert_if_absent(db, &client, now).await?;
        }
    }
    Ok(())
}

fn base_client(id: &str, name: &str) -> Client {
    Client {
        post_logout_redirect_uris: vec![POST_LOGOUT_REDIRECT_URI.to_owned()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: SCOPES.map(str::to_owned).to_vec(),
        allowed_resources: vec![RESOURCE.to_owned()],
        ..Client::public(id, name, REDIRECT_URIS.map(str::to_owned).to_vec())
    }
}

pub fn spa_client() -> Client {
    base_client(SPA_CLIENT_ID, "Demo SPA")
}

pub fn web_client() -> Client {
    confidential(WEB_CLIENT_ID, WEB_CLIENT_SECRET, "Demo Web App")
}

fn confidential(id: &str, secret: &str, name: &str) -> Client {
    Client {
        client_type: ClientType::Confidential,
        secret_sha256: Some(clients::digest(secret)),
        auth_methods: vec![AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost],
        grant_types: vec![
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::ClientCredentials,
        ],
        ..base_client(id, name)
    }
}

/// A confidential client signed for with `alg` (id_tokens, access tokens, logout tokens).
pub fn curve_client((id, secret): (&str, &str), name: &str, alg: Alg) -> Client {
    Client {
        id_token_alg: alg,
        access_token_alg: alg,
        ..confidential(id, secret, name)
    }
}

/// A public app on the user's device (RFC 8252), with PKCE.
pub fn native_client() -> Client {
    Client {
        application_type: ApplicationType::Native,
        redirect_uris: NATIVE_REDIRECT_URIS.map(str::to_owned).to_vec(),
        ..base_client(NATIVE_CLIENT_ID, "Demo Native App")
    }
}
