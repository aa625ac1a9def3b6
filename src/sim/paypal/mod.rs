//! A PayPal simulator: a real HTTP server on `127.0.0.1:<free port>` that
//! speaks the Orders v2 / Payments v2 / Webhooks v1 wire format described in
//! docs/paypal.md ("Simulator"), with state in memory.
//!
//! Point the real `PayPalClient` (`crate::integrations::paypal`) at [`PayPalSim::base_url`] (or use
//! [`PayPalSim::client_config`]). The same server serves the buyer's approval
//! page (`/checkoutnow?token=…`, plain HTML forms), so approve links returned
//! by `create_order` lead back to it, and test-only controls under `/__fake/…`.
//!
//! ```text
//! let sim = PayPalSim::start(SimConfig::default())?;
//! let client = PayPalClient::new(sim.client_config())?;
//! let created = client.create_order(&new_order)?;      // → sim's /checkoutnow link
//! sim.approve(&created.id)?;                          // what the Approve button does
//! sim.script_next_capture(CaptureScript::Pending { reason: "PENDING_REVIEW".into() });
//! let outcome = client.capture_order(&created.id, "capture-1")?;
//! ```
//!
//! Files: `state.rs` (state, JSON rendering), `server.rs` (HTTP plumbing,
//! token endpoint, routing), `page.rs` (approval page), `controls.rs`
//! (`/__fake/…`), `orders.rs` (create/get/approve/capture), `payments.rs`
//! (captures, refunds, settlement), `webhooks.rs` (sending and verifying).

mod controls;
mod orders;
mod page;
mod payments;
mod server;
mod state;
mod webhooks;
mod wire;

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::integrations::paypal::PayPalClientConfig;
use state::{Shared, State};
pub use wire::{SimAmount, SimCaptureStatus, SimOrderStatus};

/// How the simulator starts. `Default` gives fixed fake credentials, a
/// 9-hour token, a 3-second "hang", auto-emitted webhooks (once a URL is
/// set) and strict byte-for-byte webhook verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Accepted client id (Basic auth on the token endpoint).
    pub client_id: String,
    /// Accepted client secret.
    pub client_secret: String,
    /// The webhook id `verify-webhook-signature` expects.
    pub webhook_id: String,
    /// `expires_in` of issued tokens, in seconds; tokens stop working after it.
    pub token_expires_in: u64,
    /// How long a "timeout" or "lost response" capture keeps the client
    /// waiting; set it above the client's timeout.
    pub hang: Duration,
    /// Where webhook events are POSTed (e.g. `http://127.0.0.1:8080/webhooks/paypal`).
    pub webhook_url: Option<String>,
    /// Deliver events to `webhook_url` automatically as state changes
    /// (approval, capture, settlement, refund), on a background thread.
    pub auto_emit: bool,
    /// Delay before each automatic delivery.
    pub webhook_delay: Duration,
    /// `true`: `webhook_event` must equal the sent body byte for byte.
    /// `false`: equal as JSON values (lenient mode).
    pub strict_verification: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            client_id: "FAKE-CLIENT-ID".into(),
            client_secret: "FAKE-CLIENT-SECRET".into(),
            webhook_id: "FAKEWH123".into(),
            token_expires_in: 32_400,
            hang: Duration::from_secs(3),
            webhook_url: None,
            auto_emit: true,
            webhook_delay: Duration::ZERO,
            strict_verification: true,
        }
    }
}

