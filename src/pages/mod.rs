//! Pages: maud views and the handlers that parse forms, call the store or a workflow, and answer.

pub mod account;
pub mod admin;
pub mod admin_audit;
pub mod admin_billing;
pub mod admin_customers;
pub mod admin_emails;
pub mod admin_numbers;
pub mod admin_orders;
pub mod admin_outbox;
pub mod admin_plans;
pub mod admin_refunds;
pub mod auth;
pub mod badges;
pub mod charts;
pub mod checkout;
pub mod errors;
pub mod home;
pub mod invoice;
pub mod my;
pub mod my_invoices;
pub mod my_orders;
pub mod number;
pub mod numbers;
pub mod orders;
pub mod password_reset;
pub mod renewals;
pub mod twofactor;
pub mod twofactor_code;

use maud::{DOCTYPE, Markup, html};

use crate::domain::Role;
use crate::http::Response;
use crate::web::{App, Ctx, FlashKind};

/// What the frame around every page needs.
pub struct Chrome<'a> {
    pub site_name: &'a str,
    pub demo: bool,
    pub user: Option<(&'a str, Role)>,
    pub csrf: Option<String>,
    pub flash: Option<(FlashKind, &'a str)>,
    /// Where customers write for help, shown in the footer.
    pub support: Option<&'a str>,
    /// A page meant for printing: no site header or footer on screen either.
    pub print_view: bool,
}

impl<'a> Chrome<'a> {
    pub fn of(ctx: &'a Ctx<'_>) -> Chrome<'a> {
        Chrome {
            site_name: &ctx.app.config().site_name,
            demo: ctx.app.demo,
            user: ctx.user.as_ref().map(|u| (u.email.as_str(), u.role)),
            csrf: ctx.user.as_ref().map(|_| ctx.csrf()),
            flash: ctx.flash.as_ref().map(|f| (f.kind, f.text.as_str())),
            support: ctx.app.config().support_email.as_ref().map(|e| e.as_str()),
            print_view: false,
        }
    }

    /// For pages drawn without a request context (the 500 page).
    pub fn bare(app: Option<&'a App>) -> Chrome<'a> {
        Chrome {
            site_name: app.map_or("didport", |a| a.config().site_name.as_str()),
            demo: app.is_some_and(|a| a.demo),
            user: None,
            csrf: None,
            flash: None,
            support: app.and_then(|a| a.config().support_email.as_ref().map(|e| e.as_str())),
            print_view: false,
        }
    }
}

pub fn layout(chrome: &Chrome<'_>, title: &str, content: Markup) -> Markup {
    let css = format!(
        "/assets/style.css?v={}",
        crate::http::assets::version("style.css")
    );
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (chrome.site_name) }
                link rel="stylesheet" href=(css);
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
            }
            body class=[chrome.print_view.then_some("print-view")] {
                a.skip href="#main" { "Skip to content" }
                header.site-header {
                    @if chrome.demo {
                        div.sandbox id="sandbox-banner" role="note" {
                            strong { "Sandbox" }
                            " — payments, the Telinta switch and email are simulated. Nothing here is real."
                        }
                    }
                    div.wrap.header-row {
                        a.brand href="/" { (chrome.site_name) }
                        nav.site-nav aria-label="Main" {
                            a href="/numbers" { "Find a number" }
                            @match chrome.user {
                                Some((email, role)) => {
                                    @if role == Role::Admin {
                                        a href="/admin" id="nav-admin" { "Admin" }
                                    }
                                    a href="/my" id="nav-my" { "My numbers" }
                                    a href="/account" id="nav-account" title=(email) { "Account" }
                                    form.inline method="post" action="/logout" {
                                        input type="hidden" name="csrf" value=(chrome.csrf.as_deref().unwrap_or(""));
                                        button.link type="submit" id="logout" { "Sign out" }
                                    }
                                }
                                None => {
                                    a href="/login" id="nav-login" { "Sign in" }
                                    a.button.small href="/signup" id="nav-signup" { "Create account" }
                                }
                            }
                        }
                    }
                }
                main id="main" class="wrap" {
                    @if let Some((kind, text)) = chrome.flash {
                        @let class = if kind == FlashKind::Error { "flash flash-error" } else { "flash flash-notice" };
                        div class=(class) id="flash" role=(if kind == FlashKind::Error { "alert" } else { "status" }) { (text) }
                    }
                    (content)
                }
                footer.site-footer {
                    div.wrap {
                        span { (chrome.site_name) }
                        @if let Some(support) = chrome.support {
                            span id="footer-support" { "Help: " a href={ "mailto:" (support) } { (support) } }
                        }
                        @if let Some((email, _)) = chrome.user {
                            span { "Signed in as " (email) }
                        }
                    }
                }
            }
        }
    }
}

