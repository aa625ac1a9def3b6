//! Admin plans: create, validate, edit, retire.

use crate::support::TestPortal;
use didport::domain::Role;

#[test]
fn admin_creates_edits_and_retires_plans() {
    let p = TestPortal::start();
    let mut admin = p.signed_in("plans@example.com", Role::Admin);
    let page = admin.get("/admin/plans");
    assert_eq!(page.status, 200);
    assert!(page.has("#no-plans"));
    let r = admin.post(
        "/admin/plans",
        &[
            ("name", "Starter"),
            ("description", "One <i>local</i> line"),
            ("setup_cents", "500"),
            ("monthly_cents", "300"),
            ("active", "1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let list = admin.follow(r);
    let id = p.count("SELECT id FROM plans WHERE name = 'Starter'");
    let row = format!("#plan-{id}");
    assert_eq!(list.attr(&row, "data-active").as_deref(), Some("1"));
    assert!(list.text(&row).contains("$5.00") && list.text(&row).contains("$3.00"));
    assert!(list.body.contains("One &lt;i&gt;local&lt;/i&gt; line"));

    // Offered on a number page while on sale…
    p.store()
        .write(|tx| {
            didport::store::numbers::insert_new(
                tx,
                &[didport::store::numbers::NewNumber {
                    number: &didport::domain::PhoneNumber::parse("2125550199").unwrap(),
                    state: "NY",
                    rate_center: "",
                    kind: None,
                    source: "import",
                }],
                0,
            )
        })
        .unwrap();
    let mut visitor = p.client();
    assert!(
        visitor
            .get("/numbers/2125550199")
            .has(&format!("#plan-{id}"))
    );

    // …edited, then retired.
    admin.get("/admin/plans");
    let r = admin.post(
        &format!("/admin/plans/{id}"),
        &[
            ("name", "Starter"),
            ("description", ""),
            ("setup_cents", "0"),
            ("monthly_cents", "450"),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        p.count(&format!("SELECT active FROM plans WHERE id = {id}")),
        0
    );
    assert_eq!(
        p.count(&format!("SELECT monthly_cents FROM plans WHERE id = {id}")),
        450
    );
    let number_page = visitor.get("/numbers/2125550199");
    assert!(!number_page.has(&format!("#plan-{id}")));
    assert!(number_page.has("#no-plans"));
    assert_eq!(
        p.count("SELECT count(*) FROM audit WHERE action LIKE 'plan_%'"),
        2
    );
}

#[test]
fn bad_plan_input_is_shown_next_to_its_field_and_changes_nothing() {
    let p = TestPortal::start();
    let mut admin = p.signed_in("plans2@example.com", Role::Admin);
    admin.get("/admin/plans");
    for (form, field) in [
        (
            vec![("name", ""), ("setup", "0.01"), ("monthly", "0.01")],
            "name",
        ),
        (
            vec![("name", "A"), ("setup", "-5"), ("monthly", "1")],
            "setup",
        ),
        (
            vec![("name", "A"), ("setup", "5.505"), ("monthly", "1")],
            "setup",
        ),
        (
            vec![("name", "A"), ("setup", "5"), ("monthly", "abc")],
            "monthly",
        ),
        (
            vec![("name", "A"), ("setup", "5"), ("monthly", "99999999999")],
            "monthly",
        ),
        // A script still sending cents gets its mistake on the amount's field.
        (
            vec![
                ("name", "A"),
                ("setup_cents", "5.50"),
                ("monthly_cents", "1"),
            ],
            "setup",
        ),
    ] {
        let r = admin.post("/admin/plans", &form);
        assert_eq!(r.status, 400, "{form:?}");
        assert!(r.has(&format!("#pnew-{field}-error")), "{form:?}");
    }
    assert_eq!(p.count("SELECT count(*) FROM plans"), 0);
    let ok = admin.post(
        "/admin/plans",
        &[
            ("name", "Same"),
            ("setup_cents", "1"),
            ("monthly_cents", "1"),
        ],
    );
    assert_eq!(ok.status, 303);
    admin.get("/admin/plans");
    let dup = admin.post(
        "/admin/plans",
        &[
            ("name", "Same"),
            ("setup_cents", "2"),
            ("monthly_cents", "2"),
        ],
    );
    assert_eq!(dup.status, 400);
    assert!(dup.text("#pnew-name-error").contains("exists"));
    assert_eq!(p.count("SELECT count(*) FROM plans"), 1);
}

#[test]
fn only_admins_manage_plans() {
    let p = TestPortal::start();
    let mut cust = p.signed_in("cust-plans@example.com", Role::Customer);
    assert_eq!(cust.get("/admin/plans").status, 403);
    cust.get("/my");
    let r = cust.post(
        "/admin/plans",
        &[
            ("name", "Free"),
            ("setup_cents", "0"),
            ("monthly_cents", "0"),
        ],
    );
    assert_eq!(r.status, 403);
    let mut anon = p.client();
    assert_eq!(anon.get("/admin/plans").status, 303);
    assert_eq!(p.count("SELECT count(*) FROM plans"), 0);
}

#[test]
fn fees_are_typed_in_the_currency_and_shown_that_way_when_editing() {
    let p = TestPortal::start();
    let mut admin = p.signed_in("plans3@example.com", Role::Admin);
    let page = admin.get("/admin/plans");
    assert!(page.text("label[for=pnew-monthly]").contains("USD"));
    let r = admin.post(
        "/admin/plans",
        &[
            ("name", "Typed"),
            ("setup", "5"),
            ("monthly", "$3.00"),
            ("active", "1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        p.count("SELECT monthly_cents FROM plans WHERE name = 'Typed'"),
        300
    );
    assert_eq!(
        p.count("SELECT setup_cents FROM plans WHERE name = 'Typed'"),
        500
    );
    let id = p.count("SELECT id FROM plans WHERE name = 'Typed'");
    let page = admin.get("/admin/plans");
    assert_eq!(
        page.attr(&format!("#p{id}-monthly"), "value").as_deref(),
        Some("3.00")
    );
    assert!(page.has(&format!("#plan-{id} + tr.edit-row #plan-form-{id}")));
}
