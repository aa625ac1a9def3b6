//! Inventory and public search: every kind against a brute-force filter, paging, held and
//! sold numbers, validation, rate limits, import and sync.

use std::collections::HashMap;

use crate::support::TestPortal;
use didport::demo::generate_numbers;
use didport::domain::Role;
use didport::domain::search::{self, NumberType};
use didport::integrations::telinta::TelintaClient;
use didport::sim::telinta::{Failure, TelintaSim, Times};
use didport::store::numbers::{NewNumber, insert_new, set_availability};

struct Inventory {
    /// (number, state, type, available)
    rows: Vec<(String, String, NumberType, bool)>,
}

/// A portal with a generated inventory in which some numbers are held or sold.
fn stocked(count: usize) -> (TestPortal, Inventory) {
    let p = TestPortal::start();
    let generated = generate_numbers(count, 99);
    let now = p.clock_now();
    p.store()
        .write(|tx| {
            let rows: Vec<NewNumber<'_>> = generated
                .iter()
                .map(|g| NewNumber {
                    number: &g.number,
                    state: g.state,
                    rate_center: g.rate_center,
                    kind: None,
                    source: "import",
                })
                .collect();
            insert_new(tx, &rows, now)?;
            for (i, g) in generated.iter().enumerate() {
                match i % 13 {
                    0 => {
                        set_availability(tx, &g.number, "held", now)?;
                    }
                    1 => {
                        set_availability(tx, &g.number, "sold", now)?;
                    }
                    _ => {}
                }
            }
            Ok::<_, didport::store::Error>(())
        })
        .unwrap();
    let rows = generated
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let kind = if g.number.is_toll_free() {
                NumberType::TollFree
            } else {
                NumberType::Local
            };
            (
                g.number.digits().to_string(),
                g.state.to_string(),
                kind,
                i % 13 > 1,
            )
        })
        .collect();
    (p, Inventory { rows })
}

impl TestPortal {
    fn clock_now(&self) -> i64 {
        use didport::clock::Clock;
        self.clock.now()
    }
}

fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every page of an API search, in order.
fn all_pages(c: &mut crate::support::Client, pairs: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut page = 1u32;
    loop {
        let mut q: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        q.push(("page", page.to_string()));
        q.push(("per_page", "100".into()));
        let qs = q
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
            .collect::<Vec<_>>()
            .join("&");
        let r = c.get(&format!("/api/v1/numbers?{qs}"));
        assert_eq!(r.status, 200, "{qs}: {}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(v["page"], page);
        let nums = v["numbers"].as_array().unwrap();
        for n in nums {
            let number = n["number"].as_str().unwrap().to_string();
            assert_eq!(n["npa"].as_str().unwrap(), &number[..3]);
            assert_eq!(n["nxx"].as_str().unwrap(), &number[3..6]);
            out.push(number);
        }
        match v["next_page"].as_u64() {
            Some(next) => {
                assert_eq!(next, u64::from(page) + 1);
                assert_eq!(nums.len(), 100, "only the last page may be short");
                page += 1;
            }
            None => return out,
        }
    }
}

#[test]
fn every_search_kind_returns_exactly_the_matching_available_numbers() {
    let (p, inv) = stocked(4000);
    let mut c = p.client();
    let first = &inv.rows[7].0;
    let (npa, nxx) = (&first[..3], &first[3..6]);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("npa", npa)],
        vec![("npa", npa), ("nxx", nxx)],
        vec![("state", "TX")],
        vec![("state", "ny"), ("type", "local")],
        vec![("type", "tollfree")],
        vec![("q", "21"), ("match", "starts")],
        vec![("q", &first[..5]), ("match", "starts")],
        vec![("npa", npa), ("q", &first[3..5]), ("match", "starts")],
        vec![("q", "7")],
        vec![("q", "42"), ("match", "contains")],
        vec![("q", "555")],
        vec![("q", &first[4..8])],
        vec![("q", &first[2..9])],
        vec![("q", "9"), ("match", "ends")],
        vec![("q", "07"), ("match", "ends")],
        vec![("q", "123"), ("match", "ends")],
        vec![("q", &first[6..]), ("match", "ends")],
        vec![("q", "BE"), ("match", "ends"), ("type", "tollfree")],
        vec![("q", "cab"), ("state", "CA")],
        vec![("q", "flow"), ("match", "contains")],
        vec![("q", "000"), ("match", "contains")],
        vec![("npa", npa), ("q", &first[5..8]), ("match", "contains")],
        vec![("npa", npa), ("q", &first[5..9]), ("match", "contains")],
        vec![("q", &first[3..8]), ("match", "contains"), ("state", "TX")],
        vec![("q", &first[7..]), ("match", "contains"), ("type", "local")],
        vec![("npa", npa), ("q", &first[7..]), ("match", "ends")],
        vec![("q", &first[7..]), ("match", "ends"), ("state", "TX")],
        vec![("npa", "800"), ("q", "4"), ("match", "ends")],
        vec![
            ("npa", npa),
            ("nxx", nxx),
            ("q", "999"),
            ("match", "starts"),
        ],
    ];
    for case in cases {
        let s = search::parse(&params(&case)).unwrap();
        let mut expected: Vec<String> = inv
            .rows
            .iter()
            .filter(|(n, st, k, avail)| *avail && search::matches(&s, n, st, *k))
            .map(|(n, ..)| n.clone())
            .collect();
        expected.sort();
        let got = all_pages(&mut c, &case);
        assert_eq!(got, expected, "search {case:?}");
    }
}

