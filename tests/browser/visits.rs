//! What the browser tests check on every page a person reaches, and the record of each step
//! (the bytes the server sent, a screenshot) that is written out when a test fails.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::browser::{Browser, Error, Result, default_debug_dir};
use crate::support::page_checks::{Axe, Vnu, axe_report};

/// The window the journey runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// 1280×900, JavaScript on: axe-core and a keyboard walk on every page.
    Desktop,
    /// A 375×812 phone (DevTools emulation, so `<meta name=viewport>` counts), JavaScript on.
    Phone,
    /// 1280×900 with JavaScript turned off in the page: everything must still work.
    NoScript,
}

pub const PHONE: (u32, u32) = (375, 812);

/// Fails with `what` unless `ok`.
pub fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<()> {
    if ok { Ok(()) } else { Err(Error::msg(what())) }
}

/// Fails unless `actual == expected`, naming `what` and the page.
pub fn ensure_eq(b: &Browser, what: &str, actual: &str, expected: &str) -> Result<()> {
    ensure(actual == expected, || {
        format!(
            "{what}: expected {expected:?}, the page shows {actual:?} on {}",
            b.location()
        )
    })
}

/// Fails unless `haystack` contains `needle`.
pub fn ensure_contains(b: &Browser, what: &str, haystack: &str, needle: &str) -> Result<()> {
    ensure(haystack.contains(needle), || {
        format!(
            "{what}: expected to contain {needle:?}, the page shows {haystack:?} on {}",
            b.location()
        )
    })
}

struct Step {
    name: String,
    png: Option<Vec<u8>>,
    dom: String,
}

/// The steps of one test: each page is checked as it is reached and remembered, so that a
/// failure leaves a screenshot and the HTML of every step in `target/browser-debug/<test>/`.
pub struct Visits<'b> {
    b: &'b Browser,
    test: &'static str,
    screen: Screen,
    axe: Option<Axe>,
    steps: Vec<Step>,
    /// `(step, bytes the server sent)` for the Nu HTML Checker.
    pages: Vec<(String, String)>,
    /// axe's minor and moderate findings, reported but not failing.
    axe_notes: Vec<String>,
}

impl<'b> Visits<'b> {
    /// The window this journey runs in.
    pub fn screen(&self) -> Screen {
        self.screen
    }

