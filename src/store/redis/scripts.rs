//! The Lua scripts: each runs atomically on the node holding its keys. A script's keys
//! must share one hash slot on a cluster, so every caller gives KEYS[1] and KEYS[2] one
//! hash tag (`code:{D}` and `code-used:{D}`; `rt:{T}:D` and `rt-rotated:{T}:D`).

/// KEYS[1] only: deletes it while it holds ARGV[1].
pub(super) const DELETE_IF: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('DEL', KEYS[1]) else return 0 end";

/// Takes KEYS[1]; when it was there, leaves ARGV[1] under KEYS[2] for ARGV[2] ms.
pub(super) const TAKE_LEAVING: &str = "local v = redis.call('GETDEL', KEYS[1]) \
    if v then redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2]) end return v";

/// Reads KEYS[1]; when it is there, stores ARGV[1] under KEYS[2] unless a live value is
/// there: `{value, 1}` when this call stored it, `{value, 0}` when not, nil without a value.
pub(super) const GET_MARKING: &str = "local v = redis.call('GET', KEYS[1]) \
    if not v then return false end \
    if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {v, 1} end \
    return {v, 0}";
