//! The page checks fail on pages that break them: each is shown a small page with exactly the
//! problem it exists to catch, and must say so. A check that could never fail would prove nothing.

use serde_json::json;

use crate::browser;
use crate::support::browser::{Browser, Result};
use crate::support::page_checks::{Axe, Vnu};
use crate::visits::{
    PHONE, check_controls_reachable, check_error_next_to_field, check_javascript_is_off,
    check_keyboard_walk, check_labels, check_no_scripts,
};

/// Shows `body` as a page of its own (no server needed).
fn show(b: &Browser, body: &str) -> Result<()> {
    let html = format!(
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content='width=device-width, initial-scale=1'><title>t</title>\
         <style>body{{margin:0;font:16px sans-serif}} input,button{{padding:6px}} \
         :focus-visible{{outline:3px solid #1d4ed8}}</style>\
         </head><body><main>{body}</main></body></html>"
    );
    let encoded: String = html
        .bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect();
    b.goto(&format!("data:text/html;charset=utf-8,{encoded}"))
}

/// `Err` whose message names `expected`, else a panic saying the check let the page through.
fn fails_with(what: &str, outcome: Result<()>, expected: &str) {
    match outcome {
        Ok(()) => panic!("{what}: the check passed a page it must fail"),
        Err(e) => assert!(
            e.message().contains(expected),
            "{what}: the failure does not mention {expected:?}:\n{e}"
        ),
    }
}

fn scripts_on(b: &Browser) -> Result<()> {
    b.cdp(
        "Emulation.setScriptExecutionDisabled",
        json!({ "value": false }),
    )
    .map(|_| ())
}

#[test]
fn the_checks_pass_a_plain_good_page() -> Result<()> {
    let b = browser()?;
    scripts_on(&b)?;
    show(
        &b,
        "<form><label for=q>Number</label><input id=q name=q><button>Search</button></form>\
         <p><a href='#more'>More</a></p>",
    )?;
    check_no_scripts(&b)?;
    check_labels(&b)?;
    check_keyboard_walk(&b)?;
    check_controls_reachable(&b, false)?;
    b.emulate_phone(PHONE.0, PHONE.1)?;
    check_controls_reachable(&b, true)?;
    b.check_no_horizontal_overflow()
}

#[test]
fn pages_that_need_javascript_are_caught() -> Result<()> {
    let b = browser()?;
    scripts_on(&b)?;
    show(&b, "<p>hi</p><script>document.title = 'x'</script>")?;
    fails_with("a script element", check_no_scripts(&b), "<script>");
    show(&b, "<button onclick='go()'>Go</button>")?;
    fails_with("an onclick handler", check_no_scripts(&b), "onclick");
    show(&b, "<a href='javascript:go()'>Go</a>")?;
    fails_with("a javascript: link", check_no_scripts(&b), "javascript:");
    Ok(())
}

#[test]
fn javascript_left_on_is_caught() -> Result<()> {
    let b = browser()?;
    scripts_on(&b)?;
    show(&b, "<p>scripts may run here</p>")?;
    fails_with(
        "a page with JavaScript on",
        check_javascript_is_off(&b),
        "JavaScript still runs",
    );
    b.cdp(
        "Emulation.setScriptExecutionDisabled",
        json!({ "value": true }),
    )?;
    show(&b, "<p>no scripts here</p>")?;
    let off = check_javascript_is_off(&b);
    scripts_on(&b)?;
    off
}

#[test]
fn fields_without_labels_are_caught() -> Result<()> {
    let b = browser()?;
    scripts_on(&b)?;
    show(&b, "<form><input name=q placeholder='Search'></form>")?;
    fails_with("an unlabelled input", check_labels(&b), "input[name=q]");
    show(
        &b,
        "<form><label for=s></label><select id=s name=s><option>a</option></select></form>",
    )?;
    fails_with("an empty label", check_labels(&b), "select#s");
    Ok(())
}

#[test]
fn missing_or_faint_focus_rings_and_keyboard_traps_are_caught() -> Result<()> {
    let b = browser()?;
    scripts_on(&b)?;
    show(
        &b,
        "<style>a:focus-visible{outline:none}</style><a href='#a' id=a>A</a>",
    )?;
    fails_with("no focus ring", check_keyboard_walk(&b), "no focus ring");
    show(
        &b,
        "<style>a:focus-visible{outline:2px solid #e5e7eb}</style><a href='#a' id=a>A</a>",
    )?;
    fails_with("a pale focus ring", check_keyboard_walk(&b), "below 3:1");
    show(&b, "<a href='#a'>A</a> <a href='#b' id=b tabindex=-1>B</a>")?;
    fails_with(
        "a link Tab skips",
        check_keyboard_walk(&b),
        "a#b[href=#b] \"B\" never got focus",
    );
    Ok(())
}

#[test]
fn controls_out_of_reach_are_caught() -> Result<()> {
    let b = browser()?;
    scripts_on(&b)?;
    b.emulate_phone(PHONE.0, PHONE.1)?;
    show(
        &b,
        "<div style='width:600px'><button id=far style='margin-left:500px'>Far</button></div>",
    )?;
    fails_with(
        "a button past the right edge",
        check_controls_reachable(&b, true),
        "button#far \"Far\" lies outside the screen",
    );
    fails_with(
        "a page wider than the phone",
        b.check_no_horizontal_overflow(),
        "scrolls sideways",
    );
    show(
        &b,
        "<button id=under>Under</button>\
         <div style='position:fixed;inset:0;background:#fff'>cover</div>",
    )?;
    fails_with(
        "a covered button",
        check_controls_reachable(&b, true),
        "button#under \"Under\" is covered by",
    );
    show(
        &b,
        "<button id=tiny style='width:12px;height:12px;padding:0;border:0'></button>",
    )?;
    fails_with(
        "a tiny button",
        check_controls_reachable(&b, true),
        "too small to tap",
    );
    Ok(())
}

#[test]
fn errors_away_from_their_field_are_caught() -> Result<()> {
    let b = browser()?;
    scripts_on(&b)?;
    // The message exists and is linked, but sits far below, outside the field's group.
    show(
        &b,
        "<form><div class=field><label for=pin>PIN</label>\
         <input id=pin aria-invalid=true aria-describedby=pin-error autofocus></div>\
         <div style='height:400px'></div><p id=pin-error>Exactly 4 digits.</p></form>",
    )?;
    fails_with(
        "a far-away message",
        check_error_next_to_field(&b, "#pin", "4 digits"),
        "not in the field group",
    );
    // The message is right under the field, but nothing ties it to the field.
    show(
        &b,
        "<form><div class=field><label for=pin>PIN</label><input id=pin autofocus>\
         <p id=pin-error>Exactly 4 digits.</p></div></form>",
    )?;
    let unlinked = check_error_next_to_field(&b, "#pin", "4 digits");
    fails_with("an unlinked message", unlinked, "not aria-invalid");
    Ok(())
}

#[test]
fn axe_and_the_html_checker_find_what_they_should() -> Result<()> {
    let b = browser()?;
    scripts_on(&b)?;
    show(&b, "<form><input name=q></form>")?;
    let axe = Axe::load().map_err(|e| e.context(crate::visits::INSTALL_HINT))?;
    fails_with(
        "axe on an unlabelled input",
        axe.check(&b).map(|_| ()),
        "label",
    );
    let vnu = Vnu::load().map_err(|e| e.context(crate::visits::INSTALL_HINT))?;
    fails_with(
        "vnu on a span holding a div",
        vnu.check(
            "bad",
            "<!DOCTYPE html><html lang=en><head><title>t</title></head>\
             <body><span><div>x</div></span></body></html>",
        )
        .map(|_| ()),
        "not allowed as child",
    );
    Ok(())
}