/// A scripted capture outcome, used once: for one order
/// ([`PayPalSim::script_capture`]) or the next capture of any order
/// ([`PayPalSim::script_next_capture`]). Applied only once the usual checks
/// pass (order known, approved, not yet captured, request id not replayed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureScript {
    /// Normal success (the default without a script).
    Completed,
    /// 201, order COMPLETED, capture PENDING with this `status_details.reason`
    /// (e.g. `PENDING_REVIEW`); emits `PAYMENT.CAPTURE.PENDING`.
    Pending { reason: String },
    /// 201, order COMPLETED, capture DECLINED; emits `PAYMENT.CAPTURE.DECLINED`.
    Declined,
    /// 422 `INSTRUMENT_DECLINED` with a `redirect` link; the order goes back to
    /// awaiting approval.
    InstrumentDeclined,
    /// Someone else won the race: the capture is recorded (order COMPLETED)
    /// but this call gets 422 `ORDER_ALREADY_CAPTURED`.
    AlreadyCaptured,
    /// 422 with this issue (e.g. `TRANSACTION_REFUSED`); nothing captured.
    Issue(String),
    /// Success, but the capture amount is 0.01 (to prove amount checks).
    AmountMismatch,
    /// 500 `INTERNAL_SERVER_ERROR`; nothing captured.
    ServerError,
    /// The capture is recorded, but the answer is 500. A retry with the same
    /// `PayPal-Request-Id` gets 200 and the capture.
    CommitThenError,
    /// No answer until [`SimConfig::hang`] has passed, then 500; nothing
    /// captured.
    Timeout,
    /// The capture is recorded, but the answer arrives only after
    /// [`SimConfig::hang`] (a lost response). A retry with the same
    /// `PayPal-Request-Id` gets 200 and the capture.
    LostResponse,
}

impl CaptureScript {
    /// From the names used by `POST /__fake/…/next-capture {"outcome": …}` and
    /// by the sandbox header `PayPal-Mock-Response: {"mock_application_codes": …}`:
    /// `COMPLETED`, `PENDING`, `DECLINED`, `INSTRUMENT_DECLINED`,
    /// `ORDER_ALREADY_CAPTURED`, `AMOUNT_MISMATCH_CAPTURE`, `SERVER_ERROR`,
    /// `COMMIT_THEN_ERROR`, `TIMEOUT`, `COMMIT_THEN_HANG`; any other name is an
    /// [`CaptureScript::Issue`].
    pub fn from_code(code: &str) -> Self {
        match code {
            "COMPLETED" => CaptureScript::Completed,
            "PENDING" => CaptureScript::Pending {
                reason: "PENDING_REVIEW".into(),
            },
            "DECLINED" => CaptureScript::Declined,
            "INSTRUMENT_DECLINED" => CaptureScript::InstrumentDeclined,
            "ORDER_ALREADY_CAPTURED" => CaptureScript::AlreadyCaptured,
            "AMOUNT_MISMATCH_CAPTURE" => CaptureScript::AmountMismatch,
            "SERVER_ERROR" | "INTERNAL_SERVER_ERROR" => CaptureScript::ServerError,
            "COMMIT_THEN_ERROR" => CaptureScript::CommitThenError,
            "TIMEOUT" => CaptureScript::Timeout,
            "COMMIT_THEN_HANG" | "LOST_RESPONSE" => CaptureScript::LostResponse,
            other => CaptureScript::Issue(other.to_string()),
        }
    }
}

/// A one-shot failure for the next matching API call ([`PayPalSim::fail_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayPalFailure {
    /// Answer with this status and a PayPal error body; nothing happens.
    Status(u16),
    /// Answer 500 only after [`SimConfig::hang`]; nothing happens.
    Hang,
}

/// How a PENDING capture settles ([`PayPalSim::settle_capture`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// → COMPLETED, emits `PAYMENT.CAPTURE.COMPLETED`.
    Completed,
    /// → DECLINED, emits `PAYMENT.CAPTURE.DENIED`.
    Denied,
}

/// An order as the simulator holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOrder {
    pub id: String,
    pub status: SimOrderStatus,
    pub intent: String,
    pub amount: SimAmount,
    pub custom_id: Option<String>,
    pub invoice_id: Option<String>,
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
    /// Set once approved.
    pub payer_id: Option<String>,
    pub capture_ids: Vec<String>,
    /// Expired with [`PayPalSim::expire_order`]: every call about it answers 404.
    pub expired: bool,
    /// How many times the buyer approved it.
    pub approvals: u32,
    /// The `PayPal-Request-Id` it was created with.
    pub create_request_id: Option<String>,
    /// Created with `payment_source.paypal` (status PAYER_ACTION_REQUIRED).
    pub uses_payment_source: bool,
    pub create_time: String,
    pub update_time: String,
    /// The purchase unit as sent (echoed in representations).
    pub unit: serde_json::Value,
}

