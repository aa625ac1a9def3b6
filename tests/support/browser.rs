//! A small synchronous W3C WebDriver client for real-browser end-to-end tests.
//!
//! [`Browser::start`] runs `chromedriver --port=<free port>` as a child process, waits for its
//! `/status`, and opens one headless Chromium session with a fresh profile. Everything is blocking
//! (ureq) and every wait is bounded ([`DEFAULT_TIMEOUT`] unless said otherwise). Errors carry the
//! CSS selector and the page URL; [`Browser::save_debug`] writes a screenshot and the page source.
//!
//! Cleanup does not depend on `Drop` running: chromedriver runs in its own process group and a
//! tiny `sh` reaper waits on a pipe that only this process holds. When the `Browser` is dropped,
//! or the test process ends in any way (even a static that is never dropped, a panic or a kill),
//! the pipe closes and the reaper kills the whole group (chromedriver and every Chromium process)
//! and removes the temporary profile.
//!
//! Plain module, no `crate::` paths: copy it into a test tree as `support/browser.rs`.

// A test-support module: not every test binary uses every helper.
#![allow(dead_code)]

use std::fmt;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any single wait lasts unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The flags Chromium needs on this kind of machine (root, no network, no GPU, no display).
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--force-device-scale-factor=1",
    "--lang=en-US",
];

/// The window size a new session starts with.
pub const DEFAULT_WINDOW: (u32, u32) = (1280, 900);

/// The W3C key for an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Largest WebDriver answer read (screenshots and page sources can be big).
const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// Key codes for [`Browser::press_keys`] and [`Element::send_keys`].
pub mod keys {
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const SHIFT: &str = "\u{E008}";
    pub const BACKSPACE: &str = "\u{E003}";
    pub const SPACE: &str = "\u{E00D}";
    pub const ARROW_DOWN: &str = "\u{E015}";
    pub const ARROW_UP: &str = "\u{E013}";
}

// ---------------------------------------------------------------------------------------------
// Errors

/// What went wrong, in words a test author can act on. `Debug` prints the plain message, so a
/// test returning `Result<(), Error>` shows a readable multi-line report.
pub struct Error {
    code: Option<String>,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn msg(message: impl Into<String>) -> Error {
        Error {
            code: None,
            message: message.into(),
        }
    }

    fn webdriver(code: &str, message: &str) -> Error {
        let message = if message.is_empty() {
            code.to_string()
        } else {
            format!("{code}: {message}")
        };
        Error {
            code: Some(code.to_string()),
            message,
        }
    }

