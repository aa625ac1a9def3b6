//! The authorization matrix: every route of the router × {anonymous, customer A, customer B,
//! admin}, with the status each must get. A route added to the router without a row here
//! fails `every_route_has_a_row`.

use crate::support::{Client, PASSWORD, TestPortal};
use didport::domain::Role;

/// Route keys as the router spells them: `GET /orders/{}`.
pub fn router_routes() -> Vec<String> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/app.rs")).unwrap();
    let mut keys = Vec::new();
    for line in src.lines() {
        let l = line.trim();
        let method = if l.starts_with("(Get, [")
            || l.starts_with("(Method::Get | Method::Head, [")
            || l.starts_with("(Method::Get, [")
        {
            "GET"
        } else if l.starts_with("(Post, [") {
            "POST"
        } else {
            continue;
        };
        let Some(inner) = l.split('[').nth(1).and_then(|r| r.split(']').next()) else {
            continue;
        };
        let path: Vec<String> = inner
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.starts_with('"') {
                    s.trim_matches('"').to_string()
                } else {
                    "{}".to_string()
                }
            })
            .collect();
        keys.push(format!("{method} /{}", path.join("/")));
    }
    keys.sort();
    keys.dedup();
    keys
}

struct World {
    p: TestPortal,
    order_a: i64,
    order_a2: i64,
    invoice_a: i64,
    number_a: String,
    user_a: i64,
    plan: i64,
}

fn world() -> World {
    let p = TestPortal::start();
    let a = p.add_user("a@example.com", Role::Customer);
    p.add_user("b@example.com", Role::Customer);
    p.add_user("root@example.com", Role::Admin);
    let plan = p.stock(&["2125550601", "2125550602", "2125550603"]);
    let s = p.services();
    let paid = |n: &str| {
        let id = didport::workflow::checkout::start(s, &a, n, &plan.to_string(), "test").unwrap();
        let o = s
            .store
            .read(|tx| didport::store::orders::get(tx, id))
            .unwrap()
            .unwrap();
        didport::workflow::payments::record_paid(s, &o, &a, None, None).unwrap();
        id
    };
    let order_a = paid("2125550601");
    let order_a2 = paid("2125550602");
    let invoice_a = s
        .store
        .read(|tx| didport::store::orders::invoice_for_order(tx, order_a))
        .unwrap()
        .unwrap();
    World {
        p,
        order_a,
        order_a2,
        invoice_a,
        number_a: "2125550601".into(),
        user_a: a.id,
        plan,
    }
}

/// One row: route key, concrete path, form, and the status for anonymous, A, B and admin.
type Row = (&'static str, String, Vec<(&'static str, String)>, [u16; 4]);

