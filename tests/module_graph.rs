//! No file of `src/` imports, directly or through others, a file that imports it back, and no
//! top-level module imports one that imports it back.
//!
//! An import is every path in a file that names something in the tree (in `use` trees and
//! in code), resolved to the file that defines what it names: the path walks down the module
//! files as far as they go, then follows `pub use` re-exports to the file that defines the
//! item. A `pub use` itself only passes a name on and is no import of its own. Comments and string literals are left out; inline modules (`mod tests { .. }`) are
//! followed for `super::` and `self::`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// A module path: `["run", "record"]`.
type ModPath = Vec<String>;

#[test]
fn no_file_and_no_top_level_module_imports_itself_back() {
    let tree = Tree::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("src").as_path());
    let edges = tree.edges();
    assert!(
        edges.len() > 100,
        "the scan found only {} imports: it is broken",
        edges.len()
    );
    let file_cycles = cycles(&edges);
    assert!(
        file_cycles.is_empty(),
        "files that import each other (each group is a circle):\n{}",
        show(&file_cycles)
    );
    let top: BTreeSet<(String, String)> = edges
        .iter()
        .map(|(a, b)| (top_level(a), top_level(b)))
        .filter(|(a, b)| a != b)
        .collect();
    let module_cycles = cycles(&top);
    assert!(
        module_cycles.is_empty(),
        "top-level modules that import each other:\n{}",
        show(&module_cycles)
    );
}

#[test]
fn the_scan_sees_a_circle_when_there_is_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("b")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(
        src.join("a.rs"),
        "// crate::b::c is only mentioned here\nuse crate::b::Thing;\n",
    )
    .unwrap();
    std::fs::write(src.join("b/mod.rs"), "mod c;\npub use c::Thing;\n").unwrap();
    std::fs::write(
        src.join("b/c.rs"),
        "pub struct Thing;\nfn f() { let _ = \"crate::a\"; crate::a::g(); }\n",
    )
    .unwrap();
    let tree = Tree::read(src);
    let edges = tree.edges();
    let a = "a.rs".to_string();
    let c = "b/c.rs".to_string();
    assert!(edges.contains(&(a.clone(), c.clone())), "{edges:?}");
    assert!(edges.contains(&(c.clone(), a.clone())), "{edges:?}");
    assert_eq!(
        edges.len(),
        2,
        "comments and strings are not imports: {edges:?}"
    );
    assert_eq!(cycles(&edges), vec![vec![a, c]]);
}

/// The source files, by module path.
struct Tree {
    root: PathBuf,
    files: BTreeMap<ModPath, PathBuf>,
    /// Per file, its `pub use` re-exports: name -> the absolute path it stands for.
    reexports: HashMap<PathBuf, Vec<(String, ModPath)>>,
}

impl Tree {
    fn read(root: &Path) -> Self {
        let mut files = BTreeMap::new();
        collect(root, root, &mut files);
        let mut tree = Self {
            root: root.to_path_buf(),
            files,
            reexports: HashMap::new(),
        };
        let scanned: Vec<(PathBuf, ModPath)> = tree
            .files
            .iter()
            .map(|(m, f)| (f.clone(), m.clone()))
            .collect();
        for (file, module) in scanned {
            let text = strip(&std::fs::read_to_string(&file).unwrap());
            let exports = uses(&text, &module)
                .into_iter()
                .filter(|u| u.public)
                .map(|u| (u.name, u.path))
                .collect();
            tree.reexports.insert(file, exports);
        }
        tree
    }

    /// Every (importing file, imported file) pair, as paths relative to the root.
    fn edges(&self) -> BTreeSet<(String, String)> {
        let mut edges = BTreeSet::new();
        for (module, file) in &self.files {
            let text = strip(&std::fs::read_to_string(file).unwrap());
            for path in paths(&text, module) {
                if let Some(target) = self.resolve(&path, 0) {
                    if target != *file {
                        edges.insert((self.name(file), self.name(&target)));
                    }
                }
            }
        }
        edges
    }

