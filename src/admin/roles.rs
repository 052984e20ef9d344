//! Creating roles and seeing who holds them. A role name goes into tokens' `roles` claim
//! and into relying parties' access rules, so it is kept to a form every one of them can
//! match without surprises: lower-case ASCII letters, digits, `_` and `-`.

use super::{Admin, AdminError};
use crate::accounts::store::{self, RoleHolders};
use crate::audit::{Event, Kind};

/// The longest role name.
const MAX_NAME: usize = 64;

impl Admin {
    /// Creates a role no one holds yet.
    pub async fn create_role(&self, name: &str) -> Result<RoleHolders, AdminError> {
        check_name(name)?;
        if !store::insert_role(&self.db, name).await? {
            return Err(AdminError::Conflict(format!("the role {name} exists")));
        }
        self.audited(Event::new(Kind::RoleCreated).with("role", name))
            .await?;
        Ok(RoleHolders {
            name: name.to_owned(),
            users: 0,
        })
    }

    /// Every role, by name, with how many users hold it.
    pub async fn roles(&self) -> Result<Vec<RoleHolders>, AdminError> {
        Ok(store::all_with_holders(&self.db).await?)
    }
}

pub(super) fn no_such_role(name: &str) -> AdminError {
    AdminError::NotFound {
        what: "role",
        id: name.to_owned(),
    }
}

fn check_name(name: &str) -> Result<(), AdminError> {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
    if name.is_empty() || name.len() > MAX_NAME || !name.bytes().all(allowed) {
        return Err(AdminError::invalid(
            "name",
            format!("1 to {MAX_NAME} of a-z, 0-9, _ and -"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_short_lower_case_words() {
        for good in [
            "admin",
            "read-only",
            "team_42",
            "a".repeat(MAX_NAME).as_str(),
        ] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Admin",
            "two words",
            "é",
            "a:b",
            "a".repeat(MAX_NAME + 1).as_str(),
        ] {
            assert!(
                matches!(
                    check_name(bad),
                    Err(AdminError::Invalid { field: "name", .. })
                ),
                "{bad:?}"
            );
        }
    }
}
