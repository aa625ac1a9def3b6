//! Public number search: the page and the JSON API (one number's page is `number`).

use maud::{Markup, PreEscaped, html};

use super::page;
use crate::domain::Money;
use crate::domain::search::{self, MatchMode, NumberType, STATES, Search, SortBy};
use crate::http::{Response, encode_query};
use crate::store::numbers::{self, NumberRow};
use crate::store::plans;
use crate::web::{Ctx, Reply};

/// Counts a search against the client's per-minute allowance (and for the dashboard).
fn rate_limited(ctx: &Ctx<'_>) -> Option<i64> {
    crate::metrics::count_search();
    ctx.app
        .search_limiter
        .check(&ctx.client, ctx.app.now())
        .err()
}

pub fn search_api(ctx: &Ctx<'_>) -> Reply {
    if let Some(wait) = rate_limited(ctx) {
        return Ok(Response::json(
            429,
            &serde_json::json!({"error": format!("Too many searches from your address; try again in {wait} seconds.")}),
        )
        .with_header("Retry-After", &wait.to_string()));
    }
    let s = match search::parse(&ctx.req.query_params()) {
        Ok(s) => s,
        Err(errors) => {
            let msg = errors
                .iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join(" ");
            return Ok(Response::json(400, &serde_json::json!({ "error": msg })));
        }
    };
    let (rows, more) = match ctx.app.services.store.read(|tx| numbers::search(tx, &s)) {
        Ok(r) => r,
        Err(e) => {
            let id = crate::secure::short_id();
            log::error!("incident {id}: search failed: {e}");
            return Ok(Response::json(
                500,
                &serde_json::json!({"error": format!("Search failed (incident {id}).")}),
            ));
        }
    };
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "number": r.number.as_str(),
                "npa": r.npa(),
                "nxx": r.nxx(),
                "state": r.state.as_str(),
                "rate_center": r.rate_center.as_str(),
                "type": r.kind.as_str(),
            })
        })
        .collect();
    Ok(Response::json(
        200,
        &serde_json::json!({
            "numbers": list,
            "page": s.page,
            "per_page": s.per_page,
            "next_page": if more { Some(s.page + 1) } else { None },
        }),
    ))
}

fn too_many(ctx: &Ctx<'_>, wait: i64) -> Response {
    page(
        ctx,
        429,
        "Slow down a little",
        html! {
            section.narrow id="rate-limited" {
                h1 { "Slow down a little" }
                p { "You have searched a lot in the last minute. Please wait "
                    (wait) " seconds, then search again. Your search is not lost: reload the page when the time is up." }
            }
        },
    )
    .with_header("Retry-After", &wait.to_string())
}

