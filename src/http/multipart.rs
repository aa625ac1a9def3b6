//! `multipart/form-data` bodies (RFC 7578), read into memory or spooled to a file.

#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

/// Where `needle` first occurs in `hay` at or after `from`; an empty needle is never found.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay.get(from..)?, needle).map(|at| from + at)
}

/// Splits a header value at the `;` that are outside quotes: browsers send a field called
/// `a;b` as `name="a;b"`.
fn split_params(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// A parameter of a `Content-Disposition` value, its quotes removed. Backslashes are kept as
/// they are: browsers percent-encode quotes in names, and old ones send Windows paths as
/// file names.
fn param(disposition: &str, name: &str) -> Option<String> {
    split_params(disposition).into_iter().skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        let v = v.trim();
        let v = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inner) => inner,
            None => v,
        };
        k.trim().eq_ignore_ascii_case(name).then(|| v.to_string())
    })
}

/// Longest part head (its `Content-Disposition` and `Content-Type` lines).
const MAX_PART_HEAD: u64 = 16 * 1024;

/// Where a part lies in a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartAt {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    /// Byte range of the part's data in the body.
    pub start: u64,
    pub end: u64,
}

/// A body to split: in memory, or a file read a piece at a time.
trait Source {
    /// The first `needle` at or after `from`.
    fn find(&mut self, needle: &[u8], from: u64) -> std::io::Result<Option<u64>>;
    /// The bytes in `from..to` (callers keep the range small).
    fn bytes(&mut self, from: u64, to: u64) -> std::io::Result<Vec<u8>>;
}

impl Source for &[u8] {
    fn find(&mut self, needle: &[u8], from: u64) -> std::io::Result<Option<u64>> {
        let from = usize::try_from(from).unwrap_or(usize::MAX);
        Ok(find(self, needle, from).map(|i| i as u64))
    }
    fn bytes(&mut self, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
        let len = self.len() as u64;
        let (a, b) = (from.min(len) as usize, to.min(len) as usize);
        Ok(self[a..b.max(a)].to_vec())
    }
}

/// A body spooled to a file, searched in pieces so that it is never in memory whole.
struct FileSource<'f> {
    file: &'f std::fs::File,
}

impl Source for FileSource<'_> {
    fn find(&mut self, needle: &[u8], from: u64) -> std::io::Result<Option<u64>> {
        use std::io::{Read, Seek, SeekFrom};
        const PIECE: usize = 64 * 1024;
        let mut file = self.file;
        file.seek(SeekFrom::Start(from))?;
        // Each piece keeps the end of the one before, so a needle across the seam is found.
        let keep = needle.len().saturating_sub(1);
        let mut buf: Vec<u8> = Vec::with_capacity(PIECE + keep);
        let mut buf_at = from;
        loop {
            let filled = buf.len();
            buf.resize(filled + PIECE, 0);
            let n = file.read(&mut buf[filled..])?;
            buf.truncate(filled + n);
            if let Some(i) = find(&buf, needle, 0) {
                return Ok(Some(buf_at + i as u64));
            }
            if n == 0 {
                return Ok(None);
            }
            let cut = buf.len().saturating_sub(keep);
            buf.drain(..cut);
            buf_at += cut as u64;
        }
    }
    fn bytes(&mut self, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = self.file;
        file.seek(SeekFrom::Start(from))?;
        let mut out = Vec::new();
        file.take(to.saturating_sub(from)).read_to_end(&mut out)?;
        Ok(out)
    }
}

/// Splits a body into its parts; `Err` with a reason when it is not well formed.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, &'static str> {
    let parts = locate(content_type, &mut { body })?;
    Ok(parts
        .into_iter()
        .map(|p| Part {
            data: body[p.start as usize..p.end as usize].to_vec(),
            name: p.name,
            filename: p.filename,
            content_type: p.content_type,
        })
        .collect())
}