    /// Prepares the shared browser for `screen`: window size, emulation, JavaScript, and the
    /// DevTools network log that keeps the server's bytes of each page.
    pub fn start(b: &'b Browser, test: &'static str, screen: Screen) -> Result<Visits<'b>> {
        b.cdp(
            "Emulation.setScriptExecutionDisabled",
            json!({ "value": screen == Screen::NoScript }),
        )?;
        if screen == Screen::Phone {
            b.emulate_phone(PHONE.0, PHONE.1)?;
        }
        // Headless windows are not always "focused"; without this `:focus` styles may not apply.
        b.cdp(
            "Emulation.setFocusEmulationEnabled",
            json!({ "enabled": true }),
        )?;
        b.cdp("Network.enable", json!({}))?;
        // Cookies ignore ports: a session from another test's portal on 127.0.0.1 must not
        // come along.
        b.cdp("Network.clearBrowserCookies", json!({}))?;
        let axe = match screen {
            Screen::NoScript => None,
            _ => Some(Axe::load().map_err(|e| e.context(INSTALL_HINT))?),
        };
        Ok(Visits {
            b,
            test,
            screen,
            axe,
            steps: Vec::new(),
            pages: Vec::new(),
            axe_notes: Vec::new(),
        })
    }

    /// Records the page now showing as step `name` and runs every check on it.
    pub fn page(&mut self, name: &str) -> Result<()> {
        let n = self.steps.len() + 1;
        let label = format!("{n:02}-{name}");
        let png = self
            .b
            .full_page_screenshot()
            .or_else(|_| self.b.screenshot())
            .ok();
        let dom = self.b.page_source().unwrap_or_default();
        self.steps.push(Step {
            name: label.clone(),
            png,
            dom,
        });
        let sent = server_html(self.b).map_err(|e| e.context(format!("step {label}")))?;
        ensure(
            sent.get(..15)
                .is_some_and(|s| s.eq_ignore_ascii_case("<!DOCTYPE html>")),
            || format!("step {label}: the server did not send an HTML document: {sent:.80}"),
        )?;
        self.pages.push((label.clone(), sent));
        self.check_page()
            .map_err(|e| e.context(format!("step {label}")))
    }

    fn check_page(&mut self) -> Result<()> {
        let b = self.b;
        if self.screen == Screen::NoScript && self.steps.len() == 1 {
            check_javascript_is_off(b)?;
        }
        if self.screen == Screen::Phone {
            check_fits_phone(b)?;
        }
        check_no_scripts(b)?;
        check_labels(b)?;
        b.check_no_horizontal_overflow()?;
        if let Some(axe) = &self.axe {
            let lesser = axe.check(b)?;
            if !lesser.is_empty() {
                self.axe_notes.push(axe_report(&b.location(), &lesser));
            }
            check_keyboard_walk(b)?;
        }
        check_controls_reachable(b, self.screen == Screen::Phone)
    }

    /// Runs the Nu HTML Checker on every page recorded so far (one Java run).
    pub fn check_html(&self) -> Result<()> {
        let vnu = Vnu::load().map_err(|e| e.context(INSTALL_HINT))?;
        let docs: Vec<(&str, &str)> = self
            .pages
            .iter()
            .map(|(n, h)| (n.as_str(), h.as_str()))
            .collect();
        for (name, report) in vnu.check_many(&docs)? {
            for w in &report.warnings {
                eprintln!(
                    "{}: HTML checker warning on {name}, line {:?}: {}",
                    self.test, w.line, w.message
                );
            }
        }
        Ok(())
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Writes every step's screenshot and HTML to `dir/<test>/` (emptied first).
    pub fn save_steps(&self, dir: &Path) -> Result<PathBuf> {
        let dir = dir.join(self.test);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)
            .map_err(|e| Error::msg(format!("creating {}: {e}", dir.display())))?;
        for s in &self.steps {
            if let Some(png) = &s.png {
                fs::write(dir.join(format!("{}.png", s.name)), png)?;
            }
            fs::write(dir.join(format!("{}.html", s.name)), &s.dom)?;
        }
        Ok(dir)
    }

    /// The pictures only (no HTML), replacing the ones of an earlier run: `docs/screenshots/`.
    fn save_pictures(&self, root: &Path) -> Result<PathBuf> {
        let dir = root.join(self.test);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)
            .map_err(|e| Error::msg(format!("creating {}: {e}", dir.display())))?;
        for s in &self.steps {
            if let Some(png) = &s.png {
                fs::write(dir.join(format!("{}.png", s.name)), png)?;
            }
        }
        Ok(dir)
    }

    /// Ends the test: on failure saves every step (and the page now showing) to
    /// `target/browser-debug/<test>/`; with `DIDPORT_TEST_SCREENSHOTS=<dir>` saves the steps
    /// there on success too, to look at.
    pub fn finish<T>(self, outcome: Result<T>) -> Result<T> {
        match outcome {
            Ok(v) => {
                // Pictures of an earlier failure would now mislead.
                let _ = fs::remove_dir_all(default_debug_dir().join(self.test));
                if let Some(dir) = std::env::var_os("DIDPORT_TEST_SCREENSHOTS") {
                    let saved = self.save_steps(Path::new(&dir))?;
                    eprintln!("{}: screenshots in {}", self.test, saved.display());
                }
                if cfg!(feature = "screenshots") && matches!(self.test, "desktop" | "phone") {
                    let saved = self.save_pictures(
                        &Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots"),
                    )?;
                    eprintln!(
                        "{}: screenshots for the docs in {}",
                        self.test,
                        saved.display()
                    );
                }
                for note in &self.axe_notes {
                    eprintln!("{}: {note}", self.test);
                }
                Ok(v)
            }
            Err(e) => {
                let saved = self.save_steps(&default_debug_dir());
                if let Ok(dir) = &saved {
                    let _ = self.b.save_debug(dir, "99-failed-here");
                }
                Err(match saved {
                    Ok(dir) => Error::msg(format!(
                        "{e}\n(screenshots and HTML of every step: {})",
                        dir.display()
                    )),
                    Err(s) => e.context(format!("(could not save the steps: {s})")),
                })
            }
        }
    }
}

impl Drop for Visits<'_> {
    fn drop(&mut self) {
        // A panic inside the steps: leave the pictures anyway.
        if std::thread::panicking()
            && let Ok(dir) = self.save_steps(&default_debug_dir())
        {
            let _ = self.b.save_debug(&dir, "99-failed-here");
            eprintln!("screenshots and HTML of every step: {}", dir.display());
        }
    }
}

