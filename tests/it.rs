//! The one integration-test binary: the real server in-process on 127.0.0.1:0 with a temporary
//! database, driven over HTTP like a browser. New tests are modules under `tests/it/`.

// Test code may panic on a broken expectation; that is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mod.rs"]
mod support;

#[path = "it/account.rs"]
mod account;
#[path = "it/accounts.rs"]
mod accounts;
#[path = "it/activation.rs"]
mod activation;
#[path = "it/architecture.rs"]
mod architecture;
#[path = "it/authz.rs"]
mod authz;
#[path = "it/billing_crash.rs"]
mod billing_crash;
#[path = "it/checkout.rs"]
mod checkout;
#[path = "it/cli.rs"]
mod cli;
#[path = "it/crash.rs"]
mod crash;
#[path = "it/hostile.rs"]
mod hostile;
#[path = "it/http_basics.rs"]
mod http_basics;
#[path = "it/lifecycle.rs"]
mod lifecycle;
#[path = "it/mail.rs"]
mod mail;
#[path = "it/metrics.rs"]
mod metrics;
#[path = "it/numbers.rs"]
mod numbers;
#[path = "it/paypal.rs"]
mod paypal;
#[path = "it/plans.rs"]
mod plans;
#[path = "it/probe.rs"]
mod probe;
#[path = "it/probe_accounts.rs"]
mod probe_accounts;
#[path = "it/readme.rs"]
mod readme;
#[path = "it/receipts.rs"]
mod receipts;
#[path = "it/reconcile.rs"]
mod reconcile;
#[path = "it/renewals.rs"]
mod renewals;
#[path = "it/settings.rs"]
mod settings;
#[path = "it/twofactor.rs"]
mod twofactor;
#[path = "it/upstream.rs"]
mod upstream;
