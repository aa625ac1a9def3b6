//! didport: a VoIP reseller's phone-number shop and self-care portal in one binary.
//!
//! Layers, with dependencies pointing one way:
//! `cli` → `app` (start-up, router) → `pages` → `web` (request context) → `workflow` → `store`,
//! `integrations` → `domain`; `sim` (feature `demo`) plays the outside systems for
//! `didport demo` and the tests.
//! `workflow` and `pages` write emails through `emails` (their texts and HTML).

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod domain;
pub mod emails;
pub mod http;
pub mod integrations;
pub mod logging;
pub mod metrics;
pub mod pages;
#[cfg(test)]
mod proptest_json;
pub mod secure;
#[cfg(feature = "demo")]
pub mod sim;
pub mod store;
pub mod web;
pub mod workflow;