    /// The W3C error code (`"no such element"`, `"stale element reference"`, …) when the error
    /// came from the WebDriver server.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub fn is_no_such_element(&self) -> bool {
        self.code() == Some("no such element")
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Puts what was being done in front of the message.
    pub fn context(self, what: impl fmt::Display) -> Error {
        Error {
            code: self.code,
            message: format!("{what}: {}", self.message),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::msg(format!("I/O error: {e}"))
    }
}

impl From<ureq::Error> for Error {
    fn from(e: ureq::Error) -> Error {
        Error::msg(format!("HTTP error talking to chromedriver: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::msg(format!("JSON error: {e}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration

/// Where the programs are and how the session starts. [`Config::from_env`] reads
/// `DIDPORT_TEST_CHROMEDRIVER` and `DIDPORT_TEST_CHROMIUM`.
#[derive(Clone, Debug)]
pub struct Config {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
    /// Chromium flags; `--user-data-dir` and `--window-size` are added by [`Browser::start`].
    pub args: Vec<String>,
    pub window: (u32, u32),
    /// The bound for page loads, scripts and every wait that is not given its own.
    pub timeout: Duration,
    /// Where the session's temporary folder (profile, chromedriver.log) is made.
    pub temp_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            chromedriver: PathBuf::from("/usr/bin/chromedriver"),
            chromium: PathBuf::from("/usr/bin/chromium"),
            args: CHROMIUM_ARGS.iter().map(|s| s.to_string()).collect(),
            window: DEFAULT_WINDOW,
            timeout: DEFAULT_TIMEOUT,
            temp_dir: std::env::temp_dir(),
        }
    }
}

impl Config {
    pub fn from_env() -> Config {
        let mut c = Config::default();
        if let Some(p) = std::env::var_os("DIDPORT_TEST_CHROMEDRIVER") {
            c.chromedriver = PathBuf::from(p);
        }
        if let Some(p) = std::env::var_os("DIDPORT_TEST_CHROMIUM") {
            c.chromium = PathBuf::from(p);
        }
        c
    }
}

/// Where [`Browser::save_debug`] writes by default: `DIDPORT_TEST_DEBUG_DIR`, or
/// `target/browser-debug` under the package being tested.
pub fn default_debug_dir() -> PathBuf {
    match std::env::var_os("DIDPORT_TEST_DEBUG_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-debug"),
    }
}

// ---------------------------------------------------------------------------------------------
// The chromedriver process and its reaper

/// chromedriver in its own process group, plus the `sh` that kills that group and removes the
/// work folder once its stdin (a pipe only we hold) closes.
struct Driver {
    child: Child,
    reaper: Child,
    reaper_pipe: Option<ChildStdin>,
    log: PathBuf,
    work: PathBuf,
}

const REAPER_SCRIPT: &str = r#"
trap '' INT HUP
G=$1 D=$2
# True while a process of group G is alive. Zombies do not count: on machines whose PID 1
# reaps orphans slowly, Chromium's exited children linger as zombies for seconds.
live() {
  for f in /proc/[0-9]*/stat; do
    read -r l < "$f" 2>/dev/null || continue
    set -- ${l##*") "}
    [ "$3" = "$G" ] && [ "$1" != Z ] && return 0
  done
  return 1
}
read -r _ignored
kill -TERM -"$G" 2>/dev/null
i=0
while live && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i+1)); done
kill -KILL -"$G" 2>/dev/null
rm -rf "$D"
"#;

impl Driver {
    fn spawn(chromedriver: &Path, port: u16, work: &Path) -> Result<Driver> {
        let log = work.join("chromedriver.log");
        let spawned = fs::File::create(&log)
            .and_then(|out| Ok((out.try_clone()?, out)))
            .and_then(|(out, err)| {
                Command::new(chromedriver)
                    .arg(format!("--port={port}"))
                    .stdin(Stdio::null())
                    .stdout(out)
                    .stderr(err)
                    .process_group(0)
                    .spawn()
            });
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                return Err(Error::msg(format!(
                    "cannot start {}: {e} (Debian: apt-get install chromium chromium-driver)",
                    chromedriver.display()
                )));
            }
        };
        let reaper = Command::new("/bin/sh")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .arg("-c")
            .arg(REAPER_SCRIPT)
            .arg("didport-browser-reaper")
            .arg(child.id().to_string())
            .arg(work)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut reaper = match reaper {
            Ok(r) => r,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::msg(format!("cannot start /bin/sh as reaper: {e}")));
            }
        };
        let reaper_pipe = reaper.stdin.take();
        Ok(Driver {
            child,
            reaper,
            reaper_pipe,
            log,
            work: work.to_path_buf(),
        })
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }

    /// The end of chromedriver's log, for error messages.
    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(&self.log) {
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            let _ = f.seek(SeekFrom::Start(len.saturating_sub(4000)));
            let _ = f.read_to_string(&mut text);
        }
        if text.trim().is_empty() {
            "(chromedriver log is empty)".to_string()
        } else {
            format!("chromedriver log ends with:\n{}", text.trim_end())
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Closing the pipe tells the reaper to kill the group and remove the work folder.
        drop(self.reaper_pipe.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let _ = self.child.try_wait(); // reap chromedriver so the group can empty
            match self.reaper.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.reaper.kill();
                    let _ = self.reaper.wait();
                    break;
                }
                Ok(None) => thread::sleep(Duration::from_millis(20)),
            }
        }
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Why a start attempt failed: worth another try (port race) or not.
enum Start {
    Retry(Error),
    Fail(Error),
}

impl From<Error> for Start {
    fn from(e: Error) -> Start {
        Start::Fail(e)
    }
}

impl From<std::io::Error> for Start {
    fn from(e: std::io::Error) -> Start {
        Start::Fail(e.into())
    }
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

// ---------------------------------------------------------------------------------------------
// The browser

/// One Chromium session driven over WebDriver. Methods take `&self`; elements borrow the browser.
pub struct Browser {
    agent: ureq::Agent,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    timeout: Duration,
    window: (u32, u32),
    emulating: AtomicBool,
    // Dropped after `Drop::drop` has ended the session.
    driver: Driver,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with [`Config::from_env`].
    pub fn start() -> Result<Browser> {
        Browser::start_with(Config::from_env())
    }

    pub fn start_with(config: Config) -> Result<Browser> {
        // The free port can be taken between our probe and chromedriver's bind: try again then.
        let mut attempt = 1;
        loop {
            match Browser::try_start(&config) {
                Ok(b) => return Ok(b),
                Err(Start::Retry(_)) if attempt < 3 => attempt += 1,
                Err(Start::Retry(e) | Start::Fail(e)) => return Err(e),
            }
        }
    }

    fn try_start(config: &Config) -> Result<Browser, Start> {
        let work = tempfile::Builder::new()
            .prefix("didport-browser-")
            .tempdir_in(&config.temp_dir)?;
        let profile = work.path().join("profile");
        fs::create_dir_all(&profile)?;
        let port = free_port()?;
        let mut driver = Driver::spawn(&config.chromedriver, port, work.path())?;
        // From here on the reaper removes the folder, even if this process is killed.
        let _ = work.keep();
        let agent: ureq::Agent = ureq::config::Config::builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(config.timeout + Duration::from_secs(30)))
            .build()
            .new_agent();
        let base = format!("http://127.0.0.1:{port}");