    fn name(&self, file: &Path) -> String {
        file.strip_prefix(&self.root)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// The file that defines what the absolute `path` names.
    fn resolve(&self, path: &[String], depth: usize) -> Option<PathBuf> {
        if depth > 16 {
            return None;
        }
        let mut module: ModPath = Vec::new();
        for segment in path {
            let mut deeper = module.clone();
            deeper.push(segment.clone());
            if self.files.contains_key(&deeper) {
                module = deeper;
                continue;
            }
            // `segment` is an item of `module` (or of an inline module in it): defined there,
            // or re-exported from elsewhere.
            let file = self.files.get(&module)?;
            let exports = self.reexports.get(file)?;
            for (name, target) in exports {
                if name == segment {
                    return self.resolve(target, depth + 1).or(Some(file.clone()));
                }
            }
            return Some(file.clone());
        }
        self.files.get(&module).cloned()
    }
}

/// The `.rs` files under `dir`, by module path (`lib.rs` is the root, `x/mod.rs` is `x`).
fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<ModPath, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let relative = path.strip_prefix(root).unwrap();
        if path.is_dir() {
            if relative != Path::new("bin") {
                collect(root, &path, files);
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") || relative == Path::new("main.rs") {
            continue;
        }
        let mut module: ModPath = relative
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
            module.pop();
        }
        files.insert(module, path);
    }
}

