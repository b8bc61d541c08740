//! The crate's layering, checked on its source. Inside one crate the compiler accepts any
//! `crate::` path, so nothing else stops `model` from growing a `use crate::ui`: this test
//! reads every file under src/ and fails, naming the file and line, when a module imports a
//! module of its own or a higher layer, when two top-level modules import each other
//! (directly or round a longer cycle), or when a module below the command line names clap
//! (domain enums get their command-line names in src/cli.rs).
//!
//! It sees `use` lines, paths written inline (`crate::train::derive_seed(..)`), grouped
//! imports (`use crate::{data::Split, model}`) and `super::super::` paths that climb out of
//! their top-level module; comments and string literals do not count.
//!
//! Run: `cargo test --release --test layering`. docs/ARCHITECTURE.md shows the same table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules of src/lib.rs in layers, lowest first. A module may import modules
/// of lower layers only: not of its own layer, not of a higher one. So no two top-level
/// modules can import each other. Every module of src/lib.rs is in exactly one layer.
const LAYERS: &[(&str, &[&str])] = &[
    // Files and their errors, colours, devices, the hub cache: no knowledge of the model or
    // the data.
    (
        "foundation",
        &["fsutil", "file_error", "colormap", "device", "hub", "worker", "figure4"],
    ),
    // Acoustic features from recordings; the model's tensors and kernels.
    ("signal and model", &["acoustic", "model"]),
    // Text splits, audio feature files, tokenisation, batches.
    ("data", &["data"]),
    ("checkpoint", &["checkpoint"]),
    // The training engine, its events and the worker protocol.
    ("train", &["train"]),
    // What is built on a trainer: attention views, the benchmark, the built-in corpus.
    ("uses of training", &["attention", "bench", "corpus"]),
    // Runs side by side: their histories, and their recorded attention through `attention`.
    ("comparison", &["compare"]),
    ("export", &["export"]),
    // The terminal app and the command line: neither knows the other.
    ("front ends", &["ui", "cli"]),
    // Each subcommand wires the layers below together (src/main.rs dispatches to it).
    ("commands", &["commands"]),
];

