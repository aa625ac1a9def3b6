//! Checks a person would care about, run from npm packages kept in a cache folder:
//! accessibility with **axe-core** (injected into the page through WebDriver, so it works under
//! `Content-Security-Policy: default-src 'self'`) and HTML validity with the **Nu HTML Checker**
//! (`vnu-jar`, run with `java -jar`).
//!
//! The cache folder is `DIDPORT_TEST_NODE_TOOLS`, or `target/browser-tools` under the package
//! being tested; a missing package is installed there with
//! `npm install --prefix <dir> --save-exact --ignore-scripts` on first use.
//! `DIDPORT_TEST_AXE_JS` and `DIDPORT_TEST_VNU_JAR` point straight at the files instead.
//!
//! Plain module, no `crate::` paths: copy it beside `browser.rs` (it uses `super::browser`).

// A test-support module: not every test binary uses every helper.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use serde_json::{Value, json};

use super::browser::{Browser, Error, Result};

/// The pinned packages (`npm install` takes any spec; change both here and in CI together).
pub const AXE_PACKAGE: &str = "axe-core@4.14.1";
pub const VNU_PACKAGE: &str = "vnu-jar@26.9.27";

/// How long `npm install` may take.
const NPM_TIMEOUT: Duration = Duration::from_secs(300);
/// How long one `java -jar vnu.jar` run may take.
const VNU_TIMEOUT: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------------------------
// The npm cache folder

/// An npm prefix folder holding `node_modules/`.
#[derive(Clone, Debug)]
pub struct NodeTools {
    dir: PathBuf,
}

impl NodeTools {
    /// `DIDPORT_TEST_NODE_TOOLS`, or `target/browser-tools` under the package being tested.
    pub fn from_env() -> NodeTools {
        match std::env::var_os("DIDPORT_TEST_NODE_TOOLS") {
            Some(d) => NodeTools::at(PathBuf::from(d)),
            None => {
                NodeTools::at(Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-tools"))
            }
        }
    }

    pub fn at(dir: impl Into<PathBuf>) -> NodeTools {
        NodeTools { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `node_modules/<file>` in the folder, running `npm install <spec>` first when it is
    /// missing. Concurrent callers (threads or processes) take turns through a lock file.
    pub fn ensure(&self, spec: &str, file: &str) -> Result<PathBuf> {
        let path = self.dir.join("node_modules").join(file);
        // npm writes files in place: one that exists while an install runs may be half done.
        if path.is_file() && !self.dir.join(LOCK_FILE).exists() {
            return Ok(path);
        }
        fs::create_dir_all(&self.dir)
            .map_err(|e| Error::msg(format!("creating {}: {e}", self.dir.display())))?;
        let _lock = InstallLock::take(&self.dir)?;
        if path.is_file() {
            return Ok(path); // someone else installed it while we waited
        }
        self.npm_install(spec)?;
        if path.is_file() {
            Ok(path)
        } else {
            Err(Error::msg(format!(
                "npm installed {spec} into {} but {} is not there",
                self.dir.display(),
                path.display()
            )))
        }
    }

    fn npm_install(&self, spec: &str) -> Result<()> {
        let log = self.dir.join("npm-install.log");
        let out = fs::File::create(&log)?;
        let err = out.try_clone()?;
        let mut child = Command::new("npm")
            .args(["install", "--prefix"])
            .arg(&self.dir)
            .args([
                "--save-exact",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                spec,
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                Error::msg(format!(
                    "cannot run npm to install {spec}: {e} (Debian: apt-get install nodejs npm; or \
                     pre-install with `npm install --prefix {} --save-exact --ignore-scripts \
                     {spec}`)",
                    self.dir.display()
                ))
            })?;
        let status = wait_bounded(&mut child, NPM_TIMEOUT, "npm install")?;
        if status {
            return Ok(());
        }
        let text = fs::read_to_string(&log).unwrap_or_default();
        Err(Error::msg(format!(
            "`npm install --prefix {} --save-exact --ignore-scripts {spec}` failed:\n{}",
            self.dir.display(),
            tail(&text, 2000)
        )))
    }
}

const LOCK_FILE: &str = ".install.lock";

/// A lock file beside `node_modules`; removed on drop. A lock older than 10 minutes is stale.
struct InstallLock {
    path: PathBuf,
}

impl InstallLock {
    fn take(dir: &Path) -> Result<InstallLock> {
        let path = dir.join(LOCK_FILE);
        let deadline = Instant::now() + NPM_TIMEOUT + Duration::from_secs(30);
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(InstallLock { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::msg(format!("creating {}: {e}", path.display()))),
            }
            let stale = fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > Duration::from_secs(600));
            if stale {
                let _ = fs::remove_file(&path);
                continue;
            }
            if Instant::now() >= deadline {
                return Err(Error::msg(format!(
                    "waited for another npm install to finish, but {} is still there",
                    path.display()
                )));
            }
            thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Waits for `child` at most `timeout`, killing it then. `Ok(true)` when it exited with 0.
fn wait_bounded(child: &mut Child, timeout: Duration, what: &str) -> Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.success());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::msg(format!(
                "{what} did not finish within {timeout:?}"
            )));
        }
        thread::sleep(Duration::from_millis(25));
    }
}

