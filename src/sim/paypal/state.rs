//! The simulator's in-memory state and the PayPal JSON it renders.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{Value, json};

use super::wire::{SimAmount, SimCaptureStatus, SimOrderStatus};
use super::wire::{random_hex, rfc3339_now};
use super::{
    CaptureScript, Delivery, PayPalFailure, RequestRecord, SimCapture, SimConfig, SimEvent,
    SimOrder, SimRefund,
};

/// The fake payer every approval uses.
pub(super) const PAYER_ID: &str = "FAKEPAYER01";
pub(super) const PAYER_EMAIL: &str = "buyer@example.test";

/// State plus the HTTP client used to deliver webhooks; shared by the
/// server threads and the [`super::PayPalSim`] handle.
pub(super) struct Shared {
    pub state: Mutex<State>,
    pub base_url: String,
    pub agent: ureq::Agent,
    /// Set when the simulator is dropped; the accept loop then exits.
    pub stopped: AtomicBool,
}

impl Shared {
    /// Locks the state, tolerating a poisoned mutex (a panicking handler
    /// thread must not take the whole simulator down).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A one-shot failure injected with `fail_next`.
pub(super) struct FailRule {
    pub method: String,
    pub path_prefix: String,
    pub failure: PayPalFailure,
}

/// What was recorded for a webhook transmission the simulator sent.
pub(super) struct Transmission {
    pub time: String,
    pub sig: String,
    pub cert_url: String,
    pub auth_algo: String,
    pub body: String,
}

/// An event created by a state change, waiting to be delivered.
pub(super) struct PendingEvent {
    pub event_id: String,
}

pub(super) struct State {
    pub cfg: SimConfig,
    pub base_url: String,
    /// access token → valid until
    pub tokens: HashMap<String, Instant>,
    pub token_seq: u64,
    pub order_seq: u64,
    pub capture_seq: u64,
    pub refund_seq: u64,
    pub event_seq: u64,
    pub orders: BTreeMap<String, SimOrder>,
    pub captures: BTreeMap<String, SimCapture>,
    pub refunds: BTreeMap<String, SimRefund>,
    /// create `PayPal-Request-Id` → stored response body
    pub create_keys: HashMap<String, String>,
    /// (order id, capture `PayPal-Request-Id`) → stored response body
    pub capture_keys: HashMap<(String, String), String>,
    /// refund `PayPal-Request-Id` → stored response body
    pub refund_keys: HashMap<String, String>,
    /// The next refund is PENDING with this reason ([`super::PayPalSim::hold_next_refund`]).
    pub next_refund_pending: Option<String>,
    /// (order id, capture `PayPal-Request-Id`) that got `INSTRUMENT_DECLINED`: PayPal
    /// answers a repeat of the key with that same failure ("the latest status of the
    /// earlier request", docs/paypal.md, "Idempotency"), even after a new approval.
    pub declined_capture_keys: std::collections::HashSet<(String, String)>,
    pub order_scripts: HashMap<String, VecDeque<CaptureScript>>,
    pub next_capture: VecDeque<CaptureScript>,
    pub fail_rules: Vec<FailRule>,
    pub requests: Vec<RequestRecord>,
    pub token_requests: usize,
    pub idempotency_hits: usize,
    pub events: Vec<SimEvent>,
    pub transmissions: HashMap<String, Transmission>,
    pub deliveries: Vec<Delivery>,
}

impl State {
    pub fn new(cfg: SimConfig, base_url: String) -> Self {
        State {
            cfg,
            base_url,
            tokens: HashMap::new(),
            token_seq: 0,
            order_seq: 0,
            capture_seq: 0,
            refund_seq: 0,
            event_seq: 0,
            orders: BTreeMap::new(),
            captures: BTreeMap::new(),
            refunds: BTreeMap::new(),
            create_keys: HashMap::new(),
            capture_keys: HashMap::new(),
            refund_keys: HashMap::new(),
            next_refund_pending: None,
            declined_capture_keys: std::collections::HashSet::new(),
            order_scripts: HashMap::new(),
            next_capture: VecDeque::new(),
            fail_rules: Vec::new(),
            requests: Vec::new(),
            token_requests: 0,
            idempotency_hits: 0,
            events: Vec::new(),
            transmissions: HashMap::new(),
            deliveries: Vec::new(),
        }
    }

