use std::io::Read;
use std::io::Result as IoResult;
use std::sync::mpsc::channel;
use std::sync::mpsc::{Receiver, Sender};

use super::unread_body::Drain;

/// A `Reader` that reads exactly the number of bytes from a sub-reader.
///
/// If the limit is reached, it returns EOF. If the limit is not reached
/// when the destructor is called, the remaining bytes are read and thrown
/// away if they are few and arrive promptly; otherwise none are read and
/// the connection is closed (see [`Drain`]).
pub struct EqualReader<R>
where
    R: Read,
{
    reader: R,
    size: usize,
    last_read_signal: Sender<IoResult<()>>,
    drain: Drain,
}

impl<R> EqualReader<R>
where
    R: Read,
{
    pub fn new(reader: R, size: usize, drain: Drain) -> (EqualReader<R>, Receiver<IoResult<()>>) {
        let (tx, rx) = channel();

        let r = EqualReader {
            reader,
            size,
            last_read_signal: tx,
            drain,
        };

        (r, rx)
    }
}

impl<R> Read for EqualReader<R>
where
    R: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> IoResult<usize> {
        if self.size == 0 {
            return Ok(0);
        }

        let buf = if buf.len() < self.size {
            buf
        } else {
            &mut buf[..self.size]
        };

        match self.reader.read(buf) {
            // upstream returned a body cut short by the client as if it were whole
            Ok(0) if !buf.is_empty() => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the connection ended before the end of the body",
            )),
            Ok(len) => {
                self.size -= len;
                Ok(len)
            }
            err @ Err(_) => err,
        }
    }
}

impl<R> Drop for EqualReader<R>
where
    R: Read,
{
    fn drop(&mut self) {
        // Upstream read the whole rest here, into a buffer of its size: a promised 10 GB body
        // was allocated and waited for before the connection could go on.
        if self.size > 0 {
            let size = self.size;
            self.drain.finish(&mut self.reader, Some(size));
        }
        self.last_read_signal.send(Ok(())).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::EqualReader;
    use crate::util::unread_body::{CloseFlag, Drain};
    use std::io::Read;

    fn drain() -> Drain {
        Drain {
            max_bytes: 64,
            close: CloseFlag::default(),
        }
    }

    #[test]
    fn test_limit() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new("hello world".to_string().into_bytes());

        {
            let (mut equal_reader, _) = EqualReader::new(org_reader.by_ref(), 5, drain());

            let mut string = String::new();
            equal_reader.read_to_string(&mut string).unwrap();
            assert_eq!(string, "hello");
        }

        let mut string = String::new();
        org_reader.read_to_string(&mut string).unwrap();
        assert_eq!(string, " world");
    }

    #[test]
    fn test_not_enough() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new("hello world".to_string().into_bytes());

        {
            let (mut equal_reader, _) = EqualReader::new(org_reader.by_ref(), 5, drain());

            let mut vec = [0];
            equal_reader.read_exact(&mut vec).unwrap();
            assert_eq!(vec[0], b'h');
        }

        let mut string = String::new();
        org_reader.read_to_string(&mut string).unwrap();
        assert_eq!(string, " world");
    }

    #[test]
    fn test_cut_short() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new(vec![b'x'; 3]);
        let (mut equal_reader, _) = EqualReader::new(org_reader.by_ref(), 5, drain());
        let mut vec = Vec::new();
        let err = equal_reader.read_to_end(&mut vec).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn test_too_much_left_is_not_read() {
        use std::io::Cursor;

        let mut org_reader = Cursor::new(vec![b'x'; 1000]);
        let d = drain();
        {
            let (mut equal_reader, _) = EqualReader::new(org_reader.by_ref(), 1000, d.clone());
            let mut vec = [0];
            equal_reader.read_exact(&mut vec).unwrap();
        }
        assert_eq!(org_reader.position(), 1);
        assert!(d.close.is_set());
    }
}