/// A capture as the simulator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimCapture {
    pub id: String,
    pub order_id: String,
    pub status: SimCaptureStatus,
    pub amount: SimAmount,
    pub refunded_cents: i64,
    pub custom_id: Option<String>,
    pub invoice_id: Option<String>,
    pub refund_ids: Vec<String>,
    pub create_time: String,
    pub update_time: String,
}

/// A refund as the simulator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRefund {
    pub id: String,
    pub capture_id: String,
    pub order_id: String,
    pub amount: SimAmount,
    pub request_id: Option<String>,
    pub custom_id: Option<String>,
    pub invoice_id: Option<String>,
    pub note_to_payer: Option<String>,
    pub create_time: String,
    /// `Some(reason)` while PayPal holds the refund as PENDING (the money not yet returned).
    pub pending: Option<String>,
}

/// One API request the simulator received (controls under `/__fake/` and
/// the approval page are not logged). Credentials and tokens are not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    /// Path without query.
    pub path: String,
    pub paypal_request_id: Option<String>,
    pub prefer: Option<String>,
    /// `basic`, `bearer` or `none`.
    pub auth_kind: String,
    pub body: String,
    /// The status answered.
    pub status: u16,
}

/// A webhook event the simulator created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimEvent {
    /// `WH-FAKE000001`…
    pub id: String,
    pub event_type: String,
    /// `checkout-order`, `capture` or `refund`.
    pub resource_type: String,
    pub resource_id: String,
    /// The exact body every delivery of this event carries.
    pub body: String,
    pub create_time: String,
}

/// One webhook delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// `None` for a forged delivery.
    pub event_id: Option<String>,
    pub transmission_id: String,
    pub url: String,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why nothing was answered.
    pub error: Option<String>,
    pub body: String,
    pub forged: bool,
}

/// Why a simulator control call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    UnknownOrder(String),
    UnknownCapture(String),
    UnknownEvent(String),
    /// The object is not in a state that allows this.
    InvalidState(String),
    /// No webhook URL configured.
    NoWebhookUrl,
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::UnknownOrder(id) => write!(f, "unknown order {id}"),
            SimError::UnknownCapture(id) => write!(f, "unknown capture {id}"),
            SimError::UnknownEvent(id) => write!(f, "unknown event {id}"),
            SimError::InvalidState(why) => write!(f, "invalid state: {why}"),
            SimError::NoWebhookUrl => write!(f, "no webhook URL configured"),
        }
    }
}

impl std::error::Error for SimError {}

/// A running simulator. Dropping it stops accepting connections.
pub struct PayPalSim {
    shared: Arc<Shared>,
    server: Arc<tiny_http::Server>,
    accept: Option<JoinHandle<()>>,
}