        // Wait for /status to say ready.
        let deadline = Instant::now() + config.timeout;
        loop {
            if let Some(status) = driver.exited() {
                // Most likely the port was taken after we found it free.
                return Err(Start::Retry(Error::msg(format!(
                    "chromedriver exited ({status}) before it was ready\n{}",
                    driver.log_tail()
                ))));
            }
            let ready = request(&agent, "GET", &format!("{base}/status"), None, None)
                .map(|v| v["ready"] == json!(true))
                .unwrap_or(false);
            if ready {
                break;
            }
            if Instant::now() >= deadline {
                return Err(Start::Fail(Error::msg(format!(
                    "chromedriver on port {port} was not ready within {:?}\n{}",
                    config.timeout,
                    driver.log_tail()
                ))));
            }
            thread::sleep(Duration::from_millis(50));
        }

        let mut args = config.args.clone();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!(
            "--window-size={},{}",
            config.window.0, config.window.1
        ));
        let ms = config.timeout.as_millis() as u64;
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "implicit": 0, "pageLoad": ms, "script": ms },
                    "goog:chromeOptions": {
                        "binary": config.chromium.to_string_lossy(),
                        "args": args,
                    }
                }
            }
        });
        let created = request(
            &agent,
            "POST",
            &format!("{base}/session"),
            Some(&caps),
            Some(Duration::from_secs(60)),
        )
        .map_err(|e| {
            e.context(format!(
                "creating a Chromium session ({})",
                config.chromium.display()
            ))
        });
        let created = match created {
            Ok(v) => v,
            Err(e) => {
                return Err(Start::Fail(Error::msg(format!(
                    "{e}\n{}",
                    driver.log_tail()
                ))));
            }
        };
        let Some(id) = created["sessionId"].as_str() else {
            return Err(Start::Fail(Error::msg(format!(
                "chromedriver answered a new session without sessionId: {created}"
            ))));
        };
        Ok(Browser {
            agent,
            session: format!("{base}/session/{id}"),
            timeout: config.timeout,
            window: config.window,
            emulating: AtomicBool::new(false),
            driver,
        })
    }

    /// One browser per test binary, started on first use and shared by its tests one at a time
    /// (the guard is a mutex lock). Each call resets the window size and phone emulation and
    /// shows `about:blank`. The reaper cleans it up when the test process ends.
    pub fn shared() -> Result<MutexGuard<'static, Browser>> {
        static SHARED: OnceLock<Mutex<Browser>> = OnceLock::new();
        static STARTING: Mutex<()> = Mutex::new(());
        if SHARED.get().is_none() {
            let _starting = STARTING.lock().unwrap_or_else(PoisonError::into_inner);
            if SHARED.get().is_none() {
                let b = Browser::start()?;
                let _ = SHARED.set(Mutex::new(b));
            }
        }
        let Some(m) = SHARED.get() else {
            return Err(Error::msg("the shared browser was not stored"));
        };
        // A test that panicked while holding the browser poisons the lock; the next one resets,
        // and starts a new browser if the old one no longer answers (say Chromium crashed).
        let mut b = m.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = b.reset() {
            *b = Browser::start().map_err(|s| {
                Error::msg(format!(
                    "the shared browser failed ({e}) and a new one did not start: {s}"
                ))
            })?;
        }
        Ok(b)
    }

    /// Back to a blank page at the start window size, without phone emulation.
    pub fn reset(&self) -> Result<()> {
        if self.emulating.load(Ordering::SeqCst) {
            self.clear_emulation()?;
        }
        // A leftover alert would block everything else.
        let _ = self.call("POST", "/alert/dismiss", Some(&json!({})));
        self.set_window_size(self.window.0, self.window.1)?;
        self.goto("about:blank")
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// chromedriver's process id, which is also the process group of every Chromium process.
    pub fn driver_pid(&self) -> u32 {
        self.driver.child.id()
    }

    /// The temporary folder with the profile and `chromedriver.log`; removed on cleanup.
    pub fn work_dir(&self) -> &Path {
        &self.driver.work
    }

    // --- raw protocol ------------------------------------------------------------------------

    /// Sends a WebDriver command relative to the session (`/url`, `/element`, …) and returns
    /// its `value`.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        request(
            &self.agent,
            method,
            &format!("{}{path}", self.session),
            body,
            None,
        )
    }

    /// A Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`).
    pub fn cdp(&self, cmd: &str, params: Value) -> Result<Value> {
        self.call(
            "POST",
            "/goog/cdp/execute",
            Some(&json!({ "cmd": cmd, "params": params })),
        )
        .map_err(|e| e.context(format!("CDP {cmd}")))
    }

    // --- navigation --------------------------------------------------------------------------

    /// Loads `url` and waits for the load event (bounded by the page-load timeout).
    /// Fails when Chromium could not reach the server (it shows its own error page then).
    pub fn goto(&self, url: &str) -> Result<()> {
        self.call("POST", "/url", Some(&json!({ "url": url })))
            .map_err(|e| e.context(format!("loading {url}")))?;
        self.check_not_error_page(&format!("loading {url}"))
    }

    /// `Err` when the tab shows Chromium's network error page (connection refused, …).
    pub fn check_not_error_page(&self, what: &str) -> Result<()> {
        let v = self.execute(
            "if (String(document.documentURI).indexOf('chrome-error://') !== 0) return null;\
             var c = document.querySelector('.error-code');\
             return c ? c.textContent.trim() : 'unknown network error';",
            &[],
        )?;
        match v.as_str() {
            None => Ok(()),
            Some(code) => Err(Error {
                code: Some("network error".into()),
                message: format!("{what}: Chromium shows its error page: {code}"),
            }),
        }
    }

    pub fn current_url(&self) -> Result<String> {
        let v = self.call("GET", "/url", None)?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    pub fn title(&self) -> Result<String> {
        let v = self.call("GET", "/title", None)?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    pub fn back(&self) -> Result<()> {
        self.call("POST", "/back", Some(&json!({}))).map(|_| ())
    }

    pub fn refresh(&self) -> Result<()> {
        self.call("POST", "/refresh", Some(&json!({}))).map(|_| ())
    }

    /// The serialized DOM as Chromium sees it now (not the bytes the server sent: validate
    /// those, not this, with the Nu checker).
    pub fn page_source(&self) -> Result<String> {
        let v = self.call("GET", "/source", None)?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// "URL (title "…")", best effort, for error messages.
    pub fn location(&self) -> String {
        let url = self
            .current_url()
            .unwrap_or_else(|e| format!("<unknown URL: {e}>"));
        match self.title() {
            Ok(t) if !t.is_empty() => format!("{url} (title \"{t}\")"),
            _ => url,
        }
    }

    // --- finding elements --------------------------------------------------------------------

    /// The first element matching `css`, now (no waiting: pages are server-rendered).
    pub fn find(&self, css: &str) -> Result<Element<'_>> {
        match self.try_find(css)? {
            Some(e) => Ok(e),
            None => Err(Error {
                code: Some("no such element".into()),
                message: format!("no element matches CSS `{css}` on {}", self.location()),
            }),
        }
    }

    /// `Ok(None)` when nothing matches; `Err` only when asking failed.
    pub fn try_find(&self, css: &str) -> Result<Option<Element<'_>>> {
        let body = json!({ "using": "css selector", "value": css });
        match self.call("POST", "/element", Some(&body)) {
            Ok(v) => Ok(Some(Element::from_value(self, &v, css)?)),
            Err(e) if e.is_no_such_element() => Ok(None),
            Err(e) => Err(e.context(format!("finding `{css}` on {}", self.location()))),
        }
    }

    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>> {
        let body = json!({ "using": "css selector", "value": css });
        let v = self
            .call("POST", "/elements", Some(&body))
            .map_err(|e| e.context(format!("finding all `{css}` on {}", self.location())))?;
        elements_from(self, &v, css)
    }

    /// Polls until an element matches `css`, for at most `timeout`.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element<'_>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.try_find(css)? {
                return Ok(e);
            }
            if Instant::now() >= deadline {
                return Err(Error {
                    code: Some("no such element".into()),
                    message: format!(
                        "waited {timeout:?} but no element matches CSS `{css}` on {}",
                        self.location()
                    ),
                });
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls `check` until it returns true, for at most `timeout`; `what` names the condition.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl FnMut(&Browser) -> Result<bool>,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last_err = None;
        loop {
            match check(self) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => last_err = Some(e),
            }
            if Instant::now() >= deadline {
                let why = last_err
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default();
                return Err(Error::msg(format!(
                    "waited {timeout:?} for {what} on {}{why}",
                    self.location()
                )));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The element that has focus now.
    pub fn active_element(&self) -> Result<Element<'_>> {
        let v = self.call("GET", "/element/active", None)?;
        Element::from_value(self, &v, ":focus")
    }

    /// Clicks the element matching `css` (a submit button) and waits for the next page.
    pub fn submit(&self, button_css: &str) -> Result<()> {
        self.find(button_css)?.click_and_wait_page()
    }

    // --- scripts -----------------------------------------------------------------------------

    /// Runs `script` as a function body (`arguments[i]` are `args`; pass elements with
    /// [`Element::to_arg`]) and returns what it returns. Works under a strict CSP.
    pub fn execute(&self, script: &str, args: &[Value]) -> Result<Value> {
        self.call(
            "POST",
            "/execute/sync",
            Some(&json!({ "script": script, "args": args })),
        )
    }

    /// Like [`Browser::execute`], but the script ends by calling its last argument (the
    /// callback) with the result; bounded by the script timeout.
    pub fn execute_async(&self, script: &str, args: &[Value]) -> Result<Value> {
        self.call(
            "POST",
            "/execute/async",
            Some(&json!({ "script": script, "args": args })),
        )
    }

    /// The bound for [`Browser::execute_async`] (and sync scripts).
    pub fn set_script_timeout(&self, timeout: Duration) -> Result<()> {
        let ms = timeout.as_millis() as u64;
        self.call("POST", "/timeouts", Some(&json!({ "script": ms })))
            .map(|_| ())
    }

    // --- keyboard ----------------------------------------------------------------------------

    /// Presses and releases each key of `keys` in turn (see [`keys`]), on whatever has focus.
    pub fn press_keys(&self, keys: &str) -> Result<()> {
        let mut actions = Vec::new();
        for c in keys.chars() {
            let k = c.to_string();
            actions.push(json!({ "type": "keyDown", "value": k }));
            actions.push(json!({ "type": "keyUp", "value": k }));
        }
        let body = json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] });
        self.call("POST", "/actions", Some(&body))?;
        self.call("DELETE", "/actions", None).map(|_| ())
    }

    /// Presses Tab (from wherever focus is now) until the element matching `css` has focus, at
    /// most `max` times. Returns how many presses it took.
    pub fn tab_to_within(&self, css: &str, max: usize) -> Result<usize> {
        let target = self.find(css)?;
        let mut path = Vec::new();
        for n in 1..=max {
            self.press_keys(keys::TAB)?;
            let v = self.execute(
                "var a = document.activeElement, t = arguments[0];\
                 return [a === t, a ? (a.tagName.toLowerCase() + (a.id ? '#' + a.id : '')) : 'none'];",
                &[target.to_arg()],
            )?;
            if v[0] == json!(true) {
                return Ok(n);
            }
            path.push(v[1].as_str().unwrap_or("?").to_string());
        }
        Err(Error::msg(format!(
            "pressed Tab {max} times but `{css}` never got focus on {}; focus went: {}",
            self.location(),
            path.join(" → ")
        )))
    }

    /// [`Browser::tab_to_within`] with at most 50 presses.
    pub fn tab_to(&self, css: &str) -> Result<usize> {
        self.tab_to_within(css, 50)
    }

    /// Focuses the element matching `css` by keyboard (Tab, falling back to `.focus()` when Tab
    /// does not reach it) and reads its computed focus styles.
    pub fn focus_style(&self, css: &str) -> Result<FocusStyle> {
        const READ: &str = "var s = getComputedStyle(arguments[0]);\
             return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow];";
        let el = self.find(css)?;
        // How it looks without focus, to tell a focus ring from a permanent shadow.
        self.execute(
            "if (document.activeElement) document.activeElement.blur();",
            &[],
        )?;
        let before = self.execute(READ, &[el.to_arg()])?;
        let reached_by_tab = self.tab_to(css).is_ok();
        if !reached_by_tab {
            self.execute("arguments[0].focus();", &[el.to_arg()])?;
        }
        let after = self.execute(READ, &[el.to_arg()])?;
        let s = |v: &Value, i: usize| v[i].as_str().unwrap_or_default().to_string();
        let outline_style = s(&after, 0);
        let outline_width = s(&after, 1);
        let outline_color = s(&after, 2);
        let box_shadow = s(&after, 3);
        let width: f64 = outline_width.trim_end_matches("px").parse().unwrap_or(0.0);
        let transparent = outline_color == "transparent" || outline_color.ends_with(", 0)");
        let outline = outline_style != "none" && width > 0.0 && !transparent;
        let shadow = box_shadow != "none" && box_shadow != s(&before, 3);
        Ok(FocusStyle {
            reached_by_tab,
            outline_style,
            outline_width,
            outline_color,
            box_shadow,
            visible: outline || shadow,
        })
    }

    /// Whether the element matching `css` shows a focus outline or box-shadow when focused.
    pub fn focus_outline_visible(&self, css: &str) -> Result<bool> {
        Ok(self.focus_style(css)?.visible)
    }

    // --- window and layout -------------------------------------------------------------------

    pub fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.call(
            "POST",
            "/window/rect",
            Some(&json!({ "width": width, "height": height })),
        )
        .map(|_| ())
        .map_err(|e| e.context(format!("setting the window to {width}×{height}")))
    }

    /// `(innerWidth, innerHeight)` of the page.
    pub fn viewport_size(&self) -> Result<(u32, u32)> {
        let v = self.execute("return [window.innerWidth, window.innerHeight];", &[])?;
        Ok((
            v[0].as_u64().unwrap_or(0) as u32,
            v[1].as_u64().unwrap_or(0) as u32,
        ))
    }

    /// Emulates a phone screen through DevTools (`mobile: true`, so `<meta name=viewport>` is
    /// honoured as on a real phone). Stays on across navigations until [`clear_emulation`].
    ///
    /// [`clear_emulation`]: Browser::clear_emulation
    pub fn emulate_phone(&self, width: u32, height: u32) -> Result<()> {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 2, "mobile": true }),
        )?;
        self.emulating.store(true, Ordering::SeqCst);
        Ok(())
    }

    pub fn clear_emulation(&self) -> Result<()> {
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}))?;
        self.emulating.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// True when the page scrolls sideways: `documentElement.scrollWidth > clientWidth`.
    pub fn horizontal_overflow(&self) -> Result<bool> {
        let v = self.execute(
            "var d = document.documentElement; return d.scrollWidth > d.clientWidth;",
            &[],
        )?;
        Ok(v == json!(true))
    }

    /// The outermost visible elements that stick out past the right edge of the viewport, as
    /// `tag#id.class (right edge Npx > viewport Npx)`, at most 10.
    pub fn overflowing_elements(&self) -> Result<Vec<String>> {
        let v = self.execute(OVERFLOW_SCRIPT, &[])?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `Err` naming the offending elements when the page scrolls sideways.
    pub fn check_no_horizontal_overflow(&self) -> Result<()> {
        if !self.horizontal_overflow()? {
            return Ok(());
        }
        let (w, h) = self.viewport_size()?;
        let culprits = self.overflowing_elements()?;
        Err(Error::msg(format!(
            "{} scrolls sideways at {w}×{h}; elements past the right edge:\n  {}",
            self.location(),
            if culprits.is_empty() {
                "(none found: look for wide margins or transforms)".to_string()
            } else {
                culprits.join("\n  ")
            }
        )))
    }

    // --- pictures and debugging --------------------------------------------------------------

    /// A PNG of the viewport.
    pub fn screenshot(&self) -> Result<Vec<u8>> {
        let v = self.call("GET", "/screenshot", None)?;
        base64_decode(v.as_str().unwrap_or_default())
    }

    pub fn screenshot_png(&self, path: &Path) -> Result<()> {
        let png = self.screenshot()?;
        fs::write(path, png).map_err(|e| Error::msg(format!("writing {}: {e}", path.display())))
    }

    /// A PNG of the whole page, beyond the viewport (Chromium only).
    pub fn full_page_screenshot(&self) -> Result<Vec<u8>> {
        let v = self.cdp(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        )?;
        base64_decode(v["data"].as_str().unwrap_or_default())
    }

    /// Writes `<dir>/<name>.png` (full page) and `<dir>/<name>.html` (DOM source, with the URL
    /// in a comment on top). Returns both paths.
    pub fn save_debug(&self, dir: &Path, name: &str) -> Result<(PathBuf, PathBuf)> {
        fs::create_dir_all(dir)
            .map_err(|e| Error::msg(format!("creating {}: {e}", dir.display())))?;
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let png = dir.join(format!("{safe}.png"));
        let html = dir.join(format!("{safe}.html"));
        let shot = self.full_page_screenshot().or_else(|_| self.screenshot())?;
        fs::write(&png, shot).map_err(|e| Error::msg(format!("writing {}: {e}", png.display())))?;
        let source = format!(
            "<!-- {} -->\n{}",
            self.location().replace("--", "-\u{2010}"),
            self.page_source()?
        );
        fs::write(&html, source)
            .map_err(|e| Error::msg(format!("writing {}: {e}", html.display())))?;
        Ok((png, html))
    }

    /// Runs `steps`; when they fail (an `Err` or a panic), saves a screenshot and the source as
    /// `name` in [`default_debug_dir`] and says where in the error.
    pub fn debug_on_failure<T>(
        &self,
        name: &str,
        steps: impl FnOnce(&Browser) -> Result<T>,
    ) -> Result<T> {
        let guard = DebugOnPanic {
            browser: self,
            name,
        };
        let out = steps(self);
        std::mem::forget(guard);
        out.map_err(|e| match self.save_debug(&default_debug_dir(), name) {
            Ok((png, html)) => Error {
                code: e.code,
                message: format!(
                    "{}\n(debug: {} and {})",
                    e.message,
                    png.display(),
                    html.display()
                ),
            },
            Err(save) => e.context(format!("(could not save debug files: {save})")),
        })
    }
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Browser({})", self.session)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // End the session politely so Chromium shuts down; the driver's Drop does the rest.
        let _ = request(
            &self.agent,
            "DELETE",
            &self.session,
            None,
            Some(Duration::from_secs(5)),
        );
    }
}