pub fn search_page(ctx: &Ctx<'_>) -> Reply {
    if let Some(wait) = rate_limited(ctx) {
        return Ok(too_many(ctx, wait));
    }
    let asked = ctx.req.query_params();
    // Three digits alone are read as an area code; the page says so and offers the other reading.
    let (params, read_as_npa) = match search::as_area_code(&asked) {
        Some(p) => (p, asked.get("q").map(|q| q.trim().to_string())),
        None => (asked, None),
    };
    let s = match search::parse(&params) {
        Ok(s) => s,
        Err(errors) => {
            let form = search_form(&params, &errors);
            return Ok(page(
                ctx,
                400,
                "Find a number",
                html! {
                    h1 { "Find a number" }
                    div.flash.flash-error id="search-error" role="alert" {
                        "Please correct the search: " (errors.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join(" "))
                    }
                    (form)
                },
            ));
        }
    };
    // Plans, the page of numbers and its total from one snapshot.
    let (prices, (rows, more), total) = ctx.read(|tx| {
        let prices = Prices::of(&plans::list(tx, true)?);
        let first = match s.sort {
            SortBy::Price => prices.cheaper_type(),
            SortBy::Number => None,
        };
        let (rows, more, total) =
            numbers::results_page(tx, ctx.app.services.store.counts(), &s, first)?;
        Ok((prices, (rows, more), total))
    })?;
    let currency = ctx.app.config().currency;
    Ok(page(
        ctx,
        200,
        "Find a number",
        html! {
            h1 { "Find a number" }
            (search_form(&params, &[]))
            @if let Some(q) = &read_as_npa {
                p.notice id="area-code-note" role="status" {
                    "Showing numbers in area code " strong { (q) } ". "
                    a id="digits-anywhere" href=(format!("/numbers?{}", encode_query(&[("q", q.as_str()), ("digits", "anywhere")]))) {
                        "Look for " (q) " anywhere in the number instead"
                    }
                }
            }
            @if rows.is_empty() {
                (empty_state(&s))
            } @else {
                div.results-bar {
                    p id="result-summary" {
                        strong id="result-count" { (count_text(total)) } " · " (describe(&s))
                        @if s.page > 1 { " · page " (s.page) }
                    }
                    @if prices.differ() {
                        (sort_form(&s))
                    }
                }
                div.table-wrap {
                    table.data.stacked id="results" {
                        thead { tr { th { "Number" } th { "Location" } th { "Type" } th.num { "Monthly" } th { span.visually-hidden { "Choose" } } } }
                        // A results page is 50 of these rows, so each cell carries no class
                        // or label of its own: `#results` in style.css styles the cells by
                        // column and gives the phone layout its labels (Location, Type,
                        // Monthly), as `data-label` does for other tables.
                        tbody {
                            @for r in &rows {
                                tr id={ "result-" (Text(&r.number)) } {
                                    td {
                                        a.number href={ "/numbers/" (Text(&r.number)) } { (Highlight(r, &s)) }
                                        @if let Some(v) = vanity(r, &s) { span.vanity { (v) } }
                                    }
                                    td { (Location(r)) }
                                    td { (type_badge(r.kind)) }
                                    td.num {
                                        @match prices.for_kind(r.kind) {
                                            Some(c) => span { "from " span.price { (Money::new(c, currency)) } }
                                            None => span.muted { "no plan yet" }
                                        }
                                    }
                                    td { a.button.small href={ "/numbers/" (Text(&r.number)) } aria-label={ "Choose " (Pretty(&r.number)) } { "Choose" } }
                                }
                            }
                        }
                    }
                }
                nav.pager aria-label="Pages" {
                    @if s.page > 1 {
                        a id="prev-page" rel="prev" href=(page_link(&s, s.page - 1)) { "← Previous" }
                    }
                    @if more {
                        a id="next-page" rel="next" href=(page_link(&s, s.page + 1)) { "Next →" }
                    }
                }
            }
        },
    ))
}

/// The cheapest monthly price of the plans that fit each type of number.
struct Prices {
    local: Option<i64>,
    toll_free: Option<i64>,
}

impl Prices {
    fn of(plans: &[crate::store::plans::Plan]) -> Prices {
        let cheapest = |k: NumberType| {
            plans
                .iter()
                .filter(|p| p.number_type.fits(k))
                .map(|p| p.monthly_cents)
                .min()
        };
        Prices {
            local: cheapest(NumberType::Local),
            toll_free: cheapest(NumberType::TollFree),
        }
    }

    fn for_kind(&self, k: NumberType) -> Option<i64> {
        match k {
            NumberType::Local => self.local,
            NumberType::TollFree => self.toll_free,
        }
    }

    /// A sort by price means something only when the types cost differently.
    fn differ(&self) -> bool {
        self.local != self.toll_free
    }

    /// The type whose plans are cheaper (a type with no plan comes last).
    fn cheaper_type(&self) -> Option<NumberType> {
        match (self.local, self.toll_free) {
            (Some(l), Some(t)) if l < t => Some(NumberType::Local),
            (Some(l), Some(t)) if t < l => Some(NumberType::TollFree),
            (Some(_), None) => Some(NumberType::Local),
            (None, Some(_)) => Some(NumberType::TollFree),
            _ => None,
        }
    }
}

