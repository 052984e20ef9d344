//! [`EphemeralStore::batch`](super::EphemeralStore::batch) on Redis: the writes in one
//! MULTI/EXEC. A cluster runs a transaction within one hash slot only, so there the writes
//! are grouped by slot, each group one transaction, the groups in the order of their first
//! write. Callers give the writes that must land together one hash tag (a rotation's new
//! refresh token, the old one and its rotation marker: `{tag}` of the family) and list index
//! writes before what they index, so a failure between groups leaves at most an index entry
//! pointing at nothing, never a token that no index knows.

use deadpool_redis::redis::cluster_routing::Slot;
use deadpool_redis::redis::{self, Pipeline};

use super::{Write, ttl_millis};

/// One atomic pipeline per slot (one in all when `by_slot` is false); `key` adds the prefix.
pub(super) fn transactions(
    writes: &[Write],
    key: impl Fn(&str) -> String,
    by_slot: bool,
) -> Vec<Pipeline> {
    let mut groups: Vec<(Option<Slot>, Pipeline)> = Vec::new();
    for write in writes {
        let full = key(write_key(write));
        let slot = by_slot.then(|| Slot::for_key(&full));
        let at = match groups.iter().position(|(s, _)| *s == slot) {
            Some(at) => at,
            None => {
                let mut pipe = redis::pipe();
                pipe.atomic();
                groups.push((slot, pipe));
                groups.len() - 1
            }
        };
        add(&mut groups[at].1, write, full);
    }
    groups.into_iter().map(|(_, pipe)| pipe).collect()
}

fn write_key(write: &Write) -> &str {
    match write {
        Write::Put { key, .. }
        | Write::PutIfAbsent { key, .. }
        | Write::Delete { key }
        | Write::SetAdd { key, .. } => key,
    }
}

fn add(pipe: &mut Pipeline, write: &Write, key: String) {
    match write {
        Write::Put { value, ttl, .. } => {
            pipe.cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(ttl_millis(*ttl))
                .ignore();
        }
        Write::PutIfAbsent { value, ttl, .. } => {
            pipe.cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(ttl_millis(*ttl))
                .arg("NX")
                .ignore();
        }
        Write::Delete { .. } => {
            pipe.del(key).ignore();
        }
        Write::SetAdd { member, ttl, .. } => {
            let ms = ttl_millis(*ttl);
            pipe.sadd(&key, member).ignore();
            pipe.cmd("PEXPIRE").arg(&key).arg(ms).arg("GT").ignore();
            pipe.cmd("PEXPIRE").arg(&key).arg(ms).arg("NX").ignore();
        }
    }
}
