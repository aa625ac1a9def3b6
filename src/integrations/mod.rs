//! One small blocking trait per outside system, with its real client.

pub mod mail;
