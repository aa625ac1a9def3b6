//! The layer fences of docs/architecture.md, checked by reading the source.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

fn sources() -> Vec<(String, String)> {
    let mut v = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut v);
    assert!(v.len() > 20, "found the sources");
    v
}

fn uses(code: &str, krate: &str) -> bool {
    code.lines().any(|l| {
        let l = l.trim_start();
        !l.starts_with("//")
            && (l.contains(&format!("{krate}::")) || l.starts_with(&format!("use {krate}")))
    })
}

#[test]
fn crates_stay_in_their_layer() {
    let fences: [(&str, &[&str]); 6] = [
        ("rusqlite", &["src/store/"]),
        ("r2d2", &["src/store/"]),
        ("ureq", &["src/integrations/"]),
        ("mail_send", &["src/integrations/"]),
        ("tokio", &["src/integrations/"]),
        // Emails are HTML too: their templates render with maud in `src/emails/`, so that
        // workflows hand over facts and never write markup (docs/architecture.md, Layers).
        ("maud", &["src/pages/", "src/emails/"]),
    ];
    let mut breaches = Vec::new();
    for (file, code) in sources() {
        for (krate, allowed) in fences {
            if uses(&code, krate) && !allowed.iter().any(|a| file.starts_with(a)) {
                breaches.push(format!("{file} uses {krate}"));
            }
        }
    }
    assert!(
        breaches.is_empty(),
        "layer breaches:\n{}",
        breaches.join("\n")
    );
}

#[test]
fn no_unwrap_or_expect_in_production_code() {
    let mut found = Vec::new();
    for (file, code) in sources() {
        // Test modules of the integrations live in their own `tests/` folders.
        if file.contains("/tests/") {
            continue;
        }
        // Unit tests sit at the end of a file after `#[cfg(test)]`.
        let prod = code.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in prod.lines().enumerate() {
            if line.contains(".unwrap()") || line.contains(".expect(") {
                found.push(format!("{file}:{}", i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "unwrap/expect outside tests:\n{}",
        found.join("\n")
    );
}

/// Every file of the repository a reader might follow a reference from: the sources, the tests
/// and the top-level documents.
fn readable_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut v = Vec::new();
    for dir in ["src", "tests", "benches"] {
        rust_files(&root.join(dir), &mut v);
    }
    for doc in [
        "README.md",
        "SECURITY.md",
        "BENCHMARKS.md",
        "CHANGELOG.md",
        "schema.sql",
        "vendor/tiny_http/PATCHES.md",
    ] {
        v.push((doc.into(), std::fs::read_to_string(root.join(doc)).unwrap()));
    }
    doc_files(root, "docs", &mut v);
    v
}

/// The text files under `dir` (a folder of `docs/`), recursively; pictures are skipped.
fn doc_files(root: &Path, dir: &str, v: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(root.join(dir)).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
        if path.is_dir() {
            doc_files(root, &name, v);
        } else if name.ends_with(".md") {
            v.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

/// The Markdown files of the repository, as paths relative to its root.
fn markdown_files(dir: &Path, root: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if !["target", ".git", "node_modules"].contains(&name.as_str()) {
                markdown_files(&path, root, out);
            }
        } else if name.ends_with(".md") {
            let rel = path.strip_prefix(root).unwrap().to_string_lossy();
            out.push(rel.replace('\\', "/"));
        }
    }
}

/// The repository documents itself: every Markdown document a comment or a document names is
/// in the repository, and a section reference (the section sign) names the document it is in,
/// so nothing
/// points at a specification kept elsewhere.
#[test]
fn references_point_at_files_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut known = Vec::new();
    markdown_files(root, root, &mut known);
    let exists = |name: &str| {
        known
            .iter()
            .any(|k| k == name || k.ends_with(&format!("/{name}")))
    };
    let mut wrong = Vec::new();
    for (file, text) in readable_files() {
        for (n, line) in text.lines().enumerate() {
            let mut names = Vec::new();
            for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || "/._-".contains(c))) {
                let word = word.trim_end_matches('.');
                if word.len() > 3 && word.ends_with(".md") && !word.starts_with("http") {
                    names.push(word);
                    if !exists(word.trim_start_matches("./").trim_start_matches('/')) {
                        wrong.push(format!("{file}:{}: {word} is not in the repository", n + 1));
                    }
                }
            }
            if line.contains('\u{a7}') && names.is_empty() {
                wrong.push(format!(
                    "{file}:{}: a section reference without its document",
                    n + 1
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// docs/contract.md is kept in step with the code: it names every variable the configuration
/// reads and every route of the router.
#[test]
fn the_contract_names_every_variable_and_route() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let contract = std::fs::read_to_string(root.join("docs/contract.md")).unwrap();
    let config = std::fs::read_to_string(root.join("src/config.rs")).unwrap();
    let mut missing = Vec::new();
    for part in config.split('"').skip(1).step_by(2) {
        if part.starts_with("DIDPORT_")
            && part
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && !contract.contains(part)
        {
            missing.push(part.to_string());
        }
    }
    // Routes as the contract writes them, placeholders folded: `GET /orders/{id}/pay`.
    let fold = |s: &str| -> String {
        s.split('/')
            .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
            .collect::<Vec<_>>()
            .join("/")
    };
    let mut documented = Vec::new();
    for cell in contract.split('`') {
        let Some((methods, path)) = cell.split_once(" /") else {
            continue;
        };
        for m in methods.split(',') {
            if ["GET", "POST"].contains(&m) {
                documented.push(format!("{m} {}", fold(&format!("/{path}"))));
            }
        }
    }
    for route in crate::authz::router_routes() {
        if !documented.contains(&route) {
            missing.push(route);
        }
    }
    assert!(missing.is_empty(), "not in docs/contract.md: {missing:?}");
}
