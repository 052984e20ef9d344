//! The code's shape, held by a test so that every change keeps it: capability code free of
//! actix and of the web layer, no cycles between top-level modules, short functions and
//! files, one clock, and a README for newcomers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::spanned::Spanned;
use syn::visit::Visit;

const HTTP_FN_MAX: usize = 40;
const FN_MAX: usize = 60;
const FILE_MAX: usize = 400;
const README_MAX: usize = 200;
/// The one data literal allowed to be longer: the discovery document's fields.
const LONG_LITERAL: (&str, &str) = ("src/oidc/discovery.rs", "new");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `src/oauth/grants/mod.rs` → `oauth`; `src/startup.rs` → `startup`.
fn top_module(relative: &str) -> String {
    let rest = relative.trim_start_matches("src/");
    let first = rest.split('/').next().unwrap();
    first.trim_end_matches(".rs").to_owned()
}

fn sources() -> Vec<(String, String)> {
    rust_files(&root().join("src"))
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(root()).unwrap().display().to_string();
            (relative, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// Every function and method with its length in lines (signature to closing brace).
struct Functions(Vec<(String, usize)>);

impl Functions {
    fn record(&mut self, name: String, start: proc_macro2::Span, end: proc_macro2::Span) {
        self.0.push((name, end.end().line - start.start().line + 1));
    }
}

impl<'ast> Visit<'ast> for Functions {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.record(f.sig.ident.to_string(), f.sig.span(), f.block.span());
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.record(f.sig.ident.to_string(), f.sig.span(), f.block.span());
        syn::visit::visit_impl_item_fn(self, f);
    }
}

#[test]
fn functions_and_files_stay_short() {
    let mut too_long = Vec::new();
    for (file, text) in sources() {
        let lines = text.lines().count();
        if lines > FILE_MAX {
            too_long.push(format!("{file}: {lines} lines"));
        }
        let limit = if file.starts_with("src/http/") {
            HTTP_FN_MAX
        } else {
            FN_MAX
        };
        let mut functions = Functions(Vec::new());
        functions.visit_file(&syn::parse_file(&text).unwrap());
        for (name, length) in functions.0 {
            let allowed = (file.as_str(), name.as_str()) == LONG_LITERAL;
            if length > limit && !allowed {
                too_long.push(format!(
                    "{file}: fn {name} has {length} lines (limit {limit})"
                ));
            }
        }
    }
    assert!(too_long.is_empty(), "too long:\n{}", too_long.join("\n"));
}

fn imports_web_layer(text: &str) -> bool {
    let web_layer = regex_lite(text, &["crate::http", "use actix_web", "actix_web::"]);
    let grouped = text.split("use crate::{").skip(1).any(|group| {
        group
            .split('}')
            .next()
            .unwrap()
            .split(',')
            .any(|m| m.trim() == "http")
    });
    web_layer || grouped
}

fn regex_lite(text: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| text.contains(n))
}

#[test]
fn only_the_web_layer_knows_actix() {
    let allowed = |top: &str| matches!(top, "http" | "startup" | "telemetry");
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(file, text)| !allowed(&top_module(file)) && imports_web_layer(text))
        .map(|(file, _)| file)
        .collect();
    assert!(
        offenders.is_empty(),
        "actix or crate::http outside the web layer: {offenders:?}"
    );
}

/// Top-level module → the top-level modules it names as `crate::x` (or `use crate::{x, …}`).
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let files = sources();
    let tops: BTreeSet<String> = files.iter().map(|(f, _)| top_module(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in &files {
        let from = top_module(file);
        let mut named = BTreeSet::new();
        for part in text.split("crate::").skip(1) {
            let group = part.strip_prefix('{').map(|g| g.split('}').next().unwrap());
            let names: Vec<&str> = match group {
                Some(group) => group
                    .split(',')
                    .map(|m| m.trim().split("::").next().unwrap())
                    .collect(),
                None => vec![
                    part.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                        .unwrap(),
                ],
            };
            named.extend(names.into_iter().map(str::to_owned));
        }
        let edges = graph.entry(from.clone()).or_default();
        edges.extend(named.into_iter().filter(|n| tops.contains(n) && *n != from));
    }
    graph
}

fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(next) = stack.pop() {
        for dep in graph.get(&next).into_iter().flatten() {
            if dep == to {
                return true;
            }
            if seen.insert(dep.clone()) {
                stack.push(dep.clone());
            }
        }
    }
    false
}

#[test]
fn top_level_modules_form_no_cycle() {
    let graph = dependencies();
    assert!(graph["http"].contains("oauth"), "the graph was read");
    let cycles: Vec<String> = graph
        .iter()
        .flat_map(|(from, deps)| deps.iter().map(move |to| (from, to)))
        .filter(|(from, to)| reaches(&graph, to, from))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    assert!(cycles.is_empty(), "edges on a cycle: {cycles:?}");
}

#[test]
fn the_system_clock_is_read_in_one_place() {
    let calls = ["SystemTime::now", "Utc::now", "Instant::now"];
    // The clock itself; start-up and log-batching durations, which are not request time;
    // the monotonic stopwatch of the latency histograms, whose readings decide nothing.
    let allowed = [
        "src/clock.rs",
        "src/main.rs",
        "src/telemetry/batched.rs",
        "src/telemetry/stopwatch.rs",
    ];
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(file, text)| !allowed.contains(&file.as_str()) && regex_lite(text, &calls))
        .map(|(file, _)| file)
        .collect();
    assert!(
        offenders.is_empty(),
        "reads the system clock: {offenders:?}"
    );
}

#[test]
fn errors_are_typed_not_classified_by_text() {
    for (file, text) in sources() {
        assert!(!text.contains(".classify()"), "{file} classifies an error");
        assert!(
            !text.contains("Err(page) => return page"),
            "{file} returns a page by hand"
        );
    }
}

/// Text files a newcomer reads, besides the code.
fn documents() -> Vec<PathBuf> {
    let mut files = vec![
        root().join("README.md"),
        root().join("benches/load/README.md"),
    ];
    if let Ok(entries) = std::fs::read_dir(root().join("docs")) {
        files.extend(entries.map(|e| e.unwrap().path()));
    }
    files
}

#[test]
fn the_readme_is_short_and_nothing_narrates_development_rounds() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(lines < README_MAX, "README.md has {lines} lines");
    // "session" followed by a number; built from pieces so this file does not match itself.
    let word = ["sess", "ion "].concat();
    let mut found = Vec::new();
    let code = sources().into_iter().map(|(f, t)| (root().join(f), t));
    let docs = documents().into_iter().map(|p| {
        let text = std::fs::read_to_string(&p).unwrap();
        (p, text)
    });
    for (path, text) in code.chain(docs) {
        for line in text.lines() {
            let lower = line.to_lowercase();
            let numbered = lower
                .split(&word)
                .skip(1)
                .any(|after| after.starts_with(|c: char| c.is_ascii_digit()));
            if numbered {
                found.push(format!("{}: {line}", path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "development rounds narrated:\n{}",
        found.join("\n")
    );
}
