//! The background sender: delivers queued outbox messages with backoff and records each attempt.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::Clock;
use crate::integrations::mail::{MailError, Mailer, OutgoingMail};
use crate::store::{Store, outbox};

/// Wakes the sender when a message is queued, so delivery does not wait for the next poll.
#[derive(Clone, Default)]
pub struct Waker(Arc<(Mutex<bool>, Condvar)>);

impl Waker {
    pub fn wake(&self) {
        let (lock, cv) = &*self.0;
        if let Ok(mut pending) = lock.lock() {
            *pending = true;
            cv.notify_all();
        }
    }

    /// Whether a wake is pending (for tests of the flows that wake the sender).
    #[cfg(test)]
    pub(crate) fn pending(&self) -> bool {
        let (lock, _) = &*self.0;
        lock.lock().map(|p| *p).unwrap_or(false)
    }

    /// Waits until woken or `timeout` passes.
    fn wait(&self, timeout: Duration) {
        let (lock, cv) = &*self.0;
        if let Ok(mut pending) = lock.lock() {
            if !*pending {
                if let Ok((guard, _)) = cv.wait_timeout(pending, timeout) {
                    pending = guard;
                } else {
                    return;
                }
            }
            *pending = false;
        }
    }
}

/// Delay before attempt `attempts + 1`: 30 s doubling to at most an hour.
pub fn backoff_secs(attempts: i64) -> i64 {
    let exp = attempts.clamp(0, 7) as u32;
    (30i64 << exp).min(3600)
}

pub struct Sender {
    stop: Arc<AtomicBool>,
    waker: Waker,
    thread: Option<JoinHandle<()>>,
}

impl Sender {
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub struct SenderSetup {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub mailer: Arc<dyn Mailer>,
    pub waker: Waker,
    pub from: String,
    /// Host part of Message-IDs.
    pub host: String,
    /// How often to look for due messages when nobody wakes the sender.
    pub poll: Duration,
}

pub fn spawn(setup: SenderSetup) -> std::io::Result<Sender> {
    let stop = Arc::new(AtomicBool::new(false));
    let waker = setup.waker.clone();
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new()
        .name("mail-sender".into())
        .spawn(move || run(&setup, &stop2))?;
    Ok(Sender {
        stop,
        waker,
        thread: Some(thread),
    })
}

fn run(s: &SenderSetup, stop: &AtomicBool) {
    log::info!("mail sender started");
    while !stop.load(Ordering::SeqCst) {
        match deliver_due(s, stop) {
            Ok(0) => s.waker.wait(s.poll),
            Ok(_) => {}
            Err(e) => {
                log::error!("mail sender: {e}");
                s.waker.wait(s.poll);
            }
        }
    }
    log::info!("mail sender stopped");
}

/// Delivers what is due now; returns how many messages were attempted.
pub fn deliver_due(s: &SenderSetup, stop: &AtomicBool) -> crate::store::Result<usize> {
    let now = s.clock.now();
    let batch = s.store.read(|tx| outbox::due(tx, now, 20))?;
    let n = batch.len();
    for m in batch {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let mail = OutgoingMail {
            from: s.from.clone(),
            to: m.to.clone(),
            subject: m.subject.clone(),
            body: m.body.clone(),
            html: m.html.clone(),
            event: m.event.clone(),
            message_id: format!("outbox-{}-{}@{}", m.id, m.created_at, s.host),
        };
        // No transaction is open while the SMTP conversation runs.
        let result = s.mailer.send(&mail);
        let now = s.clock.now();
        s.store.write(|tx| match &result {
            Ok(()) => outbox::mark_sent(tx, m.id, now),
            Err(MailError::Permanent(e)) => outbox::mark_failed(tx, m.id, e),
            Err(MailError::Transient(e)) => {
                outbox::mark_retry(tx, m.id, e, now + backoff_secs(m.attempts))
            }
        })?;
        match result {
            Ok(()) => log::info!("mail {} ({}) delivered to {}", m.id, m.event, m.to),
            Err(e) => log::warn!(
                "mail {} ({}) to {} not delivered (attempt {}): {e}",
                m.id,
                m.event,
                m.to,
                m.attempts + 1
            ),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        assert_eq!(backoff_secs(0), 30);
        assert_eq!(backoff_secs(1), 60);
        assert_eq!(backoff_secs(3), 240);
        assert_eq!(backoff_secs(7), 3600);
        assert_eq!(backoff_secs(100), 3600);
    }
}
