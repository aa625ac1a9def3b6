//! An admin turns on two-factor sign-in in the browser, then signs in with a code from the
//! authenticator app (computed here from the key the page shows) and with a recovery code.

use crate::shop::{ADMIN_EMAIL, Shop};
use crate::support::PASSWORD;
use crate::support::browser::{Browser, Error, Result};
use crate::visits::{Visits, ensure, ensure_contains};
use didport::clock::Clock;
use didport::domain::totp::TotpSecret;

fn click(b: &Browser, css: &str) -> Result<()> {
    b.find(css)?.click_and_wait_page()
}

/// Signs in with the password through the header's link.
fn password(b: &Browser, v: &mut Visits<'_>, step: &str) -> Result<()> {
    click(b, "#nav-login")?;
    v.page(&format!("{step}-sign-in"))?;
    b.find("#f-email")?.fill(ADMIN_EMAIL)?;
    b.find("#f-password")?.fill(PASSWORD)?;
    click(b, "#login-submit")
}

/// Types `code` on the code page and sends it.
fn second_step(b: &Browser, v: &mut Visits<'_>, step: &str, code: &str) -> Result<()> {
    ensure(b.current_url()?.ends_with("/login/2fa"), || {
        format!("the password led to {}, not the code page", b.location())
    })?;
    v.page(&format!("{step}-code"))?;
    b.find("#f-code")?.fill(code)?;
    click(b, "#code-submit")
}

fn signed_in_as_admin(b: &Browser, what: &str) -> Result<()> {
    ensure(
        b.current_url()?.ends_with("/admin") && b.try_find("#logout")?.is_some(),
        || format!("{what}: not on the admin dashboard but {}", b.location()),
    )
}

pub fn run(b: &Browser, shop: &Shop, v: &mut Visits<'_>) -> Result<()> {
    let now = || shop.p.clock.now();
    b.goto(&shop.url("/"))?;
    password(b, v, "first")?;
    signed_in_as_admin(b, "a first sign-in without two-factor")?;

    // ---- enrolment, from the account page ----
    click(b, "#nav-account")?;
    v.page("account")?;
    click(b, "#account-2fa")?;
    v.page("enrol")?;
    ensure(b.try_find("#totp-qr svg")?.is_some(), || {
        "no QR code on the enrolment page".into()
    })?;
    let key = b.find("#totp-secret")?.text()?;
    let secret = TotpSecret::from_base32(&key)
        .ok_or_else(|| Error::msg(format!("the key {key:?} is not base32")))?;
    b.find("#f-code")?.fill("000000")?;
    click(b, "#enrol-submit")?;
    v.page("enrol-wrong-code")?;
    ensure_contains(
        b,
        "the message for a wrong code",
        &b.find("#code-error")?.text()?,
        "not the current code",
    )?;
    b.find("#f-code")?.fill(&secret.code_at(now(), 6))?;
    click(b, "#enrol-submit")?;
    v.page("recovery-codes")?;
    let mut codes = Vec::new();
    for li in b.find_all("#recovery-codes li")? {
        codes.push(li.text()?);
    }
    ensure(codes.len() == 10, || {
        format!("{} recovery codes shown, not 10", codes.len())
    })?;
    click(b, "#logout")?;

    // ---- sign in with a code from the app (the next step's: each code counts once) ----
    shop.p.clock.advance(30);
    password(b, v, "code")?;
    second_step(b, v, "app", &secret.code_at(now(), 6))?;
    signed_in_as_admin(b, "a sign-in with the app's code")?;
    click(b, "#logout")?;

    // ---- sign in with a recovery code; the same code again is refused ----
    password(b, v, "recovery")?;
    second_step(b, v, "recovery", &codes[0])?;
    signed_in_as_admin(b, "a sign-in with a recovery code")?;
    click(b, "#logout")?;
    password(b, v, "used-recovery")?;
    second_step(b, v, "used-recovery", &codes[0])?;
    v.page("used-recovery-refused")?;
    ensure_contains(
        b,
        "the message for a used recovery code",
        &b.find("#code-error")?.text()?,
        "was used already",
    )
}
