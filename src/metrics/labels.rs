//! The label values a recorder may use: closed sets, so no request can add a series.

/// `grant_type` of an issued token (RFC 6749 §4.1.3, §6, §4.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl Grant {
    pub const ALL: [Self; 3] = [
        Self::AuthorizationCode,
        Self::RefreshToken,
        Self::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }
}

/// RFC 6749 §2.1 client types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Confidential,
    Public,
}

impl ClientType {
    pub const ALL: [Self; 2] = [Self::Confidential, Self::Public];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }
}

/// How a sign-in ended. An unknown email and a disabled account count as a wrong password:
/// the person signing in is told nothing more, and neither is whoever watches the metrics
/// while trying addresses (the audit log keeps the exact reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    Success,
    WrongPassword,
    Locked,
    SecondFactorFailed,
}

impl LoginOutcome {
    pub const ALL: [Self; 4] = [
        Self::Success,
        Self::WrongPassword,
        Self::Locked,
        Self::SecondFactorFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::WrongPassword => "wrong_password",
            Self::Locked => "locked",
            Self::SecondFactorFailed => "second_factor_failed",
        }
    }
}

/// One operation of the ephemeral store (the methods of `store::EphemeralStore`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    Put,
    PutIfAbsent,
    Get,
    PutIfPresent,
    DeleteIf,
    Take,
    TakeLeaving,
    GetMarking,
    Delete,
    Incr,
    Counter,
    Window,
    SetAdd,
    SetRemove,
    SetMembers,
    Batch,
    Ping,
}

impl StoreOp {
    pub const ALL: [Self; 17] = [
        Self::Put,
        Self::PutIfAbsent,
        Self::Get,
        Self::PutIfPresent,
        Self::DeleteIf,
        Self::Take,
        Self::TakeLeaving,
        Self::GetMarking,
        Self::Delete,
        Self::Incr,
        Self::Counter,
        Self::Window,
        Self::SetAdd,
        Self::SetRemove,
        Self::SetMembers,
        Self::Batch,
        Self::Ping,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Put => "put",
            Self::PutIfAbsent => "put_if_absent",
            Self::Get => "get",
            Self::PutIfPresent => "put_if_present",
            Self::DeleteIf => "delete_if",
            Self::Take => "take",
            Self::TakeLeaving => "take_leaving",
            Self::GetMarking => "get_marking",
            Self::Delete => "delete",
            Self::Incr => "incr",
            Self::Counter => "counter",
            Self::Window => "window",
            Self::SetAdd => "set_add",
            Self::SetRemove => "set_remove",
            Self::SetMembers => "set_members",
            Self::Batch => "batch",
            Self::Ping => "ping",
        }
    }
}

/// A database statement by its first keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbOp {
    Select,
    Insert,
    Update,
    Delete,
    /// Transactions, DDL, `WITH`, pragmas.
    Other,
}

impl DbOp {
    pub const ALL: [Self; 5] = [
        Self::Select,
        Self::Insert,
        Self::Update,
        Self::Delete,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Select => "select",
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Other => "other",
        }
    }

    /// The statement's kind from its first word, case-insensitively, without allocating.
    pub fn of_sql(sql: &str) -> Self {
        let first = sql.split_whitespace().next().unwrap_or_default();
        [Self::Select, Self::Insert, Self::Update, Self::Delete]
            .into_iter()
            .find(|op| first.eq_ignore_ascii_case(op.as_str()))
            .unwrap_or(Self::Other)
    }
}

/// What became of a delivery that did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailFailure {
    /// Due again after a backoff.
    Retried,
    /// A permanent refusal, or the last attempt: kept in the outbox, not sent.
    GivenUp,
}

impl MailFailure {
    pub const ALL: [Self; 2] = [Self::Retried, Self::GivenUp];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retried => "retried",
            Self::GivenUp => "given_up",
        }
    }
}

/// An HTTP method as a label: the registered ones, anything else `other` (a client may
/// send any token as a method).
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_classified_by_their_first_word() {
        assert_eq!(DbOp::of_sql("  select * from users"), DbOp::Select);
        assert_eq!(DbOp::of_sql("INSERT INTO t VALUES ($1)"), DbOp::Insert);
        assert_eq!(DbOp::of_sql("UPDATE t SET a = 1"), DbOp::Update);
        assert_eq!(DbOp::of_sql("DELETE FROM t"), DbOp::Delete);
        assert_eq!(
            DbOp::of_sql("WITH x AS (SELECT 1) SELECT * FROM x"),
            DbOp::Other
        );
        assert_eq!(DbOp::of_sql("BEGIN"), DbOp::Other);
        assert_eq!(DbOp::of_sql(""), DbOp::Other);
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label("POST"), "POST");
        assert_eq!(method_label("BREW"), "other");
        assert_eq!(method_label("get"), "other");
    }
}
