//! A strict reader of the Prometheus text exposition format (version 0.0.4), as a scraper
//! would read `/metrics`: every line a comment, a `# HELP`/`# TYPE` line or a sample; every
//! sample of a family that was declared (HELP and TYPE) before it; label values unescaped;
//! histograms whole (ascending `le`, cumulative counts, `+Inf` equal to `_count`, `_sum`).

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug, Default)]
pub struct Scrape {
    /// Family name → its TYPE.
    pub types: BTreeMap<String, String>,
    pub helps: BTreeSet<String>,
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// The value of the one sample named `name` whose labels include `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one sample {name} {labels:?}, found {found:?}"
        );
        found[0].value
    }

    /// The sum over every sample named `name` whose labels include `labels` (0 for none).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// Whether a query may name `name`: a declared family, or a histogram's `_bucket` (or a
    /// histogram's or summary's `_sum`, `_count`), with at least one sample.
    pub fn exports(&self, name: &str) -> bool {
        family_of(name, &self.types).is_some() && self.samples.iter().any(|s| s.name == name)
    }
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(name: &str) -> bool {
    is_name(name) && !name.contains(':')
}

/// The family a sample belongs to, given the declared types.
fn family_of<'a>(name: &'a str, types: &BTreeMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        let kind = types.get(base)?;
        let fits = match *suffix {
            "_bucket" => kind == "histogram",
            _ => kind == "histogram" || kind == "summary",
        };
        fits.then_some(base)
    })
}

fn parse_value(text: &str) -> Result<f64, String> {
    match text {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        other => other.parse().map_err(|_| format!("bad value {other:?}")),
    }
}

/// `{a="x",b="y"}` from just after the `{`; returns the labels and the rest of the line.
fn parse_labels(mut rest: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    loop {
        if let Some(after) = rest.strip_prefix('}') {
            return Ok((labels, after));
        }
        let (name, after) = rest.split_once("=\"").ok_or("a label without =\"")?;
        if !is_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().ok_or("an unterminated label value")? {
                (i, '"') => break i,
                (_, '\\') => match chars.next().ok_or("a dangling escape")?.1 {
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    'n' => value.push('\n'),
                    other => return Err(format!("bad escape \\{other}")),
                },
                (_, '\n') => return Err("a newline in a label value".into()),
                (_, c) => value.push(c),
            }
        };
        if labels.insert(name.to_owned(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("a sample without a value")?;
    let (name, rest) = line.split_at(name_end);
    if !is_name(name) {
        return Err(format!("bad metric name {name:?}"));
    }
    let (labels, rest) = match rest.strip_prefix('{') {
        Some(inside) => parse_labels(inside)?,
        None => (BTreeMap::new(), rest),
    };
    let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let mut fields = rest.split(' ');
    let value = parse_value(fields.next().ok_or("no value")?)?;
    if let Some(timestamp) = fields.next() {
        timestamp.parse::<i64>().map_err(|_| "bad timestamp")?;
    }
    if fields.next().is_some() {
        return Err("text after the timestamp".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

fn parse_comment(line: &str, scrape: &mut Scrape, seen: &BTreeSet<String>) -> Result<(), String> {
    let mut parts = line.splitn(4, ' ');
    let (_, keyword, name) = (parts.next(), parts.next(), parts.next());
    let rest = parts.next();
    match (keyword, name) {
        (Some("HELP"), Some(name)) if !is_name(name) || !scrape.helps.insert(name.to_owned()) => {
            return Err(format!("bad or repeated HELP for {name}"));
        }
        (Some("TYPE"), Some(name)) => {
            let kind = rest.ok_or("TYPE without a type")?;
            let known = ["counter", "gauge", "histogram", "summary", "untyped"];
            if !is_name(name) || !known.contains(&kind) || seen.contains(name) {
                return Err(format!("bad TYPE line, or TYPE after samples: {line}"));
            }
            if scrape
                .types
                .insert(name.to_owned(), kind.to_owned())
                .is_some()
            {
                return Err(format!("TYPE for {name} twice"));
            }
        }
        _ => {} // any other comment
    }
    Ok(())
}

/// Reads a whole exposition, or says which line is wrong and why.
pub fn parse(text: &str) -> Result<Scrape, String> {
    let mut scrape = Scrape::default();
    let mut seen = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let at = |e: String| format!("line {}: {e}: {line:?}", number + 1);
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('#') {
            parse_comment(line, &mut scrape, &seen).map_err(at)?;
            continue;
        }
        let sample = parse_sample(line).map_err(at)?;
        let family = family_of(&sample.name, &scrape.types)
            .ok_or_else(|| at("a sample of no declared family".into()))?;
        if !scrape.helps.contains(family) {
            return Err(at(format!("{family} has no HELP")));
        }
        seen.insert(family.to_owned());
        scrape.samples.push(sample);
    }
    check_histograms(&scrape)?;
    Ok(scrape)
}

/// Each histogram series: `le` ascending to `+Inf`, counts cumulative, `+Inf` = `_count`.
fn check_histograms(scrape: &Scrape) -> Result<(), String> {
    for (family, _) in scrape.types.iter().filter(|(_, kind)| *kind == "histogram") {
        // Each series' labels (without `le`) → its buckets as (le, count).
        type Buckets = Vec<(f64, f64)>;
        let mut series: BTreeMap<Vec<(String, String)>, Buckets> = BTreeMap::new();
        for sample in scrape
            .samples
            .iter()
            .filter(|s| s.name == format!("{family}_bucket"))
        {
            let mut labels = sample.labels.clone();
            let le = labels
                .remove("le")
                .ok_or(format!("{family}_bucket without le"))?;
            let le = parse_value(&le)?;
            series
                .entry(labels.into_iter().collect())
                .or_default()
                .push((le, sample.value));
        }
        for (labels, buckets) in series {
            let ascending = buckets
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
            let last = buckets.last().ok_or("no buckets")?;
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let count = scrape.value(&format!("{family}_count"), &pairs);
            scrape.value(&format!("{family}_sum"), &pairs);
            if !ascending || last.0 != f64::INFINITY || last.1 != count {
                return Err(format!(
                    "{family} {labels:?}: buckets {buckets:?}, count {count}"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn the_reader_refuses_what_a_scraper_would() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\\n\"} 1\n\
                # HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n\
                h_sum 3.5\nh_count 2\n";
    let scrape = parse(good).unwrap();
    assert_eq!(scrape.value("a_total", &[("x", "q\"\n")]), 1.0);
    for bad in [
        "a_total 1\n",                                            // undeclared
        "# TYPE a counter\na 1\n",                                // no HELP
        "# HELP a A.\n# TYPE a counter\na{x=\"1\" 1\n",           // unterminated
        "# HELP a A.\n# TYPE a counter\na one\n",                 // value
        "# HELP a A.\n# TYPE a counter\na 1\n# TYPE a counter\n", // TYPE twice
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}