pub const INSTALL_HINT: &str = "the browser tests need Chromium, chromedriver, Java and two npm \
packages: apt-get install chromium chromium-driver fonts-liberation default-jre-headless nodejs npm \
&& npm install --prefix target/browser-tools --save-exact --ignore-scripts --no-audit --no-fund \
axe-core@4.14.1 vnu-jar@26.9.27";

/// The bytes the server sent for the document now showing (after any redirects), from the
/// DevTools network log: what the Nu HTML Checker must see, not the browser's repaired DOM.
pub fn server_html(b: &Browser) -> Result<String> {
    let tree = b.cdp("Page.getFrameTree", json!({}))?;
    let loader = tree["frameTree"]["frame"]["loaderId"]
        .as_str()
        .ok_or_else(|| Error::msg(format!("no loaderId in the frame tree: {tree}")))?
        .to_string();
    let body = b
        .cdp("Network.getResponseBody", json!({ "requestId": loader }))
        .map_err(|e| e.context(format!("reading what the server sent for {}", b.location())))?;
    let text = body["body"].as_str().unwrap_or_default();
    if body["base64Encoded"] == json!(true) {
        let bytes = crate::support::browser::base64_decode(text)?;
        String::from_utf8(bytes).map_err(|e| Error::msg(format!("page is not UTF-8: {e}")))
    } else {
        Ok(text.to_string())
    }
}

/// The page's own scripts cannot run: a timer it sets never fires. (WebDriver's scripts, which
/// the checks use, still run.) Without this the no-JavaScript journey could pass with it on.
pub fn check_javascript_is_off(b: &Browser) -> Result<()> {
    b.set_script_timeout(std::time::Duration::from_millis(500))?;
    let ran = b.execute_async(
        "var done = arguments[arguments.length - 1]; setTimeout(function () { done('ran'); }, 0);",
        &[],
    );
    b.set_script_timeout(b.timeout())?;
    match ran {
        Ok(v) => Err(Error::msg(format!(
            "JavaScript still runs in the page ({v}) on {}",
            b.location()
        ))),
        Err(e) if e.code() == Some("script timeout") => Ok(()),
        Err(e) => Err(e.context("checking that JavaScript is off")),
    }
}

/// Runs a check script that returns a list of problems; `Err` listing them when any.
fn problems(b: &Browser, what: &str, script: &str, args: &[Value]) -> Result<()> {
    let v = b.execute(&format!("{DESCRIBE}\n{script}"), args)?;
    let list: Vec<String> = v
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ensure(list.is_empty(), || {
        format!("{what} on {}:\n  {}", b.location(), list.join("\n  "))
    })
}

/// Shared by the check scripts: a short name for an element, the controls a person uses, and
/// whether something is rendered at all.
const DESCRIBE: &str = r#"
function describe(e) {
  if (!e || !e.tagName) return String(e);
  var d = e.tagName.toLowerCase();
  if (e.id) d += '#' + e.id;
  if (e.getAttribute('name')) d += '[name=' + e.getAttribute('name') + ']';
  if (e.tagName === 'A') d += '[href=' + e.getAttribute('href') + ']';
  var t = (e.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 30);
  if (t) d += ' "' + t + '"';
  return d;
}
function rendered(e) {
  var s = getComputedStyle(e);
  // checkVisibility() is false inside a folded <details>: its summary is the control then.
  return e.getClientRects().length > 0 && s.visibility !== 'hidden' && s.display !== 'none'
    && (!e.checkVisibility || e.checkVisibility());
}
function controls() {
  var q = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';
  return Array.prototype.filter.call(document.querySelectorAll(q), function (e) {
    return rendered(e) && !e.disabled;
  });
}
"#;

/// Pages work without JavaScript because they carry none: no `<script>`, no `on…=` handlers,
/// no `javascript:` links.
pub fn check_no_scripts(b: &Browser) -> Result<()> {
    problems(
        b,
        "the page relies on JavaScript",
        r#"
var out = [];
document.querySelectorAll('script').forEach(function (s) { out.push('a <script> element: ' + describe(s)); });
document.querySelectorAll('*').forEach(function (e) {
  for (var i = 0; i < e.attributes.length; i++) {
    var a = e.attributes[i];
    if (/^on/i.test(a.name)) out.push(describe(e) + ' has the handler ' + a.name);
    if (/^\s*javascript:/i.test(a.value)) out.push(describe(e) + ' has a javascript: ' + a.name);
  }
});
return out;
"#,
        &[],
    )
}

