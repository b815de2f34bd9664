//! Keeps README.md true to the examples: the code sample is the quickstart's own lines (between the
//! `README: begin` and `README: end` markers, unindented), and every example registered in
//! examples/Cargo.toml has a row in the README's examples table.

const README: &str = include_str!("../../README.md");
const QUICKSTART: &str = include_str!("../quickstart.rs");
const MANIFEST: &str = include_str!("../Cargo.toml");

/// The quickstart's lines between the markers, with the function body's indentation removed.
fn quickstart_excerpt() -> String {
    let lines: Vec<&str> = QUICKSTART.lines().collect();
    let begin = lines.iter().position(|l| l.contains("// README: begin")).expect("the begin marker");
    let end = lines.iter().position(|l| l.contains("// README: end")).expect("the end marker");
    assert!(begin < end, "the markers are in order");
    let mut out = String::new();
    for line in &lines[begin + 1..end] {
        out.push_str(line.strip_prefix("    ").unwrap_or(line));
        out.push('\n');
    }
    out
}

#[test]
fn the_readme_sample_is_the_quickstart_code() {
    let excerpt = quickstart_excerpt();
    assert!(excerpt.lines().count() > 20, "the excerpt shows the journey");
    let block = format!("```rust,ignore\n{excerpt}```\n");
    assert!(
        README.contains(&block),
        "README.md's sample differs from examples/quickstart.rs; paste these lines into README.md:\n{excerpt}"
    );
}

#[test]
fn every_example_is_listed_in_the_readme() {
    let names: Vec<&str> = MANIFEST
        .lines()
        .filter_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"'))
        .filter(|n| *n != "qianbao-examples")
        .collect();
    assert!(names.len() >= 7, "the examples are registered: {names:?}");
    for name in names {
        assert!(README.contains(&format!("| `{name}` |")), "README.md's examples table has no row for `{name}`");
    }
}
