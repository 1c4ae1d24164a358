//! The README's magics reference is generated from the magic declarations (the ones `%name?`
//! and `%lsmagic` show) and must stay equal to them. `AZQ_UPDATE_README=1` rewrites it.

use std::path::PathBuf;

use azq_magics::registry;

const BEGIN: &str = "<!-- magics reference: generated from the declarations by magics/tests/readme_reference.rs -->\n";
const END: &str = "<!-- end of the magics reference -->\n";

fn readme() -> PathBuf {
    // At run time: a test binary cargo reuses may have been built from a clone elsewhere.
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    PathBuf::from(root).join("../README.md")
}

fn reference() -> String {
    let mut md = String::new();
    for magic in registry::all() {
        md.push('\n');
        md.push_str(&magic.spec().markdown());
    }
    md.push('\n');
    md
}

#[test]
fn the_readme_reference_is_the_declarations() {
    let path = readme();
    let text = std::fs::read_to_string(&path).expect("README.md beside the workspace");
    let (Some(start), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        panic!("README.md lacks the reference markers:\n{BEGIN}{END}");
    };
    let start = start + BEGIN.len();
    let wanted = reference();
    if text[start..end] == wanted {
        return;
    }
    if std::env::var_os("AZQ_UPDATE_README").is_some() {
        let updated = format!("{}{wanted}{}", &text[..start], &text[end..]);
        let tmp = path.with_extension("md.new");
        std::fs::write(&tmp, updated).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        return;
    }
    let first = text[start..end]
        .lines()
        .zip(wanted.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    panic!(
        "README.md's magics reference differs from the magic declarations (first at line {} of \
         the reference: {:?}); regenerate it with \
         `AZQ_UPDATE_README=1 cargo test -p azq-magics --test readme_reference`",
        first + 1,
        wanted.lines().nth(first)
    );
}

#[test]
fn every_registered_magic_is_in_the_reference_once() {
    let md = reference();
    for magic in registry::all() {
        let heading = format!("### `{}`\n", magic.spec().call_name());
        assert_eq!(md.matches(&heading).count(), 1, "{heading}");
    }
}

/// The stable error names the code gives (`Variant { .. } => "Name"` in each error enum's
/// `name()`), from the sources of the crates whose errors reach a cell.
fn declared_error_names() -> Vec<String> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut names = Vec::new();
    let mut dirs = vec![root.join("src"), root.join("../client/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for arm in text.split("=> \"").skip(1) {
                    if let Some(name) = arm.split('"').next() {
                        names.push(name.to_owned());
                    }
                }
            }
        }
    }
    names
}

#[test]
fn every_error_the_troubleshooting_table_names_exists() {
    let text = std::fs::read_to_string(readme()).unwrap();
    let section = text
        .split("## Troubleshooting")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README.md has a Troubleshooting section");
    let declared = declared_error_names();
    let mut named = 0;
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let first = row.split('|').nth(1).unwrap();
        for name in first.split('`').skip(1).step_by(2) {
            named += 1;
            assert!(
                declared.iter().any(|d| d == name),
                "the Troubleshooting table names `{name}`, which no error declares"
            );
        }
    }
    assert!(named >= 10, "only {named} error names in the table");
}
