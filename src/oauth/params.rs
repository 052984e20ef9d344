//! Request parameters as sent (query or form), each name at most once (RFC 6749 §3.1, §3.2).

use std::collections::BTreeMap;

/// Parameters that may be sent more than once: `resource` (RFC 8707 §2).
const REPEATABLE: [&str; 1] = ["resource"];

/// Request parameters with duplicates noted (RFC 6749 §3.1: each at most once).
pub struct Params {
    values: BTreeMap<String, String>,
    repeated: BTreeMap<String, Vec<String>>,
    duplicated: Vec<String>,
}

impl Params {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        let mut values = BTreeMap::new();
        let mut repeated: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut duplicated = Vec::new();
        for (key, value) in pairs {
            if REPEATABLE.contains(&key.as_str()) {
                repeated.entry(key).or_default().push(value);
                continue;
            }
            match values.entry(key) {
                std::collections::btree_map::Entry::Occupied(e) => duplicated.push(e.key().clone()),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(value);
                }
            }
        }
        Self {
            values,
            repeated,
            duplicated,
        }
    }

    /// Every value of a repeatable parameter, in order.
    pub fn all(&self, key: &str) -> &[String] {
        self.repeated.get(key).map_or(&[], Vec::as_slice)
    }

    /// A parameter, with an empty value treated as absent (RFC 6749 §3.1).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// From borrowed pairs (tests, tools).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    pub fn is_duplicated(&self, key: &str) -> bool {
        self.duplicated.iter().any(|d| d == key)
    }

    pub fn first_duplicate(&self) -> Option<&str> {
        self.duplicated.first().map(String::as_str)
    }
}
