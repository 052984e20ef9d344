//! The rules a client registration keeps, whoever registers it (an operator, the CLI, the
//! client itself): a name, grants that fit its type, redirect URIs by the OAuth 2.1 rules
//! (`oauth::redirect::check_registration`), scope tokens, keys, and algorithms the server
//! has keys for.

use super::AdminError;
use super::clients::{MAX_NAME, MAX_URIS, NewClient};
use crate::clients::{ApplicationType, GrantType};
use crate::oauth::redirect;

/// The rules a registration must keep; the first one broken is the error.
pub fn check(new: &NewClient) -> Result<(), AdminError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AdminError::invalid(
            "name",
            format!("1 to {MAX_NAME} printable characters"),
        ));
    }
    check_grants(new)?;
    if let Some(jwks) = &new.jwks {
        crate::keys::check_client_jwks(jwks).map_err(|why| AdminError::invalid("jwks", why))?;
    }
    check_uris("redirect_uris", new.application_type, &new.redirect_uris)?;
    check_uris(
        "post_logout_redirect_uris",
        new.application_type,
        &new.post_logout_redirect_uris,
    )?;
    for scope in &new.scopes {
        let token = !scope.is_empty() && scope.len() <= 100 && scope.bytes().all(is_scope_byte);
        if !token {
            return Err(AdminError::invalid(
                "scope",
                format!("{scope:?} is not a scope name"),
            ));
        }
    }
    Ok(())
}

/// RFC 6749 §3.3: a scope token is printable ASCII other than space, `"` and `\`.
fn is_scope_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\'
}

fn check_grants(new: &NewClient) -> Result<(), AdminError> {
    let has = |grant| new.grant_types.contains(&grant);
    if new.grant_types.is_empty() {
        return Err(AdminError::invalid(
            "grant_types",
            "at least one grant type",
        ));
    }
    if new.public && has(GrantType::ClientCredentials) {
        return Err(AdminError::invalid(
            "grant_types",
            "client_credentials needs a confidential client (a public one has no secret)",
        ));
    }
    if has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode) {
        return Err(AdminError::invalid(
            "grant_types",
            "refresh_token comes with authorization_code",
        ));
    }
    if has(GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
        return Err(AdminError::invalid(
            "redirect_uris",
            "the code grant needs at least one",
        ));
    }
    if new.application_type == ApplicationType::Native && !new.public {
        return Err(AdminError::invalid(
            "application_type",
            "a native app cannot keep a secret: register it as public",
        ));
    }
    Ok(())
}

fn check_uris(
    field: &'static str,
    kind: ApplicationType,
    uris: &[String],
) -> Result<(), AdminError> {
    if uris.len() > MAX_URIS {
        return Err(AdminError::invalid(field, format!("at most {MAX_URIS}")));
    }
    for uri in uris {
        redirect::check_registration(kind, uri).map_err(|e| AdminError::invalid(field, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::clients::NewClient;

    fn web(uris: &[&str]) -> NewClient {
        NewClient {
            redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
            ..NewClient::named("App")
        }
    }

    #[test]
    fn a_registration_breaking_a_rule_names_the_field() {
        let field = |new: &NewClient| match check(new) {
            Err(AdminError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(&web(&[])), "redirect_uris");
        assert_eq!(field(&web(&["http://app.example/cb"])), "redirect_uris");
        assert_eq!(
            field(&NewClient {
                name: " ".into(),
                ..web(&["https://a.example/cb"])
            }),
            "name"
        );
        let public_cc = NewClient {
            public: true,
            grant_types: vec![GrantType::ClientCredentials],
            ..web(&[])
        };
        assert_eq!(field(&public_cc), "grant_types");
        let bad_scope = NewClient {
            scopes: vec!["two words".into()],
            ..web(&["https://a.example/cb"])
        };
        assert_eq!(field(&bad_scope), "scope");
        let secret_native = NewClient {
            application_type: ApplicationType::Native,
            ..web(&["com.example.app:/cb"])
        };
        assert_eq!(field(&secret_native), "application_type");
    }

    #[test]
    fn machine_clients_need_no_redirect_uri() {
        let machine = NewClient {
            grant_types: vec![GrantType::ClientCredentials],
            ..NewClient::named("Batch job")
        };
        assert!(check(&machine).is_ok());
        assert!(check(&web(&["https://app.example/cb", "http://127.0.0.1:9/cb"])).is_ok());
    }
}
