//! The audit log as an operator searches it: by user, client, kind and time window, newest
//! first, a page at a time. Each value is checked here and a bad one is refused naming its
//! field, so every front end (the admin API today) refuses the same things the same way.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;

use super::{Admin, AdminError};
use crate::audit::{self, Filter, Kind, Recorded};
use crate::clock::UnixTime;

/// The events a page holds unless `limit` says otherwise.
pub const PAGE: u64 = 50;
/// The most events one page holds: a bound on what one request makes the database read.
pub const PAGE_MAX: u64 = 200;

/// A search as the operator sent it, each value still as text.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub client: Option<String>,
    /// A wire name of [`Kind`].
    pub kind: Option<String>,
    /// RFC 3339 date-time (§5.6): events at or after it.
    pub since: Option<String>,
    /// RFC 3339 date-time: events before it.
    pub until: Option<String>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

/// One page of events, and the cursor of the next page when there are more.
#[derive(Debug)]
pub struct AuditPage {
    pub events: Vec<Recorded>,
    pub next_cursor: Option<String>,
}

impl Admin {
    /// The events the query asks for, newest first.
    pub async fn audit_events(&self, query: AuditQuery) -> Result<AuditPage, AdminError> {
        let (filter, limit) = query.parse()?;
        // One more than the page: whether there is a next page, without a page that is
        // empty after a full one.
        let mut events = audit::search(&self.db, &filter, limit + 1).await?;
        let more = events.len() as u64 > limit;
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = events
            .last()
            .filter(|_| more)
            .map(|event| cursor_of(event.id));
        Ok(AuditPage {
            events,
            next_cursor,
        })
    }
}

impl AuditQuery {
    /// The filter and page size, or the first value that is not what its field takes.
    fn parse(self) -> Result<(Filter, u64), AdminError> {
        let kind = match self.kind.as_deref() {
            None => None,
            Some(wire) => Some(Kind::parse(wire).ok_or_else(|| {
                AdminError::invalid("kind", format!("{wire:?} is not an audit event kind"))
            })?),
        };
        let since = self
            .since
            .as_deref()
            .map(|v| time("since", v))
            .transpose()?;
        let until = self
            .until
            .as_deref()
            .map(|v| time("until", v))
            .transpose()?;
        if since
            .zip(until)
            .is_some_and(|(since, until)| until <= since)
        {
            return Err(AdminError::invalid("until", "must be later than since"));
        }
        let filter = Filter {
            user_id: self.user,
            client_id: self.client,
            kind,
            since,
            until,
            before_id: self.cursor.as_deref().map(cursor).transpose()?,
        };
        Ok((filter, limit(self.limit.as_deref())?))
    }
}

/// An RFC 3339 date-time (a `+` offset must be percent-encoded in a query, or it reads as
/// a space).
fn time(field: &'static str, value: &str) -> Result<UnixTime, AdminError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| UnixTime::from_millis(t.timestamp_millis()))
        .map_err(|e| {
            AdminError::invalid(
                field,
                format!("{value:?} is not an RFC 3339 date-time ({e})"),
            )
        })
}

fn limit(value: Option<&str>) -> Result<u64, AdminError> {
    let Some(value) = value else {
        return Ok(PAGE);
    };
    match value.parse::<u64>() {
        Ok(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
        _ => Err(AdminError::invalid(
            "limit",
            format!("must be a whole number from 1 to {PAGE_MAX}"),
        )),
    }
}

/// The cursor after `id`: opaque to callers, so they pass it back rather than build one.
fn cursor_of(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(id.to_string())
}

fn cursor(value: &str) -> Result<i64, AdminError> {
    URL_SAFE_NO_PAD
        .decode(value)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| AdminError::invalid("cursor", "send the next_cursor of a page, as it came"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(query: AuditQuery) -> Result<(Filter, u64), &'static str> {
        query.parse().map_err(|e| match e {
            AdminError::Invalid { field, .. } => field,
            _ => "not a field",
        })
    }

    #[test]
    fn each_bad_value_is_refused_by_its_field() {
        let with = |f: fn(&mut AuditQuery)| {
            let mut query = AuditQuery::default();
            f(&mut query);
            parsed(query)
        };
        assert_eq!(with(|q| q.kind = Some("login".into())).err(), Some("kind"));
        assert_eq!(
            with(|q| q.since = Some("yesterday".into())).err(),
            Some("since")
        );
        assert_eq!(
            with(|q| q.until = Some("2026-13-01T00:00:00Z".into())).err(),
            Some("until")
        );
        assert_eq!(with(|q| q.limit = Some("0".into())).err(), Some("limit"));
        assert_eq!(with(|q| q.limit = Some("201".into())).err(), Some("limit"));
        assert_eq!(with(|q| q.limit = Some("ten".into())).err(), Some("limit"));
        assert_eq!(with(|q| q.cursor = Some("!!".into())).err(), Some("cursor"));
        let backwards = |q: &mut AuditQuery| {
            q.since = Some("2026-01-02T00:00:00Z".into());
            q.until = Some("2026-01-01T00:00:00Z".into());
        };
        assert_eq!(with(backwards).err(), Some("until"));
    }

    #[test]
    fn a_good_query_becomes_its_filter() {
        let query = AuditQuery {
            user: Some("u1".into()),
            kind: Some("login_failed".into()),
            since: Some("2026-01-01T00:00:00+01:00".into()),
            cursor: Some(cursor_of(42)),
            limit: Some("200".into()),
            ..AuditQuery::default()
        };
        let (filter, limit) = parsed(query).unwrap();
        assert_eq!(limit, 200);
        assert_eq!(filter.kind, Some(Kind::LoginFailed));
        assert_eq!(filter.before_id, Some(42));
        assert_eq!(filter.since, Some(UnixTime::from_secs(1_767_222_000)));
        assert_eq!(filter.user_id.as_deref(), Some("u1"));
        assert_eq!(parsed(AuditQuery::default()).unwrap().1, PAGE);
    }
}