/// `1,234 numbers`, or a floor once the count stops.
fn count_text(total: u64) -> String {
    if total > numbers::COUNT_CAP {
        format!("More than {} numbers", thousands(numbers::COUNT_CAP))
    } else if total == 1 {
        "1 number".into()
    } else {
        format!("{} numbers", thousands(total))
    }
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The sort picker: a small GET form that repeats the search.
fn sort_form(s: &Search) -> Markup {
    let keep: Vec<(&'static str, String)> = s
        .query_for_page(1)
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "sort" | "page"))
        .collect();
    html! {
        form.sort-form id="sort-form" method="get" action="/numbers" {
            @for (k, v) in &keep { input type="hidden" name=(k) value=(v); }
            label for="sort" { "Sort by" }
            select id="sort" name="sort" {
                option value="number" selected[s.sort == SortBy::Number] { "Number" }
                option value="price" selected[s.sort == SortBy::Price] { "Monthly price" }
            }
            button.small.secondary type="submit" id="sort-submit" { "Sort" }
        }
    }
}

/// No results: suggest only what would widen this search.
fn empty_state(s: &Search) -> Markup {
    let without = |drop: &[&str], extra: &[(&'static str, &str)]| -> String {
        let mut q: Vec<(&'static str, String)> = s
            .query_for_page(1)
            .into_iter()
            .filter(|(k, _)| !drop.contains(k) && *k != "page")
            .collect();
        for (k, v) in extra {
            q.retain(|(qk, _)| qk != k);
            q.push((k, v.to_string()));
        }
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("/numbers?{}", encode_query(&pairs))
    };
    let mut ideas: Vec<(&'static str, String, String)> = Vec::new();
    if let Some((d, m)) = &s.pattern {
        if *m != MatchMode::Contains {
            ideas.push((
                "widen-anywhere",
                format!("Look for {} anywhere in the number", shown_pattern(s, d)),
                without(&[], &[("match", "contains")]),
            ));
        }
        ideas.push((
            "widen-pattern",
            format!("Leave out {}", shown_pattern(s, d)),
            without(&["q", "match"], &[]),
        ));
    }
    if s.nxx.is_some() {
        ideas.push((
            "widen-nxx",
            "Leave out the exchange".into(),
            without(&["nxx"], &[]),
        ));
    }
    if s.npa.is_some() {
        ideas.push((
            "widen-npa",
            "Search every area code".into(),
            without(&["npa", "nxx"], &[]),
        ));
    }
    if let Some(st) = s.state {
        ideas.push((
            "widen-state",
            format!(
                "Search every state, not only {}",
                search::state_name(st).unwrap_or(st)
            ),
            without(&["state"], &[]),
        ));
    }
    if let Some(k) = s.kind {
        let other = match k {
            NumberType::Local => "toll-free",
            NumberType::TollFree => "local",
        };
        ideas.push((
            "widen-type",
            format!("Include {other} numbers"),
            without(&["type"], &[]),
        ));
    }
    html! {
        div.empty id="no-results" {
            p { strong { "No numbers match this search." } }
            @if s.page > 1 {
                p { "There are no more results. " a href=(page_link(s, 1)) { "Back to the first page" } }
            } @else if ideas.is_empty() {
                p { "There are no numbers on sale right now. Please check back soon." }
            } @else {
                p { "Try a broader search:" }
                ul.widen {
                    @for (id, text, href) in &ideas {
                        li { a id=(id) href=(href) { (text) } }
                    }
                }
            }
        }
    }
}

fn shown_pattern(s: &Search, digits: &str) -> String {
    if s.is_word() {
        s.q_raw.to_uppercase()
    } else {
        digits.to_string()
    }
}

fn page_link(s: &Search, page: u32) -> String {
    let q = s.query_for_page(page);
    let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
    format!("/numbers?{}", encode_query(&pairs))
}

fn describe(s: &Search) -> String {
    let mut parts = Vec::new();
    if let Some(n) = &s.npa {
        parts.push(match &s.nxx {
            Some(x) => format!("area code {n}, exchange {x}"),
            None => format!("area code {n}"),
        });
    }
    if let Some(st) = s.state {
        parts.push(search::state_name(st).unwrap_or(st).to_string());
    }
    if let Some(k) = s.kind {
        parts.push(k.label().to_lowercase());
    }
    if let Some((d, m)) = &s.pattern {
        let how = match m {
            MatchMode::Starts => "starting with",
            MatchMode::Contains if s.within_line() => "after the area code, containing",
            MatchMode::Contains => "containing",
            MatchMode::Ends => "ending in",
        };
        let shown = if s.is_word() {
            format!("{} ({d})", s.q_raw.to_uppercase())
        } else {
            d.clone()
        };
        parts.push(format!("{how} {shown}"));
    }
    if parts.is_empty() {
        "all available numbers".into()
    } else {
        parts.join(", ")
    }
}

/// Where the matched digits start in a number, and how many there are.
fn match_span(n: &str, s: &Search) -> (usize, usize) {
    match &s.pattern {
        Some((d, MatchMode::Contains)) if s.within_line() => (
            n.get(3..)
                .and_then(|line| line.find(d.as_str()))
                .map_or(0, |i| i + 3),
            d.len(),
        ),
        Some((d, MatchMode::Contains)) => (n.find(d.as_str()).unwrap_or(0), d.len()),
        Some((d, MatchMode::Ends)) => (n.len().saturating_sub(d.len()), d.len()),
        Some((d, MatchMode::Starts)) => (if s.npa.is_some() { 3 } else { 0 }, d.len()),
        None => (0, 0),
    }
}

/// The number as `(212) 555-1234` with the matched digits marked, written straight into the
/// page: the number is ten digits from the database, so there is nothing to escape.
struct Highlight<'a>(&'a NumberRow, &'a Search);

impl maud::Render for Highlight<'_> {
    fn render_to(&self, out: &mut String) {
        let n = &self.0.number;
        let (start, len) = match_span(n, self.1);
        let end = start + len;
        for (i, c) in n.char_indices() {
            if !c.is_ascii_digit() {
                continue;
            }
            match i {
                0 => out.push('('),
                3 => out.push_str(") "),
                6 => out.push('-'),
                _ => {}
            }
            if i == start && len > 0 {
                out.push_str("<mark>");
            }
            out.push(c);
            if i + 1 == end && len > 0 {
                out.push_str("</mark>");
            }
        }
    }
}

/// The number spelled the way the visitor searched it, `(212) 55-FLOWERS`, when they
/// searched a word.
fn vanity(r: &NumberRow, s: &Search) -> Option<String> {
    if !s.is_word() {
        return None;
    }
    let typed: Vec<char> = s
        .q_raw
        .chars()
        .filter(|c| search::keypad_digit(*c).is_some())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let n: Vec<char> = r.number.chars().collect();
    let (start, len) = match_span(&r.number, s);
    if n.len() != 10 || typed.len() != len || start + len > 10 {
        return None;
    }
    let mut spelled = n.clone();
    spelled[start..start + len].copy_from_slice(&typed);
    let text = |from: usize, to: usize| spelled[from..to].iter().collect::<String>();
    Some(if start >= 3 {
        let before = text(3, start);
        let sep = if before.is_empty() { "" } else { "-" };
        format!("({}) {before}{sep}{}", text(0, 3), text(start, 10))
    } else {
        text(0, 10)
    })
}

/// The `<option>`s of the state picker, drawn once per selected state.
fn state_options(selected: &str) -> Markup {
    static CACHE: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = CACHE.get_or_init(|| {
        (0..=STATES.len())
            .map(|sel| {
                html! {
                    option value="" selected[sel == 0] { "Any state" }
                    @for (i, (code, name)) in STATES.iter().enumerate() {
                        option value=(code) selected[sel == i + 1] { (name) }
                    }
                }
                .into_string()
            })
            .collect()
    });
    let idx = STATES
        .iter()
        .position(|(c, _)| c.eq_ignore_ascii_case(selected))
        .map_or(0, |i| i + 1);
    PreEscaped(all.get(idx).cloned().unwrap_or_default())
}

/// `(212) 555-1234` for a stored number, written straight into the page (a results page
/// writes fifty).
struct Pretty<'a>(&'a str);

/// Text from the inventory (a number's digits, a rate center), escaped only when it holds a
/// character that needs it: a results page writes a few hundred of them.
struct Text<'a>(&'a str);

