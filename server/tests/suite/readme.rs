//! The README's Rust code is compiled: its quick start is `examples/quickstart.rs`
//! verbatim (cargo builds examples with the tests), and this checks they have not drifted.

/// The first ```` ```rust ```` block after `heading` in `markdown`.
fn rust_block_after<'a>(markdown: &'a str, heading: &str) -> &'a str {
    let section = &markdown[markdown.find(heading).expect("heading in README")..];
    let start = section.find("```rust\n").expect("a rust block") + "```rust\n".len();
    let len = section[start..].find("```").expect("closed block");
    &section[start..start + len]
}

/// The example without its leading `//!` header and the blank line after it.
fn without_header(source: &str) -> String {
    source
        .lines()
        .skip_while(|line| line.starts_with("//!"))
        .skip_while(|line| line.is_empty())
        .map(|line| format!("{line}\n"))
        .collect()
}

#[test]
fn the_readme_quick_start_is_the_compiled_example() {
    let readme = include_str!("../../../README.md");
    let example = include_str!("../../examples/quickstart.rs");
    let block = rust_block_after(readme, "## Quick start: Rust");
    assert!(block.contains("rfb::"), "found the quick start: {block}");
    assert_eq!(
        block,
        without_header(example),
        "README.md's quick start and server/examples/quickstart.rs differ: change both"
    );
}
