//! One small blocking trait per outside system, with its real client and a simulator that
//! speaks the same wire format on a loopback port.

pub mod mail;
pub mod paypal;
pub mod telinta;