fn matrix(w: &World) -> Vec<Row> {
    let (oa, oa2, inv, n, ua, plan) = (
        w.order_a,
        w.order_a2,
        w.invoice_a,
        w.number_a.clone(),
        w.user_a,
        w.plan,
    );
    vec![
        ("GET /", "/".into(), vec![], [200, 200, 200, 200]),
        (
            "GET /healthz",
            "/healthz".into(),
            vec![],
            [200, 200, 200, 200],
        ),
        (
            // No token configured: loopback clients only, and the tests are loopback.
            "GET /metrics",
            "/metrics".into(),
            vec![],
            [200, 200, 200, 200],
        ),
        (
            "GET /assets/{}",
            "/assets/style.css".into(),
            vec![],
            [200, 200, 200, 200],
        ),
        (
            "GET /signup",
            "/signup".into(),
            vec![],
            [200, 303, 303, 303],
        ),
        (
            "POST /signup",
            "/signup".into(),
            vec![("email", "x".into())],
            [400, 400, 400, 400],
        ),
        ("GET /login", "/login".into(), vec![], [200, 303, 303, 303]),
        (
            "POST /login",
            "/login".into(),
            vec![
                ("email", "a@example.com".into()),
                ("password", "wrong password".into()),
            ],
            [401, 401, 401, 401],
        ),
        (
            "POST /logout",
            "/logout".into(),
            vec![],
            [303, 303, 303, 303],
        ),
        (
            "GET /password/forgot",
            "/password/forgot".into(),
            vec![],
            [200, 200, 200, 200],
        ),
        (
            "POST /password/forgot",
            "/password/forgot".into(),
            vec![("email", "nope".into())],
            [400, 400, 400, 400],
        ),
        (
            "GET /password/reset",
            "/password/reset?token=bad".into(),
            vec![],
            [400, 400, 400, 400],
        ),
        (
            "POST /password/reset",
            "/password/reset".into(),
            vec![
                ("token", "bad".into()),
                ("password", "a long new passphrase".into()),
            ],
            [400, 400, 400, 400],
        ),
        // Without a right password first, the code step sends everyone to sign in.
        (
            "GET /login/2fa",
            "/login/2fa".into(),
            vec![],
            [303, 303, 303, 303],
        ),
        (
            "POST /login/2fa",
            "/login/2fa".into(),
            vec![("code", "123456".into())],
            [303, 303, 303, 303],
        ),
        (
            "GET /account/2fa",
            "/account/2fa".into(),
            vec![],
            [303, 200, 200, 200],
        ),
        (
            "POST /account/2fa",
            "/account/2fa".into(),
            vec![("code", "000000".into())],
            [303, 400, 400, 400],
        ),
        (
            "GET /account",
            "/account".into(),
            vec![],
            [303, 200, 200, 200],
        ),
        (
            "POST /account/name",
            "/account/name".into(),
            vec![("name", " ".into())],
            [303, 400, 400, 400],
        ),
        (
            "POST /account/email",
            "/account/email".into(),
            vec![
                ("email", "not an address".into()),
                ("password", PASSWORD.into()),
            ],
            [303, 400, 400, 400],
        ),
        (
            "GET /account/email/confirm",
            "/account/email/confirm?token=forged".into(),
            vec![],
            [303, 400, 400, 400],
        ),
        (
            "GET /account/password",
            "/account/password".into(),
            vec![],
            [303, 200, 200, 200],
        ),
        (
            "POST /account/password",
            "/account/password".into(),
            vec![
                ("current", "wrong one".into()),
                ("password", "a long new passphrase".into()),
            ],
            [303, 400, 400, 400],
        ),
        (
            "GET /numbers",
            "/numbers".into(),
            vec![],
            [200, 200, 200, 200],
        ),
        (
            "GET /numbers/{}",
            "/numbers/2125550603".into(),
            vec![],
            [200, 200, 200, 200],
        ),
        (
            "GET /api/v1/numbers",
            "/api/v1/numbers".into(),
            vec![],
            [200, 200, 200, 200],
        ),
        (
            "POST /checkout",
            "/checkout".into(),
            vec![("number", n.clone()), ("plan", plan.to_string())],
            [303, 409, 409, 409],
        ),
        (
            "GET /checkout/paypal/return",
            "/checkout/paypal/return?token=NOPE".into(),
            vec![],
            [303, 404, 404, 404],
        ),
        (
            "GET /checkout/paypal/cancel",
            "/checkout/paypal/cancel?token=NOPE".into(),
            vec![],
            [303, 404, 404, 404],
        ),
        (
            "GET /invoices/{}",
            format!("/invoices/{inv}"),
            vec![],
            [303, 200, 404, 200],
        ),
        (
            "POST /webhooks/paypal",
            "/webhooks/paypal".into(),
            vec![],
            [400, 400, 400, 400],
        ),
        (
            "GET /orders",
            "/orders".into(),
            vec![],
            [303, 200, 200, 200],
        ),
        (
            "GET /orders/{}",
            format!("/orders/{oa}"),
            vec![],
            [303, 200, 404, 200],
        ),
        (
            "GET /orders/{}/pay",
            format!("/orders/{oa}/pay"),
            vec![],
            // The owner is told the order is paid already (409); no one else sees it.
            [303, 409, 404, 404],
        ),
        (
            "POST /orders/{}/cancel",
            format!("/orders/{oa}/cancel"),
            vec![],
            [303, 409, 404, 404],
        ),
        (
            "POST /orders/{}/record-payment",
            format!("/orders/{oa}/record-payment"),
            vec![],
            // The order is paid: the rules refuse a second payment.
            [303, 403, 403, 409],
        ),
        (
            "POST /orders/{}/refund",
            format!("/orders/{oa2}/refund"),
            vec![],
            // Without confirm=yes the admin gets the confirmation page.
            [303, 403, 403, 200],
        ),
        ("GET /my", "/my".into(), vec![], [303, 200, 200, 200]),
        (
            "GET /my/numbers/{}",
            format!("/my/numbers/{n}"),
            vec![],
            [303, 200, 404, 404],
        ),
        (
            "POST /my/numbers/{}/settings",
            format!("/my/numbers/{n}/settings"),
            vec![("pin", "1234".into()), ("forwarding", String::new())],
            [303, 409, 404, 404],
        ),
        (
            "POST /my/numbers/{}/cancel",
            format!("/my/numbers/{n}/cancel"),
            vec![],
            // Without confirm=yes the owner gets the confirmation page.
            [303, 200, 404, 404],
        ),
        (
            "POST /my/numbers/{}/resume",
            format!("/my/numbers/{n}/resume"),
            vec![],
            // Nothing to undo: refused with the reason.
            [303, 409, 404, 404],
        ),
        (
            "GET /my/invoices",
            "/my/invoices".into(),
            vec![],
            [303, 200, 200, 200],
        ),
        (
            "POST /invoices/{}/pay",
            format!("/invoices/{inv}/pay"),
            vec![],
            // A first invoice was paid with its order: refused for its owner.
            [303, 409, 404, 404],
        ),
        (
            "POST /invoices/{}/record-payment",
            format!("/invoices/{inv}/record-payment"),
            vec![],
            [303, 403, 403, 409],
        ),
        (
            "GET /admin/billing",
            "/admin/billing".into(),
            vec![],
            [303, 403, 403, 200],
        ),
        ("GET /admin", "/admin".into(), vec![], [303, 403, 403, 200]),
        (
            "POST /admin/reconcile",
            "/admin/reconcile".into(),
            vec![],
            [303, 403, 403, 303],
        ),
        (
            "GET /admin/outbox",
            "/admin/outbox".into(),
            vec![],
            [303, 403, 403, 200],
        ),
        (
            "POST /admin/outbox/{}/retry",
            "/admin/outbox/1/retry".into(),
            vec![],
            [303, 403, 403, 303],
        ),
        (
            "GET /admin/outbox/preview/{}/{}",
            "/admin/outbox/preview/number_activated/customer".into(),
            vec![],
            [303, 403, 403, 200],
        ),
        (
            "GET /admin/audit",
            "/admin/audit".into(),
            vec![],
            [303, 403, 403, 200],
        ),
        (
            "GET /admin/numbers",
            "/admin/numbers".into(),
            vec![],
            [303, 403, 403, 200],
        ),
        (
            "POST /admin/numbers/import",
            "/admin/numbers/import".into(),
            vec![],
            [303, 403, 403, 400],
        ),
        (
            "POST /admin/numbers/sync",
            "/admin/numbers/sync".into(),
            vec![],
            [303, 403, 403, 303],
        ),
        (
            "GET /admin/orders",
            "/admin/orders".into(),
            vec![],
            [303, 403, 403, 200],
        ),
        (
            "POST /admin/orders/{}/status",
            format!("/admin/orders/{oa}/status"),
            vec![("status", "pending".into())],
            [303, 403, 403, 303],
        ),
        (
            "GET /admin/customers/{}",
            format!("/admin/customers/{ua}"),
            vec![],
            [303, 403, 403, 200],
        ),
        (
            "POST /admin/customers/{}",
            format!("/admin/customers/{ua}"),
            vec![("telinta_customer", String::new())],
            [303, 403, 403, 303],
        ),
        (
            "GET /admin/plans",
            "/admin/plans".into(),
            vec![],
            [303, 403, 403, 200],
        ),
        (
            "POST /admin/plans",
            "/admin/plans".into(),
            vec![("name", String::new())],
            [303, 403, 403, 400],
        ),
        (
            "POST /admin/plans/{}",
            format!("/admin/plans/{plan}"),
            vec![("name", String::new())],
            [303, 403, 403, 400],
        ),
    ]
}

