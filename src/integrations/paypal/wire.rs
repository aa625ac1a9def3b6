//! PayPal's JSON shapes (only the fields we read) and their conversion into
//! the plain types of this module. Unknown fields are ignored; missing
//! optional fields default.

use serde::Deserialize;

use super::{
    Amount, Capture, CaptureStatus, OrderStatus, PayPalError, PayPalOrder, Payer, Refund,
    RefundStatus,
};

#[derive(Debug, Deserialize)]
pub(super) struct WMoney {
    pub currency_code: String,
    pub value: String,
}

impl WMoney {
    pub fn to_amount(&self) -> Result<Amount, PayPalError> {
        Amount::from_paypal(&self.value, &self.currency_code)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WLink {
    #[serde(default)]
    pub href: String,
    #[serde(default)]
    pub rel: String,
}

/// The `href` of the first link whose `rel` is one of `rels`.
pub(super) fn find_link(links: &[WLink], rels: &[&str]) -> Option<String> {
    links
        .iter()
        .find(|l| rels.contains(&l.rel.as_str()))
        .map(|l| l.href.clone())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WStatusDetails {
    pub reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WRelatedIds {
    pub order_id: Option<String>,
    pub capture_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WSupplementary {
    #[serde(default)]
    pub related_ids: WRelatedIds,
}

#[derive(Debug, Deserialize)]
pub(super) struct WCapture {
    pub id: String,
    pub status: String,
    pub status_details: Option<WStatusDetails>,
    pub amount: Option<WMoney>,
    pub custom_id: Option<String>,
    pub invoice_id: Option<String>,
    pub supplementary_data: Option<WSupplementary>,
}

impl WCapture {
    pub fn into_capture(self) -> Result<Capture, PayPalError> {
        Ok(Capture {
            status: CaptureStatus::parse(&self.status, self.status_details.and_then(|d| d.reason)),
            amount: self.amount.as_ref().map(WMoney::to_amount).transpose()?,
            id: self.id,
            custom_id: self.custom_id,
            invoice_id: self.invoice_id,
            order_id: self.supplementary_data.and_then(|s| s.related_ids.order_id),
        })
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct WRefund {
    pub id: String,
    pub status: String,
    pub status_details: Option<WStatusDetails>,
    pub amount: Option<WMoney>,
    #[serde(default)]
    pub links: Vec<WLink>,
    pub supplementary_data: Option<WSupplementary>,
}

impl WRefund {
    pub fn into_refund(self) -> Result<Refund, PayPalError> {
        let from_related = self
            .supplementary_data
            .and_then(|s| s.related_ids.capture_id);
        let from_up = find_link(&self.links, &["up"])
            .filter(|href| href.contains("/captures/"))
            .and_then(|href| last_segment(&href));
        Ok(Refund {
            status: RefundStatus::parse(&self.status, self.status_details.and_then(|d| d.reason)),
            amount: self.amount.as_ref().map(WMoney::to_amount).transpose()?,
            id: self.id,
            capture_id: from_related.or(from_up),
        })
    }
}

/// Last non-empty path segment of a URL, without query.
pub(super) fn last_segment(href: &str) -> Option<String> {
    let path = href.split(['?', '#']).next()?;
    path.rsplit('/').find(|s| !s.is_empty()).map(str::to_string)
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WPayments {
    #[serde(default)]
    pub captures: Vec<WCapture>,
    #[serde(default)]
    pub refunds: Vec<WRefund>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WPurchaseUnit {
    pub amount: Option<WMoney>,
    pub custom_id: Option<String>,
    pub invoice_id: Option<String>,
    pub payments: Option<WPayments>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WName {
    pub given_name: Option<String>,
    pub surname: Option<String>,
}

impl WName {
    fn joined(self) -> Option<String> {
        let parts: Vec<String> = [self.given_name, self.surname]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WPaypalSource {
    pub account_id: Option<String>,
    pub email_address: Option<String>,
    pub name: Option<WName>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WPaymentSource {
    pub paypal: Option<WPaypalSource>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WLegacyPayer {
    pub payer_id: Option<String>,
    pub email_address: Option<String>,
    pub name: Option<WName>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WOrder {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub links: Vec<WLink>,
    #[serde(default)]
    pub purchase_units: Vec<WPurchaseUnit>,
    pub payment_source: Option<WPaymentSource>,
    pub payer: Option<WLegacyPayer>,
}

impl WOrder {
    pub fn into_order(self) -> Result<PayPalOrder, PayPalError> {
        let payer = payer_of(self.payment_source, self.payer);
        let approve_url = find_link(&self.links, &["payer-action", "approve"]);
        let unit = self.purchase_units.into_iter().next().unwrap_or_default();
        let payments = unit.payments.unwrap_or_default();
        Ok(PayPalOrder {
            status: OrderStatus::parse(&self.status),
            amount: unit.amount.as_ref().map(WMoney::to_amount).transpose()?,
            captures: payments
                .captures
                .into_iter()
                .map(WCapture::into_capture)
                .collect::<Result<_, _>>()?,
            refunds: payments
                .refunds
                .into_iter()
                .map(WRefund::into_refund)
                .collect::<Result<_, _>>()?,
            id: self.id,
            custom_id: unit.custom_id,
            invoice_id: unit.invoice_id,
            payer,
            approve_url,
        })
    }
}

/// The payer from `payment_source.paypal` (current) or `payer` (deprecated).
fn payer_of(source: Option<WPaymentSource>, legacy: Option<WLegacyPayer>) -> Option<Payer> {
    if let Some(p) = source.and_then(|s| s.paypal) {
        let payer = Payer {
            payer_id: p.account_id,
            email: p.email_address,
            name: p.name.and_then(WName::joined),
        };
        if payer != Payer::default() {
            return Some(payer);
        }
    }
    legacy
        .map(|p| Payer {
            payer_id: p.payer_id,
            email: p.email_address,
            name: p.name.and_then(WName::joined),
        })
        .filter(|p| *p != Payer::default())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct WErrorDetail {
    pub issue: Option<String>,
}

/// PayPal's v2/v1 error shape and the OAuth error shape in one struct.
#[derive(Debug, Default, Deserialize)]
pub(super) struct WError {
    pub name: Option<String>,
    pub message: Option<String>,
    pub debug_id: Option<String>,
    #[serde(default)]
    pub details: Vec<WErrorDetail>,
    #[serde(default)]
    pub links: Vec<WLink>,
    /// OAuth shape: `invalid_client`, `invalid_token`.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A parsed error response: the typed error plus its links (for the
/// `INSTRUMENT_DECLINED` redirect).
pub(super) struct ApiError {
    pub error: PayPalError,
    pub links: Vec<WLink>,
}

/// Turns an error status and body into [`PayPalError::Api`], or [`PayPalError::Http`]
/// if the body is not a recognisable error.
pub(super) fn api_error(status: u16, body: &str, header_debug_id: Option<String>) -> ApiError {
    let parsed: Option<WError> = serde_json::from_str(body).ok();
    match parsed {
        Some(e) if e.name.is_some() || e.error.is_some() => {
            let issue = e.details.iter().find_map(|d| d.issue.clone());
            ApiError {
                error: PayPalError::Api {
                    status,
                    name: e.name.or(e.error).unwrap_or_default(),
                    issue,
                    message: e.message.or(e.error_description).unwrap_or_default(),
                    debug_id: e.debug_id.or(header_debug_id),
                },
                links: e.links,
            }
        }
        _ => ApiError {
            error: PayPalError::Http(status),
            links: Vec::new(),
        },
    }
}

/// Parses a JSON body into `T`, mapping failures to [`PayPalError::Malformed`].
pub(super) fn parse<T: serde::de::DeserializeOwned>(
    what: &str,
    body: &str,
) -> Result<T, PayPalError> {
    serde_json::from_str(body).map_err(|e| PayPalError::Malformed(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_error_shapes() {
        let body = r#"{"name":"UNPROCESSABLE_ENTITY","message":"nope","debug_id":"d1",
            "details":[{"issue":"INSTRUMENT_DECLINED"}],
            "links":[{"href":"https://x/checkoutnow?token=A","rel":"redirect","method":"GET"}]}"#;
        let e = api_error(422, body, None);
        assert_eq!(e.error.issue(), Some("INSTRUMENT_DECLINED"));
        assert_eq!(
            find_link(&e.links, &["redirect"]).as_deref(),
            Some("https://x/checkoutnow?token=A")
        );
        let oauth = api_error(
            401,
            r#"{"error":"invalid_client","error_description":"Client Authentication failed"}"#,
            Some("h1".into()),
        );
        assert_eq!(
            oauth.error,
            PayPalError::Api {
                status: 401,
                name: "invalid_client".into(),
                issue: None,
                message: "Client Authentication failed".into(),
                debug_id: Some("h1".into()),
            }
        );
        assert_eq!(
            api_error(502, "<html>bad gateway</html>", None).error,
            PayPalError::Http(502)
        );
    }

    #[test]
    fn order_with_legacy_payer_and_bad_amount() {
        let ok = r#"{"id":"O1","status":"APPROVED","payer":{"payer_id":"P1","name":{"given_name":"A","surname":"B"}},
            "purchase_units":[{"amount":{"currency_code":"USD","value":"1.50"}}]}"#;
        let o = parse::<WOrder>("order", ok)
            .and_then(WOrder::into_order)
            .expect("order");
        assert_eq!(o.status, OrderStatus::Approved);
        assert_eq!(o.amount, Some(Amount::new(150, "USD")));
        assert_eq!(o.payer.and_then(|p| p.name).as_deref(), Some("A B"));
        let bad = ok.replace("1.50", "1.505");
        assert!(matches!(
            parse::<WOrder>("order", &bad).and_then(WOrder::into_order),
            Err(PayPalError::Malformed(_))
        ));
    }

    #[test]
    fn last_segment_of_links() {
        assert_eq!(
            last_segment("https://a/v2/payments/captures/CAP1?x=1").as_deref(),
            Some("CAP1")
        );
        assert_eq!(last_segment("https://a/b/").as_deref(), Some("b"));
    }
}
