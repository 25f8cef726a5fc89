//! The server's core modules depend one way, so a reader can go top-down (issue 16):
//!
//! ```text
//! server -> http -> session -> display -> hub -> stream -> fanout
//!                                                       -> event_tap -> events -> sync
//! ```
//!
//! (Each module may also skip levels downwards, e.g. `session` uses `hub` and `stream`.)
//! The test reads every source file of the crate, collects the `crate::NAME` paths each
//! module in [`CORE`] uses outside comments, and fails on a cycle among them, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules whose imports must form no cycle.
const CORE: [&str; 11] = [
    "server",
    "http",
    "session",
    "display",
    "headless",
    "hub",
    "stream",
    "fanout",
    "event_tap",
    "events",
    "sync",
];

/// Module -> the other core modules it uses.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// The modules named by `crate::NAME` paths in `source`, comment lines skipped.
fn crate_paths(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in source.lines() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices("crate::") {
            let glued = line[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
            let name: String = line[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !glued && !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

/// Adds the edges of every `.rs` file under `dir` to `graph`, as module `module` (the
/// first path component below `src`), or as the file's own name at the top.
fn scan(dir: &Path, module: Option<&str>, graph: &mut Graph) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let owner = module.unwrap_or(stem);
        if !CORE.contains(&owner) {
            continue;
        }
        if path.is_dir() {
            scan(&path, Some(owner), graph)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let uses = crate_paths(&std::fs::read_to_string(&path)?);
            let edges = graph.entry(owner.to_string()).or_default();
            edges.extend(
                uses.into_iter()
                    .filter(|used| used != owner && CORE.contains(&used.as_str())),
            );
        }
    }
    Ok(())
}

/// A cycle in `graph` as the modules along it (the first repeated at the end), if any.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn core_modules_import_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = Graph::new();
    scan(&src, None, &mut graph).expect("read the crate's sources");
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the core modules import each other in a loop: {}\n(full graph: {graph:#?})",
            cycle.join(" -> ")
        );
    }
    // Not vacuous: every core module was read and the known edges were seen.
    let found: BTreeSet<&str> = graph.keys().map(String::as_str).collect();
    assert_eq!(
        found,
        BTreeSet::from(CORE),
        "a core module was renamed: update CORE"
    );
    assert!(graph["server"].contains("http") && graph["display"].contains("hub"));
}

#[test]
fn reads_crate_paths_and_finds_cycles() {
    let source = "use crate::server::{Server, ServerShared};\n\
                  /// See [`crate::http`].\n\
                  let x = crate::hub::DEFAULT_STREAM; let y = rfb_crate::sync::lock;\n";
    assert_eq!(
        crate_paths(source),
        BTreeSet::from(["hub".to_string(), "server".to_string()])
    );
    let edges = |pairs: &[(&str, &str)]| {
        let mut graph = Graph::new();
        for (from, to) in pairs {
            graph
                .entry(from.to_string())
                .or_default()
                .insert(to.to_string());
        }
        graph
    };
    let one_way = edges(&[("server", "display"), ("display", "hub"), ("server", "hub")]);
    assert_eq!(find_cycle(&one_way), None);
    let looped = edges(&[("server", "display"), ("display", "hub"), ("hub", "server")]);
    assert_eq!(
        find_cycle(&looped).map(|c| c.join(" -> ")),
        Some("display -> hub -> server -> display".to_string())
    );
}