/// On a phone, a page wider than the screen is not scrolled sideways but shrunk until it fits
/// (the layout viewport grows), so `scrollWidth` cannot see it: the page must lay out at exactly
/// the phone's width, and anything past that edge is named.
pub fn check_fits_phone(b: &Browser) -> Result<()> {
    let (w, _) = b.viewport_size()?;
    if w == PHONE.0 {
        return Ok(());
    }
    problems(
        b,
        &format!(
            "the page lays out {w}px wide on a {}px phone, so the phone shrinks it; past the edge",
            PHONE.0
        ),
        r#"
var limit = arguments[0], out = [];
var all = document.body.getElementsByTagName('*');
for (var i = 0; i < all.length && out.length < 10; i++) {
  var e = all[i], r = e.getBoundingClientRect();
  if (r.width === 0 || r.height === 0 || r.right <= limit + 0.5) continue;
  var p = e.parentElement, nested = false;
  for (; p && p !== document.body; p = p.parentElement) {
    if (p.getBoundingClientRect().right > limit + 0.5) { nested = true; break; }
  }
  if (!nested) out.push(describe(e) + ' reaches ' + Math.round(r.right) + 'px');
}
if (out.length === 0) out.push('(no element found past the edge)');
return out;
"#,
        &[json!(PHONE.0)],
    )
}

/// Every form field a person fills in has a `<label>` with words in it.
pub fn check_labels(b: &Browser) -> Result<()> {
    problems(
        b,
        "form fields without a label",
        r#"
var out = [];
document.querySelectorAll('input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), select, textarea')
  .forEach(function (e) {
    var ok = e.labels && Array.prototype.some.call(e.labels, function (l) { return l.textContent.trim() !== ''; });
    if (!ok) out.push(describe(e));
  });
return out;
"#,
        &[],
    )
}