#[test]
fn vanity_letters_search_like_their_digits() {
    let (p, _) = stocked(3000);
    let mut c = p.client();
    let words = all_pages(&mut c, &[("q", "DOG"), ("match", "ends")]);
    let digits = all_pages(&mut c, &[("q", "364"), ("match", "ends")]);
    assert!(!digits.is_empty());
    assert_eq!(words, digits);
    let page = c.get("/numbers?q=dog&match=ends");
    assert!(page.text("#result-summary").contains("DOG (364)"));
    assert!(page.has("#results mark"), "the match is highlighted");
}

#[test]
fn held_and_sold_numbers_never_appear() {
    let (p, inv) = stocked(2000);
    let mut c = p.client();
    let everything = all_pages(&mut c, &[]);
    for (n, _, _, avail) in &inv.rows {
        assert_eq!(everything.contains(n), *avail, "{n}");
    }
    let held = &inv.rows[0].0;
    let sold = &inv.rows[1].0;
    assert!(all_pages(&mut c, &[("q", held), ("match", "starts")]).is_empty());
    assert_eq!(c.get(&format!("/numbers/{held}")).status, 404);
    assert_eq!(c.get(&format!("/numbers/{sold}")).status, 404);
    let ok = &inv.rows[2].0;
    let page = c.get(&format!("/numbers/{ok}"));
    assert_eq!(page.status, 200);
}

#[test]
fn paging_has_no_gaps_or_repeats_and_links_the_next_page() {
    let (p, inv) = stocked(1500);
    let mut c = p.client();
    let all = all_pages(&mut c, &[]);
    let available = inv.rows.iter().filter(|r| r.3).count();
    assert_eq!(all.len(), available);
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, all, "sorted, no repeats");

    let page1 = c.get("/numbers?per_page=10");
    assert_eq!(page1.texts("#results tbody tr").len(), 10);
    let next = page1.attr("#next-page", "href").unwrap();
    assert!(!page1.has("#prev-page"));
    let page2 = c.get(&next);
    assert!(page2.has("#prev-page"));
    let ids = |r: &crate::support::Resp| r.texts("#results a.number");
    let (a, b) = (ids(&page1), ids(&page2));
    assert_eq!(b.len(), 10);
    assert!(a.iter().all(|x| !b.contains(x)));
    // Past the end: an empty page that says so, and no next link.
    let far = c.get("/numbers?page=999");
    assert_eq!(far.status, 200);
    assert!(far.has("#no-results"));
    assert!(!far.has("#next-page"));
}