impl fmt::Debug for PayPalSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayPalSim")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl PayPalSim {
    /// Starts the server on `127.0.0.1` with a free port.
    pub fn start(config: SimConfig) -> std::io::Result<Self> {
        let server = tiny_http::Server::http("127.0.0.1:0")
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .ok_or_else(|| std::io::Error::other("simulator has no IP address"))?;
        let base_url = format!("http://127.0.0.1:{port}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(config, base_url.clone())),
            base_url,
            agent,
            stopped: AtomicBool::new(false),
        });
        let server = Arc::new(server);
        let accept = server::spawn_accept_loop(Arc::clone(&shared), Arc::clone(&server))?;
        log::info!("PayPal simulator listening on {}", shared.base_url);
        Ok(PayPalSim {
            shared,
            server,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:<port>`: use as the client's API base.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The client id the token endpoint accepts.
    pub fn client_id(&self) -> String {
        self.shared.lock().cfg.client_id.clone()
    }

    /// The client secret the token endpoint accepts.
    pub fn client_secret(&self) -> String {
        self.shared.lock().cfg.client_secret.clone()
    }

    /// The webhook id verification expects.
    pub fn webhook_id(&self) -> String {
        self.shared.lock().cfg.webhook_id.clone()
    }

    /// A client configuration for this simulator (10-second timeout).
    pub fn client_config(&self) -> PayPalClientConfig {
        let st = self.shared.lock();
        let mut c = PayPalClientConfig::new(
            &self.shared.base_url,
            &st.cfg.client_id,
            st.cfg.client_secret.as_str(),
        );
        c.webhook_id = Some(st.cfg.webhook_id.clone());
        c.timeout = Duration::from_secs(10);
        c
    }

    /// The buyer's approval page for an order.
    pub fn approve_url(&self, order_id: &str) -> String {
        self.shared.lock().approve_url(order_id)
    }

    // ----- inspection -----

    /// All orders, oldest first.
    pub fn orders(&self) -> Vec<SimOrder> {
        self.shared.lock().orders.values().cloned().collect()
    }

    /// One order (also when expired).
    pub fn order(&self, id: &str) -> Option<SimOrder> {
        self.shared.lock().orders.get(id).cloned()
    }

    /// All captures, oldest first.
    pub fn captures(&self) -> Vec<SimCapture> {
        self.shared.lock().captures.values().cloned().collect()
    }

    /// One capture.
    pub fn capture(&self, id: &str) -> Option<SimCapture> {
        self.shared.lock().captures.get(id).cloned()
    }

    /// All refunds, oldest first.
    pub fn refunds(&self) -> Vec<SimRefund> {
        self.shared.lock().refunds.values().cloned().collect()
    }

    /// Every API request received, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.clone()
    }

    /// How many API requests had this method and a path starting with `path_prefix`.
    pub fn count_requests(&self, method: &str, path_prefix: &str) -> usize {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(path_prefix))
            .count()
    }

    /// How many tokens were issued.
    pub fn token_requests(&self) -> usize {
        self.shared.lock().token_requests
    }

    /// How many create/capture/refund calls were answered from a stored
    /// `PayPal-Request-Id` instead of acting again.
    pub fn idempotency_hits(&self) -> usize {
        self.shared.lock().idempotency_hits
    }

    /// Every webhook event created, oldest first.
    pub fn events(&self) -> Vec<SimEvent> {
        self.shared.lock().events.clone()
    }

    /// Every webhook delivery attempt, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }

    /// Waits until at least `n` deliveries were attempted (automatic ones run
    /// in the background); false if `timeout` passed first.
    pub fn wait_for_deliveries(&self, n: usize, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        loop {
            if self.shared.lock().deliveries.len() >= n {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    // ----- controls -----

    /// What the approval page's Approve button does: the order becomes
    /// APPROVED with the fake payer, `CHECKOUT.ORDER.APPROVED` is emitted, and
    /// the browser would be sent to the returned URL
    /// (`return_url?token=<id>&PayerID=FAKEPAYER01`; `None` without a return URL).
    pub fn approve(&self, order_id: &str) -> Result<Option<String>, SimError> {
        let (url, pending) = orders::approve(&mut self.shared.lock(), order_id)?;
        webhooks::dispatch_auto(&self.shared, pending);
        Ok(url)
    }

    /// What the Cancel button does: nothing changes; returns
    /// `cancel_url?token=<id>`.
    pub fn cancel(&self, order_id: &str) -> Result<Option<String>, SimError> {
        orders::cancel_redirect(&self.shared.lock(), order_id)
    }

    /// Simulates PayPal's 3-hour expiry: every call about the order answers 404.
    pub fn expire_order(&self, order_id: &str) -> Result<(), SimError> {
        let mut st = self.shared.lock();
        let o = st
            .orders
            .get_mut(order_id)
            .ok_or_else(|| SimError::UnknownOrder(order_id.into()))?;
        o.expired = true;
        Ok(())
    }

    /// Queues a one-shot outcome for the next capture of this order.
    pub fn script_capture(&self, order_id: &str, script: CaptureScript) -> Result<(), SimError> {
        let mut st = self.shared.lock();
        if !st.orders.contains_key(order_id) {
            return Err(SimError::UnknownOrder(order_id.into()));
        }
        st.order_scripts
            .entry(order_id.to_string())
            .or_default()
            .push_back(script);
        Ok(())
    }

    /// Queues a one-shot outcome for the next capture of any order (after
    /// per-order scripts).
    pub fn script_next_capture(&self, script: CaptureScript) {
        self.shared.lock().next_capture.push_back(script);
    }

    /// Settles a PENDING capture and emits the follow-up event.
    pub fn settle_capture(&self, capture_id: &str, to: Settle) -> Result<(), SimError> {
        let pending = payments::settle(&mut self.shared.lock(), capture_id, to)?;
        webhooks::dispatch_auto(&self.shared, pending);
        Ok(())
    }

    /// Makes the next refund PENDING with `reason` (as PayPal does when, say, the merchant's
    /// balance cannot cover it): the capture keeps its money and no webhook is sent.
    pub fn hold_next_refund(&self, reason: &str) {
        self.shared.lock().next_refund_pending = Some(reason.to_string());
    }

    /// Makes the next API call with `method` whose path starts with
    /// `path_prefix` fail once.
    pub fn fail_next(&self, method: &str, path_prefix: &str, failure: PayPalFailure) {
        self.shared.lock().fail_rules.push(state::FailRule {
            method: method.to_ascii_uppercase(),
            path_prefix: path_prefix.to_string(),
            failure,
        });
    }

    /// Invalidates every issued token (the next API call gets 401).
    pub fn expire_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    /// Sets where and how webhooks are delivered.
    pub fn set_webhook_target(&self, url: Option<&str>, auto_emit: bool, delay: Duration) {
        let mut st = self.shared.lock();
        st.cfg.webhook_url = url.map(str::to_string);
        st.cfg.auto_emit = auto_emit;
        st.cfg.webhook_delay = delay;
    }

    /// Byte-exact (`true`) or JSON-equal (`false`) comparison of `webhook_event`.
    pub fn set_strict_verification(&self, strict: bool) {
        self.shared.lock().cfg.strict_verification = strict;
    }

    /// Creates a new `event_type` event and delivers it now, in this thread.
    /// `id` is an order, capture or refund id; it is mapped to the resource
    /// the event type needs (`CHECKOUT.*` → the order, `PAYMENT.CAPTURE.REFUNDED`
    /// → the latest refund, other `PAYMENT.CAPTURE.*` → the latest capture).
    pub fn send_webhook(&self, event_type: &str, id: &str) -> Result<Delivery, SimError> {
        let pending = webhooks::event_for(&mut self.shared.lock(), event_type, id)?;
        webhooks::deliver_event(&self.shared, &pending.event_id)
    }

    /// A refund made in PayPal's dashboard (`cents` = `None`: the rest of the capture):
    /// no `custom_id`, no order id; the event names the capture only through the refund's
    /// `up` link. Delivers `PAYMENT.CAPTURE.REFUNDED` now.
    pub fn dashboard_refund(
        &self,
        capture_id: &str,
        cents: Option<i64>,
    ) -> Result<Delivery, SimError> {
        let pending = payments::dashboard_refund(&mut self.shared.lock(), capture_id, cents)?;
        webhooks::deliver_event(&self.shared, &pending.event_id)
    }

    /// PayPal reverses a capture (a chargeback): delivers `PAYMENT.CAPTURE.REVERSED` now,
    /// with a resource that names only the capture.
    pub fn reverse_capture(&self, capture_id: &str) -> Result<Delivery, SimError> {
        let pending = payments::reverse(&mut self.shared.lock(), capture_id)?;
        webhooks::deliver_event(&self.shared, &pending.event_id)
    }

    /// The buyer opens a dispute on a capture: delivers `CUSTOMER.DISPUTE.CREATED` now.
    pub fn open_dispute(&self, capture_id: &str) -> Result<Delivery, SimError> {
        let pending = payments::dispute(&mut self.shared.lock(), capture_id)?;
        webhooks::deliver_event(&self.shared, &pending.event_id)
    }

    /// Delivers an earlier event again: same event id and body, new
    /// transmission id (as PayPal's retries do).
    pub fn resend_webhook(&self, event_id: &str) -> Result<Delivery, SimError> {
        webhooks::deliver_event(&self.shared, event_id)
    }

    /// Delivers `body` with made-up transmission headers the simulator never
    /// recorded: verification answers FAILURE.
    pub fn forge_webhook(&self, body: &str) -> Result<Delivery, SimError> {
        webhooks::deliver_forged(&self.shared, body)
    }

    /// Forgets all orders, captures, refunds, tokens, scripts, events and logs.
    pub fn reset(&self) {
        self.shared.lock().reset();
    }
}

impl Drop for PayPalSim {
    fn drop(&mut self) {
        server::stop(&self.shared);
        self.server.unblock();
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}
