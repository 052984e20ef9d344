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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Few names, so that repeats are common; `resource` among them.
    fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        let key = prop_oneof![
            Just("resource".to_owned()),
            Just("scope".to_owned()),
            "[a-c]{1,2}",
            any::<String>(),
        ];
        let value = prop_oneof![Just(String::new()), "[a-z]{1,4}", any::<String>()];
        proptest::collection::vec((key, value), 0..12)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn each_name_keeps_its_first_value_and_repeats_are_noted(pairs in pairs()) {
            let params = Params::new(pairs.clone());
            let once: Vec<_> = pairs.iter().filter(|(k, _)| k != "resource").collect();
            for (key, _) in &once {
                let first = once.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
                let count = once.iter().filter(|(k, _)| k == key).count();
                prop_assert_eq!(params.get(key), first.filter(|v| !v.is_empty()));
                prop_assert_eq!(params.is_duplicated(key), count > 1);
                prop_assert!(params.all(key).is_empty());
            }
            let resources: Vec<&String> =
                pairs.iter().filter(|(k, _)| k == "resource").map(|(_, v)| v).collect();
            prop_assert_eq!(params.all("resource").iter().collect::<Vec<_>>(), resources);
            prop_assert_eq!(params.get("resource"), None);
            prop_assert!(!params.is_duplicated("resource"));
        }

        #[test]
        fn the_first_duplicate_is_the_first_name_sent_twice(pairs in pairs()) {
            let params = Params::new(pairs.clone());
            let mut seen = std::collections::HashSet::new();
            let expected = pairs
                .iter()
                .map(|(k, _)| k.as_str())
                .filter(|k| *k != "resource")
                .find(|k| !seen.insert(*k));
            prop_assert_eq!(params.first_duplicate(), expected);
        }
    }
}
