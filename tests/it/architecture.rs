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

/// Whether `code` uses a crate (`ureq`) or names a type (`TcpListener`).
fn uses(code: &str, krate: &str) -> bool {
    let is_type = krate.starts_with(|c: char| c.is_ascii_uppercase());
    code.lines().any(|l| {
        let l = l.trim_start();
        !l.starts_with("//")
            && (l.contains(&format!("{krate}::"))
                || l.starts_with(&format!("use {krate}"))
                || (is_type && l.contains(krate)))
    })
}

#[test]
fn crates_stay_in_their_layer() {
    // Network: the clients of the outside systems (`integrations/`), their simulators (`sim/`)
    // and the portal's own HTTP server (`http/`). HTML: the pages, the email templates, and the
    // simulated PayPal approval page.
    let fences: [(&str, &[&str]); 10] = [
        ("rusqlite", &["src/store/"]),
        ("r2d2", &["src/store/"]),
        ("ureq", &["src/integrations/", "src/sim/"]),
        ("mail_send", &["src/integrations/"]),
        ("tokio", &["src/integrations/"]),
        ("tiny_http", &["src/http/", "src/integrations/", "src/sim/"]),
        (
            "TcpListener",
            &["src/http/", "src/integrations/", "src/sim/"],
        ),
        ("TcpStream", &["src/http/", "src/integrations/", "src/sim/"]),
        ("UdpSocket", &["src/http/", "src/integrations/", "src/sim/"]),
        // Emails are HTML too: their templates render with maud in `src/emails/`, so that
        // workflows hand over facts and never write markup (docs/architecture.md, Layers).
        ("maud", &["src/pages/", "src/sim/", "src/emails/"]),
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

/// The request context (`src/web/`) sits between the router and the pages: it renders no
/// HTML and runs no SQL of its own, and neither it nor the pages reach back up into `app`
/// (start-up and router), so no two layers import each other.
#[test]
fn the_request_context_stays_below_the_pages() {
    let sql = [
        "SELECT ",
        "INSERT ",
        "UPDATE ",
        "DELETE FROM",
        "CREATE TABLE",
    ];
    let mut breaches = Vec::new();
    for (file, code) in sources() {
        let prod = code.split("#[cfg(test)]").next().unwrap_or("");
        if file.starts_with("src/web/") {
            for banned in ["crate::pages", "crate::app", "maud", "html!"] {
                if uses(prod, banned) || prod.contains(banned) {
                    breaches.push(format!("{file} uses {banned}"));
                }
            }
            for word in sql {
                if prod.contains(word) {
                    breaches.push(format!("{file} has SQL ({word})"));
                }
            }
        }
        if (file.starts_with("src/pages/") || file.starts_with("src/workflow/"))
            && prod.contains("crate::app")
        {
            breaches.push(format!("{file} imports the router's module `app`"));
        }
    }
    assert!(
        breaches.is_empty(),
        "layer breaches:\n{}",
        breaches.join("\n")
    );
}

/// Pages read the database but change business state only through `workflow/`, which writes
/// the audit row in the same transaction as the change.
#[test]
fn pages_write_only_through_workflows() {
    let mut breaches = Vec::new();
    for (file, code) in sources() {
        if !file.starts_with("src/pages/") {
            continue;
        }
        let prod = code.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in prod.lines().enumerate() {
            if line.contains(".write(") || line.contains("audit::record") {
                breaches.push(format!("{file}:{}", i + 1));
            }
        }
    }
    assert!(
        breaches.is_empty(),
        "writes outside workflow/:\n{}",
        breaches.join("\n")
    );
}

/// The production part of a source file: integration test folders are skipped, and unit tests
/// sit at the end of a file after `#[cfg(test)]`.
fn production(file: &str, code: &str) -> Option<String> {
    if file.contains("/tests/") {
        return None;
    }
    let prod = code.split("#[cfg(test)]").next().unwrap_or("");
    let lines: Vec<&str> = prod
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    Some(lines.join("\n"))
}

/// The string literals of some code, roughly: the text between pairs of double quotes.
fn literals(code: &str) -> Vec<String> {
    code.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn sql_in(code: &str) -> Vec<String> {
    const SQL: [&str; 9] = [
        "SELECT ",
        "INSERT INTO",
        "INSERT OR ",
        "DELETE FROM",
        "CREATE TABLE",
        "CREATE INDEX",
        "ALTER TABLE",
        "PRAGMA ",
        "BEGIN IMMEDIATE",
    ];
    literals(code)
        .into_iter()
        .filter(|l| {
            SQL.iter().any(|k| l.contains(k)) || (l.starts_with("UPDATE ") && l.contains(" SET "))
        })
        .collect()
}

fn html_in(code: &str) -> Vec<String> {
    const TAGS: [&str; 16] = [
        "html", "head", "body", "div", "p", "a", "form", "input", "button", "table", "tr", "td",
        "ul", "li", "span", "h1",
    ];
    literals(code)
        .into_iter()
        .filter(|l| {
            TAGS.iter().any(|t| {
                l.contains(&format!("<{t}>"))
                    || l.contains(&format!("<{t} "))
                    || l.contains(&format!("</{t}>"))
            }) || l.to_ascii_lowercase().contains("<!doctype")
        })
        .collect()
}

/// SQL is written only in `store/` (schema and migrations included); HTML only in `pages/`
/// (and in the simulated PayPal approval page under `sim/`).
#[test]
fn sql_and_html_stay_in_their_layer() {
    let mut breaches = Vec::new();
    for (file, code) in sources() {
        let Some(prod) = production(&file, &code) else {
            continue;
        };
        if !file.starts_with("src/store/") {
            for l in sql_in(&prod) {
                breaches.push(format!("{file}: SQL {l:?}"));
            }
        }
        if !file.starts_with("src/pages/") && !file.starts_with("src/sim/") {
            for l in html_in(&prod) {
                breaches.push(format!("{file}: HTML {l:?}"));
            }
        }
    }
    assert!(breaches.is_empty(), "{}", breaches.join("\n"));
    // The checks see what they are meant to see.
    assert!(!sql_in(r#"tx.execute("UPDATE orders SET x = 1", [])"#).is_empty());
    assert!(!sql_in(r#"q("SELECT 1 FROM users")"#).is_empty());
    assert!(!html_in(r#"format!("<p class=\"x\">{}</p>", t)"#).is_empty());
    assert!(sql_in(r#"log("selected one")"#).is_empty());
    assert!(html_in(r#"if a < b { "p" }"#).is_empty());
}

/// What `src/sim/` may name from `src/integrations/`: only the clients' settings, which the
/// simulators hand out. Nothing of the clients' reading and writing of the wire format (their
/// `client`, `wire`, `util`, `amount` and `webhook` modules, nor the types they return), so a
/// misreading of the format cannot hide on both sides.
const SIM_MAY_NAME: [&str; 5] = [
    "telinta",
    "paypal",
    "Credential",
    "TelintaClientConfig",
    "PayPalClientConfig",
];

/// The names in each `integrations::…` path of `code`: the path and any `{…}` group after it,
/// up to whatever cannot be part of a path (`;`, `(`, `.`, …).
fn integration_paths(code: &str) -> Vec<Vec<String>> {
    code.match_indices("integrations::")
        .map(|(i, _)| {
            let rest = &code[i + "integrations::".len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || "_:{}, \n*".contains(c)))
                .unwrap_or(rest.len());
            rest[..end]
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '*'))
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

fn sim_breaches(file: &str, code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for names in integration_paths(code) {
        for n in &names {
            if !SIM_MAY_NAME.contains(&n.as_str()) {
                out.push(format!("{file} names integrations::…{n}"));
            }
        }
    }
    out
}

#[test]
fn simulators_share_no_code_with_the_clients() {
    let mut breaches = Vec::new();
    let mut sims = 0;
    for (file, code) in sources() {
        if file.starts_with("src/sim/") {
            sims += 1;
            breaches.extend(sim_breaches(&file, &code));
            if code.contains("super::super::") {
                breaches.push(format!("{file} reaches out with super::super::"));
            }
        }
    }
    assert!(sims > 10, "found the simulators");
    assert!(breaches.is_empty(), "{}", breaches.join("\n"));
    // A planted breach is seen.
    for planted in [
        "use crate::integrations::paypal::client::PayPalClient;",
        "use crate::integrations::telinta::{TelintaClientConfig, wire::int};",
        "let a = crate::integrations::paypal::Amount::new(1, \"USD\");",
        "use crate::integrations::paypal::*;",
    ] {
        assert!(!sim_breaches("planted", planted).is_empty(), "{planted}");
    }
    assert!(
        sim_breaches(
            "ok",
            "use crate::integrations::telinta::{Credential, TelintaClientConfig};"
        )
        .is_empty()
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

/// The layer of a source file: its top-level module (`src/store/orders.rs` → `store`,
/// `src/config.rs` → `config`).
fn layer(file: &str) -> String {
    let rest = file.trim_start_matches("src/");
    let first = rest.split('/').next().unwrap_or(rest);
    first.trim_end_matches(".rs").to_string()
}

/// The public types (`pub struct|enum|type|trait Name`) of some production code.
fn public_types(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in code.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for w in words.windows(3) {
            if w[0] == "pub" && ["struct", "enum", "type", "trait"].contains(&w[1]) {
                let name: String = w[2]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
    }
    out
}

/// Names declared more than once, with where. `across_layers` counts only names declared in
/// two layers.
fn shared_names(files: &[(String, String)], across_layers: bool) -> Vec<String> {
    let mut seen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (file, code) in files {
        let Some(prod) = production(file, code) else {
            continue;
        };
        for name in public_types(&prod) {
            seen.entry(name).or_default().push(file.clone());
        }
    }
    seen.into_iter()
        .filter(|(_, files)| {
            let first = layer(&files[0]);
            files.len() > 1 && (!across_layers || files.iter().any(|f| layer(f) != first))
        })
        .map(|(name, files)| format!("{name}: {}", files.join(", ")))
        .collect()
}

/// A reader meets one `Request`, one `Error`, one `NewOrder`: no two public types share a
/// name, whether in different layers or (like two `ChangeError`s of `workflow/`) in one.
#[test]
fn public_type_names_are_unique() {
    let shared = shared_names(&sources(), false);
    assert!(shared.is_empty(), "{}", shared.join("\n"));
    let planted = [
        (
            "src/store/a.rs".to_string(),
            "pub struct Order {}".to_string(),
        ),
        (
            "src/integrations/b.rs".to_string(),
            "pub(crate) x; pub enum Order { A }".to_string(),
        ),
        (
            "src/store/c.rs".to_string(),
            "pub struct Counts;".to_string(),
        ),
        (
            "src/store/d.rs".to_string(),
            "pub struct Counts;".to_string(),
        ),
    ];
    assert_eq!(
        shared_names(&planted, true),
        vec!["Order: src/store/a.rs, src/integrations/b.rs".to_string()]
    );
    assert_eq!(shared_names(&planted, false).len(), 2);
}

/// Paths name where they go: no `super::super::` climbing.
#[test]
fn no_climbing_with_super_super() {
    let climbing = |code: &str| {
        code.lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .any(|l| l.contains("super::super::"))
    };
    let found: Vec<String> = sources()
        .into_iter()
        .filter(|(_, code)| climbing(code))
        .map(|(file, _)| file)
        .collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert!(climbing("use super::super::wire::int;"));
}

/// The words of every stored status, from the enums themselves.
fn status_words() -> Vec<&'static str> {
    use didport::domain::{BillingStep, InvoiceStatus, NumberStatus, OutboxStatus, PaymentStatus};
    let mut w: Vec<&'static str> = PaymentStatus::ALL.iter().map(|s| s.as_str()).collect();
    w.extend(NumberStatus::ALL.iter().map(|s| s.as_str()));
    w.extend(InvoiceStatus::ALL.iter().map(|s| s.as_str()));
    w.extend(OutboxStatus::ALL.iter().map(|s| s.as_str()));
    w.extend(BillingStep::ALL.iter().map(|s| s.as_str()));
    w.sort();
    w.dedup();
    w
}

/// Literals that spell a status word but are not a status, with the reason.
const NOT_A_STATUS: [(&str, &str); 9] = [
    // The plan form's "offered to customers" checkbox.
    ("src/pages/admin_plans.rs", "active"),
    // What a PayPal webhook did, recorded in `webhook_events.outcome`.
    ("src/workflow/payments.rs", "paid"),
    ("src/workflow/payments.rs", "refunded"),
    // Verbs of the audit page's sentences ("ops@… refunded order 12").
    ("src/pages/admin_audit.rs", "refunded"),
    ("src/pages/admin_audit.rs", "suspended"),
    ("src/pages/admin_audit.rs", "cancelled"),
    // Prose of the refund confirmation.
    ("src/pages/admin_refunds.rs", "refunded"),
    ("src/pages/admin_refunds.rs", "cancelled"),
    // A label value of the renewals gauge (docs/contract.md, metrics).
    ("src/metrics.rs", "overdue"),
];

/// Where production code outside the enums' own layer (`domain/`) and the row mapping
/// (`store/`) spells a status word as a string literal. The outside systems' own words
/// (`integrations/`, `sim/`) and HTML ids and field names are not statuses.
fn status_literals(file: &str, code: &str, words: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for w in words {
        let quoted = format!("\"{w}\"");
        for (at, _) in code.match_indices(&quoted) {
            let before = code[..at].trim_end();
            if before.ends_with("id=") || before.ends_with("name=") {
                continue;
            }
            if NOT_A_STATUS.contains(&(file, w)) {
                continue;
            }
            let line = code[..at].lines().count().max(1);
            out.push(format!("{file}:{line}: {quoted}"));
        }
    }
    out
}

#[test]
fn statuses_are_enums_outside_the_store() {
    let words = status_words();
    assert!(words.contains(&"awaiting_payment") && words.contains(&"queued"));
    let mut found = Vec::new();
    for (file, code) in sources() {
        if ["src/store/", "src/domain/", "src/integrations/", "src/sim/"]
            .iter()
            .any(|p| file.starts_with(p))
        {
            continue;
        }
        let Some(prod) = production(&file, &code) else {
            continue;
        };
        found.extend(status_literals(&file, &prod, &words));
    }
    assert!(
        found.is_empty(),
        "status words as literals:\n{}",
        found.join("\n")
    );
    // A planted one is seen; an HTML id is not a status.
    assert_eq!(
        status_literals("src/pages/x.rs", r#"if o.status == "paid" {}"#, &words).len(),
        1
    );
    assert!(status_literals("src/pages/x.rs", r#"div id="paid" {}"#, &words).is_empty());
}