    /// Forgets everything except the configuration.
    pub fn reset(&mut self) {
        let cfg = self.cfg.clone();
        let base = self.base_url.clone();
        *self = State::new(cfg, base);
    }

    pub fn next_order_id(&mut self) -> String {
        self.order_seq += 1;
        format!("FAKEORD{:06}", self.order_seq)
    }

    pub fn next_capture_id(&mut self) -> String {
        self.capture_seq += 1;
        format!("FAKECAP{:06}", self.capture_seq)
    }

    pub fn next_refund_id(&mut self) -> String {
        self.refund_seq += 1;
        format!("FAKEREF{:06}", self.refund_seq)
    }

    /// A live (known, not expired) order.
    pub fn live_order(&self, id: &str) -> Option<&SimOrder> {
        self.orders.get(id).filter(|o| !o.expired)
    }

    /// The URL of the approval page for an order.
    pub fn approve_url(&self, order_id: &str) -> String {
        format!("{}/checkoutnow?token={order_id}", self.base_url)
    }

    /// The full order representation (`Prefer: return=representation`).
    pub fn order_json(&self, o: &SimOrder) -> Value {
        let mut unit = o.unit.clone();
        unit["amount"] = money(&o.amount);
        if unit.get("reference_id").is_none() {
            unit["reference_id"] = json!("default");
        }
        unit["payee"] = json!({
            "merchant_id": "FAKEMERCHANT",
            "email_address": "merchant@example.test",
        });
        if !o.capture_ids.is_empty() {
            let caps: Vec<&SimCapture> = o
                .capture_ids
                .iter()
                .filter_map(|id| self.captures.get(id))
                .collect();
            let mut payments = json!({
                "captures": caps.iter().map(|c| self.capture_json(c)).collect::<Vec<_>>(),
            });
            let refunds: Vec<Value> = caps
                .iter()
                .flat_map(|c| c.refund_ids.iter())
                .filter_map(|r| self.refunds.get(r))
                .map(|r| self.refund_json(r))
                .collect();
            if !refunds.is_empty() {
                payments["refunds"] = Value::Array(refunds);
            }
            unit["payments"] = payments;
        }
        let mut order = json!({
            "id": o.id,
            "intent": o.intent,
            "status": o.status.wire(),
            "purchase_units": [unit],
            "create_time": o.create_time,
            "update_time": o.update_time,
            "links": self.order_links(o),
        });
        if o.payer_id.is_some() {
            let name = json!({ "given_name": "Fake", "surname": "Buyer" });
            order["payment_source"] = json!({ "paypal": {
                "email_address": PAYER_EMAIL,
                "account_id": PAYER_ID,
                "account_status": "VERIFIED",
                "name": name,
                "address": { "country_code": "US" },
            }});
            order["payer"] = json!({
                "name": name,
                "email_address": PAYER_EMAIL,
                "payer_id": PAYER_ID,
                "address": { "country_code": "US" },
            });
        } else if o.uses_payment_source {
            order["payment_source"] = json!({ "paypal": {} });
        }
        order
    }

    /// The default, minimal order answer: id, status, links (and the empty
    /// `payment_source` PayPal echoes for `payment_source.paypal` orders).
    pub fn order_minimal_json(&self, o: &SimOrder) -> Value {
        let mut v = json!({
            "id": o.id,
            "status": o.status.wire(),
            "links": self.order_links(o),
        });
        if o.uses_payment_source && o.payer_id.is_none() {
            v["payment_source"] = json!({ "paypal": {} });
        }
        v
    }