#[test]
fn empty_results_suggest_a_broader_search() {
    let (p, _) = stocked(500);
    let mut c = p.client();
    let r = c.get("/numbers?npa=999");
    assert_eq!(r.status, 200);
    assert!(r.text("#no-results").contains("broader search"));
    let api = c.get("/api/v1/numbers?npa=999");
    assert_eq!(api.status, 200);
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(v["numbers"].as_array().unwrap().len(), 0);
    assert!(v["next_page"].is_null());
}

#[test]
fn bad_parameters_get_400_with_a_message_never_500() {
    let p = TestPortal::start();
    let mut c = p.client();
    let cases = [
        ("npa=21", "npa"),
        ("npa=2125", "npa"),
        ("npa=abc", "npa"),
        ("nxx=555", "nxx"),
        ("state=ZZ", "state"),
        ("q=----", "q"),
        ("q=12345678901", "q"),
        ("q=%25%25%25", "q"),
        ("q=%E0%A5%A7%E0%A5%A8", "q"),
        ("npa=212&q=12345678&match=starts", "q"),
        ("match=sometimes", "match"),
        ("type=mobile", "type"),
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("q=%27%3B+DROP+TABLE+numbers%3B--", "q"),
    ];
    for (qs, field) in cases {
        let api = c.get(&format!("/api/v1/numbers?{qs}"));
        assert_eq!(api.status, 400, "{qs}");
        let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
        assert!(
            v["error"].as_str().unwrap().contains(field),
            "{qs}: {}",
            api.body
        );
        let page = c.get(&format!("/numbers?{qs}"));
        assert_eq!(page.status, 400, "{qs}");
        assert!(page.has("#search-error"), "{qs}");
        assert!(
            page.has(&format!("#{field}-error")),
            "{qs}: {field} error shown by its field"
        );
    }
    assert_eq!(
        p.count("SELECT count(*) FROM sqlite_master WHERE name = 'numbers'"),
        1
    );
}

#[test]
fn search_is_rate_limited_per_client_with_a_friendly_page() {
    let p = TestPortal::start_with(|cfg, _| cfg.search_rate_limit = 3);
    let mut c = p.client();
    for _ in 0..3 {
        assert_eq!(c.get("/numbers?npa=212").status, 200);
    }
    let r = c.get("/numbers?npa=212");
    assert_eq!(r.status, 429);
    assert!(r.has("#rate-limited"));
    assert!(r.header("retry-after").is_some());
    let api = c.get("/api/v1/numbers");
    assert_eq!(api.status, 429);
    // A new minute, a new allowance.
    p.clock.advance(60);
    assert_eq!(c.get("/api/v1/numbers").status, 200);
}

#[test]
fn number_page_offers_the_active_plans() {
    let (p, inv) = stocked(200);
    let now = p.clock_now();
    p.store()
        .write(|tx| {
            use didport::store::plans::{NewPlan, insert};
            insert(
                tx,
                &NewPlan {
                    name: "Starter",
                    description: "Basic <b>line</b>",
                    setup_cents: 500,
                    monthly_cents: 300,
                    number_type: didport::domain::plan::PlanNumberType::Any,
                },
                now,
            )?;
            insert(
                tx,
                &NewPlan {
                    name: "Pro",
                    description: "",
                    setup_cents: 0,
                    monthly_cents: 900,
                    number_type: didport::domain::plan::PlanNumberType::Any,
                },
                now,
            )?;
            Ok::<_, didport::store::Error>(())
        })
        .unwrap();
    let n = &inv.rows[5].0;
    let mut c = p.client();
    let r = c.get(&format!("/numbers/{n}"));
    assert_eq!(r.status, 200);
    assert!(r.has("#buy-form"));
    assert_eq!(
        r.attr("#buy-form input[name=number]", "value").as_deref(),
        Some(n.as_str())
    );
    assert_eq!(r.texts("#buy-form input[name=plan]").len(), 2);
    assert!(r.body.contains("$3.00") && r.body.contains("$5.00"));
    assert!(
        r.body.contains("Basic &lt;b&gt;line&lt;/b&gt;"),
        "plan text is escaped"
    );
    // Another spelling of the same number redirects to the canonical page.
    let pretty = format!("1{n}");
    let r2 = c.get(&format!("/numbers/{pretty}"));
    assert_eq!(r2.status, 303);
    assert_eq!(r2.location(), format!("/numbers/{n}"));
    assert_eq!(c.get("/numbers/not-a-number").status, 404);
}