fn tail(text: &str, max: usize) -> &str {
    let text = text.trim_end();
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

// ---------------------------------------------------------------------------------------------
// axe-core

/// How bad axe says a violation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    Minor,
    Moderate,
    Serious,
    Critical,
}

impl Impact {
    fn parse(s: &str) -> Option<Impact> {
        match s {
            "minor" => Some(Impact::Minor),
            "moderate" => Some(Impact::Moderate),
            "serious" => Some(Impact::Serious),
            "critical" => Some(Impact::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Impact::Minor => "minor",
            Impact::Moderate => "moderate",
            Impact::Serious => "serious",
            Impact::Critical => "critical",
        }
    }
}

/// One failed axe rule and the elements it failed on.
#[derive(Clone, Debug)]
pub struct Violation {
    /// The rule, e.g. `label`, `color-contrast`.
    pub id: String,
    /// `None` only if axe sent an impact this code does not know.
    pub impact: Option<Impact>,
    pub help: String,
    pub help_url: String,
    pub description: String,
    pub nodes: Vec<ViolationNode>,
}

#[derive(Clone, Debug)]
pub struct ViolationNode {
    /// CSS selectors for the element (frames / shadow roots joined with ` >>> `).
    pub targets: Vec<String>,
    pub html: String,
    pub failure_summary: String,
}

impl Violation {
    /// Serious or critical.
    pub fn is_serious(&self) -> bool {
        self.impact.is_some_and(|i| i >= Impact::Serious)
    }
}

#[derive(Deserialize)]
struct RawViolation {
    id: String,
    impact: Option<String>,
    help: String,
    #[serde(rename = "helpUrl")]
    help_url: String,
    description: String,
    nodes: Vec<RawNode>,
}

#[derive(Deserialize)]
struct RawNode {
    targets: Vec<String>,
    html: String,
    #[serde(rename = "failureSummary")]
    failure_summary: String,
}

/// Which rules run and where.
#[derive(Clone, Debug, Default)]
pub struct AxeOptions {
    /// Only rules with these tags (e.g. `wcag2a`, `wcag2aa`, `wcag21aa`, `best-practice`);
    /// empty runs axe's default set.
    pub tags: Vec<String>,
    /// Rule ids to switch off, e.g. `color-contrast`.
    pub disable_rules: Vec<String>,
    /// CSS selectors to check instead of the whole document.
    pub include: Vec<String>,
    /// CSS selectors to leave out.
    pub exclude: Vec<String>,
}

/// axe-core's source, ready to inject into pages.
pub struct Axe {
    source: String,
    path: PathBuf,
    /// The bound for one `axe.run`.
    pub timeout: Duration,
}

const AXE_RUN_SCRIPT: &str = r#"
var options = arguments[0], context = arguments[1], done = arguments[arguments.length - 1];
try {
  axe.run(context || document, options).then(function (r) {
    done({ ok: r.violations.map(function (v) {
      return { id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
               description: v.description,
               nodes: v.nodes.map(function (n) {
                 return { targets: n.target.map(function (t) {
                            return Array.isArray(t) ? t.join(' >>> ') : String(t); }),
                          html: n.html || '', failureSummary: n.failureSummary || '' };
               }) };
    }) });
  }, function (e) { done({ err: String((e && e.stack) || e) }); });
} catch (e) { done({ err: String((e && e.stack) || e) }); }
"#;

impl Axe {
    /// `DIDPORT_TEST_AXE_JS`, else `axe.min.js` from [`NodeTools::from_env`], installing
    /// [`AXE_PACKAGE`] when missing.
    pub fn load() -> Result<Axe> {
        match std::env::var_os("DIDPORT_TEST_AXE_JS") {
            Some(p) => Axe::from_file(Path::new(&p)),
            None => {
                let path = NodeTools::from_env().ensure(AXE_PACKAGE, "axe-core/axe.min.js")?;
                Axe::from_file(&path)
            }
        }
    }

