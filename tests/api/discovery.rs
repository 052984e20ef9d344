//! Discovery metadata and JWKS as a relying party sees them.

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(
    metadata_is_exact_and_lists_only_what_exists,
    jwks_serves_the_rs256_key_first_and_it_survives_a_restart
);

async fn metadata_is_exact_and_lists_only_what_exists(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let response = app.get("/.well-known/openid-configuration").await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let doc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(doc["issuer"], app.address.as_str());
    assert_eq!(doc["jwks_uri"], app.url("/jwks"));
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256", "EdDSA"]),
        "RS256 first (OIDC Discovery §3)"
    );
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["request_uri_parameter_supported"], false);
    assert_eq!(doc["end_session_endpoint"], app.url("/logout"));
    assert_eq!(doc["revocation_endpoint"], app.url("/revoke"));
    assert_eq!(doc["introspection_endpoint"], app.url("/introspect"));
    assert_eq!(doc["backchannel_logout_supported"], true);
    let methods = doc["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    for method in [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ] {
        assert!(methods.iter().any(|m| m == method), "{method}");
    }
    assert!(
        !doc["introspection_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "none")
    );
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!(["authorization_code", "refresh_token", "client_credentials"])
    );

    // And an OIDC library accepts it as provider metadata.
    let parsed: openidconnect::core::CoreProviderMetadata = serde_json::from_value(doc).unwrap();
    assert_eq!(parsed.issuer().as_str(), app.address);
}

async fn jwks_serves_the_rs256_key_first_and_it_survives_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let jwks: serde_json::Value = app.get("/jwks").await.json().await.unwrap();

    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "one key per algorithm");
    let key = &keys[0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert!(
        key.get("d").is_none(),
        "private material must never be published"
    );
    let kid = key["kid"].as_str().unwrap().to_owned();
    assert_eq!(kid.len(), 43, "an RFC 7638 SHA-256 thumbprint, base64url");

    // Restart on the same database: the same key comes back.
    app.stop().await;
    let restarted = TestApp::spawn_on(app.isolation.clone(), |_| {}).await;
    let jwks: serde_json::Value = restarted.get("/jwks").await.json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kid"], kid.as_str());
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
}