const CSV: &str = "number,state,rate_center,type
2125550101,NY,NWYRCYZN01,local
+1 (212) 555-0102,ny,NWYRCYZN01,
12125550103,NY,,
8005550104,,,tollfree
999,NY,,
2125550105,ZZ,,
2125550106,NY,,tollfree

3105550107,CA,LOS ANGELES,local
";

#[test]
fn upload_import_reports_bad_rows_and_is_idempotent() {
    let p = TestPortal::start();
    let mut admin = p.signed_in("inv@example.com", Role::Admin);
    admin.get("/admin/numbers");
    let r = admin.post_file(
        "/admin/numbers/import",
        "file",
        "numbers.csv",
        CSV.as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let report = admin.follow(r);
    assert_eq!(
        report.attr("#import-report", "data-added").as_deref(),
        Some("5")
    );
    assert_eq!(
        report.attr("#import-report", "data-bad").as_deref(),
        Some("3")
    );
    assert!(report.text("#problem-6").contains("999"));
    assert!(report.text("#problem-7").contains("ZZ"));
    assert!(report.text("#problem-8").contains("tollfree"));
    assert_eq!(p.count("SELECT count(*) FROM numbers"), 5);
    assert_eq!(
        p.count("SELECT count(*) FROM numbers WHERE number = 8005550104 AND type = 'tollfree'"),
        1
    );

    // Sell one, then import again: nothing new, and the sold number stays sold.
    p.store()
        .write(|tx| {
            set_availability(
                tx,
                &didport::domain::PhoneNumber::parse("2125550101").unwrap(),
                "sold",
                0,
            )
        })
        .unwrap();
    admin.get("/admin/numbers");
    let r = admin.post_file(
        "/admin/numbers/import",
        "file",
        "numbers.csv",
        CSV.as_bytes(),
    );
    let again = admin.follow(r);
    assert_eq!(
        again.attr("#import-report", "data-added").as_deref(),
        Some("0")
    );
    assert_eq!(p.count("SELECT count(*) FROM numbers"), 5);
    assert_eq!(
        p.count("SELECT count(*) FROM numbers WHERE number = 2125550101 AND availability = 'sold'"),
        1
    );

    // A file without a header naming `number` changes nothing and says why.
    let bad = admin.post_file("/admin/numbers/import", "file", "x.csv", b"2125550199,NY\n");
    assert_eq!(bad.status, 400);
    assert!(bad.text("#file-error").contains("number"));
    assert_eq!(p.count("SELECT count(*) FROM numbers"), 5);

    // Customers cannot import; without the csrf field nobody can.
    let mut cust = p.signed_in("c@example.com", Role::Customer);
    cust.get("/my");
    assert_eq!(
        cust.post_file("/admin/numbers/import", "file", "n.csv", CSV.as_bytes())
            .status,
        403
    );
    let mut no_csrf = p.client();
    no_csrf.login("inv@example.com", crate::support::PASSWORD);
    no_csrf.csrf = None;
    assert_eq!(
        no_csrf
            .post_file("/admin/numbers/import", "file", "n.csv", CSV.as_bytes())
            .status,
        403
    );
}

fn portal_with_telinta(sim: &TelintaSim) -> TestPortal {
    let mut cfg = sim.client_config();
    cfg.timeout = std::time::Duration::from_millis(800);
    let client = TelintaClient::new(cfg).unwrap();
    TestPortal::start_with(move |_, opts| opts.telinta = Some(std::sync::Arc::new(client)))
}

#[test]
fn sync_pulls_free_numbers_and_withdraws_the_ones_gone_upstream() {
    let sim = TelintaSim::start(5).unwrap();
    let free = sim.seed_free_numbers(1200, Some(1));
    let p = portal_with_telinta(&sim);
    let mut admin = p.signed_in("sync@example.com", Role::Admin);
    admin.get("/admin/numbers");
    let r = admin.post("/admin/numbers/sync", &[]);
    assert_eq!(r.status, 303);
    assert_eq!(
        p.count("SELECT count(*) FROM numbers WHERE source = 'telinta'"),
        1200
    );

    // One number gets assigned upstream, one is sold here; the session also expires.
    sim.set_owner(&free[0], Some(sim.add_customer("someone")));
    p.store()
        .write(|tx| {
            set_availability(
                tx,
                &didport::domain::PhoneNumber::parse(&free[1]).unwrap(),
                "sold",
                0,
            )
        })
        .unwrap();
    sim.set_owner(&free[1], Some(sim.add_customer("buyer")));
    sim.expire_sessions();
    let r = admin.post("/admin/numbers/sync", &[]);
    assert_eq!(r.status, 303);
    let page = admin.follow(r);
    assert!(
        page.text("#flash").contains("1 withdrawn"),
        "{}",
        page.text("#flash")
    );
    assert_eq!(
        p.count(&format!(
            "SELECT count(*) FROM numbers WHERE number = {}",
            free[0]
        )),
        0
    );
    assert_eq!(
        p.count(&format!(
            "SELECT count(*) FROM numbers WHERE number = {} AND availability = 'sold'",
            free[1]
        )),
        1
    );
    let mut c = p.client();
    assert!(all_pages(&mut c, &[("q", &free[0]), ("match", "starts")]).is_empty());
    assert!(
        sim.call_count("Session/login") >= 2,
        "logged in again after the session expired"
    );

    // A fault upstream: nothing changes and the admin is told.
    sim.fail(
        "DID/get_number_list",
        Failure::fault("Server.DID.internal_error", "database is down"),
        Times::Once,
    );
    let before = p.count("SELECT count(*) FROM numbers");
    let r = admin.post("/admin/numbers/sync", &[]);
    let failed = admin.follow(r);
    assert!(
        failed.text("#flash").contains("nothing was changed"),
        "{}",
        failed.body
    );
    assert!(failed.text("#flash").contains("database is down"));
    assert_eq!(p.count("SELECT count(*) FROM numbers"), before);
    assert_eq!(
        p.count("SELECT count(*) FROM imports WHERE error IS NOT NULL"),
        1
    );
}

#[test]
fn without_telinta_the_sync_button_explains_why() {
    let p = TestPortal::start();
    let mut admin = p.signed_in("nosync@example.com", Role::Admin);
    let page = admin.get("/admin/numbers");
    assert!(page.has("#telinta-missing"));
    let r = admin.post("/admin/numbers/sync", &[]);
    let r = admin.follow(r);
    assert!(r.text("#flash").contains("not configured"));
}

#[test]
fn imported_rows_are_found_by_search() {
    let p = TestPortal::start();
    didport::workflow::inventory::import_csv(p.store(), CSV.as_bytes(), 0, &mut |_| {}).unwrap();
    let mut c = p.client();
    let found = all_pages(&mut c, &[("state", "NY")]);
    assert_eq!(found, vec!["2125550101", "2125550102", "2125550103"]);
}

/// A small shop window: numbers with rate centers in known area codes, a plan for any number
/// at $3.00 a month and a cheaper one for toll-free numbers at $2.00.
fn shop_window() -> TestPortal {
    use didport::domain::PhoneNumber;
    use didport::domain::plan::PlanNumberType;
    use didport::store::plans::{NewPlan, insert};
    let p = TestPortal::start();
    let rows = [
        ("2123569377", "NY", "NWYRCYZN01"),
        ("2125550142", "NY", "NWYRCYZN01"),
        ("3569377212", "NY", ""),
        ("3105550123", "CA", "LSAN DA 01"),
        ("8883569377", "NY", ""),
    ];
    let numbers: Vec<PhoneNumber> = rows
        .iter()
        .map(|(n, ..)| PhoneNumber::parse(n).unwrap())
        .collect();
    p.store()
        .write(|tx| {
            let new: Vec<NewNumber<'_>> = rows
                .iter()
                .zip(&numbers)
                .map(|((_, state, rc), number)| NewNumber {
                    number,
                    state,
                    rate_center: rc,
                    kind: None,
                    source: "import",
                })
                .collect();
            insert_new(tx, &new, 0)?;
            for (name, cents, t) in [
                ("Starter", 300, PlanNumberType::Any),
                ("Toll-free", 200, PlanNumberType::TollFree),
            ] {
                insert(
                    tx,
                    &NewPlan {
                        name,
                        description: "",
                        setup_cents: 0,
                        monthly_cents: cents,
                        number_type: t,
                    },
                    0,
                )?;
            }
            Ok::<_, didport::store::Error>(())
        })
        .unwrap();
    p
}

#[test]
fn three_digits_alone_search_their_area_code_and_say_so() {
    let p = shop_window();
    let mut c = p.client();
    let r = c.get("/numbers?q=212&match=contains");
    assert_eq!(r.status, 200);
    assert!(r.text("#area-code-note").contains("area code 212"));
    assert_eq!(
        r.texts("#results a.number"),
        ["(212) 356-9377", "(212) 555-0142"]
    );
    assert_eq!(r.attr("#s-npa", "value").as_deref(), Some("212"));
    // The other reading is one click away, and stays chosen.
    let anywhere = r.attr("#digits-anywhere", "href").unwrap();
    let r = c.get(&anywhere);
    assert!(!r.has("#area-code-note"));
    assert_eq!(
        r.texts("#results a.number"),
        ["(212) 356-9377", "(212) 555-0142", "(356) 937-7212"]
    );
    assert_eq!(
        r.attr("input[name=digits]", "value").as_deref(),
        Some("anywhere")
    );
}

#[test]
fn results_show_count_place_rate_center_and_monthly_price() {
    let p = shop_window();
    let mut c = p.client();
    let r = c.get("/numbers");
    assert_eq!(r.text("#result-count"), "5 numbers");
    let manhattan = r.text("#result-2125550142");
    assert!(
        manhattan.contains("New York City (Manhattan), NY"),
        "{manhattan}"
    );
    assert!(manhattan.contains("NWYRCYZN01"), "{manhattan}");
    assert!(manhattan.contains("from $3.00"), "{manhattan}");
    let la = r.text("#result-3105550123");
    assert!(la.contains("West Los Angeles and Santa Monica, CA"), "{la}");
    assert!(la.contains("LSAN DA 01"), "{la}");
    let toll_free = r.text("#result-8883569377");
    assert!(toll_free.contains("Nationwide") && toll_free.contains("from $2.00"));
    // Toll-free plans are cheaper, so a sort by price is offered and puts them first.
    assert!(r.has("#sort-form"));
    let r = c.get("/numbers?sort=price");
    assert_eq!(r.texts("#results a.number")[0], "(888) 356-9377");
    assert_eq!(r.texts("#results a.number")[1], "(212) 356-9377");
    assert!(r.attr("#next-page", "href").is_none());
    let one = c.get("/numbers?q=0142&match=ends");
    assert_eq!(one.text("#result-count"), "1 number");
}

#[test]
fn a_word_matches_after_the_area_code_and_is_spelled_out() {
    let p = shop_window();
    let mut c = p.client();
    let r = c.get("/numbers?q=FLOWERS&match=contains");
    assert_eq!(
        r.texts("#results a.number"),
        ["(212) 356-9377", "(888) 356-9377"],
        "(356) 937-7212 has FLOWERS across its area code"
    );
    assert_eq!(r.text("#result-2123569377 .vanity"), "(212) FLOWERS");
    // The same digits typed as digits may match anywhere; no word form is shown.
    let r = c.get("/numbers?q=3569377&match=contains&digits=anywhere");
    assert_eq!(r.texts("#results a.number").len(), 3);
    assert!(!r.has(".vanity"));
    // A whole-number pattern may cross the boundary: the visitor asked for it.
    let r = c.get("/numbers?q=356FLOWERS&match=starts");
    assert!(r.texts("#results a.number").is_empty());
    let r = c.get("/numbers?q=FLOWERS212&match=starts");
    assert_eq!(r.texts("#results a.number"), ["(356) 937-7212"]);
    // The JSON API follows the same rule.
    let api = c.get("/api/v1/numbers?q=FLOWERS");
    assert!(!api.body.contains("3569377212"), "{}", api.body);
}

#[test]
fn an_empty_result_suggests_only_what_widens_that_search() {
    let p = shop_window();
    let mut c = p.client();
    let r = c.get("/numbers?npa=999");
    assert!(r.has("#widen-npa"));
    for id in [
        "#widen-state",
        "#widen-type",
        "#widen-nxx",
        "#widen-anywhere",
        "#widen-pattern",
    ] {
        assert!(!r.has(id), "{id} suggested for an area-code search");
    }
    let r = c.get("/numbers?q=FLOWERS&match=starts&state=TX&type=tollfree");
    for id in [
        "#widen-anywhere",
        "#widen-pattern",
        "#widen-state",
        "#widen-type",
    ] {
        assert!(r.has(id), "{id} missing");
    }
    assert!(!r.has("#widen-npa"));
    // Each suggestion does widen: leaving out the state and type finds FLOWERS numbers.
    let wider = r.attr("#widen-state", "href").unwrap();
    assert!(
        !wider.contains("state=") && wider.contains("type=tollfree"),
        "{wider}"
    );
    let r = c.get("/numbers?q=FLOWERS&match=ends&state=TX");
    let href = r.attr("#widen-state", "href").unwrap();
    assert_eq!(c.get(&href).texts("#results a.number").len(), 2);
}

#[test]
fn the_inventory_lists_numbers_by_digits_and_state_and_reports_repeated_rows() {
    let p = TestPortal::start();
    let mut admin = p.signed_in("inv@example.com", Role::Admin);
    admin.get("/admin/numbers");
    let csv =
        "number,state\n2125550101,NY\n2125550102,NY\n8137662255,FL\n2125550101,NJ\nnonsense,NY\n";
    let r = admin.post_file("/admin/numbers/import", "file", "n.csv", csv.as_bytes());
    assert_eq!(r.status, 303, "{}", r.body);
    let report = admin.follow(r);
    // Partly imported is not an error: a notice, with the skipped rows listed.
    assert!(
        report.has("#flash.flash-notice"),
        "{}",
        report.text("#flash")
    );
    assert!(report.text("#flash").contains("2 rows were skipped"));
    assert!(
        report
            .text("#problem-2")
            .contains("the same number as line 5"),
        "{}",
        report.text("#problems")
    );
    assert!(report.has("#problem-6"));
    // Nothing usable at all is an error.
    let r = admin.post_file(
        "/admin/numbers/import",
        "file",
        "bad.csv",
        b"number\nx\ny\n",
    );
    assert!(admin.follow(r).has("#flash.flash-error"));

    // The list finds a number written the way people write it, and shows its state.
    let found = admin.get("/admin/numbers?q=%28813%29+766-2255");
    assert_eq!(found.texts("#numbers tbody tr").len(), 1);
    assert!(found.text("#number-8137662255").contains("Available"));
    set_held(&p, "2125550102");
    let held = admin.get("/admin/numbers?availability=held");
    assert_eq!(held.texts("#numbers td.title-cell"), ["(212) 555-0102"]);
    assert!(
        held.text("#number-2125550102")
            .contains("Held during checkout")
    );
    let none = admin.get("/admin/numbers?q=999999");
    assert!(none.has("#no-numbers"));
    // Customers cannot read it.
    let mut cust = p.signed_in("c@example.com", Role::Customer);
    assert_eq!(cust.get("/admin/numbers?q=212").status, 403);
}

fn set_held(p: &TestPortal, number: &str) {
    p.store()
        .write(|tx| {
            let n = didport::domain::PhoneNumber::parse(number).unwrap();
            set_availability(tx, &n, "held", 0)
        })
        .unwrap();
}