impl maud::Render for Text<'_> {
    fn render_to(&self, buffer: &mut String) {
        push_text(buffer, self.0);
    }
}

impl maud::Render for Pretty<'_> {
    fn render_to(&self, buffer: &mut String) {
        let n = self.0;
        match (n.get(..3), n.get(3..6), n.get(6..)) {
            (Some(a), Some(b), Some(c))
                if n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()) =>
            {
                buffer.push('(');
                buffer.push_str(a);
                buffer.push_str(") ");
                buffer.push_str(b);
                buffer.push('-');
                buffer.push_str(c);
            }
            _ => maud::Render::render_to(&n, buffer),
        }
    }
}

/// Where a number rings: the area code's city or region, with the rate center as the
/// inventory gives it as a smaller second line; written straight into the page.
struct Location<'a>(&'a NumberRow);

impl maud::Render for Location<'_> {
    fn render_to(&self, buffer: &mut String) {
        let r = self.0;
        if r.kind == NumberType::TollFree {
            buffer.push_str("Nationwide");
            return;
        }
        buffer.push_str("<span class=\"place\">");
        match crate::domain::area_codes::lookup(r.npa()) {
            // The area code says the state; an inventory row may disagree.
            Some(a) => {
                push_text(buffer, a.place);
                buffer.push_str(", ");
                push_text(buffer, a.state);
            }
            None => search::state_name(&r.state)
                .unwrap_or(&r.state)
                .render_to(buffer),
        }
        buffer.push_str("</span>");
        let rate_center = r.rate_center.trim();
        if !rate_center.is_empty() {
            buffer.push_str(" <span class=\"rate-center\" title=\"Rate center\">");
            push_text(buffer, rate_center);
            buffer.push_str("</span>");
        }
    }
}