    pub fn from_file(path: &Path) -> Result<Axe> {
        let source = fs::read_to_string(path)
            .map_err(|e| Error::msg(format!("reading axe-core from {}: {e}", path.display())))?;
        Ok(Axe {
            source,
            path: path.to_path_buf(),
            timeout: Duration::from_secs(60),
        })
    }

    /// Puts `window.axe` into the current page (if not already there) by running the source
    /// through WebDriver's execute, which a strict CSP does not block. Returns axe's version.
    pub fn inject(&self, b: &Browser) -> Result<String> {
        let have = b.execute(
            "return window.axe ? String(window.axe.version) : null;",
            &[],
        )?;
        if let Some(v) = have.as_str() {
            return Ok(v.to_string());
        }
        let script = format!(
            "{}\n;return window.axe ? String(window.axe.version) : null;",
            self.source
        );
        let v = b.execute(&script, &[]).map_err(|e| {
            e.context(format!(
                "injecting {} into {}",
                self.path.display(),
                b.location()
            ))
        })?;
        match v.as_str() {
            Some(version) => Ok(version.to_string()),
            None => Err(Error::msg(format!(
                "ran {} in {} but window.axe is not defined",
                self.path.display(),
                b.location()
            ))),
        }
    }

    /// Runs axe's default rules on the current page; returns every violation.
    pub fn run(&self, b: &Browser) -> Result<Vec<Violation>> {
        self.run_with(b, &AxeOptions::default())
    }

    pub fn run_with(&self, b: &Browser, opts: &AxeOptions) -> Result<Vec<Violation>> {
        self.inject(b)?;
        let mut options = json!({ "resultTypes": ["violations"] });
        if !opts.tags.is_empty() {
            options["runOnly"] = json!({ "type": "tag", "values": opts.tags });
        }
        if !opts.disable_rules.is_empty() {
            let rules: serde_json::Map<String, Value> = opts
                .disable_rules
                .iter()
                .map(|r| (r.clone(), json!({ "enabled": false })))
                .collect();
            options["rules"] = Value::Object(rules);
        }
        let context = if opts.include.is_empty() && opts.exclude.is_empty() {
            Value::Null
        } else {
            let mut c = json!({ "exclude": opts.exclude });
            if !opts.include.is_empty() {
                c["include"] = json!(opts.include);
            }
            c
        };
        b.set_script_timeout(self.timeout)?;
        let answer = b.execute_async(AXE_RUN_SCRIPT, &[options, context]);
        b.set_script_timeout(b.timeout())?;
        let answer = answer.map_err(|e| e.context(format!("running axe on {}", b.location())))?;
        if let Some(err) = answer["err"].as_str() {
            return Err(Error::msg(format!(
                "axe.run failed on {}: {err}",
                b.location()
            )));
        }
        let raw: Vec<RawViolation> = serde_json::from_value(answer["ok"].clone())
            .map_err(|e| Error::msg(format!("reading axe's answer: {e}")))?;
        Ok(raw
            .into_iter()
            .map(|r| Violation {
                id: r.id,
                impact: r.impact.as_deref().and_then(Impact::parse),
                help: r.help,
                help_url: r.help_url,
                description: r.description,
                nodes: r
                    .nodes
                    .into_iter()
                    .map(|n| ViolationNode {
                        targets: n.targets,
                        html: n.html,
                        failure_summary: n.failure_summary,
                    })
                    .collect(),
            })
            .collect())
    }

    /// `Err` with a readable report when the current page has any serious or critical
    /// violation; otherwise `Ok` with the lesser ones (to log, or to check more strictly).
    pub fn check(&self, b: &Browser) -> Result<Vec<Violation>> {
        self.check_with(b, &AxeOptions::default())
    }

