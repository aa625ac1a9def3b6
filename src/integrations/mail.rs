//! Email delivery through mail-send. mail-send is async; its tokio runtime stays private to
//! the `SmtpMailer`, which offers a blocking call.

use std::fmt;
use std::time::Duration;

use mail_send::SmtpClientBuilder;
use mail_send::mail_builder::MessageBuilder;
use mail_send::mail_builder::headers::raw::Raw;
use secrecy::ExposeSecret;

use crate::config::{SmtpConfig, SmtpTls};

/// One message ready for the wire.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// The HTML alternative: with it the message is `multipart/alternative`, text first.
    pub html: Option<String>,
    /// Sent as `X-Didport-Event`.
    pub event: String,
    /// A stable Message-ID, so a receiver can spot a message delivered twice.
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailError {
    /// The server refused the message for good (a 5xx reply): retrying will not help.
    Permanent(String),
    /// Anything else: connection refused, timeout, 4xx, TLS trouble. Worth another try.
    Transient(String),
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailError::Permanent(m) => write!(f, "refused: {m}"),
            MailError::Transient(m) => write!(f, "{m}"),
        }
    }
}

pub trait Mailer: Send + Sync {
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

pub struct SmtpMailer {
    config: SmtpConfig,
    timeout: Duration,
    runtime: tokio::runtime::Runtime,
}

/// rustls needs one process-wide crypto provider; mail-send's default TLS config uses it.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl SmtpMailer {
    pub fn new(config: SmtpConfig) -> Result<SmtpMailer, String> {
        install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the mail runtime: {e}"))?;
        Ok(SmtpMailer {
            config,
            timeout: Duration::from_secs(30),
            runtime,
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "{}:{} ({})",
            self.config.host,
            self.config.port,
            self.config.tls.as_str()
        )
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let mut message = MessageBuilder::new()
            .from(mail.from.as_str())
            .to(mail.to.as_str())
            .subject(mail.subject.as_str())
            .message_id(mail.message_id.as_str())
            .header("X-Didport-Event", Raw::new(mail.event.as_str()))
            .text_body(mail.body.as_str());
        if let Some(html) = &mail.html {
            message = message.html_body(html.as_str());
        }
        let cfg = &self.config;
        let mut builder = SmtpClientBuilder::new(cfg.host.as_str(), cfg.port)
            .map_err(MailError::Transient)?
            .implicit_tls(cfg.tls == SmtpTls::Implicit)
            .timeout(self.timeout);
        if let (Some(user), Some(password)) = (&cfg.user, &cfg.password) {
            builder = builder.credentials((user.as_str(), password.expose_secret()));
        }
        self.runtime.block_on(async {
            let result = match cfg.tls {
                SmtpTls::None => match builder.connect_plain().await {
                    Ok(mut client) => {
                        let r = client.send(message).await;
                        let _ = client.quit().await;
                        r
                    }
                    Err(e) => Err(e),
                },
                SmtpTls::StartTls | SmtpTls::Implicit => match builder.connect().await {
                    Ok(mut client) => {
                        let r = client.send(message).await;
                        let _ = client.quit().await;
                        r
                    }
                    Err(e) => Err(e),
                },
            };
            result.map(|_| ()).map_err(classify)
        })
    }
}

fn classify(e: mail_send::Error) -> MailError {
    match &e {
        mail_send::Error::UnexpectedReply(r) if r.code >= 500 => {
            MailError::Permanent(format!("{} {}", r.code, r.message))
        }
        mail_send::Error::UnexpectedReply(r) => {
            MailError::Transient(format!("{} {}", r.code, r.message))
        }
        mail_send::Error::AuthenticationFailed(r) => {
            // Wrong credentials need an operator; keep retrying so nothing is lost meanwhile.
            MailError::Transient(format!("authentication failed: {} {}", r.code, r.message))
        }
        _ => MailError::Transient(e.to_string()),
    }
}
