//! The shape of `host/src` that the design depends on, checked on every test run:
//! wasmtime is named only inside `src/wasm/`, and no two files import each other, however
//! indirectly (a file's `use` paths and qualified paths, resolved to the files that
//! define the modules they name; a module's `#[cfg(test)] mod tests` is left out).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, by the module path it defines.
fn modules() -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&src(), &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(src()).expect("under src");
            let mut module: Module = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|m| m == "mod") || module == ["lib"] || module == ["main"]
            {
                module.pop();
            }
            (module, path)
        })
        .collect()
}

/// The file's code without comments, string contents or its unit-test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read source");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                out.push('"');
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push('"');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let (prefix, inner) = (&tree[..open], &tree[open + 1..tree.len() - 1]);
    let (mut depth, mut start, mut items) = (0, 0, Vec::new());
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&inner[start..]);
    items
        .into_iter()
        .filter(|item| !item.is_empty())
        .flat_map(|item| expand(item).into_iter().map(|e| format!("{prefix}{e}")))
        .collect()
}

/// The file (module) a path used in `from` names, if it names one of ours.
fn resolve(from: &Module, path: &str, modules: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Module = match segments.first().copied()? {
        "crate" => Vec::new(),
        "self" => from.clone(),
        "super" => {
            let mut base = from.clone();
            while segments.first() == Some(&"super") {
                base.pop();
                segments.remove(0);
            }
            segments.insert(0, "super");
            base
        }
        first => {
            let mut child = from.clone();
            child.push(first.to_string());
            if !modules.contains_key(&child) {
                return None;
            }
            segments.insert(0, "self");
            from.clone()
        }
    };
    for segment in segments.into_iter().skip(1) {
        if segment != "self" {
            base.push(segment.split(" as ").next().unwrap_or(segment).to_string());
        }
    }
    while !modules.contains_key(&base) {
        base.pop()?;
    }
    Some(base)
}

/// For each file, the other files it imports.
fn imports(modules: &BTreeMap<Module, PathBuf>) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut graph = BTreeMap::new();
    for (module, path) in modules {
        let code = code(path);
        let mut paths: Vec<String> = Vec::new();
        for statement in code.split("use ").skip(1) {
            if let Some(end) = statement.find(';') {
                paths.extend(expand(&statement[..end]));
            }
        }
        let bytes = code.as_bytes();
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut i = 0;
        while i < bytes.len() {
            if is_word(bytes[i]) && (i == 0 || !(is_word(bytes[i - 1]) || bytes[i - 1] == b':')) {
                let start = i;
                while i < bytes.len() && (is_word(bytes[i]) || bytes[i] == b':') {
                    i += 1;
                }
                let word = &code[start..i];
                if word.contains("::") {
                    paths.push(word.to_string());
                }
            } else {
                i += 1;
            }
        }
        let deps = paths
            .iter()
            .filter_map(|p| resolve(module, p, modules))
            .filter(|dep| dep != module)
            .collect();
        graph.insert(module.clone(), deps);
    }
    graph
}

#[test]
fn wasmtime_is_named_only_inside_the_wasm_folder() {
    let wasm = src().join("wasm");
    let named: Vec<_> = modules()
        .into_values()
        .filter(|path| !path.starts_with(&wasm))
        .filter(|path| {
            std::fs::read_to_string(path)
                .expect("read")
                .contains("wasmtime")
        })
        .collect();
    assert!(
        named.is_empty(),
        "wasmtime named outside src/wasm: {named:?}"
    );
}

#[test]
fn no_two_files_import_each_other() {
    let modules = modules();
    let graph = imports(&modules);
    let mut cycles = Vec::new();
    for (start, deps) in &graph {
        // Files reachable from `start`'s imports that lead back to it.
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&Module> = deps.iter().collect();
        while let Some(next) = stack.pop() {
            if next == start {
                cycles.push(modules[start].display().to_string());
                break;
            }
            if seen.insert(next) {
                stack.extend(graph[next].iter());
            }
        }
    }
    assert!(cycles.is_empty(), "files on an import cycle: {cycles:#?}");
}

#[test]
fn the_checker_sees_a_cycle_through_a_parent_module() {
    // `a` re-exports its child, the child uses an item defined in `a`: a cycle.
    let modules: BTreeMap<Module, PathBuf> = [vec!["a".to_string()], vec!["a".into(), "b".into()]]
        .into_iter()
        .map(|m| (m, PathBuf::new()))
        .collect();
    let parent = vec!["a".to_string()];
    let child = vec!["a".to_string(), "b".to_string()];
    assert_eq!(resolve(&parent, "b::Thing", &modules), Some(child.clone()));
    assert_eq!(
        resolve(&child, "super::Item", &modules),
        Some(parent.clone())
    );
    assert_eq!(resolve(&child, "crate::a::b::X", &modules), Some(child));
    assert_eq!(resolve(&parent, "std::sync::Arc", &modules), None);
    assert_eq!(
        expand("super::{x::{A, B}, y::C}"),
        ["super::x::A", "super::x::B", "super::y::C"]
    );
}