    fn order_links(&self, o: &SimOrder) -> Value {
        let me = format!("{}/v2/checkout/orders/{}", self.base_url, o.id);
        let mut links = vec![json!({ "href": me, "rel": "self", "method": "GET" })];
        match o.status {
            SimOrderStatus::PayerActionRequired => {
                links.push(json!({ "href": self.approve_url(&o.id), "rel": "payer-action", "method": "GET" }));
            }
            SimOrderStatus::Created => {
                links.push(
                    json!({ "href": self.approve_url(&o.id), "rel": "approve", "method": "GET" }),
                );
                links.push(json!({ "href": me, "rel": "update", "method": "PATCH" }));
                links.push(
                    json!({ "href": format!("{me}/capture"), "rel": "capture", "method": "POST" }),
                );
            }
            SimOrderStatus::Approved => {
                links.push(json!({ "href": me, "rel": "update", "method": "PATCH" }));
                links.push(
                    json!({ "href": format!("{me}/capture"), "rel": "capture", "method": "POST" }),
                );
            }
            _ => {}
        }
        Value::Array(links)
    }

    /// A capture as PayPal shows it (inside an order, standalone and in webhooks).
    pub fn capture_json(&self, c: &SimCapture) -> Value {
        let me = format!("{}/v2/payments/captures/{}", self.base_url, c.id);
        let fee = fee_cents(c.amount.cents);
        let mut v = json!({
            "id": c.id,
            "status": c.status.wire(),
            "amount": money(&c.amount),
            "final_capture": true,
            "seller_protection": {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
            },
            "seller_receivable_breakdown": {
                "gross_amount": money(&c.amount),
                "paypal_fee": money(&SimAmount::new(fee, &c.amount.currency)),
                "net_amount": money(&SimAmount::new(c.amount.cents - fee, &c.amount.currency)),
            },
            "supplementary_data": { "related_ids": { "order_id": c.order_id } },
            "links": [
                { "href": me, "rel": "self", "method": "GET" },
                { "href": format!("{me}/refund"), "rel": "refund", "method": "POST" },
                { "href": format!("{}/v2/checkout/orders/{}", self.base_url, c.order_id), "rel": "up", "method": "GET" },
            ],
            "create_time": c.create_time,
            "update_time": c.update_time,
        });
        if let SimCaptureStatus::Pending {
            reason: Some(reason),
        } = &c.status
        {
            v["status_details"] = json!({ "reason": reason });
        }
        if let Some(x) = &c.custom_id {
            v["custom_id"] = json!(x);
        }
        if let Some(x) = &c.invoice_id {
            v["invoice_id"] = json!(x);
        }
        v
    }

    /// A refund as PayPal shows it.
    pub fn refund_json(&self, r: &SimRefund) -> Value {
        let capture_url = format!("{}/v2/payments/captures/{}", self.base_url, r.capture_id);
        let refunded_total = self
            .captures
            .get(&r.capture_id)
            .map_or(r.amount.cents, |c| c.refunded_cents);
        let mut v = json!({
            "id": r.id,
            "status": if r.pending.is_some() { "PENDING" } else { "COMPLETED" },
            "amount": money(&r.amount),
            "seller_payable_breakdown": {
                "gross_amount": money(&r.amount),
                "paypal_fee": money(&SimAmount::new(0, &r.amount.currency)),
                "net_amount": money(&r.amount),
                "total_refunded_amount": money(&SimAmount::new(refunded_total, &r.amount.currency)),
            },
            "links": [
                { "href": format!("{}/v2/payments/refunds/{}", self.base_url, r.id), "rel": "self", "method": "GET" },
                { "href": capture_url, "rel": "up", "method": "GET" },
            ],
            "create_time": r.create_time,
            "update_time": r.create_time,
        });
        for (k, x) in [
            ("custom_id", &r.custom_id),
            ("invoice_id", &r.invoice_id),
            ("note_to_payer", &r.note_to_payer),
        ] {
            if let Some(x) = x {
                v[k] = json!(x);
            }
        }
        if let Some(reason) = &r.pending {
            v["status_details"] = json!({ "reason": reason });
        }
        v
    }

