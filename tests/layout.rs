//! The shape of the source tree: every file opens with a `//!` line saying what it owns, and the
//! file-level graph of `crate::…` and `super::…` paths (in `use` lines and inline) has no cycle,
//! so modules import downward only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/http/conn.rs` → `http::conn`; `src/http/mod.rs` → `http`; `src/lib.rs` → ``.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).filter(|p| !matches!(*p, "mod" | "lib" | "main")).collect();
    parts.join("::")
}

/// Every `crate::…` and `super::…` path in code (not comments): `use` lines and inline paths
/// such as `crate::units::now_unix()` alike, since both make the file depend on that module.
fn paths_in(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
        for root in ["crate::", "super::"] {
            for (at, _) in line.match_indices(root) {
                let before = line[..at].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let rest = &line[at..];
                let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
                out.push(&rest[..end]);
            }
        }
    }
    out
}

/// The modules a file imports, resolved to the longest module path that is a file.
fn imports(text: &str, module: &str, is_mod_file: bool, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let parent =
        if is_mod_file { module.to_owned() } else { module.rsplit_once("::").map_or("", |(p, _)| p).to_owned() };
    let mut out = BTreeSet::new();
    for path in paths_in(text) {
        let full = match path.strip_prefix("super::") {
            Some(rest) if parent.is_empty() => rest.to_owned(),
            Some(rest) => format!("{parent}::{rest}"),
            None => path.trim_start_matches("crate::").to_owned(),
        };
        let segments: Vec<&str> = full.trim_end_matches("::").split("::").collect();
        if let Some(target) = (1..=segments.len()).rev().map(|n| segments[..n].join("::")).find(|m| modules.contains(m))
            && target != module
            && !module.starts_with(&format!("{target}::"))
        {
            out.insert(target);
        }
    }
    out
}

#[test]
fn every_source_file_opens_with_what_it_owns() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} does not open with a //! line", file.display());
    }
}

#[test]
fn the_module_graph_has_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let is_mod_file = file.file_name().is_some_and(|n| n == "mod.rs");
        let text = std::fs::read_to_string(file).unwrap();
        graph.entry(module.clone()).or_default().extend(imports(&text, &module, is_mod_file, &modules));
    }
    // Depth-first search; a module met again while on the stack closes a cycle.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(at) = stack.iter().position(|s| s == m) {
            panic!("import cycle: {} -> {m}", stack[at..].join(" -> "));
        }
        if !done.insert(m.to_owned()) {
            return;
        }
        stack.push(m.to_owned());
        for next in graph.get(m).into_iter().flatten() {
            visit(next, graph, stack, done);
        }
        stack.pop();
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut Vec::new(), &mut done);
    }
    assert!(graph.get("app").is_some_and(|deps| !deps.iter().any(|d| d.starts_with("bot") || d.starts_with("http"))));
}

#[test]
fn inline_paths_count_as_imports_and_comments_do_not() {
    let modules: BTreeSet<String> = ["units", "bot", "http", "http::conn", "http::body"].map(String::from).into();
    let text = "use super::body::SideBody;\nfn f() -> u64 { crate::units::now_unix() }\n// crate::bot::x\npub(crate) fn g() {}";
    let found = imports(text, "http::conn", false, &modules);
    assert_eq!(found, ["http::body", "units"].map(String::from).into());
}

/// The backticked paths in `text` (`http/conn.rs`, `http/plan`, `telegram/{lanes,flood}`), with
/// brace groups expanded.
fn named_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for token in text.split('`').skip(1).step_by(2) {
        let looks_like_path = token.ends_with(".rs")
            || (token.contains('/') && token.chars().all(|c| c.is_ascii_lowercase() || "_/{},.".contains(c)));
        if !looks_like_path || token.ends_with('/') || token.starts_with('/') {
            continue;
        }
        match token.split_once('{') {
            Some((head, rest)) => {
                let group = rest.trim_end_matches('}');
                out.extend(group.split(',').map(|name| format!("{head}{}", name.trim())));
            }
            None => out.push(token.to_owned()),
        }
    }
    out
}

#[test]
fn the_architecture_map_names_every_module_and_only_modules_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let stems: BTreeSet<String> = files.iter().map(|f| f.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    let mut wrong = Vec::new();
    for path in named_paths(&doc) {
        let with_rs = if path.ends_with(".rs") { path.clone() } else { format!("{path}.rs") };
        let exists = src.join(&with_rs).exists()
            || root.join(&path).exists()
            || root.join(&with_rs).exists()
            || (!path.contains('/') && stems.contains(with_rs.trim_end_matches(".rs")));
        if !exists {
            wrong.push(format!("names `{path}`, which does not exist"));
        }
    }
    // The map is the first fenced block; every module's file name (a folder for mod.rs) is in it.
    let map = doc.split("```").nth(1).expect("docs/ARCHITECTURE.md has the map in a fenced block");
    let words: BTreeSet<&str> = map.split(|c: char| !(c.is_alphanumeric() || c == '_')).collect();
    for file in &files {
        let module = module_of(&src, file);
        let last = module.rsplit("::").next().unwrap_or("");
        let name = if last.is_empty() { "main" } else { last };
        if !words.contains(name) {
            wrong.push(format!("its map does not name `{module}`"));
        }
    }
    assert!(wrong.is_empty(), "docs/ARCHITECTURE.md:\n{}", wrong.join("\n"));
}