/// The only modules that may name clap.
const CLAP: &[&str] = &["cli", "commands"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn modules_import_only_lower_layers_and_never_each_other() {
    let problems = check(&src(), LAYERS, CLAP);
    assert!(
        problems.is_empty(),
        "the layering of src/ is broken (table: LAYERS in tests/layering.rs):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_sees_every_way_of_naming_a_module() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |path: &str, text: &str| {
        let path = src.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write(
        "lib.rs",
        "pub mod base;\npub mod low;\npub mod high;\npub mod top;\npub mod stray;\n",
    );
    write("base.rs", "pub fn f() {}\n");
    // Nothing here imports a higher layer: comments, strings, lifetimes and paths that stay
    // inside `low` (an inline module's `super::super` is the file's parent) do not count.
    write(
        "low/mod.rs",
        "//! Not `crate::high` in a comment.\n\
         pub mod a;\n\
         const S: &str = \"crate::high::x\";\n\
         const R: &str = r#\"crate::top\"#;\n\
         fn l<'a>(x: &'a str) -> char { crate::base::f(); let _ = x; '\"' }\n\
         /* crate::high\n   crate::top */\n",
    );
    write(
        "low/a.rs",
        "use super::b;\nmod tests {\n    mod inner {\n        use super::super::super::C;\n    }\n}\n",
    );
    // The old `ui -> commands::printer` pattern, inline, grouped and climbing out by super.
    write(
        "low/b.rs",
        "pub fn g(d: u64) -> String {\n    crate::high::printer::format(d)\n}\n\
         use crate::{base, high::App};\n\
         use super::super::high;\n",
    );
    write("high.rs", "use crate::low;\nuse clap::ValueEnum;\n");
    write("top.rs", "use crate::{high, low};\nuse crate :: base;\n");
    write("stray.rs", "");
    let layers: &[(&str, &[&str])] = &[
        ("base", &["base", "gone"]),
        ("low", &["low"]),
        ("high", &["high"]),
        ("top", &["top"]),
    ];
    let problems = check(src, layers, &["top"]);
    let expected = [
        "src/stray.rs: module `stray` is in no layer of LAYERS (tests/layering.rs): add it to the one it belongs to",
        "LAYERS names `gone`, which src/lib.rs does not declare: remove it or rename it",
        "src/low/b.rs:2: `low` (layer low) imports `high` (layer high): a module imports only lower layers",
        "src/low/b.rs:4: `low` (layer low) imports `high` (layer high): a module imports only lower layers",
        "src/low/b.rs:5: `low` (layer low) imports `high` (layer high): a module imports only lower layers",
        "src/high.rs:2: `high` names clap; only top may (domain enums get their command-line names in src/cli.rs)",
        "import cycle: high -> low (src/high.rs:1) -> high (src/low/b.rs:2)",
    ];
    for line in &expected {
        assert!(
            problems.contains(&line.to_string()),
            "missing {line:?} in:\n{}",
            problems.join("\n")
        );
    }
    assert_eq!(problems.len(), expected.len(), "{}", problems.join("\n"));
}

/// Every broken rule, one line each, naming the file and line.
fn check(src: &Path, layers: &[(&str, &[&str])], clap: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let declared = declared_modules(&src.join("lib.rs"));
    let layer_of: BTreeMap<&str, (usize, &str)> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, (name, modules))| modules.iter().map(move |m| (*m, (i, *name))))
        .collect();
    for module in &declared {
        if !layer_of.contains_key(module.as_str()) {
            let file = [format!("{module}.rs"), format!("{module}/mod.rs")]
                .into_iter()
                .find(|f| src.join(f).exists())
                .unwrap_or_else(|| "lib.rs".into());
            problems.push(format!(
                "src/{file}: module `{module}` is in no layer of LAYERS (tests/layering.rs): add it to the one it belongs to"
            ));
        }
    }
    for module in layer_of.keys() {
        if !declared.contains(*module) {
            problems.push(format!(
                "LAYERS names `{module}`, which src/lib.rs does not declare: remove it or rename it"
            ));
        }
    }
    // The import graph between top-level modules, with where each edge is first seen.
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in rust_files(src) {
        let rel = file.strip_prefix(src).unwrap();
        let module = module_path(rel);
        let Some(own) = module.first().cloned() else {
            continue; // lib.rs and main.rs are the roots, not modules
        };
        if !declared.contains(&own) {
            continue;
        }
        let shown = format!("src/{}", rel.display()).replace('\\', "/");
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        for (line, target) in references(&code, &module) {
            if target == own || !declared.contains(&target) {
                continue;
            }
            let at = format!("{shown}:{line}");
            if let (Some(&(from, from_name)), Some(&(to, to_name))) =
                (layer_of.get(own.as_str()), layer_of.get(target.as_str()))
            {
                if to >= from {
                    problems.push(format!(
                        "{at}: `{own}` (layer {from_name}) imports `{target}` (layer {to_name}): a module imports only lower layers"
                    ));
                }
            }
            edges.entry(own.clone()).or_default().entry(target).or_insert(at);
        }
        if !clap.contains(&own.as_str()) {
            if let Some(line) = first_word(&code, "clap") {
                problems.push(format!(
                    "{shown}:{line}: `{own}` names clap; only {} may (domain enums get their command-line names in src/cli.rs)",
                    clap.join(", ")
                ));
            }
        }
    }
    problems.extend(cycles(&edges));
    problems
}

/// `mod name;` declarations of the crate root.
fn declared_modules(lib: &Path) -> BTreeSet<String> {
    let code = code_only(&std::fs::read_to_string(lib).unwrap());
    let tokens = tokens(&code);
    tokens
        .windows(3)
        .filter(|w| w[0].text == "mod" && w[2].text == ";")
        .map(|w| w[1].text.clone())
        .collect()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The module a file under src/ holds: `ui/status.rs` is `ui::status`, `data/mod.rs` is
/// `data`, `lib.rs` and `main.rs` the root.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    let at_root = parts.is_empty() && (stem == "lib" || stem == "main");
    if stem != "mod" && !at_root {
        parts.push(stem.to_string());
    }
    parts
}

/// The source with comments and the contents of string and character literals blanked
/// (newlines kept, so lines still count).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev_ident = i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if !prev_ident && (c == 'r' || (c == 'b' && next == Some('r'))) && raw_string_at(&chars, i).is_some() {
            let (start, hashes) = raw_string_at(&chars, i).unwrap();
            let closing: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            out.extend(std::iter::repeat_n(' ', start + 1 - i));
            i = start + 1;
            while i < chars.len() && !chars[i..].starts_with(&closing) {
                blank(&mut out, chars[i]);
                i += 1;
            }
            out.extend(std::iter::repeat_n(' ', closing.len().min(chars.len() - i)));
            i += closing.len();
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                let step = if chars[i] == '\\' { 2 } else { 1 };
                for &c in &chars[i..(i + step).min(chars.len())] {
                    blank(&mut out, c);
                }
                i += step;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\u{1F600}'); a lifetime ('a) has no closing quote.
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                let step = if chars[i] == '\\' { 2 } else { 1 };
                out.extend(std::iter::repeat_n(' ', step));
                i += step;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Where a raw string starting at `i` (`r"`, `r#"`, `br##"`) opens: the index of its quote