struct DebugOnPanic<'b, 'n> {
    browser: &'b Browser,
    name: &'n str,
}

impl Drop for DebugOnPanic<'_, '_> {
    fn drop(&mut self) {
        if thread::panicking() {
            let dir = default_debug_dir();
            match self.browser.save_debug(&dir, self.name) {
                Ok((png, html)) => {
                    eprintln!("browser debug: {} and {}", png.display(), html.display())
                }
                Err(e) => eprintln!("browser debug: could not save: {e}"),
            }
        }
    }
}

/// What [`Browser::focus_style`] saw.
#[derive(Clone, Debug)]
pub struct FocusStyle {
    /// Tab reached the element (otherwise it was focused with `.focus()`).
    pub reached_by_tab: bool,
    pub outline_style: String,
    pub outline_width: String,
    pub outline_color: String,
    pub box_shadow: String,
    /// An outline, or a box-shadow that differs from the unfocused one.
    pub visible: bool,
}

const OVERFLOW_SCRIPT: &str = r#"
var limit = document.documentElement.clientWidth, out = [];
function describe(e) {
  var d = e.tagName.toLowerCase();
  if (e.id) d += '#' + e.id;
  if (typeof e.className === 'string' && e.className.trim()) d += '.' + e.className.trim().split(/\s+/).join('.');
  return d;
}
var all = document.body ? document.body.getElementsByTagName('*') : [];
for (var i = 0; i < all.length && out.length < 10; i++) {
  var e = all[i], r = e.getBoundingClientRect();
  if (r.width === 0 || r.height === 0 || r.right <= limit + 0.5) continue;
  var p = e.parentElement, nested = false;
  while (p && p !== document.body) {
    var pr = p.getBoundingClientRect();
    if (pr.right > limit + 0.5) { nested = true; break; }
    p = p.parentElement;
  }
  if (!nested) out.push(describe(e) + ' (right edge ' + Math.round(r.right) + 'px > viewport ' + limit + 'px)');
}
return out;
"#;

