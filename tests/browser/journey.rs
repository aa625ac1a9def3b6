//! A person's way through the shop, click by click: a visitor finds a number by area code and
//! by a word, picks a plan, signs up, pays on the PayPal simulator's page and lands on the paid
//! order; the admin activates the number on View Orders; the customer sets a PIN and call
//! forwarding. Every step is a click or keystrokes on the page; every assertion reads the page.

use crate::shop::{ADMIN_EMAIL, Shop, WANTED};
use crate::support::PASSWORD;
use crate::support::browser::{Browser, Error, Result};
use crate::visits::{Visits, check_error_next_to_field, ensure, ensure_contains, ensure_eq};

const CUSTOMER_EMAIL: &str = "ann@example.com";
const CUSTOMER_PASSWORD: &str = "four words make a password";

/// The numbers in the result rows (from their `id`s), sorted.
fn result_numbers(b: &Browser) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for row in b.find_all("#results tbody tr")? {
        let id = row.attr("id")?.unwrap_or_default();
        out.push(id.trim_start_matches("result-").to_string());
    }
    out.sort();
    Ok(out)
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Clicks `css` (a link or a submit button) and waits for the next page.
fn click(b: &Browser, css: &str) -> Result<()> {
    b.find(css)?.click_and_wait_page()
}

/// Signs in from whatever page is showing, through the header's "Sign in" link.
fn sign_in(b: &Browser, v: &mut Visits<'_>, who: &str, email: &str, password: &str) -> Result<()> {
    click(b, "#nav-login")?;
    v.page(&format!("{who}-sign-in"))?;
    b.find("#f-email")?.fill(email)?;
    b.find("#f-password")?.fill(password)?;
    click(b, "#login-submit")
}

fn sign_out(b: &Browser) -> Result<()> {
    click(b, "#logout")?;
    ensure(b.try_find("#logout")?.is_none(), || {
        format!("still signed in after Sign out on {}", b.location())
    })
}