/// and its number of `#`.
fn raw_string_at(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let mut j = i + if chars[i] == 'b' { 2 } else { 1 };
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    (chars.get(j) == Some(&'"')).then_some((j, hashes))
}

struct Token {
    text: String,
    line: usize,
}

/// Identifiers, `::` and single punctuation characters, with their line (1-based).
fn tokens(code: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let mut text = c.to_string();
            while let Some(&n) = chars.peek().filter(|n| n.is_alphanumeric() || **n == '_') {
                text.push(n);
                chars.next();
            }
            tokens.push(Token { text, line });
        } else if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            tokens.push(Token {
                text: "::".into(),
                line,
            });
        } else if !c.is_whitespace() {
            tokens.push(Token {
                text: c.to_string(),
                line,
            });
        }
    }
    tokens
}

/// The top-level modules that paths in `code` (a file of module `module`) name, with their
/// line: `crate::x`, `crate::{x, y::z}`, and `super::`s that climb to the crate root.
fn references(code: &str, module: &[String]) -> Vec<(usize, String)> {
    let tokens = tokens(code);
    let is = |i: usize, text: &str| tokens.get(i).is_some_and(|t| t.text == text);
    let mut found = Vec::new();
    // Inline modules (`mod tests { .. }`) open inside the file: (name, brace depth outside).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i].text.as_str() {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            "mod" if is(i + 2, "{") => {
                inline.push((tokens[i + 1].text.clone(), depth));
            }
            "crate" if is(i + 1, "::") && !(i > 0 && is(i - 1, "::")) => {
                found.extend(roots(&tokens, i + 2));
            }
            "super" if is(i + 1, "::") && !(i > 0 && is(i - 1, "::")) => {
                let mut here: Vec<String> = module
                    .iter()
                    .cloned()
                    .chain(inline.iter().map(|(n, _)| n.clone()))
                    .collect();
                let mut j = i;
                while is(j, "super") && is(j + 1, "::") {
                    here.pop();
                    j += 2;
                }
                if here.is_empty() {
                    found.extend(roots(&tokens, j));
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// The first segment of a path that starts at `i`, or of each path in a `{..}` group there.
fn roots(tokens: &[Token], i: usize) -> Vec<(usize, String)> {
    let Some(first) = tokens.get(i) else {
        return Vec::new();
    };
    if first.text != "{" {
        return vec![(first.line, first.text.clone())];
    }
    let mut found = Vec::new();
    let mut depth = 0;
    let mut expect_item = true;
    for t in &tokens[i..] {
        match t.text.as_str() {
            "{" => {
                depth += 1;
                expect_item = depth == 1;
            }
            "}" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            "," if depth == 1 => expect_item = true,
            text if expect_item && depth == 1 => {
                found.push((t.line, text.to_string()));
                expect_item = false;
            }
            _ => {}
        }
    }
    found
}

/// The line of the first use of identifier `word` in `code`.
fn first_word(code: &str, word: &str) -> Option<usize> {
    tokens(code).into_iter().find(|t| t.text == word).map(|t| t.line)
}

/// Each import cycle between top-level modules once, with where each of its imports is.
fn cycles(edges: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for start in edges.keys() {
        // Shortest path from each of start's targets back to start (breadth first).
        let mut paths: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([vec![start.as_str()]]);
        while let Some(path) = queue.pop_front() {
            let last = *path.last().unwrap();
            for next in edges.get(last).into_iter().flat_map(|t| t.keys()) {
                if next == start {
                    paths.entry(path[1.min(path.len() - 1)]).or_insert_with(|| path.clone());
                } else if !path.contains(&next.as_str()) && path.len() < edges.len() {
                    let mut longer = path.clone();
                    longer.push(next);
                    queue.push_back(longer);
                }
            }
        }
        for path in paths.into_values() {
            let members: BTreeSet<&str> = path.iter().copied().collect();
            if !seen.insert(members) {
                continue;
            }
            let mut text = format!("import cycle: {}", path[0]);
            for (k, from) in path.iter().enumerate() {
                let to = path.get(k + 1).copied().unwrap_or(path[0]);
                text += &format!(" -> {to} ({})", edges[*from][to]);
            }
            found.push(text);
        }
    }
    found
}
