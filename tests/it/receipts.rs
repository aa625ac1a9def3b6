//! Invoices as receipts (seller, payment method, transaction id, tax, print view) and the
//! support contact in the footer and on error pages.

use std::sync::Arc;

use crate::support::TestPortal;
use didport::domain::EmailAddress;
use didport::domain::Role;
use didport::domain::tax::TaxRate;
use didport::integrations::paypal::PayPalClient;
use didport::sim::paypal::{PayPalSim, SimConfig};

/// A shop whose invoices name a seller with an address and include 8.875% tax; pays for one
/// number and returns the portal, the simulator (kept alive), the buyer and the invoice path.
fn paid_invoice(tax: bool) -> (TestPortal, PayPalSim, crate::support::Client, String) {
    let sim = PayPalSim::start(SimConfig::default()).unwrap();
    let client = PayPalClient::new(sim.client_config()).unwrap();
    let p = TestPortal::start_with(move |c, opts| {
        opts.payments = Some(Arc::new(client));
        c.seller_name = Some("Example VoIP LLC".into());
        c.seller_address = vec!["1 Main St".into(), "Tampa, FL 33602".into()];
        c.tax_rate = if tax { TaxRate::parse("8.875") } else { None };
        c.support_email = EmailAddress::parse("help@example.com").ok();
    });
    let plan = p.stock(&["2125550142"]).to_string();
    let mut c = p.signed_in("buyer@example.com", Role::Customer);
    c.get("/numbers/2125550142");
    let r = c.post("/checkout", &[("number", "2125550142"), ("plan", &plan)]);
    assert_eq!(r.status, 303, "{}", r.body);
    let token = crate::paypal::paypal_id(r.location());
    let back = sim.approve(&token).unwrap().unwrap();
    c.get_follow(&back);
    let id = p.count("SELECT max(id) FROM orders");
    let order = c.get(&format!("/orders/{id}"));
    let invoice = order.attr("#invoice-link", "href").unwrap();
    (p, sim, c, invoice)
}

#[test]
fn an_invoice_names_the_seller_the_payment_and_the_tax() {
    let (p, _sim, mut c, path) = paid_invoice(true);
    let r = c.get(&path);
    assert_eq!(r.status, 200);
    let seller = r.text("#invoice-seller");
    assert!(seller.contains("Example VoIP LLC"), "{seller}");
    assert!(seller.contains("1 Main St") && seller.contains("Tampa, FL 33602"));
    assert_eq!(r.text("#invoice-method"), "PayPal");
    let capture: String = crate::support::rusqlite_conn(&p.db)
        .query_row("SELECT capture_id FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(r.text("#invoice-transaction"), capture);
    // The Starter plan: $5.00 setup and $3.00 for the month, $8.00 with the tax included.
    assert_eq!(r.text("#invoice-total"), "$8.00");
    assert!(r.text("#invoice-lines").contains("Tax included (8.875%)"));
    assert_eq!(r.text("#invoice-tax"), "$0.65");
    assert_eq!(r.text("#invoice-net"), "$7.35");
    assert!(r.has("#invoice-period"));
    // Print: a link to a page without the site's header, with a hint how to print.
    let print = r.attr("#print-invoice", "href").unwrap();
    let pv = c.get(&print);
    assert_eq!(pv.status, 200);
    assert!(pv.has("body.print-view") && pv.has("#print-bar") && pv.has("#invoice-seller"));
    assert!(!pv.has("#print-invoice"));
}

#[test]
fn without_a_tax_rate_there_is_no_tax_line() {
    let (_p, _sim, mut c, path) = paid_invoice(false);
    let r = c.get(&path);
    assert!(!r.has("#invoice-tax") && !r.has("#invoice-net"));
    assert_eq!(r.text("#invoice-total"), "$8.00");
}

#[test]
fn the_support_address_is_in_the_footer_and_on_error_pages() {
    let (_p, _sim, mut c, _) = paid_invoice(false);
    let home = c.get("/");
    assert_eq!(
        home.attr("#footer-support a", "href").as_deref(),
        Some("mailto:help@example.com")
    );
    let missing = c.get("/no-such-page");
    assert_eq!(missing.status, 404);
    assert!(missing.text("#error-support").contains("help@example.com"));
    // Unset, it is the admin's address.
    let p = TestPortal::start();
    let mut guest = p.client();
    assert!(
        guest
            .get("/")
            .text("#footer-support")
            .contains("admin@example.com")
    );
}

#[test]
fn a_suspended_number_tells_its_owner_whom_to_write_to() {
    let mut s = crate::activation::setup(Some(1), true);
    let order = crate::activation::paid_order(&s, "paused@example.com", "2125550919");
    crate::activation::set(&mut s, order, "suspended");
    let mut owner = s.p.client();
    owner.login("paused@example.com", crate::support::PASSWORD);
    let page = owner.get(&format!("/orders/{order}"));
    assert_eq!(page.status, 200);
    let help = page.text("#suspended-help");
    assert!(
        help.contains("(212) 555-0919") && help.contains("admin@example.com"),
        "{help}"
    );
    assert_eq!(
        page.attr("#suspended-help a", "href").as_deref(),
        Some("mailto:admin@example.com")
    );
}