/// Where each part of a body spooled to `file` lies, reading the file a piece at a time.
pub fn locate_in_file(
    content_type: &str,
    file: &std::fs::File,
) -> Result<Vec<PartAt>, &'static str> {
    locate(content_type, &mut FileSource { file })
}

fn locate(content_type: &str, body: &mut impl Source) -> Result<Vec<PartAt>, &'static str> {
    const UNREADABLE: &str = "the upload could not be read back";
    let b = boundary(content_type).ok_or("not a multipart/form-data request with a boundary")?;
    let delim = format!("--{b}");
    let next_delim = format!("\r\n--{b}");
    let mut pos = body
        .find(delim.as_bytes(), 0)
        .map_err(|_| UNREADABLE)?
        .ok_or("the form has no parts")?
        + delim.len() as u64;
    let mut parts = Vec::new();
    loop {
        let after = body.bytes(pos, pos + 2).map_err(|_| UNREADABLE)?;
        if after == b"--" {
            return Ok(parts); // closing delimiter
        }
        if after != b"\r\n" {
            return Err("a part boundary is not followed by a line break");
        }
        pos += 2;
        let head_end = body
            .find(b"\r\n\r\n", pos)
            .map_err(|_| UNREADABLE)?
            .ok_or("a part has no end of headers")?;
        if head_end - pos > MAX_PART_HEAD {
            return Err("a part's headers are too long");
        }
        let head = body.bytes(pos, head_end).map_err(|_| UNREADABLE)?;
        let head = std::str::from_utf8(&head).map_err(|_| "part headers are not text")?;
        let mut name = None;
        let mut filename = None;
        let mut ctype = None;
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                name = param(v, "name");
                filename = param(v, "filename");
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                ctype = Some(v.trim().to_string());
            }
        }
        let data_start = head_end + 4;
        let data_end = body
            .find(next_delim.as_bytes(), data_start)
            .map_err(|_| UNREADABLE)?
            .ok_or("a part is not closed")?;
        parts.push(PartAt {
            name: name.ok_or("a part has no name")?,
            filename,
            content_type: ctype,
            start: data_start,
            end: data_end,
        });
        pos = data_end + next_delim.len() as u64;
        if parts.len() > 100 {
            return Err("the form has too many parts");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    #[test]
    fn parses_fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.csv\"\r\nContent-Type: text/csv\r\n\r\nnumber\r\n2125551234\r\n\r\n--XyZ--\r\n";
        let parts = parse(CT, body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "csrf");
        assert_eq!(parts[0].data, b"abc");
        assert_eq!(parts[1].filename.as_deref(), Some("n.csv"));
        assert_eq!(parts[1].data, b"number\r\n2125551234\r\n");
    }

    #[test]
    fn quoted_names_keep_their_semicolons() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; filename=\"x; name=csrf\"; name=\"file\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a;b=c\"\r\n\r\n1\r\n--XyZ--\r\n";
        let parts = parse(CT, body).unwrap();
        assert_eq!(parts[0].name, "file");
        assert_eq!(parts[0].filename.as_deref(), Some("x; name=csrf"));
        assert_eq!(parts[1].name, "a;b=c");
    }

    #[test]
    fn refuses_broken_bodies() {
        assert!(parse("text/plain", b"").is_err());
        assert!(parse(CT, b"nothing here").is_err());
        assert!(
            parse(
                CT,
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated"
            )
            .is_err()
        );
        assert!(parse(CT, b"--XyZ\r\nno headers end").is_err());
        assert_eq!(
            boundary("multipart/form-data; boundary=\"q q\""),
            Some("q q".into())
        );
    }

    #[test]
    fn boundaries_across_the_pieces_of_a_file_are_found() {
        use std::io::Write;
        for size in [0, 1, 65_520, 65_529, 65_530, 65_536, 131_065, 200_000] {
            let data = vec![b'7'; size];
            let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.csv\"\r\n\r\n".to_vec();
            body.extend_from_slice(&data);
            body.extend_from_slice(b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XyZ--\r\n");
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(&body).unwrap();
            let parts = locate_in_file(CT, &file).unwrap();
            assert_eq!(parts.len(), 2, "{size}");
            assert_eq!(parts[0].end - parts[0].start, size as u64);
            assert_eq!(parts[1].name, "csrf");
            assert_eq!(parts, locate(CT, &mut body.as_slice()).unwrap());
        }
    }

    use proptest::prelude::*;

    /// A field as a browser sends it: name, optional file name, raw bytes.
    type Field = (String, Option<String>, Vec<u8>);

    /// The body a browser builds (HTML's rules: `"` in names is sent as `%22`, line breaks as
    /// `%0D%0A`, so names never hold them).
    fn encode(boundary: &str, fields: &[Field]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, filename, data) in fields {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"").as_bytes(),
            );
            if let Some(f) = filename {
                body.extend_from_slice(
                    format!("; filename=\"{f}\"\r\nContent-Type: text/csv").as_bytes(),
                );
            }
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    }

    fn field() -> impl Strategy<Value = Field> {
        (
            "[a-zA-Z0-9_ ;=.-]{1,16}",
            proptest::option::of("[a-zA-Z0-9_ ;=.()-]{0,20}"),
            proptest::collection::vec(any::<u8>(), 0..64),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_body_is_parsed_or_refused_without_panicking(
            ct in prop_oneof![
                any::<String>(),
                Just(CT.to_string()),
                "multipart/form-data; boundary=\\PC{0,80}",
            ],
            body in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..300),
                proptest::collection::vec(
                    proptest::sample::select(vec![
                        b"--XyZ".to_vec(), b"\r\n".to_vec(), b"--".to_vec(),
                        b"Content-Disposition: form-data; name=\"a\"".to_vec(),
                        b"; filename=\"f\"".to_vec(), b"x".to_vec(), vec![0xff],
                    ]),
                    0..24,
                ).prop_map(|chunks| chunks.concat()),
            ],
        ) {
            if let Ok(parts) = parse(&ct, &body) {
                prop_assert!(parts.len() <= 101);
                for p in parts {
                    prop_assert!(p.data.len() <= body.len());
                }
            }
        }

        /// A body spooled to a file splits exactly as the same body in memory, whatever it is.
        #[test]
        fn files_split_as_memory_does(
            body in proptest::collection::vec(
                proptest::sample::select(vec![
                    b"--XyZ".to_vec(), b"\r\n".to_vec(), b"--".to_vec(),
                    b"Content-Disposition: form-data; name=\"a\"".to_vec(),
                    b"; filename=\"f\"".to_vec(), b"x".to_vec(), vec![0xff],
                ]),
                0..40,
            ).prop_map(|chunks| chunks.concat()),
        ) {
            use std::io::Write;
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(&body).unwrap();
            let in_memory = locate(CT, &mut body.as_slice());
            prop_assert_eq!(locate_in_file(CT, &file), in_memory);
        }

        /// What a browser encodes comes back field by field.
        #[test]
        fn browser_bodies_round_trip(
            boundary in "[A-Za-z0-9'()+_,./:=?-]{1,70}",
            fields in proptest::collection::vec(field(), 1..6),
        ) {
            let delim = format!("\r\n--{boundary}");
            prop_assume!(fields.iter().all(|(_, _, d)| {
                !d.windows(delim.len()).any(|w| w == delim.as_bytes())
                    && !d.starts_with(&delim.as_bytes()[2..])
            }));
            let body = encode(&boundary, &fields);
            let ct = format!("multipart/form-data; boundary=\"{boundary}\"");
            let parts = parse(&ct, &body);
            prop_assert!(parts.is_ok(), "{:?}", parts);
            let got: Vec<Field> = parts
                .unwrap()
                .into_iter()
                .map(|p| (p.name, p.filename, p.data))
                .collect();
            prop_assert_eq!(got, fields);
        }
    }
}