    pub fn check_with(&self, b: &Browser, opts: &AxeOptions) -> Result<Vec<Violation>> {
        let all = self.run_with(b, opts)?;
        if all.iter().any(Violation::is_serious) {
            return Err(Error::msg(axe_report(&b.location(), &all)));
        }
        Ok(all)
    }
}

/// A report of violations, worst first, for a person to read.
pub fn axe_report(location: &str, violations: &[Violation]) -> String {
    let mut sorted: Vec<&Violation> = violations.iter().collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(v.impact));
    let serious = sorted.iter().filter(|v| v.is_serious()).count();
    let mut out = format!(
        "axe found {} violation(s) on {location}, {serious} serious or critical:",
        violations.len()
    );
    for v in sorted {
        let impact = v.impact.map_or("unknown", Impact::as_str);
        let _ = write!(out, "\n- [{impact}] {}: {} ({})", v.id, v.help, v.help_url);
        for n in &v.nodes {
            let _ = write!(out, "\n    at {}", n.targets.join(", "));
            let _ = write!(out, "\n       {}", one_line(&n.html, 160));
            for line in n.failure_summary.lines() {
                let _ = write!(out, "\n       {}", line.trim());
            }
        }
    }
    out
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

// ---------------------------------------------------------------------------------------------
// Nu HTML Checker

/// One message from the checker. Lines and columns count from 1.
#[derive(Clone, Debug)]
pub struct VnuMessage {
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
    /// A snippet of the source around the problem.
    pub extract: Option<String>,
}

/// What the checker said about one document.
#[derive(Clone, Debug, Default)]
pub struct VnuReport {
    /// `type: "error"`: the document is invalid.
    pub errors: Vec<VnuMessage>,
    /// `type: "info", subType: "warning"`.
    pub warnings: Vec<VnuMessage>,
    /// Other `type: "info"` messages.
    pub infos: Vec<VnuMessage>,
}

impl VnuReport {
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors, each with its source line from `html`.
    pub fn errors_report(&self, name: &str, html: &str) -> String {
        let lines: Vec<&str> = html.lines().collect();
        let mut out = format!("{name}: {} HTML error(s):", self.errors.len());
        for m in &self.errors {
            let line = m.line.map_or("?".to_string(), |l| l.to_string());
            let col = m.column.map_or("?".to_string(), |c| c.to_string());
            let _ = write!(out, "\n- line {line}, column {col}: {}", m.message);
            if let Some(src) = m.line.and_then(|l| lines.get((l as usize).wrapping_sub(1))) {
                let _ = write!(out, "\n    {}", one_line(src, 160));
            }
        }
        out
    }
}

#[derive(Deserialize)]
struct RawVnu {
    messages: Vec<RawVnuMessage>,
}

#[derive(Deserialize)]
struct RawVnuMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "subType")]
    sub_type: Option<String>,
    url: Option<String>,
    #[serde(rename = "firstLine")]
    first_line: Option<u32>,
    #[serde(rename = "lastLine")]
    last_line: Option<u32>,
    #[serde(rename = "firstColumn")]
    first_column: Option<u32>,
    #[serde(rename = "lastColumn")]
    last_column: Option<u32>,
    #[serde(default)]
    message: String,
    extract: Option<String>,
}

/// The Nu HTML Checker, run as `java -jar vnu.jar --format json --stdout <files>`.
pub struct Vnu {
    pub java: PathBuf,
    pub jar: PathBuf,
    /// JVM options. The default `-Xss4m -XX:TieredStopAtLevel=1` starts in ~1.5 s instead of
    /// ~2.6 s; the checker needs the bigger stack with the quicker compiler.
    pub java_args: Vec<String>,
    /// Checker options passed before the files, e.g. `--filterpattern`, `--also-check-css`.
    pub extra_args: Vec<String>,
}

impl Vnu {
    /// `DIDPORT_TEST_VNU_JAR`, else `vnu.jar` from [`NodeTools::from_env`], installing
    /// [`VNU_PACKAGE`] when missing. Java is `DIDPORT_TEST_JAVA` or `java` on the `PATH`.
    pub fn load() -> Result<Vnu> {
        let jar = match std::env::var_os("DIDPORT_TEST_VNU_JAR") {
            Some(p) => PathBuf::from(p),
            None => NodeTools::from_env().ensure(VNU_PACKAGE, "vnu-jar/build/dist/vnu.jar")?,
        };
        Ok(Vnu::from_jar(jar))
    }

