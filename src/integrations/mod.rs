//! One small blocking trait per outside system, with its real client. The simulators that
//! speak the same wire formats on loopback ports are apart, in `crate::sim` (feature `demo`).

pub mod mail;
pub mod paypal;
pub mod telinta;
