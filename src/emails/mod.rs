//! The emails the portal sends, each written for its reader: one function per event and reader,
//! taking a struct of the facts it tells and returning the subject, the plain text and the HTML
//! alternative (docs/contract.md §6). Workflows gather the facts and queue the result in the
//! transaction of the change it reports; nothing here touches the database.
//!
//! The HTML is rendered here with maud, so `workflow/` never writes markup (the layer fence in
//! docs/architecture.md allows maud in `pages/` and in this module only). It is deliberately
//! plain, because mail clients are: one centred column built from tables, inline `style`
//! attributes only, no scripts, no forms, no images, every link absolute to the portal.

pub mod access;
pub mod numbers;
pub mod orders;
pub mod renewals;
pub mod samples;

use maud::{DOCTYPE, Markup, html};

/// One email ready to queue: the subject, the text part and the HTML alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Whom a copy of an email is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The account holder: the customer who owns the number, or whoever asked for the message
    /// (a password reset).
    Customer,
    /// The portal's admin (`DIDPORT_ADMIN_EMAIL`).
    Admin,
}

impl Reader {
    pub const ALL: [Reader; 2] = [Reader::Customer, Reader::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Reader::Customer => "customer",
            Reader::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Reader> {
        Reader::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The portal an email speaks for: its name and its public URL (no trailing slash), from which
/// every link is made absolute.
#[derive(Debug, Clone)]
pub struct Site {
    pub name: String,
    pub url: String,
}

impl Site {
    /// The absolute address of `path` (which starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// View Orders filtered to one number.
    pub fn admin_orders_for(&self, digits: &str) -> String {
        self.link(&format!("/admin/orders?q={digits}"))
    }

    /// The audit log filtered to one number.
    pub fn admin_audit_for(&self, digits: &str) -> String {
        self.link(&format!("/admin/audit?number={digits}"))
    }

    /// The customer's page of one of their numbers.
    pub fn my_number(&self, digits: &str) -> String {
        self.link(&format!("/my/numbers/{digits}"))
    }
}

/// The customer an admin's copy is about.
#[derive(Debug, Clone, Copy)]
pub struct AccountHolder<'a> {
    pub name: &'a str,
    pub email: &'a str,
}

impl std::fmt::Display for AccountHolder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.name.trim().is_empty() {
            f.write_str(self.email)
        } else {
            write!(f, "{} ({})", self.name.trim(), self.email)
        }
    }
}

/// One piece of an email's body, rendered both as text and as HTML.
#[derive(Debug, Clone)]
pub enum Block {
    /// A paragraph.
    P(String),
    /// Labelled facts, one a line: `Number: (212) 555-0100`.
    Facts(Vec<(String, String)>),
    /// Where the reader acts: a button in HTML, `label:` and the address on its own line in text.
    Action { label: String, url: String },
    /// Text quoted as it was given (an upstream's error message), kept apart from ours.
    Quote(String),
}

pub fn p(text: impl Into<String>) -> Block {
    Block::P(text.into())
}

pub fn action(label: impl Into<String>, url: impl Into<String>) -> Block {
    Block::Action {
        label: label.into(),
        url: url.into(),
    }
}

pub fn facts<const N: usize>(rows: [(&str, String); N]) -> Block {
    Block::Facts(rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Builds the email: the subject is `{site}: {headline}`, the HTML shows the headline as its
/// heading, and both parts carry the same blocks and a footer saying why the reader gets it.
pub fn compose(site: &Site, reader: Reader, headline: &str, blocks: &[Block]) -> Email {
    let subject = format!("{}: {headline}", site.name);
    // The heading starts with a capital, unless it starts with an email address.
    let first_word = headline.split(' ').next().unwrap_or("");
    let mut chars = headline.chars();
    let heading: String = match chars.next() {
        Some(c) if !first_word.contains('@') => c.to_uppercase().chain(chars).collect(),
        _ => headline.to_string(),
    };
    let footer = match reader {
        Reader::Customer => format!(
            "You get this email because you have an account at {}.",
            site.name
        ),
        Reader::Admin => format!("Sent to the admin of {}.", site.name),
    };
    Email {
        text: text(site, blocks, &footer),
        html: page(site, &subject, &heading, blocks, &footer).into_string(),
        subject,
    }
}

fn text(site: &Site, blocks: &[Block], footer: &str) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::P(t) | Block::Quote(t) => {
                out.push_str(t);
                out.push_str("\n\n");
            }
            Block::Facts(rows) => {
                for (k, v) in rows {
                    out.push_str(&format!("{k}: {v}\n"));
                }
                out.push('\n');
            }
            Block::Action { label, url } => out.push_str(&format!("{label}:\n{url}\n\n")),
        }
    }
    out.push_str(&format!("-- \n{footer}\n{} {}\n", site.name, site.url));
    out
}

const FONT: &str = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;";
const INK: &str = "#1f2933";
const SOFT: &str = "#52606d";
const LINE: &str = "#d9dee4";
const BRAND: &str = "#1d4ed8";

