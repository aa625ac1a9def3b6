//! didport: a VoIP reseller's phone-number shop and self-care portal in one binary.
//!
//! Layers, with dependencies pointing one way:
//! `cli` → `app` (start-up, router) → `pages` → `web` (request context) → `workflow` → `store`,
//! `integrations` → `domain`.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod integrations;
pub mod logging;
pub mod metrics;
pub mod pages;
#[cfg(test)]
mod proptest_json;
pub mod secure;
pub mod store;
pub mod web;
pub mod workflow;