// ---------------------------------------------------------------------------------------------
// Elements

/// An element on the current page. It goes stale when the page changes.
pub struct Element<'b> {
    browser: &'b Browser,
    id: String,
    css: String,
}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element(`{}`)", self.css)
    }
}

impl<'b> Element<'b> {
    fn from_value(browser: &'b Browser, v: &Value, css: &str) -> Result<Element<'b>> {
        match v[ELEMENT_KEY].as_str() {
            Some(id) => Ok(Element {
                browser,
                id: id.to_string(),
                css: css.to_string(),
            }),
            None => Err(Error::msg(format!(
                "expected an element for `{css}`, got {v}"
            ))),
        }
    }

    /// The selector this element was found by.
    pub fn css(&self) -> &str {
        &self.css
    }

    /// This element as an argument for [`Browser::execute`].
    pub fn to_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    fn call(&self, method: &str, what: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        self.browser
            .call(method, &format!("/element/{}{path}", self.id), body)
            .map_err(|e| {
                e.context(format!(
                    "{what} `{}` on {}",
                    self.css,
                    self.browser.location()
                ))
            })
    }

    pub fn click(&self) -> Result<()> {
        self.call("POST", "clicking", "/click", Some(&json!({})))
            .map(|_| ())
    }

    /// Clicks and waits until a new document has loaded (a link, or a form's submit button,
    /// including POST-redirect-GET).
    pub fn click_and_wait_page(&self) -> Result<()> {
        let b = self.browser;
        b.execute("window.__didportOldPage = true;", &[])?;
        self.click()?;
        b.wait_until(
            &format!("a new page after clicking `{}`", self.css),
            b.timeout,
            |b| {
                let v = b.execute(
                    "return !window.__didportOldPage && document.readyState === 'complete';",
                    &[],
                )?;
                Ok(v == json!(true))
            },
        )?;
        b.check_not_error_page(&format!("clicking `{}`", self.css))
    }

    pub fn clear(&self) -> Result<()> {
        self.call("POST", "clearing", "/clear", Some(&json!({})))
            .map(|_| ())
    }

    /// Types `text` into the element (see [`keys`] for special keys).
    pub fn send_keys(&self, text: &str) -> Result<()> {
        self.call(
            "POST",
            "typing into",
            "/value",
            Some(&json!({ "text": text })),
        )
        .map(|_| ())
    }

    /// Clears the field, then types `text`.
    pub fn fill(&self, text: &str) -> Result<()> {
        self.clear()?;
        self.send_keys(text)
    }

    /// The rendered text (what a person sees).
    pub fn text(&self) -> Result<String> {
        let v = self.call("GET", "reading the text of", "/text", None)?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// An HTML attribute, `None` when absent.
    pub fn attr(&self, name: &str) -> Result<Option<String>> {
        let v = self.call(
            "GET",
            &format!("reading attribute {name} of"),
            &format!("/attribute/{name}"),
            None,
        )?;
        Ok(v.as_str().map(str::to_string))
    }

    /// A DOM property (`value`, `checked`, `validity`…).
    pub fn property(&self, name: &str) -> Result<Value> {
        self.call(
            "GET",
            &format!("reading property {name} of"),
            &format!("/property/{name}"),
            None,
        )
    }

    /// The current `value` property of a form control.
    pub fn value(&self) -> Result<String> {
        Ok(self
            .property("value")?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    pub fn tag_name(&self) -> Result<String> {
        let v = self.call("GET", "reading the tag of", "/name", None)?;
        Ok(v.as_str().unwrap_or_default().to_lowercase())
    }

    pub fn is_displayed(&self) -> Result<bool> {
        let v = self.call("GET", "checking visibility of", "/displayed", None)?;
        Ok(v == json!(true))
    }

    pub fn is_enabled(&self) -> Result<bool> {
        let v = self.call("GET", "checking enabled state of", "/enabled", None)?;
        Ok(v == json!(true))
    }

    pub fn is_selected(&self) -> Result<bool> {
        let v = self.call("GET", "checking selected state of", "/selected", None)?;
        Ok(v == json!(true))
    }

    /// The first descendant matching `css`.
    pub fn find(&self, css: &str) -> Result<Element<'b>> {
        let body = json!({ "using": "css selector", "value": css });
        let full = format!("{} {css}", self.css);
        match self.browser.call(
            "POST",
            &format!("/element/{}/element", self.id),
            Some(&body),
        ) {
            Ok(v) => Element::from_value(self.browser, &v, &full),
            Err(e) if e.is_no_such_element() => Err(Error {
                code: e.code,
                message: format!(
                    "no element matches CSS `{css}` inside `{}` on {}",
                    self.css,
                    self.browser.location()
                ),
            }),
            Err(e) => Err(e.context(format!("finding `{full}`"))),
        }
    }

    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'b>>> {
        let body = json!({ "using": "css selector", "value": css });
        let full = format!("{} {css}", self.css);
        let v = self
            .browser
            .call(
                "POST",
                &format!("/element/{}/elements", self.id),
                Some(&body),
            )
            .map_err(|e| e.context(format!("finding all `{full}`")))?;
        elements_from(self.browser, &v, &full)
    }

    /// Chooses the `<option>` with this `value` in this `<select>` by clicking it.
    pub fn select_option(&self, value: &str) -> Result<()> {
        let opt = self.find(&format!("option[value=\"{}\"]", css_string(value)))?;
        self.choose(opt, value)
    }

    /// Chooses the `<option>` whose visible text is `label` (trimmed) by clicking it.
    pub fn select_option_by_text(&self, label: &str) -> Result<()> {
        for opt in self.find_all("option")? {
            if opt.text()?.trim() == label.trim() {
                return self.choose(opt, label);
            }
        }
        Err(Error::msg(format!(
            "no option with text \"{label}\" in `{}` on {}",
            self.css,
            self.browser.location()
        )))
    }

    fn choose(&self, opt: Element<'b>, what: &str) -> Result<()> {
        opt.click()?;
        if opt.is_selected()? {
            Ok(())
        } else {
            Err(Error::msg(format!(
                "clicked option {what:?} of `{}` on {} but it is not selected (disabled?)",
                self.css,
                self.browser.location()
            )))
        }
    }

    /// A PNG of just this element.
    pub fn screenshot(&self) -> Result<Vec<u8>> {
        let v = self.call("GET", "screenshotting", "/screenshot", None)?;
        base64_decode(v.as_str().unwrap_or_default())
    }
}

fn elements_from<'b>(b: &'b Browser, v: &Value, css: &str) -> Result<Vec<Element<'b>>> {
    let Some(items) = v.as_array() else {
        return Err(Error::msg(format!(
            "expected a list of elements for `{css}`, got {v}"
        )));
    };
    items
        .iter()
        .map(|item| Element::from_value(b, item, css))
        .collect()
}

