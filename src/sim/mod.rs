//! Simulators of the outside systems: each a real HTTP server on a loopback port that speaks
//! the outside system's wire format, keeps its state in memory and can be told to fail
//! (docs/architecture.md, "Simulators"). `didport demo` and the tests point the real clients
//! at them; `serve` never starts one, and a build without the `demo` feature leaves them out.
//!
//! They read and write the wire format with their own small helpers and share none of the
//! clients' parsing code, so a misreading cannot hide on both sides. They hand out the
//! clients' settings (`client_config`), which are plain values.

pub mod paypal;
pub mod telinta;