/// The text without comments, string and character literals (each becomes a space).
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && matches!(next, Some('"' | '#')) && !ident_before(&chars, i) {
            // A raw string: r"..", r#".."#.
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push(' ');
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(' ');
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime ('a), kept.
            let close = if next == Some('\\') {
                (i + 2..chars.len().min(i + 12)).find(|&j| chars[j] == '\'')
            } else {
                (chars.get(i + 2) == Some(&'\'')).then_some(i + 2)
            };
            match close {
                Some(end) => {
                    i = end + 1;
                    out.push(' ');
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// A token: an identifier, `::`, or one other character.
fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            out.push("::".into());
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

/// The module each token sits in: the file's module, plus the inline modules around it.
fn scopes(tokens: &[String], module: &ModPath) -> Vec<ModPath> {
    let mut stack: Vec<(ModPath, usize)> = vec![(module.clone(), 0)];
    let mut depth = 0;
    let mut out = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        out.push(stack.last().unwrap().0.clone());
        match token.as_str() {
            "{" => {
                depth += 1;
                if i >= 2 && tokens[i - 2] == "mod" {
                    let mut inner = stack.last().unwrap().0.clone();
                    inner.push(tokens[i - 1].clone());
                    stack.push((inner, depth));
                }
            }
            "}" => {
                if stack.len() > 1 && stack.last().unwrap().1 == depth {
                    stack.pop();
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    out
}

/// An absolute module path from a path read in `scope`. A path that does not start with
/// `crate`, `super` or `self` is taken as relative to `scope` (a child module, as `pub use
/// child::Item` names one); an external crate's path then names nothing in the tree and
/// resolves to the file itself.
fn absolute(segments: &[String], scope: &ModPath) -> Option<ModPath> {
    let mut base = match segments.first()?.as_str() {
        "crate" => Vec::new(),
        _ => scope.clone(),
    };
    let mut rest = &segments[usize::from(segments[0] == "crate" || segments[0] == "self")..];
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    Some(base)
}

/// One name a `use` brings in.
struct Use {
    /// Whether it is re-exported (`pub use`, `pub(crate) use`).
    public: bool,
    /// The name it is known by here (the last segment, or its `as` name).
    name: String,
    /// What it stands for, as an absolute path.
    path: ModPath,
}

/// The `use` declarations of a file whose paths start with `crate`, `super` or `self`.
fn uses(text: &str, module: &ModPath) -> Vec<Use> {
    let tokens = tokens(text);
    let scopes = scopes(&tokens, module);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] != "use" {
            i += 1;
            continue;
        }
        let public = i > 0 && (tokens[i - 1] == "pub" || tokens[i - 1] == ")");
        let end = (i..tokens.len())
            .find(|&j| tokens[j] == ";")
            .unwrap_or(tokens.len());
        let mut leaves = Vec::new();
        tree_leaves(&tokens[i + 1..end], Vec::new(), &mut leaves);
        for (segments, alias) in leaves {
            if let Some(path) = absolute(&segments, &scopes[i]) {
                let name = alias.unwrap_or_else(|| segments.last().cloned().unwrap_or_default());
                out.push(Use { public, name, path });
            }
        }
        i = end;
    }
    out
}

/// Every path a file names: the leaves of its private `use` trees and the paths in its code.
/// A `pub use` only passes a name on: whoever imports it depends on the file that defines it.
fn paths(text: &str, module: &ModPath) -> Vec<ModPath> {
    let mut out: Vec<ModPath> = uses(text, module)
        .into_iter()
        .filter(|u| !u.public)
        .map(|u| u.path)
        .collect();
    let tokens = tokens(text);
    let scopes = scopes(&tokens, module);
    let mut i = 0;
    while i < tokens.len() {
        let starts = matches!(tokens[i].as_str(), "crate" | "super" | "self")
            && tokens.get(i + 1).is_some_and(|t| t == "::")
            && !(i > 0 && tokens[i - 1] == "::");
        let in_use = (0..i).rev().take(64).find(|&j| {
            tokens[j] == ";" || tokens[j] == "use" || tokens[j] == "{" || tokens[j] == "}"
        });
        if !starts || in_use.is_some_and(|j| tokens[j] == "use") {
            i += 1;
            continue;
        }
        let mut segments = vec![tokens[i].clone()];
        let mut j = i + 1;
        while tokens.get(j).is_some_and(|t| t == "::")
            && tokens.get(j + 1).is_some_and(|t| is_ident(t))
        {
            segments.push(tokens[j + 1].clone());
            j += 2;
        }
        if let Some(path) = absolute(&segments, &scopes[i]) {
            out.push(path);
        }
        i = j;
    }
    out
}

fn is_ident(token: &str) -> bool {
    token
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// The leaves of a use tree (`a::{b, c::d as e}`): each full path and its `as` name.
fn tree_leaves(
    tokens: &[String],
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    let mut path = prefix;
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].as_str() {
            "::" => i += 1,
            "{" => {
                let close = matching(tokens, i);
                for part in split_top(&tokens[i + 1..close]) {
                    tree_leaves(part, path.clone(), out);
                }
                return;
            }
            "*" => {
                out.push((path, None));
                return;
            }
            "as" => {
                out.push((path, tokens.get(i + 1).cloned()));
                return;
            }
            token => {
                path.push(token.to_string());
                i += 1;
            }
        }
    }
    if !path.is_empty() {
        out.push((path, None));
    }
}

/// The index of the `}` that closes the `{` at `open`.
fn matching(tokens: &[String], open: usize) -> usize {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.as_str() {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// The comma-separated parts of a token list, commas inside braces not counted.
fn split_top(tokens: &[String]) -> Vec<&[String]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, t) in tokens.iter().enumerate() {
        match t.as_str() {
            "{" => depth += 1,
            "}" => depth -= 1,
            "," if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// The top-level module of a file: `run` for `run/record.rs`, `config` for `config.rs`.
fn top_level(file: &str) -> String {
    let first = file.split('/').next().unwrap_or(file);
    first.trim_end_matches(".rs").to_string()
}

/// The groups of nodes that reach each other (strongly connected, more than one node), each
/// sorted, in order.
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        graph.entry(a).or_default().push(b);
        graph.entry(b).or_default();
    }
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(node) = stack.pop() {
            for &next in &graph[node] {
                if seen.insert(next.to_string()) {
                    stack.push(next);
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&str, BTreeSet<String>> =
        graph.keys().map(|&n| (n, reach(n))).collect();
    let mut groups: BTreeSet<Vec<String>> = BTreeSet::new();
    for (&node, seen) in &reachable {
        if !seen.contains(node) {
            continue;
        }
        let group: Vec<String> = seen
            .iter()
            .filter(|other| reachable[other.as_str()].contains(node))
            .cloned()
            .collect();
        groups.insert(group);
    }
    groups.into_iter().collect()
}

fn show(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|g| format!("  {}", g.join(" <-> ")))
        .collect::<Vec<_>>()
        .join("\n")
}
