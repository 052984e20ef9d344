//! Micro-benchmarks of the token path's hot pieces: `cargo bench --bench micro`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse::keys::{Alg, KeyRing};
use gatehouse::oauth::authorize::Params;
use gatehouse::oauth::token_request::TokenRequest;
use gatehouse::oauth::tokens::{AccessSubject, IdClaims, Minter, at_hash};
use gatehouse::oauth::{Scopes, client_auth, pkce};
use gatehouse::settings::{Issuer, Settings};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn jwt(c: &mut Criterion) {
    let keys = KeyRing::in_memory(2048).expect("a key");
    let issuer = Issuer::parse("https://id.example.com").expect("issuer");
    let settings = Settings::built_in().expect("settings").tokens;
    let minter = Minter {
        keys: &keys,
        issuer: &issuer,
        settings: &settings,
    };
    let scope = Scopes::parse("openid profile email").expect("scope");
    let resources = Default::default();
    let subject = AccessSubject {
        sub: "user-1",
        client_id: "demo-web",
        scope: &scope,
        resources: &resources,
        auth_time: Some(1),
        sid: Some("sid"),
        ttl: 600,
        roles: None,
        alg: Alg::Rs256,
    };
    for alg in Alg::ALL {
        let subject = AccessSubject { alg, ..subject };
        let name = format!("access_token_sign_{}", alg.as_str().to_lowercase());
        c.bench_function(&name, |b| {
            b.iter(|| {
                minter
                    .access_token(black_box(&subject), "jti-1", 1_800_000_000)
                    .expect("signed")
            })
        });
    }
    let (token, _) = minter
        .access_token(&subject, "jti-1", 1_800_000_000)
        .expect("signed");
    c.bench_function("jwt_verify_rs256", |b| {
        b.iter(|| keys.verify(black_box(&token)).expect("valid"))
    });
    let amr = vec!["pwd".to_owned()];
    let claims = IdClaims {
        iss: issuer.as_str(),
        sub: "user-1",
        aud: "demo-web",
        azp: "demo-web",
        exp: 1_800_000_600,
        iat: 1_800_000_000,
        auth_time: 1_800_000_000,
        nonce: Some("n-0S6_WzA2Mj"),
        at_hash: at_hash(&token, Alg::Rs256),
        sid: "sid",
        amr: &amr,
        acr: gatehouse::oauth::acr::PASSWORD,
        idp: None,
        roles: None,
    };
    c.bench_function("id_token_claims_assembly", |b| {
        b.iter(|| {
            let claims = IdClaims {
                at_hash: at_hash(black_box(&token), Alg::Rs256),
                ..claims.clone()
            };
            serde_json::to_vec(&claims).expect("json")
        })
    });
    c.bench_function("id_token_sign_rs256", |b| {
        b.iter(|| {
            minter
                .id_token(black_box(&claims), Alg::Rs256)
                .expect("signed")
        })
    });
}

fn pkce_verification(c: &mut Criterion) {
    let stored = pkce::challenge(true, false, Some("S256"), Some(CHALLENGE)).expect("challenge");
    let verifier = pkce::CodeVerifier::parse(VERIFIER).expect("verifier");
    c.bench_function("pkce_s256_verify", |b| {
        b.iter(|| pkce::verify(black_box(stored.as_deref()), Some(&verifier)).expect("match"))
    });
}

fn token_request_parsing(c: &mut Criterion) {
    let body = "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=http%3A%2F%2F127.0.0.1%3A8081%2Fcallback&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    c.bench_function("token_request_parse", |b| {
        b.iter(|| {
            let pairs = url::form_urlencoded::parse(black_box(body.as_bytes()))
                .into_owned()
                .collect();
            let params = Params::new(pairs);
            let basic = Some(("demo-web".to_owned(), "demo-web-secret".to_owned()));
            let presented = client_auth::presented(basic, &params).expect("credentials");
            (
                presented,
                TokenRequest::parse(&params).expect("a token request"),
            )
        })
    });
}

/// The raw RSA operation behind each JWS, through josekit's signer (a new OpenSSL context per
/// signature) and through ours (a prepared context per thread).
fn rs256_signers(c: &mut Criterion) {
    use josekit::jwk::KeyPair;
    use josekit::jws::{JwsSigner, RS256};
    let pair = RS256.generate_key_pair(2048).expect("a key");
    let der = pair.to_der_private_key();
    let josekit_signer = RS256.signer_from_der(&der).expect("signer");
    let prepared = gatehouse::keys::Rs256Signer::from_der(&der).expect("signer");
    let message = [b'a'; 400];
    c.bench_function("rs256_signature_josekit_signer", |b| {
        b.iter(|| josekit_signer.sign(black_box(&message)).expect("signed"))
    });
    c.bench_function("rs256_signature_prepared_context", |b| {
        b.iter(|| prepared.sign(black_box(&message)).expect("signed"))
    });
}

criterion_group!(
    benches,
    jwt,
    rs256_signers,
    pkce_verification,
    token_request_parsing
);
criterion_main!(benches);