/// Presses Tab through the whole page: every control gets keyboard focus (one radio button per
/// group: the arrow keys move within a group), and each shows a focus ring: the browser's own,
/// or one of at least 2px whose colour stands out 3:1 from what is behind it.
pub fn check_keyboard_walk(b: &Browser) -> Result<()> {
    let count = b
        .execute(&format!("{DESCRIBE}\nreturn controls().length;"), &[])?
        .as_u64()
        .unwrap_or(0) as usize;
    b.execute(
        r#"
window.__didportFocus = [];
document.addEventListener('focusin', function (ev) {
  var e = ev.target;
  if (e === document.body || e === document.documentElement) return;
  var s = getComputedStyle(e);
  window.__didportFocus.push({ el: e, style: [s.outlineStyle, s.outlineWidth, s.outlineColor] });
}, true);
if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
window.scrollTo(0, 0);
document.body.setAttribute('tabindex', '-1');
document.body.focus();
document.body.removeAttribute('tabindex');
"#,
        &[],
    )?;
    let tabs = crate::support::browser::keys::TAB.repeat(count + 2);
    b.press_keys(&tabs)?;
    let result = problems(
        b,
        "keyboard focus",
        r#"
var log = window.__didportFocus || [];
function rgb(c) {
  var m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)/.exec(c || '');
  if (!m) return null;
  return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
}
function lum(c) {
  var v = c.slice(0, 3).map(function (x) {
    x = x / 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}
function behind(e) {
  for (var p = e.parentElement; p; p = p.parentElement) {
    var c = rgb(getComputedStyle(p).backgroundColor);
    if (c && c[3] > 0) return c;
  }
  return [255, 255, 255, 1];
}
var out = [], seen = [];
log.forEach(function (x) {
  seen.push(x.el);
  var st = x.style, c = rgb(st[2]), bg = behind(x.el);
  // 'auto' is the browser's own two-tone ring, drawn to show on any background.
  if (st[0] === 'auto') return;
  var wide = st[0] !== 'none' && parseFloat(st[1]) >= 2 && c && c[3] > 0;
  if (!wide) { out.push(describe(x.el) + ' shows no focus ring (outline ' + st.join(' ') + ')'); return; }
  var a = lum(c) + 0.05, z = lum(bg) + 0.05, ratio = Math.max(a, z) / Math.min(a, z);
  if (ratio < 3) out.push(describe(x.el) + ': focus ring ' + st[2] + ' on rgb(' + bg.slice(0, 3) + ') has contrast ' + ratio.toFixed(2) + ':1, below 3:1');
});
controls().forEach(function (e) {
  if (seen.indexOf(e) >= 0) return;
  if (e.type === 'radio' && e.name) {
    var group = document.querySelectorAll('input[type=radio][name="' + e.name + '"]');
    if (Array.prototype.some.call(group, function (r) { return seen.indexOf(r) >= 0; })) return;
  }
  out.push(describe(e) + ' never got focus from the Tab key');
});
return out;
"#,
        &[],
    );
    b.execute(
        "if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0);",
        &[],
    )?;
    result
}

/// Every control can be scrolled to and used: it lies within the screen's width, nothing covers
/// it, and on a phone buttons and fields are at least 24×24 px, big enough for a finger.
pub fn check_controls_reachable(b: &Browser, phone: bool) -> Result<()> {
    problems(
        b,
        "controls out of reach",
        r#"
var phone = arguments[0], out = [];
var W = document.documentElement.clientWidth;
controls().forEach(function (e) {
  e.focus({ preventScroll: true });
  e.scrollIntoView({ block: 'center', inline: 'nearest' });
  // A link that wraps onto two lines: aim at its first line, as a finger would.
  var r = Array.prototype.filter.call(e.getClientRects(), function (x) { return x.width > 0; })[0]
    || e.getBoundingClientRect();
  if (r.left < -0.5 || r.right > W + 0.5) {
    out.push(describe(e) + ' lies outside the screen (left ' + Math.round(r.left) + 'px, right ' + Math.round(r.right) + 'px, screen ' + W + 'px'
      + (document.activeElement === e ? '' : ', could not take focus') + ')');
    return;
  }
  var x = r.left + r.width / 2, y = r.top + r.height / 2;
  var hit = document.elementFromPoint(x, y);
  var labelled = e.labels && Array.prototype.some.call(e.labels, function (l) { return l.contains(hit); });
  if (!hit || !(hit === e || e.contains(hit) || labelled)) {
    out.push(describe(e) + ' is covered by ' + describe(hit));
    return;
  }
  if (phone && /^(BUTTON|SELECT|TEXTAREA|INPUT)$/.test(e.tagName) && e.type !== 'radio' && e.type !== 'checkbox'
      && (r.width < 24 || r.height < 24)) {
    out.push(describe(e) + ' is only ' + Math.round(r.width) + '×' + Math.round(r.height) + 'px, too small to tap');
  }
});
if (document.activeElement) document.activeElement.blur();
window.scrollTo(0, 0);
return out;
"#,
        &[json!(phone)],
    )
}

/// After a form came back with a mistake: the field `field_css` is marked invalid, focused, and
/// described by a visible message right below it in the same field group, containing `words`.
pub fn check_error_next_to_field(b: &Browser, field_css: &str, words: &str) -> Result<()> {
    let field = b.find(field_css)?;
    problems(
        b,
        &format!("the error for `{field_css}`"),
        r#"
var f = arguments[0], words = arguments[1], out = [];
if (f.getAttribute('aria-invalid') !== 'true') out.push(describe(f) + ' is not aria-invalid="true"');
if (document.activeElement !== f) out.push('focus is on ' + describe(document.activeElement) + ', not on the field with the mistake');
var ids = (f.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
var msgs = ids.map(function (id) { return document.getElementById(id); }).filter(function (m) {
  return m && rendered(m) && m.textContent.indexOf(words) >= 0;
});
if (msgs.length === 0) {
  out.push(describe(f) + ' is not described (aria-describedby "' + ids.join(' ') + '") by a visible message containing "' + words + '"');
  return out;
}
var m = msgs[0], group = f.closest('.field');
if (!group || !group.contains(m)) out.push('the message ' + describe(m) + ' is not in the field group of ' + describe(f));
var fr = f.getBoundingClientRect(), mr = m.getBoundingClientRect();
var gap = mr.top - fr.bottom;
if (gap < -1 || gap > 32) out.push('the message ' + describe(m) + ' is ' + Math.round(gap) + 'px below the field, not right under it');
if (mr.left > fr.right || mr.right < fr.left) out.push('the message ' + describe(m) + ' is not under the field');
return out;
"#,
        &[field.to_arg(), json!(words)],
    )
}