fn page(site: &Site, subject: &str, headline: &str, blocks: &[Block], footer: &str) -> Markup {
    let cell = format!("{FONT}font-size:16px;line-height:1.5;color:{INK};");
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (subject) }
            }
            body style="margin:0;padding:0;background:#f3f4f6;" {
                table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="width:100%;background:#f3f4f6;" {
                    tr { td align="center" style="padding:24px 12px;" {
                        table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0"
                            style=(format!("width:100%;max-width:600px;background:#ffffff;border:1px solid {LINE};border-radius:8px;")) {
                            tr { td style=(format!("{FONT}padding:18px 28px;border-bottom:1px solid {LINE};font-size:15px;font-weight:700;")) {
                                a href=(site.link("/")) style=(format!("color:{INK};text-decoration:none;")) { (site.name) }
                            } }
                            tr { td style=(format!("{cell}padding:24px 28px 8px;")) {
                                h1 style=(format!("{FONT}margin:0 0 16px;font-size:21px;line-height:1.3;color:{INK};")) { (headline) }
                                @for b in blocks { (block(b)) }
                            } }
                            tr { td style=(format!("{FONT}padding:16px 28px 20px;border-top:1px solid {LINE};font-size:13px;line-height:1.5;color:{SOFT};")) {
                                (footer) br;
                                a href=(site.link("/")) style=(format!("color:{SOFT};")) { (site.url) }
                            } }
                        }
                    } }
                }
            }
        }
    }
}

fn block(b: &Block) -> Markup {
    match b {
        Block::P(t) => html! {
            p style="margin:0 0 16px;" { (t) }
        },
        Block::Quote(t) => html! {
            p style=(format!("margin:0 0 16px;padding:10px 14px;background:#f8fafc;border-left:3px solid {LINE};font-family:Menlo,Consolas,monospace;font-size:14px;white-space:pre-wrap;")) { (t) }
        },
        Block::Facts(rows) => html! {
            table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:0 0 16px;border-collapse:collapse;width:100%;" {
                @for (k, v) in rows {
                    tr {
                        td style=(format!("{FONT}padding:6px 12px 6px 0;border-bottom:1px solid {LINE};color:{SOFT};font-size:14px;vertical-align:top;white-space:nowrap;")) { (k) }
                        td style=(format!("{FONT}padding:6px 0;border-bottom:1px solid {LINE};color:{INK};font-size:15px;font-weight:600;")) { (v) }
                    }
                }
            }
        },
        Block::Action { label, url } => html! {
            p style="margin:4px 0 20px;" {
                a href=(url) style=(format!("display:inline-block;padding:10px 18px;background:{BRAND};color:#ffffff;border-radius:6px;font-weight:600;text-decoration:none;")) { (label) }
                br;
                span style=(format!("font-size:13px;color:{SOFT};word-break:break-all;")) { (url) }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        Site {
            name: "Dial <Tone>".into(),
            url: "https://portal.example.com".into(),
        }
    }

    #[test]
    fn both_parts_carry_the_same_words_and_links() {
        let e = compose(
            &site(),
            Reader::Customer,
            "your number is active",
            &[
                p("Calls reach you."),
                facts([("Number", "(212) 555-0100".to_string())]),
                action("Its page", site().my_number("2125550100")),
            ],
        );
        assert_eq!(e.subject, "Dial <Tone>: your number is active");
        assert!(e.text.starts_with(
            "Calls reach you.\n\nNumber: (212) 555-0100\n\nIts page:\nhttps://portal.example.com/my/numbers/2125550100\n"
        ));
        assert!(e.text.contains("account at Dial <Tone>."));
        assert!(e.html.contains(">Your number is active</h1>"));
        assert!(e.html.contains("Dial &lt;Tone&gt;"), "the HTML escapes");
        assert!(!e.html.contains("<Tone>"));
        assert!(
            e.html
                .contains("href=\"https://portal.example.com/my/numbers/2125550100\"")
        );
    }

    #[test]
    fn a_heading_that_starts_with_an_address_keeps_it_as_written() {
        let e = compose(&site(), Reader::Admin, "pat@example.com paid", &[]);
        assert!(e.html.contains(">pat@example.com paid</h1>"));
        assert!(e.text.contains("Sent to the admin of Dial <Tone>."));
    }

    #[test]
    fn the_admin_names_the_customer_by_name_and_address() {
        let c = AccountHolder {
            name: " Pat Example ",
            email: "pat@example.com",
        };
        assert_eq!(c.to_string(), "Pat Example (pat@example.com)");
        let nameless = AccountHolder {
            name: "",
            email: "pat@example.com",
        };
        assert_eq!(nameless.to_string(), "pat@example.com");
    }

    #[test]
    fn readers_read_back() {
        for r in Reader::ALL {
            assert_eq!(Reader::parse(r.as_str()), Some(r));
        }
        assert_eq!(Reader::parse("nobody"), None);
    }
}