    pub fn from_jar(jar: impl Into<PathBuf>) -> Vnu {
        let java = std::env::var_os("DIDPORT_TEST_JAVA")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("java"));
        Vnu {
            java,
            jar: jar.into(),
            java_args: vec!["-Xss4m".into(), "-XX:TieredStopAtLevel=1".into()],
            extra_args: Vec::new(),
        }
    }

    /// Validates one HTML document.
    pub fn validate(&self, html: &str) -> Result<VnuReport> {
        let mut all = self.validate_many(&[("document", html)])?;
        Ok(all.pop().map(|(_, r)| r).unwrap_or_default())
    }

    /// Validates several documents in one Java run (a run costs ~2–3 s of start-up).
    /// Returns `(name, report)` in the order given.
    pub fn validate_many(&self, docs: &[(&str, &str)]) -> Result<Vec<(String, VnuReport)>> {
        let dir = tempfile::Builder::new().prefix("didport-vnu-").tempdir()?;
        let mut files = Vec::new();
        for (i, (_, html)) in docs.iter().enumerate() {
            let f = dir.path().join(format!("doc{i}.html"));
            fs::write(&f, html)?;
            files.push(f);
        }
        let out_path = dir.path().join("out.json");
        let err_path = dir.path().join("err.txt");
        let mut child = Command::new(&self.java)
            .args(&self.java_args)
            .arg("-jar")
            .arg(&self.jar)
            .args(["--format", "json", "--stdout", "--exit-zero-always"])
            .args(&self.extra_args)
            .args(&files)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out_path)?)
            .stderr(fs::File::create(&err_path)?)
            .spawn()
            .map_err(|e| {
                Error::msg(format!(
                    "cannot run {}: {e} (Debian: apt-get install default-jre-headless)",
                    self.java.display()
                ))
            })?;
        let ok = wait_bounded(&mut child, VNU_TIMEOUT, "the Nu HTML Checker")?;
        let out = fs::read_to_string(&out_path).unwrap_or_default();
        let err = fs::read_to_string(&err_path).unwrap_or_default();
        let parsed: RawVnu = match serde_json::from_str(&out) {
            Ok(p) if ok => p,
            _ => {
                return Err(Error::msg(format!(
                    "{} -jar {} did not give a JSON report (is the jar complete?):\n{}\n{}",
                    self.java.display(),
                    self.jar.display(),
                    tail(&out, 1000),
                    tail(&err, 2000)
                )));
            }
        };
        let mut reports: Vec<(String, VnuReport)> = docs
            .iter()
            .map(|(name, _)| (name.to_string(), VnuReport::default()))
            .collect();
        for m in parsed.messages {
            if m.kind == "non-document-error" {
                return Err(Error::msg(format!(
                    "the Nu HTML Checker could not check {}: {}",
                    m.url.as_deref().unwrap_or("a document"),
                    m.message
                )));
            }
            // Which document: the file name is `doc<i>.html`.
            let index = m
                .url
                .as_deref()
                .and_then(|u| u.rsplit('/').next())
                .and_then(|f| f.strip_prefix("doc"))
                .and_then(|f| f.strip_suffix(".html"))
                .and_then(|i| i.parse::<usize>().ok())
                .unwrap_or(0);
            let Some((_, report)) = reports.get_mut(index) else {
                continue;
            };
            let msg = VnuMessage {
                line: m.first_line.or(m.last_line),
                column: m.first_column.or(m.last_column),
                message: m.message,
                extract: m.extract,
            };
            match (m.kind.as_str(), m.sub_type.as_deref()) {
                ("error", _) => report.errors.push(msg),
                ("info", Some("warning")) => report.warnings.push(msg),
                _ => report.infos.push(msg),
            }
        }
        Ok(reports)
    }

    /// `Err` listing every error (with its source line) when `html` is invalid; otherwise the
    /// report, whose warnings the caller may look at.
    pub fn check(&self, name: &str, html: &str) -> Result<VnuReport> {
        let report = self.validate(html)?;
        if report.is_valid() {
            Ok(report)
        } else {
            Err(Error::msg(report.errors_report(name, html)))
        }
    }

    /// [`Vnu::check`] for several documents in one Java run; the error lists every invalid one.
    pub fn check_many(&self, docs: &[(&str, &str)]) -> Result<Vec<(String, VnuReport)>> {
        let reports = self.validate_many(docs)?;
        let bad: Vec<String> = reports
            .iter()
            .zip(docs)
            .filter(|((_, r), _)| !r.is_valid())
            .map(|((name, r), (_, html))| r.errors_report(name, html))
            .collect();
        if bad.is_empty() {
            Ok(reports)
        } else {
            Err(Error::msg(bad.join("\n")))
        }
    }
}