/// "Write to support@…" as a mail link, for pages where someone may need a person.
pub fn support_contact(app: &App) -> Markup {
    html! {
        @if let Some(e) = &app.config().support_email {
            a.support-link href={ "mailto:" (e.as_str()) } { (e.as_str()) }
        } @else {
            "the shop"
        }
    }
}

/// A page for printing (an invoice): the same content without the site's header and footer.
pub fn page_print(ctx: &Ctx<'_>, status: u16, title: &str, content: Markup) -> Response {
    let mut chrome = Chrome::of(ctx);
    chrome.print_view = true;
    Response::html(status, layout(&chrome, title, content).into_string())
}

/// A full page as a response.
pub fn page(ctx: &Ctx<'_>, status: u16, title: &str, content: Markup) -> Response {
    Response::html(
        status,
        layout(&Chrome::of(ctx), title, content).into_string(),
    )
}

pub fn csrf_field(ctx: &Ctx<'_>) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf()); }
}

/// A labelled input with its error (if any) right below it, tied together for screen readers.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub error: Option<&'a str>,
    pub autocomplete: &'a str,
    pub hint: Option<&'a str>,
    pub required: bool,
    /// Put the cursor here when the page opens: on the first field with a mistake, so a screen
    /// reader reads the field together with its message.
    pub autofocus: bool,
    /// Put before the field's element ids, for a page with two forms that share a field name.
    pub id_prefix: &'a str,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str, kind: &'a str) -> Field<'a> {
        Field {
            name,
            label,
            kind,
            value: "",
            error: None,
            autocomplete: "off",
            hint: None,
            required: true,
            autofocus: false,
            id_prefix: "",
        }
    }
    pub fn value(mut self, v: &'a str) -> Self {
        self.value = v;
        self
    }
    pub fn error(mut self, e: Option<&'a str>) -> Self {
        self.error = e;
        self
    }
    pub fn autocomplete(mut self, a: &'a str) -> Self {
        self.autocomplete = a;
        self
    }
    pub fn hint(mut self, h: &'a str) -> Self {
        self.hint = Some(h);
        self
    }
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
    pub fn autofocus(mut self, on: bool) -> Self {
        self.autofocus = on;
        self
    }
    pub fn id_prefix(mut self, p: &'a str) -> Self {
        self.id_prefix = p;
        self
    }

    pub fn render(&self) -> Markup {
        let (p, name) = (self.id_prefix, self.name);
        let id = format!("f-{p}{name}");
        let err_id = format!("{p}{name}-error");
        let hint_id = format!("{p}{name}-hint");
        let mut described = Vec::new();
        if self.hint.is_some() {
            described.push(hint_id.clone());
        }
        if self.error.is_some() {
            described.push(err_id.clone());
        }
        let described = described.join(" ");
        html! {
            div class=(if self.error.is_some() { "field has-error" } else { "field" }) {
                label for=(id) { (self.label) }
                @if let Some(h) = self.hint {
                    p.hint id=(hint_id) { (h) }
                }
                input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                    autocomplete=(self.autocomplete)
                    required[self.required]
                    autofocus[self.autofocus]
                    aria-invalid=[self.error.map(|_| "true")]
                    aria-describedby=[(!described.is_empty()).then_some(described.as_str())];
                @if let Some(e) = self.error {
                    p.field-error id=(err_id) { (e) }
                }
            }
        }
    }
}

/// Of the fields in the order the form shows them, the first one with an error: the one that
/// gets the focus when the form comes back.
pub fn first_error<'a>(errors: &[(&str, String)], order: &[&'a str]) -> Option<&'a str> {
    order
        .iter()
        .find(|name| errors.iter().any(|(f, _)| f == *name))
        .copied()
}

/// The error for `name` in a list of (field, message) pairs.
pub fn error_for<'a>(errors: &'a [(&str, String)], name: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|(f, _)| *f == name)
        .map(|(_, m)| m.as_str())
}
