//! `multipart/form-data` bodies (RFC 7578), already read into memory.

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

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    let mut i = from;
    while i + needle.len() <= hay.len() {
        match hay[i..hay.len() - needle.len() + 1]
            .iter()
            .position(|&b| b == first)
        {
            None => return None,
            Some(off) => {
                let at = i + off;
                if &hay[at..at + needle.len()] == needle {
                    return Some(at);
                }
                i = at + 1;
            }
        }
    }
    None
}

fn param(disposition: &str, name: &str) -> Option<String> {
    disposition.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Splits a body into its parts; `Err` with a reason when it is not well formed.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, &'static str> {
    let b = boundary(content_type).ok_or("not a multipart/form-data request with a boundary")?;
    let delim = format!("--{b}");
    let next_delim = format!("\r\n--{b}");
    let mut pos = find(body, delim.as_bytes(), 0).ok_or("the form has no parts")? + delim.len();
    let mut parts = Vec::new();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Ok(parts); // closing delimiter
        }
        if body.get(pos..pos + 2) != Some(b"\r\n") {
            return Err("a part boundary is not followed by a line break");
        }
        pos += 2;
        let head_end = find(body, b"\r\n\r\n", pos).ok_or("a part has no end of headers")?;
        let head =
            std::str::from_utf8(&body[pos..head_end]).map_err(|_| "part headers are not text")?;
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
        let data_end =
            find(body, next_delim.as_bytes(), data_start).ok_or("a part is not closed")?;
        parts.push(Part {
            name: name.ok_or("a part has no name")?,
            filename,
            content_type: ctype,
            data: body[data_start..data_end].to_vec(),
        });
        pos = data_end + next_delim.len();
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
}
