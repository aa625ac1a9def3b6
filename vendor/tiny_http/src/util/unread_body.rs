//! What becomes of a request body the application did not read to the end: a little is read
//! and thrown away so that the connection can carry the next request; beyond that the
//! connection is closed instead. (Not in upstream tiny_http 0.12.0; see PATCHES.md.)

use std::io::{ErrorKind, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest time spent throwing away an unread body.
const DRAIN_TIME: Duration = Duration::from_secs(1);

/// Shared by a connection and its requests: once set, no further request is read from the
/// connection and it is closed.
#[derive(Debug, Clone, Default)]
pub struct CloseFlag(Arc<AtomicBool>);

impl CloseFlag {
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How an unread body is dealt with.
#[derive(Debug, Clone)]
pub struct Drain {
    pub max_bytes: usize,
    pub close: CloseFlag,
}

impl Drain {
    /// Reads and throws away the rest of a body (`left` bytes, if known) when it is small and
    /// arrives promptly; otherwise, or when the connection closes anyway, reads nothing more
    /// and closes the connection.
    pub fn finish<R: Read>(&self, reader: &mut R, left: Option<usize>) {
        if self.close.is_set() || left.map_or(false, |n| n > self.max_bytes) {
            self.close.set();
            return;
        }
        let started = Instant::now();
        let mut buf = [0u8; 8 * 1024];
        let mut drained = 0usize;
        loop {
            let want = match left {
                Some(n) => (n - drained).min(buf.len()),
                None => buf.len(),
            };
            if want == 0 {
                return;
            }
            match reader.read(&mut buf[..want]) {
                Ok(0) if left.is_none() => return,
                Ok(0) => break,
                Ok(n) => drained += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
            if drained > self.max_bytes || started.elapsed() > DRAIN_TIME {
                break;
            }
        }
        self.close.set();
    }
}

/// A body of unknown length (chunked) that is finished with [`Drain`] when dropped.
pub struct DrainOnDrop<R: Read> {
    inner: R,
    drain: Drain,
    /// The end of the body was read.
    done: bool,
    /// A read failed: where the body goes on is unknown.
    failed: bool,
}

impl<R: Read> DrainOnDrop<R> {
    pub fn new(inner: R, drain: Drain) -> Self {
        DrainOnDrop {
            inner,
            drain,
            done: false,
            failed: false,
        }
    }
}

impl<R: Read> Read for DrainOnDrop<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        match self.inner.read(buf) {
            Ok(0) if !buf.is_empty() => {
                self.done = true;
                Ok(0)
            }
            Err(e) if e.kind() != ErrorKind::Interrupted => {
                self.failed = true;
                Err(e)
            }
            other => other,
        }
    }
}

impl<R: Read> Drop for DrainOnDrop<R> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if self.failed {
            self.drain.close.set();
            return;
        }
        self.drain.finish(&mut self.inner, None);
    }
}

#[cfg(test)]
mod tests {
    use super::{CloseFlag, Drain, DrainOnDrop};
    use std::io::{Cursor, Read};

    fn drain(max_bytes: usize) -> Drain {
        Drain {
            max_bytes,
            close: CloseFlag::default(),
        }
    }

    #[test]
    fn a_small_rest_is_drained_and_the_connection_kept() {
        let d = drain(10);
        let mut r = Cursor::new(vec![7u8; 10]);
        d.finish(&mut r, Some(10));
        assert_eq!(r.position(), 10);
        assert!(!d.close.is_set());
        let mut r = Cursor::new(vec![7u8; 10]);
        d.finish(&mut r, None);
        assert_eq!(r.position(), 10);
        assert!(!d.close.is_set());
    }

    #[test]
    fn a_large_rest_is_not_read_and_the_connection_closes() {
        let d = drain(10);
        let mut r = Cursor::new(vec![7u8; 100]);
        d.finish(&mut r, Some(11));
        assert_eq!(r.position(), 0, "nothing read");
        assert!(d.close.is_set());
        let d = drain(10);
        let mut r = Cursor::new(vec![7u8; 100]);
        d.finish(&mut r, None);
        assert!(r.position() <= 11 + 8 * 1024);
        assert!(d.close.is_set());
    }

    #[test]
    fn a_closing_connection_drains_nothing() {
        let d = drain(10);
        d.close.set();
        let mut r = Cursor::new(vec![7u8; 5]);
        d.finish(&mut r, Some(5));
        assert_eq!(r.position(), 0);
    }

    #[test]
    fn a_short_rest_closes_the_connection() {
        let d = drain(100);
        let mut r = Cursor::new(vec![7u8; 5]);
        d.finish(&mut r, Some(10));
        assert!(d.close.is_set());
    }

    #[test]
    fn unknown_length_bodies() {
        let d = drain(100);
        {
            let mut body = DrainOnDrop::new(Cursor::new(vec![1u8; 50]), d.clone());
            let mut first = [0u8; 10];
            body.read_exact(&mut first).unwrap();
        }
        assert!(!d.close.is_set(), "the rest was drained");
        let d = drain(100);
        {
            let mut body = DrainOnDrop::new(Cursor::new(vec![1u8; 500]), d.clone());
            let mut all = Vec::new();
            body.read_to_end(&mut all).unwrap();
        }
        assert!(!d.close.is_set(), "read to the end");
        let d = drain(100);
        drop(DrainOnDrop::new(Cursor::new(vec![1u8; 500]), d.clone()));
        assert!(d.close.is_set(), "too much left");
    }
}