/// Text into HTML: copied as it is when nothing in it needs escaping (the area code table's
/// places, always), escaped otherwise.
fn push_text(buffer: &mut String, text: &str) {
    if text
        .bytes()
        .any(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
    {
        maud::Render::render_to(&text, buffer);
    } else {
        buffer.push_str(text);
    }
}

/// Where a number is: the area code's place and state, or "Nationwide"; the rate center
/// (as given) beside it.
pub fn location(r: &NumberRow) -> Markup {
    html! { (Location(r)) }
}

pub fn type_badge(k: NumberType) -> Markup {
    html! {
        @match k {
            NumberType::TollFree => span.badge.badge-info { "Toll-free" },
            NumberType::Local => span.badge.badge-off { "Local" },
        }
    }
}

/// The search form, on the home page and above results. The advanced fields sit in a
/// `<details>`: folded on a phone, shown in a row on a wide screen (see `style.css`).
pub fn search_form(
    params: &std::collections::HashMap<String, String>,
    errors: &[(&str, String)],
) -> Markup {
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    let err = |k: &str| {
        errors
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, m)| m.as_str())
    };
    let first = super::first_error(errors, &["q", "match", "npa", "nxx", "state", "type"]);
    let m = match get("match") {
        "" => "contains",
        v => v,
    };
    let t = match get("type") {
        "" => "any",
        v => v,
    };
    let advanced_set = ["nxx", "type", "match"]
        .iter()
        .any(|k| !matches!(get(k), "" | "any" | "contains") || err(k).is_some());
    let field = |name: &'static str,
                 label: &'static str,
                 hint: Option<&'static str>,
                 size: &'static str|
     -> Markup {
        let e = err(name);
        html! {
            div class=(if e.is_some() { format!("field has-error {size}") } else { format!("field {size}") }) {
                label for=(format!("s-{name}")) { (label) }
                input id=(format!("s-{name}")) name=(name) type="text" value=(get(name))
                    inputmode=[(name != "q").then_some("numeric")] autocomplete="off"
                    placeholder=[(name == "q").then_some("212 or FLOWERS")]
                    autofocus[first == Some(name)]
                    aria-invalid=[e.map(|_| "true")]
                    aria-describedby=[e.map(|_| format!("{name}-error"))];
                @if let Some(h) = hint { p.hint { (h) } }
                @if let Some(e) = e { p.field-error id=(format!("{name}-error")) { (e) } }
            }
        }
    };
    let select_class = |k: &str| {
        if err(k).is_some() {
            "field has-error"
        } else {
            "field"
        }
    };
    html! {
        form.search-panel id="search-form" method="get" action="/numbers" role="search" {
            (field("q", "Digits or a word", Some("Letters become keypad digits: FLOWERS is 3569377."), "wide"))
            (field("npa", "Area code", None, "short"))
            div class=(select_class("state")) {
                label for="s-state" { "State" }
                select id="s-state" name="state" autofocus[first == Some("state")]
                    aria-invalid=[err("state").map(|_| "true")] aria-describedby=[err("state").map(|_| "state-error")] {
                    (state_options(get("state")))
                }
                @if let Some(e) = err("state") { p.field-error id="state-error" { (e) } }
            }
            @if get("digits") == "anywhere" {
                input type="hidden" name="digits" value="anywhere";
            }
            details.more-fields id="more-fields" open[advanced_set] {
                summary { "More options" span.muted { " — where it matches, exchange, type" } }
                div.more-grid {
                    div class=(select_class("match")) {
                        label for="s-match" { "Match" }
                        select id="s-match" name="match" autofocus[first == Some("match")]
                            aria-invalid=[err("match").map(|_| "true")] aria-describedby=[err("match").map(|_| "match-error")] {
                            option value="contains" selected[m == "contains"] { "Anywhere" }
                            option value="starts" selected[m == "starts"] { "At the start" }
                            option value="ends" selected[m == "ends"] { "At the end" }
                        }
                        @if let Some(e) = err("match") { p.field-error id="match-error" { (e) } }
                    }
                    (field("nxx", "Exchange", None, "short"))
                    div class=(select_class("type")) {
                        label for="s-type" { "Type" }
                        select id="s-type" name="type" autofocus[first == Some("type")]
                            aria-invalid=[err("type").map(|_| "true")] aria-describedby=[err("type").map(|_| "type-error")] {
                            option value="any" selected[t == "any"] { "Local or toll-free" }
                            option value="local" selected[t == "local"] { "Local" }
                            option value="tollfree" selected[t == "tollfree"] { "Toll-free" }
                        }
                        @if let Some(e) = err("type") { p.field-error id="type-error" { (e) } }
                    }
                }
            }
            @for k in ["page", "per_page", "sort"] {
                @if let Some(e) = err(k) { p.field-error id=(format!("{k}-error")) { (e) } }
            }
            button type="submit" id="search-submit" { "Search" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_locations_are_written_as_the_markup_was() {
        use maud::Render;
        assert_eq!(
            Pretty("2125551234").render().into_string(),
            "(212) 555-1234"
        );
        assert_eq!(Pretty("<b>").render().into_string(), "&lt;b&gt;");
        let row = |kind, rate_center: &str| NumberRow {
            number: "2125551234".into(),
            state: "NY".into(),
            rate_center: rate_center.into(),
            kind,
            availability: "available",
            source: "import",
        };
        let local = Location(&row(NumberType::Local, " NWYRCYZN01 "))
            .render()
            .into_string();
        assert!(local.starts_with("<span class=\"place\">"), "{local}");
        assert!(
            local.ends_with(
                ", NY</span> <span class=\"rate-center\" title=\"Rate center\">NWYRCYZN01</span>"
            ),
            "{local}"
        );
        let odd = Location(&row(NumberType::Local, "<i>"))
            .render()
            .into_string();
        assert!(odd.contains("&lt;i&gt;"), "{odd}");
        let mut text = String::new();
        push_text(&mut text, "Fish & <Chips>");
        assert_eq!(text, "Fish &amp; &lt;Chips&gt;");
        assert_eq!(
            Location(&row(NumberType::TollFree, ""))
                .render()
                .into_string(),
            "Nationwide"
        );
    }

    #[test]
    fn counts_read_as_numbers() {
        assert_eq!(count_text(1), "1 number");
        assert_eq!(count_text(1000), "1,000 numbers");
        assert_eq!(count_text(1001), "More than 1,000 numbers");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn a_searched_word_is_spelled_in_the_number() {
        let q = |pairs: &[(&str, &str)]| {
            search::parse(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
            .unwrap()
        };
        assert_eq!(vanity(&row("2125535693"), &q(&[("q", "35693")])), None);
        assert_eq!(
            vanity(&row("2125555693"), &q(&[("q", "LLOYD")])).as_deref(),
            Some("(212) 55-LLOYD")
        );
        assert_eq!(
            vanity(&row("2123569377"), &q(&[("q", "flowers")])).as_deref(),
            Some("(212) FLOWERS")
        );
        assert_eq!(
            vanity(&row("2125553364"), &q(&[("q", "dog"), ("match", "ends")])).as_deref(),
            Some("(212) 5553-DOG")
        );
    }

    use proptest::prelude::*;

    fn row(number: &str) -> NumberRow {
        NumberRow {
            number: number.into(),
            state: "NY".into(),
            rate_center: Default::default(),
            kind: NumberType::Local,
            availability: "available",
            source: "import",
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The highlighted number is written as trusted markup, so it must be exactly the
        /// formatted number with one `<mark>` around the digits the search matched.
        #[test]
        fn highlight_marks_exactly_the_matched_digits(
            number in "[2-9][0-9]{2}[2-9][0-9]{6}",
            start in 0usize..10,
            len in 1usize..=10,
            mode in 0usize..3,
            with_npa in any::<bool>(),
        ) {
            let mode = [MatchMode::Starts, MatchMode::Contains, MatchMode::Ends][mode];
            let digits: String = match mode {
                MatchMode::Starts if with_npa => number[3..(3 + len.min(7))].to_string(),
                MatchMode::Starts => number[..len].to_string(),
                MatchMode::Ends => number[10 - len..].to_string(),
                MatchMode::Contains => number[start.min(9)..(start.min(9) + len).min(10)].to_string(),
            };
            let mut q = std::collections::HashMap::new();
            q.insert("q".to_string(), digits.clone());
            q.insert("match".to_string(), mode.as_str().to_string());
            if with_npa {
                q.insert("npa".to_string(), number[..3].to_string());
            }
            let s = search::parse(&q).unwrap();
            prop_assert!(search::matches(&s, &number, "NY", NumberType::Local));
            let html = maud::Render::render(&Highlight(&row(&number), &s)).into_string();
            prop_assert_eq!(html.matches("<mark>").count(), 1, "{}", &html);
            prop_assert_eq!(html.matches("</mark>").count(), 1, "{}", &html);
            let plain = html.replace("<mark>", "").replace("</mark>", "");
            prop_assert_eq!(plain, crate::domain::phone::pretty(&number));
            let marked: String = html
                .split("<mark>")
                .nth(1)
                .and_then(|rest| rest.split("</mark>").next())
                .unwrap_or("")
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            let found = number.find(&digits).unwrap_or(0);
            let expected_at = match mode {
                MatchMode::Starts if with_npa => 3,
                MatchMode::Starts => 0,
                MatchMode::Ends => 10 - digits.len(),
                MatchMode::Contains => found,
            };
            prop_assert_eq!(marked, number[expected_at..expected_at + digits.len()].to_string());
        }
    }
}
