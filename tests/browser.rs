//! Real-browser tests: headless Chromium, driven over WebDriver, walks a person's journey
//! through the shop on a desktop screen, on a phone screen and with JavaScript turned off, and
//! checks every page on the way with axe-core, the Nu HTML Checker and the checks in
//! `browser/visits.rs` (labels, keyboard focus, reach, no sideways scrolling).
//!
//! Built only with `--features browser-tests` (see the README for what to install). Missing
//! tools make the tests fail with the install command, never skip.

// Test code may panic on a broken expectation; that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mod.rs"]
mod support;

#[path = "browser/journey.rs"]
mod journey;
#[path = "browser/self_checks.rs"]
mod self_checks;
#[path = "browser/shop.rs"]
mod shop;
#[path = "browser/two_factor.rs"]
mod two_factor;
#[path = "browser/visits.rs"]
mod visits;

use std::sync::MutexGuard;

use support::browser::{Browser, Result};
use visits::{INSTALL_HINT, Screen, Visits};

/// The one Chromium of this test binary, or an error that says what to install.
pub fn browser() -> Result<MutexGuard<'static, Browser>> {
    Browser::shared().map_err(|e| e.context(INSTALL_HINT))
}

/// The whole journey in a new shop on `screen`; then every page it saw through the Nu HTML
/// Checker.
fn journey_on(test: &'static str, screen: Screen, sandbox: bool) -> Result<()> {
    let b = browser()?;
    let shop = shop::Shop::open(sandbox);
    let mut v = Visits::start(&b, test, screen)?;
    let outcome = journey::run(&b, &shop, &mut v).and_then(|()| {
        visits::ensure(v.page_count() >= 20, || {
            format!("the journey saw only {} pages", v.page_count())
        })?;
        v.check_html()
    });
    v.finish(outcome)
}

#[test]
fn a_visitor_buys_a_number_and_the_customer_sets_it_up_on_a_desktop_screen() -> Result<()> {
    journey_on("desktop", Screen::Desktop, false)
}

#[test]
fn the_same_journey_fits_a_phone_screen() -> Result<()> {
    // The sandbox banner of `didport demo` is on every page here, so it is checked too.
    journey_on("phone", Screen::Phone, true)
}

#[test]
fn the_same_journey_works_with_javascript_turned_off() -> Result<()> {
    journey_on("no-javascript", Screen::NoScript, false)
}

#[test]
fn an_admin_turns_on_two_factor_and_signs_in_with_a_code_and_a_recovery_code() -> Result<()> {
    let b = browser()?;
    let shop = shop::Shop::open(false);
    let mut v = Visits::start(&b, "two-factor", Screen::Desktop)?;
    let outcome = two_factor::run(&b, &shop, &mut v).and_then(|()| v.check_html());
    v.finish(outcome)
}