fn as_role(p: &TestPortal, role: usize) -> Client {
    let mut c = p.client();
    match role {
        1 => {
            c.login("a@example.com", PASSWORD);
        }
        2 => {
            c.login("b@example.com", PASSWORD);
        }
        3 => {
            c.login("root@example.com", PASSWORD);
        }
        _ => {
            c.get("/login");
        }
    }
    c
}

#[test]
fn every_route_has_a_row() {
    let w = world();
    let covered: Vec<&str> = matrix(&w).iter().map(|(k, ..)| *k).collect();
    let routes = router_routes();
    assert!(routes.len() >= 40, "the router was read: {routes:?}");
    assert!(routes.contains(&"POST /admin/orders/{}/status".to_string()));
    let missing: Vec<String> = routes
        .into_iter()
        .filter(|r| !covered.contains(&r.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without an authorization row: {missing:?}"
    );
}

#[test]
fn every_role_gets_the_expected_status_on_every_route() {
    let w = world();
    let names = ["anonymous", "customer A", "customer B", "admin"];
    let mut wrong = Vec::new();
    for (key, path, form, expected) in matrix(&w) {
        for role in 0..4 {
            let mut c = as_role(&w.p, role);
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let got = if key.starts_with("GET") {
                c.get(&path).status
            } else {
                c.post(&path, &form).status
            };
            if got != expected[role] {
                wrong.push(format!(
                    "{key} as {}: {got}, expected {}",
                    names[role], expected[role]
                ));
            }
            // The other method never does anything.
            let other = if key.starts_with("GET") {
                c.post(&path, &form).status
            } else {
                c.get(&path).status
            };
            if other < 400 {
                let same_route_get = router_routes().contains(&format!("GET {}", &key[5..]));
                let same_route_post = router_routes().contains(&format!("POST {}", &key[4..]));
                if !(same_route_get || same_route_post) {
                    wrong.push(format!(
                        "{key} as {} with the other method: {other}",
                        names[role]
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