/// A test that drives a real client (`clients::tool("curl", …)`) is ignored where the client is
/// missing (build.rs sets `has_curl` …), so `cargo test` passes on a machine without it.
#[test]
fn every_test_that_drives_a_client_is_ignored_where_the_client_is_missing() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut unmarked = Vec::new();
    for entry in std::fs::read_dir(&tests).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for test in text.split("#[test]").skip(1) {
            let body = test.split("\n}\n").next().unwrap_or(test);
            for (at, _) in body.match_indices("tool(\"") {
                let program = body[at + 6..].split('"').next().unwrap_or("");
                let cfg = format!("not(has_{})", program.replace('-', "_"));
                if !body.contains(&cfg) {
                    let name = body.split("fn ").nth(1).and_then(|s| s.split('(').next()).unwrap_or("?");
                    unmarked.push(format!("{} {name} ({program})", entry.path().display()));
                }
            }
        }
    }
    assert!(unmarked.is_empty(), "tests that need a client but are not ignored without it:\n{}", unmarked.join("\n"));
}

/// Tests wait on named events (`wait_for_event`, see `src/event.rs`), never on log prose: a
/// reworded line for operators must not break a test. Only the support code reads raw lines.
/// Counting lines (`count_lines`) is prose too, except where the wording is the subject.
#[test]
fn no_test_waits_on_log_prose() {
    // (file, text on the line): counts whose subject is the printed text itself.
    const COUNTS_OF_PROSE: &[(&str, &str)] = &[
        // The operator-facing hint for a misspelt variable is what the test checks.
        ("first_hour.rs", "\"unknown variable"),
        // The absence of the default panic hook's stderr line.
        ("robustness.rs", "(\"panicked\")"),
        // The player's request shows only in the access log.
        ("clients.rs", "(\"/stream/\")"),
    ];
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let waits = ["wait_for", "_line("].concat();
    let counts = ["count", "_lines("].concat();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&tests).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let file = entry.file_name().to_string_lossy().into_owned();
        let allowed = |line: &str| COUNTS_OF_PROSE.iter().any(|(f, at)| *f == file && line.contains(at));
        for (n, line) in text.lines().enumerate() {
            if line.contains(&waits) || (line.contains(&counts) && !allowed(line)) {
                found.push(format!("{}:{}: {}", entry.path().display(), n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "wait with `wait_for_event`, count with `count_events` instead:\n{}", found.join("\n"));
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation other than `-` and `_`
/// dropped.
fn anchor_of(heading: &str) -> String {
    let words = heading.trim_start_matches('#').trim().to_lowercase();
    words
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// `](target)` links of a markdown text that point inside the repository.
fn local_links(text: &str) -> Vec<&str> {
    let targets = text.split("](").skip(1).filter_map(|rest| rest.split(')').next());
    targets.filter(|t| !t.contains("://") && !t.starts_with("mailto:")).collect()
}

#[test]
fn every_link_between_the_docs_reaches_a_file_and_heading_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut docs = vec![root.join("README.md"), root.join("BENCHMARKS.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    let mut broken = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        for link in local_links(&text) {
            let (file, anchor) = link.split_once('#').unwrap_or((link, ""));
            let target = if file.is_empty() { doc.clone() } else { doc.parent().unwrap().join(file) };
            if !target.exists() {
                broken.push(format!("{}: {link} (no such file)", doc.display()));
                continue;
            }
            if anchor.is_empty() {
                continue;
            }
            let target_text = std::fs::read_to_string(&target).unwrap();
            if !target_text.lines().filter(|l| l.starts_with('#')).any(|l| anchor_of(l) == anchor) {
                broken.push(format!("{}: {link} (no such heading)", doc.display()));
            }
        }
    }
    assert!(docs.len() >= 5, "found only {docs:?}");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn anchors_follow_the_github_rule() {
    assert_eq!(
        anchor_of("## Big files: direct mode or a local Bot API server"),
        "big-files-direct-mode-or-a-local-bot-api-server"
    );
    assert_eq!(local_links("see [a](docs/A.md#x) and [b](https://e.com) and [c](#y)"), ["docs/A.md#x", "#y"]);
}