/// Escapes a value for use inside a double-quoted CSS string.
pub fn css_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\a "),
            _ => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// One WebDriver request; returns `value`, or the W3C error as an [`Error`].
fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    body: Option<&Value>,
    timeout: Option<Duration>,
) -> Result<Value> {
    let answer = match method {
        "GET" => agent
            .get(url)
            .config()
            .timeout_global(timeout)
            .build()
            .call(),
        "DELETE" => agent
            .delete(url)
            .config()
            .timeout_global(timeout)
            .build()
            .call(),
        _ => agent
            .post(url)
            .config()
            .timeout_global(timeout)
            .build()
            .send_json(body.unwrap_or(&json!({}))),
    };
    let mut answer = answer.map_err(|e| Error::msg(format!("{method} {url}: {e}")))?;
    let status = answer.status().as_u16();
    let text = answer
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_string()
        .map_err(|e| Error::msg(format!("{method} {url}: reading the answer: {e}")))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        Error::msg(format!(
            "{method} {url}: answer {status} is not JSON ({e}): {}",
            text.chars().take(300).collect::<String>()
        ))
    })?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let code = value["error"].as_str().unwrap_or("unknown error");
    let message = value["message"].as_str().unwrap_or_default();
    // chromedriver repeats the code on the first line and appends "(Session info: …)".
    let detail: Vec<&str> = message
        .lines()
        .map(str::trim)
        .map(|l| {
            l.strip_prefix(code)
                .map_or(l, |r| r.trim_start_matches(':').trim())
        })
        .filter(|l| !l.is_empty() && !l.starts_with("(Session info"))
        .collect();
    Err(Error::webdriver(code, &detail.join("; ")))
}

/// Standard base64 (with padding, whitespace ignored), as WebDriver sends screenshots.
pub fn base64_decode(text: &str) -> Result<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text.as_bytes() {
        if c.is_ascii_whitespace() || c == b'=' {
            continue;
        }
        let Some(v) = sextet(c) else {
            return Err(Error::msg(format!(
                "not base64: byte {c:#04x} in a {}-byte answer",
                text.len()
            )));
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}