pub fn run(b: &Browser, shop: &Shop, v: &mut Visits<'_>) -> Result<()> {
    // ---- A visitor looks for a number that spells FLOWERS ----
    b.goto(&shop.url("/"))?;
    v.page("home")?;
    // The advanced fields fold away on a phone and are laid out on a wide screen.
    // (WebDriver's "displayed" reads a closed <details> as hidden whatever the style says.)
    let exchange_shown = b
        .execute(
            "return document.querySelector('#s-nxx').checkVisibility();",
            &[],
        )?
        .as_bool()
        .unwrap_or(false);
    let phone = v.screen() == crate::visits::Screen::Phone;
    ensure(exchange_shown != phone, || {
        format!("the Exchange field shown: {exchange_shown}, on a phone: {phone}")
    })?;
    ensure(
        b.find("#s-npa")?.is_displayed()? && b.find("#s-state")?.is_displayed()?,
        || "the home page has no area code or state field in sight".into(),
    )?;
    b.find("#s-q")?.send_keys("FLOWERS")?;
    click(b, "#search-form button[type=submit]")?;
    v.page("search-flowers")?;
    ensure_eq(
        b,
        "numbers found for FLOWERS",
        &format!("{:?}", result_numbers(b)?),
        &format!("{:?}", sorted(&["2123569377", "3103569377", "8883569377"])),
    )?;
    let marks = b.find_all("#results mark")?;
    ensure(marks.len() == 3, || {
        format!(
            "{} highlighted matches, not 3, on {}",
            marks.len(),
            b.location()
        )
    })?;
    for mark in marks {
        ensure_eq(b, "the highlighted digits", &mark.text()?, "356-9377")?;
    }
    ensure_contains(
        b,
        "the search summary",
        &b.find("#result-summary")?.text()?,
        "FLOWERS (3569377)",
    )?;
    ensure_eq(
        b,
        "the type of 888 356-9377",
        &b.find("#result-8883569377 .badge")?.text()?,
        "Toll-free",
    )?;

    // ---- ... then everything in area code 212 ----
    b.find("#s-q")?.clear()?;
    b.find("#s-npa")?.send_keys("212")?;
    click(b, "#search-submit")?;
    v.page("search-area-code")?;
    ensure_eq(
        b,
        "numbers found in area code 212",
        &format!("{:?}", result_numbers(b)?),
        &format!("{:?}", sorted(&["2123569377", "2125550142", "2125550187"])),
    )?;
    ensure_contains(
        b,
        "the search summary",
        &b.find("#result-summary")?.text()?,
        "area code 212",
    )?;

    // ---- opens (212) 356-9377 and picks the Business plan ----
    click(b, &format!("#result-{WANTED} a.number"))?;
    v.page("number")?;
    ensure_eq(
        b,
        "the number on its page",
        &b.find("#number-detail h1")?.text()?,
        "(212) 356-9377",
    )?;
    let business = b
        .find_all("#buy-form label.plan")?
        .into_iter()
        .find(|l| l.text().is_ok_and(|t| t.contains("Business")))
        .ok_or_else(|| Error::msg(format!("no Business plan on {}", b.location())))?;
    let plan_id = business
        .attr("for")?
        .unwrap_or_default()
        .trim_start_matches("plan-")
        .to_string();
    ensure_contains(b, "the Business plan's price", &business.text()?, "$8.00")?;
    business.click()?;
    ensure(b.find(&format!("#plan-{plan_id}"))?.is_selected()?, || {
        "clicking the Business plan did not choose it".into()
    })?;
    click(b, "#buy-submit")?;

    // ---- has no account yet: sign-in page, then "Create an account" ----
    v.page("asked-to-sign-in")?;
    ensure(b.try_find("#login-form")?.is_some(), || {
        format!(
            "buying while signed out should ask to sign in, on {}",
            b.location()
        )
    })?;
    let buying = b.find("#buying")?.text()?;
    ensure_contains(b, "the number being bought", &buying, "(212) 356-9377")?;
    ensure_contains(b, "the plan being bought", &buying, "Business")?;
    ensure_contains(
        b,
        "the main action for someone new",
        &b.find("#login-signup-link")?
            .attr("class")?
            .unwrap_or_default(),
        "button",
    )?;
    click(b, "#login-signup-link")?;
    v.page("sign-up")?;
    ensure_contains(
        b,
        "the number on the sign-up page",
        &b.find("#buying")?.text()?,
        "(212) 356-9377",
    )?;
    b.find("#f-name")?.send_keys("Ann Example")?;
    b.find("#f-email")?.send_keys(CUSTOMER_EMAIL)?;
    b.find("#f-password")?.send_keys("short")?;
    click(b, "#signup-submit")?;
    // Before the page checks move the focus around.
    check_error_next_to_field(b, "#f-password", "Use at least")?;
    v.page("sign-up-mistake")?;
    ensure_eq(
        b,
        "the email kept after the mistake",
        &b.find("#f-email")?.value()?,
        CUSTOMER_EMAIL,
    )?;
    b.find("#f-password")?.send_keys(CUSTOMER_PASSWORD)?;
    click(b, "#signup-submit")?;

    // ---- back on the number, the plan still chosen; buys ----
    v.page("number-signed-up")?;
    ensure_contains(b, "the welcome", &b.find("#flash")?.text()?, "Welcome")?;
    ensure(b.find(&format!("#plan-{plan_id}"))?.is_selected()?, || {
        format!("the Business plan is no longer chosen on {}", b.location())
    })?;
    click(b, "#buy-submit")?;

    // ---- on PayPal's page, leaves without paying, and comes back to the order ----
    v.page("paypal")?;
    ensure_eq(
        b,
        "the amount PayPal asks for",
        &b.find("#order-amount")?.text()?,
        "18.00 USD",
    )?;
    b.goto(&shop.url("/orders"))?;
    v.page("my-orders-unpaid")?;
    click(b, "#orders tbody tr .title-cell a")?;
    v.page("order-awaiting-payment")?;
    ensure_eq(
        b,
        "the unpaid order's status",
        &b.find("#order")?.attr("data-status")?.unwrap_or_default(),
        "awaiting_payment",
    )?;
    ensure_contains(
        b,
        "the time left",
        &b.find("#time-left")?.text()?,
        "minutes",
    )?;
    ensure(b.try_find("#cancel-order")?.is_some(), || {
        "the unpaid order offers no way to give up".into()
    })?;

    // ---- pays from the #pay link: approves on the PayPal simulator's page ----
    click(b, "#pay")?;
    ensure_eq(
        b,
        "the amount PayPal asks for, again",
        &b.find("#order-amount")?.text()?,
        "18.00 USD",
    )?;
    click(b, "#approve")?;

    // ---- lands on the paid order ----
    v.page("order-paid")?;
    let order_id = b
        .current_url()?
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    ensure_eq(
        b,
        "the order's payment status",
        &b.find("#order")?.attr("data-status")?.unwrap_or_default(),
        "paid",
    )?;
    ensure_eq(
        b,
        "the status badge",
        &b.find("#order .badge")?.text()?,
        "Paid",
    )?;
    ensure_eq(b, "the total", &b.find("#order-total")?.text()?, "$18.00")?;
    ensure_eq(
        b,
        "the number ordered",
        &b.find("#order-number")?.text()?,
        "(212) 356-9377",
    )?;
    // ---- the invoice: seller, payment, tax; and its print view ----
    click(b, "#invoice-link")?;
    v.page("invoice")?;
    ensure_eq(
        b,
        "the payment method",
        &b.find("#invoice-method")?.text()?,
        "PayPal",
    )?;
    ensure(!b.find("#invoice-transaction")?.text()?.is_empty(), || {
        "the invoice shows no transaction id".into()
    })?;
    ensure_contains(
        b,
        "the seller",
        &b.find("#invoice-seller")?.text()?,
        "Example VoIP LLC",
    )?;
    ensure_eq(
        b,
        "the tax included",
        &b.find("#invoice-tax")?.text()?,
        "$1.47",
    )?;
    click(b, "#print-invoice")?;
    v.page("invoice-print")?;
    let header_shown = match b.try_find("#logout")? {
        Some(e) => e.is_displayed()?,
        None => false,
    };
    ensure(!header_shown, || {
        "the print view still shows the site header".into()
    })?;
    click(b, "#print-bar a")?;
    sign_out(b)?;

    // ---- the admin activates it on View Orders ----
    sign_in(b, v, "admin", ADMIN_EMAIL, PASSWORD)?;
    v.page("admin")?;
    click(b, "#card-orders")?;
    v.page("view-orders")?;
    let row = format!("#order-{order_id}");
    ensure_eq(
        b,
        "the number status before",
        &b.find(&row)?.attr("data-status")?.unwrap_or_default(),
        "pending",
    )?;
    b.find(&format!("#status-{order_id}"))?
        .select_option("active")?;
    click(b, &format!("#status-submit-{order_id}"))?;
    v.page("view-orders-activated")?;
    ensure_contains(
        b,
        "the confirmation",
        &b.find("#flash")?.text()?,
        "now active",
    )?;
    ensure_eq(
        b,
        "the number status after",
        &b.find(&row)?.attr("data-status")?.unwrap_or_default(),
        "active",
    )?;
    ensure_eq(
        b,
        "the number status badge",
        &b.find(&format!("{row} .number-status .badge"))?.text()?,
        "Active",
    )?;
    // Cancelling asks first; keeping the number changes nothing.
    b.find(&format!("#status-{order_id}"))?
        .select_option("cancelled")?;
    click(b, &format!("#status-submit-{order_id}"))?;
    v.page("view-orders-confirm-cancel")?;
    ensure(b.try_find("#confirm-cancel-button")?.is_some(), || {
        "cancelling did not ask first".into()
    })?;
    click(b, "#keep-number")?;
    ensure_eq(
        b,
        "the number status after keeping it",
        &b.find(&row)?.attr("data-status")?.unwrap_or_default(),
        "active",
    )?;

    // ---- the other admin pages: inventory, audit log, plans ----
    b.goto(&shop.url("/admin/numbers"))?;
    b.find("#n-q")?.send_keys("(212) 555-0142")?;
    click(b, "#numbers-filter-submit")?;
    v.page("inventory")?;
    ensure_contains(
        b,
        "the number found in the inventory",
        &b.find("#number-2125550142")?.text()?,
        "Available",
    )?;
    b.goto(&shop.url("/admin/audit"))?;
    b.find("#a-number")?.send_keys("(212) 356-9377")?;
    click(b, "#audit-filter-submit")?;
    v.page("audit-log")?;
    ensure_contains(
        b,
        "the audit log's sentences",
        &b.find("#audit tbody")?.text()?,
        "activated (212) 356-9377",
    )?;
    b.goto(&shop.url("/admin/plans"))?;
    v.page("plans")?;

    // ---- the outbox: the messages so far, and every email previewed with sample data ----
    b.goto(&shop.url("/admin/outbox"))?;
    v.page("outbox")?;
    ensure(b.try_find("#outbox tbody tr")?.is_some(), || {
        format!("no message listed on {}", b.location())
    })?;
    click(b, "#outbox-templates-tab")?;
    v.page("outbox-templates")?;
    click(b, "#template-number_activated-customer a")?;
    v.page("email-preview-customer")?;
    ensure_contains(
        b,
        "the customer's activation email",
        &b.find("#preview-1 .mail-subject")?.text()?,
        "your number (212) 555-0100 is active",
    )?;
    b.goto(&shop.url("/admin/outbox/preview/payment_received/admin"))?;
    v.page("email-preview-admin")?;
    ensure_contains(
        b,
        "the admin's payment email",
        &b.find("#preview-1 .mail-text")?.text()?,
        "Pat Example (pat@example.com)",
    )?;
    sign_out(b)?;

    // ---- the customer sets a PIN and forwarding ----
    sign_in(b, v, "customer", CUSTOMER_EMAIL, CUSTOMER_PASSWORD)?;
    v.page("my-numbers")?;
    let mine = format!("#number-{WANTED}");
    ensure_eq(
        b,
        "the status on My numbers",
        &b.find(&mine)?.attr("data-status")?.unwrap_or_default(),
        "active",
    )?;
    ensure_eq(
        b,
        "the status badge on My numbers",
        &b.find(&format!("{mine} .badge"))?.text()?,
        "Active",
    )?;
    click(b, &format!("#settings-link-{WANTED}"))?;
    v.page("settings")?;
    ensure_eq(
        b,
        "the PIN state before",
        &b.find("#pin-state")?.text()?,
        "Not set",
    )?;
    ensure(b.try_find("#current-forwarding")?.is_none(), || {
        format!("forwarding shown before any was set, on {}", b.location())
    })?;
    b.find("#f-pin")?.send_keys("12a4")?;
    click(b, "#settings-submit")?;
    check_error_next_to_field(b, "#f-pin", "The PIN is")?;
    v.page("settings-bad-pin")?;
    b.find("#f-pin")?.fill("5831")?;
    b.find("#f-forwarding")?.fill("3105550199")?;
    click(b, "#settings-submit")?;
    v.page("settings-saved")?;
    ensure_contains(
        b,
        "the confirmation",
        &b.find("#flash")?.text()?,
        "calls now go to (310) 555-0199",
    )?;
    ensure_eq(
        b,
        "the forwarding shown",
        &b.find("#current-forwarding")?.text()?,
        "(310) 555-0199",
    )?;
    ensure_eq(b, "the PIN state", &b.find("#pin-state")?.text()?, "Set")?;
    click(b, "#settings a[href='/my']")?;
    v.page("my-numbers-after")?;
    ensure_eq(
        b,
        "the forwarding on My numbers",
        &b.find(&format!("{mine} td.forwarding"))?.text()?,
        "(310) 555-0199",
    )?;
    ensure_eq(
        b,
        "the PIN on My numbers",
        &b.find(&format!("{mine} td.pin"))?.text()?,
        "Set",
    )?;

    // ---- the account page: billing history, a name and an email change with mistakes ----
    click(b, "#nav-account")?;
    v.page("account")?;
    ensure(!b.find_all("#billing-history tbody tr")?.is_empty(), || {
        format!("no billing history on {}", b.location())
    })?;
    b.find("#f-name")?.fill("   ")?;
    click(b, "#name-submit")?;
    check_error_next_to_field(b, "#f-name", "Enter your name")?;
    v.page("account-name-mistake")?;
    b.find("#f-name")?.fill("Casey Customer")?;
    click(b, "#name-submit")?;
    v.page("account-name-saved")?;
    ensure_contains(
        b,
        "the confirmation",
        &b.find("#flash")?.text()?,
        "name is saved",
    )?;
    b.find("#f-email")?.fill("casey.new@example.com")?;
    b.find("#f-email-password")?.fill("not the password")?;
    click(b, "#email-submit")?;
    check_error_next_to_field(b, "#f-email-password", "not your current password")?;
    v.page("account-email-mistake")?;

    // ---- three weeks later the renewal invoice arrives; pays it from My numbers ----
    sign_out(b)?;
    let paid_through: i64 = shop
        .p
        .store()
        .read(|tx| {
            Ok::<_, didport::store::Error>(tx.query_row(
                &format!("SELECT paid_through FROM purchased_numbers WHERE number = {WANTED}"),
                [],
                |r| r.get(0),
            )?)
        })
        .map_err(|e| Error::msg(e.to_string()))?;
    let notice_day = paid_through - 7 * didport::domain::billing::DAY;
    shop.p.clock.set(notice_day + 9 * 3600);
    didport::workflow::billing::run(shop.p.services(), notice_day, false)
        .map_err(|e| Error::msg(e.to_string()))?;
    sign_in(b, v, "customer-renewal", CUSTOMER_EMAIL, CUSTOMER_PASSWORD)?;
    v.page("my-numbers-renewal-due")?;
    click(b, &format!("#pay-now-{WANTED}"))?;
    v.page("renewal-invoice")?;
    ensure_eq(
        b,
        "the renewal amount",
        &b.find("#invoice-total")?.text()?,
        "$8.00",
    )?;
    click(b, "#pay-invoice")?;
    ensure_eq(
        b,
        "the amount PayPal asks for the renewal",
        &b.find("#order-amount")?.text()?,
        "8.00 USD",
    )?;
    click(b, "#approve")?;
    v.page("renewal-paid")?;
    ensure_contains(
        b,
        "the renewal confirmation",
        &b.find("#flash")?.text()?,
        "renewal is paid",
    )?;
    ensure(b.try_find("#pay-invoice")?.is_none(), || {
        "a paid renewal still offers to pay".into()
    })?;

    // ---- and then decides to stop renewing the number ----
    b.goto(&shop.url(&format!("/my/numbers/{WANTED}")))?;
    click(b, "#stop-renewing")?;
    v.page("stop-renewing-confirm")?;
    click(b, "#stop-confirm-button")?;
    v.page("stopped-renewing")?;
    ensure_contains(
        b,
        "the renewal state",
        &b.find("#renewal-state")?.text()?,
        "Not renewing",
    )?;
    ensure(b.try_find("#resume-renewal")?.is_some(), || {
        "no way to keep the number after stopping".into()
    })?;

    // ---- orders a second number, leaves PayPal, and gives the order up ----
    b.goto(&shop.url("/numbers/2125550142"))?;
    click(b, "#buy-submit")?;
    b.find("#order-amount")?;
    b.goto(&shop.url("/orders"))?;
    click(b, "#orders tbody tr .title-cell a")?;
    ensure_eq(
        b,
        "the second order's status",
        &b.find("#order")?.attr("data-status")?.unwrap_or_default(),
        "awaiting_payment",
    )?;
    click(b, "#cancel-order")?;
    v.page("order-given-up")?;
    ensure_eq(
        b,
        "the given-up order's status",
        &b.find("#order")?.attr("data-status")?.unwrap_or_default(),
        "cancelled",
    )?;
    ensure_eq(
        b,
        "the given-up order's badge",
        &b.find("#order .badge")?.text()?,
        "Cancelled",
    )?;
    ensure_contains(
        b,
        "the confirmation",
        &b.find("#flash")?.text()?,
        "Nothing was charged",
    )?;
    ensure(b.try_find("#pay")?.is_none(), || {
        "a cancelled order still offers to pay".into()
    })?;
    Ok(())
}
