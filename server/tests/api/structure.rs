//! The dependency rule (CONTRIBUTING.md): no import cycles between the
//! modules of a crate. This reads the `crate::`, `super::` and sibling paths
//! of every source file of `app` and `server` (in `use` items and in code),
//! and checks, for every set of sibling modules, that the edges between
//! them form no cycle. (A module using its own parent or child is no cycle:
//! a parent re-exports, a child uses what its parent declares.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// The modules of a crate by the files that hold them.
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().to_string()).collect();
            let file = parts.pop().unwrap();
            let stem = file.trim_end_matches(".rs");
            if !matches!(stem, "mod" | "lib" | "main") {
                parts.push(stem.to_string());
            }
            // main.rs is a crate of its own (the binary); lib.rs is the root.
            if file == "main.rs" && rel.parent() == Some(Path::new("")) {
                continue;
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The source without comments and string literals, so that prose and
/// SQL cannot look like paths.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('"', '\''); lifetimes have no closing quote.
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Every path a file names: the expanded trees of its `use` items and the
/// `crate::…` / `super::…` paths in its code.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let boundary = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric() && rest.as_bytes()[at - 1] != b'_';
        rest = &rest[at + 4..];
        if !boundary {
            continue;
        }
        let Some(end) = rest.find(';') else { break };
        expand(&rest[..end], &mut Vec::new(), &mut out);
    }
    let b = code.as_bytes();
    for (i, _) in code.match_indices("::") {
        // The start of a path: `crate`, `super` or `self` right before.
        let start = code[..i].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |s| s + 1);
        let head = &code[start..i];
        let before = if start == 0 { b' ' } else { b[start - 1] };
        if !matches!(head, "crate" | "super" | "self") || before == b':' {
            continue;
        }
        let tail: String =
            code[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
        out.push(tail.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect());
    }
    out
}

/// Expands one `use` tree (`a::{b, c::{d as e}, *}`) into its paths.
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = &tree[..open];
        let close = tree.rfind('}').unwrap_or(tree.len());
        let depth = prefix.len();
        prefix.extend(head.split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_string));
        let inner = &tree[open + 1..close];
        let mut level = 0;
        let mut from = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => level += 1,
                '}' => level -= 1,
                ',' if level == 0 => {
                    expand(&inner[from..i], prefix, out);
                    from = i + 1;
                }
                _ => {}
            }
        }
        expand(&inner[from..], prefix, out);
        prefix.truncate(depth);
    } else {
        let tree = tree.split(" as ").next().unwrap_or(tree).trim();
        if tree.is_empty() {
            return;
        }
        let mut path = prefix.clone();
        path.extend(tree.split("::").map(str::trim).filter(|s| !s.is_empty() && *s != "*").map(str::to_string));
        out.push(path);
    }
}