    /// Records a new capture on an order and completes the order.
    pub fn commit_capture(
        &mut self,
        order_id: &str,
        status: SimCaptureStatus,
        amount: SimAmount,
    ) -> Option<String> {
        let id = self.next_capture_id();
        let now = rfc3339_now();
        let order = self.orders.get_mut(order_id)?;
        order.status = SimOrderStatus::Completed;
        order.update_time = now.clone();
        order.capture_ids.push(id.clone());
        let capture = SimCapture {
            id: id.clone(),
            order_id: order_id.to_string(),
            status,
            amount,
            refunded_cents: 0,
            custom_id: order.custom_id.clone(),
            invoice_id: order.invoice_id.clone(),
            refund_ids: Vec::new(),
            create_time: now.clone(),
            update_time: now,
        };
        self.captures.insert(id.clone(), capture);
        Some(id)
    }

    /// Creates (and records) a webhook event around `resource`. It is
    /// delivered only if the caller hands it to the delivery code.
    pub fn new_event(
        &mut self,
        event_type: &str,
        resource_type: &str,
        resource_id: &str,
        summary: String,
        resource: &Value,
    ) -> PendingEvent {
        self.event_seq += 1;
        let id = format!("WH-FAKE{:06}", self.event_seq);
        let now = rfc3339_now();
        let links = json!([
            { "href": format!("{}/v1/notifications/webhooks-events/{id}", self.base_url), "rel": "self", "method": "GET" },
            { "href": format!("{}/v1/notifications/webhooks-events/{id}/resend", self.base_url), "rel": "resend", "method": "POST" },
        ]);
        // Written member by member in PayPal's order (id first), so a receiver
        // that re-serialises through a sorted map changes the bytes.
        let js = |v: &str| serde_json::to_string(v).unwrap_or_else(|_| "\"\"".into());
        let body = format!(
            "{{\"id\":{},\"event_version\":\"1.0\",\"create_time\":{},\"resource_type\":{},\"resource_version\":\"2.0\",\"event_type\":{},\"summary\":{},\"resource\":{},\"links\":{}}}",
            js(&id),
            js(&now),
            js(resource_type),
            js(event_type),
            js(&summary),
            resource,
            links
        );
        self.events.push(SimEvent {
            id: id.clone(),
            event_type: event_type.to_string(),
            resource_type: resource_type.to_string(),
            resource_id: resource_id.to_string(),
            body,
            create_time: now,
        });
        PendingEvent { event_id: id }
    }

    /// An order event (`CHECKOUT.*`).
    pub fn order_event(&mut self, event_type: &str, order_id: &str) -> Option<PendingEvent> {
        let o = self.orders.get(order_id)?;
        let resource = self.order_json(o);
        let summary = match event_type {
            "CHECKOUT.ORDER.APPROVED" => "An order has been approved by buyer".to_string(),
            "CHECKOUT.ORDER.COMPLETED" => "Checkout Order Completed".to_string(),
            other => format!("Event {other}"),
        };
        Some(self.new_event(event_type, "checkout-order", order_id, summary, &resource))
    }

    /// A capture event (`PAYMENT.CAPTURE.*` except refunds).
    pub fn capture_event(&mut self, event_type: &str, capture_id: &str) -> Option<PendingEvent> {
        let c = self.captures.get(capture_id)?;
        let resource = self.capture_json(c);
        let summary = format!(
            "Payment {} for {}",
            c.status.wire().to_ascii_lowercase(),
            c.amount
        );
        Some(self.new_event(event_type, "capture", capture_id, summary, &resource))
    }

    /// A refund event (`PAYMENT.CAPTURE.REFUNDED`).
    pub fn refund_event(&mut self, event_type: &str, refund_id: &str) -> Option<PendingEvent> {
        let r = self.refunds.get(refund_id)?;
        let resource = self.refund_json(r);
        let summary = format!("A {} capture payment was refunded", r.amount);
        Some(self.new_event(event_type, "refund", refund_id, summary, &resource))
    }

    /// A fresh debug id, as PayPal puts on every response.
    pub fn debug_id() -> String {
        random_hex(7)
    }
}

/// `{currency_code, value}` for an amount (the simulator only stores valid amounts).
pub(super) fn money(a: &SimAmount) -> Value {
    json!({
        "currency_code": a.currency,
        "value": a.value(),
    })
}

/// A plausible PayPal fee: 2.9 % + 0.30, never more than the amount.
fn fee_cents(gross: i64) -> i64 {
    ((gross * 29 + 500) / 1000 + 30).min(gross)
}