/// The module a path names, from the module `from`: the longest prefix
/// that is a module of the crate. `None` for other crates.
fn resolve(from: &Module, path: &[String], modules: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    let mut base: Module = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super") | Some("self") => from.clone(),
        Some(first) => {
            // A sibling path (`use form::X` in `oauth`): a child of `from`.
            let mut child = from.clone();
            child.push(first.to_string());
            if !modules.contains_key(&child) {
                return None;
            }
            from.clone()
        }
        None => return None,
    };
    let mut rest = path;
    if matches!(path.first().map(String::as_str), Some("crate")) {
        rest = &path[1..];
    }
    while let Some(head) = rest.first() {
        match head.as_str() {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    let mut best = base.clone();
    let mut candidate = base;
    for seg in rest {
        candidate.push(seg.clone());
        if modules.contains_key(&candidate) {
            best = candidate.clone();
        } else {
            break;
        }
    }
    Some(best)
}

/// The edges between sibling modules: for an edge from `a` to `b`, the
/// children of their deepest common ancestor that hold each.
fn sibling_edges(crate_src: &Path) -> BTreeMap<Module, BTreeSet<(String, String)>> {
    let modules = modules(crate_src);
    let mut groups: BTreeMap<Module, BTreeSet<(String, String)>> = BTreeMap::new();
    for (module, file) in &modules {
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        for path in paths(&code) {
            let Some(target) = resolve(module, &path, &modules) else { continue };
            let common = module.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common == module.len() || common == target.len() {
                continue; // self, an ancestor or a descendant
            }
            let parent = module[..common].to_vec();
            groups.entry(parent).or_default().insert((module[common].clone(), target[common].clone()));
        }
    }
    groups
}

/// A cycle in `edges`, if there is one.
fn cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let nodes: BTreeSet<&String> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
    // 0 unvisited, 1 on the stack, 2 done
    let mut state: BTreeMap<&String, u8> = nodes.iter().map(|n| (*n, 0)).collect();
    fn visit<'a>(
        n: &'a String,
        edges: &'a BTreeSet<(String, String)>,
        state: &mut BTreeMap<&'a String, u8>,
        stack: &mut Vec<&'a String>,
    ) -> Option<Vec<String>> {
        state.insert(n, 1);
        stack.push(n);
        for (_, next) in edges.iter().filter(|(a, _)| a == n) {
            match state[next] {
                1 => {
                    let at = stack.iter().position(|s| *s == next).unwrap();
                    let mut found: Vec<String> = stack[at..].iter().map(|s| s.to_string()).collect();
                    found.push(next.clone());
                    return Some(found);
                }
                0 => {
                    if let Some(c) = visit(next, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n, 2);
        None
    }
    for n in nodes {
        if state[n] == 0 {
            if let Some(c) = visit(n, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// The edges that lie on a cycle: `b` reaches back to `a`.
fn cyclic_edges(edges: &BTreeSet<(String, String)>) -> Vec<String> {
    let reaches = |from: &String, to: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from];
        while let Some(n) = todo.pop() {
            if n == to {
                return true;
            }
            if seen.insert(n) {
                todo.extend(edges.iter().filter(|(a, _)| a == n).map(|(_, b)| b));
            }
        }
        false
    };
    edges.iter().filter(|(a, b)| reaches(b, a)).map(|(a, b)| format!("{a} -> {b}")).collect()
}

fn cycles_in(crate_dir: &str) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate_dir).join("src");
    let mut found = Vec::new();
    for (parent, edges) in sibling_edges(&src) {
        if let Some(c) = cycle(&edges) {
            let at = if parent.is_empty() { "crate".to_string() } else { parent.join("::") };
            found.push(format!(
                "{crate_dir}: in {at}: {} (edges on cycles: {})",
                c.join(" -> "),
                cyclic_edges(&edges).join(", ")
            ));
        }
    }
    found
}

#[test]
fn no_module_imports_itself_through_a_cycle() {
    let mut found = cycles_in("app");
    found.extend(cycles_in("server"));
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let edges: BTreeSet<(String, String)> =
        [("audit", "auth"), ("auth", "tokens"), ("tokens", "settings"), ("settings", "audit"), ("model", "x")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(cycle(&edges).unwrap(), ["audit", "auth", "tokens", "settings", "audit"]);
    let acyclic: BTreeSet<(String, String)> =
        [("a", "b"), ("b", "c"), ("a", "c")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(cycle(&acyclic), None);
}

#[test]
fn use_trees_and_inline_paths_are_read() {
    let code = code_only(
        "use crate::backend::{audit::{self, Event}, auth::Principal as P};\n\
         // use crate::ignored::x;\n\
         let s = \"crate::not::a::path\";\n\
         fn f() { super::tokens::service::validate(); }",
    );
    let p = paths(&code);
    let has = |want: &[&str]| p.iter().any(|x| x.iter().map(String::as_str).eq(want.iter().copied()));
    assert!(has(&["crate", "backend", "audit", "self"]), "{p:?}");
    assert!(has(&["crate", "backend", "auth", "Principal"]), "{p:?}");
    assert!(has(&["super", "tokens", "service", "validate"]), "{p:?}");
    assert!(!p.iter().any(|x| x.contains(&"ignored".to_string()) || x.contains(&"not".to_string())), "{p:?}");
}
